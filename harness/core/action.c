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
	if (ctx->abort_requested && *ctx->abort_requested)
		return 1;
	return ctx->interrupts && ctx->interrupt_limit > 0 &&
	       *ctx->interrupts >= ctx->interrupt_limit;
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

int target_region_has_role(json_t *member, const char *region, const char *role)
{
	const char *r = json_string_value(json_object_get(member, "region"));
	const char *rr = json_string_value(json_object_get(member, "region_role"));

	if (region && r && strcmp(region, r) == 0)
		return 1;
	return role && rr && strcmp(role, rr) == 0;
}
