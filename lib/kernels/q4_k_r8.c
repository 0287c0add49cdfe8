/* q4_k_r8.c — the R8 interleaving of Q4_K rows (q4_k_r8.h): repacking, and
 * rows back in the Q4_K layout for the paths that read one row. */
#include "kernels/q4_k_r8.h"

#include "kernels/quants.h"
#include "kernels/types.h"
#include "kernels/vec.h"

#include <string.h>

#define Q4_K_BYTES 144
#define R8 DS_Q4_K_R8_ROWS

/* The 12 packed scale bytes of a Q4_K super-block from its 6-bit sc[j],
 * m[j] (the inverse of ds_scale_min_k4: groups 0..3 in the low 6 bits of
 * q[j], q[j + 4]; groups 4..7 split into the nibbles of q[j + 8] and the
 * top 2 bits of q[j - 4], q[j]). All 96 bits are fields, so unpacking and
 * packing again gives the same bytes. */
static void pack_scales(const uint8_t sc[8], const uint8_t m[8], uint8_t q[12])
{
  for (int j = 0; j < 4; j++) {
    q[j] = (uint8_t)(sc[j] | (sc[j + 4] >> 4) << 6);
    q[j + 4] = (uint8_t)(m[j] | (m[j + 4] >> 4) << 6);
    q[j + 8] = (uint8_t)((sc[j + 4] & 15) | (m[j + 4] & 15) << 4);
  }
}

/* Super-block s of row r (its 144 Q4_K bytes at src) into the R8 block o. */
static void put_row(const uint8_t *src, int r, uint8_t *o)
{
  memcpy(o + 2 * r, src, 2);
  memcpy(o + 16 + 2 * r, src + 2, 2);
  for (int j = 0; j < 8; j++) {
    uint8_t sc, m;
    ds_scale_min_k4(j, src + 4, &sc, &m);
    o[32 + 8 * j + r] = (uint8_t)((sc & 15) | (m & 15) << 4);
    if (j < 4) o[96 + 8 * j + r] = 0;
    o[96 + 8 * (j % 4) + r] |= (uint8_t)(((sc >> 4) | (m >> 4) << 2) << (4 * (j / 4)));
  }
  for (int p = 0; p < 4; p++)
    for (int k = 0; k < 8; k++) memcpy(o + 128 + 256 * p + 32 * k + 4 * r, src + 16 + 32 * p + 4 * k, 4);
}

void ds_q4_k_r8_scales(const uint8_t *blk, uint8_t sc[64], uint8_t m[64])
{
  for (int j = 0; j < 8; j++)
    for (int r = 0; r < R8; r++) {
      const uint8_t lo = blk[32 + 8 * j + r], hi = (uint8_t)(blk[96 + 8 * (j % 4) + r] >> (4 * (j / 4)));
      sc[8 * j + r] = (uint8_t)((lo & 15) | (hi & 3) << 4);
      m[8 * j + r] = (uint8_t)((lo >> 4) | (hi >> 2 & 3) << 4);
    }
}

/* Row r of the R8 block blk back into the 144 Q4_K bytes at o. */
static void get_row(const uint8_t *blk, int r, uint8_t *o)
{
  uint8_t sc[64], m[64], rsc[8], rm[8];
  ds_q4_k_r8_scales(blk, sc, m);
  for (int j = 0; j < 8; j++) {
    rsc[j] = sc[8 * j + r];
    rm[j] = m[8 * j + r];
  }
  memcpy(o, blk + 2 * r, 2);
  memcpy(o + 2, blk + 16 + 2 * r, 2);
  pack_scales(rsc, rm, o + 4);
  for (int p = 0; p < 4; p++)
    for (int k = 0; k < 8; k++) memcpy(o + 16 + 32 * p + 4 * k, blk + 128 + 256 * p + 32 * k + 4 * r, 4);
}

void ds_q4_k_r8_repack(void *w, int64_t K, int64_t N, void *tmp)
{
  const int64_t nsb = K / 256;
  const size_t row_bytes = ds_q4_k_row_bytes(K);
  for (int64_t g = 0; g + R8 <= N; g += R8) {
    uint8_t *grp = (uint8_t *)w + (size_t)g * row_bytes;
    memcpy(tmp, grp, R8 * row_bytes);
    for (int64_t s = 0; s < nsb; s++)
      for (int r = 0; r < R8; r++)
        put_row((const uint8_t *)tmp + (size_t)r * row_bytes + (size_t)s * Q4_K_BYTES, r,
                grp + (size_t)s * DS_Q4_K_R8_BLOCK_BYTES);
  }
}

void ds_q4_k_r8_row(const void *w, int64_t K, int64_t N, int64_t n, void *dst)
{
  const size_t row_bytes = ds_q4_k_row_bytes(K);
  if (n >= N - N % R8) {   /* a tail row: still Q4_K */
    memcpy(dst, (const uint8_t *)w + (size_t)n * row_bytes, row_bytes);
    return;
  }
  const uint8_t *grp = (const uint8_t *)w + (size_t)(n - n % R8) * row_bytes;
  for (int64_t s = 0; s < K / 256; s++)
    get_row(grp + (size_t)s * DS_Q4_K_R8_BLOCK_BYTES, (int)(n % R8), (uint8_t *)dst + (size_t)s * Q4_K_BYTES);
}

void ds_q4_k_r8_row_to_float(const void *w, int64_t K, int64_t N, int64_t n, float *dst)
{
  /* one super-block at a time through the Q4_K decoder: no row-sized buffer */
  const ds_type_traits *tr = ds_type_traits_get(DSEEK_TYPE_Q4_K);
  const size_t row_bytes = ds_q4_k_row_bytes(K);
  if (n >= N - N % R8) {
    tr->to_float((const uint8_t *)w + (size_t)n * row_bytes, dst, K);
    return;
  }
  const uint8_t *grp = (const uint8_t *)w + (size_t)(n - n % R8) * row_bytes;
  uint8_t blk[Q4_K_BYTES];
  for (int64_t s = 0; s < K / 256; s++) {
    get_row(grp + (size_t)s * DS_Q4_K_R8_BLOCK_BYTES, (int)(n % R8), blk);
    tr->to_float(blk, dst + s * 256, 256);
  }
}

/* 16 rows of an R8 matrix (two groups from row n0) into the K-quant tile
 * (vec.h): chunk k of block j's pair holds 4 bytes of each of 8 rows, i.e.
 * after taking block j's nibble exactly tile group k of those rows, so whole
 * 32-byte runs move at once and each super-block's scales unpack once per
 * group (not once per row). The same bytes as ds_gemm_pack_k_r16 on the
 * original rows: d_r sc and dmin_r m in f32, c = -128 sum of the levels. */
void ds_q4_k_r8_pack_r16(const void *w, int64_t K, int64_t N, int64_t n0, int nrows, void *dst, float *mins,
                         void *rowbuf)
{
  const size_t row_bytes = ds_q4_k_row_bytes(K);
  if (nrows < 16 || n0 + 16 > N - N % R8) {   /* the matrix's last tile: row by row */
    for (int i = 0; i < nrows; i++) ds_q4_k_r8_row(w, K, N, n0 + i, (uint8_t *)rowbuf + (size_t)i * row_bytes);
    ds_gemm_pack_k_r16(DSEEK_TYPE_Q4_K, rowbuf, row_bytes, nrows, K, dst, mins);
    return;
  }
  for (int64_t s = 0; s < K / 256; s++)
    for (int h = 0; h < 2; h++) {   /* rows 8h .. 8h + 7 of the tile */
      const uint8_t *blk = (const uint8_t *)w + (size_t)(n0 + 8 * h) * row_bytes + (size_t)s * DS_Q4_K_R8_BLOCK_BYTES;
      uint8_t sc[64], m[64];
      ds_q4_k_r8_scales(blk, sc, m);
      for (int j = 0; j < 8; j++) {
        const int64_t b = s * 8 + j;
        uint8_t *pb = (uint8_t *)dst + b * DS_GEMM_BLOCK_BYTES;
        int32_t sum[8] = {0};
        for (int k = 0; k < 8; k++) {
          const uint8_t *c = blk + 128 + 256 * (j / 2) + 32 * k;
          int8_t *v = (int8_t *)pb + (k * 16 + 8 * h) * 4;
          for (int i = 0; i < 32; i++) {
            v[i] = (int8_t)((c[i] >> (4 * (j % 2))) & 15);
            sum[i / 4] += v[i];
          }
        }
        for (int r = 0; r < R8; r++) {
          const float d = ds_get_half(blk + 2 * r) * (float)sc[8 * j + r];
          const int32_t cc = -128 * sum[r];
          memcpy(pb + 8 * 16 * 4 + (8 * h + r) * 4, &d, 4);
          memcpy(pb + 8 * 16 * 4 + 16 * 4 + (8 * h + r) * 4, &cc, 4);
          mins[b * DS_GEMM_ROWS + 8 * h + r] = ds_get_half(blk + 16 + 2 * r) * (float)m[8 * j + r];
        }
      }
    }
}
