/* A loaded YAML or JSON document: one jansson tree plus a line and column
 * for every key and value (harness/yaml/yaml_json.h loads it). */
#ifndef DR_HARNESS_YAML_YAML_DOC_H
#define DR_HARNESS_YAML_YAML_DOC_H

#include <stddef.h>

#include <jansson.h>

#include "harness/yaml/yaml_posmap.h"

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

#endif
