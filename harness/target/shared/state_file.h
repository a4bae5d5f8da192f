/* The state file a running drill keeps for `drillrig recover` (written by
 * harness/run/undo_stack.c): read back by each target's recover hook. */
#ifndef DR_HARNESS_TARGET_SHARED_STATE_FILE_H
#define DR_HARNESS_TARGET_SHARED_STATE_FILE_H

#include <jansson.h>

#include "common/error.h"

/* Load the JSON file at path.  0 with *out (caller owns); a missing file
 * is not an error: 0 with *out NULL and *missing 1.  -1 with err when it
 * cannot be read or is not JSON. */
int state_file_load(json_t **out, int *missing, const char *path, struct dr_error *err);

#endif
