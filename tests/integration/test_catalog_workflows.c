/* The CI assets: every workflow under ci/workflows/ and .github/workflows/
 * parses as YAML (libyaml, through harness/yaml/yaml_json.h: no syntax error, no
 * duplicate key), has the shape GitHub Actions needs, and references only
 * scripts (ci/x.sh, executable) and make targets that exist.  The DR drill
 * template is checked against issue 7: monthly cron, dispatch inputs whose
 * drills exist, a concurrency group, Debian 12, kubectl from pkgs.k8s.io,
 * artefacts and the step summary.  The project's own gate is the template's
 * twin.
 */
#include <glob.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>
#include <ctype.h>

#include "common/fsutil.h"
#include "common/strbuf.h"
#include "harness/yaml/yaml_json.h"

struct loaded {
	json_t *root;
	char *text;
	int errors;
	char first_error[512];
};

static const char *src_dir(void)
{
	const char *s = getenv("DRILLRIG_SRC");

	return s && *s ? s : ".";
}

static char *src_path(const char *rel)
{
	return xasprintf("%s/%s", src_dir(), rel);
}

static char *read_text(const char *path)
{
	struct dr_error err = DR_ERROR_INIT;
	char *text = NULL;
	size_t len = 0;

	if (fs_read_file(&text, &len, path, 1 << 20, &err) != 0)
		fail_msg("%s", err.msg);
	return text;
}

static void on_error(unsigned line, unsigned column, const char *msg, void *payload)
{
	struct loaded *l = payload;

	if (l->errors++ == 0)
		snprintf(l->first_error, sizeof(l->first_error), "%u:%u: %s", line, column, msg);
}

static void load_yaml(struct loaded *out, const char *path)
{
	struct yj_doc doc = YJ_DOC_INIT;
	int rc;

	memset(out, 0, sizeof(*out));
	out->text = read_text(path);
	rc = yj_load(&doc, out->text, strlen(out->text), YJ_YAML, on_error, out);
	if (rc != 0 || out->errors)
		fail_msg("%s: not valid YAML: %s", path, out->first_error);
	out->root = json_incref(doc.root);
	yj_doc_release(&doc);
}

static void loaded_release(struct loaded *l)
{
	json_decref(l->root);
	free(l->text);
}

/* Every run: text of every step of every job, joined by newlines. */
static void collect_runs(struct strbuf *out, json_t *root, const char *path)
{
	json_t *jobs = json_object_get(root, "jobs"), *job, *step;
	const char *jname;
	size_t i;

	if (!json_is_object(jobs) || json_object_size(jobs) == 0)
		fail_msg("%s: no jobs", path);
	json_object_foreach(jobs, jname, job) {
		json_t *steps = json_object_get(job, "steps");

		if (!json_object_get(job, "runs-on"))
			fail_msg("%s: job '%s' has no runs-on", path, jname);
		if (!json_is_array(steps) || json_array_size(steps) == 0)
			fail_msg("%s: job '%s' has no steps", path, jname);
		json_array_foreach(steps, i, step) {
			json_t *run = json_object_get(step, "run");
			json_t *uses = json_object_get(step, "uses");

			if ((run != NULL) == (uses != NULL))
				fail_msg("%s: job '%s' step %zu needs exactly one of run and uses", path,
					 jname, i);
			if (json_is_string(run)) {
				strbuf_adds(out, json_string_value(run));
				strbuf_adds(out, "\n");
			}
		}
	}
}

/* Does the Makefile define target (a rule "target:" or a .PHONY name)? */
static int make_target_exists(const char *makefile, const char *target)
{
	size_t n = strlen(target);
	const char *p = makefile;

	while ((p = strstr(p, target)) != NULL) {
		int at_line_start = p == makefile || p[-1] == '\n';

		if (at_line_start && (p[n] == ':' || (p[n] == ' ' && strchr(p + n, ':') &&
						       strchr(p + n, ':') < strchr(p + n, '\n'))))
			return 1;
		p += n;
	}
	return 0;
}

/* Is p where a shell command starts (line start, after ; && || or sudo)?
 * "apt-get install make gcc" names packages, not make targets. */
static int at_command_start(const char *text, const char *p)
{
	const char *q = p;

	while (q > text && (q[-1] == ' ' || q[-1] == '\t'))
		q--;
	if (q == text || strchr("\n;&|", q[-1]))
		return 1;
	return q - text >= 4 && strncmp(q - 4, "sudo", 4) == 0 &&
	       (q - 4 == text || isspace((unsigned char)q[-5]));
}

/* Check every ci/NAME.sh and every "make TARGET" in text. */
static void check_references(const char *text, const char *path, const char *makefile)
{
	const char *p;

	for (p = text; (p = strstr(p, "ci/")) != NULL; p += 3) {
		char rel[256];
		size_t n = 0;
		char *full;

		if (p > text && (isalnum((unsigned char)p[-1]) || p[-1] == '_' || p[-1] == '/'))
			continue; /* part of a longer path */
		while ((isalnum((unsigned char)p[n]) || strchr("/._-", p[n])) && n + 1 < sizeof(rel)) {
			rel[n] = p[n];
			n++;
		}
		rel[n] = '\0';
		if (n < 4 || strcmp(rel + n - 3, ".sh") != 0)
			continue;
		full = src_path(rel);
		if (access(full, X_OK) != 0)
			fail_msg("%s references '%s', which does not exist or is not executable", path, rel);
		free(full);
	}
	for (p = text; (p = strstr(p, "make ")) != NULL; p += 5) {
		const char *w = p + 5;
		int quoted = 0;

		if (!at_command_start(text, p))
			continue;
		/* Words until the end of the command: VAR=value, -flags and words
		 * inside quotes are not targets. */
		while (*w && *w != '\n' && *w != ';' && *w != '&' && *w != '|') {
			char word[128];
			size_t n = 0, quotes = 0;

			while (*w == ' ')
				w++;
			while (*w && !isspace((unsigned char)*w) && n + 1 < sizeof(word))
				word[n++] = *w++;
			word[n] = '\0';
			if (!n)
				break;
			for (size_t k = 0; k < n; k++)
				quotes += word[k] == '"';
			if (!quoted && !strchr(word, '=') && word[0] != '-' && word[0] != '$' &&
			    !quotes && !make_target_exists(makefile, word))
				fail_msg("%s runs 'make %s', but the Makefile has no such target", path, word);
			if (quotes % 2)
				quoted = !quoted;
		}
	}
}

static json_t *dig(json_t *v, const char *a, const char *b)
{
	v = json_object_get(v, a);
	return b ? json_object_get(v, b) : v;
}

/* ---- tests ------------------------------------------------------------- */

static void test_every_workflow_parses_and_references_exist(void **state)
{
	char *pattern_a = src_path("ci/workflows/*.yml"), *pattern_b = src_path(".github/workflows/*.yml");
	char *mk = src_path("Makefile"), *makefile = read_text(mk);
	glob_t g;
	size_t checked = 0;

	(void)state;
	assert_int_equal(glob(pattern_a, 0, NULL, &g), 0);
	assert_int_equal(glob(pattern_b, GLOB_APPEND, NULL, &g), 0);
	for (size_t i = 0; i < g.gl_pathc; i++) {
		struct strbuf runs = STRBUF_INIT;
		struct loaded l;

		load_yaml(&l, g.gl_pathv[i]);
		if (!json_is_string(json_object_get(l.root, "name")))
			fail_msg("%s: no name", g.gl_pathv[i]);
		if (!json_object_get(l.root, "on"))
			fail_msg("%s: no 'on' (trigger)", g.gl_pathv[i]);
		collect_runs(&runs, l.root, g.gl_pathv[i]);
		check_references(runs.buf ? runs.buf : "", g.gl_pathv[i], makefile);
		strbuf_release(&runs);
		loaded_release(&l);
		checked++;
	}
	/* dr-drill and drill-gate templates, ci.yml and the project's gate. */
	assert_true(checked >= 4);
	globfree(&g);
	free(pattern_a);
	free(pattern_b);
	free(makefile);
	free(mk);
}

static void test_reference_checker_catches_missing(void **state)
{
	(void)state;
	/* The checker itself: a target that exists passes ... */
	check_references("make drill-all X=1\nci/drill-all.sh\napt-get install make gcc\n", "inline",
			 "drill-all: x\n");
	assert_true(at_command_start("a && make x", strstr("a && make x", "make")));
	assert_false(at_command_start("install make gcc", strstr("install make gcc", "make")));
	/* ... and the make-target matcher refuses an unknown one. */
	assert_false(make_target_exists("drill-all: x\n", "no-such-target"));
	assert_true(make_target_exists("a b: x\n", "a"));
	assert_false(make_target_exists("xdrill: x\n", "drill"));
}

static void test_dr_drill_template(void **state)
{
	char *path = src_path("ci/workflows/dr-drill.yml"), *script;
	struct loaded l;
	json_t *on, *inputs, *opts, *job, *o, *step;
	struct strbuf runs = STRBUF_INIT;
	const char *cron;
	size_t i;
	int uploads = 0;

	(void)state;
	load_yaml(&l, path);
	on = json_object_get(l.root, "on");
	cron = json_string_value(json_object_get(json_array_get(json_object_get(on, "schedule"), 0), "cron"));
	assert_non_null(cron);
	assert_string_equal(cron, "0 3 1 * *");
	inputs = dig(on, "workflow_dispatch", "inputs");
	assert_non_null(json_object_get(inputs, "drill"));
	assert_non_null(json_object_get(inputs, "target"));
	assert_non_null(json_object_get(inputs, "push"));
	opts = dig(inputs, "drill", "options");
	assert_true(json_array_size(opts) >= 9);
	json_array_foreach(opts, i, o) {
		char *rel = xasprintf("drills/%s.yaml", json_string_value(o));
		char *plan = src_path(rel);

		if (access(plan, R_OK) != 0)
			fail_msg("dr-drill.yml offers drill '%s' but %s does not exist", json_string_value(o), rel);
		free(plan);
		free(rel);
	}
	opts = dig(inputs, "target", "options");
	assert_int_equal(json_array_size(opts), 2);
	assert_non_null(json_string_value(dig(l.root, "concurrency", "group")));
	job = dig(l.root, "jobs", "drill");
	assert_string_equal(json_string_value(json_object_get(job, "container")), "debian:12");
	json_array_foreach(json_object_get(job, "steps"), i, step) {
		const char *uses = json_string_value(json_object_get(step, "uses"));

		uploads += uses && strncmp(uses, "actions/upload-artifact@", 24) == 0;
	}
	assert_int_equal(uploads, 1);
	collect_runs(&runs, l.root, path);
	assert_non_null(strstr(runs.buf, "ci/verify-dr-health.sh"));
	assert_non_null(strstr(runs.buf, "ci/dr-drill.sh"));
	assert_non_null(strstr(runs.buf, "ci/restore-primary.sh"));
	assert_non_null(strstr(runs.buf, "ci/install-kubectl.sh"));
	/* Never Debian's kubectl: no apt-get line of the workflow installs it. */
	assert_null(strstr(runs.buf, "install -y -q --no-install-recommends kubectl"));
	strbuf_release(&runs);
	free(path);

	path = src_path("ci/install-kubectl.sh");
	script = read_text(path);
	assert_non_null(strstr(script, "https://pkgs.k8s.io/core:/stable:/v$minor/deb/"));
	free(script);
	free(path);
	/* The drill's exit code fails the job (drillrig run itself appends the
	 * markdown summary to $GITHUB_STEP_SUMMARY: test_ci_assets.sh). */
	path = src_path("ci/dr-drill.sh");
	script = read_text(path);
	assert_non_null(strstr(script, "exit \"$rc\""));
	free(script);
	free(path);
	loaded_release(&l);
}

static void test_gate_template_and_project_gate(void **state)
{
	char *tpath = src_path("ci/workflows/drill-gate.yml");
	char *ppath = src_path(".github/workflows/drill-gate.yml");
	struct loaded t, p;
	struct strbuf runs = STRBUF_INIT;

	(void)state;
	load_yaml(&t, tpath);
	load_yaml(&p, ppath);
	assert_non_null(json_object_get(json_object_get(t.root, "on"), "pull_request"));
	assert_non_null(json_string_value(dig(t.root, "concurrency", "group")));
	collect_runs(&runs, t.root, tpath);
	assert_non_null(strstr(runs.buf, "make drill-all"));
	assert_non_null(strstr(runs.buf, "--fail-on-regression"));
	assert_non_null(strstr(runs.buf, "GITHUB_STEP_SUMMARY"));
	/* The project runs exactly the template (comments aside). */
	if (!json_equal(t.root, p.root))
		fail_msg(".github/workflows/drill-gate.yml differs from ci/workflows/drill-gate.yml");
	strbuf_release(&runs);
	loaded_release(&t);
	loaded_release(&p);
	free(tpath);
	free(ppath);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_every_workflow_parses_and_references_exist),
		cmocka_unit_test(test_reference_checker_catches_missing),
		cmocka_unit_test(test_dr_drill_template),
		cmocka_unit_test(test_gate_template_and_project_gate),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
