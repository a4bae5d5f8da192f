/* Election timing on libraft 0.15's struct raft.  Both functions write
 * fields that libraft 0.15.0 exposes in raft.h and reads from its tick
 * (src/election.c electionTimerExpired: now - election_timer_start >=
 * randomized_election_timeout); checked against Debian's libraft 0.15.0.
 * tests/integration/test_raft_votes.c covers the boot advance (a rolling
 * restart keeps the leader and the term); bench/failover measures both. */
#include "ledger/daemon/election.h"

/* libraft starts a follower's election timer at raft_start with a whole
 * randomized timeout, [T, 2T), so a fresh cluster elects its first leader
 * 1-2 election timeouts after start.  etcd fast-forwards its election
 * ticks at boot (--initial-election-tick-advance); this does the same by
 * moving the timer's start back by T minus one heartbeat, so the first
 * election comes one heartbeat plus a random part of T after start.  A node
 * restarted into a live cluster risks nothing by it: pre-vote is on, and a
 * pre-vote is refused by every follower that heard from the leader within
 * the election timeout and by the leader itself, so an early candidate
 * neither raises the term nor disturbs the leader; the leader's next
 * heartbeat makes it a follower again.
 *
 * One node of a cluster that never elected a leader goes further:
 * stand_first (the caller picks one node, the same on every node) moves
 * its timer back by its whole draw less one heartbeat, so it stands one
 * heartbeat after start while the others' first elections still come a
 * random part of T later.  A cold start then waits one heartbeat, not the
 * earliest of three random draws (etcd's advance waits for that draw); if
 * the chosen node is down, the others elect as above.  Timing only: which
 * node may win is still decided by the votes. */
void ledgerd_election_boot(struct raft *r, int stand_first)
{
	raft_time advance = r->election_timeout - r->heartbeat_timeout;

	if (r->state != RAFT_FOLLOWER)
		return;
	if (stand_first &&
	    r->follower_state.randomized_election_timeout > r->heartbeat_timeout)
		advance = r->follower_state.randomized_election_timeout - r->heartbeat_timeout;
	if (r->election_timer_start < advance)
		return;
	r->election_timer_start -= advance;
}

int ledgerd_election_never_elected(const struct raft *r)
{
	/* raft_bootstrap leaves term 1 and no vote; the first election of any
	 * node makes the term 2 at least, and a node learns that term from
	 * the first message of a node that held it. */
	return r->current_term <= 1 && r->voted_for == 0;
}

/* libraft draws a follower's randomized timeout only when the node
 * becomes a follower; a follower that stays one keeps its draw through
 * every later term (recvBumpCurrentTerm converts only a non-follower).  A
 * follower that drew close to 2T at start never stands first again, so
 * after a leader dies the election waits for the one other follower's
 * draw instead of the earlier of two: measured on the bench, a node kept
 * 1960 ms at 1000 ms through every trial.  etcd draws again at every
 * term (raft.reset); so does this, from the tick, for followers.  The new
 * draw counts from the last message of the leader like the old one, so it
 * never fires early: it is in [T, 2T) as libraft's own. */
void ledgerd_election_redraw(struct raft *r, raft_term *drawn_term)
{
	if (r->state != RAFT_FOLLOWER || r->current_term == *drawn_term)
		return;
	*drawn_term = r->current_term;
	r->follower_state.randomized_election_timeout = (unsigned)r->io->random(
		r->io, (int)r->election_timeout, 2 * (int)r->election_timeout);
}
