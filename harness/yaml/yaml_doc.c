/* A loaded document's positions (harness/yaml/yaml_doc.h). */
#include "harness/yaml/yaml_doc.h"

void yj_doc_release(struct yj_doc *doc)
{
	json_decref(doc->root);
	doc->root = NULL;
	posmap_free(doc->pos);
	doc->pos = NULL;
}

const struct yj_pos *yj_value_pos(const struct yj_doc *doc, const json_t *parent,
				  const char *key)
{
	return posmap_value(doc->pos, parent, key ? key : "");
}

const struct yj_pos *yj_index_pos(const struct yj_doc *doc, const json_t *parent,
				  size_t index)
{
	return posmap_index(doc->pos, parent, index);
}

const struct yj_pos *yj_key_pos(const struct yj_doc *doc, const json_t *obj,
				const char *key)
{
	return posmap_key(doc->pos, obj, key);
}

const struct yj_pos *yj_node_pos(const struct yj_doc *doc, const json_t *container)
{
	return posmap_container(doc->pos, container);
}

void yj_set_value_pos(struct yj_doc *doc, const json_t *parent, const char *key,
		      const struct yj_pos *pos)
{
	if (!doc->pos)
		doc->pos = posmap_new();
	posmap_set_value(doc->pos, parent, key ? key : "", pos);
}

void yj_set_index_pos(struct yj_doc *doc, const json_t *parent, size_t index,
		      const struct yj_pos *pos)
{
	if (!doc->pos)
		doc->pos = posmap_new();
	posmap_set_index(doc->pos, parent, index, pos);
}
