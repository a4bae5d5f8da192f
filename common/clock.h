/* Time sources.  Every measurement uses CLOCK_MONOTONIC nanoseconds; the
 * wall clock is kept only for display (reports, journal timestamps). */
#ifndef DR_COMMON_CLOCK_H
#define DR_COMMON_CLOCK_H

#include <stddef.h>
#include <stdint.h>

#define NS_PER_MS INT64_C(1000000)
#define NS_PER_SEC INT64_C(1000000000)

int64_t clock_mono_ns(void);
int64_t clock_wall_ns(void);
/* Sleep for ns (restarting after signals); a bounded poll's building block. */
void clock_sleep_ns(int64_t ns);
/* Format a wall-clock time (ns since the epoch) as RFC 3339 UTC with
 * milliseconds: "2026-11-27T14:44:20.123Z".  buf must hold 32 bytes. */
void clock_format_utc(char *buf, size_t len, int64_t wall_ns);

#endif
