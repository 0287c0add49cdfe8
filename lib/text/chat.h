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
  DS_CHAT_DEEPSEEK_R1_0528,   /* R1-0528 (and its Qwen3-8B distill): systems joined, user turns open
                                 the assistant turn, tool calls after the content, no forced <think> */
  DS_CHAT_DEEPSEEK_V3_0324,   /* V3-0324: R1-0528's turns with assistant messages kept whole */
} ds_chat_family;

typedef struct ds_chat_template {
  ds_chat_family family;
  bool think_prefix;     /* R1: the generation prompt ends in "<think>\n" */
  bool tool_calls;       /* the template renders assistant tool calls (<｜tool▁calls▁begin｜>) */
} ds_chat_template;

/* Recognise a Jinja template source. DSEEK_ERR_UNSUPPORTED for an unknown one
 * (the message says a raw prompt can be used instead). */
dseek_status ds_chat_detect(const char *source, size_t len, ds_chat_template *out);

/* One call of an assistant message's tool-call block (OpenAI's
 * tool_calls[i]): type (NULL: "function"), the function's name and its
 * arguments as JSON text. */
typedef struct ds_chat_call {
  const char *type, *name, *arguments;
} ds_chat_call;

/* A message: content NULL is Jinja's `none` (an assistant message that only
 * calls tools). */
typedef struct ds_chat_msg {
  const char *role, *content;
  const ds_chat_call *calls;
  int64_t n_calls;
} ds_chat_msg;

/* Render n messages with their tool calls as the templates do (see chat.c). */
dseek_status ds_chat_render_msgs(const ds_chat_template *tmpl, const char *bos_text, const ds_chat_msg *msgs,
                                 int64_t n, bool add_generation_prompt, ds_buf *out);

/* Render n messages (roles "system", "user", "assistant", "tool") with the
 * model's BOS text. Unknown roles are DSEEK_ERR_INVALID_ARG; so is a NULL role
 * or content. The result is appended to out. */
dseek_status ds_chat_render(const ds_chat_template *tmpl, const char *bos_text,
                            const char *const *roles, const char *const *contents, int64_t n,
                            bool add_generation_prompt, ds_buf *out);

/* The tool calls in a generated answer: the block
 *   <｜tool▁calls▁begin｜><｜tool▁call▁begin｜>TYPE<｜tool▁sep｜>NAME\n```json\nARGS\n```<｜tool▁call▁end｜>...
 * (chat.c). *content_len is where the block starts (len without one). Each
 * call fills spans[4 i ..]: name offset, name length, arguments offset,
 * arguments length (byte offsets into text). *n_calls is always the count;
 * more than capacity is DSEEK_ERR_BUFFER_TOO_SMALL, a block that is not in
 * that form DSEEK_ERR_FORMAT (the message says where). */
dseek_status ds_chat_parse_tool_calls(const char *text, size_t len, size_t *content_len, int64_t *spans,
                                      int64_t capacity, int64_t *n_calls);

#endif
