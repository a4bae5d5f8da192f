/* YAML into jansson with positions (libyaml event API).  Semantics in
 * yaml_json.h. */
#include "harness/yaml/yaml_load.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <yaml.h>

#include "common/strbuf.h"
#include "harness/yaml/yaml_posmap.h"
#include "harness/yaml/yaml_scalar.h"

/* Alias expansion is copying: cap the nodes a document may produce so a
 * "billion laughs" file fails fast instead of eating the machine. */
#define YAML_MAX_NODES 200000
#define YAML_MAX_DEPTH 200

#define TAG_PREFIX "tag:yaml.org,2002:"

struct frame {
	json_t *node;           /* object or array being filled */
	char *anchor;           /* to record once the node is complete */
	char *key;              /* mapping: pending key, NULL when expecting one */
	struct yj_pos key_pos;
	int skip_value;         /* the pending key was a duplicate or a merge key */
};

struct anchor {
	char *name;
	json_t *node;           /* owned reference; NULL while being built */
	struct yj_pos pos;
};

struct yload {
	struct yj_doc *doc;
	yj_error_fn on_error;
	void *payload;
	struct frame stack[YAML_MAX_DEPTH];
	size_t depth;
	struct anchor *anchors;
	size_t nanchors, anchors_alloc;
	size_t nodes;
	int errors;             /* non-fatal errors reported */
	int fatal;
	int documents;
};

static void report(struct yload *y, const struct yj_pos *pos, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void report(struct yload *y, const struct yj_pos *pos, const char *fmt, ...)
{
	char msg[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	y->errors++;
	if (y->on_error)
		y->on_error(pos ? pos->line : 0, pos ? pos->column : 0, msg, y->payload);
}

static struct yj_pos mark_pos(const yaml_mark_t *m)
{
	struct yj_pos p = { (unsigned)m->line + 1, (unsigned)m->column + 1, 0 };

	return p;
}

static struct anchor *anchor_find(struct yload *y, const char *name)
{
	/* Latest definition wins: YAML allows re-anchoring a name. */
	for (size_t i = y->nanchors; i-- > 0;)
		if (strcmp(y->anchors[i].name, name) == 0)
			return &y->anchors[i];
	return NULL;
}

static void anchor_define(struct yload *y, const char *name, json_t *node,
			  const struct yj_pos *pos)
{
	struct anchor *a;

	if (y->nanchors == y->anchors_alloc) {
		y->anchors_alloc = y->anchors_alloc ? y->anchors_alloc * 2 : 8;
		y->anchors = xrealloc(y->anchors, y->anchors_alloc * sizeof(*y->anchors));
	}
	a = &y->anchors[y->nanchors++];
	a->name = xstrdup(name);
	a->node = node ? json_incref(node) : NULL;
	a->pos = *pos;
}

/* Position lookups return pointers into the table, which a later insert
 * may move: copy the value before inserting anything. */
static int pos_copy(struct yj_pos *out, const struct yj_pos *p)
{
	if (!p)
		return 0;
	*out = *p;
	return 1;
}

/* Deep copy of an anchored node, carrying positions along. */
static json_t *copy_with_pos(struct yload *y, const json_t *src)
{
	struct yj_posmap *m = y->doc->pos;
	struct yj_pos p;
	json_t *dst;

	if (++y->nodes > YAML_MAX_NODES)
		return NULL;
	if (json_is_object(src)) {
		const char *key;
		json_t *v;

		dst = json_object();
		if (pos_copy(&p, yj_node_pos(y->doc, src)))
			posmap_set_container(m, dst, &p);
		json_object_foreach((json_t *)src, key, v) {
			json_t *c = copy_with_pos(y, v);

			if (!c) {
				json_decref(dst);
				return NULL;
			}
			json_object_set_new(dst, key, c);
			if (pos_copy(&p, yj_key_pos(y->doc, src, key)))
				posmap_set_key(m, dst, key, &p);
			if (pos_copy(&p, yj_value_pos(y->doc, src, key)))
				posmap_set_value(m, dst, key, &p);
		}
		return dst;
	}
	if (json_is_array(src)) {
		dst = json_array();
		if (pos_copy(&p, yj_node_pos(y->doc, src)))
			posmap_set_container(m, dst, &p);
		for (size_t i = 0; i < json_array_size(src); i++) {
			json_t *c = copy_with_pos(y, json_array_get(src, i));

			if (!c) {
				json_decref(dst);
				return NULL;
			}
			json_array_append_new(dst, c);
			if (pos_copy(&p, yj_index_pos(y->doc, src, i)))
				posmap_set_index(m, dst, i, &p);
		}
		return dst;
	}
	return json_deep_copy(src);
}

/* Place a finished value into its parent (or make it the root).  Takes
 * the reference. */
static void attach(struct yload *y, json_t *value, const struct yj_pos *pos)
{
	struct frame *top;

	if (y->depth == 0) {
		json_decref(y->doc->root);
		y->doc->root = value;
		posmap_set_value(y->doc->pos, NULL, "", pos);
		return;
	}
	top = &y->stack[y->depth - 1];
	if (json_is_array(top->node)) {
		size_t i = json_array_size(top->node);

		json_array_append_new(top->node, value);
		posmap_set_index(y->doc->pos, top->node, i, pos);
		return;
	}
	if (!top->skip_value) {
		json_object_set_new(top->node, top->key, value);
		posmap_set_key(y->doc->pos, top->node, top->key, &top->key_pos);
		posmap_set_value(y->doc->pos, top->node, top->key, pos);
	} else {
		json_decref(value);
	}
	free(top->key);
	top->key = NULL;
	top->skip_value = 0;
}

/* A scalar where a mapping expects a key. */
static void take_key(struct yload *y, const yaml_event_t *ev)
{
	struct frame *top = &y->stack[y->depth - 1];
	const char *text = (const char *)ev->data.scalar.value;
	struct yj_pos pos = mark_pos(&ev->start_mark);
	const struct yj_pos *first;

	top->key = xstrndup(text, ev->data.scalar.length);
	top->key_pos = pos;
	if (strlen(top->key) != ev->data.scalar.length) {
		report(y, &pos, "key contains a NUL character");
		top->skip_value = 1;
	} else if (ev->data.scalar.style == YAML_PLAIN_SCALAR_STYLE &&
		   strcmp(top->key, "<<") == 0) {
		report(y, &pos, "merge keys (<<) are not supported: repeat the keys, "
		       "or use an alias (*name) for the whole value");
		top->skip_value = 1;
	} else if (json_object_get(top->node, top->key)) {
		first = yj_key_pos(y->doc, top->node, top->key);
		if (first)
			report(y, &pos, "duplicate key '%s' (first at line %u column %u)",
			       top->key, first->line, first->column);
		else
			report(y, &pos, "duplicate key '%s'", top->key);
		top->skip_value = 1;
	}
}

static json_t *scalar_value(struct yload *y, const yaml_event_t *ev, unsigned *flags)
{
	const char *text = (const char *)ev->data.scalar.value;
	size_t len = ev->data.scalar.length;
	const char *tag = (const char *)ev->data.scalar.tag;
	struct yj_pos pos = mark_pos(&ev->start_mark);
	json_t *v;

	*flags = 0;
	if (memchr(text, '\0', len)) {
		report(y, &pos, "string contains a NUL character");
		return json_string("");
	}
	if (tag && strcmp(tag, "!") != 0) {
		if (strcmp(tag, TAG_PREFIX "str") == 0) {
			*flags |= YJ_QUOTED;
			return json_stringn(text, len);
		}
		if (strcmp(tag, TAG_PREFIX "int") == 0 || strcmp(tag, TAG_PREFIX "float") == 0 ||
		    strcmp(tag, TAG_PREFIX "bool") == 0 || strcmp(tag, TAG_PREFIX "null") == 0) {
			const char *want = tag + strlen(TAG_PREFIX);
			int ok;

			v = yj_resolve_plain(text, len, flags);
			ok = (strcmp(want, "int") == 0 && json_is_integer(v)) ||
			     (strcmp(want, "float") == 0 &&
			      (json_is_number(v) || (*flags & YJ_NONFINITE))) ||
			     (strcmp(want, "bool") == 0 && json_is_boolean(v)) ||
			     (strcmp(want, "null") == 0 && json_is_null(v));
			if (!ok)
				report(y, &pos, "'%.*s' is not a valid !!%s", (int)(len > 60 ? 60 : len),
				       text, want);
			return v;
		}
		report(y, &pos, "unsupported tag '%s' (only !!str, !!int, !!float, !!bool, !!null)",
		       tag);
		return json_stringn(text, len);
	}
	if (ev->data.scalar.style != YAML_PLAIN_SCALAR_STYLE || tag) {
		*flags |= YJ_QUOTED;
		return json_stringn(text, len);
	}
	return yj_resolve_plain(text, len, flags);
}

static int check_collection_tag(struct yload *y, const char *tag, const char *want,
				const yaml_mark_t *mark)
{
	struct yj_pos pos = mark_pos(mark);

	if (!tag || strcmp(tag, "!") == 0)
		return 0;
	if (strncmp(tag, TAG_PREFIX, strlen(TAG_PREFIX)) == 0 &&
	    strcmp(tag + strlen(TAG_PREFIX), want) == 0)
		return 0;
	report(y, &pos, "unsupported tag '%s'", tag);
	return -1;
}

static void handle_scalar(struct yload *y, const yaml_event_t *ev)
{
	struct yj_pos pos = mark_pos(&ev->start_mark);
	const char *anchor = (const char *)ev->data.scalar.anchor;
	unsigned flags;
	json_t *v;

	if (y->depth > 0 && json_is_object(y->stack[y->depth - 1].node) &&
	    !y->stack[y->depth - 1].key) {
		take_key(y, ev);
		if (anchor)
			report(y, &pos, "anchors on keys are not supported");
		return;
	}
	y->nodes++;
	v = scalar_value(y, ev, &flags);
	pos.flags = flags;
	if (anchor)
		anchor_define(y, anchor, v, &pos);
	attach(y, v, &pos);
}

static void handle_alias(struct yload *y, const yaml_event_t *ev)
{
	struct yj_pos pos = mark_pos(&ev->start_mark);
	const char *name = (const char *)ev->data.alias.anchor;
	struct anchor *a = anchor_find(y, name);
	json_t *copy;

	if (y->depth > 0 && json_is_object(y->stack[y->depth - 1].node) &&
	    !y->stack[y->depth - 1].key) {
		report(y, &pos, "an alias cannot be a mapping key");
		y->fatal = 1;
		return;
	}
	if (!a) {
		report(y, &pos, "unknown anchor '%s' (define it with &%s before using *%s)",
		       name, name, name);
		attach(y, json_null(), &pos);
		return;
	}
	if (!a->node) {
		report(y, &pos, "alias '*%s' refers to the node that contains it", name);
		y->fatal = 1;
		return;
	}
	copy = copy_with_pos(y, a->node);
	if (!copy) {
		report(y, &pos, "document too large: more than %d nodes after expanding aliases",
		       YAML_MAX_NODES);
		y->fatal = 1;
		return;
	}
	pos.flags = a->pos.flags;
	attach(y, copy, &pos);
}

static void push(struct yload *y, json_t *node, const yaml_mark_t *mark, const char *anchor)
{
	struct yj_pos pos = mark_pos(mark);
	struct frame *f;

	if (y->depth > 0 && json_is_object(y->stack[y->depth - 1].node) &&
	    !y->stack[y->depth - 1].key) {
		report(y, &pos, "complex mapping keys (a mapping or list as a key) are not supported");
		json_decref(node);
		y->fatal = 1;
		return;
	}
	if (y->depth == YAML_MAX_DEPTH) {
		report(y, &pos, "document nested deeper than %d levels", YAML_MAX_DEPTH);
		json_decref(node);
		y->fatal = 1;
		return;
	}
	y->nodes++;
	posmap_set_container(y->doc->pos, node, &pos);
	f = &y->stack[y->depth++];
	memset(f, 0, sizeof(*f));
	f->node = node;
	if (anchor) {
		f->anchor = xstrdup(anchor);
		anchor_define(y, anchor, NULL, &pos);   /* marks "being built" */
	}
}

static void pop(struct yload *y)
{
	struct frame f = y->stack[--y->depth];
	const struct yj_pos *p = yj_node_pos(y->doc, f.node);
	struct yj_pos pos = p ? *p : (struct yj_pos){ 0, 0, 0 };

	if (f.anchor) {
		struct anchor *a = anchor_find(y, f.anchor);

		if (a && !a->node)
			a->node = json_incref(f.node);
		free(f.anchor);
	}
	free(f.key);
	attach(y, f.node, &pos);
}

/* The character at a 0-based line and (code point) column of text. */
static int char_at(const char *text, size_t len, size_t line, size_t column)
{
	size_t i = 0;

	for (size_t l = 0; l < line && i < len; i++)
		if (text[i] == '\n')
			l++;
	for (size_t c = 0; i < len && text[i] != '\n'; i++) {
		if (((unsigned char)text[i] & 0xc0) == 0x80)
			continue;
		if (c++ == column)
			return (unsigned char)text[i];
	}
	return -1;
}

static void syntax_error(struct yload *y, const yaml_parser_t *parser, const char *text,
			 size_t len)
{
	struct yj_pos pos = mark_pos(&parser->problem_mark);
	const char *problem = parser->problem ? parser->problem : "unknown error";
	char hint[128] = "";

	if (char_at(text, len, parser->problem_mark.line, parser->problem_mark.column) == '\t')
		snprintf(hint, sizeof(hint), " (a tab cannot indent YAML; use spaces)");
	if (parser->context)
		report(y, &pos, "invalid YAML: %s %s at line %zu column %zu%s", problem,
		       parser->context, parser->context_mark.line + 1,
		       parser->context_mark.column + 1, hint);
	else
		report(y, &pos, "invalid YAML: %s%s", problem, hint);
}

int yj_load_yaml(struct yj_doc *doc, const char *text, size_t len,
		 yj_error_fn on_error, void *payload)
{
	struct yload y;
	yaml_parser_t parser;
	yaml_event_t ev;
	int done = 0, rc = 0;

	memset(&y, 0, sizeof(y));
	y.doc = doc;
	y.on_error = on_error;
	y.payload = payload;
	if (!yaml_parser_initialize(&parser))
		return -1;
	yaml_parser_set_input_string(&parser, (const unsigned char *)text, len);
	while (!done && !y.fatal) {
		if (!yaml_parser_parse(&parser, &ev)) {
			syntax_error(&y, &parser, text, len);
			y.fatal = 1;
			break;
		}
		switch (ev.type) {
		case YAML_STREAM_END_EVENT:
			done = 1;
			break;
		case YAML_DOCUMENT_START_EVENT:
			if (++y.documents > 1) {
				struct yj_pos pos = mark_pos(&ev.start_mark);

				report(&y, &pos, "more than one YAML document: a plan is one "
				       "document (remove the '---' separator)");
				y.fatal = 1;
			}
			break;
		case YAML_SCALAR_EVENT:
			handle_scalar(&y, &ev);
			break;
		case YAML_ALIAS_EVENT:
			handle_alias(&y, &ev);
			break;
		case YAML_SEQUENCE_START_EVENT:
			check_collection_tag(&y, (const char *)ev.data.sequence_start.tag, "seq",
					     &ev.start_mark);
			push(&y, json_array(), &ev.start_mark,
			     (const char *)ev.data.sequence_start.anchor);
			break;
		case YAML_MAPPING_START_EVENT:
			check_collection_tag(&y, (const char *)ev.data.mapping_start.tag, "map",
					     &ev.start_mark);
			push(&y, json_object(), &ev.start_mark,
			     (const char *)ev.data.mapping_start.anchor);
			break;
		case YAML_SEQUENCE_END_EVENT:
		case YAML_MAPPING_END_EVENT:
			if (y.depth > 0)
				pop(&y);
			break;
		default:
			break;
		}
		yaml_event_delete(&ev);
		if (y.nodes > YAML_MAX_NODES && !y.fatal) {
			report(&y, NULL, "document too large: more than %d nodes", YAML_MAX_NODES);
			y.fatal = 1;
		}
	}
	while (y.depth > 0) {
		struct frame *f = &y.stack[--y.depth];

		json_decref(f->node);
		free(f->anchor);
		free(f->key);
	}
	for (size_t i = 0; i < y.nanchors; i++) {
		free(y.anchors[i].name);
		json_decref(y.anchors[i].node);
	}
	free(y.anchors);
	yaml_parser_delete(&parser);
	if (y.fatal) {
		json_decref(doc->root);
		doc->root = NULL;
		rc = -1;
	} else if (y.errors) {
		rc = 1;
	}
	return rc;
}
