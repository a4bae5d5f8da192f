/* The compact drill history: attempts and status changes (see history.h). */
#include "assertions/history.h"

#include <assert.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/strbuf.h"

#define HISTORY_FIRST_ALLOC ((size_t)1 << 16)
#define STATUS_DEFAULT_MAX ((size_t)1 << 20)
#define STATUS_FIRST_ALLOC ((size_t)256)

static_assert(sizeof(struct history_op) == 40, "history_op must stay 40 bytes");

void history_init(struct history *h, size_t max_ops)
{
	memset(h, 0, sizeof(*h));
	h->max_ops = max_ops ? max_ops : HISTORY_DEFAULT_MAX_OPS;
}

void history_release(struct history *h)
{
	size_t max_ops = h->max_ops;

	free(h->ops);
	memset(h, 0, sizeof(*h));
	h->max_ops = max_ops;
}

int history_append(struct history *h, const struct history_op *op)
{
	if (h->count >= h->max_ops) {
		h->overflow = true;
		h->dropped++;
		return -1;
	}
	if (h->count == h->alloc) {
		size_t next = h->alloc ? h->alloc * 2 : HISTORY_FIRST_ALLOC;

		if (next > h->max_ops)
			next = h->max_ops;
		h->ops = xrealloc(h->ops, next * sizeof(*h->ops));
		h->alloc = next;
	}
	h->ops[h->count++] = *op;
	return 0;
}

const char *history_outcome_name(int outcome)
{
	switch (outcome) {
	case HISTORY_OK: return "ok";
	case HISTORY_FAILED: return "failed";
	case HISTORY_UNKNOWN: return "unknown";
	default: return "?";
	}
}

const char *history_error_name(int error)
{
	static const char *const names[HISTORY_ERR_COUNT_] = {
		[HISTORY_ERR_NONE] = "NONE",
		[HISTORY_ERR_NOT_LEADER] = "NOT_LEADER",
		[HISTORY_ERR_INVALID_ARGUMENT] = "INVALID_ARGUMENT",
		[HISTORY_ERR_UNAVAILABLE] = "UNAVAILABLE",
		[HISTORY_ERR_UNKNOWN_OUTCOME] = "UNKNOWN_OUTCOME",
		[HISTORY_ERR_TIMEOUT] = "TIMEOUT",
		[HISTORY_ERR_CONNECT] = "CONNECT",
		[HISTORY_ERR_OTHER] = "OTHER",
	};

	if (error < 0 || error >= HISTORY_ERR_COUNT_)
		return "?";
	return names[error];
}

/* Milliseconds since origin with microsecond precision, as "%.3f" input. */
static double rel_ms(int64_t t, int64_t origin)
{
	return (double)(t - origin) / 1e6;
}

/* snprintf's result mapped to the contract of the formatters: length or -1. */
static int fit(int n, char *buf, size_t len)
{
	if (n < 0 || (size_t)n >= len) {
		if (len > 0)
			buf[0] = '\0';
		return -1;
	}
	return n;
}

int history_format_ndjson(char *buf, size_t len, const struct history_op *op,
			  int64_t origin_ns)
{
	char index[24] = "null";
	char error[32] = "null";
	int n;

	if (op->outcome == HISTORY_OK)
		snprintf(index, sizeof(index), "%llu", (unsigned long long)op->index);
	if (op->error != HISTORY_ERR_NONE)
		snprintf(error, sizeof(error), "\"%s\"", history_error_name(op->error));
	n = snprintf(buf, len,
		     "{\"seq\":%llu,\"attempt\":%lu,\"node\":%u,\"invoke_ms\":%.3f,"
		     "\"complete_ms\":%.3f,\"outcome\":\"%s\",\"index\":%s,\"error\":%s}\n",
		     (unsigned long long)op->sequence, (unsigned long)op->attempt,
		     (unsigned)op->node, rel_ms(op->invoke_ns, origin_ns),
		     rel_ms(op->complete_ns, origin_ns), history_outcome_name(op->outcome),
		     index, error);
	return fit(n, buf, len);
}

/* ---- status timeline ---- */

void status_timeline_init(struct status_timeline *tl, size_t max_points)
{
	memset(tl, 0, sizeof(*tl));
	tl->max_points = max_points ? max_points : STATUS_DEFAULT_MAX;
}

void status_timeline_release(struct status_timeline *tl)
{
	size_t max_points = tl->max_points;

	free(tl->points);
	memset(tl, 0, sizeof(*tl));
	tl->max_points = max_points;
}

static bool status_same(const struct status_point *a, const struct status_point *b)
{
	return a->term == b->term && a->leader_id == b->leader_id &&
	       a->quorum == b->quorum && a->fully_replicated == b->fully_replicated &&
	       a->members == b->members && a->members_present == b->members_present &&
	       strncmp(a->leader_region, b->leader_region, STATUS_REGION_MAX) == 0;
}

int status_timeline_observe(struct status_timeline *tl, const struct status_point *p)
{
	tl->observations++;
	if (p->t_ns > tl->last_observed_ns)
		tl->last_observed_ns = p->t_ns;
	if (p->max_lag_entries > tl->max_lag_entries)
		tl->max_lag_entries = p->max_lag_entries;
	if (p->max_lag_ns > tl->max_lag_ns) {
		tl->max_lag_ns = p->max_lag_ns;
		tl->max_lag_t_ns = p->t_ns;
	}
	if (tl->count > 0 && status_same(&tl->points[tl->count - 1], p))
		return 0;
	if (tl->count >= tl->max_points) {
		tl->overflow = true;
		return 0;
	}
	if (tl->count == tl->alloc) {
		size_t next = tl->alloc ? tl->alloc * 2 : STATUS_FIRST_ALLOC;

		if (next > tl->max_points)
			next = tl->max_points;
		tl->points = xrealloc(tl->points, next * sizeof(*tl->points));
		tl->alloc = next;
	}
	tl->points[tl->count] = *p;
	/* Always terminated, whatever the caller left in the array. */
	tl->points[tl->count].leader_region[STATUS_REGION_MAX - 1] = '\0';
	/* Keep the timeline in time order (status_timeline_at() searches it):
	 * an answer older than the last point (a slower node's, chosen for its
	 * higher term) takes the last point's time. */
	if (tl->count > 0 && tl->points[tl->count].t_ns < tl->points[tl->count - 1].t_ns)
		tl->points[tl->count].t_ns = tl->points[tl->count - 1].t_ns;
	tl->count++;
	return 1;
}

const struct status_point *status_timeline_at(const struct status_timeline *tl, int64_t t)
{
	size_t lo = 0, hi = tl->count;

	/* First point with t_ns > t, then step back one. */
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (tl->points[mid].t_ns <= t)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo == 0 ? NULL : &tl->points[lo - 1];
}

/* JSON string body of s (without quotes) into out; control characters,
 * quotes and backslashes escaped.  Truncates at a character boundary. */
static void json_escape(char *out, size_t len, const char *s, size_t max)
{
	size_t o = 0;

	for (size_t i = 0; i < max && s[i]; i++) {
		unsigned char c = (unsigned char)s[i];
		char tmp[8];
		size_t n;

		if (c == '"' || c == '\\') {
			tmp[0] = '\\';
			tmp[1] = (char)c;
			n = 2;
		} else if (c < 0x20) {
			snprintf(tmp, sizeof(tmp), "\\u%04x", c);
			n = 6;
		} else {
			tmp[0] = (char)c;
			n = 1;
		}
		if (o + n + 1 > len)
			break;
		memcpy(out + o, tmp, n);
		o += n;
	}
	out[o] = '\0';
}

int status_format_ndjson(char *buf, size_t len, const struct status_point *p,
			 int64_t origin_ns)
{
	char region[STATUS_REGION_MAX * 6 + 1];
	int n;

	json_escape(region, sizeof(region), p->leader_region, STATUS_REGION_MAX);
	n = snprintf(buf, len,
		     "{\"t_ms\":%.3f,\"term\":%llu,\"leader\":%llu,\"region\":\"%s\","
		     "\"quorum\":%s,\"fully_replicated\":%s,\"members\":%u,"
		     "\"members_present\":%u,\"max_lag_entries\":%llu,\"max_lag_ms\":%.3f}\n",
		     rel_ms(p->t_ns, origin_ns), (unsigned long long)p->term,
		     (unsigned long long)p->leader_id, region, p->quorum ? "true" : "false",
		     p->fully_replicated ? "true" : "false", (unsigned)p->members,
		     (unsigned)p->members_present, (unsigned long long)p->max_lag_entries,
		     (double)p->max_lag_ns / 1e6);
	return fit(n, buf, len);
}
