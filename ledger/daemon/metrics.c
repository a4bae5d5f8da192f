/* Prometheus text rendering of a node's metrics. */
#include "ledger/daemon/metrics.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "ledger/daemon/transport.h"

static const double bucket_le[LEDGERD_METRIC_BUCKETS] = {
	0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10,
};

void ledgerd_metrics_init(struct ledgerd_metrics *m)
{
	memset(m, 0, sizeof *m);
	pthread_mutex_init(&m->mu, NULL);
}

void ledgerd_metrics_release(struct ledgerd_metrics *m)
{
	pthread_mutex_destroy(&m->mu);
}

void ledgerd_metrics_observe(struct ledgerd_metrics *m, const char *method,
			     enum ledger_code code, double seconds)
{
	struct ledgerd_method_stats *s = NULL;
	int i;

	pthread_mutex_lock(&m->mu);
	for (i = 0; i < m->n; i++)
		if (strcmp(m->m[i].method, method) == 0)
			s = &m->m[i];
	if (!s && m->n < LEDGERD_METRIC_METHODS) {
		s = &m->m[m->n++];
		s->method = method;
	}
	if (s) {
		if ((unsigned)code < LEDGER_CODE_COUNT)
			s->by_code[code]++;
		for (i = 0; i < LEDGERD_METRIC_BUCKETS; i++)
			if (seconds <= bucket_le[i]) {
				s->buckets[i]++;
				break;
			}
		s->count++;
		s->sum += seconds;
	}
	pthread_mutex_unlock(&m->mu);
}

static void gauge(struct strbuf *sb, const char *name, const char *help, const char *labels,
		  double v)
{
	strbuf_addf(sb, "# HELP %s %s\n# TYPE %s gauge\n%s{%s} %.17g\n", name, help, name, name,
		    labels, v);
}

static void counter(struct strbuf *sb, const char *name, const char *help, const char *labels,
		    uint64_t v)
{
	strbuf_addf(sb, "# HELP %s %s\n# TYPE %s counter\n%s{%s} %" PRIu64 "\n", name, help, name,
		    name, labels, v);
}

void ledgerd_metrics_render(struct strbuf *sb, struct ledgerd_metrics *m,
			    const struct ledgerd_gauges *g,
			    const struct ledgerd_raft_counters *raft, uint64_t node_id,
			    const char *region, const char *role)
{
	char labels[256];
	int i, c, b;

	/* Region names come from a validated peers file/flag; quotes and
	 * backslashes would still break the format, so they never get here
	 * unescaped: the flag parser accepts them, we replace them. */
	{
		char reg[96];
		size_t k;
		str_copy(reg, sizeof reg, region);
		for (k = 0; reg[k]; k++)
			if (reg[k] == '"' || reg[k] == '\\' || reg[k] == '\n')
				reg[k] = '_';
		snprintf(labels, sizeof labels, "node=\"%" PRIu64 "\",region=\"%s\",region_role=\"%s\"",
			 node_id, reg, role);
	}
	gauge(sb, "ledger_raft_leader", "1 when this node knows a current leader, 0 when it knows none.",
	      labels, g->knows_leader);
	gauge(sb, "ledger_raft_is_leader", "1 on the leader only.", labels, g->is_leader);
	gauge(sb, "ledger_raft_term", "Current Raft term.", labels, (double)g->term);
	gauge(sb, "ledger_raft_commit_index", "Highest Raft log index known to be committed.",
	      labels, (double)g->commit_index);
	gauge(sb, "ledger_raft_applied_index", "Highest Raft log index applied to the ledger.",
	      labels, (double)g->last_applied);
	gauge(sb, "ledger_entries_last_index", "Last ledger index applied on this node.", labels,
	      (double)g->ledger_last_index);
	gauge(sb, "ledger_replication_lag_seconds",
	      "How long this node has been behind the leader's commit (0 when caught up).", labels,
	      g->lag_seconds);
	if (g->peers_connected >= 0)
		gauge(sb, "ledger_raft_peers_connected",
		      "Voters the leader heard from within an election timeout, itself included (leader only).",
		      labels, g->peers_connected);
	gauge(sb, "ledger_raft_quorum_size", "Votes needed for a quorum of the current configuration.",
	      labels, g->quorum_size);
	gauge(sb, "ledger_raft_voters", "Voters in the current configuration.", labels, g->voters);
	counter(sb, "ledger_append_batches_total",
		"Raft entries this node proposed that carried more than one append (group commit).",
		labels, g->append_batches);
	counter(sb, "ledger_appends_batched_total", "Appends carried by those entries.", labels,
		g->appends_batched);
	gauge(sb, "ledger_disk_full",
	      "1 while the data directory has too little space for the Raft log (writes refused).",
	      labels, g->disk_full);
	if (g->disk_free_bytes >= 0)
		gauge(sb, "ledger_disk_free_bytes", "Free bytes in the Raft log's filesystem.", labels,
		      g->disk_free_bytes);
	if (raft)
		ledgerd_raft_counters_render(sb, raft, labels);

	pthread_mutex_lock(&m->mu);
	strbuf_adds(sb, "# HELP ledger_requests_total Requests answered, by method and result code.\n"
			"# TYPE ledger_requests_total counter\n");
	for (i = 0; i < m->n; i++) {
		const struct ledgerd_method_stats *s = &m->m[i];
		for (c = 0; c < LEDGER_CODE_COUNT; c++) {
			uint64_t total = 0;
			int d, first = 1;
			/* Several enum values share a code name: sum them once. */
			for (d = 0; d < c; d++)
				if (strcmp(ledger_code_name(d), ledger_code_name(c)) == 0)
					first = 0;
			if (!first)
				continue;
			for (d = c; d < LEDGER_CODE_COUNT; d++)
				if (strcmp(ledger_code_name(d), ledger_code_name(c)) == 0)
					total += s->by_code[d];
			if (total)
				strbuf_addf(sb, "ledger_requests_total{method=\"%s\",code=\"%s\"} %" PRIu64 "\n",
					    s->method, ledger_code_name(c), total);
		}
	}
	strbuf_adds(sb, "# HELP ledger_request_duration_seconds Request latency by method.\n"
			"# TYPE ledger_request_duration_seconds histogram\n");
	for (i = 0; i < m->n; i++) {
		const struct ledgerd_method_stats *s = &m->m[i];
		uint64_t cum = 0;
		for (b = 0; b < LEDGERD_METRIC_BUCKETS; b++) {
			cum += s->buckets[b];
			strbuf_addf(sb, "ledger_request_duration_seconds_bucket{method=\"%s\",le=\"%g\"} %" PRIu64 "\n",
				    s->method, bucket_le[b], cum);
		}
		strbuf_addf(sb, "ledger_request_duration_seconds_bucket{method=\"%s\",le=\"+Inf\"} %" PRIu64 "\n",
			    s->method, s->count);
		strbuf_addf(sb, "ledger_request_duration_seconds_sum{method=\"%s\"} %.9f\n", s->method, s->sum);
		strbuf_addf(sb, "ledger_request_duration_seconds_count{method=\"%s\"} %" PRIu64 "\n",
			    s->method, s->count);
	}
	pthread_mutex_unlock(&m->mu);
}
