/*
 * q4_0_r8.h — Q4_0 weights with their rows interleaved eight at a time
 * ("R8"), repacked once at load for the matrices that only mul_mat reads, so
 * that decode and small batches get eight rows' dot products from each
 * activation load (vec.h: dot_q4_0_r8).
 *
 * Rows 8g .. 8g + 7 of a Q4_0 matrix with K values per row (K / 32 blocks)
 * become, for each block b, one 144-byte R8 block:
 *   d[8]          f16   the eight rows' scales of block b
 *   q[4][8][4]    u8    chunk c, row r: bytes 4c .. 4c + 3 of row r's block
 *                       (low nibbles: values 4c .. 4c + 3, high nibbles:
 *                       values 16 + 4c .. 16 + 4c + 3, each minus 8)
 * R8 block (g, b) lies at g * (K / 32) * 144 + b * 144: the bytes of the
 * eight Q4_0 rows it replaces, so a matrix repacks in place. Rows past the
 * last whole group (N % 8 of them) keep the Q4_0 layout where they were.
 * A tensor in this layout carries DS_TENSOR_Q4_0_R8 (graph.h).
 */
#ifndef DS_KERNELS_Q4_0_R8_H
#define DS_KERNELS_Q4_0_R8_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define DS_R8_ROWS 8
#define DS_R8_BLOCK_BYTES 144

/* Repack the first N - N % 8 rows of a Q4_0 matrix (rows of row_bytes =
 * K / 32 * 18 bytes, contiguous) in place; tmp holds 8 * row_bytes bytes. */
void ds_q4_0_r8_repack(void *w, int64_t K, int64_t N, void *tmp);

/* Row n of an R8 matrix with N rows back in the Q4_0 layout (row_bytes at dst). */
void ds_q4_0_r8_row(const void *w, int64_t K, int64_t N, int64_t n, void *dst);

/* Row n as floats (the reference decode of the original row). */
void ds_q4_0_r8_row_to_float(const void *w, int64_t K, int64_t N, int64_t n, float *dst);

/* Rows [n0, n0 + nrows) (n0 % 16 == 0, nrows <= 16) into the GEMM tile at
 * dst, the bytes ds_gemm_pack_r16 gives for the original rows; rowbuf holds
 * 16 Q4_0 rows (used for the matrix's last tile). */
void ds_q4_0_r8_pack_r16(const void *w, int64_t K, int64_t N, int64_t n0, int nrows, void *dst, void *rowbuf);

#endif
