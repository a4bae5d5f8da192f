/* Private to the local target (harness/target/local/): its state and the
 * helpers its files share. */
#ifndef DR_HARNESS_TARGET_LOCAL_LOCAL_IMPL_H
#define DR_HARNESS_TARGET_LOCAL_LOCAL_IMPL_H

#include <jansson.h>
#include <pthread.h>

#include "harness/core/lock.h"
#include "harness/core/target.h"
#include "harness/target/shared/node_select.h"
#include "ledger/client/client.h"
#include "ledger/cluster/cluster.h"

#define LOCAL_ADMIN_TIMEOUT_NS (5 * NS_PER_SEC)

struct local_target {
	struct cluster_spec spec;
	char *dir;
	int attached;         /* --cluster: never torn down by us */
	unsigned needs;       /* plan_needs(): checked by start, before anything */
	int keep;
	int up;               /* we started it and it is running */
	struct drill_lock lock;
	char *ledgerd;
	json_t *snapshots;    /* step name -> CreateSnapshot answer (+ "copy") */
	struct target *restored; /* the cluster restore_snapshot started (attached) */
	struct node_set stopped; /* ids this drill stopped, for `start what: all` */
	struct node_set paused;
	/* member_status: the members' addresses and one client per member,
	 * made on first use under member_lock; each client is then used by
	 * its member's poller alone (struct target's contract). */
	pthread_mutex_t member_lock;
	char **member_addrs;
	size_t nmembers;
	struct ledger_client **member_clients;
};

/* The local target's actions ({ NULL }-terminated; local_actions.c). */
extern const struct target_action local_actions[];

/* A region's name for a role ("dr") or a name; NULL when unknown. */
const char *local_resolve_region(struct target *t, const char *ref);
int local_status(struct target *t, json_t **out, int64_t timeout_ns, struct dr_error *err);
/* One admin call to one node's gRPC API address, with the cluster's admin
 * token (ledger/cluster/cluster_token.c); an error answer is an error
 * naming its code and message. */
int local_node_call(const struct local_target *lt, json_t **out, const char *address,
		    const char *method, json_t *req, int64_t timeout_ns, struct dr_error *err);
/* One debug call (Partition, Heal, ...) to a node's HTTP listener (its
 * http_address), with the token; an answer that is not 2xx is an error. */
int local_debug_call(const struct local_target *lt, json_t **out, const char *http_address,
		     const char *method, json_t *req, int64_t timeout_ns, struct dr_error *err);
/* partition and heal (local_partition.c): nftables or the debug hook. */
void local_partition(struct target *t, json_t *args, const struct action_ctx *ctx,
		     struct action_result *res);
void local_heal(struct target *t, json_t *args, const struct action_ctx *ctx,
		struct action_result *res);
/* disk_full / disk_free (local_disk.c): fill the selected nodes' data
 * directories (each must be its own size-limited tmpfs) until ENOSPC, and
 * remove the fill from every node (what: all) or one. */
void local_disk_full(struct target *t, json_t *args, const struct action_ctx *ctx,
		     struct action_result *res);
void local_disk_free(struct target *t, json_t *args, const struct action_ctx *ctx,
		     struct action_result *res);
/* The tmpfs size of a fresh cluster's data directories for plan: 0 unless
 * it has a disk_full step and we are root (without root, disk_full fails
 * and says why). */
#define LOCAL_DISK_LIMIT_MB 64
struct plan;
int local_disk_limit_mb(const struct plan *plan);
/* drillrig recover (local_recover.c). */
int local_recover(struct target_recover_args *args);
/* transfer_leader {region | node}: asks until leadership is there or the
 * deadline of ctx passes. */
void local_transfer_leader(struct target *t, json_t *args, const struct action_ctx *ctx,
			   struct action_result *res);

#endif
