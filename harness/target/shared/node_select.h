/* Which members an action acts on.  Plans name them as {what, node,
 * region}: what is leader, follower, node, region or all; node is an id
 * (3, "3", "n3") or a member's name (an etcd member "m1", a pod); region
 * is a role or a region name.  Every target selects through here, against
 * its status in GetClusterStatus shape, so a plan means the same on each.
 *
 * Also the bookkeeping of nodes a drill took down, so that `start` and
 * `resume` with what: all bring back exactly those. */
#ifndef DR_HARNESS_TARGET_SHARED_NODE_SELECT_H
#define DR_HARNESS_TARGET_SHARED_NODE_SELECT_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "harness/core/target.h"

#define NODE_SELECT_MAX 64

/* A node reference as written in a plan. */
struct node_ref {
	int64_t id;          /* >= 1 when the reference is an id */
	const char *name;    /* otherwise the name as written (borrowed) */
};

/* Parse a plan's node value: an integer >= 1, or a string that is an id
 * ("3", "n3": digits only after the optional n, checked, no trailing
 * characters) or else a name.  0 on success, -1 when node is absent, not
 * an integer >= 1 and not a non-empty string. */
int node_ref_parse(struct node_ref *out, const json_t *node);

/* "node 3" / "node 'ledger-1'" for messages. */
void node_ref_describe(char *buf, size_t len, const struct node_ref *ref);

struct node_query {
	const char *what;          /* leader | follower | node | region | all */
	int has_node;
	struct node_ref node;
	const char *region;        /* region name (resolved), or NULL: any */
	/* The member key that holds a member's name ("name" for etcd, "pod"
	 * on Kubernetes), or NULL when members have none. */
	const char *name_key;
	int follower_needs_name;   /* a follower counts only when its name is known */
};

/* The query of an action's args: what defaults to node when node is given,
 * to region when region is, else to leader; the region is resolved through
 * t->resolve_region; name_key as in struct node_query.  0, or -1 with why
 * set (an unknown region, a node that is not a valid reference). */
int node_query_from_args(struct node_query *q, struct target *t, json_t *args,
			 const char *name_key, char *why, size_t len);

/* The members of status matching q, borrowed from status, in its order (a
 * follower query matches one member: the first).  Returns how many (at most
 * max are stored). */
size_t node_match(json_t **out, size_t max, json_t *status, const struct node_query *q);

/* "no node matches what=leader in region dr (no leader now)" and the like. */
void node_query_no_match(char *buf, size_t len, const struct node_query *q, const char *noun,
			 json_t *status);

/* Read t->status and select the member ids args name.  0 with ids (and
 * *status_out when not NULL, caller owns); -1 with res failed: status
 * unreadable, unknown region, or nothing matches (noun names a member in
 * messages: "node", "member"). */
int node_select_ids(int64_t *ids, size_t max, size_t *n, struct target *t, json_t *args,
		    const char *name_key, const char *noun, json_t **status_out,
		    struct action_result *res);

/* "1,2,3" and [1,2,3]. */
void node_ids_text(char *buf, size_t len, const int64_t *ids, size_t n);
json_t *node_ids_json(const int64_t *ids, size_t n);

/* ---- nodes a drill took down -------------------------------------------- */

struct node_set {
	int64_t ids[NODE_SELECT_MAX];
	size_t n;
};

void node_set_add(struct node_set *set, int64_t id);     /* once; ignored when full */
void node_set_remove(struct node_set *set, int64_t id);

/* One node operation (stop, start, pause, resume) and its words. */
struct node_op {
	int (*fn)(struct target *t, int64_t id, struct dr_error *err);
	const char *verb;     /* "stop", in "cannot stop node 3: ..." */
	const char *done;     /* "stopped", in "stopped nodes 1,2" */
};

/* Select the members args name (name_key as in struct node_query), apply
 * op to each (stopping at the first failure) and remember in set those it
 * took down.  res says "stopped nodes 1,2" with data {"nodes": [ids]}
 * (noun: "node", "member"). */
void node_set_take_down(struct node_set *set, struct target *t, json_t *args,
			const char *name_key, const struct node_op *op, const char *noun,
			struct action_result *res);

/* The inverse: with what: all (or no what), exactly the nodes in set, else
 * the members args name; each one brought back leaves set.  With nothing
 * in set: ok, "nothing to do: this drill <op->done> no <noun>". */
void node_set_bring_back(struct node_set *set, struct target *t, json_t *args,
			 const char *name_key, const struct node_op *op, const char *noun,
			 struct action_result *res);

#endif
