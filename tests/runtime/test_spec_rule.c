/*
 * test_spec_rule.c — the speculative-sampling acceptance rule itself
 * (lib/runtime/speculative.c: ds_spec_accept, ds_spec_resample), which both
 * draft-model speculation and MTP self-speculation use, on a 6-token
 * vocabulary where every probability can be written down:
 *
 *   x ~ q is accepted with probability a(x) = min(1, p(x) / q(x));
 *   on rejection y ~ r = norm(max(0, p - q));
 *   so P(out = y) = q(y) a(y) + (1 - sum_x q(x) a(x)) r(y) = p(y)
 *
 * (Leviathan et al., arXiv 2211.17192, Algorithm 1 and Theorem 1; Chen et
 * al., arXiv 2302.01318, the modified rejection sampling of section 2.3).
 * N one-token steps check each part against the formula: the acceptance
 * rate of every draft token against a(x), the rejected steps' tokens
 * against r, the output against p, each frequency within 5 standard
 * deviations of its binomial, and the output's total variation distance
 * from p below TV_BOUND.
 *
 * Power: the test computes, from the same p and q, the exact output
 * distribution of plausible wrong rules and requires each to lie at least
 * 10 x TV_BOUND from p. For the p, q below (TV from p):
 *   resample from p instead of the residual        0.175
 *   residual not renormalised (u in [0, 1) over the
 *     cumulative of max(0, p - q); the rest of the
 *     mass falls on the last token)                  0.227
 *   inverted ratio min(1, q(x) / p(x))               0.350
 *   keep every draft token (output q)                0.350
 * while the correct rule's measured distance at N = 400,000 is 0.0015
 * (accepting with p/q without the min is the same rule: a uniform below
 * p/q >= 1 always is).
 * Checked once by hand: ds_spec_resample drawing from p instead of the
 * residual fails the output, residual and TV checks.
 */
#include "dseek.h"
#include "harness.h"
#include "runtime/speculative.h"

#include <math.h>

enum { V = 6, N = 400000 };
#define TV_BOUND 0.01

static const float P[V] = {0.35f, 0.25f, 0.15f, 0.12f, 0.08f, 0.05f};
static const float Q[V] = {0.10f, 0.30f, 0.05f, 0.25f, 0.20f, 0.10f};

static double tv(const double *a, const float *b)
{
  double s = 0;
  for (int j = 0; j < V; j++) s += fabs(a[j] - b[j]);
  return s / 2;
}

/* |k / n - prob| within 5 binomial standard deviations (and exact when prob
 * is 0 or 1). */
static bool near_binomial(long k, long n, double prob)
{
  if (n == 0) return false;
  double sd = sqrt(prob * (1 - prob) / (double)n);
  return fabs((double)k / (double)n - prob) <= 5 * sd + 1e-12;
}

/* The exact output distributions of the wrong rules of the comment above. */
static void wrong_rules(double out[4][V])
{
  double keep[V], beta = 0, resid[V], rmass = 0;
  for (int j = 0; j < V; j++) {
    keep[j] = fmin(P[j], Q[j]);   /* q(x) min(1, p(x) / q(x)) */
    beta += keep[j];
    resid[j] = fmax(0, P[j] - Q[j]);
    rmass += resid[j];
  }
  double inv_keep[V], inv_beta = 0;
  for (int j = 0; j < V; j++) {
    inv_keep[j] = Q[j] * fmin(1, Q[j] / P[j]);
    inv_beta += inv_keep[j];
  }
  for (int j = 0; j < V; j++) {
    out[0][j] = keep[j] + (1 - beta) * P[j];
    out[1][j] = keep[j] + (1 - beta) * (resid[j] + (j == V - 1 ? 1 - rmass : 0));
    out[2][j] = inv_keep[j] + (1 - inv_beta) * resid[j] / rmass;
    out[3][j] = Q[j];
  }
}

int main(void)
{
  dseek_sampler *s = NULL;
  CHECK_EQ_INT(dseek_sampler_create(20, &s), DSEEK_OK);
  if (!s) return DS_TEST_RESULT();
  float residual[V];
  long drafted[V] = {0}, accepted[V] = {0}, resampled[V] = {0}, out[V] = {0}, rejections = 0, bad = 0;
  for (long i = 0; i < N; i++) {
    int32_t x = ds_spec_draw(s, Q, V), y;
    if (x < 0 || x >= V) { bad++; break; }
    drafted[x]++;
    if (ds_spec_accept(s, P, Q, x)) {
      accepted[x]++;
      y = x;
    } else {
      y = ds_spec_resample(s, P, Q, residual, V);
      if (y < 0 || y >= V) { bad++; break; }
      resampled[y]++;
      rejections++;
    }
    out[y]++;
  }
  dseek_sampler_free(s);
  CHECK_MSG(bad == 0, "a draw outside the vocabulary");

  double rmass = 0, beta = 0;
  for (int j = 0; j < V; j++) {
    rmass += fmax(0, P[j] - Q[j]);
    beta += fmin(P[j], Q[j]);
  }
  CHECK_MSG(near_binomial(N - rejections, N, beta), "acceptance rate %.4f, formula %.4f",
            (double)(N - rejections) / N, beta);
  double freq[V];
  for (int j = 0; j < V; j++) {
    double a = fmin(1, (double)P[j] / Q[j]), r = fmax(0, P[j] - Q[j]) / rmass;
    CHECK_MSG(near_binomial(accepted[j], drafted[j], a), "token %d: accepted %ld of %ld, formula min(1, p/q) = %.4f",
              j, accepted[j], drafted[j], a);
    CHECK_MSG(near_binomial(resampled[j], rejections, r), "token %d: %ld of %ld rejections, formula %.4f", j,
              resampled[j], rejections, r);
    CHECK_MSG(near_binomial(out[j], N, P[j]), "token %d: output %ld of %d, p = %.4f", j, out[j], N, P[j]);
    freq[j] = (double)out[j] / N;
  }
  double d = tv(freq, P);
  fprintf(stderr, "spec rule: %d steps, acceptance %.4f (formula %.4f), output TV from p %.4f (bound %.3f)\n", N,
          (double)(N - rejections) / N, beta, d, TV_BOUND);
  CHECK(d < TV_BOUND);

  static const char *const names[4] = {"resample from p", "residual not renormalised", "ratio q/p",
                                       "keep the draft"};
  double wrong[4][V];
  wrong_rules(wrong);
  for (int w = 0; w < 4; w++) {
    double dw = tv(wrong[w], P);
    fprintf(stderr, "spec rule: wrong rule '%s' would give TV %.3f\n", names[w], dw);
    CHECK_MSG(dw >= 10 * TV_BOUND, "wrong rule '%s' only %.3f from p: the test lacks power", names[w], dw);
  }
  return DS_TEST_RESULT();
}
