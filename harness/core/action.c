/* Action results, contexts and tables (harness/core/target.h). */
#include "harness/core/target.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "common/clock.h"

void action_result_set(struct action_result *res, enum action_status st,
		       const char *fmt, ...)
{
	va_list ap;

	res->status = st;
	va_start(ap, fmt);
	vsnprintf(res->message, sizeof(res->message), fmt, ap);
	va_end(ap);
}

void action_result_release(struct action_result *res)
{
	json_decref(res->data);
	res->data = NULL;
}

const char *action_status_name(enum action_status st)
{
	switch (st) {
	case ACTION_OK: return "ok";
	case ACTION_FAILED: return "failed";
	case ACTION_TIMED_OUT: return "timed_out";
	case ACTION_UNSUPPORTED: return "unsupported";
	case ACTION_CANCELLED: return "cancelled";
	}
	return "unknown";
}

int action_ctx_cancelled(const struct action_ctx *ctx)
{
	if (ctx->abort_requested && atomic_load(ctx->abort_requested))
		return 1;
	return ctx->interrupts && ctx->interrupt_limit > 0 &&
	       atomic_load(ctx->interrupts) >= ctx->interrupt_limit;
}

int action_ctx_expired(const struct action_ctx *ctx)
{
	if (action_ctx_cancelled(ctx))
		return 1;
	return ctx->deadline_ns > 0 && clock_mono_ns() >= ctx->deadline_ns;
}

int action_ctx_sleep(const struct action_ctx *ctx, int64_t ns)
{
	int64_t until = clock_mono_ns() + ns;

	for (;;) {
		int64_t now = clock_mono_ns(), step;

		if (action_ctx_cancelled(ctx))
			return 1;
		if (now >= until)
			return 0;
		step = until - now;
		if (step > 10 * NS_PER_MS)
			step = 10 * NS_PER_MS;
		clock_sleep_ns(step);
	}
}

const struct target_action *target_action_find(const struct target_action *table, const char *name)
{
	for (; table && table->name && name; table++)
		if (strcmp(table->name, name) == 0)
			return table;
	return NULL;
}
