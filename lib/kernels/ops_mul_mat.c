/*
 * ops_mul_mat.c — matrix product with a weight of any supported type.
 *
 *   out[n, m, b2, b3] = sum_k w[k, n, b2 / r2, b3 / r3] * x[k, m, b2, b3]
 *   r2 = B2 / B2w, r3 = B3 / B3w   (a weight batch shared by r2 x r3 batches,
 *                                   as GQA shares a kv head between heads)
 *
 * Reference: each thread takes a contiguous range of (n, b2, b3) units,
 * decodes weight row n once into its scratch with the type's to_float, then
 * dots it with every activation column m, summing over k in order in f32.
 * Each output element belongs to one unit, so the split does not change bits.
 * A block-scaled FP8 weight (src[2] = its scale grid, fp8.h) decodes row n
 * with the scales of its 128-row block.
 *
 * With -DDSEEK_HAVE_OPENBLAS, large f32 x f32 products go to cblas_sgemm on
 * thread 0 (OpenBLAS threads itself); that path is not bit-identical to the
 * reference, only close to it.
 */
#include "kernels/fp8.h"
#include "kernels/ops.h"
#include "kernels/types.h"

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

void ds_kernel_mul_mat(const ds_kernel_params *p, ds_tensor *dst)
{
#ifdef DSEEK_HAVE_OPENBLAS
  if (mul_mat_blas(p, dst)) return;
#endif
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
