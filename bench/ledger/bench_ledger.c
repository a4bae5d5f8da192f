/* bench-ledger: append throughput and latency (sequential and 16 clients)
 * and failover time (kill -9 of the leader to the first acknowledged
 * append) of a 3-node ledgerd cluster on loopback, data on tmpfs.
 * Usage: bench_ledger [trials]   (LEDGERD_BIN names the daemon). */
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/clock.h"
#include "common/numparse.h"
#include "common/strbuf.h"
#include "ledger/client/client.h"
#include "tests/support/ledger_testnet.h"

static int cmp_i64(const void *a, const void *b)
{
	int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;

	return x < y ? -1 : x > y;
}

static double pct_ms(int64_t *v, size_t n, double p)
{
	size_t i = (size_t)(p * (double)(n - 1) + 0.5);

	return (double)v[i] / 1e6;
}

struct worker {
	struct testnet *t;
	int id, count;
	int64_t *lat;
	pthread_t thread;
};

static void *worker_main(void *arg)
{
	struct worker *w = arg;
	struct ledger_client *c = testnet_client(w->t, 2000);
	struct ledger_append_result res;
	char cid[32];
	int i;

	snprintf(cid, sizeof cid, "bench-%d", w->id);
	for (i = 0; i < w->count; i++) {
		int64_t start = clock_mono_ns();
		while (ledger_append(c, cid, (uint64_t)i + 1, "benchmark payload of some 40 bytes....", &res) != 0)
			clock_sleep_ns(NS_PER_MS);
		w->lat[i] = clock_mono_ns() - start;
	}
	ledger_client_free(c);
	return NULL;
}

static void throughput(struct testnet *t, int clients, int per_client)
{
	struct worker *w = calloc((size_t)clients, sizeof *w);
	int64_t *all = calloc((size_t)(clients * per_client), sizeof *all), start, elapsed;
	size_t n = 0;
	int i, j;

	start = clock_mono_ns();
	for (i = 0; i < clients; i++) {
		w[i].t = t;
		w[i].id = i + clients * 1000;
		w[i].count = per_client;
		w[i].lat = calloc((size_t)per_client, sizeof(int64_t));
		pthread_create(&w[i].thread, NULL, worker_main, &w[i]);
	}
	for (i = 0; i < clients; i++) {
		pthread_join(w[i].thread, NULL);
		for (j = 0; j < per_client; j++)
			all[n++] = w[i].lat[j];
		free(w[i].lat);
	}
	elapsed = clock_mono_ns() - start;
	qsort(all, n, sizeof *all, cmp_i64);
	printf("append, %2d client(s): %6zu appends in %6.2f s = %7.0f/s, latency p50 %.2f ms, p99 %.2f ms, max %.2f ms\n",
	       clients, n, (double)elapsed / 1e9, (double)n / ((double)elapsed / 1e9), pct_ms(all, n, 0.5),
	       pct_ms(all, n, 0.99), pct_ms(all, n, 1.0));
	free(all);
	free(w);
}

/* kill -9 the leader, then append until one is acknowledged. */
static void failover(int election_ms, int heartbeat_ms, int trials)
{
	static struct testnet t;
	int64_t *ms = calloc((size_t)trials, sizeof *ms);
	struct ledger_client *c;
	struct ledger_append_result res;
	int k, leader, done = 0;
	uint64_t seq = 1;

	memset(&t, 0, sizeof t);
	t.election_ms = election_ms;
	t.heartbeat_ms = heartbeat_ms;
	if (testnet_start(&t, 3, NULL) != 0) {
		fprintf(stderr, "cannot start the cluster\n");
		exit(1);
	}
	c = testnet_client(&t, 100);
	for (k = 0; k < trials; k++) {
		int64_t kill_at;
		leader = testnet_wait_leader(&t, 30000, -1);
		if (leader < 0) {
			fprintf(stderr, "no leader\n");
			break;
		}
		while (ledger_append(c, "failover", seq, "x", &res) != 0)
			clock_sleep_ns(NS_PER_MS);
		seq++;
		kill_at = clock_mono_ns();
		testnet_kill(&t, leader, SIGKILL);
		while (ledger_append(c, "failover", seq, "x", &res) != 0)
			; /* the client moves on to the next node by itself */
		ms[done++] = (clock_mono_ns() - kill_at) / NS_PER_MS;
		seq++;
		testnet_start_node(&t, leader);
	}
	qsort(ms, (size_t)done, sizeof *ms, cmp_i64);
	if (done)
		printf("failover at %4d/%3d ms, %2d trials: min %5lld ms, median %5lld ms, max %5lld ms\n",
		       election_ms, heartbeat_ms, done, (long long)ms[0], (long long)ms[done / 2],
		       (long long)ms[done - 1]);
	ledger_client_free(c);
	testnet_destroy(&t);
	free(ms);
}

int main(int argc, char **argv)
{
	static struct testnet t;
	int trials = 10;

	signal(SIGPIPE, SIG_IGN);
	if (argc > 1 && parse_int(&trials, argv[1], 1, 1000) != 0) {
		fprintf(stderr, "usage: bench_ledger [trials]\n");
		return 2;
	}
	t.election_ms = 1000;
	t.heartbeat_ms = 100;
	if (testnet_start(&t, 3, NULL) != 0 || testnet_wait_leader(&t, 30000, -1) < 0) {
		fprintf(stderr, "cannot start a 3-node cluster\n");
		return 1;
	}
	printf("ledgerd bench: 3 nodes on loopback %s.x, data on %s\n", t.net, t.dir);
	throughput(&t, 1, 2000);
	throughput(&t, 16, 250);
	testnet_destroy(&t);
	failover(1000, 100, trials);
	failover(150, 15, trials);
	return 0;
}
