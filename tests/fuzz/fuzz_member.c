/* Member entries from etcd, as anyone with write access to the prefix may
 * write them: the input is the value of PREFIX/members/m1, then of a key
 * it is taken for. A decoded entry encodes and decodes to itself, and a
 * refusal is one of the named reasons. */
#include <stdbool.h>
#include <string.h>

#include "member.h"

#include "fuzz.h"

int
LLVMFuzzerTestOneInput(const uint8_t *d, size_t n)
{
	struct member m, again;
	enum member_refusal r;
	char name[64], *json;

	r = member_name_of_key((const char *)d, n, "/p/members/", name);
	FUZZ_CHECK(r == MEMBER_OK || r == MEMBER_BAD_NAME);
	if (r == MEMBER_OK)
		FUZZ_CHECK(strlen(name) > 0 && strlen(name) < sizeof(name));

	r = member_decode("m1", d, n, &m);
	FUZZ_CHECK((unsigned)r < MEMBER__COUNT);
	FUZZ_CHECK(strcmp(member_refusal_name(r), "invalid") != 0);
	if (r != MEMBER_OK)
		return 0;
	FUZZ_CHECK(strcmp(m.name, "m1") == 0);
	FUZZ_CHECK(m.n_addrs >= 1 && m.n_addrs <= MEMBER_ADDRS_MAX);
	json = member_encode(&m);
	FUZZ_CHECK(json != NULL);
	FUZZ_CHECK(member_decode("m1", json, strlen(json), &again) ==
	    MEMBER_OK);
	FUZZ_CHECK(memcmp(&m, &again, sizeof(m)) == 0);
	free(json);
	return 0;
}
