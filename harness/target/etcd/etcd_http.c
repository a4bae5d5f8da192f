#include "harness/target/etcd/etcd_http.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/base64.h"
#include "common/clock.h"
#include "common/http_pool.h"
#include "common/numparse.h"
#include "common/strbuf.h"

#define KEY_PREFIX "drillrig/"
#define READ_PAGE 5000

struct etcd_client {
	struct http_pool *pool;   /* one keep-alive connection per member */
	size_t n;
	int current;
	long timeout_ms;
};

/* ---- encoding ------------------------------------------------------------ */


int etcd_u64(uint64_t *out, const json_t *v)
{
	if (json_is_integer(v)) {
		if (json_integer_value(v) < 0)
			return -1;
		*out = (uint64_t)json_integer_value(v);
		return 0;
	}
	if (json_is_string(v)) {
		const char *s = json_string_value(v);
		char *end = NULL;
		unsigned long long u;

		/* Member ids use the whole uint64 range: parse_int64 cannot. */
		if (!*s || *s == '-' || *s == '+')
			return -1;
		errno = 0;
		u = strtoull(s, &end, 10);
		if (errno || *end)
			return -1;
		*out = (uint64_t)u;
		return 0;
	}
	return -1;
}

char *etcd_key(const char *client_id, uint64_t sequence)
{
	return xasprintf(KEY_PREFIX "%s/%020" PRIu64, client_id, sequence);
}

/* ---- client ---------------------------------------------------------------- */

int etcd_client_new(struct etcd_client **out, const char *const addresses[], size_t n,
		    long timeout_ms, struct dr_error *err)
{
	struct etcd_client *c;

	if (n == 0)
		return dr_error_set(err, "no etcd endpoints");
	c = xcalloc(1, sizeof(*c));
	c->n = n;
	c->timeout_ms = timeout_ms > 0 ? timeout_ms : 200;
	if (http_pool_new(&c->pool, addresses, n, NULL, err) != 0) {
		free(c);
		return -1;
	}
	*out = c;
	return 0;
}

void etcd_client_free(struct etcd_client *c)
{
	if (!c)
		return;
	http_pool_free(c->pool);
	free(c);
}

void etcd_client_set_timeout(struct etcd_client *c, long timeout_ms)
{
	c->timeout_ms = timeout_ms > 0 ? timeout_ms : 1;
}

void etcd_client_set_current(struct etcd_client *c, int member)
{
	if (member >= 0 && (size_t)member < c->n)
		c->current = member;
}

/* A short connect timeout: a dead member is skipped fast. */
static long connect_timeout(const struct etcd_client *c)
{
	return c->timeout_ms < 100 ? c->timeout_ms : 100L;
}

int etcd_call(struct etcd_client *c, int member, const char *path, const json_t *req,
	      json_t **resp, long *http, struct dr_error *err)
{
	*resp = NULL;
	if (member < 0)
		member = c->current;
	if ((size_t)member >= c->n)
		return dr_error_set(err, "no etcd member %d (client has %zu)", member, c->n);
	return http_pool_call(c->pool, (size_t)member, path, req, c->timeout_ms, connect_timeout(c), resp,
			      http, err);
}

static void next_member(struct etcd_client *c)
{
	c->current = (int)(((size_t)c->current + 1) % c->n);
}

int etcd_put_once(struct etcd_client *c, const char *client_id, uint64_t sequence,
		  const char *payload, struct ledger_append_result *res)
{
	char *key = etcd_key(client_id, sequence);
	char *k64 = b64_encode(key, strlen(key));
	char *v64 = b64_encode(payload, strlen(payload));
	json_t *req = json_pack("{s:s,s:s}", "key", k64, "value", v64), *resp = NULL, *header;
	char *body = json_dumps(req, JSON_COMPACT);
	int64_t start = clock_mono_ns();
	const char *msg;
	uint64_t rev = 0, term = 0;
	struct http_answer ans;
	int rc = -1;

	memset(res, 0, sizeof(*res));
	res->node = c->current;
	http_pool_post(c->pool, (size_t)c->current, "v3/kv/put", body, c->timeout_ms, connect_timeout(c), &ans);
	res->http_status = ans.status;
	res->latency_ns = clock_mono_ns() - start;
	if (!ans.ok) {
		str_copy(res->code, sizeof(res->code), "TRANSPORT");
		str_copy(res->message, sizeof(res->message), ans.error);
		res->refused = ans.refused;
		res->timed_out = ans.timed_out;
		/* A refused connection never carried the request. */
		res->outcome = ans.refused ? LEDGER_OUTCOME_DEFINITE_FAILURE : LEDGER_OUTCOME_UNKNOWN;
		next_member(c);
		goto out;
	}
	resp = json_loadb(ans.body, ans.len, 0, NULL);
	header = json_object_get(resp, "header");
	if (res->http_status == 200 && etcd_u64(&rev, json_object_get(header, "revision")) == 0) {
		etcd_u64(&term, json_object_get(header, "raft_term"));
		res->outcome = LEDGER_OUTCOME_OK;
		res->index = rev;
		res->term = term;
		rc = 0;
		goto out;
	}
	msg = json_string_value(json_object_get(resp, "error"));
	if (!msg)
		msg = json_string_value(json_object_get(resp, "message"));
	str_copy(res->message, sizeof(res->message), msg ? msg : "unparseable answer");
	/* etcd refuses before proposing when it knows no leader; "request
	 * timed out", "leader changed" and the rest may have been applied. */
	if (msg && (strstr(msg, "no leader") || strstr(msg, "too many requests"))) {
		str_copy(res->code, sizeof(res->code), "UNAVAILABLE");
		res->outcome = LEDGER_OUTCOME_DEFINITE_FAILURE;
	} else {
		str_copy(res->code, sizeof(res->code), "UNKNOWN_OUTCOME");
		res->outcome = LEDGER_OUTCOME_UNKNOWN;
	}
	next_member(c);
out:
	json_decref(resp);
	json_decref(req);
	free(body);
	free(key);
	free(k64);
	free(v64);
	return rc;
}

struct ref_array {
	struct ledger_entry_ref *v;
	size_t n, cap;
};

static void ref_push(struct ref_array *a, uint64_t seq, uint64_t index)
{
	if (a->n == a->cap) {
		a->cap = a->cap ? a->cap * 2 : 1024;
		a->v = xrealloc(a->v, a->cap * sizeof(*a->v));
	}
	a->v[a->n].sequence = seq;
	a->v[a->n].index = index;
	a->n++;
}

/* One member's pages of the client's range, appended to out. */
static int read_from(struct etcd_client *c, int member, const char *client_id,
		     struct ref_array *out, struct dr_error *err)
{
	char *prefix = xasprintf(KEY_PREFIX "%s/", client_id);
	size_t plen = strlen(prefix);
	char *end = xstrdup(prefix), *from = xstrdup(prefix);
	int rc = -1;

	/* range_end = prefix with its last byte + 1: every key under it. */
	end[plen - 1]++;
	for (;;) {
		char *f64 = b64_encode(from, strlen(from)), *e64 = b64_encode(end, plen);
		json_t *req = json_pack("{s:s,s:s,s:i}", "key", f64, "range_end", e64, "limit", READ_PAGE);
		json_t *resp = NULL, *kv;
		long http = 0;
		size_t i;
		int more;

		free(f64);
		free(e64);
		if (etcd_call(c, member, "v3/kv/range", req, &resp, &http, err) != 0 || http != 200) {
			if (http && http != 200)
				dr_error_set(err, "range read on '%s' answered HTTP %ld: %s",
					     http_pool_address(c->pool, (size_t)member), http,
					     json_string_value(json_object_get(resp, "error")) ?: "?");
			json_decref(req);
			json_decref(resp);
			goto out;
		}
		json_decref(req);
		json_array_foreach(json_object_get(resp, "kvs"), i, kv) {
			size_t klen = 0;
			char *key = b64_decode(json_string_value(json_object_get(kv, "key")) ?: "", &klen);
			uint64_t mod = 0;
			int64_t seq = 0;

			if (!key || klen <= plen || parse_int64(&seq, key + plen, 0, INT64_MAX) != 0 ||
			    etcd_u64(&mod, json_object_get(kv, "mod_revision")) != 0) {
				free(key);
				continue; /* not one of ours (foreign key under the prefix) */
			}
			ref_push(out, (uint64_t)seq, mod);
			free(from);
			from = key;
		}
		more = json_is_true(json_object_get(resp, "more"));
		json_decref(resp);
		if (!more)
			break;
		/* The next page starts just after the last key: keys are
		 * fixed-width digits, so key + "\x01" sorts between it and the next. */
		{
			char *next = xasprintf("%s\x01", from);

			free(from);
			from = next;
		}
	}
	rc = 0;
out:
	free(prefix);
	free(end);
	free(from);
	return rc;
}

int etcd_read_client(struct etcd_client *c, const char *client_id,
		     struct ledger_entry_ref **out, size_t *n, struct dr_error *err)
{
	for (size_t k = 0; k < c->n; k++) {
		int member = (int)(((size_t)c->current + k) % c->n);
		struct ref_array a = { NULL, 0, 0 };

		if (read_from(c, member, client_id, &a, err) == 0) {
			*out = a.v ? a.v : xcalloc(1, sizeof(**out));
			*n = a.n;
			return 0;
		}
		free(a.v);
	}
	return dr_error_wrap(err, "cannot read the keys of client '%s' from any member", client_id);
}
