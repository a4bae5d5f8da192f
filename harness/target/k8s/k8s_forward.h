/* transport: port-forward — one `kubectl port-forward pod/P :<admin_port>`
 * per ledger pod, so drillrig's own gRPC client reaches a ledger whose
 * image has nothing to exec (distroless).
 *
 * The forwards are opened before the first fault, so a failover measures
 * the ledger and not kubectl's start-up.  A forward dies with its pod
 * (kubectl exits on "lost connection to pod"); a keeper thread reopens it
 * on the same local port once the pod runs again, so every address handed
 * out (the workload's endpoints among them) stays valid for the whole
 * drill.  Every forward is stopped by k8s_forwards_stop, which the target
 * calls on every way out (close, and the runner's signal paths end there).
 *
 * Owned by struct k8s_target (kt->forwards); thread-safe.
 */
#ifndef DR_HARNESS_TARGET_K8S_K8S_FORWARD_H
#define DR_HARNESS_TARGET_K8S_K8S_FORWARD_H

#include <stddef.h>
#include <stdint.h>

#include "common/error.h"
#include "harness/target/k8s/k8s_config.h"

struct k8s_target;
struct k8s_forwards;
struct journal;

/* Open a forward to every pod (ordinals below the normal size) of every
 * region whose transport is port-forward, and wait up to timeout_ns for
 * each to say where it listens.  A pod that is not running yet is retried
 * in the background; it is an error only when no forward came up at all.
 * In a dry run the commands are printed and nothing runs.  journal may be
 * NULL (the events are then only counted). */
int k8s_forwards_start(struct k8s_target *kt, struct journal *journal, int64_t timeout_ns,
		       struct dr_error *err);

/* "127.0.0.1:<port>" of pod's forward in region r (opened on demand for a
 * pod not opened at start).  When it is down, waits up to wait_ns for the
 * keeper to bring it back; -1 with err (kubectl's last message) when it
 * is still down. */
int k8s_forward_address(struct k8s_target *kt, const struct k8s_region *r, const char *pod,
			int64_t wait_ns, char *addr, size_t len, struct dr_error *err);

/* The local port pod's forward listens on, opened or not yet: the
 * workload's endpoints are fixed at its start.  0 when pod has none. */
int k8s_forward_port(struct k8s_target *kt, const struct k8s_region *r, const char *pod);

/* Stop every forward (SIGTERM, then SIGKILL), reap them, stop the keeper.
 * Safe to call twice and when nothing was started. */
void k8s_forwards_stop(struct k8s_target *kt);

/* k8s_forwards_stop, then release what k8s_forward_* allocated. */
void k8s_forwards_free(struct k8s_target *kt);

/* How many times forwards were opened and lost (for the report and tests). */
void k8s_forwards_counts(struct k8s_target *kt, unsigned *opened, unsigned *lost);

/* The local port in a line kubectl port-forward prints
 * ("Forwarding from 127.0.0.1:43121 -> 50051"); 0 when it is not one. */
int k8s_forward_parse_line(const char *line);

#endif
