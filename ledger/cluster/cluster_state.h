/* Private to the cluster launcher and supervisor: the cluster's state as it
 * is kept in DIR/cluster.json, and the peers file written from it.
 *
 * cluster_up fills a state from a spec and saves it before the supervisor
 * starts; the supervisor loads it, owns it from then on and saves it on
 * every change (pids, desired states, fencing, a new cluster id). */
#ifndef DR_LEDGER_CLUSTER_CLUSTER_STATE_H
#define DR_LEDGER_CLUSTER_CLUSTER_STATE_H

#include <stdint.h>
#include <sys/types.h>

#include <jansson.h>

#include "ledger/cluster/cluster.h"

#define CLUSTER_GRPC_PORT 50051  /* the ledger API, as the runbook's grpcurl calls it */
#define CLUSTER_HTTP_PORT 9090   /* /metrics, /healthz, the debug faults */
#define CLUSTER_RAFT_PORT 7001

struct cluster_node {
	int id;
	char region[CLUSTER_NAME_MAX + 1];
	enum cluster_role role;
	char zone[CLUSTER_NAME_MAX + 4];
	char address[64];         /* the gRPC API, "127.A.B.N:50051" */
	char http_address[64];    /* metrics and debug, "127.A.B.N:9090" */
	char raft_address[64];
	char *data;               /* DIR/n<id> */
	char *log;                /* DIR/n<id>.log */
	pid_t pid;                /* 0 when not running */
	int stopped;              /* `stop`ped: stays down until `start` */
	int fenced;               /* cut out by an unsafe promotion */
	int paused;               /* SIGSTOPped */
	int join;                 /* next start joins a running cluster (no bootstrap) */
	int restarts;             /* restarts after an unexpected exit */
	int ordinal;              /* position within its region, from 0 */
	char last_exit[32];       /* "signal 9", "exit 1", "" */
	/* supervisor runtime only, not saved */
	int64_t started_ns;
	int64_t restart_at_ns;    /* 0: not waiting to restart */
	int crash_streak;         /* exits soon after start, for back-off */
	int killed;               /* signalled by a `kill` command: no back-off */
};

struct cluster_region {
	char name[CLUSTER_NAME_MAX + 1];
	enum cluster_role role;
	int size;                 /* nodes in the topology */
	int zones;
	int replicas;             /* desired running nodes (ordinals below it) */
};

struct cluster_state {
	char *dir;
	char cluster_id[64];
	int net_a, net_b;         /* nodes live on 127.net_a.net_b.<id> */
	struct cluster_region regions[CLUSTER_MAX_REGIONS];
	int nregions;
	struct cluster_node nodes[CLUSTER_MAX_NODES];
	int nnodes;
	int election_timeout_ms;
	int heartbeat_ms;
	int enable_debug;
	int disk_limit_mb;        /* > 0: each node's data dir is a tmpfs this big */
	char *ledgerd;
	char *seed_snapshot;      /* NULL or the snapshot every first start loads */
	pid_t supervisor_pid;
};

/* Build the state of a new cluster (nothing running, all pids 0). */
void cluster_state_from_spec(struct cluster_state *out, const char *dir,
			     const struct cluster_spec *spec, const char *ledgerd,
			     int net_a, int net_b);
void cluster_state_release(struct cluster_state *st);

/* Serialize / parse cluster.json.  Parsing validates every field it uses
 * and names the first bad one. */
json_t *cluster_state_to_json(const struct cluster_state *st);
int cluster_state_from_json(struct cluster_state *out, const char *dir,
			    json_t *root, struct dr_error *err);
int cluster_state_load(struct cluster_state *out, const char *dir,
		       struct dr_error *err);
/* Write DIR/cluster.json atomically. */
int cluster_state_save(const struct cluster_state *st, struct dr_error *err);

/* The peers file: every node not fenced, under the current cluster id. */
json_t *cluster_state_peers_json(const struct cluster_state *st);
int cluster_state_write_peers(const struct cluster_state *st, struct dr_error *err);

/* A fresh cluster id "c-<16 hex>". */
void cluster_new_id(char *buf, size_t len);

char *cluster_path(const char *dir, const char *name);

/* Size-limited data directories (cluster_disk.c): mount a tmpfs of mb MiB
 * on every node's data directory of st (root only; on failure nothing
 * stays mounted), and unmount them again (data there is gone; ones not
 * mounted are skipped; the first failure is reported, the rest still
 * tried). */
int cluster_disk_mount_all(const struct cluster_state *st, int mb, struct dr_error *err);
int cluster_disk_unmount_all(const struct cluster_state *st, struct dr_error *err);

struct cluster_node *cluster_state_node(struct cluster_state *st, int id);
struct cluster_region *cluster_state_region(struct cluster_state *st,
					    const char *name);

/* Pick a random loopback network 127.A.B.0 where every node address
 * 127.A.B.1..n has both ports free (checked by binding). */
int cluster_net_pick(int *a, int *b, int nnodes, struct dr_error *err);
uint64_t cluster_random_u64(void);

/* One ledger API call (gRPC; method "inferadb.ledger.v1.Admin/AddMember")
 * with body (NULL: {}) to the node at address, with the admin token
 * (cluster_admin_token, read once by the caller; NULL: none).  0 with *out
 * the answer; an error answer fails with "<code>: <message>", no answer
 * with why. */
int cluster_api_call(json_t **out, const char *admin_token, const char *address,
		     const char *method, json_t *body, int64_t timeout_ns, struct dr_error *err);

/* DIR/admin-token (heap) and a new random token written there, 0600
 * (ledger/cluster/cluster_token.c). */
char *cluster_token_path(const char *dir);
int cluster_token_create(const char *dir, struct dr_error *err);

/* A process that exists and is not a zombie; a zombie child is reaped. */
int cluster_pid_running(pid_t pid);
/* The same without reaping (the supervisor's loop reaps its children). */
int cluster_pid_live(pid_t pid);

#endif
