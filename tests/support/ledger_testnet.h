/* Test-only helper: N ledgerd processes on a random loopback network
 * 127.A.B.x (node i on 127.A.B.(i+1)), data under a fresh /dev/shm dir,
 * stderr of node i in DIR/n<i>.log.  Every process it starts it kills by
 * pid in testnet_destroy. */
#ifndef DR_TESTS_LEDGER_TESTNET_H
#define DR_TESTS_LEDGER_TESTNET_H

#include <stdint.h>
#include <sys/types.h>

#include <jansson.h>

#include "ledger/client/client.h"

#define TESTNET_MAX 9

struct testnet {
	int n;
	char dir[128];
	char net[16];                 /* "127.A.B" */
	char addr[TESTNET_MAX][64];   /* gRPC API host:port (:50051) */
	char http[TESTNET_MAX][64];   /* metrics and debug host:port (:9090) */
	char raft[TESTNET_MAX][64];
	char role[TESTNET_MAX][16];   /* primary | dr | witness (region = role) */
	pid_t pid[TESTNET_MAX];
	const char *bin;
	int election_ms, heartbeat_ms;
	const char *extra_arg;        /* appended to every node's argv (or NULL) */
	const char *extra_val;
	int slot;                     /* its entry in the cleanup list (private) */
};

/* roles: n strings; NULL means all "primary". Starts every node.  Set
 * extra_arg/extra_val before calling to pass one more flag to every node,
 * and election_ms/heartbeat_ms for other timings (default 300/30);
 * everything else in *t is reset. */
int testnet_start(struct testnet *t, int n, const char *const *roles);
int testnet_start_node(struct testnet *t, int i);
void testnet_kill(struct testnet *t, int i, int sig);   /* and reap */
void testnet_destroy(struct testnet *t);                /* kill -9 all, remove dir */
/* Kill every ledgerd a testnet started and is still running, and remove
 * the directories (test teardown; also runs at exit).  Works from copies
 * kept by this module: safe after a failed test whose struct testnet (on
 * its stack) is gone. */
void testnet_destroy_all(void);
/* A client over every node (caller frees). */
struct ledger_client *testnet_client(struct testnet *t, long timeout_ms);
/* Poll until every running node except `exclude` (-1: none) agrees on one
 * leader other than `exclude`; its index, or -1 after timeout_ms. */
int testnet_wait_leader(struct testnet *t, int timeout_ms, int exclude);
/* Call method on node i (a Debug method on its HTTP listener, anything else
 * over gRPC); returns the answer's status in HTTP terms (a gRPC answer: its
 * wire code's, 200, 421, ...; 0 when no answer arrived), *resp new ref. */
long testnet_post(struct testnet *t, int i, const char *method, const char *body, json_t **resp);
/* The value of one series of node i's /metrics, named with its labels
 * exactly as rendered (e.g. `ledger_raft_term{node="1",...}`); -1 when the
 * node does not answer or has no such series. */
double testnet_metric(struct testnet *t, int i, const char *series);
/* Count lines in node i's log containing text. */
int testnet_log_count(struct testnet *t, int i, const char *text);

#endif
