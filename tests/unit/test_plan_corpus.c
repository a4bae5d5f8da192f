/* The plan corpus: every bad plan under tests/data/plans/bad/ fails with
 * exactly the diagnostics of its .expected sidecar (line:column included);
 * every good plan and every catalog drill loads without errors; together
 * the good plans use every action and every probe type. */
#include <dirent.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "common/fsutil.h"
#include "common/strbuf.h"
#include "harness/plan/actions.h"
#include "harness/plan/plan.h"
#include "harness/target/registry.h"

/* Plans may name any registered target kind. */
static const struct plan_load_opts any_target = PLAN_LOAD_OPTS_TARGETS(target_registry);

static const char *src_dir(void)
{
	const char *s = getenv("DRILLRIG_SRC");

	return s && s[0] ? s : ".";
}

static int is_plan(const char *name)
{
	const char *dot = strrchr(name, '.');

	return name[0] != '.' && dot && (!strcmp(dot, ".yaml") || !strcmp(dot, ".json"));
}

/* Plan files of a directory, sorted (caller frees each and the array). */
static char **list_plans(const char *dir, size_t *n)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	char **names = NULL;
	size_t alloc = 0;

	*n = 0;
	if (!d)
		fail_msg("cannot open %s", dir);
	while ((e = readdir(d))) {
		if (!is_plan(e->d_name))
			continue;
		if (*n == alloc) {
			alloc = alloc ? alloc * 2 : 32;
			names = xrealloc(names, alloc * sizeof(*names));
		}
		names[(*n)++] = xstrdup(e->d_name);
	}
	closedir(d);
	for (size_t i = 0; i < *n; i++)
		for (size_t j = i + 1; j < *n; j++)
			if (strcmp(names[i], names[j]) > 0) {
				char *t = names[i];

				names[i] = names[j];
				names[j] = t;
			}
	return names;
}

static char *format_diags(const struct plan_diags *diags)
{
	struct strbuf sb = STRBUF_INIT;

	for (size_t i = 0; i < diags->n; i++) {
		const struct plan_diag *d = &diags->items[i];

		strbuf_addf(&sb, "%u:%u: %s%s%s%s\n", d->line, d->column,
			    d->severity == PLAN_DIAG_WARNING ? "warning: " : "", d->path,
			    d->path[0] ? ": " : "", d->message);
	}
	return strbuf_detach(&sb);
}

static void test_bad_plans(void **state)
{
	char *dir = xasprintf("%s/tests/data/plans/bad", src_dir());
	size_t n, failures = 0;
	char **names = list_plans(dir, &n);

	(void)state;
	assert_true(n >= 30);
	for (size_t i = 0; i < n; i++) {
		char *path = xasprintf("%s/%s", dir, names[i]);
		char *exp_path = xasprintf("%s.expected", path);
		struct plan_diags diags = PLAN_DIAGS_INIT;
		struct plan *plan = NULL;
		struct dr_error err = DR_ERROR_INIT;
		char *expected = NULL, *got;

		if (fs_read_file(&expected, NULL, exp_path, 1 << 20, &err) != 0)
			fail_msg("%s has no sidecar: %s", names[i], err.msg);
		if (plan_load(&plan, path, &any_target, &diags) == 0) {
			print_error("%s: loaded, but it should fail\n", names[i]);
			failures++;
		}
		assert_null(plan);
		got = format_diags(&diags);
		if (strcmp(got, expected) != 0) {
			print_error("%s: diagnostics differ\n--- expected\n%s--- got\n%s", names[i],
				    expected, got);
			failures++;
		}
		assert_true(diags.errors >= 1);
		free(got);
		free(expected);
		plan_diags_release(&diags);
		free(exp_path);
		free(path);
		free(names[i]);
	}
	free(names);
	free(dir);
	if (failures)
		fail_msg("%zu bad plan(s) did not report what their .expected says", failures);
}

/* Record which actions and probe types a plan uses. */
static void collect_probe(json_t *probe, json_t *probes)
{
	const char *t = json_string_value(json_object_get(probe, "type"));

	if (t)
		json_object_set_new(probes, t, json_true());
}

static void collect(const struct plan *plan, json_t *actions, json_t *probes)
{
	for (size_t i = 0; i < plan->nsteps; i++) {
		json_object_set_new(actions, plan->steps[i].action, json_true());
		if (plan->steps[i].undo_step)
			json_object_set_new(actions, plan->steps[i].undo_step->action, json_true());
		if (json_object_get(plan->steps[i].args, "probe"))
			collect_probe(json_object_get(plan->steps[i].args, "probe"), probes);
	}
	for (size_t i = 0; i < plan->nrollback; i++)
		json_object_set_new(actions, plan->rollback[i].action, json_true());
	for (size_t i = 0; i < json_array_size(plan->steady_state); i++)
		collect_probe(json_array_get(plan->steady_state, i), probes);
	for (size_t i = 0; i < json_array_size(plan->abort_when); i++)
		if (json_object_get(json_array_get(plan->abort_when, i), "probe"))
			collect_probe(json_object_get(json_array_get(plan->abort_when, i), "probe"),
				      probes);
}

static void load_all_ok(const char *dir, json_t *actions, json_t *probes, size_t min)
{
	size_t n;
	char **names = list_plans(dir, &n);

	assert_true(n >= min);
	for (size_t i = 0; i < n; i++) {
		char *path = xasprintf("%s/%s", dir, names[i]);
		struct plan_diags diags = PLAN_DIAGS_INIT;
		struct plan *plan = NULL;

		if (plan_load(&plan, path, &any_target, &diags) != 0) {
			char *got = format_diags(&diags);

			fail_msg("%s should load, got:\n%s", path, got);
		}
		assert_int_equal(diags.errors, 0);
		assert_non_null(plan->name);
		assert_true(plan->nsteps >= 1);
		collect(plan, actions, probes);
		plan_free(plan);
		plan_diags_release(&diags);
		free(path);
		free(names[i]);
	}
	free(names);
}

static void test_good_plans_cover_everything(void **state)
{
	char *dir = xasprintf("%s/tests/data/plans/good", src_dir());
	json_t *actions = json_object(), *probes = json_object();

	(void)state;
	load_all_ok(dir, actions, probes, 5);
	for (size_t i = 0; action_specs[i]; i++)
		if (!json_object_get(actions, action_specs[i]->name))
			fail_msg("no good plan uses action '%s'", action_specs[i]->name);
	for (size_t i = 0; probe_specs[i]; i++)
		if (!json_object_get(probes, probe_specs[i]->name))
			fail_msg("no good plan uses probe type '%s'", probe_specs[i]->name);
	json_decref(actions);
	json_decref(probes);
	free(dir);
}

static void test_catalog_drills_validate(void **state)
{
	char *dir = xasprintf("%s/drills", src_dir());
	json_t *actions = json_object(), *probes = json_object();

	(void)state;
	load_all_ok(dir, actions, probes, 1);
	assert_non_null(json_object_get(actions, "scale"));
	json_decref(actions);
	json_decref(probes);
	free(dir);
}

/* Every prefix of every corpus file (cut at each byte of the first 2 KiB,
 * then at each line) loads or fails cleanly, with every error placed in
 * the file: what an editor's half-saved file or a fuzzer would feed in. */
static void check_prefixes(const char *path)
{
	struct dr_error err = DR_ERROR_INIT;
	char *text = NULL;
	size_t len = 0;

	if (fs_read_file(&text, &len, path, 1 << 20, &err) != 0)
		fail_msg("%s", err.msg);
	for (size_t cut = 0; cut <= len; cut++) {
		struct plan_diags diags = PLAN_DIAGS_INIT;
		struct plan *plan = NULL;
		unsigned lines = 1;
		int rc;

		if (cut > 2048 && cut < len && text[cut - 1] != '\n')
			continue;
		for (size_t i = 0; i < cut; i++)
			lines += text[i] == '\n';
		rc = plan_load_text(&plan, path, text, cut, &any_target, &diags);
		if (rc == 0)
			assert_non_null(plan);
		else
			assert_true(diags.errors > 0);
		for (size_t i = 0; i < diags.n; i++)
			if (diags.items[i].line > lines + 1)
				fail_msg("%s cut at %zu: error at line %u of a %u-line text: %s", path,
					 cut, diags.items[i].line, lines, diags.items[i].message);
		plan_free(plan);
		plan_diags_release(&diags);
	}
	free(text);
}

static void test_truncated_plans(void **state)
{
	const char *const dirs[] = { "tests/data/plans/good", "tests/data/plans/bad", "drills" };

	(void)state;
	for (size_t d = 0; d < 3; d++) {
		char *dir = xasprintf("%s/%s", src_dir(), dirs[d]);
		size_t n;
		char **names = list_plans(dir, &n);

		for (size_t i = 0; i < n; i++) {
			char *path = xasprintf("%s/%s", dir, names[i]);

			check_prefixes(path);
			free(path);
			free(names[i]);
		}
		free(names);
		free(dir);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_bad_plans),
		cmocka_unit_test(test_good_plans_cover_everything),
		cmocka_unit_test(test_catalog_drills_validate),
		cmocka_unit_test(test_truncated_plans),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
