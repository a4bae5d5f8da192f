/* Partitions the kernel injects: nftables rules on the loopback addresses
 * of a bundled cluster's nodes.
 *
 * Every node has its own loopback address (127.a.b.<id>) and sends its raft
 * traffic from it (ledger/daemon/transport_connect.c), while clients reach
 * the nodes from 127.0.0.1: so a rule on a pair of node addresses cuts raft
 * traffic between those nodes and nothing else, as a partition between
 * machines cuts replication but not the clients on either side.
 *
 * The rules live in a table of drillrig's own per cluster network
 * (inet drillrig_127_a_b_0), replaced whole by each partition and deleted
 * by a heal: nothing outside that table is touched, and a crashed drill's
 * table is found again by name (cluster up and down delete it).  nft runs
 * from an argv with the ruleset on stdin; `nft -f` applies a file as one
 * transaction, so a partition is in place completely or not at all. */
#include "ledger/cluster/cluster.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/proc.h"
#include "common/strbuf.h"

#define NFT_TIMEOUT_NS (10 * INT64_C(1000000000))

char *cluster_nft_table(const json_t *info)
{
	const char *net = json_string_value(json_object_get(info, "network"));
	char *name, *p;

	if (!net)
		return NULL;
	name = xasprintf("drillrig_%s", net);
	for (p = name; *p; p++)
		if (*p == '.')
			*p = '_';
	return name;
}

static int run_nft(char *const argv[], const char *input, struct dr_error *err)
{
	struct proc_result res;
	int rc = 0;

	if (proc_run(&res, argv, input, NFT_TIMEOUT_NS, 16384, err) != 0)
		return -1;
	if (!res.exited || res.exit_code != 0) {
		const char *why = res.errout && *res.errout ? res.errout : res.out;
		size_t n = why ? strcspn(why, "\n") : 0;

		rc = dr_error_set(err, "nft %s failed (%s %d): %.*s", argv[1],
				  res.exited ? "exit" : "signal",
				  res.exited ? res.exit_code : res.term_signal, (int)n, why ? why : "");
	}
	proc_result_release(&res);
	return rc;
}

int cluster_nft_usable(struct dr_error *err)
{
	char *argv[] = { "nft", "list", "tables", NULL };

	if (geteuid() != 0)
		return dr_error_set(err, "nftables needs root (drillrig runs as uid %u)",
				    (unsigned)geteuid());
	if (run_nft(argv, NULL, err) != 0)
		return -1;
	return 0;
}

static void add_set(struct strbuf *sb, const char *const *ips, size_t n)
{
	strbuf_adds(sb, "{ ");
	for (size_t i = 0; i < n; i++)
		strbuf_addf(sb, "%s%s", i ? ", " : "", ips[i]);
	strbuf_adds(sb, " }");
}

char *cluster_nft_ruleset(const char *table, const struct cluster_nft_cut *cuts, size_t n)
{
	struct strbuf sb = STRBUF_INIT;

	/* "add" then "delete" then the new table: one transaction that
	 * replaces whatever this cluster's table held, or creates it. */
	strbuf_addf(&sb, "table inet %s\ndelete table inet %s\n", table, table);
	strbuf_addf(&sb, "table inet %s {\n\tchain output {\n"
		    "\t\ttype filter hook output priority 0; policy accept;\n", table);
	for (size_t i = 0; i < n; i++) {
		const struct cluster_nft_cut *c = &cuts[i];

		if (!c->n_from || !c->n_to)
			continue;
		strbuf_adds(&sb, "\t\tip saddr ");
		add_set(&sb, c->from, c->n_from);
		strbuf_adds(&sb, " ip daddr ");
		add_set(&sb, c->to, c->n_to);
		if (c->dport > 0)
			strbuf_addf(&sb, " tcp dport %d", c->dport);
		if (c->loss_pct > 0 && c->loss_pct < 100)
			strbuf_addf(&sb, " numgen random mod 100 < %d", c->loss_pct);
		/* The counter is the evidence: heal reports how many packets
		 * the kernel really dropped. */
		strbuf_adds(&sb, " counter drop\n");
	}
	strbuf_adds(&sb, "\t}\n}\n");
	return strbuf_detach(&sb);
}

int cluster_nft_apply(const char *table, const struct cluster_nft_cut *cuts, size_t n,
		      struct dr_error *err)
{
	char *argv[] = { "nft", "-f", "-", NULL };
	char *rules = cluster_nft_ruleset(table, cuts, n);
	int rc = run_nft(argv, rules, err);

	free(rules);
	return rc;
}

/* The packets the table's rules dropped (their counters), or -1 when the
 * table does not exist. */
static int64_t dropped_packets(const char *table)
{
	char *argv[] = { "nft", "-j", "list", "table", "inet", (char *)table, NULL };
	struct dr_error err = DR_ERROR_INIT;
	struct proc_result res;
	json_t *root, *items, *item;
	int64_t total = -1;
	size_t i;

	if (proc_run(&res, argv, NULL, NFT_TIMEOUT_NS, 1 << 20, &err) != 0)
		return -1;
	root = res.exited && res.exit_code == 0 ? json_loads(res.out, 0, NULL) : NULL;
	proc_result_release(&res);
	items = json_object_get(root, "nftables");
	if (json_is_array(items))
		total = 0;
	json_array_foreach(items, i, item) {
		json_t *exprs = json_object_get(json_object_get(item, "rule"), "expr"), *e;
		size_t k;

		json_array_foreach(exprs, k, e)
			total += json_integer_value(json_object_get(json_object_get(e, "counter"),
								    "packets"));
	}
	json_decref(root);
	return total;
}

int cluster_nft_remove(const char *table, int64_t *dropped, struct dr_error *err)
{
	/* Create it if missing, then delete it: one transaction, no error for
	 * a table that was never there (a heal without a partition). */
	char *argv[] = { "nft", "-f", "-", NULL };
	char *cmd;
	int rc;

	*dropped = dropped_packets(table);
	cmd = xasprintf("table inet %s\ndelete table inet %s\n", table, table);
	rc = run_nft(argv, cmd, err);
	free(cmd);
	return rc;
}

/* A table left by a drill that died before its heal would cut a new
 * cluster that picks the same network: up and down drop it.  Quiet when
 * nftables cannot be used (there is then no table either). */
void cluster_nft_forget_net(int net_a, int net_b)
{
	struct dr_error err = DR_ERROR_INIT;
	char *table;
	int64_t dropped = 0;

	if (geteuid() != 0 || cluster_nft_usable(&err) != 0)
		return;
	table = xasprintf("drillrig_127_%d_%d_0", net_a, net_b);
	(void)cluster_nft_remove(table, &dropped, &err);
	free(table);
}
