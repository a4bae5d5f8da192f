/* The two systems the failover benchmark compares, behind one small
 * interface: a ledgerd cluster (tests/support/ledger_testnet.h) and an
 * etcd cluster (harness/target/etcd/etcd_members.h), both 3 nodes on a random
 * loopback network 127.A.B.x, data on /dev/shm, the same timing.
 *
 * The client side is the same code for both: one attempt per call,
 * classified into struct ledger_append_result, moving to the next node
 * after a failure; only the wire format differs (ledger_append against
 * etcd_put_once). */
#ifndef DR_BENCH_SYS_H
#define DR_BENCH_SYS_H

#include <jansson.h>
#include <stdint.h>
#include <sys/types.h>

#include "harness/target/etcd/etcd_http.h"
#include "harness/target/etcd/etcd_members.h"
#include "ledger/client/client.h"
#include "tests/support/ledger_testnet.h"

enum bench_kind { BENCH_LEDGERD, BENCH_ETCD };

struct bench_sys {
	enum bench_kind kind;
	const char *name;
	int n;
	int election_ms, heartbeat_ms;
	struct testnet tn;        /* ledgerd */
	struct etcd_cluster ec;   /* etcd */
	int ec_up;
	char addr[ETCD_MAX_MEMBERS][64];      /* the API: ledgerd's gRPC, etcd's client URL */
	char http_addr[ETCD_MAX_MEMBERS][64]; /* ledgerd: the node's http_address (/metrics) */
	void *probe[ETCD_MAX_MEMBERS];  /* CURL handles for leadership probes */
};

struct bench_client {
	struct bench_sys *s;
	struct ledger_client *lc;
	struct etcd_client *ec;
};

/* Start a fresh n-node cluster (processes spawned, nothing awaited). */
int bench_sys_launch(struct bench_sys *s, enum bench_kind kind, int n, int election_ms,
		     int heartbeat_ms);
/* Launch and wait until it has a leader (bounded). */
int bench_sys_start(struct bench_sys *s, enum bench_kind kind, int n, int election_ms,
		    int heartbeat_ms);
void bench_sys_destroy(struct bench_sys *s);
/* 1 when node i says it is the leader (its own view, no forwarding), 0
 * when it says it is not, -1 when it does not answer within timeout_ms. */
int bench_sys_self_leader(struct bench_sys *s, int i, long timeout_ms);
/* Wait until exactly one running node says it leads and every running node
 * answers; its index, or -1 after timeout_ms. */
int bench_sys_wait_leader(struct bench_sys *s, int timeout_ms);
int bench_sys_running(struct bench_sys *s, int i);
/* kill -9 node i and reap it; it stays down until bench_sys_restart. */
void bench_sys_kill(struct bench_sys *s, int i);
/* SIGSTOP node i: it keeps its sockets open and says nothing, as a lost
 * machine or a partition looks to its peers.  bench_sys_kill ends it. */
void bench_sys_freeze(struct bench_sys *s, int i);
int bench_sys_restart(struct bench_sys *s, int i);
/* Text for the settings line. */
const char *bench_sys_version(struct bench_sys *s);

/* A client over every node, first talking to node `first`. */
struct bench_client *bench_client_new(struct bench_sys *s, long timeout_ms, int first);
void bench_client_free(struct bench_client *c);
int bench_client_write(struct bench_client *c, const char *client_id, uint64_t seq,
		       const char *payload, struct ledger_append_result *res);
/* Sequences of client_id present in the system, as a JSON array of
 * {sequence, index}. */
int bench_client_read(struct bench_client *c, const char *client_id, json_t **out);

#endif
