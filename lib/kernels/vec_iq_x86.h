/*
 * vec_iq_x86.h — the IQ dots (quants_iq.h) for the x86 levels, included by
 * vec_avx2.c and vec_avx512.c (compiled with at least AVX2 + F16C).
 *
 * Each type's 32-block is unpacked in registers as magnitudes a (bytes
 * 0..127) and a sign mask s (0xFF where the value is negative): the grid
 * types load their four (eight) grid entries as one vector and spread the
 * sign bits of each 8-value group over its bytes; IQ1 builds 8 grid +- 1 and
 * IQ4 looks its levels up with vpshufb, both then split into |v| and sign.
 * Per column the 32 products come from one vpmaddubsw on (a, q with the signs
 * applied) (pairs <= 2 * 127 * 128: no saturation), one vpmaddwd by
 * (m0 x 8 | m1 x 8) weights the two halves, and a horizontal add gives the
 * exact isum. The f32 sum isum (f d_b) runs in block order as in the scalar
 * twin (vec_scalar.c), so the two give the same bits.
 */
#ifndef DS_KERNELS_VEC_IQ_X86_H
#define DS_KERNELS_VEC_IQ_X86_H

#include "kernels/quants_iq.h"
#include "kernels/vec.h"

#include <immintrin.h>
#include <string.h>

#define IQ_INLINE static inline __attribute__((always_inline))

typedef struct iq_vblock {
  __m256i a, s;     /* |v| and the sign mask */
  int32_t m[2];
} iq_vblock;

IQ_INLINE int32_t iq_hsum_epi32(__m256i v)
{
  __m128i s = _mm_add_epi32(_mm256_castsi256_si128(v), _mm256_extracti128_si256(v, 1));
  s = _mm_add_epi32(s, _mm_shuffle_epi32(s, 0x4E));
  s = _mm_add_epi32(s, _mm_shuffle_epi32(s, 0xB1));
  return _mm_cvtsi128_si32(s);
}

IQ_INLINE float iq_half(const uint8_t *p)
{
  uint16_t h;
  memcpy(&h, p, 2);
  return _cvtsh_ss(h);
}

/* byte l of s4 holds the signs of values 8l..8l+7 (bit k: value 8l + k) */
IQ_INLINE __m256i iq_sign_mask(uint32_t s4)
{
  const __m256i rep = _mm256_setr_epi8(0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 1, 1, 1, 2, 2, 2, 2, 2, 2, 2, 2, 3, 3,
                                       3, 3, 3, 3, 3, 3);
  const __m256i bits = _mm256_set1_epi64x((long long)0x8040201008040201ull);
  const __m256i b = _mm256_shuffle_epi8(_mm256_set1_epi32((int)s4), rep);
  return _mm256_cmpeq_epi8(_mm256_and_si256(b, bits), bits);
}

IQ_INLINE uint32_t iq_ksigns4(uint32_t w)
{
  return (uint32_t)ds_ksigns_iq2xs[w & 127] | (uint32_t)ds_ksigns_iq2xs[w >> 7 & 127] << 8 |
         (uint32_t)ds_ksigns_iq2xs[w >> 14 & 127] << 16 | (uint32_t)ds_ksigns_iq2xs[w >> 21 & 127] << 24;
}

IQ_INLINE __m256i iq_grid4(const uint64_t *g, unsigned i0, unsigned i1, unsigned i2, unsigned i3)
{
  return _mm256_set_epi64x((long long)g[i3], (long long)g[i2], (long long)g[i1], (long long)g[i0]);
}

/* signed values v (never -128) as |v| and sign */
IQ_INLINE void iq_split(__m256i v, iq_vblock *o)
{
  o->a = _mm256_abs_epi8(v);
  o->s = _mm256_cmpgt_epi8(_mm256_setzero_si256(), v);
}

IQ_INLINE void iq2_xxs_v(const uint8_t *sb, int j, iq_vblock *o)
{
  const uint8_t *p = sb + 2 + 8 * j;
  const uint32_t w = ds_iq_u32(p + 4);
  o->a = iq_grid4(ds_iq2xxs_grid, p[0], p[1], p[2], p[3]);
  o->s = iq_sign_mask(iq_ksigns4(w));
  o->m[0] = o->m[1] = 2 * (int32_t)(w >> 28) + 1;
}

IQ_INLINE void iq2_xs_v(const uint8_t *sb, int j, iq_vblock *o)
{
  const uint8_t *p = sb + 2 + 8 * j;
  uint32_t q[4], s4 = 0;
  for (int l = 0; l < 4; l++) q[l] = ds_iq_u16(p + 2 * l), s4 |= (uint32_t)ds_ksigns_iq2xs[q[l] >> 9] << 8 * l;
  o->a = iq_grid4(ds_iq2xs_grid, q[0] & 511, q[1] & 511, q[2] & 511, q[3] & 511);
  o->s = iq_sign_mask(s4);
  o->m[0] = 2 * (sb[66 + j] & 15) + 1;
  o->m[1] = 2 * (sb[66 + j] >> 4) + 1;
}

IQ_INLINE void iq2_s_v(const uint8_t *sb, int j, iq_vblock *o)
{
  const uint8_t *idx = sb + 2 + 4 * j;
  const unsigned qh = sb[66 + j];
  o->a = iq_grid4(ds_iq2s_grid, idx[0] | (qh << 8 & 0x300), idx[1] | (qh << 6 & 0x300), idx[2] | (qh << 4 & 0x300),
                  idx[3] | (qh << 2 & 0x300));
  o->s = iq_sign_mask(ds_iq_u32(sb + 34 + 4 * j));
  o->m[0] = 2 * (sb[74 + j] & 15) + 1;
  o->m[1] = 2 * (sb[74 + j] >> 4) + 1;
}

IQ_INLINE void iq3_xxs_v(const uint8_t *sb, int j, iq_vblock *o)
{
  const uint8_t *p = sb + 2 + 8 * j;
  const uint32_t *g = ds_iq3xxs_grid, w = ds_iq_u32(sb + 66 + 4 * j);
  o->a = _mm256_setr_epi32((int)g[p[0]], (int)g[p[1]], (int)g[p[2]], (int)g[p[3]], (int)g[p[4]], (int)g[p[5]],
                           (int)g[p[6]], (int)g[p[7]]);
  o->s = iq_sign_mask(iq_ksigns4(w));
  o->m[0] = o->m[1] = 2 * (int32_t)(w >> 28) + 1;
}

IQ_INLINE void iq3_s_v(const uint8_t *sb, int j, iq_vblock *o)
{
  const uint8_t *p = sb + 2 + 8 * j;
  const unsigned h = sb[66 + j];
  const uint32_t *g = ds_iq3s_grid;
  o->a = _mm256_setr_epi32((int)g[p[0] | (h << 8 & 256)], (int)g[p[1] | (h << 7 & 256)], (int)g[p[2] | (h << 6 & 256)],
                           (int)g[p[3] | (h << 5 & 256)], (int)g[p[4] | (h << 4 & 256)], (int)g[p[5] | (h << 3 & 256)],
                           (int)g[p[6] | (h << 2 & 256)], (int)g[p[7] | (h << 1 & 256)]);
  o->s = iq_sign_mask(ds_iq_u32(sb + 74 + 4 * j));
  o->m[0] = o->m[1] = 2 * (sb[106 + j / 2] >> 4 * (j % 2) & 15) + 1;
}

/* IQ1: 8 grid + delta with delta = -1 where bit l of minus4 is set, else +1 */
IQ_INLINE void iq1_v(unsigned i0, unsigned i1, unsigned i2, unsigned i3, unsigned minus4, iq_vblock *o)
{
  __m256i g = iq_grid4(ds_iq1s_grid, i0, i1, i2, i3);
  g = _mm256_add_epi8(g, g);
  g = _mm256_add_epi8(g, g);
  g = _mm256_add_epi8(g, g);
  const __m256i minus = _mm256_cmpeq_epi64(
    _mm256_and_si256(_mm256_set1_epi64x((long long)minus4), _mm256_setr_epi64x(1, 2, 4, 8)), _mm256_setr_epi64x(1, 2, 4, 8));
  const __m256i delta = _mm256_or_si256(minus, _mm256_set1_epi8(1));   /* -1 or +1 */
  iq_split(_mm256_add_epi8(g, delta), o);
}

IQ_INLINE void iq1_s_v(const uint8_t *sb, int j, iq_vblock *o)
{
  const uint8_t *idx = sb + 2 + 4 * j;
  const uint32_t qh = ds_iq_u16(sb + 34 + 2 * j);
  iq1_v(idx[0] | (qh & 7) << 8, idx[1] | (qh >> 3 & 7) << 8, idx[2] | (qh >> 6 & 7) << 8, idx[3] | (qh >> 9 & 7) << 8,
        qh & 0x8000 ? 15 : 0, o);
  o->m[0] = o->m[1] = 2 * (int32_t)(qh >> 12 & 7) + 1;
}

IQ_INLINE void iq1_m_v(const uint8_t *sb, int j, iq_vblock *o)
{
  const uint8_t *idx = sb + 4 * j, *qh = sb + 32 + 2 * j;
  const uint32_t sc = ds_iq_u16(sb + 48 + 2 * (j / 2)) >> 6 * (j % 2);
  iq1_v(idx[0] | (qh[0] & 7u) << 8, idx[1] | (qh[0] >> 4 & 7u) << 8, idx[2] | (qh[1] & 7u) << 8,
        idx[3] | (qh[1] >> 4 & 7u) << 8,
        (qh[0] >> 3 & 1) | (qh[0] >> 7 & 1) << 1 | (qh[1] >> 3 & 1) << 2 | (qh[1] >> 7 & 1) << 3, o);
  o->m[0] = 2 * (int32_t)(sc & 7) + 1;
  o->m[1] = 2 * (int32_t)(sc >> 3 & 7) + 1;
}

/* 16 bytes of nibbles: values 0..15 the low nibbles, 16..31 the high */
IQ_INLINE void iq4_v(const uint8_t *q16, iq_vblock *o)
{
  const __m128i lut = _mm_loadu_si128((const __m128i *)ds_kvalues_iq4nl), nib = _mm_set1_epi8(15);
  const __m128i b = _mm_loadu_si128((const __m128i *)q16);
  const __m128i lo = _mm_shuffle_epi8(lut, _mm_and_si128(b, nib));
  const __m128i hi = _mm_shuffle_epi8(lut, _mm_and_si128(_mm_srli_epi16(b, 4), nib));
  iq_split(_mm256_inserti128_si256(_mm256_castsi128_si256(lo), hi, 1), o);
}

IQ_INLINE void iq4_nl_v(const uint8_t *sb, int j, iq_vblock *o)
{
  (void)j;
  iq4_v(sb + 2, o);
  o->m[0] = o->m[1] = 1;
}

IQ_INLINE void iq4_xs_v(const uint8_t *sb, int j, iq_vblock *o)
{
  iq4_v(sb + 8 + 16 * j, o);
  o->m[0] = o->m[1] = (sb[4 + j / 2] >> 4 * (j % 2) & 15) | (int32_t)(ds_iq_u16(sb + 2) >> 2 * j & 3) << 4;
  o->m[0] = o->m[1] = o->m[0] - 32;
}

/* f of a super-block (quants_iq.h): d times 1/8, 1/4 or 1 */
IQ_INLINE float iq_factor(const uint8_t *sb, int type)
{
  switch (type) {
  case DSEEK_TYPE_IQ1_M: return ds_iq1_m_d(sb) * 0.125f;
  case DSEEK_TYPE_IQ3_XXS: return iq_half(sb) * 0.25f;
  case DSEEK_TYPE_IQ3_S:
  case DSEEK_TYPE_IQ4_NL:
  case DSEEK_TYPE_IQ4_XS: return iq_half(sb);
  default: return iq_half(sb) * 0.125f;
  }
}

typedef void (*iq_vunpack_fn)(const uint8_t *sb, int j, iq_vblock *o);

IQ_INLINE void iq_dot_x86(int type, int64_t values, size_t bytes, iq_vunpack_fn unpack, int64_t K, const void *w,
                          const void *x, size_t xs, int nc, float *out)
{
  float sum[DS_VEC_COLS] = {0};
  const int per = (int)(values / 32);
  for (int64_t sb = 0; sb < K / values; sb++) {
    const uint8_t *b = (const uint8_t *)w + sb * bytes;
    const float f = iq_factor(b, type);
    for (int j = 0; j < per; j++) {
      iq_vblock o;
      unpack(b, j, &o);
      const int64_t blk = sb * per + j;
      const __m256i mv = _mm256_inserti128_si256(_mm256_castsi128_si256(_mm_set1_epi16((short)o.m[0])),
                                                 _mm_set1_epi16((short)o.m[1]), 1);
#pragma GCC unroll 4
      for (int c = 0; c < nc; c++) {
        const char *xr = (const char *)x + (size_t)c * xs;
        const __m256i q = _mm256_loadu_si256((const __m256i *)(xr + blk * 32));
        const __m256i qs = _mm256_sub_epi8(_mm256_xor_si256(q, o.s), o.s);   /* q, negated where v < 0 */
        const __m256i p = _mm256_madd_epi16(_mm256_maddubs_epi16(o.a, qs), mv);
        sum[c] += (float)iq_hsum_epi32(p) * (f * ds_qa_d(xr, K)[blk]);
      }
    }
  }
#pragma GCC unroll 4
  for (int c = 0; c < nc; c++) out[c] = sum[c];
}

#define IQ_DOT_X86(name, TYPE, values, bytes, unpack)                                        \
  static void name(int64_t K, const void *w, const void *x, size_t xs, int nc, float *out) \
  {                                                                                          \
    iq_dot_x86(DSEEK_TYPE_##TYPE, values, bytes, unpack, K, w, x, xs, nc, out);              \
  }
IQ_DOT_X86(dot_iq2_xxs, IQ2_XXS, 256, 66, iq2_xxs_v)
IQ_DOT_X86(dot_iq2_xs, IQ2_XS, 256, 74, iq2_xs_v)
IQ_DOT_X86(dot_iq2_s, IQ2_S, 256, 82, iq2_s_v)
IQ_DOT_X86(dot_iq3_xxs, IQ3_XXS, 256, 98, iq3_xxs_v)
IQ_DOT_X86(dot_iq3_s, IQ3_S, 256, 110, iq3_s_v)
IQ_DOT_X86(dot_iq1_s, IQ1_S, 256, 50, iq1_s_v)
IQ_DOT_X86(dot_iq1_m, IQ1_M, 256, 56, iq1_m_v)
IQ_DOT_X86(dot_iq4_nl, IQ4_NL, 32, 18, iq4_nl_v)
IQ_DOT_X86(dot_iq4_xs, IQ4_XS, 256, 136, iq4_xs_v)
#undef IQ_DOT_X86

#define DS_IQ_DOTS_X86 {dot_iq2_xxs, dot_iq2_xs, dot_iq2_s, dot_iq3_xxs, dot_iq3_s, dot_iq1_s, dot_iq1_m, dot_iq4_nl, dot_iq4_xs}

#endif
