/* Confirmation before the Kubernetes target changes live clusters: the
 * summary names every context, namespace and StatefulSet; only "yes"
 * confirms; without a terminal only --yes does, as a usage error (exit 2)
 * otherwise; a dry run needs none. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "common/strbuf.h"
#include "harness/target/k8s/k8s.h"
#include "harness/target/k8s/k8s_impl.h"

static struct k8s_config *load(void)
{
	const char *s = getenv("DRILLRIG_SRC");
	char *path = xasprintf("%s/tests/data/k8s/eks-runbook.yaml", s && *s ? s : ".");
	struct dr_error err = DR_ERROR_INIT;
	struct k8s_config *cfg = NULL;

	if (k8s_config_load(&cfg, path, &err) != 0)
		fail_msg("%s", err.msg);
	free(path);
	return cfg;
}

static int ask(const char *typed, int yes, int interactive, char **shown, struct dr_error *err)
{
	struct k8s_config *cfg = load();
	char *buf = NULL;
	size_t len = 0;
	FILE *in = fmemopen((void *)typed, strlen(typed), "r"), *out = open_memstream(&buf, &len);
	int rc;

	assert_non_null(in);
	assert_non_null(out);
	rc = k8s_confirm(cfg, yes, interactive, in, out, err);
	fclose(in);
	fclose(out);
	*shown = buf;
	k8s_config_free(cfg);
	return rc;
}

static void test_yes_typed_confirms_after_the_summary(void **state)
{
	struct dr_error err = DR_ERROR_INIT;
	char *shown = NULL;

	(void)state;
	assert_int_equal(ask("yes\n", 0, 1, &shown, &err), 0);
	assert_non_null(strstr(shown, "context eks-primary"));
	assert_non_null(strstr(shown, "context eks-dr"));
	assert_non_null(strstr(shown, "namespace inferadb"));
	assert_non_null(strstr(shown, "statefulset/inferadb-ledger (normal 3 replicas)"));
	assert_non_null(strstr(shown, "kubeconfig /etc/drillrig/kubeconfig-dr"));
	assert_non_null(strstr(shown, "Type 'yes' to continue"));
	free(shown);
}

static void test_anything_else_declines(void **state)
{
	static const char *const answers[] = { "y\n", "YES\n", "yes please\n", "\n", "" };
	struct dr_error err = DR_ERROR_INIT;
	char *shown = NULL;

	(void)state;
	for (size_t i = 0; i < sizeof(answers) / sizeof(answers[0]); i++) {
		assert_int_equal(ask(answers[i], 0, 1, &shown, &err), TARGET_EUSAGE);
		assert_non_null(strstr(err.msg, "not confirmed"));
		free(shown);
	}
}

static void test_no_terminal_needs_yes(void **state)
{
	struct dr_error err = DR_ERROR_INIT;
	char *shown = NULL;

	(void)state;
	/* Typed input is ignored without a terminal: a pipe is not a human. */
	assert_int_equal(ask("yes\n", 0, 0, &shown, &err), TARGET_EUSAGE);
	assert_non_null(strstr(err.msg, "pass --yes"));
	assert_string_equal(shown, "");
	free(shown);
	assert_int_equal(ask("", 1, 0, &shown, &err), 0);
	assert_string_equal(shown, "");
	free(shown);
}

static void test_constructor_refuses_before_anything_without_yes(void **state)
{
	const char *s = getenv("DRILLRIG_SRC");
	char *path = xasprintf("%s/tests/data/k8s/eks-runbook.yaml", s && *s ? s : ".");
	struct target_k8s_opts o = TARGET_K8S_OPTS_INIT;
	struct dr_error err = DR_ERROR_INIT;
	struct target *t = NULL;

	(void)state;
	o.config_path = path;
	o.interactive = 0;
	assert_int_equal(target_k8s_new(&t, NULL, &o, &err), TARGET_EUSAGE);
	assert_null(t);
	/* A dry run needs no confirmation. */
	o.dry_run = 1;
	assert_int_equal(target_k8s_new(&t, NULL, &o, &err), 0);
	assert_non_null(t);
	t->close(t, 0);
	free(path);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_yes_typed_confirms_after_the_summary),
		cmocka_unit_test(test_anything_else_declines),
		cmocka_unit_test(test_no_terminal_needs_yes),
		cmocka_unit_test(test_constructor_refuses_before_anything_without_yes),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
