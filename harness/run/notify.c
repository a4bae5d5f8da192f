#include "harness/run/notify.h"

#include <stdlib.h>

#include "common/clock.h"
#include "harness/plan/plan.h"
#include "reports/reports.h"

#define NOTIFY_TIMEOUT_NS (10 * NS_PER_SEC)

int notify_send_from_args(json_t *args, const char *message, const struct action_ctx *ctx,
			  struct dr_error *err)
{
	const char *url = plan_arg_str(args, "url");
	const char *env = plan_arg_str(args, "url_env");
	json_t *payload;
	int rc;

	(void)ctx;
	if (!url) {
		if (!env)
			env = "DRILLRIG_NOTIFY_WEBHOOK";
		url = getenv(env);
		if (!url || !*url)
			return dr_error_set(err, "no webhook URL: set the step's url or $%s", env);
	}
	payload = json_pack("{s:s}", "text", message);
	rc = notify_webhook(url, payload, NOTIFY_TIMEOUT_NS, err);
	json_decref(payload);
	return rc;
}
