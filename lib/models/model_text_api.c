/* model_text_api.c — the exported text functions of a model: tokens, pieces, chat rendering. */
#include "core/buf.h"
#include "models/model.h"
#include "text/vocab.h"

#include <stdint.h>
#include <string.h>

static dseek_status need_vocab(const dseek_model *m, const char *fn)
{
  if (!m) return ds_error(DSEEK_ERR_INVALID_ARG, "%s: model is NULL", fn);
  if (!m->vocab && m->vocab_error)
    return ds_error(DSEEK_ERR_UNSUPPORTED, "%s: the model's tokenizer is not usable: %s", fn, m->vocab_error);
  if (!m->vocab)
    return ds_error(DSEEK_ERR_UNSUPPORTED, "%s: model has no tokenizer (%s holds no tokenizer files)", fn, m->path);
  return DSEEK_OK;
}

int dseek_model_has_vocab(const dseek_model *m) { return m && m->vocab; }
int32_t dseek_token_bos(const dseek_model *m) { return m && m->vocab ? ds_vocab_bos(m->vocab) : -1; }
int32_t dseek_token_eos(const dseek_model *m) { return m && m->vocab ? ds_vocab_eos(m->vocab) : -1; }
int dseek_token_is_eog(const dseek_model *m, int32_t t) { return m && m->vocab && ds_vocab_is_eog(m->vocab, t); }

dseek_status dseek_tokenize(const dseek_model *m, const char *text, size_t len, int add_special,
                            int parse_special, int32_t *tokens, int64_t capacity, int64_t *n_tokens)
{
  static const char fn[] = "dseek_tokenize";
  dseek_status st = need_vocab(m, fn);
  if (st) return st;
  if ((!text && len) || !n_tokens || capacity < 0 || (capacity > 0 && !tokens))
    return ds_error(DSEEK_ERR_INVALID_ARG, "%s: need text, n_tokens and a buffer for capacity > 0", fn);
  return ds_tokenize(m->vocab, text ? text : "", len, add_special != 0, parse_special != 0, tokens, capacity, n_tokens);
}

dseek_status dseek_detokenize(const dseek_model *m, const int32_t *tokens, int64_t n, char *text,
                              size_t capacity, size_t *length)
{
  static const char fn[] = "dseek_detokenize";
  dseek_status st = need_vocab(m, fn);
  if (st) return st;
  if ((!tokens && n) || n < 0 || !length || (capacity > 0 && !text))
    return ds_error(DSEEK_ERR_INVALID_ARG, "%s: need tokens, length and a buffer for capacity > 0", fn);
  return ds_detokenize(m->vocab, tokens, n, text, capacity, length);
}

dseek_status dseek_token_piece(const dseek_model *m, int32_t token, const char **piece, size_t *length)
{
  dseek_status st = need_vocab(m, "dseek_token_piece");
  if (st) return st;
  if (!piece || !length) return ds_error(DSEEK_ERR_INVALID_ARG, "dseek_token_piece: piece and length must not be NULL");
  return ds_token_piece(m->vocab, token, piece, length);
}

/* Render msgs with the model's template and copy the text out (the buffer rule
 * of the text functions). */
static dseek_status render_out(const dseek_model *m, const char *fn, const ds_chat_msg *msgs, int64_t n,
                               int add_generation_prompt, char *text, size_t capacity, size_t *length)
{
  if (!m->has_chat)
    return ds_error(DSEEK_ERR_UNSUPPORTED, "%s: %s has no recognised chat template (DeepSeek R1 / V3 families); "
                    "pass a raw prompt instead", fn, m->path);
  const char *bos = "";
  size_t bos_len = 0;
  int32_t bos_id = ds_vocab_bos(m->vocab);
  if (bos_id >= 0 && ds_token_piece(m->vocab, bos_id, &bos, &bos_len)) return DSEEK_ERR_INTERNAL;
  char *bos_text = ds_strndup(bos, bos_len);
  if (!bos_text) return ds_error(DSEEK_ERR_NO_MEMORY, "%s: out of memory", fn);
  ds_buf b = {0};
  dseek_status st = ds_chat_render_msgs(&m->chat, bos_text, msgs, n, add_generation_prompt != 0, &b);
  ds_free(bos_text);
  if (!st) {
    *length = b.len;
    if (b.len + 1 > capacity) st = ds_error(DSEEK_ERR_BUFFER_TOO_SMALL, "%s: %zu bytes needed", fn, b.len + 1);
    else memcpy(text, b.data ? b.data : "", b.len + 1);
  }
  ds_buf_free(&b);
  return st;
}

dseek_status dseek_chat_render(const dseek_model *m, const char *const *roles, const char *const *contents,
                               int64_t n, int add_generation_prompt, char *text, size_t capacity, size_t *length)
{
  static const char fn[] = "dseek_chat_render";
  dseek_status st = need_vocab(m, fn);
  if (st) return st;
  if (!length || n < 0 || (n > 0 && (!roles || !contents)) || (capacity > 0 && !text))
    return ds_error(DSEEK_ERR_INVALID_ARG, "%s: need roles, contents, length and a buffer for capacity > 0", fn);
  for (int64_t i = 0; i < n; i++)
    if (!roles[i] || !contents[i])
      return ds_error(DSEEK_ERR_INVALID_ARG, "%s: message %lld has a NULL role or content", fn, (long long)i);
  ds_chat_msg *msgs = ds_calloc(n > 0 ? (size_t)n : 1, sizeof *msgs);
  if (!msgs) return ds_error(DSEEK_ERR_NO_MEMORY, "%s: out of memory", fn);
  for (int64_t i = 0; i < n; i++) msgs[i] = (ds_chat_msg){roles[i], contents[i], NULL, 0};
  st = render_out(m, fn, msgs, n, add_generation_prompt, text, capacity, length);
  ds_free(msgs);
  return st;
}

int dseek_model_has_tool_calls(const dseek_model *m)
{
  if (!m || !m->vocab || !m->has_chat || !m->chat.tool_calls) return 0;
  /* The block's markers must be single tokens of the vocabulary. */
  static const char *const marks[] = {
    "<\xEF\xBD\x9Ctool\xE2\x96\x81" "calls\xE2\x96\x81" "begin\xEF\xBD\x9C>",
    "<\xEF\xBD\x9Ctool\xE2\x96\x81" "call\xE2\x96\x81" "begin\xEF\xBD\x9C>",
    "<\xEF\xBD\x9Ctool\xE2\x96\x81sep\xEF\xBD\x9C>",
    "<\xEF\xBD\x9Ctool\xE2\x96\x81" "call\xE2\x96\x81" "end\xEF\xBD\x9C>",
    "<\xEF\xBD\x9Ctool\xE2\x96\x81" "calls\xE2\x96\x81" "end\xEF\xBD\x9C>",
  };
  for (size_t i = 0; i < sizeof marks / sizeof *marks; i++) {
    int32_t tok[4];
    int64_t n = 0;
    if (ds_tokenize(m->vocab, marks[i], strlen(marks[i]), false, true, tok, 4, &n) != DSEEK_OK || n != 1) return 0;
  }
  return 1;
}

dseek_status dseek_chat_render_messages(const dseek_model *m, const dseek_chat_message *const *messages,
                                        int64_t n, int add_generation_prompt, char *text, size_t capacity,
                                        size_t *length)
{
  static const char fn[] = "dseek_chat_render_messages";
  dseek_status st = need_vocab(m, fn);
  if (st) return st;
  if (!length || n < 0 || (n > 0 && !messages) || (capacity > 0 && !text))
    return ds_error(DSEEK_ERR_INVALID_ARG, "%s: need messages, length and a buffer for capacity > 0", fn);
  int64_t n_calls = 0;
  for (int64_t i = 0; i < n; i++) {
    const dseek_chat_message *msg = messages[i];
    if (!msg || msg->struct_size < sizeof(dseek_chat_message))
      return ds_error(DSEEK_ERR_INVALID_ARG, "%s: message %lld is NULL or has a bad struct_size", fn, (long long)i);
    int64_t k = msg->n_tool_calls;
    if (k < 0 || (k > 0 && !msg->tool_calls))
      return ds_error(DSEEK_ERR_INVALID_ARG, "%s: message %lld has bad tool_calls", fn, (long long)i);
    if (k > INT64_MAX / 2 - n_calls) return ds_error(DSEEK_ERR_INVALID_ARG, "%s: too many tool calls", fn);
    n_calls += k;
  }
  if (n_calls > 0 && !m->chat.tool_calls)
    return ds_error(DSEEK_ERR_UNSUPPORTED, "%s: %s's chat template has no tool calls", fn, m->path);
  ds_chat_msg *msgs = ds_calloc(n > 0 ? (size_t)n : 1, sizeof *msgs);
  ds_chat_call *calls = ds_calloc(n_calls > 0 ? (size_t)n_calls : 1, sizeof *calls);
  if (!msgs || !calls) {
    ds_free(msgs);
    ds_free(calls);
    return ds_error(DSEEK_ERR_NO_MEMORY, "%s: out of memory", fn);
  }
  int64_t used = 0;
  for (int64_t i = 0; i < n && !st; i++) {
    const dseek_chat_message *msg = messages[i];
    int64_t k = msg->n_tool_calls;
    msgs[i] = (ds_chat_msg){msg->role, msg->content, calls + used, k};
    for (int64_t j = 0; j < k; j++) {
      const dseek_tool_call *c = msg->tool_calls[j];
      if (!c || c->struct_size < sizeof(dseek_tool_call)) {
        st = ds_error(DSEEK_ERR_INVALID_ARG, "%s: message %lld, tool call %lld is NULL or has a bad struct_size", fn,
                      (long long)i, (long long)j);
        break;
      }
      calls[used + j] = (ds_chat_call){c->type, c->name, c->arguments};
    }
    used += k;
  }
  if (!st) st = render_out(m, fn, msgs, n, add_generation_prompt, text, capacity, length);
  ds_free(msgs);
  ds_free(calls);
  return st;
}

dseek_status dseek_parse_tool_calls(const char *text, size_t len, size_t *content_length, int64_t *spans,
                                    int64_t capacity, int64_t *n_calls)
{
  if ((!text && len) || !content_length || !n_calls || capacity < 0 || (capacity > 0 && !spans))
    return ds_error(DSEEK_ERR_INVALID_ARG,
                    "dseek_parse_tool_calls: need text, content_length, n_calls and spans for capacity > 0");
  return ds_chat_parse_tool_calls(text, len, content_length, spans, capacity, n_calls);
}
