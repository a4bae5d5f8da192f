/* The entity state of the ledger.v1 dialect (ledger/daemon/entities.h):
 * applying Writes, idempotency, lookups and listing. */
#include "ledger/daemon/entities.h"

#include <inttypes.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/base64.h"
#include "common/numparse.h"
#include "common/strbuf.h"

void ledger_entities_init(struct ledger_entities *e)
{
	memset(e, 0, sizeof *e);
	e->sequences = json_object();
	e->idem = json_object();
}

/* The count in front of a value's bytes, aligned like malloc's memory. */
union value_head {
	int refs;       /* atomic */
	max_align_t align;
};

unsigned char *ledger_value_new(size_t len)
{
	union value_head *h = xmalloc(sizeof *h + (len ? len : 1));

	h->refs = 1;
	return (unsigned char *)(h + 1);
}

unsigned char *ledger_value_ref(unsigned char *value)
{
	__atomic_add_fetch(&((union value_head *)value - 1)->refs, 1, __ATOMIC_RELAXED);
	return value;
}

void ledger_value_unref(unsigned char *value)
{
	union value_head *h;

	if (!value)
		return;
	h = (union value_head *)value - 1;
	/* acq_rel: the thread that frees sees every other holder done */
	if (__atomic_sub_fetch(&h->refs, 1, __ATOMIC_ACQ_REL) == 0)
		free(h);
}

static void entity_free(struct ledger_entity *x)
{
	free(x->key);
	ledger_value_unref(x->value);
}

void ledger_entities_release(struct ledger_entities *e)
{
	for (size_t i = 0; i < e->n_vaults; i++) {
		for (size_t j = 0; j < e->vaults[i].n; j++)
			entity_free(&e->vaults[i].ents[j]);
		free(e->vaults[i].ents);
	}
	free(e->vaults);
	json_decref(e->sequences);
	json_decref(e->idem);
	memset(e, 0, sizeof *e);
}

void ledger_write_release(struct ledger_write *w)
{
	for (size_t i = 0; i < w->n_ops; i++) {
		free(w->ops[i].key);
		free(w->ops[i].value);
	}
	free(w->ops);
	free(w->client_id);
	memset(w, 0, sizeof *w);
}

/* ---- keys ---------------------------------------------------------------- */

static int key_char(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
	       c == ':' || c == '/' || c == '_' || c == '.' || c == '-';
}

int ledger_entity_key_check(const char *key, const char *field, struct dr_error *err)
{
	size_t len = key ? strlen(key) : 0;

	if (len == 0)
		return dr_error_set(err, "field '%s' must not be empty", field);
	if (key[0] == '_')
		return dr_error_set(err, "field '%s' must not start with '_' (reserved for system keys)",
				    field);
	if (len > LEDGER_ENTITY_KEY_MAX)
		return dr_error_set(err, "field '%s' is %zu bytes, more than %d", field, len,
				    LEDGER_ENTITY_KEY_MAX);
	for (size_t i = 0; i < len; i++)
		if (!key_char(key[i]))
			return dr_error_set(err, "field '%s' has a character outside [a-zA-Z0-9:/_.-] at byte %zu",
					    field, i);
	return 0;
}

/* ---- hex ----------------------------------------------------------------- */

static void hex_encode(char *out, const unsigned char *p, size_t n)
{
	static const char digits[] = "0123456789abcdef";

	for (size_t i = 0; i < n; i++) {
		out[2 * i] = digits[p[i] >> 4];
		out[2 * i + 1] = digits[p[i] & 15];
	}
	out[2 * n] = '\0';
}

static int hex_nibble(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

static int hex_decode(unsigned char *out, size_t n, const char *hex)
{
	if (!hex || strlen(hex) != 2 * n)
		return -1;
	for (size_t i = 0; i < n; i++) {
		int hi = hex_nibble(hex[2 * i]), lo = hex_nibble(hex[2 * i + 1]);
		if (hi < 0 || lo < 0)
			return -1;
		out[i] = (unsigned char)(hi << 4 | lo);
	}
	return 0;
}

static int is_zero(const unsigned char *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (p[i])
			return 0;
	return 1;
}

/* ---- the command --------------------------------------------------------- */

static void put_le64(struct sha256 *s, uint64_t v)
{
	unsigned char b[8];

	for (int i = 0; i < 8; i++)
		b[i] = (unsigned char)(v >> (8 * i));
	sha256_update(s, b, 8);
}

void ledger_write_hash(const struct ledger_write *w, unsigned char out[SHA256_DIGEST_LEN])
{
	struct sha256 s;

	sha256_init(&s);
	for (size_t i = 0; i < w->n_ops; i++) {
		const struct ledger_set_op *op = &w->ops[i];
		sha256_update(&s, "SE", 2);
		put_le64(&s, strlen(op->key));
		sha256_update(&s, op->key, strlen(op->key));
		put_le64(&s, op->value_len);
		sha256_update(&s, op->value, op->value_len);
		put_le64(&s, op->expires_at);
	}
	sha256_final(&s, out);
}

static json_t *u64_str(uint64_t v)
{
	return json_sprintf("%" PRIu64, v);
}

char *ledger_cmd_write(const struct ledger_write *w)
{
	char idem[2 * LEDGER_IDEM_LEN + 1], tx[2 * LEDGER_TX_ID_LEN + 1];
	json_t *ops = json_array(), *o;
	char *text;

	hex_encode(idem, w->idem, LEDGER_IDEM_LEN);
	hex_encode(tx, w->tx_id, LEDGER_TX_ID_LEN);
	for (size_t i = 0; i < w->n_ops; i++) {
		char *b64 = b64_encode(w->ops[i].value, w->ops[i].value_len);
		json_array_append_new(ops, json_pack("{s:s, s:s, s:o}", "key", w->ops[i].key, "value",
						     b64, "expires_at", u64_str(w->ops[i].expires_at)));
		free(b64);
	}
	o = json_pack("{s:s, s:o, s:o, s:s, s:s, s:s, s:o}", "op", "write", "org", u64_str(w->org),
		      "vault", u64_str(w->vault), "client_id", w->client_id ? w->client_id : "",
		      "idem", idem, "tx_id", tx, "ops", ops);
	text = json_dumps(o, JSON_COMPACT);
	json_decref(o);
	return text;
}

static int get_u64(uint64_t *out, const json_t *cmd, const char *key, uint64_t min)
{
	const char *s = json_string_value(json_object_get(cmd, key));

	return s && parse_uint64(out, s, min, UINT64_MAX) == 0 ? 0 : -1;
}

int ledger_write_from_cmd(struct ledger_write *out, const json_t *cmd, struct dr_error *err)
{
	json_t *ops = json_object_get(cmd, "ops"), *op;
	const char *client = json_string_value(json_object_get(cmd, "client_id"));
	size_t i;

	memset(out, 0, sizeof *out);
	if (get_u64(&out->org, cmd, "org", 1) != 0 || get_u64(&out->vault, cmd, "vault", 1) != 0)
		return dr_error_set(err, "malformed write command: bad organization or vault");
	if (!client || strlen(client) > LEDGER_CLIENT_ID_MAX ||
	    hex_decode(out->idem, LEDGER_IDEM_LEN, json_string_value(json_object_get(cmd, "idem"))) != 0 ||
	    hex_decode(out->tx_id, LEDGER_TX_ID_LEN,
		       json_string_value(json_object_get(cmd, "tx_id"))) != 0)
		return dr_error_set(err, "malformed write command: bad client_id, idem or tx_id");
	if (!json_is_array(ops) || json_array_size(ops) == 0 ||
	    json_array_size(ops) > LEDGER_WRITE_MAX_OPS)
		return dr_error_set(err, "malformed write command: 'ops' must hold 1 to %d operations",
				    LEDGER_WRITE_MAX_OPS);
	out->client_id = xstrdup(client);
	out->ops = xcalloc(json_array_size(ops), sizeof *out->ops);
	json_array_foreach(ops, i, op) {
		struct ledger_set_op *s = &out->ops[i];
		const char *key = json_string_value(json_object_get(op, "key"));
		const char *val = json_string_value(json_object_get(op, "value"));
		struct dr_error kerr = DR_ERROR_INIT;

		out->n_ops = i + 1;
		if (!key || ledger_entity_key_check(key, "key", &kerr) != 0 || !val ||
		    get_u64(&s->expires_at, op, "expires_at", 0) != 0)
			goto bad;
		s->key = xstrdup(key);
		s->value = (unsigned char *)b64_decode(val, &s->value_len);
		if (!s->value || s->value_len > LEDGER_ENTITY_VALUE_MAX)
			goto bad;
		continue;
bad:
		ledger_write_release(out);
		return dr_error_set(err, "malformed write command: operation %zu", i);
	}
	return 0;
}

/* ---- namespaces and entities --------------------------------------------- */

static int vault_cmp(const struct ledger_vault *v, uint64_t org, uint64_t vault)
{
	if (v->org != org)
		return v->org < org ? -1 : 1;
	if (v->vault != vault)
		return v->vault < vault ? -1 : 1;
	return 0;
}

/* Index of the first namespace not before (org, vault). */
static size_t vault_lower(const struct ledger_entities *e, uint64_t org, uint64_t vault)
{
	size_t lo = 0, hi = e->n_vaults;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (vault_cmp(&e->vaults[mid], org, vault) < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

const struct ledger_vault *ledger_entities_vault(const struct ledger_entities *e, uint64_t org,
						 uint64_t vault)
{
	size_t i = vault_lower(e, org, vault);

	return i < e->n_vaults && vault_cmp(&e->vaults[i], org, vault) == 0 ? &e->vaults[i] : NULL;
}

static struct ledger_vault *vault_get_or_add(struct ledger_entities *e, uint64_t org,
					     uint64_t vault)
{
	size_t i = vault_lower(e, org, vault);

	if (i < e->n_vaults && vault_cmp(&e->vaults[i], org, vault) == 0)
		return &e->vaults[i];
	if (e->n_vaults == e->alloc_vaults) {
		e->alloc_vaults = e->alloc_vaults ? 2 * e->alloc_vaults : 8;
		e->vaults = xrealloc(e->vaults, e->alloc_vaults * sizeof *e->vaults);
	}
	memmove(&e->vaults[i + 1], &e->vaults[i], (e->n_vaults - i) * sizeof *e->vaults);
	e->n_vaults++;
	memset(&e->vaults[i], 0, sizeof e->vaults[i]);
	e->vaults[i].org = org;
	e->vaults[i].vault = vault;
	return &e->vaults[i];
}

/* Index of the first entity whose key is not below key (after: above). */
static size_t key_lower(const struct ledger_vault *v, const char *key, int after)
{
	size_t lo = 0, hi = v->n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int c = strcmp(v->ents[mid].key, key);
		if (c < 0 || (after && c == 0))
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

const struct ledger_entity *ledger_entities_get(const struct ledger_entities *e, uint64_t org,
						uint64_t vault, const char *key)
{
	const struct ledger_vault *v = ledger_entities_vault(e, org, vault);
	size_t i;

	if (!v)
		return NULL;
	i = key_lower(v, key, 0);
	return i < v->n && strcmp(v->ents[i].key, key) == 0 ? &v->ents[i] : NULL;
}

static void entity_set(struct ledger_entities *e, struct ledger_vault *v,
		       const struct ledger_set_op *op, uint64_t height)
{
	size_t i = key_lower(v, op->key, 0);
	struct ledger_entity *x;

	if (i < v->n && strcmp(v->ents[i].key, op->key) == 0) {
		x = &v->ents[i];
		ledger_value_unref(x->value);
	} else {
		if (v->n == v->alloc) {
			v->alloc = v->alloc ? 2 * v->alloc : 16;
			v->ents = xrealloc(v->ents, v->alloc * sizeof *v->ents);
		}
		memmove(&v->ents[i + 1], &v->ents[i], (v->n - i) * sizeof *v->ents);
		v->n++;
		e->n_entities++;
		x = &v->ents[i];
		x->key = xstrdup(op->key);
	}
	x->value = ledger_value_new(op->value_len);
	if (op->value_len)
		memcpy(x->value, op->value, op->value_len);
	x->value_len = op->value_len;
	x->expires_at = op->expires_at;
	x->version = height;
}

/* ---- idempotency and sequences ------------------------------------------- */

static char *seq_key(const struct ledger_write *w)
{
	return xasprintf("%" PRIu64 "/%" PRIu64 "/%s", w->org, w->vault, w->client_id);
}

static char *idem_key(const struct ledger_write *w)
{
	char hex[2 * LEDGER_IDEM_LEN + 1];

	hex_encode(hex, w->idem, LEDGER_IDEM_LEN);
	return xasprintf("%" PRIu64 "/%" PRIu64 "/%s/%s", w->org, w->vault, hex, w->client_id);
}

static enum ledger_write_outcome check_hashed(const struct ledger_entities *e,
					      const struct ledger_write *w,
					      const unsigned char hash[SHA256_DIGEST_LEN],
					      struct ledger_write_result *out)
{
	char hex[2 * SHA256_DIGEST_LEN + 1];
	char *key;
	json_t *rec;

	memset(out, 0, sizeof *out);
	memcpy(out->tx_id, w->tx_id, LEDGER_TX_ID_LEN);
	if (is_zero(w->idem, LEDGER_IDEM_LEN))
		return out->outcome = LEDGER_WRITE_NEW;
	key = idem_key(w);
	rec = json_object_get(e->idem, key);
	free(key);
	if (!rec)
		return out->outcome = LEDGER_WRITE_NEW;
	/* [hash, tx_id, height, sequence], checked when restored */
	hex_decode(out->orig_tx_id, LEDGER_TX_ID_LEN, json_string_value(json_array_get(rec, 1)));
	out->height = (uint64_t)json_integer_value(json_array_get(rec, 2));
	out->sequence = (uint64_t)json_integer_value(json_array_get(rec, 3));
	hex_encode(hex, hash, SHA256_DIGEST_LEN);
	out->outcome = strcmp(hex, json_string_value(json_array_get(rec, 0))) == 0
			       ? LEDGER_WRITE_ALREADY_COMMITTED
			       : LEDGER_WRITE_KEY_REUSED;
	return out->outcome;
}

enum ledger_write_outcome ledger_entities_check(const struct ledger_entities *e,
						const struct ledger_write *w,
						struct ledger_write_result *out)
{
	unsigned char hash[SHA256_DIGEST_LEN];

	ledger_write_hash(w, hash);
	return check_hashed(e, w, hash, out);
}

static void remember(struct ledger_entities *e, const struct ledger_write_result *r)
{
	e->recent[e->recent_next] = *r;
	e->recent_next = (e->recent_next + 1) % LEDGER_RECENT_RESULTS;
}

void ledger_entities_apply(struct ledger_entities *e, const struct ledger_write *w,
			   uint64_t *height_out)
{
	unsigned char hash[SHA256_DIGEST_LEN];
	char hash_hex[2 * SHA256_DIGEST_LEN + 1], tx_hex[2 * LEDGER_TX_ID_LEN + 1];
	struct ledger_write_result r;
	struct ledger_vault *v;
	char *key;
	uint64_t seq;

	ledger_write_hash(w, hash);
	if (check_hashed(e, w, hash, &r) != LEDGER_WRITE_NEW) {
		remember(e, &r);
		*height_out = r.height;
		return;
	}
	e->height++;
	key = seq_key(w);
	seq = (uint64_t)json_integer_value(json_object_get(e->sequences, key)) + 1;
	json_object_set_new(e->sequences, key, json_integer((json_int_t)seq));
	free(key);
	v = vault_get_or_add(e, w->org, w->vault);
	for (size_t i = 0; i < w->n_ops; i++)
		entity_set(e, v, &w->ops[i], e->height);
	if (!is_zero(w->idem, LEDGER_IDEM_LEN)) {
		hex_encode(hash_hex, hash, SHA256_DIGEST_LEN);
		hex_encode(tx_hex, w->tx_id, LEDGER_TX_ID_LEN);
		key = idem_key(w);
		json_object_set_new(e->idem, key, json_pack("[s, s, I, I]", hash_hex, tx_hex,
							    (json_int_t)e->height, (json_int_t)seq));
		free(key);
	}
	r.outcome = LEDGER_WRITE_APPLIED;
	memcpy(r.orig_tx_id, w->tx_id, LEDGER_TX_ID_LEN);
	r.height = e->height;
	r.sequence = seq;
	remember(e, &r);
	*height_out = e->height;
}

const struct ledger_write_result *ledger_entities_result(const struct ledger_entities *e,
							 const unsigned char tx_id[LEDGER_TX_ID_LEN])
{
	/* Newest first: a retried command carries a new tx id, so one id has
	 * one result. */
	for (size_t k = 1; k <= LEDGER_RECENT_RESULTS; k++) {
		const struct ledger_write_result *r =
			&e->recent[(e->recent_next + LEDGER_RECENT_RESULTS - k) % LEDGER_RECENT_RESULTS];
		if (r->outcome != LEDGER_WRITE_NEW && memcmp(r->tx_id, tx_id, LEDGER_TX_ID_LEN) == 0)
			return r;
	}
	return NULL;
}

/* ---- listing ------------------------------------------------------------- */

static int visible(const struct ledger_entity *x, const struct ledger_list_query *q)
{
	return q->include_expired || x->expires_at == 0 || x->expires_at > q->now_s;
}

size_t ledger_entities_list(const struct ledger_entities *e, const struct ledger_list_query *q,
			    const struct ledger_entity **out, int *more)
{
	const struct ledger_vault *v = ledger_entities_vault(e, q->org, q->vault);
	const char *prefix = q->prefix ? q->prefix : "";
	size_t plen = strlen(prefix), i, n = 0, bytes = 0;

	*more = 0;
	if (!v)
		return 0;
	if (q->after && strcmp(q->after, prefix) >= 0)
		i = key_lower(v, q->after, 1);
	else
		i = key_lower(v, prefix, 0);
	for (; i < v->n && strncmp(v->ents[i].key, prefix, plen) == 0; i++) {
		const struct ledger_entity *x = &v->ents[i];
		size_t size = strlen(x->key) + x->value_len;

		if (!visible(x, q))
			continue;
		if (n == q->limit || (n > 0 && q->max_bytes && bytes + size > q->max_bytes)) {
			*more = 1;
			break;
		}
		out[n++] = x;
		bytes += size;
	}
	return n;
}
