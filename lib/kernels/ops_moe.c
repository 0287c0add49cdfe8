/*
 * ops_moe.c — DeepSeekMoE kernels (lib/models/README.md §1.6): expert selection, expert
 * weights and the weighted sum.
 *
 * Router, per token t (row of logits [E]), in f32:
 *   s    = softmax(logits) or sigmoid(logits)
 *   sel  = s + bias                           (bias only steers selection)
 *   groups (n_group > 1): score_g = max(sel in g) or sum of the top-2 sel in g;
 *        keep the n_group_used best groups, other experts are not eligible
 *   ids  = the k best eligible sel, best first (ties: lower index)
 *   w_j  = s[ids_j] (/ (sum_j s[ids_j] + 1e-20) when norm and k > 1) * scale
 *
 * The grouped expert product itself (mul_mat_id, and its fused gate/up form)
 * is in ops_moe_mm.c.
 */
#include "kernels/ops.h"

#include <math.h>

/* Does (a at ia) rank before (b at ib)? Larger first, NaN last, ties to the
 * lower index (as top_k). */
static inline bool ranks_before(float a, int64_t ia, float b, int64_t ib)
{
  if (isnan(a) || isnan(b)) return isnan(b) && (!isnan(a) || ia < ib);
  return a > b || (a == b && ia < ib);
}

/* s = softmax(x) or sigmoid(x) over n values. */
static void moe_scores(const float *x, int64_t n, int scoring, float *s)
{
  if (scoring == DS_MOE_SIGMOID) {
    for (int64_t i = 0; i < n; i++) s[i] = 1.0f / (1.0f + expf(-x[i]));
    return;
  }
  float max = -INFINITY, sum = 0.0f;
  for (int64_t i = 0; i < n; i++) max = x[i] > max ? x[i] : max;
  for (int64_t i = 0; i < n; i++) {
    s[i] = expf(x[i] - max);
    sum += s[i];
  }
  for (int64_t i = 0; i < n; i++) s[i] /= sum;
}

/* Indices of the k best of x[0..n) (skipping -inf when skip_neg_inf) into idx,
 * by insertion into a sorted list. Returns how many were found. */
static int64_t best_k(const float *x, int64_t n, int64_t k, int32_t *idx)
{
  int64_t count = 0;
  for (int64_t i = 0; i < n; i++) {
    if (x[i] == -INFINITY) continue;
    int64_t at = count;
    while (at > 0 && ranks_before(x[i], i, x[idx[at - 1]], idx[at - 1])) at--;
    if (at >= k) continue;
    int64_t last = count < k ? count : k - 1;
    for (int64_t j = last; j > at; j--) idx[j] = idx[j - 1];
    idx[at] = (int32_t)i;
    if (count < k) count++;
  }
  return count;
}

void ds_kernel_moe_route(const ds_kernel_params *p, ds_tensor *dst)
{
  const ds_tensor *logits = dst->src[0], *bias = dst->src[1];
  const ds_moe_params *mp = &dst->p.moe;
  const int64_t E = logits->ne[0], k = mp->n_used, G = mp->n_group, G_used = mp->n_group_used;
  const int scoring = mp->scoring;
  const bool top2sum = mp->group_top2sum;
  const int64_t per_group = E / G;
  float *s = p->scratch, *gscore = s + E;
  int32_t *gidx = (int32_t *)(gscore + G);
  int64_t r0, r1;
  ds_kernel_rows(logits->ne[1], p->ith, p->nth, &r0, &r1);
  for (int64_t t = r0; t < r1; t++) {
    moe_scores(ds_tensor_ptr(logits, 0, t, 0, 0), E, scoring, s);
    if (bias)
      for (int64_t e = 0; e < E; e++) s[e] += ((const float *)bias->data)[e];
    if (G > 1) {
      for (int64_t g = 0; g < G; g++) {
        const float *v = s + g * per_group;
        int32_t top[2];
        int64_t n = best_k(v, per_group, top2sum ? 2 : 1, top);
        gscore[g] = n == 0 ? -INFINITY : top2sum && n == 2 ? v[top[0]] + v[top[1]] : v[top[0]];
      }
      int64_t kept = best_k(gscore, G, G_used, gidx);
      for (int64_t g = 0; g < G; g++) {
        bool keep = false;
        for (int64_t i = 0; i < kept; i++) keep = keep || gidx[i] == g;
        if (!keep)
          for (int64_t e = 0; e < per_group; e++) s[g * per_group + e] = -INFINITY;
      }
    }
    int32_t *ids = ds_tensor_ptr(dst, 0, t, 0, 0);
    int64_t n = best_k(s, E, k, ids);
    /* NaN scores leave fewer than k eligible experts: fill with the first
     * unused ids so that every id is valid (the logits are NaN anyway) */
    for (int64_t e = 0; n < k && e < E; e++) {
      bool used = false;
      for (int64_t i = 0; i < n; i++) used = used || ids[i] == e;
      if (!used) ids[n++] = (int32_t)e;
    }
  }
}

void ds_kernel_moe_weights(const ds_kernel_params *p, ds_tensor *dst)
{
  const ds_tensor *logits = dst->src[0], *ids_t = dst->src[1];
  const ds_moe_params *mp = &dst->p.moe;
  const int64_t E = logits->ne[0], k = mp->n_used;
  const bool norm = mp->norm && k > 1;
  const float scale = mp->scale;
  float *s = p->scratch;
  int64_t r0, r1;
  ds_kernel_rows(logits->ne[1], p->ith, p->nth, &r0, &r1);
  for (int64_t t = r0; t < r1; t++) {
    moe_scores(ds_tensor_ptr(logits, 0, t, 0, 0), E, mp->scoring, s);
    const int32_t *ids = ds_tensor_ptr(ids_t, 0, t, 0, 0);
    float *w = ds_tensor_ptr(dst, 0, t, 0, 0), sum = 0.0f;
    for (int64_t j = 0; j < k; j++) {
      if (ids[j] < 0 || ids[j] >= E) {
        ds_kernel_fail(p, dst, ids[j]);
        w[j] = 0.0f;
        continue;
      }
      w[j] = s[ids[j]];
      sum += w[j];
    }
    for (int64_t j = 0; j < k; j++) w[j] = (norm ? w[j] / (sum + 1e-20f) : w[j]) * scale;
  }
}

void ds_kernel_moe_sum(const ds_kernel_params *p, ds_tensor *dst)
{
  const ds_tensor *y = dst->src[0], *w = dst->src[1];
  const int64_t n = y->ne[0], k = y->ne[1];
  int64_t r0, r1;
  ds_kernel_rows(dst->ne[1], p->ith, p->nth, &r0, &r1);
  for (int64_t t = r0; t < r1; t++) {
    float *out = ds_tensor_ptr(dst, 0, t, 0, 0);
    const float *wt = ds_tensor_ptr(w, 0, t, 0, 0);
    for (int64_t i = 0; i < n; i++) out[i] = 0.0f;
    for (int64_t j = 0; j < k; j++) {
      const float *yj = ds_tensor_ptr(y, 0, j, t, 0);
      for (int64_t i = 0; i < n; i++) out[i] += wt[j] * yj[i];
    }
  }
}
