/* text_api.c — the exported text functions: tokens, pieces, chat rendering. */
#include "core/buf.h"
#include "models/model.h"
#include "text/vocab.h"

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

dseek_status dseek_chat_render(const dseek_model *m, const char *const *roles, const char *const *contents,
                               int64_t n, int add_generation_prompt, char *text, size_t capacity, size_t *length)
{
  static const char fn[] = "dseek_chat_render";
  dseek_status st = need_vocab(m, fn);
  if (st) return st;
  if (!length || n < 0 || (n > 0 && (!roles || !contents)) || (capacity > 0 && !text))
    return ds_error(DSEEK_ERR_INVALID_ARG, "%s: need roles, contents, length and a buffer for capacity > 0", fn);
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
  st = ds_chat_render(&m->chat, bos_text, roles, contents, n, add_generation_prompt != 0, &b);
  ds_free(bos_text);
  if (!st) {
    *length = b.len;
    if (b.len + 1 > capacity) st = ds_error(DSEEK_ERR_BUFFER_TOO_SMALL, "%s: %zu bytes needed", fn, b.len + 1);
    else memcpy(text, b.data ? b.data : "", b.len + 1);
  }
  ds_buf_free(&b);
  return st;
}
