/*
 * ops_rope.c — rotary position embedding (lib/models/README.md §1.4-1.5, §2, §3).
 *
 * For each head row x of a token at position p, pair j = 0 .. n_rot/2 - 1 is
 * rotated by theta_j = p * f_j:
 *     y0 = x0 cos(theta) - x1 sin(theta),  y1 = x0 sin(theta) + x1 cos(theta)
 * with (x0, x1) = (x[2j], x[2j+1]) in normal mode, (x[j], x[j + n_rot/2]) in
 * neox mode; dims >= n_rot pass through.
 *     f_j = freq_base^(-2j/n_rot) / freq_factor_j       (factor 1 if absent)
 * YaRN (factor s > 1, original context L, betas b_fast, b_slow, dim r = n_rot):
 *     corr(b) = r ln(L / (2 pi b)) / (2 ln freq_base)
 *     lo = max(floor(corr(b_fast)), 0),  hi = min(ceil(corr(b_slow)), r - 1)
 *     ramp_j = clamp((j - lo) / (hi - lo), 0, 1)    (hi == lo: hi += 0.001)
 *     f'_j = f_j / s * ramp_j + f_j * (1 - ramp_j)
 * and cos/sin are multiplied by the magnitude computed at build (mag).
 * Angles are computed in double: at positions ~1e5 a float angle would be off
 * by ~1e-2 rad.
 */
#include "kernels/ops.h"
#include "kernels/rope.h"

#include <math.h>

void ds_rope_freqs_init(ds_rope_freqs *r, int n_rot, double base, const float *factors, double yarn_s,
                        int orig_ctx, double beta_fast, double beta_slow)
{
  *r = (ds_rope_freqs){.n_rot = n_rot, .base = base, .yarn_s = yarn_s, .lo = 0.0, .hi = 1.0, .factors = factors};
  if (yarn_s > 1.0) {
    const double two_pi = 6.283185307179586;
    double c_fast = n_rot * log(orig_ctx / (two_pi * beta_fast)) / (2.0 * log(base));
    double c_slow = n_rot * log(orig_ctx / (two_pi * beta_slow)) / (2.0 * log(base));
    r->lo = fmax(floor(c_fast), 0.0);
    r->hi = fmin(ceil(c_slow), n_rot - 1.0);
    if (r->hi == r->lo) r->hi += 0.001;
  }
}

double ds_rope_freq(const ds_rope_freqs *r, int j)
{
  double f = pow(r->base, -2.0 * j / r->n_rot);
  if (r->factors) f /= r->factors[j];
  if (r->yarn_s > 1.0) {
    double ramp = fmin(fmax((j - r->lo) / (r->hi - r->lo), 0.0), 1.0);
    f = f / r->yarn_s * ramp + f * (1.0 - ramp);
  }
  return f;
}

/* mag (cos theta, sin theta) of pair j at this position, theta = position * freq_j */
static inline void rope_cos_sin(const ds_rope_freqs *rf, double position, int j, double mag, double *c, double *sn)
{
  const double theta = position * ds_rope_freq(rf, j);
  *c = cos(theta) * mag;
  *sn = sin(theta) * mag;
}

void ds_kernel_rope(const ds_kernel_params *p, ds_tensor *dst)
{
  const ds_tensor *a = dst->src[0], *pos = dst->src[1], *ff = dst->src[2];
  const ds_rope_op_params *rp = &dst->p.rope;
  const int n_rot = rp->n_rot, mode = rp->mode;
  const double mag = rp->mag;
  const int half = n_rot / 2;
  const int32_t *positions = pos->data;
  ds_rope_freqs rf;
  ds_rope_freqs_init(&rf, n_rot, rp->freq_base, ff ? ff->data : NULL, rp->yarn_s, rp->orig_ctx, rp->beta_fast,
                     rp->beta_slow);

  const int64_t n = dst->ne[0];
  int64_t r0, r1;
  ds_kernel_rows(ds_tensor_nrows(dst), p->ith, p->nth, &r0, &r1);
  /* cos and sin depend on (token, pair) only: computed once per token for
   * all its heads (rows of one token are consecutive), the same doubles */
  enum { MAX_CACHED = 256 };
  double cs[2 * MAX_CACHED];
  const bool cached = half <= MAX_CACHED;
  int64_t cached_t = -1;
  for (int64_t r = r0; r < r1; r++) {
    int64_t h = r % dst->ne[1], t = r / dst->ne[1];
    const float *x = ds_tensor_ptr(a, 0, h, t, 0);
    float *y = ds_tensor_ptr(dst, 0, h, t, 0);
    double position = positions[t];
    if (cached && t != cached_t) {
      for (int j = 0; j < half; j++) rope_cos_sin(&rf, position, j, mag, &cs[2 * j], &cs[2 * j + 1]);
      cached_t = t;
    }
    for (int j = 0; j < half; j++) {
      double c, sn;
      if (cached) {
        c = cs[2 * j];
        sn = cs[2 * j + 1];
      } else {
        rope_cos_sin(&rf, position, j, mag, &c, &sn);
      }
      int64_t k0 = mode == DS_ROPE_NEOX ? j : 2 * j;
      int64_t k1 = mode == DS_ROPE_NEOX ? j + half : 2 * j + 1;
      double x0 = x[k0], x1 = x[k1];
      y[k0] = (float)(x0 * c - x1 * sn);
      y[k1] = (float)(x0 * sn + x1 * c);
    }
    for (int64_t i = n_rot; i < n; i++) y[i] = x[i];
  }
}
