/* Launch ledgerd processes for integration tests (see ledger_testnet.h). */
#include "tests/support/ledger_testnet.h"

#include <arpa/inet.h>
#include <curl/curl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "common/clock.h"
#include "common/fsutil.h"
#include "common/netport.h"
#include "common/proc.h"
#include "common/strbuf.h"

/* What a failed test leaves behind, so its teardown (testnet_destroy_all,
 * also run at exit) can clean up: each testnet's directory and pids,
 * copied here.  Never a pointer to the caller's struct: a struct testnet on
 * the stack of a test that failed (cmocka longjmps out of it) is gone by
 * the time the teardown runs, and reading it killed garbage pids and left
 * the real ledgerd running. */
#define LIVE_MAX 16
static struct {
	int used;
	char dir[128];
	pid_t pid[TESTNET_MAX];
} live[LIVE_MAX];

/* Kill and reap pid if it is still a running child of ours; one that was
 * reaped already (by testnet_kill or the test itself) is not touched, so a
 * reused pid is never hit. */
static void kill_child(pid_t pid)
{
	int status;

	if (pid <= 0 || waitpid(pid, &status, WNOHANG) != 0)
		return;
	kill(pid, SIGKILL);
	proc_wait(pid, &status, 0);
}

static void live_release(int slot)
{
	struct dr_error err = DR_ERROR_INIT;

	if (slot < 0 || slot >= LIVE_MAX || !live[slot].used)
		return;
	for (int i = 0; i < TESTNET_MAX; i++)
		kill_child(live[slot].pid[i]);
	if (getenv("LEDGER_TESTNET_KEEP"))
		fprintf(stderr, "testnet: kept %s\n", live[slot].dir);
	else if (live[slot].dir[0])
		fs_remove_tree(live[slot].dir, &err);
	memset(&live[slot], 0, sizeof(live[slot]));
}

void testnet_destroy_all(void)
{
	for (int k = 0; k < LIVE_MAX; k++)
		live_release(k);
}

int testnet_start(struct testnet *t, int n, const char *const *roles)
{
	struct dr_error err = DR_ERROR_INIT;
	struct strbuf sb = STRBUF_INIT;
	char *peers;
	int i, tries;

	static int registered;

	if (!registered) {
		atexit(testnet_destroy_all);
		registered = 1;
	}
	{
		/* extra_arg/extra_val survive the reset: callers set them first */
		const char *ea = t->extra_arg, *ev = t->extra_val;
		int el = t->election_ms, hb = t->heartbeat_ms;
		memset(t, 0, sizeof *t);
		t->extra_arg = ea;
		t->extra_val = ev;
		t->election_ms = el ? el : 300;
		t->heartbeat_ms = hb ? hb : 30;
	}
	t->slot = -1;
	for (int k = 0; k < LIVE_MAX && t->slot < 0; k++)
		if (!live[k].used)
			t->slot = k;
	if (t->slot < 0) {
		fprintf(stderr, "testnet: more than %d testnets at once\n", LIVE_MAX);
		return -1;
	}
	t->n = n;
	t->bin = getenv("LEDGERD_BIN") ? getenv("LEDGERD_BIN") : "build/ledgerd";
	str_copy(t->dir, sizeof t->dir, "/dev/shm/ledgerd-test-XXXXXX");
	if (!mkdtemp(t->dir)) {
		str_copy(t->dir, sizeof t->dir, "/tmp/ledgerd-test-XXXXXX");
		if (!mkdtemp(t->dir))
			return -1;
	}
	live[t->slot].used = 1;
	str_copy(live[t->slot].dir, sizeof(live[t->slot].dir), t->dir);
	srand((unsigned)(clock_mono_ns() ^ getpid()));
	for (tries = 0; tries < 50; tries++) {
		int ok = 1;
		snprintf(t->net, sizeof t->net, "127.%d.%d", (1 + rand() % 250) & 0xff, (1 + rand() % 250) & 0xff);
		for (i = 0; i < n && ok; i++) {
			char ip[48];
			snprintf(ip, sizeof ip, "%s.%d", t->net, i + 1);
			ok = net_port_free(ip, 50051) && net_port_free(ip, 7001) &&
			     net_port_free(ip, 9090);
		}
		if (ok)
			break;
	}
	strbuf_addf(&sb, "{\"cluster_id\":\"c-test-%d\",\"nodes\":[", getpid());
	for (i = 0; i < n; i++) {
		const char *role = roles ? roles[i] : "primary";
		str_copy(t->role[i], sizeof t->role[i], role);
		snprintf(t->addr[i], sizeof t->addr[i], "%s.%d:50051", t->net, i + 1);
		snprintf(t->raft[i], sizeof t->raft[i], "%s.%d:7001", t->net, i + 1);
		snprintf(t->http[i], sizeof t->http[i], "%s.%d:9090", t->net, i + 1);
		strbuf_addf(&sb, "%s{\"id\":%d,\"address\":\"%s\",\"http_address\":\"%s\",\"raft_address\":\"%s\",\"region\":\"%s\",\"region_role\":\"%s\",\"zone\":\"%s-%c\"}",
			    i ? "," : "", i + 1, t->addr[i], t->http[i], t->raft[i], role, role, role, 'a' + i);
	}
	strbuf_adds(&sb, "]}");
	peers = xasprintf("%s/peers.json", t->dir);
	fs_write_atomic(peers, sb.buf, sb.len, &err);
	free(peers);
	strbuf_release(&sb);
	for (i = 0; i < n; i++)
		if (testnet_start_node(t, i) != 0)
			return -1;
	return 0;
}

int testnet_start_node(struct testnet *t, int i)
{
	struct proc_spawn_opts opts = PROC_SPAWN_OPTS_INIT;
	struct dr_error err = DR_ERROR_INIT;
	char id[16], data[192], peers[192], log[192], el[16], hb[16];
	char *argv[32];
	int a = 0;

	snprintf(id, sizeof id, "%d", i + 1);
	snprintf(data, sizeof data, "%s/n%d", t->dir, i + 1);
	snprintf(peers, sizeof peers, "%s/peers.json", t->dir);
	snprintf(log, sizeof log, "%s/n%d.log", t->dir, i + 1);
	snprintf(el, sizeof el, "%d", t->election_ms);
	snprintf(hb, sizeof hb, "%d", t->heartbeat_ms);
	argv[a++] = (char *)t->bin;
	argv[a++] = "--id"; argv[a++] = id;
	argv[a++] = "--data"; argv[a++] = data;
	argv[a++] = "--listen"; argv[a++] = t->addr[i];
	argv[a++] = "--http"; argv[a++] = t->http[i];
	argv[a++] = "--raft"; argv[a++] = t->raft[i];
	argv[a++] = "--region"; argv[a++] = t->role[i];
	argv[a++] = "--role"; argv[a++] = t->role[i];
	argv[a++] = "--zone"; argv[a++] = "z";
	argv[a++] = "--peers"; argv[a++] = peers;
	argv[a++] = "--election-timeout"; argv[a++] = el;
	argv[a++] = "--heartbeat"; argv[a++] = hb;
	argv[a++] = "--enable-debug";
	if (t->extra_arg) {
		argv[a++] = (char *)t->extra_arg;
		if (t->extra_val)
			argv[a++] = (char *)t->extra_val;
	}
	argv[a] = NULL;
	opts.stderr_path = log;
	opts.stdout_path = log;
	if (proc_spawn(&t->pid[i], argv, &opts, &err) != 0) {
		fprintf(stderr, "testnet: %s\n", err.msg);
		return -1;
	}
	if (t->slot >= 0 && t->slot < LIVE_MAX && live[t->slot].used)
		live[t->slot].pid[i] = t->pid[i];
	return 0;
}

void testnet_kill(struct testnet *t, int i, int sig)
{
	int status;

	if (t->pid[i] <= 0)
		return;
	kill(t->pid[i], sig);
	proc_wait(t->pid[i], &status, 0);
	if (t->slot >= 0 && t->slot < LIVE_MAX && live[t->slot].pid[i] == t->pid[i])
		live[t->slot].pid[i] = 0;
	t->pid[i] = 0;
}

void testnet_destroy(struct testnet *t)
{
	int i;

	for (i = 0; i < t->n; i++)
		testnet_kill(t, i, SIGKILL);
	/* Also what the test reaped or forgot itself, and the directory. */
	live_release(t->slot);
	t->slot = -1;
	t->dir[0] = '\0';
}

struct ledger_client *testnet_client(struct testnet *t, long timeout_ms)
{
	struct ledger_client_opts opts = LEDGER_CLIENT_OPTS_INIT;
	struct dr_error err = DR_ERROR_INIT;
	struct ledger_client *c = NULL;
	const char *addrs[TESTNET_MAX];
	int i;

	for (i = 0; i < t->n; i++)
		addrs[i] = t->addr[i];
	opts.timeout_ms = timeout_ms;
	ledger_client_new(&c, addrs, (size_t)t->n, &opts, &err);
	return c;
}

long testnet_post(struct testnet *t, int i, const char *method, const char *body, json_t **resp)
{
	struct ledger_client *c;
	struct dr_error err = DR_ERROR_INIT;
	json_t *req = body ? json_loads(body, 0, NULL) : NULL;
	enum ledger_code code = LEDGER_CODE_COUNT;
	long status = 0;

	*resp = NULL;
	if (strstr(method, ".Debug/")) {
		if (ledger_debug_call(t->http[i], NULL, method, req, 2000, resp, &status, &err) != 0)
			status = 0;
		json_decref(req);
		return status;
	}
	c = testnet_client(t, 2000);
	if (ledger_call(c, i, method, req, resp, &code, &err) == 0)
		status = ledger_code_http_status(code);
	json_decref(req);
	ledger_client_free(c);
	return status;
}

int testnet_wait_leader(struct testnet *t, int timeout_ms, int exclude)
{
	int64_t deadline = clock_mono_ns() + (int64_t)timeout_ms * NS_PER_MS;

	while (clock_mono_ns() < deadline) {
		int i, leader = -1, agree = 1;
		for (i = 0; i < t->n && agree; i++) {
			json_t *resp = NULL;
			json_t *l;
			int id;
			if (!t->pid[i] || i == exclude)
				continue;
			if (testnet_post(t, i, "inferadb.ledger.v1.Admin/GetClusterStatus", "{}", &resp) != 200) {
				agree = 0;
			} else {
				l = json_object_get(resp, "leader");
				id = json_is_object(l) ? (int)json_integer_value(json_object_get(l, "id")) : 0;
				if (!id || (leader >= 0 && leader != id - 1))
					agree = 0;
				leader = id - 1;
			}
			json_decref(resp);
		}
		if (agree && leader >= 0 && leader != exclude && t->pid[leader])
			return leader;
		clock_sleep_ns(30 * NS_PER_MS);
	}
	return -1;
}

int testnet_log_count(struct testnet *t, int i, const char *text)
{
	struct dr_error err = DR_ERROR_INIT;
	char *path = xasprintf("%s/n%d.log", t->dir, i + 1), *data = NULL, *p;
	size_t len = 0;
	int count = 0;

	if (fs_read_file(&data, &len, path, 64 << 20, &err) == 0)
		for (p = data; (p = strstr(p, text)) != NULL; p += strlen(text))
			count++;
	free(data);
	free(path);
	return count;
}

static size_t metrics_collect(char *data, size_t size, size_t nmemb, void *sb)
{
	strbuf_add(sb, data, size * nmemb);
	return size * nmemb;
}

double testnet_metric(struct testnet *t, int i, const char *series)
{
	CURL *h = curl_easy_init();
	struct strbuf sb = STRBUF_INIT;
	char *url = xasprintf("http://%s/metrics", t->http[i]), *line;
	size_t len = strlen(series);
	double v = -1;
	long status = 0;

	curl_easy_setopt(h, CURLOPT_URL, url);
	curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, 2000L);
	curl_easy_setopt(h, CURLOPT_NOPROXY, "*");
	curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, metrics_collect);
	curl_easy_setopt(h, CURLOPT_WRITEDATA, &sb);
	if (curl_easy_perform(h) == CURLE_OK)
		curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &status);
	curl_easy_cleanup(h);
	strbuf_add(&sb, "", 1);
	for (line = sb.buf; status == 200 && line && *line; line = strchr(line, '\n')) {
		if (*line == '\n')
			line++;
		if (strncmp(line, series, len) == 0 && line[len] == ' ') {
			v = strtod(line + len + 1, NULL);
			break;
		}
	}
	strbuf_release(&sb);
	free(url);
	return v;
}
