/* Private to yaml_json: building the position side table. */
#ifndef DR_HARNESS_YAML_YAML_POSMAP_H
#define DR_HARNESS_YAML_YAML_POSMAP_H

#include <jansson.h>

#include "harness/yaml/yaml_json.h"

struct yj_posmap *posmap_new(void);
void posmap_free(struct yj_posmap *m);
void posmap_set_container(struct yj_posmap *m, const json_t *c, const struct yj_pos *pos);
void posmap_set_key(struct yj_posmap *m, const json_t *obj, const char *key,
		    const struct yj_pos *pos);
void posmap_set_value(struct yj_posmap *m, const json_t *parent, const char *key,
		      const struct yj_pos *pos);
void posmap_set_index(struct yj_posmap *m, const json_t *parent, size_t index,
		      const struct yj_pos *pos);

/* Loaders (yaml_load.c, json_load.c). */
int yj_load_yaml(struct yj_doc *doc, const char *text, size_t len,
		 yj_error_fn on_error, void *payload);
int yj_load_json(struct yj_doc *doc, const char *text, size_t len,
		 yj_error_fn on_error, void *payload);

#endif
