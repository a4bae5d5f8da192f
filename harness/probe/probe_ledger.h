/* The write_read probe: one append through the ledger client and a read of
 * the same entry back, proving the ledger accepts and serves writes. */
#ifndef DR_HARNESS_PROBE_PROBE_LEDGER_H
#define DR_HARNESS_PROBE_PROBE_LEDGER_H

#include <jansson.h>
#include <stdint.h>

#include "harness/core/target.h"
#include "harness/probe/probe_result.h"

void probe_ledger_write_read(struct probe_result *out, struct target *t, json_t *spec,
			     int64_t timeout_ns, const struct action_ctx *ctx);

#endif
