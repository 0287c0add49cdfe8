/*
 * q6_k_r8_x86.h — the R8 Q6_K dot (q6_k_r8.h, vec.h: dot_q6_k_r8) and its
 * tile packer for x86, included by vec_avx2.c and vec_avx512.c (compiled with
 * at least AVX2 + FMA + F16C), in q6_k_r8.h's order.
 *
 * The eight rows sit in the eight 32-bit lanes. Chunk k of block j = 4h + q
 * is chunk k of ql pair (h, q % 2), nibble q / 2, with chunk k of qh half h,
 * bits 2q: a mask, a shift and an or give the levels u in [0, 63] of 4
 * values of each row. maddubs(u, a) with the 4 activation bytes a broadcast
 * has pairs of at most 2 * 63 * 127, two chunks' pairs add in int16 (<= 32004),
 * and one madd with the 16-value group's scale in both int16 halves of the
 * row's lane gives sc * (their 8 products) in int32, so a block's 8 chunks
 * add to sum_e sc_e sum u q in int32 (one
 * accumulator per column: nothing spills in the chunk loops at 4 columns);
 * the -32 offset comes off once per block as 32 (sc_0 S_0 + sc_1 S_1) from
 * the column's 16-value group sums S, leaving t_b exactly; to f32 (exact,
 * < 2^24) and one FMA with d_r dx_b per block. (A sign/abs form, u - 32
 * against sign-adjusted activations, needs no group sums but two more byte
 * operations per chunk and one per column; it measured slower.) Run at
 * AVX-512 this code is no faster than that level's plain Q6_K dot, so
 * vec_avx512.c takes the 512-bit forms below (dot and tile packer).
 */
#ifndef DS_KERNELS_Q6_K_R8_X86_H
#define DS_KERNELS_Q6_K_R8_X86_H

#include "kernels/q6_k_r8.h"
#include "kernels/vec.h"

#include <immintrin.h>
#include <string.h>

/* Weight bytes fetched ahead of use: two lines per 16-value group, the next
 * super-block's 27 lines within the 16 groups of this one. */
#define DS_Q6_K_R8_PREFETCH 2048

/* The levels u (0..63) of chunk k of block 4h + q (q < 4) from its ql chunk
 * at ql and its qh chunk at qh (q6_k_r8.h). */
static inline __attribute__((always_inline)) __m256i ds_q6_k_r8_levels_x86(const uint8_t *ql, const uint8_t *qh, int q)
{
  const __m256i nib = _mm256_set1_epi8(0x0F), top = _mm256_set1_epi8(0x30);
  const __m256i l = _mm256_loadu_si256((const __m256i *)ql), h = _mm256_loadu_si256((const __m256i *)qh);
  /* 16-bit shifts: bits crossing into the other byte land outside 0x30 / 0x0F */
  const __m256i lo = _mm256_and_si256(q / 2 ? _mm256_srli_epi16(l, 4) : l, nib);
  const __m256i hi = q == 0 ? _mm256_slli_epi16(h, 4) : q == 1 ? _mm256_slli_epi16(h, 2) : q == 2 ? h : _mm256_srli_epi16(h, 2);
  return _mm256_or_si256(lo, _mm256_and_si256(hi, top));
}

/* The eight rows' int8 scales of group 2j + e (sc2 the 16 scale bytes of
 * block j: groups 2j, 2j + 1), each in both int16 halves of its row's lane:
 * one byte shuffle and one sign extension. */
static inline __attribute__((always_inline)) __m256i ds_q6_k_r8_scale16(__m128i sc2, int e)
{
  const __m128i dup = e ? _mm_setr_epi8(8, 8, 9, 9, 10, 10, 11, 11, 12, 12, 13, 13, 14, 14, 15, 15)
                        : _mm_setr_epi8(0, 0, 1, 1, 2, 2, 3, 3, 4, 4, 5, 5, 6, 6, 7, 7);
  return _mm256_cvtepi8_epi16(_mm_shuffle_epi8(sc2, dup));
}

/* Row r's scales of groups 2j, 2j + 1 as the int16 pair of lane r. */
static inline __attribute__((always_inline)) __m256i ds_q6_k_r8_scale_pairs(const uint8_t *blk, int j)
{
  const __m128i s = _mm_loadu_si128((const __m128i *)(blk + DS_Q6_K_R8_SC + 16 * j));
  return _mm256_cvtepi8_epi16(_mm_shuffle_epi8(s, _mm_setr_epi8(0, 8, 1, 9, 2, 10, 3, 11, 4, 12, 5, 13, 6, 14, 7, 15)));
}

/* The 16-value group sums S_(j,0), S_(j,1) of the 8 QA blocks at xb (one
 * super-block of a column) as int16 pairs, S_(j,0) | S_(j,1) << 16 in pr[j]
 * (|S| <= 16 * 127): per block 8 lanes of 4-byte sums, halves 0-3 and 4-7
 * added by two rounds of hadd over four blocks. */
static inline __attribute__((always_inline)) void ds_q6_k_r8_group_sums_x86(const char *xb, int32_t pr[8])
{
  const __m256i ones8 = _mm256_set1_epi8(1), ones16 = _mm256_set1_epi16(1);
  __m256i v[8];
  for (int j = 0; j < 8; j++)
    v[j] = _mm256_madd_epi16(_mm256_maddubs_epi16(ones8, _mm256_loadu_si256((const __m256i *)(xb + 32 * j))), ones16);
  for (int i = 0; i < 2; i++) {
    const __m256i a = _mm256_hadd_epi32(_mm256_hadd_epi32(v[4 * i], v[4 * i + 1]), _mm256_hadd_epi32(v[4 * i + 2], v[4 * i + 3]));
    const __m128i lo = _mm256_castsi256_si128(a), hi = _mm256_extracti128_si256(a, 1);
    _mm_storeu_si128((__m128i *)(pr + 4 * i), _mm_blend_epi16(lo, _mm_slli_epi32(hi, 16), 0xAA));
  }
}

/* sum_e sc_e sum u q of block j = 4h + q (the part of t_b before the
 * offset term) for nc columns, the block's QA bytes at xb, into t[c].
 * AVX2: maddubs(u, a) and madd with the group's scale per chunk. AVX-512:
 * chunks k and k + 1 in one 64-byte register (rows in lanes 0-7, then again
 * in 8-15), the activation bytes 4k .. 4k + 7 spread to those halves by one
 * permute, vpdpbusd summing u a into int32 per lane; per group the halves
 * are added and multiplied by sc in int32. The same integer either way. */
static inline __attribute__((always_inline)) void ds_q6_k_r8_block_x86(const uint8_t *w, int h, int q, const char *xb,
                                                                       size_t xs, const int nc, __m256i *t)
{
  const int j = 4 * h + q;
  const uint8_t *ql = w + 256 * (2 * h + q % 2), *qh = w + DS_Q6_K_R8_QH + 256 * h;
#pragma GCC unroll 4
  for (int c = 0; c < nc; c++) t[c] = _mm256_setzero_si256();
#pragma GCC unroll 2
  for (int e = 0; e < 2; e++) {   /* values 16e .. 16e + 15: group 2j + e */
    _mm_prefetch((const char *)w + DS_Q6_K_R8_PREFETCH + 64 * (4 * j + 2 * e), _MM_HINT_T0);
    _mm_prefetch((const char *)w + DS_Q6_K_R8_PREFETCH + 64 * (4 * j + 2 * e + 1), _MM_HINT_T0);
#if defined(__AVX512VNNI__) && defined(__AVX512BW__)
    const __m512i nib = _mm512_set1_epi8(0x0F), top = _mm512_set1_epi8(0x30);
    const __m512i spread = _mm512_set_epi32(1, 1, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 0, 0, 0, 0);
    __m512i p[DS_VEC_COLS];
#pragma GCC unroll 4
    for (int c = 0; c < nc; c++) p[c] = _mm512_setzero_si512();
#pragma GCC unroll 2
    for (int k = 4 * e; k < 4 * e + 4; k += 2) {
      const __m512i l = _mm512_loadu_si512((const void *)(ql + 32 * k));
      const __m512i hb = _mm512_loadu_si512((const void *)(qh + 32 * k));
      const __m512i lo = _mm512_and_si512(q / 2 ? _mm512_srli_epi16(l, 4) : l, nib);
      const __m512i hi = q == 0 ? _mm512_slli_epi16(hb, 4) : q == 1 ? _mm512_slli_epi16(hb, 2) : q == 2 ? hb : _mm512_srli_epi16(hb, 2);
      const __m512i u = _mm512_or_si512(lo, _mm512_and_si512(hi, top));
#pragma GCC unroll 4
      for (int c = 0; c < nc; c++) {
        const __m128i a8 = _mm_loadl_epi64((const __m128i *)(xb + c * xs + 4 * k));
        p[c] = _mm512_dpbusd_epi32(p[c], u, _mm512_permutexvar_epi32(spread, _mm512_castsi128_si512(a8)));
      }
    }
    const __m256i sc = _mm256_cvtepi8_epi32(_mm_loadl_epi64((const __m128i *)(w + DS_Q6_K_R8_SC + 8 * (2 * j + e))));
#pragma GCC unroll 4
    for (int c = 0; c < nc; c++) {
      const __m256i g = _mm256_add_epi32(_mm512_castsi512_si256(p[c]), _mm512_extracti64x4_epi64(p[c], 1));
      t[c] = _mm256_add_epi32(t[c], _mm256_mullo_epi32(g, sc));
    }
#else
    const __m256i sc = ds_q6_k_r8_scale16(_mm_loadu_si128((const __m128i *)(w + DS_Q6_K_R8_SC + 16 * j)), e);
#pragma GCC unroll 1
    for (int k = 4 * e; k < 4 * e + 4; k += 2) {   /* two chunks' pairs add in int16: <= 4 * 63 * 127 */
      const __m256i u0 = ds_q6_k_r8_levels_x86(ql + 32 * k, qh + 32 * k, q);
      const __m256i u1 = ds_q6_k_r8_levels_x86(ql + 32 * k + 32, qh + 32 * k + 32, q);
#pragma GCC unroll 4
      for (int c = 0; c < nc; c++) {
        int32_t a0, a1;
        memcpy(&a0, xb + c * xs + 4 * k, 4);
        memcpy(&a1, xb + c * xs + 4 * k + 4, 4);
        const __m256i p = _mm256_add_epi16(_mm256_maddubs_epi16(u0, _mm256_set1_epi32(a0)),
                                           _mm256_maddubs_epi16(u1, _mm256_set1_epi32(a1)));
        t[c] = _mm256_add_epi32(t[c], _mm256_madd_epi16(p, sc));
      }
    }
#endif
  }
}

/* t_b (q6_k_r8.h) as sum_e sc_e sum u q - 32 (sc_0 S_0 + sc_1 S_1): the same
 * integer, so the twin's bits. */
static inline __attribute__((always_inline)) void ds_q6_k_r8_dot_x86(int64_t K, const uint8_t *w, const char *x, size_t xs,
                                                                     const int nc, float *out)
{
  __m256 acc[DS_VEC_COLS];
  const float *xd[DS_VEC_COLS];
#pragma GCC unroll 4
  for (int c = 0; c < nc; c++) {
    acc[c] = _mm256_setzero_ps();
    xd[c] = ds_qa_d(x + c * xs, K);
  }
  for (int64_t s = 0; s < K / 256; s++, w += DS_Q6_K_R8_BLOCK_BYTES) {
    const __m256 d = _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)(w + DS_Q6_K_R8_D)));
    int32_t pr[DS_VEC_COLS][8];
#pragma GCC unroll 4
    for (int c = 0; c < nc; c++) ds_q6_k_r8_group_sums_x86(x + c * xs + s * 256, pr[c]);
    for (int h = 0; h < 2; h++)
#pragma GCC unroll 4
      for (int q = 0; q < 4; q++) {   /* q a constant: its shifts are immediates */
        const int j = 4 * h + q;
        __m256i t[DS_VEC_COLS];
        ds_q6_k_r8_block_x86(w, h, q, x + (s * 8 + j) * DS_QA_BLOCK, xs, nc, t);
        const __m256i scp = ds_q6_k_r8_scale_pairs(w, j);
#pragma GCC unroll 4
        for (int c = 0; c < nc; c++) {
          const __m256i m = _mm256_madd_epi16(scp, _mm256_set1_epi32(pr[c][j]));
          const __m256i tb = _mm256_sub_epi32(t[c], _mm256_slli_epi32(m, 5));
          acc[c] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(tb), _mm256_mul_ps(d, _mm256_set1_ps(xd[c][s * 8 + j])), acc[c]);
        }
      }
  }
#pragma GCC unroll 4
  for (int c = 0; c < nc; c++) _mm256_storeu_ps(out + 8 * c, acc[c]);
}

#if defined(__AVX512VNNI__) && defined(__AVX512BW__)
/* The tile packer in AVX-512 (the bytes of ds_q6_k_r8_pack_r16): chunk k of
 * a block from both groups is the tile's 64-byte group k of 16 rows, so
 * every vector holds all 16 rows: the values, the half sums (maddubs with u8
 * ones, madd), the scales and d by one F16C conversion each. The next
 * tile's blocks are fetched ahead, a share per block. */
static inline __attribute__((always_inline)) void ds_q6_k_r8_pack_tile_x86_512(const void *w, size_t row_bytes, int64_t K,
                                                                               void *dst)
{
  const __m512i nib = _mm512_set1_epi8(0x0F), top = _mm512_set1_epi8(0x30), off = _mm512_set1_epi8(32);
  const __m512i ones8 = _mm512_set1_epi8(1), ones16 = _mm512_set1_epi16(1);
  const uint8_t *g0 = w, *g1 = (const uint8_t *)w + 8 * row_bytes;
  const char *next = (const char *)w + 16 * row_bytes;
  for (int64_t s = 0; s < K / 256; s++) {
    const uint8_t *b0 = g0 + (size_t)s * DS_Q6_K_R8_BLOCK_BYTES, *b1 = g1 + (size_t)s * DS_Q6_K_R8_BLOCK_BYTES;
    const __m512 d = _mm512_cvtph_ps(_mm256_inserti128_si256(_mm256_castsi128_si256(_mm_loadu_si128((const __m128i *)(b0 + DS_Q6_K_R8_D))),
                                                             _mm_loadu_si128((const __m128i *)(b1 + DS_Q6_K_R8_D)), 1));
    for (int j = 0; j < 8; j++) {
      const int h = j / 4, q = j % 4;
      const size_t lo_at = 256 * (size_t)(2 * h + q % 2), hi_at = DS_Q6_K_R8_QH + 256 * (size_t)h;
      uint8_t *pb = (uint8_t *)dst + (s * 8 + j) * DS_GEMM_Q6_BLOCK_BYTES;
      for (int i = 0; i < 4; i++) {   /* the next tile: 2 x 1680 bytes per super-block, 8 lines per block */
        _mm_prefetch(next + (size_t)s * DS_Q6_K_R8_BLOCK_BYTES + 64 * (size_t)(4 * j + i), _MM_HINT_T0);
        _mm_prefetch(next + 8 * row_bytes + (size_t)s * DS_Q6_K_R8_BLOCK_BYTES + 64 * (size_t)(4 * j + i), _MM_HINT_T0);
      }
      for (int e = 0; e < 2; e++) {
        __m512i sum = _mm512_setzero_si512();
        for (int k = 4 * e; k < 4 * e + 4; k++) {
          const __m512i l = _mm512_inserti64x4(_mm512_castsi256_si512(_mm256_loadu_si256((const __m256i *)(b0 + lo_at + 32 * k))),
                                               _mm256_loadu_si256((const __m256i *)(b1 + lo_at + 32 * k)), 1);
          const __m512i hb = _mm512_inserti64x4(_mm512_castsi256_si512(_mm256_loadu_si256((const __m256i *)(b0 + hi_at + 32 * k))),
                                                _mm256_loadu_si256((const __m256i *)(b1 + hi_at + 32 * k)), 1);
          const __m512i lo = _mm512_and_si512(q / 2 ? _mm512_srli_epi16(l, 4) : l, nib);
          const __m512i hi = q == 0 ? _mm512_slli_epi16(hb, 4) : q == 1 ? _mm512_slli_epi16(hb, 2) : q == 2 ? hb : _mm512_srli_epi16(hb, 2);
          const __m512i v = _mm512_sub_epi8(_mm512_or_si512(lo, _mm512_and_si512(hi, top)), off);
          _mm512_storeu_si512((void *)(pb + 64 * k), v);
          sum = _mm512_add_epi32(sum, _mm512_madd_epi16(_mm512_maddubs_epi16(ones8, v), ones16));
        }
        const size_t sc_at = DS_Q6_K_R8_SC + 8 * (size_t)(2 * j + e);
        const __m128i sc8 = _mm_unpacklo_epi64(_mm_loadl_epi64((const __m128i *)(b0 + sc_at)), _mm_loadl_epi64((const __m128i *)(b1 + sc_at)));
        _mm512_storeu_ps((void *)(pb + 512 + 64 * e), _mm512_mul_ps(d, _mm512_cvtepi32_ps(_mm512_cvtepi8_epi32(sc8))));
        _mm512_storeu_si512((void *)(pb + 640 + 64 * e), _mm512_slli_epi32(_mm512_sub_epi32(_mm512_setzero_si512(), sum), 7));
      }
    }
  }
}
#endif

/* Rows n0 .. n0 + 15 of the R8 matrix at w (two whole groups, row_bytes =
 * K / 256 * 210 per row) into the Q6_K tile (vec.h): the bytes of
 * ds_q6_k_r8_pack_r16. Per block j, chunk k's values are tile group k of the
 * group's 8 rows; the half sums by maddubs with u8 ones and madd, the scales
 * by one F16C conversion and an f32 multiply. */
static inline __attribute__((always_inline)) void ds_q6_k_r8_pack_tile_x86(const void *w, size_t row_bytes, int64_t K,
                                                                           void *dst)
{
  const __m256i ones8 = _mm256_set1_epi8(1), ones16 = _mm256_set1_epi16(1);
  for (int64_t s = 0; s < K / 256; s++)
    for (int g = 0; g < 2; g++) {   /* rows 8g .. 8g + 7 of the tile */
      const uint8_t *blk = (const uint8_t *)w + (size_t)(8 * g) * row_bytes + (size_t)s * DS_Q6_K_R8_BLOCK_BYTES;
      const __m256 d = _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)(blk + DS_Q6_K_R8_D)));
      for (int j = 0; j < 8; j++) {
        const int h = j / 4, q = j % 4;
        const uint8_t *ql = blk + 256 * (2 * h + q % 2), *qh = blk + DS_Q6_K_R8_QH + 256 * h;
        uint8_t *pb = (uint8_t *)dst + (s * 8 + j) * DS_GEMM_Q6_BLOCK_BYTES;
        for (int e = 0; e < 2; e++) {   /* values 16e .. 16e + 15 */
          __m256i sum = _mm256_setzero_si256();
          for (int k = 4 * e; k < 4 * e + 4; k++) {
            const __m256i v = _mm256_sub_epi8(ds_q6_k_r8_levels_x86(ql + 32 * k, qh + 32 * k, q), _mm256_set1_epi8(32));
            _mm256_storeu_si256((__m256i *)(pb + 64 * k + 32 * g), v);
            sum = _mm256_add_epi32(sum, _mm256_madd_epi16(_mm256_maddubs_epi16(ones8, v), ones16));
          }
          const __m256i sc = _mm256_cvtepi8_epi32(_mm_loadl_epi64((const __m128i *)(blk + DS_Q6_K_R8_SC + 8 * (2 * j + e))));
          _mm256_storeu_ps((float *)(pb + 512 + 64 * e + 32 * g), _mm256_mul_ps(d, _mm256_cvtepi32_ps(sc)));
          _mm256_storeu_si256((__m256i *)(pb + 640 + 64 * e + 32 * g), _mm256_slli_epi32(_mm256_sub_epi32(_mm256_setzero_si256(), sum), 7));
        }
      }
    }
}

#endif
