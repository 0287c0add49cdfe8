/*
 * test_vec.c — the dot kernels of every CPU level this machine has against
 * their scalar twins and against independent double-precision sums, on odd
 * shapes; then mul_mat as a graph op at every level against the f32 reference.
 *
 * Bounds (all derived here, none taken from the code under test):
 * - QA quantization: bytes identical at every level; for each value
 *   |x - q d| <= d / 2 (+ rounding of x / d), d = amax / 127, s = sum q.
 * - Integer-activation dots: the exact value is D = sum_b d_w d_x isum_b,
 *   computed here in double from the weights' to_float and q * d. A kernel
 *   sums f32 products of terms of magnitude <= A = sum_b |d_w d_x| sum_j |w_j q_j|
 *   in some order, so |kernel - D| <= (n_terms + 2) 2^-24 A with n_terms the
 *   number of blocks plus lanes; we allow (K / 32 + 40) 2^-24 A. The SIMD
 *   kernel and the scalar twin must each meet it, and so must their
 *   difference with twice the allowance.
 * - F32/F16/BF16 weights with f32 activations: |kernel - exact| <= (K + 40)
 *   2^-24 sum |w x|.
 * - Quantized path vs the f32 reference: |y_q - y_ref| <= sum_k |w_k| d_b(k) / 2
 *   (+ the summation allowances), the activation rounding error alone.
 */
#include "graph/graph.h"
#include "graph/threadpool.h"
#include "harness.h"
#include "levels.h"
#include "kernels/cpu.h"
#include "kernels/types.h"
#include "kernels/type_ops.h"
#include "kernels/vec.h"
#include "vec_test.h"

#include <stdint.h>
#include <stdlib.h>

/* Activations with the features that break naive kernels: a zero block, an
 * outlier, values exactly at +-amax and rounding ties (x/d = k + 0.5). */
static void fill_activations(float *x, int64_t K)
{
  for (int64_t i = 0; i < K; i++) x[i] = 3.0f * frand();
  if (K >= 64)
    for (int j = 32; j < 64; j++) x[j] = 0.0f;
  x[K - 1] = 40.0f;
  if (K >= 96) {
    x[64] = -127.0f;                   /* amax of block 2: d = 1 exactly */
    for (int j = 65; j < 70; j++) x[j] = (float)(j - 65) - 1.5f;    /* ties: -1.5 .. 2.5 */
  }
}

static const ds_cpu_level simd_levels[] = {DS_CPU_AVX2, DS_CPU_AVX512};

/* ---- QA quantization -------------------------------------------------------- */

static void test_quantize_qa(void)
{
  const int64_t Ks[] = {32, 64, 4096 + 32};
  for (size_t k = 0; k < DS_ARRAY_LEN(Ks); k++) {
    const int64_t K = Ks[k];
    float *x = malloc((size_t)K * sizeof *x);
    size_t rb = ds_qa_row_bytes(K);
    size_t rb_alloc = (rb + 63) / 64 * 64; /* aligned_alloc: size a multiple of the alignment */
    void *ref = aligned_alloc(64, rb_alloc), *got = aligned_alloc(64, rb_alloc);
    fill_activations(x, K);
    memset(ref, 0, rb);
    ds_vec_scalar.quantize_qa(x, K, ref);
    const int8_t *q = ref;
    const float *d = ds_qa_d(ref, K);
    const int32_t *s = ds_qa_s(ref, K);
    int bad = 0;
    for (int64_t b = 0; b < K / 32; b++) {
      float amax = 0;
      int32_t sum = 0;
      for (int j = 0; j < 32; j++) amax = fmaxf(amax, fabsf(x[b * 32 + j]));
      if (d[b] != amax / 127.0f) bad++;
      for (int j = 0; j < 32; j++) {
        double err = fabs((double)x[b * 32 + j] - (double)q[b * 32 + j] * d[b]);
        if (err > 0.5 * d[b] * (1 + 1e-6)) bad++;
        sum += q[b * 32 + j];
      }
      if (sum != s[b]) bad++;
    }
    CHECK_MSG(bad == 0, "scalar QA K=%lld: %d bad values", (long long)K, bad);
    if (K >= 96) {   /* ties go to even (roundf would give -2 -1 1 2 3) */
      const int even[5] = {-2, 0, 0, 2, 2};
      for (int j = 0; j < 5; j++) CHECK_EQ_INT(q[65 + j], even[j]);
      CHECK_EQ_INT(q[64], -127);
    }
    for (size_t l = 0; l < DS_ARRAY_LEN(simd_levels); l++) {
      if (simd_levels[l] > ds_cpu_detected()) continue;
      const ds_vec_kernels *vk = ds_vec_get(simd_levels[l]);
      memset(got, 0, rb);
      vk->quantize_qa(x, K, got);
      CHECK_MSG(memcmp(ref, got, rb) == 0, "%s QA bytes differ from scalar at K=%lld", vk->name, (long long)K);
    }
    free(x);
    free(ref);
    free(got);
  }
}

/* ---- dots against the exact sums and against each other --------------------- */

typedef struct dot_case {
  int type;
  bool qa;
} dot_case;

static const dot_case dot_cases[] = {
  {DSEEK_TYPE_Q8_0, true}, {DSEEK_TYPE_Q4_0, true}, {DSEEK_TYPE_F32, false},
  {DSEEK_TYPE_F16, false}, {DSEEK_TYPE_BF16, false},
  {DSEEK_TYPE_Q4_K, true}, {DSEEK_TYPE_Q5_K, true}, {DSEEK_TYPE_Q6_K, true},
};

/* |terms| the kernels sum for weight i, which can exceed |w_i|: Q4_K/Q5_K
 * store w = D q - M with D q >= 0 and M = dmin m >= 0 per 32-group and the
 * kernels sum D q x and M x apart, so |D q| + M = w + 2M. The 6-bit min m_j of
 * group j, from the GGUF layout (12 scale bytes at offset 4): j < 4: bits 0-5
 * of byte j + 4; j >= 4: low 4 bits = high nibble of byte j + 4, top 2 bits =
 * bits 6-7 of byte j. Other types: |w|. */
static void kernel_terms(int type, const uint8_t *w, const float *wf, int64_t K, double *t)
{
  for (int64_t i = 0; i < K; i++) t[i] = fabs(wf[i]);
  if (type != DSEEK_TYPE_Q4_K && type != DSEEK_TYPE_Q5_K) return;
  const size_t bytes = type == DSEEK_TYPE_Q4_K ? 144 : 176;
  for (int64_t sb = 0; sb < K / 256; sb++) {
    const uint8_t *b = w + sb * bytes, *q = b + 4;
    uint16_t h = (uint16_t)(b[2] | b[3] << 8);
    float dmin = ds_f16_to_f32(h);
    for (int j = 0; j < 8; j++) {
      int m = j < 4 ? (q[j + 4] & 63) : ((q[j + 4] >> 4) | ((q[j] >> 6) << 4));
      for (int l = 0; l < 32; l++) t[sb * 256 + j * 32 + l] = wf[sb * 256 + j * 32 + l] + 2.0 * dmin * m;
    }
  }
}

/* One weight row of K values of `type` (random, with a -128 code for Q8_0),
 * dotted with 4 activation columns at every level. */
static void dot_one(const dot_case *dc, int64_t K)
{
  const ds_type_traits *tr = ds_type_traits_get(dc->type);
  uint64_t row_bytes;
  CHECK(ds_row_size(dc->type, K, &row_bytes));
  float *wf = malloc((size_t)K * sizeof *wf), *x = malloc((size_t)(4 * K) * sizeof *x);
  uint8_t *w = malloc((size_t)row_bytes + 64);
  for (int64_t i = 0; i < K; i++) wf[i] = frand();
  if (dc->type == DSEEK_TYPE_F32) memcpy(w, wf, (size_t)K * 4);
  else tr->from_float(wf, w, K);
  if (dc->type == DSEEK_TYPE_Q8_0) w[2 + 5] = 0x80;    /* -128: legal in a file, not from the quantizer */
  tr->to_float(w, wf, K);                              /* the weights as stored */
  for (int c = 0; c < 4; c++) fill_activations(x + c * K, K);
  if (!dc->qa)
    for (int c = 0; c < 4; c++) x[c * K] = frand();    /* K may be tiny and odd */
  double *terms = malloc((size_t)K * sizeof *terms);
  kernel_terms(dc->type, w, wf, K, terms);

  /* the activations as the kernels see them, and the exact sums */
  size_t xstride = dc->qa ? ds_qa_row_bytes(K) : (size_t)K * 4;
  char *xk = aligned_alloc(64, (4 * xstride + 63) / 64 * 64); /* size: a multiple of the alignment (C11) */
  double exact[4], mag[4];
  for (int c = 0; c < 4; c++) {
    exact[c] = mag[c] = 0;
    if (dc->qa) {
      void *r = xk + c * xstride;
      ds_vec_scalar.quantize_qa(x + c * K, K, r);
      const int8_t *q = r;
      const float *d = ds_qa_d(r, K);
      for (int64_t i = 0; i < K; i++) {
        exact[c] += (double)wf[i] * q[i] * d[i / 32];
        mag[c] += terms[i] * fabs((double)q[i] * d[i / 32]);
      }
    } else {
      memcpy(xk + c * xstride, x + c * K, (size_t)K * 4);
      for (int64_t i = 0; i < K; i++) {
        exact[c] += (double)wf[i] * x[c * K + i];
        mag[c] += fabs((double)wf[i] * x[c * K + i]);
      }
    }
  }
  const double allow = (double)(dc->qa ? K / 32 + 40 : K + 40) * 0x1p-24;

  free(terms);
  float twin[4];
  ds_cpu_type_ops_get(&ds_vec_scalar, dc->type)->dot(K, w, xk, xstride, 4, twin);
  for (int c = 0; c < 4; c++)
    CHECK_MSG(fabs(twin[c] - exact[c]) <= allow * mag[c], "scalar %s K=%lld col %d: %.9g vs exact %.9g",
              tr->name, (long long)K, c, twin[c], exact[c]);
  for (size_t l = 0; l < DS_ARRAY_LEN(simd_levels); l++) {
    if (simd_levels[l] > ds_cpu_detected()) continue;
    const ds_vec_kernels *vk = ds_vec_get(simd_levels[l]);
    if (!ds_cpu_type_ops_get(vk, dc->type)->dot) continue;   /* this level decodes to f32 */
    for (int nc = 1; nc <= 4; nc++) {
      float got[4];
      ds_cpu_type_ops_get(vk, dc->type)->dot(K, w, xk, xstride, nc, got);
      for (int c = 0; c < nc; c++) {
        CHECK_MSG(fabs(got[c] - exact[c]) <= allow * mag[c], "%s %s K=%lld ncols %d col %d: %.9g vs exact %.9g",
                  vk->name, tr->name, (long long)K, nc, c, got[c], exact[c]);
        CHECK_MSG(fabs(got[c] - twin[c]) <= 2 * allow * mag[c], "%s %s K=%lld: %.9g vs twin %.9g", vk->name,
                  tr->name, (long long)K, got[c], twin[c]);
      }
    }
  }
  free(wf);
  free(x);
  free(w);
  free(xk);
}

static void test_dots(void)
{
  const int64_t Ks[] = {32, 64, 96, 256, 512, 4096 + 32, 4096 + 256};
  const int64_t odd_Ks[] = {1, 7, 33, 100};   /* plain types take any K */
  for (size_t t = 0; t < DS_ARRAY_LEN(dot_cases); t++) {
    const int64_t bs = ds_type_traits_get(dot_cases[t].type)->block_size;
    for (size_t k = 0; k < DS_ARRAY_LEN(Ks); k++)
      if (Ks[k] % bs == 0) dot_one(&dot_cases[t], Ks[k]);
    if (!dot_cases[t].qa)
      for (size_t k = 0; k < DS_ARRAY_LEN(odd_Ks); k++) dot_one(&dot_cases[t], odd_Ks[k]);
  }
}

/* ---- the GEMM tile against exact sums ------------------------------------------- */

/* nrows (<= 16) random weight rows of `type` packed, ncols QA columns as u8;
 * every level's gemm_r16 (the scalar twin included) against the exact sums
 * computed here in double, within the allowance of the dots. */
static void gemm_one(int type, int64_t K, int nrows, int ncols)
{
  const ds_type_traits *tr = ds_type_traits_get(type);
  uint64_t rb;
  CHECK(ds_row_size(type, K, &rb));
  float *wf = malloc((size_t)(K * nrows) * 4), *x = malloc((size_t)(K * ncols) * 4);
  uint8_t *w = malloc((size_t)rb * (size_t)nrows);
  for (int64_t i = 0; i < K * nrows; i++) wf[i] = frand();
  for (int r = 0; r < nrows; r++) {
    tr->from_float(wf + r * K, w + r * rb, K);
    if (type == DSEEK_TYPE_Q8_0) w[r * rb + 2 + (size_t)r % 32] = 0x80;   /* -128 codes */
    tr->to_float(w + r * rb, wf + r * K, K);
  }
  const size_t xs = ds_qa_row_bytes(K);
  char *xq = aligned_alloc(64, (size_t)ncols * xs);
  double exact[DS_GEMM_COLS][DS_GEMM_ROWS], mag[DS_GEMM_COLS][DS_GEMM_ROWS];
  for (int c = 0; c < ncols; c++) {
    fill_activations(x + c * K, K);
    x[c * K] = frand();
    void *row = xq + c * xs;
    ds_vec_scalar.quantize_qa(x + c * K, K, row);
    const int8_t *q = row;
    const float *d = ds_qa_d(row, K);
    for (int r = 0; r < DS_GEMM_ROWS; r++) {
      exact[c][r] = mag[c][r] = 0;
      for (int64_t i = 0; r < nrows && i < K; i++) {
        double t = (double)wf[r * K + i] * q[i] * d[i / 32];
        exact[c][r] += t;
        mag[c][r] += fabs(t);
      }
    }
    ds_qa_to_u8(row, K);
  }
  /* Q4_K/Q5_K: the tile holds the levels, the min term comes after the kernel;
   * Q6_K: its own tile (two scales per block) and kernel */
  const bool kq = type == DSEEK_TYPE_Q4_K || type == DSEEK_TYPE_Q5_K, q6 = type == DSEEK_TYPE_Q6_K;
  void *pack = aligned_alloc(64, (size_t)(K / 32) * DS_GEMM_Q6_BLOCK_BYTES);
  float *mins = malloc((size_t)(K / 32) * DS_GEMM_ROWS * sizeof(float));
  float *xds = malloc((size_t)(K / 32 * ncols) * sizeof(float));   /* d_b s_b of each column */
  for (int c = 0; c < ncols; c++) ds_qa_ds(xq + c * xs, K, xds + c * (K / 32));
  if (q6)
    CHECK(ds_gemm_pack_q6_k_r16(w, (size_t)rb, nrows, K, pack));
  else if (kq)
    CHECK(ds_gemm_pack_k_r16(type, w, (size_t)rb, nrows, K, pack, mins));
  else
    CHECK(ds_gemm_pack_r16(type, w, (size_t)rb, nrows, K, pack));
  const double allow = (double)(K / 32 + 40) * 0x1p-24;
  const ds_cpu_level levels[] = {DS_CPU_SCALAR, DS_CPU_AVX2, DS_CPU_AVX512};
  for (size_t l = 0; l < DS_ARRAY_LEN(levels); l++) {
    const ds_vec_kernels *vk = ds_vec_get(levels[l]);
    if (levels[l] > ds_cpu_detected() || !vk->gemm_r16) continue;
    float out[DS_GEMM_COLS * DS_GEMM_ROWS];
    if (q6)
      (vk->gemm_q6_k_r16 ? vk->gemm_q6_k_r16 : ds_gemm_q6_k_r16)(K, pack, xq, xs, ncols, out, DS_GEMM_ROWS);
    else
      vk->gemm_r16(K, pack, xq, xs, ncols, out, DS_GEMM_ROWS);
    if (kq) (vk->gemm_min_term ? vk->gemm_min_term : ds_gemm_min_term)(K, mins, xds, (size_t)(K / 32), ncols, out,
                                                                       DS_GEMM_ROWS);
    int bad = 0;
    for (int c = 0; c < ncols; c++)
      for (int r = 0; r < DS_GEMM_ROWS; r++)
        if (!(fabs(out[c * DS_GEMM_ROWS + r] - exact[c][r]) <= allow * mag[c][r])) bad++;
    CHECK_MSG(bad == 0, "%s gemm %s K=%lld rows %d cols %d: %d outputs off the exact sums", vk->name, tr->name,
              (long long)K, nrows, ncols, bad);
  }
  for (size_t l = 0; l < DS_ARRAY_LEN(levels); l++) {
    const ds_vec_kernels *vk = ds_vec_get(levels[l]);
    if (levels[l] > ds_cpu_detected() || !vk->pack_r16 || kq || q6) continue;
    void *pack2 = aligned_alloc(64, (size_t)(K / 32) * DS_GEMM_BLOCK_BYTES);
    memset(pack2, 0x5A, (size_t)(K / 32) * DS_GEMM_BLOCK_BYTES);
    CHECK(vk->pack_r16(type, w, (size_t)rb, nrows, K, pack2));
    CHECK_MSG(memcmp(pack, pack2, (size_t)(K / 32) * DS_GEMM_BLOCK_BYTES) == 0, "%s pack %s rows %d K=%lld differs",
              vk->name, tr->name, nrows, (long long)K);
    free(pack2);
  }
  CHECK(!ds_gemm_pack_r16(DSEEK_TYPE_F16, w, (size_t)rb, nrows, K, pack));
  CHECK(!ds_gemm_pack_k_r16(DSEEK_TYPE_Q6_K, w, (size_t)rb, nrows, K, pack, mins));
  free(mins);
  free(xds);
  free(pack);
  free(xq);
  free(w);
  free(x);
  free(wf);
}

static void test_gemm_tile(void)
{
  const int types[] = {DSEEK_TYPE_Q8_0, DSEEK_TYPE_Q4_0};
  const int64_t Ks[] = {32, 96, 4096 + 32};
  const int shapes[][2] = {{16, 8}, {1, 1}, {5, 3}, {15, 7}, {16, 1}};
  for (size_t t = 0; t < DS_ARRAY_LEN(types); t++)
    for (size_t k = 0; k < DS_ARRAY_LEN(Ks); k++)
      for (size_t s = 0; s < DS_ARRAY_LEN(shapes); s++) gemm_one(types[t], Ks[k], shapes[s][0], shapes[s][1]);
  /* K-quant tiles: one and several super-blocks */
  const int ktypes[] = {DSEEK_TYPE_Q4_K, DSEEK_TYPE_Q5_K, DSEEK_TYPE_Q6_K};
  const int64_t kKs[] = {256, 1536 + 256};
  for (size_t t = 0; t < DS_ARRAY_LEN(ktypes); t++)
    for (size_t k = 0; k < DS_ARRAY_LEN(kKs); k++)
      for (size_t s = 0; s < DS_ARRAY_LEN(shapes); s++) gemm_one(ktypes[t], kKs[k], shapes[s][0], shapes[s][1]);
}

/* AMX (where the CPU has it): 16 columns give the same bits as the AVX-512
 * VNNI kernel in two calls of 8, on full and zero-padded tiles. */
static void test_gemm_amx(void)
{
#ifdef DS_VEC_AMX
  if (!ds_cpu_amx()) {
    fprintf(stderr, "  no AMX here: skipped\n");
    return;
  }
  const int types[] = {DSEEK_TYPE_Q8_0, DSEEK_TYPE_Q4_0};
  const int64_t Ks[] = {32, 64, 96, 4096 + 32};   /* odd and even block counts */
  const int rows[] = {16, 5};
  for (size_t t = 0; t < DS_ARRAY_LEN(types); t++)
    for (size_t k = 0; k < DS_ARRAY_LEN(Ks); k++)
      for (size_t r = 0; r < DS_ARRAY_LEN(rows); r++) {
        const int64_t K = Ks[k];
        const ds_type_traits *tr = ds_type_traits_get(types[t]);
        uint64_t rb;
        CHECK(ds_row_size(types[t], K, &rb));
        float *wf = malloc((size_t)(K * 16) * 4), *x = malloc((size_t)(K * 16) * 4);
        uint8_t *w = malloc((size_t)rb * 16);
        for (int64_t i = 0; i < K * 16; i++) wf[i] = frand();
        for (int i = 0; i < rows[r]; i++) tr->from_float(wf + i * K, w + i * rb, K);
        const size_t xs = ds_qa_row_bytes(K);
        char *xq = aligned_alloc(64, 16 * xs);
        for (int c = 0; c < 16; c++) {
          fill_activations(x + c * K, K);
          ds_vec_scalar.quantize_qa(x + c * K, K, xq + c * xs);
          ds_qa_to_u8(xq + c * xs, K);
        }
        void *pack = aligned_alloc(64, (size_t)(K / 32) * DS_GEMM_BLOCK_BYTES);
        CHECK(ds_gemm_pack_r16(types[t], w, (size_t)rb, rows[r], K, pack));
        float vnni[16 * 16], amx[16 * 16];
        ds_vec_avx512.gemm_r16(K, pack, xq, xs, 8, vnni, DS_GEMM_ROWS);
        ds_vec_avx512.gemm_r16(K, pack, xq + 8 * xs, xs, 8, vnni + 8 * DS_GEMM_ROWS, DS_GEMM_ROWS);
        ds_amx_gemm_r16x16(K, pack, xq, xs, amx, DS_GEMM_ROWS);
        CHECK_MSG(memcmp(vnni, amx, sizeof amx) == 0, "AMX %s K=%lld rows %d: bits differ from VNNI", tr->name,
                  (long long)K, rows[r]);
        free(pack);
        free(xq);
        free(w);
        free(x);
        free(wf);
      }
#endif
}

/* axpy: y + a x, each element one rounding (FMA) or two (the twin). */
static void test_axpy(void)
{
  const int64_t ns[] = {1, 7, 16, 33, 128, 131};
  for (size_t i = 0; i < DS_ARRAY_LEN(ns); i++) {
    const int64_t n = ns[i];
    float x[131], y0[131], y[131];
    for (int64_t j = 0; j < n; j++) {
      x[j] = frand();
      y0[j] = frand();
    }
    const float a = frand();
    for (int l = DS_CPU_SCALAR; l <= (int)ds_cpu_detected(); l++) {
      const ds_vec_kernels *vk = ds_vec_get((ds_cpu_level)l);
      memcpy(y, y0, (size_t)n * 4);
      vk->axpy_f32(n, a, x, y);
      int bad = 0;
      for (int64_t j = 0; j < n; j++) {
        double e = (double)y0[j] + (double)a * x[j];
        if (!(fabs(y[j] - e) <= 0x1p-23 * (fabs(y0[j]) + fabs((double)a * x[j])))) bad++;
      }
      CHECK_MSG(bad == 0, "%s axpy n=%lld: %d elements off", vk->name, (long long)n, bad);
    }
  }
}

/* ---- mul_mat through the graph at every level ---------------------------------- */

static void mul_mat_case(int type, int64_t K, int64_t N, int64_t M)
{
  const ds_type_traits *tr = ds_type_traits_get(type);
  uint64_t rb;
  CHECK(ds_row_size(type, K, &rb));
  float *wf = malloc((size_t)(K * N) * 4), *x = malloc((size_t)(K * M) * 4);
  char *w = malloc((size_t)(rb * (uint64_t)N));
  for (int64_t i = 0; i < K * N; i++) wf[i] = frand();
  for (int64_t n = 0; n < N; n++) {
    if (type == DSEEK_TYPE_F32) memcpy(w + n * rb, wf + n * K, (size_t)rb);
    else tr->from_float(wf + n * K, w + n * rb, K);
    tr->to_float(w + n * rb, wf + n * K, K);
  }
  for (int64_t m = 0; m < M; m++) fill_activations(x + m * K, K);
  double *terms = malloc((size_t)(K * N) * sizeof *terms);
  for (int64_t n = 0; n < N; n++) kernel_terms(type, (const uint8_t *)w + n * rb, wf + n * K, K, terms + n * K);
  const bool qa = type == DSEEK_TYPE_Q8_0 || type == DSEEK_TYPE_Q4_0 || type == DSEEK_TYPE_Q4_K ||
                  type == DSEEK_TYPE_Q5_K || type == DSEEK_TYPE_Q6_K;

  float *ref = run_mul_mat(type, w, x, K, N, M, DS_CPU_REFERENCE, 2);
  float *twin = run_mul_mat(type, w, x, K, N, M, DS_CPU_SCALAR, 1);
  if (!ref || !twin) goto done;
  /* per output: |y_q - y_ref| <= sum_k |w_k| d_b / 2 + summation allowances */
  int bad_ref = 0, bad_twin = 0;
  double worst_rel = 0;
  for (int64_t m = 0; m < M; m++) {
    for (int64_t n = 0; n < N; n++) {
      double qerr = 0, mag = 0;
      for (int64_t b = 0; b < K / 32; b++) {
        float amax = 0;
        for (int j = 0; j < 32; j++) amax = fmaxf(amax, fabsf(x[m * K + b * 32 + j]));
        for (int j = 0; j < 32; j++) {
          qerr += fabs(wf[n * K + b * 32 + j]) * (amax / 127.0) / 2;
          mag += fabs(wf[n * K + b * 32 + j] * x[m * K + b * 32 + j]);
        }
      }
      double bound = (qa ? qerr * 1.001 : 0) + (double)(K + 40) * 0x1p-24 * (mag + qerr) * 2;
      double d = fabs((double)ref[n + m * N] - twin[n + m * N]);
      if (!(d <= bound)) bad_ref++;
      if (qerr > 0) worst_rel = fmax(worst_rel, d / qerr);
    }
  }
  CHECK_MSG(bad_ref == 0, "%s K=%lld N=%lld M=%lld: %d outputs beyond the activation-rounding bound", tr->name,
            (long long)K, (long long)N, (long long)M, bad_ref);
  for (size_t l = 0; l < DS_ARRAY_LEN(simd_levels); l++) {
    if (simd_levels[l] > ds_cpu_detected()) continue;
    for (int nth = 1; nth <= 2; nth++) {
      float *got = run_mul_mat(type, w, x, K, N, M, simd_levels[l], nth);
      if (!got) continue;
      /* a level without this K-quant's integer dot decodes rows to f32 as the
       * reference does: compare with the reference then */
      const bool f32_rows = qa && type != DSEEK_TYPE_Q8_0 && type != DSEEK_TYPE_Q4_0 &&
                            !ds_cpu_type_ops_get(ds_vec_get(simd_levels[l]), type)->dot;
      const float *want = f32_rows ? ref : twin;
      for (int64_t i = 0; i < N * M; i++) {
        double mag = 0;
        int64_t n = i % N, m = i / N;
        for (int64_t k = 0; k < K; k++) mag += terms[n * K + k] * fabs(x[m * K + k]);
        if (!(fabs((double)got[i] - want[i]) <= 2 * (double)(K + 40) * 0x1p-24 * mag * 1.01)) bad_twin++;
      }
      free(got);
    }
  }
  CHECK_MSG(bad_twin == 0, "%s K=%lld N=%lld M=%lld: %d SIMD outputs off their twin", tr->name, (long long)K,
            (long long)N, (long long)M, bad_twin);
  if (qa && K == 4096 + 32 && N == 33 && M == 17)
    fprintf(stderr, "  %s: worst |quantized - reference| = %.2f of the rounding bound\n", tr->name, worst_rel);
done:
  ds_cpu_level_set(DS_CPU_AVX512);
  free(terms);
  free(ref);
  free(twin);
  free(wf);
  free(x);
  free(w);
}

static void test_mul_mat_levels(void)
{
  const int types[] = {DSEEK_TYPE_Q8_0, DSEEK_TYPE_Q4_0, DSEEK_TYPE_F32, DSEEK_TYPE_F16, DSEEK_TYPE_BF16,
                       DSEEK_TYPE_Q4_K, DSEEK_TYPE_Q5_K, DSEEK_TYPE_Q6_K};
  const int64_t Ks[] = {32, 64, 512, 4096 + 32}, Ns[] = {1, 7, 33}, Ms[] = {1, 3, 17};
  for (size_t t = 0; t < DS_ARRAY_LEN(types); t++) {
    const ds_type_traits *tr = ds_type_traits_get(types[t]);
    if (!tr || (types[t] != DSEEK_TYPE_F32 && !tr->from_float)) continue;
    for (size_t k = 0; k < DS_ARRAY_LEN(Ks); k++) {
      if (Ks[k] % tr->block_size) continue;
      for (size_t n = 0; n < DS_ARRAY_LEN(Ns); n++)
        for (size_t m = 0; m < DS_ARRAY_LEN(Ms); m++) mul_mat_case(types[t], Ks[k], Ns[n], Ms[m]);
    }
  }
}

/* Batches: w [K, N, 2, 1] shared by x [K, M, 4, 3] (r2 = 2, r3 = 3), as GQA and
 * MLA's per-head matrices use it; each level against the reference within the
 * activation-rounding bound. */
static void test_mul_mat_batched(void)
{
  const int types[] = {DSEEK_TYPE_Q8_0, DSEEK_TYPE_Q4_0, DSEEK_TYPE_F16};
  const int64_t K = 64, N = 5, M = 9, WB = 2, XB2 = 4, XB3 = 3;   /* M > 8: two GEMM column groups */
  for (size_t t = 0; t < DS_ARRAY_LEN(types); t++) {
    const ds_type_traits *tr = ds_type_traits_get(types[t]);
    uint64_t rb;
    CHECK(ds_row_size(types[t], K, &rb));
    float *wf = malloc((size_t)(K * N * WB) * 4), *x = malloc((size_t)(K * M * XB2 * XB3) * 4);
    char *w = malloc((size_t)rb * (size_t)(N * WB));
    for (int64_t i = 0; i < K * N * WB; i++) wf[i] = frand();
    for (int64_t r = 0; r < N * WB; r++) {
      tr->from_float(wf + r * K, w + r * rb, K);
      tr->to_float(w + r * rb, wf + r * K, K);
    }
    for (int64_t r = 0; r < M * XB2 * XB3; r++) fill_activations(x + r * K, K);
    for (int l = DS_CPU_REFERENCE; l <= (int)ds_cpu_detected(); l++) {
      ds_cpu_level_set((ds_cpu_level)l);
      ds_graph *g = ds_graph_new();
      ds_tensor *wt = ds_tensor_external(g, types[t], 3, (int64_t[]){K, N, WB}, w, "w");
      ds_tensor *xt = ds_tensor_input(g, DSEEK_TYPE_F32, 4, (int64_t[]){K, M, XB2, XB3}, "x");
      ds_tensor *y = ds_op_mul_mat(g, wt, xt);
      ds_tensor_set_output(y);
      CHECK(y && ds_graph_plan(g, 2) == DSEEK_OK);
      if (!y || !xt->data) { ds_graph_free(g); continue; }
      memcpy(xt->data, x, (size_t)(K * M * XB2 * XB3) * 4);
      ds_threadpool *pool = ds_threadpool_create(2);
      CHECK(pool && ds_graph_compute(g, pool) == DSEEK_OK);
      ds_threadpool_free(pool);
      int bad = 0;
      for (int64_t b3 = 0; b3 < XB3; b3++)
        for (int64_t b2 = 0; b2 < XB2; b2++)
          for (int64_t m = 0; m < M; m++)
            for (int64_t n = 0; n < N; n++) {
              const float *wr = wf + ((b2 / 2) * N + n) * K, *xr = x + ((b3 * XB2 + b2) * M + m) * K;
              double exact = 0, qerr = 0, mag = 0;
              for (int64_t k = 0; k < K; k++) {
                float amax = 0;
                for (int j = 0; j < 32; j++) amax = fmaxf(amax, fabsf(xr[k / 32 * 32 + j]));
                exact += (double)wr[k] * xr[k];
                mag += fabs((double)wr[k] * xr[k]);
                qerr += fabs(wr[k]) * amax / 127.0 / 2;
              }
              bool rounded = l > DS_CPU_REFERENCE && types[t] != DSEEK_TYPE_F16;
              double bound = (rounded ? qerr * 1.001 : 0) + (double)(K + 40) * 0x1p-24 * (mag + qerr) * 2;
              float got = ((const float *)y->data)[((b3 * XB2 + b2) * M + m) * N + n];
              if (!(fabs(got - exact) <= bound)) bad++;
            }
      CHECK_MSG(bad == 0, "%s batched at level %s: %d outputs out of bound", tr->name,
                ds_cpu_level_name((ds_cpu_level)l), bad);
      ds_graph_free(g);
    }
    ds_cpu_level_set(DS_CPU_AVX512);
    free(wf);
    free(x);
    free(w);
  }
}

static void test_cpu_levels(void)
{
  ds_cpu_level best = ds_cpu_detected();
  fprintf(stderr, "  detected: %s\n", ds_cpu_level_name(best));
  CHECK(best >= DS_CPU_SCALAR);
  CHECK_EQ_INT(ds_cpu_level_set(DS_CPU_REFERENCE), DS_CPU_REFERENCE);
  CHECK_EQ_INT(ds_cpu_level_get(), DS_CPU_REFERENCE);
  CHECK_EQ_INT(ds_cpu_level_set(DS_CPU_AVX512), best);    /* capped to the CPU */
#if defined(__aarch64__)
  CHECK_STR(ds_cpu_level_name(DS_CPU_NEON), "neon");
#else
  CHECK_STR(ds_cpu_level_name(DS_CPU_AVX2), "avx2");
#endif
  CHECK_STR(ds_vec_get(DS_CPU_SCALAR)->name, "scalar");
  CHECK_STR(ds_vec_get(best)->name, ds_cpu_level_name(best));
  CHECK(ds_qa_row_bytes(32) == 64 && ds_qa_row_bytes(4128) % 64 == 0 && ds_qa_row_bytes(4128) >= 4128 + 129 * 8);
}

/* dseek_type_kernel names the level in effect and the kernel that level's
 * dispatch takes (cpu.h, ops_mul_mat.c, ops_moe_mm.c): at the reference every
 * row decoded to f32; above it Q8_0/Q4_0/Q5_0 on int8 activations (experts too),
 * K-quants where the level's table has their integer dot (experts decoded),
 * F16 its own dot, other types decoded. */
static void test_type_kernel(void)
{
  char buf[160];
  const ds_cpu_level best = ds_cpu_detected();
  for (int l = DS_CPU_REFERENCE; l <= (int)best; l++) {
    ds_cpu_level_set((ds_cpu_level)l);
    const char *name = ds_cpu_level_name((ds_cpu_level)l);
    const ds_vec_kernels *vk = ds_vec_get((ds_cpu_level)l);
    char want[160];
    const struct { int type, experts; const char *kind; } cases[] = {
      {DSEEK_TYPE_Q8_0, 0, "int8 dot on int8 activations"}, {DSEEK_TYPE_Q4_0, 1, "int8 dot on int8 activations"},
      {DSEEK_TYPE_Q5_0, 1, "int8 dot on int8 activations"},
      {DSEEK_TYPE_F16, 0, "F16 dot on f32 activations"},     {DSEEK_TYPE_Q2_K, 0, "rows decoded to f32, f32 dot"},
      {DSEEK_TYPE_Q4_K, 1, vk->dot_q4_k ? "int8 dot on int8 activations" : "rows decoded to f32, f32 dot"},
      {DSEEK_TYPE_Q6_K, 0, vk->dot_q6_k ? "int8 dot on int8 activations" : "rows decoded to f32, f32 dot"},
    };
    for (size_t i = 0; i < DS_ARRAY_LEN(cases); i++) {
      CHECK(dseek_type_kernel(cases[i].type, cases[i].experts, buf, sizeof buf) == DSEEK_OK);
      if (l == DS_CPU_REFERENCE) snprintf(want, sizeof want, "reference: rows decoded to f32, f32 dot in order");
      else snprintf(want, sizeof want, "%s: %s", name, cases[i].kind);
      CHECK_MSG(!strncmp(buf, want, strlen(want)), "level %s, %s%s: '%s', expected '%s...'", name,
                dseek_type_name(cases[i].type), cases[i].experts ? " experts" : "", buf, want);
    }
    /* dense Q4_0, Q4_K and Q6_K name the R8 layout where the level has its
     * kernel, Q4_0 and Q4_K experts where the loader repacks them (a SIMD R8
     * kernel, model_prepare.c); Q6_K experts keep their rows */
    for (int experts = 0; experts < 2; experts++) {
      const int types[3] = {DSEEK_TYPE_Q4_0, DSEEK_TYPE_Q4_K, DSEEK_TYPE_Q6_K};
      for (int t = 0; t < 3; t++) {
        const ds_cpu_type_ops *o = l == DS_CPU_REFERENCE ? NULL : ds_cpu_type_ops_get(vk, types[t]);
        const bool r8 = o && (experts ? o->r8.simd && types[t] != DSEEK_TYPE_Q6_K : o->r8.own_dot != NULL);
        CHECK(dseek_type_kernel(types[t], experts, buf, sizeof buf) == DSEEK_OK);
        CHECK_MSG((strstr(buf, "8 interleaved rows") != NULL) == r8, "level %s, %s%s: '%s'", name,
                  dseek_type_name(types[t]), experts ? " experts" : "", buf);
      }
    }
  }
  ds_cpu_level_set(best);
  /* a type dseek cannot compute with (Q4_2, long removed from ggml), bad arguments */
  CHECK(dseek_type_kernel(4, 0, buf, sizeof buf) == DSEEK_ERR_UNSUPPORTED);
  CHECK_STR(buf, "not supported");
  CHECK(dseek_type_kernel(DSEEK_TYPE_F32, 0, NULL, 8) == DSEEK_ERR_INVALID_ARG);
  CHECK(dseek_type_kernel(DSEEK_TYPE_F32, 0, buf, 0) == DSEEK_ERR_INVALID_ARG);
  CHECK(dseek_type_kernel(DSEEK_TYPE_F32, 0, buf, 6) == DSEEK_OK && strlen(buf) == 5);   /* truncated */
}

int main(void)
{
  ds_test_levels();
  RUN(test_cpu_levels);
  RUN(test_type_kernel);
  RUN(test_quantize_qa);
  RUN(test_dots);
  RUN(test_gemm_tile);
  RUN(test_gemm_amx);
  RUN(test_axpy);
  RUN(test_mul_mat_levels);
  RUN(test_mul_mat_batched);
  return DS_TEST_RESULT();
}
