/* test_attn_blocked.c — the attention kernel (kernels/ops_attn_blocked.c: slot
 * blocks of eight, all heads of a kv head per block, online softmax with the
 * polynomial exp) for one decoded token:
 *   - against the reference level's kernel (ops_attn.c: expf, sums in slot
 *     order) at depths 1, 17, 300, 512, 513 and 5000 (one partition of the
 *     slot list up to 512; two, the second of one slot; ten), GQA ratios 1, 4 and 6 (head dim
 *     128, and an odd 37 that pads), MLA's absorbed shape (one latent kv
 *     head, V a view of the leading 512 of the 576-value K rows, 16 heads),
 *     f16 and f32 caches, and peaked scores (a large scale: the running max
 *     moves often): max |new - reference| <= 1e-6, peaked 2e-5 (measured
 *     2.2e-7 and 1.0e-5; ATTN_VERBOSE=1 prints every case);
 *   - every level above the reference gives the scalar level's bits (the
 *     twins are the same operations), for 1, 2 and 3 threads (more threads
 *     than kv heads: the slot split, partitions merged past a barrier; one
 *     thread: the same partitions merged in one walk);
 *   - ds_attn_scores8 at every level against its scalar twin, bit for bit. */
#include "harness.h"
#include "levels.h"
#include "util.h"
#include "kernels/cpu.h"
#include "kernels/ops_attn.h"

#include <math.h>

static double worst_error;

/* One token at position L - 1 over n_ctx = L + 2 slots (n_kv = L). mla: one
 * cache [D, 1, n_ctx] whose leading Dv values of each row are V. */
static void blocked_case(int type, int64_t D, int64_t Dv, int64_t H, int64_t Hkv, int64_t L, int mla, float scale)
{
  const int64_t n_ctx = L + 2;
  void *kc = random_cache(type, D * Hkv * n_ctx), *vc = mla ? NULL : random_cache(type, Dv * Hkv * n_ctx);
  float *q = malloc((size_t)(D * H) * 4), *ref = malloc((size_t)(Dv * H) * 4), *twin = malloc((size_t)(Dv * H) * 4);
  fill(q, D * H);
  const ds_cpu_level best = ds_cpu_level_get();
  for (int l = DS_CPU_REFERENCE; l <= (int)best; l++) {
    ds_cpu_level_set((ds_cpu_level)l);
    ds_graph *g = ds_graph_new();
    ds_tensor *qt = input_f32(g, D, H, 1, 1), *ps = input_i32(g, 1);
    ds_tensor *k = ds_tensor_external(g, type, 3, (int64_t[]){D, Hkv, n_ctx}, kc, "k");
    ds_tensor *v = mla ? ds_op_view(g, k, 3, (int64_t[]){Dv, 1, n_ctx}, k->nb, 0)
                       : ds_tensor_external(g, type, 3, (int64_t[]){Dv, Hkv, n_ctx}, vc, "v");
    ds_tensor *o = ds_op_attn(g, qt, k, v, L, ps, scale);
    ds_tensor_set_output(o);
    CHECK(o && ds_graph_plan(g, 3) == DSEEK_OK);
    if (!o) {
      ds_graph_free(g);
      continue;
    }
    memcpy(qt->data, q, (size_t)(D * H) * 4);
    ((int32_t *)ps->data)[0] = (int32_t)(L - 1);
    const char *what = dseek_type_name(type);
    if (l == DS_CPU_REFERENCE) {
      CHECK(compute_threads(g, 1) == DSEEK_OK);
      memcpy(ref, o->data, (size_t)(Dv * H) * 4);
    } else {
      for (int nt = 1; nt <= 3; nt++) {
        CHECK(compute_threads(g, nt) == DSEEK_OK);
        const float *out = o->data;
        if (l == DS_CPU_SCALAR && nt == 1) memcpy(twin, out, (size_t)(Dv * H) * 4);
        else CHECK_MSG(memcmp(twin, out, (size_t)(Dv * H) * 4) == 0, "level %d, %d threads: %s D=%lld H=%lld/%lld L=%lld",
                       l, nt, what, (long long)D, (long long)H, (long long)Hkv, (long long)L);
      }
      double err = 0;
      for (int64_t i = 0; i < Dv * H; i++) err = fmax(err, fabs((double)ref[i] - twin[i]));
      worst_error = fmax(worst_error, err);
      if (getenv("ATTN_VERBOSE")) fprintf(stderr, "%s D=%lld H=%lld/%lld L=%lld scale=%g: %.3g\n", what, (long long)D, (long long)H, (long long)Hkv, (long long)L, scale, err);
      /* peaked scores (|a| up to ~50) carry an exp argument error of an ulp
       * of a, ~4e-6: a looser bound for them */
      const double tol = scale >= 1.0f ? 2e-5 : 1e-6;
      CHECK_MSG(err <= tol, "%s D=%lld H=%lld/%lld L=%lld mla=%d scale=%g: error %g", what, (long long)D, (long long)H,
                (long long)Hkv, (long long)L, mla, scale, err);
    }
    ds_graph_free(g);
  }
  ds_cpu_level_set(best);
  free(kc);
  free(vc);
  free(q);
  free(ref);
  free(twin);
}

static const int64_t depths[] = {1, 17, 300, 512, 513, 5000};

static void test_gqa(void)
{
  static const int64_t ratios[] = {1, 4, 6};
  for (size_t d = 0; d < DS_ARRAY_LEN(depths); d++)
    for (size_t r = 0; r < DS_ARRAY_LEN(ratios); r++) {
      blocked_case(DSEEK_TYPE_F16, 128, 128, 2 * ratios[r], 2, depths[d], 0, 0.0884f);
      blocked_case(DSEEK_TYPE_F32, 37, 37, 2 * ratios[r], 2, depths[d], 0, 0.3f);
    }
  blocked_case(DSEEK_TYPE_F16, 128, 128, 12, 2, 300, 0, 4.0f);   /* peaked */
  blocked_case(DSEEK_TYPE_BF16, 64, 64, 8, 2, 300, 0, 0.125f);
}

static void test_mla(void)
{
  for (size_t d = 0; d < DS_ARRAY_LEN(depths); d++) blocked_case(DSEEK_TYPE_F16, 576, 512, 16, 1, depths[d], 1, 0.0417f);
  blocked_case(DSEEK_TYPE_F32, 576, 512, 16, 1, 300, 1, 0.0417f);
  blocked_case(DSEEK_TYPE_F16, 576, 512, 16, 1, 300, 1, 1.0f);     /* peaked */
  blocked_case(DSEEK_TYPE_F16, 72, 64, 6, 1, 17, 1, 0.118f);       /* 6 heads: uneven splits */
  fprintf(stderr, "blocked kernel vs reference: max |difference| %.3g (peaked scores included)\n", worst_error);
}

static void test_scores_twin(void)
{
  enum { DMAX = 576 };
  static float q[DMAX], rows[DS_ATTN_BLOCK][DMAX];
  const float *k[DS_ATTN_BLOCK];
  fill(q, DMAX);
  for (int j = 0; j < DS_ATTN_BLOCK; j++) {
    fill(rows[j], DMAX);
    k[j] = rows[j];
  }
  rows[3][5] = 1e30f;   /* a large term: the order of the sums shows */
  static const int64_t dims[] = {8, 16, 40, 128, 576};
  const ds_cpu_level best = ds_cpu_level_get();
  for (size_t i = 0; i < DS_ARRAY_LEN(dims); i++) {
    float want[DS_ATTN_BLOCK], got[DS_ATTN_BLOCK];
    ds_attn_scores8(DS_CPU_SCALAR, dims[i], q, k, want);
    for (int l = DS_CPU_SCALAR + 1; l <= (int)best; l++) {
      ds_attn_scores8((ds_cpu_level)l, dims[i], q, k, got);
      CHECK_MSG(memcmp(got, want, sizeof got) == 0, "level %d D=%lld", l, (long long)dims[i]);
    }
    /* and the scalar twin is the dot in the stated order */
    double d0 = 0;
    for (int64_t d = 0; d < dims[i]; d++) d0 += (double)q[d] * rows[0][d];
    CHECK(fabs(d0 - want[0]) <= 1e-5);
  }
}

int main(void)
{
  ds_test_levels();
  RUN(test_gqa);
  RUN(test_mla);
  RUN(test_scores_twin);
  return DS_TEST_RESULT();
}
