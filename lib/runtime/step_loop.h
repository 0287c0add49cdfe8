/*
 * step_loop.h — the step loop dseek_generate (one lane) and
 * dseek_generate_parallel (n lanes) share: each step every lane picks its
 * next token(s) and queues them, then one graph run evaluates the queue.
 *
 * Two kinds of queue, one per caller: the context's own sequence (`extend`:
 * the tokens go to slots n_past, n_past + 1, ... visible to every sequence,
 * as dseek_decode puts them, and n_past advances; only the last row's
 * logits are kept), or lanes with their own slots, positions and sequence
 * ids (every row's logits kept when more than one token is queued, so each
 * lane reads its own row; one token takes the one-token graph, the same one
 * plain decoding uses). What a lane evaluates on its own inside its step (a
 * speculative round's draft and verification, runtime/drafter.h) stays its
 * own: the loop evaluates only what is queued.
 */
#ifndef DS_RUNTIME_STEP_LOOP_H
#define DS_RUNTIME_STEP_LOOP_H

#include "runtime/context.h"

typedef struct ds_step_batch {
  int32_t *ids, *pos, *slots, *seq;   /* cap entries each; pos/slots/seq unused when extend */
  int64_t n, cap;
  bool extend;                        /* the context's own sequence, at n_past */
} ds_step_batch;

/* One step of every lane: queue tokens in b (b->n is 0 on entry); *done ends
 * the loop after what was queued is evaluated. */
typedef dseek_status (*ds_step_fn)(void *u, ds_step_batch *b, bool *done);

/* Queue one token of a lane (b->extend false: at pos, slot, seq). */
void ds_step_push(ds_step_batch *b, int32_t tok, int32_t pos, int32_t slot, int32_t seq);

/* Step until done or an error: step(u, b), then the queued tokens evaluated. */
dseek_status ds_step_loop(dseek_context *c, ds_step_batch *b, ds_step_fn step, void *u);

#endif
