/* Node selection shared by every target (harness/target/shared/node_select.h). */
#include "harness/target/shared/node_select.h"

#include <stdio.h>
#include <string.h>

#include "common/clock.h"
#include "common/numparse.h"
#include "common/strbuf.h"
#include "harness/plan/plan.h"

#define STATUS_TIMEOUT_NS (5 * NS_PER_SEC)

int node_ref_parse(struct node_ref *out, const json_t *node)
{
	const char *s, *digits;

	out->id = 0;
	out->name = NULL;
	if (json_is_integer(node)) {
		if (json_integer_value(node) < 1)
			return -1;
		out->id = json_integer_value(node);
		return 0;
	}
	s = json_string_value(node);
	if (!s || !s[0])
		return -1;
	digits = s + (s[0] == 'n');
	if (digits[0] >= '0' && digits[0] <= '9' &&
	    parse_int64(&out->id, digits, 1, INT64_MAX) == 0)
		return 0;
	out->id = 0;
	out->name = s;
	return 0;
}

void node_ref_describe(char *buf, size_t len, const struct node_ref *ref)
{
	if (ref->name)
		snprintf(buf, len, "node '%s'", ref->name);
	else
		snprintf(buf, len, "node %lld", (long long)ref->id);
}

int node_query_from_args(struct node_query *q, struct target *t, json_t *args,
			 const char *name_key, char *why, size_t len)
{
	const char *region_ref = plan_arg_str(args, "region");
	json_t *node = json_object_get(args, "node");

	memset(q, 0, sizeof(*q));
	q->name_key = name_key;
	if (region_ref) {
		q->region = t->resolve_region ? t->resolve_region(t, region_ref) : NULL;
		if (!q->region) {
			snprintf(why, len, "unknown region '%s'", region_ref);
			return -1;
		}
	}
	if (node) {
		if (node_ref_parse(&q->node, node) != 0) {
			snprintf(why, len, "'node' must be a node id (3 or \"n3\") or a member's name");
			return -1;
		}
		q->has_node = 1;
	}
	q->what = plan_arg_str(args, "what");
	if (!q->what)
		q->what = node ? "node" : q->region ? "region" : "leader";
	return 0;
}

static int64_t leader_id(json_t *status)
{
	return json_integer_value(json_object_get(json_object_get(status, "leader"), "id"));
}

static int member_named(json_t *m, const struct node_query *q, const char **name)
{
	*name = q->name_key ? json_string_value(json_object_get(m, q->name_key)) : NULL;
	if (!q->has_node)
		return 0;
	if (q->node.id)
		return json_integer_value(json_object_get(m, "id")) == q->node.id;
	return *name && strcmp(*name, q->node.name) == 0;
}

size_t node_match(json_t **out, size_t max, json_t *status, const struct node_query *q)
{
	int64_t leader = leader_id(status);
	size_t i, n = 0;
	json_t *m;

	json_array_foreach(json_object_get(status, "members"), i, m) {
		int64_t id = json_integer_value(json_object_get(m, "id"));
		const char *region = json_string_value(json_object_get(m, "region"));
		const char *state = json_string_value(json_object_get(m, "state"));
		const char *name = NULL;
		int named = member_named(m, q, &name);
		int in_region = !q->region || (region && strcmp(region, q->region) == 0);
		int match = 0;

		if (strcmp(q->what, "leader") == 0)
			match = id == leader && in_region;
		else if (strcmp(q->what, "follower") == 0)
			match = id != leader && in_region && n == 0 && state &&
				strcmp(state, "unreachable") != 0 && (!q->follower_needs_name || name);
		else if (strcmp(q->what, "node") == 0)
			match = named;
		else if (strcmp(q->what, "region") == 0)
			match = q->region && in_region;
		else if (strcmp(q->what, "all") == 0)
			match = in_region;
		if (!match)
			continue;
		if (n < max)
			out[n] = m;
		n++;
	}
	return n;
}

void node_query_no_match(char *buf, size_t len, const struct node_query *q, const char *noun,
			 json_t *status)
{
	struct strbuf ref = STRBUF_INIT;

	if (strcmp(q->what, "node") == 0 && q->has_node) {
		char d[280];

		node_ref_describe(d, sizeof(d), &q->node);
		strbuf_addf(&ref, " (%s%s)", d, q->node.name && !q->name_key ?
			    ": not an id such as 3 or n3, and members here have no names" : "");
	}
	snprintf(buf, len, "no %s matches what=%s%s%s%s%s", noun, q->what,
		 q->region ? " in region " : "", q->region ? q->region : "", strbuf_str(&ref),
		 strcmp(q->what, "leader") == 0 && !leader_id(status) ? " (no leader now)" : "");
	strbuf_release(&ref);
}

int node_select_ids(int64_t *ids, size_t max, size_t *n, struct target *t, json_t *args,
		    const char *name_key, const char *noun, json_t **status_out,
		    struct action_result *res)
{
	struct dr_error err = DR_ERROR_INIT;
	struct node_query q;
	json_t *status = NULL, *picked[NODE_SELECT_MAX];
	char why[512];
	size_t found;

	*n = 0;
	if (node_query_from_args(&q, t, args, name_key, why, sizeof(why)) != 0) {
		action_result_set(res, ACTION_FAILED, "%s", why);
		return -1;
	}
	if (t->status(t, &status, STATUS_TIMEOUT_NS, &err) != 0) {
		action_result_set(res, ACTION_FAILED, "cannot read the cluster status: %s", err.msg);
		json_decref(status);
		return -1;
	}
	found = node_match(picked, NODE_SELECT_MAX, status, &q);
	if (found == 0) {
		node_query_no_match(why, sizeof(why), &q, noun, status);
		action_result_set(res, ACTION_FAILED, "%s", why);
		json_decref(status);
		return -1;
	}
	for (size_t i = 0; i < found && i < max && i < NODE_SELECT_MAX; i++)
		ids[(*n)++] = json_integer_value(json_object_get(picked[i], "id"));
	if (status_out)
		*status_out = status;
	else
		json_decref(status);
	return 0;
}

void node_ids_text(char *buf, size_t len, const int64_t *ids, size_t n)
{
	size_t off = 0;

	buf[0] = '\0';
	for (size_t i = 0; i < n && off < len; i++) {
		int w = snprintf(buf + off, len - off, "%s%lld", i ? "," : "", (long long)ids[i]);

		off += w > 0 ? (size_t)w : 0;
	}
}

json_t *node_ids_json(const int64_t *ids, size_t n)
{
	json_t *a = json_array();

	for (size_t i = 0; i < n; i++)
		json_array_append_new(a, json_integer(ids[i]));
	return a;
}

/* ---- nodes a drill took down ------------------------------------------- */

void node_set_add(struct node_set *set, int64_t id)
{
	for (size_t i = 0; i < set->n; i++)
		if (set->ids[i] == id)
			return;
	if (set->n < NODE_SELECT_MAX)
		set->ids[set->n++] = id;
}

void node_set_remove(struct node_set *set, int64_t id)
{
	for (size_t i = 0; i < set->n; i++)
		if (set->ids[i] == id) {
			set->ids[i] = set->ids[--set->n];
			return;
		}
}

/* op on each of ids until one fails; how many succeeded. */
static size_t apply(struct target *t, const int64_t *ids, size_t n, const struct node_op *op,
		    const char *noun, struct action_result *res)
{
	char list[256];

	for (size_t i = 0; i < n; i++) {
		struct dr_error err = DR_ERROR_INIT;

		if (op->fn(t, ids[i], &err) != 0) {
			action_result_set(res, ACTION_FAILED, "cannot %s %s %lld: %s", op->verb, noun,
					  (long long)ids[i], err.msg);
			return i;
		}
	}
	node_ids_text(list, sizeof(list), ids, n);
	action_result_set(res, ACTION_OK, "%s %s%s %s", op->done, noun, n > 1 ? "s" : "", list);
	res->data = json_pack("{s:o}", "nodes", node_ids_json(ids, n));
	return n;
}

void node_set_take_down(struct node_set *set, struct target *t, json_t *args,
			const char *name_key, const struct node_op *op, const char *noun,
			struct action_result *res)
{
	int64_t ids[NODE_SELECT_MAX];
	size_t n, done;

	if (node_select_ids(ids, NODE_SELECT_MAX, &n, t, args, name_key, noun, NULL, res) != 0)
		return;
	done = apply(t, ids, n, op, noun, res);
	for (size_t i = 0; i < done; i++)
		node_set_add(set, ids[i]);
}

void node_set_bring_back(struct node_set *set, struct target *t, json_t *args,
			 const char *name_key, const struct node_op *op, const char *noun,
			 struct action_result *res)
{
	const char *what = plan_arg_str(args, "what");
	int64_t ids[NODE_SELECT_MAX];
	size_t n = set->n, done;

	if (!what || strcmp(what, "all") == 0) {
		if (n == 0) {
			action_result_set(res, ACTION_OK, "nothing to do: this drill %s no %s",
					  op->done, noun);
			return;
		}
		memcpy(ids, set->ids, sizeof(ids[0]) * n);
	} else if (node_select_ids(ids, NODE_SELECT_MAX, &n, t, args, name_key, noun, NULL,
				   res) != 0) {
		return;
	}
	done = apply(t, ids, n, op, noun, res);
	for (size_t i = 0; i < done; i++)
		node_set_remove(set, ids[i]);
}
