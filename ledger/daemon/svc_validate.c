/* Request validation (HTTP threads): every shape error is a 400 with a
 * message naming the field. */
#include <stdint.h>
#include <string.h>

#include "ledger/client/wire.h"
#include "ledger/daemon/config.h"
#include "ledger/daemon/svc.h"

#define LEDGER_JSON_INT_MAX ((json_int_t)INT64_MAX)

static int want_string(const char **out, const json_t *req, const char *key, int required,
		       size_t max, struct dr_error *err)
{
	json_t *v = json_object_get(req, key);

	*out = NULL;
	if (!v) {
		if (required)
			return dr_error_set(err, "field '%s' is required", key);
		return 0;
	}
	if (!json_is_string(v))
		return dr_error_set(err, "field '%s' must be a string", key);
	if (json_string_length(v) == 0)
		return dr_error_set(err, "field '%s' must not be empty", key);
	if (json_string_length(v) > max)
		return dr_error_set(err, "field '%s' is longer than %zu bytes", key, max);
	if (strlen(json_string_value(v)) != json_string_length(v))
		return dr_error_set(err, "field '%s' must not contain NUL characters", key);
	*out = json_string_value(v);
	return 0;
}

static int want_int(json_int_t *out, const json_t *req, const char *key, int required,
		    json_int_t min, json_int_t max, struct dr_error *err)
{
	json_t *v = json_object_get(req, key);

	if (!v) {
		if (required)
			return dr_error_set(err, "field '%s' is required", key);
		return 0;
	}
	if (!json_is_integer(v))
		return dr_error_set(err, "field '%s' must be an integer", key);
	if (json_integer_value(v) < min || json_integer_value(v) > max)
		return dr_error_set(err, "field '%s' must be between %" JSON_INTEGER_FORMAT
				    " and %" JSON_INTEGER_FORMAT, key, min, max);
	*out = json_integer_value(v);
	return 0;
}

int ledgerd_validate_append(const json_t *req, struct dr_error *err)
{
	const char *s;
	json_int_t seq;
	json_t *p = json_object_get(req, "payload");

	/* proto3 sends no field at its zero value: a missing sequence is
	 * sequence 0 and a missing payload the empty one, both valid.  Only
	 * client_id must be there, since it may not be empty. */
	if (want_string(&s, req, "client_id", 1, LEDGER_MAX_CLIENT_ID, err) != 0 ||
	    want_int(&seq, req, "sequence", 0, 0, LEDGER_JSON_INT_MAX, err) != 0)
		return -1;
	if (!p)
		return 0;
	if (!json_is_string(p))
		return dr_error_set(err, "field 'payload' must be a string");
	if (json_string_length(p) > LEDGER_MAX_PAYLOAD)
		return dr_error_set(err, "field 'payload' is longer than %d bytes", LEDGER_MAX_PAYLOAD);
	if (strlen(json_string_value(p)) != json_string_length(p))
		return dr_error_set(err, "field 'payload' must not contain NUL characters");
	return 0;
}

int ledgerd_validate_read(const json_t *req, struct dr_error *err)
{
	json_int_t v;

	if (want_int(&v, req, "from_index", 0, 1, LEDGER_JSON_INT_MAX, err) != 0 ||
	    want_int(&v, req, "limit", 0, 1, LEDGER_READ_MAX_LIMIT, err) != 0)
		return -1;
	return 0;
}

int ledgerd_validate_transfer(const json_t *req, struct dr_error *err)
{
	json_int_t id;
	const char *region;
	int has_id = json_object_get(req, "node_id") != NULL;
	int has_region = json_object_get(req, "region") != NULL;

	if (has_id == has_region)
		return dr_error_set(err, "give exactly one of 'node_id' and 'region'");
	if (want_int(&id, req, "node_id", 0, 1, LEDGER_JSON_INT_MAX, err) != 0 ||
	    want_string(&region, req, "region", 0, 128, err) != 0)
		return -1;
	return 0;
}

int ledgerd_validate_force(const json_t *req, struct dr_error *err)
{
	const char *region;
	json_t *adl = json_object_get(req, "allow_data_loss");

	if (want_string(&region, req, "region", 1, 128, err) != 0)
		return -1;
	if (adl && !json_is_boolean(adl))
		return dr_error_set(err, "field 'allow_data_loss' must be a boolean");
	return 0;
}

int ledgerd_validate_restore(const json_t *req, struct dr_error *err)
{
	const char *path;

	return want_string(&path, req, "path", 1, 4096, err);
}

int ledgerd_validate_add_member(const json_t *req, struct dr_error *err)
{
	json_int_t id;
	const char *a, *ra, *region, *role, *zone;

	if (want_int(&id, req, "id", 1, 1, LEDGER_JSON_INT_MAX, err) != 0 ||
	    want_string(&a, req, "address", 1, 256, err) != 0 ||
	    want_string(&ra, req, "raft_address", 1, 256, err) != 0 ||
	    want_string(&region, req, "region", 1, 128, err) != 0 ||
	    want_string(&role, req, "region_role", 1, 16, err) != 0 ||
	    want_string(&zone, req, "zone", 1, 128, err) != 0)
		return -1;
	if (!ledgerd_addr_valid(a) || !ledgerd_addr_valid(ra))
		return dr_error_set(err, "fields 'address' and 'raft_address' must be host:port");
	if (strcmp(role, "primary") != 0 && strcmp(role, "dr") != 0 && strcmp(role, "witness") != 0)
		return dr_error_set(err, "field 'region_role' must be primary, dr or witness");
	return 0;
}

int ledgerd_validate_remove_member(const json_t *req, struct dr_error *err)
{
	json_int_t id;

	return want_int(&id, req, "id", 1, 1, LEDGER_JSON_INT_MAX, err);
}

int ledgerd_validate_partition(const json_t *req, struct dr_error *err)
{
	json_t *peers = json_object_get(req, "peers"), *v;
	size_t i;

	if (!peers)
		return dr_error_set(err, "field 'peers' is required");
	if (!json_is_array(peers))
		return dr_error_set(err, "field 'peers' must be an array of node ids");
	if (json_array_size(peers) > 64)
		return dr_error_set(err, "field 'peers' has more than 64 ids");
	json_array_foreach(peers, i, v)
		if (!json_is_integer(v) || json_integer_value(v) < 1)
			return dr_error_set(err, "field 'peers' item %zu must be a node id (integer >= 1)", i);
	return 0;
}

int ledgerd_validate_refuse(const json_t *req, struct dr_error *err)
{
	json_int_t ms;

	return want_int(&ms, req, "duration_ms", 1, 1, 3600000, err);
}

int ledgerd_validate_drop_install_snapshot(const json_t *req, struct dr_error *err)
{
	json_int_t count;

	return want_int(&count, req, "count", 1, 0, LEDGERD_MAX_DROP_INSTALL_SNAPSHOT, err);
}

int ledgerd_validate_drop(const json_t *req, struct dr_error *err)
{
	const char *s;
	json_int_t seq;

	if (want_string(&s, req, "client_id", 1, LEDGER_MAX_CLIENT_ID, err) != 0 ||
	    want_int(&seq, req, "sequence", 1, 0, LEDGER_JSON_INT_MAX, err) != 0)
		return -1;
	return 0;
}
