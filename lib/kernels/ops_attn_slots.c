/*
 * ops_attn_slots.c — the slot lists of the blocked attention kernel
 * (ops_attn_blocked.c): which cache slots a token sees, in order (its causal
 * range less other sequences' slots), the prefix two tokens' lists share,
 * and the width of a list's partitions.
 */
#include "core/platform.h"   /* ds_fmaf */
#include "kernels/cpu.h"
#include "kernels/ops.h"
#include "kernels/ops_attn.h"
#include "kernels/ops_attn_blocked.h"
#include "kernels/ops_attn_exp.h"
#include "kernels/types.h"

#include <math.h>
#include <string.h>

#define B DS_ATTN_SLOTS

/* End of token t's causal range: slots [0, L) before ownership. */
int64_t ds_attn_causal_end(const ds_attn_op *a, int64_t t)
{
  const int64_t vis = a->positions[t] < 0 ? 0 : (int64_t)a->positions[t] + 1;
  return DS_MIN(vis, a->n_kv);
}

/* Whether token t may see slot s < ds_attn_causal_end(t): shared slots (owner < 0)
 * and its own sequence's. */
static bool sees(const ds_attn_op *a, int64_t t, int64_t s)
{
  return !(a->owner && a->owner[s] >= 0 && a->owner[s] != a->owner[a->n_ctx + t]);
}

/* Token t's visible slots, in order: returns their count and sets *slots to
 * the list (in list) or to NULL when it is all of [0, L). */
int64_t ds_attn_visible_slots(const ds_attn_op *a, int64_t t, int32_t *list, const int32_t **slots)
{
  const int64_t L = ds_attn_causal_end(a, t);
  *slots = NULL;
  if (!a->owner) return L;
  int64_t n = 0;
  for (int64_t s = 0; s < L; s++)
    if (sees(a, t, s)) list[n++] = (int32_t)s;
  if (n < L) *slots = list;
  return n;
}

/* Length of the common prefix of the visible slot lists of tokens t and r. */
int64_t ds_attn_common_slots(const ds_attn_op *a, int64_t t, int64_t r)
{
  const int64_t end = DS_MIN(ds_attn_causal_end(a, t), ds_attn_causal_end(a, r));
  if (!a->owner) return end;
  int64_t n = 0;
  for (int64_t s = 0; s < end; s++) {
    const bool st = sees(a, t, s);
    if (st != sees(a, r, s)) break;
    n += st;
  }
  return n;
}

/* Slots per partition of a list of n: a multiple of B, at least
 * PART_MIN_BLOCKS blocks, and at most DS_ATTN_PARTS_MAX partitions. */
#define PART_MIN_BLOCKS 32
int64_t ds_attn_partition_slots(int64_t n)
{
  return B * DS_MAX(PART_MIN_BLOCKS, ds_attn_ceil_div(ds_attn_ceil_div(n, B), DS_ATTN_PARTS_MAX));
}

