/* The append command's text without jansson, for the one shape ledgerd
 * itself writes.
 *
 * Every Append is encoded on the leader and decoded on every node, and a
 * node decodes it before it acknowledges the entry (libraft 0.15 applies
 * what the leader committed before a follower answers AppendEntries), so
 * both are on a write's path.  jansson builds and parses a tree for a
 * 150-byte command; these write and read the text directly, but only for
 * "plain" strings (printable ASCII without '"' or '\\'), which need no
 * escaping.  Anything else -- another order of keys, escapes, non-ASCII,
 * a number jansson would refuse -- is left to jansson (the callers in
 * ledger/daemon/fsm.c fall back), so both paths read every text the same
 * way and every replica applies the same entries. */
#ifndef DR_LEDGER_DAEMON_FSM_TEXT_H
#define DR_LEDGER_DAEMON_FSM_TEXT_H

#include <stddef.h>
#include <stdint.h>

/* One append command's fields; the strings point into the parsed text
 * and are not NUL-terminated. */
struct fsm_text_append {
	const char *client_id, *payload;
	size_t client_id_len, payload_len;
	int64_t sequence, term, ts_ms;
};

/* 1 when s (n bytes) needs no JSON escaping. */
int fsm_text_plain(const char *s, size_t n);

/* The command ledger_cmd_append writes, byte for byte as json_dumps
 * (JSON_COMPACT) writes it, when client_id and payload are plain; NULL
 * otherwise (heap, free()). */
char *fsm_text_append_encode(const char *client_id, uint64_t sequence, const char *payload,
			     uint64_t term, int64_t ts_ms);

/* Parse one append command of exactly that shape at *p (up to end): 1 with
 * *a filled and *p past its closing brace, 0 when the text is anything
 * else (nothing is consumed then). */
int fsm_text_append_parse(struct fsm_text_append *a, const char **p, const char *end);

/* Parse a whole command: a single append (*n = 1) or a batch of them
 * ({"op":"batch","cmds":[...]}, at most max items) into a[0..*n).  1 when
 * all of text is exactly that, 0 otherwise. */
int fsm_text_parse(struct fsm_text_append *a, size_t max, size_t *n, const char *text,
		   size_t len);

#endif
