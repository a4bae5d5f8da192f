/* Webhook notifications against a loopback HTTP server (libmicrohttpd on a
 * random 127.A.B.1 address and an ephemeral port): the Slack-compatible
 * body arrives, a non-2xx answer and an unreachable server are failures
 * whose messages never contain the URL. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>
#include <cmocka.h>
#include <microhttpd.h>

#include "common/strbuf.h"
#include "reports/redact.h"
#include "reports/reports.h"

#define SECRET_PATH "services/T0/B0/zzHOOKSECRETzz"

struct hook_server {
	struct MHD_Daemon *d;
	struct sockaddr_in addr;
	unsigned status;           /* what to answer */
	pthread_mutex_t lock;
	struct strbuf body;        /* last body received */
	int requests;
};

struct conn {
	struct strbuf body;
};

static enum MHD_Result on_request(void *cls, struct MHD_Connection *c, const char *url,
				  const char *method, const char *version, const char *upload,
				  size_t *upload_size, void **con_cls)
{
	struct hook_server *hs = cls;
	struct conn *cn = *con_cls;
	struct MHD_Response *r;
	enum MHD_Result ret;
	static const char answer[] = "{}";

	(void)url;
	(void)version;
	if (!cn) {
		cn = xcalloc(1, sizeof(*cn));
		*con_cls = cn;
		return MHD_YES;
	}
	if (*upload_size) {
		strbuf_add(&cn->body, upload, *upload_size);
		*upload_size = 0;
		return MHD_YES;
	}
	pthread_mutex_lock(&hs->lock);
	strbuf_reset(&hs->body);
	if (strcmp(method, "POST") == 0)
		strbuf_adds(&hs->body, cn->body.buf ? cn->body.buf : "");
	hs->requests++;
	pthread_mutex_unlock(&hs->lock);
	r = MHD_create_response_from_buffer(strlen(answer), (void *)answer, MHD_RESPMEM_PERSISTENT);
	ret = MHD_queue_response(c, hs->status, r);
	MHD_destroy_response(r);
	return ret;
}

static void on_completed(void *cls, struct MHD_Connection *c, void **con_cls,
			 enum MHD_RequestTerminationCode toe)
{
	struct conn *cn = *con_cls;

	(void)cls;
	(void)c;
	(void)toe;
	if (cn) {
		strbuf_release(&cn->body);
		free(cn);
	}
	*con_cls = NULL;
}

static void random_loopback(struct sockaddr_in *a)
{
	unsigned seed = (unsigned)time(NULL) ^ (unsigned)getpid();

	memset(a, 0, sizeof(*a));
	a->sin_family = AF_INET;
	a->sin_addr.s_addr = htonl((127u << 24) | ((1 + rand_r(&seed) % 250u) << 16) |
				   ((1 + rand_r(&seed) % 250u) << 8) | 1u);
	a->sin_port = 0;
}

static int server_start(struct hook_server *hs)
{
	const union MHD_DaemonInfo *info;

	memset(hs, 0, sizeof(*hs));
	pthread_mutex_init(&hs->lock, NULL);
	hs->status = 200;
	random_loopback(&hs->addr);
	hs->d = MHD_start_daemon(MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_ERROR_LOG, 0, NULL, NULL,
				 on_request, hs, MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&hs->addr,
				 MHD_OPTION_NOTIFY_COMPLETED, on_completed, hs, MHD_OPTION_END);
	if (!hs->d)
		return -1;
	info = MHD_get_daemon_info(hs->d, MHD_DAEMON_INFO_BIND_PORT);
	hs->addr.sin_port = htons(info->port);
	return 0;
}

static char *server_url(const struct hook_server *hs)
{
	char ip[INET_ADDRSTRLEN];

	inet_ntop(AF_INET, &hs->addr.sin_addr, ip, sizeof(ip));
	return xasprintf("http://%s:%u/" SECRET_PATH, ip, (unsigned)ntohs(hs->addr.sin_port));
}

static void server_stop(struct hook_server *hs)
{
	MHD_stop_daemon(hs->d);
	strbuf_release(&hs->body);
	pthread_mutex_destroy(&hs->lock);
}

static json_t *journal(void)
{
	const char *src = getenv("DRILLRIG_SRC");
	char *path = xasprintf("%s/tests/data/journals/failed-lost-write.json", src && *src ? src : ".");
	json_error_t jerr;
	json_t *j = json_load_file(path, 0, &jerr);

	if (!j)
		fail_msg("cannot load '%s': %s", path, jerr.text);
	free(path);
	return j;
}

static void test_webhook_delivers_slack_text(void **state)
{
	struct hook_server hs;
	struct dr_error err = DR_ERROR_INIT;
	json_t *j = journal(), *start = notify_start_message(j), *end = notify_end_message(j), *got;
	char *url;
	json_error_t jerr;

	(void)state;
	if (server_start(&hs) != 0)
		fail_msg("cannot start the loopback webhook server");
	url = server_url(&hs);
	if (notify_webhook(url, start, 5 * INT64_C(1000000000), &err) != 0)
		fail_msg("notify_webhook: %s", err.msg);
	pthread_mutex_lock(&hs.lock);
	got = json_loads(hs.body.buf ? hs.body.buf : "", 0, &jerr);
	pthread_mutex_unlock(&hs.lock);
	assert_non_null(got);
	assert_non_null(strstr(json_string_value(json_object_get(got, "text")), "is starting now"));
	json_decref(got);
	assert_int_equal(notify_webhook(url, end, 5 * INT64_C(1000000000), &err), 0);
	pthread_mutex_lock(&hs.lock);
	got = json_loads(hs.body.buf ? hs.body.buf : "", 0, &jerr);
	assert_int_equal(hs.requests, 2);
	pthread_mutex_unlock(&hs.lock);
	assert_non_null(got);
	assert_non_null(strstr(json_string_value(json_object_get(got, "text")), "FAILED"));
	assert_non_null(strstr(json_string_value(json_object_get(got, "text")), "objective rpo failed"));
	json_decref(got);
	/* A 500 is a failure, reported without the URL. */
	hs.status = 500;
	assert_int_equal(notify_webhook(url, end, 5 * INT64_C(1000000000), &err), -1);
	assert_non_null(strstr(err.msg, "HTTP 500"));
	assert_null(strstr(err.msg, "zzHOOKSECRETzz"));
	/* The URL is now a registered secret: reports never show it. */
	{
		char *t = redact_text(url);

		assert_null(strstr(t, "zzHOOKSECRETzz"));
		free(t);
	}
	server_stop(&hs);
	/* The server is gone: connection refused, again without the URL. */
	assert_int_equal(notify_webhook(url, end, 5 * INT64_C(1000000000), &err), -1);
	assert_non_null(strstr(err.msg, "webhook notification failed"));
	assert_null(strstr(err.msg, "zzHOOKSECRETzz"));
	free(url);
	json_decref(start);
	json_decref(end);
	json_decref(j);
	redact_clear_secrets();
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_webhook_delivers_slack_text),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
