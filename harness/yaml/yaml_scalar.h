/* YAML 1.2 core-schema meanings of plain scalars (harness/yaml/yaml_json.h
 * lists them): shared by the YAML loader and the plan checker, which
 * types a "${var}" after substitution the same way. */
#ifndef DR_HARNESS_YAML_YAML_SCALAR_H
#define DR_HARNESS_YAML_YAML_SCALAR_H

#include <stddef.h>

#include <jansson.h>

/* Resolve a plain YAML scalar with core-schema meanings into a new json
 * value; *flags gets YJ_NONFINITE for .inf/.nan. */
json_t *yj_resolve_plain(const char *text, size_t len, unsigned *flags);

#endif
