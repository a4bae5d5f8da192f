/* The JSON loader behind yj_load (harness/yaml/yaml_json.h): jansson
 * parses, a small scanner walks the text beside the tree for positions and
 * duplicate keys. */
#ifndef DR_HARNESS_YAML_JSON_LOAD_H
#define DR_HARNESS_YAML_JSON_LOAD_H

#include <stddef.h>

#include "harness/yaml/yaml_doc.h"

int yj_load_json(struct yj_doc *doc, const char *text, size_t len,
		 yj_error_fn on_error, void *payload);

#endif
