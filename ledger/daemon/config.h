/* ledgerd command line and peers file.
 *
 * Peers file (JSON):
 *   {"cluster_id":"c-...","nodes":[{"id":1,"address":"127.0.0.1:50051",
 *     "raft_address":"127.0.0.1:7001","region":"primary",
 *     "region_role":"primary","zone":"primary-a"}, ...]}
 */
#ifndef DR_LEDGER_DAEMON_CONFIG_H
#define DR_LEDGER_DAEMON_CONFIG_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "common/error.h"

struct ledgerd_peers {
	char *cluster_id;
	json_t *nodes;   /* array of validated node objects (owned) */
};

/* Parse and validate a peers document; name is used in messages. */
int ledgerd_peers_parse(struct ledgerd_peers *out, const char *text, size_t len,
			const char *name, struct dr_error *err);
int ledgerd_peers_load(struct ledgerd_peers *out, const char *path, struct dr_error *err);
void ledgerd_peers_release(struct ledgerd_peers *p);
/* Node object by id (borrowed) or NULL. */
json_t *ledgerd_peers_find(const struct ledgerd_peers *p, uint64_t id);
/* The document back as JSON text (heap). */
char *ledgerd_peers_dump(const struct ledgerd_peers *p);

struct ledgerd_config {
	uint64_t id;
	const char *data;
	const char *listen;      /* the gRPC API */
	const char *http;        /* /metrics, the debug faults, /healthz; NULL: none */
	const char *raft;
	const char *region;
	const char *role;        /* primary | dr | witness */
	const char *zone;
	const char *peers;
	unsigned election_ms;
	unsigned heartbeat_ms;
	int enable_debug;
	unsigned snapshot_threshold;
	const char *seed_snapshot;
	const char *supervisor_socket;
	const char *admin_token_file;
	int join;                /* first start: no bootstrap, wait for AddMember */
	/* Each listener's bound on one client address's connections (0: none)
	 * and the time a gRPC connection has to send its HTTP/2 preface. */
	unsigned max_client_conns;
	unsigned header_timeout_ms;
};

/* Parse argv (strings point into argv).  Returns 0, 1 when --help was
 * printed, -1 with err set on a usage error. */
int ledgerd_config_parse(struct ledgerd_config *out, int argc, char **argv,
			 struct dr_error *err);
void ledgerd_usage(void);
/* "host:port" with a port in 1..65535. */
int ledgerd_addr_valid(const char *addr);

#endif
