/* JSON into jansson with positions.  jansson parses (and reports syntax
 * errors with their place); this file then scans the same text beside the
 * tree to record where every key and value starts, and reports every
 * duplicate key (jansson would keep the last silently, or with
 * JSON_REJECT_DUPLICATES stop at the first). */
#include "harness/yaml/json_load.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/strbuf.h"
#include "harness/yaml/yaml_posmap.h"

#define JSON_MAX_DEPTH 200

struct jscan {
	const char *p, *end;
	unsigned line, column;  /* of *p, 1-based, column in code points */
	struct yj_doc *doc;
	yj_error_fn on_error;
	void *payload;
	int errors;
	int depth;
};

static void advance(struct jscan *s)
{
	if (s->p >= s->end)
		return;
	if (*s->p == '\n') {
		s->line++;
		s->column = 1;
	} else if (((unsigned char)*s->p & 0xc0) != 0x80) {
		s->column++;
	}
	s->p++;
	/* A multi-byte character counts once: skip its continuation bytes. */
	while (s->p < s->end && ((unsigned char)*s->p & 0xc0) == 0x80)
		s->p++;
}

static void skip_ws(struct jscan *s)
{
	while (s->p < s->end && (*s->p == ' ' || *s->p == '\t' || *s->p == '\n' ||
				 *s->p == '\r'))
		advance(s);
}

static struct yj_pos here(const struct jscan *s)
{
	struct yj_pos pos = { s->line, s->column, 0 };

	return pos;
}

static int hexval(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

static unsigned read_hex4(const char *p, const char *end)
{
	unsigned v = 0;

	for (int i = 0; i < 4; i++) {
		int h = p + i < end ? hexval((unsigned char)p[i]) : -1;

		if (h < 0)
			return 0xfffd;
		v = v * 16 + (unsigned)h;
	}
	return v;
}

static void add_utf8(struct strbuf *sb, unsigned cp)
{
	if (cp < 0x80) {
		strbuf_addch(sb, (char)cp);
	} else if (cp < 0x800) {
		strbuf_addch(sb, (char)(0xc0 | (cp >> 6)));
		strbuf_addch(sb, (char)(0x80 | (cp & 0x3f)));
	} else if (cp < 0x10000) {
		strbuf_addch(sb, (char)(0xe0 | (cp >> 12)));
		strbuf_addch(sb, (char)(0x80 | ((cp >> 6) & 0x3f)));
		strbuf_addch(sb, (char)(0x80 | (cp & 0x3f)));
	} else {
		strbuf_addch(sb, (char)(0xf0 | (cp >> 18)));
		strbuf_addch(sb, (char)(0x80 | ((cp >> 12) & 0x3f)));
		strbuf_addch(sb, (char)(0x80 | ((cp >> 6) & 0x3f)));
		strbuf_addch(sb, (char)(0x80 | (cp & 0x3f)));
	}
}

/* At '"': consume the string; decode it into sb when sb is not NULL. */
static void scan_string(struct jscan *s, struct strbuf *sb)
{
	advance(s); /* opening quote */
	while (s->p < s->end && *s->p != '"') {
		if (*s->p == '\\' && s->p + 1 < s->end) {
			char c = s->p[1];

			advance(s);
			if (c == 'u') {
				unsigned cp = read_hex4(s->p + 1, s->end);

				for (int i = 0; i < 5; i++)
					advance(s);
				if (cp >= 0xd800 && cp < 0xdc00 && s->p + 1 < s->end &&
				    s->p[0] == '\\' && s->p[1] == 'u') {
					unsigned lo = read_hex4(s->p + 2, s->end);

					if (lo >= 0xdc00 && lo < 0xe000) {
						cp = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
						for (int i = 0; i < 6; i++)
							advance(s);
					}
				}
				if (sb)
					add_utf8(sb, cp);
				continue;
			}
			if (sb) {
				switch (c) {
				case 'b': strbuf_addch(sb, '\b'); break;
				case 'f': strbuf_addch(sb, '\f'); break;
				case 'n': strbuf_addch(sb, '\n'); break;
				case 'r': strbuf_addch(sb, '\r'); break;
				case 't': strbuf_addch(sb, '\t'); break;
				default: strbuf_addch(sb, c); break;
				}
			}
			advance(s);
			continue;
		}
		if (sb) {
			const char *start = s->p;

			advance(s);
			strbuf_add(sb, start, (size_t)(s->p - start));
		} else {
			advance(s);
		}
	}
	advance(s); /* closing quote */
}

static void scan_value(struct jscan *s, json_t *node, json_t *parent, const char *key,
		       size_t index);

static void scan_object(struct jscan *s, json_t *node)
{
	json_t *seen = json_object();   /* key -> [line, column] of its first use */

	advance(s); /* { */
	for (;;) {
		struct strbuf key = STRBUF_INIT;
		struct yj_pos kpos;
		json_t *first;

		skip_ws(s);
		if (s->p >= s->end || *s->p == '}')
			break;
		if (*s->p == ',') {
			advance(s);
			continue;
		}
		kpos = here(s);
		scan_string(s, &key);
		skip_ws(s);
		if (s->p < s->end && *s->p == ':')
			advance(s);
		first = json_object_get(seen, key.buf ? key.buf : "");
		if (first) {
			char msg[512];

			snprintf(msg, sizeof(msg), "duplicate key '%s' (first at line %d column %d)",
				 strbuf_str(&key), (int)json_integer_value(json_array_get(first, 0)),
				 (int)json_integer_value(json_array_get(first, 1)));
			s->errors++;
			if (s->on_error)
				s->on_error(kpos.line, kpos.column, msg, s->payload);
		} else {
			json_object_set_new(seen, strbuf_str(&key),
					    json_pack("[ii]", (int)kpos.line, (int)kpos.column));
		}
		if (node) {
			/* jansson kept the last of duplicate keys: the last
			 * occurrence's positions overwrite the first's. */
			posmap_set_key(s->doc->pos, node, strbuf_str(&key), &kpos);
			scan_value(s, json_object_get(node, strbuf_str(&key)), node,
				   strbuf_str(&key), 0);
		} else {
			scan_value(s, NULL, NULL, NULL, 0);
		}
		strbuf_release(&key);
	}
	advance(s); /* } */
	json_decref(seen);
}

static void scan_array(struct jscan *s, json_t *node)
{
	size_t i = 0;

	advance(s); /* [ */
	for (;;) {
		skip_ws(s);
		if (s->p >= s->end || *s->p == ']')
			break;
		if (*s->p == ',') {
			advance(s);
			continue;
		}
		scan_value(s, node ? json_array_get(node, i) : NULL, node, NULL, i);
		i++;
	}
	advance(s); /* ] */
}

/* Scan one value; record its position under (parent, key) or (parent,
 * index).  node is the tree's value there, or NULL while skipping text
 * whose value jansson dropped (an overwritten duplicate). */
static void scan_value(struct jscan *s, json_t *node, json_t *parent, const char *key,
		       size_t index)
{
	struct yj_pos pos;

	skip_ws(s);
	pos = here(s);
	if (s->p >= s->end)
		return;
	if (++s->depth > JSON_MAX_DEPTH) {
		s->p = s->end;  /* jansson already refused deeper documents */
		return;
	}
	if (*s->p == '"')
		pos.flags |= YJ_QUOTED;
	if (node || parent == NULL) {
		if (parent == NULL && key && key[0] == '\0')
			posmap_set_value(s->doc->pos, NULL, "", &pos);
		else if (parent && key)
			posmap_set_value(s->doc->pos, parent, key, &pos);
		else if (parent)
			posmap_set_index(s->doc->pos, parent, index, &pos);
	}
	switch (*s->p) {
	case '{':
		if (json_is_object(node))
			posmap_set_container(s->doc->pos, node, &pos);
		scan_object(s, json_is_object(node) ? node : NULL);
		break;
	case '[':
		if (json_is_array(node))
			posmap_set_container(s->doc->pos, node, &pos);
		scan_array(s, json_is_array(node) ? node : NULL);
		break;
	case '"':
		scan_string(s, NULL);
		break;
	default:
		while (s->p < s->end && !strchr(",]} \t\r\n", *s->p))
			advance(s);
		break;
	}
	s->depth--;
}

int yj_load_json(struct yj_doc *doc, const char *text, size_t len,
		 yj_error_fn on_error, void *payload)
{
	struct jscan s;
	json_error_t jerr;
	size_t skip = 0;

	/* A UTF-8 byte order mark is harmless; jansson refuses it. */
	if (len >= 3 && memcmp(text, "\xef\xbb\xbf", 3) == 0)
		skip = 3;
	doc->root = json_loadb(text + skip, len - skip, 0, &jerr);
	if (!doc->root) {
		char msg[400];

		snprintf(msg, sizeof(msg), "invalid JSON: %s", jerr.text);
		if (on_error)
			on_error(jerr.line > 0 ? (unsigned)jerr.line : 0,
				 jerr.line > 0 ? (unsigned)(jerr.column > 0 ? jerr.column : 1) : 0,
				 msg, payload);
		return -1;
	}
	memset(&s, 0, sizeof(s));
	s.p = text + skip;
	s.end = text + len;
	s.line = 1;
	s.column = 1;
	s.doc = doc;
	s.on_error = on_error;
	s.payload = payload;
	scan_value(&s, doc->root, NULL, "", 0);
	return s.errors ? 1 : 0;
}
