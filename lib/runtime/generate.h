/* generate.h — small pieces shared by single and parallel generation. */
#ifndef DS_RUNTIME_GENERATE_H
#define DS_RUNTIME_GENERATE_H

#include "core/platform.h"   /* ds_seconds, the monotonic clock */
#include "runtime/confidence.h"

bool ds_prompt_opens_think(const char *prompt);  /* ends in "<think>" (+ whitespace) */

struct ds_vocab;
/* The prompt's tokens in one tokenizer pass: *ids (ds_free) and *n. Errors
 * (with fn in the message): an empty prompt (INVALID_ARG), more tokens than
 * n_ctx (CONTEXT_FULL), the tokenizer's. */
dseek_status ds_prompt_tokens(const struct ds_vocab *v, const char *prompt, bool add_bos, bool parse_special,
                              int64_t n_ctx, const char *fn, int32_t **ids, int64_t *n);

/* What dseek_generate and dseek_generate_parallel both start from
 * (generate_prepare.c). */
typedef struct ds_generate_prep {
  dseek_generate_options o;        /* the caller's options over the defaults */
  dseek_confidence_options conf;   /* their confidence settings, defaults filled in */
  int32_t *ids;                    /* the prompt's tokens (ds_free) */
  int64_t n_prompt;
  bool open;                       /* the output starts inside the reasoning */
} ds_generate_prep;

/* The checks one of the two adds to the common ones. */
typedef dseek_status (*ds_generate_check)(const dseek_generate_options *o, const char *fn);

/* The options (opts over the defaults; struct_size, counts, stop strings,
 * reasoning mode, budgets, top_logprobs, confidence settings, then check),
 * the tokenizer's presence and the prompt's tokens. On error nothing is held. */
dseek_status ds_generate_prepare(const struct dseek_context *ctx, const char *prompt,
                                 const dseek_generate_options *opts, const char *fn, ds_generate_check check,
                                 ds_generate_prep *p);

/* The prompt ids[0..n) through the context's cache: the longest common prefix
 * with the cached tokens (at most keep_max of them, and never all n: the
 * last token's logits are needed) is kept, the rest evaluated; resets the
 * cancel flag. Fills r->n_cached_tokens and r->prompt_seconds, *t_done is
 * the clock when the evaluation ended. */
dseek_status ds_generate_prefill(struct dseek_context *ctx, const int32_t *ids, int64_t n, int64_t keep_max,
                                 dseek_generate_result *r, double *t_done);

#endif
