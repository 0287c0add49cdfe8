/*
 * vec_avx2.c — dot kernels for AVX2 + FMA + F16C (vec.h), compiled with
 * -mavx2 -mfma -mf16c in its own static library and only called after cpu.c
 * found those features. Empty on other targets.
 *
 * Integer block dot (32 int8 pairs): maddubs multiplies u8 x s8 and adds pairs
 * to s16, madd(., 1) adds pairs to s32, giving 8 lane partial sums of the exact
 * block sum.
 *   Q8_0: u = |w|, v = sign(w) * q  (u * v = w * q; |w| = 128 read as u8 is 128)
 *         pairs: |u v + u v| <= 2 * 128 * 127 < 32767, so maddubs never saturates
 *   Q4_0: u = nibbles (0..15), v = q, and -8 s_b added to lane 0
 *   Q4_K/Q5_K: u = levels (0..31), v = q; the min term from the QA block sums
 *   Q6_K: u = |level - 32|, v = sign(level - 32) * q, pairs <= 2 * 32 * 127,
 *         the two 16-value group scales applied by madd in place of the 1s
 * Each block's lanes go to f32 (exact: |partial| < 2^24) and are accumulated
 * with an FMA by d_w d_x; one horizontal sum at the end.
 */
#if defined(__x86_64__) && defined(__GNUC__)
#include "kernels/quants.h"
#include "kernels/vec.h"
#include "kernels/vec_iq_x86.h"
#include "kernels/q4_0_r8_x86.h"
#include "kernels/q5_0_x86.h"
#include "kernels/q4_k_r8_x86.h"
#include "kernels/q6_k_r8_x86.h"
#include "dseek.h"

#include <immintrin.h>
#include <float.h>
#include <math.h>
#include <string.h>

#define ALWAYS_INLINE static inline __attribute__((always_inline))
/* Weight bytes fetched ahead of use (see vec_avx512.c). */
#define DS_PREFETCH_BYTES 2048

ALWAYS_INLINE float hsum256(__m256 v)
{
  __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
  s = _mm_add_ps(s, _mm_movehl_ps(s, s));
  s = _mm_add_ss(s, _mm_movehdup_ps(s));
  return _mm_cvtss_f32(s);
}

ALWAYS_INLINE float f16_at(const uint8_t *p)
{
  uint16_t h;
  memcpy(&h, p, 2);
  return _cvtsh_ss(h);
}

/* ---- activation quantization ------------------------------------------------ */

static void quantize_qa(const float *x, int64_t K, void *dst)
{
  int8_t *q = dst;
  float *d = (float *)((char *)dst + K);
  int32_t *s = (int32_t *)(d + K / DS_QA_BLOCK);
  const __m256 sign = _mm256_set1_ps(-0.0f);
  for (int64_t b = 0; b < K / DS_QA_BLOCK; b++) {
    const float *xb = x + b * DS_QA_BLOCK;
    __m256 v0 = _mm256_loadu_ps(xb), v1 = _mm256_loadu_ps(xb + 8);
    __m256 v2 = _mm256_loadu_ps(xb + 16), v3 = _mm256_loadu_ps(xb + 24);
    __m256 m = _mm256_max_ps(_mm256_max_ps(_mm256_andnot_ps(sign, v0), _mm256_andnot_ps(sign, v1)),
                             _mm256_max_ps(_mm256_andnot_ps(sign, v2), _mm256_andnot_ps(sign, v3)));
    __m128 m4 = _mm_max_ps(_mm256_castps256_ps128(m), _mm256_extractf128_ps(m, 1));
    m4 = _mm_max_ps(m4, _mm_movehl_ps(m4, m4));
    m4 = _mm_max_ss(m4, _mm_movehdup_ps(m4));
    float amax = _mm_cvtss_f32(m4);
    float db = amax / 127.0f, id = db != 0.0f ? 1.0f / db : 0.0f;
    if (id > FLT_MAX) id = 0.0f;   /* d below 2^-128: 1/d overflows; q = 0 (|x| < 2^-121) */
    __m256 vid = _mm256_set1_ps(id);
    enum { rnd = _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC }; /* an immediate for clang */
    __m256i i0 = _mm256_cvtps_epi32(_mm256_round_ps(_mm256_mul_ps(v0, vid), rnd));
    __m256i i1 = _mm256_cvtps_epi32(_mm256_round_ps(_mm256_mul_ps(v1, vid), rnd));
    __m256i i2 = _mm256_cvtps_epi32(_mm256_round_ps(_mm256_mul_ps(v2, vid), rnd));
    __m256i i3 = _mm256_cvtps_epi32(_mm256_round_ps(_mm256_mul_ps(v3, vid), rnd));
    __m256i sum = _mm256_add_epi32(_mm256_add_epi32(i0, i1), _mm256_add_epi32(i2, i3));
    /* packs work within 128-bit lanes: [0-3 4-7 8-11 12-15 | ...] comes out as
     * 0 2 4 6 1 3 5 7 in 4-byte groups; permute back. */
    __m256i p = _mm256_packs_epi16(_mm256_packs_epi32(i0, i1), _mm256_packs_epi32(i2, i3));
    p = _mm256_permutevar8x32_epi32(p, _mm256_setr_epi32(0, 4, 1, 5, 2, 6, 3, 7));
    _mm256_storeu_si256((__m256i *)(q + b * DS_QA_BLOCK), p);
    __m128i s4 = _mm_add_epi32(_mm256_castsi256_si128(sum), _mm256_extracti128_si256(sum, 1));
    s4 = _mm_add_epi32(s4, _mm_shuffle_epi32(s4, 0x4E));
    s4 = _mm_add_epi32(s4, _mm_shuffle_epi32(s4, 0xB1));
    d[b] = db;
    s[b] = _mm_cvtsi128_si32(s4);
  }
}

/* ---- quantized dots ------------------------------------------------------------ */

ALWAYS_INLINE __m256i block_dot(__m256i u, __m256i v)
{
  return _mm256_madd_epi16(_mm256_maddubs_epi16(u, v), _mm256_set1_epi16(1));
}

ALWAYS_INLINE void dot_q8_0_n(int64_t K, const uint8_t *w, const char *x, size_t xs, const int nc, float *out)
{
  __m256 acc[DS_VEC_COLS];
  const float *xd[DS_VEC_COLS];
#pragma GCC unroll 4
  for (int c = 0; c < nc; c++) {
    acc[c] = _mm256_setzero_ps();
    xd[c] = ds_qa_d(x + c * xs, K);
  }
  for (int64_t b = 0; b < K / DS_QA_BLOCK; b++, w += 34) {
    _mm_prefetch((const char *)w + DS_PREFETCH_BYTES, _MM_HINT_T0);
    __m256i wq = _mm256_loadu_si256((const __m256i *)(w + 2));
    __m256i u = _mm256_abs_epi8(wq);
    float dw = f16_at(w);
#pragma GCC unroll 4
    for (int c = 0; c < nc; c++) {
      __m256i xq = _mm256_loadu_si256((const __m256i *)(x + c * xs + b * DS_QA_BLOCK));
      __m256 p = _mm256_cvtepi32_ps(block_dot(u, _mm256_sign_epi8(xq, wq)));
      acc[c] = _mm256_fmadd_ps(p, _mm256_set1_ps(dw * xd[c][b]), acc[c]);
    }
  }
#pragma GCC unroll 4
  for (int c = 0; c < nc; c++) out[c] = hsum256(acc[c]);
}

/* 16 packed bytes -> 32 bytes [lo nibbles | hi nibbles] = values 0..31 in order. */
ALWAYS_INLINE __m256i q4_unpack(const uint8_t *q)
{
  __m128i v = _mm_loadu_si128((const __m128i *)q), m = _mm_set1_epi8(0x0F);
  return _mm256_set_m128i(_mm_and_si128(_mm_srli_epi16(v, 4), m), _mm_and_si128(v, m));
}

ALWAYS_INLINE void dot_q4_0_n(int64_t K, const uint8_t *w, const char *x, size_t xs, const int nc, float *out)
{
  __m256 acc[DS_VEC_COLS];
  const float *xd[DS_VEC_COLS];
  const int32_t *xsum[DS_VEC_COLS];
#pragma GCC unroll 4
  for (int c = 0; c < nc; c++) {
    acc[c] = _mm256_setzero_ps();
    xd[c] = ds_qa_d(x + c * xs, K);
    xsum[c] = ds_qa_s(x + c * xs, K);
  }
  for (int64_t b = 0; b < K / DS_QA_BLOCK; b++, w += 18) {
    if (b % 2 == 0) _mm_prefetch((const char *)w + DS_PREFETCH_BYTES, _MM_HINT_T0);
    __m256i u = q4_unpack(w + 2);
    float dw = f16_at(w);
#pragma GCC unroll 4
    for (int c = 0; c < nc; c++) {
      __m256i xq = _mm256_loadu_si256((const __m256i *)(x + c * xs + b * DS_QA_BLOCK));
      __m256i i = _mm256_add_epi32(block_dot(u, xq), _mm256_setr_epi32(-8 * xsum[c][b], 0, 0, 0, 0, 0, 0, 0));
      acc[c] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(i), _mm256_set1_ps(dw * xd[c][b]), acc[c]);
    }
  }
#pragma GCC unroll 4
  for (int c = 0; c < nc; c++) out[c] = hsum256(acc[c]);
}

/* Eight R8 rows (q4_0_r8.h) against nc <= DS_R8_COLS QA columns, the rows
 * in the eight lanes (vec.h: dot_q4_0_r8). Chunk k of a block holds 4 bytes
 * of each row; its low nibbles meet activation bytes 4k..4k+3 and its high
 * nibbles 16+4k..16+4k+3, each 4-byte group broadcast to all lanes. The
 * block's eight nibble vectors are split once and serve every column. A
 * maddubs pair is at most 2 * 15 * 127 = 3810, so all eight products of a
 * column add in int16 (<= 30480, exact) before one madd widens the pairs to
 * int32: the exact block sum, whatever the order. */
ALWAYS_INLINE void dot_q4_0_r8_n(int64_t K, const uint8_t *w, const char *x, size_t xs, const int nc, float *out)
{
  __m256 acc[DS_R8_COLS];
  const float *xd[DS_R8_COLS];
  const int32_t *xsum[DS_R8_COLS];
#pragma GCC unroll 8
  for (int c = 0; c < nc; c++) {
    acc[c] = _mm256_setzero_ps();
    xd[c] = ds_qa_d(x + c * xs, K);
    xsum[c] = ds_qa_s(x + c * xs, K);
  }
  const __m256i nib = _mm256_set1_epi8(0x0F), ones = _mm256_set1_epi16(1);
  for (int64_t b = 0; b < K / DS_QA_BLOCK; b++, w += DS_R8_BLOCK_BYTES) {
    _mm_prefetch((const char *)w + DS_PREFETCH_BYTES, _MM_HINT_T0);
    _mm_prefetch((const char *)w + DS_PREFETCH_BYTES + 64, _MM_HINT_T0);
    _mm_prefetch((const char *)w + DS_PREFETCH_BYTES + 128, _MM_HINT_T0);
    const __m256 dw = _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)w));
    __m256i lo[4], hi[4];
#pragma GCC unroll 4
    for (int k = 0; k < 4; k++) {
      const __m256i q = _mm256_loadu_si256((const __m256i *)(w + 16 + 32 * k));
      lo[k] = _mm256_and_si256(q, nib);
      hi[k] = _mm256_and_si256(_mm256_srli_epi16(q, 4), nib);
    }
#pragma GCC unroll 8
    for (int c = 0; c < nc; c++) {
      const char *xb = x + c * xs + b * DS_QA_BLOCK;
      __m256i p[4];
#pragma GCC unroll 4
      for (int k = 0; k < 4; k++) {
        int32_t a_lo, a_hi;
        memcpy(&a_lo, xb + 4 * k, 4);
        memcpy(&a_hi, xb + 16 + 4 * k, 4);
        p[k] = _mm256_add_epi16(_mm256_maddubs_epi16(lo[k], _mm256_set1_epi32(a_lo)),
                                _mm256_maddubs_epi16(hi[k], _mm256_set1_epi32(a_hi)));
      }
      const __m256i s16 = _mm256_add_epi16(_mm256_add_epi16(p[0], p[1]), _mm256_add_epi16(p[2], p[3]));
      const __m256i isum = _mm256_add_epi32(_mm256_madd_epi16(s16, ones), _mm256_set1_epi32(-8 * xsum[c][b]));
      acc[c] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(isum), _mm256_mul_ps(dw, _mm256_set1_ps(xd[c][b])), acc[c]);
    }
  }
#pragma GCC unroll 8
  for (int c = 0; c < nc; c++) _mm256_storeu_ps(out + 8 * c, acc[c]);
}

/* ---- K-quant dots (vec_scalar.c has the math) -------------------------------------- */

/* 8 int32 partial sums of the exact block sum sum_l u_l q_l, u unsigned levels
 * (Q4_K/Q5_K: <= 31, so maddubs pairs stay below 2 * 31 * 127). */
ALWAYS_INLINE __m256i k4_block(__m256i u, const char *xq) { return block_dot(u, _mm256_loadu_si256((const __m256i *)xq)); }

/* The 32 levels of blocks 2p (u[0]) and 2p + 1 (u[1]) of the Q4_K/Q5_K
 * super-block at w: low and high nibbles of qs[32p ..], plus 16 where bit j of
 * qh[l] is set (Q5_K; qh = its 32 high-bit bytes). */
ALWAYS_INLINE void k4_levels2(const uint8_t *w, bool q5, __m256i qh, int p, __m256i *u)
{
  const __m256i nib = _mm256_set1_epi8(0x0F), sixteen = _mm256_set1_epi8(16);
  const __m256i qs = _mm256_loadu_si256((const __m256i *)(w + (q5 ? 48 : 16) + 32 * p));
  u[0] = _mm256_and_si256(qs, nib);
  u[1] = _mm256_and_si256(_mm256_srli_epi16(qs, 4), nib);
  for (int h = 0; q5 && h < 2; h++) {
    const __m256i bit = _mm256_set1_epi8((char)(1 << (2 * p + h)));
    __m256i set = _mm256_cmpeq_epi8(_mm256_and_si256(qh, bit), bit);
    u[h] = _mm256_add_epi8(u[h], _mm256_and_si256(set, sixteen));
  }
}

/* The 32 signed values level - 32 (in [-32, 31]) of block r (0..3) of half h
 * of the Q6_K super-block at w: nibble r / 2 of ql[64h + 32(r % 2) + l] |
 * bits 2r.. of qh[32h + l] << 4. */
ALWAYS_INLINE __m256i q6_values(const uint8_t *w, int h, int r)
{
  const __m256i nib = _mm256_set1_epi8(0x0F), three = _mm256_set1_epi8(3);
  const __m256i qh = _mm256_loadu_si256((const __m256i *)(w + 128 + 32 * h));
  const __m256i ql = _mm256_loadu_si256((const __m256i *)(w + 64 * h + 32 * (r % 2)));
  __m256i lo = _mm256_and_si256(r / 2 ? _mm256_srli_epi16(ql, 4) : ql, nib);
  __m256i hi = _mm256_and_si256(_mm256_srli_epi16(qh, 2 * r), three);
  return _mm256_sub_epi8(_mm256_or_si256(lo, _mm256_slli_epi16(hi, 4)), _mm256_set1_epi8(32));
}

/* Q4_K / Q5_K: per super-block the 8 scales D_j = d sc_j and mins M_j = dmin m_j;
 * per block pair (2p, 2p + 1) the 32 bytes of qs give both blocks' levels (low,
 * then high nibbles), plus 16 where bit j of qh[l] is set (Q5_K). The block's
 * int32 lanes go to f32 (exact) and are FMA'd with D_j dx_j; the min terms
 * M_j dx_j s_j of the 8 blocks are one 8-lane FMA per column. */
ALWAYS_INLINE void dot_k4_n(int64_t K, const uint8_t *w, const char *x, size_t xs, const int nc, float *out, const bool q5)
{
  const size_t bytes = q5 ? 176 : 144;
  __m256 acc[DS_VEC_COLS], macc[DS_VEC_COLS];
#pragma GCC unroll 4
  for (int c = 0; c < nc; c++) acc[c] = macc[c] = _mm256_setzero_ps();
  for (int64_t sb = 0; sb < K / DS_QK_K; sb++, w += bytes) {
    _mm_prefetch((const char *)w + DS_PREFETCH_BYTES, _MM_HINT_T0);
    _mm_prefetch((const char *)w + DS_PREFETCH_BYTES + 64, _MM_HINT_T0);
    _mm_prefetch((const char *)w + DS_PREFETCH_BYTES + 128, _MM_HINT_T0);
    float D[8], M[8];
    const float d = f16_at(w), dmin = f16_at(w + 2);
    for (int j = 0; j < 8; j++) {
      uint8_t sc, m;
      ds_scale_min_k4(j, w + 4, &sc, &m);
      D[j] = d * (float)sc;
      M[j] = dmin * (float)m;
    }
    const __m256 vm = _mm256_loadu_ps(M);
#pragma GCC unroll 4
    for (int c = 0; c < nc; c++) {
      const char *xr = x + c * xs;
      macc[c] = _mm256_fmadd_ps(_mm256_mul_ps(vm, _mm256_loadu_ps(ds_qa_d(xr, K) + sb * 8)),
                                _mm256_cvtepi32_ps(_mm256_loadu_si256((const __m256i *)(ds_qa_s(xr, K) + sb * 8))),
                                macc[c]);
    }
    const __m256i qh = q5 ? _mm256_loadu_si256((const __m256i *)(w + 16)) : _mm256_setzero_si256();
    for (int p = 0; p < 4; p++) {
      __m256i u[2];
      k4_levels2(w, q5, qh, p, u);
      for (int h = 0; h < 2; h++) {
        const int64_t blk = sb * 8 + 2 * p + h;
#pragma GCC unroll 4
        for (int c = 0; c < nc; c++) {
          const char *xr = x + c * xs;
          __m256 pf = _mm256_cvtepi32_ps(k4_block(u[h], xr + blk * DS_QA_BLOCK));
          acc[c] = _mm256_fmadd_ps(pf, _mm256_set1_ps(D[2 * p + h] * ds_qa_d(xr, K)[blk]), acc[c]);
        }
      }
    }
  }
#pragma GCC unroll 4
  for (int c = 0; c < nc; c++) out[c] = hsum256(acc[c]) - hsum256(macc[c]);
}
ALWAYS_INLINE void dot_q4_k_n(int64_t K, const uint8_t *w, const char *x, size_t xs, const int nc, float *out)
{
  dot_k4_n(K, w, x, xs, nc, out, false);
}
ALWAYS_INLINE void dot_q5_k_n(int64_t K, const uint8_t *w, const char *x, size_t xs, const int nc, float *out)
{
  dot_k4_n(K, w, x, xs, nc, out, true);
}

/* Q6_K: block r (0..3) of half h has the signed values v_l (q6_values);
 * maddubs(|v|, sign(q, v)) pairs stay below 2 * 32 * 127,
 * and madd with the int16 scales [sc_a x 8 | sc_b x 8] (bytes 0-15 of the
 * block are group a, 16-31 group b) gives sc_g * (pair sums) in int32, exact:
 * |.| <= 2 * 128 * 8128. Then to f32 and an FMA with d dx_b. */
ALWAYS_INLINE void dot_q6_k_n(int64_t K, const uint8_t *w, const char *x, size_t xs, const int nc, float *out)
{
  __m256 acc[DS_VEC_COLS];
#pragma GCC unroll 4
  for (int c = 0; c < nc; c++) acc[c] = _mm256_setzero_ps();
  for (int64_t sb = 0; sb < K / DS_QK_K; sb++, w += 210) {
    _mm_prefetch((const char *)w + DS_PREFETCH_BYTES, _MM_HINT_T0);
    _mm_prefetch((const char *)w + DS_PREFETCH_BYTES + 64, _MM_HINT_T0);
    _mm_prefetch((const char *)w + DS_PREFETCH_BYTES + 128, _MM_HINT_T0);
    _mm_prefetch((const char *)w + DS_PREFETCH_BYTES + 192, _MM_HINT_T0);
    const float d = f16_at(w + 208);
    const int8_t *sc = (const int8_t *)(w + 192);
    for (int h = 0; h < 2; h++) {
      for (int r = 0; r < 4; r++) {
        const __m256i v = q6_values(w, h, r), u = _mm256_abs_epi8(v);
        const __m256i scl = _mm256_set_m128i(_mm_set1_epi16(sc[8 * h + 2 * r + 1]), _mm_set1_epi16(sc[8 * h + 2 * r]));
        const int64_t blk = sb * 8 + 4 * h + r;
#pragma GCC unroll 4
        for (int c = 0; c < nc; c++) {
          const char *xr = x + c * xs;
          __m256i xq = _mm256_loadu_si256((const __m256i *)(xr + blk * DS_QA_BLOCK));
          __m256i i = _mm256_madd_epi16(_mm256_maddubs_epi16(u, _mm256_sign_epi8(xq, v)), scl);
          acc[c] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(i), _mm256_set1_ps(d * ds_qa_d(xr, K)[blk]), acc[c]);
        }
      }
    }
  }
#pragma GCC unroll 4
  for (int c = 0; c < nc; c++) out[c] = hsum256(acc[c]);
}

/* ---- f32-activation dots --------------------------------------------------------- */

/* 8 weights at w[i..i+8) as f32. */
ALWAYS_INLINE __m256 load8_f32(const void *w, int64_t i) { return _mm256_loadu_ps((const float *)w + i); }
ALWAYS_INLINE __m256 load8_f16(const void *w, int64_t i)
{
  return _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)((const uint16_t *)w + i)));
}
ALWAYS_INLINE __m256 load8_bf16(const void *w, int64_t i)
{
  __m128i h = _mm_loadu_si128((const __m128i *)((const uint16_t *)w + i));
  return _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_cvtepu16_epi32(h), 16));
}

/* One weight row, nc columns; the tail (K % 8) in scalar with the element
 * conversion `one`. */
#define DOT_FLOAT_N(NAME, LOAD8, ONE)                                                         \
  ALWAYS_INLINE void NAME(int64_t K, const void *w, const char *x, size_t xs, const int nc,   \
                          float *out)                                                        \
  {                                                                                          \
    __m256 acc[DS_VEC_COLS];                                                                 \
    _Pragma("GCC unroll 4")                                                                  \
    for (int c = 0; c < nc; c++) acc[c] = _mm256_setzero_ps();                               \
    int64_t i = 0;                                                                           \
    for (; i + 8 <= K; i += 8) {                                                             \
      __m256 wv = LOAD8(w, i);                                                               \
      _Pragma("GCC unroll 4")                                                                \
      for (int c = 0; c < nc; c++)                                                           \
        acc[c] = _mm256_fmadd_ps(wv, _mm256_loadu_ps((const float *)(x + c * xs) + i), acc[c]); \
    }                                                                                        \
    _Pragma("GCC unroll 4")                                                                  \
    for (int c = 0; c < nc; c++) {                                                           \
      float sum = hsum256(acc[c]);                                                           \
      const float *xc = (const float *)(x + c * xs);                                         \
      for (int64_t j = i; j < K; j++) sum += ONE(w, j) * xc[j];                              \
      out[c] = sum;                                                                          \
    }                                                                                        \
  }

ALWAYS_INLINE float one_f32(const void *w, int64_t j) { return ((const float *)w)[j]; }
ALWAYS_INLINE float one_f16(const void *w, int64_t j) { return _cvtsh_ss(((const uint16_t *)w)[j]); }
ALWAYS_INLINE float one_bf16(const void *w, int64_t j)
{
  uint32_t u = (uint32_t)((const uint16_t *)w)[j] << 16;
  float f;
  memcpy(&f, &u, 4);
  return f;
}

DOT_FLOAT_N(dot_f32_n, load8_f32, one_f32)
DOT_FLOAT_N(dot_f16_n, load8_f16, one_f16)
DOT_FLOAT_N(dot_bf16_n, load8_bf16, one_bf16)

#include "kernels/vec_dispatch_x86.h"

DISPATCH_COLS(dot_q8_0, dot_q8_0_n, uint8_t)
DISPATCH_COLS(dot_q4_0, dot_q4_0_n, uint8_t)
DISPATCH_COLS(dot_q5_0, ds_q5_0_dot_x86, uint8_t)
DISPATCH_COLS8(dot_q4_0_r8, dot_q4_0_r8_n, uint8_t)
DISPATCH_COLS(dot_q4_k_r8, ds_q4_k_r8_dot_x86, uint8_t)
DISPATCH_COLS(dot_q6_k_r8, ds_q6_k_r8_dot_x86, uint8_t)

static void pack_q6_k_r8_r16(const void *w, size_t row_bytes, int64_t K, void *dst)
{
  ds_q6_k_r8_pack_tile_x86(w, row_bytes, K, dst);
}

static void pack_q4_k_r8_r16(const void *w, size_t row_bytes, int64_t K, void *dst, float *mins)
{
  ds_q4_k_r8_pack_tile_x86(w, row_bytes, K, dst, mins);
}

static void pack_q4_0_r8_r16(const void *w, size_t row_bytes, int64_t K, void *dst)
{
  ds_q4_0_r8_pack_tile_x86(w, row_bytes, K, dst);
}
DISPATCH_COLS(dot_q4_k, dot_q4_k_n, uint8_t)
DISPATCH_COLS(dot_q5_k, dot_q5_k_n, uint8_t)
DISPATCH_COLS(dot_q6_k, dot_q6_k_n, uint8_t)
DISPATCH_COLS(dot_f32, dot_f32_n, void)
DISPATCH_COLS(dot_f16, dot_f16_n, void)
DISPATCH_COLS(dot_bf16, dot_bf16_n, void)

/* ---- prompt-batch GEMM tile (vec.h layout) ---------------------------------------- */

/* 16 rows x nc <= 2 columns (a register block). The activations arrive as u8 a = q + 128 (vec.h);
 * maddubs(a, w) sums pairs a_j w_j + a_k w_k in s16, so a lane of D such
 * vectors added in s16 is exact while D * 2 * 255 * max|w| <= 32767. Per
 * 32-block the kernel takes the deepest s16 run the block's weights allow
 * (block_depth, once per block and call for all its columns):
 * - w in [-8, 7] (Q4_0): D = 8, all eight 4-value groups summed in s16, one
 *   madd with 1s per register half;
 * - w in [-16, 15] (Q4_K): D = 4; w in [-32, 31] (Q5_K, Q6_K always): D = 2;
 *   each run is widened by madd and added to the tile's correction
 *   c = -128 sum w: isum = c + sum a w = sum q w;
 * - otherwise (Q8_0's full range, -128 included): back to q (xor 0x80) and
 *   the dots' sign trick maddubs(|w|, sign(q, w)), pairs <= 2 * 128 * 127,
 *   isum = sum q w directly (c unused).
 * The integer isum is exact whichever way, so the depth changes no bits.
 * Register halves: rows 0-7 and 8-15 of a 4-value group; lanes = rows, so one
 * conversion and one FMA per half, no horizontal sums; each weight vector is
 * loaded once and serves both columns, each column's 4-byte activation
 * groups are broadcast once and used by both halves. q6: the Q6_K tile (vec.h,
 * values in [-32, 31]), groups 0-3 and 4-7 summed apart, each from its
 * correction, and scaled by its own d (lo, then hi). */

/* The s16 depth for the block at wp: 8, 4, 2, or 0 for the sign trick. With
 * hi / lo the bytewise max / min of its 16 weight vectors, m = max(hi, ~lo)
 * = max_j max(w_j, -w_j - 1) >= 0, and w in [-2^k, 2^k - 1] iff m < 2^k. */
ALWAYS_INLINE int block_depth(const uint8_t *wp)
{
  __m256i hi = _mm256_loadu_si256((const __m256i *)wp), lo = hi;
#pragma GCC unroll 16
  for (int i = 1; i < 16; i++) {
    const __m256i v = _mm256_loadu_si256((const __m256i *)(wp + 32 * i));
    hi = _mm256_max_epi8(hi, v);
    lo = _mm256_min_epi8(lo, v);
  }
  const __m256i m = _mm256_max_epi8(hi, _mm256_xor_si256(lo, _mm256_set1_epi8(-1)));
  if (_mm256_testz_si256(m, _mm256_set1_epi8((char)0xF8))) return 8;
  if (_mm256_testz_si256(m, _mm256_set1_epi8((char)0xF0))) return 4;
  if (_mm256_testz_si256(m, _mm256_set1_epi8((char)0xE0))) return 2;
  return 0;
}

/* The 4 activation bytes at p in every dword (a load-port broadcast). */
ALWAYS_INLINE __m256i bcast4(const char *p) { return _mm256_castps_si256(_mm256_broadcast_ss((const float *)p)); }

/* is[c][h] += sum over runs of `depth` groups in [g0, g1) of madd(sum of the
 * run's maddubs(a_c,g, w_g,h), 1) for the np <= 2 columns at xb[c]: the
 * register block. Each group's two weight vectors are loaded once and serve
 * both columns (2 x 2 s16 sums), so a block-column costs 8 weight loads and 8
 * activation broadcasts. */
ALWAYS_INLINE void block_sums(const uint8_t *wp, const char *const *xb, const int np, const int depth, const int g0,
                              const int g1, __m256i is[][2][2], const int part)
{
  const __m256i ones = _mm256_set1_epi16(1);
#pragma GCC unroll 8
  for (int g = g0; g < g1; g += depth) {
    __m256i s[2][2];
#pragma GCC unroll 8
    for (int k = 0; k < depth; k++) {
      __m256i w0 = _mm256_loadu_si256((const __m256i *)(wp + 64 * (g + k)));
      __m256i w1 = _mm256_loadu_si256((const __m256i *)(wp + 64 * (g + k) + 32));
      /* (empty asm: the weights stay in registers for both columns, and the
       * s16 sums stay chains, which GCC would otherwise reassociate into
       * trees of live products spilled to the stack) */
      __asm__("" : "+x"(w0), "+x"(w1));
#pragma GCC unroll 2
      for (int c = 0; c < np; c++) {
        const __m256i a = bcast4(xb[c] + 4 * (g + k));
        const __m256i p0 = _mm256_maddubs_epi16(a, w0), p1 = _mm256_maddubs_epi16(a, w1);
        s[c][0] = k ? _mm256_add_epi16(s[c][0], p0) : p0;
        s[c][1] = k ? _mm256_add_epi16(s[c][1], p1) : p1;
        __asm__("" : "+x"(s[c][0]), "+x"(s[c][1]));
      }
    }
#pragma GCC unroll 2
    for (int c = 0; c < np; c++)
#pragma GCC unroll 2
      for (int h = 0; h < 2; h++) is[c][part][h] = _mm256_add_epi32(is[c][part][h], _mm256_madd_epi16(s[c][h], ones));
  }
}

/* acc[h] += isum[part][h] * (d[part][rows of h] d_x), parts in order. */
ALWAYS_INLINE void tile_fma(__m256 *acc, __m256i is[2][2], const float *d, const int parts, float dx)
{
  const __m256 sx = _mm256_set1_ps(dx);
  for (int part = 0; part < parts; part++)
#pragma GCC unroll 2
    for (int h = 0; h < 2; h++)
      acc[h] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(is[part][h]), _mm256_mul_ps(_mm256_loadu_ps(d + 16 * part + 8 * h), sx),
                               acc[h]);
}

/* The nc <= 2 columns' block b (activations at x + c * xs) at the s16 depth
 * (8, 4 or 2) into acc. */
ALWAYS_INLINE void tile_block_small(const uint8_t *wp, const char *x, size_t xs, const int nc, int64_t b,
                                    const float *const *xd, const int depth, const bool q6, __m256 acc[2][2])
{
  const float *d = (const float *)(wp + 512);   /* [part][16 rows]: part 1 only for q6 */
  const int32_t *corr = (const int32_t *)(wp + (q6 ? 640 : 576));
  const int parts = q6 ? 2 : 1;
  const char *xb[2];
  __m256i is[2][2][2];
#pragma GCC unroll 2
  for (int c = 0; c < nc; c++) {
    xb[c] = x + c * xs;
    __asm__("" : "+r"(xb[c]));   /* one address register per column, groups by displacement */
    for (int part = 0; part < parts; part++)
      for (int h = 0; h < 2; h++) is[c][part][h] = _mm256_loadu_si256((const __m256i *)(corr + 16 * part + 8 * h));
  }
  if (q6) {
    block_sums(wp, xb, nc, 2, 0, 4, is, 0);
    block_sums(wp, xb, nc, 2, 4, 8, is, 1);
  } else
    block_sums(wp, xb, nc, depth, 0, 8, is, 0);
#pragma GCC unroll 2
  for (int c = 0; c < nc; c++) tile_fma(acc[c], is[c], d, parts, xd[c][b]);
}

/* The nc <= 2 columns' block b (activations at x + c * xs) with the sign
 * trick (weights of any range) into acc: each weight vector and its |w|
 * serve both columns. */
ALWAYS_INLINE void tile_block_sign(const uint8_t *wp, const char *x, size_t xs, const int nc, int64_t b,
                                   const float *const *xd, __m256 acc[2][2])
{
  const __m256i flip = _mm256_set1_epi8((char)0x80), ones = _mm256_set1_epi16(1);
  __m256i is[2][2][2];
#pragma GCC unroll 2
  for (int c = 0; c < nc; c++) is[c][0][0] = is[c][0][1] = _mm256_setzero_si256();
#pragma GCC unroll 8
  for (int g = 0; g < 8; g++) {
    __m256i q[2];
#pragma GCC unroll 2
    for (int c = 0; c < nc; c++) q[c] = _mm256_xor_si256(bcast4(x + c * xs + 4 * g), flip);
#pragma GCC unroll 2
    for (int h = 0; h < 2; h++) {
      const __m256i w = _mm256_loadu_si256((const __m256i *)(wp + 64 * g + 32 * h)), a = _mm256_abs_epi8(w);
#pragma GCC unroll 2
      for (int c = 0; c < nc; c++)
        is[c][0][h] = _mm256_add_epi32(is[c][0][h], _mm256_madd_epi16(_mm256_maddubs_epi16(a, _mm256_sign_epi8(q[c], w)), ones));
    }
  }
#pragma GCC unroll 2
  for (int c = 0; c < nc; c++) tile_fma(acc[c], is[c], (const float *)(wp + 512), 1, xd[c][b]);
}

/* Blocks [b0, b1) of nc <= 2 columns, on top of out (first: from zero); depth[b -
 * b0] is block b's s16 depth (unused for q6). */
ALWAYS_INLINE void gemm_tile_n(int64_t K, int64_t b0, int64_t b1, const uint8_t *wp, const char *x, size_t xs,
                               const int nc, float *out, size_t os, const bool q6, const uint8_t *depth, bool first)
{
  const size_t block_bytes = q6 ? DS_GEMM_Q6_BLOCK_BYTES : DS_GEMM_BLOCK_BYTES;
  __m256 acc[2][2];
  const float *xd[2];
#pragma GCC unroll 2
  for (int c = 0; c < nc; c++) {
    for (int h = 0; h < 2; h++) acc[c][h] = first ? _mm256_setzero_ps() : _mm256_loadu_ps(out + c * os + 8 * h);
    xd[c] = ds_qa_d(x + c * xs, K);
  }
  wp += b0 * block_bytes;
  for (int64_t b = b0; b < b1; b++, wp += block_bytes) {
    /* the block's activations at xb + c * xs: one address register for the
     * columns (GCC would otherwise keep an induction pointer per column and
     * 4-byte group, 32 of them, on the stack) */
    const char *xb = x + b * DS_QA_BLOCK;
    __asm__("" : "+r"(xb));
    if (q6) {
      tile_block_small(wp, xb, xs, nc, b, xd, 2, true, acc);
      continue;
    }
    switch (depth[b - b0]) {
    case 8: tile_block_small(wp, xb, xs, nc, b, xd, 8, false, acc); break;
    case 4: tile_block_small(wp, xb, xs, nc, b, xd, 4, false, acc); break;
    case 2: tile_block_small(wp, xb, xs, nc, b, xd, 2, false, acc); break;
    default: tile_block_sign(wp, xb, xs, nc, b, xd, acc); break;
    }
  }
#pragma GCC unroll 2
  for (int c = 0; c < nc; c++) {
    _mm256_storeu_ps(out + c * os, acc[c][0]);
    _mm256_storeu_ps(out + c * os + 8, acc[c][1]);
  }
}

/* Blocks per pass of gemm_tile: their depths are found once for all the
 * columns of the call, and their 20 KB of weights stay in L1 while the
 * column pairs pass over them. */
#define DS_TILE_CHUNK 32

/* Up to 8 columns as pairs (each column's sums do not depend on the pair),
 * the blocks in chunks: a column's accumulators go through out between
 * chunks (exact), so the sums are those of one pass. */
ALWAYS_INLINE void gemm_tile(int64_t K, const void *wp, const void *x, size_t xs, int ncols, float *out, size_t os,
                             const bool q6)
{
  const uint8_t *w = wp;
  const int64_t nb = K / DS_QA_BLOCK;
  uint8_t depth[DS_TILE_CHUNK];
  for (int64_t b0 = 0; b0 < nb; b0 += DS_TILE_CHUNK) {
    const int64_t b1 = b0 + DS_TILE_CHUNK < nb ? b0 + DS_TILE_CHUNK : nb;
    for (int64_t b = b0; b < b1 && !q6; b++) depth[b - b0] = (uint8_t)block_depth(w + b * DS_GEMM_BLOCK_BYTES);
    for (int c0 = 0; c0 < ncols; c0 += 2) {
      const char *xp = (const char *)x + (size_t)c0 * xs;
      float *o = out + (size_t)c0 * os;
      if (ncols - c0 == 1) gemm_tile_n(K, b0, b1, w, xp, xs, 1, o, os, q6, depth, b0 == 0);
      else gemm_tile_n(K, b0, b1, w, xp, xs, 2, o, os, q6, depth, b0 == 0);
    }
  }
}
static void gemm_r16(int64_t K, const void *wp, const void *x, size_t xs, int ncols, float *out, size_t os)
{
  gemm_tile(K, wp, x, xs, ncols, out, os, false);
}
static void gemm_q6_k_r16(int64_t K, const void *wp, const void *x, size_t xs, int ncols, float *out, size_t os)
{
  gemm_tile(K, wp, x, xs, ncols, out, os, true);
}

/* The Q4_K/Q5_K tile's min term (vec.h, ds_gemm_min_term): per column two
 * ymm of the 16 rows, acc += mins[b][rows] * ds_b over blocks b in order (an
 * FMA with the broadcast ds_b); 4 columns per pass share each mins load. */
ALWAYS_INLINE void min_term_n(int64_t K, const float *mins, const float *ds, size_t dss, const int nc, float *out,
                              size_t os)
{
  __m256 acc[4][2];
#pragma GCC unroll 4
  for (int c = 0; c < nc; c++) acc[c][0] = acc[c][1] = _mm256_setzero_ps();
  for (int64_t b = 0; b < K / DS_QA_BLOCK; b++) {
    const __m256 m0 = _mm256_loadu_ps(mins + b * DS_GEMM_ROWS), m1 = _mm256_loadu_ps(mins + b * DS_GEMM_ROWS + 8);
#pragma GCC unroll 4
    for (int c = 0; c < nc; c++) {
      const __m256 v = _mm256_broadcast_ss(ds + (size_t)c * dss + b);
      acc[c][0] = _mm256_fmadd_ps(m0, v, acc[c][0]);
      acc[c][1] = _mm256_fmadd_ps(m1, v, acc[c][1]);
    }
  }
#pragma GCC unroll 4
  for (int c = 0; c < nc; c++)
    for (int h = 0; h < 2; h++) {
      float *o = out + (size_t)c * os + 8 * h;
      _mm256_storeu_ps(o, _mm256_sub_ps(_mm256_loadu_ps(o), acc[c][h]));
    }
}

static void gemm_min_term(int64_t K, const float *mins, const float *ds, size_t dss, int ncols, float *out, size_t os)
{
  int c = 0;
  for (; c + 4 <= ncols; c += 4) min_term_n(K, mins, ds + (size_t)c * dss, dss, 4, out + (size_t)c * os, os);
  for (; c < ncols; c++) min_term_n(K, mins, ds + (size_t)c * dss, dss, 1, out + (size_t)c * os, os);
}

/* Packing 16 full rows of Q8_0 / Q4_0 (vec.h layout) per 32-block: value
 * group g (4 bytes per row) of rows 0-7 (half 0) or 8-15 (half 1) is built in
 * one register, stored, and its row sums taken (maddubs with u8 1s, s16 pair
 * sums over 8 groups <= 8 * 256); the f16 scales of 8 rows by one gather. Fewer
 * rows (the last tile): the portable packer, same bytes. The loops run over
 * register arrays and are unrolled (GCC keeps the arrays in registers only
 * then).
 *
 * The registers: 16 bytes (4 dwords) of rows r0 + i in lane 0 and r0 + 4 + i
 * in lane 1 (i < 4), then a 4 x 4 dword transpose within the lanes leaves
 * dword k of rows r0 .. r0 + 7 in register k, in row order: no lane swaps. */
ALWAYS_INLINE void load_quad(const uint8_t *base, size_t row_bytes, int r0, int off, __m256i *x)
{
#pragma GCC unroll 4
  for (int i = 0; i < 4; i++)
    x[i] = _mm256_inserti128_si256(
        _mm256_castsi128_si256(_mm_loadu_si128((const __m128i *)(base + (size_t)(r0 + i) * row_bytes + off))),
        _mm_loadu_si128((const __m128i *)(base + (size_t)(r0 + 4 + i) * row_bytes + off)), 1);
}
ALWAYS_INLINE void transpose4_lanes(const __m256i *x, __m256i *out)
{
  __m256i t0 = _mm256_unpacklo_epi32(x[0], x[1]), t1 = _mm256_unpackhi_epi32(x[0], x[1]);
  __m256i t2 = _mm256_unpacklo_epi32(x[2], x[3]), t3 = _mm256_unpackhi_epi32(x[2], x[3]);
  out[0] = _mm256_unpacklo_epi64(t0, t2);
  out[1] = _mm256_unpackhi_epi64(t0, t2);
  out[2] = _mm256_unpacklo_epi64(t1, t3);
  out[3] = _mm256_unpackhi_epi64(t1, t3);
}

/* Group g of rows 0-7 (half 0) or 8-15 (half 1) into the tile, its row sums
 * added to *acc. */
ALWAYS_INLINE void put_group(uint8_t *pb, int g, int half, __m256i v, __m256i *acc)
{
  _mm256_storeu_si256((__m256i *)(pb + 64 * g + 32 * half), v);
  *acc = _mm256_add_epi16(*acc, _mm256_maddubs_epi16(_mm256_set1_epi8(1), v));
}

/* The 16 rows' corrections c = -128 * row sum at pc: rows 0-7 from the s16
 * pair sums lo, 8-15 from hi. */
ALWAYS_INLINE void put_corrections(uint8_t *pc, __m256i lo, __m256i hi)
{
  const __m256i ones16 = _mm256_set1_epi16(1);
  _mm256_storeu_si256((__m256i *)pc, _mm256_sub_epi32(_mm256_setzero_si256(), _mm256_slli_epi32(_mm256_madd_epi16(lo, ones16), 7)));
  _mm256_storeu_si256((__m256i *)(pc + 32),
                      _mm256_sub_epi32(_mm256_setzero_si256(), _mm256_slli_epi32(_mm256_madd_epi16(hi, ones16), 7)));
}

/* 16 rows of 32 signed values (row r's at v + r * stride, e.g. Q8_0's q) into
 * the block's q[8][16][4]: bytes 0-15 are groups 0-3, 16-31 groups 4-7; row
 * sums of groups 0-3 to s16[half], of groups 4-7 to s16[2 + half]. */
ALWAYS_INLINE void rows_to_groups(const uint8_t *v, size_t stride, uint8_t *pb, __m256i *s16)
{
#pragma GCC unroll 2
  for (int half = 0; half < 2; half++)
#pragma GCC unroll 2
    for (int part = 0; part < 2; part++) {
      __m256i x[4], o[4];
      load_quad(v, stride, 8 * half, 16 * part, x);
      transpose4_lanes(x, o);
#pragma GCC unroll 4
      for (int k = 0; k < 4; k++) put_group(pb, 4 * part + k, half, o[k], &s16[2 * part + half]);
    }
}

/* Q4_0: byte j of the 16 holds values j (low nibble) and j + 16, so dword k
 * gives group k (low nibbles) and group k + 4 (high nibbles), each - 8. */
ALWAYS_INLINE void q4_0_groups(const uint8_t *base, size_t row_bytes, uint8_t *pb, __m256i *s16)
{
  const __m256i nib = _mm256_set1_epi8(0x0F), eight = _mm256_set1_epi8(8);
#pragma GCC unroll 2
  for (int half = 0; half < 2; half++) {
    __m256i x[4], o[4];
    load_quad(base, row_bytes, 8 * half, 2, x);
    transpose4_lanes(x, o);
#pragma GCC unroll 4
    for (int k = 0; k < 4; k++) {
      put_group(pb, k, half, _mm256_sub_epi8(_mm256_and_si256(o[k], nib), eight), &s16[half]);
      put_group(pb, k + 4, half, _mm256_sub_epi8(_mm256_and_si256(_mm256_srli_epi16(o[k], 4), nib), eight), &s16[2 + half]);
    }
  }
}

static bool pack_r16(int type, const void *w, size_t row_bytes, int nrows, int64_t K, void *dst)
{
  if (nrows < DS_GEMM_ROWS || (type != DSEEK_TYPE_Q8_0 && type != DSEEK_TYPE_Q4_0) || row_bytes * 7 > INT32_MAX)
    return ds_gemm_pack_r16(type, w, row_bytes, nrows, K, dst);
  const bool q8 = type == DSEEK_TYPE_Q8_0;
  const int64_t wblock = q8 ? 34 : 18;
  const __m256i offs = _mm256_mullo_epi32(_mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7), _mm256_set1_epi32((int)row_bytes));
  /* bytes 0-1, 4-5, 8-9, 12-13 of each lane to its low 8 bytes */
  const __m256i low16 = _mm256_setr_epi8(0, 1, 4, 5, 8, 9, 12, 13, -1, -1, -1, -1, -1, -1, -1, -1,
                                         0, 1, 4, 5, 8, 9, 12, 13, -1, -1, -1, -1, -1, -1, -1, -1);
  const uint8_t *base = w;
  /* the next tile's rows follow this one's: fetched into L2 a share per block */
  const char *next = (const char *)w + DS_GEMM_ROWS * row_bytes;
  const size_t share = DS_GEMM_ROWS * (size_t)wblock;
  for (int64_t b = 0; b < K / DS_QA_BLOCK; b++, base += wblock) {
    uint8_t *pb = (uint8_t *)dst + b * DS_GEMM_BLOCK_BYTES;
    for (size_t o = (size_t)b * share; o < (size_t)(b + 1) * share; o += 64) _mm_prefetch(next + o, _MM_HINT_T1);
    __m256i s16[4] = {_mm256_setzero_si256(), _mm256_setzero_si256(), _mm256_setzero_si256(), _mm256_setzero_si256()};
    if (q8)
      rows_to_groups(base + 2, row_bytes, pb, s16);
    else
      q4_0_groups(base, row_bytes, pb, s16);
    put_corrections(pb + 576, _mm256_add_epi16(s16[0], s16[2]), _mm256_add_epi16(s16[1], s16[3]));
#pragma GCC unroll 2
    for (int half = 0; half < 2; half++) {
      /* the 8 rows' first dwords (f16 d + 2 bytes), their low halves, widened */
      __m256i g = _mm256_i32gather_epi32((const int *)(base + (size_t)(8 * half) * row_bytes), offs, 1);
      g = _mm256_permute4x64_epi64(_mm256_shuffle_epi8(g, low16), 0x08);
      _mm256_storeu_ps((float *)(pb + 512 + 32 * half), _mm256_cvtph_ps(_mm256_castsi256_si128(g)));
    }
  }
  return true;
}

/* K-quant packers (gemm_pack.c layouts, the same bytes as its plain-C ones):
 * per super-block, each of the 16 rows' 8 blocks of 32 values (levels, or
 * Q6_K's level - 32) go to lv[block][row][32] with the dots' unpacking, the
 * per-row scales (and Q4_K/Q5_K mins) as the plain packer computes them; then
 * each block's 16 rows through rows_to_groups. Fewer rows: the plain packers. */
static bool pack_k_r16(int type, const void *w, size_t row_bytes, int nrows, int64_t K, void *dst, float *mins)
{
  if (nrows < DS_GEMM_ROWS || (type != DSEEK_TYPE_Q4_K && type != DSEEK_TYPE_Q5_K))
    return ds_gemm_pack_k_r16(type, w, row_bytes, nrows, K, dst, mins);
  const bool q5 = type == DSEEK_TYPE_Q5_K;
  const size_t sblock = q5 ? 176 : 144;
  _Alignas(32) uint8_t lv[8][DS_GEMM_ROWS][32];
  for (int64_t s = 0; s < K / DS_QK_K; s++) {
    uint8_t *pb = (uint8_t *)dst + s * 8 * DS_GEMM_BLOCK_BYTES;
    for (int r = 0; r < DS_GEMM_ROWS; r++) {
      const uint8_t *sb = (const uint8_t *)w + (size_t)r * row_bytes + s * sblock;
      const __m256i qh = q5 ? _mm256_loadu_si256((const __m256i *)(sb + 16)) : _mm256_setzero_si256();
      for (int p = 0; p < 4; p++) {
        __m256i u[2];
        k4_levels2(sb, q5, qh, p, u);
        _mm256_store_si256((__m256i *)lv[2 * p][r], u[0]);
        _mm256_store_si256((__m256i *)lv[2 * p + 1][r], u[1]);
      }
      const float d = ds_get_half(sb), dmin = ds_get_half(sb + 2);
      for (int j = 0; j < 8; j++) {
        uint8_t sc, m;
        ds_scale_min_k4(j, sb + 4, &sc, &m);
        const float dj = d * (float)sc;
        memcpy(pb + j * DS_GEMM_BLOCK_BYTES + 512 + 4 * r, &dj, 4);
        mins[(s * 8 + j) * DS_GEMM_ROWS + r] = dmin * (float)m;
      }
    }
    for (int j = 0; j < 8; j++) {
      __m256i s16[4] = {_mm256_setzero_si256(), _mm256_setzero_si256(), _mm256_setzero_si256(), _mm256_setzero_si256()};
      rows_to_groups(lv[j][0], 32, pb + j * DS_GEMM_BLOCK_BYTES, s16);
      put_corrections(pb + j * DS_GEMM_BLOCK_BYTES + 576, _mm256_add_epi16(s16[0], s16[2]), _mm256_add_epi16(s16[1], s16[3]));
    }
  }
  return true;
}

/* Q6_K: values 0-15 (groups 0-3) and 16-31 (4-7) of a block have their own
 * scale d sc and correction (vec.h's Q6_K tile). */
static bool pack_q6_k_r16(const void *w, size_t row_bytes, int nrows, int64_t K, void *dst)
{
  if (nrows < DS_GEMM_ROWS) return ds_gemm_pack_q6_k_r16(w, row_bytes, nrows, K, dst);
  _Alignas(32) uint8_t lv[8][DS_GEMM_ROWS][32];
  for (int64_t s = 0; s < K / DS_QK_K; s++) {
    uint8_t *pb = (uint8_t *)dst + s * 8 * DS_GEMM_Q6_BLOCK_BYTES;
    for (int r = 0; r < DS_GEMM_ROWS; r++) {
      const uint8_t *sb = (const uint8_t *)w + (size_t)r * row_bytes + s * 210;
      for (int h = 0; h < 2; h++)
        for (int q = 0; q < 4; q++) _mm256_store_si256((__m256i *)lv[4 * h + q][r], q6_values(sb, h, q));
      const float d = ds_get_half(sb + 208);
      const int8_t *sc = (const int8_t *)(sb + 192);
      for (int j = 0; j < 8; j++)
        for (int half = 0; half < 2; half++) {
          const float ds = d * (float)sc[2 * j + half];
          memcpy(pb + j * DS_GEMM_Q6_BLOCK_BYTES + 512 + 64 * half + 4 * r, &ds, 4);
        }
    }
    for (int j = 0; j < 8; j++) {
      uint8_t *pj = pb + j * DS_GEMM_Q6_BLOCK_BYTES;
      __m256i s16[4] = {_mm256_setzero_si256(), _mm256_setzero_si256(), _mm256_setzero_si256(), _mm256_setzero_si256()};
      rows_to_groups(lv[j][0], 32, pj, s16);
      put_corrections(pj + 640, s16[0], s16[1]);   /* values 0-15 */
      put_corrections(pj + 704, s16[2], s16[3]);   /* values 16-31 */
    }
  }
  return true;
}

static void axpy_f32(int64_t n, float a, const float *x, float *y)
{
  __m256 va = _mm256_set1_ps(a);
  int64_t i = 0;
  for (; i + 8 <= n; i += 8) _mm256_storeu_ps(y + i, _mm256_fmadd_ps(va, _mm256_loadu_ps(x + i), _mm256_loadu_ps(y + i)));
  for (; i < n; i++) y[i] = fmaf(a, x[i], y[i]);
}

const ds_vec_kernels ds_vec_avx2 = {
  .name = "avx2",
  .quantize_qa = quantize_qa,
  .dot_q8_0 = dot_q8_0,
  .dot_q4_0 = dot_q4_0,
  .dot_q5_0 = dot_q5_0,
  .dot_q4_0_r8 = dot_q4_0_r8,
  .pack_q4_0_r8_r16 = pack_q4_0_r8_r16,
  .dot_q4_k_r8 = dot_q4_k_r8,
  .pack_q4_k_r8_r16 = pack_q4_k_r8_r16,
  .dot_q6_k_r8 = dot_q6_k_r8,
  .pack_q6_k_r8_r16 = pack_q6_k_r8_r16,
  .dot_f32 = dot_f32,
  .dot_f16 = dot_f16,
  .dot_bf16 = dot_bf16,
  .dot_q4_k = dot_q4_k,
  .dot_q5_k = dot_q5_k,
  .dot_q6_k = dot_q6_k,
  .gemm_r16 = gemm_r16,
  .pack_r16 = pack_r16,
  .gemm_q6_k_r16 = gemm_q6_k_r16,
  .gemm_min_term = gemm_min_term,
  .pack_k_r16 = pack_k_r16,
  .pack_q6_k_r16 = pack_q6_k_r16,
  .axpy_f32 = axpy_f32,
  .dot_iq = DS_IQ_DOTS_X86,
};
#else
typedef int ds_vec_avx2_unused;   /* ISO C forbids an empty translation unit */
#endif
