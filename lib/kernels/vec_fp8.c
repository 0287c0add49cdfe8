/*
 * vec_fp8.c — block-scaled e4m3 rows decoded with SIMD (fp8.h), giving the
 * same bits as ds_fp8_dequant_row at every level. Built into the library with
 * per-function target attributes and called only at a level cpu.c found.
 *
 * An e4m3 code s eeee mmm (bias 7) moved into an f16 as s 0eeee mmm0000000
 * (bias 15) is the same value times 2^-8, subnormals included: f16 exponent
 * field 0 means m/8 * 2^-14, e4m3's m/8 * 2^-6. So
 *   h = (code & 0x80) << 8 | (code & 0x7F) << 7,   value = f32(h) * 256
 * with vcvtph2ps (F16C) for f32(h); both steps are exact. The NaN codes
 * 0x7F / 0xFF become the f16 quiet NaN 0x7E00 with their sign, which widens to
 * 0x7FC00000 | sign as ds_e4m3_to_f32 gives. The product with the block's
 * scale is then the one rounding of the reference's e4m3 * scale.
 */
#include "kernels/fp8.h"

#if defined(__x86_64__) && defined(__GNUC__)
#include <immintrin.h>

#define FP8_NAN_FIX (0x3F80 ^ 0x7E00) /* h of a NaN code, xor this: the f16 quiet NaN */

__attribute__((target("avx2,f16c"))) static inline __m256i e4m3_to_f16_x16(__m128i bytes)
{
  __m256i b = _mm256_cvtepu8_epi16(bytes);
  __m256i mag = _mm256_and_si256(b, _mm256_set1_epi16(0x7F));
  __m256i h = _mm256_or_si256(_mm256_slli_epi16(mag, 7), _mm256_slli_epi16(_mm256_and_si256(b, _mm256_set1_epi16(0x80)), 8));
  __m256i nan = _mm256_cmpeq_epi16(mag, _mm256_set1_epi16(0x7F));
  return _mm256_xor_si256(h, _mm256_and_si256(nan, _mm256_set1_epi16(FP8_NAN_FIX)));
}

__attribute__((target("avx2,f16c"))) static void fp8_row_avx2(const uint8_t *row, const float *scale_row,
                                                              int64_t n, float *dst)
{
  const __m256 k256 = _mm256_set1_ps(256.0f);
  for (int64_t j0 = 0; j0 < n; j0 += DS_FP8_BLOCK) {
    const float s = scale_row[j0 / DS_FP8_BLOCK];
    const __m256 vs = _mm256_set1_ps(s);
    const int64_t end = n - j0 < DS_FP8_BLOCK ? n : j0 + DS_FP8_BLOCK;
    int64_t j = j0;
    for (; j + 16 <= end; j += 16) {
      __m256i h = e4m3_to_f16_x16(_mm_loadu_si128((const __m128i *)(row + j)));
      __m256 lo = _mm256_cvtph_ps(_mm256_castsi256_si128(h)), hi = _mm256_cvtph_ps(_mm256_extracti128_si256(h, 1));
      _mm256_storeu_ps(dst + j, _mm256_mul_ps(_mm256_mul_ps(lo, k256), vs));
      _mm256_storeu_ps(dst + j + 8, _mm256_mul_ps(_mm256_mul_ps(hi, k256), vs));
    }
    for (; j < end; j++) dst[j] = ds_e4m3_to_f32(row[j]) * s;
  }
}

/* 32 codes per step, the block's tail under a mask. */
__attribute__((target("avx512f,avx512bw,avx512vl,avx2,f16c"))) static void fp8_row_avx512(const uint8_t *row,
                                                                                           const float *scale_row,
                                                                                           int64_t n, float *dst)
{
  const __m512 k256 = _mm512_set1_ps(256.0f);
  for (int64_t j0 = 0; j0 < n; j0 += DS_FP8_BLOCK) {
    const __m512 vs = _mm512_set1_ps(scale_row[j0 / DS_FP8_BLOCK]);
    const int64_t end = n - j0 < DS_FP8_BLOCK ? n : j0 + DS_FP8_BLOCK;
    for (int64_t j = j0; j < end; j += 32) {
      const int64_t left = end - j;
      const __mmask32 m = left >= 32 ? 0xFFFFFFFFu : (__mmask32)((1u << left) - 1);
      __m512i b = _mm512_cvtepu8_epi16(_mm256_maskz_loadu_epi8(m, row + j));
      __m512i mag = _mm512_and_si512(b, _mm512_set1_epi16(0x7F));
      __m512i h = _mm512_or_si512(_mm512_slli_epi16(mag, 7), _mm512_slli_epi16(_mm512_and_si512(b, _mm512_set1_epi16(0x80)), 8));
      __mmask32 nan = _mm512_cmpeq_epi16_mask(mag, _mm512_set1_epi16(0x7F));
      h = _mm512_xor_si512(h, _mm512_maskz_mov_epi16(nan, _mm512_set1_epi16(FP8_NAN_FIX)));
      __m512 lo = _mm512_cvtph_ps(_mm512_castsi512_si256(h)), hi = _mm512_cvtph_ps(_mm512_extracti64x4_epi64(h, 1));
      _mm512_mask_storeu_ps(dst + j, (__mmask16)m, _mm512_mul_ps(_mm512_mul_ps(lo, k256), vs));
      _mm512_mask_storeu_ps(dst + j + 16, (__mmask16)(m >> 16), _mm512_mul_ps(_mm512_mul_ps(hi, k256), vs));
    }
  }
}
#endif

ds_fp8_row_fn ds_fp8_row_kernel(ds_cpu_level level)
{
  if (level > ds_cpu_detected()) level = ds_cpu_detected();
#if defined(__x86_64__) && defined(__GNUC__)
  if (level >= DS_CPU_AVX512) return fp8_row_avx512;
  if (level >= DS_CPU_AVX2) return fp8_row_avx2;
#endif
  (void)level;
  return ds_fp8_dequant_row;
}
