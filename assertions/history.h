/* The recorded history of a drill: every write attempt of the workload and
 * every change of the cluster's status, in compact fixed-size records.
 *
 * This is the input of everything else in assertions/ (check.h, measure.h).
 * Nothing here does I/O, starts threads or knows a target.
 *
 * Memory: one struct history_op (40 bytes) per write ATTEMPT, in one
 * growable array (doubling, never one heap object per operation), capped at
 * `max_ops` records (HISTORY_DEFAULT_MAX_OPS = 8 Mi attempts = 320 MiB,
 * about an hour at 2300 attempts/s).  Past the cap history_append() refuses
 * the record, counts it in `dropped` and sets `overflow`; the writer should
 * stop issuing writes then (an unrecorded write cannot be checked), and the
 * `history` objective fails with a message saying so.
 *
 * Threads: the workload (writer) thread is the ONLY caller of
 * history_append(); the status poller is the only caller of
 * status_timeline_observe().  Neither structure is safe to read while its
 * writer runs (the array may move when it grows).  A reader gets a
 * consistent view by reading after the writer thread has been joined:
 * pthread_join() orders every append before the reader's loads.  Nothing
 * else is needed, and no lock sits on the writer's hot path.
 *
 * Times are CLOCK_MONOTONIC nanoseconds (clock_mono_ns()).
 */
#ifndef DR_ASSERTIONS_HISTORY_H
#define DR_ASSERTIONS_HISTORY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Outcome of one attempt.  A definite failure is one the server rejected
 * before appending (NOT_LEADER, INVALID_ARGUMENT): the entry cannot be in
 * the ledger because of this attempt.  Anything else that is not an
 * acknowledgement (timeout, connection reset, UNKNOWN_OUTCOME, 5xx after
 * sending) is unknown: the entry may or may not have been appended. */
enum history_outcome {
	HISTORY_OK = 0,
	HISTORY_FAILED = 1,
	HISTORY_UNKNOWN = 2,
};

/* Why an attempt was not ok (HISTORY_ERR_NONE when it was). */
enum history_error {
	HISTORY_ERR_NONE = 0,
	HISTORY_ERR_NOT_LEADER,
	HISTORY_ERR_INVALID_ARGUMENT,
	HISTORY_ERR_UNAVAILABLE,
	HISTORY_ERR_UNKNOWN_OUTCOME,
	HISTORY_ERR_TIMEOUT,
	HISTORY_ERR_CONNECT,
	HISTORY_ERR_OTHER,
	HISTORY_ERR_COUNT_ /* not an error; keep last */
};

/* One write attempt: 40 bytes. */
struct history_op {
	uint64_t sequence;    /* logical write; retries reuse it; >= 1 */
	int64_t invoke_ns;    /* CLOCK_MONOTONIC when the request was sent */
	int64_t complete_ns;  /* when the answer (or the give-up) came; >= invoke_ns */
	uint64_t index;       /* ledger index when outcome == HISTORY_OK, else 0 */
	uint16_t node;        /* index of the node the attempt went to */
	uint8_t outcome;      /* enum history_outcome */
	uint8_t error;        /* enum history_error */
	uint32_t attempt;     /* 1 for the first attempt of a sequence, 2 for its retry, ... */
};

#define HISTORY_DEFAULT_MAX_OPS ((size_t)1 << 23)

struct history {
	struct history_op *ops; /* ops[0 .. count-1], in append order */
	size_t count;
	size_t alloc;
	size_t max_ops;         /* cap on count */
	bool overflow;          /* an append was refused because of max_ops */
	uint64_t dropped;       /* how many appends were refused */
};

/* max_ops 0 means HISTORY_DEFAULT_MAX_OPS.  Allocates nothing yet. */
void history_init(struct history *h, size_t max_ops);
/* Frees the array; h is left empty and reusable (history_init again). */
void history_release(struct history *h);

/* Copy *op to the end.  Returns 0, or -1 when the cap is reached (the
 * record is dropped, h->overflow set, h->dropped incremented).  Memory
 * exhaustion aborts (xrealloc), as everywhere in drillrig.  Amortised O(1):
 * the array doubles (the first growth reserves 64 Ki records). */
int history_append(struct history *h, const struct history_op *op);

/* Names used in NDJSON and messages: "ok", "failed", "unknown";
 * "NOT_LEADER", "INVALID_ARGUMENT", ... ("?" for values out of range). */
const char *history_outcome_name(int outcome);
const char *history_error_name(int error);

/* One attempt as one NDJSON line (with the trailing '\n') into buf:
 *   {"seq":12,"attempt":1,"node":0,"invoke_ms":12.345,"complete_ms":13.501,
 *    "outcome":"ok","index":130,"error":null}
 * Times are milliseconds since origin_ns (the drill start) with microsecond
 * precision, like the journal's *_ms fields; "index" is null unless ok and
 * "error" null when none.  Returns the length written (without the NUL), or
 * -1 when buf is too small (HISTORY_NDJSON_MAX always suffices); buf is
 * NUL-terminated either way when len > 0.  The caller writes the file. */
#define HISTORY_NDJSON_MAX 256
int history_format_ndjson(char *buf, size_t len, const struct history_op *op,
			  int64_t origin_ns);

/* ---- Cluster status timeline ------------------------------------------ */

#define STATUS_REGION_MAX 48

/* One observed cluster status (the answer with the highest term among the
 * nodes polled).  The timeline keeps only changes.  Lag is among the members
 * present (a member that is down has no meaningful lag; it shows as
 * members_present < members). */
struct status_point {
	int64_t t_ns;                    /* when it was observed */
	uint64_t term;
	uint64_t leader_id;              /* 0: no leader known */
	char leader_region[STATUS_REGION_MAX]; /* "" when no leader */
	bool quorum;                     /* a quorum of voters is reachable */
	bool fully_replicated;           /* the status said "Fully replicated" */
	uint16_t members;                /* members in the configuration */
	uint16_t members_present;        /* of which up and answering */
	uint64_t max_lag_entries;        /* largest lag of a present follower */
	int64_t max_lag_ns;              /* the same in time */
};

struct status_timeline {
	struct status_point *points; /* changes only, in time order */
	size_t count;
	size_t alloc;
	size_t max_points;           /* cap (default 1 Mi points) */
	bool overflow;
	/* Maxima over EVERY observation, recorded or not, so the max lag is
	 * exact even though lag-only changes do not make new points. */
	uint64_t observations;
	uint64_t max_lag_entries;
	int64_t max_lag_ns;
	int64_t max_lag_t_ns;        /* when max_lag_ns was seen */
	int64_t last_observed_ns;    /* the latest observation's time, recorded or not */
};

/* max_points 0 means the default (1 Mi points). */
void status_timeline_init(struct status_timeline *tl, size_t max_points);
void status_timeline_release(struct status_timeline *tl);

/* Record one poll result.  A new point is appended when leader_id, term,
 * leader_region, quorum, fully_replicated, members or members_present
 * differ from the last point (or it is the first); lag values alone do not
 * make a point but always update the maxima.  Observations should come in
 * time order; a point older than the last one is recorded at the last
 * one's time, so the timeline stays sorted.  Returns 1 when a point was appended, 0 when unchanged (or
 * dropped at the cap: overflow is then set). */
int status_timeline_observe(struct status_timeline *tl, const struct status_point *p);

/* The point in effect at time t (the last one with t_ns <= t), or NULL
 * when t is before the first point.  O(log n). */
const struct status_point *status_timeline_at(const struct status_timeline *tl, int64_t t);

/* One status point as one NDJSON line (with '\n'), same conventions as
 * history_format_ndjson: {"t_ms":..,"term":..,"leader":..,"region":"dr",
 * "quorum":true,"fully_replicated":false,"members":5,"members_present":3,
 * "max_lag_entries":0,"max_lag_ms":0.0}.  Region names are JSON-escaped. */
#define STATUS_NDJSON_MAX 640
int status_format_ndjson(char *buf, size_t len, const struct status_point *p,
			 int64_t origin_ns);

#endif
