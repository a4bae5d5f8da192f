/* YAML and JSON into one jansson tree, with a line and column for every key
 * and every value.
 *
 * YAML (libyaml) is read with YAML 1.2 core-schema meanings for plain
 * scalars: null/Null/NULL/~/empty are null; true/True/TRUE/false/False/FALSE
 * are booleans (yes/no/on/off are strings); [-+]?[0-9]+ is a decimal integer
 * (010 is ten), 0o17 octal, 0x1f hex; floats are floats; .inf/.nan are kept
 * as their text and flagged YJ_NONFINITE (jansson cannot hold them, and no
 * plan field accepts them).  Quoted and block scalars are always strings;
 * the tag !!str forces a string, other tags are rejected.  Anchors and
 * aliases are supported (an alias is a deep copy, positions included);
 * merge keys (<<), complex keys and multiple documents are errors.
 *
 * JSON is parsed by jansson (syntax errors with its position); a small
 * scanner then walks the text beside the tree to record positions, and
 * reports every duplicate key.
 *
 * Positions are kept in a side table keyed by (container, key) or
 * (container, index): jansson shares true/false/null singletons, so a
 * value's own pointer cannot identify its place.
 */
#ifndef DR_HARNESS_YAML_YAML_JSON_H
#define DR_HARNESS_YAML_YAML_JSON_H

#include <stddef.h>

#include <jansson.h>

#define YJ_NONFINITE 0x1u   /* a YAML .inf/.nan float kept as a string */
#define YJ_FROM_VAR  0x2u   /* the string was exactly one ${var} reference */
#define YJ_QUOTED    0x4u   /* a quoted YAML scalar or a JSON string */
#define YJ_VAR_ERROR 0x8u   /* ${var} substitution failed (already reported) */

struct yj_pos {
	unsigned line, column;  /* 1-based */
	unsigned flags;         /* YJ_* (values only) */
};

struct yj_posmap;

struct yj_doc {
	json_t *root;           /* NULL until loaded */
	struct yj_posmap *pos;
	int is_json;
};

#define YJ_DOC_INIT { NULL, NULL, 0 }

/* Called for every error (line/column 1-based, 0 when unknown). */
typedef void (*yj_error_fn)(unsigned line, unsigned column, const char *msg,
			    void *payload);

enum yj_format { YJ_YAML, YJ_JSON };

/* Parse text.  Returns 0 when the document was built (duplicate keys are
 * reported through on_error but still yield a tree: the first value kept for
 * YAML, the last for JSON, as jansson does), -1 on a syntax error (doc->root
 * NULL).  Returns 1 when the tree was built but errors were reported. */
int yj_load(struct yj_doc *doc, const char *text, size_t len, enum yj_format fmt,
	    yj_error_fn on_error, void *payload);
void yj_doc_release(struct yj_doc *doc);

/* Lookups; NULL when unknown.  parent NULL with key "" is the root. */
const struct yj_pos *yj_value_pos(const struct yj_doc *doc, const json_t *parent,
				  const char *key);
const struct yj_pos *yj_index_pos(const struct yj_doc *doc, const json_t *parent,
				  size_t index);
const struct yj_pos *yj_key_pos(const struct yj_doc *doc, const json_t *obj,
				const char *key);
/* Where a container (object or array) starts. */
const struct yj_pos *yj_node_pos(const struct yj_doc *doc, const json_t *container);

/* Record positions (used when the checker replaces a value). */
void yj_set_value_pos(struct yj_doc *doc, const json_t *parent, const char *key,
		      const struct yj_pos *pos);
void yj_set_index_pos(struct yj_doc *doc, const json_t *parent, size_t index,
		      const struct yj_pos *pos);

/* Resolve a plain YAML scalar with core-schema meanings into a new json
 * value; *flags gets YJ_NONFINITE for .inf/.nan. */
json_t *yj_resolve_plain(const char *text, size_t len, unsigned *flags);

#endif
