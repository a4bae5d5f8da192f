/* A follower whose leader's process is gone stands at once instead of
 * waiting out the election timeout.
 *
 * When a process dies -- kill -9, a crash, an OOM kill, a container
 * stopped without grace -- its kernel closes its sockets: the follower's
 * outbound raft stream to it reads end of file or a reset within one link
 * check (transport_links.c, every 10 ms), and its raft port refuses new
 * connections.  libraft 0.15 learns of a dead leader only from silence: a
 * follower stands when its randomized timer, [T, 2T) after the leader's
 * last message, fires (src/tick.c), so a kill costs one to two election
 * timeouts.  etcd does the same (bench/README.md).
 *
 * Here a follower that sees its leader's stream close connects to the
 * leader's raft address once.  Refused: nothing listens there, the process
 * is gone.  The follower then waits for its slot in [20 ms, T/2) (by
 * its rank among the survivors, see early_delay) and, if the leader has
 * sent nothing meanwhile, forgets it and runs libraft's tick with the
 * timer expired: libraft's own election (pre-vote, vote) starts.  A node
 * that receives another's vote request first gives up its own early
 * election.  Accepted (a live leader that closed one stream, or a node cut
 * off by Debug/Partition, which shuts its streams but still listens), or
 * no answer within half an election timeout (a lost machine): not taken
 * for dead, the election timeout decides as before.  A leader that goes
 * silent without closing anything -- a frozen process, a lost machine, a
 * partition -- is noticed by the election timeout alone (bench-failover's
 * frozen-leader rows measure that case).  Even a wrong verdict moves
 * nothing: the early candidate's pre-vote is refused by the leader and by
 * every follower that still hears it, and the term stays
 * (test_raft_votes).
 *
 * The same evidence lets a follower consider another node's vote request
 * at once (transport_votes.c): the thesis (4.2.3) lets a follower refuse
 * votes within the minimum election timeout of hearing from a *current*
 * leader, and a leader whose process is gone is not current.
 *
 * Written against libraft 0.15.0 (Debian): struct raft exposes state,
 * follower_state.current_leader (id and address),
 * follower_state.randomized_election_timeout and election_timer_start, and
 * the tick callback given to io->start only compares times, so running it
 * once more is safe.  Loop thread only. */
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>

#include "common/clock.h"
#include "common/strbuf.h"
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

/* Still a follower of id (or of nobody since), id silent since its stream
 * closed, and not cut off on purpose. */
static int still_waiting_on(const struct ledgerd_transport *t, const struct raft *r, raft_id id)
{
	raft_id follows = r->follower_state.current_leader.id;

	return r->state == RAFT_FOLLOWER && (follows == 0 || follows == id) &&
	       silent_since_seen(t, id) && !ledgerd_transport_blocked(t, id);
}

static void early_election(uv_timer_t *timer)
{
	struct ledgerd_transport *t = timer->data;
	struct raft *r = raft_of(t);
	raft_id id = t->dead_leader.id;
	int before;

	if (!r || t->closing || !t->tick_cb || t->leader_probe || !t->dead_leader.gone ||
	    !still_waiting_on(t, r, id))
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

/* The link check runs every 10 ms: a delay of at least two lets the other
 * survivors see the closed stream and probe it before the first vote
 * request reaches them, so they can grant it. */
#define EARLY_ELECTION_FLOOR_MS 20

/* This node's place among the voters that survive id, by node id, and
 * how many they are. */
static unsigned survivor_rank(const struct raft *r, raft_id dead, unsigned *count)
{
	unsigned i, rank = 0;

	*count = 0;
	for (i = 0; i < r->configuration.n; i++) {
		const struct raft_server *s = &r->configuration.servers[i];

		if (s->role != RAFT_VOTER || s->id == dead)
			continue;
		(*count)++;
		if (s->id < r->id)
			rank++;
	}
	return rank;
}

/* The survivors stand one after another, not at random: each gets a slot
 * of [floor, T/2) by its rank among them, and a random point in the first
 * half of it.  Two random draws can land within the time a vote request
 * takes to arrive, and then both stand, split the vote and wait out a
 * whole timeout (the bench saw 450-550 ms at 150/15 ms so); slots are half
 * a slot apart at least.  If the first in line is down too, the next one
 * stands a slot later. */
static unsigned early_delay(const struct raft *r, raft_id dead)
{
	unsigned spread = r->election_timeout / 2, floor = EARLY_ELECTION_FLOOR_MS;
	unsigned count, rank = survivor_rank(r, dead, &count), slot;

	if (spread <= 2 * floor)
		floor = 0;
	if (count == 0)
		count = 1;
	slot = (spread - floor) / count;
	if (slot < 2)
		return floor + rank * slot;
	return floor + rank * slot + (unsigned)r->io->random(r->io, 0, (int)(slot / 2));
}

static void arm_early_election(struct ledgerd_transport *t, struct raft *r, raft_id id)
{
	unsigned delay = early_delay(r, id);

	/* A node that stood first was refused here while the probe was out,
	 * and waits for its own timer now: no one to collide with. */
	if (t->dead_leader.refused_while_probing)
		delay = 0;
	ledgerd_log("raft: leader %llu's raft port refuses connections: its process is gone; "
		    "standing for election in %u ms unless it speaks or another node stands first",
		    id, delay);
	uv_timer_start(&t->early_election, early_election, delay, 0);
}

/* One connection attempt to the leader's raft address, from ours. */
struct ledgerd_leader_probe {
	uv_tcp_t tcp;
	uv_connect_t req;
	struct ledgerd_transport *t;
	raft_id id;
	int counted; /* the transport's close waits for this one */
};

static void probe_closed(uv_handle_t *h)
{
	struct ledgerd_leader_probe *p = h->data;

	if (p->counted)
		ledgerd_transport_connect_closed(p->t);
	free(p);
}

static void probe_done(uv_connect_t *req, int status)
{
	struct ledgerd_leader_probe *p = req->data;
	struct ledgerd_transport *t = p->t;
	struct raft *r = raft_of(t);

	if (!uv_is_closing((uv_handle_t *)&p->tcp))
		uv_close((uv_handle_t *)&p->tcp, probe_closed);
	if (t->leader_probe != p)
		return; /* aborted by the transport's close */
	t->leader_probe = NULL;
	uv_timer_stop(&t->early_election); /* the probe's deadline */
	if (!r || t->closing || !still_waiting_on(t, r, p->id))
		return;
	if (status == UV_ECONNREFUSED) {
		t->dead_leader.gone = 1;
		if (!t->dead_leader.other_stood)
			arm_early_election(t, r, p->id);
	} else if (status == 0) {
		__atomic_add_fetch(&t->counters.closed_leader_listening, 1, __ATOMIC_RELAXED);
		ledgerd_log("raft: leader %llu closed its stream but still listens on its raft "
			    "address: not taken for dead", p->id);
	} else {
		ledgerd_log("raft: leader %llu closed its stream and its raft address did not "
			    "answer (%s): waiting for the election timeout", p->id,
			    status == UV_ECANCELED ? "no answer in time" : uv_strerror(status));
	}
}

static void probe_deadline(uv_timer_t *timer)
{
	struct ledgerd_transport *t = timer->data;

	if (t->leader_probe && !uv_is_closing((uv_handle_t *)&t->leader_probe->tcp))
		uv_close((uv_handle_t *)&t->leader_probe->tcp, probe_closed); /* UV_ECANCELED */
}

static void probe_start(struct ledgerd_transport *t, struct raft *r, raft_id id)
{
	struct ledgerd_leader_probe *p;
	struct sockaddr_in to;
	const char *address = r->follower_state.current_leader.address;

	if (!address || ledgerd_ipv4_parse(&to, address) != 0)
		return;
	p = xcalloc(1, sizeof *p);
	p->t = t;
	p->id = id;
	p->req.data = p;
	uv_tcp_init(t->loop, &p->tcp);
	p->tcp.data = p;
	ledgerd_tcp_bind_own(t, &p->tcp);
	if (uv_tcp_connect(&p->req, &p->tcp, (const struct sockaddr *)&to, probe_done) != 0) {
		uv_close((uv_handle_t *)&p->tcp, probe_closed);
		return;
	}
	t->leader_probe = p;
	uv_timer_start(&t->early_election, probe_deadline,
		       r->election_timeout / 2 ? r->election_timeout / 2 : 1, 0);
}

void ledgerd_dead_leader_seen(struct ledgerd_transport *t, raft_id id)
{
	struct raft *r = raft_of(t);

	if (!r || t->closing || r->state != RAFT_FOLLOWER ||
	    r->follower_state.current_leader.id != id || ledgerd_transport_blocked(t, id))
		return;
	if (t->dead_leader.id == id && (t->leader_probe || t->dead_leader.gone) &&
	    silent_since_seen(t, id))
		return; /* a second stream to it closing adds nothing */
	if (t->leader_probe)
		return; /* one at a time; the next closed stream asks again */
	t->dead_leader.id = id;
	t->dead_leader.ns = clock_mono_ns();
	t->dead_leader.gone = 0;
	t->dead_leader.other_stood = 0;
	t->dead_leader.refused_while_probing = 0;
	uv_timer_stop(&t->early_election);
	probe_start(t, r, id);
}

int ledgerd_dead_leader_is(struct ledgerd_transport *t, raft_id id)
{
	/* A vote request can arrive before this node's next link check:
	 * judge the stream as it is now (the probe it starts answers later) */
	if (!silent_since_seen(t, id) && ledgerd_links_check_peer(t, id))
		ledgerd_dead_leader_seen(t, id);
	return t->dead_leader.gone && silent_since_seen(t, id) && !ledgerd_transport_blocked(t, id);
}

void ledgerd_dead_leader_vote_seen(struct ledgerd_transport *t)
{
	/* While the probe is out the request was refused (the leader was not
	 * known dead yet): this node must still stand itself, and soon. */
	if (t->leader_probe) {
		t->dead_leader.refused_while_probing = 1;
		return;
	}
	t->dead_leader.other_stood = 1;
	if (uv_is_active((uv_handle_t *)&t->early_election))
		uv_timer_stop(&t->early_election);
}

int ledgerd_dead_leader_abort(struct ledgerd_transport *t)
{
	struct ledgerd_leader_probe *p = t->leader_probe;

	if (!p)
		return 0;
	t->leader_probe = NULL;
	p->counted = 1;
	if (!uv_is_closing((uv_handle_t *)&p->tcp))
		uv_close((uv_handle_t *)&p->tcp, probe_closed);
	return 1;
}
