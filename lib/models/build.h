/* build.h — the graph pieces every forward pass is made of (build.c): weights
 * as tensors, the linear layer, RMSNorm, the SwiGLU FFN with the choice of the
 * fused gate/up op, the DeepSeekMoE block, the cache write and attention
 * over it, and the begin / finish of a forward graph (inputs, last-token
 * column, output, checks, plan). dense.c, deepseek2.c and deepseek2_mtp.c are
 * written with these. */
#ifndef DS_MODELS_BUILD_H
#define DS_MODELS_BUILD_H

#include "models/model.h"

/* The weight as an external tensor carrying its layout flags (NULL if absent). */
ds_tensor *ds_build_weight(ds_graph *g, const ds_weight *w, const char *name);
/* W x (+ b when b is given and present); FP8 weights with their scale grid. */
ds_tensor *ds_build_linear(ds_graph *g, ds_tensor *x, const ds_weight *w, const ds_weight *b, const char *name);
/* RMSNorm(x) * w */
ds_tensor *ds_build_norm(ds_graph *g, ds_tensor *x, const ds_weight *w, float eps, const char *name);
/* Rows ids of an embedding matrix (any type, FP8 with scales). */
ds_tensor *ds_build_embed(ds_graph *g, const ds_weight *w, ds_tensor *ids);
/* W_down (silu(W_gate x) * W_up x). may_fuse: the middle may be one op
 * (mul_mat_swiglu, which runs on the experts' kernels) where the weights
 * allow it; dense models keep the two products, whose mul_mat kernels have
 * the integer dots, tiles and repacked layouts. */
ds_tensor *ds_build_ffn(ds_graph *g, ds_tensor *x, const ds_weight *gate, const ds_weight *up,
                        const ds_weight *down, bool may_fuse);

/* A DeepSeekMoE block's weights (lib/models/README.md §1.6). */
typedef struct ds_moe_weights {
  const ds_weight *router, *bias;              /* [d, E] f32, the correction bias [E] f32 or absent */
  const ds_experts *gate, *up, *down;          /* [d, ff, E] x2, [ff, d, E] */
  const ds_weight *shared_gate, *shared_up, *shared_down;   /* absent: no shared experts */
} ds_moe_weights;
/* sum_k w_k Expert_k(hn) + Shared(hn) on hn [d, T] -> [d, T], the router in f32. */
ds_tensor *ds_build_moe(ds_graph *g, ds_tensor *hn, const ds_moe_weights *w, const ds_moe_params *p);

/* The cache side of attention: the new rows k [k_head, n_head, T] written to
 * the layer's K cache at k_mem (ne_cache = {k_head, n_head, n_ctx}, kv->type)
 * and v likewise to v_mem, at f's slots. Returns the K cache and sets *vc to
 * the V cache; v_mem NULL: V is the first v_head values of each K row (MLA's
 * latent cache; v unused). */
ds_tensor *ds_build_kv_write(ds_graph *g, const ds_kv_cache *kv, const ds_forward *f, const int64_t ne_cache[3],
                             void *k_mem, void *v_mem, int64_t v_head, ds_tensor *k, ds_tensor *v,
                             const char *k_name, ds_tensor **vc);
/* q [k_head, H, T] attends over those caches (every slot of f's sequences);
 * the attn node (its n_kv set per call) is also stored in *attn. */
ds_tensor *ds_build_attend(ds_graph *g, const ds_kv_cache *kv, const ds_forward *f, ds_tensor *q, ds_tensor *kc,
                           ds_tensor *vc, float scale, ds_tensor **attn);

/* Start a forward graph for T tokens: *out zeroed, its graph, n_attn
 * attention slots and the I32 inputs ids, pos, slots [T] and seq
 * [kv->n_ctx + T] (see ds_forward). */
dseek_status ds_forward_begin(const ds_kv_cache *kv, int64_t T, bool all_logits, int64_t n_attn, ds_forward *out);
/* x [d, T], or only its last column [d, 1] unless all logits are wanted. */
ds_tensor *ds_build_logit_rows(ds_graph *g, ds_tensor *x, bool all_logits);
/* End a forward graph whose out->logits are built: check that they and the
 * n_attn attention nodes exist, mark the logits as an output (other outputs
 * are the caller's) and plan for max_threads. On error *out is freed and the
 * message names `what`. */
dseek_status ds_forward_finish(const struct dseek_model *m, ds_forward *out, int64_t n_attn, int max_threads,
                               const char *what);

#endif
