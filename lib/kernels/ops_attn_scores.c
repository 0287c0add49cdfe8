/*
 * ops_attn_scores.c — the dots of one query with a block of eight key rows
 * (ds_attn_scores8, the score step of ops_attn_blocked.c).
 *
 * One summation order at every level: lane i (i < 8) of row j sums the
 * products q[d] k_j[d] of d = i, i + 8, i + 16, ... in ascending d as one FMA
 * chain from 0, and the eight lanes are added as the tree
 *     out[j] = ((l0 + l1) + (l2 + l3)) + ((l4 + l5) + (l6 + l7))
 * The SIMD kernels hold the eight rows' lanes in eight registers (AVX2: one
 * __m256 per row; NEON: two float32x4_t) and reduce them together (AVX2's
 * hadd, NEON's pairwise add), so a block pays one tree for eight scores instead
 * of one horizontal sum per score. The AVX-512 level runs the AVX2 kernel
 * (same bits as every other level). D % 8 == 0 (ops_attn_blocked.c pads).
 */
#include "core/platform.h"   /* ds_fmaf */
#include "kernels/ops_attn.h"

#if defined(__x86_64__) && defined(__GNUC__)
#include <immintrin.h>
#endif
#if defined(__aarch64__)
#include <arm_neon.h>
#endif

/* The scalar twin: the order above, written out. */
static void scores8_scalar(int64_t D, const float *q, const float *const *k, float *out)
{
  for (int j = 0; j < DS_ATTN_BLOCK; j++) {
    float l[8] = {0};
    for (int64_t d = 0; d < D; d += 8)
      for (int i = 0; i < 8; i++) l[i] = ds_fmaf(q[d + i], k[j][d + i], l[i]);
    out[j] = ((l[0] + l[1]) + (l[2] + l[3])) + ((l[4] + l[5]) + (l[6] + l[7]));
  }
}

#if defined(__x86_64__) && defined(__GNUC__)
__attribute__((target("avx2,fma"))) static void scores8_avx2(int64_t D, const float *q, const float *const *k,
                                                              float *out)
{
  __m256 a0 = _mm256_setzero_ps(), a1 = a0, a2 = a0, a3 = a0, a4 = a0, a5 = a0, a6 = a0, a7 = a0;
  for (int64_t d = 0; d < D; d += 8) {
    const __m256 qd = _mm256_loadu_ps(q + d);
    a0 = _mm256_fmadd_ps(qd, _mm256_loadu_ps(k[0] + d), a0);
    a1 = _mm256_fmadd_ps(qd, _mm256_loadu_ps(k[1] + d), a1);
    a2 = _mm256_fmadd_ps(qd, _mm256_loadu_ps(k[2] + d), a2);
    a3 = _mm256_fmadd_ps(qd, _mm256_loadu_ps(k[3] + d), a3);
    a4 = _mm256_fmadd_ps(qd, _mm256_loadu_ps(k[4] + d), a4);
    a5 = _mm256_fmadd_ps(qd, _mm256_loadu_ps(k[5] + d), a5);
    a6 = _mm256_fmadd_ps(qd, _mm256_loadu_ps(k[6] + d), a6);
    a7 = _mm256_fmadd_ps(qd, _mm256_loadu_ps(k[7] + d), a7);
  }
  /* hadd: per 128-bit half [x0+x1, x2+x3, y0+y1, y2+y3]; twice gives each
   * row's half sums (l0+l1)+(l2+l3) (low half) and (l4+l5)+(l6+l7) (high) */
  const __m256 u0 = _mm256_hadd_ps(_mm256_hadd_ps(a0, a1), _mm256_hadd_ps(a2, a3));   /* rows 0-3 */
  const __m256 u1 = _mm256_hadd_ps(_mm256_hadd_ps(a4, a5), _mm256_hadd_ps(a6, a7));   /* rows 4-7 */
  const __m256 lo = _mm256_permute2f128_ps(u0, u1, 0x20), hi = _mm256_permute2f128_ps(u0, u1, 0x31);
  _mm256_storeu_ps(out, _mm256_add_ps(lo, hi));
}
#endif

#if defined(__aarch64__)
static void scores8_neon(int64_t D, const float *q, const float *const *k, float *out)
{
  float32x4_t lo[8], hi[8];
  for (int j = 0; j < 8; j++) lo[j] = hi[j] = vdupq_n_f32(0.0f);
  for (int64_t d = 0; d < D; d += 8) {
    const float32x4_t q0 = vld1q_f32(q + d), q1 = vld1q_f32(q + d + 4);
    for (int j = 0; j < 8; j++) {
      lo[j] = vfmaq_f32(lo[j], q0, vld1q_f32(k[j] + d));
      hi[j] = vfmaq_f32(hi[j], q1, vld1q_f32(k[j] + d + 4));
    }
  }
  /* pairwise adds: [l0+l1, l2+l3, l4+l5, l6+l7], then the halves, then rows */
  float32x4_t p[8];
  for (int j = 0; j < 8; j++) p[j] = vpaddq_f32(lo[j], hi[j]);
  const float32x4_t r01 = vpaddq_f32(p[0], p[1]), r23 = vpaddq_f32(p[2], p[3]);
  const float32x4_t r45 = vpaddq_f32(p[4], p[5]), r67 = vpaddq_f32(p[6], p[7]);
  vst1q_f32(out, vpaddq_f32(r01, r23));
  vst1q_f32(out + 4, vpaddq_f32(r45, r67));
}
#endif

void ds_attn_scores8(ds_cpu_level level, int64_t D, const float *q, const float *const *k, float *out)
{
#if defined(__x86_64__) && defined(__GNUC__)
  if (level >= DS_CPU_AVX2) {
    scores8_avx2(D, q, k, out);
    return;
  }
#elif defined(__aarch64__)
  if (level >= DS_CPU_NEON) {
    scores8_neon(D, q, k, out);
    return;
  }
#endif
  (void)level;
  scores8_scalar(D, q, k, out);
}
