/*
 * test_gemm_kquant.c — the K-quant GEMM tile's fast parts against their plain
 * twins (test_vec.c checks every level's tile against exact sums):
 * - the SIMD packers (Q4_K/Q5_K with mins, Q6_K) give the plain-C packers'
 *   bytes exactly, on 1..16 rows, several K and a row stride with padding,
 *   with every bit of the scale, level and high-bit bytes exercised (random
 *   bytes; only the f16 d/dmin kept finite);
 * - the Q6_K tile on AMX gives the AVX-512 VNNI kernel's bits (two calls of 8);
 * - mul_mat's result for a column does not depend on the prompt batch it came
 *   in: each column of a 17-column product (AMX group + VNNI) has the bits of
 *   that column in 16-column products starting at columns 0 and 1 (the last
 *   column: VNNI in one, AMX in the other), for Q4_K, Q5_K and Q6_K. (Batches
 *   below 16 columns take the dots, ops_mul_mat.c.)
 */
#include "graph/graph.h"
#include "graph/threadpool.h"
#include "harness.h"
#include "levels.h"
#include "kernels/cpu.h"
#include "kernels/types.h"
#include "kernels/vec.h"
#include "vec_test.h"

#include <stdint.h>
#include <stdlib.h>

static const int ktypes[] = {DSEEK_TYPE_Q4_K, DSEEK_TYPE_Q5_K, DSEEK_TYPE_Q6_K};

/* nrows rows of `type` with K values at stride rb (>= the row size): quantized
 * from random floats, then every byte but the f16 scales randomized. */
static uint8_t *random_rows(int type, int64_t K, int nrows, size_t rb)
{
  const ds_type_traits *tr = ds_type_traits_get(type);
  uint8_t *w = calloc((size_t)nrows, rb);
  float *f = malloc((size_t)K * 4);
  const size_t sblock = type == DSEEK_TYPE_Q4_K ? 144 : type == DSEEK_TYPE_Q5_K ? 176 : 210;
  for (int r = 0; r < nrows; r++) {
    for (int64_t i = 0; i < K; i++) f[i] = frand() * (float)(1 + r);
    tr->from_float(f, w + (size_t)r * rb, K);
    for (int64_t s = 0; s < K / 256; s++) {
      uint8_t *sb = w + (size_t)r * rb + (size_t)s * sblock;
      /* f16 at 0, 2 (Q4_K/Q5_K) or 208 (Q6_K) kept */
      const size_t from = type == DSEEK_TYPE_Q6_K ? 0 : 4, to = type == DSEEK_TYPE_Q6_K ? 208 : sblock;
      for (size_t i = from; i < to; i++) sb[i] = (uint8_t)rng_u32();
    }
  }
  free(f);
  return w;
}

static void pack_one(const ds_vec_kernels *vk, int type, int64_t K, int nrows, size_t rb)
{
  uint8_t *w = random_rows(type, K, nrows, rb);
  const bool q6 = type == DSEEK_TYPE_Q6_K;
  const size_t bytes = (size_t)(K / 32) * (q6 ? DS_GEMM_Q6_BLOCK_BYTES : DS_GEMM_BLOCK_BYTES);
  const size_t mbytes = (size_t)(K / 32) * DS_GEMM_ROWS * sizeof(float);
  uint8_t *want = malloc(bytes), *got = malloc(bytes);
  float *mwant = malloc(mbytes), *mgot = malloc(mbytes);
  memset(got, 0x5A, bytes);   /* stale bytes the packer must overwrite */
  memset(mgot, 0x5A, mbytes);
  if (q6) {
    CHECK(ds_gemm_pack_q6_k_r16(w, rb, nrows, K, want));
    CHECK(vk->pack_q6_k_r16(w, rb, nrows, K, got));
  } else {
    CHECK(ds_gemm_pack_k_r16(type, w, rb, nrows, K, want, mwant));
    CHECK(vk->pack_k_r16(type, w, rb, nrows, K, got, mgot));
    CHECK_MSG(memcmp(mwant, mgot, mbytes) == 0, "%s pack %s mins rows %d K=%lld differ", vk->name,
              ds_type_traits_get(type)->name, nrows, (long long)K);
  }
  CHECK_MSG(memcmp(want, got, bytes) == 0, "%s pack %s rows %d K=%lld stride %zu differs", vk->name,
            ds_type_traits_get(type)->name, nrows, (long long)K, rb);
  free(mwant);
  free(mgot);
  free(want);
  free(got);
  free(w);
}

static void test_packers(void)
{
  const ds_cpu_level levels[] = {DS_CPU_SCALAR, DS_CPU_AVX2, DS_CPU_AVX512};
  const int64_t Ks[] = {256, 512, 2816};
  int tested = 0;
  for (size_t l = 0; l < DS_ARRAY_LEN(levels); l++) {
    const ds_vec_kernels *vk = ds_vec_get(levels[l]);
    if (levels[l] > ds_cpu_detected() || !vk->pack_k_r16 || !vk->pack_q6_k_r16) continue;
    tested++;
    for (size_t t = 0; t < DS_ARRAY_LEN(ktypes); t++) {
      uint64_t rb;
      for (size_t k = 0; k < DS_ARRAY_LEN(Ks); k++) {
        CHECK(ds_row_size(ktypes[t], Ks[k], &rb));
        for (int nrows = 1; nrows <= DS_GEMM_ROWS; nrows++) pack_one(vk, ktypes[t], Ks[k], nrows, (size_t)rb);
      }
      CHECK(ds_row_size(ktypes[t], 512, &rb));
      pack_one(vk, ktypes[t], 512, 16, (size_t)rb + 48);   /* rows with padding between */
    }
    /* another type: refused as the plain packers refuse it */
    uint8_t w[256] = {0};
    float mins[16];
    uint8_t dst[8 * DS_GEMM_BLOCK_BYTES];
    CHECK(!vk->pack_k_r16(DSEEK_TYPE_Q6_K, w, 256, 16, 256, dst, mins));
  }
  fprintf(stderr, "  %d level(s) with SIMD K-quant packers\n", tested);
}

/* The Q6_K tile: AMX over 16 columns == the AVX-512 kernel over 2 x 8. */
static void test_q6_amx(void)
{
#ifdef DS_VEC_AMX
  if (ds_cpu_detected() < DS_CPU_AVX512 || !ds_cpu_amx()) {
    fprintf(stderr, "  no AMX here: skipped\n");
    return;
  }
  const int64_t Ks[] = {256, 2816};
  const int rows[] = {16, 5};
  for (size_t k = 0; k < DS_ARRAY_LEN(Ks); k++)
    for (size_t r = 0; r < DS_ARRAY_LEN(rows); r++) {
      const int64_t K = Ks[k];
      uint64_t rb;
      CHECK(ds_row_size(DSEEK_TYPE_Q6_K, K, &rb));
      uint8_t *w = random_rows(DSEEK_TYPE_Q6_K, K, rows[r], (size_t)rb);
      const size_t xs = ds_qa_row_bytes(K);
      char *xq = aligned_alloc(64, 16 * xs);
      float *x = malloc((size_t)K * 4);
      for (int c = 0; c < 16; c++) {
        for (int64_t i = 0; i < K; i++) x[i] = 3.0f * frand();
        ds_vec_scalar.quantize_qa(x, K, xq + c * xs);
        ds_qa_to_u8(xq + c * xs, K);
      }
      void *pack = aligned_alloc(64, (size_t)(K / 32) * DS_GEMM_Q6_BLOCK_BYTES);
      CHECK(ds_gemm_pack_q6_k_r16(w, (size_t)rb, rows[r], K, pack));
      float vnni[16 * 16], amx[16 * 16];
      ds_vec_avx512.gemm_q6_k_r16(K, pack, xq, xs, 8, vnni, DS_GEMM_ROWS);
      ds_vec_avx512.gemm_q6_k_r16(K, pack, xq + 8 * xs, xs, 8, vnni + 8 * DS_GEMM_ROWS, DS_GEMM_ROWS);
      ds_amx_gemm_q6_k_r16x16(K, pack, xq, xs, amx, DS_GEMM_ROWS);
      CHECK_MSG(memcmp(vnni, amx, sizeof amx) == 0, "AMX Q6_K K=%lld rows %d: bits differ from VNNI", (long long)K,
                rows[r]);
      int zero = 0;   /* the comparison is not of two empty results */
      for (int i = 0; i < 16 * 16; i++) zero += amx[i] == 0.0f;
      CHECK(zero <= 16 * (16 - rows[r]));
      free(pack);
      free(x);
      free(xq);
      free(w);
    }
#endif
}

/* Every column of a 17-column product (16 on AMX + 1, or 8 + 8 + 1 on VNNI)
 * has the bits of that column in a product of 16 columns. */
static void test_batch_invariance(void)
{
  if (ds_cpu_detected() < DS_CPU_AVX512) {
    fprintf(stderr, "  no AVX-512 here: skipped\n");
    return;
  }
  ds_cpu_level_set(DS_CPU_AVX512);
  const int64_t K = 512, N = 37, M = 17;
  float *x = malloc((size_t)(K * M) * 4);
  for (int64_t i = 0; i < K * M; i++) x[i] = 2.0f * frand();
  for (size_t t = 0; t < DS_ARRAY_LEN(ktypes); t++) {
    uint64_t rb;
    CHECK(ds_row_size(ktypes[t], K, &rb));
    uint8_t *w = random_rows(ktypes[t], K, (int)N, (size_t)rb);
    float *all = run_mul_mat(ktypes[t], w, x, K, N, M, DS_CPU_AVX512, 2);
    int differ = 0, nonzero = 0;
    const int64_t starts[] = {0, 1};
    for (size_t i = 0; all && i < DS_ARRAY_LEN(starts); i++) {
      float *part = run_mul_mat(ktypes[t], w, x + starts[i] * K, K, N, 16, DS_CPU_AVX512, 2);
      if (!part) continue;
      for (int64_t m = 0; m < 16; m++) differ += memcmp(part + m * N, all + (starts[i] + m) * N, (size_t)N * 4) != 0;
      for (int64_t n = 0; n < 16 * N; n++) nonzero += part[n] != 0.0f;
      free(part);
    }
    CHECK_MSG(differ == 0, "%s: %d columns of 32 differ between a batch of 17 and one of 16",
              ds_type_traits_get(ktypes[t])->name, differ);
    CHECK(nonzero > 16 * N);
    free(all);
    free(w);
  }
  free(x);
}

int main(void)
{
  ds_test_levels();
  RUN(test_packers);
  RUN(test_q6_amx);
  RUN(test_batch_invariance);
  return DS_TEST_RESULT();
}
