/*
 * chat.h — DeepSeek chat templates rendered natively (no Jinja engine).
 *
 * dseek recognises a model's template by its signature (tokenizer.chat_template
 * in GGUF, chat_template in tokenizer_config.json) and renders conversations
 * byte-for-byte as the Jinja template would; a host with another format passes
 * a raw prompt instead.
 */
#ifndef DS_TEXT_CHAT_H
#define DS_TEXT_CHAT_H

#include "core/buf.h"

typedef enum ds_chat_family {
  DS_CHAT_UNKNOWN = 0,
  DS_CHAT_DEEPSEEK_R1,   /* R1 and R1-Distill: earlier reasoning stripped, prompt opens <think> */
  DS_CHAT_DEEPSEEK_V3,   /* V3: systems joined by blank lines, no reasoning handling */
} ds_chat_family;

typedef struct ds_chat_template {
  ds_chat_family family;
  bool think_prefix;     /* R1: the generation prompt ends in "<think>\n" */
} ds_chat_template;

/* Recognise a Jinja template source. DSEEK_ERR_UNSUPPORTED for an unknown one
 * (the message says a raw prompt can be used instead). */
dseek_status ds_chat_detect(const char *source, size_t len, ds_chat_template *out);

/* Render n messages (roles "system", "user", "assistant", "tool") with the
 * model's BOS text. Unknown roles are DSEEK_ERR_INVALID_ARG; so is a NULL role
 * or content. The result is appended to out. */
dseek_status ds_chat_render(const ds_chat_template *tmpl, const char *bos_text,
                            const char *const *roles, const char *const *contents, int64_t n,
                            bool add_generation_prompt, ds_buf *out);

#endif
