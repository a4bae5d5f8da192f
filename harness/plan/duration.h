/* Durations as plans write them: "250ms", "10s", "2m", "1h30m", "1.5s".
 *
 * Units: ns, us, ms, s, m, h.  Components must be given largest unit first
 * ("1h30m", not "30m1h"), each unit at most once.  A bare "0" is zero.
 * Rejected: empty text, signs, unknown units, a number without a unit,
 * trailing junk, and values over DURATION_MAX_NS.
 */
#ifndef DR_HARNESS_PLAN_DURATION_H
#define DR_HARNESS_PLAN_DURATION_H

#include <stddef.h>
#include <stdint.h>

#include "common/error.h"

/* About 292 years would overflow int64 ns; nothing a drill waits for comes
 * close to a week, so larger values are almost certainly typos. */
#define DURATION_MAX_NS (INT64_C(7) * 24 * 3600 * INT64_C(1000000000))

/* Parse text into nanoseconds.  On failure *out_ns is untouched and err
 * says what was wrong and where ("unknown unit 'x' in '10x'"). */
int duration_parse(int64_t *out_ns, const char *text, struct dr_error *err);

/* Format ns compactly and exactly ("1h30m", "250ms", "1.5s", "0s"). */
void duration_format(char *buf, size_t len, int64_t ns);

#endif
