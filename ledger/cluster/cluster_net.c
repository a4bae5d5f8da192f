/* Loopback networks for local clusters, and process liveness checks. */
#include "ledger/cluster/cluster_state.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "common/fsutil.h"
#include "common/netport.h"
#include "common/proc.h"
#include "common/strbuf.h"

uint64_t cluster_random_u64(void)
{
	uint64_t v = 0;

	if (getrandom(&v, sizeof(v), 0) != (ssize_t)sizeof(v)) {
		struct timespec ts;

		/* getrandom cannot fail on a sane kernel; never return a constant */
		clock_gettime(CLOCK_MONOTONIC, &ts);
		v = ((uint64_t)ts.tv_nsec << 20) ^ (uint64_t)getpid() ^ (uint64_t)ts.tv_sec;
	}
	return v;
}

/* 1 when 127.a.b.c:port can be bound right now. */
static int port_free(int a, int b, int c, int port)
{
	char ip[32];

	snprintf(ip, sizeof(ip), "127.%d.%d.%d", a, b, c);
	return net_port_free(ip, port);
}

int cluster_net_pick(int *a, int *b, int nnodes, struct dr_error *err)
{
	for (int attempt = 0; attempt < 50; attempt++) {
		uint64_t r = cluster_random_u64();
		int ta = 1 + (int)(r % 250), tb = 1 + (int)((r >> 16) % 250), ok = 1;

		for (int n = 1; n <= nnodes && ok; n++)
			ok = port_free(ta, tb, n, CLUSTER_GRPC_PORT) &&
			     port_free(ta, tb, n, CLUSTER_HTTP_PORT) &&
			     port_free(ta, tb, n, CLUSTER_RAFT_PORT);
		if (ok) {
			*a = ta;
			*b = tb;
			return 0;
		}
	}
	return dr_error_set(err, "cannot find a free loopback network for %d nodes after 50 tries",
			    nnodes);
}

int cluster_pid_running(pid_t pid)
{
	int status;

	if (pid <= 0)
		return 0;
	/* Our own child: reap it if it exited (a zombie is not running). */
	if (proc_wait(pid, &status, WNOHANG) == pid)
		return 0;
	return cluster_pid_live(pid);
}

int cluster_pid_live(pid_t pid)
{
	char path[64], buf[512], *paren;
	struct dr_error err = DR_ERROR_INIT;
	char *text = NULL;
	int running;

	if (pid <= 0)
		return 0;
	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	if (fs_read_file(&text, NULL, path, 4096, &err) != 0)
		return proc_alive(pid);
	str_copy(buf, sizeof(buf), text);
	free(text);
	/* "pid (comm) S ...": the state follows the last ')'. */
	paren = strrchr(buf, ')');
	running = !(paren && paren[1] == ' ' && (paren[2] == 'Z' || paren[2] == 'X'));
	return running;
}
