/* drillrig's writes in the ledger.v1 dialect (ledger/client/ledger_v1.h). */
#include "ledger/client/ledger_v1.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/base64.h"
#include "common/clock.h"
#include "common/numparse.h"
#include "common/sha256.h"
#include "common/strbuf.h"

#define LIST_PAGE_LIMIT 1000

char *ledger_v1_key(const struct ledger_v1_scope *s, const char *client_id, uint64_t sequence)
{
	/* Zero-padded: ListEntities returns keys in order, so pages come back
	 * in sequence order. */
	return xasprintf("%s%s/%020llu", s->key_prefix ? s->key_prefix : "", client_id,
			 (unsigned long long)sequence);
}

/* A name-based UUID (version 8, RFC 9562) of (client id, sequence): every
 * retry of one write carries the same idempotency key. */
static char *idempotency_key(const char *client_id, uint64_t sequence)
{
	unsigned char digest[SHA256_DIGEST_LEN];
	struct sha256 h;
	char seq[32];

	snprintf(seq, sizeof(seq), "/%llu", (unsigned long long)sequence);
	sha256_init(&h);
	sha256_update(&h, "drillrig-canary:", 16);
	sha256_update(&h, client_id, strlen(client_id));
	sha256_update(&h, seq, strlen(seq));
	sha256_final(&h, digest);
	digest[6] = (unsigned char)((digest[6] & 0x0f) | 0x80);
	digest[8] = (unsigned char)((digest[8] & 0x3f) | 0x80);
	return b64_encode(digest, 16);
}

json_t *ledger_v1_write_request(const struct ledger_v1_scope *s, const char *client_id,
				uint64_t sequence, const char *payload, int64_t now_s)
{
	char *key = ledger_v1_key(s, client_id, sequence);
	char *value = b64_encode(payload, strlen(payload));
	char *idem = idempotency_key(client_id, sequence);
	json_t *entity = json_pack("{s:s,s:s}", "key", key, "value", value), *req;

	if (s->ttl_s > 0) /* uint64 in proto3 JSON: a decimal string */
		json_object_set_new(entity, "expiresAt",
				    json_sprintf("%lld", (long long)(now_s + s->ttl_s)));
	req = json_pack("{s:{s:s},s:{s:s},s:{s:s},s:s,s:[{s:o}],s:{s:s}}",
			"organization", "slug", s->organization,
			"vault", "slug", s->vault,
			"clientId", "id", client_id,
			"idempotencyKey", idem,
			"operations", "setEntity", entity,
			"caller", "slug", s->caller);
	free(key);
	free(value);
	free(idem);
	return req;
}

json_t *ledger_v1_list_request(const struct ledger_v1_scope *s, const char *client_id,
			       const char *page_token, int limit)
{
	char *prefix = xasprintf("%s%s%s", s->key_prefix ? s->key_prefix : "",
				 client_id ? client_id : "", client_id ? "/" : "");
	json_t *req = json_pack("{s:{s:s},s:{s:s},s:s,s:s,s:{s:s},s:i}",
				"organization", "slug", s->organization,
				"vault", "slug", s->vault,
				"keyPrefix", prefix,
				"consistency", "READ_CONSISTENCY_LINEARIZABLE",
				"caller", "slug", s->caller,
				"limit", limit > 0 ? limit : LIST_PAGE_LIMIT);

	if (page_token && *page_token)
		json_object_set_new(req, "pageToken", json_string(page_token));
	free(prefix);
	return req;
}

/* A field by its proto name or its lowerCamelCase JSON name. */
static json_t *field(const json_t *obj, const char *snake, const char *camel)
{
	json_t *v = json_object_get(obj, snake);

	return v ? v : json_object_get(obj, camel);
}

/* A proto3 JSON uint64: a decimal string, or a plain number.  0 when absent
 * or malformed. */
static uint64_t u64_of(const json_t *v)
{
	uint64_t u = 0;

	if (json_is_integer(v) && json_integer_value(v) > 0)
		return (uint64_t)json_integer_value(v);
	if (json_is_string(v) && parse_uint64(&u, json_string_value(v), 0, UINT64_MAX) == 0)
		return u;
	return 0;
}

static void set_result(struct ledger_append_result *res, enum ledger_outcome outcome,
		       const char *code, const char *fmt, ...) __attribute__((format(printf, 4, 5)));

static void set_result(struct ledger_append_result *res, enum ledger_outcome outcome,
		       const char *code, const char *fmt, ...)
{
	va_list ap;

	res->outcome = outcome;
	str_copy(res->code, sizeof(res->code), code);
	va_start(ap, fmt);
	vsnprintf(res->message, sizeof(res->message), fmt, ap);
	va_end(ap);
}

void ledger_v1_classify_write(const json_t *answer, struct ledger_append_result *res)
{
	json_t *v;

	if (!json_is_object(answer)) {
		set_result(res, LEDGER_OUTCOME_UNKNOWN, "UNKNOWN_OUTCOME", "Write answered no message");
	} else if (json_is_object(v = json_object_get(answer, "success"))) {
		res->index = u64_of(field(v, "block_height", "blockHeight"));
		set_result(res, LEDGER_OUTCOME_OK, "", "%s", "");
	} else if (json_is_object(v = json_object_get(answer, "error"))) {
		const char *code = json_string_value(json_object_get(v, "code"));
		const char *msg = json_string_value(json_object_get(v, "message"));

		if (code && strcmp(code, "WRITE_ERROR_CODE_ALREADY_COMMITTED") == 0) {
			/* A retry of a write that had committed: acknowledged. */
			res->index = u64_of(field(v, "committed_block_height", "committedBlockHeight"));
			set_result(res, LEDGER_OUTCOME_OK, "", "%s", "");
		} else if (code && strcmp(code, "WRITE_ERROR_CODE_IDEMPOTENCY_KEY_REUSED") == 0) {
			/* An earlier attempt with this key reached the ledger; what it
			 * became is not said. */
			set_result(res, LEDGER_OUTCOME_UNKNOWN, "UNKNOWN_OUTCOME",
				   "Write: idempotency key already used%s%s", msg ? ": " : "",
				   msg ? msg : "");
		} else {
			set_result(res, LEDGER_OUTCOME_DEFINITE_FAILURE, "FAILED_PRECONDITION",
				   "Write refused: %s%s%s", code ? code : "(no code)", msg ? ": " : "",
				   msg ? msg : "");
		}
	} else {
		set_result(res, LEDGER_OUTCOME_UNKNOWN, "UNKNOWN_OUTCOME",
			   "Write answered neither success nor error");
	}
}

int ledger_v1_parse_page(const json_t *answer, const struct ledger_v1_scope *s,
			 const char *client_id, ledger_v1_entry_fn fn, void *payload,
			 char **next_token, struct dr_error *err)
{
	json_t *entities = json_object_get(answer, "entities"), *e;
	const char *token = json_string_value(field(answer, "next_page_token", "nextPageToken"));
	char *prefix = xasprintf("%s%s%s", s->key_prefix ? s->key_prefix : "",
				 client_id ? client_id : "", client_id ? "/" : "");
	size_t plen = strlen(prefix), i;

	*next_token = NULL;
	if (!json_is_object(answer) || (entities && !json_is_array(entities))) {
		free(prefix);
		return dr_error_set(err, "ListEntities answered entities that are not a list");
	}
	json_array_foreach(entities, i, e) {
		const char *key = json_string_value(json_object_get(e, "key"));
		const char *value = json_string_value(json_object_get(e, "value"));
		const char *slash;
		char *cid;
		uint64_t seq;

		if (!key || strncmp(key, prefix, plen) != 0)
			continue;
		/* <prefix><client id>/<sequence>: a client id may hold '/', a
		 * sequence never does. */
		if (client_id) {
			slash = key + plen - 1;
		} else {
			slash = strrchr(key + plen, '/');
			if (!slash || slash == key + plen)
				continue;
		}
		if (parse_uint64(&seq, slash + 1, 0, UINT64_MAX) != 0)
			continue;
		cid = client_id ? xstrdup(client_id) : xstrndup(key + plen, (size_t)(slash - (key + plen)));
		fn(cid, seq, u64_of(json_object_get(e, "version")), value ? value : "", payload);
		free(cid);
	}
	*next_token = xstrdup(token ? token : "");
	free(prefix);
	return 0;
}

int ledger_v1_status_of_info(const json_t *info, json_t **out, struct dr_error *err)
{
	json_t *members = json_object_get(info, "members"), *m, *list, *leader = json_null();
	uint64_t leader_id = u64_of(field(info, "leader_id", "leaderId"));
	size_t i, voters = 0;

	*out = NULL;
	if (!json_is_array(members))
		return dr_error_set(err, "GetClusterInfo answered without a members list");
	list = json_array();
	json_array_foreach(members, i, m) {
		uint64_t id = u64_of(field(m, "node_id", "nodeId"));
		const char *addr = json_string_value(json_object_get(m, "address"));
		const char *role = json_string_value(json_object_get(m, "role"));
		int learner = role && strcmp(role, "CLUSTER_MEMBER_ROLE_LEARNER") == 0;
		int is_leader = json_is_true(field(m, "is_leader", "isLeader")) ||
				(leader_id && id == leader_id);

		if (is_leader && !json_is_object(leader))
			leader = json_pack("{s:I,s:s}", "id", (json_int_t)id, "address", addr ? addr : "");
		voters += !learner;
		json_array_append_new(list, json_pack("{s:I,s:s,s:s,s:s}", "id", (json_int_t)id,
						      "address", addr ? addr : "",
						      "role", learner ? "learner" : "voter",
						      "state", is_leader ? "leader" : "follower"));
	}
	*out = json_pack("{s:I,s:o,s:i,s:o,s:s}",
			 "term", (json_int_t)u64_of(json_object_get(info, "term")), "leader", leader,
			 "voters", (int)voters, "members", list, "api", "ledger.v1");
	return 0;
}
