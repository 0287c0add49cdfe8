/*
 * test_kv_cache.c — KV cache element types, state files and the memory a
 * context takes, on the tiny reference models:
 *   - bytes per token per layer == (kv_lora_rank + qk_rope) x element size
 *     for deepseek2 (Q8_0: 34 bytes per 32 values) and 2 Hkv Dh x size dense;
 *     Q8_0 refused (UNSUPPORTED) where cached rows are not whole blocks;
 *   - logits with F16/BF16/Q8_0 caches within a measured bound of the F32
 *     cache, and the F32 cache against the float64 reference;
 *   - state save/load for deepseek2's latent cache (V is a view of it) and
 *     for dense caches, every type: the loaded context continues bit-exactly;
 *     a file of another type or model is refused;
 *   - dseek_context_memory_estimate == what dseek_context_create takes, and
 *     memory_limit refuses a context that does not fit.
 *
 *   test_kv_cache TINY_DIR
 */
#include "dseek.h"
#include "harness.h"

#include <math.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

enum { V = 300 };
static const char *tiny;
static const int TYPES[4] = {DSEEK_TYPE_F32, DSEEK_TYPE_F16, DSEEK_TYPE_BF16, DSEEK_TYPE_Q8_0};

static dseek_model *load(const char *variant)
{
  char path[1024];
  snprintf(path, sizeof path, "%s/%s/model.gguf", tiny, variant);
  dseek_model *m = NULL;
  CHECK_MSG(dseek_model_load(path, NULL, &m) == DSEEK_OK, "%s: %s", variant, dseek_last_error());
  return m;
}

static dseek_status create(dseek_model *m, int64_t n_ctx, int kv_type, int64_t limit, dseek_context **c)
{
  dseek_context_options o;
  dseek_context_options_init(&o, sizeof o);
  o.n_ctx = n_ctx;
  o.n_threads = 2;
  o.kv_type = kv_type;
  o.memory_limit = limit;
  *c = NULL;
  return dseek_context_create(m, &o, c);
}

/* The 12-token prompt and 8 greedy tokens of a variant's expected.txt, and its prefill logits. */
static int read_ids(const char *variant, const char *key, int32_t *ids, int cap)
{
  double v[64];
  int n = ds_test_expected(tiny, variant, key, v, cap < 64 ? cap : 64);
  for (int i = 0; i < n; i++) ids[i] = (int32_t)v[i];
  return n;
}

static double max_diff(const float *a, const float *b, int64_t n)
{
  double m = 0;
  for (int64_t i = 0; i < n; i++) {
    double d = fabs((double)a[i] - (double)b[i]);
    if (!(d <= m)) m = d;
  }
  return m;
}

static void test_bytes_per_token(void)
{
  dseek_model *kv32 = load("ds2-kv32-gguf-f32"), *v3 = load("ds2-v3-gguf-f32"), *qwen = load("qwen2-gguf-f32");
  if (!kv32 || !v3 || !qwen) goto done;
  /* kv32: kv_lora_rank 64, qk_rope 32, 3 layers (tests/reference README) */
  const int64_t L = dseek_model_n_layer(kv32), row = 64 + 32;
  const int64_t want[4] = {row * 4, row * 2, row * 2, row / 32 * 34};
  for (int i = 0; i < 4; i++) {
    dseek_context *c;
    CHECK_EQ_INT(create(kv32, 16, TYPES[i], 0, &c), DSEEK_OK);
    CHECK_EQ_INT(dseek_context_kv_bytes_per_token(c), L * want[i]);
    dseek_context_free(c);
  }
  /* Q8_0 needs whole blocks: v3's latent row is 32 + 8, qwen2's heads are 16 wide */
  dseek_context *c;
  CHECK_EQ_INT(create(v3, 16, DSEEK_TYPE_Q8_0, 0, &c), DSEEK_ERR_UNSUPPORTED);
  CHECK(strstr(dseek_last_error(), "kv_lora_rank and qk_rope") != NULL);
  CHECK_EQ_INT(create(qwen, 16, DSEEK_TYPE_Q8_0, 0, &c), DSEEK_ERR_UNSUPPORTED);
  CHECK(strstr(dseek_last_error(), "head dims") != NULL);
  CHECK_EQ_INT(create(qwen, 16, DSEEK_TYPE_Q4_0, 0, &c), DSEEK_ERR_INVALID_ARG);
done:
  dseek_model_free(kv32);
  dseek_model_free(v3);
  dseek_model_free(qwen);
}

/* Prefill of the prompt (all logits), then the 8 greedy tokens one by one:
 * 20 rows of logits per cache type. */
static int run_rows(dseek_model *m, int kv_type, const int32_t *prompt, int np, const int32_t *greedy, int ng,
                    float *rows)
{
  dseek_context *c;
  if (create(m, 32, kv_type, 0, &c) != DSEEK_OK) return 0;
  CHECK_EQ_INT(dseek_decode(c, prompt, np, 1), DSEEK_OK);
  for (int i = 0; i < np; i++) memcpy(rows + i * V, dseek_logits(c, i), V * sizeof *rows);
  for (int i = 0; i < ng; i++) {
    CHECK_EQ_INT(dseek_decode(c, greedy + i, 1, 0), DSEEK_OK);
    memcpy(rows + (np + i) * V, dseek_logits(c, -1), V * sizeof *rows);
  }
  dseek_context_free(c);
  return np + ng;
}

static void test_logits_by_type(void)
{
  const char *variant = "ds2-kv32-gguf-f32";
  dseek_model *m = load(variant);
  int32_t prompt[32], greedy[32];
  int np = read_ids(variant, "prompt", prompt, 32), ng = read_ids(variant, "greedy", greedy, 32);
  CHECK(np == 12 && ng == 8);
  if (!m || np != 12 || ng != 8) { dseek_model_free(m); return; }
  float *rows[4];
  for (int i = 0; i < 4; i++) rows[i] = malloc(20 * V * sizeof(float));
  /* the F32 cache against the float64 reference (prefill rows) */
  char path[1024];
  snprintf(path, sizeof path, "%s/%s/prefill_logits.f32", tiny, variant);
  FILE *f = fopen(path, "rb");
  float *ref = malloc(12 * V * sizeof *ref);
  CHECK(f && fread(ref, sizeof *ref, 12 * V, f) == 12 * V);
  if (f) fclose(f);
  for (int i = 0; i < 4; i++) CHECK_EQ_INT(run_rows(m, TYPES[i], prompt, np, greedy, ng, rows[i]), 20);
  double ref_err = max_diff(rows[0], ref, 12 * V);
  CHECK_MSG(ref_err < 1e-4, "F32 cache vs reference: %g", ref_err);
  /* Bounds: measured max |logit difference| against the F32 cache over the
   * 20 rows (logits up to ~6.7): F16 0.008, BF16 0.039, Q8_0 0.36; each bound
   * is ~2x the measurement. Q8_0 rounds every value by up to amax/254 of its
   * 32-value block (BF16: 2^-9 of the value itself), so small values carry
   * several times BF16's error; on this model cut to its first layer (no
   * expert routing to amplify it) the same measure is F16 0.003, BF16 0.022,
   * Q8_0 0.091. */
  const double bound[4] = {0, 0.02, 0.08, 0.75};
  for (int i = 1; i < 4; i++) {
    double d = max_diff(rows[i], rows[0], 20 * V);
    fprintf(stderr, "  %s cache: max |logit - F32 cache logit| = %.3g over 20 rows\n", dseek_type_name(TYPES[i]), d);
    CHECK_MSG(d > 0 && d < bound[i], "%s cache: %g (bound %g)", dseek_type_name(TYPES[i]), d, bound[i]);
  }
  for (int i = 0; i < 4; i++) free(rows[i]);
  free(ref);
  dseek_model_free(m);
}

/* Save after 9 tokens, load into a fresh context, both decode 3 more: same bits. */
static void round_trip(dseek_model *m, int kv_type, const char *file)
{
  const int32_t toks[12] = {294, 5, 9, 100, 200, 7, 8, 9, 10, 11, 40, 41};
  dseek_context *a, *b;
  CHECK_EQ_INT(create(m, 32, kv_type, 0, &a), DSEEK_OK);
  CHECK_EQ_INT(create(m, 32, kv_type, 0, &b), DSEEK_OK);
  if (!a || !b) { dseek_context_free(a); dseek_context_free(b); return; }
  CHECK_EQ_INT(dseek_decode(a, toks, 9, 0), DSEEK_OK);
  CHECK_EQ_INT(dseek_context_save(a, file), DSEEK_OK);
  CHECK_EQ_INT(dseek_context_load(b, file), DSEEK_OK);
  CHECK_EQ_INT(dseek_context_n_past(b), 9);
  for (int i = 9; i < 12; i++) {
    CHECK_EQ_INT(dseek_decode(a, toks + i, 1, 0), DSEEK_OK);
    CHECK_EQ_INT(dseek_decode(b, toks + i, 1, 0), DSEEK_OK);
    const float *la = dseek_logits(a, -1), *lb = dseek_logits(b, -1);
    CHECK_MSG(la && lb && memcmp(la, lb, V * sizeof *la) == 0, "%s %s: token %d differs after load",
              dseek_model_arch(m), dseek_type_name(kv_type), i);
  }
  /* the file holds exactly the rows: header 56 bytes, 9 tokens, 9 rows per layer, checksum */
  FILE *f = fopen(file, "rb");
  long size = -1;
  if (f && fseek(f, 0, SEEK_END) == 0) size = ftell(f);
  if (f) fclose(f);
  CHECK_EQ_INT(size, 56 + 9 * 4 + 9 * dseek_context_kv_bytes_per_token(a) + 8);
  dseek_context_free(a);
  dseek_context_free(b);
}

static void test_state(void)
{
  char file[64];
  snprintf(file, sizeof file, "/tmp/dseek-kvstate-%d.bin", (int)getpid());
  dseek_model *kv32 = load("ds2-kv32-gguf-f32"), *v3 = load("ds2-v3-gguf-f32"), *qwen = load("qwen2-gguf-f32");
  if (!kv32 || !v3 || !qwen) goto done;
  for (int i = 0; i < 4; i++) round_trip(kv32, TYPES[i], file);
  round_trip(v3, DSEEK_TYPE_BF16, file);
  round_trip(qwen, DSEEK_TYPE_F16, file);
  /* refused: another cache type, another model (same and other architecture) */
  dseek_context *a, *q8, *other, *dense;
  CHECK_EQ_INT(create(kv32, 32, DSEEK_TYPE_F16, 0, &a), DSEEK_OK);
  CHECK_EQ_INT(create(kv32, 32, DSEEK_TYPE_Q8_0, 0, &q8), DSEEK_OK);
  CHECK_EQ_INT(create(v3, 32, DSEEK_TYPE_F16, 0, &other), DSEEK_OK);
  CHECK_EQ_INT(create(qwen, 32, DSEEK_TYPE_F16, 0, &dense), DSEEK_OK);
  const int32_t toks[4] = {294, 5, 9, 100};
  CHECK_EQ_INT(dseek_decode(a, toks, 4, 0), DSEEK_OK);
  CHECK_EQ_INT(dseek_decode(q8, toks, 2, 0), DSEEK_OK);
  CHECK_EQ_INT(dseek_context_save(a, file), DSEEK_OK);
  CHECK_EQ_INT(dseek_context_load(q8, file), DSEEK_ERR_FORMAT);
  CHECK(strstr(dseek_last_error(), "does not match") != NULL);
  CHECK_EQ_INT(dseek_context_n_past(q8), 2);   /* left as it was */
  CHECK_EQ_INT(dseek_context_load(other, file), DSEEK_ERR_FORMAT);
  CHECK(strstr(dseek_last_error(), "another model") != NULL);
  CHECK_EQ_INT(dseek_context_load(dense, file), DSEEK_ERR_FORMAT);
  dseek_context_free(a);
  dseek_context_free(q8);
  dseek_context_free(other);
  dseek_context_free(dense);
done:
  remove(file);
  dseek_model_free(kv32);
  dseek_model_free(v3);
  dseek_model_free(qwen);
}

static void test_memory(void)
{
  dseek_model *m = load("ds2-kv32-gguf-f32");
  if (!m) return;
  dseek_context_options o;
  dseek_context_options_init(&o, sizeof o);
  CHECK(o.memory_limit == 0);
  o.n_ctx = 100;
  o.n_batch = 16;
  o.n_threads = 2;
  o.kv_type = DSEEK_TYPE_Q8_0;
  dseek_memory_estimate e = {.struct_size = sizeof e};
  CHECK_EQ_INT(dseek_context_memory_estimate(m, &o, &e), DSEEK_OK);
  CHECK_EQ_INT(e.n_ctx, 100);
  CHECK_EQ_INT(e.kv_bytes_per_token, 3 * 102);
  CHECK_EQ_INT(e.kv_bytes, 100 * 3 * 102);
  CHECK(e.work_bytes > V * 4 && e.total_bytes == e.kv_bytes + e.work_bytes);
  dseek_context *c = NULL;
  CHECK_EQ_INT(dseek_context_create(m, &o, &c), DSEEK_OK);
  CHECK_EQ_INT(dseek_context_kv_bytes_per_token(c), e.kv_bytes_per_token);
  dseek_context_free(c);
  /* the limit: exactly enough is fine, a byte less is refused with the numbers */
  o.memory_limit = e.total_bytes;
  CHECK_EQ_INT(dseek_context_create(m, &o, &c), DSEEK_OK);
  dseek_context_free(c);
  o.memory_limit = e.total_bytes - 1;
  c = NULL;
  CHECK_EQ_INT(dseek_context_create(m, &o, &c), DSEEK_ERR_NO_MEMORY);
  CHECK(c == NULL && strstr(dseek_last_error(), "the memory limit") != NULL);
  o.memory_limit = -1;
  CHECK_EQ_INT(dseek_context_create(m, &o, &c), DSEEK_ERR_INVALID_ARG);
  /* a context larger than this machine's memory: refused before allocating */
  o.memory_limit = 0;
  o.n_ctx = INT32_MAX;
  o.kv_type = DSEEK_TYPE_F32;
  CHECK_EQ_INT(dseek_context_create(m, &o, &c), DSEEK_ERR_NO_MEMORY);
  CHECK(strstr(dseek_last_error(), "memory available") != NULL);
  /* an older caller's options (without memory_limit) still work */
  dseek_context_options old;
  dseek_context_options_init(&old, offsetof(dseek_context_options, memory_limit));
  old.n_ctx = 16;
  CHECK_EQ_INT(dseek_context_create(m, &old, &c), DSEEK_OK);
  dseek_context_free(c);
  /* estimate errors */
  CHECK_EQ_INT(dseek_context_memory_estimate(NULL, NULL, &e), DSEEK_ERR_INVALID_ARG);
  CHECK_EQ_INT(dseek_context_memory_estimate(m, NULL, NULL), DSEEK_ERR_INVALID_ARG);
  e.struct_size = 0;
  CHECK_EQ_INT(dseek_context_memory_estimate(m, NULL, &e), DSEEK_ERR_INVALID_ARG);
  dseek_model_free(m);
}

int main(int argc, char **argv)
{
  if (!ds_test_tiny_dir(argc, argv)) return 77;
  tiny = argv[1];
  RUN(test_bytes_per_token);
  RUN(test_logits_by_type);
  RUN(test_state);
  RUN(test_memory);
  return DS_TEST_RESULT();
}
