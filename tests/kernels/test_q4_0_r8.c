/* test_q4_0_r8.c — the R8 interleaving of Q4_0 rows (kernels/q4_0_r8.h):
 * repacking in place gives every row back byte for byte, each level's R8
 * kernel gives the scalar twin's bits (vec.h: one FMA chain per row and
 * column), which is the plain Q4_0 dot's value to within its summation
 * order, and mul_mat on a flagged weight gives, at every level and batch
 * size, the unflagged product's bits where it takes the same path (the
 * reference, the tile) and the R8 kernel's bits elsewhere, independent of
 * the column's batch and of the thread count. */
#include "harness.h"
#include "kernels/q4_0_r8.h"
#include "kernels/types.h"
#include "vec_test.h"
#include "r8_test.h"

#include <math.h>

/* A random Q4_0 matrix of N rows with K values (f16 scales of mixed size). */
static uint8_t *random_q4_0(int64_t K, int64_t N)
{
  const size_t rb = (size_t)(K / 32) * 18;
  uint8_t *w = malloc(rb * (size_t)N);
  for (size_t i = 0; i < rb * (size_t)N; i += 18) {
    uint16_t d = (uint16_t)(0x2000 + rng_u32() % 0x1C00);   /* about 2^-7 .. 2^0, positive */
    if (rng_u32() & 1) d |= 0x8000;
    memcpy(w + i, &d, 2);
    for (int j = 0; j < 16; j++) w[i + 2 + j] = (uint8_t)rng_u32();
  }
  return w;
}

static void test_repack_roundtrip(void)
{
  const int64_t Ks[] = {32, 256, 1536}, Ns[] = {8, 13, 16, 37};
  const r8_layout lay = {DSEEK_TYPE_Q4_0, ds_q4_0_r8_repack, ds_q4_0_r8_row, ds_q4_0_r8_row_to_float};
  for (size_t a = 0; a < DS_ARRAY_LEN(Ks); a++)
    for (size_t c = 0; c < DS_ARRAY_LEN(Ns); c++)
      check_r8_roundtrip(&lay, random_q4_0(Ks[a], Ns[c]), Ks[a], Ns[c], (size_t)(Ks[a] / 32) * 18);
}

static void test_twins(void)
{
  const int64_t Ks[] = {32, 96, 1536, 2816, 8960};
  fprintf(stderr, "R8 kernels: levels run:");
  for (int l = DS_CPU_SCALAR; l <= (int)ds_cpu_detected(); l++) fprintf(stderr, " %s", level_name(l));
  fprintf(stderr, " (the host has no higher level)\n");
  for (size_t a = 0; a < DS_ARRAY_LEN(Ks); a++) {
    const int64_t K = Ks[a];
    const size_t rb = (size_t)(K / 32) * 18, qb = ds_qa_row_bytes(K);
    uint8_t *w = random_q4_0(K, 8), *orig = malloc(8 * rb), *tmp = malloc(8 * rb);
    memcpy(orig, w, 8 * rb);
    ds_q4_0_r8_repack(w, K, 8, tmp);
    uint8_t *qa = qa_rows(&ds_vec_scalar, K, DS_VEC_COLS, 3.0f);
    float want[DS_VEC_COLS * 8], got[DS_VEC_COLS * 8], plain[DS_VEC_COLS];
    ds_vec_scalar.dot_q4_0_r8(K, w, qa, qb, DS_VEC_COLS, want);
    /* the twin is the plain Q4_0 dot's value, up to the order of the f32 sum */
    for (int r = 0; r < 8; r++) {
      ds_vec_scalar.dot_q4_0(K, orig + (size_t)r * rb, qa, qb, DS_VEC_COLS, plain);
      for (int c = 0; c < DS_VEC_COLS; c++)
        CHECK_MSG(fabsf(want[c * 8 + r] - plain[c]) <= 1e-4f * (1.0f + fabsf(plain[c])) * sqrtf((float)K),
                  "K %lld row %d col %d: %g vs %g", (long long)K, r, c, want[c * 8 + r], plain[c]);
    }
    for (int l = DS_CPU_SCALAR; l <= (int)ds_cpu_detected(); l++) {
      const ds_vec_kernels *vk = ds_vec_get((ds_cpu_level)l);
      if (!vk->dot_q4_0_r8) continue;
      for (int nc = 1; nc <= DS_VEC_COLS; nc++) {
        /* column c of a call of nc columns: the bits of column c alone */
        vk->dot_q4_0_r8(K, w, qa, qb, nc, got);
        CHECK_MSG(memcmp(got, want, (size_t)nc * 8 * 4) == 0, "%s K %lld nc %d: not the twin's bits",
                  level_name(l), (long long)K, nc);
      }
    }
    free(w), free(orig), free(tmp), free(qa);
  }
}

/* The tile from R8 rows: the portable packer and each level's SIMD one give
 * the bytes ds_gemm_pack_r16 gives for the original rows (whole tiles, a
 * tile of a matrix with tail rows, a short last tile). */
static void test_pack(void)
{
  const int64_t Ks[] = {32, 512, 1536}, Ns[] = {16, 32, 45};
  for (size_t a = 0; a < DS_ARRAY_LEN(Ks); a++)
    for (size_t c = 0; c < DS_ARRAY_LEN(Ns); c++) {
      const int64_t K = Ks[a], N = Ns[c];
      const size_t rb = (size_t)(K / 32) * 18, tile = (size_t)(K / 32) * DS_GEMM_BLOCK_BYTES;
      uint8_t *w = random_q4_0(K, N), *r8 = malloc(rb * (size_t)N), *tmp = malloc(16 * rb);
      uint8_t *want = malloc(tile), *got = malloc(tile);
      memcpy(r8, w, rb * (size_t)N);
      ds_q4_0_r8_repack(r8, K, N, tmp);
      for (int64_t n0 = 0; n0 < N; n0 += 16) {
        const int nr = (int)DS_MIN(16, N - n0);
        CHECK(ds_gemm_pack_r16(DSEEK_TYPE_Q4_0, w + (size_t)n0 * rb, rb, nr, K, want));
        memset(got, 0xAB, tile);
        ds_q4_0_r8_pack_r16(r8, K, N, n0, nr, got, tmp);
        CHECK_MSG(memcmp(got, want, tile) == 0, "portable K %lld N %lld n0 %lld", (long long)K, (long long)N,
                  (long long)n0);
        if (nr < 16 || n0 + 16 > N - N % 8) continue;
        for (int l = DS_CPU_SCALAR; l <= (int)ds_cpu_detected(); l++) {
          const ds_vec_kernels *vk = ds_vec_get((ds_cpu_level)l);
          if (!vk->pack_q4_0_r8_r16) continue;
          memset(got, 0xAB, tile);
          vk->pack_q4_0_r8_r16(r8 + (size_t)n0 * rb, rb, K, got);
          CHECK_MSG(memcmp(got, want, tile) == 0, "%s K %lld N %lld n0 %lld", level_name(l), (long long)K,
                    (long long)N, (long long)n0);
        }
      }
      free(w), free(r8), free(tmp), free(want), free(got);
    }
}

/* mul_mat on a flagged (repacked) weight against the same weight unflagged. */
static void test_mul_mat(void)
{
  const int64_t K = 512, N = 45;   /* 5 groups and 5 tail rows */
  const int Ms[] = {1, 2, 5, 8, 13, 15, 16, 17, 24};
  const size_t rb = (size_t)(K / 32) * 18;
  uint8_t *w = random_q4_0(K, N), *r8 = malloc(rb * (size_t)N), *tmp = malloc(8 * rb);
  memcpy(r8, w, rb * (size_t)N);
  ds_q4_0_r8_repack(r8, K, N, tmp);
  float *x = malloc((size_t)(K * 24) * 4);
  for (int64_t i = 0; i < K * 24; i++) x[i] = frand();
  for (int l = DS_CPU_REFERENCE; l <= (int)ds_cpu_detected(); l++) {
    float *alone = run_mul_mat_flags(DSEEK_TYPE_Q4_0, r8, x, K, N, 1, (ds_cpu_level)l, 1, DS_TENSOR_Q4_0_R8);
    for (size_t a = 0; a < DS_ARRAY_LEN(Ms); a++) {
      const int64_t M = Ms[a];
      float *plain = run_mul_mat(DSEEK_TYPE_Q4_0, w, x, K, N, M, (ds_cpu_level)l, 2);
      float *y1 = run_mul_mat_flags(DSEEK_TYPE_Q4_0, r8, x, K, N, M, (ds_cpu_level)l, 1, DS_TENSOR_Q4_0_R8);
      float *y2 = run_mul_mat_flags(DSEEK_TYPE_Q4_0, r8, x, K, N, M, (ds_cpu_level)l, 2, DS_TENSOR_Q4_0_R8);
      if (!plain || !y1 || !y2 || !alone) break;
      CHECK_MSG(memcmp(y1, y2, (size_t)(N * M) * 4) == 0, "%s M %lld: thread count changes bits", level_name(l),
                (long long)M);
      /* the reference and the tile (16+ columns, at levels that have one) take the original rows' path;
       * below 16 columns the R8 kernel, and column 0 keeps its bits alone */
      const bool same_path = l == DS_CPU_REFERENCE || (M >= 16 && ds_vec_get((ds_cpu_level)l)->gemm_r16);
      if (same_path)
        CHECK_MSG(memcmp(y1, plain, (size_t)(N * M) * 4) == 0, "%s M %lld: not the unflagged bits", level_name(l),
                  (long long)M);
      else
        CHECK_MSG(memcmp(y1, alone, (size_t)N * 4) == 0, "%s M %lld: column 0 differs from its solo product",
                  level_name(l), (long long)M);
      double worst = 0;
      for (int64_t i = 0; i < N * M; i++) worst = fmax(worst, fabs(y1[i] - plain[i]) / (1.0 + fabs(plain[i])));
      CHECK_MSG(worst < 1e-4, "%s M %lld: %g from the unflagged product", level_name(l), (long long)M, worst);
      free(plain), free(y1), free(y2);
    }
    free(alone);
  }
  ds_cpu_level_set(ds_cpu_detected());
  free(w), free(r8), free(tmp), free(x);
}

int main(void)
{
  RUN(test_repack_roundtrip);
  RUN(test_twins);
  RUN(test_pack);
  RUN(test_mul_mat);
  return DS_TEST_RESULT();
}
