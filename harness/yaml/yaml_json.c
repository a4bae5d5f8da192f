/* The entry point of harness/yaml/yaml_json.h: each format's loader. */
#include "harness/yaml/yaml_json.h"

#include "harness/yaml/json_load.h"
#include "harness/yaml/yaml_load.h"

int yj_load(struct yj_doc *doc, const char *text, size_t len, enum yj_format fmt,
	    yj_error_fn on_error, void *payload)
{
	doc->root = NULL;
	doc->pos = posmap_new();
	doc->is_json = fmt == YJ_JSON;
	if (fmt == YJ_JSON)
		return yj_load_json(doc, text, len, on_error, payload);
	return yj_load_yaml(doc, text, len, on_error, payload);
}
