/* One ledgerd node: the libuv loop with libraft, the ledger state machine,
 * and the queue of calls that the front ends hand to the loop.
 *
 * Threads: struct raft, the state machine and everything marked "loop" are
 * touched only on the loop thread (libraft 0.15: struct raft is not thread-safe).
 * A front end builds a struct ledgerd_call, queues it under node->mu and
 * wakes the loop with uv_async_send (ledgerd_node_submit_async); the loop
 * hands the answer to the call's done function (ledger/daemon/dispatch.c:
 * gRPC sends it from there, an HTTP thread waits for it).  The loop answers
 * every call before it stops, so stopping a front end never hangs. */
#ifndef DR_LEDGER_DAEMON_NODE_H
#define DR_LEDGER_DAEMON_NODE_H

#include <pthread.h>
#include <stdint.h>

#include <jansson.h>
#include <raft.h>
#include <raft/uv.h>
#include <uv.h>

#include "common/error.h"
#include "ledger/client/wire.h"
#include "ledger/daemon/config.h"
#include "ledger/daemon/fsm.h"
#include "ledger/daemon/metrics.h"
#include "ledger/daemon/transport.h"

struct ledgerd_node;
struct ledgerd_call;

/* The answer of a call handed over with ledgerd_node_submit_async:
 * timed_out 0, the loop's answer is in the call (action, http_status,
 * resp, forward_addr, supervisor_msg); timed_out 1, the loop did not
 * answer within the node's call limit and the call's answer fields must
 * not be read (the loop may still write them).  Runs once per call, on the
 * loop thread (an answer), on the node's watchdog thread (a time-out) or
 * on the submitting thread (the node is shutting down); it owns the
 * submitter's reference and drops it with ledgerd_call_unref. */
typedef void (*ledgerd_call_done_fn)(struct ledgerd_node *n, struct ledgerd_call *c,
				     int timed_out);

enum ledgerd_route_kind { ROUTE_LEDGER, ROUTE_ADMIN, ROUTE_DEBUG, ROUTE_HEALTH };

struct ledgerd_route {
	const char *path;       /* "/inferadb.ledger.v1.Ledger/Append" */
	const char *method;     /* metric label: "Append" */
	enum ledgerd_route_kind kind;
	/* HTTP thread: check the request body shape; -1 with err set answers
	 * INVALID_ARGUMENT.  NULL: any JSON object. */
	int (*validate)(const json_t *req, struct dr_error *err);
	/* Loop thread: run the call, now or later, ending in ledgerd_call_*. */
	void (*run)(struct ledgerd_node *n, struct ledgerd_call *c);
};

/* What the HTTP thread does once the loop has answered. */
enum ledgerd_call_action {
	CALL_ANSWER,      /* send status + resp */
	CALL_FORWARD,     /* relay the request to forward_addr (the leader) */
	CALL_SUPERVISOR,  /* send supervisor_msg to the supervisor socket */
	CALL_BUILD,       /* a helper thread runs build (ledgerd_call_build) */
};

struct ledgerd_call {
	const struct ledgerd_route *route;
	json_t *req;              /* parsed body (object), owned */
	int forwarded;            /* arrived from another node's forward */
	/* answer (written by the loop before done) */
	int http_status;
	json_t *resp;
	enum ledgerd_call_action action;
	char *forward_addr;
	json_t *supervisor_msg;
	/* CALL_BUILD: the answer's work, off the loop (ledgerd_call_build) */
	void (*build)(struct ledgerd_call *c, void *arg);
	void *build_arg;          /* owned until build runs; NULL after */
	void (*build_release)(void *arg);
	int done;                 /* under node->mu */
	int refs;                 /* under node->mu: submitter + loop */
	/* loop-side state of asynchronous steps */
	struct raft_apply apply;
	struct raft_barrier barrier;
	struct raft_transfer transfer;
	struct raft_change change;
	raft_id target;
	int step;                 /* handler's own progress through async steps */
	int wrote;                /* raft_apply was called: errors are UNKNOWN_OUTCOME */
	int parked;               /* loop: waits for the end of a graceful handover */
	int answered;             /* loop: the HTTP thread has its answer */
	int pending;              /* loop: libraft callbacks still to come */
	/* loop: while set, the tick calls it (about every heartbeat) until the
	 * call is answered; for handlers that wait for the cluster to change
	 * (ledger.v1 TransferLeadership waits for a new leader). */
	void (*tick)(struct ledgerd_node *n, struct ledgerd_call *c);
	int64_t deadline_ns;      /* the handler's own deadline (monotonic), for tick */
	unsigned char tx_id[16];  /* ledger.v1 Write: the transaction id it proposed */
	struct ledgerd_call *next;             /* queue (under mu) */
	struct ledgerd_call *inflight_prev, *inflight_next; /* loop */
	struct ledgerd_node *node;
	/* ledgerd_node_submit_async: the done function and its payload (set
	 * before submitting), and the node's list of such calls still waiting
	 * for an answer, oldest first (under mu) */
	ledgerd_call_done_fn done_fn;
	void *done_payload;
	int64_t wait_until_ns;                 /* mu: monotonic */
	int timed_out;                         /* mu: done_fn ran with timed_out 1 */
	struct ledgerd_call *wait_prev, *wait_next; /* mu */
};

#define LEDGERD_RING 4096
/* Group commit bounds: appends per Raft entry, and their command bytes (an
 * entry stays well inside one 4 MiB raft segment). */
#define LEDGERD_BATCH_MAX 64
#define LEDGERD_BATCH_MAX_BYTES (1024 * 1024)
#define LEDGERD_MAX_MEMBERS 64

/* A node's data directory running out of space (issue 17, the disk_full
 * fault), on the loop thread.
 *
 * libraft 0.15's uv backend writes into preallocated 4 MiB segments and
 * only needs new space when it prepares the next one (uv_prepare.c); that
 * prepare failing with ENOSPC fails the append (RAFT_NOSPACE).  On a leader
 * the failed entry is then dropped from its in-memory log although it may
 * already be on followers (replication.c, appendLeaderCb), and a follower
 * keeps unpersisted entries in memory and never writes them again: after a
 * failed log write the node's memory and disk disagree.  So ledgerd keeps
 * libraft away from that edge:
 *
 *  - every tick it reads the free space of its Raft directory (statvfs);
 *    below one segment the disk is "full": writes and reads (a read
 *    appends a barrier) are refused with RESOURCE_EXHAUSTED "no space left
 *    on device", and a leader hands leadership to an up-to-date voter, so a
 *    quorum of the others keeps serving writes; once two segments are free
 *    again the node serves as before, without a restart;
 *  - should a log write fail anyway (the preallocated segments ran out
 *    first, as on a follower filled long enough), the node refuses and
 *    hands over the same way, and once space is back it exits with
 *    LEDGERD_EXIT_DISK (a crash, as after kill -9: everything it
 *    acknowledged is on disk) so that the supervisor restarts it like a
 *    pod and it reloads its log from disk. */
/* node.c's raft_uv_set_segment_size. */
#define LEDGERD_SEGMENT_BYTES ((uint64_t)4 * 1024 * 1024)
/* Below this much free space the disk is full... */
#define LEDGERD_DISK_LOW_BYTES LEDGERD_SEGMENT_BYTES
/* ...and it is not any more from this much (hysteresis). */
#define LEDGERD_DISK_OK_BYTES (2 * LEDGERD_SEGMENT_BYTES)
/* EX_TEMPFAIL: restarted after a failed Raft log write, once space is back. */
#define LEDGERD_EXIT_DISK 75

struct ledgerd_disk {
	int full;                 /* loop: below LEDGERD_DISK_LOW_BYTES free */
	int write_failed;         /* loop: a Raft log write failed (status below) */
	int failed_status;
	uint64_t free_bytes;      /* loop: at the last check */
	int checked;              /* a statvfs answered at least once */
	int transfer_pending;
	struct raft_transfer transfer;
	uint64_t refused;         /* calls refused for lack of space */
	/* libraft's io->append, wrapped to see every log write's status */
	int (*uv_append)(struct raft_io *io, struct raft_io_append *req,
			 const struct raft_entry entries[], unsigned n, raft_io_append_cb cb);
};

/* A leader's graceful stop (ledger/daemon/handover.c).  Loop. */
struct ledgerd_handover {
	int phase;                    /* handover.c: drain, then transfer */
	const char *signame;          /* "SIGTERM" or "SIGINT", for the log */
	int64_t start_ns;             /* the signal (monotonic) */
	int64_t deadline_ns;          /* start + election timeout: stop regardless */
	struct raft_barrier barrier;  /* commits what was proposed before the signal */
	int barrier_pending;
	int barrier_status;
	raft_index barrier_index;
	struct raft_transfer transfer;
	int transfer_pending;         /* libraft's callback still to come */
	raft_id target;
	int64_t transfer_start_ns;
	uv_timer_t timer;             /* deadlines and silences; kicked by the callbacks */
};

struct ledgerd_node {
	struct ledgerd_config cfg;
	struct ledgerd_peers peers;   /* base member metadata (DATA/ledgerd.json) */
	struct ledgerd_peers peers_arg; /* --peers file, fallback metadata */
	char *raft_dir;
	char *snap_dir;
	char *admin_token;            /* NULL: admin calls need no token */

	uv_loop_t loop;
	uv_async_t wake;
	uv_timer_t tick;
	uv_signal_t sigterm, sigint;
	struct raft raft;
	struct raft_io io;
	struct raft_fsm fsm;
	struct ledgerd_transport transport;
	struct ledger_fsm ledger;     /* loop */

	pthread_mutex_t mu;
	struct ledgerd_call *queue_head, *queue_tail; /* mu */
	int stopping;                 /* mu: new calls are refused */
	struct ledgerd_gauges gauges; /* mu */
	/* mu: calls submitted without waiting and not answered yet, oldest
	 * first; the watchdog thread answers those past the call limit */
	struct ledgerd_call *waiting_head, *waiting_tail;
	pthread_t watchdog;
	pthread_cond_t watchdog_cond; /* mu: signalled to stop the watchdog */
	int watchdog_running;
	int watchdog_stop;            /* mu */

	/* loop */
	struct ledgerd_call *inflight;
	int stop_requested;           /* SIGTERM/SIGINT arrived: health says not serving */
	int handing_over;             /* a stopping leader hands leadership over first */
	struct ledgerd_handover handover;
	int closing;                  /* shutting down: calls are refused */
	int64_t close_deadline_ns;    /* closing: raft_close by then at the latest */
	int raft_closing;             /* raft_close was called */
	int raft_closed;              /* on_raft_closed ran */
	/* libraft's io->close and raft's callback for it (see node.c,
	 * io_closed_once) */
	void (*uv_io_close)(struct raft_io *io, raft_io_close_cb cb);
	raft_io_close_cb io_close_cb;
	int was_leader;
	raft_term timeout_drawn_term; /* ledgerd_election_redraw */
	int ready;                    /* leader and its post-election barrier applied */
	struct raft_barrier ready_barrier;
	int ready_barrier_pending;
	raft_id logged_leader;
	int64_t refuse_until_ns;
	int refusing;
	/* loop: the appends of this pass over the call queue, proposed
	 * together at its end (ledger/daemon/svc_append.c) */
	struct ledgerd_call *batch_calls[LEDGERD_BATCH_MAX];
	char *batch_cmds[LEDGERD_BATCH_MAX];
	size_t batch_n, batch_bytes;
	uint64_t append_batches;      /* entries that carried more than one append */
	uint64_t appends_batched;     /* appends carried by them */
	struct { raft_index index; int64_t ns; } ring[LEDGERD_RING];
	size_t ring_next;
	struct { raft_id id; int64_t ns; } contact[LEDGERD_MAX_MEMBERS];
	int64_t behind_since_ns;
	int64_t no_leader_since_ns;
	int64_t leader_since_ns;
	int witness_transfer_pending;
	struct raft_transfer witness_transfer;

	struct ledgerd_disk disk;     /* loop: free space, failed log writes (disk.c) */

	struct ledgerd_metrics metrics;
	struct MHD_Daemon *httpd;
};

/* What serves the node's API to clients: started once the node is set up;
 * stop answers every pending call and joins its threads before the loop's
 * resources go.  main.c hands it in, so the node does not depend on the
 * server that fronts it. */
struct ledgerd_frontend {
	int (*start)(struct ledgerd_node *n, struct dr_error *err);
	void (*stop)(struct ledgerd_node *n);
};

/* Set up everything (data dir, seed, bootstrap, raft, then each front end
 * of the NULL-terminated fes) and run the loop until SIGTERM/SIGINT; the
 * front ends stop in reverse order.  Returns the process exit code. */
int ledgerd_node_run(const struct ledgerd_config *cfg, const struct ledgerd_frontend *const *fes);

/* Hand a call to the loop without waiting: done (ledgerd_call_done_fn)
 * runs once with the answer, or with timed_out 1 after the node's call
 * limit (30 s).  c->done_payload may be set before for done's use.  The
 * submitter's reference passes to done. */
void ledgerd_node_submit_async(struct ledgerd_node *n, struct ledgerd_call *c,
			       ledgerd_call_done_fn done);
/* Drop a reference (frees the call with the last one). */
void ledgerd_call_unref(struct ledgerd_node *n, struct ledgerd_call *c);

/* Loop thread: stop now: refuse new calls, answer what is queued, and
 * close raft once its log is stored (then the loop ends and
 * ledgerd_node_run returns).  SIGTERM/SIGINT on a follower, or on a leader
 * once it handed leadership over (ledger/daemon/handover.c). */
void ledgerd_node_close(struct ledgerd_node *n);

/* Free space and failed log writes (ledger/daemon/disk.c, the comment
 * above struct ledgerd_disk), loop thread. */
/* After raft_uv_init: wrap the io's append and take a first reading. */
void ledgerd_disk_init(struct ledgerd_node *n);
/* Every tick: read the free space, log changes, hand leadership over while
 * the disk is full, and exit for a restart once a node whose log write
 * failed has space again. */
void ledgerd_disk_tick(struct ledgerd_node *n, int is_leader);
/* 1 (and c answered RESOURCE_EXHAUSTED) when the node cannot take a write
 * or a read barrier for lack of space; 0 otherwise. */
int ledgerd_disk_refuse(struct ledgerd_node *n, struct ledgerd_call *c);

/* The graceful stop of a leader (ledger/daemon/handover.c), loop thread.
 * ledgerd_handover_start: signame ("SIGTERM") names the signal in the
 * log.  0: this node leads a cluster of two or more voters and hands
 * leadership over; it ends, within the election timeout, in
 * ledgerd_node_close.  -1: nothing to hand over (not the leader, the only
 * voter, or raft refused the first step), and the caller closes the node
 * itself.  ledgerd_handover_cut: another signal arrived: stop waiting for
 * the handover and close now (nothing when none is under way). */
int ledgerd_handover_start(struct ledgerd_node *n, const char *signame);
void ledgerd_handover_cut(struct ledgerd_node *n, const char *signame);

/* Loop thread: answer a call. resp is stolen. */
void ledgerd_call_ok(struct ledgerd_node *n, struct ledgerd_call *c, json_t *resp);
void ledgerd_call_error(struct ledgerd_node *n, struct ledgerd_call *c, enum ledger_code code,
			const char *fmt, ...) __attribute__((format(printf, 4, 5)));
/* NOT_LEADER with the leader's HTTP address (when known and not this node:
 * a leader handing its leadership over names none). */
void ledgerd_call_not_leader(struct ledgerd_node *n, struct ledgerd_call *c);
/* Forward to the leader when one is known and the call was not forwarded
 * already; returns 1 when it did (the call is answered), else 0. */
int ledgerd_call_forward_to_leader(struct ledgerd_node *n, struct ledgerd_call *c);
void ledgerd_call_supervisor(struct ledgerd_node *n, struct ledgerd_call *c, json_t *msg);
/* Answer c with work done off the loop (issue 17: reading a snapshot file
 * or building a large answer on the loop stalled heartbeats and cost the
 * leader its leadership).  The loop is done with c at once; a helper
 * thread (ledger/daemon/dispatch.c) later runs build(c, arg), which sets
 * the answer with ledgerd_built_ok / ledgerd_built_error (or c->action
 * CALL_SUPERVISOR and c->supervisor_msg) and frees arg.  build runs on
 * another thread while the loop goes on: it may read c->req, the node's
 * immutable config (n->cfg, n->snap_dir) and what arg owns, nothing else of
 * the node.  When build never runs (the call timed out, or the node
 * stopped first), release(arg) frees arg with the call. */
void ledgerd_call_build(struct ledgerd_node *n, struct ledgerd_call *c,
			void (*build)(struct ledgerd_call *c, void *arg), void *arg,
			void (*release)(void *arg));
/* In build (any thread): the answer, as ledgerd_call_ok / _error set it. */
void ledgerd_built_ok(struct ledgerd_call *c, json_t *resp);
void ledgerd_built_error(struct ledgerd_call *c, enum ledger_code code, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
/* Whether the node is stopping (any thread): long work in build stops early. */
int ledgerd_node_stopping(struct ledgerd_node *n);
/* Loop thread: a libraft callback for c fired; returns 1 when the call
 * was answered meanwhile (the callback must then just return). */
int ledgerd_call_callback(struct ledgerd_node *n, struct ledgerd_call *c);

/* Loop helpers used by the handlers. */
json_t *ledgerd_member_meta(struct ledgerd_node *n, raft_id id); /* borrowed or NULL */
const char *ledgerd_member_str(struct ledgerd_node *n, raft_id id, const char *key);
json_t *ledgerd_leader_json(struct ledgerd_node *n); /* new ref; json null when none */
int64_t ledgerd_member_last_contact_ns(struct ledgerd_node *n, raft_id id);
/* Leader: monotonic time an entry at or after index was proposed (0: unknown). */
int64_t ledgerd_ring_time(struct ledgerd_node *n, raft_index index);
void ledgerd_ring_record(struct ledgerd_node *n, raft_index index);
/* Most caught-up voter (other than self unless include_self) whose metadata
 * matches region (or region_role when by_role); 0 when none. */
raft_id ledgerd_pick_in_region(struct ledgerd_node *n, const char *region, int by_role,
			       int include_self);
void ledgerd_apply_partition(struct ledgerd_node *n, const raft_id *ids, size_t count);

#endif
