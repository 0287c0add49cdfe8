/*
 * q5_0_x86.h — the Q5_0 dot on QA rows (vec.h: dot_q5_0) for the x86 levels,
 * included by vec_avx2.c and vec_avx512.c (compiled with at least AVX2 + FMA
 * + F16C).
 *
 * A block's 32 values u = nibble | fifth bit << 4 (0..31) are built once per
 * weight row: the nibbles as for Q4_0, the fifth bits by a byte shuffle of
 * the broadcast qh (byte i of the vector gets byte i / 8 of qh) and a test
 * of bit i % 8. maddubs(u, q) pairs are at most 2 * 31 * 128, so nothing
 * saturates; the eight int32 partial sums of each of the four columns are
 * reduced exactly by two hadds, giving one lane per column:
 *   isum_c = sum_j u_j q_cj - 16 s_cb        (exact int32)
 *   acc_c  = fma(isum_c, d_w d_cb, acc_c)    (one f32 lane per column)
 * which is the scalar twin's chain in block order, lane for lane: the same
 * bits for any ncols (unused lanes see zeros and are not stored).
 */
#ifndef DS_KERNELS_Q5_0_X86_H
#define DS_KERNELS_Q5_0_X86_H

#include "kernels/vec.h"

#include <immintrin.h>
#include <stdint.h>
#include <string.h>

/* The 32 values of the Q5_0 block at blk, in order, as u8 0..31. */
static inline __attribute__((always_inline)) __m256i ds_q5_0_values_x86(const uint8_t *blk)
{
  const __m128i v = _mm_loadu_si128((const __m128i *)(blk + 6)), lo4 = _mm_set1_epi8(0x0F);
  const __m256i nib = _mm256_set_m128i(_mm_and_si128(_mm_srli_epi16(v, 4), lo4), _mm_and_si128(v, lo4));
  uint32_t qh;
  memcpy(&qh, blk + 2, 4);
  const __m256i spread = _mm256_setr_epi8(0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 1, 1, 1,   /* lane 0: values 0-15 */
                                          2, 2, 2, 2, 2, 2, 2, 2, 3, 3, 3, 3, 3, 3, 3, 3);  /* lane 1: 16-31 */
  const __m256i bit = _mm256_set1_epi64x((long long)0x8040201008040201ULL);
  __m256i h = _mm256_shuffle_epi8(_mm256_set1_epi32((int)qh), spread);
  h = _mm256_cmpeq_epi8(_mm256_and_si256(h, bit), bit);
  return _mm256_or_si256(nib, _mm256_and_si256(h, _mm256_set1_epi8(0x10)));
}

static inline __attribute__((always_inline)) void ds_q5_0_dot_x86(int64_t K, const uint8_t *w, const char *x,
                                                                  size_t xs, const int nc, float *out)
{
  const float *xd[DS_VEC_COLS];
  const int32_t *xsum[DS_VEC_COLS];
#pragma GCC unroll 4
  for (int c = 0; c < nc; c++) {
    xd[c] = ds_qa_d(x + c * xs, K);
    xsum[c] = ds_qa_s(x + c * xs, K);
  }
  const __m256i ones = _mm256_set1_epi16(1);
  __m128 acc = _mm_setzero_ps();
  for (int64_t b = 0; b < K / DS_QA_BLOCK; b++, w += 22) {
    if (b % 2 == 0) _mm_prefetch((const char *)w + 2048, _MM_HINT_T0);
    const __m256i u = ds_q5_0_values_x86(w);
    __m256i p[DS_VEC_COLS];
    float d[DS_VEC_COLS] = {0};
    int32_t s[DS_VEC_COLS] = {0};
#pragma GCC unroll 4
    for (int c = 0; c < DS_VEC_COLS; c++) {
      if (c < nc) {
        const __m256i xq = _mm256_loadu_si256((const __m256i *)(x + c * xs + b * DS_QA_BLOCK));
        p[c] = _mm256_madd_epi16(_mm256_maddubs_epi16(u, xq), ones);
        d[c] = xd[c][b];
        s[c] = xsum[c][b];
      } else p[c] = _mm256_setzero_si256();
    }
    const __m256i h = _mm256_hadd_epi32(_mm256_hadd_epi32(p[0], p[1]), _mm256_hadd_epi32(p[2], p[3]));
    __m128i isum = _mm_add_epi32(_mm256_castsi256_si128(h), _mm256_extracti128_si256(h, 1));
    isum = _mm_sub_epi32(isum, _mm_slli_epi32(_mm_setr_epi32(s[0], s[1], s[2], s[3]), 4));
    uint16_t dw;
    memcpy(&dw, w, 2);
    const __m128 scale = _mm_mul_ps(_mm_set1_ps(_cvtsh_ss(dw)), _mm_setr_ps(d[0], d[1], d[2], d[3]));
    acc = _mm_fmadd_ps(_mm_cvtepi32_ps(isum), scale, acc);
  }
  float lanes[DS_VEC_COLS];
  _mm_storeu_ps(lanes, acc);
#pragma GCC unroll 4
  for (int c = 0; c < nc; c++) out[c] = lanes[c];
}

#endif
