/* A follower whose leader's process is gone stands at once instead of
 * waiting out the election timeout.
 *
 * When a process dies -- kill -9, a crash, an OOM kill, a container
 * stopped without grace -- its kernel closes its sockets, and the
 * follower's outbound raft stream to it reads end of file or a reset
 * within one link check (transport_links.c, every 10 ms).  libraft 0.15
 * learns of a dead leader only from silence: a follower stands when its
 * randomized timer, [T, 2T) after the leader's last message, fires
 * (src/tick.c), so a kill costs one to two election timeouts.  etcd does
 * the same (its failover figure in bench/README.md).  Here a follower that
 * sees its leader's stream close draws a delay in [0, T/2) and then, if the
 * leader has sent nothing since, forgets it and runs libraft's tick with
 * the timer expired: libraft's own election (pre-vote, vote) starts.  The
 * draw spreads the survivors, so one usually stands alone; a node that
 * receives another's vote request first gives up its own early election.
 *
 * Only a closed stream is evidence.  A leader that is silent but keeps its
 * sockets (a frozen process, a lost machine, a network partition) is
 * noticed by the election timeout as before.  A stream a live leader
 * closed costs nothing: the early candidate's pre-vote is refused by the
 * leader and by every follower that still hears it, the term does not
 * move, and the leader's next heartbeat makes the candidate a follower
 * again (test_raft_votes).  A peer cut off by Debug/Partition is not
 * treated as dead: a real partition closes no stream.
 *
 * The same evidence lets a follower consider another node's vote request
 * at once (transport_votes.c): the thesis (4.2.3) lets a follower refuse
 * votes within the minimum election timeout of hearing from a *current*
 * leader, and a leader whose process is gone is not current.
 *
 * Written against libraft 0.15.0 (Debian): struct raft exposes state,
 * follower_state.current_leader, follower_state.randomized_election_timeout
 * and election_timer_start, and the tick callback given to io->start only
 * compares times, so running it once more is safe.  Loop thread only. */
#include "common/clock.h"
#include "ledger/daemon/log.h"
#include "ledger/daemon/transport.h"

static struct raft *raft_of(const struct ledgerd_transport *t)
{
	return t->io ? t->io->data : NULL;
}

static int silent_since_seen(const struct ledgerd_transport *t, raft_id id)
{
	return t->dead_leader.id == id && ledgerd_transport_heard_ns(t, id) < t->dead_leader.ns;
}

static void early_election(uv_timer_t *timer)
{
	struct ledgerd_transport *t = timer->data;
	struct raft *r = raft_of(t);
	raft_id id = t->dead_leader.id;
	raft_id now_follows;
	int before;

	if (!r || t->closing || !t->tick_cb || r->state != RAFT_FOLLOWER)
		return;
	now_follows = r->follower_state.current_leader.id;
	if ((now_follows != 0 && now_follows != id) || !silent_since_seen(t, id) ||
	    ledgerd_transport_blocked(t, id))
		return;
	ledgerd_log("raft: leader %llu's process is gone and it has sent nothing since: "
		    "standing for election now, not after the election timeout", id);
	r->follower_state.current_leader.id = 0;
	r->election_timer_start = r->io->time(r->io) - r->follower_state.randomized_election_timeout;
	__atomic_add_fetch(&t->counters.dead_leader_elections, 1, __ATOMIC_RELAXED);
	before = r->state;
	t->tick_cb(t->io);
	if (r->state != before && t->state_changed)
		t->state_changed(t->state_changed_arg);
}

void ledgerd_dead_leader_seen(struct ledgerd_transport *t, raft_id id)
{
	struct raft *r = raft_of(t);
	unsigned spread, delay;

	if (!r || t->closing || r->state != RAFT_FOLLOWER ||
	    r->follower_state.current_leader.id != id || ledgerd_transport_blocked(t, id))
		return;
	if (t->dead_leader.id == id && uv_is_active((uv_handle_t *)&t->early_election))
		return; /* a second stream to it closing adds nothing */
	t->dead_leader.id = id;
	t->dead_leader.ns = clock_mono_ns();
	spread = r->election_timeout / 2 ? r->election_timeout / 2 : 1;
	delay = (unsigned)r->io->random(r->io, 0, (int)spread);
	ledgerd_log("raft: leader %llu closed its stream: its process is gone; standing for "
		    "election in %u ms unless it speaks or another node stands first", id, delay);
	uv_timer_start(&t->early_election, early_election, delay, 0);
}

int ledgerd_dead_leader_is(struct ledgerd_transport *t, raft_id id)
{
	/* A vote request can arrive before this node's next link check:
	 * judge it on the stream's state now, not 10 ms ago. */
	if (!silent_since_seen(t, id) && ledgerd_links_check_peer(t, id))
		ledgerd_dead_leader_seen(t, id);
	return silent_since_seen(t, id) && !ledgerd_transport_blocked(t, id);
}

void ledgerd_dead_leader_vote_seen(struct ledgerd_transport *t)
{
	if (uv_is_active((uv_handle_t *)&t->early_election))
		uv_timer_stop(&t->early_election);
}
