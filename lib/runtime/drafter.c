/* drafter.c — the three drafters of dseek_generate (see drafter.h). */
#include "runtime/drafter.h"
#include "runtime/sampler.h"

#include <string.h>

/* ---- none: plain decoding ------------------------------------------------ */

/* Choose the next token from logits as the constraint (if any) allows. A
 * token that completes the trigger but continues with text the grammar
 * refuses is banned for this step and the choice repeats. */
static dseek_status sample_constrained(ds_constraint *con, dseek_sampler *sampler, const float *logits,
                                       int64_t n_vocab, int32_t *tok, const float **seen)
{
  for (int tries = 0;; tries++) {
    const float *l = logits;
    dseek_status st = con ? ds_constraint_apply(con, logits, n_vocab, &l) : DSEEK_OK;
    *seen = l;
    if (!st && sampler) st = dseek_sampler_sample(sampler, l, n_vocab, tok);
    else if (!st) *tok = ds_argmax(l, n_vocab);
    if (st || !con) return st;
    bool ok;
    if ((st = ds_constraint_accept(con, *tok, &ok)) || ok) return st;
    if (tries == 1000) return ds_error(DSEEK_ERR_INVALID_ARG, "dseek_generate: no token continues after the trigger");
    if ((st = ds_constraint_ban(con, *tok))) return st;
  }
}

static dseek_status plain_next(ds_drafter *d, int64_t max_new, ds_drafted *out)
{
  (void)max_new;
  memset(out, 0, sizeof *out);
  const int64_t n_vocab = d->ctx->model->hp.n_vocab;
  return sample_constrained(d->con, d->sampler, dseek_logits(d->ctx, -1), n_vocab, &out->token, &out->seen);
}

static dseek_status plain_reset(ds_drafter *d, bool kept, bool evaluate)
{
  (void)d, (void)kept, (void)evaluate;   /* every token is evaluated by the loop when it is taken */
  return DSEEK_OK;
}

static void plain_end(ds_drafter *d, dseek_generate_result *r) { (void)d, (void)r; }

static const ds_drafter_ops plain_ops = {plain_next, plain_reset, plain_end};

/* ---- draft: a draft model (speculative.h) -------------------------------- */

static dseek_status draft_next(ds_drafter *d, int64_t max_new, ds_drafted *out)
{
  memset(out, 0, sizeof *out);
  return ds_spec_next(&d->s.spec, d->ctx, d->sampler, max_new, &out->token, &out->in_cache);
}

static dseek_status draft_reset(ds_drafter *d, bool kept, bool evaluate)
{
  (void)evaluate;   /* the round's last token is evaluated by the loop when it is taken */
  ds_spec_discard(&d->s.spec, d->ctx, kept);
  return DSEEK_OK;
}

static void draft_end(ds_drafter *d, dseek_generate_result *r)
{
  /* drafted tokens past the last one handed out leave the cache */
  ds_spec_discard(&d->s.spec, d->ctx, true);
  r->n_draft_tokens = d->s.spec.drafted;
  r->n_draft_accepted = d->s.spec.accepted;
  ds_spec_free(&d->s.spec);
}

static const ds_drafter_ops draft_ops = {draft_next, draft_reset, draft_end};

/* ---- mtp: the model's MTP layer (speculative_mtp.h) ----------------------- */

static dseek_status mtp_next(ds_drafter *d, int64_t max_new, ds_drafted *out)
{
  memset(out, 0, sizeof *out);
  dseek_status st = ds_mtp_spec_next(&d->s.mtp, d->ctx, d->sampler, max_new, &out->token);
  out->context_full = st == DSEEK_ERR_CONTEXT_FULL;
  out->in_cache = true;   /* evaluated by the next round (or the reset) */
  return out->context_full ? DSEEK_OK : st;
}

static dseek_status mtp_reset(ds_drafter *d, bool kept, bool evaluate)
{
  return ds_mtp_spec_discard(&d->s.mtp, d->ctx, kept, evaluate);
}

static void mtp_end(ds_drafter *d, dseek_generate_result *r)
{
  /* the last token handed out stays out of the cache (as after a stop string) */
  ds_mtp_spec_discard(&d->s.mtp, d->ctx, true, false);
  r->n_draft_tokens = d->s.mtp.drafted;
  r->n_draft_accepted = d->s.mtp.accepted;
  ds_mtp_spec_free(&d->s.mtp);
}

static const ds_drafter_ops mtp_ops = {mtp_next, mtp_reset, mtp_end};

/* ---- choice --------------------------------------------------------------- */

dseek_status ds_drafter_init(ds_drafter *d, dseek_context *c, const dseek_generate_options *o)
{
  memset(d, 0, sizeof *d);
  d->ctx = c;
  d->sampler = o->sampler;
  d->ops = o->use_mtp ? &mtp_ops : o->draft ? &draft_ops : &plain_ops;
  if (o->use_mtp) return ds_mtp_spec_init(&d->s.mtp, c, o->sampler);
  if (o->draft) return ds_spec_init(&d->s.spec, c, o->draft, o->n_draft, o->sampler);
  return DSEEK_OK;
}

int64_t ds_drafter_prefix(const ds_drafter *d)
{
  /* MTP reads the main model's hidden states of the tokens it builds on */
  return d->ops == &mtp_ops ? ds_mtp_hidden_valid(d->ctx->mtp, d->ctx) : d->ctx->n_past;
}
