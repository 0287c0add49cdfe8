/*
 * test_deepconf.c — confidence-guided parallel generation on tiny-r1
 * (DeepConf, arXiv 2508.15260): per-token confidence in results and the
 * token callback; a weak chain stops early at the warm-up threshold (checked
 * against the confidences the chain reports, recomputed here); the adaptive
 * count starts no more chains once the vote is settled; the same chains for
 * fixed seeds, and for 1 and 2 threads.
 *
 *   test_deepconf TINY_R1.gguf
 */
#include "dseek.h"
#include "harness.h"

#include <stdbool.h>

static dseek_model *model;

static char *prompt_for(const char *question)
{
  static char buf[512];
  const char *roles[] = {"user"}, *contents[] = {question};
  size_t len = 0;
  if (dseek_chat_render(model, roles, contents, 1, 1, buf, sizeof buf, &len)) return NULL;
  return buf;
}

static dseek_context *context(int threads)
{
  dseek_context_options co;
  dseek_context_options_init(&co, sizeof co);
  co.n_ctx = 4096;
  co.n_threads = threads;
  dseek_context *c = NULL;
  CHECK_EQ_INT(dseek_context_create(model, &co, &c), DSEEK_OK);
  return c;
}

typedef struct seen { int64_t n; float conf[512], logprob[512]; } seen;

static int on_token(const dseek_token_info *t, void *user)
{
  seen *s = user;
  if (t->sample == 0 && t->index == s->n && s->n < 512) {
    s->conf[s->n] = t->confidence;
    s->logprob[s->n++] = t->logprob;
  }
  return 0;
}

/* dseek_generate reports the trace statistics and per-token callback; the
 * statistics agree with the callback's values. */
static void test_generate_reports_confidence(void)
{
  dseek_context *c = context(1);
  if (!c) return;
  seen s = {.n = 0};
  dseek_generate_options go;
  dseek_generate_options_init(&go, sizeof go);
  go.add_special = 0;
  go.max_tokens = 200;
  go.on_token = on_token;
  go.on_token_user_data = &s;
  dseek_generate_result r = {.struct_size = sizeof r};
  CHECK_EQ_INT(dseek_generate(c, prompt_for("What is 58 * 39?"), &go, &r), DSEEK_OK);
  CHECK(r.n_scored_tokens == r.n_generated_tokens && r.n_scored_tokens == s.n && s.n > 10);
  double mean = 0, lp = 0;
  for (int64_t i = 0; i < s.n; i++) { mean += s.conf[i]; lp += s.logprob[i]; }
  CHECK_NEAR(r.mean_confidence, mean / (double)s.n, 1e-4);
  CHECK_NEAR(r.sum_logprob, lp, 1e-3);
  CHECK(r.lowest_group_confidence > 0 && r.lowest_group_confidence <= r.mean_confidence + 1e-9);
  CHECK(lp <= 0);
  dseek_context_free(c);
}

typedef struct run_out {
  int64_t n, tokens[32], reasons[32];
  double lowest[32], threshold;
  char content[32][256];
} run_out;

static void run_parallel(dseek_context *c, const char *question, int64_t n, float temp,
                         const dseek_confidence_options *cf, run_out *o)
{
  memset(o, 0, sizeof *o);
  uint64_t seeds[32];
  for (int64_t i = 0; i < n; i++) seeds[i] = 1000 + (uint64_t)i;
  dseek_sampler *s = NULL;
  if (temp > 0) {
    dseek_sampler_create(0, &s);
    dseek_sampler_add_temperature(s, temp);
  }
  dseek_generate_options go;
  dseek_generate_options_init(&go, sizeof go);
  go.add_special = 0;
  go.max_tokens = 120;
  go.sampler = s;
  go.confidence = cf;
  dseek_samples *ss = NULL;
  CHECK_EQ_INT(dseek_generate_parallel(c, prompt_for(question), n, seeds, &go, &ss), DSEEK_OK);
  o->n = dseek_samples_count(ss);
  o->threshold = dseek_samples_stop_threshold(ss);
  for (int64_t i = 0; ss && i < o->n; i++) {
    dseek_generate_result r = {.struct_size = sizeof r};
    CHECK_EQ_INT(dseek_samples_result(ss, i, &r), DSEEK_OK);
    o->tokens[i] = r.n_generated_tokens;
    o->reasons[i] = r.stop_reason;
    o->lowest[i] = r.lowest_group_confidence;
    snprintf(o->content[i], sizeof o->content[i], "%s", dseek_samples_content(ss, i, NULL));
    /* the stop rule, recomputed from the chain's own token confidences */
    const float *conf = NULL;
    int64_t nt = 0;
    CHECK_EQ_INT(dseek_samples_tokens(ss, i, NULL, &conf, &nt), DSEEK_OK);
    CHECK_EQ_INT(nt, r.n_generated_tokens);
    if (!cf || !cf->early_stop || i < cf->n_warmup) continue;
    int64_t first_low = -1;
    for (int64_t t = cf->window - 1; t < nt && first_low < 0; t++) {
      double g = 0;
      for (int64_t j = t - cf->window + 1; j <= t; j++) g += conf[j];
      if (g / (double)cf->window < o->threshold) first_low = t;
    }
    if (r.stop_reason == DSEEK_STOP_LOW_CONFIDENCE) CHECK_EQ_INT(first_low, nt - 1);
    else CHECK_EQ_INT(first_low, -1);
  }
  dseek_samples_free(ss);
  dseek_sampler_free(s);
}

static dseek_confidence_options conf_options(int early_stop, int64_t n_warmup, int64_t window)
{
  dseek_confidence_options cf;
  dseek_confidence_options_init(&cf, sizeof cf);
  cf.early_stop = early_stop;
  cf.n_warmup = n_warmup;
  cf.window = window;
  return cf;
}

/* Constructed: hot sampling (temperature 1.5) makes wandering chains; with
 * the threshold at the warm-up's best lowest-group confidence (percentile
 * 100) the weaker later chains stop early, the rest stop normally. */
static void test_weak_chain_stops_early(void)
{
  dseek_context *c = context(1);
  if (!c) return;
  dseek_confidence_options cf = conf_options(1, 2, 8);
  cf.stop_percentile = 100;
  run_out o;
  run_parallel(c, "What is 47 * 36?", 8, 1.5f, &cf, &o);
  CHECK_EQ_INT(o.n, 8);
  CHECK_NEAR(o.threshold, o.lowest[0] > o.lowest[1] ? o.lowest[0] : o.lowest[1], 0);
  int stopped = 0;
  for (int i = 0; i < 8; i++) {
    if (i < 2) CHECK(o.reasons[i] != DSEEK_STOP_LOW_CONFIDENCE);
    if (o.reasons[i] == DSEEK_STOP_LOW_CONFIDENCE) { stopped++; CHECK(o.tokens[i] < 120); }
  }
  CHECK_MSG(stopped >= 1, "%d chains stopped early", stopped);
  dseek_context_free(c);
}

/* Greedy chains all agree: after the 3 warm-up chains the vote is unanimous,
 * so no more of the 16 start. */
static void test_adaptive_count_stops_when_settled(void)
{
  dseek_context *c = context(1);
  if (!c) return;
  dseek_confidence_options cf = conf_options(0, 3, 2048);
  cf.consensus = 0.95;
  run_out o;
  run_parallel(c, "What is 58 + 39?", 16, 0, &cf, &o);
  CHECK_EQ_INT(o.n, 3);
  for (int i = 0; i < 3; i++) CHECK_EQ_INT(o.reasons[i], DSEEK_STOP_EOS);
  /* without a consensus all 16 run */
  cf.consensus = 0;
  run_parallel(c, "What is 58 + 39?", 16, 0, &cf, &o);
  CHECK_EQ_INT(o.n, 16);
  dseek_context_free(c);
}

/* Early stop and adaptive count together: the same chains twice, and with 2
 * threads. */
static void test_deterministic_and_thread_independent(void)
{
  dseek_context *c1 = context(1), *c2 = context(2);
  if (!c1 || !c2) { dseek_context_free(c1); dseek_context_free(c2); return; }
  dseek_confidence_options cf = conf_options(1, 3, 8);
  cf.consensus = 0.9;
  cf.width = 4;
  static run_out a, b, d;
  run_parallel(c1, "What is 703 - 258?", 12, 1.0f, &cf, &a);
  run_parallel(c1, "What is 703 - 258?", 12, 1.0f, &cf, &b);
  run_parallel(c2, "What is 703 - 258?", 12, 1.0f, &cf, &d);
  CHECK(a.n >= 3);
  CHECK(memcmp(&a, &b, sizeof a) == 0);
  CHECK(memcmp(&a, &d, sizeof a) == 0);
  dseek_context_free(c1);
  dseek_context_free(c2);
}

int main(int argc, char **argv)
{
  if (argc != 2) { fprintf(stderr, "usage: test_deepconf TINY_R1.gguf\n"); return 2; }
  CHECK_EQ_INT(dseek_model_load(argv[1], NULL, &model), DSEEK_OK);
  if (!model) return DS_TEST_RESULT();
  RUN(test_generate_reports_confidence);
  RUN(test_weak_chain_stops_early);
  RUN(test_adaptive_count_stops_when_settled);
  RUN(test_deterministic_and_thread_independent);
  dseek_model_free(model);
  return DS_TEST_RESULT();
}
