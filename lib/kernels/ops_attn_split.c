/*
 * ops_attn_split.c — the slot split of the blocked attention kernel
 * (ops_attn_blocked.c, "Partitions"): decoding, when the tokens x kv heads
 * are fewer than the threads, runs each (token, kv head, partition) as a unit
 * of its own and merges the partitions in order past a barrier, so that the
 * bits do not depend on the thread count.
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

/* Slot split (a lone token, or too few tokens x kv heads for the threads):
 * phase 1, unit u = (token t, kv head hk, partition k) in that order, all
 * heads of hk, is thread u % nth's, which leaves the partition's (m, l, o)
 * per head at slot u / nth of its partials; then, past the barrier, each
 * thread merges the partitions of its share of the (token, head) pairs in
 * partition order (the formula of close_partition) and writes out. */
void ds_attn_split_walk(const ds_kernel_params *p, const ds_attn_op *a, int64_t T, int64_t Hkv, int64_t group,
                       size_t part_offset)
{
  const float *krows[B], *vrows[B];
  const int64_t part_floats = group * (a->Dv + 2);
  int32_t *list = (int32_t *)(a->vtile + B * a->Dv);
  int64_t u = 0;
  for (int64_t t = 0; t < T; t++) {
    const int32_t *slots;
    const int64_t n_vis = ds_attn_visible_slots(a, t, list, &slots), width = ds_attn_partition_slots(n_vis);
    const int64_t n_part = DS_MAX(1, ds_attn_ceil_div(n_vis, width));
    for (int64_t hk = 0; hk < Hkv; hk++)
      for (int64_t k = 0; k < n_part; k++, u++) {
        if (u % p->nth != p->ith) continue;
        float *part = p->scratch + part_offset + (size_t)(u / p->nth) * (size_t)part_floats;
        int32_t ints[3] = {0, (int32_t)width, 0};
        ds_attn_tile w = {.t0 = t, .nt = 1, .h0 = hk * group, .nh = group};
        ds_attn_tile_init(a, &w, p->scratch, ints);
        w.m = part;
        w.l = part + group;
        w.o = part + 2 * group;
        for (int64_t i = 0; i < group; i++) {
          w.m[i] = -INFINITY;
          w.l[i] = 0.0f;
        }
        memset(w.o, 0, (size_t)(group * a->Dv) * sizeof *w.o);
        for (int64_t j0 = k * width; j0 < DS_MIN((k + 1) * width, n_vis); j0 += B) {
          const int n = (int)DS_MIN(B, n_vis - j0);
          ds_attn_block_rows(a, hk, slots, j0, n, n_vis, krows, vrows);
          for (int64_t i = 0; i < group; i++)
            ds_attn_head_block(a->level, a->Dkp, a->Dv, a->scale, w.q + i * a->Dkp, krows, vrows, n, &w.m[i], &w.l[i],
                       w.o + i * a->Dv);
        }
      }
  }
  p->barrier(p->barrier_arg);

  int64_t r0, r1;
  ds_kernel_rows(T * Hkv * group, p->ith, p->nth, &r0, &r1);
  int64_t t_done = 0, u0 = 0, n_part = 0, n_vis = 0;   /* units before token t_done */
  for (int64_t ph = r0; ph < r1; ph++) {
    const int64_t t = ph / (Hkv * group), h = ph % (Hkv * group), hk = h / group, i = h % group;
    for (; t_done <= t; t_done++) {   /* the units of the tokens before t */
      u0 += Hkv * n_part;
      const int32_t *slots;
      n_vis = ds_attn_visible_slots(a, t_done, list, &slots);
      n_part = DS_MAX(1, ds_attn_ceil_div(n_vis, ds_attn_partition_slots(n_vis)));
    }
    float *out = ds_tensor_ptr(a->dst, 0, h, t, 0);
    if (n_vis == 0) {
      memset(out, 0, (size_t)a->Dv * sizeof *out);
      continue;
    }
    float am = 0.0f, al = 0.0f;
    for (int64_t k = 0; k < n_part; k++) {
      const int64_t uk = u0 + hk * n_part + k;
      const float *part = p->scratch0 + (size_t)(uk % p->nth) * p->scratch_stride + part_offset +
                          (size_t)(uk / p->nth) * (size_t)part_floats;
      const float m = part[i], l = part[group + i], *o = part + 2 * group + i * a->Dv;
      if (k == 0) {
        am = m;
        al = l;
        memcpy(out, o, (size_t)a->Dv * sizeof *out);
      } else {
        ds_attn_merge_partition(a->level, a->Dv, &am, &al, out, m, l, o);
      }
    }
    const float inv = 1.0f / al;
    for (int64_t d = 0; d < a->Dv; d++) out[d] *= inv;
  }
}

