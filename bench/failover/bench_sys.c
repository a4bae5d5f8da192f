#include "bench/failover/bench_sys.h"

#include <arpa/inet.h>
#include <curl/curl.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "common/clock.h"
#include "common/fsutil.h"
#include "common/netport.h"
#include "common/strbuf.h"

static size_t collect(char *p, size_t size, size_t nmemb, void *payload)
{
	strbuf_add(payload, p, size * nmemb);
	return size * nmemb;
}

static int etcd_start(struct bench_sys *s)
{
	struct dr_error err = DR_ERROR_INIT;
	unsigned seed = (unsigned)(clock_wall_ns() ^ (uint64_t)getpid() * 2654435761u);
	int a = 1 + (int)(rand_r(&seed) % 250), b = 1 + (int)(rand_r(&seed) % 250);
	char tmpl[] = "/dev/shm/bench-etcd-XXXXXX";
	const char *bin = getenv("DRILLRIG_ETCD_BIN");

	memset(&s->ec, 0, sizeof(s->ec));
	etcd_cluster_init(&s->ec);
	if (!mkdtemp(tmpl))
		return -1;
	s->ec.dir = xstrdup(tmpl);
	s->ec.etcd_bin = xstrdup(bin && *bin ? bin : "etcd");
	s->ec.heartbeat_ms = s->heartbeat_ms;
	s->ec.n = s->n;
	for (int i = 0; i < s->n; i++) {
		struct etcd_member *m = &s->ec.m[i];

		m->id = i + 1;
		snprintf(m->name, sizeof(m->name), "m%d", i + 1);
		snprintf(m->region, sizeof(m->region), "r");
		snprintf(m->ip, sizeof(m->ip), "127.%d.%d.%d", a, b, i + 1);
		m->client_port = net_free_port(m->ip, 0);
		m->peer_port = net_free_port(m->ip, 0);
		snprintf(m->address, sizeof(m->address), "%s:%d", m->ip, m->client_port);
		m->election_ms = s->election_ms;
		snprintf(s->addr[i], sizeof(s->addr[i]), "%s", m->address);
	}
	if (etcd_cluster_launch(&s->ec, &err) != 0) {
		fprintf(stderr, "bench: %s\n", err.msg);
		return -1;
	}
	s->ec_up = 1;
	return 0;
}

int bench_sys_launch(struct bench_sys *s, enum bench_kind kind, int n, int election_ms,
		     int heartbeat_ms)
{
	int rc;

	s->kind = kind;
	s->name = kind == BENCH_LEDGERD ? "ledgerd" : "etcd";
	s->n = n;
	s->election_ms = election_ms;
	s->heartbeat_ms = heartbeat_ms;
	for (int i = 0; i < n; i++)
		s->probe[i] = curl_easy_init();
	if (kind == BENCH_LEDGERD) {
		memset(&s->tn, 0, sizeof(s->tn));
		s->tn.election_ms = election_ms;
		s->tn.heartbeat_ms = heartbeat_ms;
		rc = testnet_start(&s->tn, n, NULL);
		/* The API is gRPC; /metrics is on the HTTP listener, the
		 * http_address the testnet gives each member in its peers
		 * file (cluster.json's and the status members' field). */
		for (int i = 0; i < n; i++) {
			snprintf(s->addr[i], sizeof(s->addr[i]), "%s", s->tn.addr[i]);
			snprintf(s->http_addr[i], sizeof(s->http_addr[i]), "%s", s->tn.http[i]);
		}
	} else {
		rc = etcd_start(s);
	}
	return rc != 0 ? -1 : 0;
}

int bench_sys_start(struct bench_sys *s, enum bench_kind kind, int n, int election_ms,
		    int heartbeat_ms)
{
	if (bench_sys_launch(s, kind, n, election_ms, heartbeat_ms) != 0)
		return -1;
	return bench_sys_wait_leader(s, 30000) >= 0 ? 0 : -1;
}

void bench_sys_destroy(struct bench_sys *s)
{
	struct dr_error err = DR_ERROR_INIT;

	if (s->kind == BENCH_LEDGERD) {
		testnet_destroy(&s->tn);
	} else if (s->ec_up) {
		etcd_cluster_shutdown(&s->ec);
		fs_remove_tree(s->ec.dir, &err);
		free(s->ec.dir);
		free(s->ec.etcd_bin);
		pthread_mutex_destroy(&s->ec.lock);
		s->ec_up = 0;
	}
	for (int i = 0; i < s->n; i++) {
		if (s->probe[i])
			curl_easy_cleanup(s->probe[i]);
		s->probe[i] = NULL;
	}
}

int bench_sys_running(struct bench_sys *s, int i)
{
	return s->kind == BENCH_LEDGERD ? s->tn.pid[i] > 0 : etcd_member_running(&s->ec, i);
}

/* ledgerd: GET /metrics on its HTTP listener, "ledger_raft_is_leader 1"; etcd: its own
 * /v3/maintenance/status names itself as leader.  Both are the node's own
 * view: a follower does not forward these. */
int bench_sys_self_leader(struct bench_sys *s, int i, long timeout_ms)
{
	CURL *h = s->probe[i];
	struct strbuf body = STRBUF_INIT;
	char *url;
	long http = 0;
	int rc = -1;

	curl_easy_reset(h);
	if (s->kind == BENCH_LEDGERD) {
		url = xasprintf("http://%s/metrics", s->http_addr[i]);
	} else {
		url = xasprintf("http://%s/v3/maintenance/status", s->addr[i]);
		curl_easy_setopt(h, CURLOPT_POSTFIELDS, "{}");
	}
	curl_easy_setopt(h, CURLOPT_URL, url);
	curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, timeout_ms);
	curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, collect);
	curl_easy_setopt(h, CURLOPT_WRITEDATA, &body);
	if (curl_easy_perform(h) == CURLE_OK &&
	    curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &http) == CURLE_OK && http == 200) {
		if (s->kind == BENCH_LEDGERD) {
			/* "ledger_raft_is_leader{node=...} 1" */
			const char *line = strstr(strbuf_str(&body), "\nledger_raft_is_leader{");
			const char *val = line ? strstr(line, "} ") : NULL;

			rc = val ? val[2] == '1' : -1;
		} else {
			json_t *doc = json_loads(strbuf_str(&body), 0, NULL);
			uint64_t self = 0, leader = 0;

			if (doc && etcd_u64(&self, json_object_get(json_object_get(doc, "header"),
								    "member_id")) == 0) {
				rc = etcd_u64(&leader, json_object_get(doc, "leader")) == 0 && leader == self;
				pthread_mutex_lock(&s->ec.lock);
				s->ec.m[i].raft_id = self;
				pthread_mutex_unlock(&s->ec.lock);
			}
			json_decref(doc);
		}
	}
	free(url);
	strbuf_release(&body);
	return rc;
}

int bench_sys_wait_leader(struct bench_sys *s, int timeout_ms)
{
	int64_t deadline = clock_mono_ns() + (int64_t)timeout_ms * NS_PER_MS;

	while (clock_mono_ns() < deadline) {
		int leader = -1, leaders = 0, silent = 0;

		for (int i = 0; i < s->n; i++) {
			int r;

			if (!bench_sys_running(s, i))
				continue;
			r = bench_sys_self_leader(s, i, 200);
			if (r < 0)
				silent++;
			else if (r == 1) {
				leader = i;
				leaders++;
			}
		}
		if (leaders == 1 && silent == 0)
			return leader;
		clock_sleep_ns(5 * NS_PER_MS);
	}
	return -1;
}

void bench_sys_kill(struct bench_sys *s, int i)
{
	struct dr_error err = DR_ERROR_INIT;

	if (s->kind == BENCH_LEDGERD)
		testnet_kill(&s->tn, i, SIGKILL);
	else
		etcd_member_stop(&s->ec, i, SIGKILL, 0, &err);
}

void bench_sys_freeze(struct bench_sys *s, int i)
{
	pid_t pids[ETCD_MAX_MEMBERS] = { 0 };
	pid_t pid = s->tn.pid[i];

	if (s->kind == BENCH_ETCD)
		pid = etcd_cluster_pids(&s->ec, pids, ETCD_MAX_MEMBERS) > i ? pids[i] : 0;
	if (pid > 0)
		kill(pid, SIGSTOP);
}

int bench_sys_restart(struct bench_sys *s, int i)
{
	struct dr_error err = DR_ERROR_INIT;

	if (s->kind == BENCH_LEDGERD)
		return testnet_start_node(&s->tn, i);
	return etcd_member_start(&s->ec, i, &err);
}

struct bench_client *bench_client_new(struct bench_sys *s, long timeout_ms, int first)
{
	struct bench_client *c = xcalloc(1, sizeof(*c));
	struct dr_error err = DR_ERROR_INIT;
	const char *addrs[ETCD_MAX_MEMBERS];

	c->s = s;
	for (int i = 0; i < s->n; i++)
		addrs[i] = s->addr[i];
	if (s->kind == BENCH_LEDGERD) {
		struct ledger_client_opts o = LEDGER_CLIENT_OPTS_INIT;

		o.timeout_ms = timeout_ms;
		o.admin_timeout_ms = 10000;
		if (ledger_client_new(&c->lc, addrs, (size_t)s->n, &o, &err) != 0)
			goto fail;
		ledger_client_set_current(c->lc, first);
	} else {
		if (etcd_client_new(&c->ec, addrs, (size_t)s->n, timeout_ms, &err) != 0)
			goto fail;
		etcd_client_set_current(c->ec, first);
	}
	return c;
fail:
	fprintf(stderr, "bench: %s\n", err.msg);
	free(c);
	return NULL;
}

void bench_client_free(struct bench_client *c)
{
	if (!c)
		return;
	ledger_client_free(c->lc);
	etcd_client_free(c->ec);
	free(c);
}

int bench_client_write(struct bench_client *c, const char *client_id, uint64_t seq,
		       const char *payload, struct ledger_append_result *res)
{
	return c->lc ? ledger_append(c->lc, client_id, seq, payload, res)
		     : etcd_put_once(c->ec, client_id, seq, payload, res);
}

int bench_client_read(struct bench_client *c, const char *client_id, json_t **out)
{
	struct dr_error err = DR_ERROR_INIT;
	json_t *all = NULL, *e;
	size_t i;

	if (c->ec) {
		struct ledger_entry_ref *refs = NULL;
		size_t n = 0;

		etcd_client_set_timeout(c->ec, 10000);
		if (etcd_read_client(c->ec, client_id, &refs, &n, &err) != 0) {
			fprintf(stderr, "bench: %s\n", err.msg);
			return -1;
		}
		*out = json_array();
		for (size_t k = 0; k < n; k++)
			json_array_append_new(*out, json_pack("{s:I,s:I}", "sequence",
							      (json_int_t)refs[k].sequence, "index",
							      (json_int_t)refs[k].index));
		free(refs);
		return 0;
	}
	if (ledger_read_all(c->lc, &all, &err) != 0) {
		fprintf(stderr, "bench: %s\n", err.msg);
		return -1;
	}
	*out = json_array();
	json_array_foreach(all, i, e)
		if (strcmp(json_string_value(json_object_get(e, "client_id")) ?: "", client_id) == 0)
			json_array_append(*out, e);
	json_decref(all);
	return 0;
}

const char *bench_sys_version(struct bench_sys *s)
{
	return s->kind == BENCH_LEDGERD ? "ledgerd (libraft 0.15, pre-vote on)"
					: "etcd 3.4 (Debian etcd-server, pre-vote off: 3.4 default)";
}
