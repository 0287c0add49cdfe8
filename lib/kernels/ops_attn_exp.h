/*
 * ops_attn_exp.h — exp(x) for softmax, as one formula in plain C (the scalar
 * twin) and in AVX2, AVX-512 and NEON registers, each step the same IEEE
 * operation, so every level gives the scalar twin's bits.
 *
 *   n = round(x log2 e)          via t = fma(x, log2 e, 1.5 2^23), n = t - 1.5 2^23
 *                                (round to nearest even: the default mode)
 *   r = x - n ln2                two fmas with ln2 = C1 + C2 (C1 has 9 bits,
 *                                so n C1 is exact), |r| <= ln2 / 2
 *   p = 1 + r + r^2 P(r)         P of degree 5, Horner with fmas
 *   exp(x) = p 2^n               2^n from n's bits: the low bits of t are n
 *                                (two's complement), (bits(t) << 23) + bits(1.0f)
 * The range reduction constants and P are Cephes' expf.c (Stephen L. Moshier,
 * Cephes Math Library). x is clamped to [EXP_LO, EXP_HI] first, so n is in
 * [-126, 127] and 2^n is a normal float; x < EXP_LO (and -inf) gives 0,
 * x > EXP_HI gives exp(EXP_HI) (softmax arguments are <= 0), NaN gives NaN.
 * The accuracy against the correctly rounded exp is measured by
 * tests/kernels/test_attn_exp.c (the bound it asserts is stated there).
 */
#ifndef DS_KERNELS_OPS_ATTN_EXP_H
#define DS_KERNELS_OPS_ATTN_EXP_H

#include "core/platform.h"   /* ds_fmaf */
#include "kernels/cpu.h"

#include <stdint.h>
#include <string.h>

#define DS_EXP_LO (-87.33654f)          /* below: 0 (exp(EXP_LO) is about FLT_MIN) */
#define DS_EXP_HI 88.37626f             /* above: clamped (exp(EXP_HI) is below FLT_MAX) */
#define DS_EXP_LOG2E 1.44269504088896341f
#define DS_EXP_MAGIC 12582912.0f        /* 1.5 2^23: adding it rounds to an integer */
#define DS_EXP_C1 0.693359375f          /* ln 2 = C1 + C2 */
#define DS_EXP_C2 (-2.12194440e-4f)
#define DS_EXP_P0 1.9875691500e-4f
#define DS_EXP_P1 1.3981999507e-3f
#define DS_EXP_P2 8.3334519073e-3f
#define DS_EXP_P3 4.1665795894e-2f
#define DS_EXP_P4 1.6666665459e-1f
#define DS_EXP_P5 5.0000001201e-1f

/* The scalar twin: the formula above one float at a time. */
static inline float ds_attn_exp1(float x)
{
  if (x != x) return x;
  if (x < DS_EXP_LO) return 0.0f;
  if (x > DS_EXP_HI) x = DS_EXP_HI;
  const float t = ds_fmaf(x, DS_EXP_LOG2E, DS_EXP_MAGIC);
  const float n = t - DS_EXP_MAGIC;
  float r = ds_fmaf(n, -DS_EXP_C1, x);
  r = ds_fmaf(n, -DS_EXP_C2, r);
  float p = ds_fmaf(DS_EXP_P0, r, DS_EXP_P1);
  p = ds_fmaf(p, r, DS_EXP_P2);
  p = ds_fmaf(p, r, DS_EXP_P3);
  p = ds_fmaf(p, r, DS_EXP_P4);
  p = ds_fmaf(p, r, DS_EXP_P5);
  p = ds_fmaf(p, r * r, r) + 1.0f;
  uint32_t tb, sb;
  memcpy(&tb, &t, 4);
  sb = (tb << 23) + 0x3F800000u;
  float s;
  memcpy(&s, &sb, 4);
  return p * s;
}

#if defined(__x86_64__) && defined(__GNUC__)
#include <immintrin.h>

/* Eight lanes of the formula (AVX2 + FMA). */
__attribute__((target("avx2,fma"))) static inline __m256 ds_attn_exp8_avx2(__m256 x)
{
  const __m256 lo = _mm256_set1_ps(DS_EXP_LO), magic = _mm256_set1_ps(DS_EXP_MAGIC);
  const __m256 xc = _mm256_min_ps(_mm256_max_ps(x, lo), _mm256_set1_ps(DS_EXP_HI));
  const __m256 t = _mm256_fmadd_ps(xc, _mm256_set1_ps(DS_EXP_LOG2E), magic);
  const __m256 n = _mm256_sub_ps(t, magic);
  __m256 r = _mm256_fmadd_ps(n, _mm256_set1_ps(-DS_EXP_C1), xc);
  r = _mm256_fmadd_ps(n, _mm256_set1_ps(-DS_EXP_C2), r);
  __m256 p = _mm256_fmadd_ps(_mm256_set1_ps(DS_EXP_P0), r, _mm256_set1_ps(DS_EXP_P1));
  p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(DS_EXP_P2));
  p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(DS_EXP_P3));
  p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(DS_EXP_P4));
  p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(DS_EXP_P5));
  p = _mm256_add_ps(_mm256_fmadd_ps(p, _mm256_mul_ps(r, r), r), _mm256_set1_ps(1.0f));
  const __m256i sb = _mm256_add_epi32(_mm256_slli_epi32(_mm256_castps_si256(t), 23), _mm256_set1_epi32(0x3F800000));
  __m256 y = _mm256_mul_ps(p, _mm256_castsi256_ps(sb));
  y = _mm256_andnot_ps(_mm256_cmp_ps(x, lo, _CMP_LT_OQ), y);                /* x < EXP_LO: 0 */
  return _mm256_blendv_ps(y, x, _mm256_cmp_ps(x, x, _CMP_UNORD_Q));         /* NaN: x */
}

/* Sixteen lanes of the formula (AVX-512F). */
__attribute__((target("avx512f"))) static inline __m512 ds_attn_exp16_avx512(__m512 x)
{
  const __m512 lo = _mm512_set1_ps(DS_EXP_LO), magic = _mm512_set1_ps(DS_EXP_MAGIC);
  const __m512 xc = _mm512_min_ps(_mm512_max_ps(x, lo), _mm512_set1_ps(DS_EXP_HI));
  const __m512 t = _mm512_fmadd_ps(xc, _mm512_set1_ps(DS_EXP_LOG2E), magic);
  const __m512 n = _mm512_sub_ps(t, magic);
  __m512 r = _mm512_fmadd_ps(n, _mm512_set1_ps(-DS_EXP_C1), xc);
  r = _mm512_fmadd_ps(n, _mm512_set1_ps(-DS_EXP_C2), r);
  __m512 p = _mm512_fmadd_ps(_mm512_set1_ps(DS_EXP_P0), r, _mm512_set1_ps(DS_EXP_P1));
  p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(DS_EXP_P2));
  p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(DS_EXP_P3));
  p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(DS_EXP_P4));
  p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(DS_EXP_P5));
  p = _mm512_add_ps(_mm512_fmadd_ps(p, _mm512_mul_ps(r, r), r), _mm512_set1_ps(1.0f));
  const __m512i sb = _mm512_add_epi32(_mm512_slli_epi32(_mm512_castps_si512(t), 23), _mm512_set1_epi32(0x3F800000));
  __m512 y = _mm512_mul_ps(p, _mm512_castsi512_ps(sb));
  y = _mm512_maskz_mov_ps(_mm512_cmp_ps_mask(x, lo, _CMP_NLT_UQ), y);       /* x < EXP_LO: 0 */
  return _mm512_mask_mov_ps(y, _mm512_cmp_ps_mask(x, x, _CMP_UNORD_Q), x);  /* NaN: x */
}
#endif

#if defined(__aarch64__)
#include <arm_neon.h>

/* Four lanes of the formula (NEON; vfmaq_f32(a, b, c) = a + b c, fused). */
static inline float32x4_t ds_attn_exp4_neon(float32x4_t x)
{
  const float32x4_t lo = vdupq_n_f32(DS_EXP_LO), magic = vdupq_n_f32(DS_EXP_MAGIC);
  const float32x4_t xc = vminq_f32(vmaxq_f32(x, lo), vdupq_n_f32(DS_EXP_HI));
  const float32x4_t t = vfmaq_f32(magic, xc, vdupq_n_f32(DS_EXP_LOG2E));
  const float32x4_t n = vsubq_f32(t, magic);
  float32x4_t r = vfmaq_f32(xc, n, vdupq_n_f32(-DS_EXP_C1));
  r = vfmaq_f32(r, n, vdupq_n_f32(-DS_EXP_C2));
  float32x4_t p = vfmaq_f32(vdupq_n_f32(DS_EXP_P1), vdupq_n_f32(DS_EXP_P0), r);
  p = vfmaq_f32(vdupq_n_f32(DS_EXP_P2), p, r);
  p = vfmaq_f32(vdupq_n_f32(DS_EXP_P3), p, r);
  p = vfmaq_f32(vdupq_n_f32(DS_EXP_P4), p, r);
  p = vfmaq_f32(vdupq_n_f32(DS_EXP_P5), p, r);
  p = vaddq_f32(vfmaq_f32(r, p, vmulq_f32(r, r)), vdupq_n_f32(1.0f));
  const uint32x4_t sb = vaddq_u32(vshlq_n_u32(vreinterpretq_u32_f32(t), 23), vdupq_n_u32(0x3F800000u));
  float32x4_t y = vmulq_f32(p, vreinterpretq_f32_u32(sb));
  y = vreinterpretq_f32_u32(vbicq_u32(vreinterpretq_u32_f32(y), vcltq_f32(x, lo)));   /* x < EXP_LO: 0 */
  return vbslq_f32(vceqq_f32(x, x), y, x);                                           /* NaN: x */
}
#endif

/* y[i] = exp(x[i]) for i < n by the level's registers (the scalar twin at
 * DS_CPU_SCALAR and for tails); every level gives the same bits. In place
 * (y == x) is allowed. */
void ds_attn_exp(ds_cpu_level level, const float *x, float *y, int64_t n);

#endif
