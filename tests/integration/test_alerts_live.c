/* The alert rules of ci/alerts/ledger-dr.rules.yml against a live ledger:
 * five ledgerd nodes (primary 2, dr 2, witness 1), /metrics scraped from
 * every node, each rule's expression evaluated on the samples.
 *
 * - healthy: no alert fires;
 * - leaderless (three of five nodes killed): LedgerNoLeader fires for both
 *   survivors, and only it; once the survivors' lag is over 5 s the lag
 *   alert still stays quiet (it only looks at nodes that know a leader).
 *
 * `for:` durations belong to Prometheus' evaluation over time, not to the
 * expression:
 * this test checks what the expressions select.  The evaluator below knows
 * the PromQL the rules use (selectors, comparisons with a number or another
 * metric matched on all labels, `and`) and fails on anything else, so a
 * rule rewritten beyond it is noticed rather than silently skipped.
 * promtool test rules (ci/alerts/ledger-dr.test.yml) covers full PromQL, and
 * when promtool is installed each live state is also handed to it (the
 * samples as constant series, the evaluator's alerts as the expected ones).
 */
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>
#include <ctype.h>
#include <curl/curl.h>

#include "assertions/promtext.h"
#include "common/clock.h"
#include "common/fsutil.h"
#include "common/proc.h"
#include "common/strbuf.h"
#include "harness/yaml/yaml_json.h"
#include "tests/support/ledger_testnet.h"

#define NODES 5
#define MAX_RULES 16

struct rule {
	char name[64];
	char expr[512];
};

/* One instant vector: samples keyed by their sorted label set. */
struct vsample {
	char key[512];
	char node[16];
	double v;
	int nl;
	char lname[8][32];
	char lval[8][64];
};

struct vec {
	struct vsample *s;
	size_t n;
};

struct scrape {
	struct prom_doc docs[NODES];
	int ndocs;
};

static struct testnet net;
static json_t *rules_tree; /* the rules file as loaded (for promtool) */
static int promtool_missing; /* a cross-check could not run: the case is skipped */

/* ---- rules file --------------------------------------------------------- */

static int load_rules(struct rule *out, int max)
{
	const char *src = getenv("DRILLRIG_SRC");
	struct dr_error err = DR_ERROR_INIT;
	struct yj_doc doc = YJ_DOC_INIT;
	char *path = xasprintf("%s/ci/alerts/ledger-dr.rules.yml", src ? src : ".");
	char *text = NULL;
	size_t len = 0, gi, ri;
	json_t *group, *rule;
	int n = 0;

	if (fs_read_file(&text, &len, path, 1 << 20, &err) != 0)
		fail_msg("%s", err.msg);
	if (yj_load(&doc, text, len, YJ_YAML, NULL, NULL) != 0)
		fail_msg("'%s' is not valid YAML", path);
	json_array_foreach(json_object_get(doc.root, "groups"), gi, group) {
		json_array_foreach(json_object_get(group, "rules"), ri, rule) {
			const char *name = json_string_value(json_object_get(rule, "alert"));
			const char *expr = json_string_value(json_object_get(rule, "expr"));

			if (!name)
				continue; /* a recording rule */
			if (!expr || n >= max)
				fail_msg("alert '%s' has no expr (or too many rules)", name);
			str_copy(out[n].name, sizeof(out[n].name), name);
			str_copy(out[n].expr, sizeof(out[n].expr), expr);
			n++;
		}
	}
	json_decref(rules_tree);
	rules_tree = json_incref(doc.root);
	yj_doc_release(&doc);
	free(text);
	free(path);
	return n;
}

/* ---- scraping ----------------------------------------------------------- */

static size_t collect(char *data, size_t size, size_t n, void *payload)
{
	strbuf_add(payload, data, size * n);
	return size * n;
}

/* /metrics of every live node (a killed node is skipped, as Prometheus
 * would record it as down). */
static void scrape_all(struct scrape *sc)
{
	memset(sc, 0, sizeof(*sc));
	for (int i = 0; i < net.n; i++) {
		struct strbuf body = STRBUF_INIT;
		struct dr_error err = DR_ERROR_INIT;
		char *url;
		CURL *curl;
		long status = 0;
		CURLcode rc;

		if (net.pid[i] <= 0)
			continue;
		url = xasprintf("http://%s/metrics", net.http[i]);
		curl = curl_easy_init();
		curl_easy_setopt(curl, CURLOPT_URL, url);
		curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS, 2000L);
		curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
		curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, collect);
		curl_easy_setopt(curl, CURLOPT_WRITEDATA, &body);
		rc = curl_easy_perform(curl);
		curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &status);
		curl_easy_cleanup(curl);
		if (rc != CURLE_OK || status != 200)
			fail_msg("GET %s: %s (HTTP %ld)", url, curl_easy_strerror(rc), status);
		if (promtext_parse(&sc->docs[sc->ndocs], body.buf ? body.buf : "", body.len, &err) != 0)
			fail_msg("%s: %s", url, err.msg);
		sc->ndocs++;
		strbuf_release(&body);
		free(url);
	}
}

static void scrape_release(struct scrape *sc)
{
	for (int i = 0; i < sc->ndocs; i++)
		promtext_release(&sc->docs[i]);
}

/* ---- a small evaluator for the PromQL the rules use --------------------- */

static void vec_push(struct vec *v, const struct vsample *s)
{
	v->s = realloc(v->s, (v->n + 1) * sizeof(*v->s));
	assert_non_null(v->s);
	v->s[v->n++] = *s;
}

static int cmp_label(const void *a, const void *b)
{
	return strcmp(((const struct prom_label *)a)->name, ((const struct prom_label *)b)->name);
}

static struct vec selector(const struct scrape *sc, const char *name)
{
	struct vec out = { NULL, 0 };

	for (int d = 0; d < sc->ndocs; d++) {
		for (size_t i = 0; i < sc->docs[d].count; i++) {
			const struct prom_sample *p = &sc->docs[d].samples[i];
			struct prom_label sorted[16];
			struct vsample s;
			size_t off = 0;

			if (strcmp(p->name, name) != 0 || p->n_labels > 16)
				continue;
			memcpy(sorted, p->labels, p->n_labels * sizeof(*sorted));
			qsort(sorted, p->n_labels, sizeof(*sorted), cmp_label);
			memset(&s, 0, sizeof(s));
			for (size_t k = 0; k < p->n_labels; k++) {
				int w = snprintf(s.key + off, sizeof(s.key) - off, "%s=\"%s\",",
						 sorted[k].name, sorted[k].value);
				off += w > 0 ? (size_t)w : 0;
				if (off >= sizeof(s.key))
					fail_msg("label set of '%s' too long", name);
				if (strcmp(sorted[k].name, "node") == 0)
					str_copy(s.node, sizeof(s.node), sorted[k].value);
				if (k < 8) {
					str_copy(s.lname[k], sizeof(s.lname[k]), sorted[k].name);
					str_copy(s.lval[k], sizeof(s.lval[k]), sorted[k].value);
					s.nl = (int)k + 1;
				}
			}
			s.v = p->value;
			vec_push(&out, &s);
		}
	}
	return out;
}

static int compare(double a, const char *op, double b)
{
	if (strcmp(op, "==") == 0)
		return a == b;
	if (strcmp(op, "!=") == 0)
		return a != b;
	if (strcmp(op, "<") == 0)
		return a < b;
	if (strcmp(op, "<=") == 0)
		return a <= b;
	if (strcmp(op, ">") == 0)
		return a > b;
	if (strcmp(op, ">=") == 0)
		return a >= b;
	fail_msg("unsupported operator '%s'", op);
	return 0;
}

struct lexer {
	const char *p;
	char tok[128];
};

/* Next token: an identifier, a number, or a comparison operator; "" at the end. */
static const char *lex(struct lexer *lx)
{
	size_t n = 0;

	while (isspace((unsigned char)*lx->p))
		lx->p++;
	if (isalpha((unsigned char)*lx->p) || *lx->p == '_' || *lx->p == ':') {
		while ((isalnum((unsigned char)*lx->p) || *lx->p == '_' || *lx->p == ':') &&
		       n + 1 < sizeof(lx->tok))
			lx->tok[n++] = *lx->p++;
	} else if (isdigit((unsigned char)*lx->p) || *lx->p == '.') {
		while ((isdigit((unsigned char)*lx->p) || *lx->p == '.' || *lx->p == 'e') &&
		       n + 1 < sizeof(lx->tok))
			lx->tok[n++] = *lx->p++;
	} else if (strchr("=!<>", *lx->p) && *lx->p) {
		lx->tok[n++] = *lx->p++;
		if (*lx->p == '=')
			lx->tok[n++] = *lx->p++;
	} else if (*lx->p) {
		fail_msg("unsupported PromQL at '%s' (extend this evaluator)", lx->p);
	}
	lx->tok[n] = '\0';
	return lx->tok;
}

static int is_number(const char *t)
{
	return isdigit((unsigned char)t[0]) || t[0] == '.';
}

/* cmp := metric [op (number | metric)] */
static struct vec eval_cmp(const struct scrape *sc, struct lexer *lx, char *next, size_t len)
{
	char name[128], op[8];
	struct vec left, right, out = { NULL, 0 };

	str_copy(name, sizeof(name), lex(lx));
	if (!name[0] || is_number(name))
		fail_msg("expected a metric name, got '%s'", name);
	left = selector(sc, name);
	str_copy(op, sizeof(op), lex(lx));
	if (!op[0] || !strchr("=!<>", op[0])) {
		str_copy(next, len, op);
		return left;
	}
	lex(lx);
	if (is_number(lx->tok)) {
		double limit = strtod(lx->tok, NULL);

		for (size_t i = 0; i < left.n; i++)
			if (compare(left.s[i].v, op, limit))
				vec_push(&out, &left.s[i]);
	} else {
		/* One-to-one on every label (both sides come from one target). */
		right = selector(sc, lx->tok);
		for (size_t i = 0; i < left.n; i++)
			for (size_t k = 0; k < right.n; k++)
				if (strcmp(left.s[i].key, right.s[k].key) == 0 &&
				    compare(left.s[i].v, op, right.s[k].v))
					vec_push(&out, &left.s[i]);
		free(right.s);
	}
	free(left.s);
	str_copy(next, len, lex(lx));
	return out;
}

/* expr := cmp ("and" cmp)* */
static struct vec eval_expr(const struct scrape *sc, const char *expr)
{
	struct lexer lx = { expr, { 0 } };
	char next[128];
	struct vec acc = eval_cmp(sc, &lx, next, sizeof(next));

	while (strcmp(next, "and") == 0) {
		struct vec rhs = eval_cmp(sc, &lx, next, sizeof(next)), kept = { NULL, 0 };

		for (size_t i = 0; i < acc.n; i++)
			for (size_t k = 0; k < rhs.n; k++)
				if (strcmp(acc.s[i].key, rhs.s[k].key) == 0) {
					vec_push(&kept, &acc.s[i]);
					break;
				}
		free(acc.s);
		free(rhs.s);
		acc = kept;
	}
	if (next[0])
		fail_msg("unsupported PromQL '%s' in '%s' (extend this evaluator)", next, expr);
	return acc;
}

/* "node 3, node 4" for the alerts the rule's expression selects now. */
static size_t firing(const struct scrape *sc, const struct rule *r, char *nodes, size_t len)
{
	struct vec v = eval_expr(sc, r->expr);
	size_t n = v.n, off = 0;

	nodes[0] = '\0';
	for (size_t i = 0; i < v.n && off < len; i++) {
		int w = snprintf(nodes + off, len - off, "%snode %s", i ? ", " : "", v.s[i].node);
		off += w > 0 ? (size_t)w : 0;
	}
	free(v.s);
	return n;
}

static const struct rule *rule_named(const struct rule *rules, int n, const char *name)
{
	for (int i = 0; i < n; i++)
		if (strcmp(rules[i].name, name) == 0)
			return &rules[i];
	fail_msg("ci/alerts/ledger-dr.rules.yml has no alert '%s'", name);
	return NULL;
}

static double sample(const struct scrape *sc, int doc, const char *name)
{
	struct dr_error err = DR_ERROR_INIT;
	double v = 0;

	if (promtext_doc_find(&v, &sc->docs[doc], name, NULL, &err) != 0)
		fail_msg("%s", err.msg);
	return v;
}

/* ---- cross-check with promtool's real PromQL ----------------------------- */

static const char *promtool_path(void)
{
	static const char *const paths[] = { "/usr/bin/promtool", "/usr/local/bin/promtool" };

	for (size_t i = 0; i < sizeof(paths) / sizeof(paths[0]); i++)
		if (access(paths[i], X_OK) == 0)
			return paths[i];
	return NULL;
}

static json_t *labels_json(const struct vsample *s)
{
	json_t *o = json_object();

	for (int k = 0; k < s->nl; k++)
		json_object_set_new(o, s->lname[k], json_string(s->lval[k]));
	return o;
}

/* The live samples become series that stay constant for 5 minutes (long
 * enough for every `for:`), the alerts the evaluator selected become the
 * expected alerts at 5m, and promtool must agree.  Annotations are dropped
 * from a copy of the rules (promtool compares them too; the unit tests in
 * ci/alerts/ledger-dr.test.yml check them). */
static void promtool_agrees(const struct scrape *sc, const struct rule *rules, int n,
			    const char *state)
{
	const char *promtool = promtool_path();
	struct dr_error err = DR_ERROR_INIT;
	struct proc_result pr;
	json_t *stripped, *group, *rule, *series = json_array(), *tests = json_array(), *doc;
	char *dir = NULL, *rules_path = NULL, *test_path = NULL, *text;
	size_t gi, ri;

	if (!promtool) {
		fprintf(stderr, "# promtool not installed (apt-get install prometheus): "
				"no promtool cross-check of the %s state; the case is skipped\n", state);
		promtool_missing = 1;
		json_decref(series);
		json_decref(tests);
		return;
	}
	stripped = json_deep_copy(rules_tree);
	json_array_foreach(json_object_get(stripped, "groups"), gi, group)
		json_array_foreach(json_object_get(group, "rules"), ri, rule)
			json_object_del(rule, "annotations");
	for (int d = 0; d < sc->ndocs; d++) {
		for (size_t i = 0; i < sc->docs[d].count; i++) {
			const struct prom_sample *p = &sc->docs[d].samples[i];
			struct strbuf sb = STRBUF_INIT;

			if (strncmp(p->name, "ledger_raft_", 12) != 0 &&
			    strncmp(p->name, "ledger_replication_", 19) != 0)
				continue;
			strbuf_addf(&sb, "%s{", p->name);
			for (size_t k = 0; k < p->n_labels; k++)
				strbuf_addf(&sb, "%s%s=\"%s\"", k ? "," : "", p->labels[k].name,
					    p->labels[k].value);
			strbuf_adds(&sb, "}");
			text = xasprintf("%.17gx20", p->value);
			json_array_append_new(series, json_pack("{s:s,s:s}", "series", sb.buf, "values", text));
			free(text);
			strbuf_release(&sb);
		}
	}
	for (int i = 0; i < n; i++) {
		struct vec v = eval_expr(sc, rules[i].expr);
		json_t *exp = json_array(), *rule_labels = NULL;

		json_array_foreach(json_object_get(stripped, "groups"), gi, group)
			json_array_foreach(json_object_get(group, "rules"), ri, rule)
				if (strcmp(json_string_value(json_object_get(rule, "alert")) ?: "",
					   rules[i].name) == 0)
					rule_labels = json_object_get(rule, "labels");
		for (size_t k = 0; k < v.n; k++) {
			json_t *labels = labels_json(&v.s[k]);

			json_object_update(labels, rule_labels);
			json_array_append_new(exp, json_pack("{s:o}", "exp_labels", labels));
		}
		json_array_append_new(tests, json_pack("{s:s,s:s,s:o}", "eval_time", "5m", "alertname",
						       rules[i].name, "exp_alerts", exp));
		free(v.s);
	}
	dir = xasprintf("%s/promtool-%s", net.dir, state);
	assert_int_equal(fs_mkdir_p(dir, &err), 0);
	rules_path = xasprintf("%s/rules.json", dir);
	test_path = xasprintf("%s/test.json", dir);
	text = json_dumps(stripped, JSON_INDENT(1));
	assert_int_equal(fs_write_atomic(rules_path, text, strlen(text), &err), 0);
	free(text);
	doc = json_pack("{s:[s],s:s,s:[{s:s,s:o,s:o}]}", "rule_files", rules_path,
			"evaluation_interval", "15s", "tests", "interval", "15s", "input_series",
			series, "alert_rule_test", tests);
	text = json_dumps(doc, JSON_INDENT(1));
	assert_int_equal(fs_write_atomic(test_path, text, strlen(text), &err), 0);
	free(text);
	{
		char *argv[] = { (char *)promtool, "test", "rules", test_path, NULL };

		if (proc_run(&pr, argv, NULL, 30 * NS_PER_SEC, 1 << 16, &err) != 0)
			fail_msg("cannot run promtool: %s", err.msg);
		if (!pr.exited || pr.exit_code != 0)
			fail_msg("%s state: promtool disagrees with the evaluator (%s):\n%s%s", state,
				 test_path, pr.out, pr.errout);
		proc_result_release(&pr);
	}
	json_decref(doc);
	json_decref(stripped);
	free(rules_path);
	free(test_path);
	free(dir);
}

/* ---- tests ------------------------------------------------------------- */

static void test_evaluator_on_fixed_text(void **state)
{
	static const char text[] =
		"ledger_raft_leader{node=\"1\",region=\"p\",region_role=\"primary\"} 1\n"
		"ledger_raft_leader{node=\"2\",region=\"d\",region_role=\"dr\"} 0\n"
		"ledger_replication_lag_seconds{node=\"1\",region=\"p\",region_role=\"primary\"} 9\n"
		"ledger_replication_lag_seconds{node=\"2\",region=\"d\",region_role=\"dr\"} 9\n"
		"ledger_raft_peers_connected{node=\"1\",region=\"p\",region_role=\"primary\"} 1\n"
		"ledger_raft_quorum_size{node=\"1\",region=\"p\",region_role=\"primary\"} 2\n"
		"ledger_raft_quorum_size{node=\"2\",region=\"d\",region_role=\"dr\"} 2\n";
	struct rule r;
	struct scrape sc;
	struct dr_error err = DR_ERROR_INIT;
	char nodes[256];

	(void)state;
	memset(&sc, 0, sizeof(sc));
	assert_int_equal(promtext_parse(&sc.docs[0], text, strlen(text), &err), 0);
	sc.ndocs = 1;
	str_copy(r.expr, sizeof(r.expr), "ledger_raft_leader == 0");
	assert_int_equal(firing(&sc, &r, nodes, sizeof(nodes)), 1);
	assert_string_equal(nodes, "node 2");
	str_copy(r.expr, sizeof(r.expr), "ledger_replication_lag_seconds > 5 and ledger_raft_leader == 1");
	assert_int_equal(firing(&sc, &r, nodes, sizeof(nodes)), 1);
	assert_string_equal(nodes, "node 1");
	str_copy(r.expr, sizeof(r.expr), "ledger_raft_peers_connected < ledger_raft_quorum_size");
	assert_int_equal(firing(&sc, &r, nodes, sizeof(nodes)), 1);
	assert_string_equal(nodes, "node 1");
	str_copy(r.expr, sizeof(r.expr), "ledger_raft_peers_connected >= ledger_raft_quorum_size");
	assert_int_equal(firing(&sc, &r, nodes, sizeof(nodes)), 0);
	scrape_release(&sc);
}

static void test_healthy_then_leaderless(void **state)
{
	static const char *const roles[NODES] = { "primary", "primary", "dr", "dr", "witness" };
	struct rule rules[MAX_RULES];
	const struct rule *no_leader, *lag, *peers;
	struct scrape sc;
	char nodes[256] = "";
	int n = load_rules(rules, MAX_RULES);
	int64_t deadline;
	int quiet = 0;

	(void)state;
	assert_int_equal(n, 3);
	no_leader = rule_named(rules, n, "LedgerNoLeader");
	lag = rule_named(rules, n, "LedgerReplicationLagHigh");
	peers = rule_named(rules, n, "LedgerPeersBelowQuorum");

	assert_int_equal(testnet_start(&net, NODES, roles), 0);
	if (testnet_wait_leader(&net, 15000, -1) < 0)
		fail_msg("no leader within 15 s");

	/* Healthy: once every node knows the leader and caught up, no rule may
	 * select anything.  Bounded poll: a cluster that just elected its leader
	 * needs a heartbeat or two until every node says so. */
	deadline = clock_mono_ns() + 10 * NS_PER_SEC;
	while (!quiet) {
		size_t fired = 0;

		scrape_all(&sc);
		assert_int_equal(sc.ndocs, NODES);
		for (int i = 0; i < n; i++) {
			fired = firing(&sc, &rules[i], nodes, sizeof(nodes));
			if (fired) {
				if (clock_mono_ns() > deadline)
					fail_msg("healthy cluster: %s fires for %s", rules[i].name, nodes);
				break;
			}
		}
		quiet = fired == 0;
		if (quiet)
			promtool_agrees(&sc, rules, n, "healthy");
		scrape_release(&sc);
		if (!quiet)
			clock_sleep_ns(100 * NS_PER_MS);
	}

	/* Leaderless: kill both primary nodes and one DR node: 2 of 5 voters
	 * are left, no quorum, no leader. */
	testnet_kill(&net, 0, SIGKILL);
	testnet_kill(&net, 1, SIGKILL);
	testnet_kill(&net, 2, SIGKILL);
	deadline = clock_mono_ns() + 10 * NS_PER_SEC;
	for (;;) {
		size_t fired;

		scrape_all(&sc);
		fired = firing(&sc, no_leader, nodes, sizeof(nodes));
		if (fired == 2)
			break;
		scrape_release(&sc);
		if (clock_mono_ns() > deadline)
			fail_msg("leaderless cluster: LedgerNoLeader selects %zu node(s) (%s), expected the 2 survivors",
				 fired, nodes);
		clock_sleep_ns(100 * NS_PER_MS);
	}
	assert_string_equal(nodes, "node 4, node 5");
	promtool_agrees(&sc, rules, n, "leaderless");
	scrape_release(&sc);

	/* Wait until the survivors' lag (time since they knew a leader) is over
	 * the lag alert's 5 s: it must stay quiet, and so must the peers alert
	 * (no leader exports ledger_raft_peers_connected). */
	deadline = clock_mono_ns() + 15 * NS_PER_SEC;
	for (;;) {
		int over = 0;

		scrape_all(&sc);
		assert_int_equal(sc.ndocs, 2);
		over = sample(&sc, 0, "ledger_replication_lag_seconds") > 5 &&
		       sample(&sc, 1, "ledger_replication_lag_seconds") > 5;
		if (firing(&sc, lag, nodes, sizeof(nodes)))
			fail_msg("leaderless cluster: LedgerReplicationLagHigh fires for %s", nodes);
		if (firing(&sc, peers, nodes, sizeof(nodes)))
			fail_msg("leaderless cluster: LedgerPeersBelowQuorum fires for %s", nodes);
		if (firing(&sc, no_leader, nodes, sizeof(nodes)) != 2)
			fail_msg("leaderless cluster: LedgerNoLeader stopped selecting both survivors (%s)",
				 nodes);
		if (over)
			promtool_agrees(&sc, rules, n, "leaderless-lagging");
		scrape_release(&sc);
		if (over)
			break;
		if (clock_mono_ns() > deadline)
			fail_msg("the survivors' ledger_replication_lag_seconds did not pass 5 s within 15 s");
		clock_sleep_ns(250 * NS_PER_MS);
	}
	testnet_destroy(&net);
	json_decref(rules_tree);
	rules_tree = NULL;
	/* Every other check held, but without promtool the case is not whole:
	 * a skip, which tests/run-tests.sh shows (and fails under CI=true). */
	if (promtool_missing)
		skip();
}

static int teardown(void **state)
{
	(void)state;
	testnet_destroy_all();
	return 0;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_evaluator_on_fixed_text),
		cmocka_unit_test_teardown(test_healthy_then_leaderless, teardown),
	};

	signal(SIGPIPE, SIG_IGN);
	curl_global_init(CURL_GLOBAL_DEFAULT);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
