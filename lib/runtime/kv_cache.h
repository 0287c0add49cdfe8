/*
 * kv_cache.h — what a KV cache's user (a context, the MTP layer) needs around
 * the model's graphs: the cache's memory and row layout, moving rows down
 * (context shift), its rows as blocks (state save/load), the two graphs it
 * keeps built, and its logits buffer. One place for each, so the context
 * (context.c, shift.c, state.c) and the MTP state (mtp.c) cannot diverge.
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

/* The part of a K row that carries a position (rope): `values` floats of the
 * cache type at byte `offset` of the row, turned by rotate(u, x) when the row
 * moves to another position. The rotation itself is the caller's (shift.c). */
typedef struct ds_kv_rotation {
  size_t offset;
  int64_t values;
  void (*rotate)(const void *u, float *x);
  const void *u;
} ds_kv_rotation;

/* Drop slots [n_keep, n_keep + n_discard) of the first n_used and move slots
 * [n_keep + n_discard, n_used) down by n_discard, in every layer: each moved K
 * row as bytes, then its rotated part decoded to f32, rotated and encoded
 * again (one rounding of the cache type); V rows as bytes. NO_MEMORY. */
dseek_status ds_kv_shift(ds_kv_cache *kv, int64_t n_keep, int64_t n_discard, int64_t n_used,
                         const ds_kv_rotation *rot, const char *who);

/* The first n slots of every layer are contiguous: visit(u, block, bytes) is
 * called per layer with its K rows [0, n), then its V rows [0, n) (none when
 * V is a view of K), the order of a state file (state.c). A false return
 * stops the walk, and so does ds_kv_blocks' result. */
typedef bool (*ds_kv_visit)(void *u, void *block, size_t bytes);
bool ds_kv_blocks(const ds_kv_cache *kv, int64_t n, ds_kv_visit visit, void *u);

typedef dseek_status (*ds_forward_builder)(const struct dseek_model *m, const ds_kv_cache *kv, int64_t n_tokens,
                                           bool all_logits, int max_threads, ds_forward *out);

/* The graph for T tokens over kv: step holds the one-token, last-logits graph
 * (kept for the user's life: the per-token path allocates nothing), batch the
 * most recent other shape; either is built by `build` on first use, and
 * rebuilt when it was built for another kv->n_shared (span_shaped). */
dseek_status ds_forward_cached(ds_forward *step, ds_forward *batch, ds_forward_builder build,
                               const struct dseek_model *m, const ds_kv_cache *kv, int64_t T, bool all_logits,
                               int n_threads, ds_forward **out);

/* Room for rows x n_vocab floats in *logits (capacity *cap rows, grown on demand). */
dseek_status ds_logits_reserve(float **logits, int64_t *cap, int64_t rows, int64_t n_vocab, const char *who);

#endif
