/* Prometheus metrics of a node: gauges published by the loop's tick and
 * request counters / latency histograms by method, kept by HTTP threads.
 * Rendered as Prometheus text exposition format (passes promtool). */
#ifndef DR_LEDGER_DAEMON_METRICS_H
#define DR_LEDGER_DAEMON_METRICS_H

#include <pthread.h>
#include <stdint.h>

#include "common/strbuf.h"
#include "ledger/client/wire.h"

struct ledgerd_gauges {
	int running;
	int knows_leader;
	int is_leader;
	uint64_t term;
	uint64_t commit_index;
	uint64_t last_applied;
	uint64_t ledger_last_index;
	double lag_seconds;
	int peers_connected;     /* leader only, else -1 */
	int quorum_size;
	int voters;
	uint64_t append_batches;   /* ledger/daemon/svc_append.c */
	uint64_t appends_batched;
	int disk_full;             /* ledger/daemon/node.h, struct ledgerd_disk */
	double disk_free_bytes;    /* -1: never measured */
};

#define LEDGERD_METRIC_METHODS 32
#define LEDGERD_METRIC_BUCKETS 13

struct ledgerd_method_stats {
	const char *method;                         /* static string */
	uint64_t by_code[LEDGER_CODE_COUNT];
	uint64_t buckets[LEDGERD_METRIC_BUCKETS];   /* cumulative on render */
	uint64_t count;
	double sum;
};

struct ledgerd_metrics {
	pthread_mutex_t mu;
	struct ledgerd_method_stats m[LEDGERD_METRIC_METHODS];
	int n;
};

void ledgerd_metrics_init(struct ledgerd_metrics *m);
void ledgerd_metrics_release(struct ledgerd_metrics *m);
/* Count one request; method must be a static string. */
void ledgerd_metrics_observe(struct ledgerd_metrics *m, const char *method,
			     enum ledger_code code, double seconds);
struct ledgerd_raft_counters;
/* raft: the transport's counters, or NULL to leave them out. */
void ledgerd_metrics_render(struct strbuf *sb, struct ledgerd_metrics *m,
			    const struct ledgerd_gauges *g,
			    const struct ledgerd_raft_counters *raft, uint64_t node_id,
			    const char *region, const char *role);

#endif
