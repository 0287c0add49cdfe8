/*
 * vec_neon.c — dot kernels for AArch64 Advanced SIMD (vec.h). NEON is part of
 * every AArch64 CPU, so this file is compiled with the target's default flags
 * and cpu.c reports at least DS_CPU_NEON there. Empty on other targets.
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
 * The integer dots exist twice (vec_neon_int.h): with the base instructions
 * (ds_vec_neon, DS_CPU_NEON) and with the ARMv8.2 dot product, 4 products per
 * lane in one sdot (ds_vec_neon_dotprod, DS_CPU_NEON_DOTPROD, where the CPU
 * reports it); both give the twin's bits. So does the R8 Q4_K dot
 * (q4_k_r8_neon.h, included with them), eight interleaved rows per call in
 * the lanes of two registers, in q4_k_r8.h's summation order.
 */
#if defined(__aarch64__) && defined(__ARM_NEON)
#include "core/platform.h"   /* ds_fmaf */
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
    /* id = 0 also where 1/d overflows (d below 2^-128), as the scalar twin */
    const float amax = vmaxvq_f32(m), db = amax / 127.0f, id = db != 0.0f && !isinf(1.0f / db) ? 1.0f / db : 0.0f;
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

/* ---- the integer dots, compiled twice (vec_neon_int.h): with the base
 * instructions, and with the ARMv8.2 dot product for CPUs that have it --- */

/* sum_j a_j b_j over 16 int8 pairs, added into acc's 4 s32 lanes. */
ALWAYS_INLINE int32x4_t dot16_mull(int32x4_t acc, int8x16_t a, int8x16_t b)
{
  acc = vpadalq_s16(acc, vmull_s8(vget_low_s8(a), vget_low_s8(b)));
  return vpadalq_s16(acc, vmull_high_s8(a, b));
}
/* The R8 kernels' four row sums (lane i: products 4i .. 4i + 3): the 8
 * products of each half widened into int16 lanes by vmlal (a block's 8
 * chunks of u q <= 15 * 127 add up to < 2^14 in each), then pairs of pairs
 * added into int32 once per block. */
ALWAYS_INLINE int16x8x2_t dot4_mlal(int16x8x2_t acc, int8x16_t u, int8x16_t q)
{
  acc.val[0] = vmlal_s8(acc.val[0], vget_low_s8(u), vget_low_s8(q));
  acc.val[1] = vmlal_high_s8(acc.val[1], u, q);
  return acc;
}
ALWAYS_INLINE int32x4_t rows_mlal(int16x8x2_t acc)
{
  return vpaddq_s32(vpaddlq_s16(acc.val[0]), vpaddlq_s16(acc.val[1]));
}
#define DOT16 dot16_mull
#define NEON_FN(name) name##_neon
#define R8_ACC int16x8x2_t
#define R8_ZERO ((int16x8x2_t){{vdupq_n_s16(0), vdupq_n_s16(0)}})
#define R8_DOT4 dot4_mlal
#define R8_ROWS rows_mlal
#include "kernels/vec_neon_int.h"
#include "kernels/q4_k_r8_neon.h"
#undef DOT16
#undef NEON_FN
#undef R8_ACC
#undef R8_ZERO
#undef R8_DOT4
#undef R8_ROWS

#if defined(__clang__)
#pragma clang attribute push(__attribute__((target("dotprod"))), apply_to = function)
#else
#pragma GCC push_options
#pragma GCC target("arch=armv8.2-a+dotprod")
#endif
/* sdot: 4 products per s32 lane in one instruction (same exact sum). */
ALWAYS_INLINE int32x4_t dot16_sdot(int32x4_t acc, int8x16_t a, int8x16_t b) { return vdotq_s32(acc, a, b); }
#define DOT16 dot16_sdot
#define NEON_FN(name) name##_dotprod
#define R8_ACC int32x4_t   /* sdot sums each lane's 4 products itself */
#define R8_ZERO vdupq_n_s32(0)
#define R8_DOT4 vdotq_s32
#define R8_ROWS(acc) (acc)
#include "kernels/vec_neon_int.h"
#include "kernels/q4_k_r8_neon.h"
#undef DOT16
#undef NEON_FN
#undef R8_ACC
#undef R8_ZERO
#undef R8_DOT4
#undef R8_ROWS
#if defined(__clang__)
#pragma clang attribute pop
#else
#pragma GCC pop_options
#endif

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
  .dot_q8_0 = dot_q8_0_neon,
  .dot_q4_0 = dot_q4_0_neon,
  .dot_q5_0 = dot_q5_0_neon,
  .dot_f32 = dot_f32,
  .dot_f16 = dot_f16,
  .dot_bf16 = dot_bf16,
  .dot_q4_k = dot_q4_k_neon,
  .dot_q5_k = dot_q5_k_neon,
  .dot_q6_k = dot_q6_k_neon,
  .dot_q4_k_r8 = dot_q4_k_r8_neon,
  .axpy_f32 = axpy_f32,
};

const ds_vec_kernels ds_vec_neon_dotprod = {
  .name = "dotprod",
  .quantize_qa = quantize_qa,
  .dot_q8_0 = dot_q8_0_dotprod,
  .dot_q4_0 = dot_q4_0_dotprod,
  .dot_q5_0 = dot_q5_0_dotprod,
  .dot_f32 = dot_f32,
  .dot_f16 = dot_f16,
  .dot_bf16 = dot_bf16,
  .dot_q4_k = dot_q4_k_dotprod,
  .dot_q5_k = dot_q5_k_dotprod,
  .dot_q6_k = dot_q6_k_dotprod,
  .dot_q4_k_r8 = dot_q4_k_r8_dotprod,
  .axpy_f32 = axpy_f32,
};
#else
typedef int ds_vec_neon_unused;   /* ISO C forbids an empty translation unit */
#endif
