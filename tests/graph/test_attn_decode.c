/* test_attn_decode.c — attention of few queries over a long cache (decoding
 * at depth), where the blocked kernel (ops_attn_blocked.c) splits a kv head's
 * query heads across threads:
 *   - every level above the reference against the reference level's kernel
 *     (ops_attn.c) and against a direct double-precision loop, for MLA-like
 *     shapes (one kv head, 16 query heads) and GQA, f32/f16/bf16/q8_0 caches,
 *     odd visible lengths (1, 31, 33, 97, 1037 slots: block remainders);
 *   - the same bits for 1..4 threads (the head split follows the thread
 *     count) and for a query decoded alone or inside a batch of three;
 *   - the cache-row decodes (F16, BF16, Q8_0) and the value-run accumulation
 *     against their scalar twins, bit for bit. */
#include "harness.h"
#include "levels.h"
#include "util.h"
#include "kernels/cpu.h"
#include "kernels/ops_attn.h"

#include <math.h>

/* out[:, h] = sum_{s < L} softmax(scale q_h.k_s) v_s for one token, in double. */
static void direct(const float *q, const float *k, const float *v, int64_t D, int64_t Dv, int64_t H, int64_t Hkv,
                   int64_t L, double scale, double *out)
{
  double *sc = malloc((size_t)L * sizeof *sc);
  for (int64_t h = 0; h < H; h++) {
    const int64_t hk = h / (H / Hkv);
    double mx = -INFINITY, sum = 0;
    for (int64_t s = 0; s < L; s++) {
      double d = 0;
      for (int64_t i = 0; i < D; i++) d += (double)q[h * D + i] * k[(s * Hkv + hk) * D + i];
      sc[s] = scale * d;
      mx = fmax(mx, sc[s]);
    }
    for (int64_t s = 0; s < L; s++) sum += exp(sc[s] - mx);
    for (int64_t i = 0; i < Dv; i++) {
      double o = 0;
      for (int64_t s = 0; s < L; s++) o += exp(sc[s] - mx) / sum * v[(s * Hkv + hk) * Dv + i];
      out[h * Dv + i] = o;
    }
  }
  free(sc);
}

/* A cache of type holding values that type represents exactly (decoded back into vals). */
static void *make_cache(int type, int64_t n, float *vals)
{
  const ds_type_traits *tr = ds_type_traits_get(type);
  for (int64_t i = 0; i < n; i++) vals[i] = frand();
  size_t bytes = (size_t)(n / tr->block_size) * tr->type_size;
  void *c = malloc(bytes);
  tr->from_float(vals, c, n);
  tr->to_float(c, vals, n);
  return c;
}

/* T tokens at positions L - T .. L - 1 over a cache of n_ctx = L + 3 slots
 * (n_kv = L: the 3 slots beyond must not count); checks the last token. */
static void decode_case(int type, int64_t D, int64_t Dv, int64_t H, int64_t Hkv, int64_t L)
{
  const int64_t n_ctx = L + 3, T = 3;
  float *kv = malloc((size_t)(D * Hkv * n_ctx) * 4), *vv = malloc((size_t)(Dv * Hkv * n_ctx) * 4);
  void *kc = make_cache(type, D * Hkv * n_ctx, kv), *vc = make_cache(type, Dv * Hkv * n_ctx, vv);
  const float scale = 1.0f / sqrtf((float)D);
  float *q = malloc((size_t)(D * H * T) * 4), *solo = malloc((size_t)(Dv * H) * 4);
  fill(q, D * H * T);
  double *ref = malloc((size_t)(Dv * H) * sizeof *ref);
  direct(q + (T - 1) * D * H, kv, vv, D, Dv, H, Hkv, L, scale, ref);
  ds_cpu_level best = ds_cpu_level_get();
  for (int l = DS_CPU_REFERENCE; l <= (int)best; l++) {
    ds_cpu_level_set((ds_cpu_level)l);
    for (int64_t nt = 1; nt <= T; nt += T - 1) {   /* the last token alone, then in a batch of T */
      ds_graph *g = ds_graph_new();
      ds_tensor *qt = input_f32(g, D, H, nt, 1);
      ds_tensor *ps = input_i32(g, nt);
      ds_tensor *k = ds_tensor_external(g, type, 3, (int64_t[]){D, Hkv, n_ctx}, kc, "k");
      ds_tensor *v = ds_tensor_external(g, type, 3, (int64_t[]){Dv, Hkv, n_ctx}, vc, "v");
      ds_tensor *o = ds_op_attn(g, qt, k, v, L, ps, scale);
      ds_tensor_set_output(o);
      CHECK(o && ds_graph_plan(g, 4) == DSEEK_OK);
      if (!o) {
        ds_graph_free(g);
        continue;
      }
      memcpy(qt->data, q + (T - nt) * D * H, (size_t)(D * H * nt) * 4);
      for (int64_t t = 0; t < nt; t++) ((int32_t *)ps->data)[t] = (int32_t)(L - nt + t);
      CHECK_MSG(same_bits_for_thread_counts(g, o), "level %d %s L=%lld T=%lld", l, dseek_type_name(type), (long long)L,
                (long long)nt);
      const float *last = (const float *)o->data + (nt - 1) * Dv * H;
      if (nt == 1) memcpy(solo, last, (size_t)(Dv * H) * 4);
      else CHECK_MSG(memcmp(solo, last, (size_t)(Dv * H) * 4) == 0, "level %d %s L=%lld: batch != solo", l,
                     dseek_type_name(type), (long long)L);
      double err = 0;
      for (int64_t i = 0; i < Dv * H; i++) err = fmax(err, fabs(ref[i] - last[i]));
      CHECK_MSG(err < 2e-5, "level %d %s H=%lld Hkv=%lld L=%lld: error %g", l, dseek_type_name(type), (long long)H,
                (long long)Hkv, (long long)L, err);
      ds_graph_free(g);
    }
  }
  ds_cpu_level_set(best);
  free(kv);
  free(vv);
  free(kc);
  free(vc);
  free(q);
  free(solo);
  free(ref);
}

static void test_mla_shapes(void)
{
  static const int64_t lens[] = {1, 31, 33, 97, 1037};
  for (size_t i = 0; i < DS_ARRAY_LEN(lens); i++) {
    decode_case(DSEEK_TYPE_F16, 37, 29, 16, 1, lens[i]);   /* one latent kv head, 16 query heads */
    decode_case(DSEEK_TYPE_F32, 37, 29, 16, 1, lens[i]);
  }
  decode_case(DSEEK_TYPE_BF16, 37, 29, 16, 1, 97);
  decode_case(DSEEK_TYPE_Q8_0, 64, 32, 16, 1, 97);
  decode_case(DSEEK_TYPE_F16, 64, 32, 6, 1, 33);            /* 6 heads: a split of 4 + 2, 2 + 2 + 2 */
}

static void test_gqa_shapes(void)
{
  decode_case(DSEEK_TYPE_F16, 37, 37, 12, 2, 97);   /* qwen2's 12 over 2 */
  decode_case(DSEEK_TYPE_F16, 37, 37, 12, 2, 1037);
  decode_case(DSEEK_TYPE_F16, 17, 17, 5, 5, 33);    /* no sharing: one head per unit */
  decode_case(DSEEK_TYPE_F32, 17, 17, 3, 1, 33);
  decode_case(DSEEK_TYPE_Q8_0, 128, 128, 12, 2, 97);   /* qwen2's head size, Q8_0 and BF16 caches */
  decode_case(DSEEK_TYPE_Q8_0, 64, 64, 6, 1, 1037);
  decode_case(DSEEK_TYPE_BF16, 37, 37, 12, 2, 97);
  decode_case(DSEEK_TYPE_BF16, 64, 64, 6, 1, 1037);
}

/* Same bits, or both NaN (F16C keeps a NaN's payload, the scalar decode
 * gives a canonical quiet NaN: both are NaN, which is all softmax sees). */
static int same_values(const float *a, const float *b, int n)
{
  for (int i = 0; i < n; i++)
    if (memcmp(&a[i], &b[i], 4) != 0 && !(isnan(a[i]) && isnan(b[i]))) return 0;
  return 1;
}

/* F16C conversion == the scalar decode, bit for bit, including infinities,
 * NaNs, subnormals and every length's tail. */
static void test_f16_twin(void)
{
  enum { N = 1029 };
  uint16_t src[N];
  for (int i = 0; i < N; i++) src[i] = (uint16_t)(rng_u32() >> 7);
  src[0] = 0x7C00;   /* +inf */
  src[1] = 0xFC00;   /* -inf */
  src[2] = 0x7E01;   /* NaN */
  src[3] = 0x0001;   /* smallest subnormal */
  src[4] = 0x8000;   /* -0 */
  float want[N], got[N];
  CHECK(ds_attn_row_to_f32(DS_CPU_SCALAR, DSEEK_TYPE_F16, src, want, N));
  ds_cpu_level best = ds_cpu_level_get();
  for (int l = DS_CPU_SCALAR; l <= (int)best; l++)
    for (int n = 0; n <= 40; n += 1 + (n > 17) * 6) {
      memset(got, 0xAB, sizeof got);
      ds_attn_row_to_f32((ds_cpu_level)l, DSEEK_TYPE_F16, src + 3, got, n);
      CHECK_MSG(same_values(got, want + 3, n), "level %d n=%d", l, n);
      CHECK(((uint32_t *)got)[n] == 0xABABABABu);   /* nothing written past n */
    }
  for (int l = DS_CPU_SCALAR; l <= (int)best; l++) {
    ds_attn_row_to_f32((ds_cpu_level)l, DSEEK_TYPE_F16, src, got, N);
    CHECK(same_values(got, want, N));
  }
  CHECK(isinf(want[0]) && want[0] > 0 && isnan(want[2]) && want[3] > 0 && want[3] < 1e-7f && signbit(want[4]));
}

/* The BF16 and Q8_0 cache-row decodes (ds_attn_row_to_f32) == the types'
 * scalar to_float, bit for bit, over random bytes (any bf16 pattern; Q8_0
 * blocks with any f16 scale, infinities and NaNs included) at every level the
 * host runs, for every length's tail; nothing written past n; other types are
 * declined. */
static void test_row_twins(void)
{
  enum { BLOCKS = 37, BYTES = BLOCKS * 34 };
  static uint8_t src[BYTES];
  static float want[BLOCKS * 32 + 1], got[BLOCKS * 32 + 1];
  for (int i = 0; i < BYTES; i++) src[i] = (uint8_t)(rng_u32() >> 13);
  src[0] = 0x00, src[1] = 0x7C;    /* Q8_0 block 0: d = +inf (q = 0 gives NaN) */
  src[34] = 0x01, src[35] = 0x00;  /* block 1: the smallest subnormal d */
  const int types[] = {DSEEK_TYPE_BF16, DSEEK_TYPE_Q8_0};
  ds_cpu_level best = ds_cpu_level_get();
  for (size_t t = 0; t < DS_ARRAY_LEN(types); t++) {
    const int type = types[t], step = type == DSEEK_TYPE_Q8_0 ? 32 : 1;
    const int64_t n_max = type == DSEEK_TYPE_Q8_0 ? BLOCKS * 32 : BYTES / 2;
    const int64_t lens[] = {0, step, 2 * step, 3 * step, 5 * step, 7 * step, 17 * step, 33 * step, n_max};
    for (size_t i = 0; i < DS_ARRAY_LEN(lens); i++) {
      const int64_t n = lens[i] < n_max ? lens[i] : n_max;
      ds_type_traits_get(type)->to_float(src, want, n);
      for (int l = DS_CPU_SCALAR; l <= (int)best; l++) {
        memset(got, 0xAB, sizeof got);
        CHECK(ds_attn_row_to_f32((ds_cpu_level)l, type, src, got, n));
        CHECK_MSG(same_values(got, want, (int)n), "level %d %s n=%lld", l, dseek_type_name(type), (long long)n);
        CHECK(((uint32_t *)got)[n] == 0xABABABABu);
      }
    }
  }
  float one = 1.0f;
  CHECK(!ds_attn_row_to_f32(best, DSEEK_TYPE_F32, &one, got, 1));
  CHECK(!ds_attn_row_to_f32(best, DSEEK_TYPE_Q4_0, src, got, 32));
}

/* The oracle for one fused multiply-add: the CPU's FMA instruction where it
 * has one (MinGW-w64's fmaf is not fused), else the C library's fmaf. */
#if defined(__x86_64__) && defined(__GNUC__)
__attribute__((target("fma"))) static float fma_insn(float a, float b, float c) { return __builtin_fmaf(a, b, c); }
#endif
static float fma_oracle(float a, float b, float c)
{
#if defined(__x86_64__) && defined(__GNUC__)
  if (ds_cpu_detected() >= DS_CPU_AVX2) return fma_insn(a, b, c);   /* AVX2 level: FMA present */
#endif
  return fmaf(a, b, c);
}

/* The run accumulation: every level gives the bits of n successive fused
 * axpys (computed here slot by slot with fma_oracle), for odd widths and run
 * lengths 0..32. */
static void test_pv_twin(void)
{
  enum { DV = 515, RUN = 32 };
  static float rows[RUN][DV], want[DV], got[DV], o0[DV];
  float e[RUN];
  const float *v[RUN];
  for (int j = 0; j < RUN; j++) {
    fill(rows[j], DV);
    v[j] = rows[j];
    e[j] = 0.5f * (frand() + 1.0f);
  }
  fill(o0, DV);
  static const int64_t widths[] = {1, 7, 16, 29, 37, 128, 515};
  ds_cpu_level best = ds_cpu_level_get();
  for (size_t w = 0; w < DS_ARRAY_LEN(widths); w++)
    for (int n = 0; n <= RUN; n += 1 + (n > 4) * 3) {
      const int64_t Dv = widths[w];
      memcpy(want, o0, sizeof want);
      for (int j = 0; j < n; j++)
        for (int64_t d = 0; d < Dv; d++) want[d] = fma_oracle(e[j], v[j][d], want[d]);
      for (int l = DS_CPU_SCALAR; l <= (int)best; l++) {
        memcpy(got, o0, sizeof got);
        ds_attn_pv((ds_cpu_level)l, Dv, got, v, e, n);
        CHECK_MSG(memcmp(got, want, sizeof got) == 0, "level %d Dv=%lld n=%d", l, (long long)Dv, n);
      }
    }
}

int main(void)
{
  ds_test_levels();
  RUN(test_mla_shapes);
  RUN(test_gqa_shapes);
  RUN(test_f16_twin);
  RUN(test_row_twins);
  RUN(test_pv_twin);
  return DS_TEST_RESULT();
}
