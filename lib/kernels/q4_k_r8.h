/*
 * q4_k_r8.h — Q4_K weights with their rows interleaved eight at a time
 * ("R8"), repacked once at load (like q4_0_r8.h) so that decode and small
 * batches get eight rows' dot products from each activation load, with the
 * 6-bit scales laid out so that the kernel unpacks eight rows' with a few
 * byte operations (vec.h: dot_q4_k_r8).
 *
 * Rows 8g .. 8g + 7 of a Q4_K matrix with K values per row (K / 256
 * super-blocks of 144 bytes: d, dmin, 12 packed scale bytes, qs[128]; see
 * quants_k.c) become, for each super-block s, one 1152-byte R8 super-block:
 *   d[8]        f16  offset   0  the eight rows' d
 *   dmin[8]     f16  offset  16  the eight rows' dmin
 *   sl[8][8]    u8   offset  32  sub-block j, row r: sc_jr & 15 | (m_jr & 15) << 4
 *   sh[4][8]    u8   offset  96  j < 4, row r: bits 0-1 sc_jr >> 4, 2-3 m_jr >> 4,
 *                                4-5 sc_(j+4)r >> 4, 6-7 m_(j+4)r >> 4
 *   qs[4][8][8][4] u8 offset 128 pair p, chunk k, row r: bytes 32p + 4k ..
 *                                32p + 4k + 3 of row r's qs (low nibbles:
 *                                values 4k .. of sub-block 2p, high nibbles:
 *                                values 4k .. of sub-block 2p + 1)
 * (sc_jr, m_jr the 6-bit scale and min of sub-block j of row r), the same
 * 8 x 144 bytes, so a matrix repacks in place and back without loss. R8
 * super-block (g, s) lies at g * 8 * row_bytes + s * 1152. Rows past the
 * last whole group (N % 8 of them) keep the Q4_K layout where they were.
 * A tensor in this layout carries DS_TENSOR_Q4_K_R8 (graph.h).
 *
 * The dot (every level, so all give the scalar twin's bits whichever
 * columns share a call): for row r, column c (a QA row: q, dx_b, s_b;
 * vec.h), super-block s, sub-block j, block b = 8s + j,
 *   t_b  = sc_jr * sum_l u_l q_l        exact int32 (|t_b| < 2^22, so (float)t_b is exact)
 *   A_s  = fma((float)t_b, dx_b, ...)   j = 0..7 in order, from 0
 *   Mn_s = fma((float)m_jr, dx_b * (float)s_b, ...)   likewise (the product rounded first)
 *   acc  = fma(-dmin_r, Mn_s, fma(d_r, A_s, acc))     s in order, from 0; out = acc
 */
#ifndef DS_KERNELS_Q4_K_R8_H
#define DS_KERNELS_Q4_K_R8_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define DS_Q4_K_R8_ROWS 8
#define DS_Q4_K_R8_BLOCK_BYTES 1152

/* Bytes of a Q4_K row of K values (K % 256 == 0). */
static inline size_t ds_q4_k_row_bytes(int64_t K) { return (size_t)(K / 256) * 144; }

/* Repack the first N - N % 8 rows of a Q4_K matrix (contiguous rows) in
 * place; tmp holds 8 rows. */
void ds_q4_k_r8_repack(void *w, int64_t K, int64_t N, void *tmp);

/* Row n of an R8 matrix with N rows back in the Q4_K layout (row_bytes at dst). */
void ds_q4_k_r8_row(const void *w, int64_t K, int64_t N, int64_t n, void *dst);

/* Row n as floats (the Q4_K decode of the original row). */
void ds_q4_k_r8_row_to_float(const void *w, int64_t K, int64_t N, int64_t n, float *dst);

/* The 6-bit scales and mins of super-block blk's eight rows: sc[8j + r], m[8j + r]. */
void ds_q4_k_r8_scales(const uint8_t *blk, uint8_t sc[64], uint8_t m[64]);

/* Rows [n0, n0 + nrows) (n0 % 16 == 0, nrows <= 16) into the K-quant GEMM
 * tile at dst and its mins (vec.h: ds_gemm_pack_k_r16), the bytes that
 * packer gives for the original rows; rowbuf holds 16 Q4_K rows (used for
 * the matrix's last tile). */
void ds_q4_k_r8_pack_r16(const void *w, int64_t K, int64_t N, int64_t n0, int nrows, void *dst, float *mins,
                         void *rowbuf);

#endif
