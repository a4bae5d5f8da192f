/* Chaos Mesh (chaos-mesh.org/v1alpha1), present only when
 * KUBECTL_DOUBLE_CHAOS_MESH=1 (its CRDs installed). */
#include "tests/doubles/kubectl_double.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int installed(void)
{
	const char *v = getenv("KUBECTL_DOUBLE_CHAOS_MESH");

	return v && strcmp(v, "1") == 0;
}

int kd_is_chaos_type(const char *type)
{
	return strcmp(type, "podchaos") == 0 || strcmp(type, "networkchaos") == 0 ||
	       strcmp(type, "podchaos.chaos-mesh.org") == 0 || strcmp(type, "networkchaos.chaos-mesh.org") == 0;
}

int kd_create_chaos(struct cmd *c, const char *region, json_t *obj)
{
	(void)region;
	if (!installed())
		return kd_fail(1, "error: resource mapping not found for name: \"%s\" namespace: \"%s\" from \"STDIN\": "
			       "no matches for kind \"%s\" in version \"%s\"\nensure CRDs are installed first",
			       json_string_value(json_object_get(json_object_get(obj, "metadata"), "name")) ?: "", c->ns,
			       json_string_value(json_object_get(obj, "kind")) ?: "",
			       json_string_value(json_object_get(obj, "apiVersion")) ?: "");
	return kd_fail(1, "error: the double does not emulate Chaos Mesh yet");
}

int kd_get_chaos(struct cmd *c, const char *region, const char *type, const char *name)
{
	(void)c;
	(void)region;
	(void)name;
	return kd_fail(1, "error: the server doesn't have a resource type \"%s\"", type);
}

int kd_delete_chaos(struct cmd *c, const char *region, const char *type, const char *name)
{
	(void)c;
	(void)region;
	(void)name;
	return kd_fail(1, "error: the server doesn't have a resource type \"%s\"", type);
}
