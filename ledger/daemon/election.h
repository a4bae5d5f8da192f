/* Election timing that ledgerd sets on libraft 0.15's struct raft, where
 * libraft's own choices make failover and start-up slower than etcd's
 * (issue 19).  Loop thread only. */
#ifndef DR_LEDGER_DAEMON_ELECTION_H
#define DR_LEDGER_DAEMON_ELECTION_H

#include <raft.h>

/* Right after raft_start: the first election one heartbeat plus a random
 * part of the election timeout after start, not a whole timeout; with
 * stand_first, one heartbeat after start (one node of a cluster that never
 * elected a leader). */
void ledgerd_election_boot(struct raft *r, int stand_first);
/* 1 while this node knows of no election ever held (a fresh cluster). */
int ledgerd_election_never_elected(const struct raft *r);
/* From the node's tick: a follower draws a new randomized election timeout
 * once per term (*drawn_term remembers the term it last drew for). */
void ledgerd_election_redraw(struct raft *r, raft_term *drawn_term);

#endif
