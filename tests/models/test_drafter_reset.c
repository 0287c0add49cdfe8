/*
 * test_drafter_reset.c — speculation whose rounds are cut short mid-run
 * (runtime/drafter.h, reset): a thinking budget injects its closing text after
 * a few tokens (the round's last token is kept), and budget forcing refuses
 * an end of turn (the round's last token is dropped, "Wait" is injected).
 * With a greedy chain a draft model (qwen2 with its Q4_0 copy as the draft)
 * and the MTP layer (ds2-mtp) must give token for token the plain output,
 * with the same counts and the same tokens left in the cache.
 *
 * End-of-turn is made likely with a logit bias on EOS (greedy after the bias),
 * so that budget forcing happens on these random tiny models.
 *
 *   test_drafter_reset TINY_DIR
 */
#include "dseek.h"
#include "harness.h"

#include <stdbool.h>
#include <stdio.h>
#include <string.h>

typedef struct text { char s[16384]; size_t n; } text;

static int collect(dseek_piece_kind kind, const char *p, size_t n, void *user)
{
  text *t = user;
  if (t->n + n + 1 < sizeof t->s) {
    t->s[t->n++] = kind == DSEEK_PIECE_REASONING ? 'R' : 'C';   /* the kind of each piece counts too */
    memcpy(t->s + t->n, p, n);
    t->n += n;
  }
  return 0;
}

static dseek_model *load(const char *tiny, const char *variant)
{
  char path[1024];
  snprintf(path, sizeof path, "%s/%s/model.gguf", tiny, variant);
  dseek_model *m = NULL;
  CHECK_MSG(dseek_model_load(path, NULL, &m) == DSEEK_OK, "%s: %s", variant, dseek_last_error());
  return m;
}

static dseek_context *context(dseek_model *m)
{
  dseek_context_options co;
  dseek_context_options_init(&co, sizeof co);
  co.n_ctx = 160;
  co.n_threads = 1;
  dseek_context *c = NULL;
  CHECK_MSG(dseek_context_create(m, &co, &c) == DSEEK_OK, "%s", dseek_last_error());
  return c;
}

static int32_t eos_token;   /* the target model's EOS */

typedef struct setup { int64_t max_thinking, min_thinking; float eos_bias; } setup;

/* One greedy run from an empty cache: draft (a context), mtp, or plain. */
static void gen(dseek_context *c, dseek_context *draft, int mtp, int64_t n_draft, const setup *s, text *out,
                dseek_generate_result *r)
{
  dseek_sampler *greedy = NULL;
  CHECK_EQ_INT(dseek_sampler_create(1, &greedy), DSEEK_OK);
  CHECK_EQ_INT(dseek_sampler_add_logit_bias(greedy, eos_token, s->eos_bias),
               DSEEK_OK);
  CHECK_EQ_INT(dseek_sampler_add_greedy(greedy), DSEEK_OK);
  dseek_generate_options go;
  dseek_generate_options_init(&go, sizeof go);
  go.max_tokens = 40;
  go.reasoning = DSEEK_REASONING_OPEN;
  go.max_thinking_tokens = s->max_thinking;
  go.min_thinking_tokens = s->min_thinking;
  go.stream = collect;
  go.stream_user_data = out;
  go.sampler = greedy;
  go.draft = draft;
  go.n_draft = n_draft;
  go.use_mtp = mtp;
  memset(out, 0, sizeof *out);
  memset(r, 0, sizeof *r);
  r->struct_size = sizeof *r;
  dseek_context_reset(c);
  if (draft) dseek_context_reset(draft);
  CHECK_MSG(dseek_generate(c, "hello world", &go, r) == DSEEK_OK, "%s", dseek_last_error());
  dseek_sampler_free(greedy);
}

static void same(const char *what, const text *a, const dseek_generate_result *ra, dseek_context *ca, const text *b,
                 const dseek_generate_result *rb, dseek_context *cb, bool mtp)
{
  CHECK_MSG(a->n == b->n && memcmp(a->s, b->s, a->n) == 0, "%s: output differs:\n%.*s\n%.*s", what, (int)a->n,
            a->s, (int)b->n, b->s);
  CHECK_EQ_INT(rb->n_generated_tokens, ra->n_generated_tokens);
  CHECK_EQ_INT(rb->n_reasoning_tokens, ra->n_reasoning_tokens);
  CHECK_EQ_INT(rb->n_forced_tokens, ra->n_forced_tokens);
  CHECK_EQ_INT(rb->stop_reason, ra->stop_reason);
  CHECK_MSG(rb->n_draft_accepted >= 0 && rb->n_draft_accepted <= rb->n_draft_tokens, "%s: %lld drafted, %lld "
            "accepted", what, (long long)rb->n_draft_tokens, (long long)rb->n_draft_accepted);
  /* the cache holds the same tokens (the next call reuses the same prefix),
   * except that MTP leaves the last token handed out unevaluated when
   * max_tokens ends the run (plain decoding evaluated it) */
  int64_t want = dseek_context_n_past(ca) - (mtp && ra->stop_reason == DSEEK_STOP_MAX_TOKENS);
  CHECK_MSG(dseek_context_n_past(cb) == want, "%s: %lld tokens cached, want %lld", what,
            (long long)dseek_context_n_past(cb), (long long)want);
}

static void test_resets(const char *tiny, const char *target_name, const char *draft_name)
{
  dseek_model *m = load(tiny, target_name), *dm = draft_name ? load(tiny, draft_name) : NULL;
  if (!m || (draft_name && !dm)) return;
  eos_token = dseek_token_eos(m);
  dseek_context *plain = context(m), *spec = context(m), *draft = dm ? context(dm) : NULL;
  const setup setups[] = {
    {6, 0, 0.0f},    /* the budget closes the reasoning mid-round */
    {-1, 15, 3.0f},  /* budget forcing refuses some ends of turn */
    {-1, 15, 6.0f},  /* ... most of them: a reset nearly every round */
    {5, 3, 3.0f},    /* both */
  };
  int forced = 0;
  int64_t drafted = 0;
  for (size_t i = 0; i < sizeof setups / sizeof setups[0]; i++)
    for (int64_t k = 1; k <= (draft ? 4 : 1); k += 3) {
      static text a, b;
      dseek_generate_result ra, rb;
      char what[128];
      snprintf(what, sizeof what, "%s setup %zu n_draft %lld", target_name, i, (long long)k);
      gen(plain, NULL, 0, 0, &setups[i], &a, &ra);
      gen(spec, draft, !draft, k, &setups[i], &b, &rb);
      same(what, &a, &ra, plain, &b, &rb, spec, !draft);
      drafted += rb.n_draft_tokens;
      forced += ra.n_forced_tokens > 0 && ra.n_reasoning_tokens >= 3;
    }
  CHECK(forced > 0);    /* the resets really happened */
  CHECK(drafted > 0);   /* and so did speculation */
  dseek_context_free(draft);
  dseek_context_free(spec);
  dseek_context_free(plain);
  dseek_model_free(dm);
  dseek_model_free(m);
}

int main(int argc, char **argv)
{
  if (!ds_test_tiny_dir(argc, argv)) return 77;
  test_resets(argv[1], "qwen2-gguf-f32", "qwen2-gguf-q4_0");
  test_resets(argv[1], "ds2-mtp-gguf-f32", NULL);
  return DS_TEST_RESULT();
}
