/* The local ledger cluster: a set of ledgerd processes on loopback, owned by
 * a detached supervisor that keeps each region's desired replica count like
 * a Kubernetes StatefulSet and takes commands over a unix socket.
 *
 * A cluster lives in one directory DIR:
 *   DIR/cluster.json      state: nodes, pids, regions, timing (the supervisor
 *                         rewrites it atomically on every change)
 *   DIR/peers.json        the peers file every ledgerd reads
 *   DIR/supervisor.sock   the supervisor's command socket (one JSON line in,
 *                         one JSON line out)
 *   DIR/supervisor.log    the supervisor's own log
 *   DIR/n<id>/            node data directories, DIR/n<id>.log their output
 *   DIR/restored/         a cluster restored from a snapshot (a cluster
 *                         directory of its own, with its own supervisor)
 *
 * Callers (the drill runner's local target, `drillrig cluster ...`) never
 * signal nodes behind the supervisor's back: every action is a request.
 * All functions return 0 or a negative value with err filled.
 */
#ifndef DR_LEDGER_CLUSTER_CLUSTER_H
#define DR_LEDGER_CLUSTER_CLUSTER_H

#include <stdint.h>
#include <sys/types.h>

#include <jansson.h>

#include "common/error.h"

#define CLUSTER_MAX_REGIONS 16
#define CLUSTER_MAX_NODES 64
#define CLUSTER_NAME_MAX 32

enum cluster_role {
	CLUSTER_ROLE_PRIMARY,
	CLUSTER_ROLE_DR,
	CLUSTER_ROLE_WITNESS,
};

struct cluster_region_spec {
	char name[CLUSTER_NAME_MAX + 1];  /* [a-z][a-z0-9-]* */
	enum cluster_role role;
	int size;                         /* nodes, >= 1 */
	int zones;                        /* zones <name>-a, -b, ...; nodes alternate */
};

struct cluster_spec {
	struct cluster_region_spec regions[CLUSTER_MAX_REGIONS];
	int nregions;
	int election_timeout_ms;          /* default 300 */
	int heartbeat_ms;                 /* default 30 */
	int enable_debug;
	/* No DIR/admin-token: admin and debug calls need no credential (a
	 * stand-in for a ledger run without admin authentication, such as the
	 * kubernetes test double's).  Default: a new token per cluster. */
	int no_admin_token;
	const char *ledgerd_path;         /* NULL: cluster_find_ledgerd() */
	const char *seed_snapshot;        /* NULL, or every node starts from it */
	int64_t ready_timeout_ns;         /* cluster_up's wait for a leader; default 30 s */
	/* > 0: every node's data directory is a tmpfs of this many MiB, so the
	 * disk_full fault fills one node and never the host's disk (root only;
	 * cluster_down unmounts them: that data is gone).  0: plain dirs. */
	int disk_limit_mb;
};

#define CLUSTER_DISK_LIMIT_MAX_MB 65536

/* Default topology primary=2,dr=2,witness=1 (2 zones each), 300/30 ms:
 * losing the whole primary region keeps a quorum of 3 out of 5. */
void cluster_spec_init(struct cluster_spec *spec);

/* Parse "primary=2,dr=2,witness=1" (a region named after its role) or
 * "us-west:primary=3,eu:dr=2" (name:role=count); a count may carry a zone
 * count, "primary=3/3".  Replaces spec's regions; on failure spec's regions
 * are untouched and err names the offending item. */
int cluster_topology_parse(struct cluster_spec *spec, const char *text,
			   struct dr_error *err);
/* Render the regions back as "name:role=count/zones,..." (heap string). */
char *cluster_topology_format(const struct cluster_spec *spec);

const char *cluster_role_name(enum cluster_role role);
int cluster_role_parse(enum cluster_role *out, const char *name);

/* Locate executables: ledgerd next to this executable (/proc/self/exe),
 * then $LEDGERD_BIN, then PATH; drillrig (which hosts the supervisor) is
 * this executable when it is drillrig, then next to it, then $DRILLRIG_BIN,
 * then PATH.  *out is a heap string. */
int cluster_find_ledgerd(char **out, struct dr_error *err);
int cluster_find_drillrig(char **out, struct dr_error *err);

/* Start a cluster in dir (created; it must not hold a running cluster):
 * picks a free random loopback network 127.A.B.0, writes peers.json and
 * cluster.json, starts the detached supervisor (new session: it outlives
 * the caller) and returns once a leader is elected and every node answers,
 * or fails after spec->ready_timeout_ns, taking everything down again. */
int cluster_up(const char *dir, const struct cluster_spec *spec,
	       struct dr_error *err);

/* Send one command (a JSON object, serialized as one line) to the
 * supervisor of dir (ledger/client/supervisor_socket.h) and read its one-line answer into *out (caller owns,
 * json_decref).  An answer {"ok":false,"error":E} is returned as -1 with
 * err = E; *out is still set then. */
int cluster_request(json_t **out, const char *dir, json_t *request,
		    int64_t timeout_ns, struct dr_error *err);

/* Stop everything: asks the supervisor to shut down (which stops the
 * nodes and a restored cluster), waits a bounded time, then SIGKILLs any
 * process cluster.json still names.  Leaves nothing running; data stays. */
int cluster_down(const char *dir, struct dr_error *err);
/* Put a new supervisor over a cluster whose supervisor died, keeping its
 * data: its orphaned nodes are stopped (SIGTERM, then SIGKILL) and
 * started again by the new supervisor; waits until a leader answers
 * (ready_timeout_ns; 0: 30 s). */
int cluster_attach(const char *dir, int64_t ready_timeout_ns, struct dr_error *err);

/* The token in the cluster's DIR/admin-token (heap), for admin and debug
 * calls to its nodes (the clients send "Bearer <token>"); NULL when dir is
 * NULL or the cluster has no token (one started before tokens, or a file
 * this user cannot read). */
char *cluster_admin_token(const char *dir);

/* Read DIR/cluster.json (caller owns *out). */
int cluster_load(json_t **out, const char *dir, struct dr_error *err);

/* Typed wrappers around cluster_request; *out may be NULL when the caller
 * does not need the answer. */
int cluster_kill(json_t **out, const char *dir, int node, const char *signal_name,
		 struct dr_error *err);
int cluster_stop(json_t **out, const char *dir, int node, struct dr_error *err);
/* Stop a node for good with signal_name "TERM" (NULL; what cluster_stop
 * sends: a graceful stop, a leader hands over first) or "KILL" (a crash);
 * either way the supervisor reaps it and does not restart it. */
int cluster_stop_signal(json_t **out, const char *dir, int node, const char *signal_name,
			struct dr_error *err);
int cluster_start(json_t **out, const char *dir, int node, struct dr_error *err);
int cluster_pause(json_t **out, const char *dir, int node, struct dr_error *err);
int cluster_resume(json_t **out, const char *dir, int node, struct dr_error *err);
/* replicas < 0 means the topology's size ("normal"). */
int cluster_scale(json_t **out, const char *dir, const char *region, int replicas,
		  struct dr_error *err);
int cluster_promote(json_t **out, const char *dir, const char *region,
		    int allow_data_loss, struct dr_error *err);
int cluster_restore(json_t **out, const char *dir, const char *snapshot,
		    struct dr_error *err);
int cluster_supervisor_status(json_t **out, const char *dir, struct dr_error *err);

/* GetClusterStatus from the first node that answers (any node forwards to
 * the leader), merged with the supervisor's per-node pid, desired state and
 * restart count (members[].pid, .process, .restarts).  When no node
 * answers, the supervisor's view alone with "leader": null.  "coverage"
 * says whose answers it is made of: {"view": "complete"|"partial",
 * "asked", "answered", "unanswered": [{"id", "error"}]}, a running node
 * that did not answer making the view partial. */
int cluster_status(json_t **out, const char *dir, struct dr_error *err);

/* Wait until some node reports a leader and every running node answers. */
int cluster_wait_ready(const char *dir, int64_t timeout_ns, struct dr_error *err);

/* Signal numbers by name: "KILL", "SIGKILL", "9" (-1 when unknown). */
int cluster_signal_parse(const char *name);

/* Kernel-injected partitions (cluster_nft.c).  One cut drops the packets
 * from the node addresses in from[] to those in to[]: all of them, or only
 * those to dport (a node's raft port: its messages, not its TCP
 * acknowledgements, which is a one-way cut), every one or loss_pct % at
 * random. */
struct cluster_nft_cut {
	const char *const *from;
	size_t n_from;
	const char *const *to;
	size_t n_to;
	int dport;    /* 0: every packet */
	int loss_pct; /* 1..99: that share at random; else every one */
};

/* 0 when nftables can be used here (root, nft runs), else -1 and why. */
int cluster_nft_usable(struct dr_error *err);
/* The name of the cluster's own table, from its cluster.json (heap, NULL
 * without a "network"). */
char *cluster_nft_table(const json_t *info);
/* The ruleset that replaces the table with these cuts (heap). */
char *cluster_nft_ruleset(const char *table, const struct cluster_nft_cut *cuts, size_t n);
/* Replace the table's rules with cuts, in one transaction. */
int cluster_nft_apply(const char *table, const struct cluster_nft_cut *cuts, size_t n,
		      struct dr_error *err);
/* Delete the table if it exists.  *dropped: the packets its rules dropped
 * until then, -1 when there was no table. */
int cluster_nft_remove(const char *table, int64_t *dropped, struct dr_error *err);
/* Delete the table of network 127.net_a.net_b.0 if nftables is usable. */
void cluster_nft_forget_net(int net_a, int net_b);

#endif
