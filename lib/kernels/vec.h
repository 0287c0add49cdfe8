/*
 * vec.h — the dot-product kernels behind mul_mat, one table per CPU level
 * (cpu.h): vec_scalar.c (plain C, the twins), vec_avx2.c, vec_avx512.c.
 *
 * Quantized weights (Q8_0, Q4_0, Q5_0, the K and IQ types) are multiplied
 * with activations quantized once per op to "QA" rows, the int8 format the
 * integer SIMD instructions eat.
 * A QA row of K values (K % 32 == 0) is, in bytes:
 *   q[K]        int8, q_j = round_half_even(x_j / d_b), b = j / 32
 *   d[K/32]     f32,  d_b = max_j |x_j| / 127 over block b   (as Q8_0, scale in f32)
 *   s[K/32]     int32, s_b = sum of the block's q            (Q4_0's -8 offset)
 * padded to a multiple of 64 bytes. Every level quantizes to the same bytes.
 *
 * A dot of a weight block with a QA block is an exact integer sum
 *   Q8_0: isum_b = sum_j w_j q_j        Q4_0: isum_b = sum_j u_j q_j - 8 s_b  (u = nibble)
 * scaled by d_w d_b and summed over blocks in f32. Levels differ only in the
 * order of that f32 sum (lanes, then a horizontal add), so SIMD and scalar twin
 * agree to a few ulps of sum_b |d_w d_b isum_b|, not bit for bit.
 *
 * F32, F16 and BF16 weights are dotted with the f32 activations directly
 * (the conversions are exact); again only the summation order differs from
 * the reference.
 *
 * Every dot takes one weight row w (K values) and ncols <= DS_VEC_COLS
 * activation columns, column c at (char *)x + c * x_stride, and writes
 * out[c]: one weight load feeds several columns during prompt batches.
 * Column c's value does not depend on ncols or on the other columns (every
 * level keeps one accumulator per column and sums it in the same order), so
 * a batch gives each column the bits of a one-column call: mul_mat and
 * mul_mat_id (parallel chains, drafts) rely on it.
 */
#ifndef DS_KERNELS_VEC_H
#define DS_KERNELS_VEC_H

#include "dseek.h"
#include "kernels/cpu.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define DS_QA_BLOCK 32
#define DS_VEC_COLS 4
/* Columns per call of the Q4_0 R8 dots (dot_q4_0_r8, dot_q4_0_r8x2): one
 * weight unpack serves up to eight parallel chains' columns. */
#define DS_R8_COLS 8

/* Bytes of a QA row of K values (K % 32 == 0), a multiple of 64. */
static inline size_t ds_qa_row_bytes(int64_t K)
{
  size_t n = (size_t)K + (size_t)(K / DS_QA_BLOCK) * 8;
  return (n + 63) & ~(size_t)63;
}
static inline const float *ds_qa_d(const void *row, int64_t K) { return (const float *)((const char *)row + K); }
static inline const int32_t *ds_qa_s(const void *row, int64_t K)
{
  return (const int32_t *)((const char *)row + K + (K / DS_QA_BLOCK) * 4);
}

typedef void (*ds_vec_dot_fn)(int64_t K, const void *w, const void *x, size_t x_stride, int ncols,
                              float *out);

/*
 * R8 dot (q4_0_r8.h): one group of eight interleaved Q4_0 rows against ncols
 * <= DS_R8_COLS QA rows (the K-quant R8 dots: <= DS_VEC_COLS), out[c * 8 + r].
 * Per row r and column c the exact block sums isum_b = sum_j u_j q_j - 8 s_b
 * (u the nibbles) and then one FMA chain in block order,
 *   out = fma(isum_{nb-1}, d_r d_{nb-1}, ... fma(isum_0, d_r d_0, 0))
 * with d_r d_b rounded to f32 first: every level computes exactly this, so
 * all give the scalar twin's bits, whichever columns share a call. The SIMD
 * kernels hold the eight rows in eight lanes: each activation load and scale
 * serves eight rows (the plain dots redo them per row).
 */
typedef ds_vec_dot_fn ds_vec_dot_r8_fn;

/*
 * GEMM tile (ops_mul_mat.c: every Q8_0/Q4_0 product at levels that have one). A tile of
 * DS_GEMM_ROWS = 16 weight rows (Q8_0 or Q4_0) is repacked once
 * (ds_gemm_pack_r16, gemm_pack.c) and then reused by every column of the batch.
 * Per 32-value block b the packed tile holds DS_GEMM_BLOCK_BYTES:
 *   q[8][16][4]  int8: value 4g + j of row r at (g * 16 + r) * 4 + j, the
 *                signed weight (Q4_0: nibble - 8), so one 64-byte load holds
 *                4 values of all 16 rows
 *   d[16]        f32 row scales
 *   c[16]        int32 -128 * sum_j value_j (see below); rows past the end: 0
 * The activations are QA rows with q stored as u8 = q + 128 (q ^ 0x80), so the
 * u8 x s8 instructions apply (vpdpbusd: 4 products per int32 lane, lanes = the
 * 16 rows, the 4 activation bytes broadcast). For row r, column c, block b:
 *   isum = c_r + sum_j (q_j + 128) w_j = sum_j q_j w_j          (exact in int32)
 *   out[c][r] = sum_b isum * (d_r d_b)                           (f32, b in order)
 * the same terms as the dots above, so only the f32 rounding of the sum over
 * blocks (FMA or not) separates a SIMD kernel from the scalar twin. (AVX2 has
 * no vpdpbusd and its vpmaddubsw saturates on (q + 128) w pairs once |w| > 64:
 * its kernel takes that form only for blocks with |w| <= 32 and turns the
 * bytes back to q for the others, summing q_j w_j directly: vec_avx2.c.)
 */
#define DS_GEMM_ROWS 16
#define DS_GEMM_COLS 8          /* columns per kernel call */
#define DS_GEMM_BLOCK_BYTES (8 * 16 * 4 + 16 * 4 + 16 * 4)
/* out[c * out_stride + r] for c < ncols <= DS_GEMM_COLS, r < 16 (floats). */
typedef void (*ds_vec_gemm_fn)(int64_t K, const void *wpack, const void *x, size_t x_stride, int ncols,
                               float *out, size_t out_stride);
/* Packs rows w[0 .. nrows) (nrows <= 16, row i at (char *)w + i * row_bytes)
 * of a Q8_0 or Q4_0 weight with K values into dst (K / 32 blocks); returns
 * false for another type. */
bool ds_gemm_pack_r16(int type, const void *w, size_t row_bytes, int nrows, int64_t K, void *dst);
/* Q4_K / Q5_K rows (K % 256 == 0) into the same tile: row scale d sc_j per
 * 32-block, values the unsigned levels; mins[b * 16 + r] (K / 32 * 16 floats)
 * gets the block's dmin m_j, subtracted by ds_gemm_min_term after the kernel:
 *   out[c * os + r] -= sum_b mins[b * 16 + r] ds[c * ds_stride + b]
 * with ds[b] = d_b * (float)s_b of column c's QA row (ds_qa_ds, computed once
 * per product, not per tile). Returns false for another type. */
bool ds_gemm_pack_k_r16(int type, const void *w, size_t row_bytes, int nrows, int64_t K, void *dst, float *mins);
void ds_gemm_min_term(int64_t K, const float *mins, const float *ds, size_t ds_stride, int ncols, float *out,
                      size_t os);
/* ds[b] = d_b * (float)s_b for the K / 32 blocks of a QA row. */
void ds_qa_ds(const void *row, int64_t K, float *ds);
/*
 * Q6_K tile (gemm_pack.c): a Q6_K 32-block has two scales, one per 16 values,
 * so its packed block carries two per row, DS_GEMM_Q6_BLOCK_BYTES:
 *   q[8][16][4]  int8 u - 32 as above (groups 0-3: values 0..15, 4-7: 16..31)
 *   dlo[16], dhi[16]  f32 d sc[2j], d sc[2j + 1] (j = the block in its super-block)
 *   clo[16], chi[16]  int32 -128 * sum of values 0..15 / 16..31
 * and the kernel keeps the halves apart:
 *   out[c][r] = sum_b [ (clo_r + sum_{j<16} (q_j + 128) w_j) * (dlo_r d_b)
 *                     + (chi_r + sum_{j>=16} (q_j + 128) w_j) * (dhi_r d_b) ]
 * (f32, b in order, lo before hi: the VNNI and AMX kernels do exactly that).
 * ds_gemm_q6_k_r16 is the plain-C kernel (the scalar twin).
 */
#define DS_GEMM_Q6_BLOCK_BYTES (8 * 16 * 4 + 4 * 16 * 4)
bool ds_gemm_pack_q6_k_r16(const void *w, size_t row_bytes, int nrows, int64_t K, void *dst);
void ds_gemm_q6_k_r16(int64_t K, const void *wpack, const void *x, size_t x_stride, int ncols, float *out,
                      size_t out_stride);
/* A QA row's int8 q (K bytes) to the u8 q + 128 the GEMM reads, in place. */
void ds_qa_to_u8(void *row, int64_t K);

typedef struct ds_vec_kernels {
  const char *name;
  /* x[K] f32 -> one QA row at dst (64-byte aligned) */
  void (*quantize_qa)(const float *x, int64_t K, void *dst);
  ds_vec_dot_fn dot_q8_0;   /* w: Q8_0 row, x: QA rows */
  ds_vec_dot_fn dot_q4_0;   /* w: Q4_0 row, x: QA rows */
  /* w: Q5_0 row, x: QA rows. Per block the exact isum_b = sum_j u_j q_j - 16 s_b
   * (u = nibble | fifth bit << 4, 0..31), then per column one FMA chain in
   * block order, out = fma(isum_{nb-1}, d_w d_{nb-1}, ... fma(isum_0, d_w d_0, 0))
   * with d_w d_b rounded to f32 first: every level gives the scalar twin's bits. */
  ds_vec_dot_fn dot_q5_0;
  ds_vec_dot_fn dot_f32;    /* w: f32 row, x: f32 rows; any K */
  ds_vec_dot_fn dot_f16;    /* w: f16 row, x: f32 rows; any K */
  ds_vec_dot_fn dot_bf16;   /* w: bf16 row, x: f32 rows; any K */
  /* w: Q4_K / Q5_K / Q6_K row (K % 256 == 0), x: QA rows; NULL: rows are
   * decoded to f32 at this level */
  ds_vec_dot_fn dot_q4_k, dot_q5_k, dot_q6_k;
  ds_vec_gemm_fn gemm_r16;  /* packed tile x QA u8 rows (NULL: the level uses the dots) */
  /* ds_gemm_pack_r16 or a faster packer giving the same bytes */
  bool (*pack_r16)(int type, const void *w, size_t row_bytes, int nrows, int64_t K, void *dst);
  /* y[i] += a * x[i], i < n (attention's weighted sum of values) */
  void (*axpy_f32)(int64_t n, float a, const float *x, float *y);
  /* ds_gemm_min_term or a SIMD kernel for it (same terms, f32 rounding may
   * differ); NULL: ds_gemm_min_term */
  void (*gemm_min_term)(int64_t K, const float *mins, const float *ds, size_t ds_stride, int ncols, float *out,
                        size_t os);
  /* ds_gemm_pack_k_r16 / ds_gemm_pack_q6_k_r16 or faster packers giving the
   * same bytes, and the Q6_K tile kernel; NULL: the plain-C ones */
  bool (*pack_k_r16)(int type, const void *w, size_t row_bytes, int nrows, int64_t K, void *dst, float *mins);
  bool (*pack_q6_k_r16)(const void *w, size_t row_bytes, int nrows, int64_t K, void *dst);
  ds_vec_gemm_fn gemm_q6_k_r16;
  /* w: IQ rows (quants_iq.h; K a multiple of the type's block), x: QA rows,
   * in the order of ds_vec_iq_index; NULL: rows are decoded to f32 */
  ds_vec_dot_fn dot_iq[9];
  ds_vec_dot_r8_fn dot_q4_0_r8;   /* R8 Q4_0 groups x QA rows (NULL: the scalar twin) */
  /* two consecutive R8 Q4_0 groups (16 rows, the second (K / 32) * 144
   * bytes after the first) x ncols <= DS_R8_COLS QA rows, out[c * 16 + r]:
   * the bits of two dot_q4_0_r8 calls, each activation load serving 16 rows
   * (NULL: the level takes one group per call) */
  ds_vec_dot_r8_fn dot_q4_0_r8x2;
  /* 16 R8 rows (two whole groups, row_bytes apart per row) into the GEMM tile,
   * the bytes of ds_q4_0_r8_pack_r16 (NULL: that portable packer) */
  void (*pack_q4_0_r8_r16)(const void *w, size_t row_bytes, int64_t K, void *dst);
  /* R8 Q4_K groups x QA rows (q4_k_r8.h: its summation order, the same bits
   * at every level), out[c * 8 + r]; NULL: the scalar twin */
  ds_vec_dot_r8_fn dot_q4_k_r8;
  /* 16 R8 Q4_K rows (two whole groups) into the K-quant tile and mins, the
   * bytes of ds_q4_k_r8_pack_r16 (NULL: that portable packer) */
  void (*pack_q4_k_r8_r16)(const void *w, size_t row_bytes, int64_t K, void *dst, float *mins);
  /* R8 Q6_K groups x QA rows (q6_k_r8.h: its order, the same bits at every
   * level), out[c * 8 + r]; NULL: the scalar twin */
  ds_vec_dot_r8_fn dot_q6_k_r8;
  /* 16 R8 Q6_K rows (two whole groups) into the Q6_K tile, the bytes of
   * ds_q6_k_r8_pack_r16 (NULL: that portable packer) */
  void (*pack_q6_k_r8_r16)(const void *w, size_t row_bytes, int64_t K, void *dst);
  /* The level's AMX forms of gemm_r16 and gemm_q6_k_r16 for exactly 16
   * columns (vec_amx.c, the same bits), or NULL: a capability of the level,
   * usable only once ds_cpu_amx() says the CPU and OS grant the tiles */
  void (*amx_gemm_r16x16)(int64_t K, const void *wpack, const void *x, size_t x_stride, float *out,
                          size_t out_stride);
  void (*amx_gemm_q6_k_r16x16)(int64_t K, const void *wpack, const void *x, size_t x_stride, float *out,
                               size_t out_stride);
} ds_vec_kernels;

/* Index of an IQ type in ds_vec_kernels.dot_iq (IQ2_XXS, IQ2_XS, IQ2_S,
 * IQ3_XXS, IQ3_S, IQ1_S, IQ1_M, IQ4_NL, IQ4_XS), or -1 for another type. */
static inline int ds_vec_iq_index(int type)
{
  switch (type) {
  case DSEEK_TYPE_IQ2_XXS: return 0;
  case DSEEK_TYPE_IQ2_XS: return 1;
  case DSEEK_TYPE_IQ2_S: return 2;
  case DSEEK_TYPE_IQ3_XXS: return 3;
  case DSEEK_TYPE_IQ3_S: return 4;
  case DSEEK_TYPE_IQ1_S: return 5;
  case DSEEK_TYPE_IQ1_M: return 6;
  case DSEEK_TYPE_IQ4_NL: return 7;
  case DSEEK_TYPE_IQ4_XS: return 8;
  default: return -1;
  }
}

/* The table for a level (>= DS_CPU_SCALAR); a level this build lacks gives
 * the best one below it. Products choose their kernels per weight type
 * through the type table built from these (type_ops.h). */
const ds_vec_kernels *ds_vec_get(ds_cpu_level level);

extern const ds_vec_kernels ds_vec_scalar;
#if defined(__x86_64__) && defined(__GNUC__)
#define DS_VEC_X86 1
extern const ds_vec_kernels ds_vec_avx2;
extern const ds_vec_kernels ds_vec_avx512;
#if !defined(_WIN32)
/* AMX (vec_amx.c) is not built for Windows: GCC's tile-load intrinsics cast
 * the row stride to long, 32 bits there, which is no valid index register,
 * and the OS grant of the tile state is only requested on Linux. */
#define DS_VEC_AMX 1
/* The GEMM tile on AMX for exactly 16 columns, out[m * out_stride + r]: the
 * same bits as ds_vec_avx512.gemm_r16. Only after ds_cpu_amx(). */
void ds_amx_gemm_r16x16(int64_t K, const void *wpack, const void *x, size_t x_stride, float *out,
                        size_t out_stride);
/* The Q6_K tile on AMX, 16 columns: the same bits as ds_vec_avx512.gemm_q6_k_r16. */
void ds_amx_gemm_q6_k_r16x16(int64_t K, const void *wpack, const void *x, size_t x_stride, float *out,
                             size_t out_stride);
#endif
#endif
#if defined(__aarch64__) && defined(__ARM_NEON)
#define DS_VEC_NEON 1
extern const ds_vec_kernels ds_vec_neon;
extern const ds_vec_kernels ds_vec_neon_dotprod;
#endif

#endif
