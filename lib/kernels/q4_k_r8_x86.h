/*
 * q4_k_r8_x86.h — the R8 Q4_K dot (q4_k_r8.h, vec.h: dot_q4_k_r8) for x86,
 * included by vec_avx2.c and vec_avx512.c (compiled with at least AVX2 +
 * FMA + F16C); both levels run this code, in q4_k_r8.h's order.
 *
 * The eight rows sit in the eight 32-bit lanes. Chunk k of pair p holds 4 qs
 * bytes of each row: its low nibbles meet activation bytes 4k .. 4k + 3 of
 * block 2p and its high nibbles those of block 2p + 1, each 4-byte group
 * broadcast to all lanes. maddubs pairs are at most 2 * 15 * 127, so a
 * block's 8 chunks add in int16 (<= 30480) and one madd with the scale
 * repeated in both int16 halves of the row's lane gives t = sc * isum in
 * int32. With AVX-512 VNNI (vec_avx512.c) vpdpbusd sums the 4 products of a
 * row's lane into int32 directly, and t = (float)isum * (float)sc, exact
 * (|t| < 2^22): the same t. The 6-bit scales and mins of the super-block come
 * out of its 96 bytes with a few whole-register byte operations. The kernel
 * is bound by vector ALU operations, so the per-block work is kept small:
 * the madd operand comes from one shuffle of the block's 8 scale bytes, and
 * the min products dx_b * (float)s_b (q4_k_r8.h: rounded first) come 8 at a
 * time from one vector multiply, each then broadcast from memory.
 */
#ifndef DS_KERNELS_Q4_K_R8_X86_H
#define DS_KERNELS_Q4_K_R8_X86_H

#include "kernels/q4_k_r8.h"
#include "kernels/vec.h"

#include <immintrin.h>
#include <string.h>

#if defined(__AVX512VNNI__) && defined(__AVX512VL__)
#define DS_Q4_K_R8_VNNI 1
#endif

/* sc[8j + r], m[8j + r] of the R8 super-block at blk (q4_k_r8.h: sl, sh). */
static inline __attribute__((always_inline)) void ds_q4_k_r8_scales_x86(const uint8_t *blk, uint8_t *sc, uint8_t *m)
{
  const __m256i nib = _mm256_set1_epi8(0x0F), top = _mm256_set1_epi8(0x30);
  const __m256i l0 = _mm256_loadu_si256((const __m256i *)(blk + 32)), l1 = _mm256_loadu_si256((const __m256i *)(blk + 64));
  const __m256i h = _mm256_loadu_si256((const __m256i *)(blk + 96));
  /* 16-bit shifts: bits crossing into the other byte land outside 0x30 / 0x0F */
  _mm256_storeu_si256((__m256i *)sc, _mm256_or_si256(_mm256_and_si256(l0, nib), _mm256_and_si256(_mm256_slli_epi16(h, 4), top)));
  _mm256_storeu_si256((__m256i *)(sc + 32), _mm256_or_si256(_mm256_and_si256(l1, nib), _mm256_and_si256(h, top)));
  _mm256_storeu_si256((__m256i *)m, _mm256_or_si256(_mm256_and_si256(_mm256_srli_epi16(l0, 4), nib),
                                                    _mm256_and_si256(_mm256_slli_epi16(h, 2), top)));
  _mm256_storeu_si256((__m256i *)(m + 32), _mm256_or_si256(_mm256_and_si256(_mm256_srli_epi16(l1, 4), nib),
                                                           _mm256_and_si256(_mm256_srli_epi16(h, 2), top)));
}

/* Eight u8 at p widened to the eight 32-bit lanes. */
static inline __attribute__((always_inline)) __m256i ds_q4_k_r8_lanes(const uint8_t *p)
{
  return _mm256_cvtepu8_epi32(_mm_loadl_epi64((const __m128i *)p));
}

/* Rows n0 .. n0 + 15 of the R8 matrix at w (two whole groups, row_bytes =
 * K / 256 * 144 per row) into the K-quant tile and mins (vec.h): the bytes
 * of ds_q4_k_r8_pack_r16. Per block j of a super-block, chunk k's nibbles
 * are tile group k of the group's 8 rows; level sums by maddubs with u8
 * ones (pairs <= 30), scales by one F16C conversion and an f32 multiply. */
/* The same lanes from a broadcast and one shuffle (a register operand, no
 * 64-bit extraction: valgrind 3.19 cannot run the compiler's vmovq for it). */
static inline __attribute__((always_inline)) __m256i ds_q4_k_r8_lanes_of(const uint8_t *p)
{
  const __m256i zext = _mm256_setr_epi8(0, -1, -1, -1, 1, -1, -1, -1, 2, -1, -1, -1, 3, -1, -1, -1, 4, -1, -1, -1, 5, -1,
                                        -1, -1, 6, -1, -1, -1, 7, -1, -1, -1);
  return _mm256_shuffle_epi8(_mm256_broadcastq_epi64(_mm_loadl_epi64((const __m128i *)p)), zext);
}

static inline __attribute__((always_inline)) void ds_q4_k_r8_pack_tile_x86(const void *w, size_t row_bytes, int64_t K,
                                                                           void *dst, float *mins)
{
  const __m256i nib = _mm256_set1_epi8(0x0F), ones8 = _mm256_set1_epi8(1), ones16 = _mm256_set1_epi16(1);
  for (int64_t s = 0; s < K / 256; s++)
    for (int h = 0; h < 2; h++) {
      const uint8_t *blk = (const uint8_t *)w + (size_t)(8 * h) * row_bytes + (size_t)s * DS_Q4_K_R8_BLOCK_BYTES;
      uint8_t sc[64], m[64];
      ds_q4_k_r8_scales_x86(blk, sc, m);
      const __m256 d = _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)blk));
      const __m256 dmin = _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)(blk + 16)));
      for (int j = 0; j < 8; j++) {
        const int64_t b = s * 8 + j;
        uint8_t *pb = (uint8_t *)dst + b * DS_GEMM_BLOCK_BYTES;
        __m256i sum16 = _mm256_setzero_si256();
        for (int k = 0; k < 8; k++) {
          const __m256i c = _mm256_loadu_si256((const __m256i *)(blk + 128 + 256 * (j / 2) + 32 * k));
          const __m256i v = _mm256_and_si256(j % 2 ? _mm256_srli_epi16(c, 4) : c, nib);
          _mm256_storeu_si256((__m256i *)(pb + 64 * k + 32 * h), v);
          sum16 = _mm256_add_epi16(sum16, _mm256_maddubs_epi16(v, ones8));
        }
        const __m256i corr = _mm256_sub_epi32(_mm256_setzero_si256(), _mm256_slli_epi32(_mm256_madd_epi16(sum16, ones16), 7));
        _mm256_storeu_si256((__m256i *)(pb + 8 * 16 * 4 + 16 * 4 + 32 * h), corr);
        _mm256_storeu_ps((float *)(pb + 8 * 16 * 4 + 32 * h), _mm256_mul_ps(d, _mm256_cvtepi32_ps(ds_q4_k_r8_lanes(sc + 8 * j))));
        _mm256_storeu_ps(mins + b * DS_GEMM_ROWS + 8 * h, _mm256_mul_ps(dmin, _mm256_cvtepi32_ps(ds_q4_k_r8_lanes(m + 8 * j))));
      }
    }
}

static inline __attribute__((always_inline)) void ds_q4_k_r8_dot_x86(int64_t K, const uint8_t *w, const char *x, size_t xs,
                                                                     const int nc, float *out)
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
  const __m256i nib = _mm256_set1_epi8(0x0F);
#ifndef DS_Q4_K_R8_VNNI
  /* lane r of a block's broadcast 8 scale bytes: byte r in both int16 halves */
  const __m256i sc_lanes = _mm256_setr_epi8(0, -1, 0, -1, 1, -1, 1, -1, 2, -1, 2, -1, 3, -1, 3, -1, 4, -1, 4, -1, 5, -1,
                                            5, -1, 6, -1, 6, -1, 7, -1, 7, -1);
#endif
  for (int64_t s = 0; s < K / 256; s++, w += DS_Q4_K_R8_BLOCK_BYTES) {
    uint8_t sc[64], m[64];
    ds_q4_k_r8_scales_x86(w, sc, m);
    float ds[DS_VEC_COLS][8];   /* dx_b * (float)s_b of the super-block's blocks */
#pragma GCC unroll 4
    for (int c = 0; c < nc; c++)
      _mm256_storeu_ps(ds[c], _mm256_mul_ps(_mm256_loadu_ps(xd[c] + s * 8),
                                            _mm256_cvtepi32_ps(_mm256_loadu_si256((const __m256i *)(xsum[c] + s * 8)))));
    __m256 a[DS_VEC_COLS], mn[DS_VEC_COLS];
#pragma GCC unroll 4
    for (int c = 0; c < nc; c++) a[c] = mn[c] = _mm256_setzero_ps();
    for (int p = 0; p < 4; p++) {
      const uint8_t *qp = w + 128 + 256 * p;
      for (int i = 0; i < 256; i += 64) _mm_prefetch((const char *)qp + 2048 + i, _MM_HINT_T0);
      __m256i pe[DS_VEC_COLS], po[DS_VEC_COLS];
#pragma GCC unroll 4
      for (int c = 0; c < nc; c++) pe[c] = po[c] = _mm256_setzero_si256();
      for (int k = 0; k < 8; k++) {
        const __m256i q = _mm256_loadu_si256((const __m256i *)(qp + 32 * k));
        const __m256i lo = _mm256_and_si256(q, nib), hi = _mm256_and_si256(_mm256_srli_epi16(q, 4), nib);
#pragma GCC unroll 4
        for (int c = 0; c < nc; c++) {
          const char *xb = x + c * xs + (s * 8 + 2 * p) * DS_QA_BLOCK + 4 * k;
          int32_t ae, ao;
          memcpy(&ae, xb, 4);
          memcpy(&ao, xb + DS_QA_BLOCK, 4);
#ifdef DS_Q4_K_R8_VNNI
          pe[c] = _mm256_dpbusd_epi32(pe[c], lo, _mm256_set1_epi32(ae));
          po[c] = _mm256_dpbusd_epi32(po[c], hi, _mm256_set1_epi32(ao));
#else
          pe[c] = _mm256_add_epi16(pe[c], _mm256_maddubs_epi16(lo, _mm256_set1_epi32(ae)));
          po[c] = _mm256_add_epi16(po[c], _mm256_maddubs_epi16(hi, _mm256_set1_epi32(ao)));
#endif
        }
      }
      for (int h = 0; h < 2; h++) {
        const int j = 2 * p + h;
#ifdef DS_Q4_K_R8_VNNI
        const __m256 scf = _mm256_cvtepi32_ps(ds_q4_k_r8_lanes(sc + 8 * j));
#else
        const __m256i sc16 = _mm256_shuffle_epi8(_mm256_broadcastq_epi64(_mm_loadl_epi64((const __m128i *)(sc + 8 * j))), sc_lanes);
#endif
#pragma GCC unroll 4
        for (int c = 0; c < nc; c++) {
#ifdef DS_Q4_K_R8_VNNI
          const __m256 t = _mm256_mul_ps(_mm256_cvtepi32_ps(h ? po[c] : pe[c]), scf);
#else
          const __m256 t = _mm256_cvtepi32_ps(_mm256_madd_epi16(h ? po[c] : pe[c], sc16));
#endif
          a[c] = _mm256_fmadd_ps(t, _mm256_set1_ps(xd[c][s * 8 + j]), a[c]);
        }
      }
    }
    for (int j = 0; j < 8; j++) {
      const __m256 mf = _mm256_cvtepi32_ps(ds_q4_k_r8_lanes_of(m + 8 * j));
#pragma GCC unroll 4
      for (int c = 0; c < nc; c++)
        mn[c] = _mm256_fmadd_ps(mf, _mm256_broadcast_ss(&ds[c][j]), mn[c]);
    }
    const __m256 d = _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)w));
    const __m256 dmin = _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)(w + 16)));
#pragma GCC unroll 4
    for (int c = 0; c < nc; c++) acc[c] = _mm256_fnmadd_ps(dmin, mn[c], _mm256_fmadd_ps(d, a[c], acc[c]));
  }
#pragma GCC unroll 4
  for (int c = 0; c < nc; c++) _mm256_storeu_ps(out + 8 * c, acc[c]);
}

#endif
