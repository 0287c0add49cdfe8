/* test_moe_cols.c — the grouped expert product on the small-batch path
 * (ops_moe_mm.c: the dots), where each expert row meets all the inputs
 * routed to it, up to DS_VEC_COLS per dot call. Every (row, input) value must
 * keep the bits of a dot with that one column (vec.h: a column's result does
 * not depend on the other columns of its call), so n chains decoded together
 * give each chain the bits of its run alone:
 *   - mul_mat_id and mul_mat_id_swiglu on random Q8_0, Q4_0, Q4_K, Q6_K,
 *     IQ4_NL and IQ2_XXS experts, batches of 1..15 tokens, k = 2..6 slots
 *     routed with repeats (an expert more than once in a token, so more
 *     inputs than tokens), X1 = 1 and X1 = k, 1-3 threads, at every level the
 *     host has: each value equals the level's dot called here with ncols = 1
 *     on the input's QA row (the reference level: the decoded row's f32 dot
 *     in order; the fused op: silu(g) * u of those, as ops_unary.c's swiglu);
 *   - R8 experts (Q4_0 and Q4_K, each expert's N = 19 rows repacked on their
 *     own: two groups and three plain tail rows; mul_mat_id, the fused op
 *     with both weights R8 and with only the gate R8): a group row's value
 *     equals the scalar twin of the R8 dot called here with ncols = 1 on the
 *     input's QA row (vec.h: every level gives its bits), a tail row's the plain dot's, the reference's the decoded
 *     original row's;
 *   - FP8 block-scaled experts: mul_mat_id gives the bits of mul_mat_scaled
 *     on each expert (both decode rows with the same decoder, fp8.h), at
 *     every level. */
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

enum { K = 256, N = 19, E = 8, KMAX = 6, TMAX = 15 };

/* E experts [K, N] of type: Q8_0/Q4_0/K-quants from random floats; IQ types
 * from random bytes (every byte pattern is valid) with their f16 d set to
 * [2^-6, 2^-5) (IQ4_NL: per 32-block at byte 0; IQ2_XXS: per 256-block). */
static void *make_experts(int type, size_t *row_bytes)
{
  uint64_t rb;
  ds_row_size(type, K, &rb);
  *row_bytes = (size_t)rb;
  uint8_t *w = malloc((size_t)rb * N * E);
  if (ds_vec_iq_index(type) >= 0) {
    const size_t block = type == DSEEK_TYPE_IQ4_NL ? 18 : 66, bytes = (size_t)rb * N * E;
    for (size_t i = 0; i < bytes; i++) w[i] = (uint8_t)rng_u32();
    for (size_t b = 0; b < bytes / block; b++) {
      const uint16_t h = (uint16_t)(0x2400 | (rng_u32() & 0x3FF));
      w[b * block] = (uint8_t)h;
      w[b * block + 1] = (uint8_t)(h >> 8);
    }
    return w;
  }
  float f[K];
  for (int64_t r = 0; r < (int64_t)N * E; r++) {
    fill(f, K);
    ds_type_traits_get(type)->from_float(f, w + r * (int64_t)rb, K);
  }
  return w;
}

/* Experts as the op reads them (data, with tensor flags) and as the file
 * had them (plain: the same pointer unless repacked). */
typedef struct experts {
  const void *data, *plain;
  unsigned flags;
} experts;

/* Row n of expert e against the f32 column xc with one column per call: the
 * level's integer dot on xc's QA row (a row of an R8 group: the scalar R8
 * dot of its group, the row's lane), or (decoded types, the reference) the decoded
 * original row's f32 dot. */
static float one_col(int type, const experts *x, size_t rb, int64_t e, int64_t n, const float *xc)
{
  const ds_cpu_level level = ds_cpu_level_get();
  const char *wrow = (const char *)x->plain + (size_t)(e * N + n) * rb;
  _Alignas(64) char qa[1024];
  float row[K], v;
  if (x->flags && level != DS_CPU_REFERENCE && n < N - N % DS_R8_ROWS) {
    const ds_vec_kernels *vk = ds_vec_get(level);
    const char *group = (const char *)x->data + (size_t)(e * N + n / DS_R8_ROWS * DS_R8_ROWS) * rb;
    float v8[DS_R8_ROWS];
    vk->quantize_qa(xc, K, qa);
    ds_cpu_type_ops_get(&ds_vec_scalar, type)->r8.dot(K, group, qa, 0, 1, v8);   /* the scalar twin (vec.h: every level's bits) */
    return v8[n % DS_R8_ROWS];
  }
  if (level == DS_CPU_REFERENCE) {
    ds_type_traits_get(type)->to_float(wrow, row, K);
    return ds_dot_f32(row, xc, K);
  }
  const ds_vec_kernels *vk = ds_vec_get(level);
  if (ds_cpu_type_ops_get(vk, type)->qa) {
    vk->quantize_qa(xc, K, qa);
    ds_cpu_type_ops_get(vk, type)->dot(K, wrow, qa, 0, 1, &v);
  } else {
    ds_type_traits_get(type)->to_float(wrow, row, K);
    vk->dot_f32(K, row, xc, 0, 1, &v);
  }
  return v;
}

/* mul_mat_id of gate and mul_mat_id_swiglu of gate and up on T tokens, k
 * slots, input columns X1, against one_col at the current level; adds the
 * values off to bad[0] (mul_mat_id) and bad[1] (fused). */
static void cols_case(int type, const experts *gate, const experts *up, size_t rb, int64_t T, int64_t k, int64_t X1,
                      int *bad)
{
  ds_graph *g = ds_graph_new();
  ds_tensor *wg = ds_tensor_external(g, type, 3, (int64_t[]){K, N, E}, (void *)gate->data, "gate");
  ds_tensor *wu = ds_tensor_external(g, type, 3, (int64_t[]){K, N, E}, (void *)up->data, "up");
  wg->flags |= gate->flags;
  wu->flags |= up->flags;
  ds_tensor *x = input_f32(g, K, X1, T, 1);
  ds_tensor *ids = ds_tensor_input(g, DSEEK_TYPE_I32, 2, (int64_t[]){k, T}, "ids");
  ds_tensor *y = ds_op_mul_mat_id(g, wg, NULL, NULL, x, ids), *f = ds_op_mul_mat_id_swiglu(g, wg, wu, x, ids);
  ds_tensor_set_output(y);
  ds_tensor_set_output(f);
  CHECK(y && f && ds_graph_plan(g, 3) == DSEEK_OK);
  fill_inputs(g);
  int32_t *id = ids->data;
  for (int64_t i = 0; i < k * T; i++) id[i] = (int32_t)(rng_u32() % E);   /* repeats included */
  CHECK(compute_threads(g, 1 + (int)(T % 3)) == DSEEK_OK);
  for (int64_t t = 0; t < T; t++)
    for (int64_t j = 0; j < k; j++) {
      const float *xc = (const float *)ds_tensor_ptr(x, 0, j % X1, t, 0);
      for (int64_t n = 0; n < N; n++) {
        const float gv = one_col(type, gate, rb, id[t * k + j], n, xc);
        const float uv = one_col(type, up, rb, id[t * k + j], n, xc);
        const float fv = gv / (1.0f + expf(-gv)) * uv, got = at(y, n, j, t, 0), fgot = at(f, n, j, t, 0);
        bad[0] += memcmp(&gv, &got, sizeof gv) != 0;
        bad[1] += memcmp(&fv, &fgot, sizeof fv) != 0;
      }
    }
  ds_graph_free(g);
}

/* Every batch shape of the dots at every level for gate and up experts. */
static void cols_all_levels(int type, const experts *gate, const experts *up, size_t rb, const char *what)
{
  const ds_cpu_level best = ds_cpu_level_get();
  for (int l = DS_CPU_REFERENCE; l <= (int)best; l++) {
    ds_cpu_level_set((ds_cpu_level)l);
    int bad[2] = {0, 0}, cases = 0;
    for (int64_t T = 1; T <= TMAX; T++)
      for (int64_t k = 2; k <= KMAX; k++)
        for (int x1 = 0; x1 < 2; x1++, cases++) cols_case(type, gate, up, rb, T, k, x1 ? k : 1, bad);
    CHECK_MSG(bad[0] == 0 && bad[1] == 0 && cases == TMAX * (KMAX - 1) * 2,
              "%s%s at %s: %d mul_mat_id and %d mul_mat_id_swiglu values differ from one-column dots",
              ds_type_traits_get(type)->name, what, ds_cpu_level_name((ds_cpu_level)l), bad[0], bad[1]);
  }
  ds_cpu_level_set(best);
}

static void test_cols_keep_bits(void)
{
  const int types[] = {DSEEK_TYPE_Q8_0, DSEEK_TYPE_Q4_0, DSEEK_TYPE_Q4_K, DSEEK_TYPE_Q6_K, DSEEK_TYPE_IQ4_NL,
                       DSEEK_TYPE_IQ2_XXS};
  for (size_t i = 0; i < sizeof types / sizeof types[0]; i++) {
    size_t rb;
    void *gate = make_experts(types[i], &rb), *up = make_experts(types[i], &rb);
    cols_all_levels(types[i], &(experts){gate, gate, 0}, &(experts){up, up, 0}, rb, "");
    free(gate);
    free(up);
  }
}

/* A copy of E experts with each expert's rows repacked to R8 on their own
 * (as the loader does, model_prepare.c). */
static void *repack_experts(int type, const void *w, size_t rb)
{
  char *r8 = malloc(rb * N * E), *tmp = malloc(rb * DS_R8_ROWS);
  memcpy(r8, w, rb * N * E);
  for (int e = 0; e < E; e++) {
    if (type == DSEEK_TYPE_Q4_K) ds_q4_k_r8_repack(r8 + (size_t)e * N * rb, K, N, tmp);
    else ds_q4_0_r8_repack(r8 + (size_t)e * N * rb, K, N, tmp);
  }
  free(tmp);
  return r8;
}

static void test_r8_cols_keep_bits(void)
{
  const int types[] = {DSEEK_TYPE_Q4_0, DSEEK_TYPE_Q4_K};
  for (size_t i = 0; i < sizeof types / sizeof types[0]; i++) {
    size_t rb;
    void *gate = make_experts(types[i], &rb), *up = make_experts(types[i], &rb);
    void *gate8 = repack_experts(types[i], gate, rb), *up8 = repack_experts(types[i], up, rb);
    const unsigned flag = ds_cpu_type_ops_get(NULL, types[i])->r8.flag;
    CHECK(flag != 0);
    cols_all_levels(types[i], &(experts){gate8, gate, flag}, &(experts){up8, up, flag}, rb, " R8");
    cols_all_levels(types[i], &(experts){gate8, gate, flag}, &(experts){up, up, 0}, rb, " R8 gate, plain up");
    free(gate);
    free(up);
    free(gate8);
    free(up8);
  }
}

/* FP8 experts [K = 200, N = 130, E = 3] (partial 128-blocks both ways) with
 * their scale grids, stacked: mul_mat_id against mul_mat_scaled of each
 * expert on all T k input columns (several columns per call there), bit for
 * bit, X1 = 1 and X1 = k. */
static void fp8_case(int64_t X1)
{
  enum { FK = 200, FN = 130, FE = 3, FKSEL = 2, FT = 5, SR = 2, SC = 2 };
  uint8_t *q = malloc((size_t)FK * FN * FE);
  float scale[SR * SC * FE];
  for (size_t i = 0; i < (size_t)FK * FN * FE; i++) {
    uint8_t v;
    do v = (uint8_t)rng_u32(); while ((v & 0x7F) == 0x7F);   /* no NaN codes */
    q[i] = v;
  }
  for (int i = 0; i < SR * SC * FE; i++) scale[i] = ldexpf(1.0f, (int)(rng_u32() % 7) - 10);
  ds_graph *g = ds_graph_new();
  ds_tensor *w = ds_tensor_external(g, DSEEK_TYPE_F8_E4M3, 3, (int64_t[]){FK, FN, FE}, q, "experts");
  ds_tensor *s = ds_tensor_external(g, DSEEK_TYPE_F32, 3, (int64_t[]){SC, SR, FE}, scale, "experts.scale");
  ds_tensor *x = input_f32(g, FK, X1, FT, 1);
  ds_tensor *ids = ds_tensor_input(g, DSEEK_TYPE_I32, 2, (int64_t[]){FKSEL, FT}, "ids");
  ds_tensor *y = ds_op_mul_mat_id(g, w, s, NULL, x, ids);
  ds_tensor *cols = input_f32(g, FK, FKSEL * FT, 1, 1);   /* column j + k t: x[:, j % X1, t] */
  ds_tensor *per[FE];
  for (int e = 0; e < FE; e++) {
    ds_tensor *we = ds_tensor_external(g, DSEEK_TYPE_F8_E4M3, 2, (int64_t[]){FK, FN}, q + (size_t)e * FK * FN, "w_e");
    ds_tensor *se = ds_tensor_external(g, DSEEK_TYPE_F32, 2, (int64_t[]){SC, SR}, scale + e * SR * SC, "w_e.scale");
    per[e] = ds_op_mul_mat_scaled(g, we, se, cols);
    ds_tensor_set_output(per[e]);
  }
  ds_tensor_set_output(y);
  CHECK(y && ds_graph_plan(g, 2) == DSEEK_OK);
  fill_inputs(g);
  int32_t *id = ids->data;
  for (int i = 0; i < FKSEL * FT; i++) id[i] = (int32_t)(rng_u32() % FE);
  for (int t = 0; t < FT; t++)
    for (int j = 0; j < FKSEL; j++)
      memcpy(ds_tensor_ptr(cols, 0, j + FKSEL * t, 0, 0), ds_tensor_ptr(x, 0, j % X1, t, 0), sizeof(float) * FK);
  const ds_cpu_level best = ds_cpu_level_get();
  for (int l = DS_CPU_REFERENCE; l <= (int)best; l++) {
    ds_cpu_level_set((ds_cpu_level)l);
    CHECK(compute_threads(g, 2) == DSEEK_OK);
    int bad = 0;
    for (int t = 0; t < FT; t++)
      for (int j = 0; j < FKSEL; j++)
        bad += memcmp(ds_tensor_ptr(y, 0, j, t, 0), ds_tensor_ptr(per[id[j + FKSEL * t]], 0, j + FKSEL * t, 0, 0),
                      sizeof(float) * FN) != 0;
    CHECK_MSG(bad == 0, "FP8 X1 %lld at %s: %d of %d columns of mul_mat_id differ from mul_mat_scaled", (long long)X1,
              ds_cpu_level_name((ds_cpu_level)l), bad, FKSEL * FT);
  }
  ds_cpu_level_set(best);
  ds_graph_free(g);
  free(q);
}

static void test_fp8_as_mul_mat(void)
{
  fp8_case(1);
  fp8_case(2);
}

/* "r8": the R8 expert cases only (meson's graph_moe_cols_r8); otherwise the rest. */
int main(int argc, char **argv)
{
  ds_test_levels();
  if (argc > 1 && strcmp(argv[1], "r8") == 0) {
    RUN(test_r8_cols_keep_bits);
  } else {
    RUN(test_cols_keep_bits);
    RUN(test_fp8_as_mul_mat);
  }
  return DS_TEST_RESULT();
}
