/* The exact kubectl argv of every Kubernetes action, in both API dialects,
 * against golden lists (tests/data/k8s/golden-argv-*.txt).  The actions run
 * as a dry run, which prints each command exactly as it would run and runs
 * none; the builders the dry run does not reach (Lease, preflight) are
 * rendered directly.  K8S_UPDATE_GOLDEN=1 rewrites the golden files (review
 * the diff: it is the contract with kubectl). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "common/fsutil.h"
#include "common/strbuf.h"
#include "harness/run/executor.h"
#include "harness/target/k8s/k8s.h"
#include "harness/target/k8s/k8s_canary_api.h"
#include "harness/target/k8s/k8s_cmd.h"
#include "harness/target/k8s/k8s_config.h"

static char *src_path(const char *rel)
{
	const char *s = getenv("DRILLRIG_SRC");

	return xasprintf("%s/%s", s && *s ? s : ".", rel);
}

static const char *const actions[][2] = {
	{ "scale", "{\"region\":\"primary\",\"replicas\":0}" },
	{ "scale", "{\"region\":\"primary\",\"replicas\":\"normal\"}" },
	{ "kill", "{\"what\":\"leader\",\"signal\":\"KILL\"}" },
	{ "kill", "{\"what\":\"node\",\"node\":\"inferadb-ledger-2\",\"region\":\"dr\",\"signal\":\"TERM\"}" },
	{ "kill", "{\"what\":\"node\",\"node\":\"inferadb-ledger-0\",\"region\":\"dr\",\"signal\":\"QUIT\"}" },
	{ "kill", "{\"what\":\"region\",\"region\":\"dr\",\"signal\":\"KILL\"}" },
	{ "drain_node", "{\"what\":\"node\",\"node\":\"inferadb-ledger-1\",\"region\":\"primary\"}" },
	{ "zone_down", "{\"zone\":\"us-east-1a\",\"region\":\"primary\"}" },
	{ "transfer_leader", "{\"region\":\"primary\"}" },
	{ "transfer_leader", "{\"node\":5}" },
	{ "force_election", "{\"region\":\"dr\"}" },
	{ "snapshot", "{\"copy_to\":\"/var/backups/ledger.snap\"}" },
	{ "restore_snapshot", "{\"from\":\"/var/backups/ledger.snap\"}" },
	{ "start", "{\"what\":\"all\"}" },
};

/* Every action's dry run, then the builders, one block per action. */
static char *render(const char *config_rel)
{
	struct target_k8s_opts o = TARGET_K8S_OPTS_INIT;
	struct dr_error err = DR_ERROR_INIT;
	struct k8s_config *cfg = NULL;
	struct target *t = NULL;
	struct strbuf sb = STRBUF_INIT;
	char *config = src_path(config_rel), *buf = NULL;
	size_t len = 0;
	FILE *mem = open_memstream(&buf, &len);
	static const char *const verbs[][3] = {
		{ "get", "statefulsets.apps", NULL }, { "patch", "statefulsets.apps", "scale" },
		{ "delete", "pods", NULL }, { "create", "pods", "exec" },
		{ "create", "leases.coordination.k8s.io", NULL },
	};

	assert_non_null(mem);
	o.config_path = config;
	o.dry_run = 1;
	o.out = mem;
	if (target_k8s_new(&t, NULL, &o, &err) != 0)
		fail_msg("%s", err.msg);
	for (size_t i = 0; i < sizeof(actions) / sizeof(actions[0]); i++) {
		struct action_ctx ctx = ACTION_CTX_INIT;
		struct action_result res = ACTION_RESULT_INIT;
		json_t *args = json_loads(actions[i][1], 0, NULL);

		assert_non_null(args);
		ctx.dry_run = 1;
		ctx.step_name = actions[i][0];
		fprintf(mem, "## %s %s\n", actions[i][0], actions[i][1]);
		executor_run(t, actions[i][0], args, NULL, &ctx, &res);
		fprintf(mem, "=> %s: %s\n", action_status_name(res.status), res.message);
		action_result_release(&res);
		json_decref(args);
	}
	t->close(t, 0);
	fclose(mem);
	strbuf_add(&sb, buf, len);
	free(buf);

	/* The commands outside the actions. */
	assert_int_equal(k8s_config_load(&cfg, config, &err), 0);
	{
		const struct k8s_region *p = k8s_config_region(cfg, "primary"), *d = k8s_config_region(cfg, "dr");
		struct k8s_argv a = K8S_ARGV_INIT;
		char *text, *manifest;

#define EMIT(label) do { text = k8s_argv_display(&a); strbuf_addf(&sb, "## %s\n  %s\n", label, text); \
		free(text); k8s_argv_release(&a); } while (0)
		k8s_cmd_lease_create(&a, cfg, p, 0);
		EMIT("lock: create the Lease (manifest on stdin)");
		k8s_cmd_lease_create(&a, cfg, p, 1);
		EMIT("lock: --dry-run=server");
		k8s_cmd_lease_get(&a, cfg, p);
		EMIT("lock: read the holder");
		k8s_cmd_lease_delete(&a, cfg, p, 0);
		EMIT("unlock");
		k8s_cmd_scale(&a, cfg, d, 0, 1);
		EMIT("scale with --dry-run=server");
		k8s_cmd_cordon(&a, cfg, d, "ip-10-1-2-3.ec2.internal", 1, 0);
		EMIT("undo of drain_node/zone_down: uncordon");
		k8s_cmd_drain(&a, cfg, d, "ip-10-1-2-3.ec2.internal", 120, 0);
		EMIT("drain with a 120 s budget");
		k8s_cmd_version(&a, cfg, d);
		EMIT("preflight: version skew");
		for (size_t i = 0; i < sizeof(verbs) / sizeof(verbs[0]); i++) {
			k8s_cmd_auth_can_i(&a, cfg, p, verbs[i][0], verbs[i][1], verbs[i][2]);
			EMIT("preflight: RBAC");
		}
		k8s_cmd_grpcurl_version(&a, cfg, d, d->admin_pod);
		EMIT("preflight: grpcurl in the admin pod");
		k8s_cmd_grpc(&a, cfg, d, d->admin_pod, K8S_CALL_HEALTH, NULL);
		EMIT("health");
		/* Canary writes and their read-back (a fixed client and clock). */
		{
			json_t *body = k8s_canary_write_request(cfg, "drill-region-failover-1795791600-4242", 7,
								"xxxxxxxx", INT64_C(1795791600));

			k8s_cmd_grpc(&a, cfg, p, "inferadb-ledger-1", K8S_CALL_WRITE, body);
			EMIT("canary write (through the leader's pod)");
			json_decref(body);
			body = k8s_canary_read_request(cfg, "drill-region-failover-1795791600-4242", 1001, NULL);
			k8s_cmd_grpc(&a, cfg, p, "inferadb-ledger-1", K8S_CALL_READ, body);
			EMIT("canary read-back, first page");
			json_decref(body);
			body = k8s_canary_read_request(cfg, "drill-region-failover-1795791600-4242", 2001, "b2Zmc2V0OjEwMDA=");
			k8s_cmd_grpc(&a, cfg, p, "inferadb-ledger-1", K8S_CALL_READ, body);
			EMIT("canary read-back, next page");
			json_decref(body);
		}
		manifest = k8s_lease_manifest(cfg, p, "drillrig@runner-1/4242", INT64_C(1795791600123456789));
		strbuf_addf(&sb, "## Lease manifest\n  %s\n", manifest);
		free(manifest);
#undef EMIT
	}
	k8s_config_free(cfg);
	free(config);
	return strbuf_detach(&sb);
}

static void check_golden(const char *config_rel, const char *golden_rel)
{
	char *got = render(config_rel), *path = src_path(golden_rel), *want = NULL;
	size_t len = 0;

	if (getenv("K8S_UPDATE_GOLDEN")) {
		assert_int_equal(fs_write_atomic(path, got, strlen(got), NULL), 0);
		fprintf(stderr, "rewrote %s\n", path);
	}
	assert_int_equal(fs_read_file(&want, &len, path, 1 << 20, NULL), 0);
	if (strcmp(got, want) != 0) {
		fprintf(stderr, "---- got\n%s---- want (%s)\n%s----\n", got, path, want);
		fail_msg("kubectl argv differ from %s", golden_rel);
	}
	free(want);
	free(path);
	free(got);
}

static void test_golden_argv_runbook(void **state)
{
	(void)state;
	check_golden("tests/data/k8s/eks-runbook.yaml", "tests/data/k8s/golden-argv-runbook.txt");
}

static void test_golden_argv_ledger_v1(void **state)
{
	(void)state;
	check_golden("tests/data/k8s/eks-ledger-v1.yaml", "tests/data/k8s/golden-argv-ledger-v1.txt");
}

/* Independent of the golden files: what must hold for every command. */
static void test_every_command_is_explicit_and_secret_free(void **state)
{
	char *text = render("tests/data/k8s/eks-ledger-v1.yaml");
	char *line, *next;

	(void)state;
	assert_null(strstr(text, "s3cr3t-token"));
	assert_non_null(strstr(text, "'authorization: [REDACTED]'"));
	for (line = text; line && *line; line = next) {
		const char *cmd;

		next = strchr(line, '\n');
		if (next)
			*next++ = '\0';
		cmd = strstr(line, "kubectl ");

		if (!cmd || strncmp(line, "## ", 3) == 0 || strncmp(line, "=> ", 3) == 0)
			continue;
		if (!strstr(cmd, "--context eks-") || !strstr(cmd, " -n inferadb "))
			fail_msg("command without --context and -n: %s", cmd);
		/* Admin calls never allocate a TTY: stderr would mix into the JSON. */
		if (strstr(cmd, " exec ") && (strstr(cmd, " -t") || strstr(cmd, " -i ") || strstr(cmd, " -it")))
			fail_msg("exec with a TTY: %s", cmd);
		/* A forced delete is a crash of one pod (kill), never of anything
		 * else, and always both flags: --force alone waits for the grace. */
		if ((strstr(cmd, "--force") || strstr(cmd, "--grace-period=0")) &&
		    (!strstr(cmd, " delete 'pod/") && !strstr(cmd, " delete pod/")))
			fail_msg("forced delete of something other than a pod: %s", cmd);
		if (!strstr(cmd, "--force") != !strstr(cmd, "--grace-period=0"))
			fail_msg("--force without --grace-period=0 or the other way: %s", cmd);
		/* The ledger's image has nothing to exec: no kill through exec. */
		if (strstr(cmd, " exec ") && strstr(cmd, " kill "))
			fail_msg("a kill through exec: %s", cmd);
	}
	free(text);
}

/* Independent of the golden files: a dry run's result says what each
 * action would do ("would ..."), never that it did it. */
static void test_dry_run_results_say_would(void **state)
{
	static const char *const configs[] = { "tests/data/k8s/eks-runbook.yaml",
						"tests/data/k8s/eks-ledger-v1.yaml" };

	(void)state;
	for (size_t c = 0; c < sizeof(configs) / sizeof(configs[0]); c++) {
		char *text = render(configs[c]), *line, *next;
		size_t results = 0;

		for (line = text; line && *line; line = next) {
			next = strchr(line, '\n');
			if (next)
				*next++ = '\0';
			if (strncmp(line, "=> ", 3) != 0)
				continue;
			results++;
			if (strncmp(line, "=> ok: would ", 13) != 0)
				fail_msg("%s: a dry run's result that does not say 'would': %s", configs[c],
					 line);
		}
		/* Every action reported a result. */
		assert_int_equal(results, sizeof(actions) / sizeof(actions[0]));
		free(text);
	}
}

static void test_ledger_v1_force_election_with_data_loss_is_refused(void **state)
{
	struct target_k8s_opts o = TARGET_K8S_OPTS_INIT;
	struct dr_error err = DR_ERROR_INIT;
	struct action_ctx ctx = ACTION_CTX_INIT;
	struct action_result res = ACTION_RESULT_INIT;
	struct target *t = NULL;
	char *config = src_path("tests/data/k8s/eks-ledger-v1.yaml"), *buf = NULL;
	size_t len = 0;
	FILE *mem = open_memstream(&buf, &len);
	json_t *args = json_pack("{s:s,s:b}", "region", "dr", "allow_data_loss", 1);

	(void)state;
	o.config_path = config;
	o.dry_run = 1;
	o.out = mem;
	assert_int_equal(target_k8s_new(&t, NULL, &o, &err), 0);
	ctx.dry_run = 1;
	executor_run(t, "force_election", args, NULL, &ctx, &res);
	assert_int_equal(res.status, ACTION_FAILED);
	assert_non_null(strstr(res.message, "no forced election"));
	fflush(mem);
	assert_true(len == 0 || !strstr(buf, "would run")); /* refused before any command */
	t->close(t, 0);
	fclose(mem);
	action_result_release(&res);
	json_decref(args);
	free(buf);
	free(config);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_golden_argv_runbook),
		cmocka_unit_test(test_golden_argv_ledger_v1),
		cmocka_unit_test(test_every_command_is_explicit_and_secret_free),
		cmocka_unit_test(test_dry_run_results_say_would),
		cmocka_unit_test(test_ledger_v1_force_election_with_data_loss_is_refused),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
