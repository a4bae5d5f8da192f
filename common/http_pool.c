#include "common/http_pool.h"

#include <stdlib.h>
#include <string.h>

#include <curl/curl.h>

#include "common/strbuf.h"

struct http_endpoint {
	char *address;   /* host:port */
	CURL *curl;
};

struct http_pool {
	struct http_endpoint *e;
	size_t n;
	struct curl_slist *headers;
	struct strbuf body;
};

static const char *strip_scheme(const char *a)
{
	return strncmp(a, "http://", 7) == 0 ? a + 7 : a;
}

int http_pool_new(struct http_pool **out, const char *const addresses[], size_t n,
		  const char *const headers[], struct dr_error *err)
{
	struct http_pool *p;

	*out = NULL;
	if (n == 0)
		return dr_error_set(err, "no endpoint to call");
	p = xcalloc(1, sizeof(*p));
	p->e = xcalloc(n, sizeof(*p->e));
	p->n = n;
	p->headers = curl_slist_append(NULL, "Content-Type: application/json");
	for (size_t i = 0; headers && headers[i]; i++)
		p->headers = curl_slist_append(p->headers, headers[i]);
	for (size_t i = 0; i < n; i++) {
		p->e[i].address = xstrdup(strip_scheme(addresses[i]));
		p->e[i].curl = curl_easy_init();
		if (!p->e[i].curl) {
			http_pool_free(p);
			return dr_error_set(err, "cannot initialise libcurl");
		}
	}
	*out = p;
	return 0;
}

void http_pool_free(struct http_pool *p)
{
	if (!p)
		return;
	for (size_t i = 0; i < p->n; i++) {
		if (p->e[i].curl)
			curl_easy_cleanup(p->e[i].curl);
		free(p->e[i].address);
	}
	free(p->e);
	curl_slist_free_all(p->headers);
	strbuf_release(&p->body);
	free(p);
}

size_t http_pool_size(const struct http_pool *p)
{
	return p->n;
}

const char *http_pool_address(const struct http_pool *p, size_t i)
{
	return i < p->n ? p->e[i].address : NULL;
}

int http_pool_find(const struct http_pool *p, const char *address)
{
	if (!address)
		return -1;
	address = strip_scheme(address);
	for (size_t i = 0; i < p->n; i++)
		if (strcmp(p->e[i].address, address) == 0)
			return (int)i;
	return -1;
}

static size_t collect(char *data, size_t size, size_t nmemb, void *payload)
{
	strbuf_add(payload, data, size * nmemb);
	return size * nmemb;
}

void http_pool_post(struct http_pool *p, size_t i, const char *path, const char *body,
		    long timeout_ms, long connect_timeout_ms, struct http_answer *ans)
{
	CURL *h = p->e[i].curl;
	char *url;
	CURLcode rc;

	if (path[0] == '/')
		path++;
	url = xasprintf("http://%s/%s", p->e[i].address, path);
	memset(ans, 0, sizeof(*ans));
	strbuf_reset(&p->body);
	curl_easy_reset(h); /* keeps the connection cache */
	curl_easy_setopt(h, CURLOPT_URL, url);
	curl_easy_setopt(h, CURLOPT_HTTPHEADER, p->headers);
	curl_easy_setopt(h, CURLOPT_POSTFIELDS, body);
	curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, timeout_ms > 0 ? timeout_ms : 1L);
	curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, connect_timeout_ms > 0 ? connect_timeout_ms : 1L);
	curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(h, CURLOPT_NOPROXY, "*");
	curl_easy_setopt(h, CURLOPT_TCP_NODELAY, 1L);
	curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, collect);
	curl_easy_setopt(h, CURLOPT_WRITEDATA, &p->body);
	rc = curl_easy_perform(h);
	free(url);
	ans->body = p->body.buf ? p->body.buf : "";
	ans->len = p->body.len;
	if (rc != CURLE_OK) {
		/* Refused connections never carried the request; anything later
		 * (timeout, reset, empty reply) might have. */
		ans->refused = rc == CURLE_COULDNT_CONNECT || rc == CURLE_COULDNT_RESOLVE_HOST;
		ans->timed_out = rc == CURLE_OPERATION_TIMEDOUT;
		ans->error = curl_easy_strerror(rc);
		return;
	}
	ans->ok = 1;
	curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &ans->status);
}

int http_pool_call(struct http_pool *p, size_t i, const char *path, const json_t *req,
		   long timeout_ms, long connect_timeout_ms, json_t **resp, long *status,
		   struct dr_error *err)
{
	char *body = req ? json_dumps(req, JSON_COMPACT) : xstrdup("{}");
	struct http_answer ans;
	json_error_t jerr;

	*resp = NULL;
	*status = 0;
	if (i >= p->n) {
		free(body);
		return dr_error_set(err, "no endpoint %zu (the client has %zu)", i, p->n);
	}
	if (path[0] == '/')
		path++;
	http_pool_post(p, i, path, body, timeout_ms, connect_timeout_ms, &ans);
	free(body);
	if (!ans.ok)
		return dr_error_set(err, "cannot call %s on '%s': %s", path, p->e[i].address, ans.error);
	*status = ans.status;
	*resp = json_loadb(ans.body, ans.len, 0, &jerr);
	if (!*resp)
		return dr_error_set(err, "answer of %s from '%s' (HTTP %ld) is not JSON: %s", path,
				    p->e[i].address, ans.status, jerr.text);
	return 0;
}
