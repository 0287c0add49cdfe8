/* test_q6_k_r8.c — the R8 interleaving of Q6_K rows (kernels/q6_k_r8.h):
 * repacking in place gives every row back byte for byte, each level's R8
 * kernel gives the scalar twin's bits (q6_k_r8.h's summation order) for any
 * number of columns per call, also at the bounds of its integer sums (every
 * value -32 or 31, every scale -128, every activation 127), the twin is the
 * plain Q6_K dot's value to within the order of its f32 sums, the tile packed
 * from R8 blocks is the plain rows' tile, and mul_mat on a flagged weight
 * gives, at every level and batch size 1..20, the unflagged product's bits
 * where it takes the same path (the reference, the tile), and elsewhere each
 * column's bits alone, independent of the thread count and close to the
 * unflagged product. */
#include "harness.h"
#include "kernels/q6_k_r8.h"
#include "kernels/types.h"
#include "vec_test.h"
#include "r8_test.h"

#include <math.h>

/* A Q6_K matrix of N rows with K values: random ql, qh and int8 scales
 * (every bit of the layout exercised), f16 d about 2^-10 .. 2^-4 of either
 * sign. */
static uint8_t *random_q6_k(int64_t K, int64_t N)
{
  const size_t rb = ds_q6_k_row_bytes(K);
  uint8_t *w = malloc(rb * (size_t)N);
  for (size_t i = 0; i < rb * (size_t)N; i += 210) {
    for (int j = 0; j < 208; j++) w[i + (size_t)j] = (uint8_t)rng_u32();
    uint16_t d = (uint16_t)(0x1400 + rng_u32() % 0x1800);
    if (rng_u32() & 1) d |= 0x8000;
    memcpy(w + i + 208, &d, 2);
  }
  return w;
}

static const r8_layout LAYOUT = {DSEEK_TYPE_Q6_K, ds_q6_k_r8_repack, ds_q6_k_r8_row, ds_q6_k_r8_row_to_float};

static void test_repack_roundtrip(void)
{
  const int64_t Ks[] = {256, 512, 4096}, Ns[] = {8, 13, 16, 37};
  for (size_t a = 0; a < DS_ARRAY_LEN(Ks); a++)
    for (size_t c = 0; c < DS_ARRAY_LEN(Ns); c++)
      check_r8_roundtrip(&LAYOUT, random_q6_k(Ks[a], Ns[c]), Ks[a], Ns[c], ds_q6_k_row_bytes(Ks[a]));
}

/* The values of every chunk against the Q6_K decode of the original rows
 * (value / (d sc) + 32 is the level; ggml's dequantize_row_q6_K in
 * llama.cpp's ggml-quants.c has the bit order, decoded by types.c). */
static void test_chunks(void)
{
  const int64_t K = 512;
  const size_t rb = ds_q6_k_row_bytes(K);
  uint8_t *w = random_q6_k(K, 8), *tmp = malloc(8 * rb);
  float *f = malloc((size_t)(8 * K) * 4);
  const ds_type_traits *tr = ds_type_traits_get(DSEEK_TYPE_Q6_K);
  for (int r = 0; r < 8; r++) {
    /* scale 1 so that the decode gives sc (u - 32) */
    for (int64_t s = 0; s < K / 256; s++) {
      const uint16_t one = 0x3C00;
      memcpy(w + (size_t)r * rb + (size_t)s * 210 + 208, &one, 2);
    }
    tr->to_float(w + (size_t)r * rb, f + r * K, K);
  }
  ds_q6_k_r8_repack(w, K, 8, tmp);
  int bad = 0;
  for (int64_t s = 0; s < K / 256; s++)
    for (int j = 0; j < 8; j++)
      for (int k = 0; k < 8; k++) {
        int8_t v[32];
        const uint8_t *blk = w + (size_t)s * DS_Q6_K_R8_BLOCK_BYTES;
        ds_q6_k_r8_chunk(blk, j, k, v);
        for (int i = 0; i < 32; i++) {
          const int r = i / 4, n = 32 * j + 4 * k + i % 4;
          const int sc = (int8_t)blk[DS_Q6_K_R8_SC + 8 * (n / 16) + r];
          bad += (float)(sc * v[i]) != f[r * K + s * 256 + n];
        }
      }
  CHECK_MSG(bad == 0, "%d values differ from the Q6_K decode", bad);
  free(w), free(tmp), free(f);
}

/* Each level's R8 kernel against the twin for 1..DS_VEC_COLS columns per
 * call (and each call's last column alone), on w (8 R8 rows) and the QA
 * columns qa. */
static void check_levels(const uint8_t *w, const uint8_t *qa, int64_t K, const float *want, const char *what)
{
  const size_t qb = ds_qa_row_bytes(K);
  float got[DS_VEC_COLS * 8];
  for (int l = DS_CPU_SCALAR; l <= (int)ds_cpu_detected(); l++) {
    const ds_vec_kernels *vk = ds_vec_get((ds_cpu_level)l);
    if (!vk->dot_q6_k_r8) continue;
    for (int nc = 1; nc <= DS_VEC_COLS; nc++) {
      memset(got, 0, sizeof got);
      vk->dot_q6_k_r8(K, w, qa, qb, nc, got);
      CHECK_MSG(memcmp(got, want, (size_t)nc * 8 * 4) == 0, "%s %s K %lld nc %d: not the twin's bits",
                level_name(l), what, (long long)K, nc);
      vk->dot_q6_k_r8(K, w, qa + (size_t)(nc - 1) * qb, qb, 1, got);
      CHECK_MSG(memcmp(got, want + (nc - 1) * 8, 8 * 4) == 0, "%s %s K %lld col %d alone", level_name(l), what,
                (long long)K, nc - 1);
    }
  }
}

static void test_twins(void)
{
  const int64_t Ks[] = {256, 768, 1536, 8960};
  fprintf(stderr, "Q6_K R8 kernels: levels run:");
  for (int l = DS_CPU_SCALAR; l <= (int)ds_cpu_detected(); l++) fprintf(stderr, " %s", level_name(l));
  fprintf(stderr, " (the host has no higher level)\n");
  for (size_t a = 0; a < DS_ARRAY_LEN(Ks); a++) {
    const int64_t K = Ks[a];
    const size_t rb = ds_q6_k_row_bytes(K), qb = ds_qa_row_bytes(K);
    uint8_t *w = random_q6_k(K, 8), *orig = malloc(8 * rb), *tmp = malloc(8 * rb);
    memcpy(orig, w, 8 * rb);
    ds_q6_k_r8_repack(w, K, 8, tmp);
    uint8_t *qa = qa_rows(&ds_vec_scalar, K, DS_VEC_COLS, 3.0f);
    float want[DS_VEC_COLS * 8], plain[DS_VEC_COLS];
    ds_vec_scalar.dot_q6_k_r8(K, w, qa, qb, DS_VEC_COLS, want);
    /* the twin is the plain Q6_K dot's value, up to the order of the f32 sums */
    for (int r = 0; r < 8; r++) {
      ds_vec_scalar.dot_q6_k(K, orig + (size_t)r * rb, qa, qb, DS_VEC_COLS, plain);
      for (int c = 0; c < DS_VEC_COLS; c++)
        CHECK_MSG(fabsf(want[c * 8 + r] - plain[c]) <= 1e-4f * (1.0f + fabsf(plain[c])) * sqrtf((float)K),
                  "K %lld row %d col %d: %g vs %g", (long long)K, r, c, want[c * 8 + r], plain[c]);
    }
    check_levels(w, qa, K, want, "random");
    free(w), free(orig), free(tmp), free(qa);
  }
}

/* The kernels' int16 and int32 bounds: every level 0 (value -32), then every
 * level 63 (value 31), every scale -128, every activation 127 (constant
 * columns), so each 16-value group sums to 16 v 127 and its term is
 * -128 16 v 127 dx_b with dx_b = (c + 1) / 127. */
static void test_extremes(void)
{
  const int64_t K = 512;
  const size_t rb = ds_q6_k_row_bytes(K), qb = ds_qa_row_bytes(K);
  uint8_t *qa = aligned_alloc(64, qb * DS_VEC_COLS);
  float *x = malloc((size_t)K * 4);
  for (int c = 0; c < DS_VEC_COLS; c++) {
    for (int64_t k = 0; k < K; k++) x[k] = (float)(c + 1);
    ds_vec_scalar.quantize_qa(x, K, qa + (size_t)c * qb);
  }
  for (int fill = 0; fill < 2; fill++) {
    const int v = fill ? 31 : -32;
    uint8_t *w = malloc(8 * rb), *tmp = malloc(8 * rb);
    for (size_t i = 0; i < 8 * rb; i += 210) {
      memset(w + i, fill ? 0xFF : 0, 192);   /* ql, qh */
      memset(w + i + 192, 0x80, 16);         /* sc = -128 */
      const uint16_t one = 0x3C00;
      memcpy(w + i + 208, &one, 2);
    }
    ds_q6_k_r8_repack(w, K, 8, tmp);
    float want[DS_VEC_COLS * 8];
    ds_vec_scalar.dot_q6_k_r8(K, w, qa, qb, DS_VEC_COLS, want);
    for (int c = 0; c < DS_VEC_COLS; c++)
      for (int r = 0; r < 8; r++) {
        const double expect = (double)(K / 16) * -128.0 * 16.0 * v * (c + 1);
        CHECK_MSG(fabs(want[c * 8 + r] - expect) <= 1e-5 * fabs(expect), "v %d col %d row %d: %g, expected %g", v, c,
                  r, want[c * 8 + r], expect);
      }
    check_levels(w, qa, K, want, fill ? "levels 63" : "levels 0");
    free(w), free(tmp);
  }
  free(qa), free(x);
}

static bool plain_q6(const void *w, size_t rb, int nr, int64_t K, void *dst, float *mins)
{
  (void)mins;
  return ds_gemm_pack_q6_k_r16(w, rb, nr, K, dst);
}
static void portable_q6(const void *r8, int64_t K, int64_t N, int64_t n0, int nr, void *dst, float *mins, void *rows)
{
  (void)mins;
  ds_q6_k_r8_pack_r16(r8, K, N, n0, nr, dst, rows);
}
static bool simd_q6(const ds_vec_kernels *vk, const void *r8, size_t rb, int64_t K, void *dst, float *mins)
{
  (void)mins;
  if (!vk->pack_q6_k_r8_r16) return false;
  vk->pack_q6_k_r8_r16(r8, rb, K, dst);
  return true;
}

/* The Q6_K tile from R8 rows is the original rows' tile. */
static void test_pack(void)
{
  const int64_t Ks[] = {256, 1536}, Ns[] = {16, 32, 45};
  const r8_tile t = {DS_GEMM_Q6_BLOCK_BYTES, false, plain_q6, portable_q6, simd_q6};
  for (size_t a = 0; a < DS_ARRAY_LEN(Ks); a++)
    for (size_t c = 0; c < DS_ARRAY_LEN(Ns); c++)
      check_r8_pack(&LAYOUT, &t, random_q6_k(Ks[a], Ns[c]), Ks[a], Ns[c], ds_q6_k_row_bytes(Ks[a]));
}

/* mul_mat on a flagged weight: K = 768, N = 45 (5 groups and 5 tail rows,
 * plain Q6_K), batch sizes 1..20. */
static void test_mul_mat(void)
{
  check_r8_mul_mat(&LAYOUT, DS_TENSOR_Q6_K_R8, random_q6_k(768, 45), 768, 45, ds_q6_k_row_bytes(768), 20);
}

int main(void)
{
  RUN(test_repack_roundtrip);
  RUN(test_chunks);
  RUN(test_twins);
  RUN(test_extremes);
  RUN(test_pack);
  RUN(test_mul_mat);
  return DS_TEST_RESULT();
}
