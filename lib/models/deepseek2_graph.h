/* deepseek2_graph.h — graph pieces of the deepseek2 forward (deepseek2.c)
 * shared with the MTP layer's forward (deepseek2_mtp.c). */
#ifndef DS_MODELS_DEEPSEEK2_GRAPH_H
#define DS_MODELS_DEEPSEEK2_GRAPH_H

#include "models/model.h"

/* Start a forward graph for T tokens: *out zeroed, its graph, n_attn
 * attention slots and the I32 inputs ids, pos, slots [T] and seq
 * [kv->n_ctx + T] (see ds_forward). */
dseek_status ds_ds2_forward_begin(const ds_kv_cache *kv, int64_t T, bool all_logits, int64_t n_attn, ds_forward *out);
/* The weight as an external tensor (NULL if absent). */
ds_tensor *ds_ds2_weight(ds_graph *g, const ds_weight *w, const char *name);
/* W x (FP8 weights with their scale grid). */
ds_tensor *ds_ds2_linear(ds_graph *g, ds_tensor *x, const ds_weight *w, const char *name);
/* RMSNorm(x) * w */
ds_tensor *ds_ds2_norm(ds_graph *g, ds_tensor *x, const ds_weight *w, float eps, const char *name);
/* Rows ids of an embedding matrix (any type, FP8 with scales). */
ds_tensor *ds_ds2_embed(ds_graph *g, const ds_weight *w, ds_tensor *ids);
/* One decoder layer on x [d, T] (pre-norm residual, lib/models/README.md §1.2):
 *   x + MLA(RMSNorm(x) attn_norm), then + FFN(RMSNorm(.) ffn_norm)
 * writing its latent rows into `cache` (a [C + rope, 1, kv->n_ctx] array of
 * kv->type) at f->slots; f->pos / f->seq feed rope and the attention mask.
 * *attn receives the attention node (its n_kv is set per call). */
ds_tensor *ds_ds2_block(ds_graph *g, const struct dseek_model *m, const ds_ds2_layer *L, const ds_kv_cache *kv,
                        void *cache, ds_forward *f, const ds_rope_params *rp, ds_tensor *x, ds_tensor **attn);

#endif
