/* Reading a drill's state file (harness/target/shared/state_file.h). */
#include "harness/target/shared/state_file.h"

#include <stdlib.h>

#include "common/fsutil.h"

int state_file_load(json_t **out, int *missing, const char *path, struct dr_error *err)
{
	char *text = NULL;
	json_error_t jerr;

	*out = NULL;
	*missing = !fs_exists(path);
	if (*missing)
		return 0;
	if (fs_read_file(&text, NULL, path, 16u << 20, err) != 0)
		return -1;
	*out = json_loads(text, 0, &jerr);
	free(text);
	if (!*out)
		return dr_error_set(err, "cannot read '%s': not JSON: %s (line %d)", path, jerr.text,
				    jerr.line);
	return 0;
}
