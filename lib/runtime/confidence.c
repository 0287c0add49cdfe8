/*
 * confidence.c — DeepConf's confidence signals (arXiv 2508.15260, section 3):
 * token confidence, group confidence over a sliding window, the trace
 * measures (mean, lowest group, bottom-10% group, tail) and the
 * confidence-weighted vote with top-eta% filtering.
 */
#include "runtime/confidence.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* Two passes over the logits: the k largest finite values (kept sorted,
 * descending, in top[]; top[0] is the maximum), then sum exp(l - max) in
 * float with four accumulators (glibc's expf; a double exp per logit cost
 * several times more). log P(j) = l_j - lse with lse = max + log(sum), and
 * C = -(1/k) sum_j log P(j) = lse - mean of the top-k logits. */
/* log sum_i exp(logits_i), with mx the largest logit */
static double log_sum_exp(const float *logits, int64_t n_vocab, float mx)
{
  float acc[4] = {0, 0, 0, 0};
  int64_t i = 0;
  for (; i + 4 <= n_vocab; i += 4)
    for (int j = 0; j < 4; j++) acc[j] += expf(logits[i + j] - mx);   /* -inf (masked) gives 0 */
  for (; i < n_vocab; i++) acc[0] += expf(logits[i] - mx);
  return mx + log((double)acc[0] + acc[1] + acc[2] + acc[3]);
}

void ds_token_confidence(const float *logits, int64_t n_vocab, int32_t chosen, int top_k, float *logprob,
                         float *confidence)
{
  float top[DS_CONF_MAX_TOP_K];
  int k = DS_MAX(1, DS_MIN(top_k, DS_CONF_MAX_TOP_K)), n_top = 0;
  for (int64_t i = 0; i < n_vocab; i++) {
    float l = logits[i];
    if (!(l > -INFINITY) || (n_top == k && l <= top[k - 1])) continue;   /* masked, NaN or not in the top */
    int j = n_top < k ? n_top++ : k - 1;
    while (j > 0 && top[j - 1] < l) { top[j] = top[j - 1]; j--; }
    top[j] = l;
  }
  if (n_top == 0) { *logprob = -INFINITY; *confidence = 0; return; }
  double lse = log_sum_exp(logits, n_vocab, top[0]), mean_top = 0;
  for (int j = 0; j < n_top; j++) mean_top += top[j];
  mean_top /= n_top;
  *logprob = chosen >= 0 && chosen < n_vocab ? (float)(logits[chosen] - lse) : -INFINITY;
  *confidence = (float)(lse - mean_top);
}

int ds_token_top_logprobs(const float *logits, int64_t n_vocab, int n, int32_t *ids, float *logprobs)
{
  int k = DS_MAX(0, DS_MIN(n, DS_TOP_LOGPROBS_MAX)), n_top = 0;
  if (k == 0) return 0;
  float top[DS_TOP_LOGPROBS_MAX];
  for (int64_t i = 0; i < n_vocab; i++) {   /* insertion into the sorted top k */
    float l = logits[i];
    if (!(l > -INFINITY) || (n_top == k && l <= top[k - 1])) continue;
    int j = n_top < k ? n_top++ : k - 1;
    while (j > 0 && top[j - 1] < l) { top[j] = top[j - 1]; ids[j] = ids[j - 1]; j--; }
    top[j] = l;
    ids[j] = (int32_t)i;
  }
  if (n_top == 0) return 0;
  /* log P(t) = logit_t - logsumexp(logits), summed as ds_token_confidence does
   * so that the chosen token's logprob equals its entry here */
  double lse = log_sum_exp(logits, n_vocab, top[0]);
  for (int j = 0; j < n_top; j++) logprobs[j] = (float)(top[j] - lse);
  return n_top;
}

void ds_trace_init(ds_trace *t, int64_t window)
{
  memset(t, 0, sizeof *t);
  t->window = DS_MAX(window, 1);
  t->lowest_group = INFINITY;
}

void ds_trace_free(ds_trace *t)
{
  ds_free(t->conf);
  ds_free(t->logprob);
  t->conf = t->logprob = NULL;
  t->n = t->cap = 0;
}

dseek_status ds_trace_push(ds_trace *t, float logprob, float confidence)
{
  if (t->n == t->cap) {
    int64_t cap = t->cap ? 2 * t->cap : 256;
    float *c = ds_realloc(t->conf, (size_t)cap * sizeof *c);
    if (c) t->conf = c;
    float *l = c ? ds_realloc(t->logprob, (size_t)cap * sizeof *l) : NULL;
    if (!l) return ds_error(DSEEK_ERR_NO_MEMORY, "confidence: out of memory for %lld tokens", (long long)cap);
    t->logprob = l;
    t->cap = cap;
  }
  t->conf[t->n] = confidence;
  t->logprob[t->n] = logprob;
  t->n++;
  t->window_sum += confidence;
  if (t->n > t->window) t->window_sum -= t->conf[t->n - 1 - t->window];
  t->logprob_sum += logprob;
  if (t->n >= t->window) t->lowest_group = DS_MIN(t->lowest_group, ds_trace_group(t));
  return DSEEK_OK;
}

double ds_trace_group(const ds_trace *t)
{
  return t->n >= t->window ? t->window_sum / (double)t->window : NAN;
}

static int cmp_double(const void *a, const void *b)
{
  double x = *(const double *)a, y = *(const double *)b;
  return (x > y) - (x < y);
}

dseek_status ds_trace_stats(const ds_trace *t, int64_t tail, dseek_generate_result *r)
{
  r->n_scored_tokens = t->n;
  r->sum_logprob = t->logprob_sum;
  r->mean_confidence = r->lowest_group_confidence = r->bottom10_group_confidence = r->tail_confidence = 0;
  if (t->n == 0) return DSEEK_OK;
  double total = 0, tail_sum = 0;
  int64_t from = DS_MAX(0, t->n - DS_MAX(tail, 1));
  for (int64_t i = 0; i < t->n; i++) {
    total += t->conf[i];
    if (i >= from) tail_sum += t->conf[i];
  }
  r->mean_confidence = total / (double)t->n;
  r->tail_confidence = tail_sum / (double)(t->n - from);
  if (t->n < t->window) {   /* one group: the whole trace */
    r->lowest_group_confidence = r->bottom10_group_confidence = r->mean_confidence;
    return DSEEK_OK;
  }
  /* Every full window's C_G, recomputed in the push order's arithmetic. */
  int64_t n_groups = t->n - t->window + 1;
  double *g = ds_malloc((size_t)n_groups * sizeof *g);
  if (!g) return ds_error(DSEEK_ERR_NO_MEMORY, "confidence: out of memory for %lld groups", (long long)n_groups);
  double s = 0;
  for (int64_t i = 0; i < t->n; i++) {
    s += t->conf[i];
    if (i >= t->window) s -= t->conf[i - t->window];
    if (i + 1 >= t->window) g[i + 1 - t->window] = s / (double)t->window;
  }
  qsort(g, (size_t)n_groups, sizeof *g, cmp_double);
  int64_t n10 = DS_MAX(1, (n_groups + 9) / 10);
  double b = 0;
  for (int64_t i = 0; i < n10; i++) b += g[i];
  r->lowest_group_confidence = t->lowest_group;
  r->bottom10_group_confidence = b / (double)n10;
  ds_free(g);
  return DSEEK_OK;
}

dseek_status dseek_confidence_options_init(dseek_confidence_options *o, size_t size)
{
  if (!o || size < sizeof(size_t) || size > 4096)
    return ds_error(DSEEK_ERR_INVALID_ARG, "dseek_confidence_options_init: bad struct_size %zu", size);
  dseek_confidence_options d;
  memset(&d, 0, sizeof d);
  d.top_k = 20;
  d.window = 2048;
  d.tail = 2048;
  d.measure = DSEEK_CONFIDENCE_LOWEST_GROUP;
  d.weighted = 1;
  d.keep_top = 1.0;
  d.n_warmup = 16;
  d.stop_percentile = 90;
  memset(o, 0, size);
  memcpy(o, &d, DS_MIN(size, sizeof d));
  o->struct_size = size;
  return DSEEK_OK;
}

dseek_status ds_confidence_options_read(const dseek_confidence_options *in, const char *fn,
                                        dseek_confidence_options *o)
{
  dseek_confidence_options_init(o, sizeof *o);
  if (!in) return DSEEK_OK;
  if (in->struct_size < sizeof(size_t) || in->struct_size > 4096)
    return ds_error(DSEEK_ERR_INVALID_ARG, "%s: confidence options struct_size %zu is not valid", fn, in->struct_size);
  memcpy(o, in, DS_MIN(in->struct_size, sizeof *o));
  if (o->top_k < 1 || o->top_k > DS_CONF_MAX_TOP_K || o->window < 1 || o->tail < 1 || o->measure < 0 ||
      o->measure > DSEEK_CONFIDENCE_TAIL || !(o->keep_top > 0 && o->keep_top <= 1) || o->n_warmup < 1 ||
      !(o->stop_percentile >= 0 && o->stop_percentile <= 100) || !(o->consensus >= 0 && o->consensus <= 1) ||
      o->width < 0)
    return ds_error(DSEEK_ERR_INVALID_ARG, "%s: confidence options need 1 <= top_k <= %d, window >= 1, tail >= 1, "
                    "a dseek_confidence_measure, 0 < keep_top <= 1, n_warmup >= 1, 0 <= stop_percentile <= 100, "
                    "0 <= consensus <= 1 and width >= 0", fn, DS_CONF_MAX_TOP_K);
  return DSEEK_OK;
}

double ds_confidence_of(const dseek_generate_result *r, int m)
{
  switch (m) {
  case DSEEK_CONFIDENCE_MEAN: return r->mean_confidence;
  case DSEEK_CONFIDENCE_BOTTOM_10: return r->bottom10_group_confidence;
  case DSEEK_CONFIDENCE_TAIL: return r->tail_confidence;
  default: return r->lowest_group_confidence;
  }
}

double ds_percentile(const double *x, int64_t n, double p)
{
  if (n < 1) return NAN;
  double *s = ds_malloc((size_t)n * sizeof *s);
  if (!s) return NAN;
  memcpy(s, x, (size_t)n * sizeof *s);
  qsort(s, (size_t)n, sizeof *s, cmp_double);
  double at = p / 100.0 * (double)(n - 1);
  int64_t lo = (int64_t)floor(at), hi = DS_MIN(lo + 1, n - 1);
  double v = s[lo] + (at - (double)lo) * (s[hi] - s[lo]);
  ds_free(s);
  return v;
}

dseek_status ds_weighted_vote(const char *const *answers, const double *score, int64_t n, double keep_top,
                              bool weighted, int64_t *best, double *weight, double *share)
{
  *best = -1;
  *weight = *share = 0;
  int64_t n_ans = 0;
  for (int64_t i = 0; i < n; i++) n_ans += answers[i] != NULL;
  if (n_ans == 0) return DSEEK_OK;
  /* Top-eta%: chain i is kept when fewer than n_keep chains rank above it
   * (higher score, or equal score and lower index). */
  int64_t n_keep = DS_MAX(1, (int64_t)ceil(keep_top * (double)n_ans - 1e-9));
  bool *kept = ds_calloc((size_t)n, sizeof *kept);
  if (!kept) return ds_error(DSEEK_ERR_NO_MEMORY, "vote: out of memory");
  double total = 0;
  for (int64_t i = 0; i < n; i++) {
    if (!answers[i]) continue;
    int64_t above = 0;
    for (int64_t j = 0; j < n; j++)
      if (answers[j] && (score[j] > score[i] || (score[j] == score[i] && j < i))) above++;
    kept[i] = above < n_keep;
    if (kept[i]) total += weighted ? score[i] : 1;
  }
  for (int64_t i = 0; i < n; i++) {
    if (!kept[i]) continue;
    bool seen = false;   /* count each answer once, at its first kept chain */
    for (int64_t j = 0; j < i && !seen; j++) seen = kept[j] && strcmp(answers[j], answers[i]) == 0;
    if (seen) continue;
    double w = 0;
    for (int64_t j = i; j < n; j++)
      if (kept[j] && strcmp(answers[j], answers[i]) == 0) w += weighted ? score[j] : 1;
    if (w > *weight) { *weight = w; *best = i; }
  }
  *share = total > 0 ? *weight / total : 0;
  ds_free(kept);
  return DSEEK_OK;
}
