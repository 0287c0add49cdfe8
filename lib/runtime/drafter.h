/*
 * drafter.h — where dseek_generate's next token comes from. One interface,
 * three drafters (drafter.c), chosen once from the options:
 *
 *   none   plain decoding: the token is chosen from the context's logits,
 *          as the answer's constraint (if any) allows;
 *   draft  a draft model proposes up to n_draft tokens, the model verifies
 *          them in one batch (speculative.h);
 *   mtp    the model's MTP layer proposes one token, verified together with
 *          the pending one (speculative_mtp.h).
 *
 * The generation loop asks next for every token; reset ends the current
 * round when the loop does not take what the round proposed (injected text,
 * a token refused by budget forcing, the end of the turn); end reports the
 * draft counts and frees. Both speculative drafters hand out exactly the
 * tokens plain sampling would draw (greedy: token for token).
 */
#ifndef DS_RUNTIME_DRAFTER_H
#define DS_RUNTIME_DRAFTER_H

#include "grammar/grammar.h"
#include "runtime/speculative.h"
#include "runtime/speculative_mtp.h"

/* One token handed out by a drafter. */
typedef struct ds_drafted {
  int32_t token;
  bool in_cache;       /* the model already evaluated it: the loop must not */
  bool context_full;   /* no token: the context cannot take the pending one */
  const float *seen;   /* plain decoding: the logits the choice saw (scored for confidence), else NULL */
} ds_drafted;

typedef struct ds_drafter ds_drafter;

typedef struct ds_drafter_ops {
  /* The next token; max_new bounds the tokens still wanted (a round's length). */
  dseek_status (*next)(ds_drafter *d, int64_t max_new, ds_drafted *out);
  /* End the round: the last token handed out stays in the output (kept) or
   * is dropped; evaluate: a kept token not yet in the cache is evaluated now
   * (before injected text). The cache then holds exactly the kept tokens
   * that were evaluated. */
  dseek_status (*reset)(ds_drafter *d, bool kept, bool evaluate);
  /* n_draft_tokens and n_draft_accepted into r; frees the drafter. */
  void (*end)(ds_drafter *d, dseek_generate_result *r);
} ds_drafter_ops;

struct ds_drafter {
  const ds_drafter_ops *ops;
  dseek_context *ctx;        /* the model's context */
  dseek_sampler *sampler;    /* the model's chain (NULL: greedy) */
  ds_constraint *con;        /* plain decoding: the answer's constraint (NULL: none); set by the caller */
  union { ds_spec spec; ds_mtp_spec mtp; } s;
};

/* The drafter the options ask for (use_mtp, draft, else none), before the
 * prompt is evaluated (MTP keeps the prompt's hidden states). On error
 * nothing is held. */
dseek_status ds_drafter_init(ds_drafter *d, dseek_context *c, const dseek_generate_options *o);
/* Leading cached tokens the drafter can build on (the prompt cache keeps at
 * most these). */
int64_t ds_drafter_prefix(const ds_drafter *d);

static inline dseek_status ds_drafter_next(ds_drafter *d, int64_t max_new, ds_drafted *out)
{
  return d->ops->next(d, max_new, out);
}
static inline dseek_status ds_drafter_reset(ds_drafter *d, bool kept, bool evaluate)
{
  return d->ops->reset(d, kept, evaluate);
}
static inline void ds_drafter_end(ds_drafter *d, dseek_generate_result *r) { d->ops->end(d, r); }

#endif
