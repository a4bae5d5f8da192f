/* drillrig soak: a randomized fault soak on one bundled cluster
 * (harness/soak/soak.h, docs/soak.md). */
#include <dirent.h>
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/clock.h"
#include "common/fsutil.h"
#include "common/numparse.h"
#include "common/strbuf.h"
#include "harness/cli/cli.h"
#include "harness/core/exit_codes.h"
#include "harness/plan/duration.h"
#include "harness/plan/plan.h"
#include "harness/soak/soak.h"
#include "harness/soak/soak_schedule.h"
#include "harness/target/registry.h"
#include "ledger/cluster/cluster.h"


static const char soak_usage[] =
	"usage: drillrig soak [options]\n"
	"\n"
	"Randomized fault soak (Jepsen style) on one bundled ledger cluster: each\n"
	"iteration runs the workload, injects a random fault (kill -9 leader or\n"
	"follower, scale a region to 0 and back, partition a region, pause a node,\n"
	"leader transfer), holds it, heals it, waits for \"Fully replicated\", then\n"
	"checks the history (lost, duplicated, reordered writes) and compares every\n"
	"replica's digest.  Stops at the first iteration that fails and writes the\n"
	"fault schedule to a file that --replay repeats.\n"
	"\n"
	"options:\n"
	"  --iterations N          iterations (default 20; with --replay: the first N)\n"
	"  --seed S                seed of the schedule (default: from the clock; printed)\n"
	"  --topology T            regions, e.g. primary=2,dr=2,witness=1 (the default)\n"
	"  --timing E/H            election timeout / heartbeat (default 300ms/30ms)\n"
	"  --faults LIST           kinds to draw from, comma-separated (default all):\n"
	"                          kill-leader, kill-follower, scale-region,\n"
	"                          partition-region, pause-node, transfer-leader,\n"
	"                          and where nftables can be used (root, nft):\n"
	"                          mute-leader (its messages are lost, one way),\n"
	"                          lossy-region (30% of its packets lost);\n"
	"                          drop-entry plants a lost write (tests the checks)\n"
	"  --hold MIN/MAX          how long a fault is held (default 200ms/3s)\n"
	"  --rate W                workload writes per second (default 200; 0: closed loop)\n"
	"  --recovery-timeout D    heal to \"Fully replicated\" at most (default 60s)\n"
	"  --replay FILE           run the schedule saved in FILE (topology and timing too)\n"
	"  --schedule-out FILE     write the schedule there (always); by default it is\n"
	"                          written to ./soak-schedule-<seed>.json on a failure\n"
	"  --cluster DIR           attach to a running bundled cluster (started with\n"
	"                          --enable-debug) instead of starting one\n"
	"  --keep-cluster          leave the cluster this soak started running\n"
	"  --strict                an anomaly (a leader transfer that ended with another\n"
	"                          node leading) fails the soak too\n"
	"\n"
	"exit codes: 0 every iteration passed, 1 lost/duplicated/reordered writes,\n"
	"unequal digests, a cluster that did not recover (or, with --strict, an\n"
	"anomaly), 2 usage error,\n"
	"3 infrastructure error, 4 interrupted (the current fault was healed).\n";

struct soak_args {
	size_t iterations;
	int has_iterations;
	uint64_t seed;
	int has_seed;
	const char *topology;
	const char *timing;
	unsigned kinds;
	int64_t hold_min_ns, hold_max_ns;
	double rate;
	int64_t recovery_timeout_ns;
	const char *replay;
	const char *schedule_out;
	const char *cluster_dir;
	int keep;
	int strict;
};

static int usage_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static int usage_error(const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "drillrig soak: ");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "\n\n%s", soak_usage);
	return -1;
}

static int parse_hold(struct soak_args *a, const char *text)
{
	struct dr_error err = DR_ERROR_INIT;
	const char *slash = strchr(text, '/');
	char *min = slash ? xstrndup(text, (size_t)(slash - text)) : NULL;
	int rc = -1;

	if (min && duration_parse(&a->hold_min_ns, min, &err) == 0 &&
	    duration_parse(&a->hold_max_ns, slash + 1, &err) == 0 && a->hold_min_ns <= a->hold_max_ns)
		rc = 0;
	free(min);
	return rc;
}

static int parse_args(struct soak_args *a, int argc, char **argv)
{
	enum { O_ITER = 256, O_SEED, O_TOPO, O_TIMING, O_FAULTS, O_HOLD, O_RATE, O_RECOVERY,
	       O_REPLAY, O_SCHEDULE, O_CLUSTER, O_KEEP, O_STRICT, O_HELP };
	static const struct option longopts[] = {
		{ "iterations", required_argument, NULL, O_ITER },
		{ "seed", required_argument, NULL, O_SEED },
		{ "topology", required_argument, NULL, O_TOPO },
		{ "timing", required_argument, NULL, O_TIMING },
		{ "faults", required_argument, NULL, O_FAULTS },
		{ "hold", required_argument, NULL, O_HOLD },
		{ "rate", required_argument, NULL, O_RATE },
		{ "recovery-timeout", required_argument, NULL, O_RECOVERY },
		{ "replay", required_argument, NULL, O_REPLAY },
		{ "schedule-out", required_argument, NULL, O_SCHEDULE },
		{ "cluster", required_argument, NULL, O_CLUSTER },
		{ "keep-cluster", no_argument, NULL, O_KEEP },
		{ "strict", no_argument, NULL, O_STRICT },
		{ "help", no_argument, NULL, O_HELP },
		{ NULL, 0, NULL, 0 },
	};
	struct dr_error err = DR_ERROR_INIT;
	int64_t n;
	int c;

	optind = 1;
	opterr = 0;
	while ((c = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
		switch (c) {
		case O_ITER:
			if (parse_int64(&n, optarg, 1, 1000000) != 0)
				return usage_error("--iterations needs a number from 1 to 1000000, got '%s'", optarg);
			a->iterations = (size_t)n;
			a->has_iterations = 1;
			break;
		case O_SEED:
			if (soak_seed_parse(&a->seed, optarg) != 0)
				return usage_error("--seed needs a non-negative 64-bit integer, got '%s'", optarg);
			a->has_seed = 1;
			break;
		case O_TOPO: a->topology = optarg; break;
		case O_TIMING: a->timing = optarg; break;
		case O_FAULTS:
			if (soak_fault_kinds_parse(&a->kinds, optarg, &err) != 0)
				return usage_error("--faults: %s", err.msg);
			break;
		case O_HOLD:
			if (parse_hold(a, optarg) != 0)
				return usage_error("--hold needs MIN/MAX durations with MIN <= MAX, e.g. 200ms/3s, got '%s'",
						   optarg);
			break;
		case O_RATE:
			if (parse_double(&a->rate, optarg) != 0 || a->rate < 0 || a->rate > 100000)
				return usage_error("--rate needs writes per second from 0 to 100000, got '%s'", optarg);
			break;
		case O_RECOVERY:
			if (duration_parse(&a->recovery_timeout_ns, optarg, &err) != 0 ||
			    a->recovery_timeout_ns <= 0)
				return usage_error("--recovery-timeout needs a positive duration, got '%s'", optarg);
			break;
		case O_REPLAY: a->replay = optarg; break;
		case O_SCHEDULE: a->schedule_out = optarg; break;
		case O_CLUSTER: a->cluster_dir = optarg; break;
		case O_KEEP: a->keep = 1; break;
		case O_STRICT: a->strict = 1; break;
		case 'h':
		case O_HELP:
			fputs(soak_usage, stdout);
			exit(EXIT_PASSED);
		default:
			return usage_error("unknown option '%s'", argv[optind - 1]);
		}
	}
	if (optind != argc)
		return usage_error("unexpected argument '%s'", argv[optind]);
	if (a->replay && (a->has_seed || a->topology || a->timing || a->kinds))
		return usage_error("%s", "--replay takes seed, topology, timing and faults from the schedule");
	if (a->cluster_dir && a->topology)
		return usage_error("%s", "--cluster attaches to a running cluster: its topology is given, drop --topology");
	return 0;
}

/* The topology of a running cluster, from its cluster.json. */
static int spec_from_running(struct cluster_spec *spec, char **timing, const char *dir,
			     struct dr_error *err)
{
	json_t *info = NULL, *r, *t;
	struct strbuf sb = STRBUF_INIT;
	size_t i;
	int rc = -1;

	if (cluster_load(&info, dir, err) != 0) {
		dr_error_wrap(err, "no cluster in '%s'", dir);
		goto out;
	}
	json_array_foreach(json_object_get(info, "regions"), i, r)
		strbuf_addf(&sb, "%s%s:%s=%d/%d", i ? "," : "",
			    json_string_value(json_object_get(r, "name")) ?: "?",
			    json_string_value(json_object_get(r, "role")) ?: "?",
			    (int)json_integer_value(json_object_get(r, "size")),
			    (int)json_integer_value(json_object_get(r, "zones")) > 0 ?
				    (int)json_integer_value(json_object_get(r, "zones")) : 1);
	cluster_spec_init(spec);
	if (cluster_topology_parse(spec, sb.buf ? sb.buf : "", err) != 0) {
		dr_error_wrap(err, "cannot read the topology of the cluster in '%s'", dir);
		goto out;
	}
	t = json_object_get(info, "timing");
	*timing = xasprintf("%lldms/%lldms",
			    (long long)(json_integer_value(json_object_get(t, "election_timeout_ms")) ?: 300),
			    (long long)(json_integer_value(json_object_get(t, "heartbeat_ms")) ?: 30));
	rc = 0;
out:
	strbuf_release(&sb);
	json_decref(info);
	return rc;
}

/* The plan the recorder and the local target read: topology, timing and
 * workload.  Its one step is never run (a plan needs one). */
static char *plan_text(const struct cluster_spec *spec, double rate)
{
	struct strbuf sb = STRBUF_INIT;

	strbuf_adds(&sb, "version: 1\nname: soak\ntarget: local\ntopology:\n  regions:\n");
	for (int i = 0; i < spec->nregions; i++) {
		const struct cluster_region_spec *r = &spec->regions[i];
		/* The launcher cycles zones over nodes; a plan wants no empty zone. */
		int zones = r->zones < 1 ? 1 : r->zones > r->size ? r->size : r->zones;

		strbuf_addf(&sb, "    - {name: %s, role: %s, size: %d, zones: %d}\n", r->name,
			    cluster_role_name(r->role), r->size, zones);
	}
	strbuf_addf(&sb, "workload:\n  rate: %g\n  timeout: 200ms\n  payload_size: 16\n", rate);
	strbuf_adds(&sb, "steps:\n  - {name: recovered, action: await_replicated}\n");
	return strbuf_detach(&sb);
}

static void print_schedule(FILE *f, const struct soak_schedule *s, size_t n)
{
	fprintf(f, "fault schedule (seed %llu, topology %s, timing %s):\n",
		(unsigned long long)s->seed, s->topology, s->timing);
	for (size_t i = 0; i < n && i < s->n; i++) {
		char d[128];

		soak_fault_describe(d, sizeof(d), &s->faults[i]);
		fprintf(f, "  %zu. %s (pick %u)\n", i + 1, d, (unsigned)s->faults[i].pick);
	}
}

/* The directory of path ("." when it has none); heap. */
static char *dir_of(const char *path)
{
	const char *slash = strrchr(path, '/');

	if (!slash)
		return xstrdup(".");
	return slash == path ? xstrdup("/") : xstrndup(path, (size_t)(slash - path));
}

/* Copy the text files of a stopped cluster's directory (cluster.json,
 * peers.json, supervisor.log, n<id>.log) into to.  Returns how many. */
static int copy_cluster_logs(const char *from, const char *to, struct dr_error *err)
{
	DIR *d = opendir(from);
	struct dirent *e;
	int copied = 0;

	if (!d)
		return dr_error_errno(err, errno, "cannot read '%s'", from);
	if (fs_mkdir_p(to, err) != 0) {
		closedir(d);
		return -1;
	}
	while ((e = readdir(d)) != NULL) {
		size_t len = strlen(e->d_name);
		char *src, *dst, *data = NULL;
		size_t n = 0;

		if (!((len > 4 && strcmp(e->d_name + len - 4, ".log") == 0) ||
		      (len > 5 && strcmp(e->d_name + len - 5, ".json") == 0)))
			continue;
		src = xasprintf("%s/%s", from, e->d_name);
		dst = xasprintf("%s/%s", to, e->d_name);
		if (fs_read_file(&data, &n, src, (size_t)64 << 20, err) == 0 &&
		    fs_write_atomic(dst, data, n, err) == 0)
			copied++;
		free(data);
		free(src);
		free(dst);
	}
	closedir(d);
	return copied;
}

/* After a failure the cluster's logs are the evidence: stop the cluster,
 * copy its logs to evidence_dir, then remove it as usual. */
static void close_keeping_evidence(struct target *t, const char *evidence_dir)
{
	struct dr_error err = DR_ERROR_INIT;
	json_t *d = t->describe ? t->describe(t) : NULL;
	const char *dir = json_string_value(json_object_get(d, "cluster_dir"));

	if (dir && cluster_down(dir, &err) == 0 && copy_cluster_logs(dir, evidence_dir, &err) > 0)
		fprintf(stderr, "drillrig soak: the cluster's logs are kept in '%s'\n", evidence_dir);
	else if (dir)
		fprintf(stderr, "drillrig soak: cannot keep the cluster's logs: %s\n", err.msg);
	json_decref(d);
	t->close(t, 0);
}

/* The schedule: replayed from a file, or generated for the topology (of
 * the running cluster with --cluster) with the seed.  *timing gets the
 * election/heartbeat timing (heap).  Returns an exit code: 0, or 2/3
 * after printing why. */
static int make_schedule(struct soak_schedule *sched, struct cluster_spec *spec, char **timing,
			 const struct soak_args *a)
{
	struct soak_generate_opts go = { 0, 0, 0, 0, 0, NULL };
	struct dr_error err = DR_ERROR_INIT;

	cluster_spec_init(spec);
	if (a->replay) {
		if (soak_schedule_load(sched, a->replay, &err) != 0 ||
		    cluster_topology_parse(spec, sched->topology, &err) != 0) {
			fprintf(stderr, "drillrig soak: %s\n", err.msg);
			return EXIT_USAGE;
		}
		if (a->has_iterations && a->iterations < sched->n)
			sched->n = a->iterations;
		*timing = xstrdup(sched->timing);
		return EXIT_PASSED;
	}
	if (a->cluster_dir) {
		if (spec_from_running(spec, timing, a->cluster_dir, &err) != 0) {
			fprintf(stderr, "drillrig soak: %s\n", err.msg);
			return EXIT_INFRA;
		}
	} else {
		if (a->topology && cluster_topology_parse(spec, a->topology, &err) != 0) {
			fprintf(stderr, "drillrig soak: --topology: %s\n", err.msg);
			return EXIT_USAGE;
		}
		*timing = xstrdup(a->timing ? a->timing : "300ms/30ms");
	}
	go.seed = a->has_seed ? a->seed : (uint64_t)clock_wall_ns() ^ ((uint64_t)getpid() << 32);
	go.iterations = a->iterations;
	go.kinds = a->kinds;
	if (!go.kinds) {
		struct dr_error nft = DR_ERROR_INIT;

		/* The kernel's faults join the default mix wherever they can
		 * run; elsewhere the mix is what it always was. */
		go.kinds = SOAK_DEFAULT_KINDS | (cluster_nft_usable(&nft) == 0 ? SOAK_KERNEL_KINDS : 0);
	}
	go.hold_min_ns = a->hold_min_ns;
	go.hold_max_ns = a->hold_max_ns;
	go.timing = *timing;
	if (soak_schedule_generate(sched, spec, &go, &err) != 0) {
		fprintf(stderr, "drillrig soak: %s\n", err.msg);
		return EXIT_USAGE;
	}
	return EXIT_PASSED;
}

/* The soak's own plan (workload and timing) and the local target it runs
 * on; from here on SIGINT/SIGTERM are counted.  Returns an exit code. */
static int prepare_target(struct target **t, struct plan **plan, const struct soak_args *a,
			  const struct cluster_spec *spec, const char *timing)
{
	struct plan_load_opts lo = PLAN_LOAD_OPTS_INIT;
	struct plan_diags diags = PLAN_DIAGS_INIT;
	struct target_opts topts = TARGET_OPTS_INIT;
	struct dr_error err = DR_ERROR_INIT;
	char *text = plan_text(spec, a->rate);
	int rc;

	lo.targets = target_registry;
	lo.timing = a->cluster_dir ? NULL : timing;
	rc = plan_load_text(plan, "soak.yaml", text, strlen(text), &lo, &diags);
	free(text);
	if (rc != 0) {
		plan_diags_print(stderr, &diags);
		plan_diags_release(&diags);
		fprintf(stderr, "drillrig soak: the topology or timing is not valid\n");
		return EXIT_USAGE;
	}
	plan_diags_release(&diags);
	topts.cluster_dir = a->cluster_dir;
	topts.keep = a->keep;
	if (target_create(t, "local", *plan, &topts, &err) != 0) {
		fprintf(stderr, "drillrig soak: %s\n", err.msg);
		return EXIT_INFRA;
	}
	cli_count_interrupts();
	return EXIT_PASSED;
}

/* Started (or attached) and locked, stopping early on SIGINT. */
static int start_target(struct target *t, int *locked)
{
	struct action_ctx ctx = ACTION_CTX_INIT;
	struct dr_error err = DR_ERROR_INIT;

	ctx.interrupts = &cli_interrupts;
	ctx.interrupt_limit = 1;
	if (t->start(t, &ctx, &err) != 0 || t->lock(t, &err) != 0) {
		fprintf(stderr, "drillrig soak: %s\n", err.msg);
		return atomic_load(&cli_interrupts) ? EXIT_ABORTED : EXIT_INFRA;
	}
	*locked = 1;
	return EXIT_PASSED;
}

/* A failure (or --schedule-out) saves the schedule, up to the failed
 * iteration, and prints how to replay it.  Returns code, or 3 when the
 * schedule cannot be saved. */
/* A schedule with faults only nftables can inject stops before the first
 * fault where nftables cannot be used, naming why. */
static int kernel_faults_usable(const struct soak_schedule *sched)
{
	struct dr_error err = DR_ERROR_INIT;

	for (size_t i = 0; i < sched->n; i++) {
		if (!(SOAK_KIND_BIT(sched->faults[i].kind) & SOAK_KERNEL_KINDS))
			continue;
		if (cluster_nft_usable(&err) == 0)
			return EXIT_PASSED;
		fprintf(stderr, "drillrig soak: %s (iteration %zu) needs nftables, which cannot be "
			"used here: %s\n", soak_fault_kind_name(sched->faults[i].kind), i + 1, err.msg);
		return EXIT_INFRA;
	}
	return EXIT_PASSED;
}

static int save_schedule(const struct soak_schedule *sched, const struct soak_result *result,
			 const struct soak_args *a, const char *schedule_path, int code)
{
	struct soak_schedule ran = *sched;
	struct dr_error err = DR_ERROR_INIT;
	int failed = code != EXIT_PASSED && result->n > 0;

	/* A failure replays up to the iteration that failed. */
	if (failed) {
		ran.n = result->n;
		fprintf(stdout, "\nsoak FAILED at iteration %zu of %zu (seed %llu)\n", result->n,
			sched->n, (unsigned long long)sched->seed);
		print_schedule(stdout, sched, ran.n);
	}
	if (soak_schedule_save(&ran, schedule_path, &err) != 0) {
		fprintf(stderr, "drillrig soak: %s\n", err.msg);
		return exit_code_merge(code, EXIT_INFRA);
	}
	printf("schedule: %s\n", schedule_path);
	if (failed)
		printf("replay:   drillrig soak --replay %s%s%s\n", schedule_path,
		       a->cluster_dir ? " --cluster " : "", a->cluster_dir ? a->cluster_dir : "");
	return code;
}

int cmd_soak(int argc, char **argv)
{
	struct soak_args a;
	struct cluster_spec spec;
	struct soak_schedule sched = SOAK_SCHEDULE_INIT;
	struct soak_opts so = SOAK_OPTS_INIT;
	struct soak_result result = { NULL, 0, 0 };
	struct plan *plan = NULL;
	struct target *t = NULL;
	char *timing = NULL, *schedule_path = NULL, *history_dir = NULL, *evidence_dir = NULL;
	int code = EXIT_USAGE, locked = 0;

	memset(&a, 0, sizeof(a));
	a.iterations = 20;
	a.hold_min_ns = 200 * NS_PER_MS;
	a.hold_max_ns = 3 * NS_PER_SEC;
	a.rate = 200;
	if (parse_args(&a, argc, argv) != 0)
		goto out;
	if ((code = make_schedule(&sched, &spec, &timing, &a)) != EXIT_PASSED ||
	    (code = kernel_faults_usable(&sched)) != EXIT_PASSED ||
	    (code = prepare_target(&t, &plan, &a, &spec, timing)) != EXIT_PASSED)
		goto out;
	printf("soak: seed %llu, %zu iterations, topology %s, timing %s%s%s\n",
	       (unsigned long long)sched.seed, sched.n, sched.topology, sched.timing,
	       a.replay ? ", replaying " : "", a.replay ? a.replay : "");
	fflush(stdout);
	if ((code = start_target(t, &locked)) != EXIT_PASSED)
		goto out;
	schedule_path = a.schedule_out ? xstrdup(a.schedule_out)
				       : xasprintf("soak-schedule-%llu.json", (unsigned long long)sched.seed);
	history_dir = dir_of(schedule_path);
	evidence_dir = xasprintf("%s/soak-cluster-%llu", history_dir, (unsigned long long)sched.seed);
	so.interrupts = &cli_interrupts;
	so.recovery_timeout_ns = a.recovery_timeout_ns;
	so.history_dir = history_dir;
	so.strict = a.strict;
	soak_run(&result, plan, t, &sched, &so);
	code = result.exit_code;
	/* Nothing ran when the cluster failed its checks before the first fault. */
	if (result.n > 0)
		soak_summary_print(stdout, &result);
	if ((result.n > 0 && (code == EXIT_FAILED || code == EXIT_INFRA)) || a.schedule_out)
		code = save_schedule(&sched, &result, &a, schedule_path, code);
	printf("verdict: %s (exit %d)\n", code == EXIT_PASSED ? "passed" :
	       code == EXIT_FAILED ? "failed" : code == EXIT_ABORTED ? "interrupted" : "infrastructure error",
	       code);
out:
	if (t) {
		if (locked)
			t->unlock(t);
		if (code == EXIT_FAILED && !a.cluster_dir && !a.keep && evidence_dir)
			close_keeping_evidence(t, evidence_dir);
		else
			t->close(t, a.keep);
	}
	soak_result_release(&result);
	soak_schedule_release(&sched);
	plan_free(plan);
	free(timing);
	free(schedule_path);
	free(history_dir);
	free(evidence_dir);
	return code;
}
