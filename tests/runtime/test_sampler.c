/* test_sampler.c — the sampler chain against hand-computed expectations. */
#include "dseek.h"
#include "harness.h"

#include <math.h>
#include <stdlib.h>

static dseek_sampler *make(uint64_t seed)
{
  dseek_sampler *s = NULL;
  CHECK_EQ_INT(dseek_sampler_create(seed, &s), DSEEK_OK);
  return s;
}

static int32_t sample(dseek_sampler *s, const float *logits, int64_t n)
{
  int32_t t = -1;
  CHECK_EQ_INT(dseek_sampler_sample(s, logits, n, &t), DSEEK_OK);
  return t;
}

static void test_arguments(void)
{
  dseek_sampler *s = NULL;
  float l[2] = {0, 1};
  int32_t t;
  CHECK_EQ_INT(dseek_sampler_create(1, NULL), DSEEK_ERR_INVALID_ARG);
  s = make(1);
  CHECK_EQ_INT(dseek_sampler_add_top_k(NULL, 3), DSEEK_ERR_INVALID_ARG);
  CHECK_EQ_INT(dseek_sampler_add_top_k(s, 0), DSEEK_ERR_INVALID_ARG);
  CHECK_EQ_INT(dseek_sampler_add_top_p(s, 0.0f), DSEEK_ERR_INVALID_ARG);
  CHECK_EQ_INT(dseek_sampler_add_top_p(s, 1.5f), DSEEK_ERR_INVALID_ARG);
  CHECK_EQ_INT(dseek_sampler_add_min_p(s, -0.1f), DSEEK_ERR_INVALID_ARG);
  CHECK_EQ_INT(dseek_sampler_add_temperature(s, -1.0f), DSEEK_ERR_INVALID_ARG);
  CHECK_EQ_INT(dseek_sampler_add_temperature(s, NAN), DSEEK_ERR_INVALID_ARG);
  CHECK_EQ_INT(dseek_sampler_add_penalties(s, -1, 1.1f, 0, 0), DSEEK_ERR_INVALID_ARG);
  CHECK_EQ_INT(dseek_sampler_add_penalties(s, 8, 0.0f, 0, 0), DSEEK_ERR_INVALID_ARG);
  CHECK_EQ_INT(dseek_sampler_add_logit_bias(s, -3, 1.0f), DSEEK_ERR_INVALID_ARG);
  CHECK_EQ_INT(dseek_sampler_add_logit_bias(s, 3, NAN), DSEEK_ERR_INVALID_ARG);
  CHECK_EQ_INT(dseek_sampler_sample(s, NULL, 2, &t), DSEEK_ERR_INVALID_ARG);
  CHECK_EQ_INT(dseek_sampler_sample(s, l, 0, &t), DSEEK_ERR_INVALID_ARG);
  CHECK_EQ_INT(dseek_sampler_sample(s, l, 2, NULL), DSEEK_ERR_INVALID_ARG);
  CHECK(strlen(dseek_last_error()) > 0);
  float bad[3] = {0, NAN, 1};
  CHECK_EQ_INT(dseek_sampler_sample(s, bad, 3, &t), DSEEK_ERR_INVALID_ARG);
  CHECK(strstr(dseek_last_error(), "NaN") != NULL);
  CHECK_EQ_INT(dseek_sampler_add_logit_bias(s, 5, 1.0f), DSEEK_OK);
  CHECK_EQ_INT(dseek_sampler_sample(s, l, 2, &t), DSEEK_ERR_INVALID_ARG);   /* bias token >= n_vocab */
  dseek_sampler_free(s);
  s = make(1);
  float dead[2] = {-INFINITY, -INFINITY};
  CHECK_EQ_INT(dseek_sampler_sample(s, dead, 2, &t), DSEEK_ERR_INVALID_ARG);
  CHECK_EQ_INT(dseek_sampler_accept(NULL, 1), DSEEK_ERR_INVALID_ARG);
  CHECK_EQ_INT(dseek_sampler_reset(NULL, 1), DSEEK_ERR_INVALID_ARG);
  dseek_sampler_free(s);
  dseek_sampler_free(NULL);
}

static void test_greedy(void)
{
  float l[6] = {0.5f, 3.0f, -1.0f, 3.0f, 2.9f, -INFINITY};
  dseek_sampler *s = make(7);
  CHECK_EQ_INT(dseek_sampler_add_greedy(s), DSEEK_OK);
  CHECK_EQ_INT(sample(s, l, 6), 1);                       /* tie 1 vs 3: lower id */
  dseek_sampler_free(s);
  s = make(7);
  dseek_sampler_add_temperature(s, 0.0f);
  CHECK_EQ_INT(sample(s, l, 6), 1);
  dseek_sampler_free(s);
  s = make(7);
  dseek_sampler_add_top_k(s, 1);
  CHECK_EQ_INT(sample(s, l, 6), 1);
  dseek_sampler_free(s);
}

/* Draw many times; the empirical frequencies must match softmax(l / temp). */
static void check_distribution(dseek_sampler *s, const float *l, int n, float temp,
                               const int *allowed, int draws)
{
  double p[16], z = 0, mx = -INFINITY;
  int counts[16] = {0};
  for (int i = 0; i < n; i++) if (allowed[i] && l[i] > mx) mx = l[i];
  for (int i = 0; i < n; i++) { p[i] = allowed[i] ? exp((l[i] - mx) / temp) : 0; z += p[i]; }
  for (int i = 0; i < draws; i++) counts[sample(s, l, n)]++;
  for (int i = 0; i < n; i++) {
    double expect = p[i] / z;
    double sd = sqrt(expect * (1 - expect) / draws);
    CHECK_MSG(fabs(counts[i] / (double)draws - expect) <= 5 * sd + 1e-9,
              "token %d: %d/%d vs p=%.4f", i, counts[i], draws, expect);
  }
}

static void test_distribution(void)
{
  float l[5] = {1.0f, 2.0f, 0.0f, -1.0f, 1.5f};
  int all[5] = {1, 1, 1, 1, 1};
  dseek_sampler *s = make(42);
  check_distribution(s, l, 5, 1.0f, all, 40000);
  dseek_sampler_free(s);
  s = make(43);
  dseek_sampler_add_temperature(s, 0.5f);
  check_distribution(s, l, 5, 0.5f, all, 40000);
  dseek_sampler_free(s);
  /* top_k 2 keeps tokens 1 and 4 */
  int top2[5] = {0, 1, 0, 0, 1};
  s = make(44);
  dseek_sampler_add_top_k(s, 2);
  check_distribution(s, l, 5, 1.0f, top2, 20000);
  dseek_sampler_free(s);
}

static int descending(const void *a, const void *b)
{
  float x = *(const float *)a, y = *(const float *)b;
  return (x < y) - (x > y);
}

static void test_top_p_min_p(void)
{
  /* probabilities 0.5, 0.3, 0.15, 0.05 */
  float l[4] = {logf(0.5f), logf(0.3f), logf(0.15f), logf(0.05f)};
  int two[4] = {1, 1, 0, 0}, three[4] = {1, 1, 1, 0};
  dseek_sampler *s = make(5);
  dseek_sampler_add_top_p(s, 0.79f);
  check_distribution(s, l, 4, 1.0f, two, 20000);
  dseek_sampler_free(s);
  s = make(6);
  dseek_sampler_add_top_p(s, 0.81f);
  check_distribution(s, l, 4, 1.0f, three, 20000);
  dseek_sampler_free(s);
  s = make(7);
  dseek_sampler_add_min_p(s, 0.5f);                       /* keep p >= 0.25 */
  check_distribution(s, l, 4, 1.0f, two, 20000);
  dseek_sampler_free(s);

  /* top_p on a large random vocabulary keeps exactly the brute-force set. */
  enum { V = 150000 };
  float *big = malloc(V * sizeof *big);
  srand(3);
  for (int i = 0; i < V; i++) big[i] = (float)rand() / RAND_MAX * 12.0f;
  double mx = 12.0, total = 0;
  for (int i = 0; i < V; i++) total += exp(big[i] - mx);
  /* brute force: the threshold logit of the nucleus with p = 0.5 */
  float *sorted = malloc(V * sizeof *sorted);
  memcpy(sorted, big, V * sizeof *sorted);
  qsort(sorted, V, sizeof *sorted, descending);
  double cum = 0;
  float threshold = sorted[0];
  for (int i = 0; i < V; i++) {
    cum += exp(sorted[i] - mx);
    threshold = sorted[i];
    if (cum >= 0.5 * total) break;
  }
  s = make(8);
  dseek_sampler_add_top_p(s, 0.5f);
  int below = 0;
  for (int i = 0; i < 200; i++) below += big[sample(s, big, V)] < threshold;
  CHECK_EQ_INT(below, 0);
  dseek_sampler_free(s);
  free(sorted);
  free(big);
}

static void test_seed_reproducible(void)
{
  float l[8] = {0.1f, 0.2f, 0.3f, 0.4f, 0.5f, 0.6f, 0.7f, 0.8f};
  int32_t a[64], b[64];
  dseek_sampler *s = make(1234), *t = make(1234);
  for (int i = 0; i < 64; i++) { a[i] = sample(s, l, 8); b[i] = sample(t, l, 8); }
  CHECK(memcmp(a, b, sizeof a) == 0);
  dseek_sampler_reset(s, 1234);
  for (int i = 0; i < 64; i++) b[i] = sample(s, l, 8);
  CHECK(memcmp(a, b, sizeof a) == 0);
  dseek_sampler_reset(s, 999);
  for (int i = 0; i < 64; i++) b[i] = sample(s, l, 8);
  CHECK(memcmp(a, b, sizeof a) != 0);
  dseek_sampler_free(s);
  dseek_sampler_free(t);
}

static void test_penalties_and_bias(void)
{
  float l[3] = {2.0f, 1.9f, -5.0f};
  dseek_sampler *s = make(1);
  dseek_sampler_add_penalties(s, 4, 1.0f, 0.1f, 0.0f);
  dseek_sampler_add_greedy(s);
  dseek_sampler_accept(s, 0);
  CHECK_EQ_INT(sample(s, l, 3), 0);         /* 2.0 - 0.1 = 1.9 ties 1.9: lower id wins */
  CHECK_EQ_INT(sample(s, l, 3), 1);         /* token 0 seen twice: 1.8 < 1.9 */
  dseek_sampler_free(s);

  s = make(1);
  dseek_sampler_add_penalties(s, 2, 1.0f, 0.0f, 0.05f);
  dseek_sampler_add_greedy(s);
  dseek_sampler_accept(s, 0);
  dseek_sampler_accept(s, 0);
  CHECK_EQ_INT(sample(s, l, 3), 0);         /* presence: 1.95 > 1.9 */
  dseek_sampler_free(s);

  /* repeat penalty divides positive logits, multiplies negative ones */
  float m[3] = {2.0f, 1.5f, -0.5f};
  s = make(1);
  dseek_sampler_add_penalties(s, 1, 2.0f, 0.0f, 0.0f);
  dseek_sampler_add_greedy(s);
  dseek_sampler_accept(s, 0);
  CHECK_EQ_INT(sample(s, m, 3), 1);         /* 2.0/2 = 1.0 < 1.5 */
  /* window of 1: only the last token (1) is penalised now: 1.5/2 < 2.0 */
  CHECK_EQ_INT(sample(s, m, 3), 0);
  dseek_sampler_free(s);

  s = make(1);
  dseek_sampler_add_logit_bias(s, 0, -INFINITY);
  dseek_sampler_add_logit_bias(s, 2, 10.0f);
  dseek_sampler_add_greedy(s);
  CHECK_EQ_INT(sample(s, l, 3), 2);
  dseek_sampler_free(s);
}

int main(void)
{
  RUN(test_arguments);
  RUN(test_greedy);
  RUN(test_distribution);
  RUN(test_top_p_min_p);
  RUN(test_seed_reproducible);
  RUN(test_penalties_and_bias);
  return DS_TEST_RESULT();
}
