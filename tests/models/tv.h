/* tv.h — total variation distances for the speculative and MTP sampling
 * tests: TV = 1/2 sum_v |a_v - b_v| between an empirical distribution (counts
 * over V outcomes) and another one or the exact distribution the sampler chain
 * "top-k K, temperature 1" gives, computed here from the model's logits. */
#ifndef DS_TESTS_TV_H
#define DS_TESTS_TV_H

#include "dseek.h"

#include <math.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

/* Two empirical distributions; na, nb: their sample sizes. */
static inline double tv_distance(const int *a, const int *b, int V, int *na, int *nb)
{
  *na = *nb = 0;
  for (int v = 0; v < V; v++) { *na += a[v]; *nb += b[v]; }
  if (*na == 0 || *nb == 0) return 1.0;
  double tv = 0;
  for (int v = 0; v < V; v++) tv += fabs(a[v] / (double)*na - b[v] / (double)*nb);
  return tv / 2;
}

/* Counts against an exact distribution; n: the sample size. */
static inline double tv_exact(const int *a, const double *p, int V, int *n)
{
  *n = 0;
  for (int v = 0; v < V; v++) *n += a[v];
  if (*n == 0) return 1.0;
  double tv = 0;
  for (int v = 0; v < V; v++) tv += fabs(a[v] / (double)*n - p[v]);
  return tv / 2;
}

/* Pearson's goodness of fit of counts a (n in all) to the exact p:
 * X2 = sum (a_v - n p_v)^2 / (n p_v) over the cells with n p_v >= 5, the
 * cells below pooled into one (so every expected count is >= 5 where the
 * chi-square law holds), and its critical value at significance 1e-3 for
 * *df = cells - 1 (Wilson and Hilferty's cube-root approximation of the
 * chi-square quantile, z = 3.090). *outside: draws of a token p gives 0,
 * which no sampler may produce. Returns X2 / critical value: < 1 passes. */
static inline double tv_chi2(const int *a, const double *p, int V, int *df, int *outside)
{
  int n = 0;
  for (int v = 0; v < V; v++) n += a[v];
  double x2 = 0, pooled_obs = 0, pooled_exp = 0;
  int cells = 0;
  *outside = 0;
  for (int v = 0; v < V; v++) {
    double e = n * p[v];
    if (p[v] <= 1e-12) { *outside += a[v]; continue; }
    if (e >= 5) { x2 += (a[v] - e) * (a[v] - e) / e; cells++; }
    else { pooled_obs += a[v]; pooled_exp += e; }
  }
  if (pooled_exp >= 5) { x2 += (pooled_obs - pooled_exp) * (pooled_obs - pooled_exp) / pooled_exp; cells++; }
  *df = cells - 1;
  if (*df < 1) return INFINITY;
  double k = *df, h = 2 / (9 * k), crit = k * pow(1 - h + 3.090 * sqrt(h), 3);
  return x2 / crit;
}

/* softmax(top-k(logits) / 1): probs over V tokens, 0 outside the top k. */
static inline void tv_top_k_dist(const float *logits, int V, int k, double *probs)
{
  int top[16];
  for (int i = 0; i < k; i++) {
    int best = -1;
    for (int v = 0; v < V; v++) {
      bool taken = false;
      for (int j = 0; j < i; j++) taken |= top[j] == v;
      if (!taken && (best < 0 || logits[v] > logits[best])) best = v;
    }
    top[i] = best;
  }
  memset(probs, 0, (size_t)V * sizeof *probs);
  double z = 0;
  for (int i = 0; i < k; i++) z += exp((double)logits[top[i]] - logits[top[0]]);
  for (int i = 0; i < k; i++) probs[top[i]] = exp((double)logits[top[i]] - logits[top[0]]) / z;
}

/* The exact distributions of the 2nd and 3rd generated tokens after a prompt
 * when every token is drawn from top-k k (k <= 16) at temperature 1, among
 * the generations whose first three tokens do not end it (the ones the
 * tests count): with w(a, b, t) = p(a) p(b | a) p(t | a, b) over tokens that
 * are not end-of-generation,
 *   P(t2 = b) = sum_a,t w(a, b, t) / Z,  P(t3 = t) = sum_a,b w(a, b, t) / Z
 * (1 + k + k^2 evaluations of the model on context c). */
static inline bool tv_exact_tokens_2_3(const dseek_model *m, dseek_context *c, const int32_t *prompt, int64_t n_prompt,
                                       int V, int k, double *p2, double *p3)
{
  double *d0 = malloc((size_t)V * sizeof *d0), *d1 = malloc((size_t)V * sizeof *d1),
         *d2 = malloc((size_t)V * sizeof *d2);
  int32_t *seq = malloc((size_t)(n_prompt + 2) * sizeof *seq);
  bool ok = d0 && d1 && d2 && seq && k <= 16;
  double z = 0;
  if (ok) memcpy(seq, prompt, (size_t)n_prompt * sizeof *seq);
  if (ok) memset(p2, 0, (size_t)V * sizeof *p2), memset(p3, 0, (size_t)V * sizeof *p3);
  ok = ok && !dseek_context_reset(c) && !dseek_decode(c, seq, n_prompt, 0);
  if (ok) tv_top_k_dist(dseek_logits(c, -1), V, k, d0);
  for (int a = 0; ok && a < V; a++) {
    if (d0[a] == 0 || dseek_token_is_eog(m, a)) continue;
    seq[n_prompt] = a;
    ok = !dseek_context_reset(c) && !dseek_decode(c, seq, n_prompt + 1, 0);
    if (!ok) break;
    tv_top_k_dist(dseek_logits(c, -1), V, k, d1);
    for (int b = 0; ok && b < V; b++) {
      if (d1[b] == 0 || dseek_token_is_eog(m, b)) continue;
      seq[n_prompt + 1] = b;
      ok = !dseek_context_reset(c) && !dseek_decode(c, seq, n_prompt + 2, 0);
      if (!ok) break;
      tv_top_k_dist(dseek_logits(c, -1), V, k, d2);
      for (int t = 0; t < V; t++) {
        if (d2[t] == 0 || dseek_token_is_eog(m, t)) continue;
        double w = d0[a] * d1[b] * d2[t];
        p2[b] += w;
        p3[t] += w;
        z += w;
      }
    }
  }
  ok = ok && z > 0;
  for (int v = 0; ok && v < V; v++) p2[v] /= z, p3[v] /= z;
  free(d0);
  free(d1);
  free(d2);
  free(seq);
  return ok;
}

#endif
