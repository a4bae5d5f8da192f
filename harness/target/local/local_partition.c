/* partition and heal on the bundled cluster.
 *
 * Two ways to cut nodes off.  The kernel's (nftables rules on the nodes'
 * loopback addresses, ledger/cluster/cluster_nft.c) needs root and the nft
 * binary and can also cut one way or lose a share of the packets; ledgerd's
 * debug hook (Debug/Partition: each node drops the other side's raft
 * messages itself) works anywhere, both ways and whole.  method: auto takes
 * the kernel's when it can; every result says which one did it
 * ("injected_by"), so a report never leaves the reader guessing whether
 * the system under test cooperated with its own fault. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/clock.h"
#include "common/strbuf.h"
#include "harness/plan/plan.h"
#include "harness/target/local/local_impl.h"

#define BY_NFTABLES "nftables"
#define BY_DEBUG_HOOK "ledgerd debug hook"

struct sides {
	int64_t ids[NODE_SELECT_MAX];
	size_t n;
	json_t *cut, *rest; /* ids of each side */
};

static int in_cut(const struct sides *s, int64_t id)
{
	for (size_t k = 0; k < s->n; k++)
		if (s->ids[k] == id)
			return 1;
	return 0;
}

/* The node addresses of one side, from cluster.json (the raft address's
 * host part: the node's own loopback address). */
static size_t side_ips(char ips[][64], size_t max, const json_t *info, const struct sides *s,
		       int want_cut)
{
	json_t *nodes = json_object_get(info, "nodes"), *node;
	size_t i, n = 0;

	json_array_foreach(nodes, i, node) {
		const char *raft = json_string_value(json_object_get(node, "raft_address"));
		const char *colon = raft ? strrchr(raft, ':') : NULL;
		int64_t id = json_integer_value(json_object_get(node, "id"));

		if (!colon || in_cut(s, id) != want_cut || n == max ||
		    (size_t)(colon - raft) >= sizeof ips[0])
			continue;
		memcpy(ips[n], raft, (size_t)(colon - raft));
		ips[n][colon - raft] = '\0';
		n++;
	}
	return n;
}

static int raft_port(const json_t *info)
{
	json_t *node = json_array_get(json_object_get(info, "nodes"), 0);
	const char *raft = json_string_value(json_object_get(node, "raft_address"));
	const char *colon = raft ? strrchr(raft, ':') : NULL;

	return colon ? (int)strtol(colon + 1, NULL, 10) : 0;
}

static int by_nftables(struct local_target *lt, const struct sides *s, const char *direction,
		       int loss, char **table_out, struct dr_error *err)
{
	char cut_ips[NODE_SELECT_MAX][64], rest_ips[CLUSTER_MAX_NODES][64];
	const char *cut_p[NODE_SELECT_MAX], *rest_p[CLUSTER_MAX_NODES];
	struct cluster_nft_cut cuts[2];
	size_t n_cut, n_rest, n = 0;
	json_t *info = NULL;
	char *table;
	int port, rc;

	if (cluster_load(&info, lt->dir, err) != 0)
		return -1;
	table = cluster_nft_table(info);
	port = raft_port(info);
	n_cut = side_ips(cut_ips, NODE_SELECT_MAX, info, s, 1);
	n_rest = side_ips(rest_ips, CLUSTER_MAX_NODES, info, s, 0);
	json_decref(info);
	if (!table || port <= 0) {
		free(table);
		return dr_error_set(err, "cluster.json names no network or raft port");
	}
	for (size_t i = 0; i < n_cut; i++)
		cut_p[i] = cut_ips[i];
	for (size_t i = 0; i < n_rest; i++)
		rest_p[i] = rest_ips[i];
	/* Both ways: every packet between the sides.  One way: only the
	 * packets to the other side's raft port, i.e. the messages, not the
	 * TCP acknowledgements of the messages coming the other way, which
	 * keep flowing. */
	if (strcmp(direction, "inbound") != 0)
		cuts[n++] = (struct cluster_nft_cut){ cut_p, n_cut, rest_p, n_rest,
			strcmp(direction, "both") == 0 ? 0 : port, loss };
	if (strcmp(direction, "outbound") != 0)
		cuts[n++] = (struct cluster_nft_cut){ rest_p, n_rest, cut_p, n_cut,
			strcmp(direction, "both") == 0 ? 0 : port, loss };
	rc = cluster_nft_apply(table, cuts, n, err);
	if (rc == 0)
		*table_out = table;
	else
		free(table);
	return rc;
}

static int by_debug_hook(struct local_target *lt, const struct sides *s, json_t *status,
			 struct dr_error *err)
{
	json_t *members = json_object_get(status, "members"), *m;
	size_t i;

	json_array_foreach(members, i, m) {
		int64_t id = json_integer_value(json_object_get(m, "id"));
		const char *addr = json_string_value(json_object_get(m, "http_address"));
		json_t *req = json_pack("{s:O}", "peers", in_cut(s, id) ? s->rest : s->cut);
		json_t *answer = NULL;
		int rc = addr ? local_debug_call(lt, &answer, addr, "inferadb.ledger.v1.Debug/Partition",
						  req, LOCAL_ADMIN_TIMEOUT_NS, err)
			      : dr_error_set(err, "no http_address");
		const char *state = json_string_value(json_object_get(m, "state"));

		json_decref(req);
		json_decref(answer);
		/* A node that is down cannot be told; it is cut off anyway, and
		 * heal reaches it once it is back. */
		if (rc != 0 && !(state && strcmp(state, "unreachable") == 0))
			return dr_error_set(err, "cannot partition node %lld: %s", (long long)id,
					    err->msg);
	}
	return 0;
}

/* Which way to cut: the plan's method, or for auto nftables when usable.
 * Returns the method or NULL with res set. */
static const char *choose(const char *method, const char *direction, int loss,
			  char *why, size_t why_len, struct action_result *res)
{
	struct dr_error err = DR_ERROR_INIT;
	int whole = strcmp(direction, "both") == 0 && loss >= 100;

	if (strcmp(method, "debug_hook") == 0)
		return BY_DEBUG_HOOK;
	if (cluster_nft_usable(&err) == 0)
		return BY_NFTABLES;
	if (strcmp(method, "nftables") == 0 || !whole) {
		action_result_set(res, ACTION_FAILED, "%s needs nftables, which cannot be used here: %s",
				  whole ? "method: nftables" :
				  loss < 100 ? "a loss rate" : "a one-way cut", err.msg);
		return NULL;
	}
	snprintf(why, why_len, "%s", err.msg);
	return BY_DEBUG_HOOK;
}

void local_partition(struct target *t, json_t *args, const struct action_ctx *ctx,
		     struct action_result *res)
{
	struct local_target *lt = t->impl;
	const char *direction = plan_arg_str(args, "direction");
	const char *method = plan_arg_str(args, "method");
	int loss = (int)plan_arg_int(args, "loss", 100);
	struct dr_error err = DR_ERROR_INIT;
	struct sides s = { .n = 0 };
	json_t *status = NULL, *members, *m;
	const char *by;
	char *table = NULL, list[256], why[sizeof(((struct dr_error *)0)->msg)] = "", by_text[1200];
	const char *nodes;
	size_t i, rest_n;

	(void)ctx;
	direction = direction ? direction : "both";
	method = method ? method : "auto";
	if (node_select_ids(s.ids, NODE_SELECT_MAX, &s.n, t, args, NULL, "node", &status, res) != 0)
		return;
	s.cut = node_ids_json(s.ids, s.n);
	s.rest = json_array();
	members = json_object_get(status, "members");
	json_array_foreach(members, i, m) {
		int64_t id = json_integer_value(json_object_get(m, "id"));

		if (!in_cut(&s, id))
			json_array_append_new(s.rest, json_integer(id));
	}
	by = choose(method, direction, loss, why, sizeof why, res);
	if (!by)
		goto out;
	if (strcmp(by, BY_NFTABLES) == 0 ? by_nftables(lt, &s, direction, loss, &table, &err)
					 : by_debug_hook(lt, &s, status, &err)) {
		action_result_set(res, ACTION_FAILED, "%s", err.msg);
		goto out;
	}
	node_ids_text(list, sizeof(list), s.ids, s.n);
	snprintf(by_text, sizeof by_text, "injected by %s%s%s", by,
		 *why ? "; nftables not usable: " : "", why);
	nodes = s.n > 1 ? "s" : "";
	rest_n = json_array_size(s.rest);
	if (loss < 100)
		action_result_set(res, ACTION_OK, "%d%% of the packets lost between node%s %s and the "
				  "other %zu member%s, %s (%s)", loss, nodes, list, rest_n,
				  rest_n == 1 ? "" : "s",
				  strcmp(direction, "both") == 0 ? "both ways" :
				  strcmp(direction, "outbound") == 0 ? "on their way out" : "on their way in",
				  by_text);
	else if (strcmp(direction, "both") == 0)
		action_result_set(res, ACTION_OK, "node%s %s cut off from the other %zu member%s (%s)",
				  nodes, list, rest_n, rest_n == 1 ? "" : "s", by_text);
	else
		action_result_set(res, ACTION_OK, "node%s %s %s the other %zu member%s, %s (%s)", nodes,
				  list, strcmp(direction, "outbound") == 0 ? "cannot send to" : "cannot hear",
				  rest_n, rest_n == 1 ? "" : "s",
				  strcmp(direction, "outbound") == 0 ? "still hearing them" :
				  "still heard by them", by_text);
	res->data = json_pack("{s:O,s:O,s:s,s:i,s:s}", "isolated", s.cut, "rest", s.rest,
			      "direction", direction, "loss_percent", loss, "injected_by", by);
	if (table)
		json_object_set_new(res->data, "nft_table", json_string(table));
out:
	free(table);
	json_decref(s.cut);
	json_decref(s.rest);
	json_decref(status);
}

/* Remove every partition: this cluster's nftables table (when there is
 * one to remove) and each node's debug-hook partition. */
void local_heal(struct target *t, json_t *args, const struct action_ctx *ctx,
		struct action_result *res)
{
	struct dr_error err = DR_ERROR_INIT, nft_err = DR_ERROR_INIT;
	json_t *info = NULL, *nodes, *node;
	struct local_target *lt = t->impl;
	size_t i, healed = 0;
	int64_t dropped = -1;
	int nft_failed = 0;
	char *table;

	(void)args;
	(void)ctx;
	if (cluster_load(&info, lt->dir, &err) != 0) {
		action_result_set(res, ACTION_FAILED, "%s", err.msg);
		return;
	}
	table = cluster_nft_table(info);
	if (table && cluster_nft_usable(&nft_err) == 0)
		nft_failed = cluster_nft_remove(table, &dropped, &nft_err) != 0;
	nodes = json_object_get(info, "nodes");
	json_array_foreach(nodes, i, node) {
		const char *addr = json_string_value(json_object_get(node, "http_address"));
		json_t *req = json_object(), *answer = NULL;

		if (addr && local_debug_call(lt, &answer, addr, "inferadb.ledger.v1.Debug/Heal", req,
					     LOCAL_ADMIN_TIMEOUT_NS, &err) == 0)
			healed++;
		json_decref(req);
		json_decref(answer);
	}
	json_decref(info);
	if (nft_failed)
		action_result_set(res, ACTION_FAILED, "cannot remove the nftables table %s: %s", table,
				  nft_err.msg);
	else if (!healed && dropped < 0)
		action_result_set(res, ACTION_FAILED, "healed 0 nodes: %s", err.msg);
	else if (dropped >= 0)
		action_result_set(res, ACTION_OK, "healed %zu node%s; nftables rules removed (they "
				  "dropped %lld packets)", healed, healed == 1 ? "" : "s",
				  (long long)dropped);
	else
		action_result_set(res, ACTION_OK, "healed %zu node%s", healed, healed == 1 ? "" : "s");
	res->data = json_pack("{s:i}", "nodes_healed", (int)healed);
	if (dropped >= 0)
		json_object_set_new(res->data, "nft_dropped_packets", json_integer(dropped));
	free(table);
}
