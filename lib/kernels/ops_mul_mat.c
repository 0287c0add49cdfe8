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
 * Kernels (every other level, vec.h): for Q8_0, Q4_0, Q5_0 and (at levels with
 * their integer dots) Q4_K, Q5_K, Q6_K and the IQ weights each thread first quantizes
 * all activation columns once to QA rows in its scratch (the only change to
 * the result: activations rounded to int8 per 32-block, about 0.3% of a dot's
 * magnitude); F32/F16/BF16 weights use x directly; other types (other
 * K-quants, FP8) decode the row as the reference does and use the f32 dot.
 * Rows are walked in tiles of DS_MM_TILE_N, and within a tile DS_VEC_COLS
 * columns at a time (an R8 weight's groups: r8.cols, up to DS_R8_COLS), so
 * a tile of weight rows stays in cache while the activation columns of a
 * prompt batch pass over it.
 *
 * Every path is chosen through the type table (type_ops.h): the weight's
 * row at the level gives its decode, QA or f32 activations, dot, tile and R8
 * hooks. Q8_0/Q4_0 weights at a level with a GEMM tile (vec.h) instead repack each 16
 * rows once (the last tile padded with zero rows) and run the register-blocked
 * kernel over DS_GEMM_COLS columns at a time: for prompt batches the packing is
 * paid once per 16 rows and reused by every column. Batches below
 * the type's tile.min_cols (type_ops.h: 16) columns (decode, drafts, verify batches, up to 15
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
 * at a time (q4_0_r8.h, repacked at load): batches below tile.min_cols
 * take the R8 kernel, eight rows per call, the threads splitting the groups
 * (and the few Q4_0 tail rows, which take the plain dot); the tile path
 * first puts a tile's 16 rows back in the Q4_0 layout; the reference decodes
 * one row from the groups. So every path gives what it gives on the original
 * rows, except the R8 kernel's own summation order (vec.h), the same at
 * every level. A Q4_K weight flagged DS_TENSOR_Q4_K_R8 (q4_k_r8.h) takes the
 * same paths with its own R8 kernel (order in q4_k_r8.h), its tail rows
 * plain Q4_K, its tiles packed straight from the R8 blocks (the K-quant
 * packer's bytes); a Q6_K weight flagged DS_TENSOR_Q6_K_R8 (q6_k_r8.h)
 * likewise, its tiles packed from the R8 blocks into the Q6_K tile.
 *
 * With -DDSEEK_HAVE_OPENBLAS, large f32 x f32 products go to cblas_sgemm on
 * thread 0 (OpenBLAS threads itself); that path is not bit-identical to the
 * reference, only close to it (not taken at the reference level).
 */
#include "kernels/cpu.h"
#include "kernels/fp8.h"
#include "kernels/ops.h"
#include "kernels/q4_0_r8.h"
#include "kernels/type_ops.h"
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

/* Row n of weight batch (b2, b3) of an R8 weight as floats. */
static void r8_row_to_float(const ds_cpu_type_ops *o, const ds_tensor *w, int64_t n, int64_t b2, int64_t b3,
                            float *dst)
{
  o->r8.row_to_float(ds_tensor_ptr(w, 0, 0, b2, b3), w->ne[0], w->ne[1], n, dst);
}

/* Whether the weight is held in the type's R8 layout. */
static bool is_r8(const ds_cpu_type_ops *o, const ds_tensor *w) { return o->r8.flag && (w->flags & o->r8.flag); }

static void mul_mat_reference(const ds_kernel_params *p, ds_tensor *dst)
{
  const ds_tensor *w = dst->src[0], *x = dst->src[1], *scale = dst->src[2];
  const ds_cpu_type_ops *o = ds_cpu_type_ops_get(NULL, w->type);   /* its decoders */
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
    } else if (is_r8(o, w)) {
      r8_row_to_float(o, w, n, b2 / r2, b3 / r3, p->scratch);
      row = p->scratch;
    } else if (w->type != DSEEK_TYPE_F32) {
      o->to_float(wrow, p->scratch, K);
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

/* The weight's row at level vk (NULL: the scalar table). */
static const ds_cpu_type_ops *weight_ops(const ds_tensor *dst, const ds_vec_kernels *vk)
{
  return ds_cpu_type_ops_get(vk, dst->src[0]->type);
}

/* The weight's own dot, or NULL when rows are decoded to f32 first (an FP8
 * weight with its scale grid, src[2], always is). */
static ds_vec_dot_fn direct_dot(const ds_cpu_type_ops *o, const ds_tensor *dst)
{
  return dst->src[2] ? NULL : o->dot;
}

static bool uses_qa(const ds_tensor *dst, const ds_cpu_type_ops *o) { return !dst->src[2] && o->qa; }

/* The GEMM path's extra scratch after the QA rows: one packed tile (the
 * Q6_K tile's blocks are the larger), the kernel's output block and the
 * K-quant mins, in bytes. */
static size_t gemm_scratch_bytes(int64_t K)
{
  return (size_t)(K / DS_QA_BLOCK) * DS_GEMM_Q6_BLOCK_BYTES + 16 * DS_GEMM_ROWS * sizeof(float)   /* 16: AMX */
         + (size_t)(K / DS_QA_BLOCK) * DS_GEMM_ROWS * sizeof(float)                              /* K-quant mins */
         + (size_t)((K + 255) / 256) * 210 * DS_GEMM_ROWS;   /* R8: 16 rows back (Q6_K: 210 bytes per 256 values, the most) */
}

/* Q4_K/Q5_K tiles: d_b s_b of every QA row's blocks (ds_qa_ds) after the QA
 * rows, for the min term; a multiple of 64 bytes. */
static size_t ds_bytes(const ds_tensor *dst, const ds_cpu_type_ops *o, size_t cols)
{
  if (o->tile.kind != DS_TILE_K) return 0;
  return (cols * (size_t)(dst->src[0]->ne[0] / DS_QA_BLOCK) * sizeof(float) + 63) & ~(size_t)63;
}

size_t ds_kernel_mul_mat_scratch_floats(const ds_tensor *node)
{
  const ds_tensor *w = node->src[0], *x = node->src[1];
  /* one decoded weight row (reference, and the decode-then-dot kernels) */
  size_t need = (size_t)w->ne[0];
  const ds_cpu_type_ops *o = weight_ops(node, NULL);
  if (uses_qa(node, o)) {
    /* QA rows for every activation column of every batch; sizes were
     * checked when the graph was built (the activations exist in memory) */
    size_t cols = (size_t)(x->ne[1] * x->ne[2] * x->ne[3]);
    size_t qa = (cols * ds_qa_row_bytes(w->ne[0]) + ds_bytes(node, o, cols) + gemm_scratch_bytes(w->ne[0])) / sizeof(float);
    need = DS_MAX(need, qa);
  }
  return need;
}

/* The tile for prompt batches (type_ops.h: the type's tile and the columns
 * from which it pays). */
static bool uses_gemm(const ds_tensor *dst, const ds_cpu_type_ops *o)
{
  return uses_qa(dst, o) && ds_cpu_type_tile_pays(o, dst->src[1]->ne[1]);
}

void ds_kernel_mul_mat_describe(int type, const ds_vec_kernels *vk, char *buf, size_t size)
{
  const ds_cpu_type_ops *o = vk ? ds_cpu_type_ops_get(vk, type) : NULL;
  if (!o) snprintf(buf, size, "reference: rows decoded to f32, f32 dot in order");
  else if (o->qa)
    snprintf(buf, size, "%s: int8 dot on int8 activations%s%s", vk->name,
             o->r8.own_dot
               ? " (loaded whole: 8 interleaved rows per pass)"
               : "",
             o->tile.kind == DS_TILE_NONE   ? ""
             : o->tile.amx && ds_cpu_amx() ? ", 16-row tile (AMX) for 16+ columns"
                                           : ", 16-row tile for 16+ columns");
  else if (o->dot)
    snprintf(buf, size, "%s: %s dot on f32 activations", vk->name, dseek_type_name(type));
  else snprintf(buf, size, "%s: rows decoded to f32, f32 dot", vk->name);
}

/* Rows [n0, n1) of batch (b2, b3) against all M columns (QA u8 rows at xcols). */
static void mul_mat_gemm(ds_tensor *dst, const ds_cpu_type_ops *o, int64_t n0, int64_t n1, int64_t b2, int64_t b3,
                         const char *xcols, size_t xstride, const float *ds, void *pack)
{
  const ds_tensor *w = dst->src[0];
  const int64_t K = w->ne[0], M = dst->src[1]->ne[1];
  const int64_t r2 = dst->src[1]->ne[2] / w->ne[2], r3 = dst->src[1]->ne[3] / w->ne[3];
  float *tile_out = (float *)((char *)pack + (size_t)(K / DS_QA_BLOCK) * DS_GEMM_Q6_BLOCK_BYTES);
  float *mins = tile_out + 16 * DS_GEMM_ROWS;
  uint8_t *rows16 = (uint8_t *)(mins + (size_t)(K / DS_QA_BLOCK) * DS_GEMM_ROWS);   /* R8 rows back as plain rows */
  const bool r8 = is_r8(o, w);
  const size_t nb = (size_t)(K / DS_QA_BLOCK);
  const bool amx = o->tile.amx && ds_cpu_amx();   /* a level with AMX forms, on a CPU that grants them */
  const void *base = ds_tensor_ptr(w, 0, 0, b2 / r2, b3 / r3);
  for (int64_t nt = n0; nt < n1; nt += DS_GEMM_ROWS) {
    const int nr = (int)DS_MIN(DS_GEMM_ROWS, n1 - nt);
    if (r8) o->r8.tile_pack(o, base, w->nb[1], K, w->ne[1], nt, nr, pack, mins, rows16);
    else o->tile.pack(o, ds_tensor_ptr(w, 0, nt, b2 / r2, b3 / r3), w->nb[1], nr, K, pack, mins);
    /* a full tile writes the output columns in place (rows are contiguous) */
    const bool direct = nr == DS_GEMM_ROWS && dst->nb[0] == sizeof(float) && dst->nb[1] % sizeof(float) == 0;
    for (int64_t m = 0; m < M;) {
      const char *xc = xcols + (size_t)m * xstride;
      int nc = (int)DS_MIN(DS_GEMM_COLS, M - m);
      float *out = direct ? (float *)ds_tensor_ptr(dst, nt, m, b2, b3) : tile_out;
      const size_t os = direct ? dst->nb[1] / sizeof(float) : DS_GEMM_ROWS;
      if (amx && M - m >= 16) {   /* same bits as two 8-column VNNI calls */
        nc = 16;
        o->tile.amx(K, pack, xc, xstride, out, os);
      } else
        o->tile.kernel(K, pack, xc, xstride, nc, out, os);
      if (o->tile.min_term) o->tile.min_term(K, mins, ds + (size_t)m * nb, nb, nc, out, os);
      for (int c = 0; !direct && c < nc; c++)
        memcpy(ds_tensor_ptr(dst, nt, m + c, b2, b3), tile_out + c * DS_GEMM_ROWS, (size_t)nr * sizeof(float));
      m += nc;
    }
  }
}

/* An R8 weight below the tile's batch size (the QA rows are in the scratch):
 * units are the eight-row groups (pairs of them where the level has a
 * two-group dot, the last one of an odd count alone) and then the tail rows
 * (plain Q4_0, Q4_K or Q6_K), per batch; o->r8.cols columns per call. */
static void mul_mat_r8(const ds_kernel_params *p, ds_tensor *dst, const ds_cpu_type_ops *o)
{
  const ds_tensor *w = dst->src[0], *x = dst->src[1];
  const int64_t K = w->ne[0], N = w->ne[1], M = x->ne[1], B2 = x->ne[2], B3 = x->ne[3];
  const int64_t r2 = B2 / w->ne[2], r3 = B3 / w->ne[3];
  const int64_t groups = N / DS_R8_ROWS, tail = N % DS_R8_ROWS;
  const int64_t per_unit = o->r8.dot2 ? 2 : 1, units = (groups + per_unit - 1) / per_unit;
  const int64_t per_batch = units + tail;
  const size_t qa_bytes = ds_qa_row_bytes(K);
  const int cols = o->r8.cols;
  int64_t u0, u1;
  ds_kernel_rows(per_batch * B2 * B3, p->ith, p->nth, &u0, &u1);
  for (int64_t u = u0; u < u1; u++) {
    const int64_t b = u / per_batch, g = u % per_batch, b2 = b % B2, b3 = b / B2;
    const char *base = ds_tensor_ptr(w, 0, 0, b2 / r2, b3 / r3);
    const char *xcols = (const char *)p->scratch + (size_t)(b * M) * qa_bytes;
    for (int64_t m = 0; m < M; m += cols) {
      const int nc = (int)DS_MIN(cols, M - m);
      float out[DS_R8_COLS * 2 * DS_R8_ROWS];
      if (g < units) {
        const int64_t g0 = g * per_unit, ng = DS_MIN(per_unit, groups - g0), nr = ng * DS_R8_ROWS;
        (ng == 2 ? o->r8.dot2 : o->r8.dot)(K, base + (size_t)g0 * DS_R8_ROWS * w->nb[1], xcols + (size_t)m * qa_bytes,
                                            qa_bytes, nc, out);
        for (int c = 0; c < nc; c++)
          for (int r = 0; r < nr; r++) *(float *)ds_tensor_ptr(dst, g0 * DS_R8_ROWS + r, m + c, b2, b3) = out[c * nr + r];
      } else {
        const int64_t n = groups * DS_R8_ROWS + (g - units);
        for (int c0 = 0; c0 < nc; c0 += DS_VEC_COLS) {   /* the plain dot: DS_VEC_COLS per call */
          const int nc1 = DS_MIN(DS_VEC_COLS, nc - c0);
          o->dot(K, base + (size_t)n * w->nb[1], xcols + (size_t)(m + c0) * qa_bytes, qa_bytes, nc1, out);
          for (int c = 0; c < nc1; c++) *(float *)ds_tensor_ptr(dst, n, m + c0 + c, b2, b3) = out[c];
        }
      }
    }
  }
}

static void mul_mat_kernels(const ds_kernel_params *p, ds_tensor *dst, const ds_vec_kernels *vk)
{
  const ds_tensor *w = dst->src[0], *x = dst->src[1], *scale = dst->src[2];
  const int64_t K = w->ne[0], N = w->ne[1], M = x->ne[1], B2 = x->ne[2], B3 = x->ne[3];
  const int64_t r2 = B2 / w->ne[2], r3 = B3 / w->ne[3];
  const ds_cpu_type_ops *o = weight_ops(dst, vk);
  const ds_vec_dot_fn direct = direct_dot(o, dst);
  const bool qa = uses_qa(dst, o), gemm = uses_gemm(dst, o);
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
  void *pack = (char *)ds + (gemm ? ds_bytes(dst, o, (size_t)(B2 * B3 * M)) : 0);
  if (gemm && ds_bytes(dst, o, 1))
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
      mul_mat_gemm(dst, o, tn * DS_GEMM_ROWS, DS_MIN(N, tn1 * DS_GEMM_ROWS), b % B2, b / B2,
                   (const char *)p->scratch + (size_t)(b * M) * qa_bytes, qa_bytes,
                   ds + (size_t)(b * M) * (size_t)(K / DS_QA_BLOCK), pack);
    }
    return;
  }

  if (is_r8(o, w) && qa) {   /* (a level without the type's dot decodes the rows below) */
    mul_mat_r8(p, dst, o);
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
      for (int64_t n = n0; n < n1; n++) {
        const void *wrow = ds_tensor_ptr(w, 0, n, b2 / r2, b3 / r3);
        if (scale)
          ds_fp8_row_kernel(ds_cpu_level_get())(wrow, (const float *)scale->data + (n / DS_FP8_BLOCK) * scale->ne[0],
                                                K, p->scratch);
        else if (is_r8(o, w))   /* a level without the type's dot */
          r8_row_to_float(o, w, n, b2 / r2, b3 / r3, p->scratch);
        else
          o->to_float(wrow, p->scratch, K);
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
