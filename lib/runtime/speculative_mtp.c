/* speculative_mtp.c — MTP speculative decoding (see speculative_mtp.h). */
#include "runtime/speculative_mtp.h"
#include "runtime/sampler.h"
#include "runtime/speculative.h"

#include <string.h>

dseek_status ds_mtp_spec_init(ds_mtp_spec *sp, dseek_context *c, dseek_sampler *sampler)
{
  memset(sp, 0, sizeof *sp);
  if (sampler && ds_sampler_uses_history(sampler))
    return ds_error(DSEEK_ERR_INVALID_ARG, "dseek_generate: speculative decoding does not support repetition penalties");
  dseek_status st = ds_mtp_attach(c);
  if (st) return st;
  const int64_t n_vocab = c->model->hp.n_vocab;
  /* the draft's draws are independent of the target's: its own generator */
  uint64_t seed = sampler ? (uint64_t)(ds_sampler_uniform(sampler) * 0x1p53) : 0;
  if (sampler && (st = dseek_sampler_clone(sampler, seed, &sp->draft_sampler))) return st;
  sp->p = ds_malloc((size_t)(2 * n_vocab) * sizeof(float));
  sp->q = ds_malloc((size_t)n_vocab * sizeof(float));
  sp->residual = ds_malloc((size_t)n_vocab * sizeof(float));
  if (!sp->p || !sp->q || !sp->residual) {
    ds_mtp_spec_free(sp);
    return ds_error(DSEEK_ERR_NO_MEMORY, "dseek_generate: out of memory for MTP speculation");
  }
  return DSEEK_OK;
}

void ds_mtp_spec_free(ds_mtp_spec *sp)
{
  dseek_sampler_free(sp->draft_sampler);
  ds_free(sp->p);
  ds_free(sp->q);
  ds_free(sp->residual);
  memset(sp, 0, sizeof *sp);
}

/* Evaluate z (and a draft x after it when the MTP layer can draft and there
 * is room), then queue what follows: [x, z'] or [z']. */
static dseek_status round_(ds_mtp_spec *sp, dseek_context *c, dseek_sampler *sampler, int64_t max_new)
{
  const int64_t n_vocab = c->model->hp.n_vocab, n = c->n_past;
  dseek_status st;
  const float *ql = NULL;
  bool draft = false;
  if (max_new >= 2 && n + 2 <= c->n_ctx && (st = ds_mtp_draft(c->mtp, c, sp->z, &ql, &draft))) return st;
  sp->n_queue = sp->head = 0;
  if (!draft) {   /* no draft this round: z alone */
    if ((st = dseek_decode(c, &sp->z, 1, 0))) return st;
    if ((st = ds_spec_dist(sampler, dseek_logits(c, -1), n_vocab, sp->p))) return st;
    sp->queue[sp->n_queue++] = ds_spec_draw(sampler, sp->p, n_vocab);
    return DSEEK_OK;
  }
  if ((st = ds_spec_dist(sp->draft_sampler, ql, n_vocab, sp->q))) return st;
  int32_t zx[2] = {sp->z, ds_spec_draw(sp->draft_sampler, sp->q, n_vocab)};
  sp->drafted++;
  if ((st = dseek_decode(c, zx, 2, 1))) return st;
  float *p = sp->p, *p2 = sp->p + n_vocab;
  if ((st = ds_spec_dist(sampler, dseek_logits(c, 0), n_vocab, p)) ||
      (st = ds_spec_dist(sampler, dseek_logits(c, 1), n_vocab, p2)))
    return st;
  if (ds_spec_accept(sampler, p, sp->q, zx[1])) {
    sp->accepted++;
    sp->queue[sp->n_queue++] = zx[1];
    sp->queue[sp->n_queue++] = ds_spec_draw(sampler, p2, n_vocab);
  } else {
    c->n_past = n + 1;   /* x leaves the cache */
    sp->queue[sp->n_queue++] = ds_spec_resample(sampler, p, sp->q, sp->residual, n_vocab);
  }
  return DSEEK_OK;
}

dseek_status ds_mtp_spec_next(ds_mtp_spec *sp, dseek_context *c, dseek_sampler *sampler, int64_t max_new,
                              int32_t *token)
{
  const int64_t n_vocab = c->model->hp.n_vocab;
  dseek_status st;
  if (sp->head == sp->n_queue) {
    if (!sp->pending) {
      /* the first token: the model's logits are at hand */
      if ((st = ds_spec_dist(sampler, dseek_logits(c, -1), n_vocab, sp->p))) return st;
      sp->z = *token = ds_spec_draw(sampler, sp->p, n_vocab);
      sp->pending = true;
      return DSEEK_OK;
    }
    if (c->n_past >= c->n_ctx) return DSEEK_ERR_CONTEXT_FULL;
    if ((st = round_(sp, c, sampler, max_new))) return st;
  }
  *token = sp->queue[sp->head++];
  /* every queued token but the last is in the cache; the last is the next z */
  if (sp->head == sp->n_queue) sp->z = *token;
  return DSEEK_OK;
}

dseek_status ds_mtp_spec_discard(ds_mtp_spec *sp, dseek_context *c, bool kept, bool evaluate)
{
  dseek_status st = DSEEK_OK;
  if (sp->head < sp->n_queue) {
    /* handed out: x (in the cache, the last slot); z' never was */
    if (!kept) c->n_past--;
  } else if (sp->pending && kept && evaluate && c->n_past < c->n_ctx) {
    st = dseek_decode(c, &sp->z, 1, 0);   /* (a full context: the caller stops anyway) */
  }
  sp->pending = false;
  sp->head = sp->n_queue = 0;
  return st;
}
