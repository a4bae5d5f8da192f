/* One JSON call to one node, for the launcher's health checks, status and
 * the supervisor's AddMember.
 *
 * A one-shot call rather than common/http_pool.h: these calls are rare, need
 * no kept connection, and cap the answer (8 MiB) because the launcher also
 * probes addresses that may not be ledgerd at all.  Like the pool it never
 * goes through a proxy (CI runners set http_proxy). */
#include "ledger/cluster/cluster_state.h"

#include <curl/curl.h>
#include <stdlib.h>
#include <string.h>

#include "common/strbuf.h"

static size_t collect(char *data, size_t size, size_t n, void *payload)
{
	struct strbuf *sb = payload;

	if (sb->len + size * n > (8u << 20))
		return 0; /* refuse answers over 8 MiB */
	strbuf_add(sb, data, size * n);
	return size * n;
}

int cluster_http_call(json_t **out, long *status_out, const char *address,
		      const char *path, json_t *body, int64_t timeout_ns,
		      struct dr_error *err)
{
	struct strbuf resp = STRBUF_INIT;
	struct curl_slist *headers = NULL;
	char *url = xasprintf("http://%s/%s", address, path[0] == '/' ? path + 1 : path);
	char *payload = body ? json_dumps(body, JSON_COMPACT) : xstrdup("{}");
	long status = 0, ms = (long)(timeout_ns / 1000000);
	json_error_t jerr;
	CURLcode cc;
	CURL *curl;
	int rc = -1;

	*out = NULL;
	if (status_out)
		*status_out = 0;
	curl = curl_easy_init();
	if (!curl) {
		dr_error_set(err, "cannot initialise libcurl");
		goto out;
	}
	headers = curl_slist_append(headers, "Content-Type: application/json");
	curl_easy_setopt(curl, CURLOPT_URL, url);
	curl_easy_setopt(curl, CURLOPT_HTTPHEADER, headers);
	curl_easy_setopt(curl, CURLOPT_POSTFIELDS, payload);
	curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, collect);
	curl_easy_setopt(curl, CURLOPT_WRITEDATA, &resp);
	curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS, ms > 0 ? ms : 1);
	curl_easy_setopt(curl, CURLOPT_CONNECTTIMEOUT_MS, ms > 0 ? ms : 1);
	curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(curl, CURLOPT_NOPROXY, "*");
	cc = curl_easy_perform(curl);
	if (cc != CURLE_OK) {
		dr_error_set(err, "POST %s: %s", url, curl_easy_strerror(cc));
		goto out;
	}
	curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &status);
	if (status_out)
		*status_out = status;
	*out = json_loadb(resp.buf ? resp.buf : "", resp.len, 0, &jerr);
	if (status < 200 || status > 299) {
		json_t *code = json_object_get(*out, "code");
		json_t *msg = json_object_get(*out, "message");

		dr_error_set(err, "POST %s: HTTP %ld %s: %s", url, status,
			     json_is_string(code) ? json_string_value(code) : "",
			     json_is_string(msg) ? json_string_value(msg) : strbuf_str(&resp));
		goto out;
	}
	if (!*out) {
		dr_error_set(err, "POST %s: answer is not JSON: %s", url, jerr.text);
		goto out;
	}
	rc = 0;
out:
	if (curl)
		curl_easy_cleanup(curl);
	curl_slist_free_all(headers);
	free(payload);
	free(url);
	strbuf_release(&resp);
	return rc;
}
