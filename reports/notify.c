/* Webhook notifications (Slack-compatible {"text": ...}) with libcurl.
 * A webhook failure is returned to the caller, who reports it: it never
 * changes a drill's verdict.  The URL is a secret (Slack's carries the
 * token in its path), so it never appears in an error or a message. */
#include <curl/curl.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "common/strbuf.h"
#include "reports/redact.h"
#include "reports/render.h"
#include "reports/reports.h"

static pthread_once_t curl_once = PTHREAD_ONCE_INIT;

static void curl_setup(void)
{
	curl_global_init(CURL_GLOBAL_DEFAULT);
}

static size_t discard(char *ptr, size_t size, size_t nmemb, void *userdata)
{
	(void)ptr;
	(void)userdata;
	return size * nmemb;
}

int notify_webhook(const char *url, const json_t *payload, int64_t timeout_ns, struct dr_error *err)
{
	CURL *c = NULL;
	struct curl_slist *headers = NULL;
	char *body = NULL, *clean = NULL;
	char errbuf[CURL_ERROR_SIZE] = "";
	long status = 0, timeout_ms;
	CURLcode cc;
	int rc = -1;

	if (!url || !*url) {
		dr_error_set(err, "webhook notification failed: no URL");
		goto out;
	}
	redact_add_secret(url);
	pthread_once(&curl_once, curl_setup);
	body = json_dumps(payload, JSON_COMPACT);
	if (!body) {
		dr_error_set(err, "webhook notification failed: payload is not JSON");
		goto out;
	}
	c = curl_easy_init();
	if (!c) {
		dr_error_set(err, "webhook notification failed: cannot start libcurl");
		goto out;
	}
	timeout_ms = timeout_ns > 0 ? (long)(timeout_ns / 1000000) : 10000;
	if (timeout_ms < 1)
		timeout_ms = 1;
	headers = curl_slist_append(headers, "Content-Type: application/json");
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, headers);
	curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, timeout_ms);
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(c, CURLOPT_ERRORBUFFER, errbuf);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, discard);
	curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(c, CURLOPT_USERAGENT, "drillrig");
	cc = curl_easy_perform(c);
	if (cc != CURLE_OK) {
		clean = redact_text(errbuf[0] ? errbuf : curl_easy_strerror(cc));
		dr_error_set(err, "webhook notification failed: %s", clean);
		goto out;
	}
	curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
	if (status < 200 || status > 299) {
		dr_error_set(err, "webhook notification failed: HTTP %ld", status);
		goto out;
	}
	rc = 0;
out:
	free(clean);
	free(body);
	curl_slist_free_all(headers);
	if (c)
		curl_easy_cleanup(c);
	return rc;
}

static json_t *text_payload(struct strbuf *sb)
{
	char *t = redact_text(sb->buf);
	json_t *p = json_pack("{s:s}", "text", t);

	free(t);
	strbuf_release(sb);
	return p;
}

json_t *notify_start_message(const json_t *journal)
{
	json_t *j = redact_json(journal);
	const json_t *drill = j_obj(j, "drill"), *target = j_obj(j, "target");
	struct strbuf sb = STRBUF_INIT;
	json_t *p;

	strbuf_addf(&sb, ":rotating_light: DR drill *%s* is starting now against the %s target (%s).",
		    j_str_or(drill, "name", "?"), j_str_or(target, "kind", "?"),
		    j_str_or(target, "description", "no description"));
	if (j_str(drill, "description"))
		strbuf_addf(&sb, " %s", j_str(drill, "description"));
	strbuf_adds(&sb, " Expect a planned outage; a summary follows when it ends.");
	if (j_str(j, "started_at"))
		strbuf_addf(&sb, " Started %s.", j_str(j, "started_at"));
	p = text_payload(&sb);
	json_decref(j);
	return p;
}

json_t *notify_end_message(const json_t *journal)
{
	json_t *j = redact_json(journal);
	const json_t *drill = j_obj(j, "drill"), *m = j_obj(j, "measurements"), *objs, *o;
	const char *verdict = verdict_word(j);
	struct strbuf sb = STRBUF_INIT;
	json_t *p;
	size_t i;
	double v;

	strbuf_addf(&sb, "%s DR drill *%s* %s",
		    strcmp(verdict, "PASSED") == 0 ? ":white_check_mark:" : ":x:",
		    j_str_or(drill, "name", "?"), verdict);
	if (j_num(j, "duration_ms", &v)) {
		strbuf_adds(&sb, " after ");
		fmt_ms(&sb, v);
	}
	strbuf_adds(&sb, ".");
	if (strcmp(verdict, "PASSED") != 0 && j_str(j, "reason"))
		strbuf_addf(&sb, " %s.", j_str(j, "reason"));
	strbuf_adds(&sb, " RTO ");
	if (j_num(m, "rto_ms", &v))
		fmt_ms(&sb, v);
	else
		strbuf_adds(&sb, "not measured");
	strbuf_adds(&sb, ", RPO ");
	if (j_num(m, "rpo_lost_writes", &v))
		strbuf_addf(&sb, "%.0f lost write%s", v, v == 1 ? "" : "s");
	else
		strbuf_adds(&sb, "n/a");
	if (j_num(m, "availability", &v))
		strbuf_addf(&sb, ", availability %.2f %%", v * 100.0);
	strbuf_adds(&sb, ".");
	objs = j_arr(j, "objectives");
	json_array_foreach(objs, i, o) {
		if (json_is_true(json_object_get(o, "passed")))
			continue;
		strbuf_addf(&sb, "\n• objective %s failed: %s", j_str_or(o, "name", "?"),
			    j_str_or(o, "message", "over its limit"));
	}
	p = text_payload(&sb);
	json_decref(j);
	return p;
}
