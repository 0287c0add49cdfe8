/*
 * ops_attn.c — causal attention of new queries over a KV cache, with GQA.
 *
 * For query token t (position pos[t]) and head h, kv head hk = h / (H / Hkv):
 *     visible slots s < L = min(n_kv, pos[t] + 1)
 *     a_s  = scale * (q[:, h, t] . k[:, hk, s])
 *     out  = sum_s exp(a_s - max a) v[:, hk, s] / sum_s exp(a_s - max a)
 * i.e. softmax with the causal mask folded into the loop bound (masked slots
 * contribute exactly 0). Subtracting the max keeps every exp() <= 1. Sums run
 * over s in order, in f32; one (h, t) pair per unit of work, so any thread
 * count gives the same bits. L == 0 (nothing visible) gives zeros.
 *
 * With sequence ownership (ds_op_attn_seq) slots of other sequences are
 * skipped, so each sequence sums exactly the terms it would sum alone.
 *
 * Scratch per thread: scores[n_ctx], one decoded k row, one decoded v row.
 *
 * This is the reference level (DSEEK_CPU=reference); every other level runs
 * the blocked kernel of ops_attn_blocked.c (same math, other summation
 * order).
 */
#include "kernels/cpu.h"
#include "kernels/ops.h"
#include "kernels/ops_attn.h"
#include "kernels/types.h"

#include <math.h>
#include <string.h>

static void attn_reference(const ds_kernel_params *p, ds_tensor *dst)
{
  const ds_tensor *q = dst->src[0], *k = dst->src[1], *v = dst->src[2], *pos = dst->src[3];
  const ds_type_traits *tk = ds_type_traits_get(k->type), *tv = ds_type_traits_get(v->type);
  const int64_t Dk = k->ne[0], Dv = v->ne[0], H = q->ne[1], group = H / k->ne[1];
  const int64_t n_kv = dst->p.attn.n_kv;
  const float scale = dst->p.attn.scale;
  const int32_t *positions = pos->data;
  /* optional sequence ownership (ds_op_attn_seq): owner[s], query seqs after n_ctx */
  const int32_t *owner = dst->src[4] ? dst->src[4]->data : NULL;
  const int64_t n_ctx = k->ne[2];
  float *scores = p->scratch, *krow = scores + k->ne[2], *vrow = krow + Dk;

  int64_t u0, u1;
  ds_kernel_rows(H * q->ne[2], p->ith, p->nth, &u0, &u1);
  for (int64_t u = u0; u < u1; u++) {
    int64_t h = u % H, t = u / H, hk = h / group;
    int64_t visible = positions[t] < 0 ? 0 : (int64_t)positions[t] + 1;
    int64_t L = visible < n_kv ? visible : n_kv;
    const float *qv = ds_tensor_ptr(q, 0, h, t, 0);
    float *out = ds_tensor_ptr(dst, 0, h, t, 0);
    memset(out, 0, (size_t)Dv * sizeof *out);
    if (L == 0) continue;

    const int32_t qseq = owner ? owner[n_ctx + t] : -1;
    float max = -INFINITY;
    for (int64_t s = 0; s < L; s++) {
      if (owner && owner[s] >= 0 && owner[s] != qseq) { scores[s] = -INFINITY; continue; }
      const void *kp = ds_tensor_ptr(k, 0, hk, s, 0);
      const float *kr = kp;
      if (k->type != DSEEK_TYPE_F32) {
        tk->to_float(kp, krow, Dk);
        kr = krow;
      }
      scores[s] = scale * ds_dot_f32(qv, kr, Dk);
      if (scores[s] > max) max = scores[s];
    }
    float sum = 0.0f;
    for (int64_t s = 0; s < L; s++) {
      if (owner && owner[s] >= 0 && owner[s] != qseq) continue;
      /* max is -inf or NaN only if scores are; then the output is NaN, as the
       * math says, rather than silently zero */
      float e = expf(scores[s] - max);
      sum += e;
      const void *vp = ds_tensor_ptr(v, 0, hk, s, 0);
      const float *vr = vp;
      if (v->type != DSEEK_TYPE_F32) {
        tv->to_float(vp, vrow, Dv);
        vr = vrow;
      }
      for (int64_t i = 0; i < Dv; i++) out[i] += e * vr[i];
    }
    float inv = 1.0f / sum;
    for (int64_t i = 0; i < Dv; i++) out[i] *= inv;
  }
}

void ds_kernel_attn(const ds_kernel_params *p, ds_tensor *dst)
{
  if (ds_cpu_level_get() == DS_CPU_REFERENCE) attn_reference(p, dst);
  else ds_kernel_attn_blocked(p, dst);
}
