/* RequestVote bookkeeping on the io's send and receive paths, and the
 * Raft thesis's rule for when a follower may consider a vote.
 *
 * The thesis (section 4.2.3) has a follower disregard a RequestVote only
 * "within the minimum election timeout of hearing from a current leader".
 * libraft 0.15 instead rejects every (pre-)vote while the follower still
 * remembers a leader (src/recv_request_vote.c), and a follower forgets its
 * leader only when its own randomized election timer fires (src/tick.c).
 * After a leader dies, the first follower to time out therefore asks a
 * follower that has not timed out yet, is refused, and the election waits
 * for the second follower's later timer (canonical/raft#196 describes the
 * gap; etcd's raft applies the thesis's rule with check-quorum).  So before
 * libraft sees a RequestVote, a follower that has not heard from its leader
 * for at least the minimum election timeout forgets that leader here, and
 * libraft then judges the vote on terms and logs as the thesis says.
 * Checked against Debian's libraft 0.15.0, whose struct raft exposes
 * follower_state.current_leader and election_timer_start; the test
 * test_raft_votes fails if a libraft or ledgerd change brings the old
 * refusal back.  Loop thread only. */
#include <inttypes.h>
#include <stddef.h>

#include "common/strbuf.h"
#include "ledger/daemon/log.h"
#include "ledger/daemon/transport.h"

static int peer_slot(struct ledgerd_raft_counters *c, raft_id id)
{
	unsigned i;

	for (i = 0; i < c->n_peers; i++)
		if (c->peer[i].id == id)
			return (int)i;
	if (c->n_peers == LEDGERD_MAX_PEERS)
		return -1;
	c->peer[c->n_peers].id = id;
	/* the renderer reads n_peers without the loop: publish the id first */
	__atomic_store_n(&c->n_peers, c->n_peers + 1, __ATOMIC_RELEASE);
	return (int)i;
}

void ledgerd_votes_on_send(struct ledgerd_transport *t, const struct raft_message *m)
{
	int i;

	if (m->type != RAFT_IO_REQUEST_VOTE)
		return;
	i = peer_slot(&t->counters, m->server_id);
	if (i >= 0)
		__atomic_add_fetch(&t->counters.peer[i].votes_sent, 1, __ATOMIC_RELAXED);
}

/* The thesis's rule; see the comment at the top.  A leader whose process
 * was found gone (transport_dead_leader.c) is not current either. */
static void forget_silent_leader(struct ledgerd_transport *t, struct raft *r,
				 const struct raft_message *m)
{
	raft_time now = r->io->time(r->io);
	raft_time silent = now - r->election_timer_start;
	raft_id leader = r->follower_state.current_leader.id;
	const char *kind = m->request_vote.pre_vote ? "pre-" : "";

	if (r->state != RAFT_FOLLOWER || leader == 0 || m->request_vote.disrupt_leader)
		return;
	if (silent >= r->election_timeout) {
		ledgerd_log("raft: no word from leader %llu for %llu ms (election timeout %u ms): "
			    "considering the %svote request of node %llu",
			    leader, (unsigned long long)silent, r->election_timeout, kind,
			    m->server_id);
		__atomic_add_fetch(&t->counters.leader_forgotten, 1, __ATOMIC_RELAXED);
	} else if (ledgerd_dead_leader_is(t, leader)) {
		ledgerd_log("raft: leader %llu's process is gone: considering the %svote request "
			    "of node %llu", leader, kind, m->server_id);
		__atomic_add_fetch(&t->counters.dead_leader_votes, 1, __ATOMIC_RELAXED);
	} else {
		return;
	}
	/* libraft keeps the address and replaces it when a leader speaks */
	r->follower_state.current_leader.id = 0;
}

void ledgerd_votes_on_recv(struct ledgerd_transport *t, struct raft_io *io,
			   const struct raft_message *m)
{
	int i;

	if (m->type != RAFT_IO_REQUEST_VOTE)
		return;
	i = peer_slot(&t->counters, m->server_id);
	if (i >= 0)
		__atomic_add_fetch(&t->counters.peer[i].votes_received, 1, __ATOMIC_RELAXED);
	if (io->data)
		forget_silent_leader(t, io->data, m);
	ledgerd_dead_leader_vote_seen(t);
}

static void counter(struct strbuf *sb, const char *name, const char *help, const char *labels,
		    uint64_t v)
{
	strbuf_addf(sb, "# HELP %s %s\n# TYPE %s counter\n%s{%s} %" PRIu64 "\n", name, help, name,
		    name, labels, v);
}

static void per_peer(struct strbuf *sb, const struct ledgerd_raft_counters *c, unsigned n,
		     const char *name, const char *help, const char *labels, int sent)
{
	unsigned i;

	strbuf_addf(sb, "# HELP %s %s\n# TYPE %s counter\n", name, help, name);
	for (i = 0; i < n; i++)
		strbuf_addf(sb, "%s{%s,peer=\"%llu\"} %" PRIu64 "\n", name, labels, c->peer[i].id,
			    ledgerd_counter_get(sent ? &c->peer[i].votes_sent
						     : &c->peer[i].votes_received));
}

/* The plain counters of struct ledgerd_raft_counters, as /metrics names them. */
static const struct {
	const char *name, *help;
	size_t offset;
} plain_counters[] = {
	{ "ledger_raft_dead_links_total",
	  "Outbound raft streams found closed by the peer (it stopped or restarted) and reconnected before the next message.",
	  offsetof(struct ledgerd_raft_counters, dead_links) },
	{ "ledger_raft_stalled_links_total",
	  "Outbound raft streams the link check found dropped by the kernel because what this node sent stayed unacknowledged for twice the election timeout, at least 1 s (a cut network), and made again (one whose failed write libraft saw first is not counted).",
	  offsetof(struct ledgerd_raft_counters, stalled_links) },
	{ "ledger_raft_connect_timeouts_total",
	  "Raft connects given up after half an election timeout without an answer, and made again.",
	  offsetof(struct ledgerd_raft_counters, connect_timeouts) },
	{ "ledger_raft_silent_leader_votes_total",
	  "Vote requests considered because the leader had been silent for the minimum election timeout (Raft thesis 4.2.3).",
	  offsetof(struct ledgerd_raft_counters, leader_forgotten) },
	{ "ledger_raft_dead_leader_votes_total",
	  "Vote requests considered because the leader's process was gone (its raft stream closed, its raft port refused).",
	  offsetof(struct ledgerd_raft_counters, dead_leader_votes) },
	{ "ledger_raft_dead_leader_elections_total",
	  "Elections this node started early because its leader's process was gone (its raft stream closed, its raft port refused).",
	  offsetof(struct ledgerd_raft_counters, dead_leader_elections) },
	{ "ledger_raft_closed_leader_listening_total",
	  "Times the leader closed this node's raft stream but still accepted a connection on its raft address: not taken for dead.",
	  offsetof(struct ledgerd_raft_counters, closed_leader_listening) },
};

void ledgerd_raft_counters_render(struct strbuf *sb, const struct ledgerd_raft_counters *c,
				  const char *labels)
{
	unsigned n = __atomic_load_n(&c->n_peers, __ATOMIC_ACQUIRE);

	for (size_t i = 0; i < sizeof plain_counters / sizeof plain_counters[0]; i++)
		counter(sb, plain_counters[i].name, plain_counters[i].help, labels,
			ledgerd_counter_get((const uint64_t *)(const void *)((const char *)c +
									  plain_counters[i].offset)));
	per_peer(sb, c, n, "ledger_raft_vote_requests_sent_total",
		 "RequestVote messages (pre-vote and vote) this node sent, by peer.", labels, 1);
	per_peer(sb, c, n, "ledger_raft_vote_requests_received_total",
		 "RequestVote messages (pre-vote and vote) this node received, by peer.", labels, 0);
}
