/* The exposition formats: families and samples in the classic text
 * format and in OpenMetrics (counter and info names, # EOF), escaping of
 * label values and help text, the Accept header. */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "check_main.h"
#include "expo.h"

static char *buf;
static size_t len;
static FILE *out;
static struct expo x;

static void
start(bool openmetrics)
{
	out = open_memstream(&buf, &len);
	ck_assert_ptr_nonnull(out);
	expo_init(&x, out, openmetrics);
}

static const char *
done(void)
{
	expo_finish(&x);
	fclose(out);
	return buf;
}

static void
teardown(void)
{
	free(buf);
	buf = NULL;
}

static void
write_some(void)
{
	const struct expo_label peer[] = { { "peer", "box-2" },
	    { "direction", "rx" } };
	const struct expo_label ver[] = { { "version", "1.0" } };
	const struct expo_label le[] = { { "worker", "0" }, { "le", "+Inf" } };

	expo_family(&x, "ovtund_packets", EXPO_COUNTER, "Packets.");
	expo_u64(&x, NULL, peer, 2, 42);
	expo_family(&x, "ovtund_build", EXPO_INFO, "Build.");
	expo_u64(&x, NULL, ver, 1, 1);
	expo_family(&x, "ovtund_up_seconds", EXPO_GAUGE, "Up.");
	expo_double(&x, NULL, NULL, 0, 1.5);
	expo_family(&x, "ovtund_batch_packets", EXPO_HISTOGRAM, "Batches.");
	expo_u64(&x, "_bucket", le, 2, 7);
	expo_u64(&x, "_sum", le, 1, 30);
	expo_u64(&x, "_count", le, 1, 7);
}

START_TEST(text_format)
{
	start(false);
	write_some();
	ck_assert_str_eq(done(),
	    "# HELP ovtund_packets_total Packets.\n"
	    "# TYPE ovtund_packets_total counter\n"
	    "ovtund_packets_total{peer=\"box-2\",direction=\"rx\"} 42\n"
	    "# HELP ovtund_build_info Build.\n"
	    "# TYPE ovtund_build_info gauge\n"
	    "ovtund_build_info{version=\"1.0\"} 1\n"
	    "# HELP ovtund_up_seconds Up.\n"
	    "# TYPE ovtund_up_seconds gauge\n"
	    "ovtund_up_seconds 1.5\n"
	    "# HELP ovtund_batch_packets Batches.\n"
	    "# TYPE ovtund_batch_packets histogram\n"
	    "ovtund_batch_packets_bucket{worker=\"0\",le=\"+Inf\"} 7\n"
	    "ovtund_batch_packets_sum{worker=\"0\"} 30\n"
	    "ovtund_batch_packets_count{worker=\"0\"} 7\n");
}
END_TEST

START_TEST(openmetrics_format)
{
	start(true);
	write_some();
	ck_assert_str_eq(done(),
	    "# HELP ovtund_packets Packets.\n"
	    "# TYPE ovtund_packets counter\n"
	    "ovtund_packets_total{peer=\"box-2\",direction=\"rx\"} 42\n"
	    "# HELP ovtund_build Build.\n"
	    "# TYPE ovtund_build info\n"
	    "ovtund_build_info{version=\"1.0\"} 1\n"
	    "# HELP ovtund_up_seconds Up.\n"
	    "# TYPE ovtund_up_seconds gauge\n"
	    "ovtund_up_seconds 1.5\n"
	    "# HELP ovtund_batch_packets Batches.\n"
	    "# TYPE ovtund_batch_packets histogram\n"
	    "ovtund_batch_packets_bucket{worker=\"0\",le=\"+Inf\"} 7\n"
	    "ovtund_batch_packets_sum{worker=\"0\"} 30\n"
	    "ovtund_batch_packets_count{worker=\"0\"} 7\n"
	    "# EOF\n");
}
END_TEST

/* Peer names come from the configuration: whatever they hold, the
 * exposition stays parseable. */
START_TEST(escaping)
{
	const struct expo_label odd[] = { { "peer", "a\"b\\c\nd" } };

	start(false);
	expo_family(&x, "ovtund_x", EXPO_GAUGE, "Back\\slash and\nnewline.");
	expo_u64(&x, NULL, odd, 1, 0);
	ck_assert_str_eq(done(),
	    "# HELP ovtund_x Back\\\\slash and\\nnewline.\n"
	    "# TYPE ovtund_x gauge\n"
	    "ovtund_x{peer=\"a\\\"b\\\\c\\nd\"} 0\n");
}
END_TEST

START_TEST(doubles_and_integers)
{
	start(false);
	expo_family(&x, "ovtund_t", EXPO_GAUGE, "T.");
	expo_double(&x, NULL, NULL, 0, 1796398604.855);
	expo_u64(&x, NULL, NULL, 0, UINT64_MAX);
	ck_assert_str_eq(done(), "# HELP ovtund_t T.\n# TYPE ovtund_t gauge\n"
	    "ovtund_t 1796398604.855\novtund_t 18446744073709551615\n");
}
END_TEST

/* What Prometheus 2.42 sends, and what curl and older scrapers do. */
START_TEST(accept_header)
{
	ck_assert(expo_wants_openmetrics("application/openmetrics-text;"
	    "version=1.0.0,application/openmetrics-text;version=0.0.1;"
	    "q=0.75,text/plain;version=0.0.4;q=0.5,*/*;q=0.1"));
	ck_assert(!expo_wants_openmetrics("text/plain;version=0.0.4"));
	ck_assert(!expo_wants_openmetrics("*/*"));
	ck_assert(!expo_wants_openmetrics(NULL));
}
END_TEST

static Suite *
expo_suite(void)
{
	Suite *s = suite_create("expo");
	TCase *tc = tcase_create("formats");

	tcase_add_checked_fixture(tc, NULL, teardown);
	tcase_add_test(tc, text_format);
	tcase_add_test(tc, openmetrics_format);
	tcase_add_test(tc, escaping);
	tcase_add_test(tc, doubles_and_integers);
	tcase_add_test(tc, accept_header);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	return run_suite(expo_suite());
}
