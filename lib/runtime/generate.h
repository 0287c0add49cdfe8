/* generate.h — small pieces shared by single and parallel generation. */
#ifndef DS_RUNTIME_GENERATE_H
#define DS_RUNTIME_GENERATE_H

#include "core/platform.h"   /* ds_seconds, the monotonic clock */

bool ds_prompt_opens_think(const char *prompt);  /* ends in "<think>" (+ whitespace) */
int32_t ds_argmax(const float *x, int64_t n);    /* first maximum */

struct ds_vocab;
/* The prompt's tokens in one tokenizer pass: *ids (ds_free) and *n. Errors
 * (with fn in the message): an empty prompt (INVALID_ARG), more tokens than
 * n_ctx (CONTEXT_FULL), the tokenizer's. */
dseek_status ds_prompt_tokens(const struct ds_vocab *v, const char *prompt, bool add_bos, bool parse_special,
                              int64_t n_ctx, const char *fn, int32_t **ids, int64_t *n);

#endif
