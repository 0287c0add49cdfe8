/*
 * test_confidence.c — DeepConf's signals (arXiv 2508.15260) on constructed
 * inputs: token confidence against its definition, group / lowest / bottom-10%
 * / tail statistics of a constructed trace, the percentile, and a
 * confidence-weighted vote that beats the majority.
 */
#include "harness.h"
#include "runtime/confidence.h"

/* C = -(1/k) sum over the k largest of log softmax, in long double. */
static double expected_confidence(const float *l, int n, int k, int chosen, double *logprob)
{
  long double mx = -INFINITY, sum = 0;
  for (int i = 0; i < n; i++) if (l[i] > mx) mx = l[i];
  for (int i = 0; i < n; i++) sum += expl((long double)l[i] - mx);
  long double lse = mx + logl(sum);
  bool used[16] = {false};
  long double c = 0;
  for (int j = 0; j < k; j++) {
    int best = -1;
    for (int i = 0; i < n; i++) if (!used[i] && isfinite(l[i]) && (best < 0 || l[i] > l[best])) best = i;
    used[best] = true;
    c -= (long double)l[best] - lse;
  }
  *logprob = (double)((long double)l[chosen] - lse);
  return (double)(c / k);
}

static void test_token_confidence(void)
{
  const float l[8] = {2.0f, -1.0f, 0.5f, 3.25f, -INFINITY, 1.0f, -0.75f, 0.0f};
  for (int k = 1; k <= 7; k++) {
    float lp, c;
    ds_token_confidence(l, 8, 2, k, &lp, &c);
    double elp, ec = expected_confidence(l, 8, k, 2, &elp);
    CHECK_NEAR(c, ec, 1e-5);
    CHECK_NEAR(lp, elp, 1e-5);
  }
  /* k larger than the finite logits: only the 7 finite ones count */
  float lp, c, c7;
  ds_token_confidence(l, 8, 4, 20, &lp, &c);
  ds_token_confidence(l, 8, 4, 7, &lp, &c7);
  CHECK(c == c7 && lp == -INFINITY);
  /* a peaked distribution is more confident than a flat one */
  const float peaked[4] = {10, 0, 0, 0}, flat[4] = {1, 1, 1, 1};
  float cp, cf;
  ds_token_confidence(peaked, 4, 0, 4, &lp, &cp);
  ds_token_confidence(flat, 4, 0, 4, &lp, &cf);
  CHECK(cp > cf);
  CHECK_NEAR(cf, logf(4.0f), 1e-6);   /* -log(1/4) */
}

static void test_trace_statistics(void)
{
  /* 20 tokens of confidence 5 with a dip 5,1,1,5 in the middle; window 2 */
  float conf[20];
  for (int i = 0; i < 20; i++) conf[i] = 5;
  conf[9] = conf[10] = 1;
  ds_trace t;
  ds_trace_init(&t, 2);
  for (int i = 0; i < 20; i++) {
    CHECK_EQ_INT(ds_trace_push(&t, -0.5f, conf[i]), DSEEK_OK);
    if (i == 0) CHECK(isnan(ds_trace_group(&t)));
    if (i == 10) CHECK_NEAR(ds_trace_group(&t), 1.0, 1e-12);
  }
  dseek_generate_result r = {.struct_size = sizeof r};
  CHECK_EQ_INT(ds_trace_stats(&t, 4, &r), DSEEK_OK);
  CHECK_EQ_INT(r.n_scored_tokens, 20);
  CHECK_NEAR(r.sum_logprob, -10.0, 1e-9);
  CHECK_NEAR(r.mean_confidence, (18 * 5 + 2) / 20.0, 1e-9);
  CHECK_NEAR(r.lowest_group_confidence, 1.0, 1e-9);
  /* 19 groups: 16 of 5, two of 3 (5,1 and 1,5), one of 1; the lowest 10% is 2 groups: 1 and 3 */
  CHECK_NEAR(r.bottom10_group_confidence, 2.0, 1e-9);
  CHECK_NEAR(r.tail_confidence, 5.0, 1e-9);
  ds_trace_free(&t);
  /* shorter than the window: one group, the mean */
  ds_trace_init(&t, 100);
  ds_trace_push(&t, 0, 2);
  ds_trace_push(&t, 0, 4);
  CHECK_EQ_INT(ds_trace_stats(&t, 1, &r), DSEEK_OK);
  CHECK_NEAR(r.lowest_group_confidence, 3.0, 1e-9);
  CHECK_NEAR(r.bottom10_group_confidence, 3.0, 1e-9);
  CHECK_NEAR(r.tail_confidence, 4.0, 1e-9);
  ds_trace_free(&t);
}

static void test_percentile(void)
{
  const double x[5] = {4, 1, 3, 2, 5};
  CHECK_NEAR(ds_percentile(x, 5, 0), 1.0, 1e-12);
  CHECK_NEAR(ds_percentile(x, 5, 100), 5.0, 1e-12);
  CHECK_NEAR(ds_percentile(x, 5, 90), 4.6, 1e-12);
  CHECK_NEAR(ds_percentile(x, 5, 10), 1.4, 1e-12);
}

static void test_weighted_vote_beats_majority(void)
{
  /* three unsure chains say 7, two confident ones say 9 (the right answer) */
  const char *answers[6] = {"7", "9", "7", NULL, "7", "9"};
  const double score[6] = {1.0, 6.0, 1.5, 8.0, 1.2, 5.0};
  int64_t best;
  double w, share;
  CHECK_EQ_INT(ds_weighted_vote(answers, score, 6, 1.0, false, &best, &w, &share), DSEEK_OK);
  CHECK(best >= 0 && !strcmp(answers[best], "7"));
  CHECK_NEAR(w, 3, 0);
  CHECK_NEAR(share, 3.0 / 5.0, 1e-12);
  CHECK_EQ_INT(ds_weighted_vote(answers, score, 6, 1.0, true, &best, &w, &share), DSEEK_OK);
  CHECK(best >= 0 && !strcmp(answers[best], "9"));
  CHECK_NEAR(w, 11.0, 1e-12);
  CHECK_NEAR(share, 11.0 / 14.7, 1e-12);
  /* top 40% of the 5 answers: the two confident chains alone */
  CHECK_EQ_INT(ds_weighted_vote(answers, score, 6, 0.4, false, &best, &w, &share), DSEEK_OK);
  CHECK(best >= 0 && !strcmp(answers[best], "9"));
  CHECK_NEAR(share, 1.0, 1e-12);
  /* no answers */
  const char *none[2] = {NULL, NULL};
  CHECK_EQ_INT(ds_weighted_vote(none, score, 2, 1.0, true, &best, &w, &share), DSEEK_OK);
  CHECK(best == -1 && w == 0);
}

static void test_options(void)
{
  dseek_confidence_options o, r;
  CHECK_EQ_INT(dseek_confidence_options_init(&o, sizeof o), DSEEK_OK);
  CHECK(o.top_k == 20 && o.window == 2048 && o.weighted == 1 && o.keep_top == 1 && o.n_warmup == 16 &&
        o.stop_percentile == 90 && o.consensus == 0 && o.early_stop == 0);
  CHECK_EQ_INT(ds_confidence_options_read(&o, "t", &r), DSEEK_OK);
  o.keep_top = 0;
  CHECK_EQ_INT(ds_confidence_options_read(&o, "t", &r), DSEEK_ERR_INVALID_ARG);
  o.keep_top = 1;
  o.top_k = 65;
  CHECK_EQ_INT(ds_confidence_options_read(&o, "t", &r), DSEEK_ERR_INVALID_ARG);
  CHECK_EQ_INT(dseek_confidence_options_init(NULL, sizeof o), DSEEK_ERR_INVALID_ARG);
}

/* Top alternatives against a double-precision softmax and a plain selection
 * of the largest logits; masked (-inf) logits never appear. */
static void test_top_logprobs(void)
{
  enum { V = 1000 };
  static float logits[V];
  uint64_t x = 88172645463325252ull;
  for (int i = 0; i < V; i++) {
    x ^= x << 13, x ^= x >> 7, x ^= x << 17;
    logits[i] = (float)((double)(x >> 11) / 9007199254740992.0 * 12.0 - 6.0);
  }
  logits[5] = -INFINITY;
  logits[6] = 50.0f;   /* far the largest: its logprob is about 0 */
  double mx = 50.0, sum = 0;
  for (int i = 0; i < V; i++) sum += exp((double)logits[i] - mx);
  double lse = mx + log(sum);
  int32_t ids[DS_TOP_LOGPROBS_MAX];
  float lps[DS_TOP_LOGPROBS_MAX];
  CHECK_EQ_INT(ds_token_top_logprobs(logits, V, 20, ids, lps), 20);
  bool used[V] = {false};
  for (int k = 0; k < 20; k++) {
    int best = -1;   /* the k-th largest by selection */
    for (int i = 0; i < V; i++)
      if (!used[i] && logits[i] > -INFINITY && (best < 0 || logits[i] > logits[best])) best = i;
    used[best] = true;
    CHECK_EQ_INT(ids[k], best);
    CHECK_NEAR(lps[k], logits[best] - lse, 1e-4);
    CHECK(lps[k] <= 0);
  }
  float lp, conf;
  ds_token_confidence(logits, V, ids[3], 20, &lp, &conf);
  CHECK(lp == lps[3]);   /* the chosen token's logprob is its entry, exactly */
  CHECK_EQ_INT(ds_token_top_logprobs(logits, V, 0, ids, lps), 0);
  float masked[3] = {-INFINITY, 1.0f, -INFINITY};
  CHECK_EQ_INT(ds_token_top_logprobs(masked, 3, 5, ids, lps), 1);
  CHECK_EQ_INT(ids[0], 1);
  CHECK_NEAR(lps[0], 0.0, 1e-6);
}

int main(void)
{
  RUN(test_top_logprobs);
  RUN(test_token_confidence);
  RUN(test_trace_statistics);
  RUN(test_percentile);
  RUN(test_weighted_vote_beats_majority);
  RUN(test_options);
  return DS_TEST_RESULT();
}
