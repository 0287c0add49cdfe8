/*
 * context_memory.c — what a context will take before it is created: its
 * options resolved (defaults filled in), the KV cache row sizes for the
 * chosen element type, and the work buffers of its forward passes.
 *
 *   KV cache   n_ctx x n_layer x (K row + V row) bytes; a row of n values of
 *              type t takes ds_row_size(t, n): F32 4n, F16/BF16 2n, Q8_0
 *              34 n / 32 (blocks of 32 values: an f16 scale and 32 int8).
 *              deepseek2 caches one latent row [c_kv ; k_pe] and V is a view
 *              of it (no V row); the row layout is the architecture's
 *              (ds_kv_layout, models/arch.h). Q8_0 needs every row the attention decodes
 *              to be whole blocks: each K/V head (dense head_dim % 32 == 0),
 *              and for the latent row both c_kv (the V view) and k_pe (the
 *              part a context shift re-rotates): kv_lora_rank % 32 == 0 and
 *              qk_rope % 32 == 0 (DeepSeek-V2/V3: 512 and 64).
 *   work       the planned arenas of the one-token graph and of the n_batch
 *              graph (both are kept by a context, context.c), plus one row of
 *              logits. Graphs are built against a placeholder cache: building
 *              and planning never touch the cache's memory.
 */
#include "runtime/context.h"
#include "core/platform.h"
#include "kernels/types.h"

#include <string.h>

dseek_status ds_context_resolve(const dseek_model *model, const dseek_context_options *opts, const char *fn,
                                dseek_context_options *o, ds_kv_rows *rows)
{
  if (!model) return ds_error(DSEEK_ERR_INVALID_ARG, "%s: model must not be NULL", fn);
  if (model->arch == DS_ARCH_UNKNOWN)
    return ds_error(DSEEK_ERR_INVALID_ARG, "%s: the model was loaded vocab-only and cannot evaluate", fn);
  dseek_context_options_init(o, sizeof *o);
  if (opts) {
    if (opts->struct_size < sizeof(size_t) || opts->struct_size > 4096)
      return ds_error(DSEEK_ERR_INVALID_ARG, "%s: options struct_size %zu is not valid", fn, opts->struct_size);
    memcpy(o, opts, DS_MIN(opts->struct_size, sizeof *o));
    o->struct_size = sizeof *o;
  }
  const ds_hparams *hp = &model->hp;
  if (o->n_ctx == 0) o->n_ctx = DS_MIN(hp->n_ctx_train, 4096);
  if (o->n_batch == 0) o->n_batch = 512;
  if (o->n_threads == 0) o->n_threads = ds_physical_cores();
  if (o->n_ctx < 1 || o->n_ctx > INT32_MAX || o->n_batch < 1 || o->n_threads < 1 || o->n_threads > 512 ||
      o->memory_limit < 0)
    return ds_error(DSEEK_ERR_INVALID_ARG, "%s: need n_ctx >= 1, n_batch >= 1, 1 <= n_threads <= 512 and "
                    "memory_limit >= 0 (got %lld, %lld, %d, %lld)", fn, (long long)o->n_ctx,
                    (long long)o->n_batch, o->n_threads, (long long)o->memory_limit);
  o->n_batch = DS_MIN(o->n_batch, o->n_ctx);

  const int t = o->kv_type;
  if (t != DSEEK_TYPE_F32 && t != DSEEK_TYPE_F16 && t != DSEEK_TYPE_BF16 && t != DSEEK_TYPE_Q8_0)
    return ds_error(DSEEK_ERR_INVALID_ARG, "%s: kv_type %s is not supported (use F32, F16, BF16 or Q8_0)", fn,
                    dseek_type_name(t));
  ds_kv_layout l;
  ds_model_kv_layout(model, &l);
  /* every part the kernels decode on its own must be whole blocks */
  uint64_t b0, b1, k, v;
  if (!ds_row_size(t, l.parts[0], &b0) || !ds_row_size(t, l.parts[1], &b1))
    return ds_error(DSEEK_ERR_UNSUPPORTED, "%s: a %s KV cache needs %s that are multiples of 32 (this model has "
                    "%lld and %lld); use F16, BF16 or F32", fn, dseek_type_name(t), l.parts_name,
                    (long long)l.parts[0], (long long)l.parts[1]);
  /* the parts are whole blocks, so the rows are too */
  if (!ds_row_size(t, l.k_head, &k) || !ds_row_size(t, l.v_head, &v))
    return ds_error(DSEEK_ERR_INTERNAL, "%s: KV rows are not block aligned", fn);
  rows->k = k * (uint64_t)l.n_head;
  rows->v = v * (uint64_t)l.n_head;   /* 0 for MLA: V reads c_kv through a view of the K row */
  return DSEEK_OK;
}

/* Work arena of the graph for T tokens (last logits only). */
static dseek_status graph_bytes(const dseek_model *m, const ds_kv_cache *kv, int64_t T, int threads, uint64_t *out)
{
  ds_forward f;
  dseek_status st = ds_forward_build(m, kv, T, false, threads, &f);
  if (st) return st;
  *out = ds_graph_arena_bytes(f.graph);
  ds_forward_free(&f);
  return DSEEK_OK;
}

dseek_status ds_context_estimate(const dseek_model *m, const dseek_context_options *o, const ds_kv_rows *rows,
                                 bool with_work, const char *fn, dseek_memory_estimate *e)
{
  const ds_hparams *hp = &m->hp;
  uint64_t per_token, kv;
  if (ds_mul_u64(rows->k + rows->v, (uint64_t)hp->n_layer, &per_token) ||
      ds_mul_u64(per_token, (uint64_t)o->n_ctx, &kv) || kv > INT64_MAX)
    return ds_error(DSEEK_ERR_NO_MEMORY, "%s: a KV cache of %lld tokens overflows", fn, (long long)o->n_ctx);
  memset(e, 0, sizeof *e);
  e->struct_size = sizeof *e;
  e->n_ctx = o->n_ctx;
  e->kv_bytes_per_token = (int64_t)per_token;
  e->kv_bytes = e->total_bytes = (int64_t)kv;
  if (!with_work) return DSEEK_OK;
  /* placeholder cache pointers: the graphs only record them */
  static char placeholder[64];
  void **ptrs = ds_malloc((size_t)hp->n_layer * sizeof *ptrs);
  if (!ptrs) return ds_error(DSEEK_ERR_NO_MEMORY, "%s: out of memory", fn);
  for (int64_t il = 0; il < hp->n_layer; il++) ptrs[il] = placeholder;
  ds_kv_cache cache = {.type = o->kv_type, .n_ctx = o->n_ctx, .n_layer = hp->n_layer, .k = ptrs, .v = ptrs};
  uint64_t one = 0, batch = 0;
  dseek_status st = graph_bytes(m, &cache, 1, o->n_threads, &one);
  cache.n_shared = o->n_ctx;   /* the batch graph at its largest (deepseek2 decompresses every slot) */
  if (!st && o->n_batch > 1) st = graph_bytes(m, &cache, o->n_batch, o->n_threads, &batch);
  ds_free(ptrs);
  if (st) return st;
  uint64_t work = one + batch + (uint64_t)hp->n_vocab * sizeof(float);
  e->work_bytes = (int64_t)work;
  e->total_bytes = (int64_t)(kv + work);
  return DSEEK_OK;
}

dseek_status ds_context_admit(const dseek_context_options *o, const dseek_memory_estimate *e, const char *fn)
{
  uint64_t limit = o->memory_limit > 0 ? (uint64_t)o->memory_limit : ds_available_memory();
  if (!limit || (uint64_t)e->total_bytes <= limit) return DSEEK_OK;   /* 0: unknown (not Linux) */
  return ds_error(DSEEK_ERR_NO_MEMORY, "%s: a context of %lld tokens needs %.1f MiB (KV cache %.1f MiB at %s, "
                  "work buffers %.1f MiB) but %s is %.1f MiB; use a smaller n_ctx or n_batch, or a smaller kv_type",
                  fn, (long long)e->n_ctx, e->total_bytes / 1048576.0, e->kv_bytes / 1048576.0,
                  dseek_type_name(o->kv_type), e->work_bytes / 1048576.0,
                  o->memory_limit > 0 ? "the memory limit" : "the memory available", limit / 1048576.0);
}

dseek_status dseek_context_memory_estimate(const dseek_model *model, const dseek_context_options *opts,
                                           dseek_memory_estimate *out)
{
  static const char fn[] = "dseek_context_memory_estimate";
  if (!out || out->struct_size < sizeof(size_t) || out->struct_size > 4096)
    return ds_error(DSEEK_ERR_INVALID_ARG, "%s: out must not be NULL and needs a valid struct_size", fn);
  dseek_context_options o;
  ds_kv_rows rows;
  dseek_memory_estimate e;
  dseek_status st = ds_context_resolve(model, opts, fn, &o, &rows);
  if (!st) st = ds_context_estimate(model, &o, &rows, true, fn, &e);
  if (st) return st;
  size_t n = DS_MIN(out->struct_size, sizeof e);
  e.struct_size = out->struct_size;
  memcpy(out, &e, n);
  return DSEEK_OK;
}
