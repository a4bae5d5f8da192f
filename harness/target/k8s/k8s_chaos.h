/* fault_engine: chaos-mesh (harness/target/k8s/k8s_chaos.c): PodChaos and
 * NetworkChaos objects, each recorded before it is created and deleted by
 * heal, at the drill's end, or by recover. */
#ifndef DR_HARNESS_TARGET_K8S_K8S_CHAOS_H
#define DR_HARNESS_TARGET_K8S_K8S_CHAOS_H

#include <jansson.h>

#include "common/error.h"
#include "harness/core/target.h"
#include "harness/target/k8s/k8s_config.h"

struct k8s_target;

/* A crash of pod in r: a PodChaos pod-kill.  0, 1 (dry run), -1 with err. */
int k8s_chaos_kill(struct k8s_target *kt, const struct action_ctx *ctx, const struct k8s_region *r,
		   const char *pod, struct dr_error *err);
/* The `partition` action (what: region) and `heal`. */
void k8s_chaos_partition(struct k8s_target *kt, json_t *args, const struct action_ctx *ctx,
			 struct action_result *res);
void k8s_chaos_heal(struct k8s_target *kt, json_t *args, const struct action_ctx *ctx,
		    struct action_result *res);
/* Delete every object this drill (or the adopted record) created; warns. */
void k8s_chaos_delete_all(struct k8s_target *kt, const struct action_ctx *ctx);
/* An interrupted drill's recorded objects become ours (recover). */
void k8s_chaos_adopt(struct k8s_target *kt, const json_t *record);

#endif
