/*
 * speculative_mtp.h — MTP speculative decoding for dseek_generate (deepseek2
 * models with an MTP layer; lib/models/README.md §1.7).
 *
 * A round starts with z, the last token handed out, not yet evaluated by the
 * model (the cache holds positions < n). The MTP layer reads the model's
 * hidden state at n - 1 and z and drafts x for position n + 1 (q); the model
 * then evaluates [z, x] in one batch, which gives p for position n + 1 and p'
 * for n + 2. x is accepted with probability min(1, p(x) / q(x)) (greedy: iff
 * it is p's argmax); then the next z is drawn from p', else from
 * norm(max(0, p - q)) (greedy: p's argmax). One evaluation of the model thus
 * yields one or two tokens, and the output is distributed exactly as plain
 * sampling (token for token the greedy output with a greedy chain), as for
 * draft-model speculation (speculative.h).
 */
#ifndef DS_RUNTIME_SPECULATIVE_MTP_H
#define DS_RUNTIME_SPECULATIVE_MTP_H

#include "runtime/mtp.h"

typedef struct ds_mtp_spec {
  dseek_sampler *draft_sampler;   /* clone of the chain for q and the draft's draws */
  float *p, *q, *residual;        /* 2 x n_vocab, n_vocab, n_vocab */
  int32_t queue[2];               /* tokens of the round not yet handed out: [x,] z' */
  int n_queue, head;
  bool pending;                   /* the last token handed out (z) is not in the cache */
  int32_t z;
  int64_t drafted, accepted;
} ds_mtp_spec;

/* Attach the context's MTP state (ds_mtp_attach) and prepare; call before the
 * prompt is evaluated, so that its hidden states are kept. */
dseek_status ds_mtp_spec_init(ds_mtp_spec *sp, dseek_context *c, dseek_sampler *sampler);
void ds_mtp_spec_free(ds_mtp_spec *sp);

/* The next token; the caller never evaluates it (the next round does, or
 * ds_mtp_spec_discard). max_new bounds the tokens still wanted. Returns
 * DSEEK_ERR_CONTEXT_FULL (no message) when the context cannot take z. */
dseek_status ds_mtp_spec_next(ds_mtp_spec *sp, dseek_context *c, dseek_sampler *sampler, int64_t max_new,
                              int32_t *token);

/* End the round: keep the last token handed out (kept; evaluated into the
 * cache when evaluate and there is room, e.g. before injected text) or drop it. */
dseek_status ds_mtp_spec_discard(ds_mtp_spec *sp, dseek_context *c, bool kept, bool evaluate);

#endif
