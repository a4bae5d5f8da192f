/* The kubectl test double's private header: what its verbs' files share.
 * kubectl_double.c says what the double emulates and how tests steer it.
 *
 * Every function that answers a command prints what kubectl would print
 * and returns kubectl's exit code (0, or 1 for an error from the server).
 * Strings returned as char * are heap strings the caller frees. */
#ifndef DR_TESTS_DOUBLES_KUBECTL_DOUBLE_H
#define DR_TESTS_DOUBLES_KUBECTL_DOUBLE_H

#include <stdint.h>

#include <jansson.h>

#include "common/error.h"
#include "ledger/client/wire.h"

struct cmd {
	const char *context;
	const char *ns;
	const char *output;  /* -o, NULL when not given */
	char **args;         /* after the global flags */
	int nargs;
	char **rest;         /* after "--" */
	int nrest;
	int server_dry_run;
	int ignore_not_found;
};

/* Set by main before any verb runs. */
extern const char *kd_dir;      /* KUBECTL_DOUBLE_CLUSTER */
extern const char *kd_sts;      /* the StatefulSet's name */
extern json_t *kd_cluster;      /* cluster.json as loaded for this command */
extern const char *kd_context_prefix;

/* ---- kubectl_double_util.c ---------------------------------------------- */

int kd_fail(int code, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void kd_print_json(json_t *v);
/* DIR/k8s-double-NAME as JSON ({} when missing); saved atomically. */
json_t *kd_load_state(const char *name);
void kd_save_state(const char *name, json_t *v);
/* Serialize read-modify-write of the state files across the double's
 * processes (a poller and a step run at once): returns the lock's fd for
 * kd_state_unlock (-1 when the lock file cannot be opened: unlocked). */
int kd_state_lock(void);
void kd_state_unlock(int fd);
/* An environment variable as a count of milliseconds (def when unset or
 * not a number). */
long kd_env_ms(const char *name, long def);
/* What a controller does later: forks a detached process (its own session,
 * none of the caller's descriptors) that sleeps delay_ms and returns 1: it
 * does the work and _exit()s.  Returns 0 in the caller at once. */
int kd_detach_after(long delay_ms);
/* A time as the API server prints it: RFC 3339, seconds ("...:05Z"), or
 * with microseconds (a Lease's MicroTime) when micro is set. */
char *kd_timestamp(int64_t wall_ns, int micro);
/* A 36-character RFC 4122-looking uid derived from the words given (the
 * same words, the same uid: the double keeps no random state). */
char *kd_uid(const char *a, long long b, long long c);

int kd_not_found(const char *kind, const char *name);
/* (type, name) of "TYPE/NAME" or "TYPE NAME" in args[at], args[at + 1]; the
 * name is NULL when none was given. */
void kd_resource_ref(const struct cmd *c, int at, char **type, const char **name);

/* ---- kubectl_double_cluster.c: ledger nodes as pods ----------------------- */

const char *kd_region_of_context(const char *ctx);
json_t *kd_region_entry(const char *region);
json_t *kd_node_by_pod(const char *region, const char *pod);
json_t *kd_node_by_id(json_t *cluster, long long id);
char *kd_pod_name(json_t *node);
char *kd_k8s_node_name(json_t *node);
int kd_is_cordoned(const char *k8s_node);
/* method on the node's gRPC API: 0 when the node answered, *code its wire
 * code and *out the answer or the error; -1 when no node answered. */
/* The admin token an emulated `grpcurl -H 'authorization: Bearer T'`
 * was given (T), sent with kd_node_call's calls; NULL: none. */
extern const char *kd_call_token;
int kd_node_call(json_t *node, const char *method, json_t *req, json_t **out,
		 enum ledger_code *code, long timeout_ms);

/* ---- kubectl_double_rbac.c -------------------------------------------------- */

/* Is "verb resource[/sub]" in API group group denied by KUBECTL_DOUBLE_DENY? */
int kd_denied(const char *verb, const char *resource, const char *group, const char *sub);
/* The API server's refusal, printed, exit 1; name NULL for a list or a
 * create, when_creating set for `create -f -`. */
int kd_forbidden(const struct cmd *c, const char *verb, const char *resource, const char *group,
		 const char *sub, const char *name, int when_creating);
/* kd_denied, then kd_forbidden: 1 when refused (printed), 0 when allowed. */
int kd_check(const struct cmd *c, const char *verb, const char *resource, const char *group,
	     const char *sub, const char *name);
int kd_can_i(struct cmd *c);
int kd_version(struct cmd *c);

/* ---- kubectl_double_pods.c -------------------------------------------------- */

/* The pod object exists (it may still be Pending). */
int kd_pod_exists(json_t *node);
/* Its container runs: a live process the supervisor calls running (or
 * paused: a frozen process is still a running container). */
int kd_pod_running(json_t *node);
int kd_pod_ready(json_t *node);
json_t *kd_pod_json(json_t *node, const char *ns);
/* The pod's uid (a deleted pod's successor has a new one). */
char *kd_pod_uid(json_t *node);
/* Is the pod being deleted (Terminating) right now? */
int kd_pod_terminating(json_t *node);
int kd_delete_pod(struct cmd *c, const char *region, const char *pod);
/* The pod was evicted: the next one the node runs is a new pod. */
void kd_pod_replaced(json_t *node);
/* The pod's container dies at once (SIGKILL) and its node stays down; with
 * recreate, a new pod (new uid) starts KUBECTL_DOUBLE_RECREATE_MS later,
 * as after a force delete.  0, or -1 with err. */
int kd_pod_kill(json_t *node, int recreate, struct dr_error *err);
/* The pod stays, its container held down (SIGKILL, not restarted) until
 * kd_pod_unfail. */
int kd_pod_fail(json_t *node, struct dr_error *err);
void kd_pod_unfail(json_t *node);

/* ---- kubectl_double_nodes.c ------------------------------------------------- */

int kd_get_nodes(struct cmd *c, const char *region);
int kd_cordon(struct cmd *c, const char *region, int on);
int kd_drain(struct cmd *c, const char *region);

/* ---- kubectl_double_sts.c --------------------------------------------------- */

int kd_get_statefulset(struct cmd *c, const char *region, const char *name);
int kd_scale(struct cmd *c, const char *region);

/* ---- kubectl_double_lease.c ------------------------------------------------- */

int kd_get_lease(struct cmd *c, const char *region, const char *name);
int kd_delete_lease(struct cmd *c, const char *region, const char *name);
/* create/replace -f - of a Lease already read from stdin (obj owned by the
 * caller). */
int kd_create_lease(struct cmd *c, const char *region, json_t *obj, int replace);
int kd_patch(struct cmd *c, const char *region);

/* ---- kubectl_double_chaos.c ------------------------------------------------- */

/* create -f - of a chaos-mesh.org object (obj owned by the caller). */
int kd_create_chaos(struct cmd *c, const char *region, json_t *obj);
int kd_get_chaos(struct cmd *c, const char *region, const char *type, const char *name);
int kd_delete_chaos(struct cmd *c, const char *region, const char *type, const char *name);
/* Is type one of the Chaos Mesh kinds (podchaos, networkchaos, ...)? */
int kd_is_chaos_type(const char *type);

/* ---- the verbs on pods ------------------------------------------------------- */

int kd_exec(struct cmd *c, const char *region);
int kd_cp(struct cmd *c, const char *region);
int kd_grpcurl(json_t *node, char **argv, int argc);
/* A pod's path under /var/lib/ledger/ in the node's data directory. */
char *kd_pod_path(json_t *node, const char *path);
int kd_port_forward(struct cmd *c, const char *region);

#endif
