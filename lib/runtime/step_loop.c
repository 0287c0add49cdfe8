/* step_loop.c — the step loop of single and parallel generation (see step_loop.h). */
#include "runtime/step_loop.h"

void ds_step_push(ds_step_batch *b, int32_t tok, int32_t pos, int32_t slot, int32_t seq)
{
  b->ids[b->n] = tok;
  if (!b->extend) {
    b->pos[b->n] = pos;
    b->slots[b->n] = slot;
    b->seq[b->n] = seq;
  }
  b->n++;
}

dseek_status ds_step_loop(dseek_context *c, ds_step_batch *b, ds_step_fn step, void *u)
{
  dseek_status st = DSEEK_OK;
  for (bool done = false; !st && !done;) {
    b->n = 0;
    st = step(u, b, &done);
    if (st || b->n == 0) continue;
    st = b->extend ? dseek_decode(c, b->ids, b->n, 0)
                   : ds_context_eval(c, b->ids, b->pos, b->slots, b->seq, b->n, b->n > 1);
  }
  return st;
}
