/* The fault schedule of a randomized soak (`drillrig soak`): which fault
 * each iteration injects, against what, and for how long it is held.
 *
 * A schedule is generated up front from a seed and the cluster's topology
 * with a small deterministic PRNG (splitmix64), so the same seed and
 * topology always give the same schedule, and it is saved as JSON so
 * `drillrig soak --replay FILE` repeats exactly that schedule.
 *
 * Targets that depend on the cluster's state at the time of the fault (the
 * current leader, a follower) are resolved when the fault is injected; a
 * node is named by `pick`, an index into the candidate nodes sorted by id,
 * taken modulo their number, so a replay resolves it the same way.
 *
 * Ownership: a struct soak_schedule owns its strings and its faults;
 * soak_schedule_release() frees them.  Functions return 0, or -1 with err set.
 */
#ifndef DR_HARNESS_SOAK_SOAK_SCHEDULE_H
#define DR_HARNESS_SOAK_SOAK_SCHEDULE_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "common/error.h"
#include "ledger/cluster/cluster.h"

enum soak_fault_kind {
	SOAK_KILL_LEADER = 0,     /* kill -9 the leader; the supervisor restarts it */
	SOAK_KILL_FOLLOWER,       /* kill -9 a follower */
	SOAK_SCALE_REGION,        /* scale a region to 0, hold, scale it back */
	SOAK_PARTITION_REGION,    /* cut a region off, hold, heal */
	SOAK_PAUSE_NODE,          /* SIGSTOP a node, hold, SIGCONT */
	SOAK_TRANSFER_LEADER,     /* move leadership to another node */
	SOAK_DROP_ENTRY,          /* debug: hide an acknowledged entry from the
				   * leader's reads (a planted loss the soak must
				   * catch; never chosen at random, only with
				   * --faults drop-entry) */
	SOAK_MUTE_LEADER,         /* the leader's raft messages are lost, it
				   * still hears the others (nftables, one way) */
	SOAK_LOSSY_REGION,        /* 30 % of the packets between a region and
				   * the rest are lost (nftables) */
	SOAK_FAULT_KINDS
};

/* Bit of a kind in a kind mask. */
#define SOAK_KIND_BIT(k) (1u << (k))
/* The kinds a soak draws from when --faults is not given. */
#define SOAK_DEFAULT_KINDS                                                              \
	(SOAK_KIND_BIT(SOAK_KILL_LEADER) | SOAK_KIND_BIT(SOAK_KILL_FOLLOWER) |             \
	 SOAK_KIND_BIT(SOAK_SCALE_REGION) | SOAK_KIND_BIT(SOAK_PARTITION_REGION) |         \
	 SOAK_KIND_BIT(SOAK_PAUSE_NODE) | SOAK_KIND_BIT(SOAK_TRANSFER_LEADER))
/* The kinds only the kernel can inject (root and nftables): drawn by
 * default where they can be, and named by "all". */
#define SOAK_KERNEL_KINDS (SOAK_KIND_BIT(SOAK_MUTE_LEADER) | SOAK_KIND_BIT(SOAK_LOSSY_REGION))
/* Does the kind need a region (scale, partition, loss)? */
#define SOAK_KIND_HAS_REGION(k)                                                        \
	((k) == SOAK_SCALE_REGION || (k) == SOAK_PARTITION_REGION || (k) == SOAK_LOSSY_REGION)

struct soak_fault {
	enum soak_fault_kind kind;
	char region[CLUSTER_NAME_MAX + 1]; /* scale/partition: the region; else "" */
	uint32_t pick;                     /* node choice among the candidates */
	int64_t hold_ns;                   /* how long the fault is held */
};

struct soak_schedule {
	uint64_t seed;
	char *topology;         /* cluster_topology_format() text */
	char *timing;           /* "300ms/30ms" */
	struct soak_fault *faults;
	size_t n;
};

#define SOAK_SCHEDULE_INIT { 0, NULL, NULL, NULL, 0 }

/* "kill-leader", ...; NULL for a value out of range. */
const char *soak_fault_kind_name(enum soak_fault_kind kind);
/* Returns 0 and sets *out, or -1 for an unknown name. */
int soak_fault_kind_parse(enum soak_fault_kind *out, const char *name);
/* "kill-leader,pause-node" -> a mask of SOAK_KIND_BIT()s; "all" is the
 * default set.  On error err names the offending item. */
int soak_fault_kinds_parse(unsigned *out, const char *text, struct dr_error *err);

/* A seed as written by the schedule and --seed: a decimal uint64.
 * Returns 0, or -1 (out untouched). */
int soak_seed_parse(uint64_t *out, const char *text);

/* The deterministic PRNG (splitmix64), exposed for tests. */
uint64_t soak_rand_next(uint64_t *state);
/* Uniform in [0, n) (n > 0). */
uint64_t soak_rand_below(uint64_t *state, uint64_t n);

/* Regions whose loss (scale to 0, partition) still leaves a quorum of the
 * voters: fills names (borrowed from spec) and returns how many. */
size_t soak_quorum_safe_regions(const struct cluster_spec *spec, const char **names,
				size_t max);

struct soak_generate_opts {
	uint64_t seed;
	size_t iterations;
	unsigned kinds;            /* SOAK_KIND_BIT mask; 0: SOAK_DEFAULT_KINDS */
	int64_t hold_min_ns;       /* holds are uniform in [min, max] (ms steps) */
	int64_t hold_max_ns;
	const char *timing;        /* copied into the schedule ("300ms/30ms") */
};

/* Draw iterations faults from the kinds the topology allows (a region fault
 * needs a quorum-safe region, kill-follower and transfer-leader need two
 * nodes that can lead).  Fails when none of the requested kinds is possible.
 * *out must be SOAK_SCHEDULE_INIT or released. */
int soak_schedule_generate(struct soak_schedule *out, const struct cluster_spec *spec,
			   const struct soak_generate_opts *opts, struct dr_error *err);

/* {"version":1,"seed":"<decimal>","topology","timing","faults":[{"fault",
 * "region","pick","hold_ms"}...]}; the seed is a string because it is a
 * full 64-bit value.  New reference. */
json_t *soak_schedule_to_json(const struct soak_schedule *s);
/* Parse; what names the source in messages ("schedule 'x.json'"). */
int soak_schedule_from_json(struct soak_schedule *out, const json_t *root, const char *what,
			    struct dr_error *err);
/* Save with fs_write_atomic / load from a file. */
int soak_schedule_save(const struct soak_schedule *s, const char *path, struct dr_error *err);
int soak_schedule_load(struct soak_schedule *out, const char *path, struct dr_error *err);

/* "kill-leader hold 840ms", "scale-region dr hold 1.2s" (for listings). */
void soak_fault_describe(char *buf, size_t len, const struct soak_fault *f);

void soak_schedule_release(struct soak_schedule *s);

#endif
