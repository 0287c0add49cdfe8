/*
 * vec_iq_x86.h — the IQ dots (quants_iq.h) for the x86 levels, included by
 * vec_avx2.c and vec_avx512.c (compiled with at least AVX2).
 *
 * Per 32-block the type's unpacker (inlined) gives the int8 values v and the
 * multipliers m; per column the 32 products v_i q_i come from one vpmaddubsw
 * on (|v|, sign(v) q) (pairs <= 2 * 127 * 128, no saturation), one vpmaddwd
 * by (m0 x 8 | m1 x 8) gives m0 sums of values 0..15 in the low half and m1
 * sums of 16..31 in the high, and a horizontal add the exact isum. The f32
 * sum isum (f d_b) runs in block order as in the scalar twin, so the two give
 * the same bits.
 */
#ifndef DS_KERNELS_VEC_IQ_X86_H
#define DS_KERNELS_VEC_IQ_X86_H

#include "kernels/quants_iq.h"
#include "kernels/vec.h"

#include <immintrin.h>

static inline __attribute__((always_inline)) int32_t iq_hsum_epi32(__m256i v)
{
  __m128i s = _mm_add_epi32(_mm256_castsi256_si128(v), _mm256_extracti128_si256(v, 1));
  s = _mm_add_epi32(s, _mm_shuffle_epi32(s, 0x4E));
  s = _mm_add_epi32(s, _mm_shuffle_epi32(s, 0xB1));
  return _mm_cvtsi128_si32(s);
}

static inline __attribute__((always_inline)) void iq_dot_x86(int64_t values, size_t bytes, ds_iq_unpack_fn unpack,
                                                             int64_t K, const void *w, const void *x, size_t xs,
                                                             int nc, float *out)
{
  float sum[DS_VEC_COLS] = {0};
  const int per = (int)(values / 32);
  for (int64_t sb = 0; sb < K / values; sb++) {
    const uint8_t *b = (const uint8_t *)w + sb * bytes;
    for (int j = 0; j < per; j++) {
      _Alignas(32) int8_t v[32];
      int32_t m[2];
      const float f = unpack(b, j, v, m);
      const int64_t blk = sb * per + j;
      const __m256i vv = _mm256_load_si256((const __m256i *)v), av = _mm256_sign_epi8(vv, vv);
      const __m256i mv = _mm256_inserti128_si256(_mm256_castsi128_si256(_mm_set1_epi16((short)m[0])),
                                                 _mm_set1_epi16((short)m[1]), 1);
      for (int c = 0; c < nc; c++) {
        const char *xr = (const char *)x + (size_t)c * xs;
        const __m256i q = _mm256_loadu_si256((const __m256i *)(xr + blk * 32));
        const __m256i p = _mm256_madd_epi16(_mm256_maddubs_epi16(av, _mm256_sign_epi8(q, vv)), mv);
        sum[c] += (float)iq_hsum_epi32(p) * (f * ds_qa_d(xr, K)[blk]);
      }
    }
  }
  for (int c = 0; c < nc; c++) out[c] = sum[c];
}

#define IQ_DOT_X86(name, values, bytes, unpack)                                              \
  static void name(int64_t K, const void *w, const void *x, size_t xs, int nc, float *out) \
  {                                                                                          \
    iq_dot_x86(values, bytes, unpack, K, w, x, xs, nc, out);                                 \
  }
IQ_DOT_X86(dot_iq2_xxs, 256, 66, ds_iq2_xxs_unpack)
IQ_DOT_X86(dot_iq2_xs, 256, 74, ds_iq2_xs_unpack)
IQ_DOT_X86(dot_iq2_s, 256, 82, ds_iq2_s_unpack)
IQ_DOT_X86(dot_iq3_xxs, 256, 98, ds_iq3_xxs_unpack)
IQ_DOT_X86(dot_iq3_s, 256, 110, ds_iq3_s_unpack)
IQ_DOT_X86(dot_iq1_s, 256, 50, ds_iq1_s_unpack)
IQ_DOT_X86(dot_iq1_m, 256, 56, ds_iq1_m_unpack)
IQ_DOT_X86(dot_iq4_nl, 32, 18, ds_iq4_nl_unpack)
IQ_DOT_X86(dot_iq4_xs, 256, 136, ds_iq4_xs_unpack)
#undef IQ_DOT_X86

#define DS_IQ_DOTS_X86 {dot_iq2_xxs, dot_iq2_xs, dot_iq2_s, dot_iq3_xxs, dot_iq3_s, dot_iq1_s, dot_iq1_m, dot_iq4_nl, dot_iq4_xs}

#endif
