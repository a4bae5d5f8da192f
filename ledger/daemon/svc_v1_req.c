/* Reading ledger.v1 request documents (ledger/daemon/svc_v1.h). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/base64.h"
#include "common/numparse.h"
#include "common/strbuf.h"
#include "ledger/daemon/svc_v1.h"

int v1_u64(uint64_t *out, const json_t *v)
{
	*out = 0;
	if (!v)
		return 0;
	if (json_is_integer(v) && json_integer_value(v) >= 0) {
		*out = (uint64_t)json_integer_value(v);
		return 0;
	}
	if (json_is_string(v) && parse_uint64(out, json_string_value(v), 0, UINT64_MAX) == 0)
		return 0;
	return -1;
}

int v1_slug(uint64_t *out, const json_t *req, const char *field)
{
	json_t *v = json_object_get(req, field);

	*out = 0;
	if (!v)
		return 0;
	if (!json_is_object(v))
		return -1;
	return v1_u64(out, json_object_get(v, "slug"));
}

int v1_want_slug(uint64_t *out, const json_t *req, const char *field, struct dr_error *err)
{
	if (v1_slug(out, req, field) != 0)
		return dr_error_set(err, "field '%s' must be {\"slug\": <uint64>}", field);
	if (!json_object_get(req, field))
		return dr_error_set(err, "field '%s' is required", field);
	if (*out == 0)
		return dr_error_set(err, "field '%s.slug' must be non-zero", field);
	return 0;
}

static int parse_client_id(struct ledger_write *w, const json_t *req, struct dr_error *err)
{
	json_t *c = json_object_get(req, "client_id");
	json_t *id = json_object_get(c, "id");
	const char *s = json_string_value(id);

	if (c && !json_is_object(c))
		return dr_error_set(err, "field 'client_id' must be {\"id\": <string>}");
	if (id && !s)
		return dr_error_set(err, "field 'client_id.id' must be a string");
	if (s && json_string_length(id) > LEDGER_CLIENT_ID_MAX)
		return dr_error_set(err, "field 'client_id.id' is longer than %d bytes",
				    LEDGER_CLIENT_ID_MAX);
	if (s && strlen(s) != json_string_length(id))
		return dr_error_set(err, "field 'client_id.id' must not contain NUL characters");
	w->client_id = xstrdup(s ? s : "");
	return 0;
}

static int parse_idem(struct ledger_write *w, const json_t *req, struct dr_error *err)
{
	const char *b64 = json_string_value(json_object_get(req, "idempotency_key"));
	size_t len = 0;
	char *raw;

	if (!b64)
		return dr_error_set(err, "field 'idempotency_key' is required (16 bytes)");
	raw = b64_decode(b64, &len);
	if (!raw)
		return dr_error_set(err, "field 'idempotency_key' is not base64");
	if (len != LEDGER_IDEM_LEN) {
		free(raw);
		return dr_error_set(err, "field 'idempotency_key' must be exactly %d bytes, not %zu",
				    LEDGER_IDEM_LEN, len);
	}
	memcpy(w->idem, raw, LEDGER_IDEM_LEN);
	free(raw);
	return 0;
}

static int parse_op(struct ledger_set_op *op, const json_t *jop, size_t i, struct dr_error *err)
{
	json_t *set = json_object_get(jop, "set_entity");
	const char *key = json_string_value(json_object_get(set, "key"));
	const char *b64 = json_string_value(json_object_get(set, "value"));
	char field[64];

	if (!json_is_object(set))
		return dr_error_set(err, "field 'operations[%zu]' has no operation (set_entity is the one served here)",
				    i);
	snprintf(field, sizeof field, "operations[%zu].set_entity.key", i);
	if (ledger_entity_key_check(key, field, err) != 0)
		return -1;
	if (v1_u64(&op->expires_at, json_object_get(set, "expires_at")) != 0)
		return dr_error_set(err, "field 'operations[%zu].set_entity.expires_at' must be a uint64", i);
	op->key = xstrdup(key);
	op->value = (unsigned char *)(b64 ? b64_decode(b64, &op->value_len) : xstrdup(""));
	if (!op->value)
		return dr_error_set(err, "field 'operations[%zu].set_entity.value' is not base64", i);
	if (op->value_len > LEDGER_ENTITY_VALUE_MAX)
		return dr_error_set(err, "field 'operations[%zu].set_entity.value' is %zu bytes, more than %d",
				    i, op->value_len, LEDGER_ENTITY_VALUE_MAX);
	return 0;
}

int v1_write_parse(struct ledger_write *out, const json_t *req, struct dr_error *err)
{
	json_t *ops = json_object_get(req, "operations"), *jop;
	size_t i;

	memset(out, 0, sizeof *out);
	if (v1_want_slug(&out->org, req, "organization", err) != 0 ||
	    v1_want_slug(&out->vault, req, "vault", err) != 0 || parse_client_id(out, req, err) != 0 ||
	    parse_idem(out, req, err) != 0)
		goto bad;
	if (!json_is_array(ops) || json_array_size(ops) == 0) {
		dr_error_set(err, "field 'operations' must hold at least one operation");
		goto bad;
	}
	if (json_array_size(ops) > LEDGER_WRITE_MAX_OPS) {
		dr_error_set(err, "field 'operations' has %zu operations, more than %d",
			     json_array_size(ops), LEDGER_WRITE_MAX_OPS);
		goto bad;
	}
	out->ops = xcalloc(json_array_size(ops), sizeof *out->ops);
	json_array_foreach(ops, i, jop) {
		out->n_ops = i + 1;
		if (parse_op(&out->ops[i], jop, i, err) != 0)
			goto bad;
	}
	return 0;
bad:
	ledger_write_release(out);
	return -1;
}

int v1_backup_id_ok(const char *id)
{
	size_t len = id ? strlen(id) : 0;

	if (len == 0 || len > 128 || strcmp(id, ".") == 0 || strcmp(id, "..") == 0)
		return 0;
	for (size_t i = 0; i < len; i++) {
		char c = id[i];
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		      c == '.' || c == '_' || c == '-'))
			return 0;
	}
	return 1;
}
