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

static const r8_layout LAYOUT = {DSEEK_TYPE_Q4_K, ds_q4_k_r8_repack, ds_q4_k_r8_row, ds_q4_k_r8_row_to_float};

static void test_repack_roundtrip(void)
{
  const int64_t Ks[] = {256, 512, 4096}, Ns[] = {8, 13, 16, 37};
  for (size_t a = 0; a < DS_ARRAY_LEN(Ks); a++)
    for (size_t c = 0; c < DS_ARRAY_LEN(Ns); c++)
      check_r8_roundtrip(&LAYOUT, random_q4_k(Ks[a], Ns[c]), Ks[a], Ns[c], ds_q4_k_row_bytes(Ks[a]));
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

static bool plain_q4_k(const void *w, size_t rb, int nr, int64_t K, void *dst, float *mins)
{
  return ds_gemm_pack_k_r16(DSEEK_TYPE_Q4_K, w, rb, nr, K, dst, mins);
}
static bool simd_q4_k(const ds_vec_kernels *vk, const void *r8, size_t rb, int64_t K, void *dst, float *mins)
{
  if (!vk->pack_q4_k_r8_r16) return false;
  vk->pack_q4_k_r8_r16(r8, rb, K, dst, mins);
  return true;
}

/* The K-quant tile and mins from R8 rows are the original rows'. */
static void test_pack(void)
{
  const int64_t Ks[] = {256, 1536}, Ns[] = {16, 32, 45};
  const r8_tile t = {DS_GEMM_BLOCK_BYTES, true, plain_q4_k, ds_q4_k_r8_pack_r16, simd_q4_k};
  for (size_t a = 0; a < DS_ARRAY_LEN(Ks); a++)
    for (size_t c = 0; c < DS_ARRAY_LEN(Ns); c++)
      check_r8_pack(&LAYOUT, &t, random_q4_k(Ks[a], Ns[c]), Ks[a], Ns[c], ds_q4_k_row_bytes(Ks[a]));
}

/* mul_mat on a flagged weight: K = 768, N = 45 (5 groups and 5 tail rows),
 * batch sizes 1..20. */
static void test_mul_mat(void)
{
  check_r8_mul_mat(&LAYOUT, DS_TENSOR_Q4_K_R8, random_q4_k(768, 45), 768, 45, ds_q4_k_row_bytes(768), 20);
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
