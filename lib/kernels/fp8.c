/* fp8.c — block-scaled e4m3 weights (see fp8.h for the layout). */
#include "kernels/fp8.h"

#include <math.h>

#define E4M3_MAX 448.0f

bool ds_fp8_scale_shape(int64_t rows, int64_t cols, int64_t *scale_rows, int64_t *scale_cols)
{
  if (rows <= 0 || cols <= 0) return false;
  /* (x + 127) / 128 without overflow for x near INT64_MAX */
  *scale_rows = rows / DS_FP8_BLOCK + (rows % DS_FP8_BLOCK != 0);
  *scale_cols = cols / DS_FP8_BLOCK + (cols % DS_FP8_BLOCK != 0);
  return true;
}

void ds_fp8_dequant_row(const uint8_t *row, const float *scale_row, int64_t n, float *dst)
{
  for (int64_t j0 = 0; j0 < n; j0 += DS_FP8_BLOCK) {
    float s = scale_row[j0 / DS_FP8_BLOCK];
    int64_t end = n - j0 < DS_FP8_BLOCK ? n : j0 + DS_FP8_BLOCK;
    for (int64_t j = j0; j < end; j++) dst[j] = ds_e4m3_to_f32(row[j]) * s;
  }
}

void ds_fp8_dequant(const uint8_t *q, const float *scale_inv, int64_t rows, int64_t cols, float *dst)
{
  int64_t srows, scols;
  if (!ds_fp8_scale_shape(rows, cols, &srows, &scols)) return;
  for (int64_t i = 0; i < rows; i++)
    ds_fp8_dequant_row(q + i * cols, scale_inv + (i / DS_FP8_BLOCK) * scols, cols, dst + i * cols);
}

void ds_fp8_quantize(const float *w, int64_t rows, int64_t cols, uint8_t *q, float *scale_inv)
{
  int64_t srows, scols;
  if (!ds_fp8_scale_shape(rows, cols, &srows, &scols)) return;
  for (int64_t bi = 0; bi < srows; bi++) {
    int64_t i0 = bi * DS_FP8_BLOCK, i1 = DS_MIN(rows, i0 + DS_FP8_BLOCK);
    for (int64_t bj = 0; bj < scols; bj++) {
      int64_t j0 = bj * DS_FP8_BLOCK, j1 = DS_MIN(cols, j0 + DS_FP8_BLOCK);
      float amax = 0;
      for (int64_t i = i0; i < i1; i++)
        for (int64_t j = j0; j < j1; j++) amax = fmaxf(amax, fabsf(w[i * cols + j]));
      float s = amax / E4M3_MAX;
      if (s == 0) s = 1.0f;   /* all zero (or below the smallest float step) */
      scale_inv[bi * scols + bj] = s;
      for (int64_t i = i0; i < i1; i++)
        for (int64_t j = j0; j < j1; j++) q[i * cols + j] = ds_f32_to_e4m3(w[i * cols + j] / s);
    }
  }
}
