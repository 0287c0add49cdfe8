/* ops_rows.c — kernels that reduce over a row (dim 0): rms_norm, softmax,
 * top_k. Each row is handled by one thread, summing in index order. */
#include "kernels/ops.h"

#include <math.h>

static inline void row_at(const ds_tensor *t, int64_t r, int64_t *i1, int64_t *i2, int64_t *i3)
{
  *i1 = r % t->ne[1];
  *i2 = (r / t->ne[1]) % t->ne[2];
  *i3 = r / (t->ne[1] * t->ne[2]);
}

/* y = x / sqrt(mean(x^2) + eps) */
void ds_kernel_rms_norm(const ds_kernel_params *p, ds_tensor *dst)
{
  const ds_tensor *a = dst->src[0];
  float eps = dst->p.rms_norm.eps;
  int64_t n = dst->ne[0], r0, r1;
  ds_kernel_rows(ds_tensor_nrows(dst), p->ith, p->nth, &r0, &r1);
  for (int64_t r = r0; r < r1; r++) {
    int64_t i1, i2, i3;
    row_at(dst, r, &i1, &i2, &i3);
    const float *x = ds_tensor_ptr(a, 0, i1, i2, i3);
    float *y = ds_tensor_ptr(dst, 0, i1, i2, i3);
    float ss = 0.0f;
    for (int64_t i = 0; i < n; i++) ss += x[i] * x[i];
    float inv = 1.0f / sqrtf(ss / (float)n + eps);
    for (int64_t i = 0; i < n; i++) y[i] = x[i] * inv;
  }
}

/* v = scale * x + mask;  y = exp(v - max v) / sum exp(v - max v).
 * Subtracting the max keeps exp() <= 1 (no overflow); a row of all -inf
 * (nothing visible) gives zeros rather than 0/0. */
void ds_kernel_softmax(const ds_kernel_params *p, ds_tensor *dst)
{
  const ds_tensor *a = dst->src[0], *mask = dst->src[1];
  float scale = dst->p.softmax.scale;
  int64_t n = dst->ne[0], r0, r1;
  ds_kernel_rows(ds_tensor_nrows(dst), p->ith, p->nth, &r0, &r1);
  for (int64_t r = r0; r < r1; r++) {
    int64_t i1, i2, i3;
    row_at(dst, r, &i1, &i2, &i3);
    const float *x = ds_tensor_ptr(a, 0, i1, i2, i3);
    const float *m = mask ? ds_tensor_ptr(mask, 0, i1 % mask->ne[1], i2 % mask->ne[2],
                                          i3 % mask->ne[3])
                          : NULL;
    float *y = ds_tensor_ptr(dst, 0, i1, i2, i3);
    float max = -INFINITY;
    for (int64_t i = 0; i < n; i++) {
      y[i] = scale * x[i] + (m ? m[i] : 0.0f);
      if (y[i] > max) max = y[i];
    }
    if (max == -INFINITY) {
      for (int64_t i = 0; i < n; i++) y[i] = 0.0f;
      continue;
    }
    float sum = 0.0f;
    for (int64_t i = 0; i < n; i++) {
      y[i] = expf(y[i] - max);
      sum += y[i];
    }
    float inv = 1.0f / sum;
    for (int64_t i = 0; i < n; i++) y[i] *= inv;
  }
}

/* Does (value a at index ia) rank before (b at ib)? Larger first, NaN last,
 * ties to the lower index. */
static inline bool ranks_before(float a, int64_t ia, float b, int64_t ib)
{
  if (isnan(a) || isnan(b)) return isnan(b) && (!isnan(a) || ia < ib);
  return a > b || (a == b && ia < ib);
}

/* idx = the k best of row x in rank order, by insertion into a sorted list
 * of length k: O(n k), fine for expert routing (k = 6..8 of 64..256). */
void ds_kernel_top_k(const ds_kernel_params *p, ds_tensor *dst)
{
  const ds_tensor *a = dst->src[0];
  int64_t n = a->ne[0], k = dst->ne[0], r0, r1;
  ds_kernel_rows(ds_tensor_nrows(dst), p->ith, p->nth, &r0, &r1);
  for (int64_t r = r0; r < r1; r++) {
    int64_t i1, i2, i3;
    row_at(dst, r, &i1, &i2, &i3);
    const float *x = ds_tensor_ptr(a, 0, i1, i2, i3);
    int32_t *idx = ds_tensor_ptr(dst, 0, i1, i2, i3);
    int64_t count = 0;
    for (int64_t i = 0; i < n; i++) {
      int64_t at = count;
      while (at > 0 && ranks_before(x[i], i, x[idx[at - 1]], idx[at - 1])) at--;
      if (at >= k) continue;
      int64_t last = count < k ? count : k - 1;
      for (int64_t j = last; j > at; j--) idx[j] = idx[j - 1];
      idx[at] = (int32_t)i;
      if (count < k) count++;
    }
  }
}
