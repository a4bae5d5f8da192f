/* exec and cp: what runs inside a ledger container.
 *
 * The public ledger image is distroless: no shell, no grpcurl, no kill,
 * no tar, so by default every exec fails the way the container runtime
 * refuses it (and cp with it: kubectl cp runs tar in the container).
 * KUBECTL_DOUBLE_IMAGE_TOOLS=1 stands for an image that ships the tools:
 * grpcurl is emulated (kubectl_double_grpcurl.c), kill reaches PID 1 the
 * way the kernel lets it from inside the PID namespace, cp copies. */
#include "tests/doubles/kubectl_double.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/clock.h"
#include "common/fsutil.h"
#include "common/strbuf.h"
#include "ledger/cluster/cluster.h"

static int image_tools(void)
{
	const char *v = getenv("KUBECTL_DOUBLE_IMAGE_TOOLS");

	return v && strcmp(v, "1") == 0;
}

/* The runtime's refusal to start a program the image does not have; its
 * exec id is 64 hex digits, as containerd's are. */
static int not_in_image(const char *pod, const char *program)
{
	char *a = kd_uid(pod, (long long)getpid(), (long long)clock_wall_ns());
	char *b = kd_uid(program, (long long)clock_mono_ns(), (long long)getpid());
	struct strbuf id = STRBUF_INIT;
	int rc;

	for (const char *p = a; *p; p++)
		if (*p != '-')
			strbuf_addch(&id, *p);
	for (const char *p = b; *p; p++)
		if (*p != '-')
			strbuf_addch(&id, *p);
	rc = kd_fail(1, "error: Internal error occurred: error executing command in container: failed to exec in "
		     "container: failed to start exec \"%s\": OCI runtime exec failed: exec failed: unable to start "
		     "container process: exec: \"%s\": executable file not found in $PATH: unknown",
		     strbuf_str(&id), program);
	strbuf_release(&id);
	free(a);
	free(b);
	return rc;
}

/* `kill [-SIG | -s SIG] 1` inside the container.  The kernel delivers a
 * signal from inside a PID namespace to its PID 1 only when PID 1 handles
 * it (never SIGKILL or SIGSTOP): ledgerd handles TERM and INT, so any
 * other signal does nothing and kill still exits 0. */
static int kill_pid1(json_t *node, char **argv, int argc)
{
	struct dr_error err = DR_ERROR_INIT;
	const char *sig = "TERM", *target = NULL;

	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "-s") == 0 && i + 1 < argc)
			sig = argv[++i];
		else if (argv[i][0] == '-' && argv[i][1])
			sig = argv[i] + 1;
		else
			target = argv[i];
	}
	if (!target)
		return kd_fail(1, "kill: usage: kill [-s sigspec | -signum | -sigspec] pid");
	if (strcmp(target, "1") != 0)
		return kd_fail(1, "kill: (%s): No such process", target);
	if (strncmp(sig, "SIG", 3) == 0)
		sig += 3;
	if (strcmp(sig, "15") == 0)
		sig = "TERM";
	else if (strcmp(sig, "2") == 0)
		sig = "INT";
	if (cluster_signal_parse(sig) < 0)
		return kd_fail(1, "kill: %s: invalid signal specification", sig);
	if (strcmp(sig, "TERM") != 0 && strcmp(sig, "INT") != 0)
		return 0;
	if (cluster_kill(NULL, kd_dir, (int)json_integer_value(json_object_get(node, "id")), sig, &err) != 0)
		return kd_fail(137, "%s", err.msg);
	return 0;
}

int kd_exec(struct cmd *c, const char *region)
{
	const char *podname = NULL;
	json_t *node;

	for (int i = 1; i < c->nargs; i++) {
		if (strcmp(c->args[i], "-c") == 0) {
			i++;
			continue;
		}
		if (c->args[i][0] == '-')
			return kd_fail(1, "error: unknown flag %s (the double refuses -t/-i: stderr must not mix into stdout)",
				       c->args[i]);
		podname = c->args[i];
	}
	if (!podname || c->nrest == 0)
		return kd_fail(1, "error: expected 'exec POD -- COMMAND [args...]'");
	if (strncmp(podname, "pod/", 4) == 0)
		podname += 4;
	node = kd_node_by_pod(region, podname);
	if (!node || !kd_pod_exists(node))
		return kd_not_found("pods", podname);
	if (kd_check(c, "create", "pods", "", "exec", podname))
		return 1;
	if (!kd_pod_running(node))
		return kd_fail(1, "error: unable to upgrade connection: container not found (\"ledger\")");
	if (!image_tools())
		return not_in_image(podname, c->rest[0]);
	if (strcmp(c->rest[0], "kill") == 0)
		return kill_pid1(node, c->rest, c->nrest);
	if (strcmp(c->rest[0], "grpcurl") == 0)
		return kd_grpcurl(node, c->rest + 1, c->nrest - 1);
	return kd_fail(127, "OCI runtime exec failed: exec: \"%s\": executable file not found in $PATH", c->rest[0]);
}

int kd_cp(struct cmd *c, const char *region)
{
	struct dr_error err = DR_ERROR_INIT;
	const char *a = NULL, *b = NULL, *remote;
	char *data = NULL, *from, *to, *pod;
	json_t *node;
	size_t len = 0;
	int rc;

	for (int i = 1; i < c->nargs; i++) {
		if (strcmp(c->args[i], "-c") == 0) {
			i++;
			continue;
		}
		if (!a)
			a = c->args[i];
		else
			b = c->args[i];
	}
	if (!a || !b)
		return kd_fail(1, "error: expected 'cp SRC DST'");
	remote = strchr(a, ':') ? a : b;
	if (!strchr(remote, ':'))
		return kd_fail(1, "error: one of src or dest must be a remote file specification");
	pod = xstrndup(remote, (size_t)(strchr(remote, ':') - remote));
	node = kd_node_by_pod(region, pod);
	if (!node || !kd_pod_exists(node)) {
		rc = kd_not_found("pods", pod);
		free(pod);
		return rc;
	}
	if (kd_check(c, "create", "pods", "", "exec", pod)) {
		free(pod);
		return 1;
	}
	if (!image_tools()) {
		rc = not_in_image(pod, "tar");
		free(pod);
		return rc;
	}
	free(pod);
	if (remote == a) {
		from = kd_pod_path(node, strchr(a, ':') + 1);
		to = xstrdup(b);
	} else {
		from = xstrdup(a);
		to = kd_pod_path(node, strchr(b, ':') + 1);
		if (strrchr(to, '/')) {
			char *d = xstrndup(to, (size_t)(strrchr(to, '/') - to));

			fs_mkdir_p(d, &err);
			free(d);
		}
	}
	rc = fs_read_file(&data, &len, from, (size_t)1 << 30, &err) == 0 && fs_write_atomic(to, data, len, &err) == 0
		     ? 0 : kd_fail(1, "error: %s", err.msg);
	free(data);
	free(from);
	free(to);
	return rc;
}
