/* test_q4_k_r8.c — the R8 interleaving of Q4_K rows (kernels/q4_k_r8.h):
 * repacking in place gives every row back byte for byte, each level's R8
 * kernel (every SIMD level has one: AVX2, AVX-512, NEON, dotprod) gives the
 * scalar twin's bits (q4_k_r8.h's summation order) for any number of columns
 * per call, the twin is the plain Q4_K dot's value to within the order of its
 * f32 sums, the tile packed from R8 blocks is the plain rows' tile, and
 * mul_mat on a flagged weight gives, at every level and batch size 1..20,
 * the unflagged product's bits where it takes the same path (the reference,
 * the tile at levels that have one: not NEON), and elsewhere each column's
 * bits alone, independent of the thread count and close to the unflagged
 * product. */
#include "harness.h"
#include "kernels/q4_k_r8.h"
#include "kernels/type_ops.h"
#include "kernels/types.h"
#include "vec_test.h"
#include "r8_test.h"

#include <math.h>

/* A Q4_K matrix of N rows with K values: quantized from random floats (row
 * r at scale 1 + r % 5), then the scale and min bytes randomized (every
 * 6-bit field and its packing exercised), the f16 d and dmin kept. */
static uint8_t *random_q4_k(int64_t K, int64_t N)
{
  const ds_type_traits *tr = ds_type_traits_get(DSEEK_TYPE_Q4_K);
  const size_t rb = ds_q4_k_row_bytes(K);
  uint8_t *w = malloc(rb * (size_t)N);
  float *f = malloc((size_t)K * 4);
  for (int64_t r = 0; r < N; r++) {
    for (int64_t i = 0; i < K; i++) f[i] = frand() * (float)(1 + r % 5);
    tr->from_float(f, w + (size_t)r * rb, K);
    for (int64_t s = 0; s < K / 256; s++)
      for (int i = 4; i < 16; i++) w[(size_t)r * rb + (size_t)s * 144 + (size_t)i] = (uint8_t)rng_u32();
  }
  free(f);
  return w;
}

static void test_repack_roundtrip(void)
{
  const int64_t Ks[] = {256, 512, 4096}, Ns[] = {8, 13, 16, 37};
  const r8_layout lay = {DSEEK_TYPE_Q4_K, ds_q4_k_r8_repack, ds_q4_k_r8_row, ds_q4_k_r8_row_to_float};
  for (size_t a = 0; a < DS_ARRAY_LEN(Ks); a++)
    for (size_t c = 0; c < DS_ARRAY_LEN(Ns); c++)
      check_r8_roundtrip(&lay, random_q4_k(Ks[a], Ns[c]), Ks[a], Ns[c], ds_q4_k_row_bytes(Ks[a]));
}

/* The scales in the R8 block against ds_scale_min_k4 on the original rows. */
static void test_scales(void)
{
  const int64_t K = 512;
  const size_t rb = ds_q4_k_row_bytes(K);
  uint8_t *w = random_q4_k(K, 8), *orig = malloc(8 * rb), *tmp = malloc(8 * rb);
  memcpy(orig, w, 8 * rb);
  ds_q4_k_r8_repack(w, K, 8, tmp);
  int bad = 0;
  for (int64_t s = 0; s < K / 256; s++) {
    uint8_t sc[64], m[64];
    ds_q4_k_r8_scales(w + (size_t)s * DS_Q4_K_R8_BLOCK_BYTES, sc, m);
    for (int r = 0; r < 8; r++)
      for (int j = 0; j < 8; j++) {
        const uint8_t *q = orig + (size_t)r * rb + (size_t)s * 144 + 4;
        /* the packing of ggml's get_scale_min_k4 (ggml-quants.c in llama.cpp), written out */
        const int want_sc = j < 4 ? q[j] & 63 : (q[j + 4] & 15) | (q[j - 4] >> 6) << 4;
        const int want_m = j < 4 ? q[j + 4] & 63 : (q[j + 4] >> 4) | (q[j] >> 6) << 4;
        bad += sc[8 * j + r] != want_sc || m[8 * j + r] != want_m;
      }
  }
  CHECK_MSG(bad == 0, "%d scales or mins differ", bad);
  free(w), free(orig), free(tmp);
}

static void test_twins(void)
{
  const int64_t Ks[] = {256, 768, 1536, 4096};
  fprintf(stderr, "Q4_K R8 kernels: levels run:");
  for (int l = DS_CPU_SCALAR; l <= (int)ds_cpu_detected(); l++) fprintf(stderr, " %s", level_name(l));
  fprintf(stderr, " (the host has no higher level)\n");
  for (size_t a = 0; a < DS_ARRAY_LEN(Ks); a++) {
    const int64_t K = Ks[a];
    const size_t rb = ds_q4_k_row_bytes(K), qb = ds_qa_row_bytes(K);
    uint8_t *w = random_q4_k(K, 8), *orig = malloc(8 * rb), *tmp = malloc(8 * rb);
    memcpy(orig, w, 8 * rb);
    ds_q4_k_r8_repack(w, K, 8, tmp);
    /* activations with the full int8 range (|q| = 127 in every block) */
    uint8_t *qa = qa_rows(&ds_vec_scalar, K, DS_VEC_COLS, 3.0f);
    float want[DS_VEC_COLS * 8], got[DS_VEC_COLS * 8], plain[DS_VEC_COLS];
    ds_vec_scalar.dot_q4_k_r8(K, w, qa, qb, DS_VEC_COLS, want);
    /* the twin is the plain Q4_K dot's value, up to the order of the f32 sums */
    for (int r = 0; r < 8; r++) {
      ds_vec_scalar.dot_q4_k(K, orig + (size_t)r * rb, qa, qb, DS_VEC_COLS, plain);
      for (int c = 0; c < DS_VEC_COLS; c++)
        CHECK_MSG(fabsf(want[c * 8 + r] - plain[c]) <= 1e-4f * (1.0f + fabsf(plain[c])) * sqrtf((float)K),
                  "K %lld row %d col %d: %g vs %g", (long long)K, r, c, want[c * 8 + r], plain[c]);
    }
    for (int l = DS_CPU_SCALAR; l <= (int)ds_cpu_detected(); l++) {
      const ds_vec_kernels *vk = ds_vec_get((ds_cpu_level)l);
      /* every SIMD level (AVX2, AVX-512, NEON, dotprod) has its own kernel,
       * so model_prepare.c repacks Q4_K there (type_ops.h: r8.simd) */
      CHECK_MSG(l == DS_CPU_SCALAR || (vk->dot_q4_k_r8 && ds_cpu_type_ops_get(vk, DSEEK_TYPE_Q4_K)->r8.simd),
                "%s: no SIMD R8 Q4_K dot", level_name(l));
      if (!vk->dot_q4_k_r8) continue;
      for (int nc = 1; nc <= DS_VEC_COLS; nc++) {
        /* the first nc columns of a call of nc: the twin's bits of those columns */
        memset(got, 0, sizeof got);
        vk->dot_q4_k_r8(K, w, qa, qb, nc, got);
        CHECK_MSG(memcmp(got, want, (size_t)nc * 8 * 4) == 0, "%s K %lld nc %d: not the twin's bits",
                  level_name(l), (long long)K, nc);
        /* and the last column alone */
        vk->dot_q4_k_r8(K, w, qa + (size_t)(nc - 1) * qb, qb, 1, got);
        CHECK_MSG(memcmp(got, want + (nc - 1) * 8, 8 * 4) == 0, "%s K %lld col %d alone", level_name(l),
                  (long long)K, nc - 1);
      }
    }
    free(w), free(orig), free(tmp), free(qa);
  }
}

/* The K-quant tile from R8 rows: the portable packer and each level's SIMD
 * one give the tile and mins ds_gemm_pack_k_r16 gives for the original rows
 * (whole tiles, a tile of a matrix with tail rows, a short last tile). */
static void test_pack(void)
{
  const int64_t Ks[] = {256, 1536}, Ns[] = {16, 32, 45};
  for (size_t a = 0; a < DS_ARRAY_LEN(Ks); a++)
    for (size_t c = 0; c < DS_ARRAY_LEN(Ns); c++) {
      const int64_t K = Ks[a], N = Ns[c];
      const size_t rb = ds_q4_k_row_bytes(K), tile = (size_t)(K / 32) * DS_GEMM_BLOCK_BYTES;
      const size_t mb = (size_t)(K / 32) * DS_GEMM_ROWS * sizeof(float);
      uint8_t *w = random_q4_k(K, N), *r8 = malloc(rb * (size_t)N), *tmp = malloc(16 * rb);
      uint8_t *want = malloc(tile), *got = malloc(tile);
      float *mwant = malloc(mb), *mgot = malloc(mb);
      memcpy(r8, w, rb * (size_t)N);
      ds_q4_k_r8_repack(r8, K, N, tmp);
      for (int64_t n0 = 0; n0 < N; n0 += 16) {
        const int nr = (int)DS_MIN(16, N - n0);
        CHECK(ds_gemm_pack_k_r16(DSEEK_TYPE_Q4_K, w + (size_t)n0 * rb, rb, nr, K, want, mwant));
        memset(got, 0xAB, tile);
        memset(mgot, 0xAB, mb);
        ds_q4_k_r8_pack_r16(r8, K, N, n0, nr, got, mgot, tmp);
        CHECK_MSG(memcmp(got, want, tile) == 0 && memcmp(mgot, mwant, mb) == 0, "portable K %lld N %lld n0 %lld",
                  (long long)K, (long long)N, (long long)n0);
        if (nr < 16 || n0 + 16 > N - N % 8) continue;
        for (int l = DS_CPU_SCALAR; l <= (int)ds_cpu_detected(); l++) {
          const ds_vec_kernels *vk = ds_vec_get((ds_cpu_level)l);
          if (!vk->pack_q4_k_r8_r16) continue;
          memset(got, 0xAB, tile);
          memset(mgot, 0xAB, mb);
          vk->pack_q4_k_r8_r16(r8 + (size_t)n0 * rb, rb, K, got, mgot);
          CHECK_MSG(memcmp(got, want, tile) == 0 && memcmp(mgot, mwant, mb) == 0, "%s K %lld N %lld n0 %lld",
                    level_name(l), (long long)K, (long long)N, (long long)n0);
        }
      }
      free(w), free(r8), free(tmp), free(want), free(got), free(mwant), free(mgot);
    }
}

/* mul_mat on a flagged (repacked) weight against the same weight unflagged,
 * batch sizes 1..20; below 16 columns every column against its product alone. */
static void test_mul_mat(void)
{
  const int64_t K = 768, N = 45;   /* 5 groups and 5 tail rows */
  enum { MMAX = 20 };
  const size_t rb = ds_q4_k_row_bytes(K);
  uint8_t *w = random_q4_k(K, N), *r8 = malloc(rb * (size_t)N), *tmp = malloc(8 * rb);
  memcpy(r8, w, rb * (size_t)N);
  ds_q4_k_r8_repack(r8, K, N, tmp);
  float *x = malloc((size_t)(K * MMAX) * 4);
  for (int64_t i = 0; i < K * MMAX; i++) x[i] = frand();
  for (int l = DS_CPU_REFERENCE; l <= (int)ds_cpu_detected(); l++) {
    float *alone[MMAX];
    for (int m = 0; m < MMAX; m++)
      alone[m] = run_mul_mat_flags(DSEEK_TYPE_Q4_K, r8, x + m * K, K, N, 1, (ds_cpu_level)l, 1, DS_TENSOR_Q4_K_R8);
    for (int64_t M = 1; M <= MMAX; M++) {
      float *plain = run_mul_mat(DSEEK_TYPE_Q4_K, w, x, K, N, M, (ds_cpu_level)l, 2);
      float *y1 = run_mul_mat_flags(DSEEK_TYPE_Q4_K, r8, x, K, N, M, (ds_cpu_level)l, 1, DS_TENSOR_Q4_K_R8);
      float *y2 = run_mul_mat_flags(DSEEK_TYPE_Q4_K, r8, x, K, N, M, (ds_cpu_level)l, 2, DS_TENSOR_Q4_K_R8);
      CHECK(plain && y1 && y2);
      if (!plain || !y1 || !y2) break;
      CHECK_MSG(memcmp(y1, y2, (size_t)(N * M) * 4) == 0, "%s M %lld: thread count changes bits", level_name(l),
                (long long)M);
      const bool same_path = l == DS_CPU_REFERENCE || (M >= 16 && ds_vec_get((ds_cpu_level)l)->gemm_r16);
      if (same_path)
        CHECK_MSG(memcmp(y1, plain, (size_t)(N * M) * 4) == 0, "%s M %lld: not the unflagged bits", level_name(l),
                  (long long)M);
      else
        for (int64_t m = 0; m < M; m++)
          CHECK_MSG(alone[m] && memcmp(y1 + m * N, alone[m], (size_t)N * 4) == 0,
                    "%s M %lld: column %lld differs from its solo product", level_name(l), (long long)M, (long long)m);
      double worst = 0;
      for (int64_t i = 0; i < N * M; i++) worst = fmax(worst, fabs(y1[i] - plain[i]) / (1.0 + fabs(plain[i])));
      CHECK_MSG(worst < 1e-4, "%s M %lld: %g from the unflagged product", level_name(l), (long long)M, worst);
      free(plain), free(y1), free(y2);
    }
    for (int m = 0; m < MMAX; m++) free(alone[m]);
  }
  ds_cpu_level_set(ds_cpu_detected());
  free(w), free(r8), free(tmp), free(x);
}

int main(void)
{
  RUN(test_repack_roundtrip);
  RUN(test_scales);
  RUN(test_twins);
  RUN(test_pack);
  RUN(test_mul_mat);
  return DS_TEST_RESULT();
}
