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

/*
 * Q4_K / Q5_K rows into the same tile. A super-block {f16 d; f16 dmin; u8
 * scales[12]; (Q5_K: u8 qh[32];) u8 qs[128]} holds 8 groups of 32 values,
 * group j = one QA block b:
 *   value_i = d sc_j u_i - dmin m_j      u_i = nibble (Q4_K) or nibble + 16 * high bit (Q5_K)
 * so a block's dot with a QA block (q_i, d_b, s_b = sum q_i) splits exactly into
 *   d_b (d sc_j) sum_i u_i q_i  -  d_b (dmin m_j) s_b
 * The first term is the tile's (values u_i <= 31 fit int8, row scale d sc_j);
 * the second is ds_gemm_min_term below with mins[b * 16 + r] = dmin m_j.
 */
bool ds_gemm_pack_k_r16(int type, const void *w, size_t row_bytes, int nrows, int64_t K, void *dst, float *mins)
{
  if (type != DSEEK_TYPE_Q4_K && type != DSEEK_TYPE_Q5_K) return false;
  const bool q5 = type == DSEEK_TYPE_Q5_K;
  const size_t sblock = q5 ? 176 : 144;
  const int64_t nb = K / DS_QA_BLOCK;
  if (nrows < DS_GEMM_ROWS) {
    for (int64_t b = 0; b < nb; b++) memset((uint8_t *)dst + b * DS_GEMM_BLOCK_BYTES, 0, DS_GEMM_BLOCK_BYTES);
    memset(mins, 0, (size_t)nb * DS_GEMM_ROWS * sizeof(float));
  }
  for (int r = 0; r < nrows; r++) {
    const uint8_t *sb = (const uint8_t *)w + (size_t)r * row_bytes;
    for (int64_t b = 0; b < nb; b++) {
      if (b % 8 == 0 && b > 0) sb += sblock;
      const int j = (int)(b % 8);
      const uint8_t *qs = sb + (q5 ? 48 : 16) + 32 * (j / 2), *qh = sb + 16;
      uint8_t sc, m;
      ds_scale_min_k4(j, sb + 4, &sc, &m);
      int8_t v[DS_QA_BLOCK];
      int32_t sum = 0;
      for (int i = 0; i < DS_QA_BLOCK; i++) {
        int u = j % 2 ? qs[i] >> 4 : qs[i] & 0xF;
        if (q5) u += ((qh[i] >> j) & 1) * 16;
        v[i] = (int8_t)u;
        sum += u;
      }
      uint8_t *pb = (uint8_t *)dst + b * DS_GEMM_BLOCK_BYTES;
      for (int g = 0; g < 8; g++) memcpy(pb + (g * 16 + r) * 4, v + 4 * g, 4);
      float d = ds_get_half(sb) * (float)sc;
      int32_t c = -128 * sum;
      memcpy(pb + 8 * 16 * 4 + r * 4, &d, 4);
      memcpy(pb + 8 * 16 * 4 + 16 * 4 + r * 4, &c, 4);
      mins[b * DS_GEMM_ROWS + r] = ds_get_half(sb + 2) * (float)m;
    }
  }
  return true;
}

void ds_qa_ds(const void *row, int64_t K, float *ds)
{
  const float *d = ds_qa_d(row, K);
  const int32_t *s = ds_qa_s(row, K);
  for (int64_t b = 0; b < K / DS_QA_BLOCK; b++) ds[b] = d[b] * (float)s[b];
}

/* out[c * os + r] -= sum_b mins[b * 16 + r] ds[c * ds_stride + b] for ncols
 * columns: the min term of Q4_K/Q5_K tiles, blocks in order. Plain C for
 * every level (K / 32 multiply-adds per output against the tile's K). */
void ds_gemm_min_term(int64_t K, const float *mins, const float *ds, size_t ds_stride, int ncols, float *out,
                      size_t os)
{
  const int64_t nb = K / DS_QA_BLOCK;
  for (int c = 0; c < ncols; c++) {
    const float *dc = ds + (size_t)c * ds_stride;
    float acc[DS_GEMM_ROWS] = {0};
    for (int64_t b = 0; b < nb; b++)
      for (int r = 0; r < DS_GEMM_ROWS; r++) acc[r] += mins[b * DS_GEMM_ROWS + r] * dc[b];
    for (int r = 0; r < DS_GEMM_ROWS; r++) out[(size_t)c * os + r] -= acc[r];
  }
}

/*
 * Q6_K rows into the Q6_K tile (vec.h). A super-block {u8 ql[128]; u8 qh[64];
 * i8 sc[16]; f16 d} holds value i = d sc[i / 16] (u_i - 32), u_i the 6-bit
 * level (low nibble from ql, top 2 bits from qh; ggml's order below). Block j
 * of a super-block = QA block b: values 32j .. 32j + 31, scales d sc[2j] for
 * the first 16 and d sc[2j + 1] for the last 16, each half with its own -128
 * sum correction, so both halves stay exact integer sums.
 */
bool ds_gemm_pack_q6_k_r16(const void *w, size_t row_bytes, int nrows, int64_t K, void *dst)
{
  const int64_t nb = K / DS_QA_BLOCK;
  if (nrows < DS_GEMM_ROWS)
    for (int64_t b = 0; b < nb; b++) memset((uint8_t *)dst + b * DS_GEMM_Q6_BLOCK_BYTES, 0, DS_GEMM_Q6_BLOCK_BYTES);
  for (int r = 0; r < nrows; r++) {
    const uint8_t *sb = (const uint8_t *)w + (size_t)r * row_bytes;
    for (int64_t s = 0; s < nb / 8; s++, sb += 210) {
      const uint8_t *ql = sb, *qh = sb + 128;
      const int8_t *sc = (const int8_t *)(sb + 192);
      const float d = ds_get_half(sb + 208);
      int8_t v[256];
      for (int h = 0; h < 2; h++)
        for (int l = 0; l < 32; l++) {
          const uint8_t *L = ql + 64 * h, *H = qh + 32 * h;
          int8_t *y = v + 128 * h;
          y[l] = (int8_t)(((L[l] & 0xF) | ((H[l] & 3) << 4)) - 32);
          y[l + 32] = (int8_t)(((L[l + 32] & 0xF) | (((H[l] >> 2) & 3) << 4)) - 32);
          y[l + 64] = (int8_t)(((L[l] >> 4) | (((H[l] >> 4) & 3) << 4)) - 32);
          y[l + 96] = (int8_t)(((L[l + 32] >> 4) | (((H[l] >> 6) & 3) << 4)) - 32);
        }
      for (int j = 0; j < 8; j++) {
        uint8_t *pb = (uint8_t *)dst + (s * 8 + j) * DS_GEMM_Q6_BLOCK_BYTES;
        const int8_t *blk = v + 32 * j;
        for (int g = 0; g < 8; g++) memcpy(pb + (g * 16 + r) * 4, blk + 4 * g, 4);
        for (int half = 0; half < 2; half++) {
          int32_t sum = 0;
          for (int i = 16 * half; i < 16 * half + 16; i++) sum += blk[i];
          float ds = d * (float)sc[2 * j + half];
          int32_t c = -128 * sum;
          memcpy(pb + 512 + half * 64 + r * 4, &ds, 4);
          memcpy(pb + 640 + half * 64 + r * 4, &c, 4);
        }
      }
    }
  }
  return true;
}

/* The Q6_K tile kernel in plain C (vec.h): per row and block the two halves'
 * exact int sums, each times its d sc d_b, lo then hi, blocks in order. */
void ds_gemm_q6_k_r16(int64_t K, const void *wpack, const void *x, size_t x_stride, int ncols, float *out,
                      size_t out_stride)
{
  for (int c = 0; c < ncols; c++) {
    const void *xr = (const char *)x + (size_t)c * x_stride;
    const uint8_t *xu = xr;
    const float *xd = ds_qa_d(xr, K);
    for (int r = 0; r < DS_GEMM_ROWS; r++) {
      float sum = 0.0f;
      for (int64_t b = 0; b < K / DS_QA_BLOCK; b++) {
        const uint8_t *pb = (const uint8_t *)wpack + b * DS_GEMM_Q6_BLOCK_BYTES;
        const int8_t *q = (const int8_t *)pb;
        const float *d = (const float *)(pb + 512);
        const int32_t *corr = (const int32_t *)(pb + 640);
        for (int half = 0; half < 2; half++) {
          int32_t isum = corr[16 * half + r];
          for (int j = 16 * half; j < 16 * half + 16; j++)
            isum += xu[b * DS_QA_BLOCK + j] * q[(j / 4 * 16 + r) * 4 + j % 4];
          sum += (float)isum * (d[16 * half + r] * xd[b]);
        }
      }
      out[(size_t)c * out_stride + r] = sum;
    }
  }
}
