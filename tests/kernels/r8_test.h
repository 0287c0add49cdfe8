/* r8_test.h — what the tests of the R8 layouts (test_q4_0_r8.c,
 * test_q4_k_r8.c) share: QA activation rows, and the check that a repacked
 * matrix gives every row back. Include after vec_test.h. */
#ifndef DS_TEST_R8_TEST_H
#define DS_TEST_R8_TEST_H

/* QA rows (quantized at vk's level) of M random activation columns. */
static uint8_t *qa_rows(const ds_vec_kernels *vk, int64_t K, int M, float scale)
{
  const size_t qb = ds_qa_row_bytes(K);
  uint8_t *qa = aligned_alloc(64, qb * (size_t)M);
  float *x = malloc((size_t)K * 4);
  for (int m = 0; m < M; m++) {
    for (int64_t k = 0; k < K; k++) x[k] = scale * frand();
    vk->quantize_qa(x, K, qa + (size_t)m * qb);
  }
  free(x);
  return qa;
}

static const char *level_name(int l) { return ds_cpu_level_name((ds_cpu_level)l); }

/* An R8 layout's functions (q4_0_r8.h, q4_k_r8.h). */
typedef struct r8_layout {
  int type;   /* the rows' own type */
  void (*repack)(void *w, int64_t K, int64_t N, void *tmp);
  void (*row)(const void *w, int64_t K, int64_t N, int64_t n, void *dst);
  void (*row_to_float)(const void *w, int64_t K, int64_t N, int64_t n, float *dst);
} r8_layout;

/* Repacking the N x K matrix w (row_bytes rb) in place moves bytes, leaves
 * the N % 8 tail rows where they were, and every row comes back byte for
 * byte and decodes to the original row's floats. Frees w. */
static void check_r8_roundtrip(const r8_layout *lay, uint8_t *w, int64_t K, int64_t N, size_t rb)
{
  const ds_type_traits *tr = ds_type_traits_get(lay->type);
  uint8_t *orig = malloc(rb * (size_t)N), *tmp = malloc(8 * rb), *row = malloc(rb);
  float *f0 = malloc((size_t)K * 4), *f1 = malloc((size_t)K * 4);
  memcpy(orig, w, rb * (size_t)N);
  lay->repack(w, K, N, tmp);
  CHECK(memcmp(w, orig, rb * (size_t)N) != 0);   /* it did move bytes */
  CHECK(memcmp(w + (N - N % 8) * rb, orig + (N - N % 8) * rb, (size_t)(N % 8) * rb) == 0);   /* tail in place */
  int bad = 0;
  for (int64_t n = 0; n < N; n++) {
    lay->row(w, K, N, n, row);
    bad += memcmp(row, orig + (size_t)n * rb, rb) != 0;
    tr->to_float(orig + (size_t)n * rb, f0, K);
    lay->row_to_float(w, K, N, n, f1);
    bad += memcmp(f0, f1, (size_t)K * 4) != 0;
  }
  CHECK_MSG(bad == 0, "%s K %lld N %lld: %d rows differ", dseek_type_name(lay->type), (long long)K, (long long)N, bad);
  free(w), free(orig), free(tmp), free(row), free(f0), free(f1);
}

#endif
