/* Daemon log: one line per event on stderr, prefixed with the monotonic
 * clock in milliseconds so a drill can line events up with its own
 * CLOCK_MONOTONIC measurements:  "<mono_ms> ledgerd[<id>] <message>". */
#ifndef DR_LEDGER_DAEMON_LOG_H
#define DR_LEDGER_DAEMON_LOG_H

#include <stdint.h>

void ledgerd_log_set_id(uint64_t id);
void ledgerd_log(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#endif
