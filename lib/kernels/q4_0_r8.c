/* q4_0_r8.c — the R8 interleaving of Q4_0 rows (q4_0_r8.h): repacking,
 * and rows back in the Q4_0 layout for the paths that read one row. */
#include "kernels/q4_0_r8.h"

#include "kernels/types.h"
#include "kernels/vec.h"

#include <string.h>

#define Q4_0_BLOCK_BYTES 18

void ds_q4_0_r8_repack(void *w, int64_t K, int64_t N, void *tmp)
{
  const int64_t nb = K / 32;
  const size_t row_bytes = (size_t)nb * Q4_0_BLOCK_BYTES;
  for (int64_t g = 0; g + DS_R8_ROWS <= N; g += DS_R8_ROWS) {
    uint8_t *grp = (uint8_t *)w + (size_t)g * row_bytes;
    memcpy(tmp, grp, DS_R8_ROWS * row_bytes);
    for (int64_t b = 0; b < nb; b++) {
      uint8_t *o = grp + (size_t)b * DS_R8_BLOCK_BYTES;
      for (int r = 0; r < DS_R8_ROWS; r++) {
        const uint8_t *src = (const uint8_t *)tmp + (size_t)r * row_bytes + (size_t)b * Q4_0_BLOCK_BYTES;
        memcpy(o + 2 * r, src, 2);
        for (int c = 0; c < 4; c++) memcpy(o + 16 + 32 * c + 4 * r, src + 2 + 4 * c, 4);
      }
    }
  }
}

void ds_q4_0_r8_row(const void *w, int64_t K, int64_t N, int64_t n, void *dst)
{
  const int64_t nb = K / 32;
  const size_t row_bytes = (size_t)nb * Q4_0_BLOCK_BYTES;
  if (n >= N - N % DS_R8_ROWS) {   /* a tail row: still Q4_0 */
    memcpy(dst, (const uint8_t *)w + (size_t)n * row_bytes, row_bytes);
    return;
  }
  const uint8_t *grp = (const uint8_t *)w + (size_t)(n - n % DS_R8_ROWS) * row_bytes;
  const int r = (int)(n % DS_R8_ROWS);
  for (int64_t b = 0; b < nb; b++) {
    const uint8_t *blk = grp + (size_t)b * DS_R8_BLOCK_BYTES;
    uint8_t *o = (uint8_t *)dst + (size_t)b * Q4_0_BLOCK_BYTES;
    memcpy(o, blk + 2 * r, 2);
    for (int c = 0; c < 4; c++) memcpy(o + 2 + 4 * c, blk + 16 + 32 * c + 4 * r, 4);
  }
}

void ds_q4_0_r8_row_to_float(const void *w, int64_t K, int64_t N, int64_t n, float *dst)
{
  /* one block at a time through the Q4_0 decoder: no row-sized buffer */
  const int64_t nb = K / 32;
  const ds_type_traits *tr = ds_type_traits_get(DSEEK_TYPE_Q4_0);
  uint8_t blk[Q4_0_BLOCK_BYTES];
  if (n >= N - N % DS_R8_ROWS) {
    tr->to_float((const uint8_t *)w + (size_t)n * (size_t)nb * Q4_0_BLOCK_BYTES, dst, K);
    return;
  }
  const uint8_t *grp = (const uint8_t *)w + (size_t)(n - n % DS_R8_ROWS) * (size_t)nb * Q4_0_BLOCK_BYTES;
  const int r = (int)(n % DS_R8_ROWS);
  for (int64_t b = 0; b < nb; b++) {
    const uint8_t *src = grp + (size_t)b * DS_R8_BLOCK_BYTES;
    memcpy(blk, src + 2 * r, 2);
    for (int c = 0; c < 4; c++) memcpy(blk + 2 + 4 * c, src + 16 + 32 * c + 4 * r, 4);
    tr->to_float(blk, dst + b * 32, 32);
  }
}

/* 16 rows of an R8 matrix (two groups from row n0, n0 % 8 == 0; rows past N
 * and tail rows handled through ds_q4_0_r8_row) into the GEMM tile (vec.h):
 * chunk k of a group holds 4 bytes of each of its 8 rows, i.e. exactly tile
 * groups k (low nibbles) and k + 4 (high nibbles) of those rows, so whole
 * 32-byte runs move at once. The same bytes as ds_gemm_pack_r16 on the
 * original rows. */
void ds_q4_0_r8_pack_r16(const void *w, int64_t K, int64_t N, int64_t n0, int nrows, void *dst, void *rowbuf)
{
  const int64_t nb = K / 32;
  const size_t row_bytes = (size_t)nb * Q4_0_BLOCK_BYTES;
  const int64_t whole = N - N % DS_R8_ROWS;
  if (nrows < 16 || n0 + 16 > whole) {   /* the matrix's last tile: row by row */
    for (int i = 0; i < nrows; i++) ds_q4_0_r8_row(w, K, N, n0 + i, (uint8_t *)rowbuf + (size_t)i * row_bytes);
    ds_gemm_pack_r16(DSEEK_TYPE_Q4_0, rowbuf, row_bytes, nrows, K, dst);
    return;
  }
  for (int64_t b = 0; b < nb; b++) {
    uint8_t *pb = (uint8_t *)dst + b * DS_GEMM_BLOCK_BYTES;
    for (int h = 0; h < 2; h++) {   /* rows 8h .. 8h + 7 of the tile */
      const uint8_t *blk = (const uint8_t *)w + (size_t)(n0 + 8 * h) * row_bytes + (size_t)b * DS_R8_BLOCK_BYTES;
      int32_t sum[8] = {0};
      for (int k = 0; k < 4; k++) {
        const uint8_t *c = blk + 16 + 32 * k;
        int8_t *lo = (int8_t *)pb + (k * 16 + 8 * h) * 4, *hi = (int8_t *)pb + ((k + 4) * 16 + 8 * h) * 4;
        for (int i = 0; i < 32; i++) {
          lo[i] = (int8_t)((c[i] & 0x0F) - 8);
          hi[i] = (int8_t)((c[i] >> 4) - 8);
          sum[i / 4] += lo[i] + hi[i];
        }
      }
      for (int r = 0; r < 8; r++) {
        float d = ds_f16_to_f32((uint16_t)(blk[2 * r] | blk[2 * r + 1] << 8));
        int32_t cc = -128 * sum[r];
        memcpy(pb + 8 * 16 * 4 + (8 * h + r) * 4, &d, 4);
        memcpy(pb + 8 * 16 * 4 + 16 * 4 + (8 * h + r) * 4, &cc, 4);
      }
    }
  }
}
