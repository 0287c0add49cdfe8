/*
 * vec_neon.c — dot kernels for AArch64 Advanced SIMD (vec.h). NEON is part of
 * every AArch64 CPU, so this file is compiled with the target's default flags
 * and cpu.c always reports DS_CPU_NEON there. Empty on other targets.
 *
 * Integer block dot (32 int8 pairs): vmull_s8 widens 8 products to s16
 * (|w q| <= 128 * 127 < 2^15), vpadalq_s16 adds pairs of them into 4 s32
 * lanes; one add across the lanes gives the block's exact sum isum_b, which
 * is then scaled and summed over blocks in block order exactly as the scalar
 * twin does (vec_scalar.c): the integer kernels give the twin's bits.
 *   Q8_0: isum_b = sum_j w_j q_j
 *   Q4_0: isum_b = sum_j u_j q_j - 8 s_b            (u = nibble, 0..15)
 *   Q4_K/Q5_K: isum_j = sum_l u_l q_l (levels 0..31), the min term from the
 *         QA block sums; Q6_K: two 16-value group sums, each times its scale.
 * The f32 dots (F32/F16/BF16 weights) keep 4 x 4 lanes of FMA partial sums
 * and add them at the end: only the summation order differs from the twin.
 * (ARMv8.2 sdot would do 4 products per lane in one instruction; not used
 * yet, so the kernels run on every AArch64 CPU.)
 */
#if defined(__aarch64__) && defined(__ARM_NEON)
#include "kernels/quants.h"
#include "kernels/vec.h"

#include <arm_neon.h>
#include <math.h>
#include <string.h>

#define ALWAYS_INLINE static inline __attribute__((always_inline))

/* ---- activation quantization: the same bytes as the scalar twin ---------- */

/* d = amax / 127, q = round_half_even(x * (1 / d)) (vcvtnq rounds to nearest
 * even, as nearbyintf in the default mode), s = sum q. */
static void quantize_qa(const float *x, int64_t K, void *dst)
{
  int8_t *q = dst;
  float *d = (float *)((char *)dst + K);
  int32_t *s = (int32_t *)(d + K / DS_QA_BLOCK);
  for (int64_t b = 0; b < K / DS_QA_BLOCK; b++) {
    const float *xb = x + b * DS_QA_BLOCK;
    float32x4_t v[8], m = vdupq_n_f32(0.0f);
    for (int i = 0; i < 8; i++) {
      v[i] = vld1q_f32(xb + 4 * i);
      m = vmaxq_f32(m, vabsq_f32(v[i]));
    }
    const float amax = vmaxvq_f32(m), db = amax / 127.0f, id = db != 0.0f ? 1.0f / db : 0.0f;
    int32x4_t sum = vdupq_n_s32(0);
    int16x8_t h[4];
    for (int i = 0; i < 4; i++) {
      int32x4_t a = vcvtnq_s32_f32(vmulq_n_f32(v[2 * i], id)), c = vcvtnq_s32_f32(vmulq_n_f32(v[2 * i + 1], id));
      sum = vaddq_s32(sum, vaddq_s32(a, c));
      h[i] = vcombine_s16(vmovn_s32(a), vmovn_s32(c));
    }
    vst1q_s8(q + b * DS_QA_BLOCK, vcombine_s8(vmovn_s16(h[0]), vmovn_s16(h[1])));
    vst1q_s8(q + b * DS_QA_BLOCK + 16, vcombine_s8(vmovn_s16(h[2]), vmovn_s16(h[3])));
    d[b] = db;
    s[b] = vaddvq_s32(sum);
  }
}

/* sum_j a_j b_j over 16 int8 pairs, added into acc's 4 s32 lanes. */
ALWAYS_INLINE int32x4_t dot16_s8(int32x4_t acc, int8x16_t a, int8x16_t b)
{
  acc = vpadalq_s16(acc, vmull_s8(vget_low_s8(a), vget_low_s8(b)));
  return vpadalq_s16(acc, vmull_high_s8(a, b));
}

/* ---- Q8_0 / Q4_0 ------------------------------------------------------------ */

static void dot_q8_0(int64_t K, const void *w, const void *x, size_t x_stride, int ncols, float *out)
{
  for (int c = 0; c < ncols; c++) {
    const void *xr = (const char *)x + (size_t)c * x_stride;
    const int8_t *xq = xr;
    const float *xd = ds_qa_d(xr, K);
    const uint8_t *wb = w;
    float sum = 0.0f;
    for (int64_t b = 0; b < K / DS_QA_BLOCK; b++, wb += 34) {
      int32x4_t acc = dot16_s8(vdupq_n_s32(0), vld1q_s8((const int8_t *)wb + 2), vld1q_s8(xq + b * 32));
      acc = dot16_s8(acc, vld1q_s8((const int8_t *)wb + 18), vld1q_s8(xq + b * 32 + 16));
      sum += (float)vaddvq_s32(acc) * (ds_get_half(wb) * xd[b]);
    }
    out[c] = sum;
  }
}

static void dot_q4_0(int64_t K, const void *w, const void *x, size_t x_stride, int ncols, float *out)
{
  const uint8x16_t lo4 = vdupq_n_u8(0x0F);
  for (int c = 0; c < ncols; c++) {
    const void *xr = (const char *)x + (size_t)c * x_stride;
    const int8_t *xq = xr;
    const float *xd = ds_qa_d(xr, K);
    const int32_t *xs = ds_qa_s(xr, K);
    const uint8_t *wb = w;
    float sum = 0.0f;
    for (int64_t b = 0; b < K / DS_QA_BLOCK; b++, wb += 18) {
      const uint8x16_t u = vld1q_u8(wb + 2);
      int32x4_t acc = dot16_s8(vdupq_n_s32(0), vreinterpretq_s8_u8(vandq_u8(u, lo4)), vld1q_s8(xq + b * 32));
      acc = dot16_s8(acc, vreinterpretq_s8_u8(vshrq_n_u8(u, 4)), vld1q_s8(xq + b * 32 + 16));
      sum += (float)(vaddvq_s32(acc) - 8 * xs[b]) * (ds_get_half(wb) * xd[b]);
    }
    out[c] = sum;
  }
}

/* ---- K-quants (quants_k.c layouts; the equations in vec_scalar.c) --------- */

static void dot_k4(int64_t K, const void *w, const void *x, size_t x_stride, int ncols, float *out, bool q5)
{
  const size_t bytes = q5 ? 176 : 144;
  const uint8x16_t lo4 = vdupq_n_u8(0x0F), one = vdupq_n_u8(1);
  for (int c = 0; c < ncols; c++) {
    const void *xr = (const char *)x + (size_t)c * x_stride;
    const int8_t *xq = xr;
    const float *xd = ds_qa_d(xr, K);
    const int32_t *xs = ds_qa_s(xr, K);
    float sum = 0.0f, msum = 0.0f;
    for (int64_t sb = 0; sb < K / DS_QK_K; sb++) {
      const uint8_t *b = (const uint8_t *)w + sb * bytes, *qh = b + 16;
      const float d = ds_get_half(b), dmin = ds_get_half(b + 2);
      const uint8x16_t h0 = vld1q_u8(qh), h1 = vld1q_u8(qh + 16);
      for (int j = 0; j < 8; j++) {
        const uint8_t *qs = b + (q5 ? 48 : 16) + 32 * (j / 2);
        const int64_t blk = sb * 8 + j;
        uint8x16_t u0 = vld1q_u8(qs), u1 = vld1q_u8(qs + 16);
        if (j % 2) {
          u0 = vshrq_n_u8(u0, 4);
          u1 = vshrq_n_u8(u1, 4);
        } else {
          u0 = vandq_u8(u0, lo4);
          u1 = vandq_u8(u1, lo4);
        }
        if (q5) {   /* + 16 where bit j of qh[l] is set */
          const int8x16_t sh = vdupq_n_s8((int8_t)-j);
          u0 = vorrq_u8(u0, vshlq_n_u8(vandq_u8(vshlq_u8(h0, sh), one), 4));
          u1 = vorrq_u8(u1, vshlq_n_u8(vandq_u8(vshlq_u8(h1, sh), one), 4));
        }
        uint8_t sc, m;
        ds_scale_min_k4(j, b + 4, &sc, &m);
        int32x4_t acc = dot16_s8(vdupq_n_s32(0), vreinterpretq_s8_u8(u0), vld1q_s8(xq + blk * 32));
        acc = dot16_s8(acc, vreinterpretq_s8_u8(u1), vld1q_s8(xq + blk * 32 + 16));
        sum += (float)vaddvq_s32(acc) * (d * (float)sc * xd[blk]);
        msum += (float)xs[blk] * (dmin * (float)m * xd[blk]);
      }
    }
    out[c] = sum - msum;
  }
}
static void dot_q4_k(int64_t K, const void *w, const void *x, size_t xs, int nc, float *out) { dot_k4(K, w, x, xs, nc, out, false); }
static void dot_q5_k(int64_t K, const void *w, const void *x, size_t xs, int nc, float *out) { dot_k4(K, w, x, xs, nc, out, true); }

static void dot_q6_k(int64_t K, const void *w, const void *x, size_t x_stride, int ncols, float *out)
{
  const uint8x16_t lo4 = vdupq_n_u8(0x0F), three = vdupq_n_u8(3);
  const int8x16_t k32 = vdupq_n_s8(32);
  for (int c = 0; c < ncols; c++) {
    const void *xr = (const char *)x + (size_t)c * x_stride;
    const int8_t *xq = xr;
    const float *xd = ds_qa_d(xr, K);
    float sum = 0.0f;
    for (int64_t sb = 0; sb < K / DS_QK_K; sb++) {
      const uint8_t *b = (const uint8_t *)w + sb * 210;
      const float d = ds_get_half(b + 208);
      const int8_t *sc = (const int8_t *)(b + 192);
      for (int h = 0; h < 2; h++)
        for (int r = 0; r < 4; r++) {
          const int64_t blk = sb * 8 + 4 * h + r;
          const uint8_t *ql = b + 64 * h + 32 * (r % 2), *qh = b + 128 + 32 * h;
          int32_t half[2];
          for (int g = 0; g < 2; g++) {   /* values 16g .. 16g + 15: one scale */
            uint8x16_t lo = vld1q_u8(ql + 16 * g), hi = vld1q_u8(qh + 16 * g);
            lo = r / 2 ? vshrq_n_u8(lo, 4) : vandq_u8(lo, lo4);
            hi = vandq_u8(vshlq_u8(hi, vdupq_n_s8((int8_t)(-2 * r))), three);
            const int8x16_t v = vsubq_s8(vreinterpretq_s8_u8(vorrq_u8(lo, vshlq_n_u8(hi, 4))), k32);
            half[g] = vaddvq_s32(dot16_s8(vdupq_n_s32(0), v, vld1q_s8(xq + blk * 32 + 16 * g)));
          }
          int32_t is = sc[8 * h + 2 * r] * half[0] + sc[8 * h + 2 * r + 1] * half[1];
          sum += (float)is * (d * xd[blk]);
        }
    }
    out[c] = sum;
  }
}

/* ---- f32-activation dots ------------------------------------------------------ */

/* One column: 16 lanes of partial sums w_i x_i (weights already f32 in wv
 * for i < K - K % 16), the tail in index order, lanes added at the end. */
#define DOT_F32_BODY(LOAD4, SCALAR)                                                          \
  for (int c = 0; c < ncols; c++) {                                                          \
    const float *xc = (const float *)((const char *)x + (size_t)c * x_stride);               \
    float32x4_t a0 = vdupq_n_f32(0), a1 = a0, a2 = a0, a3 = a0;                              \
    int64_t i = 0;                                                                           \
    for (; i + 16 <= K; i += 16) {                                                           \
      a0 = vfmaq_f32(a0, LOAD4(i), vld1q_f32(xc + i));                                       \
      a1 = vfmaq_f32(a1, LOAD4(i + 4), vld1q_f32(xc + i + 4));                               \
      a2 = vfmaq_f32(a2, LOAD4(i + 8), vld1q_f32(xc + i + 8));                               \
      a3 = vfmaq_f32(a3, LOAD4(i + 12), vld1q_f32(xc + i + 12));                             \
    }                                                                                        \
    float sum = vaddvq_f32(vaddq_f32(vaddq_f32(a0, a1), vaddq_f32(a2, a3)));                 \
    for (; i < K; i++) sum += SCALAR(i) * xc[i];                                             \
    out[c] = sum;                                                                            \
  }

static void dot_f32(int64_t K, const void *w, const void *x, size_t x_stride, int ncols, float *out)
{
  const float *wf = w;
#define LOAD4(i) vld1q_f32(wf + (i))
#define SCALAR(i) wf[i]
  DOT_F32_BODY(LOAD4, SCALAR)
#undef LOAD4
#undef SCALAR
}

static void dot_f16(int64_t K, const void *w, const void *x, size_t x_stride, int ncols, float *out)
{
  const uint16_t *wh = w;
#define LOAD4(i) vcvt_f32_f16(vreinterpret_f16_u16(vld1_u16(wh + (i))))
#define SCALAR(i) ds_f16_to_f32(wh[i])
  DOT_F32_BODY(LOAD4, SCALAR)
#undef LOAD4
#undef SCALAR
}

/* bf16 is the top half of an f32: widen by a 16-bit shift (exact). */
static void dot_bf16(int64_t K, const void *w, const void *x, size_t x_stride, int ncols, float *out)
{
  const uint16_t *wh = w;
#define LOAD4(i) vreinterpretq_f32_u32(vshll_n_u16(vld1_u16(wh + (i)), 16))
#define SCALAR(i) ds_bf16_to_f32(wh[i])
  DOT_F32_BODY(LOAD4, SCALAR)
#undef LOAD4
#undef SCALAR
}

static void axpy_f32(int64_t n, float a, const float *x, float *y)
{
  int64_t i = 0;
  for (; i + 4 <= n; i += 4) vst1q_f32(y + i, vfmaq_n_f32(vld1q_f32(y + i), vld1q_f32(x + i), a));
  for (; i < n; i++) y[i] += a * x[i];
}

const ds_vec_kernels ds_vec_neon = {
  .name = "neon",
  .quantize_qa = quantize_qa,
  .dot_q8_0 = dot_q8_0,
  .dot_q4_0 = dot_q4_0,
  .dot_f32 = dot_f32,
  .dot_f16 = dot_f16,
  .dot_bf16 = dot_bf16,
  .dot_q4_k = dot_q4_k,
  .dot_q5_k = dot_q5_k,
  .dot_q6_k = dot_q6_k,
  .gemm_r16 = NULL,
  .pack_r16 = NULL,
  .axpy_f32 = axpy_f32,
};
#else
typedef int ds_vec_neon_unused;   /* ISO C forbids an empty translation unit */
#endif
