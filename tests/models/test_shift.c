/*
 * test_shift.c — context shift (dseek_context_shift, generate's context_shift)
 * on the tiny reference models: after a shift the logits equal a fresh
 * evaluation of the kept tokens at their new positions.
 *
 * A shift is exact where the cached rows do not depend on the dropped
 * tokens, so the cases are built that way:
 *   1. every layer, n_keep = 0: the later tokens B are evaluated as their own
 *      sequence (ds_context_eval with sequence ids, which masks the dropped
 *      tokens D from them) at positions after D. Rope attention depends on
 *      relative positions only, so B's rows at positions [|D|, |D| + |B|)
 *      rotated down by |D| are the rows of B evaluated from position 0.
 *   2. n_keep > 0 on the model cut to its first layer (its rows depend on
 *      token and position only): A D B evaluated plainly, D dropped.
 * Models: qwen2 (neox pairs), llama (adjacent pairs, llama3 frequency
 * factors), deepseek2 v3 (q_lora, YaRN factor 40) and the YaRN model with
 * original context 8, with positions well past it before and after the
 * shift; F32, F16 and (deepseek2 kv32) Q8_0 caches. Then the argument
 * errors, and generate's automatic shift against the same loop written out
 * with dseek_context_shift.
 *
 *   test_shift TINY_DIR
 */
#include "dseek.h"
#include "harness.h"
#include "runtime/context.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum { V = 300, MAXN = 64 };
static const char *tiny;

static dseek_model *load(const char *variant)
{
  char path[1024];
  snprintf(path, sizeof path, "%s/%s/model.gguf", tiny, variant);
  dseek_model *m = NULL;
  CHECK_MSG(dseek_model_load(path, NULL, &m) == DSEEK_OK, "%s: %s", variant, dseek_last_error());
  return m;
}

static dseek_context *context(dseek_model *m, int64_t n_ctx, int kv_type)
{
  dseek_context_options o;
  dseek_context_options_init(&o, sizeof o);
  o.n_ctx = n_ctx;
  o.n_batch = 7;      /* several chunks per prompt */
  o.n_threads = 2;
  o.kv_type = kv_type;
  dseek_context *c = NULL;
  CHECK_MSG(dseek_context_create(m, &o, &c) == DSEEK_OK, "%s", dseek_last_error());
  return c;
}

static double max_diff(const float *a, const float *b)
{
  double m = 0;
  for (int i = 0; i < V; i++) {
    double d = fabs((double)a[i] - (double)b[i]);
    if (!(d <= m)) m = d;   /* NaN fails */
  }
  return m;
}

/* Deterministic tokens in [1, 256). */
static void tokens(int32_t *t, int n, unsigned seed)
{
  for (int i = 0; i < n; i++) {
    seed = seed * 1103515245u + 12345u;
    t[i] = 1 + (int32_t)((seed >> 16) % 255);
  }
}

/* Logits after `next` in a fresh context that evaluated seq[0..n) from position 0. */
static void fresh(dseek_model *m, int kv_type, const int32_t *seq, int n, int32_t next, float *out)
{
  dseek_context *c = context(m, MAXN, kv_type);
  if (!c) return;
  CHECK_EQ_INT(dseek_decode(c, seq, n, 0), DSEEK_OK);
  CHECK_EQ_INT(dseek_decode(c, &next, 1, 0), DSEEK_OK);
  const float *l = dseek_logits(c, -1);
  if (l) memcpy(out, l, V * sizeof *out);
  dseek_context_free(c);
}

/* 1. Every layer, n_keep = 0: D (private sequence 1) then B (sequence 0, sees
 * only itself) at positions [nd, nd + nb); shift D out; compare. */
static double isolated_case(dseek_model *m, int kv_type, int nd, int nb, unsigned seed)
{
  int32_t seq[MAXN], next = 77, pos[MAXN], sid[MAXN];
  tokens(seq, nd + nb, seed);
  float want[V];
  fresh(m, kv_type, seq + nd, nb, next, want);
  dseek_context *c = context(m, MAXN, kv_type);
  if (!c) return INFINITY;
  for (int i = 0; i < nd + nb; i++) {
    pos[i] = i;
    sid[i] = i < nd ? 1 : 0;
  }
  CHECK_EQ_INT(ds_context_eval(c, seq, pos, pos, sid, nd, false), DSEEK_OK);
  CHECK_EQ_INT(ds_context_eval(c, seq + nd, pos + nd, pos + nd, sid + nd, nb, false), DSEEK_OK);
  c->n_past = nd + nb;   /* ds_context_eval leaves it to the caller */
  CHECK_EQ_INT(dseek_context_shift(c, 0, nd), DSEEK_OK);
  CHECK_EQ_INT(dseek_context_n_past(c), nb);
  CHECK(dseek_logits(c, -1) == NULL);
  int32_t held[MAXN];
  int64_t n_held = 0;
  CHECK_EQ_INT(dseek_context_tokens(c, held, MAXN, &n_held), DSEEK_OK);
  CHECK(n_held == nb && memcmp(held, seq + nd, (size_t)nb * sizeof *held) == 0);
  CHECK_EQ_INT(dseek_decode(c, &next, 1, 0), DSEEK_OK);
  const float *l = dseek_logits(c, -1);
  double d = l ? max_diff(l, want) : INFINITY;
  dseek_context_free(c);
  return d;
}

/* 2. The model cut to its first layer: A D B plainly, then D dropped. */
static double first_layer_case(dseek_model *m, int kv_type, int nk, int nd, int nb, unsigned seed)
{
  const int64_t n_layer = m->hp.n_layer;
  m->hp.n_layer = 1;   /* layer 0's rows depend on token and position only */
  int32_t seq[MAXN], kept[MAXN], next = 123;
  tokens(seq, nk + nd + nb, seed);
  memcpy(kept, seq, (size_t)nk * sizeof *kept);
  memcpy(kept + nk, seq + nk + nd, (size_t)nb * sizeof *kept);
  float want[V];
  fresh(m, kv_type, kept, nk + nb, next, want);
  dseek_context *c = context(m, MAXN, kv_type);
  double d = INFINITY;
  if (c) {
    CHECK_EQ_INT(dseek_decode(c, seq, nk + nd + nb, 0), DSEEK_OK);
    CHECK_EQ_INT(dseek_context_shift(c, nk, nd), DSEEK_OK);
    CHECK_EQ_INT(dseek_decode(c, &next, 1, 0), DSEEK_OK);
    const float *l = dseek_logits(c, -1);
    d = l ? max_diff(l, want) : INFINITY;
    dseek_context_free(c);
  }
  m->hp.n_layer = n_layer;
  return d;
}

static void test_exact_after_shift(void)
{
  /* tolerances: f32 rows rotated in double, stored f32 (~1e-7 relative;
   * measured 5e-6); F16 / Q8_0 rope keys are rounded once more to the cache
   * type after the rotation (measured F16 3e-3, Q8_0 0.13, the same order
   * as the Q8_0 cache's own error against F32, test_kv_cache) */
  static const struct { const char *variant; int kv_type; double tol; } cases[] = {
    {"qwen2-gguf-f32", DSEEK_TYPE_F32, 1e-4},   {"llama-gguf-f32", DSEEK_TYPE_F32, 1e-4},
    {"ds2-v3-gguf-f32", DSEEK_TYPE_F32, 1e-4},  {"ds2-yarn-gguf-f32", DSEEK_TYPE_F32, 1e-4},
    {"qwen2-gguf-f32", DSEEK_TYPE_F16, 2e-2},   {"ds2-yarn-gguf-f32", DSEEK_TYPE_F16, 2e-2},
    {"ds2-kv32-gguf-f32", DSEEK_TYPE_F32, 1e-4}, {"ds2-kv32-gguf-f32", DSEEK_TYPE_Q8_0, 0.25},
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    dseek_model *m = load(cases[i].variant);
    if (!m) continue;
    /* positions up to 41 before the shift, 21 after: past the YaRN model's original 8 */
    double a = isolated_case(m, cases[i].kv_type, 20, 21, 7u + (unsigned)i);
    double b = first_layer_case(m, cases[i].kv_type, 5, 13, 17, 11u + (unsigned)i);
    fprintf(stderr, "  %-20s %-4s all layers, keep 0: %.3g; first layer, keep 5: %.3g\n", cases[i].variant,
            dseek_type_name(cases[i].kv_type), a, b);
    CHECK_MSG(a <= cases[i].tol && b <= cases[i].tol, "%s %s: logits after the shift differ from a fresh "
              "evaluation by %g / %g (tolerance %g)", cases[i].variant, dseek_type_name(cases[i].kv_type), a, b,
              cases[i].tol);
    dseek_model_free(m);
  }
}

/* Without the rotation the same construction is far off: the test can fail. */
static void test_rotation_matters(void)
{
  dseek_model *m = load("ds2-yarn-gguf-f32");
  if (!m) return;
  int32_t seq[MAXN], next = 77;
  tokens(seq, 30, 5u);
  float want[V];
  fresh(m, DSEEK_TYPE_F32, seq + 10, 20, next, want);
  /* B cached at positions 10.. but not rotated: evaluate it there directly */
  dseek_context *c = context(m, MAXN, DSEEK_TYPE_F32);
  int32_t pos[MAXN], slot[MAXN], sid[MAXN];
  for (int i = 0; i < 20; i++) {
    pos[i] = 10 + i;
    slot[i] = i;
    sid[i] = -1;
  }
  CHECK_EQ_INT(ds_context_eval(c, seq + 10, pos, slot, sid, 20, false), DSEEK_OK);
  c->n_past = 20;
  CHECK_EQ_INT(dseek_decode(c, &next, 1, 0), DSEEK_OK);   /* at position 20: keys 10 too far */
  double d = max_diff(dseek_logits(c, -1), want);
  CHECK_MSG(d > 1e-2, "unrotated keys give logits within %g of the fresh ones", d);
  dseek_context_free(c);
  dseek_model_free(m);
}

static void test_errors(void)
{
  dseek_model *m = load("qwen2-gguf-f32");
  if (!m) return;
  dseek_context *c = context(m, 32, DSEEK_TYPE_F32);
  int32_t seq[10];
  tokens(seq, 10, 3u);
  CHECK_EQ_INT(dseek_context_shift(NULL, 0, 1), DSEEK_ERR_INVALID_ARG);
  CHECK_EQ_INT(dseek_context_shift(c, 0, 1), DSEEK_ERR_INVALID_ARG);   /* nothing cached */
  CHECK_EQ_INT(dseek_decode(c, seq, 10, 0), DSEEK_OK);
  CHECK_EQ_INT(dseek_context_shift(c, -1, 2), DSEEK_ERR_INVALID_ARG);
  CHECK_EQ_INT(dseek_context_shift(c, 2, 0), DSEEK_ERR_INVALID_ARG);
  CHECK_EQ_INT(dseek_context_shift(c, 4, 7), DSEEK_ERR_INVALID_ARG);
  CHECK(strstr(dseek_last_error(), "n_keep + n_discard <= n_past") != NULL);
  CHECK_EQ_INT(dseek_context_n_past(c), 10);   /* refused calls change nothing */
  CHECK(dseek_logits(c, -1) != NULL);
  CHECK_EQ_INT(dseek_context_shift(c, 4, 6), DSEEK_OK);   /* everything after the prefix */
  CHECK_EQ_INT(dseek_context_n_past(c), 4);
  dseek_context_free(c);
  dseek_model_free(m);
}

/* generate's context_shift == the same loop with dseek_context_shift: on a
 * full context keep n_keep, drop half of the rest. */
static void test_generate_shift(void)
{
  dseek_model *m = load("qwen2-gguf-f32");
  if (!m) return;
  const char *prompt = "the cat sat on the mat and";
  const int64_t n_ctx = 24, n_keep = 3, max_tokens = 50;
  dseek_context *g = context(m, n_ctx, DSEEK_TYPE_F32), *h = context(m, n_ctx, DSEEK_TYPE_F32);
  dseek_generate_options go;
  dseek_generate_options_init(&go, sizeof go);
  CHECK(go.context_shift == 0 && go.n_keep == 0);
  go.max_tokens = max_tokens;
  go.reasoning = DSEEK_REASONING_OFF;
  dseek_generate_result r = {.struct_size = sizeof r};
  CHECK_EQ_INT(dseek_generate(g, prompt, &go, &r), DSEEK_OK);
  CHECK_EQ_INT(r.stop_reason, DSEEK_STOP_CONTEXT_FULL);   /* default: no shift */
  go.context_shift = 1;
  go.n_keep = n_keep;
  CHECK_EQ_INT(dseek_context_reset(g), DSEEK_OK);
  CHECK_EQ_INT(dseek_generate(g, prompt, &go, &r), DSEEK_OK);
  CHECK_MSG(r.stop_reason == DSEEK_STOP_MAX_TOKENS || r.stop_reason == DSEEK_STOP_EOS, "stop %d", r.stop_reason);
  CHECK_MSG(r.n_prompt_tokens + r.n_generated_tokens > n_ctx, "the test must overflow the context (%lld)",
            (long long)r.n_generated_tokens);

  /* the loop written out */
  int32_t ids[64];
  int64_t n = 0;
  CHECK_EQ_INT(dseek_tokenize(m, prompt, strlen(prompt), 1, 1, ids, 64, &n), DSEEK_OK);
  CHECK_EQ_INT(dseek_decode(h, ids, n, 0), DSEEK_OK);
  for (int64_t i = 0; i < r.n_generated_tokens; i++) {
    const float *l = dseek_logits(h, -1);
    int32_t best = 0;
    for (int32_t t = 1; t < V; t++)
      if (l[t] > l[best]) best = t;
    if (dseek_context_n_past(h) == n_ctx) {
      int64_t past = dseek_context_n_past(h);
      CHECK_EQ_INT(dseek_context_shift(h, n_keep, (past - n_keep) / 2), DSEEK_OK);
    }
    CHECK_EQ_INT(dseek_decode(h, &best, 1, 0), DSEEK_OK);
  }
  int32_t tg[64], th[64];
  int64_t ng = 0, nh = 0;
  CHECK_EQ_INT(dseek_context_tokens(g, tg, 64, &ng), DSEEK_OK);
  CHECK_EQ_INT(dseek_context_tokens(h, th, 64, &nh), DSEEK_OK);
  CHECK_MSG(ng == nh && memcmp(tg, th, (size_t)ng * sizeof *tg) == 0, "generate's shifted context (%lld tokens) "
            "differs from the written-out loop (%lld)", (long long)ng, (long long)nh);
  CHECK(ng >= n_keep && memcmp(tg, ids, (size_t)n_keep * sizeof *tg) == 0);   /* the prefix stays */

  /* not with parallel samples, a draft model or MTP */
  dseek_samples *samples = NULL;
  CHECK_EQ_INT(dseek_generate_parallel(g, prompt, 2, NULL, &go, &samples), DSEEK_ERR_INVALID_ARG);
  go.use_mtp = 1;
  CHECK_EQ_INT(dseek_generate(g, prompt, &go, &r), DSEEK_ERR_INVALID_ARG);
  go.use_mtp = 0;
  go.draft = h;
  CHECK_EQ_INT(dseek_generate(g, prompt, &go, &r), DSEEK_ERR_INVALID_ARG);
  go.n_keep = -1;
  go.draft = NULL;
  CHECK_EQ_INT(dseek_generate(g, prompt, &go, &r), DSEEK_ERR_INVALID_ARG);
  dseek_context_free(g);
  dseek_context_free(h);
  dseek_model_free(m);
}

int main(int argc, char **argv)
{
  if (!ds_test_tiny_dir(argc, argv)) return 77;
  tiny = argv[1];
  RUN(test_exact_after_shift);
  RUN(test_rotation_matters);
  RUN(test_errors);
  RUN(test_generate_shift);
  return DS_TEST_RESULT();
}
