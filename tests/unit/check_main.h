/* The end every unit test program shares: its suite run in Check's forking
 * mode, exit status 0 only when every test passed. */
#ifndef OVT_CHECK_MAIN_H
#define OVT_CHECK_MAIN_H

#include <check.h>
#include <stdlib.h>

static inline int
run_suite(Suite *s)
{
	SRunner *sr = srunner_create(s);
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}

#endif
