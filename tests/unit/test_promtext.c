/* Prometheus text format: a realistic /metrics page, lookups by name and
 * labels, and malformed lines reported with their line number. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <math.h>
#include <cmocka.h>

#include "assertions/promtext.h"

static const char metrics[] =
	"# HELP ledger_raft_leader 1 when the node knows a current leader.\n"
	"# TYPE ledger_raft_leader gauge\n"
	"ledger_raft_leader 1\n"
	"# HELP ledger_raft_is_leader 1 on the leader.\n"
	"# TYPE ledger_raft_is_leader gauge\n"
	"ledger_raft_is_leader{node=\"3\",region=\"dr\"} 1\n"
	"# TYPE ledger_raft_term counter\n"
	"ledger_raft_term 4 1764254660123\n"
	"ledger_replication_lag_seconds{peer=\"1\",region=\"primary\"} +Inf\n"
	"ledger_replication_lag_seconds{peer=\"2\",region=\"primary\"} NaN\n"
	"ledger_replication_lag_seconds{peer=\"4\",region=\"dr\"} 0.012\n"
	"ledger_replication_lag_seconds{peer=\"5\",region=\"witness\",} 2.5e-3\n"
	"# a free comment, ignored\n"
	"#\n"
	"\n"
	"ledger_requests_total{method=\"Append\",code=\"200\"} 5321\r\n"
	"ledger_requests_total{method=\"Append\",code=\"503\"} 12\n"
	"ledger_note{text=\"say \\\"hi\\\"\\nback\\\\slash\"} -1\n"
	"# HELP ledger_request_seconds Latency with a \\\\ and \\n in the help.\n"
	"# TYPE ledger_request_seconds histogram\n"
	"ledger_request_seconds_bucket{le=\"0.005\"} 4000\n"
	"ledger_request_seconds_bucket{le=\"+Inf\"} 5333\n"
	"ledger_request_seconds_sum 6.2\n"
	"ledger_request_seconds_count 5333\n"
	"  process_open_fds  17  \n"
	"ns:metric_with_colon{ a = \"b\" } -0.5\n"
	"# EOF\n";

static double find_ok(const char *name, const char *filter)
{
	struct dr_error err = DR_ERROR_INIT;
	double v = -12345;

	if (promtext_find(&v, metrics, name, filter, &err) != 0)
		fail_msg("find %s %s: %s", name, filter ? filter : "", err.msg);
	return v;
}

static void find_err(const char *name, const char *filter, const char *fragment)
{
	struct dr_error err = DR_ERROR_INIT;
	double v = -12345;

	assert_int_equal(promtext_find(&v, metrics, name, filter, &err), -1);
	if (!strstr(err.msg, fragment))
		fail_msg("error '%s' does not mention '%s'", err.msg, fragment);
	assert_true(v == -12345);
}

static void test_parse_realistic_page(void **state)
{
	struct prom_doc doc = PROM_DOC_INIT;
	struct dr_error err = DR_ERROR_INIT;
	const struct prom_sample *s;

	(void)state;
	if (promtext_parse(&doc, metrics, strlen(metrics), &err) != 0)
		fail_msg("%s", err.msg);
	assert_int_equal(doc.count, 16);
	s = &doc.samples[2];
	assert_string_equal(s->name, "ledger_raft_term");
	assert_true(s->has_timestamp);
	assert_int_equal(s->timestamp_ms, INT64_C(1764254660123));
	assert_int_equal(s->line, 8);
	s = &doc.samples[1];
	assert_int_equal(s->n_labels, 2);
	assert_string_equal(s->labels[1].name, "region");
	assert_string_equal(s->labels[1].value, "dr");
	assert_false(s->has_timestamp);
	/* Escapes in label values. */
	s = &doc.samples[9];
	assert_string_equal(s->name, "ledger_note");
	assert_string_equal(s->labels[0].value, "say \"hi\"\nback\\slash");
	promtext_release(&doc);
	assert_int_equal(doc.count, 0);
}

static void test_find_values(void **state)
{
	(void)state;
	assert_true(find_ok("ledger_raft_leader", NULL) == 1.0);
	assert_true(find_ok("ledger_raft_leader", "") == 1.0);
	assert_true(find_ok("ledger_raft_is_leader", "region=\"dr\"") == 1.0);
	assert_true(find_ok("ledger_raft_term", NULL) == 4.0);
	assert_true(isinf(find_ok("ledger_replication_lag_seconds", "peer=\"1\"")));
	assert_true(isnan(find_ok("ledger_replication_lag_seconds", "{peer=\"2\"}")));
	assert_true(find_ok("ledger_replication_lag_seconds", "region=\"dr\"") == 0.012);
	assert_true(find_ok("ledger_replication_lag_seconds", "region=\"witness\"") == 0.0025);
	assert_true(find_ok("ledger_requests_total", "code=\"503\", method=\"Append\"") == 12.0);
	assert_true(find_ok("ledger_request_seconds_bucket", "le=\"+Inf\"") == 5333.0);
	assert_true(find_ok("ledger_note", "text=\"say \\\"hi\\\"\\nback\\\\slash\"") == -1.0);
	assert_true(find_ok("process_open_fds", NULL) == 17.0);
	assert_true(find_ok("ns:metric_with_colon", "a=\"b\"") == -0.5);
	/* A label absent from the sample matches "" (Prometheus semantics). */
	assert_true(find_ok("ledger_raft_leader", "zone=\"\"") == 1.0);
}

static void test_find_errors(void **state)
{
	(void)state;
	find_err("ledger_raft_lead", NULL, "no sample named 'ledger_raft_lead'");
	find_err("ledger_replication_lag_seconds", NULL,
		 "4 samples of 'ledger_replication_lag_seconds' match {}; add labels");
	find_err("ledger_replication_lag_seconds", "region=\"primary\"", "2 samples");
	find_err("ledger_raft_is_leader", "region=\"primary\"",
		 "no sample 'ledger_raft_is_leader' with labels {region=\"primary\"} "
		 "(samples of 'ledger_raft_is_leader': {node=\"3\",region=\"dr\"})");
	find_err("ledger_raft_leader", "region=dr", "invalid label filter 'region=dr'");
	find_err("ledger_raft_leader", "{a=\"b\"} x", "unexpected text after '}'");
}

/* Signed infinities keep their sign, in any case Go accepts. */
static void test_infinities_keep_their_sign(void **state)
{
	static const char page[] =
		"low{k=\"a\"} -Inf\n"
		"low{k=\"b\"} -inf\n"
		"high{k=\"a\"} +Inf\n"
		"high{k=\"b\"} Inf\n";
	struct dr_error err = DR_ERROR_INIT;
	double v = 0;

	(void)state;
	assert_int_equal(promtext_find(&v, page, "low", "k=\"a\"", &err), 0);
	assert_true(isinf(v) && v < 0);
	assert_int_equal(promtext_find(&v, page, "low", "k=\"b\"", &err), 0);
	assert_true(isinf(v) && v < 0);
	assert_int_equal(promtext_find(&v, page, "high", "k=\"a\"", &err), 0);
	assert_true(isinf(v) && v > 0);
	assert_int_equal(promtext_find(&v, page, "high", "k=\"b\"", &err), 0);
	assert_true(isinf(v) && v > 0);
}

/* A filter label="" matches a sample without that label, never one whose
 * label has a value (Prometheus semantics). */
static void test_empty_label_filter_needs_the_label_absent(void **state)
{
	static const char page[] =
		"up{job=\"ledger\",zone=\"a\"} 1\n"
		"up{job=\"ledger\"} 0\n";
	struct dr_error err = DR_ERROR_INIT;
	double v = -1;

	(void)state;
	assert_int_equal(promtext_find(&v, page, "up", "zone=\"\"", &err), 0);
	assert_true(v == 0.0);
	v = -1;
	assert_int_equal(promtext_find(&v, page, "up", "zone=\"a\"", &err), 0);
	assert_true(v == 1.0);
	/* On the realistic page: the one leader sample has region="dr". */
	find_err("ledger_raft_is_leader", "region=\"\"",
		 "no sample 'ledger_raft_is_leader' with labels {region=\"\"}");
}

/* Each malformed page fails naming its line and the problem. */
static void bad(const char *text, const char *fragment)
{
	struct prom_doc doc = PROM_DOC_INIT;
	struct dr_error err = DR_ERROR_INIT;

	if (promtext_parse(&doc, text, strlen(text), &err) == 0)
		fail_msg("'%s' should not parse", text);
	if (!strstr(err.msg, fragment))
		fail_msg("error for '%s' was '%s', expected '%s'", text, err.msg, fragment);
	assert_int_equal(doc.count, 0);
	assert_null(doc.samples);
}

static void test_malformed_lines(void **state)
{
	(void)state;
	bad("ok 1\nx{a=\"b} 1\n", "line 2: unterminated label value in 'x{a=\"b} 1'");
	bad("x{a=\"b\" 1\n", "line 1: expected ',' or '}' after a label value");
	bad("x{a=\"b\"", "unterminated label set");
	bad("x{=\"b\"} 1", "expected a label name");
	bad("x{a\"b\"} 1", "expected '=' after a label name");
	bad("x{a=b} 1", "expected '\"' to open a label value");
	bad("x{a=\"\\t\"} 1", "invalid escape in label value");
	bad("x{a=\"1\",a=\"2\"} 1", "duplicate label 'a'");
	bad("x\n", "line 1: missing value");
	bad("x 1.2.3", "invalid value '1.2.3'");
	bad("x 0x10", "invalid value '0x10'");
	bad("x infinity", "invalid value 'infinity'");
	bad("x 1 12.5", "invalid timestamp '12.5'");
	bad("x 1 2 3", "unexpected text after the timestamp");
	bad("x 1\n\n9x 1", "line 3: expected a metric name");
	bad("x-y 1", "expected a blank before the value");
	bad("# TYPE x gaugeish\n", "line 1: unknown metric type");
	bad("# TYPE x\n", "expected a type after the metric name");
	bad("# TYPE\n", "expected a metric name after TYPE");
	bad("# HELP 9x text\n", "expected a metric name after HELP");
	bad("# TYPE x gauge extra\n", "unexpected text after the type");
}

static void test_empty_and_comments_only(void **state)
{
	struct prom_doc doc = PROM_DOC_INIT;
	struct dr_error err = DR_ERROR_INIT;
	const char *text = "# HELP x y\n\n# just words\n";

	(void)state;
	assert_int_equal(promtext_parse(&doc, "", 0, &err), 0);
	assert_int_equal(doc.count, 0);
	assert_int_equal(promtext_parse(&doc, text, strlen(text), &err), 0);
	assert_int_equal(doc.count, 0);
	promtext_release(&doc);
}

static void test_parse_filter(void **state)
{
	struct prom_label *labels = NULL;
	size_t n = 0;
	struct dr_error err = DR_ERROR_INIT;

	(void)state;
	assert_int_equal(promtext_parse_filter(&labels, &n, "a=\"1\", b=\"x\\\"y\"", &err), 0);
	assert_int_equal(n, 2);
	assert_string_equal(labels[1].name, "b");
	assert_string_equal(labels[1].value, "x\"y");
	promtext_labels_free(labels, n);
	assert_int_equal(promtext_parse_filter(&labels, &n, "  ", &err), 0);
	assert_int_equal(n, 0);
	assert_null(labels);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse_realistic_page),
		cmocka_unit_test(test_find_values),
		cmocka_unit_test(test_find_errors),
		cmocka_unit_test(test_infinities_keep_their_sign),
		cmocka_unit_test(test_empty_label_filter_needs_the_label_absent),
		cmocka_unit_test(test_malformed_lines),
		cmocka_unit_test(test_empty_and_comments_only),
		cmocka_unit_test(test_parse_filter),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
