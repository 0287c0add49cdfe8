/*
 * test_speculative.c — draft-model speculative decoding: with a greedy chain
 * the output is token for token the plain greedy output whatever the draft;
 * with sampling, the distribution of later tokens matches plain sampling.
 *
 *   test_speculative TINY_DIR
 */
#include "dseek.h"
#include "harness.h"
#include "tv.h"

#include <stdlib.h>

typedef struct text { char s[8192]; size_t n; } text;

static int collect(dseek_piece_kind kind, const char *p, size_t n, void *user)
{
  (void)kind;
  text *t = user;
  if (t->n + n < sizeof t->s) { memcpy(t->s + t->n, p, n); t->n += n; }
  return 0;
}

static dseek_model *load(const char *tiny, const char *variant)
{
  char path[1024];
  snprintf(path, sizeof path, "%s/%s/model.gguf", tiny, variant);
  dseek_model *m = NULL;
  CHECK_MSG(dseek_model_load(path, NULL, &m) == DSEEK_OK, "%s", dseek_last_error());
  return m;
}

static dseek_context *context(dseek_model *m)
{
  dseek_context_options co;
  dseek_context_options_init(&co, sizeof co);
  co.n_ctx = 128;
  dseek_context *c = NULL;
  CHECK(dseek_context_create(m, &co, &c) == DSEEK_OK);
  return c;
}

static void run(dseek_context *c, dseek_context *draft, int64_t n_draft, dseek_sampler *s, int64_t max_tokens,
                text *out, dseek_generate_result *r)
{
  dseek_generate_options go;
  dseek_generate_options_init(&go, sizeof go);
  go.max_tokens = max_tokens;
  go.reasoning = DSEEK_REASONING_OFF;
  go.stream = collect;
  go.stream_user_data = out;
  go.sampler = s;
  go.draft = draft;
  go.n_draft = n_draft;
  memset(out, 0, sizeof *out);
  r->struct_size = sizeof *r;
  dseek_context_reset(c);
  if (draft) dseek_context_reset(draft);
  CHECK_MSG(dseek_generate(c, "hello world", &go, r) == DSEEK_OK, "%s", dseek_last_error());
}

static void test_greedy_identical(const char *tiny)
{
  dseek_model *target = load(tiny, "qwen2-gguf-f32"), *q4 = load(tiny, "qwen2-gguf-q4_0"),
              *other = load(tiny, "qwen2-gguf-f32-tied");
  if (!target || !q4 || !other) return;
  dseek_context *c = context(target), *self = context(target), *dq4 = context(q4), *doth = context(other);
  text plain, spec;
  dseek_generate_result r0, r;
  run(c, NULL, 0, NULL, 40, &plain, &r0);
  CHECK(plain.n > 0);
  dseek_context *drafts[3] = {self, dq4, doth};
  const char *names[3] = {"same model", "Q4_0 copy", "another model"};
  for (int d = 0; d < 3; d++) {
    for (int64_t k = 1; k <= 8; k += 3) {
      run(c, drafts[d], k, NULL, 40, &spec, &r);
      CHECK_MSG(spec.n == plain.n && memcmp(spec.s, plain.s, plain.n) == 0, "%s, n_draft %lld: output differs",
                names[d], (long long)k);
      CHECK_EQ_INT(r.n_generated_tokens, r0.n_generated_tokens);
      CHECK(r.n_draft_tokens > 0 && r.n_draft_accepted <= r.n_draft_tokens);
      if (d == 0) CHECK_EQ_INT(r.n_draft_accepted, r.n_draft_tokens);   /* a perfect draft */
      fprintf(stderr, "greedy, draft %-13s n_draft %lld: accepted %lld of %lld\n", names[d], (long long)k,
              (long long)r.n_draft_accepted, (long long)r.n_draft_tokens);
    }
  }
  /* the context continues normally after a speculative run: the prompt cache still matches */
  run(c, dq4, 4, NULL, 5, &spec, &r);
  dseek_generate_options go;
  dseek_generate_options_init(&go, sizeof go);
  go.max_tokens = 0;
  dseek_generate_result rc = {.struct_size = sizeof rc};
  CHECK_EQ_INT(dseek_generate(c, "hello world", &go, &rc), DSEEK_OK);
  CHECK_EQ_INT(rc.n_cached_tokens, rc.n_prompt_tokens - 1);

  /* errors */
  go.draft = c;
  CHECK_EQ_INT(dseek_generate(c, "hi", &go, &rc), DSEEK_ERR_INVALID_ARG);
  go.draft = dq4;
  go.n_draft = 0;
  CHECK_EQ_INT(dseek_generate(c, "hi", &go, &rc), DSEEK_ERR_INVALID_ARG);
  go.n_draft = 2;
  dseek_sampler *pen = NULL;
  dseek_sampler_create(1, &pen);
  dseek_sampler_add_penalties(pen, 16, 1.2f, 0, 0);
  go.sampler = pen;
  CHECK_EQ_INT(dseek_generate(c, "hi", &go, &rc), DSEEK_ERR_INVALID_ARG);
  dseek_sampler_free(pen);
  dseek_context_free(c);
  dseek_context_free(self);
  dseek_context_free(dq4);
  dseek_context_free(doth);
  dseek_model_free(target);
  dseek_model_free(q4);
  dseek_model_free(other);
}

/* Sampling: the empirical distribution of the 2nd and 3rd tokens with a poor
 * draft (another random model: many rejections, so the residual rule matters)
 * against the exact distribution plain sampling gives (tv.h: from the
 * target's logits over every top-6 prefix). The rule itself is checked
 * exactly in tests/runtime/test_spec_rule.c; this checks its wiring (which
 * p and q row go with which draft token, the target's state after a
 * rejection). */
static void test_sampling_distribution(const char *tiny)
{
  dseek_model *target = load(tiny, "llama-gguf-f32"), *other = load(tiny, "llama-gguf-f32-tied");
  if (!target || !other) return;
  dseek_context *c = context(target), *d = context(other);
  enum { RUNS = 4000, V = 300 };
  static int counts[2][V];
  int32_t ids[128];
  int64_t n_prompt = 0;
  for (int i = 0; i < RUNS; i++) {
    dseek_sampler *s = NULL;
    dseek_sampler_create((uint64_t)(i + 1) * 7919u + 1000003u, &s);
    dseek_sampler_add_top_k(s, 6);
    dseek_sampler_add_temperature(s, 1.0f);
    text t;
    dseek_generate_result r;
    run(c, d, 3, s, 3, &t, &r);
    int64_t n = 0;
    CHECK_EQ_INT(dseek_context_tokens(c, ids, 128, &n), DSEEK_OK);
    CHECK_EQ_INT(n, r.n_prompt_tokens + 3);
    n_prompt = r.n_prompt_tokens;
    if (n == r.n_prompt_tokens + 3) {
      counts[0][ids[n - 2]]++;
      counts[1][ids[n - 1]]++;
    }
    dseek_sampler_free(s);
  }
  static double exact[2][V];
  CHECK(tv_exact_tokens_2_3(target, c, ids, n_prompt, V, 6, exact[0], exact[1]));
  for (int pos = 0; pos < 2; pos++) {
    int n, df, outside;
    double tv = tv_exact(counts[pos], exact[pos], V, &n), chi2 = tv_chi2(counts[pos], exact[pos], V, &df, &outside);
    fprintf(stderr, "sampling: token %d, %d samples: TV from the exact distribution %.4f, chi-square %.2f of "
            "its 1e-3 critical value (%d df), %d outside the support\n", pos + 2, n, tv, chi2, df, outside);
    CHECK(n > RUNS / 2);
    /* Plain sampling gives no token outside the support of the exact
     * distribution, and Pearson's chi-square stays below its 1e-3 critical
     * value (measured: 0.42 and 0.78 of it; TV 0.034 / 0.061). Wrong rules,
     * each made once by hand in lib/runtime/speculative.c (token 2 / 3):
     *   resample from p, not norm(max(0, p - q)): chi-square 1.22 / 0.88 of
     *     the critical value, TV 0.046 / 0.065 (fails at token 2);
     *   accept with min(1, q/p): 3335 / 1007 draws outside the support, TV
     *     0.90 / 0.53; keep every draft token: 3346 / 1051, TV 0.91 / 0.54.
     * The two-plain-runs TV comparison this replaces allowed 0.09 / 0.15 and
     * let the first of these pass. Fixed seeds: the test is deterministic. */
    CHECK_EQ_INT(outside, 0);
    CHECK(chi2 < 1);
  }
  dseek_context_free(c);
  dseek_context_free(d);
  dseek_model_free(target);
  dseek_model_free(other);
}

int main(int argc, char **argv)
{
  if (!ds_test_tiny_dir(argc, argv)) return 77;
  test_greedy_identical(argv[1]);
  test_sampling_distribution(argv[1]);
  return DS_TEST_RESULT();
}
