/* speculative.c — draft-model speculative decoding (see speculative.h). */
#include "runtime/speculative.h"
#include "runtime/sampler.h"
#include "text/vocab.h"

#include <string.h>

dseek_status ds_spec_init(ds_spec *sp, dseek_context *target, dseek_context *draft, int64_t n_draft,
                          dseek_sampler *sampler)
{
  memset(sp, 0, sizeof *sp);
  const int64_t n_vocab = target->model->hp.n_vocab;
  if (draft == target) return ds_error(DSEEK_ERR_INVALID_ARG, "dseek_generate: the draft context must be another context");
  if (draft->model->hp.n_vocab != n_vocab || !draft->model->vocab ||
      ds_vocab_n_tokens(draft->model->vocab) != ds_vocab_n_tokens(target->model->vocab))
    return ds_error(DSEEK_ERR_INVALID_ARG, "dseek_generate: the draft model's vocabulary (%lld) differs from the "
                    "target's (%lld)", (long long)draft->model->hp.n_vocab, (long long)n_vocab);
  if (n_draft < 1 || n_draft > 64)
    return ds_error(DSEEK_ERR_INVALID_ARG, "dseek_generate: n_draft must be in [1, 64] (got %lld)", (long long)n_draft);
  if (sampler && ds_sampler_uses_history(sampler))
    return ds_error(DSEEK_ERR_INVALID_ARG, "dseek_generate: speculative decoding does not support repetition penalties");
  sp->draft = draft;
  sp->n_draft = n_draft;
  /* The draft's draws must be independent of everything else (x ~ q), so its
   * generator is seeded from the target's. */
  uint64_t seed = sampler ? (uint64_t)(ds_sampler_uniform(sampler) * 0x1p53) : 0;
  dseek_status st = sampler ? dseek_sampler_clone(sampler, seed, &sp->draft_sampler) : DSEEK_OK;
  if (st) return st;
  sp->p = ds_malloc((size_t)((n_draft + 1) * n_vocab) * sizeof(float));
  sp->q = ds_malloc((size_t)(n_draft * n_vocab) * sizeof(float));
  sp->residual = ds_malloc((size_t)n_vocab * sizeof(float));
  if (!sp->p || !sp->q || !sp->residual) {
    ds_spec_free(sp);
    return ds_error(DSEEK_ERR_NO_MEMORY, "dseek_generate: out of memory for speculative decoding");
  }
  return DSEEK_OK;
}

void ds_spec_free(ds_spec *sp)
{
  dseek_sampler_free(sp->draft_sampler);
  ds_free(sp->p);
  ds_free(sp->q);
  ds_free(sp->residual);
  memset(sp, 0, sizeof *sp);
}

dseek_status ds_spec_dist(dseek_sampler *s, const float *logits, int64_t n, float *probs)
{
  if (s) {
    bool greedy;
    return ds_sampler_dist(s, logits, n, probs, &greedy);
  }
  memset(probs, 0, (size_t)n * sizeof *probs);
  probs[ds_argmax(logits, n)] = 1.0f;
  return DSEEK_OK;
}

int32_t ds_spec_draw(dseek_sampler *s, const float *probs, int64_t n)
{
  return s ? ds_sampler_draw(s, probs, n) : ds_argmax(probs, n);
}

bool ds_spec_accept(dseek_sampler *s, const float *p, const float *q, int32_t x)
{
  /* accept x ~ q with probability min(1, p(x) / q(x)); greedy: iff x is the argmax */
  return s ? (q[x] > 0 && ds_sampler_uniform(s) * q[x] < p[x]) : p[x] > 0;
}

int32_t ds_spec_resample(dseek_sampler *s, const float *p, const float *q, float *residual, int64_t n)
{
  if (!s) return ds_spec_draw(NULL, p, n);
  /* residual distribution norm(max(0, p - q)) (the draw normalises) */
  double mass = 0;
  for (int64_t j = 0; j < n; j++) {
    float r = p[j] - q[j];
    residual[j] = r > 0 ? r : 0;
    mass += residual[j];
  }
  return mass > 0 ? ds_sampler_draw(s, residual, n) : ds_spec_draw(s, p, n);
}

/* Bring the draft to the target's tokens, re-evaluating at least the last one
 * so that its logits are for the target's next position. */
static dseek_status sync_draft(ds_spec *sp, dseek_context *t)
{
  dseek_context *d = sp->draft;
  int64_t keep = 0;
  while (keep < d->n_past && keep < t->n_past && d->tokens[keep] == t->tokens[keep]) keep++;
  if (keep == t->n_past) keep--;
  if (t->n_past > d->n_ctx) return ds_error(DSEEK_ERR_CONTEXT_FULL, "dseek_generate: the draft context is full");
  d->n_past = keep;
  return dseek_decode(d, t->tokens + keep, t->n_past - keep, 0);
}

static dseek_status round_(ds_spec *sp, dseek_context *t, dseek_sampler *sampler, int64_t max_new)
{
  const int64_t n_vocab = t->model->hp.n_vocab;
  dseek_context *d = sp->draft;
  int64_t k = DS_MIN(sp->n_draft, max_new - 1);
  k = DS_MIN(k, t->n_ctx - t->n_past - 1);
  k = DS_MIN(k, d->n_ctx - t->n_past - 1);
  sp->base = t->n_past;
  sp->n_queue = sp->head = 0;
  dseek_status st;
  /* p_0: the target's distribution for the next position (logits at hand). */
  if ((st = ds_spec_dist(sampler, dseek_logits(t, -1), n_vocab, sp->p))) return st;
  if (k < 1) {
    sp->queue[sp->n_queue++] = ds_spec_draw(sampler, sp->p, n_vocab);
    return DSEEK_OK;
  }
  if ((st = sync_draft(sp, t))) return st;
  int32_t x[64];
  for (int64_t i = 0; i < k; i++) {
    if ((st = ds_spec_dist(sp->draft_sampler, dseek_logits(d, -1), n_vocab, sp->q + i * n_vocab))) return st;
    x[i] = ds_spec_draw(sp->draft_sampler, sp->q + i * n_vocab, n_vocab);
    if (i + 1 < k && (st = dseek_decode(d, &x[i], 1, 0))) return st;
  }
  sp->drafted += k;
  /* The target evaluates every draft token at once: p_1..p_k. */
  if ((st = dseek_decode(t, x, k, 1))) return st;
  for (int64_t i = 0; i < k; i++)
    if ((st = ds_spec_dist(sampler, dseek_logits(t, i), n_vocab, sp->p + (i + 1) * n_vocab))) return st;
  int64_t accepted = 0;
  for (; accepted < k; accepted++) {
    if (!ds_spec_accept(sampler, sp->p + accepted * n_vocab, sp->q + accepted * n_vocab, x[accepted])) break;
    sp->queue[sp->n_queue++] = x[accepted];
  }
  sp->accepted += accepted;
  const float *p = sp->p + accepted * n_vocab;
  sp->queue[sp->n_queue++] = accepted < k ? ds_spec_resample(sampler, p, sp->q + accepted * n_vocab, sp->residual, n_vocab)
                                          : ds_spec_draw(sampler, p, n_vocab);
  /* The target keeps the accepted draft tokens; the last queued one is new. */
  t->n_past = sp->base + accepted;
  return DSEEK_OK;
}

dseek_status ds_spec_next(ds_spec *sp, dseek_context *t, dseek_sampler *sampler, int64_t max_new, int32_t *token,
                          bool *in_cache)
{
  if (sp->head == sp->n_queue) {
    dseek_status st = round_(sp, t, sampler, max_new);
    if (st) return st;
  }
  *token = sp->queue[sp->head++];
  *in_cache = sp->head < sp->n_queue;
  return DSEEK_OK;
}

void ds_spec_discard(ds_spec *sp, dseek_context *t, bool last_token_kept)
{
  if (sp->head == 0 || sp->head == sp->n_queue) { sp->head = sp->n_queue = 0; return; }
  /* tokens handed out: head; all of them are in the cache (in_cache was true) */
  t->n_past = sp->base + sp->head - (last_token_kept ? 0 : 1);
  sp->head = sp->n_queue = 0;
}
