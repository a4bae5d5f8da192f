/* bench-failover: ledgerd against etcd, side by side on one machine, with
 * the same client code, the same timing and the same data filesystem
 * (/dev/shm).  bench/README.md has the method and the figures.
 *
 *   failover     kill -9 the leader during a closed-loop write workload,
 *                trials interleaved ledgerd, etcd, ledgerd, ...; RTO,
 *                new-leader time and lost acknowledged writes
 *   frozen       the same with SIGSTOP instead of kill -9: the leader's
 *                sockets stay open, so only silence tells the survivors
 *                (a lost machine or a partition looks like this)
 *   throughput   1 and 16 closed-loop clients for a fixed time each, in
 *                --rounds R rounds (ledgerd, etcd, ledgerd, ...); medians
 *   cold start   cluster launch to the first acknowledged write
 *   runner cost  peak RSS and CPU seconds of `drillrig run` (a 60 s drill)
 *   drill        `drillrig run drills/region-failover.yaml` (a graceful
 *                scale-down of the primary region) --drills N times on
 *                each target, interleaved; RTO and promotion medians
 *
 * Usage: bench_failover [--trials N] [--seconds S] [--rounds R] [--cold N]
 *                       [--drills N] [--runner-plan FILE]
 *                       [--only failover,frozen,throughput,cold,runner,drill]
 * LEDGERD_BIN, DRILLRIG_BIN and DRILLRIG_ETCD_BIN (default etcd) name the
 * programs. */
#include <getopt.h>
#include <math.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <jansson.h>

#include "bench/failover/bench_sys.h"
#include "common/clock.h"
#include "common/fsutil.h"
#include "common/numparse.h"
#include "common/proc.h"
#include "common/strbuf.h"

#define MAX_OPS 2000000
#define PAYLOAD "benchmark payload of some 40 bytes...."

struct summary_line {
	char text[256];
};

static struct summary_line ratios[32];
static int nratios;

/* A side with no figure (NAN: no trial succeeded) makes no ratio: the
 * line says so instead of printing 0. */
static void add_ratio(const char *what, double ledgerd, double etcd, const char *unit)
{
	if (nratios >= 32)
		return;
	if (isnan(ledgerd) || isnan(etcd) || etcd <= 0)
		snprintf(ratios[nratios++].text, sizeof(ratios[0].text),
			 "ratio ledgerd/etcd %-44s not measured (no figure from %s)", what,
			 isnan(ledgerd) ? "ledgerd" : "etcd");
	else
		snprintf(ratios[nratios++].text, sizeof(ratios[0].text),
			 "ratio ledgerd/etcd %-44s %6.2f  (%.1f %s / %.1f %s)", what, ledgerd / etcd,
			 ledgerd, unit, etcd, unit);
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

/* Nearest-rank percentile of a sorted array; NAN when it is empty. */
static double pct(const double *v, int n, double p)
{
	int i = (int)(p * (double)n + 0.999999) - 1;

	if (n <= 0)
		return NAN;
	if (i < 0)
		i = 0;
	if (i >= n)
		i = n - 1;
	return v[i];
}

static double median(double *v, int n)
{
	qsort(v, (size_t)n, sizeof(*v), cmp_double);
	if (n == 0)
		return NAN;
	return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

static void print_dist(const char *sys, const char *what, double *v, int n, const char *unit)
{
	if (n == 0) {
		printf("  %-8s %-12s not measured: no trial succeeded  (n=0)\n", sys, what);
		return;
	}
	qsort(v, (size_t)n, sizeof(*v), cmp_double);
	printf("  %-8s %-12s min %8.1f  median %8.1f  p90 %8.1f  max %8.1f %s  (n=%d)\n", sys, what,
	       v[0], median(v, n), pct(v, n, 0.9), v[n - 1], unit, n);
}

/* ---- failover ------------------------------------------------------------ */

struct op {
	int64_t invoke_ns, complete_ns;
	uint64_t seq, index;
	int ok;
};

struct writer {
	struct bench_client *c;
	char client_id[64];
	struct op *ops;
	atomic_int nops;
	atomic_int stop;
	pthread_t thread;
};

/* Closed loop: a write is retried with the same sequence until
 * acknowledged (both systems give an unacknowledged retry the same key /
 * the same (client, sequence)), then the next one. */
static void *writer_main(void *arg)
{
	struct writer *w = arg;
	uint64_t seq = 1;

	while (!atomic_load(&w->stop) && atomic_load(&w->nops) < MAX_OPS) {
		struct ledger_append_result res;
		struct op *o = &w->ops[atomic_load(&w->nops)];

		o->seq = seq;
		o->invoke_ns = clock_mono_ns();
		bench_client_write(w->c, w->client_id, seq, PAYLOAD, &res);
		o->complete_ns = clock_mono_ns();
		o->ok = res.outcome == LEDGER_OUTCOME_OK;
		o->index = res.index;
		atomic_fetch_add(&w->nops, 1);
		if (o->ok)
			seq++;
		else if (res.http_status == 0 && strcmp(res.code, "TRANSPORT") == 0 &&
			 strstr(res.message, "connect"))
			clock_sleep_ns(NS_PER_MS); /* a dead node: do not spin */
	}
	return NULL;
}

struct trial_result {
	double rto_ms, leader_ms, lost;
	int ok;
};

/* RTO: the kill to the first acknowledged write after the first failed
 * one (0 when no write failed); like drillrig's measurement. */
static double rto_of(struct op *ops, int n, int64_t kill_ns, int *found)
{
	int first_fail = -1;

	*found = 0;
	for (int i = 0; i < n; i++) {
		if (ops[i].complete_ns < kill_ns)
			continue;
		if (first_fail < 0 && !ops[i].ok)
			first_fail = i;
		if (first_fail >= 0 && ops[i].ok) {
			*found = 1;
			return (double)(ops[i].complete_ns - kill_ns) / 1e6;
		}
	}
	if (first_fail < 0) {
		for (int i = 0; i < n; i++)
			if (ops[i].ok && ops[i].invoke_ns > kill_ns) {
				*found = 1;
				return 0;
			}
	}
	return 0;
}

static int lost_writes(struct bench_sys *s, struct writer *w, int n)
{
	struct bench_client *rc = bench_client_new(s, 5000, 0);
	json_t *entries = NULL, *e;
	size_t i;
	int lost = 0;
	uint64_t maxseq = 0;
	unsigned char *present;

	for (int k = 0; k < n; k++)
		if (w->ops[k].ok && w->ops[k].seq > maxseq)
			maxseq = w->ops[k].seq;
	if (!rc || bench_client_read(rc, w->client_id, &entries) != 0) {
		bench_client_free(rc);
		return -1;
	}
	present = calloc(maxseq + 2, 1);
	json_array_foreach(entries, i, e) {
		uint64_t seq = (uint64_t)json_integer_value(json_object_get(e, "sequence"));

		if (seq <= maxseq)
			present[seq] = 1;
	}
	for (int k = 0; k < n; k++)
		if (w->ops[k].ok && !present[w->ops[k].seq]) {
			present[w->ops[k].seq] = 1; /* count each once */
			lost++;
		}
	free(present);
	json_decref(entries);
	bench_client_free(rc);
	return lost;
}

static int failover_trial(struct bench_sys *s, int trial, long timeout_ms, int freeze,
			  struct trial_result *out)
{
	struct writer w;
	int leader, survivor_leader = -1, n, found = 0;
	int64_t kill_ns, leader_ns = 0, deadline, settle_until = 0;

	memset(out, 0, sizeof(*out));
	memset(&w, 0, sizeof(w));
	leader = bench_sys_wait_leader(s, 30000);
	if (leader < 0) {
		fprintf(stderr, "bench: %s has no leader before trial %d\n", s->name, trial);
		return -1;
	}
	w.c = bench_client_new(s, timeout_ms, leader);
	w.ops = calloc(MAX_OPS, sizeof(*w.ops));
	snprintf(w.client_id, sizeof(w.client_id), "fo-%s-%d-%d-%ld", s->name, s->election_ms, trial,
		 (long)getpid());
	pthread_create(&w.thread, NULL, writer_main, &w);
	clock_sleep_ns(300 * NS_PER_MS);
	kill_ns = clock_mono_ns();
	if (freeze)
		bench_sys_freeze(s, leader);
	else
		bench_sys_kill(s, leader);
	deadline = kill_ns + 30 * NS_PER_SEC;
	/* Watch the survivors for a new leader (their own view) while the
	 * writer runs into the outage and out of it. */
	while (clock_mono_ns() < deadline) {
		if (!leader_ns) {
			for (int i = 0; i < s->n && !leader_ns; i++)
				if (i != leader && bench_sys_self_leader(s, i, 50) == 1) {
					leader_ns = clock_mono_ns();
					survivor_leader = i;
				}
		}
		n = atomic_load(&w.nops);
		rto_of(w.ops, n, kill_ns, &found);
		if (leader_ns && found && !settle_until)
			settle_until = clock_mono_ns() + 200 * NS_PER_MS;
		if (settle_until && clock_mono_ns() >= settle_until)
			break;
		clock_sleep_ns(NS_PER_MS);
	}
	atomic_store(&w.stop, 1);
	pthread_join(w.thread, NULL);
	n = atomic_load(&w.nops);
	out->rto_ms = rto_of(w.ops, n, kill_ns, &found);
	out->leader_ms = leader_ns ? (double)(leader_ns - kill_ns) / 1e6 : -1;
	out->lost = lost_writes(s, &w, n);
	out->ok = found && leader_ns && out->lost >= 0;
	(void)survivor_leader;
	bench_client_free(w.c);
	free(w.ops);
	if (freeze)
		bench_sys_kill(s, leader);
	bench_sys_restart(s, leader);
	return out->ok ? 0 : -1;
}

static void failover(int election_ms, int heartbeat_ms, long timeout_ms, int trials, int freeze)
{
	const char *fault = freeze ? "SIGSTOP" : "kill -9";
	const char *name = freeze ? "frozen-leader failover" : "failover";
	struct bench_sys sys[2];
	double rto[2][256], ldr[2][256], lost[2][256];
	int n[2] = { 0, 0 };

	memset(sys, 0, sizeof(sys));
	printf("\n%s (%s of the leader) at election/heartbeat %d/%d ms, client timeout %ld ms, "
	       "%d trials each, 3 nodes, interleaved ledgerd, etcd, ledgerd, ...\n", name, fault,
	       election_ms, heartbeat_ms, timeout_ms, trials);
	fflush(stdout);
	for (int k = 0; k < 2; k++)
		if (bench_sys_start(&sys[k], k == 0 ? BENCH_LEDGERD : BENCH_ETCD, 3, election_ms,
				    heartbeat_ms) != 0) {
			fprintf(stderr, "bench: cannot start %s\n", k == 0 ? "ledgerd" : "etcd");
			bench_sys_destroy(&sys[0]);
			bench_sys_destroy(&sys[1]);
			return;
		}
	for (int t = 0; t < trials && t < 256; t++) {
		for (int k = 0; k < 2; k++) {
			struct trial_result r;

			if (failover_trial(&sys[k], t, timeout_ms, freeze, &r) == 0) {
				rto[k][n[k]] = r.rto_ms;
				ldr[k][n[k]] = r.leader_ms;
				lost[k][n[k]] = r.lost;
				n[k]++;
			}
			printf("  trial %2d %-8s RTO %7.1f ms  new leader %7.1f ms  lost %g%s\n", t + 1,
			       sys[k].name, r.rto_ms, r.leader_ms, r.lost, r.ok ? "" : "  (FAILED TRIAL)");
			fflush(stdout);
		}
	}
	for (int k = 0; k < 2; k++) {
		print_dist(sys[k].name, "RTO", rto[k], n[k], "ms");
		print_dist(sys[k].name, "new leader", ldr[k], n[k], "ms");
		print_dist(sys[k].name, "lost writes", lost[k], n[k], "");
	}
	{
		char what[96];

		snprintf(what, sizeof(what), "%s RTO median at %d/%d", name, election_ms,
			 heartbeat_ms);
		add_ratio(what, median(rto[0], n[0]), median(rto[1], n[1]), "ms");
		snprintf(what, sizeof(what), "%snew-leader median at %d/%d",
			 freeze ? "frozen-leader " : "", election_ms, heartbeat_ms);
		add_ratio(what, median(ldr[0], n[0]), median(ldr[1], n[1]), "ms");
	}
	bench_sys_destroy(&sys[0]);
	bench_sys_destroy(&sys[1]);
}

/* ---- throughput ------------------------------------------------------------- */

struct tp_worker {
	struct bench_sys *s;
	int id, leader;
	int64_t until_ns;
	double *lat;
	int n, cap;
	pthread_t thread;
};

static void *tp_main(void *arg)
{
	struct tp_worker *w = arg;
	struct bench_client *c = bench_client_new(w->s, 2000, w->leader);
	char cid[48];
	uint64_t seq = 1;

	snprintf(cid, sizeof(cid), "tp-%d-%ld", w->id, (long)getpid());
	while (c && clock_mono_ns() < w->until_ns && w->n < w->cap) {
		struct ledger_append_result res;
		int64_t start = clock_mono_ns();

		if (bench_client_write(c, cid, seq, PAYLOAD, &res) == 0) {
			w->lat[w->n++] = (double)(clock_mono_ns() - start) / 1e6;
			seq++;
		}
	}
	bench_client_free(c);
	return NULL;
}

static double throughput_run(struct bench_sys *s, int clients, int seconds, double *p50,
			     double *p99)
{
	struct tp_worker *w = calloc((size_t)clients, sizeof(*w));
	int leader = bench_sys_wait_leader(s, 30000), total = 0, k = 0;
	int64_t start = clock_mono_ns(), until = start + (int64_t)seconds * NS_PER_SEC;
	double *all, rate;

	for (int i = 0; i < clients; i++) {
		w[i].s = s;
		w[i].id = i;
		w[i].leader = leader;
		w[i].until_ns = until;
		w[i].cap = 200000;
		w[i].lat = calloc((size_t)w[i].cap, sizeof(double));
		pthread_create(&w[i].thread, NULL, tp_main, &w[i]);
	}
	for (int i = 0; i < clients; i++) {
		pthread_join(w[i].thread, NULL);
		total += w[i].n;
	}
	rate = (double)total / ((double)(clock_mono_ns() - start) / 1e9);
	all = calloc((size_t)total + 1, sizeof(double));
	for (int i = 0; i < clients; i++) {
		memcpy(all + k, w[i].lat, sizeof(double) * (size_t)w[i].n);
		k += w[i].n;
		free(w[i].lat);
	}
	qsort(all, (size_t)total, sizeof(double), cmp_double);
	*p50 = pct(all, total, 0.5);
	*p99 = pct(all, total, 0.99);
	free(all);
	free(w);
	return rate;
}

/* R rounds per client count, each a ledgerd run then an etcd run (a fresh
 * cluster each), so both systems see the same moments of a shared
 * machine; the ratio is of the medians over the rounds, and every
 * round's own ratio is printed so the spread shows. */
static void throughput(int seconds, int rounds)
{
	static const int clients[] = { 1, 16 };

	printf("\nthroughput at 1000/100 ms, 3 nodes, closed loop, %d s per run, %d round%s "
	       "(ledgerd then etcd), every client starts at the leader, 40-byte payload\n",
	       seconds, rounds, rounds > 1 ? "s" : "");
	for (size_t c = 0; c < 2; c++) {
		double rate[2][64], p50[2][64], p99[2][64];
		int n[2] = { 0, 0 };

		for (int r = 0; r < rounds && r < 64; r++) {
			double rr[2] = { 0, 0 };

			for (int k = 0; k < 2; k++) {
				struct bench_sys s;

				memset(&s, 0, sizeof(s));
				if (bench_sys_start(&s, k == 0 ? BENCH_LEDGERD : BENCH_ETCD, 3, 1000,
						    100) != 0) {
					fprintf(stderr, "bench: cannot start %s\n",
						k == 0 ? "ledgerd" : "etcd");
					bench_sys_destroy(&s);
					continue;
				}
				rr[k] = throughput_run(&s, clients[c], seconds, &p50[k][n[k]],
						       &p99[k][n[k]]);
				rate[k][n[k]] = rr[k];
				if (isnan(p50[k][n[k]]))
					printf("  round %-2d %-8s %2d client%s %8.0f writes/s  latency not "
					       "measured: no write succeeded\n", r + 1, s.name, clients[c],
					       clients[c] > 1 ? "s" : " ", rr[k]);
				else
					printf("  round %-2d %-8s %2d client%s %8.0f writes/s  p50 %6.2f ms  "
					       "p99 %6.2f ms\n", r + 1, s.name, clients[c],
					       clients[c] > 1 ? "s" : " ", rr[k], p50[k][n[k]], p99[k][n[k]]);
				fflush(stdout);
				n[k]++;
				bench_sys_destroy(&s);
			}
			if (rr[0] > 0 && rr[1] > 0)
				printf("  round %-2d ratio ledgerd/etcd %.2f\n", r + 1, rr[0] / rr[1]);
		}
		{
			char what[96];
			const char *pl = clients[c] > 1 ? "s" : "";

			snprintf(what, sizeof(what), "throughput, %d client%s (median)", clients[c], pl);
			add_ratio(what, median(rate[0], n[0]), median(rate[1], n[1]), "w/s");
			snprintf(what, sizeof(what), "p50 latency, %d client%s (median)", clients[c], pl);
			add_ratio(what, median(p50[0], n[0]), median(p50[1], n[1]), "ms");
			snprintf(what, sizeof(what), "p99 latency, %d client%s (median)", clients[c], pl);
			add_ratio(what, median(p99[0], n[0]), median(p99[1], n[1]), "ms");
		}
	}
}

/* ---- cold start ------------------------------------------------------------------ */

static double cold_once(enum bench_kind kind)
{
	struct bench_sys s;
	struct bench_client *c;
	struct ledger_append_result res;
	int64_t start = clock_mono_ns(), deadline = start + 60 * NS_PER_SEC;
	double ms = -1;

	memset(&s, 0, sizeof(s));
	/* Launch without waiting for a leader: the clock runs to the first
	 * acknowledged write. */
	if (bench_sys_launch(&s, kind, 3, 1000, 100) != 0)
		goto out;
	c = bench_client_new(&s, 100, 0);
	while (c && clock_mono_ns() < deadline) {
		if (bench_client_write(c, "cold", 1, PAYLOAD, &res) == 0) {
			ms = (double)(clock_mono_ns() - start) / 1e6;
			break;
		}
		clock_sleep_ns(NS_PER_MS);
	}
	bench_client_free(c);
out:
	bench_sys_destroy(&s);
	return ms;
}

static void cold_start(int trials)
{
	double v[2][64];
	int n[2] = { 0, 0 };

	printf("\ncold start: launch of a fresh 3-node cluster (data on /dev/shm, 1000/100 ms) to "
	       "the first acknowledged write, %d trials each, interleaved\n", trials);
	for (int t = 0; t < trials && t < 64; t++)
		for (int k = 0; k < 2; k++) {
			double ms = cold_once(k == 0 ? BENCH_LEDGERD : BENCH_ETCD);

			if (ms >= 0)
				v[k][n[k]++] = ms;
			printf("  trial %d %-8s %8.1f ms\n", t + 1, k == 0 ? "ledgerd" : "etcd", ms);
			fflush(stdout);
		}
	print_dist("ledgerd", "cold start", v[0], n[0], "ms");
	print_dist("etcd", "cold start", v[1], n[1], "ms");
	add_ratio("cold start to first ack (median)", median(v[0], n[0]), median(v[1], n[1]), "ms");
}

/* ---- runner cost -------------------------------------------------------------------- */

/* The drillrig process's own figures from /proc (children excluded):
 * utime+stime and VmHWM, sampled until it exits; wait4's rusage adds the
 * children it reaped (the etcd members are drillrig's children). */
static void runner_once(const char *drillrig, const char *plan, const char *target,
			double *cpu_s, double *rss_mb, double *wall_s, double *total_cpu_s, int *rc)
{
	char dir[] = "/dev/shm/bench-runner-XXXXXX";
	char *repo, *statp, *statusp;
	struct proc_spawn_opts so = PROC_SPAWN_OPTS_INIT;
	struct dr_error err = DR_ERROR_INIT;
	struct rusage ru;
	long tick = sysconf(_SC_CLK_TCK);
	int64_t start = clock_mono_ns();
	pid_t pid;
	int status = 0;

	*cpu_s = *rss_mb = *wall_s = *total_cpu_s = 0;
	*rc = -1;
	if (!mkdtemp(dir))
		return;
	repo = xasprintf("%s/results", dir);
	{
		char *out = xasprintf("%s/out", dir);
		char *const argv[] = { (char *)drillrig, "run", (char *)plan, "--target", (char *)target,
				       "--results-repo", repo, NULL };

		so.stdout_path = out;
		so.stderr_path = out;
		if (proc_spawn(&pid, argv, &so, &err) != 0) {
			fprintf(stderr, "bench: %s\n", err.msg);
			free(out);
			free(repo);
			return;
		}
		free(out);
	}
	statp = xasprintf("/proc/%ld/stat", (long)pid);
	statusp = xasprintf("/proc/%ld/status", (long)pid);
	for (;;) {
		FILE *f;
		char line[256];

		if ((f = fopen(statp, "r"))) {
			char buf[1024];
			size_t len = fread(buf, 1, sizeof(buf) - 1, f);
			char *p;

			buf[len] = '\0';
			/* Fields after "(comm)": state is 3rd, utime 14th, stime 15th. */
			p = strrchr(buf, ')');
			if (p) {
				unsigned long ut = 0, st = 0;

				if (sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %lu %lu",
					   &ut, &st) == 2 && (ut || st))
					*cpu_s = (double)(ut + st) / (double)tick;
			}
			fclose(f);
		}
		if ((f = fopen(statusp, "r"))) {
			while (fgets(line, sizeof(line), f)) {
				long kb;

				if (sscanf(line, "VmHWM: %ld kB", &kb) == 1 && kb > 0)
					*rss_mb = (double)kb / 1024.0;
			}
			fclose(f);
		}
		if (wait4(pid, &status, WNOHANG, &ru) == pid)
			break;
		clock_sleep_ns(50 * NS_PER_MS);
	}
	*wall_s = (double)(clock_mono_ns() - start) / 1e9;
	*total_cpu_s = (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6 +
		       (double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec / 1e6;
	*rc = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
	{
		char *out = xasprintf("%s/out", dir);

		if (*rc != 0) {
			char *text = NULL;
			size_t len = 0;

			if (fs_read_file(&text, &len, out, 1 << 20, &err) == 0)
				fprintf(stderr, "%s", text);
			free(text);
		}
		free(out);
		fs_remove_tree(dir, &err);
	}
	free(repo);
	free(statp);
	free(statusp);
}

static void runner_cost(const char *drillrig, const char *plan)
{
	double cpu[2], rss[2];

	printf("\nrunner cost: `drillrig run %s` (60 s of closed-loop workload, status polling, one "
	       "kill of the leader), drillrig's own process\n", plan);
	for (int k = 0; k < 2; k++) {
		const char *target = k == 0 ? "local" : "etcd";
		double wall, total;
		int rc;

		runner_once(drillrig, plan, target, &cpu[k], &rss[k], &wall, &total, &rc);
		printf("  --target %-6s exit %d, wall %.1f s, drillrig peak RSS %.1f MB, CPU %.2f s "
		       "(%.1f%% of one core); with reaped children %.2f s\n", target, rc, wall, rss[k],
		       cpu[k], wall > 0 ? 100.0 * cpu[k] / wall : 0, total);
		fflush(stdout);
	}
	add_ratio("runner peak RSS (local / etcd target)", rss[0], rss[1], "MB");
	add_ratio("runner CPU seconds (local / etcd target)", cpu[0], cpu[1], "s");
}

/* ---- region-failover, the drill itself ------------------------------------------------ */

/* The journal's measurement key (ms) of the run whose report path is the
 * last line of out, or -1. */
static double journal_ms(const char *out, const char *key)
{
	struct dr_error err = DR_ERROR_INIT;
	const char *last = out, *p;
	char *report, *slash, *journal, *text = NULL;
	size_t len = 0;
	json_t *j;
	double v = -1;

	for (p = out; *p; p++)
		if (*p == '\n' && p[1])
			last = p + 1;
	report = xstrdup(last);
	report[strcspn(report, "\n")] = '\0';
	slash = strrchr(report, '/');
	if (!slash) {
		free(report);
		return -1;
	}
	*slash = '\0';
	journal = xasprintf("%s/journal.json", report);
	if (fs_read_file(&text, &len, journal, 64 << 20, &err) == 0 &&
	    (j = json_loads(text, 0, NULL))) {
		json_t *m = json_object_get(json_object_get(j, "measurements"), key);

		if (json_is_number(m))
			v = json_number_value(m);
		json_decref(j);
	}
	free(text);
	free(journal);
	free(report);
	return v;
}

static int drill_once(const char *drillrig, const char *plan, const char *target, double *rto,
		      double *promotion)
{
	char dir[] = "/dev/shm/bench-drill-XXXXXX";
	struct dr_error err = DR_ERROR_INIT;
	struct proc_result pr;
	char *repo;
	int rc = -1;

	*rto = *promotion = -1;
	if (!mkdtemp(dir))
		return -1;
	repo = xasprintf("%s/results", dir);
	{
		char *const argv[] = { (char *)drillrig, "run", (char *)plan, "--target", (char *)target,
				       "--results-repo", repo, NULL };

		if (proc_run(&pr, argv, NULL, 300 * NS_PER_SEC, 1 << 20, &err) == 0) {
			rc = pr.exited ? pr.exit_code : -1;
			*rto = journal_ms(pr.out, "rto_ms");
			*promotion = journal_ms(pr.out, "promotion_ms");
			if (rc != 0)
				fprintf(stderr, "bench: drill on %s exited %d:\n%s%s", target, rc, pr.out,
					pr.errout);
			proc_result_release(&pr);
		} else {
			fprintf(stderr, "bench: %s\n", err.msg);
		}
	}
	fs_remove_tree(dir, &err);
	free(repo);
	return rc;
}

/* The objective of issue 19: ledgerd's region-failover RTO median at most
 * this; printed met or not met with the figure, never assumed. */
#define DRILL_RTO_OBJECTIVE_MS 100.0

static void drill_medians(const char *drillrig, int runs)
{
	const char *plan = "drills/region-failover.yaml";
	double rto[2][64], promo[2][64];
	int n[2] = { 0, 0 };

	printf("\nregion-failover: `drillrig run %s` (graceful scale-down of the primary region, "
	       "highest ordinal first), %d runs on each target, interleaved local, etcd, ...\n",
	       plan, runs);
	for (int r = 0; r < runs; r++)
		for (int k = 0; k < 2; k++) {
			const char *target = k == 0 ? "local" : "etcd";
			double a, b;
			int rc = drill_once(drillrig, plan, target, &a, &b);

			printf("  run %2d  %-6s exit %d  RTO ", r + 1, target, rc);
			if (a >= 0)
				printf("%8.1f ms", a);
			else
				printf("not measured");
			printf("  promotion ");
			if (b >= 0)
				printf("%8.1f ms\n", b);
			else
				printf("not measured\n");
			fflush(stdout);
			if (rc == 0 && a >= 0 && b >= 0 && n[k] < 64) {
				rto[k][n[k]] = a;
				promo[k][n[k]++] = b;
			}
		}
	print_dist("ledgerd", "drill RTO", rto[0], n[0], "ms");
	print_dist("ledgerd", "promotion", promo[0], n[0], "ms");
	print_dist("etcd", "drill RTO", rto[1], n[1], "ms");
	print_dist("etcd", "promotion", promo[1], n[1], "ms");
	if (n[0] == runs)
		printf("  ledgerd's region-failover RTO median %.1f ms: objective <= %.0f ms %s\n",
		       median(rto[0], n[0]), DRILL_RTO_OBJECTIVE_MS,
		       median(rto[0], n[0]) <= DRILL_RTO_OBJECTIVE_MS ? "met" : "NOT met");
	else
		printf("  ledgerd's region-failover RTO median: not measured (%d of %d runs passed)\n",
		       n[0], runs);
	if (n[0] && n[1]) {
		add_ratio("region-failover RTO median (graceful)", median(rto[0], n[0]),
			  median(rto[1], n[1]), "ms");
		add_ratio("region-failover promotion median", median(promo[0], n[0]),
			  median(promo[1], n[1]), "ms");
	}
}

/* ---- main ---------------------------------------------------------------------------- */

static int wants(const char *only, const char *what)
{
	return !only || strstr(only, what) != NULL;
}

static void print_load(const char *when)
{
	double l[3] = { 0, 0, 0 };

	if (getloadavg(l, 3) == 3)
		printf("load average %s: %.2f %.2f %.2f (other work on the machine shows up in the "
		       "tails)\n", when, l[0], l[1], l[2]);
}

static void print_versions(void)
{
	struct dr_error err = DR_ERROR_INIT;
	struct proc_result pr;
	const char *bin = getenv("DRILLRIG_ETCD_BIN");
	char *const argv[] = { (char *)(bin && *bin ? bin : "etcd"), "--version", NULL };

	if (proc_run(&pr, argv, NULL, 10 * NS_PER_SEC, 4096, &err) == 0) {
		char *nl = strchr(pr.out ? pr.out : "", '\n');

		if (nl)
			*nl = '\0';
		printf("etcd: %s; ", pr.out ? pr.out : "?");
		proc_result_release(&pr);
	}
	printf("ledgerd: %s\n", getenv("LEDGERD_BIN") ? getenv("LEDGERD_BIN") : "build/ledgerd");
	{
		long cores = sysconf(_SC_NPROCESSORS_ONLN);

		printf("machine: %ld cores; data directories on /dev/shm (tmpfs) for both; loopback "
		       "127.A.B.x; ledgerd pre-vote on (its design), etcd pre-vote off (3.4 default)\n",
		       cores);
	}
}

int main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "trials", required_argument, NULL, 't' },
		{ "seconds", required_argument, NULL, 's' },
		{ "cold", required_argument, NULL, 'c' },
		{ "runner-plan", required_argument, NULL, 'r' },
		{ "only", required_argument, NULL, 'o' },
		{ "rounds", required_argument, NULL, 'R' },
		{ "drills", required_argument, NULL, 'd' },
		{ NULL, 0, NULL, 0 },
	};
	/* Three rounds of 5 s, not one of 10: etcd's own throughput moved by
	 * 40 % between runs on the shared machine, and one round decided a
	 * ratio near its objective by chance. */
	int trials = 10, seconds = 5, cold = 5, rounds = 3, drills = 5, opt;
	const char *runner_plan = "bench/failover/runner-cost.yaml", *only = NULL;
	const char *drillrig = getenv("DRILLRIG_BIN") ? getenv("DRILLRIG_BIN") : "build/drillrig";

	signal(SIGPIPE, SIG_IGN);
	while ((opt = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
		int bad = 0;

		switch (opt) {
		case 't': bad = parse_int(&trials, optarg, 1, 256); break;
		case 's': bad = parse_int(&seconds, optarg, 1, 600); break;
		case 'c': bad = parse_int(&cold, optarg, 1, 64); break;
		case 'r': runner_plan = optarg; break;
		case 'o': only = optarg; break;
		case 'R': bad = parse_int(&rounds, optarg, 1, 64); break;
		case 'd': bad = parse_int(&drills, optarg, 1, 64); break;
		default: bad = 1;
		}
		if (bad) {
			fprintf(stderr, "usage: bench_failover [--trials N] [--seconds S] [--rounds R] "
				"[--cold N] [--drills N] [--runner-plan FILE] "
				"[--only failover,frozen,throughput,cold,runner,drill]\n");
			return 2;
		}
	}
	print_versions();
	print_load("at the start");
	if (wants(only, "failover")) {
		failover(1000, 100, 100, trials, 0);
		failover(150, 15, 25, trials, 0);
	}
	if (wants(only, "frozen")) {
		failover(1000, 100, 100, trials, 1);
		failover(150, 15, 25, trials, 1);
	}
	if (wants(only, "throughput"))
		throughput(seconds, rounds);
	if (wants(only, "cold"))
		cold_start(cold);
	if (wants(only, "runner"))
		runner_cost(drillrig, runner_plan);
	if (wants(only, "drill"))
		drill_medians(drillrig, drills);
	printf("\n");
	print_load("at the end");
	printf("\nsummary (ledgerd / etcd; below 1.0 means ledgerd is faster or smaller, except "
	       "throughput, where above 1.0 means ledgerd is faster)\n");
	for (int i = 0; i < nratios; i++)
		printf("%s\n", ratios[i].text);
	testnet_destroy_all();
	return 0;
}
