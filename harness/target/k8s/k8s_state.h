/* Where a Kubernetes drill keeps its pending undos, and what `drillrig
 * recover --target kubernetes` decides about the drill lock (a Lease).
 *
 * The runner's machine holds the state: a directory ($DRILLRIG_STATE_DIR,
 * else $XDG_STATE_HOME/drillrig, else ~/.local/state/drillrig; mode 0700)
 * with, per Lease (its context, namespace and name),
 *   k8s_<context>_<namespace>_<lease>.state.json   pending undos and the
 *       rollback list, written by the runner (harness/run/undo_stack.h);
 *   k8s_<context>_<namespace>_<lease>.lease.json   the record: the Lease
 *       holder identity of that drill ("drillrig@HOST/PID") and the nodes
 *       it cordoned, written by the target (mode 0600).
 * docs/kubernetes.md ("Recovering an interrupted drill") is the user's view.
 */
#ifndef DR_HARNESS_TARGET_K8S_K8S_STATE_H
#define DR_HARNESS_TARGET_K8S_K8S_STATE_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "common/error.h"
#include "harness/core/target.h"

/* The state directory from the environment (not created).  *out is heap;
 * -1 with err when neither variable nor a home directory is known. */
int k8s_state_dir(char **out, struct dr_error *err);

/* The state file's name (no directory) for a Lease: pure.  Characters
 * outside [A-Za-z0-9._-] become '-', a context is cut at 100 characters,
 * and when either happened "-<8 hex digits>" (a hash of the exact names)
 * keeps two contexts from sharing a file.  Heap. */
char *k8s_state_file_name(const char *context, const char *ns, const char *lease);
/* The record beside a state file: ".state.json" replaced by ".lease.json"
 * (appended when state_path has no such suffix).  Heap. */
char *k8s_state_record_path(const char *state_path);

/* "drillrig@HOST/PID" into host and pid; -1 when holder is not of that form. */
int k8s_holder_parse(const char *holder, char *host, size_t hostlen, long *pid);

/* What recover knows about the Lease, all given (the decision is pure). */
struct k8s_lease_facts {
	const char *holder;     /* holderIdentity; NULL: no Lease */
	int64_t renew_s;        /* renewTime (else acquireTime), epoch seconds; < 0 unknown */
	int duration_s;         /* leaseDurationSeconds; <= 0 unknown */
	int64_t now_s;          /* wall clock, epoch seconds */
	const char *recorded;   /* the interrupted drill's holder (state record); NULL: none */
	const char *self;       /* this process's identity; may be NULL */
	const char *host;       /* this machine's host name */
	int holder_pid_alive;   /* the holder runs on this host and its pid is alive */
};

enum k8s_lease_verdict {
	K8S_LEASE_NONE = 0,     /* no Lease: nothing to release */
	K8S_LEASE_RELEASE,      /* its holder is gone (or it expired): delete it */
	K8S_LEASE_REFUSE,       /* a live drill holds it: leave it, exit 3 */
};

/* Release when the holder is ourselves, the Lease has expired, or the
 * holder ran on this host and its pid is gone (the interrupted drill named
 * in the record, or a stale Lease without a state file).  A holder on
 * another host is never presumed dead: only expiry frees its Lease.  why
 * (always filled) names the holder, and on refusal when the Lease expires. */
enum k8s_lease_verdict k8s_lease_decide(const struct k8s_lease_facts *f, char *why, size_t len);

/* ---- drillrig recover --target kubernetes ------------------------------- */

/* target_k8s_recover_lock's return when a live drill holds the Lease. */
#define TARGET_K8S_EHELD (-3)

/* The state file of t's Lease (heap); nothing is created. */
int target_k8s_state_path(char **out, struct target *t, struct dr_error *err);

/* Settle the drill lock of t (a target from target_create("kubernetes"))
 * for recover.  record is the interrupted drill's record (may be NULL).
 * A Lease whose holder is gone or that expired is deleted; a live one is
 * left alone and TARGET_K8S_EHELD returned with err naming the holder and
 * its expiry, before anything changed.  With take, the Lease is then
 * created in our name so no drill starts on a half-restored cluster
 * (t->unlock releases it); the record's cordoned nodes are handed to t, so
 * the `start` action (what: all) and t->unlock uncordon them.  msg says
 * what was done.  -1 with err when kubectl failed.  In a dry run the
 * commands are only printed. */
int target_k8s_recover_lock(struct target *t, json_t *record, int take, char *msg, size_t len,
			    struct dr_error *err);

#endif
