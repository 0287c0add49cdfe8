/*
 * q4_0_r8_x86.h — the GEMM tile (vec.h) from 16 rows of an R8 matrix
 * (q4_0_r8.h), included by vec_avx2.c and vec_avx512.c (compiled with at
 * least AVX2 + F16C).
 *
 * Chunk k of an R8 block holds bytes 4k .. 4k + 3 of each of its 8 rows, row
 * r at 4r: after the nibble split, exactly the tile's value group k (low
 * nibbles) and k + 4 (high nibbles) of those rows, in the tile's order. So a
 * block is four 32-byte loads per half tile, no transpose (the packer from
 * plain Q4_0 rows needs one). Row sums for the correction -128 sum_j v_j come
 * from maddubs with u8 ones (pairs of s8 >= -16, no saturation) and a madd
 * by s16 ones, the eight f16 scales of a half from one F16C conversion: the
 * bytes of ds_q4_0_r8_pack_r16, checked by tests/kernels/test_q4_0_r8.c.
 */
#ifndef DS_KERNELS_Q4_0_R8_X86_H
#define DS_KERNELS_Q4_0_R8_X86_H

#include "kernels/q4_0_r8.h"
#include "kernels/vec.h"

#include <immintrin.h>

/* Rows n0 .. n0 + 15 of the R8 matrix at w (two whole groups; row_bytes =
 * K / 32 * 18) into the tile at dst. */
static inline __attribute__((always_inline)) void ds_q4_0_r8_pack_tile_x86(const void *w, size_t row_bytes, int64_t K,
                                                                           void *dst)
{
  const __m256i nib = _mm256_set1_epi8(0x0F), eight = _mm256_set1_epi8(8);
  const __m256i ones8 = _mm256_set1_epi8(1), ones16 = _mm256_set1_epi16(1);
  const uint8_t *groups[2] = {w, (const uint8_t *)w + DS_R8_ROWS * row_bytes};
  for (int64_t b = 0; b < K / 32; b++) {
    uint8_t *pb = (uint8_t *)dst + b * DS_GEMM_BLOCK_BYTES;
#pragma GCC unroll 2
    for (int h = 0; h < 2; h++) {
      const uint8_t *blk = groups[h] + (size_t)b * DS_R8_BLOCK_BYTES;
      __m256i sum16 = _mm256_setzero_si256();
#pragma GCC unroll 4
      for (int k = 0; k < 4; k++) {
        const __m256i c = _mm256_loadu_si256((const __m256i *)(blk + 16 + 32 * k));
        const __m256i lo = _mm256_sub_epi8(_mm256_and_si256(c, nib), eight);
        const __m256i hi = _mm256_sub_epi8(_mm256_and_si256(_mm256_srli_epi16(c, 4), nib), eight);
        _mm256_storeu_si256((__m256i *)(pb + 64 * k + 32 * h), lo);
        _mm256_storeu_si256((__m256i *)(pb + 64 * (k + 4) + 32 * h), hi);
        sum16 = _mm256_add_epi16(sum16, _mm256_maddubs_epi16(ones8, lo));
        sum16 = _mm256_add_epi16(sum16, _mm256_maddubs_epi16(ones8, hi));
      }
      /* dword r of madd(sum16, 1) is row r's sum over the block's 32 values */
      const __m256i corr = _mm256_sub_epi32(_mm256_setzero_si256(), _mm256_slli_epi32(_mm256_madd_epi16(sum16, ones16), 7));
      _mm256_storeu_si256((__m256i *)(pb + 8 * 16 * 4 + 16 * 4 + 32 * h), corr);
      _mm256_storeu_ps((float *)(pb + 8 * 16 * 4 + 32 * h), _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)blk)));
    }
  }
}

#endif
