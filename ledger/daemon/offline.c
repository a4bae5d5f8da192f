/* ledgerd info / recover (see ledger/daemon/offline.h). */
#include "ledger/daemon/offline.h"

#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <raft.h>
#include <raft/uv.h>

#include "common/fsutil.h"
#include "common/numparse.h"
#include "common/strbuf.h"
#include "ledger/daemon/config.h"
#include "ledger/daemon/frame.h"
#include "ledger/daemon/fsm.h"

struct offline {
	uv_loop_t loop;
	struct raft_uv_transport transport;
	struct raft_io io;
	int io_ready;
};

static int offline_open(struct offline *o, const char *data, struct dr_error *err)
{
	char *dir = xasprintf("%s/raft", data);
	int rv, rc = -1;

	memset(o, 0, sizeof *o);
	uv_loop_init(&o->loop);
	if (!fs_exists(dir)) {
		dr_error_set(err, "'%s' is not a ledgerd data directory (no raft/)", data);
		goto out;
	}
	rv = raft_uv_tcp_init(&o->transport, &o->loop);
	if (rv != 0) {
		dr_error_set(err, "cannot set up transport: %s", raft_strerror(rv));
		goto out;
	}
	rv = raft_uv_init(&o->io, &o->loop, dir, &o->transport);
	if (rv != 0) {
		dr_error_set(err, "cannot open raft data in '%s': %s", dir, o->io.errmsg);
		raft_uv_tcp_close(&o->transport);
		goto out;
	}
	raft_uv_set_auto_recovery(&o->io, false);
	o->io_ready = 1;
	rc = 0;
out:
	free(dir);
	return rc;
}

static void io_closed(struct raft_io *io)
{
	(void)io;
}

static void offline_close(struct offline *o)
{
	if (o->io_ready) {
		raft_uv_close(&o->io);
		raft_uv_tcp_close(&o->transport);
	}
	uv_run(&o->loop, UV_RUN_DEFAULT);
	uv_loop_close(&o->loop);
}

static const char *want_data(int argc, char **argv, const char **peers, const char **voters)
{
	static const struct option opts[] = {
		{ "data", required_argument, NULL, 'd' },
		{ "peers", required_argument, NULL, 'p' },
		{ "voters", required_argument, NULL, 'v' },
		{ NULL, 0, NULL, 0 },
	};
	const char *data = NULL;
	int c;

	optind = 1;
	opterr = 0;
	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		if (c == 'd')
			data = optarg;
		else if (c == 'p' && peers)
			*peers = optarg;
		else if (c == 'v' && voters)
			*voters = optarg;
		else
			return NULL;
	}
	if (optind < argc)
		return NULL;
	return data;
}

/* The ledger index the node would reach by applying everything it holds:
 * its snapshot, then every command entry of its log, committed or not (an
 * unsafe promotion commits the chosen node's whole log).  Group commit puts
 * several Appends in one Raft entry, so a Raft index says nothing about how
 * many ledger entries a log holds: the commands are replayed.  *height is
 * the block height the ledger.v1 Writes reach (the v1 dialect's index).
 * -1 when the snapshot cannot be restored or a command is not understood.
 * libraft 0.15 loads whole segments (uvLoadSnapshotAndEntries starts at the
 * first segment's first index), so the log repeats entries the snapshot
 * already holds (ledgerd keeps a trailing log): those are skipped, not
 * applied a second time and left to the FSM's deduplication of client
 * sequences and idempotency keys. */
static long long ledger_index_of(long long *height, const struct raft_snapshot *snap,
				 raft_index start, const struct raft_entry *entries, size_t n)
{
	struct dr_error err = DR_ERROR_INIT;
	struct ledger_fsm f;
	long long last = -1;

	ledger_fsm_init(&f);
	if (snap && snap->n_bufs > 0) {
		struct strbuf sb = STRBUF_INIT;
		int rc;

		for (unsigned i = 0; i < snap->n_bufs; i++)
			strbuf_add(&sb, snap->bufs[i].base, snap->bufs[i].len);
		rc = ledger_fsm_restore(&f, sb.buf ? sb.buf : "", sb.len, &err);
		strbuf_release(&sb);
		if (rc != 0) {
			fprintf(stderr, "ledgerd info: cannot restore the snapshot: %s\n", err.msg);
			goto out;
		}
	}
	for (size_t i = 0; i < n; i++) {
		const void *data;
		size_t len;
		uint64_t index;

		if (entries[i].type != RAFT_COMMAND || (snap && start + i <= snap->index))
			continue;
		/* The daemon skips malformed frames and commands too. */
		if (ledgerd_frame_decode(&data, &len, entries[i].buf.base, entries[i].buf.len) != 0)
			continue;
		if (ledger_fsm_apply(&f, &index, data, len, &err) == LEDGER_FSM_UNKNOWN_OP) {
			fprintf(stderr, "ledgerd info: %s\n", err.msg);
			goto out;
		}
	}
	last = (long long)ledger_fsm_last_index(&f);
	*height = (long long)f.ents.height;
out:
	ledger_fsm_release(&f);
	return last;
}

int ledgerd_cmd_info(int argc, char **argv)
{
	struct dr_error err = DR_ERROR_INIT;
	struct offline o;
	struct raft_snapshot *snap = NULL;
	struct raft_entry *entries = NULL;
	size_t n = 0, i;
	raft_term term = 0, last_term = 0;
	raft_id voted = 0;
	raft_index start = 0, last = 0;
	long long ledger_last, height = 0;
	const char *data = want_data(argc, argv, NULL, NULL);
	int rv, rc = 2;

	if (!data) {
		fprintf(stderr, "usage: ledgerd info --data DIR\n");
		return 2;
	}
	if (offline_open(&o, data, &err) != 0) {
		fprintf(stderr, "ledgerd info: %s\n", err.msg);
		offline_close(&o);
		return 1;
	}
	rc = 1;
	rv = o.io.init(&o.io, 1, "127.0.0.1:1");
	if (rv == 0)
		rv = o.io.load(&o.io, &term, &voted, &snap, &start, &entries, &n);
	if (rv != 0) {
		fprintf(stderr, "ledgerd info: cannot load raft data in '%s': %s\n", data, o.io.errmsg);
		goto out;
	}
	if (n) {
		last = start + n - 1;
		last_term = entries[n - 1].term;
	} else if (snap) {
		last = snap->index;
		last_term = snap->term;
	}
	ledger_last = ledger_index_of(&height, snap, start, entries, n);
	/* The Raft fields are what a promotion needs; the ledger's are
	 * evidence, left out (the reader takes them as unknown) when the
	 * replay failed rather than failing the promotion. */
	printf("{\"term\":%llu,\"last_index\":%llu,\"last_term\":%llu,\"voted_for\":%llu,\"snapshot_index\":%llu",
	       term, last, last_term, voted, snap ? snap->index : 0ULL);
	if (ledger_last >= 0)
		printf(",\"ledger_last_index\":%lld,\"block_height\":%lld", ledger_last, height);
	printf("}\n");
	rc = 0;
out:
	if (entries) {
		void *batch = NULL;
		for (i = 0; i < n; i++)
			if (entries[i].batch != batch) {
				batch = entries[i].batch;
				raft_free(batch);
			}
		raft_free(entries);
	}
	if (snap) {
		raft_configuration_close(&snap->configuration);
		for (i = 0; i < snap->n_bufs; i++)
			raft_free(snap->bufs[i].base);
		raft_free(snap->bufs);
		raft_free(snap);
	}
	if (o.io_ready) {
		o.io.close(&o.io, io_closed);
		uv_run(&o.loop, UV_RUN_DEFAULT);
	}
	offline_close(&o);
	return rc;
}

static int dummy_apply(struct raft_fsm *fsm, const struct raft_buffer *buf, void **result)
{
	(void)fsm;
	(void)buf;
	*result = NULL;
	return 0;
}

static void raft_closed(struct raft *r)
{
	(void)r;
}

int ledgerd_cmd_recover(int argc, char **argv)
{
	struct dr_error err = DR_ERROR_INIT;
	struct ledgerd_peers peers, ident;
	struct raft_configuration conf;
	struct raft_fsm fsm;
	struct raft raft;
	struct offline o;
	const char *peers_path = NULL, *voters = NULL, *p;
	const char *data = want_data(argc, argv, &peers_path, &voters);
	char *ident_path = NULL, *text = NULL;
	int rv, rc = 1, raft_ready = 0;
	uint64_t self = 0;

	memset(&peers, 0, sizeof peers);
	memset(&ident, 0, sizeof ident);
	raft_configuration_init(&conf);
	if (!data || !peers_path || !voters) {
		fprintf(stderr, "usage: ledgerd recover --data DIR --peers FILE --voters ID,ID,...\n");
		return 2;
	}
	ident_path = xasprintf("%s/ledgerd.json", data);
	if (ledgerd_peers_load(&peers, peers_path, &err) != 0 ||
	    ledgerd_peers_load(&ident, ident_path, &err) != 0) {
		fprintf(stderr, "ledgerd recover: %s\n", err.msg);
		goto out_early;
	}
	{
		char *t = NULL;
		size_t len;
		json_t *j;
		if (fs_read_file(&t, &len, ident_path, 4 << 20, &err) == 0 &&
		    (j = json_loads(t, 0, NULL)) != NULL) {
			self = (uint64_t)json_integer_value(json_object_get(j, "self_id"));
			json_decref(j);
		}
		free(t);
	}
	for (p = voters; *p;) {
		char buf[32];
		size_t len = strcspn(p, ",");
		int64_t id;
		json_t *node;
		if (len == 0 || len >= sizeof buf) {
			fprintf(stderr, "ledgerd recover: --voters must be a comma-separated list of ids\n");
			goto out_early;
		}
		memcpy(buf, p, len);
		buf[len] = '\0';
		if (parse_int64(&id, buf, 1, INT64_MAX) != 0 ||
		    !(node = ledgerd_peers_find(&peers, (uint64_t)id))) {
			fprintf(stderr, "ledgerd recover: voter '%s' is not a node id in '%s'\n", buf, peers_path);
			goto out_early;
		}
		raft_configuration_add(&conf, (raft_id)id,
				       json_string_value(json_object_get(node, "raft_address")), RAFT_VOTER);
		p += len;
		if (*p == ',')
			p++;
	}
	if (!self || !ledgerd_peers_find(&ident, self)) {
		fprintf(stderr, "ledgerd recover: '%s' does not name this node (self_id)\n", ident_path);
		goto out_early;
	}
	if (offline_open(&o, data, &err) != 0) {
		fprintf(stderr, "ledgerd recover: %s\n", err.msg);
		offline_close(&o);
		goto out_early;
	}
	memset(&fsm, 0, sizeof fsm);
	fsm.version = 1;
	fsm.apply = dummy_apply;
	rv = raft_init(&raft, &o.io, &fsm, self,
		       json_string_value(json_object_get(ledgerd_peers_find(&ident, self), "raft_address")));
	if (rv != 0) {
		fprintf(stderr, "ledgerd recover: cannot initialise raft: %s\n", raft_strerror(rv));
		goto out;
	}
	raft_ready = 1;
	rv = raft_recover(&raft, &conf);
	if (rv != 0) {
		fprintf(stderr, "ledgerd recover: raft_recover failed: %s\n", raft_errmsg(&raft));
		goto out;
	}
	/* Adopt the new cluster id and metadata, keep who we are. */
	{
		json_t *j = json_pack("{s:s, s:O, s:I}", "cluster_id", peers.cluster_id, "nodes",
				      peers.nodes, "self_id", (json_int_t)self);
		text = json_dumps(j, JSON_INDENT(2));
		json_decref(j);
		if (fs_write_atomic(ident_path, text, strlen(text), &err) != 0) {
			fprintf(stderr, "ledgerd recover: %s\n", err.msg);
			goto out;
		}
	}
	printf("{\"recovered\":true,\"voters\":\"%s\",\"cluster_id\":\"%s\"}\n", voters, peers.cluster_id);
	rc = 0;
out:
	if (raft_ready) {
		raft_close(&raft, raft_closed);
		uv_run(&o.loop, UV_RUN_DEFAULT);
	}
	offline_close(&o);
out_early:
	raft_configuration_close(&conf);
	ledgerd_peers_release(&peers);
	ledgerd_peers_release(&ident);
	free(ident_path);
	free(text);
	return rc;
}
