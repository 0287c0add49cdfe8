/* test_ops.c — each op against a direct implementation written here, on odd
 * shapes, with broadcasting, every weight type available, and the error
 * paths. Weights of f16/bf16/e4m3 are built from multiples of 1/8 in [-2, 2],
 * which all three types represent exactly, so the expected values do not
 * depend on the library's converters. */
#include "harness.h"
#include "levels.h"
#include "kernels/cpu.h"
#include "util.h"

#include <math.h>

/* A weight [K, N] of type, its exact values in vals (K*N, k/8 in [-2, 2]). */
static void *make_weight(int type, int64_t K, int64_t N, float *vals)
{
  const ds_type_traits *tr = ds_type_traits_get(type);
  uint64_t row;
  if (!tr || !tr->from_float || !ds_row_size(type, K, &row)) return NULL;
  char *w = malloc((size_t)(row * (uint64_t)N));
  for (int64_t i = 0; i < K * N; i++) vals[i] = (float)((int)(rng_u32() % 33) - 16) / 8.0f;
  for (int64_t n = 0; n < N; n++) tr->from_float(vals + n * K, w + n * row, K);
  return w;
}

static void mul_mat_case(int type, int64_t K, int64_t N, int64_t M, bool exact_values)
{
  float *vals = malloc((size_t)(K * N) * sizeof *vals);
  void *wdata = make_weight(type, K, N, vals);
  CHECK(wdata != NULL);
  if (!wdata) { free(vals); return; }
  if (!exact_values) {   /* block types: the values are what the format decodes to */
    const ds_type_traits *tr = ds_type_traits_get(type);
    uint64_t row;
    ds_row_size(type, K, &row);
    for (int64_t n = 0; n < N; n++) tr->to_float((char *)wdata + n * row, vals + n * K, K);
  }
  ds_graph *g = ds_graph_new();
  ds_tensor *w = ds_tensor_external(g, type, 2, (int64_t[]){K, N}, wdata, "w");
  ds_tensor *x = input_f32(g, K, M, 1, 1);
  ds_tensor *y = ds_op_mul_mat(g, w, x);
  ds_tensor_set_output(y);
  CHECK(y && y->ne[0] == N && y->ne[1] == M);
  CHECK(ds_graph_plan(g, 4) == DSEEK_OK);
  fill_inputs(g);
  CHECK(same_bits_for_thread_counts(g, y));
  int bad = 0;
  for (int64_t m = 0; m < M; m++) {
    for (int64_t n = 0; n < N; n++) {
      double ref = 0;
      for (int64_t k = 0; k < K; k++) ref += (double)vals[n * K + k] * at(x, k, m, 0, 0);
      if (fabs(ref - at(y, n, m, 0, 0)) > 1e-5 * (double)K + 1e-5) bad++;
    }
  }
  CHECK_MSG(bad == 0, "%s K=%lld N=%lld M=%lld: %d wrong", dseek_type_name(type), (long long)K,
            (long long)N, (long long)M, bad);
  ds_graph_free(g);
  free(wdata);
  free(vals);
}

static void test_mul_mat_plain_types(void)
{
  const int types[] = {DSEEK_TYPE_F32, DSEEK_TYPE_F16, DSEEK_TYPE_BF16, DSEEK_TYPE_F8_E4M3};
  const int64_t shapes[][3] = {{1, 1, 1}, {7, 3, 5}, {33, 7, 1}, {4097, 3, 2}};
  for (size_t t = 0; t < DS_ARRAY_LEN(types); t++)
    for (size_t s = 0; s < DS_ARRAY_LEN(shapes); s++)
      mul_mat_case(types[t], shapes[s][0], shapes[s][1], shapes[s][2], true);
}

/* At the reference level (f32 activations): the default kernels round
 * activations to int8 for Q8_0/Q4_0, which tests/kernels bounds exactly. */
static void test_mul_mat_block_types(void)
{
  const int types[] = {DSEEK_TYPE_Q8_0, DSEEK_TYPE_Q4_0, DSEEK_TYPE_Q4_K, DSEEK_TYPE_Q6_K};
  int tested = 0;
  ds_cpu_level level = ds_cpu_level_get();
  ds_cpu_level_set(DS_CPU_REFERENCE);
  for (size_t t = 0; t < DS_ARRAY_LEN(types); t++) {
    const ds_type_traits *tr = ds_type_traits_get(types[t]);
    if (!tr || !tr->from_float) continue;   /* not implemented yet: skip */
    mul_mat_case(types[t], tr->block_size * 3, 5, 3, false);
    tested++;
  }
  ds_cpu_level_set(level);
  fprintf(stderr, "  block types tested: %d\n", tested);
}

/* w [K, N, 2, 1] shared by batches: x [K, M, 6, 2] uses w batch b2 / 3. */
static void test_mul_mat_broadcast(void)
{
  const int64_t K = 9, N = 4, M = 3;
  float wv[9 * 4 * 2];
  fill(wv, K * N * 2);
  ds_graph *g = ds_graph_new();
  ds_tensor *w = ds_tensor_external(g, DSEEK_TYPE_F32, 3, (int64_t[]){K, N, 2}, wv, "w");
  ds_tensor *x = input_f32(g, K, M, 6, 2);
  ds_tensor *y = ds_op_mul_mat(g, w, x);
  ds_tensor_set_output(y);
  CHECK(ds_graph_plan(g, 4) == DSEEK_OK);
  fill_inputs(g);
  CHECK(same_bits_for_thread_counts(g, y));
  double err = 0;
  for (int64_t b3 = 0; b3 < 2; b3++)
    for (int64_t b2 = 0; b2 < 6; b2++)
      for (int64_t m = 0; m < M; m++)
        for (int64_t n = 0; n < N; n++) {
          double ref = 0;
          for (int64_t k = 0; k < K; k++) ref += (double)wv[(b2 / 3) * K * N + n * K + k] * at(x, k, m, b2, b3);
          err = fmax(err, fabs(ref - at(y, n, m, b2, b3)));
        }
  CHECK_NEAR(err, 0, 1e-5);
  ds_graph_free(g);
}

static void test_get_rows(void)
{
  const int64_t d = 7, vocab = 11;
  float vals[7 * 11];
  void *table = make_weight(DSEEK_TYPE_F16, d, vocab, vals);
  ds_graph *g = ds_graph_new();
  ds_tensor *w = ds_tensor_external(g, DSEEK_TYPE_F16, 2, (int64_t[]){d, vocab}, table, "tok_embd");
  ds_tensor *ids = input_i32(g, 4);
  ds_tensor *y = ds_op_get_rows(g, w, ids);
  ds_tensor_set_output(y);
  CHECK(ds_graph_plan(g, 2) == DSEEK_OK);
  int32_t want[4] = {3, 0, 10, 3};
  memcpy(ids->data, want, sizeof want);
  CHECK(compute_threads(g, 2) == DSEEK_OK);
  int bad = 0;
  for (int r = 0; r < 4; r++)
    for (int64_t i = 0; i < d; i++) bad += at(y, i, r, 0, 0) != vals[want[r] * d + i];
  CHECK_EQ_INT(bad, 0);
  ((int32_t *)ids->data)[2] = 11;   /* out of range: an error, not a crash */
  CHECK_EQ_INT(compute_threads(g, 2), DSEEK_ERR_INVALID_ARG);
  CHECK(strstr(dseek_last_error(), "tok_embd") || strstr(dseek_last_error(), "get_rows"));
  CHECK(strstr(dseek_last_error(), "11") != NULL);
  ds_graph_free(g);
  free(table);
}

/* add / mul with b repeated along rows (a norm weight), heads, and dim 1. */
static void test_add_mul_broadcast(void)
{
  const int64_t bshapes[][4] = {{33, 1, 1, 1}, {33, 1, 3, 1}, {1, 7, 1, 1}, {33, 7, 3, 1}};
  for (size_t s = 0; s < DS_ARRAY_LEN(bshapes); s++) {
    for (int is_mul = 0; is_mul < 2; is_mul++) {
      ds_graph *g = ds_graph_new();
      ds_tensor *a = input_f32(g, 33, 7, 3, 1);
      ds_tensor *b = input_f32(g, bshapes[s][0], bshapes[s][1], bshapes[s][2], bshapes[s][3]);
      ds_tensor *y = is_mul ? ds_op_mul(g, a, b) : ds_op_add(g, a, b);
      ds_tensor_set_output(y);
      CHECK(ds_graph_plan(g, 4) == DSEEK_OK);
      fill_inputs(g);
      CHECK(same_bits_for_thread_counts(g, y));
      int bad = 0;
      for (int64_t i2 = 0; i2 < 3; i2++)
        for (int64_t i1 = 0; i1 < 7; i1++)
          for (int64_t i0 = 0; i0 < 33; i0++) {
            float x = at(a, i0, i1, i2, 0);
            float z = at(b, i0 % b->ne[0], i1 % b->ne[1], i2 % b->ne[2], 0);
            bad += at(y, i0, i1, i2, 0) != (is_mul ? x * z : x + z);
          }
      CHECK_MSG(bad == 0, "shape %zu mul %d", s, is_mul);
      ds_graph_free(g);
    }
  }
}

static void test_unary(void)
{
  ds_graph *g = ds_graph_new();
  ds_tensor *a = input_f32(g, 4097, 2, 1, 1);
  ds_tensor *b = input_f32(g, 4097, 2, 1, 1);
  ds_tensor *sc = ds_op_scale(g, a, -0.375f);
  ds_tensor *si = ds_op_silu(g, a);
  ds_tensor *sw = ds_op_swiglu(g, a, b);
  ds_tensor_set_output(sc);
  ds_tensor_set_output(si);
  ds_tensor_set_output(sw);
  CHECK(ds_graph_plan(g, 3) == DSEEK_OK);
  fill_inputs(g);
  ((float *)a->data)[0] = 30.0f;     /* large |x|: no overflow in e^-x */
  ((float *)a->data)[1] = -30.0f;
  CHECK(compute_threads(g, 3) == DSEEK_OK);
  double e_sc = 0, e_si = 0, e_sw = 0;
  for (int64_t i = 0; i < 4097 * 2; i++) {
    double x = ((float *)a->data)[i], u = ((float *)b->data)[i];
    double silu = x / (1.0 + exp(-x));
    e_sc = fmax(e_sc, fabs(((float *)sc->data)[i] - (float)(-0.375 * x)));   /* one rounding */
    e_si = fmax(e_si, fabs(((float *)si->data)[i] - silu));
    e_sw = fmax(e_sw, fabs(((float *)sw->data)[i] - silu * u));
  }
  CHECK_NEAR(e_sc, 0, 0);
  CHECK_NEAR(e_si, 0, 1e-5);
  CHECK_NEAR(e_sw, 0, 1e-5);
  ds_graph_free(g);
}

static void test_rms_norm(void)
{
  const int64_t shapes[][2] = {{1, 1}, {7, 3}, {4097, 2}};
  for (size_t s = 0; s < DS_ARRAY_LEN(shapes); s++) {
    int64_t n = shapes[s][0], rows = shapes[s][1];
    ds_graph *g = ds_graph_new();
    ds_tensor *a = input_f32(g, n, rows, 1, 1);
    ds_tensor *y = ds_op_rms_norm(g, a, 1e-6f);
    ds_tensor_set_output(y);
    CHECK(ds_graph_plan(g, 4) == DSEEK_OK);
    fill_inputs(g);
    CHECK(same_bits_for_thread_counts(g, y));
    double err = 0;
    for (int64_t r = 0; r < rows; r++) {
      double ss = 0;
      for (int64_t i = 0; i < n; i++) ss += (double)at(a, i, r, 0, 0) * at(a, i, r, 0, 0);
      double inv = 1.0 / sqrt(ss / (double)n + 1e-6);
      for (int64_t i = 0; i < n; i++) err = fmax(err, fabs(at(a, i, r, 0, 0) * inv - at(y, i, r, 0, 0)));
    }
    CHECK_NEAR(err, 0, 1e-5);
    ds_graph_free(g);
  }
}

/* softmax(scale x + mask) with a mask broadcast over heads; masked entries
 * give exactly 0, a fully masked row gives zeros (not NaN). */
static void test_softmax(void)
{
  ds_graph *g = ds_graph_new();
  ds_tensor *a = input_f32(g, 7, 5, 3, 1);
  ds_tensor *mask = input_f32(g, 7, 5, 1, 1);
  ds_tensor *y = ds_op_softmax(g, a, mask, 0.5f);
  ds_tensor *plain = ds_op_softmax(g, a, NULL, 1.0f);
  ds_tensor_set_output(y);
  ds_tensor_set_output(plain);
  CHECK(ds_graph_plan(g, 4) == DSEEK_OK);
  fill_inputs(g);
  float *m = mask->data;
  for (int64_t r = 0; r < 5; r++)     /* causal-like: row r sees columns <= r + 1 */
    for (int64_t c = 0; c < 7; c++) m[r * 7 + c] = c <= r + 1 ? 0.25f * (float)c : -INFINITY;
  for (int64_t c = 0; c < 7; c++) m[4 * 7 + c] = -INFINITY;   /* row 4: nothing visible */
  CHECK(same_bits_for_thread_counts(g, y));
  double err = 0;
  int nonzero_masked = 0, nan_seen = 0;
  for (int64_t h = 0; h < 3; h++)
    for (int64_t r = 0; r < 5; r++) {
      double v[7], mx = -INFINITY, sum = 0;
      for (int64_t c = 0; c < 7; c++) {
        v[c] = 0.5 * at(a, c, r, h, 0) + m[r * 7 + c];
        mx = fmax(mx, v[c]);
      }
      for (int64_t c = 0; c < 7; c++) sum += isinf(v[c]) ? 0 : exp(v[c] - mx);
      for (int64_t c = 0; c < 7; c++) {
        float got = at(y, c, r, h, 0);
        nan_seen += isnan(got);
        if (isinf(m[r * 7 + c])) nonzero_masked += got != 0.0f;
        else err = fmax(err, fabs(got - exp(v[c] - mx) / sum));
      }
      double psum = 0, pmx = -INFINITY;
      for (int64_t c = 0; c < 7; c++) pmx = fmax(pmx, at(a, c, r, h, 0));
      for (int64_t c = 0; c < 7; c++) psum += exp(at(a, c, r, h, 0) - pmx);
      for (int64_t c = 0; c < 7; c++)
        err = fmax(err, fabs(at(plain, c, r, h, 0) - exp(at(a, c, r, h, 0) - pmx) / psum));
    }
  CHECK_NEAR(err, 0, 1e-6);
  CHECK_EQ_INT(nonzero_masked, 0);
  CHECK_EQ_INT(nan_seen, 0);
  ds_graph_free(g);
}

static void test_top_k(void)
{
  ds_graph *g = ds_graph_new();
  ds_tensor *a = input_f32(g, 8, 1, 1, 1);
  ds_tensor *y = ds_op_top_k(g, a, 5);
  ds_tensor *r = input_f32(g, 33, 7, 1, 1);
  ds_tensor *yr = ds_op_top_k(g, r, 8);
  ds_tensor *all = ds_op_top_k(g, r, 33);
  ds_tensor_set_output(y);
  ds_tensor_set_output(yr);
  ds_tensor_set_output(all);
  CHECK(y && y->type == DSEEK_TYPE_I32 && y->ne[0] == 5);
  CHECK(ds_graph_plan(g, 4) == DSEEK_OK);
  fill_inputs(g);
  float row[8] = {1.0f, 3.0f, 3.0f, NAN, 2.0f, 3.0f, -INFINITY, 2.0f};
  memcpy(a->data, row, sizeof row);
  float *rv = r->data;   /* many ties: values from a small set */
  for (int64_t i = 0; i < 33 * 7; i++) rv[i] = (float)(rng_u32() % 5);
  CHECK(same_bits_for_thread_counts(g, yr));
  const int32_t want[5] = {1, 2, 5, 4, 7};   /* ties: lower index first; NaN last */
  CHECK(memcmp(y->data, want, sizeof want) == 0);
  /* Reference for random rows: stable selection by repeated argmax. */
  int bad = 0;
  for (int64_t row_i = 0; row_i < 7; row_i++) {
    bool used[33] = {false};
    for (int k = 0; k < 33; k++) {
      int best = -1;
      for (int i = 0; i < 33; i++)
        if (!used[i] && (best < 0 || rv[row_i * 33 + i] > rv[row_i * 33 + best])) best = i;
      used[best] = true;
      if (k < 8) bad += ((int32_t *)yr->data)[row_i * 8 + k] != best;
      bad += ((int32_t *)all->data)[row_i * 33 + k] != best;
    }
  }
  CHECK_EQ_INT(bad, 0);
  ds_graph_free(g);
}

/* cpy into a view of an f16 buffer; set_rows into a bf16 cache. */
static void test_cpy_set_rows(void)
{
  uint16_t buf[6 * 4];
  for (int i = 0; i < 24; i++) buf[i] = 0x7777;
  uint16_t cache[4 * 2 * 6];
  for (int i = 0; i < 48; i++) cache[i] = 0x5555;
  ds_graph *g = ds_graph_new();
  ds_tensor *dst = ds_tensor_external(g, DSEEK_TYPE_F16, 2, (int64_t[]){6, 4}, buf, "buf");
  ds_tensor *src = input_f32(g, 3, 2, 1, 1);
  /* columns 2..4 of rows 1..2 */
  ds_tensor *view = ds_op_view(g, dst, 2, (int64_t[]){3, 2}, (size_t[]){2, 12}, 1 * 12 + 2 * 2);
  ds_tensor *c = ds_op_cpy(g, src, view);
  ds_tensor *kc = ds_tensor_external(g, DSEEK_TYPE_BF16, 3, (int64_t[]){4, 2, 6}, cache, "k_cache");
  ds_tensor *kv = input_f32(g, 4, 2, 3, 1);
  ds_tensor *slots = input_i32(g, 3);
  ds_tensor *sr = ds_op_set_rows(g, kc, kv, slots);
  CHECK(c && sr && c->data == view->data && sr->data == (void *)cache);
  CHECK(ds_graph_plan(g, 4) == DSEEK_OK);
  float *s = src->data, *k = kv->data;
  for (int i = 0; i < 6; i++) s[i] = (float)(i - 3) / 8.0f;
  for (int i = 0; i < 24; i++) k[i] = (float)(i + 1) / 4.0f;
  int32_t sl[3] = {5, 1, 5};   /* slot 5 twice: the last (token 2) wins */
  memcpy(slots->data, sl, sizeof sl);
  CHECK(compute_threads(g, 3) == DSEEK_OK);
  int bad = 0;
  for (int r = 0; r < 4; r++)
    for (int col = 0; col < 6; col++) {
      bool inside = r >= 1 && r <= 2 && col >= 2 && col <= 4;
      float want = inside ? (float)((r - 1) * 3 + (col - 2) - 3) / 8.0f : 0;
      bad += inside ? ds_f16_to_f32(buf[r * 6 + col]) != want : buf[r * 6 + col] != 0x7777;
    }
  CHECK_EQ_INT(bad, 0);
  bad = 0;
  for (int slot = 0; slot < 6; slot++)
    for (int h = 0; h < 2; h++)
      for (int i = 0; i < 4; i++) {
        int tok = slot == 5 ? 2 : slot == 1 ? 1 : -1;
        uint16_t v = cache[slot * 8 + h * 4 + i];
        bad += tok < 0 ? v != 0x5555 : ds_bf16_to_f32(v) != k[tok * 8 + h * 4 + i];
      }
  CHECK_EQ_INT(bad, 0);
  ((int32_t *)slots->data)[0] = 6;
  CHECK_EQ_INT(compute_threads(g, 2), DSEEK_ERR_INVALID_ARG);
  ds_graph_free(g);
}

/* permute / transpose / view / reshape, then cont and concat read through strides. */
static void test_views_cont_concat(void)
{
  ds_graph *g = ds_graph_new();
  ds_tensor *a = input_f32(g, 3, 4, 5, 1);
  ds_tensor *p = ds_op_permute(g, a, 1, 2, 0, 3);   /* a dim0 -> 1, dim1 -> 2, dim2 -> 0 */
  ds_tensor *pc = ds_op_cont(g, p);
  ds_tensor *tr = ds_op_transpose(g, ds_op_reshape(g, a, 2, (int64_t[]){12, 5}));
  ds_tensor *trc = ds_op_cont(g, tr);
  ds_tensor *b = input_f32(g, 3, 4, 2, 1);
  ds_tensor *cat2 = ds_op_concat(g, a, b, 2);
  ds_tensor *c0 = input_f32(g, 1, 4, 5, 1);
  ds_tensor *cat0 = ds_op_concat(g, a, c0, 0);
  /* a strided operand in add: rows 1..2 of each head via a view */
  ds_tensor *v = ds_op_view(g, a, 3, (int64_t[]){3, 2, 5}, (size_t[]){4, 12, 48}, 12);
  ds_tensor *sum = ds_op_add(g, v, v);
  ds_tensor *outs[] = {pc, trc, cat2, cat0, sum};
  for (size_t i = 0; i < DS_ARRAY_LEN(outs); i++) {
    CHECK(outs[i] != NULL);
    ds_tensor_set_output(outs[i]);
  }
  CHECK(p && p->ne[0] == 5 && p->ne[1] == 3 && p->ne[2] == 4);
  CHECK(ds_graph_plan(g, 4) == DSEEK_OK);
  fill_inputs(g);
  CHECK(same_bits_for_thread_counts(g, cat0));
  int bad = 0;
  for (int i0 = 0; i0 < 3; i0++)
    for (int i1 = 0; i1 < 4; i1++)
      for (int i2 = 0; i2 < 5; i2++) {
        float x = at(a, i0, i1, i2, 0);
        bad += at(pc, i2, i0, i1, 0) != x;
        bad += at(trc, i2, i1 * 3 + i0, 0, 0) != x;
        bad += at(cat2, i0, i1, i2, 0) != x;
        bad += at(cat0, i0, i1, i2, 0) != x;
        if (i1 >= 1 && i1 <= 2) bad += at(sum, i0, i1 - 1, i2, 0) != x + x;
      }
  for (int i0 = 0; i0 < 3; i0++)
    for (int i1 = 0; i1 < 4; i1++)
      for (int i2 = 0; i2 < 2; i2++) bad += at(cat2, i0, i1, 5 + i2, 0) != at(b, i0, i1, i2, 0);
  for (int i1 = 0; i1 < 4; i1++)
    for (int i2 = 0; i2 < 5; i2++) bad += at(cat0, 3, i1, i2, 0) != at(c0, 0, i1, i2, 0);
  CHECK_EQ_INT(bad, 0);
  CHECK(ds_tensor_is_contiguous(pc) && !ds_tensor_is_contiguous(p));
  ds_graph_free(g);
}

static bool error_mentions(const char *a, const char *b)
{
  const char *e = dseek_last_error();
  return strstr(e, a) != NULL && (!b || strstr(e, b) != NULL);
}

static void test_errors(void)
{
  ds_graph *g = ds_graph_new();
  float wdata[12];
  ds_tensor *w = ds_tensor_external(g, DSEEK_TYPE_F32, 2, (int64_t[]){4, 3}, wdata, "blk.0.attn_q");
  ds_tensor *x = input_f32(g, 5, 2, 1, 1);
  ds_tensor_set_name(x, "x");
  CHECK(ds_op_mul_mat(g, w, x) == NULL);
  CHECK(error_mentions("mul_mat", "blk.0.attn_q"));
  CHECK(ds_op_add(g, x, input_f32(g, 3, 1, 1, 1)) == NULL);
  CHECK(error_mentions("add", "broadcast"));
  /* NULL sources propagate silently, keeping the first message */
  CHECK(ds_op_rms_norm(g, ds_op_silu(g, ds_op_mul_mat(g, w, x)), 1e-5f) == NULL);
  CHECK(error_mentions("mul_mat", NULL));
  ds_rope_params rp;
  ds_rope_params_init(&rp, 3);
  ds_tensor *q = input_f32(g, 4, 2, 2, 1);
  ds_tensor *pos = input_i32(g, 2);
  CHECK(ds_op_rope(g, q, pos, NULL, &rp) == NULL);
  CHECK(error_mentions("rope", "n_rot"));
  ds_rope_params_init(&rp, 4);
  CHECK(ds_op_rope(g, q, input_i32(g, 3), NULL, &rp) == NULL);
  CHECK(error_mentions("rope", "positions"));
  float kc[4 * 3 * 8];
  ds_tensor *k = ds_tensor_external(g, DSEEK_TYPE_F32, 3, (int64_t[]){4, 3, 8}, kc, "k");
  CHECK(ds_op_attn(g, q, k, k, 4, pos, 1.0f) == NULL);   /* 2 heads, 3 kv heads */
  CHECK(error_mentions("attn", "n_kv_head"));
  ds_tensor *k2 = ds_tensor_external(g, DSEEK_TYPE_F32, 3, (int64_t[]){4, 1, 8}, kc, "k2");
  CHECK(ds_op_attn(g, q, k2, k2, 9, pos, 1.0f) == NULL);
  CHECK(error_mentions("attn", "n_kv"));
  ds_tensor *ok = ds_op_attn(g, q, k2, k2, 8, pos, 1.0f);
  CHECK(ok != NULL);
  CHECK_EQ_INT(ds_attn_set_n_kv(ok, 0), DSEEK_ERR_INVALID_ARG);
  CHECK_EQ_INT(ds_attn_set_n_kv(ok, 3), DSEEK_OK);
  CHECK(ds_op_view(g, w, 2, (int64_t[]){4, 3}, NULL, 4) == NULL);
  CHECK(error_mentions("view", "blk.0.attn_q"));
  CHECK(ds_op_reshape(g, x, 2, (int64_t[]){3, 3}) == NULL);
  CHECK(error_mentions("reshape", "10"));
  CHECK(ds_op_permute(g, x, 0, 0, 1, 2) == NULL);
  CHECK(ds_op_top_k(g, x, 6) == NULL);
  CHECK(ds_op_concat(g, x, input_f32(g, 4, 3, 1, 1), 0) == NULL);
  CHECK(ds_op_swiglu(g, x, input_f32(g, 5, 1, 1, 1)) == NULL);
  CHECK(ds_op_cpy(g, x, w) == NULL);
  CHECK(ds_tensor_input(g, DSEEK_TYPE_F32, 5, (int64_t[]){1, 1, 1, 1, 1}, NULL) == NULL);
  CHECK(ds_tensor_input(g, DSEEK_TYPE_F32, 1, (int64_t[]){0}, NULL) == NULL);
  CHECK(ds_tensor_input(g, 12345, 1, (int64_t[]){4}, NULL) == NULL);
  CHECK_EQ_INT(ds_graph_compute(g, NULL), DSEEK_ERR_INVALID_ARG);   /* not planned */
  CHECK(error_mentions("not planned", NULL));
  CHECK_EQ_INT(ds_graph_plan(g, 2), DSEEK_OK);
  CHECK_EQ_INT(ds_graph_plan(g, 2), DSEEK_ERR_INVALID_ARG);
  CHECK(ds_op_silu(g, x) == NULL);
  CHECK(error_mentions("planned", NULL));
  CHECK_EQ_INT(compute_threads(g, 3), DSEEK_ERR_INVALID_ARG);      /* planned for 2 */
  CHECK(error_mentions("planned for 2", NULL));
  ds_graph_free(g);
  ds_graph_free(NULL);
}

int main(void)
{
  ds_test_levels();
  RUN(test_mul_mat_plain_types);
  RUN(test_mul_mat_block_types);
  RUN(test_mul_mat_broadcast);
  RUN(test_get_rows);
  RUN(test_add_mul_broadcast);
  RUN(test_unary);
  RUN(test_rms_norm);
  RUN(test_softmax);
  RUN(test_top_k);
  RUN(test_cpy_set_rows);
  RUN(test_views_cont_concat);
  RUN(test_errors);
  return DS_TEST_RESULT();
}
