/* The etcd target's own tiny supervisor: etcd members are children of
 * drillrig, each in its own process group (common/proc.h), and a thread
 * reaps them and restarts a member that exits while it is wanted, like a
 * pod (on the same data directory, at once).  Members that a drill stopped
 * or scaled away are not wanted and stay down until started.
 *
 * Every function takes the cluster's lock itself; all are safe to call
 * from any thread.  The supervisor thread blocks every signal. */
#ifndef DR_HARNESS_TARGET_ETCD_ETCD_MEMBERS_H
#define DR_HARNESS_TARGET_ETCD_ETCD_MEMBERS_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <sys/types.h>

#include "common/error.h"

#define ETCD_MAX_MEMBERS 9

struct etcd_member {
	int id;                  /* 1..n: the node id drills and reports use */
	char name[16];           /* "m1" */
	char region[64];
	char region_role[16];    /* primary, dr, witness */
	char ip[32];
	int client_port, peer_port;
	char address[64];        /* ip:client_port */
	int election_ms;         /* its --election-timeout */
	uint64_t raft_id;        /* etcd's member id, once known (0: not yet) */
	int64_t caught_up_ns;    /* last status that showed it within the margin */

	/* supervision (guarded by the cluster lock) */
	pid_t pid;               /* 0 when not running */
	int wanted;              /* restarted when it exits */
	int paused;
	int restarts;
	int last_status;         /* wait status of its last exit */
	int64_t started_ns;      /* when its process was spawned */
	int64_t restart_due_ns;  /* crash-looping: not before this */
	int64_t backoff_ns;      /* next delay for a member that dies young */
};

struct etcd_cluster {
	struct etcd_member m[ETCD_MAX_MEMBERS];
	int n;
	char *dir;               /* data and logs: <dir>/<name>, <dir>/<name>.log */
	char *etcd_bin;
	int heartbeat_ms;
	char token[48];
	pthread_mutex_t lock;
	pthread_t supervisor;
	int supervising;
	atomic_int stop;
};

/* Before launch: the caller fills m[] (id, name, region, ip, ports,
 * election_ms), n, dir, etcd_bin, heartbeat_ms; this sets the rest. */
void etcd_cluster_init(struct etcd_cluster *c);
/* Spawn every member (wanted) and start the supervisor thread. */
int etcd_cluster_launch(struct etcd_cluster *c, struct dr_error *err);
/* Signal a member's process; it stays wanted, so the supervisor restarts
 * it if the signal ends it.  Fails when it is not running. */
int etcd_member_signal(struct etcd_cluster *c, int idx, int sig, struct dr_error *err);
/* Take a member down for good (until started): not wanted, sig, then
 * SIGKILL after grace_ns; returns once it is reaped. */
int etcd_member_stop(struct etcd_cluster *c, int idx, int sig, int64_t grace_ns,
		     struct dr_error *err);
/* Wanted again, spawned at once when not running (and resumed if paused). */
int etcd_member_start(struct etcd_cluster *c, int idx, struct dr_error *err);
/* SIGSTOP / SIGCONT its process group. */
int etcd_member_pause(struct etcd_cluster *c, int idx, int pause, struct dr_error *err);
/* 1 when the member's process is running (paused counts). */
int etcd_member_running(struct etcd_cluster *c, int idx);
/* Stop the supervisor, SIGTERM every member, SIGKILL after 5 s; waits
 * until all are reaped.  Safe to call twice. */
void etcd_cluster_shutdown(struct etcd_cluster *c);
/* The last lines of a member's log (heap), for error messages. */
char *etcd_member_log_tail(struct etcd_cluster *c, int idx, size_t max);
/* Pids of running members (for describe); n filled. */
int etcd_cluster_pids(struct etcd_cluster *c, pid_t *pids, int max);

#endif
