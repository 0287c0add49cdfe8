/* test_rope_attn.c — rope (normal, neox, freq_factors, YaRN) against directly
 * computed rotations, and attention over a KV cache (GQA, causal mask,
 * n_kv < n_ctx, f16/bf16 caches, V as a view of K) against a direct loop. */
#include "harness.h"
#include "levels.h"
#include "util.h"
#include "kernels/cpu.h"

#include <math.h>

/* ---- rope ----------------------------------------------------------------- */

/* Run rope on a [D, H, T] input whose contents are given; returns the graph
 * (output is the last tensor). */
static ds_graph *run_rope(int64_t D, int64_t H, int64_t T, const float *x, const int32_t *pos,
                          const float *ff, const ds_rope_params *p, ds_tensor **out)
{
  ds_graph *g = ds_graph_new();
  ds_tensor *a = input_f32(g, D, H, T, 1);
  ds_tensor *ps = input_i32(g, T);
  ds_tensor *f = NULL;
  if (ff) f = ds_tensor_input(g, DSEEK_TYPE_F32, 1, (int64_t[]){p->n_rot / 2}, "rope_freqs");
  *out = ds_op_rope(g, a, ps, f, p);
  ds_tensor_set_output(*out);
  CHECK(*out != NULL);
  CHECK(ds_graph_plan(g, 4) == DSEEK_OK);
  memcpy(a->data, x, (size_t)(D * H * T) * sizeof *x);
  memcpy(ps->data, pos, (size_t)T * sizeof *pos);
  if (ff) memcpy(f->data, ff, (size_t)(p->n_rot / 2) * sizeof *ff);
  CHECK(same_bits_for_thread_counts(g, *out));
  return g;
}

/* The direct formula: pair j of the head rotated by pos * base^(-2j/n_rot) / ff_j. */
static void test_rope_normal_neox_freq_factors(void)
{
  const int64_t D = 10, H = 3, T = 4;
  const int32_t pos[4] = {0, 5, 17, 100000};
  float x[10 * 3 * 4];
  fill(x, D * H * T);
  const float ff[4] = {1.0f, 2.0f, 4.0f, 8.0f};
  for (int variant = 0; variant < 3; variant++) {
    ds_rope_params p;
    ds_rope_params_init(&p, variant == 1 ? 10 : 8);   /* neox rotates the whole head */
    p.mode = variant == 1 ? DS_ROPE_NEOX : DS_ROPE_NORMAL;
    p.freq_base = variant == 2 ? 500000.0f : 10000.0f;
    ds_tensor *y;
    ds_graph *g = run_rope(D, H, T, x, pos, variant == 2 ? ff : NULL, &p, &y);
    double err = 0;
    int passthrough_bad = 0;
    for (int64_t t = 0; t < T; t++)
      for (int64_t h = 0; h < H; h++) {
        const float *xr = x + (t * H + h) * D;
        int half = p.n_rot / 2;
        for (int j = 0; j < half; j++) {
          double theta = pos[t] * pow(p.freq_base, -2.0 * j / p.n_rot) / (variant == 2 ? ff[j] : 1.0);
          int i0 = p.mode == DS_ROPE_NEOX ? j : 2 * j, i1 = p.mode == DS_ROPE_NEOX ? j + half : 2 * j + 1;
          double y0 = xr[i0] * cos(theta) - xr[i1] * sin(theta);
          double y1 = xr[i0] * sin(theta) + xr[i1] * cos(theta);
          err = fmax(err, fabs(y0 - at(y, i0, h, t, 0)));
          err = fmax(err, fabs(y1 - at(y, i1, h, t, 0)));
        }
        for (int64_t i = p.n_rot; i < D; i++) passthrough_bad += at(y, i, h, t, 0) != xr[i];
        if (pos[t] == 0)
          for (int64_t i = 0; i < D; i++) passthrough_bad += fabsf(at(y, i, h, t, 0) - xr[i]) > 1e-7f;
      }
    CHECK_MSG(err < 2e-6, "variant %d: max error %g", variant, err);
    CHECK_EQ_INT(passthrough_bad, 0);
    ds_graph_free(g);
  }
}

/* neox on halves layout == normal on the interleaved layout of the same pairs. */
static void test_rope_neox_is_normal_permuted(void)
{
  const int64_t D = 8, T = 2;
  const int32_t pos[2] = {3, 1234};
  float inter[16], halves[16];
  fill(inter, 16);
  for (int t = 0; t < 2; t++)
    for (int j = 0; j < 4; j++) {
      halves[t * 8 + j] = inter[t * 8 + 2 * j];
      halves[t * 8 + j + 4] = inter[t * 8 + 2 * j + 1];
    }
  ds_rope_params p;
  ds_rope_params_init(&p, 8);
  ds_tensor *yn, *yx;
  ds_graph *gn = run_rope(D, 1, T, inter, pos, NULL, &p, &yn);
  p.mode = DS_ROPE_NEOX;
  ds_graph *gx = run_rope(D, 1, T, halves, pos, NULL, &p, &yx);
  int bad = 0;
  for (int t = 0; t < 2; t++)
    for (int j = 0; j < 4; j++) {
      bad += at(yn, 2 * j, 0, t, 0) != at(yx, j, 0, t, 0);
      bad += at(yn, 2 * j + 1, 0, t, 0) != at(yx, j + 4, 0, t, 0);
    }
  CHECK_EQ_INT(bad, 0);
  ds_graph_free(gn);
  ds_graph_free(gx);
}

/* YaRN with DeepSeek-V2-Lite's settings on r = 64: worked by hand,
 * corr(32) = 10.47 -> low = 10, corr(1) = 22.51 -> high = 23, so pairs j <= 10
 * keep f_j, pairs j >= 23 use f_j / 40, and cos/sin scale by
 * (0.1*0.707*ln 40 + 1) / (0.1*1.0*ln 40 + 1) = 0.92104236. Reading each
 * pair's rotation of (1, 0) at position 1 gives angle and magnitude. */
static void test_rope_yarn(void)
{
  const int64_t D = 64;
  float x[64];
  for (int j = 0; j < 32; j++) {
    x[2 * j] = 1.0f;
    x[2 * j + 1] = 0.0f;
  }
  const int32_t pos[1] = {1};
  ds_rope_params p;
  ds_rope_params_init(&p, 64);
  p.yarn_factor = 40.0f;
  p.yarn_orig_ctx = 4096;
  p.yarn_beta_fast = 32.0f;
  p.yarn_beta_slow = 1.0f;
  p.yarn_mscale = 0.707f;
  p.yarn_mscale_all_dim = 1.0f;
  ds_tensor *y;
  ds_graph *g = run_rope(D, 1, 1, x, pos, NULL, &p, &y);
  double worst_angle = 0, worst_mag = 0;
  for (int j = 0; j < 32; j++) {
    double f = pow(10000.0, -2.0 * j / 64.0);
    double ramp = j <= 10 ? 0.0 : j >= 23 ? 1.0 : (j - 10) / 13.0;
    double want = f / 40.0 * ramp + f * (1.0 - ramp);
    double c = at(y, 2 * j, 0, 0, 0), s = at(y, 2 * j + 1, 0, 0, 0);
    worst_angle = fmax(worst_angle, fabs(atan2(s, c) - want));
    worst_mag = fmax(worst_mag, fabs(hypot(c, s) - 0.92104236));
  }
  CHECK_NEAR(worst_angle, 0, 1e-6);
  CHECK_NEAR(worst_mag, 0, 1e-6);
  ds_graph_free(g);

  /* factor <= 1 means no YaRN at all, whatever the other fields say */
  p.yarn_factor = 1.0f;
  g = run_rope(D, 1, 1, x, pos, NULL, &p, &y);
  double err = 0;
  for (int j = 0; j < 32; j++)
    err = fmax(err, fabs(atan2(at(y, 2 * j + 1, 0, 0, 0), at(y, 2 * j, 0, 0, 0)) -
                         pow(10000.0, -2.0 * j / 64.0)));
  CHECK_NEAR(err, 0, 1e-6);
  ds_graph_free(g);
}

/* ---- attention ------------------------------------------------------------ */

/* out[:, h, t] = sum_{s < min(n_kv, pos+1)} softmax(scale q.k_s) v_s, in double. */
static void ref_attn(const float *q, const float *k, const float *v, int64_t D, int64_t Dv,
                     int64_t H, int64_t Hkv, int64_t T, int64_t kstride, int64_t vstride,
                     int64_t n_kv, const int32_t *pos, double scale, double *out)
{
  for (int64_t t = 0; t < T; t++)
    for (int64_t h = 0; h < H; h++) {
      int64_t hk = h / (H / Hkv), L = pos[t] + 1 < n_kv ? pos[t] + 1 : n_kv;
      double sc[64], mx = -INFINITY, sum = 0;
      for (int64_t s = 0; s < L; s++) {
        double d = 0;
        for (int64_t i = 0; i < D; i++) d += (double)q[(t * H + h) * D + i] * k[(s * Hkv + hk) * kstride + i];
        sc[s] = scale * d;
        mx = fmax(mx, sc[s]);
      }
      for (int64_t s = 0; s < L; s++) sum += exp(sc[s] - mx);
      for (int64_t i = 0; i < Dv; i++) {
        double o = 0;
        for (int64_t s = 0; s < L; s++) o += exp(sc[s] - mx) / sum * v[(s * Hkv + hk) * vstride + i];
        out[(t * H + h) * Dv + i] = o;
      }
    }
}

/* Encode exact k/8 values into a cache of type. */
static void *make_cache(int type, int64_t n, float *vals)
{
  const ds_type_traits *tr = ds_type_traits_get(type);
  for (int64_t i = 0; i < n; i++) vals[i] = (float)((int)(rng_u32() % 33) - 16) / 8.0f;
  void *c = malloc((size_t)n * tr->type_size);
  tr->from_float(vals, c, n);
  return c;
}

/* T queries at positions n_ctx - 2 - T + t (the last ones see the n_kv - 2
 * limit cut in); n_ctx <= 64 (ref_attn's score buffer). */
static void attn_case(int type, int64_t H, int64_t Hkv, int64_t T, int64_t n_ctx)
{
  const int64_t D = 5, Dv = 7, n_kv = n_ctx - 2;
  int32_t pos[64];
  for (int64_t t = 0; t < T; t++) pos[t] = (int32_t)(n_ctx - 2 - T + t + 1);
  float *kv_ = malloc((size_t)(D * Hkv * n_ctx) * 4), *vv = malloc((size_t)(Dv * Hkv * n_ctx) * 4);
  void *kc = make_cache(type, D * Hkv * n_ctx, kv_);
  void *vc = make_cache(type, Dv * Hkv * n_ctx, vv);
  ds_graph *g = ds_graph_new();
  ds_tensor *q = input_f32(g, D, H, T, 1);
  ds_tensor *ps = input_i32(g, T);
  ds_tensor *k = ds_tensor_external(g, type, 3, (int64_t[]){D, Hkv, n_ctx}, kc, "k_cache");
  ds_tensor *v = ds_tensor_external(g, type, 3, (int64_t[]){Dv, Hkv, n_ctx}, vc, "v_cache");
  ds_tensor *o = ds_op_attn(g, q, k, v, n_kv, ps, 1.0f / sqrtf((float)D));
  ds_tensor_set_output(o);
  CHECK(o && o->ne[0] == Dv && o->ne[1] == H && o->ne[2] == T);
  CHECK(ds_graph_plan(g, 4) == DSEEK_OK);
  fill_inputs(g);
  memcpy(ps->data, pos, (size_t)T * sizeof *pos);
  CHECK(same_bits_for_thread_counts(g, o));
  double *ref = malloc((size_t)(Dv * H * T) * sizeof *ref);
  for (int round = 0; round < 2; round++) {
    /* round 1: n_kv = 5 < pos + 1 for every query; slots >= 5 must not count */
    int64_t nk = round == 0 ? n_kv : 5;
    if (round == 1) {
      CHECK(ds_attn_set_n_kv(o, nk) == DSEEK_OK);
      CHECK(compute_threads(g, 3) == DSEEK_OK);
    }
    ref_attn(q->data, kv_, vv, D, Dv, H, Hkv, T, D, Dv, nk, pos,
             1.0 / sqrt((double)D), ref);
    double err = 0;
    for (int64_t i = 0; i < Dv * H * T; i++) err = fmax(err, fabs(ref[i] - ((float *)o->data)[i]));
    CHECK_MSG(err < 1e-5, "%s H=%lld Hkv=%lld n_kv=%lld: error %g", dseek_type_name(type),
              (long long)H, (long long)Hkv, (long long)nk, err);
  }
  ds_graph_free(g);
  free(ref);
  free(kv_);
  free(vv);
  free(kc);
  free(vc);
}

/* Every kernel level: the reference loop (DSEEK_CPU=reference) and the
 * blocked online-softmax kernel (ops_attn_blocked.c) at the others; the long
 * case spans several slot blocks. */
static void test_attn_gqa(void)
{
  const int types[] = {DSEEK_TYPE_F32, DSEEK_TYPE_F16, DSEEK_TYPE_BF16};
  ds_cpu_level best = ds_cpu_level_get();
  for (int l = DS_CPU_REFERENCE; l <= (int)best; l++) {
    ds_cpu_level_set((ds_cpu_level)l);
    for (size_t t = 0; t < DS_ARRAY_LEN(types); t++) {
      attn_case(types[t], 3, 3, 3, 9);   /* n_head / n_kv_head = 1 */
      attn_case(types[t], 4, 2, 3, 9);   /* 2 */
      attn_case(types[t], 6, 1, 3, 9);   /* 6 */
      attn_case(types[t], 6, 2, 50, 64);
    }
  }
  ds_cpu_level_set(best);
}

/* The causal mask: changing a slot a query may not see changes nothing for
 * it, and changes the output of a query that sees it. */
static void test_attn_causal(void)
{
  const int64_t D = 4, H = 2, T = 2, n_ctx = 6;
  float kc[4 * 1 * 6], vc[4 * 1 * 6];
  fill(kc, 24);
  fill(vc, 24);
  ds_graph *g = ds_graph_new();
  ds_tensor *q = input_f32(g, D, H, T, 1);
  ds_tensor *ps = input_i32(g, T);
  ds_tensor *k = ds_tensor_external(g, DSEEK_TYPE_F32, 3, (int64_t[]){D, 1, n_ctx}, kc, "k");
  ds_tensor *v = ds_tensor_external(g, DSEEK_TYPE_F32, 3, (int64_t[]){D, 1, n_ctx}, vc, "v");
  ds_tensor *o = ds_op_attn(g, q, k, v, n_ctx, ps, 0.5f);
  ds_tensor_set_output(o);
  CHECK(ds_graph_plan(g, 2) == DSEEK_OK);
  fill_inputs(g);
  ((int32_t *)ps->data)[0] = 2;
  ((int32_t *)ps->data)[1] = 3;
  CHECK(compute_threads(g, 2) == DSEEK_OK);
  float before[4 * 2 * 2];
  memcpy(before, o->data, sizeof before);
  for (int i = 0; i < 4; i++) {   /* slot 3: visible to token 1 only */
    kc[3 * 4 + i] = 50.0f;
    vc[3 * 4 + i] = 1000.0f;
  }
  CHECK(compute_threads(g, 2) == DSEEK_OK);
  CHECK(memcmp(before, o->data, 4 * 2 * sizeof(float)) == 0);       /* token 0 untouched */
  CHECK(memcmp(before + 8, (float *)o->data + 8, 8 * sizeof(float)) != 0);
  /* token 0 at position 0 sees only slot 0: output = v[0] exactly (weight 1) */
  ((int32_t *)ps->data)[0] = 0;
  CHECK(compute_threads(g, 1) == DSEEK_OK);
  for (int h = 0; h < 2; h++)
    for (int i = 0; i < 4; i++) CHECK(at(o, i, h, 0, 0) == vc[i]);
  ds_graph_free(g);
}

/* MLA's absorbed form: one cache row [c_kv (8) ; k_pe (4)], V = the first 8
 * values of the same rows, through a view. */
static void test_attn_v_view_of_k(void)
{
  const int64_t D = 12, Dv = 8, H = 4, T = 2, n_ctx = 5;
  float cache[12 * 5];
  fill(cache, 60);
  ds_graph *g = ds_graph_new();
  ds_tensor *q = input_f32(g, D, H, T, 1);
  ds_tensor *ps = input_i32(g, T);
  ds_tensor *k = ds_tensor_external(g, DSEEK_TYPE_F32, 3, (int64_t[]){D, 1, n_ctx}, cache, "kv");
  ds_tensor *v = ds_op_view(g, k, 3, (int64_t[]){Dv, 1, n_ctx}, (size_t[]){4, 48, 48}, 0);
  ds_tensor *o = ds_op_attn(g, q, k, v, n_ctx, ps, 0.3f);
  ds_tensor_set_output(o);
  CHECK(o != NULL);
  CHECK(ds_graph_plan(g, 4) == DSEEK_OK);
  fill_inputs(g);
  ((int32_t *)ps->data)[0] = 3;
  ((int32_t *)ps->data)[1] = 4;
  CHECK(same_bits_for_thread_counts(g, o));
  double ref[8 * 4 * 2];
  ref_attn(q->data, cache, cache, D, Dv, H, 1, T, D, D, n_ctx, ps->data, 0.3, ref);
  double err = 0;
  for (int i = 0; i < 8 * 4 * 2; i++) err = fmax(err, fabs(ref[i] - ((float *)o->data)[i]));
  CHECK_NEAR(err, 0, 1e-5);
  ds_graph_free(g);
}

int main(void)
{
  ds_test_levels();
  RUN(test_rope_normal_neox_freq_factors);
  RUN(test_rope_neox_is_normal_permuted);
  RUN(test_rope_yarn);
  RUN(test_attn_gqa);
  RUN(test_attn_causal);
  RUN(test_attn_v_view_of_k);
  return DS_TEST_RESULT();
}
