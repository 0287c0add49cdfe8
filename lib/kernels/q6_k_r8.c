/* q6_k_r8.c — the R8 interleaving of Q6_K rows (q6_k_r8.h): repacking, rows
 * back in the Q6_K layout for the paths that read one row, and the GEMM tile
 * packed from the interleaved blocks. */
#include "kernels/q6_k_r8.h"

#include "kernels/quants.h"
#include "kernels/types.h"
#include "kernels/vec.h"

#include <string.h>

#define Q6_K_BYTES 210
#define R8 8

/* One piece of a row's super-block: n bytes at row offset a, R8 offset b. */
static void move(const uint8_t *src, uint8_t *dst, size_t a, size_t b, size_t n, bool to_row)
{
  memcpy(dst + (to_row ? a : b), src + (to_row ? b : a), n);
}

/* Super-block s of row r, its 210 Q6_K bytes, into the R8 block (to_row
 * false: src the row's bytes, dst the R8 block) or back: every byte has one
 * place in each layout. */
static void move_row(const uint8_t *src, uint8_t *dst, int r, bool to_row)
{
  for (size_t P = 0; P < 4; P++)   /* ql: row offset 64h + 32p = 32P */
    for (size_t k = 0; k < 8; k++) move(src, dst, 32 * P + 4 * k, 256 * P + 32 * k + 4 * (size_t)r, 4, to_row);
  for (size_t h = 0; h < 2; h++)
    for (size_t k = 0; k < 8; k++)
      move(src, dst, 128 + 32 * h + 4 * k, DS_Q6_K_R8_QH + 256 * h + 32 * k + 4 * (size_t)r, 4, to_row);
  for (size_t g = 0; g < 16; g++) move(src, dst, 192 + g, DS_Q6_K_R8_SC + 8 * g + (size_t)r, 1, to_row);
  move(src, dst, 208, DS_Q6_K_R8_D + 2 * (size_t)r, 2, to_row);
}

void ds_q6_k_r8_chunk(const uint8_t *blk, int j, int k, int8_t v[32])
{
  const int h = j / 4, q = j % 4;
  const uint8_t *ql = blk + 256 * (2 * h + q % 2) + 32 * k, *qh = blk + DS_Q6_K_R8_QH + 256 * h + 32 * k;
  for (int i = 0; i < 32; i++)
    v[i] = (int8_t)((((ql[i] >> (4 * (q / 2))) & 15) | ((qh[i] >> (2 * q)) & 3) << 4) - 32);
}

void ds_q6_k_r8_repack(void *w, int64_t K, int64_t N, void *tmp)
{
  const size_t row_bytes = ds_q6_k_row_bytes(K);
  for (int64_t g = 0; g + R8 <= N; g += R8) {
    uint8_t *grp = (uint8_t *)w + (size_t)g * row_bytes;
    memcpy(tmp, grp, R8 * row_bytes);
    for (int64_t s = 0; s < K / 256; s++)
      for (int r = 0; r < R8; r++)
        move_row((const uint8_t *)tmp + (size_t)r * row_bytes + (size_t)s * Q6_K_BYTES,
                 grp + (size_t)s * DS_Q6_K_R8_BLOCK_BYTES, r, false);
  }
}

void ds_q6_k_r8_row(const void *w, int64_t K, int64_t N, int64_t n, void *dst)
{
  const size_t row_bytes = ds_q6_k_row_bytes(K);
  if (n >= N - N % R8) {   /* a tail row: still Q6_K */
    memcpy(dst, (const uint8_t *)w + (size_t)n * row_bytes, row_bytes);
    return;
  }
  const uint8_t *grp = (const uint8_t *)w + (size_t)(n - n % R8) * row_bytes;
  for (int64_t s = 0; s < K / 256; s++)
    move_row(grp + (size_t)s * DS_Q6_K_R8_BLOCK_BYTES, (uint8_t *)dst + (size_t)s * Q6_K_BYTES, (int)(n % R8), true);
}

void ds_q6_k_r8_row_to_float(const void *w, int64_t K, int64_t N, int64_t n, float *dst)
{
  /* one super-block at a time through the Q6_K decoder: no row-sized buffer */
  const ds_type_traits *tr = ds_type_traits_get(DSEEK_TYPE_Q6_K);
  const size_t row_bytes = ds_q6_k_row_bytes(K);
  if (n >= N - N % R8) {
    tr->to_float((const uint8_t *)w + (size_t)n * row_bytes, dst, K);
    return;
  }
  const uint8_t *grp = (const uint8_t *)w + (size_t)(n - n % R8) * row_bytes;
  uint8_t blk[Q6_K_BYTES];
  for (int64_t s = 0; s < K / 256; s++) {
    move_row(grp + (size_t)s * DS_Q6_K_R8_BLOCK_BYTES, blk, (int)(n % R8), true);
    tr->to_float(blk, dst + s * 256, 256);
  }
}

/* 16 rows of an R8 matrix (two groups from row n0) into the Q6_K tile
 * (vec.h): chunk k of block j is tile group k of the group's 8 rows, so each
 * 32-byte run of values lands whole at (k * 16 + 8h) * 4. The same bytes as
 * ds_gemm_pack_q6_k_r16 on the original rows: d_r sc in f32 per 16-value
 * half, c = -128 sum of the half's values. */
void ds_q6_k_r8_pack_r16(const void *w, int64_t K, int64_t N, int64_t n0, int nrows, void *dst, void *rowbuf)
{
  const size_t row_bytes = ds_q6_k_row_bytes(K);
  if (nrows < 16 || n0 + 16 > N - N % R8) {   /* the matrix's last tile: row by row */
    for (int i = 0; i < nrows; i++) ds_q6_k_r8_row(w, K, N, n0 + i, (uint8_t *)rowbuf + (size_t)i * row_bytes);
    ds_gemm_pack_q6_k_r16(rowbuf, row_bytes, nrows, K, dst);
    return;
  }
  for (int64_t s = 0; s < K / 256; s++)
    for (int h = 0; h < 2; h++) {   /* rows 8h .. 8h + 7 of the tile */
      const uint8_t *blk = (const uint8_t *)w + (size_t)(n0 + 8 * h) * row_bytes + (size_t)s * DS_Q6_K_R8_BLOCK_BYTES;
      for (int j = 0; j < 8; j++) {
        uint8_t *pb = (uint8_t *)dst + (s * 8 + j) * DS_GEMM_Q6_BLOCK_BYTES;
        int32_t sum[2][8] = {{0}};
        for (int k = 0; k < 8; k++) {
          int8_t *v = (int8_t *)pb + (k * 16 + 8 * h) * 4;
          ds_q6_k_r8_chunk(blk, j, k, v);
          for (int i = 0; i < 32; i++) sum[k / 4][i / 4] += v[i];
        }
        for (int e = 0; e < 2; e++)
          for (int r = 0; r < R8; r++) {
            const float d = ds_get_half(blk + DS_Q6_K_R8_D + 2 * r) * (float)(int8_t)blk[DS_Q6_K_R8_SC + 8 * (2 * j + e) + r];
            const int32_t c = -128 * sum[e][r];
            memcpy(pb + 512 + 64 * e + (8 * h + r) * 4, &d, 4);
            memcpy(pb + 640 + 64 * e + (8 * h + r) * 4, &c, 4);
          }
      }
    }
}
