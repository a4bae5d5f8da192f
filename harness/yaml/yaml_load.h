/* The YAML loader behind yj_load (harness/yaml/yaml_json.h), on libyaml. */
#ifndef DR_HARNESS_YAML_YAML_LOAD_H
#define DR_HARNESS_YAML_YAML_LOAD_H

#include <stddef.h>

#include "harness/yaml/yaml_doc.h"

int yj_load_yaml(struct yj_doc *doc, const char *text, size_t len,
		 yj_error_fn on_error, void *payload);

#endif
