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

#include "harness/yaml/yaml_doc.h"
#include "harness/yaml/yaml_scalar.h"

enum yj_format { YJ_YAML, YJ_JSON };

/* Parse text.  Returns 0 when the document was built (duplicate keys are
 * reported through on_error but still yield a tree: the first value kept for
 * YAML, the last for JSON, as jansson does), -1 on a syntax error (doc->root
 * NULL).  Returns 1 when the tree was built but errors were reported. */
int yj_load(struct yj_doc *doc, const char *text, size_t len, enum yj_format fmt,
	    yj_error_fn on_error, void *payload);

#endif
