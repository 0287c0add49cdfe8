/*
 * fp8.h — DeepSeek's block-scaled FP8 weights (V3/R1 checkpoints as released).
 *
 * A weight W [rows = out, cols = in] is stored as e4m3fn bytes plus an f32
 * tensor weight_scale_inv [ceil(rows/128), ceil(cols/128)]:
 *     W[i][j] = e4m3(q[i][j]) * scale_inv[i / 128][j / 128]
 * (the name says "inverse" because the quantizer divided by it). Blocks on the
 * right and bottom edges are partial when rows or cols is not a multiple of 128.
 */
#ifndef DS_KERNELS_FP8_H
#define DS_KERNELS_FP8_H

#include "kernels/cpu.h"
#include "kernels/types.h"

#define DS_FP8_BLOCK 128

/* Shape of the scale grid for a [rows, cols] weight; false if a dimension is
 * not positive. */
bool ds_fp8_scale_shape(int64_t rows, int64_t cols, int64_t *scale_rows, int64_t *scale_cols);

/* One weight row of n values: dst[j] = e4m3(row[j]) * scale_row[j / 128], where
 * scale_row is the scale row of this row's 128-row block (ceil(n/128) floats). */
void ds_fp8_dequant_row(const uint8_t *row, const float *scale_row, int64_t n, float *dst);

/* ds_fp8_dequant_row for a CPU level (capped to the CPU): the same bits, with
 * AVX2 + F16C or AVX-512 at those levels (vec_fp8.c). */
typedef void (*ds_fp8_row_fn)(const uint8_t *row, const float *scale_row, int64_t n, float *dst);
ds_fp8_row_fn ds_fp8_row_kernel(ds_cpu_level level);

/* The whole [rows, cols] weight into dst (rows * cols floats). */
void ds_fp8_dequant(const uint8_t *q, const float *scale_inv, int64_t rows, int64_t cols, float *dst);

/* Quantizer for test models and conversion, as DeepSeek's: per 128x128 block,
 * scale = amax / 448 (1 for an all-zero block), q = e4m3(w / scale), so the
 * block's largest magnitude lands on 448. scale_inv receives the grid of
 * ds_fp8_scale_shape(). w must be finite. */
void ds_fp8_quantize(const float *w, int64_t rows, int64_t cols, uint8_t *q, float *scale_inv);

#endif
