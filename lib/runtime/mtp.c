/* mtp.c — a context's MTP state: hidden states per slot, the MTP layer's
 * latent cache, evaluation through cached graphs (see mtp.h; the cache's
 * memory, the kept graphs and the logits buffer are runtime/kv_cache.h's). */
#include "runtime/mtp.h"
#include "runtime/kv_cache.h"

#include <string.h>

void ds_mtp_free(ds_mtp *m)
{
  if (!m) return;
  ds_forward_free(&m->step_fw);
  ds_forward_free(&m->batch_fw);
  ds_free(m->kv_mem);
  ds_free(m->kv_ptrs);
  ds_free(m->hidden);
  ds_free(m->htok);
  ds_free(m->mtok);
  ds_free(m->next);
  ds_free(m->logits);
  ds_free(m);
}

dseek_status ds_mtp_attach(dseek_context *c)
{
  if (c->mtp) return DSEEK_OK;
  const struct dseek_model *model = c->model;
  if (!ds_model_has_mtp(model))
    return ds_error(DSEEK_ERR_UNSUPPORTED, "dseek_generate: MTP speculation needs a deepseek2 model with an MTP "
                    "layer (%s has none)", model->path);
  /* The MTP cache keeps the context's element type when it is a plain float
   * type, else F16. */
  int type = c->kv_type == DSEEK_TYPE_F32 || c->kv_type == DSEEK_TYPE_BF16 ? c->kv_type : DSEEK_TYPE_F16;
  size_t es = type == DSEEK_TYPE_F32 ? 4 : 2;
  const int64_t n = c->n_ctx, d = model->hp.n_embd, row = ds_model_kv_values_per_token_layer(model);
  ds_mtp *m = ds_calloc(1, sizeof *m);
  if (!m) return ds_error(DSEEK_ERR_NO_MEMORY, "dseek_generate: out of memory for the MTP state");
  m->n_ctx = n;
  m->n_embd = d;
  m->n_vocab = model->hp.n_vocab;
  /* n_ctx <= INT32_MAX and d, row < 2^20 (loaders' ranges): the sizes fit size_t on 64-bit hosts */
  dseek_status st = ds_kv_alloc(type, n, 1, (uint64_t)row * es, 0, "dseek_generate: MTP", &m->kv, &m->kv_mem,
                                &m->kv_ptrs);
  if (st) {
    ds_mtp_free(m);
    return st;
  }
  m->hidden = ds_malloc((size_t)(n * d) * sizeof(float));
  m->htok = ds_malloc((size_t)n * sizeof(int32_t));
  m->mtok = ds_malloc((size_t)n * sizeof(int32_t));
  m->next = ds_malloc((size_t)n * sizeof(int32_t));
  if (!m->hidden || !m->htok || !m->mtok || !m->next) {
    ds_mtp_free(m);
    return ds_error(DSEEK_ERR_NO_MEMORY, "dseek_generate: cannot allocate the MTP state for %lld tokens",
                    (long long)n);
  }
  for (int64_t i = 0; i < n; i++) m->htok[i] = m->mtok[i] = -1;
  c->mtp = m;
  return DSEEK_OK;
}

/* MTP slots >= from hold nothing any more (hidden states stay). */
static void forget_mtp_from(ds_mtp *m, int64_t from)
{
  for (int64_t s = from; s < m->end; s++) m->mtok[s] = -1;
}

void ds_mtp_forget_from(ds_mtp *m, int64_t from)
{
  for (int64_t s = from; s < m->end; s++) m->htok[s] = m->mtok[s] = -1;
  if (from < m->end) m->end = from;
}

void ds_mtp_shift(ds_mtp *m, int64_t n_keep, int64_t n_discard, const ds_kv_rotation *rot)
{
  const int64_t first = n_keep + n_discard, used = m->end;
  if (used <= first || ds_kv_shift(&m->kv, n_keep, n_discard, used, rot, "dseek_context_shift: MTP")) {
    ds_mtp_forget_from(m, n_keep);   /* nothing held after the dropped slots, or no memory to move them */
    return;
  }
  const size_t n_move = (size_t)(used - first), d = (size_t)m->n_embd;
  memmove(m->hidden + (size_t)n_keep * d, m->hidden + (size_t)first * d, n_move * d * sizeof(float));
  memmove(m->htok + n_keep, m->htok + first, n_move * sizeof(int32_t));
  memmove(m->mtok + n_keep, m->mtok + first, n_move * sizeof(int32_t));
  /* MTP slot n_keep - 1 was computed with the dropped token t_{n_keep}: its
   * mtok no longer matches the context's token there (ds_mtp_valid). */
  ds_mtp_forget_from(m, used - n_discard);
}

void ds_mtp_store_hidden(ds_mtp *m, const int32_t *tokens, const int32_t *slots, const int32_t *seqs, int64_t n,
                         const float *hidden)
{
  int64_t lo = m->n_ctx, hi = 0;
  bool shared = true;
  for (int64_t i = 0; i < n; i++) {
    lo = DS_MIN(lo, (int64_t)slots[i]);
    hi = DS_MAX(hi, (int64_t)slots[i] + 1);
    shared = shared && seqs[i] < 0;
  }
  if (!shared) {   /* parallel sequences: their slots do not extend the shared prefix */
    ds_mtp_forget_from(m, lo);
    return;
  }
  for (int64_t i = 0; i < n; i++) {
    memcpy(m->hidden + (size_t)slots[i] * (size_t)m->n_embd, hidden + (size_t)i * (size_t)m->n_embd,
           (size_t)m->n_embd * sizeof(float));
    m->htok[slots[i]] = tokens[i];
    m->mtok[slots[i]] = -1;   /* computed from the old h of this slot */
  }
  ds_mtp_forget_from(m, hi);
  m->end = DS_MAX(m->end, hi);
}

int64_t ds_mtp_hidden_valid(const ds_mtp *m, const dseek_context *c)
{
  int64_t n = DS_MIN(c->n_past, m->n_ctx), i = 0;
  while (i < n && m->htok[i] >= 0 && m->htok[i] == c->tokens[i]) i++;
  return i;
}

int64_t ds_mtp_valid(const ds_mtp *m, const dseek_context *c)
{
  int64_t hv = ds_mtp_hidden_valid(m, c), i = 0;
  while (i < hv && i + 1 < c->n_past && m->mtok[i] >= 0 && m->mtok[i] == c->tokens[i + 1]) i++;
  return i;
}

dseek_status ds_mtp_eval(ds_mtp *m, dseek_context *c, int64_t first, int64_t n, const int32_t *next, bool all_logits)
{
  if (first < 0 || n < 1 || first + n > m->n_ctx)
    return ds_error(DSEEK_ERR_INTERNAL, "MTP: slots %lld + %lld out of range", (long long)first, (long long)n);
  dseek_status st = ds_logits_reserve(&m->logits, &m->logits_cap, all_logits ? n : 1, m->n_vocab, "MTP");
  if (st) return st;
  m->logits_rows = 0;
  forget_mtp_from(m, first);   /* later MTP slots saw the old rows */
  const int64_t d = m->n_embd, V = m->n_vocab;
  for (int64_t done = 0; done < n;) {
    int64_t T = DS_MIN(c->n_batch, n - done);
    ds_forward *f;
    if ((st = ds_forward_cached(&m->step_fw, &m->batch_fw, ds_forward_build_mtp, c->model, &m->kv, T, all_logits,
                                c->n_threads, &f)))
      return st;
    int32_t *ids = f->ids->data, *pos = f->pos->data, *slots = f->slots->data, *seq = f->seq->data;
    float *h = f->hidden->data;
    for (int64_t i = 0; i < T; i++) {
      int64_t s = first + done + i;
      ids[i] = next[done + i];
      pos[i] = slots[i] = (int32_t)s;
      memcpy(h + i * d, m->hidden + s * d, (size_t)d * sizeof(float));
    }
    for (int64_t i = 0; i < m->n_ctx + T; i++) seq[i] = -1;   /* one sequence */
    if ((st = ds_attn_set_n_kv(f->attn[0], first + done + T))) return st;
    if ((st = ds_graph_compute(f->graph, c->pool))) return st;
    if (all_logits) memcpy(m->logits + done * V, f->logits->data, (size_t)(T * V) * sizeof(float));
    else if (done + T == n) memcpy(m->logits, f->logits->data, (size_t)V * sizeof(float));
    for (int64_t i = 0; i < T; i++) m->mtok[first + done + i] = next[done + i];
    done += T;
  }
  m->end = DS_MAX(m->end, first + n);
  m->logits_rows = all_logits ? n : 1;
  return DSEEK_OK;
}

const float *ds_mtp_logits(const ds_mtp *m, int64_t i)
{
  if (!m || m->logits_rows == 0) return NULL;
  if (i == -1) i = m->logits_rows - 1;
  if (i < 0 || i >= m->logits_rows) return NULL;
  return m->logits + i * m->n_vocab;
}

dseek_status ds_mtp_draft(ds_mtp *m, dseek_context *c, int32_t next, const float **logits, bool *ok)
{
  *ok = false;
  *logits = NULL;
  const int64_t n = c->n_past;
  if (n < 1 || n > m->n_ctx || ds_mtp_hidden_valid(m, c) < n) return DSEEK_OK;
  int64_t first = ds_mtp_valid(m, c);
  for (int64_t i = first; i + 1 < n; i++) m->next[i - first] = c->tokens[i + 1];
  m->next[n - 1 - first] = next;
  dseek_status st = ds_mtp_eval(m, c, first, n - first, m->next, false);
  if (st) return st;
  *logits = ds_mtp_logits(m, -1);
  *ok = true;
  return DSEEK_OK;
}
