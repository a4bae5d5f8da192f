/* The position side table behind struct yj_doc (harness/yaml/yaml_doc.h):
 * an open-addressing hash keyed by (container, key) or (container, index),
 * because jansson shares true/false/null singletons and a value's own
 * pointer cannot identify its place. */
#ifndef DR_HARNESS_YAML_YAML_POSMAP_H
#define DR_HARNESS_YAML_YAML_POSMAP_H

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

struct yj_posmap *posmap_new(void);
void posmap_free(struct yj_posmap *m);
void posmap_set_container(struct yj_posmap *m, const json_t *c, const struct yj_pos *pos);
void posmap_set_key(struct yj_posmap *m, const json_t *obj, const char *key,
		    const struct yj_pos *pos);
void posmap_set_value(struct yj_posmap *m, const json_t *parent, const char *key,
		      const struct yj_pos *pos);
void posmap_set_index(struct yj_posmap *m, const json_t *parent, size_t index,
		      const struct yj_pos *pos);
/* Lookups (m may be NULL); NULL when unknown. */
const struct yj_pos *posmap_container(const struct yj_posmap *m, const json_t *c);
const struct yj_pos *posmap_key(const struct yj_posmap *m, const json_t *obj, const char *key);
const struct yj_pos *posmap_value(const struct yj_posmap *m, const json_t *parent,
				  const char *key);
const struct yj_pos *posmap_index(const struct yj_posmap *m, const json_t *parent, size_t index);

#endif
