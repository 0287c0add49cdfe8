/* r8_test.h — what the tests of the R8 layouts (test_q4_0_r8.c,
 * test_q4_k_r8.c, test_q6_k_r8.c) share: QA activation rows, the check that
 * a repacked matrix gives every row back, that the tile packed from R8 rows
 * is the plain rows' tile, and mul_mat on a flagged weight. Include after
 * vec_test.h. */
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

/* An R8 layout's functions (q4_0_r8.h, q4_k_r8.h, q6_k_r8.h). */
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

/* A layout's GEMM tile packers: the plain rows' (the expected bytes), the
 * portable one from R8 rows, and a level's SIMD one (false: the level has
 * none). mins: the K-quant dmin terms, or unused (mins_bytes 0). */
typedef struct r8_tile {
  size_t block_bytes;   /* tile bytes per 32-value block */
  bool mins;
  bool (*plain)(const void *w, size_t rb, int nr, int64_t K, void *dst, float *mins);
  void (*portable)(const void *r8, int64_t K, int64_t N, int64_t n0, int nr, void *dst, float *mins, void *rows);
  bool (*simd)(const ds_vec_kernels *vk, const void *r8, size_t rb, int64_t K, void *dst, float *mins);
} r8_tile;

/* The tile (and mins) from the R8 form of the N x K matrix w: the portable
 * packer and each level's SIMD one give the bytes the plain packer gives
 * for the original rows (whole tiles, a tile of a matrix with tail rows, a
 * short last tile). Frees w. */
static void check_r8_pack(const r8_layout *lay, const r8_tile *t, uint8_t *w, int64_t K, int64_t N, size_t rb)
{
  const size_t tile = (size_t)(K / 32) * t->block_bytes;
  const size_t mb = t->mins ? (size_t)(K / 32) * DS_GEMM_ROWS * sizeof(float) : 0;
  uint8_t *r8 = malloc(rb * (size_t)N), *tmp = malloc(16 * rb), *want = malloc(tile), *got = malloc(tile);
  float *mwant = malloc(mb + 4), *mgot = malloc(mb + 4);
  memcpy(r8, w, rb * (size_t)N);
  lay->repack(r8, K, N, tmp);
  for (int64_t n0 = 0; n0 < N; n0 += 16) {
    const int nr = (int)DS_MIN(16, N - n0);
    CHECK(t->plain(w + (size_t)n0 * rb, rb, nr, K, want, mwant));
    memset(got, 0xAB, tile);
    memset(mgot, 0xAB, mb);
    t->portable(r8, K, N, n0, nr, got, mgot, tmp);
    CHECK_MSG(memcmp(got, want, tile) == 0 && memcmp(mgot, mwant, mb) == 0, "%s portable K %lld N %lld n0 %lld",
              dseek_type_name(lay->type), (long long)K, (long long)N, (long long)n0);
    if (nr < 16 || n0 + 16 > N - N % 8) continue;   /* the SIMD packers take two whole groups */
    for (int l = DS_CPU_SCALAR; l <= (int)ds_cpu_detected(); l++) {
      memset(got, 0xAB, tile);
      memset(mgot, 0xAB, mb);
      if (!t->simd(ds_vec_get((ds_cpu_level)l), r8 + (size_t)n0 * rb, rb, K, got, mgot)) continue;
      CHECK_MSG(memcmp(got, want, tile) == 0 && memcmp(mgot, mwant, mb) == 0, "%s %s K %lld N %lld n0 %lld",
                dseek_type_name(lay->type), level_name(l), (long long)K, (long long)N, (long long)n0);
    }
  }
  free(w), free(r8), free(tmp), free(want), free(got), free(mwant), free(mgot);
}

/* mul_mat on the R8 form (flag) of the N x K matrix w against w unflagged,
 * at every level and batch size 1..mmax: the same bits where both take the
 * same path (the reference, the tile from 16 columns at levels with one),
 * elsewhere (the R8 kernel) each column the bits of its product alone; never
 * a change with the thread count, and within the f32 sums' order of the
 * unflagged product. Frees w. */
static void check_r8_mul_mat(const r8_layout *lay, unsigned flag, uint8_t *w, int64_t K, int64_t N, size_t rb,
                             int mmax)
{
  const int type = lay->type;
  uint8_t *r8 = malloc(rb * (size_t)N), *tmp = malloc(8 * rb);
  memcpy(r8, w, rb * (size_t)N);
  lay->repack(r8, K, N, tmp);
  float *x = malloc((size_t)(K * mmax) * 4), **alone = calloc((size_t)mmax, sizeof *alone);
  for (int64_t i = 0; i < K * mmax; i++) x[i] = frand();
  for (int l = DS_CPU_REFERENCE; l <= (int)ds_cpu_detected(); l++) {
    for (int m = 0; m < mmax; m++) alone[m] = run_mul_mat_flags(type, r8, x + m * K, K, N, 1, (ds_cpu_level)l, 1, flag);
    for (int64_t M = 1; M <= mmax; M++) {
      float *plain = run_mul_mat(type, w, x, K, N, M, (ds_cpu_level)l, 2);
      float *y1 = run_mul_mat_flags(type, r8, x, K, N, M, (ds_cpu_level)l, 1, flag);
      float *y2 = run_mul_mat_flags(type, r8, x, K, N, M, (ds_cpu_level)l, 2, flag);
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
      /* relative to the largest output (a single one can be the small end of a large cancellation) */
      double worst = 0, top = 1.0;
      for (int64_t i = 0; i < N * M; i++) top = fmax(top, fabs(plain[i]));
      for (int64_t i = 0; i < N * M; i++) worst = fmax(worst, fabs(y1[i] - plain[i]) / top);
      CHECK_MSG(worst < 1e-5, "%s %s M %lld: %g from the unflagged product", dseek_type_name(type), level_name(l),
                (long long)M, worst);
      free(plain), free(y1), free(y2);
    }
    for (int m = 0; m < mmax; m++) free(alone[m]);
  }
  ds_cpu_level_set(ds_cpu_detected());
  free(w), free(r8), free(tmp), free(x), free(alone);
}

#endif
