/*
 * vec_scalar.c — the portable dot kernels (vec.h): the scalar twins of the
 * SIMD kernels, with the same activation quantization and the same exact
 * integer block sums, summed over blocks in index order. Also the table
 * lookup for every level.
 */
#include "kernels/quants.h"
#include "kernels/types.h"
#include "kernels/vec.h"

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
static void gemm_r16(int64_t K, const void *wpack, const void *x, size_t x_stride, int ncols, float *out)
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
      out[c * DS_GEMM_ROWS + r] = sum;
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
  .dot_f32 = dot_f32,
  .dot_f16 = dot_f16,
  .dot_bf16 = dot_bf16,
  .gemm_r16 = gemm_r16,
  .pack_r16 = ds_gemm_pack_r16,
  .axpy_f32 = axpy_f32,
};

const ds_vec_kernels *ds_vec_get(ds_cpu_level level)
{
#ifdef DS_VEC_X86
  if (level >= DS_CPU_AVX512) return &ds_vec_avx512;
  if (level >= DS_CPU_AVX2) return &ds_vec_avx2;
#endif
  (void)level;
  return &ds_vec_scalar;
}
