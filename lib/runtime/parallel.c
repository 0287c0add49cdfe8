/*
 * parallel.c — n samples of one prompt decoded together, and self-consistency
 * voting over their answers.
 *
 * Cache layout: the prompt occupies slots [0, P) shared by all samples (seq
 * -1); at step t the still-running samples' tokens take the next free slots,
 * each owned by its sample, at position P + t. ds_op_attn_seq makes a sample
 * see only the prompt and its own slots, in order, so each sample's logits are
 * bit-identical to a single run with the same seed. One graph run per step
 * evaluates every running sample: the weights are read once for all of them.
 */
#include "runtime/context.h"
#include "runtime/generate.h"
#include "runtime/output.h"
#include "text/answer.h"

#include <string.h>

typedef struct sample {
  dseek_sampler *sampler;
  ds_output out;
  ds_buf reasoning, content, answer;
  bool has_answer;
  bool done;
  int32_t next;                  /* token to evaluate at the next step */
  dseek_generate_result r;
} sample;

struct dseek_samples {
  int64_t n;
  sample *s;
};

static int collect(dseek_piece_kind kind, const char *text, size_t len, void *user)
{
  sample *sm = user;
  ds_buf_append(kind == DSEEK_PIECE_REASONING ? &sm->reasoning : &sm->content, text, len);
  return 0;
}

void dseek_samples_free(dseek_samples *ss)
{
  if (!ss) return;
  for (int64_t i = 0; i < ss->n; i++) {
    sample *sm = &ss->s[i];
    dseek_sampler_free(sm->sampler);
    ds_output_free(&sm->out);
    ds_buf_free(&sm->reasoning);
    ds_buf_free(&sm->content);
    ds_buf_free(&sm->answer);
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

dseek_status dseek_generate_parallel(dseek_context *ctx, const char *prompt, int64_t n_samples,
                                     const uint64_t *seeds, const dseek_generate_options *opts, dseek_samples **out)
{
  static const char fn[] = "dseek_generate_parallel";
  if (!ctx || !prompt || !out || n_samples < 1 || n_samples > 1024)
    return ds_error(DSEEK_ERR_INVALID_ARG, "%s: need ctx, prompt, out and 1 <= n_samples <= 1024", fn);
  dseek_generate_options o;
  dseek_generate_options_init(&o, sizeof o);
  if (opts) {
    if (opts->struct_size < sizeof(size_t) || opts->struct_size > 4096)
      return ds_error(DSEEK_ERR_INVALID_ARG, "%s: options struct_size %zu is not valid", fn, opts->struct_size);
    memcpy(&o, opts, DS_MIN(opts->struct_size, sizeof o));
  }
  if (o.stream || o.max_thinking_tokens >= 0 || o.min_thinking_tokens > 0 || o.draft)
    return ds_error(DSEEK_ERR_INVALID_ARG, "%s: streaming, thinking budgets and speculative decoding are not "
                    "available for parallel samples; read the results from the samples handle", fn);
  if (o.context_shift)   /* samples own their own cache slots after the shared prompt */
    return ds_error(DSEEK_ERR_INVALID_ARG, "%s: context_shift is not available for parallel samples", fn);
  if (o.grammar || o.json_schema || o.trigger)
    return ds_error(DSEEK_ERR_INVALID_ARG, "%s: grammar, json_schema and trigger are not available for parallel "
                    "samples; give the sampler a grammar stage (dseek_sampler_add_grammar) instead", fn);
  if (o.max_tokens < 0 || o.n_stop < 0 || (o.n_stop > 0 && !o.stop) || o.reasoning < 0 || o.reasoning > 2)
    return ds_error(DSEEK_ERR_INVALID_ARG, "%s: bad max_tokens, stop strings or reasoning mode", fn);
  const struct dseek_model *m = ctx->model;
  if (!m->vocab) return ds_error(DSEEK_ERR_UNSUPPORTED, "%s: the model has no tokenizer (ids-only model)", fn);

  /* The prompt, through the cache like dseek_generate. */
  size_t plen = strlen(prompt);
  int64_t n_prompt = 0;
  dseek_status st = ds_tokenize(m->vocab, prompt, plen, o.add_special != 0, o.parse_special != 0, NULL, 0, &n_prompt);
  if (st && st != DSEEK_ERR_BUFFER_TOO_SMALL) return st;
  st = DSEEK_OK;
  if (n_prompt < 1) return ds_error(DSEEK_ERR_INVALID_ARG, "%s: the prompt is empty", fn);
  if (n_prompt > ctx->n_ctx)
    return ds_error(DSEEK_ERR_CONTEXT_FULL, "%s: the prompt has %lld tokens but the context holds %lld", fn,
                    (long long)n_prompt, (long long)ctx->n_ctx);
  dseek_samples *ss = ds_calloc(1, sizeof *ss);
  int32_t *ids = ds_malloc((size_t)DS_MAX(n_prompt, 4 * n_samples) * sizeof *ids);
  if (!ss || !ids || !(ss->s = ds_calloc((size_t)n_samples, sizeof *ss->s))) {
    ds_free(ss);
    ds_free(ids);
    return ds_error(DSEEK_ERR_NO_MEMORY, "%s: out of memory", fn);
  }
  ss->n = n_samples;
  bool open = o.reasoning == DSEEK_REASONING_OPEN ||
              (o.reasoning == DSEEK_REASONING_AUTO && ds_prompt_opens_think(prompt));
  for (int64_t i = 0; i < n_samples && !st; i++) {
    sample *sm = &ss->s[i];
    ds_output_init(&sm->out, o.stop, o.n_stop, open, o.reasoning == DSEEK_REASONING_OFF, collect, sm);
    sm->r.n_prompt_tokens = n_prompt;
    if (o.sampler) st = dseek_sampler_clone(o.sampler, seeds ? seeds[i] : (uint64_t)i, &sm->sampler);
  }
  if (!st) st = ds_tokenize(m->vocab, prompt, plen, o.add_special != 0, o.parse_special != 0, ids, n_prompt, &n_prompt);
  int64_t keep = 0;
  if (!st) {
    while (keep < ctx->n_past && keep < n_prompt && ctx->tokens[keep] == ids[keep]) keep++;
    if (keep == n_prompt) keep--;
    ctx->n_past = keep;
    atomic_store(&ctx->cancel, 0);
  }
  double t0 = ds_seconds();
  if (!st) st = dseek_decode(ctx, ids + keep, n_prompt - keep, 0);
  double t1 = ds_seconds();
  const int64_t n_vocab = m->hp.n_vocab;
  float *prompt_logits = st ? NULL : ds_malloc((size_t)n_vocab * sizeof(float));
  if (!st && !prompt_logits) st = ds_error(DSEEK_ERR_NO_MEMORY, "%s: out of memory", fn);
  if (!st) memcpy(prompt_logits, dseek_logits(ctx, -1), (size_t)n_vocab * sizeof(float));

  /* Step loop: sample every running sample from its logits row, then evaluate
   * all the new tokens in one batch. */
  int32_t *pos = ids + n_samples, *slots = ids + 2 * n_samples, *seq = ids + 3 * n_samples;
  int64_t *row_of = ds_malloc((size_t)n_samples * sizeof *row_of);
  if (!st && !row_of) st = ds_error(DSEEK_ERR_NO_MEMORY, "%s: out of memory", fn);
  int64_t next_slot = n_prompt;
  for (int64_t step = 0; !st; step++) {
    int64_t n_batch = 0;
    for (int64_t i = 0; i < n_samples && !st; i++) {
      sample *sm = &ss->s[i];
      if (sm->done) continue;
      if (sm->r.n_generated_tokens >= o.max_tokens) { sm->r.stop_reason = DSEEK_STOP_MAX_TOKENS; sm->done = true; continue; }
      const float *logits = step == 0 ? prompt_logits : dseek_logits(ctx, row_of[i]);
      int32_t tok;
      if (sm->sampler) { if ((st = dseek_sampler_sample(sm->sampler, logits, n_vocab, &tok))) break; }
      else tok = ds_argmax(logits, n_vocab);
      if (ds_vocab_is_eog(m->vocab, tok)) { sm->r.stop_reason = DSEEK_STOP_EOS; sm->done = true; continue; }
      bool thinking = ds_output_thinking(&sm->out);
      sm->r.n_generated_tokens++;
      if (thinking) sm->r.n_reasoning_tokens++;
      if ((st = ds_output_token(&sm->out, m->vocab, tok))) break;
      if (sm->out.hit) { sm->r.stop_reason = DSEEK_STOP_STRING; sm->done = true; continue; }
      if (sm->r.n_generated_tokens >= o.max_tokens) { sm->r.stop_reason = DSEEK_STOP_MAX_TOKENS; sm->done = true; continue; }
      if (next_slot >= ctx->n_ctx) { sm->r.stop_reason = DSEEK_STOP_CONTEXT_FULL; sm->done = true; continue; }
      ids[n_batch] = tok;
      pos[n_batch] = (int32_t)(n_prompt + step);
      slots[n_batch] = (int32_t)next_slot++;
      seq[n_batch] = (int32_t)i;
      row_of[i] = n_batch++;
    }
    if (st || n_batch == 0) break;
    if (atomic_load(&ctx->cancel)) { st = ds_error(DSEEK_ERR_CANCELLED, "%s: cancelled", fn); break; }
    /* One running sample: its row is the batch's last, so the single-row graph
     * (the one plain decoding uses, kept built across calls) gives it; asking
     * for all rows would rebuild the batch graph, which the prompt's chunk
     * evicts on every call. */
    st = ds_context_eval(ctx, ids, pos, slots, seq, n_batch, n_batch > 1);
  }
  double t2 = ds_seconds();
  for (int64_t i = 0; i < n_samples && !st; i++) {
    sample *sm = &ss->s[i];
    st = ds_output_finish(&sm->out);
    if (sm->reasoning.failed || sm->content.failed) st = ds_error(DSEEK_ERR_NO_MEMORY, "%s: out of memory", fn);
    sm->r.n_cached_tokens = keep;
    sm->r.prompt_seconds = t1 - t0;
    sm->r.generate_seconds = t2 - t1;
  }
  /* The samples' slots are released: the cache keeps the prompt only. */
  for (int64_t s = n_prompt; s < ctx->n_ctx; s++) ctx->slot_seq[s] = -1;
  ctx->n_past = DS_MIN(ctx->n_past, n_prompt);
  ds_free(row_of);
  ds_free(prompt_logits);
  ds_free(ids);
  if (st) { dseek_samples_free(ss); return st; }
  *out = ss;
  return DSEEK_OK;
}

/* ---- voting ------------------------------------------------------------------ */

dseek_status dseek_samples_vote(dseek_samples *ss, dseek_extract_fn extract, void *user, const char **answer,
                                int64_t *votes)
{
  if (!ss || !answer || !votes) return ds_error(DSEEK_ERR_INVALID_ARG, "dseek_samples_vote: bad arguments");
  if (!extract) extract = ds_extract_answer;
  char buf[4096];
  for (int64_t i = 0; i < ss->n; i++) {
    sample *sm = &ss->s[i];
    sm->answer.len = 0;
    sm->has_answer = false;
    int64_t n = extract(dseek_samples_content(ss, i, NULL), dseek_samples_reasoning(ss, i, NULL), buf, sizeof buf, user);
    if (n < 0) continue;
    if (n >= (int64_t)sizeof buf) n = sizeof buf - 1;
    if (!ds_buf_append(&sm->answer, buf, (size_t)n) && n > 0)
      return ds_error(DSEEK_ERR_NO_MEMORY, "dseek_samples_vote: out of memory");
    if (!sm->answer.data) ds_buf_append(&sm->answer, "", 0);
    sm->has_answer = sm->answer.data != NULL;
  }
  *answer = NULL;
  *votes = 0;
  for (int64_t i = 0; i < ss->n; i++) {
    if (!ss->s[i].has_answer) continue;
    int64_t count = 0;
    for (int64_t j = 0; j < ss->n; j++)
      if (ss->s[j].has_answer && strcmp(ss->s[i].answer.data, ss->s[j].answer.data) == 0) count++;
    if (count > *votes) { *votes = count; *answer = ss->s[i].answer.data; }
  }
  return DSEEK_OK;
}

const char *dseek_samples_answer(const dseek_samples *ss, int64_t i)
{
  return ss && i >= 0 && i < ss->n && ss->s[i].has_answer ? ss->s[i].answer.data : NULL;
}
