/* samples.h — the chains of one dseek_generate_parallel call (parallel.c
 * decodes them, samples.c answers questions about them and votes). */
#ifndef DS_RUNTIME_SAMPLES_H
#define DS_RUNTIME_SAMPLES_H

#include "runtime/confidence.h"
#include "runtime/output.h"

typedef struct sample {
  dseek_sampler *sampler;
  ds_output out;
  ds_buf reasoning, content, answer;
  ds_trace trace;               /* token confidences (runtime/confidence.h) */
  bool has_answer;
  bool done;
  bool warmup;                  /* one of the chains that set the early-stop threshold */
  int64_t lane;                 /* cache rows it writes (parallel.c) */
  int64_t row;                  /* its logits row after the last step, -1: the prompt's */
  dseek_generate_result r;
} sample;

struct dseek_samples {
  int64_t n;                    /* chains started */
  int64_t cap;                  /* chains allocated (n_samples) */
  sample *s;
  double threshold;             /* early-stop threshold, NaN if none */
};

/* Does chain sm take part in a vote (finished, not stopped for low
 * confidence or a settled vote)? */
bool ds_sample_votes(const sample *sm);
/* Extract sm's answer into sm->answer / has_answer (extract NULL: the default). */
dseek_status ds_sample_extract(sample *sm, dseek_extract_fn extract, void *user);
/* The weighted vote over the chains that vote (their answers extracted). */
dseek_status ds_samples_weighted_vote(const dseek_samples *ss, const dseek_confidence_options *o, int64_t *best,
                                      double *weight, double *share);

#endif
