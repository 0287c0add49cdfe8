/* deepseek2_graph.h — the graph piece of the deepseek2 forward (deepseek2.c)
 * shared with the MTP layer's forward (deepseek2_mtp.c); the generic pieces
 * are build.h's. */
#ifndef DS_MODELS_DEEPSEEK2_GRAPH_H
#define DS_MODELS_DEEPSEEK2_GRAPH_H

#include "models/build.h"

/* One decoder layer on x [d, T] (pre-norm residual, lib/models/README.md §1.2):
 *   x + MLA(RMSNorm(x) attn_norm), then + FFN(RMSNorm(.) ffn_norm)
 * writing its latent rows into `cache` (a [C + rope, 1, kv->n_ctx] array of
 * kv->type) at f->slots; f->pos / f->seq feed rope and the attention mask.
 * *attn receives the attention node (its n_kv is set per call). */
ds_tensor *ds_ds2_block(ds_graph *g, const struct dseek_model *m, const ds_ds2_layer *L, const ds_kv_cache *kv,
                        void *cache, ds_forward *f, const ds_rope_params *rp, ds_tensor *x, ds_tensor **attn);

#endif
