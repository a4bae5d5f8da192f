/* The entity state as JSON (snapshots, seed files, backups) and its digest
 * (ledger/daemon/entities.h). */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "common/base64.h"
#include "common/numparse.h"
#include "common/strbuf.h"
#include "ledger/daemon/entities.h"

static json_t *u64_str(uint64_t v)
{
	return json_sprintf("%" PRIu64, v);
}

json_t *ledger_entities_to_json(const struct ledger_entities *e)
{
	json_t *vaults = json_array();

	for (size_t i = 0; i < e->n_vaults; i++) {
		const struct ledger_vault *v = &e->vaults[i];
		json_t *ents = json_array();

		for (size_t j = 0; j < v->n; j++) {
			const struct ledger_entity *x = &v->ents[j];
			char *b64 = b64_encode(x->value, x->value_len);

			json_array_append_new(ents, json_pack("[s, s, o, I]", x->key, b64,
							      u64_str(x->expires_at),
							      (json_int_t)x->version));
			free(b64);
		}
		json_array_append_new(vaults, json_pack("{s:o, s:o, s:o}", "org", u64_str(v->org),
							"vault", u64_str(v->vault), "entities", ents));
	}
	return json_pack("{s:I, s:o, s:O, s:O}", "height", (json_int_t)e->height, "vaults", vaults,
			 "sequences", e->sequences, "idem", e->idem);
}

static int u64_of(uint64_t *out, const json_t *v, uint64_t min)
{
	const char *s = json_string_value(v);

	return s && parse_uint64(out, s, min, UINT64_MAX) == 0 ? 0 : -1;
}

static int hex_ok(const json_t *v, size_t bytes)
{
	const char *s = json_string_value(v);

	if (!s || strlen(s) != 2 * bytes)
		return 0;
	for (; *s; s++)
		if (!((*s >= '0' && *s <= '9') || (*s >= 'a' && *s <= 'f')))
			return 0;
	return 1;
}

/* One namespace from {"org","vault","entities"} into v (appended to e). */
static int vault_from_json(struct ledger_entities *e, const json_t *jv, uint64_t height,
			   struct dr_error *err)
{
	json_t *ents = json_object_get(jv, "entities"), *row;
	struct ledger_vault *v;
	struct dr_error kerr = DR_ERROR_INIT;
	uint64_t org, vault;
	size_t j;

	if (u64_of(&org, json_object_get(jv, "org"), 1) != 0 ||
	    u64_of(&vault, json_object_get(jv, "vault"), 1) != 0 || !json_is_array(ents))
		return dr_error_set(err, "entity state: a vault has no organization, vault or entities");
	if (e->n_vaults && (e->vaults[e->n_vaults - 1].org > org ||
			    (e->vaults[e->n_vaults - 1].org == org &&
			     e->vaults[e->n_vaults - 1].vault >= vault)))
		return dr_error_set(err, "entity state: vaults are not in order");
	if (e->n_vaults == e->alloc_vaults) {
		e->alloc_vaults = e->alloc_vaults ? 2 * e->alloc_vaults : 8;
		e->vaults = xrealloc(e->vaults, e->alloc_vaults * sizeof *e->vaults);
	}
	v = &e->vaults[e->n_vaults++];
	memset(v, 0, sizeof *v);
	v->org = org;
	v->vault = vault;
	v->alloc = json_array_size(ents);
	v->ents = xcalloc(v->alloc ? v->alloc : 1, sizeof *v->ents);
	json_array_foreach(ents, j, row) {
		struct ledger_entity *x = &v->ents[j];
		const char *key = json_string_value(json_array_get(row, 0));
		const char *b64 = json_string_value(json_array_get(row, 1));
		json_t *ver = json_array_get(row, 3);

		if (json_array_size(row) != 4 || !key || ledger_entity_key_check(key, "key", &kerr) != 0 ||
		    (j > 0 && strcmp(v->ents[j - 1].key, key) >= 0) || !b64 ||
		    u64_of(&x->expires_at, json_array_get(row, 2), 0) != 0 || !json_is_integer(ver) ||
		    json_integer_value(ver) < 1 || (uint64_t)json_integer_value(ver) > height)
			return dr_error_set(err, "entity state: entity %zu of vault %" PRIu64 "/%" PRIu64
					    " is malformed", j, org, vault);
		{
			size_t len = 0;
			unsigned char *raw = (unsigned char *)b64_decode(b64, &len);

			if (!raw)
				return dr_error_set(err, "entity state: the value of '%s' is not base64",
						    key);
			x->value = ledger_value_new(len); /* shared with readers (entities.h) */
			if (len)
				memcpy(x->value, raw, len);
			x->value_len = len;
			free(raw);
		}
		x->key = xstrdup(key);
		x->version = (uint64_t)json_integer_value(ver);
		v->n = j + 1;
		e->n_entities++;
	}
	return 0;
}

static int maps_ok(const json_t *seqs, const json_t *idem, uint64_t height)
{
	const char *k;
	json_t *v;

	if (!json_is_object(seqs) || !json_is_object(idem))
		return 0;
	json_object_foreach((json_t *)seqs, k, v)
		if (!json_is_integer(v) || json_integer_value(v) < 1)
			return 0;
	json_object_foreach((json_t *)idem, k, v) {
		json_t *h = json_array_get(v, 2), *s = json_array_get(v, 3);
		if (json_array_size(v) != 4 || !hex_ok(json_array_get(v, 0), SHA256_DIGEST_LEN) ||
		    !hex_ok(json_array_get(v, 1), 16) || !json_is_integer(h) || !json_is_integer(s) ||
		    json_integer_value(h) < 1 || (uint64_t)json_integer_value(h) > height ||
		    json_integer_value(s) < 1)
			return 0;
	}
	return 1;
}

int ledger_entities_from_json(struct ledger_entities *e, const json_t *j, struct dr_error *err)
{
	struct ledger_entities next;
	json_t *vaults = json_object_get(j, "vaults"), *jv;
	json_t *h = json_object_get(j, "height");
	size_t i;
	int rc = -1;

	ledger_entities_init(&next);
	if (!json_is_integer(h) || json_integer_value(h) < 0 || !json_is_array(vaults)) {
		dr_error_set(err, "entity state has no height or vaults");
		goto out;
	}
	next.height = (uint64_t)json_integer_value(h);
	if (!maps_ok(json_object_get(j, "sequences"), json_object_get(j, "idem"), next.height)) {
		dr_error_set(err, "entity state: malformed sequences or idempotency records");
		goto out;
	}
	json_array_foreach(vaults, i, jv)
		if (vault_from_json(&next, jv, next.height, err) != 0)
			goto out;
	json_object_update(next.sequences, json_object_get(j, "sequences"));
	json_object_update(next.idem, json_object_get(j, "idem"));
	ledger_entities_release(e);
	*e = next;
	ledger_entities_init(&next);
	rc = 0;
out:
	ledger_entities_release(&next);
	return rc;
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* Keys of o, sorted (borrowed strings; free the array). */
static const char **sorted_keys(const json_t *o, size_t *n)
{
	const char **keys = xcalloc(json_object_size(o) + 1, sizeof *keys);
	const char *k;
	json_t *v;

	*n = 0;
	json_object_foreach((json_t *)o, k, v)
		keys[(*n)++] = k;
	qsort(keys, *n, sizeof *keys, cmp_str);
	return keys;
}

static void add_lp(struct sha256 *s, const void *p, size_t n)
{
	struct strbuf sb = STRBUF_INIT;

	strbuf_addf(&sb, "%zu:", n);
	sha256_update(s, sb.buf, sb.len);
	sha256_update(s, p, n);
	strbuf_release(&sb);
}

void ledger_entities_digest(const struct ledger_entities *e, struct sha256 *s)
{
	struct strbuf sb = STRBUF_INIT;
	const char **keys;
	size_t n;

	strbuf_addf(&sb, "entities\t%" PRIu64 "\n", e->height);
	for (size_t i = 0; i < e->n_vaults; i++) {
		const struct ledger_vault *v = &e->vaults[i];
		strbuf_addf(&sb, "vault\t%" PRIu64 "\t%" PRIu64 "\n", v->org, v->vault);
		sha256_update(s, sb.buf, sb.len);
		strbuf_reset(&sb);
		for (size_t j = 0; j < v->n; j++) {
			add_lp(s, v->ents[j].key, strlen(v->ents[j].key));
			add_lp(s, v->ents[j].value, v->ents[j].value_len);
			strbuf_addf(&sb, "\t%" PRIu64 "\t%" PRIu64 "\n", v->ents[j].expires_at,
				    v->ents[j].version);
			sha256_update(s, sb.buf, sb.len);
			strbuf_reset(&sb);
		}
	}
	sha256_update(s, sb.buf, sb.len);
	keys = sorted_keys(e->sequences, &n);
	for (size_t i = 0; i < n; i++) {
		strbuf_reset(&sb);
		strbuf_addf(&sb, "\t%" JSON_INTEGER_FORMAT "\n",
			    json_integer_value(json_object_get(e->sequences, keys[i])));
		add_lp(s, keys[i], strlen(keys[i]));
		sha256_update(s, sb.buf, sb.len);
	}
	free(keys);
	keys = sorted_keys(e->idem, &n);
	for (size_t i = 0; i < n; i++) {
		json_t *r = json_object_get(e->idem, keys[i]);
		strbuf_reset(&sb);
		strbuf_addf(&sb, "\t%s\t%s\t%" JSON_INTEGER_FORMAT "\t%" JSON_INTEGER_FORMAT "\n",
			    json_string_value(json_array_get(r, 0)), json_string_value(json_array_get(r, 1)),
			    json_integer_value(json_array_get(r, 2)), json_integer_value(json_array_get(r, 3)));
		add_lp(s, keys[i], strlen(keys[i]));
		sha256_update(s, sb.buf, sb.len);
	}
	free(keys);
	strbuf_release(&sb);
}
