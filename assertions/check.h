/* The history checker: Jepsen's set checker over LOGICAL writes, plus a
 * real-time order check, and the RPO figures that follow from it.
 *
 * A logical write is one sequence number; its attempts are the history_ops
 * with that sequence (in any order in the history).  It is
 *   - acknowledged ("ok")  if any attempt was HISTORY_OK;
 *   - definitely failed    if every attempt was HISTORY_FAILED;
 *   - unknown              otherwise.
 * Against the ledger read back after the drill (the entries of the drill's
 * client id, as (sequence, index) pairs):
 *   - lost:        ok, but not in the ledger;
 *   - duplicated:  in the ledger more than once (whatever its outcome);
 *   - definite_failed_present: definitely failed, yet in the ledger;
 *   - unknown_present: unknown and in the ledger (allowed, counted);
 *   - unexpected:  in the ledger with a sequence the history never tried;
 *   - reordered:   ok write B for which some ok write A was acknowledged
 *                  before B's first attempt was invoked, yet A's
 *                  acknowledged index > B's acknowledged index.  Each such
 *                  B counts once.  O(n log n): two sorts and one sweep.
 * Everything is O(n log n) in time and O(n) in extra memory; a history
 * already in sequence order (the normal case) skips its sort.
 */
#ifndef DR_ASSERTIONS_CHECK_H
#define DR_ASSERTIONS_CHECK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "assertions/history.h"
#include "common/error.h"

/* One entry of the final ledger written by the drill's client id. */
struct ledger_entry_ref {
	uint64_t sequence;
	uint64_t index;
};

#define CHECK_MAX_LISTED 100

struct check_result {
	/* Logical writes by outcome (ok + failed + unknown = logical writes). */
	uint64_t attempts;
	uint64_t logical;
	uint64_t ok;
	uint64_t failed;
	uint64_t unknown;
	/* Against the ledger. */
	uint64_t unknown_present;
	uint64_t lost;
	uint64_t duplicated;
	uint64_t definite_failed_present;
	uint64_t unexpected;
	uint64_t reordered;
	/* The first CHECK_MAX_LISTED, in sequence order. */
	uint64_t lost_sequences[CHECK_MAX_LISTED];
	size_t n_lost_sequences;
	uint64_t duplicated_sequences[CHECK_MAX_LISTED];
	size_t n_duplicated_sequences;
	uint64_t definite_failed_present_sequences[CHECK_MAX_LISTED];
	size_t n_definite_failed_present_sequences;
	/* One example of a reordering, for the message (valid when reordered). */
	uint64_t reorder_first_seq;   /* acknowledged first ... */
	uint64_t reorder_first_index; /* ... at this (higher) index */
	uint64_t reorder_second_seq;  /* invoked after that ack ... */
	uint64_t reorder_second_index;/* ... yet got this lower index */
	/* RPO: ack time (complete_ns of its first ok attempt) of the lost write
	 * acknowledged earliest; valid when lost > 0. */
	int64_t oldest_lost_ack_ns;
	/* Copied from the history: the check saw only what was recorded. */
	bool history_overflow;
	uint64_t history_dropped;
};

/* Check history h against the ledger entries (any order; entries are not
 * modified).  Fills *out completely.  Returns 0, or -1 with err set when the
 * history itself is malformed (a sequence of 0, complete_ns < invoke_ns,
 * an outcome out of range): the checker never guesses about bad input. */
int history_check(struct check_result *out, const struct history *h,
		  const struct ledger_entry_ref *entries, size_t n_entries,
		  struct dr_error *err);

/* Integrity violations that no limit excuses: duplicated +
 * definite_failed_present + reordered + unexpected (lost writes are the RPO
 * objective's to judge). */
uint64_t check_integrity_violations(const struct check_result *r);

#endif
