/*
 * kv_cache.h — what a KV cache's user (a context, the MTP layer) needs around
 * the model's graphs: the cache's memory and row layout, the two graphs it
 * keeps built, and its logits buffer. One place for each, so the context
 * (context.c) and the MTP state (mtp.c) cannot diverge.
 *
 * Layout: per layer, the K rows of every slot (k_row bytes each), then the V
 * rows (v_row bytes); v_row 0 makes V a view of K (deepseek2's latent row
 * [c_kv ; k_pe], whose first part the attention reads as V).
 */
#ifndef DS_RUNTIME_KV_CACHE_H
#define DS_RUNTIME_KV_CACHE_H

#include "models/model.h"

/* Allocate a zeroed cache of n_ctx slots x n_layer layers and fill kv (type,
 * sizes, the layer pointers): *mem is the one allocation, *ptrs the 2 *
 * n_layer pointers into it (K then V); both ds_free. NO_MEMORY (with a
 * message naming `who`) on overflow or failure, and nothing is held. */
dseek_status ds_kv_alloc(int type, int64_t n_ctx, int64_t n_layer, uint64_t k_row, uint64_t v_row, const char *who,
                         ds_kv_cache *kv, void **mem, void ***ptrs);

typedef dseek_status (*ds_forward_builder)(const struct dseek_model *m, const ds_kv_cache *kv, int64_t n_tokens,
                                           bool all_logits, int max_threads, ds_forward *out);

/* The graph for T tokens over kv: step holds the one-token, last-logits graph
 * (kept for the user's life: the per-token path allocates nothing), batch the
 * most recent other shape; either is built by `build` on first use. */
dseek_status ds_forward_cached(ds_forward *step, ds_forward *batch, ds_forward_builder build,
                               const struct dseek_model *m, const ds_kv_cache *kv, int64_t T, bool all_logits,
                               int n_threads, ds_forward **out);

/* Room for rows x n_vocab floats in *logits (capacity *cap rows, grown on demand). */
dseek_status ds_logits_reserve(float **logits, int64_t *cap, int64_t rows, int64_t n_vocab, const char *who);

#endif
