/* The kubectl test double's environment for integration tests: a fresh
 * directory, a bundled cluster in it (`drillrig cluster up`), PATH with the
 * double first, KUBECTL_DOUBLE_CLUSTER / _LOG set, and
 * KUBECTL_DOUBLE_IMAGE_TOOLS=1 (pods whose image has grpcurl, kill and tar:
 * unset it for distroless pods).  Shared by
 * tests/integration/test_k8s_drill.c and test_k8s_recover.c. */
#ifndef DR_TESTS_K8S_DOUBLE_ENV_H
#define DR_TESTS_K8S_DOUBLE_ENV_H

struct k8s_double_env {
	char *dir;       /* drill_tmpdir(tag) */
	char *cluster;   /* dir/cluster */
	char *log;       /* dir/kubectl.log: every command line the double saw */
	char *argv_log;  /* dir/kubectl-argv.ndjson: the same, exact argv as JSON */
	char *kubectl;   /* the double */
	char *path_env;  /* PATH as set */
};

/* Set everything up; enable_debug starts the nodes with their debug faults.
 * Returns 0, or -1 with the reason on stderr. */
int k8s_double_env_up(struct k8s_double_env *e, const char *tag, int enable_debug);
/* Take the cluster down, remove the directory, free the strings. */
void k8s_double_env_down(struct k8s_double_env *e);

/* Replay every distinct kubectl command line the double saw (e->argv_log)
 * with the real kubectl binary, against a kubeconfig whose contexts point at
 * a closed port: each must get past kubectl's own argument parsing (no
 * "unknown flag", no "See 'kubectl ... --help' for usage.").  Returns the
 * number of command lines checked, 0 with *why set when no real kubectl is
 * installed (the caller skips), or -1 with the failures in *why (heap). */
int k8s_real_kubectl_check(const struct k8s_double_env *e, char **why);
/* The same as a cmocka case: skip() where no real kubectl is installed,
 * fail_msg() naming every refused line. */
void k8s_real_kubectl_case(const struct k8s_double_env *e);

#endif
