/* The graceful stop of a leader: on SIGTERM or SIGINT it hands leadership
 * to a voter that still answers before raft closes, as the public InferaDB
 * ledger and etcd do (ledger/daemon/handover.c).  Loop thread only. */
#ifndef DR_LEDGER_DAEMON_HANDOVER_H
#define DR_LEDGER_DAEMON_HANDOVER_H

struct ledgerd_node;

/* signame ("SIGTERM") names the signal in the log.  0: this node leads a
 * cluster of two or more voters and the handover started; it ends, within
 * the election timeout, in ledgerd_node_close.  -1: nothing to hand over
 * (not the leader, the only voter, or raft refused the first step), and
 * the caller closes the node itself. */
int ledgerd_handover_start(struct ledgerd_node *n, const char *signame);

/* Another signal arrived: stop waiting for the handover and close now
 * (nothing when no handover is under way). */
void ledgerd_handover_cut(struct ledgerd_node *n, const char *signame);

#endif
