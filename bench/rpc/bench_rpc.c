/* bench-rpc: the cost of one gRPC call through drillrig's client
 * (ledger/client) to a 3-node ledgerd cluster (1000/100 ms, tmpfs, the test
 * launcher), without the etcd side: grpc.health.v1.Health/Check (no Raft
 * work: the front end and the client alone) and Ledger/Append (a Raft
 * commit on a majority), each sequentially from one client on the leader,
 * then closed-loop Append throughput from 1 and 16 clients.  Several
 * rounds; every figure is the median over the rounds.
 * Usage: bench_rpc [--rounds R] [--calls N] [--seconds S]
 * (LEDGERD_BIN names the daemon). */
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/clock.h"
#include "common/numparse.h"
#include "common/strbuf.h"
#include "ledger/client/client.h"
#include "ledger/client/rpc.h"
#include "tests/support/ledger_testnet.h"

#define MAX_ROUNDS 32
#define PAYLOAD "benchmark payload of some 40 bytes....."

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

static double pct(double *v, size_t n, double p)
{
	if (!n)
		return 0;
	qsort(v, n, sizeof(*v), cmp_double);
	return v[(size_t)(p * (double)(n - 1) + 0.5)];
}

static double load1(void)
{
	double l = -1;
	FILE *f = fopen("/proc/loadavg", "r");

	if (f) {
		if (fscanf(f, "%lf", &l) != 1)
			l = -1;
		fclose(f);
	}
	return l;
}

/* Sequential calls of method on the leader: median and p99 in µs. */
static void seq_calls(struct ledger_client *c, int leader, const char *what, int calls,
		      uint64_t *seq, double *p50, double *p99)
{
	double *lat = calloc((size_t)calls, sizeof(double));
	int n = 0;

	for (int i = 0; i < calls; i++) {
		struct dr_error err = DR_ERROR_INIT;
		enum ledger_code code = LEDGER_CODE_COUNT;
		struct ledger_append_result res;
		json_t *resp = NULL;
		int64_t t0 = clock_mono_ns();
		int ok;

		if (strcmp(what, "health") == 0) {
			ok = ledger_call(c, leader, LEDGER_SVC_HEALTH "/Check", NULL, &resp, &code,
					 &err) == 0 && code == LEDGER_OK;
			json_decref(resp);
		} else {
			ok = ledger_append(c, "bench-rpc", (*seq)++, PAYLOAD, &res) == 0;
		}
		if (ok)
			lat[n++] = (double)(clock_mono_ns() - t0) / 1e3;
	}
	*p50 = pct(lat, (size_t)n, 0.5);
	*p99 = pct(lat, (size_t)n, 0.99);
	free(lat);
}

struct tp {
	struct testnet *t;
	int id, leader;
	int64_t until;
	long n;
	pthread_t thread;
};

static void *tp_main(void *arg)
{
	struct tp *w = arg;
	struct ledger_client *c = testnet_client(w->t, 2000);
	struct ledger_append_result res;
	char cid[48];
	uint64_t seq = 1;

	snprintf(cid, sizeof(cid), "tp-%d-%lld", w->id, (long long)clock_mono_ns());
	ledger_client_set_current(c, w->leader);
	while (clock_mono_ns() < w->until)
		if (ledger_append(c, cid, seq, PAYLOAD, &res) == 0) {
			seq++;
			w->n++;
		}
	ledger_client_free(c);
	return NULL;
}

static double throughput(struct testnet *t, int leader, int clients, int seconds)
{
	struct tp w[16];
	int64_t start = clock_mono_ns();
	long total = 0;

	for (int i = 0; i < clients; i++) {
		memset(&w[i], 0, sizeof(w[i]));
		w[i].t = t;
		w[i].id = i;
		w[i].leader = leader;
		w[i].until = start + (int64_t)seconds * NS_PER_SEC;
		pthread_create(&w[i].thread, NULL, tp_main, &w[i]);
	}
	for (int i = 0; i < clients; i++) {
		pthread_join(w[i].thread, NULL);
		total += w[i].n;
	}
	return (double)total / ((double)(clock_mono_ns() - start) / 1e9);
}

int main(int argc, char **argv)
{
	int rounds = 5, calls = 2000, seconds = 3, leader;
	double h50[MAX_ROUNDS], h99[MAX_ROUNDS], a50[MAX_ROUNDS], a99[MAX_ROUNDS];
	double t1[MAX_ROUNDS], t16[MAX_ROUNDS];
	struct ledger_client *c;
	struct testnet t;
	uint64_t seq = 1;

	for (int i = 1; i + 1 < argc; i += 2) {
		uint64_t v;

		if (parse_uint64(&v, argv[i + 1], 1, 100000) != 0)
			goto usage;
		if (strcmp(argv[i], "--rounds") == 0 && v <= MAX_ROUNDS)
			rounds = (int)v;
		else if (strcmp(argv[i], "--calls") == 0)
			calls = (int)v;
		else if (strcmp(argv[i], "--seconds") == 0)
			seconds = (int)v;
		else
			goto usage;
	}
	if (argc % 2 == 0)
		goto usage;
	memset(&t, 0, sizeof(t));
	t.election_ms = 1000;
	t.heartbeat_ms = 100;
	if (testnet_start(&t, 3, NULL) != 0 || (leader = testnet_wait_leader(&t, 30000, -1)) < 0) {
		fprintf(stderr, "bench_rpc: cannot start a 3-node cluster\n");
		testnet_destroy(&t);
		return 1;
	}
	c = testnet_client(&t, 2000);
	ledger_client_set_current(c, leader);
	printf("bench_rpc: 3 nodes at 1000/100 ms, %d rounds of %d sequential calls each, "
	       "then %d s of closed-loop Appends; load average %.2f at start\n", rounds, calls,
	       seconds, load1());
	for (int r = 0; r < rounds; r++) {
		seq_calls(c, leader, "health", calls, &seq, &h50[r], &h99[r]);
		seq_calls(c, leader, "append", calls, &seq, &a50[r], &a99[r]);
		t1[r] = throughput(&t, leader, 1, seconds);
		t16[r] = throughput(&t, leader, 16, seconds);
		printf("  round %d: Health/Check p50 %4.0f µs p99 %5.0f | Append p50 %4.0f µs p99 %5.0f"
		       " | 1 client %5.0f w/s | 16 clients %5.0f w/s | load %.2f\n", r + 1, h50[r],
		       h99[r], a50[r], a99[r], t1[r], t16[r], load1());
		fflush(stdout);
	}
	printf("medians over %d rounds: Health/Check p50 %.0f µs (p99 %.0f) | Append p50 %.0f µs "
	       "(p99 %.0f) | 1 client %.0f w/s | 16 clients %.0f w/s; load average %.2f at end\n",
	       rounds, pct(h50, (size_t)rounds, 0.5), pct(h99, (size_t)rounds, 0.5),
	       pct(a50, (size_t)rounds, 0.5), pct(a99, (size_t)rounds, 0.5),
	       pct(t1, (size_t)rounds, 0.5), pct(t16, (size_t)rounds, 0.5), load1());
	ledger_client_free(c);
	testnet_destroy(&t);
	ledger_rpc_shutdown();
	return 0;
usage:
	fprintf(stderr, "usage: bench_rpc [--rounds R] [--calls N] [--seconds S]\n");
	return 2;
}
