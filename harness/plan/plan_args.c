/* Readers of validated arguments (plan.h).  The checker guaranteed the
 * types, so these only fall back when a key is absent. */
#include <stdlib.h>

#include "common/strbuf.h"
#include "harness/plan/duration.h"
#include "harness/plan/plan.h"

const char *plan_arg_str(const json_t *args, const char *key)
{
	return json_string_value(json_object_get(args, key));
}

int64_t plan_arg_int(const json_t *args, const char *key, int64_t fallback)
{
	const json_t *v = json_object_get(args, key);

	return json_is_integer(v) ? (int64_t)json_integer_value(v) : fallback;
}

double plan_arg_number(const json_t *args, const char *key, double fallback)
{
	const json_t *v = json_object_get(args, key);

	return json_is_number(v) ? json_number_value(v) : fallback;
}

int plan_arg_bool(const json_t *args, const char *key, int fallback)
{
	const json_t *v = json_object_get(args, key);

	return json_is_boolean(v) ? json_is_true(v) : fallback;
}

int64_t plan_arg_duration_ns(const json_t *args, const char *key, int64_t fallback)
{
	const json_t *v = json_object_get(args, key);
	struct dr_error err = DR_ERROR_INIT;
	int64_t ns;

	if (json_is_integer(v) && json_integer_value(v) == 0)
		return 0;
	if (!json_is_string(v) || duration_parse(&ns, json_string_value(v), &err) != 0)
		return fallback;
	return ns;
}

const char **plan_arg_argv(const json_t *args, const char *key)
{
	const json_t *v = json_object_get(args, key);
	const char **argv;
	size_t n;

	if (!json_is_array(v))
		return NULL;
	n = json_array_size(v);
	argv = xcalloc(n + 1, sizeof(*argv));
	for (size_t i = 0; i < n; i++)
		argv[i] = json_string_value(json_array_get(v, i));
	return argv;
}
