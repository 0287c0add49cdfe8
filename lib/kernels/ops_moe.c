/*
 * ops_moe.c — DeepSeekMoE kernels (MODELS.md 1): expert selection, expert
 * weights, the grouped expert product, and the weighted sum.
 *
 * Router, per token t (row of logits [E]), in f32:
 *   s    = softmax(logits) or sigmoid(logits)
 *   sel  = s + bias                           (bias only steers selection)
 *   groups (n_group > 1): score_g = max(sel in g) or sum of the top-2 sel in g;
 *        keep the n_group_used best groups, other experts are not eligible
 *   ids  = the k best eligible sel, best first (ties: lower index)
 *   w_j  = s[ids_j] (/ (sum_j s[ids_j] + 1e-20) when norm and k > 1) * scale
 *
 * mul_mat_id: out[:, j, t] = W_e x[:, j % X1, t] with e = ids[j, t]. Every
 * thread counting-sorts the (j, t) pairs by expert (the same order on every
 * thread: t, then j), then takes a contiguous share of the (used expert, row n)
 * units: weight row n of expert e is decoded once and dotted with every input
 * routed to e. Each output element belongs to one unit, so the bits do not
 * depend on the thread count.
 *
 * That is the reference (DS_CPU_REFERENCE). Above it (vec.h) a Q8_0/Q4_0
 * expert weight is dotted in place against the input columns quantized once
 * to QA rows (as mul_mat does: activations rounded to int8 per 32-block), and
 * other types dot the decoded row with the level's f32 dot. Either way every
 * (row, input) pair is one single-column dot, so an input's result does not
 * depend on which other tokens share its expert: n samples decoded together
 * give each sample the bits of its run alone.
 */
#include "kernels/cpu.h"
#include "kernels/fp8.h"
#include "kernels/ops.h"
#include "kernels/types.h"
#include "kernels/vec.h"

#include <math.h>
#include <string.h>

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
  const int64_t E = logits->ne[0], k = dst->op_i[0], G = dst->op_i[2], G_used = dst->op_i[3];
  const int scoring = dst->op_i[1];
  const bool top2sum = dst->op_i[4] != 0;
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
  const int64_t E = logits->ne[0], k = dst->op_i[0];
  const bool norm = dst->op_i[5] != 0 && k > 1;
  const float scale = dst->op_f[0];
  float *s = p->scratch;
  int64_t r0, r1;
  ds_kernel_rows(logits->ne[1], p->ith, p->nth, &r0, &r1);
  for (int64_t t = r0; t < r1; t++) {
    moe_scores(ds_tensor_ptr(logits, 0, t, 0, 0), E, dst->op_i[1], s);
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

/* Expert e's matrix and (FP8) scale grid. */
static const void *expert_matrix(const ds_tensor *w, const ds_tensor *table, int64_t e)
{
  if (table) return (const void *)(uintptr_t)((const int64_t *)table->data)[2 * e];
  return (const char *)w->data + e * (int64_t)w->nb[2];
}

static const float *expert_scale(const ds_tensor *scale, const ds_tensor *table, int64_t e)
{
  if (!scale) return NULL;
  if (table) return (const float *)(uintptr_t)((const int64_t *)table->data)[2 * e + 1];
  return (const float *)((const char *)scale->data + e * (int64_t)scale->nb[2]);
}

/* Byte offset of the QA rows in mul_mat_id's scratch: after the decoded row
 * [K] floats, start [E + 1] and pairs [n_pairs] (int32), 64-byte aligned. */
static size_t mul_mat_id_qa_offset(int64_t K, int64_t E, int64_t n_pairs)
{
  size_t bytes = (size_t)(K + E + 1 + n_pairs) * 4;
  return (bytes + 63) & ~(size_t)63;
}

size_t ds_kernel_mul_mat_id_scratch_floats(const ds_tensor *node)
{
  const ds_tensor *w = node->src[0], *x = node->src[1], *ids = node->src[2];
  size_t qa = (size_t)(x->ne[1] * x->ne[2]) * ds_qa_row_bytes(w->ne[0]);
  return (mul_mat_id_qa_offset(w->ne[0], w->ne[2], ids->ne[0] * ids->ne[1]) + qa) / sizeof(float);
}

void ds_kernel_mul_mat_id(const ds_kernel_params *p, ds_tensor *dst)
{
  const ds_tensor *w = dst->src[0], *x = dst->src[1], *ids_t = dst->src[2];
  const ds_tensor *scale = dst->src[3], *table = dst->src[4];
  const ds_type_traits *tr = ds_type_traits_get(w->type);
  const int64_t K = w->ne[0], N = w->ne[1], E = w->ne[2], k = ids_t->ne[0], T = ids_t->ne[1];
  const int64_t X1 = x->ne[1];
  const int32_t *ids = ids_t->data;
  /* scratch: decoded row [K], start[E + 1], pairs[k * T] (j + k * t, by expert) */
  float *row = p->scratch;
  int32_t *start = (int32_t *)(row + K), *pairs = start + E + 1;

  memset(start, 0, (size_t)(E + 1) * sizeof *start);
  for (int64_t i = 0; i < k * T; i++)
    if (ids[i] >= 0 && ids[i] < E) start[ids[i] + 1]++;
  for (int64_t e = 0; e < E; e++) start[e + 1] += start[e];
  /* fill by expert; start[e] advances to the end of e's range, then shifts back */
  for (int64_t i = 0; i < k * T; i++)
    if (ids[i] >= 0 && ids[i] < E) pairs[start[ids[i]]++] = (int32_t)i;
  for (int64_t e = E; e > 0; e--) start[e] = start[e - 1];
  start[0] = 0;

  if (p->ith == 0) {
    for (int64_t i = 0; i < k * T; i++) {
      if (ids[i] >= 0 && ids[i] < E) continue;
      ds_kernel_fail(p, dst, ids[i]);
      memset(ds_tensor_ptr(dst, 0, i % k, i / k, 0), 0, (size_t)N * sizeof(float));
    }
  }

  /* Above the reference level: the level's dots; Q8_0/Q4_0 against QA rows of
   * every input column, quantized by each thread into its own scratch. */
  const ds_cpu_level level = ds_cpu_level_get();
  const ds_vec_kernels *vk = level == DS_CPU_REFERENCE ? NULL : ds_vec_get(level);
  const ds_vec_dot_fn qdot = !vk || scale ? NULL
                             : w->type == DSEEK_TYPE_Q8_0 ? vk->dot_q8_0
                             : w->type == DSEEK_TYPE_Q4_0 ? vk->dot_q4_0 : NULL;
  const size_t qa_bytes = ds_qa_row_bytes(K);
  char *qa = (char *)p->scratch + mul_mat_id_qa_offset(K, E, k * T);
  if (qdot)
    for (int64_t c = 0; c < X1 * T; c++)
      vk->quantize_qa(ds_tensor_ptr(x, 0, c % X1, c / X1, 0), K, qa + (size_t)c * qa_bytes);

  int64_t n_used = 0;
  for (int64_t e = 0; e < E; e++) n_used += start[e + 1] > start[e];
  int64_t u0, u1;
  ds_kernel_rows(n_used * N, p->ith, p->nth, &u0, &u1);
  int64_t used_index = -1, e = -1;
  for (int64_t u = u0; u < u1; u++) {
    int64_t want = u / N, n = u % N;
    while (used_index < want) {   /* advance to the want-th used expert */
      e++;
      if (start[e + 1] > start[e]) used_index++;
    }
    const char *wrow = (const char *)expert_matrix(w, table, e) + n * (int64_t)w->nb[1];
    if (qdot) {
      for (int32_t i = start[e]; i < start[e + 1]; i++) {
        int64_t j = pairs[i] % k, t = pairs[i] / k;
        qdot(K, wrow, qa + (size_t)(t * X1 + j % X1) * qa_bytes, qa_bytes, 1, ds_tensor_ptr(dst, n, j, t, 0));
      }
      continue;
    }
    const float *r = (const float *)wrow;
    const float *sc = expert_scale(scale, table, e);
    if (sc) {
      int64_t sr, scols;
      ds_fp8_scale_shape(N, K, &sr, &scols);
      ds_fp8_row_kernel(level)((const uint8_t *)wrow, sc + (n / DS_FP8_BLOCK) * scols, K, row);
      r = row;
    } else if (w->type != DSEEK_TYPE_F32) {
      tr->to_float(wrow, row, K);
      r = row;
    }
    for (int32_t i = start[e]; i < start[e + 1]; i++) {
      int64_t j = pairs[i] % k, t = pairs[i] / k;
      const float *col = ds_tensor_ptr(x, 0, j % X1, t, 0);
      float *o = ds_tensor_ptr(dst, n, j, t, 0);
      if (vk) vk->dot_f32(K, r, col, 0, 1, o);
      else *o = ds_dot_f32(r, col, K);
    }
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
