/*
 * generate_prepare.c — what dseek_generate and dseek_generate_parallel both
 * do before their first token: the caller's options over the defaults and
 * their common checks, the prompt's tokens (one tokenizer pass), and the
 * prompt through the context's cache (the longest common prefix with what
 * the cache holds is kept, the rest evaluated).
 */
#include "runtime/context.h"
#include "runtime/generate.h"
#include "text/vocab.h"

#include <string.h>

static dseek_status check_common(const dseek_generate_options *o, const char *fn)
{
  if (o->max_tokens < 0 || o->n_stop < 0 || (o->n_stop > 0 && !o->stop) || o->reasoning < 0 || o->reasoning > 2 ||
      o->max_thinking_tokens < -1 || o->min_thinking_tokens < 0)
    return ds_error(DSEEK_ERR_INVALID_ARG, "%s: need max_tokens >= 0, a stop array for n_stop > 0, a valid "
                    "reasoning mode, max_thinking_tokens >= -1 and min_thinking_tokens >= 0", fn);
  if (o->top_logprobs < 0 || o->top_logprobs > 20)
    return ds_error(DSEEK_ERR_INVALID_ARG, "%s: top_logprobs must be 0..20", fn);
  for (int64_t k = 0; k < o->n_stop; k++)
    if (!o->stop[k]) return ds_error(DSEEK_ERR_INVALID_ARG, "%s: stop string %lld is NULL", fn, (long long)k);
  return DSEEK_OK;
}

dseek_status ds_prompt_tokens(const struct ds_vocab *v, const char *prompt, bool add_bos, bool parse_special,
                              int64_t n_ctx, const char *fn, int32_t **ids, int64_t *n)
{
  /* A token covers at least one byte of the text, except the BOS and what a
   * vocabulary adds itself (a dummy-prefix space): len + 16 ids hold a prompt,
   * so one pass both counts and writes. A prompt longer than the context is
   * measured by the same pass (BUFFER_TOO_SMALL writes nothing and gives the
   * count); a second pass runs only when the first guess was short. */
  const size_t len = strlen(prompt);
  int64_t cap = (int64_t)DS_MIN((uint64_t)len + 16, (uint64_t)n_ctx);
  *ids = NULL;
  for (;;) {
    int32_t *buf = ds_malloc((size_t)cap * sizeof *buf);
    if (!buf) return ds_error(DSEEK_ERR_NO_MEMORY, "%s: out of memory", fn);
    dseek_status st = ds_tokenize(v, prompt, len, add_bos, parse_special, buf, cap, n);
    if (st == DSEEK_OK && *n >= 1) { *ids = buf; return DSEEK_OK; }
    ds_free(buf);
    if (st == DSEEK_OK) return ds_error(DSEEK_ERR_INVALID_ARG, "%s: the prompt is empty", fn);
    if (st != DSEEK_ERR_BUFFER_TOO_SMALL || *n <= cap) return st;
    if (*n > n_ctx)
      return ds_error(DSEEK_ERR_CONTEXT_FULL, "%s: the prompt has %lld tokens but the context holds %lld", fn,
                      (long long)*n, (long long)n_ctx);
    cap = *n;
  }
}

dseek_status ds_generate_prepare(const dseek_context *ctx, const char *prompt, const dseek_generate_options *opts,
                                 const char *fn, ds_generate_check check, ds_generate_prep *p)
{
  memset(p, 0, sizeof *p);
  dseek_generate_options_init(&p->o, sizeof p->o);
  if (opts) {
    if (opts->struct_size < sizeof(size_t) || opts->struct_size > 4096)
      return ds_error(DSEEK_ERR_INVALID_ARG, "%s: options struct_size %zu is not valid", fn, opts->struct_size);
    memcpy(&p->o, opts, DS_MIN(opts->struct_size, sizeof p->o));
  }
  const dseek_generate_options *o = &p->o;
  dseek_status st = check_common(o, fn);
  if (!st) st = ds_confidence_options_read(o->confidence, fn, &p->conf);
  if (!st) st = check(o, fn);
  if (st) return st;
  const struct ds_vocab *v = ctx->model->vocab;
  if (!v) return ds_error(DSEEK_ERR_UNSUPPORTED, "%s: the model has no tokenizer (ids-only model)", fn);
  p->open = o->reasoning == DSEEK_REASONING_OPEN || (o->reasoning == DSEEK_REASONING_AUTO && ds_prompt_opens_think(prompt));
  return ds_prompt_tokens(v, prompt, o->add_special != 0, o->parse_special != 0, ctx->n_ctx, fn, &p->ids, &p->n_prompt);
}

dseek_status ds_generate_prefill(dseek_context *ctx, const int32_t *ids, int64_t n, int64_t keep_max,
                                 dseek_generate_result *r, double *t_done)
{
  /* Keep the longest common prefix with what the context holds (at least one
   * token is evaluated, for its logits). Cache slot s holds position s, so
   * dropping the tail is just a shorter n_past. */
  int64_t keep = 0;
  while (keep < ctx->n_past && keep < n && ctx->tokens[keep] == ids[keep]) keep++;
  keep = DS_MIN(keep, keep_max);
  if (keep == n) keep--;
  ctx->n_past = keep;
  r->n_cached_tokens = keep;
  atomic_store(&ctx->cancel, 0);
  double t0 = ds_seconds();
  dseek_status st = dseek_decode(ctx, ids + keep, n - keep, 0);
  *t_done = ds_seconds();
  r->prompt_seconds = *t_done - t0;
  return st;
}
