/*
 * ops_mul_mat.c — matrix product with a weight of any supported type.
 *
 *   out[n, m, b2, b3] = sum_k w[k, n, b2 / r2, b3 / r3] * x[k, m, b2, b3]
 *   r2 = B2 / B2w, r3 = B3 / B3w   (a weight batch shared by r2 x r3 batches,
 *                                   as GQA shares a kv head between heads)
 *
 * Work split (both paths): the (n, b2, b3) output rows are cut into nth
 * contiguous ranges, one per thread; on decode (M = 1) that splits N, the
 * weight's rows, so every thread streams its own slice of the weight. Each
 * output element belongs to one unit, so the split does not change bits.
 *
 * Reference (DS_CPU_REFERENCE, cpu.h): each thread decodes weight row n once
 * into its scratch with the type's to_float, then dots it with every
 * activation column m, summing over k in order in f32. A block-scaled FP8
 * weight (src[2] = its scale grid, fp8.h) decodes row n with the scales of its
 * 128-row block.
 *
 * Kernels (every other level, vec.h): for Q8_0, Q4_0 and (at levels with
 * their integer dots) Q4_K, Q5_K, Q6_K and the IQ weights each thread first quantizes
 * all activation columns once to QA rows in its scratch (the only change to
 * the result: activations rounded to int8 per 32-block, about 0.3% of a dot's
 * magnitude); F32/F16/BF16 weights use x directly; other types (other
 * K-quants, FP8) decode the row as the reference does and use the f32 dot.
 * Rows are walked in tiles of DS_MM_TILE_N, and within a tile DS_VEC_COLS
 * columns at a time, so a tile of weight rows stays in cache while the
 * activation columns of a prompt batch pass over it.
 *
 * Q8_0/Q4_0 weights at a level with a GEMM tile (vec.h) instead repack each 16
 * rows once (the last tile padded with zero rows) and run the register-blocked
 * kernel over DS_GEMM_COLS columns at a time: for prompt batches the packing is
 * paid once per 16 rows and reused by every column. Batches below
 * DS_GEMM_MIN_COLS (16) columns (decode, drafts, verify batches, up to 15
 * parallel samples) use the dots instead, which are faster there, so a
 * column's bits are the same in any batch of fewer than 16 columns and in any
 * batch of 16 or more, but may differ in the last bits between the two (a
 * prompt token vs the same token decoded alone). Every output row is computed
 * the same way in any tile, so the bits do not depend on the thread split. On CPUs with AMX the
 * AVX-512 level runs groups of 16 columns as tile multiplies (vec_amx.c),
 * bit-identical to the VNNI kernel. Q4_K/Q5_K weights take the same tile: rows repacked with their
 * 32-block scales d sc_j and unsigned levels, the dmin m_j term subtracted
 * afterwards (ds_gemm_pack_k_r16); Q6_K (two scales per 32-block) packs
 * into its own tile whose blocks carry a scale and a sum correction per
 * 16-value half (ds_gemm_pack_q6_k_r16, gemm_q6_k_r16, AMX too). The level's
 * SIMD packers (pack_k_r16, pack_q6_k_r16) give the plain-C packers' bytes.
 * The tile path splits the rows between threads in whole tiles.
 *
 * A Q4_0 weight flagged DS_TENSOR_Q4_0_R8 holds its rows interleaved eight
 * at a time (q4_0_r8.h, repacked at load): batches below DS_GEMM_MIN_COLS
 * take the R8 kernel, eight rows per call, the threads splitting the groups
 * (and the few Q4_0 tail rows, which take the plain dot); the tile path
 * first puts a tile's 16 rows back in the Q4_0 layout; the reference decodes
 * one row from the groups. So every path gives what it gives on the original
 * rows, except the R8 kernel's own summation order (vec.h), the same at
 * every level. A Q4_K weight flagged DS_TENSOR_Q4_K_R8 (q4_k_r8.h) takes the
 * same paths with its own R8 kernel (order in q4_k_r8.h), its tail rows
 * plain Q4_K, its tiles packed straight from the R8 blocks (the K-quant
 * packer's bytes).
 *
 * With -DDSEEK_HAVE_OPENBLAS, large f32 x f32 products go to cblas_sgemm on
 * thread 0 (OpenBLAS threads itself); that path is not bit-identical to the
 * reference, only close to it (not taken at the reference level).
 */
#include "kernels/cpu.h"
#include "kernels/fp8.h"
#include "kernels/ops.h"
#include "kernels/q4_0_r8.h"
#include "kernels/q4_k_r8.h"
#include "kernels/types.h"
#include "kernels/vec.h"

#include <stdio.h>
#include <string.h>

#ifdef DSEEK_HAVE_OPENBLAS
#include <cblas.h>

/* Activation columns from which sgemm beats the reference (prompt batches). */
#define DS_BLAS_MIN_COLUMNS 32

/* C[M, N] = X[M, K] W[N, K]^T per batch, row-major, one sgemm per batch. */
static bool mul_mat_blas(const ds_kernel_params *p, ds_tensor *dst)
{
  const ds_tensor *w = dst->src[0], *x = dst->src[1];
  if (w->type != DSEEK_TYPE_F32 || x->ne[1] < DS_BLAS_MIN_COLUMNS || w->nb[1] % 4 != 0 ||
      x->nb[1] % 4 != 0)
    return false;
  if (p->ith != 0) return true;
  int64_t r2 = x->ne[2] / w->ne[2], r3 = x->ne[3] / w->ne[3];
  for (int64_t b3 = 0; b3 < x->ne[3]; b3++) {
    for (int64_t b2 = 0; b2 < x->ne[2]; b2++) {
      cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)x->ne[1], (int)w->ne[1],
                  (int)w->ne[0], 1.0f, ds_tensor_ptr(x, 0, 0, b2, b3), (int)(x->nb[1] / 4),
                  ds_tensor_ptr(w, 0, 0, b2 / r2, b3 / r3), (int)(w->nb[1] / 4), 0.0f,
                  ds_tensor_ptr(dst, 0, 0, b2, b3), (int)(dst->nb[1] / 4));
    }
  }
  return true;
}
#endif

/* Row n of weight batch (b2, b3) of an R8 weight (either layout) as floats. */
static void r8_row_to_float(const ds_tensor *w, int64_t n, int64_t b2, int64_t b3, float *dst)
{
  const void *base = ds_tensor_ptr(w, 0, 0, b2, b3);
  if (w->flags & DS_TENSOR_Q4_K_R8) ds_q4_k_r8_row_to_float(base, w->ne[0], w->ne[1], n, dst);
  else ds_q4_0_r8_row_to_float(base, w->ne[0], w->ne[1], n, dst);
}

static void mul_mat_reference(const ds_kernel_params *p, ds_tensor *dst)
{
  const ds_tensor *w = dst->src[0], *x = dst->src[1], *scale = dst->src[2];
  const ds_type_traits *tr = ds_type_traits_get(w->type);
  const int64_t K = w->ne[0], N = w->ne[1], M = x->ne[1], B2 = x->ne[2];
  const int64_t scale_cols = scale ? scale->ne[0] : 0;
  const int64_t r2 = x->ne[2] / w->ne[2], r3 = x->ne[3] / w->ne[3];
  int64_t u0, u1;
  ds_kernel_rows(N * B2 * x->ne[3], p->ith, p->nth, &u0, &u1);
  for (int64_t u = u0; u < u1; u++) {
    int64_t n = u % N, b2 = (u / N) % B2, b3 = u / (N * B2);
    const void *wrow = ds_tensor_ptr(w, 0, n, b2 / r2, b3 / r3);
    const float *row = wrow;
    if (scale) {
      const float *srow = (const float *)scale->data + (n / DS_FP8_BLOCK) * scale_cols;
      ds_fp8_dequant_row(wrow, srow, K, p->scratch);
      row = p->scratch;
    } else if (w->flags & (DS_TENSOR_Q4_0_R8 | DS_TENSOR_Q4_K_R8)) {
      r8_row_to_float(w, n, b2 / r2, b3 / r3, p->scratch);
      row = p->scratch;
    } else if (w->type != DSEEK_TYPE_F32) {
      tr->to_float(wrow, p->scratch, K);
      row = p->scratch;
    }
    for (int64_t m = 0; m < M; m++) {
      const float *col = ds_tensor_ptr(x, 0, m, b2, b3);
      *(float *)ds_tensor_ptr(dst, n, m, b2, b3) = ds_dot_f32(row, col, K);
    }
  }
}

/* Weight rows per tile: 16 rows of K = 8960 at Q8_0 are 152 KB, within L2. */
#define DS_MM_TILE_N 16

static bool is_k_quant(int t) { return t == DSEEK_TYPE_Q4_K || t == DSEEK_TYPE_Q5_K || t == DSEEK_TYPE_Q6_K; }

/* The weight's own dot, or NULL when rows are decoded to f32 first. */
static ds_vec_dot_fn direct_dot(const ds_vec_kernels *vk, const ds_tensor *dst)
{
  return dst->src[2] ? NULL : ds_vec_dot_of(vk, dst->src[0]->type);
}

static bool uses_qa(const ds_tensor *dst, const ds_vec_kernels *vk)
{
  return !dst->src[2] && ds_vec_uses_qa(vk, dst->src[0]->type);
}

/* The GEMM path's extra scratch after the QA rows: one packed tile (the
 * Q6_K tile's blocks are the larger), the kernel's output block and the
 * K-quant mins, in bytes. */
static size_t gemm_scratch_bytes(int64_t K)
{
  return (size_t)(K / DS_QA_BLOCK) * DS_GEMM_Q6_BLOCK_BYTES + 16 * DS_GEMM_ROWS * sizeof(float)   /* 16: AMX */
         + (size_t)(K / DS_QA_BLOCK) * DS_GEMM_ROWS * sizeof(float)                              /* K-quant mins */
         + (size_t)(K / DS_QA_BLOCK) * 18 * DS_GEMM_ROWS;                                        /* R8: 16 Q4_0 / Q4_K rows */
}

/* Q4_K/Q5_K tiles: d_b s_b of every QA row's blocks (ds_qa_ds) after the QA
 * rows, for the min term; a multiple of 64 bytes. */
static size_t ds_bytes(const ds_tensor *dst, size_t cols)
{
  const int t = dst->src[0]->type;
  if (t != DSEEK_TYPE_Q4_K && t != DSEEK_TYPE_Q5_K) return 0;
  return (cols * (size_t)(dst->src[0]->ne[0] / DS_QA_BLOCK) * sizeof(float) + 63) & ~(size_t)63;
}

size_t ds_kernel_mul_mat_scratch_floats(const ds_tensor *node)
{
  const ds_tensor *w = node->src[0], *x = node->src[1];
  /* one decoded weight row (reference, and the decode-then-dot kernels) */
  size_t need = (size_t)w->ne[0];
  if (uses_qa(node, NULL)) {
    /* QA rows for every activation column of every batch; sizes were
     * checked when the graph was built (the activations exist in memory) */
    size_t cols = (size_t)(x->ne[1] * x->ne[2] * x->ne[3]);
    size_t qa = (cols * ds_qa_row_bytes(w->ne[0]) + ds_bytes(node, cols) + gemm_scratch_bytes(w->ne[0])) / sizeof(float);
    need = DS_MAX(need, qa);
  }
  return need;
}

/* Columns from which products take the GEMM tile: packing (a transpose of
 * 16 rows) is paid once per 16 rows, so it pays off over a batch; for fewer
 * columns the integer dots read the rows as they are and are faster
 * (CHANGELOG.md has the measurements). The same bound as the MoE tile
 * (ops_moe_mm.c), so decode, drafts, verify batches and up to 15 parallel
 * samples all take the dots and give each column the bits it has alone. */
#define DS_GEMM_MIN_COLS 16

static bool type_uses_gemm(int t, const ds_vec_kernels *vk)
{
  return ds_vec_uses_qa(vk, t) && vk->gemm_r16 && (is_k_quant(t) || t == DSEEK_TYPE_Q8_0 || t == DSEEK_TYPE_Q4_0);
}

static bool uses_gemm(const ds_tensor *dst, const ds_vec_kernels *vk)
{
  return uses_qa(dst, vk) && dst->src[1]->ne[1] >= DS_GEMM_MIN_COLS && type_uses_gemm(dst->src[0]->type, vk);
}

void ds_kernel_mul_mat_describe(int type, const ds_vec_kernels *vk, char *buf, size_t size)
{
  if (!vk) snprintf(buf, size, "reference: rows decoded to f32, f32 dot in order");
  else if (ds_vec_uses_qa(vk, type))
    snprintf(buf, size, "%s: int8 dot on int8 activations%s%s", vk->name,
             (type == DSEEK_TYPE_Q4_0 && vk->dot_q4_0_r8) || (type == DSEEK_TYPE_Q4_K && vk->dot_q4_k_r8)
               ? " (dense models in memory: 8 interleaved rows per pass)"
               : "",
             !type_uses_gemm(type, vk) ? ""
             : vk == ds_vec_get(DS_CPU_AVX512) && ds_cpu_amx() ? ", 16-row tile (AMX) for 16+ columns"
                                                              : ", 16-row tile for 16+ columns");
  else if (ds_vec_dot_of(vk, type))
    snprintf(buf, size, "%s: %s dot on f32 activations", vk->name, dseek_type_name(type));
  else snprintf(buf, size, "%s: rows decoded to f32, f32 dot", vk->name);
}

/* Rows [n0, n1) of batch (b2, b3) against all M columns (QA u8 rows at xcols). */
static void mul_mat_gemm(const ds_kernel_params *p, ds_tensor *dst, const ds_vec_kernels *vk, int64_t n0,
                         int64_t n1, int64_t b2, int64_t b3, const char *xcols, size_t xstride, const float *ds,
                         void *pack)
{
  const ds_tensor *w = dst->src[0];
  const int64_t K = w->ne[0], M = dst->src[1]->ne[1];
  const int64_t r2 = dst->src[1]->ne[2] / w->ne[2], r3 = dst->src[1]->ne[3] / w->ne[3];
  float *tile_out = (float *)((char *)pack + (size_t)(K / DS_QA_BLOCK) * DS_GEMM_Q6_BLOCK_BYTES);
  float *mins = tile_out + 16 * DS_GEMM_ROWS;
  uint8_t *rows16 = (uint8_t *)(mins + (size_t)(K / DS_QA_BLOCK) * DS_GEMM_ROWS);   /* R8 rows back as Q4_0 */
  const bool r8 = w->flags & DS_TENSOR_Q4_0_R8;
  const bool q6 = w->type == DSEEK_TYPE_Q6_K, k4 = is_k_quant(w->type) && !q6;
  const ds_vec_gemm_fn kernel = !q6 ? vk->gemm_r16 : vk->gemm_q6_k_r16 ? vk->gemm_q6_k_r16 : ds_gemm_q6_k_r16;
  void (*min_term)(int64_t, const float *, const float *, size_t, int, float *, size_t) =
    vk->gemm_min_term ? vk->gemm_min_term : ds_gemm_min_term;
  const size_t nb = (size_t)(K / DS_QA_BLOCK);
  (void)p;
#ifdef DS_VEC_AMX
  const bool amx = vk == &ds_vec_avx512 && ds_cpu_amx();   /* AVX-512 level on an AMX CPU */
#endif
  for (int64_t nt = n0; nt < n1; nt += DS_GEMM_ROWS) {
    const int nr = (int)DS_MIN(DS_GEMM_ROWS, n1 - nt);
    const void *wt = ds_tensor_ptr(w, 0, nt, b2 / r2, b3 / r3);
    if (q6)
      (vk->pack_q6_k_r16 ? vk->pack_q6_k_r16 : ds_gemm_pack_q6_k_r16)(wt, w->nb[1], nr, K, pack);
    else if (k4 && (w->flags & DS_TENSOR_Q4_K_R8) && vk->pack_q4_k_r8_r16 && nr == DS_GEMM_ROWS &&
             nt + DS_GEMM_ROWS <= w->ne[1] - w->ne[1] % DS_Q4_K_R8_ROWS)
      vk->pack_q4_k_r8_r16(wt, w->nb[1], K, pack, mins);
    else if (k4 && (w->flags & DS_TENSOR_Q4_K_R8))
      ds_q4_k_r8_pack_r16(ds_tensor_ptr(w, 0, 0, b2 / r2, b3 / r3), K, w->ne[1], nt, nr, pack, mins, rows16);
    else if (k4)
      (vk->pack_k_r16 ? vk->pack_k_r16 : ds_gemm_pack_k_r16)(w->type, wt, w->nb[1], nr, K, pack, mins);
    else if (r8 && vk->pack_q4_0_r8_r16 && nr == DS_GEMM_ROWS && nt + DS_GEMM_ROWS <= w->ne[1] - w->ne[1] % DS_R8_ROWS)
      vk->pack_q4_0_r8_r16(wt, w->nb[1], K, pack);
    else if (r8)
      ds_q4_0_r8_pack_r16(ds_tensor_ptr(w, 0, 0, b2 / r2, b3 / r3), K, w->ne[1], nt, nr, pack, rows16);
    else
      vk->pack_r16(w->type, wt, w->nb[1], nr, K, pack);
    /* a full tile writes the output columns in place (rows are contiguous) */
    const bool direct = nr == DS_GEMM_ROWS && dst->nb[0] == sizeof(float) && dst->nb[1] % sizeof(float) == 0;
    for (int64_t m = 0; m < M;) {
      const char *xc = xcols + (size_t)m * xstride;
      int nc = (int)DS_MIN(DS_GEMM_COLS, M - m);
      float *o = direct ? (float *)ds_tensor_ptr(dst, nt, m, b2, b3) : tile_out;
      const size_t os = direct ? dst->nb[1] / sizeof(float) : DS_GEMM_ROWS;
#ifdef DS_VEC_AMX
      if (amx && M - m >= 16) {   /* same bits as two 8-column VNNI calls */
        nc = 16;
        (q6 ? ds_amx_gemm_q6_k_r16x16 : ds_amx_gemm_r16x16)(K, pack, xc, xstride, o, os);
      } else
#endif
        kernel(K, pack, xc, xstride, nc, o, os);
      if (k4) min_term(K, mins, ds + (size_t)m * nb, nb, nc, o, os);
      for (int c = 0; !direct && c < nc; c++)
        memcpy(ds_tensor_ptr(dst, nt, m + c, b2, b3), tile_out + c * DS_GEMM_ROWS, (size_t)nr * sizeof(float));
      m += nc;
    }
  }
}

/* An R8 weight below the tile's batch size (the QA rows are in the scratch):
 * units are the eight-row groups and then the tail rows (plain Q4_0 or
 * Q4_K), per batch. */
static void mul_mat_r8(const ds_kernel_params *p, ds_tensor *dst, const ds_vec_kernels *vk)
{
  const ds_tensor *w = dst->src[0], *x = dst->src[1];
  const int64_t K = w->ne[0], N = w->ne[1], M = x->ne[1], B2 = x->ne[2], B3 = x->ne[3];
  const int64_t r2 = B2 / w->ne[2], r3 = B3 / w->ne[3];
  const int64_t groups = N / DS_R8_ROWS, tail = N % DS_R8_ROWS, per_batch = groups + tail;
  const size_t qa_bytes = ds_qa_row_bytes(K);
  const bool k = w->flags & DS_TENSOR_Q4_K_R8;
  const ds_vec_dot_r8_fn r8dot = k ? (vk->dot_q4_k_r8 ? vk->dot_q4_k_r8 : ds_vec_scalar.dot_q4_k_r8)
                                   : (vk->dot_q4_0_r8 ? vk->dot_q4_0_r8 : ds_vec_scalar.dot_q4_0_r8);
  const ds_vec_dot_fn tail_dot = k ? vk->dot_q4_k : vk->dot_q4_0;
  int64_t u0, u1;
  ds_kernel_rows(per_batch * B2 * B3, p->ith, p->nth, &u0, &u1);
  for (int64_t u = u0; u < u1; u++) {
    const int64_t b = u / per_batch, g = u % per_batch, b2 = b % B2, b3 = b / B2;
    const char *base = ds_tensor_ptr(w, 0, 0, b2 / r2, b3 / r3);
    const char *xcols = (const char *)p->scratch + (size_t)(b * M) * qa_bytes;
    for (int64_t m = 0; m < M; m += DS_VEC_COLS) {
      const int nc = (int)DS_MIN(DS_VEC_COLS, M - m);
      float out[DS_VEC_COLS * DS_R8_ROWS];
      if (g < groups) {
        r8dot(K, base + (size_t)g * DS_R8_ROWS * w->nb[1], xcols + (size_t)m * qa_bytes, qa_bytes, nc, out);
        for (int c = 0; c < nc; c++)
          for (int r = 0; r < DS_R8_ROWS; r++)
            *(float *)ds_tensor_ptr(dst, g * DS_R8_ROWS + r, m + c, b2, b3) = out[c * DS_R8_ROWS + r];
      } else {
        const int64_t n = groups * DS_R8_ROWS + (g - groups);
        tail_dot(K, base + (size_t)n * w->nb[1], xcols + (size_t)m * qa_bytes, qa_bytes, nc, out);
        for (int c = 0; c < nc; c++) *(float *)ds_tensor_ptr(dst, n, m + c, b2, b3) = out[c];
      }
    }
  }
}

static void mul_mat_kernels(const ds_kernel_params *p, ds_tensor *dst, const ds_vec_kernels *vk)
{
  const ds_tensor *w = dst->src[0], *x = dst->src[1], *scale = dst->src[2];
  const int64_t K = w->ne[0], N = w->ne[1], M = x->ne[1], B2 = x->ne[2], B3 = x->ne[3];
  const int64_t r2 = B2 / w->ne[2], r3 = B3 / w->ne[3];
  const ds_vec_dot_fn direct = direct_dot(vk, dst);
  const bool qa = uses_qa(dst, vk), gemm = uses_gemm(dst, vk);
  const size_t qa_bytes = ds_qa_row_bytes(K);

  if (qa) {
    for (int64_t b = 0; b < B2 * B3; b++)
      for (int64_t m = 0; m < M; m++) {
        void *row = (char *)p->scratch + (size_t)(b * M + m) * qa_bytes;
        vk->quantize_qa(ds_tensor_ptr(x, 0, m, b % B2, b / B2), K, row);
        if (gemm) ds_qa_to_u8(row, K);
      }
  }
  /* Q4_K/Q5_K tiles: each QA row's d_b s_b, then the tile scratch */
  float *ds = (float *)((char *)p->scratch + (size_t)(B2 * B3 * M) * qa_bytes);
  void *pack = (char *)ds + (gemm ? ds_bytes(dst, (size_t)(B2 * B3 * M)) : 0);
  if (gemm && ds_bytes(dst, 1))
    for (int64_t r = 0; r < B2 * B3 * M; r++)
      ds_qa_ds((const char *)p->scratch + (size_t)r * qa_bytes, K, ds + (size_t)r * (size_t)(K / DS_QA_BLOCK));

  if (gemm) {
    /* split in whole tiles of 16 rows: only a matrix's last tile can be
     * short (the SIMD packers take full tiles); rows are independent lanes,
     * so the split changes no bits */
    const int64_t tiles = (N + DS_GEMM_ROWS - 1) / DS_GEMM_ROWS;
    int64_t t0, t1;
    ds_kernel_rows(tiles * B2 * B3, p->ith, p->nth, &t0, &t1);
    while (t0 < t1) {
      const int64_t tn = t0 % tiles, b = t0 / tiles, tn1 = DS_MIN(tiles, tn + (t1 - t0));
      t0 += tn1 - tn;
      mul_mat_gemm(p, dst, vk, tn * DS_GEMM_ROWS, DS_MIN(N, tn1 * DS_GEMM_ROWS), b % B2, b / B2,
                   (const char *)p->scratch + (size_t)(b * M) * qa_bytes, qa_bytes,
                   ds + (size_t)(b * M) * (size_t)(K / DS_QA_BLOCK), pack);
    }
    return;
  }

  if ((w->flags & DS_TENSOR_Q4_0_R8) || ((w->flags & DS_TENSOR_Q4_K_R8) && qa)) {
    mul_mat_r8(p, dst, vk);
    return;
  }

  int64_t u0, u1;
  ds_kernel_rows(N * B2 * B3, p->ith, p->nth, &u0, &u1);
  while (u0 < u1) {
    /* the rows [n0, n1) of one batch (b2, b3) within this thread's range */
    const int64_t n0 = u0 % N, b = u0 / N, b2 = b % B2, b3 = b / B2;
    const int64_t n1 = DS_MIN(N, n0 + (u1 - u0));
    u0 += n1 - n0;
    const char *xcols = qa ? (const char *)p->scratch + (size_t)(b * M) * qa_bytes
                           : (const char *)ds_tensor_ptr(x, 0, 0, b2, b3);
    const size_t xstride = qa ? qa_bytes : x->nb[1];

    if (!direct) {
      /* decode each row once, then the f32 dot over all columns */
      const ds_type_traits *tr = ds_type_traits_get(w->type);
      for (int64_t n = n0; n < n1; n++) {
        const void *wrow = ds_tensor_ptr(w, 0, n, b2 / r2, b3 / r3);
        if (scale)
          ds_fp8_row_kernel(ds_cpu_level_get())(wrow, (const float *)scale->data + (n / DS_FP8_BLOCK) * scale->ne[0],
                                                K, p->scratch);
        else if (w->flags & DS_TENSOR_Q4_K_R8)   /* a level without a Q4_K dot */
          r8_row_to_float(w, n, b2 / r2, b3 / r3, p->scratch);
        else
          tr->to_float(wrow, p->scratch, K);
        for (int64_t m = 0; m < M; m += DS_VEC_COLS) {
          float out[DS_VEC_COLS];
          int nc = (int)DS_MIN(DS_VEC_COLS, M - m);
          vk->dot_f32(K, p->scratch, xcols + (size_t)m * xstride, xstride, nc, out);
          for (int c = 0; c < nc; c++) *(float *)ds_tensor_ptr(dst, n, m + c, b2, b3) = out[c];
        }
      }
      continue;
    }
    for (int64_t nt = n0; nt < n1; nt += DS_MM_TILE_N) {
      const int64_t nt1 = DS_MIN(n1, nt + DS_MM_TILE_N);
      for (int64_t m = 0; m < M; m += DS_VEC_COLS) {
        const int nc = (int)DS_MIN(DS_VEC_COLS, M - m);
        for (int64_t n = nt; n < nt1; n++) {
          float out[DS_VEC_COLS];
          direct(K, ds_tensor_ptr(w, 0, n, b2 / r2, b3 / r3), xcols + (size_t)m * xstride, xstride, nc, out);
          for (int c = 0; c < nc; c++) *(float *)ds_tensor_ptr(dst, n, m + c, b2, b3) = out[c];
        }
      }
    }
  }
}

void ds_kernel_mul_mat(const ds_kernel_params *p, ds_tensor *dst)
{
  ds_cpu_level level = ds_cpu_level_get();
  if (level == DS_CPU_REFERENCE) {
    mul_mat_reference(p, dst);
    return;
  }
#ifdef DSEEK_HAVE_OPENBLAS
  if (mul_mat_blas(p, dst)) return;
#endif
  mul_mat_kernels(p, dst, ds_vec_get(level));
}
