/* The ledger state machine (see ledger/daemon/fsm.h). */
#include "ledger/daemon/fsm.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/strbuf.h"
#include "ledger/client/wire.h"
#include "ledger/daemon/fsm_text.h"

/* The most appends of one batch read without jansson (ledgerd proposes
 * at most LEDGERD_BATCH_MAX, ledger/daemon/node.h); more take the general
 * path. */
#define LEDGER_FSM_TEXT_BATCH 64

/* Idempotency keys are looked up on every Append, twice on the leader:
 * built in place, not with a heap printf. */
#define IDEM_KEY_STACK (LEDGER_MAX_CLIENT_ID + 24)

/* "client_id\x1fsequence" in buf (len bytes), or on the heap when it does
 * not fit (*heap then, free() it). */
static const char *idem_key(char *buf, size_t len, char **heap, const char *client_id,
			    size_t client_id_len, uint64_t sequence)
{
	char digits[24];
	size_t nd = 0, need;
	char *k = buf;

	do {
		digits[sizeof(digits) - 1 - nd++] = (char)('0' + sequence % 10);
		sequence /= 10;
	} while (sequence);
	need = client_id_len + 1 + nd + 1;
	*heap = NULL;
	if (need > len)
		k = *heap = xmalloc(need);
	memcpy(k, client_id, client_id_len);
	k[client_id_len] = '\x1f';
	memcpy(k + client_id_len + 1, digits + sizeof(digits) - nd, nd);
	k[need - 1] = '\0';
	return k;
}

/* The FSM holds one reference while it owns the entries; each reader
 * (ledger_fsm_keep) one more.  Retired entries (the FSM released or
 * replaced them) wait here for the last reader. */
struct ledger_fsm_keep {
	int refs;                     /* atomic */
	struct ledger_entry *entries; /* retired, or NULL while the FSM owns them */
	size_t n;
};

void ledger_fsm_init(struct ledger_fsm *f)
{
	memset(f, 0, sizeof *f);
	f->idem = json_object();
	f->members = json_object();
	ledger_entities_init(&f->ents);
	f->keep = xcalloc(1, sizeof *f->keep);
	f->keep->refs = 1;
}

static void entries_free(struct ledger_entry *entries, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		free(entries[i].client_id);
		free(entries[i].payload);
	}
	free(entries);
}

struct ledger_fsm_keep *ledger_fsm_keep(struct ledger_fsm *f)
{
	__atomic_add_fetch(&f->keep->refs, 1, __ATOMIC_RELAXED);
	return f->keep;
}

void ledger_fsm_unkeep(struct ledger_fsm_keep *k)
{
	/* acq_rel: whoever frees sees the retiring thread's writes (entries,
	 * n) and every reader is done with the strings. */
	if (k && __atomic_sub_fetch(&k->refs, 1, __ATOMIC_ACQ_REL) == 0) {
		entries_free(k->entries, k->n);
		free(k);
	}
}

void ledger_fsm_release(struct ledger_fsm *f)
{
	free(f->ser);
	if (f->keep) {
		f->keep->entries = f->entries;
		f->keep->n = f->n;
		ledger_fsm_unkeep(f->keep);
	} else {
		entries_free(f->entries, f->n);
	}
	json_decref(f->idem);
	json_decref(f->members);
	ledger_entities_release(&f->ents);
	memset(f, 0, sizeof *f);
}

char *ledger_cmd_append(const char *client_id, uint64_t sequence, const char *payload,
			uint64_t term, int64_t ts_ms)
{
	char *text = fsm_text_append_encode(client_id, sequence, payload, term, ts_ms);
	json_t *o;

	if (text) /* plain strings: the same text, without jansson */
		return text;
	o = json_pack("{s:s, s:s, s:I, s:s, s:I, s:I}", "op", "append", "client_id", client_id,
		      "sequence", (json_int_t)sequence, "payload", payload, "term",
		      (json_int_t)term, "ts_ms", (json_int_t)ts_ms);
	text = json_dumps(o, JSON_COMPACT);
	json_decref(o);
	return text;
}

char *ledger_cmd_member(const json_t *member)
{
	json_t *o = json_pack("{s:s, s:O}", "op", "member", "member", member);
	char *text = json_dumps(o, JSON_COMPACT);

	json_decref(o);
	return text;
}

static const struct ledger_entry *find_n(const struct ledger_fsm *f, const char *client_id,
					 size_t client_id_len, uint64_t sequence)
{
	char buf[IDEM_KEY_STACK], *heap;
	const char *key = idem_key(buf, sizeof(buf), &heap, client_id, client_id_len, sequence);
	json_t *v = json_object_get(f->idem, key);

	free(heap);
	if (!v)
		return NULL;
	return ledger_fsm_entry(f, (uint64_t)json_integer_value(v));
}

static void push_entry(struct ledger_fsm *f, uint64_t term, const char *client_id,
		       size_t client_id_len, uint64_t sequence, const char *payload,
		       size_t payload_len, int64_t ts_ms)
{
	struct ledger_entry *e;
	char buf[IDEM_KEY_STACK], *heap;
	const char *key;

	if (f->n == f->alloc) {
		f->alloc = f->alloc ? f->alloc * 2 : 256;
		f->entries = xrealloc(f->entries, f->alloc * sizeof *f->entries);
	}
	e = &f->entries[f->n++];
	e->index = f->n;
	e->term = term;
	e->client_id = xstrndup(client_id, client_id_len);
	e->sequence = sequence;
	e->payload = xstrndup(payload, payload_len);
	e->size = client_id_len + payload_len;
	e->ts_ms = ts_ms;
	e->hidden = 0;
	key = idem_key(buf, sizeof(buf), &heap, client_id, client_id_len, sequence);
	json_object_set_new(f->idem, key, json_integer((json_int_t)e->index));
	free(heap);
}

char *ledger_cmd_batch(char *const *cmds, size_t n)
{
	struct strbuf sb = STRBUF_INIT;

	strbuf_adds(&sb, "{\"op\":\"batch\",\"cmds\":[");
	for (size_t i = 0; i < n; i++) {
		if (i)
			strbuf_addch(&sb, ',');
		strbuf_adds(&sb, cmds[i]);
	}
	strbuf_adds(&sb, "]}");
	return strbuf_detach(&sb);
}

struct append_fields {
	const char *client_id, *payload;
	json_int_t sequence, term, ts_ms;
};

static int append_fields(struct append_fields *a, json_t *o, struct dr_error *err)
{
	json_error_t jerr;

	a->sequence = -1;
	a->term = 0;
	if (json_unpack_ex(o, &jerr, 0, "{s:s, s:I, s:s, s:I, s:I}", "client_id", &a->client_id,
			   "sequence", &a->sequence, "payload", &a->payload, "term", &a->term,
			   "ts_ms", &a->ts_ms) != 0 ||
	    a->sequence < 0 || a->term < 0) {
		dr_error_set(err, "malformed append command: %s", jerr.text);
		return -1;
	}
	return 0;
}

/* The index of the entry for a: a new one, or the original one when
 * (client_id, sequence) was seen before (nothing is appended then). */
static uint64_t apply_append_n(struct ledger_fsm *f, const char *client_id, size_t client_id_len,
			       uint64_t sequence, const char *payload, size_t payload_len,
			       uint64_t term, int64_t ts_ms)
{
	const struct ledger_entry *old = find_n(f, client_id, client_id_len, sequence);

	if (old)
		return old->index;
	push_entry(f, term, client_id, client_id_len, sequence, payload, payload_len, ts_ms);
	return f->n;
}

static uint64_t apply_append(struct ledger_fsm *f, const struct append_fields *a)
{
	return apply_append_n(f, a->client_id, strlen(a->client_id), (uint64_t)a->sequence,
			      a->payload, strlen(a->payload), (uint64_t)a->term, (int64_t)a->ts_ms);
}

/* Appends and batches of them in the shape ledgerd writes, without
 * jansson (ledger/daemon/fsm_text.h): 1 when applied, 0 to take the
 * general path. */
static int apply_text(struct ledger_fsm *f, uint64_t *index_out, const char *cmd, size_t len)
{
	struct fsm_text_append a[LEDGER_FSM_TEXT_BATCH];
	size_t n;

	if (!fsm_text_parse(a, LEDGER_FSM_TEXT_BATCH, &n, cmd, len))
		return 0;
	for (size_t i = 0; i < n; i++)
		*index_out = apply_append_n(f, a[i].client_id, a[i].client_id_len,
					    (uint64_t)a[i].sequence, a[i].payload, a[i].payload_len,
					    (uint64_t)a[i].term, a[i].ts_ms);
	return 1;
}

/* Every append of a batch is checked before the first is applied, so a
 * malformed batch leaves the state untouched like any malformed command. */
static int apply_batch(struct ledger_fsm *f, uint64_t *index_out, json_t *o, struct dr_error *err)
{
	json_t *cmds = json_object_get(o, "cmds"), *c;
	struct append_fields *a;
	const char *op;
	size_t i, n = json_array_size(cmds);

	if (!json_is_array(cmds) || n == 0) {
		dr_error_set(err, "malformed batch command: no 'cmds'");
		return -1;
	}
	a = xcalloc(n, sizeof(*a));
	json_array_foreach(cmds, i, c) {
		op = json_string_value(json_object_get(c, "op"));
		if (!op || strcmp(op, "append") != 0) {
			dr_error_set(err, "malformed batch command: item %zu is not an append", i);
			free(a);
			return -1;
		}
		if (append_fields(&a[i], c, err) != 0) {
			free(a);
			return -1;
		}
	}
	for (i = 0; i < n; i++)
		*index_out = apply_append(f, &a[i]);
	free(a);
	return 0;
}

int ledger_fsm_apply(struct ledger_fsm *f, uint64_t *index_out, const char *cmd,
		     size_t len, struct dr_error *err)
{
	json_error_t jerr;
	json_t *o;
	const char *op = NULL;
	json_t *member = NULL;
	int rc = -1;

	*index_out = 0;
	if (apply_text(f, index_out, cmd, len))
		return 0;
	o = json_loadb(cmd, len, 0, &jerr);
	if (!o) {
		dr_error_set(err, "cannot parse command: %s", jerr.text);
		goto out;
	}
	if (json_unpack(o, "{s:s}", "op", &op) != 0) {
		dr_error_set(err, "command has no 'op'");
		goto out;
	}
	if (strcmp(op, "append") == 0) {
		struct append_fields a;

		if (append_fields(&a, o, err) != 0)
			goto out;
		*index_out = apply_append(f, &a);
	} else if (strcmp(op, "batch") == 0) {
		if (apply_batch(f, index_out, o, err) != 0)
			goto out;
	} else if (strcmp(op, "write") == 0) {
		struct ledger_write w;

		if (ledger_write_from_cmd(&w, o, err) != 0)
			goto out;
		ledger_entities_apply(&f->ents, &w, index_out);
		ledger_write_release(&w);
	} else if (strcmp(op, "member") == 0) {
		if (json_unpack(o, "{s:o}", "member", &member) != 0 ||
		    !json_is_integer(json_object_get(member, "id"))) {
			dr_error_set(err, "malformed member command");
			goto out;
		}
		ledger_fsm_set_member(f, member);
	} else {
		dr_error_set(err, "unknown command op '%s'", op);
		rc = LEDGER_FSM_UNKNOWN_OP;
		goto out;
	}
	rc = 0;
out:
	json_decref(o);
	return rc;
}

const struct ledger_entry *ledger_fsm_find(const struct ledger_fsm *f,
					   const char *client_id, uint64_t sequence)
{
	return find_n(f, client_id, strlen(client_id), sequence);
}

const struct ledger_entry *ledger_fsm_entry(const struct ledger_fsm *f, uint64_t index)
{
	if (index < 1 || index > f->n)
		return NULL;
	return &f->entries[index - 1];
}

uint64_t ledger_fsm_last_index(const struct ledger_fsm *f)
{
	return f->n;
}

int ledger_fsm_hide(struct ledger_fsm *f, const char *client_id, uint64_t sequence)
{
	const struct ledger_entry *e = ledger_fsm_find(f, client_id, sequence);

	if (!e)
		return -1;
	f->entries[e->index - 1].hidden = 1;
	return 0;
}

json_t *ledger_fsm_member(const struct ledger_fsm *f, uint64_t id)
{
	char key[32];

	snprintf(key, sizeof key, "%" PRIu64, id);
	return json_object_get(f->members, key);
}

void ledger_fsm_set_member(struct ledger_fsm *f, const json_t *member)
{
	char key[32];

	snprintf(key, sizeof key, "%" JSON_INTEGER_FORMAT,
		 json_integer_value(json_object_get(member, "id")));
	json_object_set_new(f->members, key, json_deep_copy(member));
}

/* Append s as a JSON string literal.  Strings in the ledger came through
 * jansson, so they are valid UTF-8 without NUL; only quotes, backslashes
 * and control characters need escaping. */
static void ser_add(struct ledger_fsm *f, const char *p, size_t n)
{
	if (f->ser_len + n + 1 > f->ser_alloc) {
		size_t want = f->ser_alloc ? f->ser_alloc * 2 : 65536;
		while (want < f->ser_len + n + 1)
			want *= 2;
		f->ser = xrealloc(f->ser, want);
		f->ser_alloc = want;
	}
	memcpy(f->ser + f->ser_len, p, n);
	f->ser_len += n;
	f->ser[f->ser_len] = '\0';
}

static void ser_string(struct ledger_fsm *f, const char *s)
{
	static const char hex[] = "0123456789abcdef";
	const char *run = s;

	ser_add(f, "\"", 1);
	for (; *s; s++) {
		unsigned char ch = (unsigned char)*s;
		char esc[6];
		if (ch >= 0x20 && ch != '"' && ch != '\\')
			continue;
		ser_add(f, run, (size_t)(s - run));
		run = s + 1;
		if (ch == '"' || ch == '\\') {
			esc[0] = '\\';
			esc[1] = (char)ch;
			ser_add(f, esc, 2);
		} else {
			memcpy(esc, "\\u00", 4);
			esc[4] = hex[ch >> 4];
			esc[5] = hex[ch & 15];
			ser_add(f, esc, 6);
		}
	}
	ser_add(f, run, (size_t)(s - run));
	ser_add(f, "\"", 1);
}

static void ser_extend(struct ledger_fsm *f)
{
	char num[96];
	int len;

	for (; f->ser_n < f->n; f->ser_n++) {
		const struct ledger_entry *e = &f->entries[f->ser_n];
		len = snprintf(num, sizeof num, "[%" PRIu64 ",%" PRIu64 ",", e->index, e->term);
		ser_add(f, num, (size_t)len);
		ser_string(f, e->client_id);
		len = snprintf(num, sizeof num, ",%" PRIu64 ",", e->sequence);
		ser_add(f, num, (size_t)len);
		ser_string(f, e->payload);
		len = snprintf(num, sizeof num, ",%" PRId64 "],", e->ts_ms);
		ser_add(f, num, (size_t)len);
	}
}

char *ledger_fsm_serialize(struct ledger_fsm *f, size_t *len)
{
	struct strbuf sb = STRBUF_INIT;
	char *members = json_dumps(f->members, JSON_COMPACT);
	char *ents = NULL;

	if (f->ents.height) {
		json_t *j = ledger_entities_to_json(&f->ents);
		ents = json_dumps(j, JSON_COMPACT);
		json_decref(j);
	}
	ser_extend(f);
	strbuf_grow(&sb, f->ser_len + strlen(members) + (ents ? strlen(ents) : 0) + 128);
	strbuf_addf(&sb, "{\"format\":\"ledgerd-state\",\"version\":%d,\"members\":",
		    ents ? 2 : 1);
	strbuf_adds(&sb, members);
	if (ents) {
		strbuf_adds(&sb, ",\"entities\":");
		strbuf_adds(&sb, ents);
	}
	strbuf_adds(&sb, ",\"entries\":[");
	if (f->ser_len)
		strbuf_add(&sb, f->ser, f->ser_len - 1); /* without the last comma */
	strbuf_adds(&sb, "]}");
	free(members);
	free(ents);
	*len = sb.len;
	return strbuf_detach(&sb);
}

int ledger_fsm_restore(struct ledger_fsm *f, const char *text, size_t len,
		       struct dr_error *err)
{
	json_error_t jerr;
	json_t *root = json_loadb(text, len, 0, &jerr), *arr, *members, *row, *ents;
	struct ledger_fsm next;
	const char *format = NULL;
	json_int_t version = 0;
	size_t i;
	int rc = -1;

	ledger_fsm_init(&next);
	if (!root) {
		dr_error_set(err, "cannot parse ledger state: %s (line %d)", jerr.text, jerr.line);
		goto out;
	}
	if (json_unpack(root, "{s:s, s:I, s:o, s:o}", "format", &format, "version", &version,
			"entries", &arr, "members", &members) != 0 ||
	    strcmp(format, "ledgerd-state") != 0 || (version != 1 && version != 2) ||
	    !json_is_array(arr) || !json_is_object(members)) {
		dr_error_set(err, "ledger state is not format ledgerd-state version 1 or 2");
		goto out;
	}
	ents = json_object_get(root, "entities");
	if ((version == 2) != (ents != NULL)) {
		dr_error_set(err, "ledger state version %" JSON_INTEGER_FORMAT " %s entities",
			     version, ents ? "must not have" : "must have");
		goto out;
	}
	if (ents && ledger_entities_from_json(&next.ents, ents, err) != 0) {
		dr_error_wrap(err, "ledger state");
		goto out;
	}
	next.alloc = json_array_size(arr) ? json_array_size(arr) : 1;
	next.entries = xrealloc(next.entries, next.alloc * sizeof *next.entries);
	json_array_foreach(arr, i, row) {
		/* Direct accessors: json_unpack's format parsing per row
		 * doubled the restore time of large ledgers. */
		json_t *v[6];
		size_t k;
		if (!json_is_array(row) || json_array_size(row) != 6)
			goto bad_row;
		for (k = 0; k < 6; k++)
			v[k] = json_array_get(row, k);
		if (!json_is_integer(v[0]) || !json_is_integer(v[1]) || !json_is_string(v[2]) ||
		    !json_is_integer(v[3]) || !json_is_string(v[4]) || !json_is_integer(v[5]) ||
		    json_integer_value(v[0]) != (json_int_t)(i + 1) || json_integer_value(v[3]) < 0)
			goto bad_row;
		push_entry(&next, (uint64_t)json_integer_value(v[1]), json_string_value(v[2]),
			   strlen(json_string_value(v[2])), (uint64_t)json_integer_value(v[3]),
			   json_string_value(v[4]), strlen(json_string_value(v[4])),
			   (int64_t)json_integer_value(v[5]));
		continue;
bad_row:
		dr_error_set(err, "ledger state entry %zu is malformed", i + 1);
		goto out;
	}
	json_decref(next.members);
	next.members = json_deep_copy(members);
	ledger_fsm_release(f);
	*f = next;
	ledger_fsm_init(&next);
	rc = 0;
out:
	ledger_fsm_release(&next);
	json_decref(root);
	return rc;
}

void ledger_fsm_digest(const struct ledger_fsm *f, char hex[SHA256_HEX_LEN])
{
	struct sha256 s;
	struct strbuf sb = STRBUF_INIT;
	size_t i;

	sha256_init(&s);
	for (i = 0; i < f->n; i++) {
		const struct ledger_entry *e = &f->entries[i];
		strbuf_reset(&sb);
		strbuf_addf(&sb, "%" PRIu64 "\t%" PRIu64 "\t%zu:%s\t%" PRIu64 "\t%zu:", e->index,
			    e->term, strlen(e->client_id), e->client_id, e->sequence,
			    strlen(e->payload));
		sha256_update(&s, sb.buf, sb.len);
		sha256_update(&s, e->payload, strlen(e->payload));
		sha256_update(&s, "\n", 1);
	}
	strbuf_release(&sb);
	/* Nothing for a ledger without entities: its digest stays what it was
	 * before the ledger.v1 dialect had any. */
	if (f->ents.height)
		ledger_entities_digest(&f->ents, &s);
	sha256_final_hex(&s, hex);
}
