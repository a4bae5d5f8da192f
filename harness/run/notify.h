/* Webhook notifications from plans (`notify` steps) and from --notify-webhook.
 * The URL is a secret: it never appears in a message, a log or the journal. */
#ifndef DR_HARNESS_RUN_NOTIFY_H
#define DR_HARNESS_RUN_NOTIFY_H

#include <jansson.h>

#include "common/error.h"
#include "harness/core/target.h"

/* Send {"text": message} to the step's `url`, or to the URL in the
 * environment variable named by `url_env` (default DRILLRIG_NOTIFY_WEBHOOK). */
int notify_send_from_args(json_t *args, const char *message, const struct action_ctx *ctx,
			  struct dr_error *err);

#endif
