/*
 * parallel.c — n samples of one prompt decoded together, optionally guided by
 * their confidence (DeepConf, arXiv 2508.15260, Algorithm 2: warm-up chains
 * set a threshold, later chains stop when their group confidence falls below
 * it, and no more chains start once the weighted vote is settled).
 *
 * Cache layout: the prompt occupies slots [0, P) shared by all samples (seq
 * -1). At most `width` chains run at once; running chain number L of the
 * lanes owns the rows [P + L*R, P + (L+1)*R) (R = the room after the prompt
 * over width, at most max_tokens) and writes its t-th token at P + L*R + t,
 * position P + t; starting, it takes ownership of all R rows. ds_op_attn_seq
 * makes a chain see only the prompt and its own slots, in order, so each chain's logits are bit-identical to a single
 * run with the same seed. A finished or stopped chain leaves its lane to
 * the next chain to start; its old rows stay owned by its sequence id, which
 * no running chain has, so nobody sees them. One graph run per step
 * evaluates every running chain (runtime/step_loop.h, one lane per running
 * chain): the weights are read once for all of them.
 */
#include "runtime/context.h"
#include "runtime/generate.h"
#include "runtime/sampler.h"
#include "runtime/samples.h"
#include "runtime/step_loop.h"

#include <math.h>
#include <string.h>

static int collect(dseek_piece_kind kind, const char *text, size_t len, void *user)
{
  sample *sm = user;
  ds_buf_append(kind == DSEEK_PIECE_REASONING ? &sm->reasoning : &sm->content, text, len);
  return 0;
}

/* Everything the step loop carries around. */
typedef struct run {
  dseek_context *ctx;
  dseek_samples *ss;
  const dseek_generate_options *o;
  dseek_confidence_options conf;
  const uint64_t *seeds;
  int64_t n_samples, n_prompt, n_warmup, n_warm_done, region;
  int64_t *lane_owner;           /* chain in each lane, -1: free */
  int64_t width;
  bool open, settled;
  const float *prompt_logits;    /* a new chain's first token comes from these */
} run;

static const char fn[] = "dseek_generate_parallel";

static dseek_status start_chain(run *u, int64_t lane)
{
  dseek_samples *ss = u->ss;
  int64_t i = ss->n++;
  sample *sm = &ss->s[i];
  ds_output_init(&sm->out, u->o->stop, u->o->n_stop, u->open, u->o->reasoning == DSEEK_REASONING_OFF, collect, sm);
  ds_trace_init(&sm->trace, u->conf.window);
  sm->r.n_prompt_tokens = u->n_prompt;
  sm->lane = lane;
  sm->row = -1;
  sm->warmup = i < u->n_warmup;
  u->lane_owner[lane] = i;
  /* The lane's rows are the chain's from now on: rows it has not written yet
   * hold stale keys (shared -1 or an earlier chain's) that nobody may see. */
  for (int64_t r = 0; r < u->region; r++) u->ctx->slot_seq[u->n_prompt + lane * u->region + r] = (int32_t)i;
  if (u->o->sampler) return dseek_sampler_clone(u->o->sampler, u->seeds ? u->seeds[i] : (uint64_t)i, &sm->sampler);
  return DSEEK_OK;
}

/* May another chain start? Not once settled; with early stop, chains after
 * the warm-up wait for the threshold. */
static bool may_start(const run *u)
{
  return u->ss->n < u->n_samples && !u->settled &&
         (!u->conf.early_stop || u->ss->n < u->n_warmup || !isnan(u->ss->threshold));
}

/* Chain sm ends: its output is flushed, its statistics computed, its lane
 * freed; the last warm-up chain sets the threshold (DeepConf eq. 9:
 * s = percentile_{100-eta} of the warm-up chains' lowest group confidences);
 * with a consensus, the vote over the finished chains may settle. */
static dseek_status finish(run *u, sample *sm, int reason)
{
  sm->r.stop_reason = reason;
  sm->done = true;
  u->lane_owner[sm->lane] = -1;
  dseek_status st = ds_output_finish(&sm->out);
  if (!st && (sm->reasoning.failed || sm->content.failed)) st = ds_error(DSEEK_ERR_NO_MEMORY, "%s: out of memory", fn);
  if (!st) st = ds_trace_stats(&sm->trace, u->conf.tail, &sm->r);
  if (st) return st;
  dseek_samples *ss = u->ss;
  if (sm->warmup && ++u->n_warm_done == u->n_warmup && u->conf.early_stop) {
    double low[1024];
    for (int64_t k = 0; k < u->n_warmup; k++) low[k] = ss->s[k].r.lowest_group_confidence;
    ss->threshold = ds_percentile(low, u->n_warmup, u->conf.stop_percentile);
    if (isnan(ss->threshold)) return ds_error(DSEEK_ERR_NO_MEMORY, "%s: out of memory", fn);
  }
  if (u->conf.consensus <= 0 || u->settled) return DSEEK_OK;
  if ((st = ds_sample_extract(sm, u->conf.extract, u->conf.extract_user_data))) return st;
  int64_t n_finished = 0;
  for (int64_t k = 0; k < ss->n; k++) n_finished += ds_sample_votes(&ss->s[k]);
  if (n_finished < u->n_warmup) return DSEEK_OK;
  int64_t best;
  double weight, share;
  if ((st = ds_samples_weighted_vote(ss, &u->conf, &best, &weight, &share))) return st;
  u->settled = best >= 0 && share >= u->conf.consensus;
  return DSEEK_OK;
}

/* Sample chain sm's next token from its logits row; queue it in its lane
 * for the next evaluation unless the chain ends. */
static dseek_status step_chain(run *u, sample *sm, const float *logits, ds_step_batch *b)
{
  const dseek_generate_options *o = u->o;
  const struct ds_vocab *v = u->ctx->model->vocab;
  const int64_t n_vocab = u->ctx->model->hp.n_vocab;
  if (sm->r.n_generated_tokens >= o->max_tokens) return finish(u, sm, DSEEK_STOP_MAX_TOKENS);
  int32_t tok;
  dseek_status st = DSEEK_OK;
  if (sm->sampler) { if ((st = dseek_sampler_sample(sm->sampler, logits, n_vocab, &tok))) return st; }
  else tok = ds_argmax(logits, n_vocab);
  if (ds_vocab_is_eog(v, tok)) return finish(u, sm, DSEEK_STOP_EOS);
  float logprob, conf;
  ds_token_confidence(logits, n_vocab, tok, u->conf.top_k, &logprob, &conf);
  if ((st = ds_trace_push(&sm->trace, logprob, conf))) return st;
  const int64_t index = sm->r.n_generated_tokens;
  bool thinking = ds_output_thinking(&sm->out);
  sm->r.n_generated_tokens++;
  if (thinking) sm->r.n_reasoning_tokens++;
  if ((st = ds_output_token(&sm->out, v, tok))) return st;
  const double group = ds_trace_group(&sm->trace);
  if (o->on_token) {
    dseek_token_info info = {.struct_size = sizeof info, .sample = sm - u->ss->s, .index = index, .token = tok,
                             .logprob = logprob, .confidence = conf, .group_confidence = (float)group};
    if (o->on_token(&info, o->on_token_user_data)) return finish(u, sm, DSEEK_STOP_CALLBACK);
  }
  if (sm->out.hit) return finish(u, sm, DSEEK_STOP_STRING);
  if (u->conf.early_stop && !sm->warmup && group < u->ss->threshold) return finish(u, sm, DSEEK_STOP_LOW_CONFIDENCE);
  if (sm->r.n_generated_tokens >= o->max_tokens) return finish(u, sm, DSEEK_STOP_MAX_TOKENS);
  if (index >= u->region) return finish(u, sm, DSEEK_STOP_CONTEXT_FULL);
  sm->row = b->n;
  ds_step_push(b, tok, (int32_t)(u->n_prompt + index), (int32_t)(u->n_prompt + sm->lane * u->region + index),
               (int32_t)(sm - u->ss->s));
  return DSEEK_OK;
}

/* One step of every lane for ds_step_loop: free lanes get new chains, every
 * running chain samples its next token from its logits row (a new one from
 * the prompt's) and queues it; a settled vote stops the chains still
 * running. Done when nothing runs and no chain may start. */
static dseek_status step_lanes(void *p, ds_step_batch *b, bool *done)
{
  run *u = p;
  dseek_samples *ss = u->ss;
  dseek_status st = DSEEK_OK;
  for (int64_t l = 0; l < u->width && !st; l++)
    if (u->lane_owner[l] < 0 && may_start(u)) st = start_chain(u, l);
  for (int64_t l = 0; l < u->width && !st; l++) {
    if (u->lane_owner[l] < 0) continue;
    sample *sm = &ss->s[u->lane_owner[l]];
    st = step_chain(u, sm, sm->row < 0 ? u->prompt_logits : dseek_logits(u->ctx, sm->row), b);
  }
  if (!st && u->settled)
    for (int64_t l = 0; l < u->width && !st; l++)
      if (u->lane_owner[l] >= 0) st = finish(u, &ss->s[u->lane_owner[l]], DSEEK_STOP_SETTLED);
  if (st) return st;
  *done = b->n == 0 && !may_start(u);
  if (u->settled) b->n = 0;   /* nothing left to evaluate */
  if (b->n && atomic_load(&u->ctx->cancel)) return ds_error(DSEEK_ERR_CANCELLED, "%s: cancelled", fn);
  return DSEEK_OK;
}

/* What parallel samples add to the common checks (ds_generate_prepare). */
static dseek_status check_parallel(const dseek_generate_options *o, const char *name)
{
  if (o->stream || o->max_thinking_tokens >= 0 || o->min_thinking_tokens > 0 || o->draft || o->use_mtp)
    return ds_error(DSEEK_ERR_INVALID_ARG, "%s: streaming, thinking budgets and speculative decoding are not "
                    "available for parallel samples; read the results from the samples handle", name);
  if (o->context_shift)   /* samples own their own cache slots after the shared prompt */
    return ds_error(DSEEK_ERR_INVALID_ARG, "%s: context_shift is not available for parallel samples", name);
  if (o->grammar || o->json_schema || o->trigger)
    return ds_error(DSEEK_ERR_INVALID_ARG, "%s: grammar, json_schema and trigger are not available for parallel "
                    "samples; give the sampler a grammar stage (dseek_sampler_add_grammar) instead", name);
  return DSEEK_OK;
}

dseek_status dseek_generate_parallel(dseek_context *ctx, const char *prompt, int64_t n_samples,
                                     const uint64_t *seeds, const dseek_generate_options *opts, dseek_samples **out)
{
  if (!ctx || !prompt || !out || n_samples < 1 || n_samples > 1024)
    return ds_error(DSEEK_ERR_INVALID_ARG, "%s: need ctx, prompt, out and 1 <= n_samples <= 1024", fn);
  ds_generate_prep prep;
  dseek_status st = ds_generate_prepare(ctx, prompt, opts, fn, check_parallel, &prep);
  if (st) return st;
  const dseek_generate_options o = prep.o;
  int32_t *ids, *prompt_ids = prep.ids;
  const int64_t n_prompt = prep.n_prompt;
  run u = {.ctx = ctx, .o = &o, .conf = prep.conf, .seeds = seeds, .n_samples = n_samples, .open = prep.open};
  u.n_warmup = DS_MIN(u.conf.n_warmup, n_samples);
  /* Adaptive count: by default waves of n_warmup chains, so that a settled vote saves chains. */
  u.width = DS_MIN(u.conf.width ? u.conf.width : u.conf.consensus > 0 ? u.n_warmup : n_samples, n_samples);
  u.n_prompt = n_prompt;
  u.region = DS_MIN(o.max_tokens, (ctx->n_ctx - n_prompt) / u.width);
  dseek_samples *ss = u.ss = ds_calloc(1, sizeof *ss);
  ids = ds_malloc((size_t)(4 * u.width) * sizeof *ids);   /* the step batch: ids, pos, slots, seq */
  u.lane_owner = ds_malloc((size_t)u.width * sizeof *u.lane_owner);
  if (!ss || !ids || !u.lane_owner || !(ss->s = ds_calloc((size_t)n_samples, sizeof *ss->s))) {
    ds_free(ss);
    ds_free(ids);
    ds_free(prompt_ids);
    ds_free(u.lane_owner);
    return ds_error(DSEEK_ERR_NO_MEMORY, "%s: out of memory", fn);
  }
  ss->cap = n_samples;
  ss->threshold = NAN;
  for (int64_t l = 0; l < u.width; l++) u.lane_owner[l] = -1;
  dseek_generate_result pre = {0};   /* the prefill's n_cached_tokens and prompt_seconds */
  double t1;
  st = ds_generate_prefill(ctx, prompt_ids, n_prompt, n_prompt, &pre, &t1);
  ds_free(prompt_ids);
  const int64_t n_vocab = ctx->model->hp.n_vocab;
  float *prompt_logits = st ? NULL : ds_malloc((size_t)n_vocab * sizeof(float));
  if (!st && !prompt_logits) st = ds_error(DSEEK_ERR_NO_MEMORY, "%s: out of memory", fn);
  if (!st) memcpy(prompt_logits, dseek_logits(ctx, -1), (size_t)n_vocab * sizeof(float));

  u.prompt_logits = prompt_logits;
  ds_step_batch b = {.ids = ids, .pos = ids + u.width, .slots = ids + 2 * u.width, .seq = ids + 3 * u.width,
                     .cap = u.width};
  if (!st) st = ds_step_loop(ctx, &b, step_lanes, &u);
  double t2 = ds_seconds();
  for (int64_t i = 0; i < ss->n && !st; i++) {
    sample *sm = &ss->s[i];
    sm->r.n_cached_tokens = pre.n_cached_tokens;
    sm->r.prompt_seconds = pre.prompt_seconds;
    sm->r.generate_seconds = t2 - t1;
  }
  /* The samples' slots are released: the cache keeps the prompt only. */
  for (int64_t s = n_prompt; s < ctx->n_ctx; s++) ctx->slot_seq[s] = -1;
  ctx->n_past = DS_MIN(ctx->n_past, n_prompt);
  ds_free(u.lane_owner);
  ds_free(prompt_logits);
  ds_free(ids);
  if (st) { dseek_samples_free(ss); return st; }
  *out = ss;
  return DSEEK_OK;
}
