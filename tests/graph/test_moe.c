/* test_moe.c — the block-scaled FP8 and mixture-of-experts ops against direct
 * implementations written here: mul_mat / get_rows with FP8 weights and
 * 128x128 scale grids (partial edge blocks), mul_mat_id with stacked and
 * scattered (table) experts, routing (softmax; sigmoid + bias + groups) and
 * the weighted sum; hand-checked routing cases; error paths. */
#include "harness.h"
#include "levels.h"
#include "kernels/cpu.h"
#include "kernels/type_ops.h"
#include "kernels/vec.h"
#include "util.h"

#include <math.h>

/* e4m3fn decoded from its bits (s eeee mmm, bias 7), independent of the library. */
static double e4m3(uint8_t v)
{
  int s = v >> 7, e = (v >> 3) & 15, m = v & 7;
  double x = e == 0 ? m / 8.0 * ldexp(1.0, -6) : (1.0 + m / 8.0) * ldexp(1.0, e - 7);
  return s ? -x : x;
}

/* Random FP8 codes (no NaN) for [rows, cols] and a grid of power-of-two scales. */
static void make_fp8(int64_t rows, int64_t cols, uint8_t *q, float *scale, int64_t *srows, int64_t *scols)
{
  *srows = (rows + 127) / 128;
  *scols = (cols + 127) / 128;
  for (int64_t i = 0; i < rows * cols; i++) {
    uint8_t v;
    do v = (uint8_t)rng_u32(); while ((v & 0x7F) == 0x7F);
    q[i] = v;
  }
  for (int64_t i = 0; i < *srows * *scols; i++) scale[i] = ldexpf(1.0f, (int)(rng_u32() % 7) - 10);
}

static double fp8_value(const uint8_t *q, const float *scale, int64_t scols, int64_t cols, int64_t i, int64_t j)
{
  return e4m3(q[i * cols + j]) * scale[(i / 128) * scols + j / 128];
}

static void test_fp8_mul_mat_get_rows(void)
{
  const int64_t K = 200, N = 130, M = 3;   /* 2 x 2 blocks, both partial */
  uint8_t *q = malloc((size_t)(K * N));
  float scale[4];
  int64_t sr, sc;
  make_fp8(N, K, q, scale, &sr, &sc);
  ds_graph *g = ds_graph_new();
  ds_tensor *w = ds_tensor_external(g, DSEEK_TYPE_F8_E4M3, 2, (int64_t[]){K, N}, q, "w");
  ds_tensor *s = ds_tensor_external(g, DSEEK_TYPE_F32, 2, (int64_t[]){sc, sr}, scale, "w.scale");
  ds_tensor *x = input_f32(g, K, M, 1, 1);
  ds_tensor *ids = input_i32(g, 4);
  ds_tensor *y = ds_op_mul_mat_scaled(g, w, s, x);
  ds_tensor *r = ds_op_get_rows_scaled(g, w, s, ids);
  ds_tensor_set_output(y);
  ds_tensor_set_output(r);
  CHECK(ds_graph_plan(g, 4) == DSEEK_OK);
  fill_inputs(g);
  int32_t want_rows[4] = {0, 127, 128, 129};
  memcpy(ids->data, want_rows, sizeof want_rows);
  CHECK(same_bits_for_thread_counts(g, y));
  int bad = 0;
  for (int64_t m = 0; m < M; m++)
    for (int64_t n = 0; n < N; n++) {
      double ref = 0;
      for (int64_t k = 0; k < K; k++) ref += fp8_value(q, scale, sc, K, n, k) * at(x, k, m, 0, 0);
      if (fabs(ref - at(y, n, m, 0, 0)) > 1e-4 * (1 + fabs(ref))) bad++;
    }
  CHECK_MSG(bad == 0, "fp8 mul_mat: %d wrong", bad);
  bad = 0;
  for (int i = 0; i < 4; i++)
    for (int64_t k = 0; k < K; k++)
      if (at(r, k, i, 0, 0) != (float)fp8_value(q, scale, sc, K, want_rows[i], k)) bad++;
  CHECK_MSG(bad == 0, "fp8 get_rows: %d wrong", bad);
  ds_graph_free(g);

  /* a scale grid of the wrong shape, and an unscaled FP8 expert set */
  g = ds_graph_new();
  w = ds_tensor_external(g, DSEEK_TYPE_F8_E4M3, 2, (int64_t[]){K, N}, q, "w");
  s = ds_tensor_external(g, DSEEK_TYPE_F32, 2, (int64_t[]){sr, sc + 1}, scale, "bad.scale");
  x = input_f32(g, K, M, 1, 1);
  CHECK(ds_op_mul_mat_scaled(g, w, s, x) == NULL);
  CHECK(strstr(dseek_last_error(), "bad.scale") != NULL);
  ds_graph_free(g);
  free(q);
}

/* Random IQ rows (kinds 3, 4: IQ2_XXS, IQ1_M) with finite f16 scales d in
 * [1/64, 1/32): IQ2_XXS keeps d in its first two bytes, IQ1_M in the top
 * nibbles of bytes 49, 51, 53, 55 of each 56-byte super-block. */
static void make_iq(int type, size_t bytes, uint8_t *w)
{
  const size_t bb = type == DSEEK_TYPE_IQ1_M ? 56 : 66;
  for (size_t i = 0; i < bytes; i++) w[i] = (uint8_t)rng_u32();
  for (size_t b = 0; b < bytes / bb; b++) {
    const uint16_t h = (uint16_t)(0x2400 | (rng_u32() & 0x3FF));   /* 2^-6 .. 2^-5 */
    uint8_t *p = w + b * bb;
    if (type == DSEEK_TYPE_IQ1_M)
      for (int k = 0; k < 4; k++) p[49 + 2 * k] = (uint8_t)((p[49 + 2 * k] & 0x0F) | ((h >> 4 * k) & 0xF) << 4);
    else
      p[0] = (uint8_t)h, p[1] = (uint8_t)(h >> 8);
  }
}

/* mul_mat_id: E experts [K, N] (f32 stacked, Q8_0 stacked, FP8 scattered via
 * a table, IQ2_XXS, IQ1_M and Q4_K stacked) against out[:, j, t] = W_e
 * x[:, j % X1, t]. */
static void mul_mat_id_case(int kind, int64_t X1)
{
  const bool qa = kind != 0 && kind != 2 && ds_cpu_level_get() != DS_CPU_REFERENCE;   /* against QA rows */
  const int64_t K = kind >= 3 ? 256 : 160, N = 7, E = 5, k = 3, T = 6;
  float *vals = malloc((size_t)(K * N * E) * sizeof *vals);   /* exact expected weights */
  void *data = NULL;
  uint8_t *fp8[5] = {0};
  float *fscale[5] = {0};
  int64_t table[10], sr = 0, sc = 0;
  int type = DSEEK_TYPE_F32;
  if (kind == 0) {
    float *f = malloc((size_t)(K * N * E) * sizeof *f);
    fill(f, K * N * E);
    memcpy(vals, f, (size_t)(K * N * E) * sizeof *f);
    data = f;
  } else if (kind == 3 || kind == 4) {
    type = kind == 3 ? DSEEK_TYPE_IQ2_XXS : DSEEK_TYPE_IQ1_M;
    uint64_t row;
    ds_row_size(type, K, &row);
    uint8_t *w = malloc((size_t)row * (size_t)(N * E));
    make_iq(type, (size_t)row * (size_t)(N * E), w);
    ds_type_traits_get(type)->to_float(w, vals, K * N * E);   /* checked against llama.cpp in tests/quant */
    data = w;
  } else if (kind == 1 || kind == 5) {
    type = kind == 1 ? DSEEK_TYPE_Q8_0 : DSEEK_TYPE_Q4_K;
    const ds_type_traits *tr = ds_type_traits_get(type);
    uint64_t row;
    ds_row_size(type, K, &row);
    char *w = malloc((size_t)row * (size_t)(N * E));
    float *f = malloc((size_t)K * sizeof *f);
    for (int64_t n = 0; n < N * E; n++) {
      fill(f, K);
      tr->from_float(f, w + n * (int64_t)row, K);
      tr->to_float(w + n * (int64_t)row, vals + n * K, K);
    }
    free(f);
    data = w;
  } else {
    type = DSEEK_TYPE_F8_E4M3;
    for (int64_t e = 0; e < E; e++) {
      fp8[e] = malloc((size_t)(K * N));
      fscale[e] = malloc(4 * sizeof(float));
      make_fp8(N, K, fp8[e], fscale[e], &sr, &sc);
      for (int64_t n = 0; n < N; n++)
        for (int64_t i = 0; i < K; i++) vals[(e * N + n) * K + i] = (float)fp8_value(fp8[e], fscale[e], sc, K, n, i);
      table[2 * e] = (int64_t)(uintptr_t)fp8[e];
      table[2 * e + 1] = (int64_t)(uintptr_t)fscale[e];
    }
    data = fp8[0];
  }
  ds_graph *g = ds_graph_new();
  ds_tensor *w = ds_tensor_external(g, type, 3, (int64_t[]){K, N, E}, data, "experts");
  ds_tensor *scale = NULL, *tab = NULL;
  if (kind == 2) {
    scale = ds_tensor_external(g, DSEEK_TYPE_F32, 3, (int64_t[]){sc, sr, E}, fscale[0], "experts.scale");
    tab = ds_tensor_external(g, DSEEK_TYPE_I64, 2, (int64_t[]){2, E}, table, "experts.table");
  }
  ds_tensor *x = input_f32(g, K, X1, T, 1);
  int64_t ne_ids[2] = {k, T};
  ds_tensor *ids = ds_tensor_input(g, DSEEK_TYPE_I32, 2, ne_ids, "ids");
  ds_tensor *y = ds_op_mul_mat_id(g, w, scale, tab, x, ids);
  ds_tensor_set_output(y);
  CHECK(y && y->ne[0] == N && y->ne[1] == k && y->ne[2] == T);
  CHECK(ds_graph_plan(g, 4) == DSEEK_OK);
  fill_inputs(g);
  /* distinct experts per token, expert 4 never used, expert 0 by every token */
  int32_t *id = ids->data;
  for (int64_t t = 0; t < T; t++) {
    id[t * k] = 0;
    id[t * k + 1] = (int32_t)(1 + t % 3);
    id[t * k + 2] = (int32_t)(1 + (t + 1) % 3);
  }
  CHECK(same_bits_for_thread_counts(g, y));
  int bad = 0;
  for (int64_t t = 0; t < T; t++)
    for (int64_t j = 0; j < k; j++)
      for (int64_t n = 0; n < N; n++) {
        /* Above the reference level a Q8_0 expert meets the input rounded
         * to int8 per 32-block (scale d_b = max |x in b| / 127): each value
         * moves by at most d_b / 2, so the dot by sum_b d_b / 2 sum_b |w|. */
        double ref = 0, bound = 0, wsum = 0, xmax = 0;
        for (int64_t i = 0; i < K; i++) {
          const double wv = vals[(id[t * k + j] * N + n) * K + i], xv = at(x, i, j % X1, t, 0);
          ref += wv * xv;
          wsum += fabs(wv);
          xmax = fmax(xmax, fabs(xv));
          if (i % 32 == 31) { bound += xmax / 127 / 2 * wsum; wsum = xmax = 0; }
        }
        if (!qa) bound = 0;
        if (fabs(ref - at(y, n, j, t, 0)) > bound + 1e-4 * (1 + fabs(ref))) bad++;
      }
  CHECK_MSG(bad == 0, "mul_mat_id kind %d X1 %lld level %d: %d wrong", kind, (long long)X1,
            (int)ds_cpu_level_get(), bad);
  /* the IQ and K-quant experts take the level's integer dot (not rows
   * decoded to f32): the op's values are that dot's bits */
  if (qa && kind >= 3) {
    const ds_vec_kernels *vk = ds_vec_get(ds_cpu_level_get());
    const ds_vec_dot_fn dot = ds_cpu_type_ops_get(vk, type)->dot;
    uint64_t row;
    ds_row_size(type, K, &row);
    void *qx = aligned_alloc(64, ds_qa_row_bytes(K));
    float *xc = malloc((size_t)K * sizeof *xc);
    int differ = 0;
#ifdef DS_VEC_NEON
    const bool may_lack = ds_vec_iq_index(type) >= 0;   /* no IQ dots at the NEON levels yet */
#else
    const bool may_lack = false;
#endif
    CHECK_MSG(dot != NULL || may_lack, "%s has no %s dot", vk->name, ds_type_traits_get(type)->name);
    for (int64_t t = 0; dot && t < T; t++)
      for (int64_t j = 0; j < k; j++) {
        for (int64_t i = 0; i < K; i++) xc[i] = at(x, i, j % X1, t, 0);
        vk->quantize_qa(xc, K, qx);
        for (int64_t n = 0; n < N; n++) {
          float v;
          dot(K, (const char *)data + (size_t)((id[t * k + j] * N + n) * (int64_t)row), qx, 0, 1, &v);
          const float got = at(y, n, j, t, 0);
          differ += memcmp(&v, &got, sizeof v) != 0;
        }
      }
    CHECK_MSG(differ == 0, "mul_mat_id %s at %s: %d values not the integer dot's", ds_type_traits_get(type)->name,
              vk->name, differ);
    free(qx);
    free(xc);
  }
  /* an id out of range fails compute */
  id[1] = (int32_t)E;
  CHECK(compute_threads(g, 2) == DSEEK_ERR_INVALID_ARG);
  ds_graph_free(g);
  if (kind == 2)
    for (int64_t e = 0; e < E; e++) { free(fp8[e]); free(fscale[e]); }
  else
    free(data);
  free(vals);
}

/* Every kernel level this CPU runs: the reference loop and the level's dots. */
static void test_mul_mat_id(void)
{
  const ds_cpu_level best = ds_cpu_level_get();
  for (int l = DS_CPU_REFERENCE; l <= (int)best; l++) {
    ds_cpu_level_set((ds_cpu_level)l);
    for (int kind = 0; kind < 6; kind++) {
      mul_mat_id_case(kind, 1);
      mul_mat_id_case(kind, 3);
    }
  }
  ds_cpu_level_set(best);
}

/* Routing written out directly: scores, selection score, group filter, top-k
 * by full sort (stable on index), weights. */
static void route_direct(const float *logits, const float *bias, int64_t E, const ds_moe_params *p,
                         int32_t *ids, float *w)
{
  double s[64], sel[64], sum = 0, mx = -INFINITY;
  for (int64_t e = 0; e < E; e++) mx = fmax(mx, logits[e]);
  for (int64_t e = 0; e < E; e++) {
    s[e] = p->scoring == DS_MOE_SIGMOID ? 1 / (1 + exp(-(double)logits[e])) : exp((double)logits[e] - mx);
    sum += s[e];
  }
  for (int64_t e = 0; e < E; e++) {
    if (p->scoring == DS_MOE_SOFTMAX) s[e] /= sum;
    sel[e] = s[e] + (bias ? bias[e] : 0);
  }
  int64_t G = p->n_group, per = E / G;
  if (G > 1) {
    double gs[16];
    for (int64_t g = 0; g < G; g++) {
      double a = -INFINITY, b = -INFINITY;   /* best and second best */
      for (int64_t e = g * per; e < (g + 1) * per; e++) {
        if (sel[e] > a) { b = a; a = sel[e]; }
        else if (sel[e] > b) b = sel[e];
      }
      gs[g] = p->group_top2sum ? a + b : a;
    }
    bool keep[16] = {0};
    for (int i = 0; i < p->n_group_used; i++) {
      int64_t best = -1;
      for (int64_t g = 0; g < G; g++)
        if (!keep[g] && (best < 0 || gs[g] > gs[best])) best = g;
      keep[best] = true;
    }
    for (int64_t e = 0; e < E; e++)
      if (!keep[e / per]) sel[e] = -INFINITY;
  }
  bool taken[64] = {0};
  double wsum = 0;
  for (int j = 0; j < p->n_used; j++) {
    int64_t best = -1;
    for (int64_t e = 0; e < E; e++)
      if (!taken[e] && sel[e] > -INFINITY && (best < 0 || sel[e] > sel[best])) best = e;
    taken[best] = true;
    ids[j] = (int32_t)best;
    wsum += s[best];
  }
  for (int j = 0; j < p->n_used; j++)
    w[j] = (float)((p->norm && p->n_used > 1 ? s[ids[j]] / (wsum + 1e-20) : s[ids[j]]) * p->scale);
}

static void route_case(const ds_moe_params *p, int64_t E, bool with_bias)
{
  const int64_t T = 9;
  ds_graph *g = ds_graph_new();
  ds_tensor *logits = input_f32(g, E, T, 1, 1);
  ds_tensor *bias = with_bias ? input_f32(g, E, 1, 1, 1) : NULL;
  ds_tensor *ids = ds_op_moe_route(g, logits, bias, p);
  ds_tensor *w = ds_op_moe_weights(g, logits, ids, p);
  ds_tensor_set_output(ids);
  ds_tensor_set_output(w);
  CHECK(w && w->ne[0] == p->n_used && w->ne[1] == T);
  CHECK(ds_graph_plan(g, 4) == DSEEK_OK);
  fill_inputs(g);
  for (int64_t i = 0; i < E * T; i++) ((float *)logits->data)[i] *= 4.0f;
  CHECK(same_bits_for_thread_counts(g, w));
  int bad_ids = 0, bad_w = 0;
  for (int64_t t = 0; t < T; t++) {
    int32_t want[16];
    float ww[16];
    route_direct((float *)logits->data + t * E, bias ? bias->data : NULL, E, p, want, ww);
    for (int j = 0; j < p->n_used; j++) {
      bad_ids += ((int32_t *)ids->data)[t * p->n_used + j] != want[j];
      bad_w += fabsf(((float *)w->data)[t * p->n_used + j] - ww[j]) > 1e-5f;
    }
  }
  CHECK_MSG(bad_ids == 0 && bad_w == 0, "route E=%lld groups %d/%d: %d ids, %d weights wrong", (long long)E,
            p->n_group, p->n_group_used, bad_ids, bad_w);
  ds_graph_free(g);
}

static void test_route(void)
{
  ds_moe_params v2 = {.n_used = 2, .scoring = DS_MOE_SOFTMAX, .n_group = 1, .n_group_used = 1, .scale = 1.0f};
  route_case(&v2, 8, false);
  ds_moe_params v3 = {.n_used = 4, .scoring = DS_MOE_SIGMOID, .n_group = 4, .n_group_used = 2,
                      .group_top2sum = true, .norm = true, .scale = 2.5f};
  route_case(&v3, 16, true);
  ds_moe_params v2g = {.n_used = 3, .scoring = DS_MOE_SOFTMAX, .n_group = 4, .n_group_used = 2, .scale = 1.5f};
  route_case(&v2g, 16, false);

  /* By hand: 8 experts in 4 groups of 2, sigmoid scores s = 1/(1+e^-x) and
   * a bias. sel = s + bias; group top-2 sums keep groups 3 and 1. */
  float logits[8] = {2.0f, 0.0f, -1.0f, 1.0f, 3.0f, -3.0f, 0.5f, 0.5f};
  float bias[8] = {0, 0, 0, 0.5f, -1.0f, 0, 0.25f, 0};
  /* sel: 0.881 0.5 | 0.269 1.231 | -0.047 0.047 | 0.872 0.622  -> groups 1.381, 1.500, 0.0, 1.494
   * keep groups 1 and 3 -> top-2 of {2: .269, 3: 1.231, 6: .872, 7: .622} = 3, 6 */
  ds_graph *g = ds_graph_new();
  ds_tensor *lt = ds_tensor_external(g, DSEEK_TYPE_F32, 2, (int64_t[]){8, 1}, logits, "logits");
  ds_tensor *bt = ds_tensor_external(g, DSEEK_TYPE_F32, 1, (int64_t[]){8}, bias, "bias");
  ds_moe_params p = {.n_used = 2, .scoring = DS_MOE_SIGMOID, .n_group = 4, .n_group_used = 2,
                     .group_top2sum = true, .norm = true, .scale = 2.0f};
  ds_tensor *ids = ds_op_moe_route(g, lt, bt, &p);
  ds_tensor *w = ds_op_moe_weights(g, lt, ids, &p);
  ds_tensor_set_output(ids);
  ds_tensor_set_output(w);
  CHECK(ds_graph_plan(g, 1) == DSEEK_OK);
  CHECK(ds_graph_compute(g, NULL) == DSEEK_OK);
  int32_t *got = ids->data;
  CHECK(got[0] == 3 && got[1] == 6);
  /* weights from s without bias: s3 = 0.7311, s6 = 0.6225, normalised, x2 */
  double s3 = 1 / (1 + exp(-1.0)), s6 = 1 / (1 + exp(-0.5));
  CHECK_NEAR(((float *)w->data)[0], 2 * s3 / (s3 + s6), 1e-6);
  CHECK_NEAR(((float *)w->data)[1], 2 * s6 / (s3 + s6), 1e-6);
  /* with the max group score instead (0.881, 1.231, 0.047, 0.872) groups 1
   * and 0 win -> experts 3 (1.231) and 0 (0.881) */
  ds_graph_free(g);
  g = ds_graph_new();
  lt = ds_tensor_external(g, DSEEK_TYPE_F32, 2, (int64_t[]){8, 1}, logits, "logits");
  bt = ds_tensor_external(g, DSEEK_TYPE_F32, 1, (int64_t[]){8}, bias, "bias");
  p.group_top2sum = false;
  ids = ds_op_moe_route(g, lt, bt, &p);
  ds_tensor_set_output(ids);
  CHECK(ds_graph_plan(g, 1) == DSEEK_OK);
  CHECK(ds_graph_compute(g, NULL) == DSEEK_OK);
  got = ids->data;
  CHECK(got[0] == 3 && got[1] == 0);
  /* bad parameters: k larger than the kept groups hold */
  ds_graph_free(g);
  g = ds_graph_new();
  lt = ds_tensor_external(g, DSEEK_TYPE_F32, 2, (int64_t[]){8, 1}, logits, "logits");
  p.n_used = 5;
  CHECK(ds_op_moe_route(g, lt, NULL, &p) == NULL);
  CHECK(strstr(dseek_last_error(), "moe_route") != NULL);
  ds_graph_free(g);
}

static void test_moe_sum(void)
{
  const int64_t n = 5, k = 3, T = 4;
  ds_graph *g = ds_graph_new();
  ds_tensor *y = input_f32(g, n, k, T, 1);
  ds_tensor *w = input_f32(g, k, T, 1, 1);
  ds_tensor *out = ds_op_moe_sum(g, y, w);
  ds_tensor_set_output(out);
  CHECK(out && out->ne[0] == n && out->ne[1] == T);
  CHECK(ds_graph_plan(g, 4) == DSEEK_OK);
  fill_inputs(g);
  CHECK(same_bits_for_thread_counts(g, out));
  int bad = 0;
  for (int64_t t = 0; t < T; t++)
    for (int64_t i = 0; i < n; i++) {
      double ref = 0;
      for (int64_t j = 0; j < k; j++) ref += (double)at(w, j, t, 0, 0) * at(y, i, j, t, 0);
      bad += fabs(ref - at(out, i, t, 0, 0)) > 1e-6;
    }
  CHECK(bad == 0);
  ds_tensor *bad_w = input_f32(g, k + 1, T, 1, 1);
  CHECK(bad_w == NULL);   /* the graph is planned: constructors fail */
  ds_graph_free(g);
}

int main(void)
{
  ds_test_levels();
  RUN(test_fp8_mul_mat_get_rows);
  RUN(test_mul_mat_id);
  RUN(test_route);
  RUN(test_moe_sum);
  return DS_TEST_RESULT();
}
