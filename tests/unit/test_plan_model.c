/* The typed plan model: fields of the default drill, defaults, options
 * (--target, --timing, --var), variable substitution and secrets, and the
 * readers of validated arguments. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "common/clock.h"
#include "common/strbuf.h"
#include "harness/plan/plan.h"
#include "harness/target/registry.h"

/* Plans may name any registered target kind. */
static const struct plan_load_opts any_target = PLAN_LOAD_OPTS_TARGETS(target_registry);

#define MS(n) ((int64_t)(n) * NS_PER_MS)
#define SEC(n) ((int64_t)(n) * NS_PER_SEC)

static char *drill_path(const char *rel)
{
	const char *s = getenv("DRILLRIG_SRC");

	return xasprintf("%s/%s", s && s[0] ? s : ".", rel);
}

static struct plan *load_ok(const char *name, const char *text,
			    const struct plan_load_opts *opts)
{
	struct plan_diags diags = PLAN_DIAGS_INIT;
	struct plan *plan = NULL;

	if (plan_load_text(&plan, name, text, strlen(text), opts ? opts : &any_target, &diags) != 0) {
		plan_diags_print(stderr, &diags);
		fail_msg("%s should load", name);
	}
	plan_diags_release(&diags);
	return plan;
}

/* Load text that must fail; returns the printed diagnostics. */
static char *load_bad(const char *name, const char *text, const struct plan_load_opts *opts)
{
	struct plan_diags diags = PLAN_DIAGS_INIT;
	struct plan *plan = NULL;
	char *buf = NULL;
	size_t len = 0;
	FILE *f;

	assert_int_equal(plan_load_text(&plan, name, text, strlen(text), opts ? opts : &any_target,
					&diags), -1);
	assert_null(plan);
	f = open_memstream(&buf, &len);
	plan_diags_print(f, &diags);
	fclose(f);
	plan_diags_release(&diags);
	return buf;
}

static void test_region_failover_model(void **state)
{
	char *path = drill_path("drills/region-failover.yaml");
	struct plan_diags diags = PLAN_DIAGS_INIT;
	struct plan *plan = NULL;
	const struct plan_step *s;

	(void)state;
	assert_int_equal(plan_load(&plan, path, &any_target, &diags), 0);
	assert_int_equal(diags.n, 0);
	assert_string_equal(plan->name, "region-failover");
	assert_string_equal(plan->target, "local");
	assert_int_equal(plan->version, 1);
	assert_true(plan->topology.has_topology && plan->topology.has_timing);
	assert_int_equal(plan->topology.nregions, 3);
	assert_string_equal(plan_find_region(plan, "primary")->name, "primary");
	assert_int_equal(plan_find_region(plan, "primary")->size, 2);
	assert_int_equal(plan_find_region(plan, "dr")->size, 2);
	assert_int_equal(plan_find_region(plan, "witness")->size, 1);
	assert_int_equal(plan->topology.election_timeout_ns, MS(300));
	assert_int_equal(plan->topology.heartbeat_ns, MS(30));
	assert_true(plan->objectives.has_rto && plan->objectives.rto_ns == SEC(60));
	assert_true(plan->objectives.has_promotion && plan->objectives.promotion_ns == SEC(10));
	assert_true(plan->objectives.has_resync && plan->objectives.resync_ns == SEC(60));
	assert_true(plan->objectives.has_rpo_writes && plan->objectives.rpo_writes == 0);
	assert_false(plan->objectives.has_availability);
	assert_int_equal(plan->deadline_ns, SEC(300));
	assert_int_equal(plan->workload.baseline_ns, SEC(2)); /* the monthly drill's "before" */
	assert_int_equal(json_array_size(plan->steady_state), 2);
	assert_int_equal(json_array_size(plan->abort_when), 1);
	assert_true(plan->nsteps >= 5);
	assert_int_equal(plan->nrollback, 0);

	s = plan_find_step(plan, "scale-primary-to-zero");
	assert_non_null(s);
	assert_string_equal(s->name, "scale-primary-to-zero");
	assert_string_equal(s->action, "scale");
	assert_true(s->fault);
	assert_int_equal(plan_arg_int(s->args, "replicas", -1), 0);
	assert_string_equal(plan_arg_str(s->args, "region"), "primary");
	assert_non_null(s->undo_step);
	assert_string_equal(s->undo_step->action, "scale");
	assert_string_equal(plan_arg_str(s->undo, "replicas"), "normal");
	assert_string_equal(s->undo_step->name, "undo-scale-primary-to-zero");
	assert_int_equal(s->timeout_ns, SEC(120));   /* scale's default */
	/* The step starts at its "- name:" line, column of "name". */
	{
		const char *at = strstr(plan->source, "- name: scale-primary-to-zero");
		unsigned line = 1;

		assert_non_null(at);
		for (const char *p = plan->source; p < at; p++)
			line += *p == '\n';
		assert_int_equal(s->line, line);
		assert_int_equal(s->column, 5);
		assert_ptr_equal(&plan->steps[s->index], s);
	}

	s = plan_find_step(plan, "dr-promoted");
	assert_non_null(s);
	assert_int_equal(s->timeout_ns, SEC(60));
	assert_false(s->fault);
	assert_null(s->undo);
	s = plan_find_step(plan, "connectivity");
	assert_string_equal(plan_arg_str(json_object_get(s->args, "probe"), "type"), "write_read");
	/* Probe defaults are filled in. */
	assert_int_equal(plan_arg_int(json_object_get(s->args, "probe"), "retries", -1), 2);
	assert_int_equal(plan_arg_duration_ns(json_object_get(s->args, "probe"), "timeout", 0),
			 SEC(5));
	/* The source is kept as written. */
	assert_non_null(strstr(plan->source, "name: region-failover"));
	plan_free(plan);
	plan_diags_release(&diags);
	free(path);
}

static void test_defaults(void **state)
{
	struct plan *plan;

	(void)state;
	plan = load_ok("d.yaml", "version: 1\nname: d\nsteps:\n"
		       "  - {action: kill, what: leader}\n"
		       "  - {action: sleep, duration: 2s}\n"
		       "  - {action: notify, url: 'http://h/x', message: m}\n", NULL);
	assert_false(plan->topology.has_topology);
	assert_int_equal(plan->topology.nregions, 3);   /* the default topology */
	assert_int_equal(plan->topology.regions[0].size, 2);
	assert_int_equal(plan->topology.regions[2].role, PLAN_ROLE_WITNESS);
	assert_false(plan->topology.has_timing);
	assert_int_equal(plan->topology.election_timeout_ns, MS(300));
	assert_true(plan->workload.enabled);
	assert_true(plan->workload.rate == 0);
	assert_int_equal(plan->workload.timeout_ns, MS(200));
	assert_int_equal(plan->workload.poll_interval_ns, MS(20));
	assert_int_equal(plan->workload.payload_size, 64);
	assert_int_equal(plan->workload.baseline_ns, 0); /* no baseline period unless asked */
	assert_int_equal(plan->deadline_ns, 0);
	assert_string_equal(plan->description, "");
	assert_string_equal(plan->steps[0].name, "kill-1");
	assert_string_equal(plan_arg_str(plan->steps[0].args, "signal"), "KILL");
	assert_int_equal(plan->steps[0].timeout_ns, SEC(30));
	assert_string_equal(plan->steps[1].name, "sleep-2");
	assert_int_equal(plan->steps[1].timeout_ns, SEC(7));  /* duration + 5 s */
	assert_int_equal(json_array_size(plan->steady_state), 0);
	assert_int_equal(json_array_size(plan->abort_when), 0);
	plan_free(plan);
}

static void test_options(void **state)
{
	struct plan_load_opts opts = PLAN_LOAD_OPTS_TARGETS(target_registry);
	const char *text = "version: 1\nname: o\ntarget: local\nsteps:\n"
			   "  - {action: partition, what: region, region: dr}\n";
	struct plan *plan;
	char *out;

	(void)state;
	opts.timing = "1s/100ms";
	plan = load_ok("o.yaml", text, &opts);
	assert_true(plan->topology.has_timing);
	assert_int_equal(plan->topology.election_timeout_ns, SEC(1));
	assert_int_equal(plan->topology.heartbeat_ns, MS(100));
	plan_free(plan);

	opts.timing = "30ms/300ms";
	out = load_bad("o.yaml", text, &opts);
	assert_non_null(strstr(out, "o.yaml: --timing: invalid '30ms/300ms'"));
	free(out);

	opts.timing = NULL;
	opts.target = "kubernetes";
	out = load_bad("o.yaml", "version: 1\nname: o\ntarget: local\nsteps:\n"
		       "  - {action: pause, what: leader}\n", &opts);
	assert_non_null(strstr(out, "o.yaml:5:14: steps[0].action: target 'kubernetes' cannot "
			       "run action 'pause'"));
	free(out);
	opts.target = "nomad";
	out = load_bad("o.yaml", text, &opts);
	assert_non_null(strstr(out, "--target: unknown target 'nomad'"));
	free(out);
}

/* api: absent leaves the target's default (NULL); the plan's value and
 * --api are checked, --api wins; a kind without dialects refuses both. */
static void test_api(void **state)
{
	struct plan_load_opts opts = PLAN_LOAD_OPTS_TARGETS(target_registry);
	const char *plain = "version: 1\nname: a\nsteps:\n  - {action: sleep, duration: 1s}\n";
	const char *v1 = "version: 1\nname: a\napi: ledger.v1\nsteps:\n"
			 "  - {action: sleep, duration: 1s}\n";
	struct plan *plan;
	char *out;

	(void)state;
	plan = load_ok("a.yaml", plain, &opts);
	assert_null(plan->api);
	plan_free(plan);
	plan = load_ok("a.yaml", v1, &opts);
	assert_string_equal(plan->api, "ledger.v1");
	plan_free(plan);
	opts.api = "runbook";
	plan = load_ok("a.yaml", v1, &opts);
	assert_string_equal(plan->api, "runbook");
	plan_free(plan);
	opts.api = "ledger.v2";
	out = load_bad("a.yaml", plain, &opts);
	assert_non_null(strstr(out, "a.yaml: --api: unknown ledger API 'ledger.v2' (expected "
			       "runbook or ledger.v1)"));
	free(out);
	opts.api = "ledger.v1";
	opts.target = "etcd";
	out = load_bad("a.yaml", plain, &opts);
	assert_non_null(strstr(out, "--api: the etcd target does not speak the ledger API"));
	free(out);
	opts.api = NULL;
	out = load_bad("a.yaml", v1, &opts);
	assert_non_null(strstr(out, "a.yaml:3:6: api: the etcd target does not speak the ledger API"));
	free(out);
}

static void test_vars(void **state)
{
	const char *text = "version: 1\nname: v\nvars:\n"
			   "  n: {default: 0}\n"
			   "  region: dr\n"
			   "  hook: {default: 'https://h/abc-SECRET', secret: true}\n"
			   "  need: {description: no default}\n"
			   "steps:\n"
			   "  - action: scale\n"
			   "    region: ${region}\n"
			   "    replicas: ${n}\n"
			   "  - {action: notify, url: '${hook}', message: 'to ${region} ${need} $${x}'}\n";
	const char *vars[] = { "need=given", "n=1" };
	struct plan_load_opts opts = PLAN_LOAD_OPTS_TARGETS(target_registry);
	struct plan *plan;
	char *out, *red;
	json_t *rj;

	(void)state;
	/* A variable without a default needs --var. */
	out = load_bad("v.yaml", text, NULL);
	assert_non_null(strstr(out, "v.yaml:7:9: vars.need: variable 'need' has no default: "
			       "give it with --var need=VALUE"));
	free(out);

	opts.vars = vars;
	opts.nvars = 2;
	plan = load_ok("v.yaml", text, &opts);
	/* "${n}" became the integer 1 where an integer is expected. */
	assert_true(json_is_integer(json_object_get(plan->steps[0].args, "replicas")));
	assert_int_equal(plan_arg_int(plan->steps[0].args, "replicas", -1), 1);
	assert_string_equal(plan_arg_str(plan->steps[0].args, "region"), "dr");
	assert_string_equal(plan_arg_str(plan->steps[1].args, "message"), "to dr given ${x}");
	assert_string_equal(plan_arg_str(plan->steps[1].args, "url"), "https://h/abc-SECRET");
	/* Secrets: marked, and redacted on request; the source is as written. */
	assert_int_equal(plan->nvars, 4);
	for (size_t i = 0; i < plan->nvars; i++)
		assert_int_equal(plan->vars[i].secret, strcmp(plan->vars[i].name, "hook") == 0);
	assert_non_null(strstr(plan->source, "url: '${hook}'"));
	red = plan_redact(plan, "posting to https://h/abc-SECRET now");
	assert_string_equal(red, "posting to [REDACTED] now");
	free(red);
	rj = plan_redact_json(plan, plan->steps[1].args);
	assert_string_equal(json_string_value(json_object_get(rj, "url")), "[REDACTED]");
	json_decref(rj);
	plan_free(plan);

	/* --var for an undeclared variable, and a malformed one. */
	vars[0] = "nope=1";
	vars[1] = "novalue";
	out = load_bad("v.yaml", text, &opts);
	assert_non_null(strstr(out, "v.yaml: --var: variable 'nope' is not declared"));
	assert_non_null(strstr(out, "v.yaml: --var: expected NAME=VALUE, got 'novalue'"));
	free(out);

	/* A whole-string variable that is not a number stays a string, and the
	 * type error names the substituted value. */
	vars[0] = "need=x";
	vars[1] = "n=many";
	out = load_bad("v.yaml", text, &opts);
	assert_non_null(strstr(out, "v.yaml:11:15: steps[0].replicas: expected a replica count "
			       "(0 to 100) or \"normal\", got the string 'many'"));
	free(out);
}

static void test_several_errors_all_reported(void **state)
{
	const char *text = "{\"version\": 1, \"name\": \"j\", \"steps\": [\n"
			   "  {\"action\": \"sleep\"},\n"
			   "  {\"action\": \"kill\", \"what\": \"nobody\"},\n"
			   "  {\"action\": \"sleep\", \"duration\": \"1s\", \"fault\": true}\n"
			   "]}\n";
	struct plan_diags diags = PLAN_DIAGS_INIT;
	struct plan *plan = NULL;

	(void)state;
	assert_int_equal(plan_load_text(&plan, "j.json", text, strlen(text), &any_target, &diags), -1);
	assert_int_equal(diags.errors, 3);
	assert_int_equal(diags.items[0].line, 2);
	assert_int_equal(diags.items[0].column, 3);
	assert_string_equal(diags.items[0].path, "steps[0]");
	assert_int_equal(diags.items[1].line, 3);
	assert_int_equal(diags.items[1].column, 30);
	assert_string_equal(diags.items[1].path, "steps[1].what");
	assert_non_null(strstr(diags.items[1].message, "unknown value 'nobody'"));
	assert_int_equal(diags.items[2].line, 4);
	assert_string_equal(diags.items[2].path, "steps[2].fault");
	plan_diags_release(&diags);
	/* Diagnostics of several files accumulate. */
	assert_int_equal(plan_load(&plan, "/nonexistent/plan.yaml", &any_target, &diags), -1);
	assert_int_equal(plan_load_text(&plan, "j.json", text, strlen(text), &any_target, &diags), -1);
	assert_int_equal(diags.errors, 4);
	assert_string_equal(diags.items[0].file, "/nonexistent/plan.yaml");
	assert_int_equal(diags.items[0].line, 0);
	assert_non_null(strstr(diags.items[0].message, "No such file"));
	plan_diags_release(&diags);
}

static void test_arg_readers(void **state)
{
	json_t *args = json_pack("{s:s, s:I, s:b, s:s, s:[s,s], s:f}", "s", "x", "i",
				 (json_int_t)7, "b", 1, "d", "1m30s", "argv", "a", "b", "n", 2.5);
	const char **argv;

	(void)state;
	assert_string_equal(plan_arg_str(args, "s"), "x");
	assert_null(plan_arg_str(args, "missing"));
	assert_int_equal(plan_arg_int(args, "i", 0), 7);
	assert_int_equal(plan_arg_int(args, "missing", -3), -3);
	assert_true(plan_arg_bool(args, "b", 0));
	assert_int_equal(plan_arg_bool(args, "missing", 1), 1);
	assert_int_equal(plan_arg_duration_ns(args, "d", 0), SEC(90));
	assert_int_equal(plan_arg_duration_ns(args, "missing", 5), 5);
	assert_true(plan_arg_number(args, "n", 0) == 2.5);
	argv = plan_arg_argv(args, "argv");
	assert_string_equal(argv[0], "a");
	assert_string_equal(argv[1], "b");
	assert_null(argv[2]);
	free(argv);
	assert_null(plan_arg_argv(args, "s"));
	json_decref(args);
}

/* Diagnostics read top to bottom whatever order the checks ran in, and
 * the same message at the same place is reported once. */
static void test_diagnostics_in_file_order_once(void **state)
{
	struct plan_diags diags = PLAN_DIAGS_INIT;
	char *buf = NULL;
	size_t len = 0;
	FILE *f;

	(void)state;
	plan_diags_add(&diags, PLAN_DIAG_ERROR, "p.yaml", 5, 3, "steps[1].b", "second %s", "b");
	plan_diags_add(&diags, PLAN_DIAG_ERROR, "p.yaml", 2, 1, "a", "first");
	plan_diags_add(&diags, PLAN_DIAG_ERROR, "p.yaml", 5, 3, "steps[1].b", "second %s", "b");
	plan_diags_add(&diags, PLAN_DIAG_WARNING, "p.yaml", 5, 1, "steps[1]", "between");
	assert_int_equal(diags.n, 3);
	assert_int_equal(diags.errors, 2);
	assert_int_equal(diags.warnings, 1);
	f = open_memstream(&buf, &len);
	plan_diags_print(f, &diags);
	fclose(f);
	assert_string_equal(buf, "p.yaml:2:1: a: first\n"
				 "p.yaml:5:1: warning: steps[1]: between\n"
				 "p.yaml:5:3: steps[1].b: second b\n");
	free(buf);
	plan_diags_release(&diags);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_region_failover_model),
		cmocka_unit_test(test_defaults),
		cmocka_unit_test(test_options),
		cmocka_unit_test(test_api),
		cmocka_unit_test(test_vars),
		cmocka_unit_test(test_several_errors_all_reported),
		cmocka_unit_test(test_arg_readers),
		cmocka_unit_test(test_diagnostics_in_file_order_once),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
