/* Secrets at the unit level, the helpers tests/integration/
 * test_hardening_secrets.sh relies on: plan_redact / plan_redact_json
 * (harness/plan/plan.h) for plan variables marked secret, whether from a
 * default in the plan or from --var; the plan diagnostics, which reach
 * stderr of `drillrig validate` and `run`; and redact_text / redact_json
 * (reports/redact.h) for each kind found without help. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "common/strbuf.h"
#include "harness/plan/plan.h"
#include "harness/target/registry.h"
#include "reports/redact.h"

#define CLI_SECRET "cli-secret-5d1e0b7a"
#define DEFAULT_SECRET "default-secret-93c2f4"
#define PLAIN_VALUE "plain-value-a8e1"
/* Longer than the 40 characters a diagnostic quotes of a value. */
#define LONG_SECRET "long-secret-0123456789abcdefghijklmnopqrstuvwxyz"
/* Digits first: a duration parser reads the rest as a unit. */
#define DIGIT_SECRET "5xdigit-secret-7c1"

static const char plan_yaml[] =
	"version: 1\n"
	"name: secrets\n"
	"vars:\n"
	"  api_token: {secret: true}\n"
	"  hook: {default: \"https://hooks.example/T0/" DEFAULT_SECRET "\", secret: true}\n"
	"  label: {default: \"" PLAIN_VALUE "\"}\n"
	"steps:\n"
	"  - name: call-api\n"
	"    action: exec\n"
	"    argv: [curl, -H, \"Authorization: token ${api_token}\", \"https://api.example/${label}\"]\n"
	"    env: {API_TOKEN_COPY: \"${api_token}\"}\n"
	"  - name: tell\n"
	"    action: notify\n"
	"    url: \"${hook}\"\n"
	"    message: \"label ${label}\"\n";

static struct plan *load(const char *text, const char *const *vars, size_t nvars,
			 struct plan_diags *diags)
{
	struct plan_load_opts opts = PLAN_LOAD_OPTS_TARGETS(target_registry);
	struct plan *plan = NULL;

	opts.vars = vars;
	opts.nvars = nvars;
	(void)plan_load_text(&plan, "secrets.yaml", text, strlen(text), &opts, diags);
	return plan;
}

static void assert_clean(const char *text, const char *what)
{
	if (strstr(text, CLI_SECRET) || strstr(text, DEFAULT_SECRET))
		fail_msg("%s holds a secret value: %s", what, text);
}

static void test_plan_redact_covers_source_args_and_defaults(void **state)
{
	const char *vars[] = { "api_token=" CLI_SECRET };
	struct plan_diags diags = PLAN_DIAGS_INIT;
	struct plan *plan;
	char *s;
	json_t *j;

	(void)state;
	plan = load(plan_yaml, vars, 1, &diags);
	if (!plan) {
		plan_diags_print(stderr, &diags);
		fail_msg("the plan does not load");
	}
	/* The substituted args really hold the secrets (else this proves nothing). */
	s = json_dumps(plan->steps[0].args, 0);
	assert_non_null(strstr(s, CLI_SECRET));
	free(s);
	/* The source as written: the default is in it. */
	assert_non_null(strstr(plan->source, DEFAULT_SECRET));
	s = plan_redact(plan, plan->source);
	assert_clean(s, "plan_redact(source)");
	assert_non_null(strstr(s, PLAIN_VALUE)); /* non-secret values stay */
	free(s);
	for (size_t i = 0; i < plan->nsteps; i++) {
		j = plan_redact_json(plan, plan->steps[i].args);
		s = json_dumps(j, JSON_SORT_KEYS);
		assert_clean(s, "plan_redact_json(step args)");
		assert_non_null(strstr(s, i == 0 ? "api.example/" PLAIN_VALUE : "label " PLAIN_VALUE));
		free(s);
		json_decref(j);
	}
	j = plan_redact_json(plan, plan->root);
	s = json_dumps(j, 0);
	assert_clean(s, "plan_redact_json(root)");
	free(s);
	json_decref(j);
	/* A message that quotes a substituted argv, as the exec step's does. */
	s = plan_redact(plan, "'curl -H Authorization: token " CLI_SECRET "' exited with 0");
	assert_clean(s, "plan_redact(message)");
	free(s);
	for (size_t i = 0; i < plan->nvars; i++)
		if (strcmp(plan->vars[i].name, "label") == 0)
			assert_false(plan->vars[i].secret);
		else
			assert_true(plan->vars[i].secret);
	plan_free(plan);
	plan_diags_release(&diags);
}

/* 1 when text holds any piece of secret of n characters or more. */
static int holds_piece(const char *text, const char *secret, size_t n)
{
	char piece[128];
	size_t len = strlen(secret);

	assert_true(n < sizeof(piece) && len >= n);
	for (size_t i = 0; i + n <= len; i++) {
		memcpy(piece, secret + i, n);
		piece[n] = '\0';
		if (strstr(text, piece))
			return 1;
	}
	return 0;
}

/* A secret variable used where the schema wants something else: each
 * diagnostic names the place and shows [REDACTED], never the value nor a
 * piece of it.  The long value is cut to 40 characters in "got the string
 * '...'"; the one starting with digits makes the duration parser quote
 * the rest as an unknown unit. */
static void test_diagnostics_do_not_echo_secret_values(void **state)
{
	static const char bad[] =
		"version: 1\n"
		"name: secrets-bad\n"
		"vars:\n"
		"  api_token: {secret: true}\n"
		"  long_token: {secret: true}\n"
		"  digit_token: {secret: true}\n"
		"steps:\n"
		"  - name: scale\n"
		"    action: scale\n"
		"    region: primary\n"
		"    replicas: ${api_token}\n"
		"    timeout: ${api_token}\n"
		"  - name: tell\n"
		"    action: notify\n"
		"    url: \"${api_token}\"\n"
		"    message: m\n"
		"  - name: scale-long\n"
		"    action: scale\n"
		"    region: primary\n"
		"    replicas: ${long_token}\n"
		"  - name: wait\n"
		"    action: sleep\n"
		"    duration: ${digit_token}\n";
	const char *vars[] = { "api_token=" CLI_SECRET, "long_token=" LONG_SECRET,
			       "digit_token=" DIGIT_SECRET };
	const char *where[] = { "steps[0].replicas: ", "steps[0].timeout: ", "steps[1].url: ",
				"steps[2].replicas: ", "steps[3].duration: " };
	struct plan_diags diags = PLAN_DIAGS_INIT;
	struct plan *plan;
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	(void)state;
	plan = load(bad, vars, 3, &diags);
	assert_null(plan);
	plan_diags_print(f, &diags);
	fclose(f);
	/* Each misuse is reported, with the value shown redacted. */
	for (size_t i = 0; i < sizeof(where) / sizeof(where[0]); i++) {
		const char *line = strstr(buf, where[i]);
		const char *eol = line ? strchr(line, '\n') : NULL;
		const char *r = line ? strstr(line, "[REDACTED]") : NULL;

		if (!line || !r || r > eol)
			fail_msg("no diagnostic '%s... [REDACTED]' in:\n%s", where[i], buf);
	}
	if (holds_piece(buf, CLI_SECRET, 8) || holds_piece(buf, LONG_SECRET, 8) ||
	    holds_piece(buf, DIGIT_SECRET, 8))
		fail_msg("the diagnostics hold (a piece of) a secret value:\n%s", buf);
	free(buf);
	plan_diags_release(&diags);
}

static void test_redact_text_finds_each_kind(void **state)
{
	static const struct {
		const char *in, *secret;
	} cases[] = {
		{ "GET http://deploy:hunter2-pass@10.0.0.1:8080/x failed", "hunter2-pass" },
		{ "url=https://user:p%40ss-word@example.com/", "p%40ss-word" },
		{ "Authorization: Basic ZGVwbG95Omh1bnRlcjI=", "ZGVwbG95Omh1bnRlcjI=" },
		{ "curl -H 'Authorization: token ghp_abcdef123456'", "ghp_abcdef123456" },
		{ "header Bearer eyJhbGciOiJIUzI1NiJ9.x.y", "eyJhbGciOiJIUzI1NiJ9.x.y" },
		{ "env says tok-from-env-77a1 here", "tok-from-env-77a1" },
		{ "registered reg-secret-4b2 in text", "reg-secret-4b2" },
	};
	char *out;

	(void)state;
	setenv("HARDENING_TEST_TOKEN", "tok-from-env-77a1", 1);
	redact_add_secret("reg-secret-4b2");
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		out = redact_text(cases[i].in);
		if (strstr(out, cases[i].secret) || !strstr(out, REDACTED))
			fail_msg("redact_text(\"%s\") = \"%s\"", cases[i].in, out);
		free(out);
	}
	/* Text without secrets is untouched. */
	out = redact_text("leader 3 in dr, Fully replicated (http://127.0.0.1:1/)");
	assert_string_equal(out, "leader 3 in dr, Fully replicated (http://127.0.0.1:1/)");
	free(out);
	unsetenv("HARDENING_TEST_TOKEN");
	redact_clear_secrets();
}

static void test_redact_json_keys_and_nesting(void **state)
{
	json_t *in = json_pack("{s:[s,{s:s}], s:s}", "argv", "x",
			       "url", "http://a:deep-pass-1@h/", "reg-key-secret-9", "v");
	json_t *out;
	char *s;

	(void)state;
	redact_add_secret("reg-key-secret-9");
	out = redact_json(in);
	s = json_dumps(out, JSON_SORT_KEYS);
	assert_null(strstr(s, "deep-pass-1"));
	assert_null(strstr(s, "reg-key-secret-9"));
	free(s);
	json_decref(out);
	json_decref(in);
	redact_clear_secrets();
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_plan_redact_covers_source_args_and_defaults),
		cmocka_unit_test(test_diagnostics_do_not_echo_secret_values),
		cmocka_unit_test(test_redact_text_finds_each_kind),
		cmocka_unit_test(test_redact_json_keys_and_nesting),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
