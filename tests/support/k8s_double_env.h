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
	char *kubectl;   /* the double */
	char *path_env;  /* PATH as set */
};

/* Set everything up; enable_debug starts the nodes with their debug faults.
 * Returns 0, or -1 with the reason on stderr. */
int k8s_double_env_up(struct k8s_double_env *e, const char *tag, int enable_debug);
/* Take the cluster down, remove the directory, free the strings. */
void k8s_double_env_down(struct k8s_double_env *e);

#endif
