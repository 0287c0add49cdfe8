/* kv_cache.c — a KV cache's memory, its kept graphs and logits (see kv_cache.h). */
#include "runtime/kv_cache.h"
#include "kernels/types.h"

#include <string.h>

dseek_status ds_kv_alloc(int type, int64_t n_ctx, int64_t n_layer, uint64_t k_row, uint64_t v_row, const char *who,
                         ds_kv_cache *kv, void **mem, void ***ptrs)
{
  uint64_t per_layer, total;
  *mem = NULL;
  *ptrs = NULL;
  if (ds_mul_u64(k_row + v_row, (uint64_t)n_ctx, &per_layer) || ds_mul_u64(per_layer, (uint64_t)n_layer, &total) ||
      total > SIZE_MAX)
    return ds_error(DSEEK_ERR_NO_MEMORY, "%s: a KV cache of %lld tokens overflows", who, (long long)n_ctx);
  *mem = ds_calloc(1, (size_t)total);
  *ptrs = ds_calloc((size_t)(2 * n_layer), sizeof(void *));
  if (!*mem || !*ptrs) {
    ds_free(*mem);
    ds_free(*ptrs);
    *mem = NULL;
    *ptrs = NULL;
    return ds_error(DSEEK_ERR_NO_MEMORY, "%s: cannot allocate %llu MiB for the KV cache", who,
                    (unsigned long long)(total >> 20));
  }
  const size_t k_bytes = (size_t)(k_row * (uint64_t)n_ctx), v_bytes = (size_t)(v_row * (uint64_t)n_ctx);
  kv->type = type;
  kv->n_ctx = n_ctx;
  kv->n_layer = n_layer;
  kv->k_row = k_row;
  kv->v_row = v_row;
  kv->n_shared = 0;
  kv->k = *ptrs;
  kv->v = *ptrs + n_layer;
  for (int64_t il = 0; il < n_layer; il++) {
    kv->k[il] = (char *)*mem + (size_t)il * (k_bytes + v_bytes);
    kv->v[il] = v_row ? (char *)kv->k[il] + k_bytes : kv->k[il];
  }
  return DSEEK_OK;
}

dseek_status ds_kv_shift(ds_kv_cache *kv, int64_t n_keep, int64_t n_discard, int64_t n_used,
                         const ds_kv_rotation *rot, const char *who)
{
  const ds_type_traits *tr = ds_type_traits_get(kv->type);
  float *seg = ds_malloc((size_t)rot->values * sizeof(float));   /* one head row set: < 2^20 floats */
  if (!seg) return ds_error(DSEEK_ERR_NO_MEMORY, "%s: out of memory", who);
  const int64_t first = n_keep + n_discard, n_move = n_used - first;
  const size_t k_row = (size_t)kv->k_row, v_row = (size_t)kv->v_row;
  for (int64_t il = 0; il < kv->n_layer; il++) {
    uint8_t *k = kv->k[il], *v = kv->v[il];
    for (int64_t i = 0; i < n_move; i++) {   /* ascending: a row's destination was read already */
      uint8_t *dst = k + (size_t)(n_keep + i) * k_row;
      memcpy(dst, k + (size_t)(first + i) * k_row, k_row);
      uint8_t *part = dst + rot->offset;
      tr->to_float(part, seg, rot->values);
      rot->rotate(rot->u, seg);
      tr->from_float(seg, part, rot->values);
      if (v_row) memcpy(v + (size_t)(n_keep + i) * v_row, v + (size_t)(first + i) * v_row, v_row);
    }
  }
  ds_free(seg);
  return DSEEK_OK;
}

bool ds_kv_blocks(const ds_kv_cache *kv, int64_t n, ds_kv_visit visit, void *u)
{
  for (int64_t il = 0; il < kv->n_layer; il++) {
    if (!visit(u, kv->k[il], (size_t)((uint64_t)n * kv->k_row))) return false;
    if (kv->v_row && !visit(u, kv->v[il], (size_t)((uint64_t)n * kv->v_row))) return false;
  }
  return true;
}

dseek_status ds_forward_cached(ds_forward *step, ds_forward *batch, ds_forward_builder build,
                               const struct dseek_model *m, const ds_kv_cache *kv, int64_t T, bool all_logits,
                               int n_threads, ds_forward **out)
{
  ds_forward *f = (T == 1 && !all_logits) ? step : batch;
  if (!f->graph || f->n_tokens != T || f->all_logits != all_logits ||
      (f->span_shaped && f->kv_shared != kv->n_shared)) {
    ds_forward_free(f);
    dseek_status st = build(m, kv, T, all_logits, n_threads, f);
    if (st) return st;
  }
  *out = f;
  return DSEEK_OK;
}

dseek_status ds_logits_reserve(float **logits, int64_t *cap, int64_t rows, int64_t n_vocab, const char *who)
{
  if (rows <= *cap) return DSEEK_OK;
  uint64_t bytes;
  if (ds_mul_u64((uint64_t)rows, (uint64_t)n_vocab * sizeof(float), &bytes) || bytes > SIZE_MAX)
    return ds_error(DSEEK_ERR_NO_MEMORY, "%s: logits for %lld tokens overflow", who, (long long)rows);
  float *p = ds_realloc(*logits, (size_t)bytes);
  if (!p) return ds_error(DSEEK_ERR_NO_MEMORY, "%s: cannot allocate logits for %lld tokens", who, (long long)rows);
  *logits = p;
  *cap = rows;
  return DSEEK_OK;
}
