/*
 * samples.c — reading the chains of dseek_generate_parallel, and voting
 * over their answers: plain self-consistency (dseek_samples_vote) and
 * DeepConf's confidence-weighted vote with top-eta% filtering
 * (dseek_samples_vote_confidence; arXiv 2508.15260 eq. 7-8).
 */
#include "runtime/samples.h"
#include "text/answer.h"

#include <math.h>
#include <string.h>

void dseek_samples_free(dseek_samples *ss)
{
  if (!ss) return;
  for (int64_t i = 0; i < ss->cap; i++) {
    sample *sm = &ss->s[i];
    dseek_sampler_free(sm->sampler);
    ds_output_free(&sm->out);
    ds_buf_free(&sm->reasoning);
    ds_buf_free(&sm->content);
    ds_buf_free(&sm->answer);
    ds_trace_free(&sm->trace);
  }
  ds_free(ss->s);
  ds_free(ss);
}

int64_t dseek_samples_count(const dseek_samples *ss) { return ss ? ss->n : -1; }

static const char *text_of(const dseek_samples *ss, int64_t i, bool reasoning, size_t *length)
{
  if (!ss || i < 0 || i >= ss->n) return NULL;
  const ds_buf *b = reasoning ? &ss->s[i].reasoning : &ss->s[i].content;
  if (length) *length = b->len;
  return b->data ? b->data : "";
}

const char *dseek_samples_content(const dseek_samples *ss, int64_t i, size_t *length)
{
  return text_of(ss, i, false, length);
}

const char *dseek_samples_reasoning(const dseek_samples *ss, int64_t i, size_t *length)
{
  return text_of(ss, i, true, length);
}

dseek_status dseek_samples_result(const dseek_samples *ss, int64_t i, dseek_generate_result *r)
{
  if (!ss || i < 0 || i >= ss->n || !r || r->struct_size < sizeof(size_t))
    return ds_error(DSEEK_ERR_INVALID_ARG, "dseek_samples_result: bad arguments");
  dseek_generate_result full = ss->s[i].r;
  full.struct_size = r->struct_size;
  memcpy(r, &full, DS_MIN(r->struct_size, sizeof full));
  return DSEEK_OK;
}

dseek_status dseek_samples_tokens(const dseek_samples *ss, int64_t i, const float **logprobs,
                                  const float **confidences, int64_t *n)
{
  if (!ss || i < 0 || i >= ss->n || !n)
    return ds_error(DSEEK_ERR_INVALID_ARG, "dseek_samples_tokens: bad arguments");
  const ds_trace *t = &ss->s[i].trace;
  if (logprobs) *logprobs = t->logprob;
  if (confidences) *confidences = t->conf;
  *n = t->n;
  return DSEEK_OK;
}

double dseek_samples_stop_threshold(const dseek_samples *ss) { return ss ? ss->threshold : NAN; }

bool ds_sample_votes(const sample *sm)
{
  return sm->done && sm->r.stop_reason != DSEEK_STOP_LOW_CONFIDENCE && sm->r.stop_reason != DSEEK_STOP_SETTLED;
}

dseek_status ds_sample_extract(sample *sm, dseek_extract_fn extract, void *user)
{
  char buf[4096];
  sm->answer.len = 0;
  sm->has_answer = false;
  if (!ds_sample_votes(sm)) return DSEEK_OK;
  const char *content = sm->content.data ? sm->content.data : "";
  const char *reasoning = sm->reasoning.data ? sm->reasoning.data : "";
  int64_t n = (extract ? extract : ds_extract_answer)(content, reasoning, buf, sizeof buf, user);
  if (n < 0) return DSEEK_OK;
  if (n >= (int64_t)sizeof buf) n = sizeof buf - 1;
  if (!ds_buf_append(&sm->answer, buf, (size_t)n) && n > 0)
    return ds_error(DSEEK_ERR_NO_MEMORY, "vote: out of memory");
  if (!sm->answer.data) ds_buf_append(&sm->answer, "", 0);
  sm->has_answer = sm->answer.data != NULL;
  return DSEEK_OK;
}

dseek_status ds_samples_weighted_vote(const dseek_samples *ss, const dseek_confidence_options *o, int64_t *best,
                                      double *weight, double *share)
{
  const char **answers = ds_calloc((size_t)DS_MAX(ss->n, 1), sizeof *answers);
  double *score = ds_calloc((size_t)DS_MAX(ss->n, 1), sizeof *score);
  dseek_status st = answers && score ? DSEEK_OK : ds_error(DSEEK_ERR_NO_MEMORY, "vote: out of memory");
  for (int64_t i = 0; i < ss->n && !st; i++) {
    const sample *sm = &ss->s[i];
    answers[i] = sm->has_answer && ds_sample_votes(sm) ? sm->answer.data : NULL;
    score[i] = ds_confidence_of(&sm->r, o->measure);
  }
  if (!st) st = ds_weighted_vote(answers, score, ss->n, o->keep_top, o->weighted != 0, best, weight, share);
  ds_free(answers);
  ds_free(score);
  return st;
}

dseek_status dseek_samples_vote(dseek_samples *ss, dseek_extract_fn extract, void *user, const char **answer,
                                int64_t *votes)
{
  if (!ss || !answer || !votes) return ds_error(DSEEK_ERR_INVALID_ARG, "dseek_samples_vote: bad arguments");
  dseek_confidence_options o;
  dseek_confidence_options_init(&o, sizeof o);
  o.weighted = 0;
  double weight, share;
  dseek_status st = dseek_samples_vote_confidence(ss, extract, user, &o, answer, &weight, &share);
  if (!st) *votes = (int64_t)weight;
  return st;
}

dseek_status dseek_samples_vote_confidence(dseek_samples *ss, dseek_extract_fn extract, void *user,
                                           const dseek_confidence_options *opts, const char **answer,
                                           double *weight, double *share)
{
  static const char fn[] = "dseek_samples_vote_confidence";
  if (!ss || !answer) return ds_error(DSEEK_ERR_INVALID_ARG, "%s: samples and answer must not be NULL", fn);
  dseek_confidence_options o;
  dseek_status st = ds_confidence_options_read(opts, fn, &o);
  for (int64_t i = 0; i < ss->n && !st; i++) st = ds_sample_extract(&ss->s[i], extract, user);
  int64_t best = -1;
  double w = 0, sh = 0;
  if (!st) st = ds_samples_weighted_vote(ss, &o, &best, &w, &sh);
  if (st) return st;
  *answer = best >= 0 ? ss->s[best].answer.data : NULL;
  if (weight) *weight = w;
  if (share) *share = sh;
  return DSEEK_OK;
}

const char *dseek_samples_answer(const dseek_samples *ss, int64_t i)
{
  return ss && i >= 0 && i < ss->n && ss->s[i].has_answer ? ss->s[i].answer.data : NULL;
}
