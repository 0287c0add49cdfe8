/*
 * ops_attn_blocked.c — attention at every level above the reference (prompts
 * and decoding); same op and math as ops_attn.c:
 *     out[:, h, t] = sum_s softmax_s(scale q.k_s) v_s   over the visible slots
 *
 * Work unit: one token t, one kv head hk and a share of the heads that read
 * hk (all of them unless tokens x kv heads leave threads idle; MLA's absorbed
 * form has one latent kv head for every query head). The unit walks its
 * visible slots in blocks of B = 16: the block's key rows (and
 * value rows) are decoded to f32 once (or read in place: f32 rows of a
 * multiple of 8) and then serve every head of the unit. Per head and block:
 *     a_j  = scale q.k_j                    (ds_attn_scores8: eight scores
 *                                            per reduction tree)
 *     m'   = max(m, max_j a_j)
 *     e_j  = exp(a_j - m')                  (ds_attn_exp: eight or sixteen
 *                                            lanes at once)
 *     l    = l exp(m - m') + tree(e)        (o scaled by exp(m - m') only
 *     o    = o exp(m - m') + sum_j e_j v_j   when the max moved; ds_attn_pv)
 * and out = o (1 / l) after the last block. Lanes past the block's end get
 * a_j = -inf, so e_j = 0 and they add nothing. tree(e) is
 * t(e0..e7) + t(e8..e15), t(x) = ((x0 + x1) + (x2 + x3)) + ((x4 + x5) + (x6 + x7)).
 *
 * MLA's value rows are a view of its key rows (c_kv, the first Dv values of
 * the cached [c_kv ; k_pe]): the decoded key block is used for both.
 *
 * Slots of other sequences (ds_op_attn_seq) are left out before blocking: the
 * unit walks the list of its token's visible slots, so a sequence's blocks,
 * and its bits, are the same whether other sequences' slots are interleaved
 * in the cache or not. Every step above is the same IEEE operation at every
 * level (ops_attn_scores.c, ops_attn_exp.h, ds_attn_pv, the cache-row decodes
 * ds_attn_row_to_f32),
 * and a head's result depends on nothing but its own query and slots, so the
 * bits do not depend on the level, the head split or the thread count.
 */
#include "kernels/cpu.h"
#include "kernels/ops.h"
#include "kernels/ops_attn.h"
#include "kernels/ops_attn_exp.h"
#include "kernels/types.h"

#include <math.h>
#include <string.h>

/* Slots per block: two score calls of DS_ATTN_BLOCK rows each. */
#define B (2 * DS_ATTN_BLOCK)

static int64_t padded8(int64_t n) { return (n + 7) & ~(int64_t)7; }

size_t ds_kernel_attn_blocked_scratch_floats(const ds_tensor *node)
{
  const ds_tensor *q = node->src[0], *k = node->src[1], *v = node->src[2];
  const int64_t Dkp = padded8(k->ne[0]), Dv = v->ne[0], group = q->ne[1] / k->ne[1];
  /* queries, the key and value blocks, per head o[Dv], m, l; the slot list */
  return (size_t)(group * Dkp + B * (Dkp + Dv) + group * (Dv + 2) + k->ne[2]);
}

/* Ways the heads of a kv head are split so that the units (tokens x kv heads
 * x splits) keep nth threads busy; at most group. */
static int64_t head_splits(int64_t units, int64_t group, int nth)
{
  if (units >= nth) return 1;
  const int64_t n = (nth + units - 1) / units;
  return n < group ? n : group;
}

/* Row s of kv head hk of cache c as D f32 values followed by zeros up to
 * padded8(D), at dst; or the cache row itself when it is f32 and D % 8 == 0. */
static const float *row_f32(const ds_tensor *c, const ds_type_traits *tr, ds_cpu_level level, int64_t hk, int64_t s,
                            float *dst)
{
  const void *src = ds_tensor_ptr(c, 0, hk, s, 0);
  const int64_t D = c->ne[0], Dp = padded8(D);
  if (c->type == DSEEK_TYPE_F32 && D == Dp) return src;
  if (c->type == DSEEK_TYPE_F32) memcpy(dst, src, (size_t)D * sizeof *dst);
  else if (!ds_attn_row_to_f32(level, c->type, src, dst, D)) tr->to_float(src, dst, D);
  for (int64_t d = D; d < Dp; d++) dst[d] = 0.0f;
  return dst;
}

/* Asks the CPU to fetch the bytes [p, p + n) into cache (no effect on results). */
static void prefetch_row(const void *p, size_t n)
{
#if defined(__GNUC__)
  for (size_t i = 0; i < n; i += 64) __builtin_prefetch((const char *)p + i, 0, 3);
#else
  (void)p;
  (void)n;
#endif
}

/* One head's online-softmax step over a block of n <= B slots (see the top). */
static void head_block(ds_cpu_level level, int64_t Dkp, int64_t Dv, float scale, const float *qh,
                       const float *const *krows, const float *const *vrows, int n, float *m, float *l, float *o)
{
  float a[B], e[B];
  ds_attn_scores8(level, Dkp, qh, krows, a);
  ds_attn_scores8(level, Dkp, qh, krows + DS_ATTN_BLOCK, a + DS_ATTN_BLOCK);
  float mb = -INFINITY;
  for (int j = 0; j < n; j++) {
    a[j] *= scale;
    if (a[j] > mb) mb = a[j];
  }
  for (int j = n; j < B; j++) a[j] = -INFINITY;
  const float mn = mb > *m ? mb : *m;
  for (int j = 0; j < B; j++) a[j] -= mn;
  ds_attn_exp(level, a, e, B);
  if (mn != *m) {
    if (*m != -INFINITY) {   /* nothing summed yet under -inf */
      const float c = ds_attn_exp1(*m - mn);
      *l *= c;
      for (int64_t d = 0; d < Dv; d++) o[d] *= c;
    }
    *m = mn;
  }
  *l += (((e[0] + e[1]) + (e[2] + e[3])) + ((e[4] + e[5]) + (e[6] + e[7]))) +
        (((e[8] + e[9]) + (e[10] + e[11])) + ((e[12] + e[13]) + (e[14] + e[15])));
  ds_attn_pv(level, Dv, o, vrows, e, n);
}

void ds_kernel_attn_blocked(const ds_kernel_params *p, ds_tensor *dst)
{
  const ds_cpu_level level = ds_cpu_level_get();
  const ds_tensor *q = dst->src[0], *k = dst->src[1], *v = dst->src[2], *pos = dst->src[3];
  const ds_type_traits *tk = ds_type_traits_get(k->type), *tv = ds_type_traits_get(v->type);
  const int64_t Dk = k->ne[0], Dkp = padded8(Dk), Dv = v->ne[0], H = q->ne[1], T = q->ne[2], Hkv = k->ne[1];
  const int64_t group = H / Hkv, n_split = head_splits(T * Hkv, group, p->nth);
  const int64_t per_split = (group + n_split - 1) / n_split;
  const int64_t n_kv = dst->p.attn.n_kv, n_ctx = k->ne[2];
  const float scale = dst->p.attn.scale;
  const int32_t *positions = pos->data;
  const int32_t *owner = dst->src[4] ? dst->src[4]->data : NULL;
  /* MLA: v is the leading Dv values of each k row */
  const bool v_in_k = v->data == k->data && v->type == k->type && v->nb[1] == k->nb[1] && v->nb[2] == k->nb[2];

  float *qs = p->scratch, *ktile = qs + group * Dkp, *vtile = ktile + B * Dkp, *o = vtile + B * Dv;
  float *mx = o + group * Dv, *l = mx + group;
  int32_t *list = (int32_t *)(l + group);

  for (int64_t u = p->ith; u < T * Hkv * n_split; u += p->nth) {
    const int64_t hk = u % Hkv, split = (u / Hkv) % n_split, t = u / Hkv / n_split;
    const int64_t h0 = hk * group + split * per_split, h1 = DS_MIN(h0 + per_split, (hk + 1) * group), nh = h1 - h0;
    if (nh <= 0) continue;
    const int64_t vis = positions[t] < 0 ? 0 : (int64_t)positions[t] + 1, L = DS_MIN(vis, n_kv);
    /* the visible slots: all of [0, L) unless other sequences own some */
    int64_t n_vis = L;
    const int32_t *slots = NULL;
    if (owner) {
      const int32_t qseq = owner[n_ctx + t];
      n_vis = 0;
      for (int64_t s = 0; s < L; s++)
        if (!(owner[s] >= 0 && owner[s] != qseq)) list[n_vis++] = (int32_t)s;
      if (n_vis < L) slots = list;
    }
    for (int64_t i = 0; i < nh; i++) {
      const float *qh = ds_tensor_ptr(q, 0, h0 + i, t, 0);
      memcpy(qs + i * Dkp, qh, (size_t)Dk * sizeof *qs);
      for (int64_t d = Dk; d < Dkp; d++) qs[i * Dkp + d] = 0.0f;
      mx[i] = -INFINITY;
      l[i] = 0.0f;
    }
    memset(o, 0, (size_t)(nh * Dv) * sizeof *o);

    for (int64_t j0 = 0; j0 < n_vis; j0 += B) {
      const int n = (int)DS_MIN(B, n_vis - j0);
      const float *krows[B], *vrows[B];
      for (int j = 0; j < n; j++) {
        const int64_t s = slots ? slots[j0 + j] : j0 + j;
        krows[j] = row_f32(k, tk, level, hk, s, ktile + j * Dkp);
        if (v_in_k) vrows[j] = krows[j];
        else if (v->type == DSEEK_TYPE_F32) vrows[j] = ds_tensor_ptr(v, 0, hk, s, 0);
        else {
          const void *src = ds_tensor_ptr(v, 0, hk, s, 0);
          if (!ds_attn_row_to_f32(level, v->type, src, vtile + j * Dv, Dv)) tv->to_float(src, vtile + j * Dv, Dv);
          vrows[j] = vtile + j * Dv;
        }
      }
      for (int j = n; j < B; j++) krows[j] = krows[0];   /* scored, then given -inf */
      /* the next block's cache rows, asked for now: past a few MiB of cache
       * the rows come from DRAM, and the per-row walk alone leaves the
       * loads waiting on it */
      for (int64_t j = j0 + B; j < DS_MIN(j0 + 2 * B, n_vis); j++) {
        const int64_t s = slots ? slots[j] : j;
        prefetch_row(ds_tensor_ptr(k, 0, hk, s, 0), (size_t)(Dk * tk->type_size / tk->block_size));
        if (!v_in_k) prefetch_row(ds_tensor_ptr(v, 0, hk, s, 0), (size_t)(Dv * tv->type_size / tv->block_size));
      }
      for (int64_t i = 0; i < nh; i++)
        head_block(level, Dkp, Dv, scale, qs + i * Dkp, krows, vrows, n, &mx[i], &l[i], o + i * Dv);
    }

    for (int64_t i = 0; i < nh; i++) {
      float *out = ds_tensor_ptr(dst, 0, h0 + i, t, 0);
      if (n_vis == 0) {   /* nothing visible: zeros, as the reference */
        memset(out, 0, (size_t)Dv * sizeof *out);
        continue;
      }
      const float inv = 1.0f / l[i];
      for (int64_t d = 0; d < Dv; d++) out[d] = o[i * Dv + d] * inv;
    }
  }
}
