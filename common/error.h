/* Error messages that travel with a failed call.
 *
 * Functions return 0 on success and a negative value on failure; the human
 * message lives in a caller-owned struct dr_error.  A callee sets it with
 * dr_error_set(); a caller that adds context wraps it with dr_error_wrap(),
 * giving "context: cause" and never replacing the cause with something vaguer.
 */
#ifndef DR_COMMON_ERROR_H
#define DR_COMMON_ERROR_H

#include <stddef.h>

#define DR_ERROR_MAX 1024

struct dr_error {
	char msg[DR_ERROR_MAX];
};

#define DR_ERROR_INIT { { 0 } }

/* Replace the message.  Always returns -1 so callers can `return dr_error_set(...)`. */
int dr_error_set(struct dr_error *err, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* Prefix the existing message with "context: ".  Returns -1. */
int dr_error_wrap(struct dr_error *err, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* Like dr_error_set, appending ": strerror(errnum)". Returns -1. */
int dr_error_errno(struct dr_error *err, int errnum, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

void dr_error_clear(struct dr_error *err);

#endif
