/* Validators of the ledger.v1 requests (gRPC threads): every shape error
 * is INVALID_ARGUMENT with a message naming the field. */
#include <string.h>

#include "ledger/daemon/svc_v1.h"

int ledgerd_validate_v1_write(const json_t *req, struct dr_error *err)
{
	struct ledger_write w;

	if (v1_write_parse(&w, req, err) != 0)
		return -1;
	ledger_write_release(&w);
	return 0;
}

static int want_text(const json_t *req, const char *field, size_t max, struct dr_error *err)
{
	json_t *v = json_object_get(req, field);

	if (!v)
		return 0;
	if (!json_is_string(v))
		return dr_error_set(err, "field '%s' must be a string", field);
	if (json_string_length(v) > max)
		return dr_error_set(err, "field '%s' is longer than %zu bytes", field, max);
	if (strlen(json_string_value(v)) != json_string_length(v))
		return dr_error_set(err, "field '%s' must not contain NUL characters", field);
	return 0;
}

static int page_token_matches(const json_t *req, uint64_t org, uint64_t vault,
			      struct dr_error *err)
{
	const char *token = json_string_value(json_object_get(req, "page_token"));
	const char *prefix = json_string_value(json_object_get(req, "key_prefix"));
	struct v1_page p;
	int ok;

	if (!token)
		return 0;
	if (v1_page_token_decode(&p, token, err) != 0)
		return -1;
	ok = p.org == org && p.vault == vault && strcmp(p.prefix, prefix ? prefix : "") == 0 &&
	     p.include_expired == json_is_true(json_object_get(req, "include_expired"));
	v1_page_release(&p);
	if (!ok)
		return dr_error_set(err, "field 'page_token' belongs to another query (organization, vault, key_prefix or include_expired changed)");
	return 0;
}

int ledgerd_validate_v1_list(const json_t *req, struct dr_error *err)
{
	const char *prefix, *consistency = json_string_value(json_object_get(req, "consistency"));
	uint64_t org, vault;

	if (v1_want_slug(&org, req, "organization", err) != 0 ||
	    v1_want_slug(&vault, req, "vault", err) != 0 ||
	    want_text(req, "key_prefix", LEDGER_ENTITY_KEY_MAX, err) != 0 ||
	    want_text(req, "page_token", 8192, err) != 0)
		return -1;
	prefix = json_string_value(json_object_get(req, "key_prefix"));
	if (prefix && prefix[0] == '_')
		return dr_error_set(err, "field 'key_prefix' must not start with '_' (reserved for system keys)");
	if (json_object_get(req, "consistency") &&
	    (!consistency || (strcmp(consistency, "READ_CONSISTENCY_UNSPECIFIED") != 0 &&
			      strcmp(consistency, "READ_CONSISTENCY_EVENTUAL") != 0 &&
			      strcmp(consistency, "READ_CONSISTENCY_LINEARIZABLE") != 0)))
		return dr_error_set(err, "field 'consistency' is not a ReadConsistency this ledger knows");
	return page_token_matches(req, org, vault, err);
}

int ledgerd_validate_v1_transfer(const json_t *req, struct dr_error *err)
{
	uint64_t v;

	if (v1_u64(&v, json_object_get(req, "target_node_id")) != 0)
		return dr_error_set(err, "field 'target_node_id' must be a uint64");
	if (v1_u64(&v, json_object_get(req, "timeout_ms")) != 0 || v > UINT32_MAX)
		return dr_error_set(err, "field 'timeout_ms' must be a uint32");
	return 0;
}

static int optional_slugs(const json_t *req, struct dr_error *err)
{
	uint64_t v;

	if (v1_slug(&v, req, "organization") != 0)
		return dr_error_set(err, "field 'organization' must be {\"slug\": <uint64>}");
	if (v1_slug(&v, req, "vault") != 0)
		return dr_error_set(err, "field 'vault' must be {\"slug\": <uint64>}");
	return 0;
}

int ledgerd_validate_v1_snapshot(const json_t *req, struct dr_error *err)
{
	return optional_slugs(req, err);
}

int ledgerd_validate_v1_backup(const json_t *req, struct dr_error *err)
{
	if (optional_slugs(req, err) != 0 || want_text(req, "tag", 256, err) != 0)
		return -1;
	return 0;
}

int ledgerd_validate_v1_restore(const json_t *req, struct dr_error *err)
{
	const char *id = json_string_value(json_object_get(req, "backup_id"));

	if (!id)
		return dr_error_set(err, "field 'backup_id' is required");
	if (!v1_backup_id_ok(id))
		return dr_error_set(err, "field 'backup_id' must be a backup id ([A-Za-z0-9._-], at most 128 bytes, no path)");
	return 0;
}
