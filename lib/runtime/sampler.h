/* sampler.h — internals of the sampler chain used by speculative decoding. */
#ifndef DS_RUNTIME_SAMPLER_H
#define DS_RUNTIME_SAMPLER_H

#include "core/ds.h"

/* The chain's distribution over all n_vocab tokens (0 for removed ones;
 * one-hot when the chain ends greedy, then *greedy is set). The history is
 * not changed. */
dseek_status ds_sampler_dist(dseek_sampler *s, const float *logits, int64_t n_vocab, float *probs, bool *greedy);

/* Greedy selection: the index of x[0..n)'s first maximum. */
int32_t ds_argmax(const float *x, int64_t n);

/* Draw a token from unnormalised probs with the sampler's generator. */
int32_t ds_sampler_draw(dseek_sampler *s, const float *probs, int64_t n_vocab);

/* Uniform in [0, 1) from the sampler's generator. */
double ds_sampler_uniform(dseek_sampler *s);

/* True if the chain has a grammar stage (its state follows sampled tokens). */
bool ds_sampler_has_grammar(const dseek_sampler *s);

/* True if the chain depends on the token history (penalties). */
bool ds_sampler_uses_history(const dseek_sampler *s);

#endif
