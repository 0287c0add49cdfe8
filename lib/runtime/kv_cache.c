/* kv_cache.c — a KV cache's memory, its kept graphs and logits (see kv_cache.h). */
#include "runtime/kv_cache.h"

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
  kv->k = *ptrs;
  kv->v = *ptrs + n_layer;
  for (int64_t il = 0; il < n_layer; il++) {
    kv->k[il] = (char *)*mem + (size_t)il * (k_bytes + v_bytes);
    kv->v[il] = v_row ? (char *)kv->k[il] + k_bytes : kv->k[il];
  }
  return DSEEK_OK;
}

dseek_status ds_forward_cached(ds_forward *step, ds_forward *batch, ds_forward_builder build,
                               const struct dseek_model *m, const ds_kv_cache *kv, int64_t T, bool all_logits,
                               int n_threads, ds_forward **out)
{
  ds_forward *f = (T == 1 && !all_logits) ? step : batch;
  if (!f->graph || f->n_tokens != T || f->all_logits != all_logits) {
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
