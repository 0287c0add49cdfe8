/*
 * confidence.h — token and trace confidence after "Deep Think with
 * Confidence" (DeepConf; Fu, Wang, Tian, Zhao, 2025, arXiv 2508.15260,
 * section 3): the signals that weight votes and stop weak chains in
 * dseek_generate_parallel, and that every generation reports.
 */
#ifndef DS_RUNTIME_CONFIDENCE_H
#define DS_RUNTIME_CONFIDENCE_H

#include "core/ds.h"
#include "dseek.h"

enum { DS_CONF_MAX_TOP_K = 64 };

/* Token confidence of DeepConf eq. 2, C_i = -(1/k) sum_{j=1..k} log P_i(j)
 * over the k most probable tokens of P_i = softmax(logits) (only finite
 * logits count, so a grammar's masked tokens are not among them), and the
 * log-probability of the chosen token. High C_i: a peaked distribution. */
/* The n most probable tokens of softmax(logits) (n <= DS_TOP_LOGPROBS_MAX),
 * most probable first, with their log-probabilities; returns how many there
 * are (fewer when fewer tokens are unmasked). */
#define DS_TOP_LOGPROBS_MAX 20
int ds_token_top_logprobs(const float *logits, int64_t n_vocab, int n, int32_t *ids, float *logprobs);

void ds_token_confidence(const float *logits, int64_t n_vocab, int32_t chosen, int top_k, float *logprob,
                         float *confidence);

/* The confidence of one trace as it grows: the token confidences, and the
 * group confidence C_G of DeepConf eq. 4 — the mean token confidence over
 * the last `window` tokens — kept as a running sum. */
typedef struct ds_trace {
  float *conf;          /* token confidences, n of them */
  float *logprob;       /* chosen tokens' log-probabilities */
  int64_t n, cap;
  int64_t window;
  double window_sum;    /* sum of the last min(n, window) confidences */
  double lowest_group;  /* min of C_G over full windows so far (+inf before the first) */
  double logprob_sum;
} ds_trace;

void ds_trace_init(ds_trace *t, int64_t window);
void ds_trace_free(ds_trace *t);
dseek_status ds_trace_push(ds_trace *t, float logprob, float confidence);
/* C_G of the last window; NAN before `window` tokens. */
double ds_trace_group(const ds_trace *t);
/* Fill the result's confidence fields (mean, lowest group, bottom-10%
 * group, tail over the last `tail` tokens, logprob sum) from the trace. */
dseek_status ds_trace_stats(const ds_trace *t, int64_t tail, dseek_generate_result *r);

/* The options' confidence settings with defaults filled in (NULL: all
 * defaults); INVALID_ARG on bad values. */
dseek_status ds_confidence_options_read(const dseek_confidence_options *in, const char *fn,
                                        dseek_confidence_options *out);
/* A trace's score under measure m (a dseek_confidence_measure) from its result. */
double ds_confidence_of(const dseek_generate_result *r, int m);
/* The p-th percentile (0..100, linear between order statistics) of x[0..n). */
double ds_percentile(const double *x, int64_t n, double p);

/* Confidence-weighted vote (DeepConf eq. 7-8): answers[i] (NULL: none) with
 * score[i]; keep the ceil(keep_top * n_with_answer) highest-scoring chains
 * (eq. 8's top-eta%; ties by index), then each kept answer's weight is the
 * sum of its chains' scores (weighted) or their count. *best: the index of
 * a chain holding the winning answer (-1: none); *share: its weight over
 * the kept chains' total; *weight: the winner's weight. */
dseek_status ds_weighted_vote(const char *const *answers, const double *score, int64_t n, double keep_top,
                              bool weighted, int64_t *best, double *weight, double *share);

#endif
