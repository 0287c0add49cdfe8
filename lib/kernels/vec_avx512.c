/*
 * vec_avx512.c — dot kernels for AVX-512 F/BW/VL + VNNI (vec.h), compiled with
 * the AVX-512 flags in its own static library and only called after cpu.c found
 * those features. Empty on other targets.
 *
 * Two 32-value blocks per 512-bit register; vpdpbusd multiplies u8 x s8 and
 * adds groups of four into s32 lanes (lanes 0-7: first block, 8-15: second),
 * with no intermediate saturation.
 *   Q8_0: u = |w| (as u8: |-128| = 128 is right), v = q negated where w < 0
 *   Q4_0: u = nibbles 0..15, v = q, then -8 s_b subtracted in lanes 0 and 8
 * The lanes go to f32 (exact) and are accumulated by FMA with d_w d_x; an odd
 * last block runs with the upper half zeroed. F16/BF16 weights are widened to
 * f32 exactly (vcvtph2ps; bf16 << 16) and FMA'd with f32 activations, 16 at a
 * time, the tail under a mask. (vdpbf16ps would round the activations to bf16,
 * so it is not used: decode is bound by memory, not by these FMAs.)
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
#include <stdbool.h>
#include <string.h>

#define ALWAYS_INLINE static inline __attribute__((always_inline))
/* Weight bytes fetched ahead of use: decode streams each weight once, and
 * the hardware prefetcher alone leaves the loads waiting on DRAM. */
#define DS_PREFETCH_BYTES 2048

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
  enum { rnd = _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC }; /* an immediate for clang */
  for (int64_t b = 0; b < K / DS_QA_BLOCK; b++) {
    __m512 v0 = _mm512_loadu_ps(x + b * DS_QA_BLOCK), v1 = _mm512_loadu_ps(x + b * DS_QA_BLOCK + 16);
    float amax = _mm512_reduce_max_ps(_mm512_max_ps(_mm512_abs_ps(v0), _mm512_abs_ps(v1)));
    float db = amax / 127.0f, id = db != 0.0f ? 1.0f / db : 0.0f;
    __m512 vid = _mm512_set1_ps(id);
    __m512i i0 = _mm512_cvtps_epi32(_mm512_roundscale_ps(_mm512_mul_ps(v0, vid), rnd));
    __m512i i1 = _mm512_cvtps_epi32(_mm512_roundscale_ps(_mm512_mul_ps(v1, vid), rnd));
    _mm_storeu_si128((__m128i *)(q + b * DS_QA_BLOCK), _mm512_cvtepi32_epi8(i0));
    _mm_storeu_si128((__m128i *)(q + b * DS_QA_BLOCK + 16), _mm512_cvtepi32_epi8(i1));
    d[b] = db;
    s[b] = _mm512_reduce_add_epi32(_mm512_add_epi32(i0, i1));
  }
}

/* ---- quantized dots ------------------------------------------------------------ */

/* [v0 x 8 | v1 x 8] from two floats at p (a pair of block scales). */
ALWAYS_INLINE __m512 spread_pair(__m128 v01)
{
  const __m512i idx = _mm512_setr_epi32(0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 1, 1, 1);
  return _mm512_permutexvar_ps(idx, _mm512_castps128_ps512(v01));
}
/* The f16 scales of two weight blocks `stride` bytes apart, spread. */
ALWAYS_INLINE __m512 weight_scales(const uint8_t *w, int stride)
{
  uint16_t h0, h1;
  memcpy(&h0, w, 2);
  memcpy(&h1, w + stride, 2);
  return spread_pair(_mm_cvtph_ps(_mm_insert_epi16(_mm_cvtsi32_si128(h0), h1, 1)));
}
/* The QA scales of blocks b, b + 1 (b alone: the second one 0, not read). */
ALWAYS_INLINE __m512 act_scales(const float *d, bool two)
{
  return spread_pair(two ? _mm_castpd_ps(_mm_load_sd((const double *)d)) : _mm_load_ss(d));
}

/* Q8_0 weight blocks b, b + 1 (or b alone when `two` is false: upper half 0). */
ALWAYS_INLINE __m512i q8_0_pair(const uint8_t *w, bool two)
{
  __m512i lo = _mm512_zextsi256_si512(_mm256_loadu_si256((const __m256i *)(w + 2)));
  return two ? _mm512_inserti64x4(lo, _mm256_loadu_si256((const __m256i *)(w + 34 + 2)), 1) : lo;
}

/* Blocks b, b + 1 of a Q8_0 row against nc QA columns; `two` a constant. */
ALWAYS_INLINE void q8_0_step(const uint8_t *w, const char *x, size_t xs, const float *const *xd, int64_t b,
                             const int nc, const bool two, __m512 *acc)
{
  const __m512i zero = _mm512_setzero_si512();
  __m512i wq = q8_0_pair(w, two);
  __m512i u = _mm512_abs_epi8(wq);
  __mmask64 neg = _mm512_movepi8_mask(wq);
  __m512 dw = weight_scales(w, two ? 34 : 0);   /* alone: lanes 8-15 meet a zero scale */
#pragma GCC unroll 4
  for (int c = 0; c < nc; c++) {
    const char *xb = x + c * xs + b * DS_QA_BLOCK;
    __m512i xq = two ? _mm512_loadu_si512(xb) : _mm512_maskz_loadu_epi8(0xFFFFFFFFull, xb);
    __m512i v = _mm512_mask_sub_epi8(xq, neg, zero, xq);
    __m512 p = _mm512_cvtepi32_ps(_mm512_dpbusd_epi32(zero, u, v));
    acc[c] = _mm512_fmadd_ps(p, _mm512_mul_ps(dw, act_scales(xd[c] + b, two)), acc[c]);
  }
}

ALWAYS_INLINE void dot_q8_0_n(int64_t K, const uint8_t *w, const char *x, size_t xs, const int nc, float *out)
{
  __m512 acc[DS_VEC_COLS];
  const float *xd[DS_VEC_COLS];
#pragma GCC unroll 4
  for (int c = 0; c < nc; c++) {
    acc[c] = _mm512_setzero_ps();
    xd[c] = ds_qa_d(x + c * xs, K);
  }
  const int64_t nb = K / DS_QA_BLOCK;
  int64_t b = 0;
  for (; b + 2 <= nb; b += 2, w += 68) {
    _mm_prefetch((const char *)w + DS_PREFETCH_BYTES, _MM_HINT_T0);
    _mm_prefetch((const char *)w + DS_PREFETCH_BYTES + 64, _MM_HINT_T0);
    q8_0_step(w, x, xs, xd, b, nc, true, acc);
  }
  if (b < nb) q8_0_step(w, x, xs, xd, b, nc, false, acc);
#pragma GCC unroll 4
  for (int c = 0; c < nc; c++) out[c] = _mm512_reduce_add_ps(acc[c]);
}

/* Q4_0 blocks b, b + 1 as [lo(b) hi(b) lo(b+1) hi(b+1)] (16 bytes each), i.e.
 * values 0..31 of each block in order: each block's 16 bytes broadcast to two
 * 128-bit lanes, the second lane shifted right by 4, then the low nibbles. */
ALWAYS_INLINE __m512i q4_0_pair(const uint8_t *w, bool two)
{
  __m256i a = _mm256_broadcastsi128_si256(_mm_loadu_si128((const __m128i *)(w + 2)));
  __m256i b = two ? _mm256_broadcastsi128_si256(_mm_loadu_si128((const __m128i *)(w + 18 + 2))) : _mm256_setzero_si256();
  __m512i z = _mm512_inserti64x4(_mm512_castsi256_si512(a), b, 1);
  z = _mm512_srlv_epi64(z, _mm512_setr_epi64(0, 0, 4, 4, 0, 0, 4, 4));
  return _mm512_and_si512(z, _mm512_set1_epi8(0x0F));
}

ALWAYS_INLINE void q4_0_step(const uint8_t *w, const char *x, size_t xs, const float *const *xd,
                             const int32_t *const *xsum, int64_t b, const int nc, const bool two, __m512 *acc)
{
  /* -8 s_b into lane 0 and -8 s_{b+1} into lane 8 */
  const __m512i idx = _mm512_setr_epi32(0, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0);
  __m512i u = q4_0_pair(w, two);
  __m512 dw = weight_scales(w, two ? 18 : 0);
#pragma GCC unroll 4
  for (int c = 0; c < nc; c++) {
    const char *xb = x + c * xs + b * DS_QA_BLOCK;
    __m512i xq = two ? _mm512_loadu_si512(xb) : _mm512_maskz_loadu_epi8(0xFFFFFFFFull, xb);
    __m128i s2 = two ? _mm_loadl_epi64((const __m128i *)(xsum[c] + b)) : _mm_cvtsi32_si128(xsum[c][b]);
    __m512i s = _mm512_castsi128_si512(s2);
    __m512i off = _mm512_maskz_permutexvar_epi32(0x0101, idx, s);
    __m512i i = _mm512_dpbusd_epi32(_mm512_sub_epi32(_mm512_setzero_si512(), _mm512_slli_epi32(off, 3)), u, xq);
    acc[c] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(i), _mm512_mul_ps(dw, act_scales(xd[c] + b, two)), acc[c]);
  }
}

ALWAYS_INLINE void dot_q4_0_n(int64_t K, const uint8_t *w, const char *x, size_t xs, const int nc, float *out)
{
  __m512 acc[DS_VEC_COLS];
  const float *xd[DS_VEC_COLS];
  const int32_t *xsum[DS_VEC_COLS];
#pragma GCC unroll 4
  for (int c = 0; c < nc; c++) {
    acc[c] = _mm512_setzero_ps();
    xd[c] = ds_qa_d(x + c * xs, K);
    xsum[c] = ds_qa_s(x + c * xs, K);
  }
  const int64_t nb = K / DS_QA_BLOCK;
  int64_t b = 0;
  for (; b + 2 <= nb; b += 2, w += 36) {
    _mm_prefetch((const char *)w + DS_PREFETCH_BYTES, _MM_HINT_T0);
    q4_0_step(w, x, xs, xd, xsum, b, nc, true, acc);
  }
  if (b < nb) q4_0_step(w, x, xs, xd, xsum, b, nc, false, acc);
#pragma GCC unroll 4
  for (int c = 0; c < nc; c++) out[c] = _mm512_reduce_add_ps(acc[c]);
}

/* One or two (two) R8 groups (q4_0_r8.h) against nc <= DS_R8_COLS QA
 * columns, row r of group h in 32-bit lane 8h + r of a 512-bit register: as
 * vec_avx2.c's kernel, with vpdpbusd (nibbles u8 x activations s8, four
 * products per lane) for maddubs + madd: the same exact sums, so the same
 * bits. Each broadcast activation group meets the 16 rows of both groups in
 * one vpdpbusd (one group: the upper lanes hold zeros and are not stored).
 * Each column keeps two integer sums (low and high nibbles) and the loops run
 * chunk-major over the columns, so the vpdpbusd chains are independent and
 * overlap instead of waiting on one another's latency; integer addition is
 * exact, so the split changes no bit. */
ALWAYS_INLINE void dot_q4_0_r8_g(int64_t K, const uint8_t *w, const char *x, size_t xs, const int nc,
                                 const bool two, float *out)
{
  const size_t gs = (size_t)(K / DS_QA_BLOCK) * DS_R8_BLOCK_BYTES;   /* the second group */
  __m512 acc[DS_R8_COLS];
  const float *xd[DS_R8_COLS];
  const int32_t *xsum[DS_R8_COLS];
#pragma GCC unroll 8
  for (int c = 0; c < nc; c++) {
    acc[c] = _mm512_setzero_ps();
    xd[c] = ds_qa_d(x + c * xs, K);
    xsum[c] = ds_qa_s(x + c * xs, K);
  }
  const __m512i nib = _mm512_set1_epi8(0x0F);
  for (int64_t b = 0; b < K / DS_QA_BLOCK; b++, w += DS_R8_BLOCK_BYTES) {
#pragma GCC unroll 3
    for (int l = 0; l < 3; l++) {
      _mm_prefetch((const char *)w + DS_PREFETCH_BYTES + 64 * l, _MM_HINT_T0);
      if (two) _mm_prefetch((const char *)w + gs + DS_PREFETCH_BYTES + 64 * l, _MM_HINT_T0);
    }
    const __m128i d0 = _mm_loadu_si128((const __m128i *)w);
    const __m512 dw = _mm512_cvtph_ps(two ? _mm256_set_m128i(_mm_loadu_si128((const __m128i *)(w + gs)), d0)
                                          : _mm256_zextsi128_si256(d0));
    __m512i slo[DS_R8_COLS], shi[DS_R8_COLS];
#pragma GCC unroll 8
    for (int c = 0; c < nc; c++) {
      slo[c] = _mm512_set1_epi32(-8 * xsum[c][b]);
      shi[c] = _mm512_setzero_si512();
    }
#pragma GCC unroll 4
    for (int k = 0; k < 4; k++) {
      const __m256i q0 = _mm256_loadu_si256((const __m256i *)(w + 16 + 32 * k));
      const __m512i q = two ? _mm512_inserti64x4(_mm512_castsi256_si512(q0),
                                                 _mm256_loadu_si256((const __m256i *)(w + gs + 16 + 32 * k)), 1)
                            : _mm512_zextsi256_si512(q0);
      const __m512i lo = _mm512_and_si512(q, nib), hi = _mm512_and_si512(_mm512_srli_epi16(q, 4), nib);
#pragma GCC unroll 8
      for (int c = 0; c < nc; c++) {
        const char *xb = x + c * xs + b * DS_QA_BLOCK;
        int32_t a_lo, a_hi;
        memcpy(&a_lo, xb + 4 * k, 4);
        memcpy(&a_hi, xb + 16 + 4 * k, 4);
        slo[c] = _mm512_dpbusd_epi32(slo[c], lo, _mm512_set1_epi32(a_lo));
        shi[c] = _mm512_dpbusd_epi32(shi[c], hi, _mm512_set1_epi32(a_hi));
      }
    }
#pragma GCC unroll 8
    for (int c = 0; c < nc; c++) {
      const __m512i isum = _mm512_add_epi32(slo[c], shi[c]);
      acc[c] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(isum), _mm512_mul_ps(dw, _mm512_set1_ps(xd[c][b])), acc[c]);
    }
  }
#pragma GCC unroll 8
  for (int c = 0; c < nc; c++) {
    if (two) _mm512_storeu_ps(out + 16 * c, acc[c]);
    else _mm256_storeu_ps(out + 8 * c, _mm512_castps512_ps256(acc[c]));
  }
}

ALWAYS_INLINE void dot_q4_0_r8_n(int64_t K, const uint8_t *w, const char *x, size_t xs, const int nc, float *out)
{
  dot_q4_0_r8_g(K, w, x, xs, nc, false, out);
}
ALWAYS_INLINE void dot_q4_0_r8x2_n(int64_t K, const uint8_t *w, const char *x, size_t xs, const int nc, float *out)
{
  dot_q4_0_r8_g(K, w, x, xs, nc, true, out);
}

/* ---- K-quant dots (vec_scalar.c has the math) -------------------------------------- */

/* Decode streams each K-quant row once: the `lines` cache lines at
 * DS_PREFETCH_BYTES ahead go to L1, and the same lines 3 x that far ahead to
 * L2, so more of the stream is in flight than L1's fill buffers allow
 * (CHANGELOG.md has the bandwidth it gains). */
ALWAYS_INLINE void prefetch_two_levels(const uint8_t *w, const int lines)
{
  for (int i = 0; i < lines; i++) {
    _mm_prefetch((const char *)w + DS_PREFETCH_BYTES + 64 * i, _MM_HINT_T0);
    _mm_prefetch((const char *)w + 3 * DS_PREFETCH_BYTES + 64 * i, _MM_HINT_T1);
  }
}

/* Blocks 2c, 2c + 1 of a Q4_K/Q5_K super-block as 64 unsigned levels: the
 * low and high nibbles of qs[32c ..], plus 16 where qh bit 2c (low half) or
 * 2c + 1 (high half) is set. */
ALWAYS_INLINE __m512i k4_pair(const uint8_t *b, bool q5, int c)
{
  __m256i q = _mm256_loadu_si256((const __m256i *)(b + (q5 ? 48 : 16) + 32 * c));
  const __m256i m = _mm256_set1_epi8(0x0F);
  __m512i v = _mm512_inserti64x4(_mm512_castsi256_si512(_mm256_and_si256(q, m)),
                                 _mm256_and_si256(_mm256_srli_epi16(q, 4), m), 1);
  if (q5) {
    __m256i h = _mm256_loadu_si256((const __m256i *)(b + 16));
    __m512i hh = _mm512_inserti64x4(_mm512_castsi256_si512(h), h, 1);
    __m512i bit = _mm512_inserti64x4(_mm512_set1_epi8((char)(1 << (2 * c))), _mm256_set1_epi8((char)(1 << (2 * c + 1))), 1);
    v = _mm512_mask_add_epi8(v, _mm512_test_epi8_mask(hh, bit), v, _mm512_set1_epi8(16));
  }
  return v;
}

/* A Q4_K/Q5_K super-block's 8 block scales d sc_j (to D) and mins dmin m_j
 * (*M), as ds_scale_min_k4 unpacks them but for all j at once on the three
 * little-endian words of scales[12]: bytes j of u0 / u1 (low 6 bits) are
 * sc_j / m_j for j < 4; for j >= 4 the nibbles of u2's byte j - 4 with the
 * top 2 bits of u0's (sc) or u1's (m) byte j - 4 above them. */
ALWAYS_INLINE void k4_scales(const uint8_t *w, float *D, __m256 *M)
{
  uint32_t u[3];
  memcpy(u, w + 4, 12);
  const uint32_t lo6 = 0x3F3F3F3Fu, lo4 = 0x0F0F0F0Fu, top2 = 0x03030303u;
  const uint32_t sc_lo = u[0] & lo6, m_lo = u[1] & lo6;
  const uint32_t sc_hi = (u[2] & lo4) | (((u[0] >> 6) & top2) << 4);
  const uint32_t m_hi = ((u[2] >> 4) & lo4) | (((u[1] >> 6) & top2) << 4);
  const __m128i b = _mm_setr_epi32((int)sc_lo, (int)sc_hi, (int)m_lo, (int)m_hi);
  const __m256 sc = _mm256_cvtepi32_ps(_mm256_cvtepu8_epi32(b));
  const __m256 m = _mm256_cvtepi32_ps(_mm256_cvtepu8_epi32(_mm_unpackhi_epi64(b, b)));
  _mm256_storeu_ps(D, _mm256_mul_ps(_mm256_set1_ps(f16_at(w)), sc));
  *M = _mm256_mul_ps(_mm256_set1_ps(f16_at(w + 2)), m);
}

ALWAYS_INLINE void dot_k4_n(int64_t K, const uint8_t *w, const char *x, size_t xs, const int nc, float *out, const bool q5)
{
  const size_t bytes = q5 ? 176 : 144;
  __m512 acc[DS_VEC_COLS];
  __m256 macc[DS_VEC_COLS];
#pragma GCC unroll 4
  for (int c = 0; c < nc; c++) {
    acc[c] = _mm512_setzero_ps();
    macc[c] = _mm256_setzero_ps();
  }
  for (int64_t sb = 0; sb < K / DS_QK_K; sb++, w += bytes) {
    prefetch_two_levels(w, 3);
    float D[8];
    __m256 vm;
    k4_scales(w, D, &vm);
#pragma GCC unroll 4
    for (int c = 0; c < nc; c++) {
      const char *xr = x + c * xs;
      const float *xd = ds_qa_d(xr, K) + sb * 8;
      const int32_t *xsum = ds_qa_s(xr, K) + sb * 8;
      /* the min terms of the 8 blocks: M_j dx_j s_j */
      macc[c] = _mm256_fmadd_ps(_mm256_mul_ps(vm, _mm256_loadu_ps(xd)),
                                _mm256_cvtepi32_ps(_mm256_loadu_si256((const __m256i *)xsum)), macc[c]);
    }
    for (int p = 0; p < 4; p++) {
      __m512i v = k4_pair(w, q5, p);
      const __m128 dd = _mm_castpd_ps(_mm_load_sd((const double *)(D + 2 * p)));
#pragma GCC unroll 4
      for (int c = 0; c < nc; c++) {
        const char *xr = x + c * xs;
        __m512i xq = _mm512_loadu_si512(xr + (sb * 8 + 2 * p) * DS_QA_BLOCK);
        __m512i i = _mm512_dpbusd_epi32(_mm512_setzero_si512(), v, xq);
        __m128 dx = _mm_castpd_ps(_mm_load_sd((const double *)(ds_qa_d(xr, K) + sb * 8 + 2 * p)));
        acc[c] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(i), spread_pair(_mm_mul_ps(dd, dx)), acc[c]);
      }
    }
  }
#pragma GCC unroll 4
  for (int c = 0; c < nc; c++) {
    __m128 m4 = _mm_add_ps(_mm256_castps256_ps128(macc[c]), _mm256_extractf128_ps(macc[c], 1));
    m4 = _mm_add_ps(m4, _mm_movehl_ps(m4, m4));
    m4 = _mm_add_ss(m4, _mm_movehdup_ps(m4));
    out[c] = _mm512_reduce_add_ps(acc[c]) - _mm_cvtss_f32(m4);
  }
}
ALWAYS_INLINE void dot_q4_k_n(int64_t K, const uint8_t *w, const char *x, size_t xs, const int nc, float *out)
{
  dot_k4_n(K, w, x, xs, nc, out, false);
}
ALWAYS_INLINE void dot_q5_k_n(int64_t K, const uint8_t *w, const char *x, size_t xs, const int nc, float *out)
{
  dot_k4_n(K, w, x, xs, nc, out, true);
}

/* Q6_K: per half h, blocks (r, r + 1) = (0, 1) then (2, 3): 64 levels 0..63
 * from nibble r / 2 of ql[64h ..] and bits 2r.. of qh[32h ..]; the -32 offset
 * as a second vpdpbusd of 32s with the activations; lanes 4k..4k+3 hold group
 * k's partial sums, multiplied by its int8 scale in int32 (exact). */
ALWAYS_INLINE void dot_q6_k_n(int64_t K, const uint8_t *w, const char *x, size_t xs, const int nc, float *out)
{
  __m512 acc[DS_VEC_COLS];
#pragma GCC unroll 4
  for (int c = 0; c < nc; c++) acc[c] = _mm512_setzero_ps();
  const __m512i nib = _mm512_set1_epi8(0x0F), three = _mm512_set1_epi8(3), k32 = _mm512_set1_epi8(32);
  const __m512i spread4 = _mm512_setr_epi32(0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2, 3, 3, 3, 3);
  for (int64_t sb = 0; sb < K / DS_QK_K; sb++, w += 210) {
    prefetch_two_levels(w, 4);
    const float d = f16_at(w + 208);
    for (int h = 0; h < 2; h++) {
      __m512i ql = _mm512_loadu_si512(w + 64 * h);
      __m256i qh = _mm256_loadu_si256((const __m256i *)(w + 128 + 32 * h));
      __m512i qhh = _mm512_inserti64x4(_mm512_castsi256_si512(qh), qh, 1);
      for (int r = 0; r < 4; r += 2) {
        __m512i lo = _mm512_and_si512(r ? _mm512_srli_epi16(ql, 4) : ql, nib);
        __m512i sh = _mm512_inserti64x4(_mm512_set1_epi16((short)(2 * r)), _mm256_set1_epi16((short)(2 * r + 2)), 1);
        __m512i hi = _mm512_and_si512(_mm512_srlv_epi16(qhh, sh), three);
        __m512i v = _mm512_or_si512(lo, _mm512_slli_epi16(hi, 4));
        int32_t s4;
        memcpy(&s4, w + 192 + 8 * h + 2 * r, 4);
        __m512i scl = _mm512_permutexvar_epi32(spread4, _mm512_castsi128_si512(_mm_cvtepi8_epi32(_mm_cvtsi32_si128(s4))));
        const int64_t blk = sb * 8 + 4 * h + r;
#pragma GCC unroll 4
        for (int c = 0; c < nc; c++) {
          const char *xr = x + c * xs;
          __m512i xq = _mm512_loadu_si512(xr + blk * DS_QA_BLOCK);
          __m512i i = _mm512_sub_epi32(_mm512_dpbusd_epi32(_mm512_setzero_si512(), v, xq),
                                       _mm512_dpbusd_epi32(_mm512_setzero_si512(), k32, xq));
          i = _mm512_mullo_epi32(i, scl);
          __m128 dx = _mm_castpd_ps(_mm_load_sd((const double *)(ds_qa_d(xr, K) + blk)));
          acc[c] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(i), spread_pair(_mm_mul_ps(_mm_set1_ps(d), dx)), acc[c]);
        }
      }
    }
  }
#pragma GCC unroll 4
  for (int c = 0; c < nc; c++) out[c] = _mm512_reduce_add_ps(acc[c]);
}

/* ---- f32-activation dots --------------------------------------------------------- */

/* 16 weights at w[i..) as f32, lanes outside mask m zero. */
ALWAYS_INLINE __m512 load16_f32(const void *w, int64_t i, __mmask16 m)
{
  return _mm512_maskz_loadu_ps(m, (const float *)w + i);
}
ALWAYS_INLINE __m512 load16_f16(const void *w, int64_t i, __mmask16 m)
{
  return _mm512_cvtph_ps(_mm256_maskz_loadu_epi16(m, (const uint16_t *)w + i));
}
ALWAYS_INLINE __m512 load16_bf16(const void *w, int64_t i, __mmask16 m)
{
  __m256i h = _mm256_maskz_loadu_epi16(m, (const uint16_t *)w + i);
  return _mm512_castsi512_ps(_mm512_slli_epi32(_mm512_cvtepu16_epi32(h), 16));
}

#define DOT_FLOAT_N(NAME, LOAD16, ESIZE)                                                            \
  ALWAYS_INLINE void NAME(int64_t K, const void *w, const char *x, size_t xs, const int nc,  \
                          float *out)                                                       \
  {                                                                                         \
    __m512 acc[DS_VEC_COLS];                                                                \
    _Pragma("GCC unroll 4")                                                                 \
    for (int c = 0; c < nc; c++) acc[c] = _mm512_setzero_ps();                              \
    for (int64_t i = 0; i < K; i += 16) {                                                   \
      __mmask16 m = K - i >= 16 ? (__mmask16)0xFFFF : (__mmask16)((1u << (K - i)) - 1);     \
      _mm_prefetch((const char *)w + i * ESIZE + DS_PREFETCH_BYTES, _MM_HINT_T0);            \
      __m512 wv = LOAD16(w, i, m);                                                          \
      _Pragma("GCC unroll 4")                                                               \
      for (int c = 0; c < nc; c++)                                                          \
        acc[c] = _mm512_fmadd_ps(wv, _mm512_maskz_loadu_ps(m, (const float *)(x + c * xs) + i), \
                                 acc[c]);                                                   \
    }                                                                                       \
    _Pragma("GCC unroll 4")                                                                 \
    for (int c = 0; c < nc; c++) out[c] = _mm512_reduce_add_ps(acc[c]);                     \
  }

DOT_FLOAT_N(dot_f32_n, load16_f32, 4)
DOT_FLOAT_N(dot_f16_n, load16_f16, 2)
DOT_FLOAT_N(dot_bf16_n, load16_bf16, 2)

/* ---- prompt-batch GEMM tile (vec.h) ----------------------------------------------- */

/* 16 rows x nc columns: per block the 8 weight vectors (4 values x 16 rows
 * each) stay in registers while every column's 4-byte activation groups are
 * broadcast into vpdpbusd (u8 activations x s8 weights), starting from the
 * -128 sum w correction; one int->f32 conversion and one FMA per column and
 * block, lanes = rows, so no horizontal sums. The Q6_K tile (q6) keeps groups
 * 0-3 and 4-7 in separate sums, each with its own correction and scale (two
 * conversions and FMAs, lo first). */
ALWAYS_INLINE void gemm_tile_n(int64_t K, const uint8_t *wp, const char *x, size_t xs, const int nc, float *out,
                               size_t os, const bool q6)
{
  __m512 acc[DS_GEMM_COLS];
  const float *xd[DS_GEMM_COLS];
#pragma GCC unroll 4
  for (int c = 0; c < nc; c++) {
    acc[c] = _mm512_setzero_ps();
    xd[c] = ds_qa_d(x + c * xs, K);
  }
  const size_t bbytes = q6 ? DS_GEMM_Q6_BLOCK_BYTES : DS_GEMM_BLOCK_BYTES;
  for (int64_t b = 0; b < K / DS_QA_BLOCK; b++, wp += bbytes) {
    __m512i w[8];
    for (int g = 0; g < 8; g++) w[g] = _mm512_loadu_si512(wp + 64 * g);
    if (!q6) {
      __m512 dw = _mm512_loadu_ps((const float *)(wp + 512));
      __m512i corr = _mm512_loadu_si512(wp + 576);
#pragma GCC unroll 4
      for (int c = 0; c < nc; c++) {
        const int32_t *xb = (const int32_t *)(x + c * xs + b * DS_QA_BLOCK);
        __m512i i0 = _mm512_dpbusd_epi32(corr, _mm512_set1_epi32(xb[0]), w[0]);
        __m512i i1 = _mm512_dpbusd_epi32(_mm512_setzero_si512(), _mm512_set1_epi32(xb[1]), w[1]);
        i0 = _mm512_dpbusd_epi32(i0, _mm512_set1_epi32(xb[2]), w[2]);
        i1 = _mm512_dpbusd_epi32(i1, _mm512_set1_epi32(xb[3]), w[3]);
        i0 = _mm512_dpbusd_epi32(i0, _mm512_set1_epi32(xb[4]), w[4]);
        i1 = _mm512_dpbusd_epi32(i1, _mm512_set1_epi32(xb[5]), w[5]);
        i0 = _mm512_dpbusd_epi32(i0, _mm512_set1_epi32(xb[6]), w[6]);
        i1 = _mm512_dpbusd_epi32(i1, _mm512_set1_epi32(xb[7]), w[7]);
        __m512 p = _mm512_cvtepi32_ps(_mm512_add_epi32(i0, i1));
        acc[c] = _mm512_fmadd_ps(p, _mm512_mul_ps(dw, _mm512_set1_ps(xd[c][b])), acc[c]);
      }
      continue;
    }
    const __m512 dlo = _mm512_loadu_ps((const float *)(wp + 512)), dhi = _mm512_loadu_ps((const float *)(wp + 576));
    const __m512i clo = _mm512_loadu_si512(wp + 640), chi = _mm512_loadu_si512(wp + 704);
#pragma GCC unroll 4
    for (int c = 0; c < nc; c++) {
      const int32_t *xb = (const int32_t *)(x + c * xs + b * DS_QA_BLOCK);
      __m512i l0 = _mm512_dpbusd_epi32(clo, _mm512_set1_epi32(xb[0]), w[0]);
      __m512i l1 = _mm512_dpbusd_epi32(_mm512_setzero_si512(), _mm512_set1_epi32(xb[1]), w[1]);
      __m512i h0 = _mm512_dpbusd_epi32(chi, _mm512_set1_epi32(xb[4]), w[4]);
      __m512i h1 = _mm512_dpbusd_epi32(_mm512_setzero_si512(), _mm512_set1_epi32(xb[5]), w[5]);
      l0 = _mm512_dpbusd_epi32(l0, _mm512_set1_epi32(xb[2]), w[2]);
      l1 = _mm512_dpbusd_epi32(l1, _mm512_set1_epi32(xb[3]), w[3]);
      h0 = _mm512_dpbusd_epi32(h0, _mm512_set1_epi32(xb[6]), w[6]);
      h1 = _mm512_dpbusd_epi32(h1, _mm512_set1_epi32(xb[7]), w[7]);
      const __m512 xv = _mm512_set1_ps(xd[c][b]);
      acc[c] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(_mm512_add_epi32(l0, l1)), _mm512_mul_ps(dlo, xv), acc[c]);
      acc[c] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(_mm512_add_epi32(h0, h1)), _mm512_mul_ps(dhi, xv), acc[c]);
    }
  }
#pragma GCC unroll 4
  for (int c = 0; c < nc; c++) _mm512_storeu_ps(out + c * os, acc[c]);
}

#define GEMM_DISPATCH(NAME, Q6)                                                                     \
  static void NAME(int64_t K, const void *wp, const void *x, size_t xs, int ncols, float *out, size_t os) \
  {                                                                                                 \
    const uint8_t *w = wp;                                                                          \
    const char *xp = x;                                                                             \
    switch (ncols) {                                                                                \
    case 8: gemm_tile_n(K, w, xp, xs, 8, out, os, Q6); break;                                       \
    case 7: gemm_tile_n(K, w, xp, xs, 7, out, os, Q6); break;                                       \
    case 6: gemm_tile_n(K, w, xp, xs, 6, out, os, Q6); break;                                       \
    case 5: gemm_tile_n(K, w, xp, xs, 5, out, os, Q6); break;                                       \
    case 4: gemm_tile_n(K, w, xp, xs, 4, out, os, Q6); break;                                       \
    case 3: gemm_tile_n(K, w, xp, xs, 3, out, os, Q6); break;                                       \
    case 2: gemm_tile_n(K, w, xp, xs, 2, out, os, Q6); break;                                       \
    default: gemm_tile_n(K, w, xp, xs, 1, out, os, Q6); break;                                      \
    }                                                                                               \
  }
GEMM_DISPATCH(gemm_r16, false)
GEMM_DISPATCH(gemm_q6_k_r16, true)

/* The Q4_K/Q5_K tile's min term (vec.h, ds_gemm_min_term): per column one
 * zmm of the 16 rows, acc += mins[b][0..15] * ds_b over blocks b in order (an
 * FMA with the broadcast ds_b from memory); 8 columns per pass share each
 * mins load and keep 8 FMA chains in flight (2 FMAs a cycle, latency 4). */
ALWAYS_INLINE void min_term_n(int64_t K, const float *mins, const float *ds, size_t dss, const int nc, float *out,
                              size_t os)
{
  const int64_t nb = K / DS_QA_BLOCK;
  __m512 acc[8];
#pragma GCC unroll 4
  for (int c = 0; c < nc; c++) acc[c] = _mm512_setzero_ps();
  for (int64_t b = 0; b < nb; b++) {
    const __m512 m = _mm512_loadu_ps(mins + b * DS_GEMM_ROWS);
#pragma GCC unroll 4
    for (int c = 0; c < nc; c++) acc[c] = _mm512_fmadd_ps(m, _mm512_set1_ps(ds[(size_t)c * dss + b]), acc[c]);
  }
#pragma GCC unroll 4
  for (int c = 0; c < nc; c++)
    _mm512_storeu_ps(out + (size_t)c * os, _mm512_sub_ps(_mm512_loadu_ps(out + (size_t)c * os), acc[c]));
}

static void gemm_min_term(int64_t K, const float *mins, const float *ds, size_t dss, int ncols, float *out, size_t os)
{
  int c = 0;
  for (; c + 8 <= ncols; c += 8) min_term_n(K, mins, ds + (size_t)c * dss, dss, 8, out + (size_t)c * os, os);
  for (; c + 4 <= ncols; c += 4) min_term_n(K, mins, ds + (size_t)c * dss, dss, 4, out + (size_t)c * os, os);
  for (; c < ncols; c++) min_term_n(K, mins, ds + (size_t)c * dss, dss, 1, out + (size_t)c * os, os);
}

/* ---- packing 16 rows into the tile (vec.h layout) in registers ------------------- */

/* Per block, a[k] holds the 32 values of rows k and k + 8 (256 bits each); an
 * 8 x 8 transpose of their 4-byte groups (unpack 32, unpack 64 within 128-bit
 * lanes, then a qword permute across two vectors) leaves group g of rows 0..15
 * in one vector, stored at pb + 64 g. Returns the row sums of values 0..15
 * (groups 0-3) in *lo and of 16..31 in *hi (vpdpbusd with u8 ones). */
ALWAYS_INLINE void transpose_store(const __m512i *a, uint8_t *pb, __m512i *lo_sum, __m512i *hi_sum)
{
  const __m512i lo_idx = _mm512_setr_epi64(0, 1, 8, 9, 4, 5, 12, 13), hi_idx = _mm512_setr_epi64(2, 3, 10, 11, 6, 7, 14, 15);
  const __m512i ones = _mm512_set1_epi8(1);
  __m512i t[8], u[8];
  for (int k = 0; k < 8; k += 2) {
    t[k] = _mm512_unpacklo_epi32(a[k], a[k + 1]);
    t[k + 1] = _mm512_unpackhi_epi32(a[k], a[k + 1]);
  }
  /* t0 = lo(0,1) t1 = hi(0,1) t2 = lo(2,3) t3 = hi(2,3) ... */
  for (int h = 0; h < 8; h += 4) {
    u[h] = _mm512_unpacklo_epi64(t[h], t[h + 2]);       /* groups 0 | 4 of rows h/2*2.. */
    u[h + 1] = _mm512_unpackhi_epi64(t[h], t[h + 2]);   /* groups 1 | 5 */
    u[h + 2] = _mm512_unpacklo_epi64(t[h + 1], t[h + 3]); /* groups 2 | 6 */
    u[h + 3] = _mm512_unpackhi_epi64(t[h + 1], t[h + 3]); /* groups 3 | 7 */
  }
  __m512i sl = _mm512_setzero_si512(), sh = _mm512_setzero_si512();
  for (int g = 0; g < 4; g++) {
    __m512i lo = _mm512_permutex2var_epi64(u[g], lo_idx, u[g + 4]);
    __m512i hi = _mm512_permutex2var_epi64(u[g], hi_idx, u[g + 4]);
    _mm512_storeu_si512(pb + 64 * g, lo);
    _mm512_storeu_si512(pb + 64 * (g + 4), hi);
    sl = _mm512_dpbusd_epi32(sl, ones, lo);
    sh = _mm512_dpbusd_epi32(sh, ones, hi);
  }
  *lo_sum = sl;
  *hi_sum = sh;
}

/* -128 * s per lane (the tile's sum correction). */
ALWAYS_INLINE __m512i corr_of(__m512i s) { return _mm512_sub_epi32(_mm512_setzero_si512(), _mm512_slli_epi32(s, 7)); }

/* 32 bytes at r0 and at r1 as one vector. */
ALWAYS_INLINE __m512i two_rows(const uint8_t *r0, const uint8_t *r1)
{
  return _mm512_inserti64x4(_mm512_castsi256_si512(_mm256_loadu_si256((const __m256i *)r0)),
                            _mm256_loadu_si256((const __m256i *)r1), 1);
}

/* The byte offsets of rows 0..15 (row_bytes * 15 <= INT32_MAX checked). */
ALWAYS_INLINE __m512i row_offsets(size_t row_bytes)
{
  return _mm512_mullo_epi32(_mm512_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15),
                            _mm512_set1_epi32((int)row_bytes));
}

/* The 16 rows are one contiguous run of memory in a weight matrix, and so is
 * the next tile: while this tile is packed, the next one is fetched into L2
 * in order, `share` bytes per call (harmless past the end: a prefetch never
 * faults). */
ALWAYS_INLINE void prefetch_share(const char *next, size_t from, size_t share)
{
  for (size_t o = from; o < from + share; o += 64) _mm_prefetch(next + o, _MM_HINT_T1);
}

/* f32 of the f16 in the low (hi = false) or high half of each int32 lane. */
ALWAYS_INLINE __m512 f16_lanes(__m512i v, bool hi)
{
  return _mm512_cvtph_ps(_mm512_cvtepi32_epi16(hi ? _mm512_srli_epi32(v, 16) : v));
}

/* Q8_0 / Q4_0; the f16 scales by a gather. Fewer rows than 16 (the last
 * tile): the portable packer, same bytes. */
static bool pack_r16(int type, const void *w, size_t row_bytes, int nrows, int64_t K, void *dst)
{
  if (nrows < DS_GEMM_ROWS || (type != DSEEK_TYPE_Q8_0 && type != DSEEK_TYPE_Q4_0) || row_bytes * 15 > INT32_MAX)
    return ds_gemm_pack_r16(type, w, row_bytes, nrows, K, dst);
  const bool q8 = type == DSEEK_TYPE_Q8_0;
  const int64_t wblock = q8 ? 34 : 18;
  const __m512i rows = row_offsets(row_bytes);
  const __m512i nib = _mm512_set1_epi8(0x0F), eight = _mm512_set1_epi8(8);
  const __m512i shift = _mm512_setr_epi64(0, 0, 4, 4, 0, 0, 4, 4);
  const uint8_t *base = w;
  const char *next = (const char *)w + DS_GEMM_ROWS * row_bytes;
  const size_t share = DS_GEMM_ROWS * (size_t)wblock;
  for (int64_t b = 0; b < K / DS_QA_BLOCK; b++, base += wblock) {
    uint8_t *pb = (uint8_t *)dst + b * DS_GEMM_BLOCK_BYTES;
    __m512i a[8], sl, sh;
    prefetch_share(next, (size_t)b * share, share);
    for (int k = 0; k < 8; k++) {
      const uint8_t *r0 = base + (size_t)k * row_bytes + 2, *r1 = base + (size_t)(k + 8) * row_bytes + 2;
      if (q8) {
        a[k] = two_rows(r0, r1);
      } else {
        __m256i x0 = _mm256_broadcastsi128_si256(_mm_loadu_si128((const __m128i *)r0));
        __m256i x1 = _mm256_broadcastsi128_si256(_mm_loadu_si128((const __m128i *)r1));
        __m512i z = _mm512_srlv_epi64(_mm512_inserti64x4(_mm512_castsi256_si512(x0), x1, 1), shift);
        a[k] = _mm512_sub_epi8(_mm512_and_si512(z, nib), eight);
      }
    }
    transpose_store(a, pb, &sl, &sh);
    __m512i h = _mm512_i32gather_epi32(rows, (const void *)base, 1);
    _mm512_storeu_ps(pb + 512, f16_lanes(h, false));
    _mm512_storeu_si512(pb + 576, corr_of(_mm512_add_epi32(sl, sh)));
  }
  return true;
}

/* Q4_K / Q5_K (ds_gemm_pack_k_r16 has the math): per super-block, gathers of
 * the 16 rows' {d, dmin} and 12 scale bytes give every block's 6-bit sc_j and
 * m_j as int32 lanes (ds_scale_min_k4's bit layout), multiplied by d and dmin
 * in f32 as the portable packer does; per block the unsigned levels (nibble,
 * + 16 where the qh bit is set) go through the transpose. */
static bool pack_k_r16(int type, const void *w, size_t row_bytes, int nrows, int64_t K, void *dst, float *mins)
{
  if (nrows < DS_GEMM_ROWS || (type != DSEEK_TYPE_Q4_K && type != DSEEK_TYPE_Q5_K) || row_bytes * 15 > INT32_MAX)
    return ds_gemm_pack_k_r16(type, w, row_bytes, nrows, K, dst, mins);
  const bool q5 = type == DSEEK_TYPE_Q5_K;
  const size_t sblock = q5 ? 176 : 144;
  const __m512i rows = row_offsets(row_bytes);
  const __m512i nib = _mm512_set1_epi8(0x0F), k16 = _mm512_set1_epi8(16);
  const __m512i m63 = _mm512_set1_epi32(63), m15 = _mm512_set1_epi32(15), m3 = _mm512_set1_epi32(3);
  const char *next = (const char *)w + DS_GEMM_ROWS * row_bytes;
  const size_t share = DS_GEMM_ROWS * sblock / 8;
  const uint8_t *sb = w;
  for (int64_t s = 0; s < K / DS_QK_K; s++, sb += sblock) {
    const __m512i dm = _mm512_i32gather_epi32(rows, (const void *)sb, 1);
    const __m512i s0 = _mm512_i32gather_epi32(rows, (const void *)(sb + 4), 1);
    const __m512i s1 = _mm512_i32gather_epi32(rows, (const void *)(sb + 8), 1);
    const __m512i s2 = _mm512_i32gather_epi32(rows, (const void *)(sb + 12), 1);
    const __m512 d = f16_lanes(dm, false), dmin = f16_lanes(dm, true);
    for (int j = 0; j < 8; j++) {
      const int64_t b = s * 8 + j;
      uint8_t *pb = (uint8_t *)dst + b * DS_GEMM_BLOCK_BYTES;
      prefetch_share(next, (size_t)b * share, share);
      __m512i sc, m;
      if (j < 4) {
        const __m128i sh = _mm_cvtsi32_si128(8 * j);
        sc = _mm512_and_si512(_mm512_srl_epi32(s0, sh), m63);
        m = _mm512_and_si512(_mm512_srl_epi32(s1, sh), m63);
      } else {
        const __m128i sh = _mm_cvtsi32_si128(8 * (j - 4)), sh4 = _mm_cvtsi32_si128(8 * (j - 4) + 4),
                      sh6 = _mm_cvtsi32_si128(8 * (j - 4) + 6);
        sc = _mm512_or_si512(_mm512_and_si512(_mm512_srl_epi32(s2, sh), m15),
                             _mm512_slli_epi32(_mm512_and_si512(_mm512_srl_epi32(s0, sh6), m3), 4));
        m = _mm512_or_si512(_mm512_and_si512(_mm512_srl_epi32(s2, sh4), m15),
                            _mm512_slli_epi32(_mm512_and_si512(_mm512_srl_epi32(s1, sh6), m3), 4));
      }
      const __m128i nsh = _mm_cvtsi32_si128(4 * (j % 2));
      const __m512i bit = _mm512_set1_epi8((char)(1 << j));
      __m512i a[8], sl, sh;
      for (int k = 0; k < 8; k++) {
        const uint8_t *r0 = sb + (size_t)k * row_bytes, *r1 = sb + (size_t)(k + 8) * row_bytes;
        const size_t qo = (q5 ? 48 : 16) + 32 * (size_t)(j / 2);
        a[k] = _mm512_and_si512(_mm512_srl_epi16(two_rows(r0 + qo, r1 + qo), nsh), nib);
        if (q5) a[k] = _mm512_mask_add_epi8(a[k], _mm512_test_epi8_mask(two_rows(r0 + 16, r1 + 16), bit), a[k], k16);
      }
      transpose_store(a, pb, &sl, &sh);
      _mm512_storeu_ps(pb + 512, _mm512_mul_ps(d, _mm512_cvtepi32_ps(sc)));
      _mm512_storeu_si512(pb + 576, corr_of(_mm512_add_epi32(sl, sh)));
      _mm512_storeu_ps(mins + b * DS_GEMM_ROWS, _mm512_mul_ps(dmin, _mm512_cvtepi32_ps(m)));
    }
  }
  return true;
}

/* Q6_K into its tile (ds_gemm_pack_q6_k_r16 has the math): block j of a
 * super-block, h = j / 4, r = j % 4, has the levels nibble r / 2 of
 * ql[64h + 32 (r % 2) ..] and bits 2r, 2r + 1 of qh[32h ..], minus 32; the
 * int8 scales sc[2j], sc[2j + 1] and d come by gathers (d's dword read ends
 * at the super-block's last byte: 206..209). */
static bool pack_q6_k_r16(const void *w, size_t row_bytes, int nrows, int64_t K, void *dst)
{
  if (nrows < DS_GEMM_ROWS || row_bytes * 15 > INT32_MAX) return ds_gemm_pack_q6_k_r16(w, row_bytes, nrows, K, dst);
  const __m512i rows = row_offsets(row_bytes);
  const __m512i nib = _mm512_set1_epi8(0x0F), three = _mm512_set1_epi8(3), k32 = _mm512_set1_epi8(32);
  const char *next = (const char *)w + DS_GEMM_ROWS * row_bytes;
  const size_t share = DS_GEMM_ROWS * 210 / 8;
  const uint8_t *sb = w;
  for (int64_t s = 0; s < K / DS_QK_K; s++, sb += 210) {
    const __m512 d = f16_lanes(_mm512_i32gather_epi32(rows, (const void *)(sb + 206), 1), true);
    __m512i scw[4];
    for (int i = 0; i < 4; i++) scw[i] = _mm512_i32gather_epi32(rows, (const void *)(sb + 192 + 4 * i), 1);
    for (int j = 0; j < 8; j++) {
      const int64_t b = s * 8 + j;
      const int h = j / 4, r = j % 4;
      uint8_t *pb = (uint8_t *)dst + b * DS_GEMM_Q6_BLOCK_BYTES;
      prefetch_share(next, (size_t)b * share, share);
      const __m128i lsh = _mm_cvtsi32_si128(4 * (r / 2)), hsh = _mm_cvtsi32_si128(2 * r);
      __m512i a[8], sl, sh;
      for (int k = 0; k < 8; k++) {
        const uint8_t *r0 = sb + (size_t)k * row_bytes, *r1 = sb + (size_t)(k + 8) * row_bytes;
        const size_t lo = 64 * (size_t)h + 32 * (size_t)(r % 2), hi = 128 + 32 * (size_t)h;
        __m512i l = _mm512_and_si512(_mm512_srl_epi16(two_rows(r0 + lo, r1 + lo), lsh), nib);
        __m512i u = _mm512_and_si512(_mm512_srl_epi16(two_rows(r0 + hi, r1 + hi), hsh), three);
        a[k] = _mm512_sub_epi8(_mm512_or_si512(l, _mm512_slli_epi16(u, 4)), k32);
      }
      transpose_store(a, pb, &sl, &sh);
      /* sc[2j], sc[2j + 1]: bytes 2 (j % 2), + 1 of dword j / 2, sign-extended */
      const __m512i g = scw[j / 2];
      const __m128i up0 = _mm_cvtsi32_si128(24 - 16 * (j % 2)), up1 = _mm_cvtsi32_si128(16 - 16 * (j % 2));
      const __m512i sc0 = _mm512_srai_epi32(_mm512_sll_epi32(g, up0), 24), sc1 = _mm512_srai_epi32(_mm512_sll_epi32(g, up1), 24);
      _mm512_storeu_ps(pb + 512, _mm512_mul_ps(d, _mm512_cvtepi32_ps(sc0)));
      _mm512_storeu_ps(pb + 576, _mm512_mul_ps(d, _mm512_cvtepi32_ps(sc1)));
      _mm512_storeu_si512(pb + 640, corr_of(sl));
      _mm512_storeu_si512(pb + 704, corr_of(sh));
    }
  }
  return true;
}

static void axpy_f32(int64_t n, float a, const float *x, float *y)
{
  __m512 va = _mm512_set1_ps(a);
  for (int64_t i = 0; i < n; i += 16) {
    __mmask16 m = n - i >= 16 ? (__mmask16)0xFFFF : (__mmask16)((1u << (n - i)) - 1);
    _mm512_mask_storeu_ps(y + i, m, _mm512_fmadd_ps(va, _mm512_maskz_loadu_ps(m, x + i), _mm512_maskz_loadu_ps(m, y + i)));
  }
}

#include "kernels/vec_dispatch_x86.h"

DISPATCH_COLS(dot_q8_0, dot_q8_0_n, uint8_t)
DISPATCH_COLS(dot_q4_0, dot_q4_0_n, uint8_t)
DISPATCH_COLS(dot_q5_0, ds_q5_0_dot_x86, uint8_t)
DISPATCH_COLS8(dot_q4_0_r8, dot_q4_0_r8_n, uint8_t)
DISPATCH_COLS8(dot_q4_0_r8x2, dot_q4_0_r8x2_n, uint8_t)
DISPATCH_COLS(dot_q4_k_r8, ds_q4_k_r8_dot_x86, uint8_t)

DISPATCH_COLS(dot_q6_k_r8, ds_q6_k_r8_dot_x86, uint8_t)

static void pack_q6_k_r8_r16(const void *w, size_t row_bytes, int64_t K, void *dst)
{
  ds_q6_k_r8_pack_tile_x86_512(w, row_bytes, K, dst);
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

const ds_vec_kernels ds_vec_avx512 = {
  .name = "avx512",
  .quantize_qa = quantize_qa,
  .dot_q8_0 = dot_q8_0,
  .dot_q4_0 = dot_q4_0,
  .dot_q5_0 = dot_q5_0,
  .dot_q4_0_r8 = dot_q4_0_r8,
  .dot_q4_0_r8x2 = dot_q4_0_r8x2,
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
  .axpy_f32 = axpy_f32,
  .dot_iq = DS_IQ_DOTS_X86,
  .gemm_min_term = gemm_min_term,
  .pack_k_r16 = pack_k_r16,
  .pack_q6_k_r16 = pack_q6_k_r16,
  .gemm_q6_k_r16 = gemm_q6_k_r16,
#ifdef DS_VEC_AMX
  .amx_gemm_r16x16 = ds_amx_gemm_r16x16,
  .amx_gemm_q6_k_r16x16 = ds_amx_gemm_q6_k_r16x16,
#endif
};
#else
typedef int ds_vec_avx512_unused;   /* ISO C forbids an empty translation unit */
#endif
