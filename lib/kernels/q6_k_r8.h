/*
 * q6_k_r8.h — Q6_K weights with their rows interleaved eight at a time
 * ("R8"), repacked once at load (like q4_k_r8.h) so that decode and small
 * batches get eight rows' dot products from each activation load, 4 values
 * of eight rows coming out of two 32-byte loads with a few byte operations
 * (vec.h: dot_q6_k_r8).
 *
 * A Q6_K super-block (210 bytes: ql[128], qh[64], int8 sc[16], f16 d; see
 * quants_k.c) holds w_i = d sc_(i/16) (u_i - 32), the level u_i of value
 * i = 128h + 32q + l (h < 2, q < 4, l < 32) being
 *   nibble q / 2 of ql[64h + 32(q % 2) + l] | bits 2q, 2q + 1 of qh[32h + l] << 4,
 * so block j = 4h + q (values 32j ..) pairs with block j + 2 in ql's nibbles
 * and all four blocks of a half share qh's bytes. Rows 8g .. 8g + 7 become,
 * for each super-block s, one 1680-byte R8 super-block:
 *   ql[4][8][8][4] u8 offset    0  pair P = 2h + p (p < 2), chunk k, row r:
 *                                   ql[64h + 32p + 4k .. + 3] of row r (low
 *                                   nibbles: values 4k .. of block 4h + p,
 *                                   high nibbles: those of block 4h + p + 2)
 *   qh[2][8][8][4] u8 offset 1024  half h, chunk k, row r: qh[32h + 4k .. + 3]
 *   sc[16][8]      i8 offset 1536  group g (16 values), row r
 *   d[8]          f16 offset 1664  the eight rows' d
 * the same 8 x 210 bytes, so a matrix repacks in place and back without
 * loss. R8 super-block (g, s) lies at g * 8 * row_bytes + s * 1680. Rows
 * past the last whole group (N % 8 of them) keep the Q6_K layout where they
 * were. A tensor in this layout carries DS_TENSOR_Q6_K_R8 (graph.h).
 *
 * The dot (every level, so all give the scalar twin's bits whichever columns
 * share a call): for row r, column c (a QA row: q, dx_b; vec.h), super-block
 * s, block j, b = 8s + j, with isum_(j,e) = sum over values 16e .. 16e + 15
 * of the block of (u - 32) q,
 *   t_b = sc_(2j)r isum_(j,0) + sc_(2j+1)r isum_(j,1)   exact int32 (|t_b| < 2^24, so (float)t_b is exact)
 *   acc = fma((float)t_b, d_r * dx_b, acc)             b in order, from 0; out = acc
 * with d_r * dx_b rounded to f32 first: the plain Q6_K dot's terms (vec.h),
 * in one FMA chain per row.
 */
#ifndef DS_KERNELS_Q6_K_R8_H
#define DS_KERNELS_Q6_K_R8_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define DS_Q6_K_R8_BLOCK_BYTES 1680
#define DS_Q6_K_R8_QH 1024
#define DS_Q6_K_R8_SC 1536
#define DS_Q6_K_R8_D 1664

/* Bytes of a Q6_K row of K values (K % 256 == 0). */
static inline size_t ds_q6_k_row_bytes(int64_t K) { return (size_t)(K / 256) * 210; }

/* The 8 x 4 signed values u - 32 of chunk k (values 4k .. 4k + 3) of block j
 * of the R8 super-block blk, row r's at v[4r ..] (the tile's group order). */
void ds_q6_k_r8_chunk(const uint8_t *blk, int j, int k, int8_t v[32]);

/* Repack the first N - N % 8 rows of a Q6_K matrix (contiguous rows) in
 * place; tmp holds 8 rows. */
void ds_q6_k_r8_repack(void *w, int64_t K, int64_t N, void *tmp);

/* Row n of an R8 matrix with N rows back in the Q6_K layout (row_bytes at dst). */
void ds_q6_k_r8_row(const void *w, int64_t K, int64_t N, int64_t n, void *dst);

/* Row n as floats (the Q6_K decode of the original row). */
void ds_q6_k_r8_row_to_float(const void *w, int64_t K, int64_t N, int64_t n, float *dst);

/* Rows [n0, n0 + nrows) (n0 % 16 == 0, nrows <= 16) into the Q6_K GEMM tile
 * at dst (vec.h: ds_gemm_pack_q6_k_r16), the bytes that packer gives for
 * the original rows; rowbuf holds 16 Q6_K rows (used for the matrix's last
 * tile). */
void ds_q6_k_r8_pack_r16(const void *w, int64_t K, int64_t N, int64_t n0, int nrows, void *dst, void *rowbuf);

#endif
