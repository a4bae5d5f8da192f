#include "common/error.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

int dr_error_set(struct dr_error *err, const char *fmt, ...)
{
	va_list ap;

	if (!err)
		return -1;
	va_start(ap, fmt);
	vsnprintf(err->msg, sizeof(err->msg), fmt, ap);
	va_end(ap);
	return -1;
}

int dr_error_wrap(struct dr_error *err, const char *fmt, ...)
{
	char prefix[DR_ERROR_MAX];
	char cause[DR_ERROR_MAX];
	va_list ap;

	if (!err)
		return -1;
	va_start(ap, fmt);
	vsnprintf(prefix, sizeof(prefix), fmt, ap);
	va_end(ap);
	memcpy(cause, err->msg, sizeof(cause));
	if (cause[0])
		snprintf(err->msg, sizeof(err->msg), "%.500s: %.500s", prefix, cause);
	else
		snprintf(err->msg, sizeof(err->msg), "%s", prefix);
	return -1;
}

int dr_error_errno(struct dr_error *err, int errnum, const char *fmt, ...)
{
	char what[DR_ERROR_MAX];
	va_list ap;

	if (!err)
		return -1;
	va_start(ap, fmt);
	vsnprintf(what, sizeof(what), fmt, ap);
	va_end(ap);
	snprintf(err->msg, sizeof(err->msg), "%.800s: %.200s", what, strerror(errnum));
	return -1;
}

void dr_error_clear(struct dr_error *err)
{
	if (err)
		err->msg[0] = '\0';
}
