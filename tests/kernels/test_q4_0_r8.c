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

static const r8_layout LAYOUT = {DSEEK_TYPE_Q4_0, ds_q4_0_r8_repack, ds_q4_0_r8_row, ds_q4_0_r8_row_to_float};

static void test_repack_roundtrip(void)
{
  const int64_t Ks[] = {32, 256, 1536}, Ns[] = {8, 13, 16, 37};
  for (size_t a = 0; a < DS_ARRAY_LEN(Ks); a++)
    for (size_t c = 0; c < DS_ARRAY_LEN(Ns); c++)
      check_r8_roundtrip(&LAYOUT, random_q4_0(Ks[a], Ns[c]), Ks[a], Ns[c], (size_t)(Ks[a] / 32) * 18);
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
    /* two consecutive groups, as dot_q4_0_r8x2 reads them */
    uint8_t *w = random_q4_0(K, 16), *orig = malloc(16 * rb), *tmp = malloc(8 * rb);
    memcpy(orig, w, 16 * rb);
    ds_q4_0_r8_repack(w, K, 16, tmp);
    uint8_t *qa = qa_rows(&ds_vec_scalar, K, DS_R8_COLS, 3.0f);
    float want[2][DS_R8_COLS * 8], got[DS_R8_COLS * 16], plain[DS_VEC_COLS];
    for (int h = 0; h < 2; h++) ds_vec_scalar.dot_q4_0_r8(K, w + h * 8 * rb, qa, qb, DS_R8_COLS, want[h]);
    /* the twin is the plain Q4_0 dot's value, up to the order of the f32 sum */
    for (int r = 0; r < 8; r++) {
      ds_vec_scalar.dot_q4_0(K, orig + (size_t)r * rb, qa, qb, DS_VEC_COLS, plain);
      for (int c = 0; c < DS_VEC_COLS; c++)
        CHECK_MSG(fabsf(want[0][c * 8 + r] - plain[c]) <= 1e-4f * (1.0f + fabsf(plain[c])) * sqrtf((float)K),
                  "K %lld row %d col %d: %g vs %g", (long long)K, r, c, want[0][c * 8 + r], plain[c]);
    }
    for (int l = DS_CPU_SCALAR; l <= (int)ds_cpu_detected(); l++) {
      const ds_vec_kernels *vk = ds_vec_get((ds_cpu_level)l);
      if (!vk->dot_q4_0_r8) continue;
      for (int nc = 1; nc <= DS_R8_COLS; nc++) {
        /* column c of a call of nc columns: the bits of column c alone */
        vk->dot_q4_0_r8(K, w, qa, qb, nc, got);
        CHECK_MSG(memcmp(got, want[0], (size_t)nc * 8 * 4) == 0, "%s K %lld nc %d: not the twin's bits",
                  level_name(l), (long long)K, nc);
        if (!vk->dot_q4_0_r8x2) continue;
        /* two groups: out[c * 16 + r], group h's row r' at r = 8 h + r' */
        vk->dot_q4_0_r8x2(K, w, qa, qb, nc, got);
        for (int c = 0; c < nc; c++)
          for (int h = 0; h < 2; h++)
            CHECK_MSG(memcmp(got + c * 16 + 8 * h, want[h] + c * 8, 8 * 4) == 0,
                      "%s K %lld nc %d col %d group %d: the two-group dot is not the twin's bits", level_name(l),
                      (long long)K, nc, c, h);
      }
    }
    free(w), free(orig), free(tmp), free(qa);
  }
}

static bool plain_q4_0(const void *w, size_t rb, int nr, int64_t K, void *dst, float *mins)
{
  (void)mins;
  return ds_gemm_pack_r16(DSEEK_TYPE_Q4_0, w, rb, nr, K, dst);
}
static void portable_q4_0(const void *r8, int64_t K, int64_t N, int64_t n0, int nr, void *dst, float *mins, void *rows)
{
  (void)mins;
  ds_q4_0_r8_pack_r16(r8, K, N, n0, nr, dst, rows);
}
static bool simd_q4_0(const ds_vec_kernels *vk, const void *r8, size_t rb, int64_t K, void *dst, float *mins)
{
  (void)mins;
  if (!vk->pack_q4_0_r8_r16) return false;
  vk->pack_q4_0_r8_r16(r8, rb, K, dst);
  return true;
}

/* The tile from R8 rows is the original rows' tile. */
static void test_pack(void)
{
  const int64_t Ks[] = {32, 512, 1536}, Ns[] = {16, 32, 45};
  const r8_tile t = {DS_GEMM_BLOCK_BYTES, false, plain_q4_0, portable_q4_0, simd_q4_0};
  for (size_t a = 0; a < DS_ARRAY_LEN(Ks); a++)
    for (size_t c = 0; c < DS_ARRAY_LEN(Ns); c++)
      check_r8_pack(&LAYOUT, &t, random_q4_0(Ks[a], Ns[c]), Ks[a], Ns[c], (size_t)(Ks[a] / 32) * 18);
}

/* mul_mat on a flagged weight: K = 512, N = 45 (5 groups and 5 tail rows),
 * batch sizes 1..24 (a 16-column tile call and an 8-column one). */
static void test_mul_mat(void)
{
  check_r8_mul_mat(&LAYOUT, DS_TENSOR_Q4_0_R8, random_q4_0(512, 45), 512, 45, (size_t)(512 / 32) * 18, 24);
}

int main(void)
{
  RUN(test_repack_roundtrip);
  RUN(test_twins);
  RUN(test_pack);
  RUN(test_mul_mat);
  return DS_TEST_RESULT();
}
