/*
 * gemm_pack.c — repacking 16 weight rows into the GEMM tile layout of vec.h
 * (shared by every CPU level: plain byte moves, done once per tile and reused
 * by all the columns of a prompt batch).
 *
 * Q8_0 block: {f16 d; int8 q[32]}          value j = q[j]
 * Q4_0 block: {f16 d; u8 q[16]}            value j = lo4(q[j]) - 8, value j + 16 = hi4(q[j]) - 8
 */
#include "kernels/quants.h"
#include "kernels/vec.h"

#include <string.h>

bool ds_gemm_pack_r16(int type, const void *w, size_t row_bytes, int nrows, int64_t K, void *dst)
{
  if (type != DSEEK_TYPE_Q8_0 && type != DSEEK_TYPE_Q4_0) return false;
  const size_t wblock = type == DSEEK_TYPE_Q8_0 ? 34 : 18;
  const int64_t nb = K / DS_QA_BLOCK;
  /* rows past nrows: zero weights, scales and corrections */
  if (nrows < DS_GEMM_ROWS)
    for (int64_t b = 0; b < nb; b++) memset((uint8_t *)dst + b * DS_GEMM_BLOCK_BYTES, 0, DS_GEMM_BLOCK_BYTES);
  for (int r = 0; r < nrows; r++) {
    const uint8_t *wb = (const uint8_t *)w + (size_t)r * row_bytes;
    for (int64_t b = 0; b < nb; b++, wb += wblock) {
      uint8_t *pb = (uint8_t *)dst + b * DS_GEMM_BLOCK_BYTES;
      int8_t v[DS_QA_BLOCK];
      if (type == DSEEK_TYPE_Q8_0) {
        memcpy(v, wb + 2, DS_QA_BLOCK);
      } else {
        for (int j = 0; j < 16; j++) {
          v[j] = (int8_t)((wb[2 + j] & 0x0F) - 8);
          v[j + 16] = (int8_t)((wb[2 + j] >> 4) - 8);
        }
      }
      int32_t sum = 0;
      for (int j = 0; j < DS_QA_BLOCK; j++) sum += v[j];
      /* values 4g .. 4g + 3 of row r at (g * 16 + r) * 4 */
      for (int g = 0; g < 8; g++) memcpy(pb + (g * 16 + r) * 4, v + 4 * g, 4);
      float d = ds_get_half(wb);
      int32_t c = -128 * sum;
      memcpy(pb + 8 * 16 * 4 + r * 4, &d, 4);
      memcpy(pb + 8 * 16 * 4 + 16 * 4 + r * 4, &c, 4);
    }
  }
  return true;
}

void ds_qa_to_u8(void *row, int64_t K)
{
  uint8_t *q = row;
  for (int64_t i = 0; i < K; i++) q[i] ^= 0x80;
}
