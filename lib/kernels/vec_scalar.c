/*
 * vec_scalar.c — the portable dot kernels (vec.h): the scalar twins of the
 * SIMD kernels, with the same activation quantization and the same exact
 * integer block sums, summed over blocks in index order. Also the table
 * lookup for every level.
 */
#include "core/platform.h"   /* ds_fmaf */
#include "kernels/quants.h"
#include "kernels/q4_k_r8.h"
#include "kernels/q6_k_r8.h"
#include "kernels/quants_iq.h"
#include "kernels/types.h"
#include "kernels/vec.h"

#include <float.h>
#include <math.h>

/* d = amax / 127, q = round_half_even(x * (1 / d)): nearbyintf in the default
 * rounding mode, as the SIMD round instructions, so every level gives the same
 * bytes. |x * (1/d)| <= 127 + ulps, so q fits in int8. */
static void quantize_qa(const float *x, int64_t K, void *dst)
{
  int8_t *q = dst;
  float *d = (float *)((char *)dst + K);
  int32_t *s = (int32_t *)(d + K / DS_QA_BLOCK);
  for (int64_t b = 0; b < K / DS_QA_BLOCK; b++) {
    const float *xb = x + b * DS_QA_BLOCK;
    float amax = 0.0f;
    for (int j = 0; j < DS_QA_BLOCK; j++) amax = fmaxf(amax, fabsf(xb[j]));
    float db = amax / 127.0f, id = db != 0.0f ? 1.0f / db : 0.0f;
    if (id > FLT_MAX) id = 0.0f;   /* d below 2^-128: 1/d overflows; q = 0 (|x| < 2^-121) */
    int32_t sum = 0;
    for (int j = 0; j < DS_QA_BLOCK; j++) {
      int v = (int)nearbyintf(xb[j] * id);
      q[b * DS_QA_BLOCK + j] = (int8_t)v;
      sum += v;
    }
    d[b] = db;
    s[b] = sum;
  }
}

/* Q8_0 block: {f16 d; i8 q[32]} (34 bytes). */
static void dot_q8_0(int64_t K, const void *w, const void *x, size_t x_stride, int ncols, float *out)
{
  for (int c = 0; c < ncols; c++) {
    const void *xr = (const char *)x + (size_t)c * x_stride;
    const int8_t *xq = xr;
    const float *xd = ds_qa_d(xr, K);
    const uint8_t *wb = w;
    float sum = 0.0f;
    for (int64_t b = 0; b < K / DS_QA_BLOCK; b++, wb += 34) {
      int32_t isum = 0;
      for (int j = 0; j < DS_QA_BLOCK; j++) isum += (int8_t)wb[2 + j] * xq[b * DS_QA_BLOCK + j];
      sum += (float)isum * (ds_get_half(wb) * xd[b]);
    }
    out[c] = sum;
  }
}

/* Q4_0 block: {f16 d; u8 q[16]}, value j = lo4(q_j) - 8, value j + 16 =
 * hi4(q_j) - 8; sum (u - 8) x = sum u x - 8 s. */
static void dot_q4_0(int64_t K, const void *w, const void *x, size_t x_stride, int ncols, float *out)
{
  for (int c = 0; c < ncols; c++) {
    const void *xr = (const char *)x + (size_t)c * x_stride;
    const int8_t *xq = xr;
    const float *xd = ds_qa_d(xr, K);
    const int32_t *xs = ds_qa_s(xr, K);
    const uint8_t *wb = w;
    float sum = 0.0f;
    for (int64_t b = 0; b < K / DS_QA_BLOCK; b++, wb += 18) {
      const int8_t *q = xq + b * DS_QA_BLOCK;
      int32_t isum = -8 * xs[b];
      for (int j = 0; j < 16; j++) isum += (wb[2 + j] & 0x0F) * q[j] + (wb[2 + j] >> 4) * q[j + 16];
      sum += (float)isum * (ds_get_half(wb) * xd[b]);
    }
    out[c] = sum;
  }
}

/* Q5_0 block: {f16 d; u8 qh[4]; u8 q[16]} (22 bytes, ggml-common.h in
 * llama.cpp): value j = lo4(q_j) | bit j of the LE u32 qh << 4, value j + 16 =
 * hi4(q_j) | bit j + 16 << 4, x = (u - 16) d; sum (u - 16) x = sum u x - 16 s.
 * |isum| <= 32 * 16 * 127 < 2^24: exact in f32. The fmaf chain in block order
 * is what every SIMD level computes too (vec.h). */
static void dot_q5_0(int64_t K, const void *w, const void *x, size_t x_stride, int ncols, float *out)
{
  float acc[DS_VEC_COLS] = {0};
  const uint8_t *wb = w;
  for (int64_t b = 0; b < K / DS_QA_BLOCK; b++, wb += 22) {
    const uint32_t qh = (uint32_t)wb[2] | (uint32_t)wb[3] << 8 | (uint32_t)wb[4] << 16 | (uint32_t)wb[5] << 24;
    int u[DS_QA_BLOCK];
    for (int j = 0; j < 16; j++) {
      u[j] = (wb[6 + j] & 0x0F) | (int)((qh >> j) & 1) << 4;
      u[j + 16] = (wb[6 + j] >> 4) | (int)((qh >> (j + 16)) & 1) << 4;
    }
    const float dw = ds_get_half(wb);
    for (int c = 0; c < ncols; c++) {
      const char *xr = (const char *)x + (size_t)c * x_stride;
      const int8_t *q = (const int8_t *)xr + b * DS_QA_BLOCK;
      int32_t isum = -16 * ds_qa_s(xr, K)[b];
      for (int j = 0; j < DS_QA_BLOCK; j++) isum += u[j] * q[j];
      acc[c] = ds_fmaf((float)isum, dw * ds_qa_d(xr, K)[b], acc[c]);   /* fused on every C runtime */
    }
  }
  for (int c = 0; c < ncols; c++) out[c] = acc[c];
}

/* Eight R8-interleaved Q4_0 rows (q4_0_r8.h) against QA rows: the twin of the
 * SIMD R8 kernels, one fmaf chain per row and column (vec.h). */
static void dot_q4_0_r8(int64_t K, const void *w, const void *x, size_t x_stride, int ncols, float *out)
{
  for (int c = 0; c < ncols; c++) {
    const void *xr = (const char *)x + (size_t)c * x_stride;
    const int8_t *xq = xr;
    const float *xd = ds_qa_d(xr, K);
    const int32_t *xs = ds_qa_s(xr, K);
    for (int r = 0; r < 8; r++) {
      const uint8_t *blk = w;
      float acc = 0.0f;
      for (int64_t b = 0; b < K / DS_QA_BLOCK; b++, blk += 144) {
        const int8_t *q = xq + b * DS_QA_BLOCK;
        int32_t isum = -8 * xs[b];
        for (int k = 0; k < 4; k++)
          for (int j = 0; j < 4; j++) {
            const uint8_t u = blk[16 + 32 * k + 4 * r + j];
            isum += (u & 0x0F) * q[4 * k + j] + (u >> 4) * q[16 + 4 * k + j];
          }
        acc = ds_fmaf((float)isum, ds_get_half(blk + 2 * r) * xd[b], acc);   /* fused on every C runtime */
      }
      out[c * 8 + r] = acc;
    }
  }
}

/* Eight R8-interleaved Q4_K rows (q4_k_r8.h) against QA rows: the twin of
 * the SIMD kernels, in the order q4_k_r8.h defines (fmaf chains per row and
 * column: per super-block A and Mn over its 8 blocks, then into acc). */
static void dot_q4_k_r8(int64_t K, const void *w, const void *x, size_t x_stride, int ncols, float *out)
{
  for (int c = 0; c < ncols; c++) {
    const void *xr = (const char *)x + (size_t)c * x_stride;
    const int8_t *xq = xr;
    const float *xd = ds_qa_d(xr, K);
    const int32_t *xs = ds_qa_s(xr, K);
    float acc[8] = {0};
    for (int64_t s = 0; s < K / DS_QK_K; s++) {
      const uint8_t *blk = (const uint8_t *)w + (size_t)s * DS_Q4_K_R8_BLOCK_BYTES;
      uint8_t sc[64], m[64];
      ds_q4_k_r8_scales(blk, sc, m);
      for (int r = 0; r < 8; r++) {
        float a = 0.0f, mn = 0.0f;
        for (int j = 0; j < 8; j++) {
          const int64_t b = s * 8 + j;
          const int8_t *q = xq + b * DS_QA_BLOCK;
          const uint8_t *qs = blk + 128 + 256 * (j / 2) + 4 * r;
          int32_t isum = 0;
          for (int k = 0; k < 8; k++)
            for (int i = 0; i < 4; i++) isum += ((qs[32 * k + i] >> (4 * (j % 2))) & 15) * q[4 * k + i];
          a = ds_fmaf((float)(sc[8 * j + r] * isum), xd[b], a);
          mn = ds_fmaf((float)m[8 * j + r], xd[b] * (float)xs[b], mn);
        }
        acc[r] = ds_fmaf(ds_get_half(blk + 2 * r), a, acc[r]);
        acc[r] = ds_fmaf(-ds_get_half(blk + 16 + 2 * r), mn, acc[r]);
      }
    }
    for (int r = 0; r < 8; r++) out[c * 8 + r] = acc[r];
  }
}

/* Eight R8-interleaved Q6_K rows (q6_k_r8.h) against QA rows: the twin of
 * the SIMD kernels, in the order q6_k_r8.h defines (one fmaf chain per row
 * and column, blocks in order). */
static void dot_q6_k_r8(int64_t K, const void *w, const void *x, size_t x_stride, int ncols, float *out)
{
  for (int c = 0; c < ncols; c++) {
    const void *xr = (const char *)x + (size_t)c * x_stride;
    const int8_t *xq = xr;
    const float *xd = ds_qa_d(xr, K);
    float acc[8] = {0};
    for (int64_t s = 0; s < K / DS_QK_K; s++) {
      const uint8_t *blk = (const uint8_t *)w + (size_t)s * DS_Q6_K_R8_BLOCK_BYTES;
      for (int j = 0; j < 8; j++) {
        int32_t isum[2][8] = {{0}};   /* [e][r] */
        const int8_t *q = xq + (s * 8 + j) * DS_QA_BLOCK;
        for (int k = 0; k < 8; k++) {
          int8_t v[32];
          ds_q6_k_r8_chunk(blk, j, k, v);
          for (int n = 0; n < 32; n++) isum[k / 4][n / 4] += v[n] * q[4 * k + n % 4];
        }
        for (int r = 0; r < 8; r++) {
          const int32_t t = (int8_t)blk[DS_Q6_K_R8_SC + 8 * (2 * j) + r] * isum[0][r] +
                            (int8_t)blk[DS_Q6_K_R8_SC + 8 * (2 * j + 1) + r] * isum[1][r];
          acc[r] = ds_fmaf((float)t, ds_get_half(blk + DS_Q6_K_R8_D + 2 * r) * xd[s * 8 + j], acc[r]);
        }
      }
    }
    for (int r = 0; r < 8; r++) out[c * 8 + r] = acc[r];
  }
}

/* ---- K-quants (quants_k.c layouts) against QA rows: per 32-value block j an
 * exact int sum, then f32. Q4_K/Q5_K: w = D_j q - M_j (D_j = d sc_j,
 * M_j = dmin m_j, q >= 0), so
 *   dot = sum_j dx_j (D_j isum_j) - sum_j dx_j M_j s_j     (s_j: QA block sum)
 * Q6_K: w = d sc_g (q - 32) with 16-value groups g, two per block:
 *   dot = sum_j (d dx_j) (sc_a isum_a + sc_b isum_b)        (ints exact) */

/* The 32 unsigned levels of block j (0..7) of a Q4_K/Q5_K super-block. */
static void k4_levels(const uint8_t *b, bool q5, int j, uint8_t *q)
{
  const uint8_t *qs = b + (q5 ? 48 : 16) + 32 * (j / 2), *qh = b + 16;
  for (int l = 0; l < 32; l++) {
    q[l] = (uint8_t)((qs[l] >> (4 * (j % 2))) & 0xF);
    if (q5 && (qh[l] >> j & 1)) q[l] += 16;
  }
}

static void dot_k4(int64_t K, const void *w, const void *x, size_t x_stride, int ncols, float *out, bool q5)
{
  const size_t bytes = q5 ? 176 : 144;
  for (int c = 0; c < ncols; c++) {
    const void *xr = (const char *)x + (size_t)c * x_stride;
    const int8_t *xq = xr;
    const float *xd = ds_qa_d(xr, K);
    const int32_t *xs = ds_qa_s(xr, K);
    float sum = 0.0f, msum = 0.0f;
    for (int64_t sb = 0; sb < K / DS_QK_K; sb++) {
      const uint8_t *b = (const uint8_t *)w + sb * bytes;
      const float d = ds_get_half(b), dmin = ds_get_half(b + 2);
      for (int j = 0; j < 8; j++) {
        uint8_t q[32], sc, m;
        const int64_t blk = sb * 8 + j;
        k4_levels(b, q5, j, q);
        ds_scale_min_k4(j, b + 4, &sc, &m);
        int32_t isum = 0;
        for (int l = 0; l < 32; l++) isum += q[l] * xq[blk * 32 + l];
        sum += (float)isum * (d * (float)sc * xd[blk]);
        msum += (float)xs[blk] * (dmin * (float)m * xd[blk]);
      }
    }
    out[c] = sum - msum;
  }
}
static void dot_q4_k(int64_t K, const void *w, const void *x, size_t xs, int nc, float *out) { dot_k4(K, w, x, xs, nc, out, false); }
static void dot_q5_k(int64_t K, const void *w, const void *x, size_t xs, int nc, float *out) { dot_k4(K, w, x, xs, nc, out, true); }

static void dot_q6_k(int64_t K, const void *w, const void *x, size_t x_stride, int ncols, float *out)
{
  for (int c = 0; c < ncols; c++) {
    const void *xr = (const char *)x + (size_t)c * x_stride;
    const int8_t *xq = xr;
    const float *xd = ds_qa_d(xr, K);
    float sum = 0.0f;
    for (int64_t sb = 0; sb < K / DS_QK_K; sb++) {
      const uint8_t *b = (const uint8_t *)w + sb * 210;
      const float d = ds_get_half(b + 208);
      const int8_t *sc = (const int8_t *)(b + 192);
      for (int h = 0; h < 2; h++)
        for (int r = 0; r < 4; r++) {
          const int64_t blk = sb * 8 + 4 * h + r;
          const uint8_t *ql = b + 64 * h + 32 * (r % 2), *qh = b + 128 + 32 * h;
          int32_t half[2] = {0, 0};
          for (int l = 0; l < 32; l++) {
            int v = ((ql[l] >> (4 * (r / 2))) & 0xF) | ((qh[l] >> (2 * r)) & 3) << 4;
            half[l / 16] += (v - 32) * xq[blk * 32 + l];
          }
          int32_t is = sc[8 * h + 2 * r] * half[0] + sc[8 * h + 2 * r + 1] * half[1];
          sum += (float)is * (d * xd[blk]);
        }
    }
    out[c] = sum;
  }
}

/* ---- IQ types (quants_iq.h): per 32-block the values v and multipliers m,
 * isum = m0 sum_{i<16} v q + m1 sum_{i>=16} v q (exact), then
 * sum += isum (f d_b) in block order. Each block is unpacked once for all
 * columns. */
static void dot_iq(const ds_iq_format *fm, int64_t K, const void *w, const void *x, size_t x_stride, int ncols,
                   float *out)
{
  float sum[DS_VEC_COLS] = {0};
  for (int64_t sb = 0; sb < K / fm->values; sb++) {
    const uint8_t *b = (const uint8_t *)w + sb * fm->bytes;
    for (int j = 0; j < fm->values / 32; j++) {
      int8_t v[32];
      int32_t m[2];
      const float f = fm->unpack(b, j, v, m);
      const int64_t blk = sb * (fm->values / 32) + j;
      for (int c = 0; c < ncols; c++) {
        const void *xr = (const char *)x + (size_t)c * x_stride;
        const int8_t *q = (const int8_t *)xr + blk * 32;
        int32_t lo = 0, hi = 0;
        for (int i = 0; i < 16; i++) lo += v[i] * q[i], hi += v[i + 16] * q[i + 16];
        sum[c] += (float)(m[0] * lo + m[1] * hi) * (f * ds_qa_d(xr, K)[blk]);
      }
    }
  }
  for (int c = 0; c < ncols; c++) out[c] = sum[c];
}

#define IQ_DOT(name, TYPE)                                                                   \
  static void name(int64_t K, const void *w, const void *x, size_t xs, int nc, float *out) \
  {                                                                                          \
    dot_iq(ds_iq_format_get(DSEEK_TYPE_##TYPE), K, w, x, xs, nc, out);                       \
  }
IQ_DOT(dot_iq2_xxs, IQ2_XXS)
IQ_DOT(dot_iq2_xs, IQ2_XS)
IQ_DOT(dot_iq2_s, IQ2_S)
IQ_DOT(dot_iq3_xxs, IQ3_XXS)
IQ_DOT(dot_iq3_s, IQ3_S)
IQ_DOT(dot_iq1_s, IQ1_S)
IQ_DOT(dot_iq1_m, IQ1_M)
IQ_DOT(dot_iq4_nl, IQ4_NL)
IQ_DOT(dot_iq4_xs, IQ4_XS)
#undef IQ_DOT

/* The f32-activation dots: the reference's sum in index order. */
static void dot_f32(int64_t K, const void *w, const void *x, size_t x_stride, int ncols, float *out)
{
  for (int c = 0; c < ncols; c++) {
    const float *xc = (const float *)((const char *)x + (size_t)c * x_stride), *wf = w;
    float sum = 0.0f;
    for (int64_t i = 0; i < K; i++) sum += wf[i] * xc[i];
    out[c] = sum;
  }
}

static void dot_f16(int64_t K, const void *w, const void *x, size_t x_stride, int ncols, float *out)
{
  for (int c = 0; c < ncols; c++) {
    const float *xc = (const float *)((const char *)x + (size_t)c * x_stride);
    const uint16_t *wh = w;
    float sum = 0.0f;
    for (int64_t i = 0; i < K; i++) sum += ds_f16_to_f32(wh[i]) * xc[i];
    out[c] = sum;
  }
}

static void dot_bf16(int64_t K, const void *w, const void *x, size_t x_stride, int ncols, float *out)
{
  for (int c = 0; c < ncols; c++) {
    const float *xc = (const float *)((const char *)x + (size_t)c * x_stride);
    const uint16_t *wh = w;
    float sum = 0.0f;
    for (int64_t i = 0; i < K; i++) sum += ds_bf16_to_f32(wh[i]) * xc[i];
    out[c] = sum;
  }
}

/* The GEMM tile (vec.h): isum = c_r + sum_j u_j w_j with u = q + 128, then
 * the blocks' isum * (d_r d_b) summed in block order, as dot_q8_0 above. */
static void gemm_r16(int64_t K, const void *wpack, const void *x, size_t x_stride, int ncols, float *out,
                     size_t out_stride)
{
  for (int c = 0; c < ncols; c++) {
    const void *xr = (const char *)x + (size_t)c * x_stride;
    const uint8_t *xu = xr;
    const float *xd = ds_qa_d(xr, K);
    for (int r = 0; r < DS_GEMM_ROWS; r++) {
      float sum = 0.0f;
      for (int64_t b = 0; b < K / DS_QA_BLOCK; b++) {
        const uint8_t *pb = (const uint8_t *)wpack + b * DS_GEMM_BLOCK_BYTES;
        const int8_t *q = (const int8_t *)pb;
        const float *d = (const float *)(pb + 8 * 16 * 4);
        int32_t isum = ((const int32_t *)(d + 16))[r];
        for (int j = 0; j < DS_QA_BLOCK; j++) isum += xu[b * DS_QA_BLOCK + j] * q[(j / 4 * 16 + r) * 4 + j % 4];
        sum += (float)isum * (d[r] * xd[b]);
      }
      out[c * out_stride + r] = sum;
    }
  }
}

static void axpy_f32(int64_t n, float a, const float *x, float *y)
{
  for (int64_t i = 0; i < n; i++) y[i] += a * x[i];
}

const ds_vec_kernels ds_vec_scalar = {
  .name = "scalar",
  .quantize_qa = quantize_qa,
  .dot_q8_0 = dot_q8_0,
  .dot_q4_0 = dot_q4_0,
  .dot_q5_0 = dot_q5_0,
  .dot_f32 = dot_f32,
  .dot_f16 = dot_f16,
  .dot_bf16 = dot_bf16,
  .dot_q4_k = dot_q4_k,
  .dot_q5_k = dot_q5_k,
  .dot_q6_k = dot_q6_k,
  .dot_iq = {dot_iq2_xxs, dot_iq2_xs, dot_iq2_s, dot_iq3_xxs, dot_iq3_s, dot_iq1_s, dot_iq1_m, dot_iq4_nl,
             dot_iq4_xs},
  .gemm_r16 = gemm_r16,
  .pack_r16 = ds_gemm_pack_r16,
  .axpy_f32 = axpy_f32,
  .dot_q4_0_r8 = dot_q4_0_r8,
  .dot_q4_k_r8 = dot_q4_k_r8,
  .dot_q6_k_r8 = dot_q6_k_r8,
};

const ds_vec_kernels *ds_vec_get(ds_cpu_level level)
{
#ifdef DS_VEC_X86
  if (level >= DS_CPU_AVX512) return &ds_vec_avx512;
  if (level >= DS_CPU_AVX2) return &ds_vec_avx2;
#endif
#ifdef DS_VEC_NEON
  if (level >= DS_CPU_NEON_DOTPROD) return &ds_vec_neon_dotprod;
  if (level >= DS_CPU_NEON) return &ds_vec_neon;
#endif
  (void)level;
  return &ds_vec_scalar;
}
