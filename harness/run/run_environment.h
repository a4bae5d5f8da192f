/* What the journal records about where a drill ran.  Only an allow-list of
 * environment variables is recorded: anything else may hold a secret. */
#ifndef DR_HARNESS_RUN_RUN_ENVIRONMENT_H
#define DR_HARNESS_RUN_RUN_ENVIRONMENT_H

#include <jansson.h>

/* {"hostname","os","cpus","vars":{allow-listed}} */
json_t *run_environment_json(void);
/* "linux-x86_64-2cpu": runs compare for regressions only within a class. */
char *run_environment_class(void);

#endif
