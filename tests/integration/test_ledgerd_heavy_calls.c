/* Calls that make a node do heavy work do not take its leadership away
 * (issue 17, findings 1 and 5), on a real 3-node cluster
 * (tests/support/ledger_testnet.h, election timeout 300 ms):
 *  - RestoreFromSnapshot of a valid snapshot file of 320 MiB: ledgerd reads
 *    and hashes it (twice) before it answers; done on the Raft loop, that
 *    stalled heartbeats for seconds and the followers elected another
 *    leader;
 *  - 48 concurrent Reads of 500 KiB entries (each answer at the 2 MiB
 *    cap), and as many ledger.v1 ListEntities of 500 KiB entities: answers
 *    built and encoded on the loop stalled it the same way.
 * While each runs, a writer keeps appending through the cluster; every
 * write acknowledged meanwhile must carry the leader's term from before,
 * and afterwards the same node leads in the same term.  Those checks
 * are about who leads, not how fast: a stall long enough for an election
 * fails them, a slow machine does not.  Each test also checks what the
 * heavy call answered. */
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <cmocka.h>

#include "common/base64.h"
#include "common/clock.h"
#include "common/fsutil.h"
#include "common/sha256.h"
#include "common/strbuf.h"
#include "ledger/client/client.h"
#include "ledger/client/wire.h"
#include "tests/support/ledger_testnet.h"

#define STATUS "inferadb.ledger.v1.Admin/GetClusterStatus"
#define RESTORE "inferadb.ledger.v1.Admin/RestoreFromSnapshot"
/* Bounds of the polls: far above what the work takes (seconds), so only a
 * hang reaches them. */
#define LEADER_WAIT_MS 20000
#define HEAVY_WAIT_NS (180 * NS_PER_SEC)

static int teardown(void **state)
{
	(void)state;
	testnet_destroy_all();
	return 0;
}

/* The leader's index and term, as the leader reports them. */
static int leader_and_term(struct testnet *t, uint64_t *term)
{
	int leader = testnet_wait_leader(t, LEADER_WAIT_MS, -1);
	json_t *resp = NULL;

	if (leader < 0)
		fail_msg("no leader within %d ms", LEADER_WAIT_MS);
	if (testnet_post(t, leader, STATUS, "{}", &resp) != 200)
		fail_msg("GetClusterStatus on the leader (node %d) did not answer", leader + 1);
	*term = (uint64_t)json_integer_value(json_object_get(resp, "term"));
	json_decref(resp);
	return leader;
}

/* A client over every node whose calls (ledger_call's too) wait up to ms. */
static struct ledger_client *client(struct testnet *t, long ms)
{
	struct ledger_client_opts opts = LEDGER_CLIENT_OPTS_INIT;
	struct dr_error err = DR_ERROR_INIT;
	struct ledger_client *c = NULL;
	const char *addrs[TESTNET_MAX];

	for (int i = 0; i < t->n; i++)
		addrs[i] = t->addr[i];
	opts.timeout_ms = ms;
	opts.admin_timeout_ms = ms;
	if (ledger_client_new(&c, addrs, (size_t)t->n, &opts, &err) != 0)
		fail_msg("cannot make a client: %s", err.msg);
	return c;
}

/* A heavy call on its own thread; the test writes meanwhile. */
struct heavy {
	void (*run)(struct heavy *h);
	struct testnet *t;
	int node;
	const char *path;          /* restore: the file */
	int list;                  /* readers: ledger.v1 ListEntities, not Read */
	int done;                  /* atomic */
	/* what it saw */
	long status;
	json_t *resp;
	int failures;
	char why[1100];
};

static void *heavy_main(void *arg)
{
	struct heavy *h = arg;

	h->run(h);
	__atomic_store_n(&h->done, 1, __ATOMIC_RELEASE);
	return NULL;
}

/* Append through the cluster until h is done: every write acknowledged
 * meanwhile must be in term `term` (a new term means an election: the
 * leader lost its leadership; bad says so, checked once h is joined).
 * Returns how many were acknowledged. */
static int write_while(char bad[256], struct heavy *h, struct testnet *t, uint64_t term)
{
	struct ledger_client *c = client(t, 2000);
	struct ledger_append_result res;
	int64_t deadline = clock_mono_ns() + HEAVY_WAIT_NS;
	uint64_t seq = (uint64_t)clock_wall_ns();
	int64_t start = clock_mono_ns();
	int acked = 0;

	while (!__atomic_load_n(&h->done, __ATOMIC_ACQUIRE)) {
		if (clock_mono_ns() > deadline)
			fail_msg("the heavy call did not end within %lld s",
				 (long long)(HEAVY_WAIT_NS / NS_PER_SEC));
		if (ledger_append(c, "heavy-writer", seq++, "w", &res) != 0)
			continue; /* no answer in time: the checks below say why */
		if (res.term != term && !*bad)
			snprintf(bad, 256, "a write acknowledged during the heavy call carries term "
				 "%llu, the leader's term was %llu: the leader lost its leadership",
				 (unsigned long long)res.term, (unsigned long long)term);
		acked++;
	}
	ledger_client_free(c);
	print_message("the heavy call took %.1f s; %d writes acknowledged meanwhile\n",
		      (double)(clock_mono_ns() - start) / 1e9, acked);
	return acked;
}

static void after_heavy(struct testnet *t, int leader, uint64_t term, int acked, const char *bad)
{
	uint64_t now_term = 0;
	int now;

	if (*bad)
		fail_msg("%s", bad);
	now = leader_and_term(t, &now_term);

	if (now != leader || now_term != term)
		fail_msg("node %d led in term %llu before the heavy call, node %d in term %llu after",
			 leader + 1, (unsigned long long)term, now + 1, (unsigned long long)now_term);
	if (acked == 0)
		fail_msg("no write was acknowledged while the heavy call ran");
}

static void start_cluster(struct testnet *t)
{
	memset(t, 0, sizeof *t); /* default timings: election 300 ms, heartbeat 30 ms */
	assert_int_equal(testnet_start(t, 3, NULL), 0);
}

/* A valid snapshot file of body_len bytes of filler (the check reads the
 * header and hashes; the body is never parsed before the supervisor). */
static char *write_big_snapshot(struct testnet *t, size_t body_len)
{
	struct dr_error err = DR_ERROR_INIT;
	char *path = xasprintf("%s/big.ledgersnap", t->dir);
	char hex[SHA256_HEX_LEN];
	struct strbuf sb = STRBUF_INIT;
	char *body = xmalloc(body_len);

	memset(body, 'x', body_len);
	sha256_hex(hex, body, body_len);
	strbuf_addf(&sb, "LEDGERD-SNAPSHOT 1 index=0 term=0 bytes=%zu sha256=%s\n", body_len, hex);
	strbuf_add(&sb, body, body_len);
	free(body);
	if (fs_write_atomic(path, sb.buf, sb.len, &err) != 0)
		fail_msg("cannot write %s: %s", path, err.msg);
	strbuf_release(&sb);
	return path;
}

static void restore_run(struct heavy *h)
{
	struct ledger_client *c = client(h->t, 170000);
	struct dr_error err = DR_ERROR_INIT;
	enum ledger_code code = LEDGER_CODE_COUNT;
	json_t *req = json_pack("{s:s}", "path", h->path);

	if (ledger_call(c, h->node, RESTORE, req, &h->resp, &code, &err) == 0)
		h->status = ledger_code_http_status(code);
	else
		snprintf(h->why, sizeof h->why, "%s", err.msg);
	json_decref(req);
	ledger_client_free(c);
}

/* Finding 1: RestoreFromSnapshot read and hashed the file on the loop. */
static void test_restore_of_a_big_snapshot_keeps_the_leader(void **state)
{
	struct testnet t;
	struct heavy h;
	pthread_t th;
	uint64_t term = 0;
	int leader, acked;
	const char *msg;
	char bad[256] = "";

	(void)state;
	start_cluster(&t);
	leader = leader_and_term(&t, &term);
	memset(&h, 0, sizeof h);
	h.run = restore_run;
	h.t = &t;
	h.node = leader;
	h.path = write_big_snapshot(&t, (size_t)320 << 20);
	assert_int_equal(pthread_create(&th, NULL, heavy_main, &h), 0);
	acked = write_while(bad, &h, &t, term);
	pthread_join(th, NULL);
	/* Valid, and this cluster has no supervisor to restore it with. */
	msg = json_string_value(json_object_get(h.resp, "message"));
	if (h.status != 412 || !msg || !strstr(msg, "is valid"))
		fail_msg("RestoreFromSnapshot of a valid 320 MiB snapshot answered %ld '%s'%s, expected "
			 "412 naming it valid", h.status, msg ? msg : "", h.why);
	after_heavy(&t, leader, term, acked, bad);
	json_decref(h.resp);
	free((char *)h.path);
	testnet_destroy(&t);
}

/* Bytes node i has read (rchar of /proc/PID/io): -1 when unknown. */
static long long read_bytes(struct testnet *t, int i)
{
	char path[64], line[128];
	long long v = -1;
	FILE *f;

	snprintf(path, sizeof path, "/proc/%d/io", (int)t->pid[i]);
	f = fopen(path, "r");
	if (!f)
		return -1;
	while (fgets(line, sizeof line, f))
		if (sscanf(line, "rchar: %lld", &v) == 1)
			break;
	fclose(f);
	return v;
}

/* SIGTERM while the node checks a big snapshot file: the check stops (it
 * does not finish and say the file is valid), the call is answered, and the
 * node stops cleanly (exit 0): no work item outlives the node.  On the
 * loop, the check ran to its end before the loop saw the signal. */
static void test_stop_during_a_snapshot_check(void **state)
{
	struct testnet t;
	struct heavy h;
	pthread_t th;
	siginfo_t si;
	long long before;
	int64_t deadline;
	const char *msg;

	(void)state;
	memset(&t, 0, sizeof t);
	assert_int_equal(testnet_start(&t, 1, NULL), 0);
	if (testnet_wait_leader(&t, LEADER_WAIT_MS, -1) != 0)
		fail_msg("the node did not lead within %d ms", LEADER_WAIT_MS);
	memset(&h, 0, sizeof h);
	h.run = restore_run;
	h.t = &t;
	h.node = 0;
	h.path = write_big_snapshot(&t, (size_t)320 << 20);
	before = read_bytes(&t, 0);
	if (before < 0)
		fail_msg("cannot read /proc/%d/io", (int)t.pid[0]);
	assert_int_equal(pthread_create(&th, NULL, heavy_main, &h), 0);
	/* The check is under way once the node has read 64 MiB more. */
	deadline = clock_mono_ns() + HEAVY_WAIT_NS;
	while (read_bytes(&t, 0) < before + (64 << 20) && !__atomic_load_n(&h.done, __ATOMIC_ACQUIRE)) {
		if (clock_mono_ns() > deadline)
			fail_msg("the node never read the snapshot file");
		clock_sleep_ns(NS_PER_MS);
	}
	kill(t.pid[0], SIGTERM);
	deadline = clock_mono_ns() + HEAVY_WAIT_NS;
	memset(&si, 0, sizeof si);
	while (waitid(P_PID, (id_t)t.pid[0], &si, WEXITED | WNOHANG | WNOWAIT) == 0 && si.si_pid == 0) {
		if (clock_mono_ns() > deadline)
			fail_msg("the node did not stop within %lld s of SIGTERM",
				 (long long)(HEAVY_WAIT_NS / NS_PER_SEC));
		clock_sleep_ns(10 * NS_PER_MS);
	}
	pthread_join(th, NULL);
	if (si.si_code != CLD_EXITED || si.si_status != 0)
		fail_msg("the node stopped with %s %d, expected exit 0",
			 si.si_code == CLD_EXITED ? "exit" : "signal", si.si_status);
	testnet_kill(&t, 0, SIGTERM); /* reaps it */
	/* Answered UNAVAILABLE (or cut off by the server's own shutdown), never
	 * "valid": a check that ran to its end held the node past the signal. */
	msg = json_string_value(json_object_get(h.resp, "message"));
	if (h.status == 412 || (h.status != 0 && h.status != 503))
		fail_msg("RestoreFromSnapshot interrupted by SIGTERM answered %ld '%s', expected "
			 "UNAVAILABLE", h.status, msg ? msg : "");
	json_decref(h.resp);
	free((char *)h.path);
	testnet_destroy(&t);
}

enum { READERS = 48, READS_EACH = 4, BIG_ENTRIES = 16, BIG_SIZE = 500 * 1024 };

#define LIST "ledger.v1.ReadService/ListEntities"

/* ListEntities of organization 4, vault 2 on the leader (LINEARIZABLE). */
static json_t *list_req(int limit)
{
	return json_pack("{s:{s:I}, s:{s:I}, s:I, s:s}", "organization", "slug", (json_int_t)4,
			 "vault", "slug", (json_int_t)2, "limit", (json_int_t)limit, "consistency",
			 "READ_CONSISTENCY_LINEARIZABLE");
}

static pthread_barrier_t readers_ready;

/* Connected first (a small Read until one answers: 48 clients connecting
 * at once is not the attack), then all together, the big Reads. */
static void reads_run(struct heavy *h)
{
	struct ledger_client *c = client(h->t, 170000);
	struct dr_error err = DR_ERROR_INIT;
	const char *method = h->list ? LIST : LEDGER_PATH_READ;
	const char *rows = h->list ? "entities" : "entries";
	json_t *req = h->list ? list_req(1000) :
		      json_pack("{s:I, s:I}", "from_index", (json_int_t)1, "limit", (json_int_t)10000);
	json_t *small = h->list ? list_req(1) :
			json_pack("{s:I, s:I}", "from_index", (json_int_t)1, "limit", (json_int_t)1);

	for (int tries = 0; tries < 100; tries++) {
		enum ledger_code code = LEDGER_CODE_COUNT;
		json_t *resp = NULL;
		int ok = ledger_call(c, h->node, method, small, &resp, &code, &err) == 0 &&
			 code == LEDGER_OK;

		json_decref(resp);
		if (ok)
			break;
		clock_sleep_ns(50 * NS_PER_MS);
	}
	json_decref(small);
	pthread_barrier_wait(&readers_ready);
	for (int i = 0; i < READS_EACH; i++) {
		enum ledger_code code = LEDGER_CODE_COUNT;
		json_t *resp = NULL;
		size_t n;

		if (ledger_call(c, h->node, method, req, &resp, &code, &err) != 0 ||
		    code != LEDGER_OK) {
			h->failures++;
			snprintf(h->why, sizeof h->why, "%s", code == LEDGER_OK || code == LEDGER_CODE_COUNT ?
				 err.msg : json_string_value(json_object_get(resp, "message")));
		} else {
			/* the byte cap: at least one entry, never all of them */
			n = json_array_size(json_object_get(resp, rows));
			if (n == 0 || n >= BIG_ENTRIES) {
				h->failures++;
				snprintf(h->why, sizeof h->why, "a page of %zu entries", n);
			}
		}
		json_decref(resp);
	}
	json_decref(req);
	ledger_client_free(c);
}

/* The readers, one thread each, as one heavy call. */
static void readers_run(struct heavy *h)
{
	struct heavy r[READERS];
	pthread_t th[READERS];

	pthread_barrier_init(&readers_ready, NULL, READERS);
	for (int i = 0; i < READERS; i++) {
		r[i] = *h;
		r[i].run = reads_run;
		if (pthread_create(&th[i], NULL, heavy_main, &r[i]) != 0) {
			/* the others would wait for it at the barrier forever */
			fprintf(stderr, "cannot start reader thread %d\n", i);
			abort();
		}
	}
	for (int i = 0; i < READERS; i++) {
		pthread_join(th[i], NULL);
		h->failures += r[i].failures;
		if (r[i].failures)
			snprintf(h->why, sizeof h->why, "%s", r[i].why);
	}
	pthread_barrier_destroy(&readers_ready);
}

/* READERS clients page through the big items (ListEntities when list)
 * on the leader while a writer appends: the leader keeps its term. */
static void big_pages_keep_the_leader(struct testnet *t, int list, const char *what)
{
	struct heavy h;
	pthread_t th;
	uint64_t term = 0;
	int leader, acked;
	char bad[256] = "";

	leader = leader_and_term(t, &term);
	memset(&h, 0, sizeof h);
	h.run = readers_run;
	h.t = t;
	h.node = leader;
	h.list = list;
	assert_int_equal(pthread_create(&th, NULL, heavy_main, &h), 0);
	acked = write_while(bad, &h, t, term);
	pthread_join(th, NULL);
	if (h.failures)
		fail_msg("%d of %d %s failed or broke the byte cap (last: %s)", h.failures,
			 READERS * READS_EACH, what, h.why);
	after_heavy(t, leader, term, acked, bad);
	testnet_destroy(t);
}

/* Finding 5: Read answers were built and encoded on the loop. */
static void test_concurrent_big_reads_keep_the_leader(void **state)
{
	struct testnet t;
	struct ledger_client *c;
	struct ledger_append_result res;
	uint64_t term = 0;
	char *payload = xmalloc(BIG_SIZE + 1);

	(void)state;
	start_cluster(&t);
	leader_and_term(&t, &term);
	c = client(&t, 10000);
	for (int i = 0; i < BIG_ENTRIES; i++) {
		memset(payload, 'a' + i, BIG_SIZE);
		payload[BIG_SIZE] = '\0';
		for (int tries = 0; ledger_append(c, "big", (uint64_t)i + 1, payload, &res) != 0; tries++)
			if (tries == 100) /* a fresh cluster may still settle its leader */
				fail_msg("append %d of %d bytes: %s", i + 1, BIG_SIZE, res.message);
	}
	ledger_client_free(c);
	free(payload);
	big_pages_keep_the_leader(&t, 0, "Reads");
}

/* ledger.v1 Write of key=value (BIG_SIZE bytes) in organization 4, vault 2. */
static void write_entity(struct ledger_client *c, int n, const char *value)
{
	struct ledger_append_result res;
	unsigned char idem[16] = { 7 };
	char key[32], *k64, *v64;
	json_t *req, *resp = NULL;
	int tries = 0;

	idem[15] = (unsigned char)n;
	snprintf(key, sizeof key, "big:%03d", n);
	k64 = b64_encode(idem, sizeof idem);
	v64 = b64_encode(value, strlen(value));
	req = json_pack("{s:{s:I}, s:{s:I}, s:{s:s}, s:s, s:[{s:{s:s, s:s}}]}", "organization", "slug",
			(json_int_t)4, "vault", "slug", (json_int_t)2, "client_id", "id", "heavy",
			"idempotency_key", k64, "operations", "set_entity", "key", key, "value", v64);
	/* the same idempotency key makes a retry safe while the leader settles */
	while (ledger_attempt(c, "ledger.v1.WriteService/Write", req, &resp, &res) != 0) {
		if (++tries == 100)
			fail_msg("ledger.v1 Write of entity %d failed: %s %s", n, res.code, res.message);
		clock_sleep_ns(50 * NS_PER_MS);
	}
	json_decref(resp);
	json_decref(req);
	free(k64);
	free(v64);
}

/* Finding 5, ledger.v1: ListEntities pages (base64 and protobuf of up to
 * 2 MiB) were built and encoded on the loop. */
static void test_concurrent_big_lists_keep_the_leader(void **state)
{
	struct testnet t;
	struct ledger_client *c;
	uint64_t term = 0;
	char *value = xmalloc(BIG_SIZE + 1);

	(void)state;
	start_cluster(&t);
	leader_and_term(&t, &term);
	c = client(&t, 10000);
	for (int i = 0; i < BIG_ENTRIES; i++) {
		memset(value, 'a' + i, BIG_SIZE);
		value[BIG_SIZE] = '\0';
		write_entity(c, i + 1, value);
	}
	ledger_client_free(c);
	free(value);
	big_pages_keep_the_leader(&t, 1, "ListEntities");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_teardown(test_restore_of_a_big_snapshot_keeps_the_leader, teardown),
		cmocka_unit_test_teardown(test_concurrent_big_reads_keep_the_leader, teardown),
		cmocka_unit_test_teardown(test_concurrent_big_lists_keep_the_leader, teardown),
		cmocka_unit_test_teardown(test_stop_during_a_snapshot_check, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
