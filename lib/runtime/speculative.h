/*
 * speculative.h — draft-model speculative decoding for dseek_generate.
 *
 * A small draft model with the same vocabulary proposes k tokens; the target
 * model evaluates all k in one batch and keeps the longest acceptable prefix
 * plus one token of its own (Leviathan et al. 2023, "Fast Inference from
 * Transformers via Speculative Decoding"): draft token x with draft
 * probability q(x) and target probability p(x) is accepted with probability
 * min(1, p(x) / q(x)); at the first rejection the replacement is drawn from
 * norm(max(0, p - q)); when every draft token is accepted one more is drawn
 * from p. The output is distributed exactly as sampling from the target
 * alone; with a greedy chain it is token-for-token the greedy output.
 */
#ifndef DS_RUNTIME_SPECULATIVE_H
#define DS_RUNTIME_SPECULATIVE_H

#include "runtime/context.h"

typedef struct ds_spec {
  dseek_context *draft;
  int64_t n_draft;
  dseek_sampler *draft_sampler;   /* clone of the target chain, for q and the draft's draws */
  float *p, *q, *residual;        /* (n_draft + 1) x n_vocab, n_draft x n_vocab, n_vocab */
  int32_t queue[65];              /* verified tokens not yet handed out */
  int n_queue, head;
  int64_t base;                   /* target n_past when the queue was made */
  int64_t drafted, accepted;
} ds_spec;

dseek_status ds_spec_init(ds_spec *sp, dseek_context *target, dseek_context *draft, int64_t n_draft,
                          dseek_sampler *sampler);
void ds_spec_free(ds_spec *sp);

/* The next token. *in_cache tells whether the target already holds it (only
 * the last token of a round does not). max_new bounds the round's length. */
dseek_status ds_spec_next(ds_spec *sp, dseek_context *target, dseek_sampler *sampler, int64_t max_new,
                          int32_t *token, bool *in_cache);

/* The distribution of logits under a sampler chain (NULL: one-hot at the
 * argmax, greedy), and a draw from it (NULL: the argmax). */
dseek_status ds_spec_dist(dseek_sampler *s, const float *logits, int64_t n, float *probs);
int32_t ds_spec_draw(dseek_sampler *s, const float *probs, int64_t n);
/* The acceptance rule for a draft token x drawn from q, target p (see above). */
bool ds_spec_accept(dseek_sampler *s, const float *p, const float *q, int32_t x);
/* The token after a rejection: a draw from norm(max(0, p - q)) (greedy: the
 * argmax of p); residual is n floats of scratch. */
int32_t ds_spec_resample(dseek_sampler *s, const float *p, const float *q, float *residual, int64_t n);

/* Drop the queue: the target keeps exactly the tokens handed out so far
 * whose evaluation the caller did (n_past = base + handed_out_in_cache). */
void ds_spec_discard(ds_spec *sp, dseek_context *target, bool last_token_kept);

#endif
