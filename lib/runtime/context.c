/*
 * context.c — contexts: the KV cache, evaluation in batches through cached
 * graphs, and logits.
 *
 * A decode call of n tokens is split into chunks of at most n_batch. Each chunk
 * runs a graph built for its length: the one-token graph is kept for the whole
 * life of the context (the per-token path allocates nothing), and the most
 * recent other shape is kept too (a prompt's chunks share one). Cache slot s
 * holds the token at position s.
 */
#include "runtime/context.h"
#include "runtime/kv_cache.h"
#include "runtime/mtp.h"
#include "graph/threadpool.h"

#include <string.h>

dseek_status dseek_context_options_init(dseek_context_options *o, size_t size)
{
  if (!o || size < sizeof(size_t) || size > 4096)
    return ds_error(DSEEK_ERR_INVALID_ARG, "dseek_context_options_init: bad struct_size %zu", size);
  dseek_context_options d;
  memset(&d, 0, sizeof d);
  d.struct_size = DS_MIN(size, sizeof d);
  d.kv_type = DSEEK_TYPE_F16;
  memset(o, 0, size);
  memcpy(o, &d, DS_MIN(size, sizeof d));
  o->struct_size = size;
  return DSEEK_OK;
}

dseek_status dseek_context_create(const dseek_model *model, const dseek_context_options *opts, dseek_context **out)
{
  static const char fn[] = "dseek_context_create";
  if (!model || !out) return ds_error(DSEEK_ERR_INVALID_ARG, "%s: model and out must not be NULL", fn);
  dseek_context_options o;
  ds_kv_rows rows;
  dseek_memory_estimate need;
  dseek_status st = ds_context_resolve(model, opts, fn, &o, &rows);
  /* the cache alone first: a hopeless n_ctx is refused before graphs are built for it */
  if (!st) st = ds_context_estimate(model, &o, &rows, false, fn, &need);
  if (!st) st = ds_context_admit(&o, &need, fn);
  if (!st) st = ds_context_estimate(model, &o, &rows, true, fn, &need);
  if (!st) st = ds_context_admit(&o, &need, fn);
  if (st) return st;
  const ds_hparams *hp = &model->hp;
  const uint64_t total = (uint64_t)need.kv_bytes;
  if (total > SIZE_MAX)
    return ds_error(DSEEK_ERR_NO_MEMORY, "%s: a KV cache of %lld tokens overflows", fn, (long long)o.n_ctx);

  dseek_context *c = ds_calloc(1, sizeof *c);
  if (!c) return ds_error(DSEEK_ERR_NO_MEMORY, "%s: out of memory", fn);
  c->model = model;
  c->n_ctx = o.n_ctx;
  c->n_batch = o.n_batch;
  c->n_threads = o.n_threads;
  c->kv_type = o.kv_type;
  c->kv_bytes_per_token = need.kv_bytes_per_token;
  /* per layer: K rows of every slot, then V rows (none for MLA: v[il] == k[il]) */
  st = ds_kv_alloc(o.kv_type, o.n_ctx, hp->n_layer, rows.k, rows.v, fn, &c->kv, &c->kv_mem, &c->kv_ptrs);
  if (st) {
    dseek_context_free(c);
    return st;
  }
  c->tokens = ds_calloc((size_t)o.n_ctx, sizeof(int32_t));
  c->slot_seq = ds_malloc((size_t)o.n_ctx * sizeof(int32_t));
  c->scratch = ds_malloc((size_t)o.n_ctx * 2 * sizeof(int32_t));
  c->pool = ds_threadpool_create(o.n_threads);
  if (!c->tokens || !c->slot_seq || !c->scratch || !c->pool) {
    dseek_context_free(c);
    return ds_error(DSEEK_ERR_NO_MEMORY, "%s: cannot allocate %llu MiB for the KV cache", fn,
                    (unsigned long long)(total >> 20));
  }
  for (int64_t i = 0; i < o.n_ctx; i++) c->slot_seq[i] = -1;
  *out = c;
  return DSEEK_OK;
}

void dseek_context_free(dseek_context *c)
{
  if (!c) return;
  ds_forward_free(&c->decode_fw);
  ds_forward_free(&c->batch_fw);
  ds_mtp_free(c->mtp);
  ds_threadpool_free(c->pool);
  ds_free(c->kv_mem);
  ds_free(c->kv_ptrs);
  ds_free(c->tokens);
  ds_free(c->slot_seq);
  ds_free(c->scratch);
  ds_free(c->logits);
  ds_free(c);
}

dseek_status dseek_context_reset(dseek_context *c)
{
  if (!c) return ds_error(DSEEK_ERR_INVALID_ARG, "dseek_context_reset: ctx is NULL");
  c->n_past = 0;
  c->logits_rows = 0;
  c->last_n = 0;
  return DSEEK_OK;
}

int64_t dseek_context_n_ctx(const dseek_context *c) { return c ? c->n_ctx : -1; }
int64_t dseek_context_n_past(const dseek_context *c) { return c ? c->n_past : -1; }
dseek_status dseek_context_tokens(const dseek_context *c, int32_t *tokens, int64_t capacity, int64_t *n_tokens)
{
  if (!c || !n_tokens || capacity < 0 || (capacity > 0 && !tokens))
    return ds_error(DSEEK_ERR_INVALID_ARG, "dseek_context_tokens: need ctx, n_tokens and a buffer for capacity > 0");
  *n_tokens = c->n_past;
  if (capacity < c->n_past)
    return ds_error(DSEEK_ERR_BUFFER_TOO_SMALL, "dseek_context_tokens: %lld tokens", (long long)c->n_past);
  memcpy(tokens, c->tokens, (size_t)c->n_past * sizeof *tokens);
  return DSEEK_OK;
}

int64_t dseek_context_kv_bytes_per_token(const dseek_context *c) { return c ? c->kv_bytes_per_token : -1; }

dseek_status ds_context_eval(dseek_context *c, const int32_t *tokens, const int32_t *pos, const int32_t *slots,
                             const int32_t *seqs, int64_t n, bool all_logits)
{
  const int64_t n_vocab = c->model->hp.n_vocab;
  dseek_status st = ds_logits_reserve(&c->logits, &c->logits_cap, all_logits ? n : 1, n_vocab, "decode");
  if (st) return st;
  c->logits_rows = 0;
  c->last_n = 0;
  /* Every slot written in this call belongs to its token's sequence. */
  for (int64_t i = 0; i < n; i++) {
    c->slot_seq[slots[i]] = seqs[i];
    c->tokens[slots[i]] = tokens[i];
  }
  int64_t n_kv = 0;   /* attention covers every slot up to the highest one in use */
  for (int64_t i = 0; i < c->n_ctx; i++)
    if (i < c->n_past || c->slot_seq[i] >= 0) n_kv = i + 1;
  for (int64_t i = 0; i < n; i++) n_kv = DS_MAX(n_kv, (int64_t)slots[i] + 1);

  for (int64_t done = 0; done < n;) {
    int64_t T = DS_MIN(c->n_batch, n - done);
    bool last_chunk = done + T == n;
    /* The chunk's queries see slots up to the highest of theirs: all of them
     * shared (one sequence) lets a model build its batch for exactly those. */
    int64_t span = 0;
    bool owned = false;
    for (int64_t i = done; i < done + T; i++) {
      span = DS_MAX(span, (int64_t)slots[i] + 1);
      owned |= seqs[i] >= 0;
    }
    for (int64_t i = 0; i < span && !owned; i++) owned = c->slot_seq[i] >= 0;
    c->kv.n_shared = owned ? 0 : DS_MIN(span, n_kv);
    ds_forward *f;
    if ((st = ds_forward_cached(&c->decode_fw, &c->batch_fw, ds_forward_build, c->model, &c->kv, T, all_logits,
                                c->n_threads, &f)))
      return st;
    int32_t *ids = f->ids->data, *p = f->pos->data, *s = f->slots->data;
    memcpy(ids, tokens + done, (size_t)T * sizeof *ids);
    memcpy(p, pos + done, (size_t)T * sizeof *p);
    memcpy(s, slots + done, (size_t)T * sizeof *s);
    if (f->seq) {
      int32_t *q = f->seq->data;
      memcpy(q, c->slot_seq, (size_t)c->n_ctx * sizeof *q);
      memcpy(q + c->n_ctx, seqs + done, (size_t)T * sizeof *q);
    } else {
      for (int64_t i = 0; i < n; i++)
        if (seqs[i] >= 0)
          return ds_error(DSEEK_ERR_UNSUPPORTED, "%s: this architecture does not run several sequences yet",
                          c->model->arch_name);
    }
    /* a decompressed attention holds slots [0, mha_rows): the chunk's own span */
    const int64_t chunk_kv = f->mha_rows ? DS_MIN(n_kv, f->mha_rows) : n_kv;
    for (int64_t il = 0; il < c->model->hp.n_layer; il++)
      if ((st = ds_attn_set_n_kv(f->attn[il], chunk_kv))) return st;
    if ((st = ds_graph_compute(f->graph, c->pool))) return st;
    if (c->mtp && f->hidden) ds_mtp_store_hidden(c->mtp, tokens + done, slots + done, seqs + done, T, f->hidden->data);
    size_t row = (size_t)n_vocab * sizeof(float);
    if (all_logits) memcpy(c->logits + done * n_vocab, f->logits->data, (size_t)T * row);
    else if (last_chunk) memcpy(c->logits, f->logits->data, row);
    done += T;
  }
  c->last_n = n;
  c->logits_rows = all_logits ? n : 1;
  c->logits_first = all_logits ? 0 : n - 1;
  return DSEEK_OK;
}

dseek_status dseek_decode(dseek_context *c, const int32_t *tokens, int64_t n, int all_logits)
{
  static const char fn[] = "dseek_decode";
  if (!c || !tokens || n < 1) return ds_error(DSEEK_ERR_INVALID_ARG, "%s: need a context, tokens and n >= 1", fn);
  const int64_t n_vocab = c->model->hp.n_vocab;
  for (int64_t i = 0; i < n; i++)
    if (tokens[i] < 0 || tokens[i] >= n_vocab)
      return ds_error(DSEEK_ERR_INVALID_ARG, "%s: token %lld = %d is outside [0, %lld)", fn, (long long)i,
                      (int)tokens[i], (long long)n_vocab);
  if (n > c->n_ctx - c->n_past)
    return ds_error(DSEEK_ERR_CONTEXT_FULL, "%s: %lld tokens do not fit: %lld of %lld positions are used",
                    fn, (long long)n, (long long)c->n_past, (long long)c->n_ctx);
  /* One sequence: slot = position = n_past + i, shared by every sequence
   * (n <= n_ctx, so the context's scratch holds both arrays). */
  int32_t *idx = c->scratch, *seq = c->scratch + n;
  for (int64_t i = 0; i < n; i++) {
    idx[i] = (int32_t)(c->n_past + i);
    seq[i] = -1;
  }
  /* Slots from n_past on no longer belong to other sequences. */
  for (int64_t i = c->n_past; i < c->n_ctx; i++) c->slot_seq[i] = -1;
  dseek_status st = ds_context_eval(c, tokens, idx, idx, seq, n, all_logits != 0);
  if (!st) c->n_past += n;
  return st;
}

const float *dseek_logits(const dseek_context *c, int64_t i)
{
  if (!c || c->logits_rows == 0) return NULL;
  if (i == -1) i = c->last_n - 1;
  int64_t row = i - c->logits_first;
  if (row < 0 || row >= c->logits_rows) return NULL;
  return c->logits + row * c->model->hp.n_vocab;
}
