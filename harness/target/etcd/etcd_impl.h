/* Private to the etcd target (harness/target/etcd/): its state and the
 * helpers its files share. */
#ifndef DR_HARNESS_TARGET_ETCD_ETCD_IMPL_H
#define DR_HARNESS_TARGET_ETCD_ETCD_IMPL_H

#include <pthread.h>

#include <jansson.h>

#include "harness/core/lock.h"
#include "harness/core/target.h"
#include "harness/target/etcd/etcd_http.h"
#include "harness/target/etcd/etcd_members.h"
#include "harness/target/shared/node_select.h"

#define STATUS_MEMBER_TIMEOUT_MS 250
#define READY_TIMEOUT_NS (30 * NS_PER_SEC)
#define SCALE_GRACE_NS (10 * NS_PER_SEC)
/* stop: SIGTERM, SIGKILL after 5 s, as the local cluster's stop. */
#define STOP_GRACE_NS (5 * NS_PER_SEC)
#define POOL_MAX 16
/* A witness is a tie-breaker: with three times the election timeout it
 * never times out first while a member of another region is alive, as the
 * bundled ledger's witness never keeps leadership. */
#define WITNESS_ELECTION_FACTOR 3

struct etcd_target {
	struct etcd_cluster cl;   /* members; cl.dir is ours unless attached */
	int attached;
	int keep;
	int up;                   /* we launched members */
	int election_ms;
	struct drill_lock lock;
	char *lock_path;
	struct node_set stopped;        /* ids taken down by stop: `start all` */
	struct node_set paused;
	pthread_mutex_t status_lock;    /* members' raft_id / caught_up_ns */
	pthread_mutex_t pool_lock;
	struct etcd_client *pool[POOL_MAX];
	int npool;
};

/* The etcd target's actions ({ NULL }-terminated; etcd_actions.c). */
extern const struct target_action etcd_actions[];

/* A pooled client (keep-alive connections shared by threads), with
 * timeout_ms per call; NULL when none can be made.  Give it back. */
struct etcd_client *etcd_pool_take(struct etcd_target *et, long timeout_ms);
void etcd_pool_give(struct etcd_target *et, struct etcd_client *c);

int etcd_status(struct target *t, json_t **out, int64_t timeout_ns, struct dr_error *err);
const char *etcd_resolve_region(struct target *t, const char *ref);
/* The index in et->cl.m of the member with this id, or -1. */
int etcd_member_index(const struct etcd_target *et, int64_t id);
/* transfer_leader {region | node}; also how a drill starts from the leader
 * in the primary region. */
void etcd_transfer_leader(struct target *t, json_t *args, const struct action_ctx *ctx,
			  struct action_result *res);

#endif
