/* test_moe_tile.c — the grouped expert product on the GEMM tile (ops_moe_mm.c)
 * and the fused gate/up op, at every kernel level (AVX-512 with and without
 * AMX), on odd shapes: experts with 33, 21, 20, 17, 7, 1 and 0 inputs (full
 * AMX groups, zero-padded ones, VNNI remainders), N = 37 (a partial row tile),
 * X1 = 1 and X1 = k, Q8_0 and Q4_0. Checked against:
 *   - exact sums written here: a Q8_0/Q4_0 row meets the input's QA row
 *     (vec.h: int8 per 32-block, scale d_b), so the value is
 *     sum_b d_b sum_j w_j q_j, w_j the weight's decoded values; the kernels
 *     only round the f32 sum over blocks;
 *   - the same op on sub-batches that still take the tile (reordered): bits
 *     equal (a token's result does not depend on which tokens share its
 *     experts), and for 1-4 threads; single tokens (the dots) again against
 *     the exact sums;
 *   - mul_mat_id_swiglu against swiglu(mul_mat_id(G), mul_mat_id(U)): bits
 *     equal at every level, the reference included, and for F32 experts;
 *   - mul_mat_swiglu (one FFN) against swiglu(mul_mat(G), mul_mat(U));
 *   - R8 experts (Q4_0, Q4_K; each expert's 37 rows repacked on their own:
 *     four groups and five tail rows, the last tile partial), mul_mat_id and
 *     the fused op: the tile packs the plain rows' bytes, so the bits of the
 *     plain experts' tile (and at the reference, of the decoded rows); the
 *     levels without the tile (R8 dots) against the exact sums. */
#include "harness.h"
#include "levels.h"
#include "kernels/cpu.h"
#include "kernels/ops.h"
#include "kernels/q4_0_r8.h"
#include "kernels/q4_k_r8.h"
#include "kernels/type_ops.h"
#include "kernels/vec.h"
#include "util.h"

#include <math.h>

enum { K_MAX = 256, N = 37, E = 7, KSEL = 3, T_MAX = 80 };
/* values per row and tokens: 160 (an odd number of 32-blocks) and 33; the
 * K-quants 256 and 80 (their expert tile needs k T >= 16 E pairs, also in
 * the two 40-token sub-batches) */
static int K = 160, T = 33;

/* ids [KSEL, T]: expert 0 in every token's slot 0 (T inputs), then (T = 33)
 * 1 x 17, 2 x 7, 3 x 1, 5 x 21, 6 x 20 over slots 1 and 2 (T = 80: 41, 17,
 * 2, 51, 49; 4 unused, distinct per token), tokens in a shuffled order so no
 * expert's inputs are contiguous. */
static void make_ids(int32_t *ids)
{
  int32_t list[2 * T_MAX], n = 0, perm[T_MAX];
  const int32_t counts33[E] = {0, 17, 7, 1, 0, 21, 20}, counts80[E] = {0, 41, 17, 2, 0, 51, 49};
  const int32_t *counts = T == 33 ? counts33 : counts80;
  for (int32_t e = 0; e < E; e++)
    for (int32_t i = 0; i < counts[e]; i++) list[n++] = e;
  for (int32_t t = 0; t < T; t++) perm[t] = t;
  for (int32_t t = T - 1; t > 0; t--) {
    int32_t r = (int32_t)(rng_u32() % (uint32_t)(t + 1)), s = perm[t];
    perm[t] = perm[r];
    perm[r] = s;
  }
  for (int32_t t = 0; t < T; t++) {
    ids[perm[t] * KSEL] = 0;
    ids[perm[t] * KSEL + 1] = list[t];
    ids[perm[t] * KSEL + 2] = list[t + T];
  }
}

/* E quantized experts [K, N] of type; their decoded values into vals. */
static void *make_experts(int type, float *vals)
{
  const ds_type_traits *tr = ds_type_traits_get(type);
  uint64_t rb;
  ds_row_size(type, K, &rb);
  char *w = malloc((size_t)rb * N * E);
  float f[K_MAX];
  for (int64_t r = 0; r < (int64_t)N * E; r++) {
    fill(f, K);
    tr->from_float(f, w + r * (int64_t)rb, K);
    tr->to_float(w + r * (int64_t)rb, vals + r * K, K);
  }
  return w;
}

/* sum_b d_b sum_j w_j q_j over the QA row of column x[K] (exact in double:
 * w_j = d_w q_w is exact in f32), and the sum of the blocks' magnitudes. */
static double exact_dot(const float *w, const float *x, double *mag)
{
  _Alignas(64) char qa[1024];
  ds_vec_scalar.quantize_qa(x, K, qa);
  const int8_t *q = (const int8_t *)qa;
  const float *d = ds_qa_d(qa, K);
  double sum = 0;
  *mag = 0;
  for (int b = 0; b < K / 32; b++) {
    double s = 0;
    for (int j = 0; j < 32; j++) s += (double)w[b * 32 + j] * q[b * 32 + j];
    sum += d[b] * s;
    *mag += fabs(d[b] * s);
  }
  return sum;
}

/* A planned graph computing mul_mat_id (fused: mul_mat_id_swiglu with up) on
 * x [K, X1, n_tok] and ids [KSEL, n_tok]. */
typedef struct moe_graph {
  ds_graph *g;
  ds_tensor *x, *ids, *y;
} moe_graph;

/* Tensor flags of the experts build() makes (an R8 layout, or 0). */
static unsigned w_flags;

static void build(moe_graph *m, int type, void *gate, void *up, int64_t X1, int64_t n_tok, bool fused)
{
  m->g = ds_graph_new();
  ds_tensor *wg = ds_tensor_external(m->g, type, 3, (int64_t[]){K, N, E}, gate, "gate");
  wg->flags |= w_flags;
  m->x = input_f32(m->g, K, X1, n_tok, 1);
  m->ids = ds_tensor_input(m->g, DSEEK_TYPE_I32, 2, (int64_t[]){KSEL, n_tok}, "ids");
  if (fused) {
    ds_tensor *wu = ds_tensor_external(m->g, type, 3, (int64_t[]){K, N, E}, up, "up");
    wu->flags |= w_flags;
    m->y = ds_op_mul_mat_id_swiglu(m->g, wg, wu, m->x, m->ids);
  } else {
    m->y = ds_op_mul_mat_id(m->g, wg, NULL, NULL, m->x, m->ids);
  }
  ds_tensor_set_output(m->y);
  CHECK(m->y && ds_graph_plan(m->g, 4) == DSEEK_OK);
}

/* Outputs of m (n_tok tokens) off the exact sums. */
static int off_exact(const moe_graph *m, const float *vals, int64_t X1, int64_t n_tok)
{
  const int32_t *id = m->ids->data;
  int bad = 0;
  for (int64_t t = 0; t < n_tok; t++)
    for (int64_t j = 0; j < KSEL; j++)
      for (int64_t n = 0; n < N; n++) {
        double mag, ref = exact_dot(vals + (id[t * KSEL + j] * N + n) * K,
                                    (const float *)ds_tensor_ptr(m->x, 0, j % X1, t, 0), &mag);
        bad += fabs(ref - at(m->y, n, j, t, 0)) > 1e-5 * mag + 1e-30;
      }
  return bad;
}

/* Tokens [t0, t0 + n) of the batch m in their own batch, in reverse order
 * (other expert groups, other positions in them): the same bits. */
static bool same_in_sub_batch(const moe_graph *m, int type, void *w, int64_t X1, int64_t t0, int64_t n)
{
  moe_graph sub;
  build(&sub, type, w, NULL, X1, n, false);
  for (int64_t i = 0; i < n; i++) {
    const int64_t t = t0 + n - 1 - i;
    memcpy(ds_tensor_ptr(sub.x, 0, 0, i, 0), ds_tensor_ptr(m->x, 0, 0, t, 0), sizeof(float) * K * X1);
    memcpy((int32_t *)sub.ids->data + i * KSEL, (const int32_t *)m->ids->data + t * KSEL, sizeof(int32_t) * KSEL);
  }
  bool same = compute_threads(sub.g, 2) == DSEEK_OK;
  for (int64_t i = 0; i < n && same; i++)
    same = memcmp(ds_tensor_ptr(sub.y, 0, 0, i, 0), ds_tensor_ptr(m->y, 0, 0, t0 + n - 1 - i, 0),
                  sizeof(float) * N * KSEL) == 0;
  ds_graph_free(sub.g);
  return same;
}

/* The tile product (k T = 99 >= 3 E pairs; K-quants 240 >= 16 E) against exact sums, thread counts
 * and sub-batches that still take the tile (16 and 17 tokens: 48, 51 pairs;
 * K-quants 39 and 41: 117, 123);
 * each token alone (3 pairs: the dots) against exact sums; all pairs on one
 * expert against exact sums. */
static void tile_case(int type, int64_t X1)
{
  float *vals = malloc(sizeof(float) * K * N * E);
  void *w = make_experts(type, vals);
  moe_graph m;
  build(&m, type, w, NULL, X1, T, false);
  fill_inputs(m.g);
  make_ids(m.ids->data);
  CHECK(same_bits_for_thread_counts(m.g, m.y));
  const char *name = ds_type_traits_get(type)->name, *level = ds_cpu_level_name(ds_cpu_level_get());
  int bad = off_exact(&m, vals, X1, T);
  CHECK_MSG(bad == 0, "%s X1 %lld level %s amx %d: %d of %d outputs off the exact sums", name, (long long)X1,
            level, (int)ds_cpu_amx(), bad, T * KSEL * N);
  CHECK_MSG(same_in_sub_batch(&m, type, w, X1, 0, T / 2 + 1) && same_in_sub_batch(&m, type, w, X1, T / 2 + 1, T - T / 2 - 1),
            "%s X1 %lld level %s: a sub-batch gives other bits", name, (long long)X1, level);

  moe_graph one;
  build(&one, type, w, NULL, X1, 1, false);
  bad = 0;
  for (int64_t t = 0; t < T; t++) {
    memcpy(one.x->data, ds_tensor_ptr(m.x, 0, 0, t, 0), sizeof(float) * K * X1);
    memcpy(one.ids->data, (const int32_t *)m.ids->data + t * KSEL, sizeof(int32_t) * KSEL);
    CHECK(compute_threads(one.g, 2) == DSEEK_OK);
    bad += off_exact(&one, vals, X1, 1);
  }
  CHECK_MSG(bad == 0, "%s X1 %lld level %s: %d outputs of single tokens off the exact sums", name, (long long)X1,
            level, bad);

  /* every slot of every token on expert 2 (ids may repeat an expert): 99
   * inputs, more than the T rows of gathered inputs, run in chunks of T */
  for (int64_t i = 0; i < KSEL * T; i++) ((int32_t *)m.ids->data)[i] = 2;
  CHECK(same_bits_for_thread_counts(m.g, m.y));
  bad = off_exact(&m, vals, X1, T);
  CHECK_MSG(bad == 0, "%s X1 %lld level %s: %d outputs off the exact sums with one expert", name, (long long)X1,
            level, bad);
  ds_graph_free(one.g);
  ds_graph_free(m.g);
  free(w);
  free(vals);
}

/* mul_mat_id_swiglu == swiglu(mul_mat_id(gate), mul_mat_id(up)), bit for bit. */
static void fused_case(int type, int64_t X1)
{
  float *vals = malloc(sizeof(float) * K * N * E);
  void *gate, *up;
  if (type == DSEEK_TYPE_F32) {
    gate = malloc(sizeof(float) * K * N * E);
    up = malloc(sizeof(float) * K * N * E);
    fill(gate, (int64_t)K * N * E);
    fill(up, (int64_t)K * N * E);
  } else {
    gate = make_experts(type, vals);
    up = make_experts(type, vals);
  }
  moe_graph f;
  build(&f, type, gate, up, X1, T, true);
  ds_graph *g = ds_graph_new();
  ds_tensor *wg = ds_tensor_external(g, type, 3, (int64_t[]){K, N, E}, gate, "gate");
  ds_tensor *wu = ds_tensor_external(g, type, 3, (int64_t[]){K, N, E}, up, "up");
  ds_tensor *x = input_f32(g, K, X1, T, 1);
  ds_tensor *ids = ds_tensor_input(g, DSEEK_TYPE_I32, 2, (int64_t[]){KSEL, T}, "ids");
  ds_tensor *y =
      ds_op_swiglu(g, ds_op_mul_mat_id(g, wg, NULL, NULL, x, ids), ds_op_mul_mat_id(g, wu, NULL, NULL, x, ids));
  ds_tensor_set_output(y);
  CHECK(y && ds_graph_plan(g, 4) == DSEEK_OK);
  fill_inputs(g);
  make_ids(ids->data);
  memcpy(f.x->data, x->data, sizeof(float) * K * X1 * T);
  memcpy(f.ids->data, ids->data, sizeof(int32_t) * KSEL * T);
  CHECK(same_bits_for_thread_counts(f.g, f.y));
  CHECK(compute_threads(g, 3) == DSEEK_OK);
  /* silu(g) u is not 0 for these inputs, so a missed output is caught */
  int zero = 0;
  for (int64_t i = 0; i < (int64_t)N * KSEL * T; i++) zero += ((float *)f.y->data)[i] == 0.0f;
  CHECK(zero == 0);
  CHECK_MSG(memcmp(f.y->data, y->data, sizeof(float) * N * KSEL * T) == 0,
            "fused %s X1 %lld level %s amx %d differs from swiglu(mul_mat_id, mul_mat_id)",
            ds_type_traits_get(type)->name, (long long)X1, ds_cpu_level_name(ds_cpu_level_get()), (int)ds_cpu_amx());
  /* an id out of range fails compute, as mul_mat_id */
  ((int32_t *)f.ids->data)[4] = E;
  CHECK(compute_threads(f.g, 2) == DSEEK_ERR_INVALID_ARG);
  ds_graph_free(g);
  ds_graph_free(f.g);
  free(gate);
  free(up);
  free(vals);
}

/* mul_mat_swiglu (one FFN, every token on it) against swiglu(mul_mat(G),
 * mul_mat(U)) on T tokens: the same bits at the reference level and where
 * both take the tile (Q8_0/Q4_0, T >= 16 at a level with gemm_r16); else
 * (the dots against mul_mat's tile) within rounding. */
static void dense_case(int type, int64_t n_tok)
{
  float *vals = malloc(sizeof(float) * K * N * E);
  void *gate = make_experts(type, vals), *up = make_experts(type, vals);
  ds_graph *g = ds_graph_new();
  ds_tensor *wg = ds_tensor_external(g, type, 2, (int64_t[]){K, N}, gate, "gate");
  ds_tensor *wu = ds_tensor_external(g, type, 2, (int64_t[]){K, N}, up, "up");
  ds_tensor *x = input_f32(g, K, n_tok, 1, 1);
  ds_tensor *f = ds_op_mul_mat_swiglu(g, wg, wu, x);
  ds_tensor *y = ds_op_swiglu(g, ds_op_mul_mat(g, wg, x), ds_op_mul_mat(g, wu, x));
  ds_tensor_set_output(f);
  ds_tensor_set_output(y);
  CHECK(f && y && f->ne[0] == N && f->ne[1] == n_tok && ds_graph_plan(g, 4) == DSEEK_OK);
  fill_inputs(g);
  CHECK(same_bits_for_thread_counts(g, f));
  const ds_cpu_level level = ds_cpu_level_get();
  const bool exact = level == DS_CPU_REFERENCE || (n_tok >= 16 && ds_vec_get(level)->gemm_r16);
  int bad = 0;
  for (int64_t t = 0; t < n_tok; t++)
    for (int64_t n = 0; n < N; n++) {
      const float a = at(f, n, t, 0, 0), b = at(y, n, t, 0, 0);
      bad += exact ? memcmp(&a, &b, 4) != 0 : fabsf(a - b) > 1e-4f * (fabsf(b) + 1e-2f);
    }
  CHECK_MSG(bad == 0, "mul_mat_swiglu %s T %lld level %s: %d of %lld outputs differ from the unfused graph",
            ds_type_traits_get(type)->name, (long long)n_tok, ds_cpu_level_name(level), bad, (long long)(N * n_tok));
  ds_graph_free(g);
  free(gate);
  free(up);
  free(vals);
}

static void each_level(void (*fn)(int, int64_t), const int *types, int n_types, bool with_reference)
{
  const ds_cpu_level best = ds_cpu_level_get();
  const bool amx = ds_cpu_amx();
  for (int l = with_reference ? DS_CPU_REFERENCE : DS_CPU_SCALAR; l <= (int)best; l++) {
    ds_cpu_level_set((ds_cpu_level)l);
    for (int pass = 0; pass < (l == DS_CPU_AVX512 && amx ? 2 : 1); pass++) {
      ds_cpu_amx_enable(pass == 0 && amx);   /* AVX-512 with AMX, then without */
      for (int t = 0; t < n_types; t++) {
        fn(types[t], 1);
        fn(types[t], KSEL);
      }
    }
    ds_cpu_amx_enable(amx);
  }
  ds_cpu_level_set(best);
}

static void test_tile(void)
{
  const int types[] = {DSEEK_TYPE_Q8_0, DSEEK_TYPE_Q4_0};
  each_level(tile_case, types, 2, false);
}

/* K-quant experts (K = 256): the K-quant tile with its dmin term, and Q6_K's */
static void test_tile_k(void)
{
  const int types[] = {DSEEK_TYPE_Q4_K, DSEEK_TYPE_Q5_K, DSEEK_TYPE_Q6_K};
  K = 256, T = 80;
  each_level(tile_case, types, 3, false);
  each_level(fused_case, types, 3, true);
  K = 160, T = 33;
}

static void test_fused(void)
{
  const int types[] = {DSEEK_TYPE_Q8_0, DSEEK_TYPE_Q4_0, DSEEK_TYPE_F32};
  each_level(fused_case, types, 3, true);
}

static void test_dense(void)
{
  const int types[] = {DSEEK_TYPE_Q8_0, DSEEK_TYPE_Q4_0, DSEEK_TYPE_F32};
  const ds_cpu_level best = ds_cpu_level_get();
  for (int l = DS_CPU_REFERENCE; l <= (int)best; l++) {
    ds_cpu_level_set((ds_cpu_level)l);
    for (int t = 0; t < (l == DS_CPU_REFERENCE ? 3 : 2); t++) {
      dense_case(types[t], 1);
      dense_case(types[t], 5);
      dense_case(types[t], 33);
    }
  }
  ds_cpu_level_set(best);
}

/* A copy of the E experts with each expert's rows repacked to R8. */
static void *repack_experts(int type, const void *w)
{
  uint64_t rb;
  ds_row_size(type, K, &rb);
  char *r8 = malloc((size_t)rb * N * E), *tmp = malloc((size_t)rb * DS_R8_ROWS);
  memcpy(r8, w, (size_t)rb * N * E);
  for (int e = 0; e < E; e++) {
    if (type == DSEEK_TYPE_Q4_K) ds_q4_k_r8_repack(r8 + (size_t)e * N * rb, K, N, tmp);
    else ds_q4_0_r8_repack(r8 + (size_t)e * N * rb, K, N, tmp);
  }
  free(tmp);
  return r8;
}

/* R8 experts on a prompt batch (T tokens, the tile where the level has it)
 * against the same experts in the plain layout: mul_mat_id, and the fused
 * op with both weights R8. */
static void r8_case(int type, int64_t X1)
{
  float *vals = malloc(sizeof(float) * K * N * E), *uvals = malloc(sizeof(float) * K * N * E);
  void *gate = make_experts(type, vals), *up = make_experts(type, uvals);
  void *gate8 = repack_experts(type, gate), *up8 = repack_experts(type, up);
  const ds_cpu_level level = ds_cpu_level_get();
  const ds_cpu_type_ops *o = level == DS_CPU_REFERENCE ? NULL : ds_cpu_type_ops_get(ds_vec_get(level), type);
  const bool same = !o || (o->qa && o->tile.kind != DS_TILE_NONE);   /* the reference or the tile */
  for (int fused = 0; fused < 2; fused++) {
    moe_graph plain, r8;
    w_flags = 0;
    build(&plain, type, gate, up, X1, T, fused);
    w_flags = ds_cpu_type_ops_get(NULL, type)->r8.flag;
    build(&r8, type, gate8, up8, X1, T, fused);
    w_flags = 0;
    fill_inputs(plain.g);
    make_ids(plain.ids->data);
    memcpy(r8.x->data, plain.x->data, sizeof(float) * K * X1 * T);
    memcpy(r8.ids->data, plain.ids->data, sizeof(int32_t) * KSEL * T);
    CHECK(compute_threads(plain.g, 2) == DSEEK_OK);
    CHECK(same_bits_for_thread_counts(r8.g, r8.y));
    const char *name = ds_type_traits_get(type)->name;
    if (same)
      CHECK_MSG(memcmp(plain.y->data, r8.y->data, sizeof(float) * N * KSEL * T) == 0,
                "R8 %s%s X1 %lld level %s amx %d: not the plain experts' bits", name, fused ? " fused" : "",
                (long long)X1, ds_cpu_level_name(level), (int)ds_cpu_amx());
    else if (!fused) {
      const int bad = off_exact(&r8, vals, X1, T);
      CHECK_MSG(bad == 0, "R8 %s X1 %lld level %s: %d outputs off the exact sums", name, (long long)X1,
                ds_cpu_level_name(level), bad);
    }
    ds_graph_free(plain.g);
    ds_graph_free(r8.g);
  }
  free(gate);
  free(up);
  free(gate8);
  free(up8);
  free(vals);
  free(uvals);
}

static void test_tile_r8(void)
{
  const int q4_0[] = {DSEEK_TYPE_Q4_0}, q4_k[] = {DSEEK_TYPE_Q4_K};
  each_level(r8_case, q4_0, 1, true);
  K = 256, T = 80;
  each_level(r8_case, q4_k, 1, true);
  K = 160, T = 33;
}

static void test_fused_errors(void)
{
  static float data[K_MAX * N * E];
  ds_graph *g = ds_graph_new();
  ds_tensor *wg = ds_tensor_external(g, DSEEK_TYPE_F32, 3, (int64_t[]){K, N, E}, data, "gate");
  ds_tensor *wu = ds_tensor_external(g, DSEEK_TYPE_F32, 3, (int64_t[]){K, N - 1, E}, data, "up_short");
  ds_tensor *x = input_f32(g, K, 1, T, 1);
  ds_tensor *ids = ds_tensor_input(g, DSEEK_TYPE_I32, 2, (int64_t[]){KSEL, T}, "ids");
  CHECK(ds_op_mul_mat_id_swiglu(g, wg, wu, x, ids) == NULL);
  CHECK(strstr(dseek_last_error(), "up_short") != NULL);
  ds_tensor *x_bad = input_f32(g, K + 32, 1, T, 1);
  CHECK(ds_op_mul_mat_id_swiglu(g, wg, wg, x_bad, ids) == NULL);
  CHECK(strstr(dseek_last_error(), "mul_mat_id") != NULL);
  CHECK(ds_op_mul_mat_id_swiglu(g, wg, NULL, x, ids) == NULL);
  ds_tensor *w3 = ds_tensor_external(g, DSEEK_TYPE_F32, 3, (int64_t[]){K, N, E}, data, "stacked");
  ds_tensor *x2 = input_f32(g, K, T, 1, 1);
  CHECK(ds_op_mul_mat_swiglu(g, w3, w3, x2) == NULL);
  CHECK(strstr(dseek_last_error(), "stacked") != NULL);
  ds_graph_free(g);
}

int main(void)
{
  ds_test_levels();
  RUN(test_tile);
  RUN(test_tile_k);
  RUN(test_fused);
  RUN(test_dense);
  RUN(test_tile_r8);
  RUN(test_fused_errors);
  return DS_TEST_RESULT();
}
