/*
 * vocab_gguf.c — a ds_vocab from GGUF metadata (llama.cpp's tokenizer.ggml.*),
 * read through the public dseek_gguf_* accessors.
 *
 *   tokenizer.ggml.model       "gpt2" (byte-level BPE; nothing else is supported)
 *   tokenizer.ggml.pre         pre-tokenizer name (pretok.c: ds_pretok_from_name);
 *                              absent: "default", as llama.cpp
 *   tokenizer.ggml.tokens      [string]  id -> token (byte-level form for NORMAL)
 *   tokenizer.ggml.token_type  [int]     ds_token_type per id (default NORMAL)
 *   tokenizer.ggml.merges      [string]  "left right", in rank order
 *   tokenizer.ggml.bos_token_id / eos_token_id / padding_token_id / eot_token_id
 *   tokenizer.ggml.add_bos_token (bool), tokenizer.chat_template (string)
 *
 * CONTROL and UNKNOWN tokens are special (matched only with parse_special);
 * USER_DEFINED tokens are matched in the raw text always, as llama.cpp does.
 * NFC: HF's Qwen2 tokenizers normalize with NFC and so does dseek for the
 * "qwen2" / "deepseek-r1-qwen" pre-tokenizers (llama.cpp itself skips it).
 */
#include "text/vocab_impl.h"

#include "text/pretok.h"

#include <string.h>

/* Key index of a required array of `elem_type` elements (or any integer
 * type when int_elems), with its length. */
static dseek_status array_key(const dseek_gguf *g, const char *path, const char *key, bool int_elems,
                              int elem_type, int64_t *index, int64_t *len)
{
  int64_t i = dseek_gguf_find_key(g, key);
  if (i < 0) return ds_error(DSEEK_ERR_FORMAT, "%s: key '%s' missing", path, key);
  int t = dseek_gguf_array_type(g, i);
  bool ok = int_elems ? (t >= DSEEK_GGUF_UINT8 && t <= DSEEK_GGUF_INT32) || t == DSEEK_GGUF_UINT64 || t == DSEEK_GGUF_INT64
                      : t == elem_type;
  if (!ok) return ds_error(DSEEK_ERR_FORMAT, "%s: key '%s' is not an array of %s", path, key, int_elems ? "integers" : "strings");
  *index = i;
  *len = dseek_gguf_array_length(g, i);
  return DSEEK_OK;
}

/* An optional token id key: left at -1 when absent; must be < n_tokens. */
static dseek_status token_id_key(const dseek_gguf *g, const char *path, const char *key, int64_t n_tokens,
                                 int32_t *out)
{
  int64_t i = dseek_gguf_find_key(g, key), id;
  if (i < 0) return DSEEK_OK;
  dseek_status st = dseek_gguf_get_int(g, i, &id);
  if (st) return ds_error(DSEEK_ERR_FORMAT, "%s: key '%s' is not an integer", path, key);
  if (id < 0 || id >= n_tokens)
    return ds_error(DSEEK_ERR_FORMAT, "%s: key '%s' = %lld is outside [0, %lld)", path, key, (long long)id,
                    (long long)n_tokens);
  *out = (int32_t)id;
  return DSEEK_OK;
}

static dseek_status string_key(const dseek_gguf *g, const char *path, const char *key, const char **s, size_t *len)
{
  int64_t i = dseek_gguf_find_key(g, key);
  if (i < 0) { *s = NULL; return DSEEK_OK; }
  if (dseek_gguf_get_string(g, i, s, len)) return ds_error(DSEEK_ERR_FORMAT, "%s: key '%s' is not a string", path, key);
  return DSEEK_OK;
}

static dseek_status load(const dseek_gguf *g, const char *path, ds_vocab **out)
{
  const char *s;
  size_t len;
  dseek_status st = string_key(g, path, "tokenizer.ggml.model", &s, &len);
  if (st) return st;
  if (!s) return ds_error(DSEEK_ERR_FORMAT, "%s: key 'tokenizer.ggml.model' missing (no tokenizer in this file)", path);
  if (strcmp(s, "gpt2") != 0)
    return ds_error(DSEEK_ERR_UNSUPPORTED, "%s: tokenizer model '%s' is not supported (only byte-level BPE 'gpt2')", path, s);
  ds_pretok_kind kind;
  if ((st = string_key(g, path, "tokenizer.ggml.pre", &s, &len))) return st;
  if (!s) {
    /* llama.cpp runs such a file with its "default" pre-tokenizer (and warns
     * that generation quality may suffer): so does dseek */
    ds_log(DSEEK_LOG_WARN, "%s: no tokenizer.ggml.pre: using the 'default' pre-tokenizer, as llama.cpp does", path);
    kind = DS_PRETOK_DEFAULT;
  } else if (!ds_pretok_from_name(s, &kind))
    return ds_error(DSEEK_ERR_UNSUPPORTED, "%s: pre-tokenizer '%s' is not supported", path, s);

  int64_t k_tok, n_tok, k_type = -1, n_type = 0, k_merge, n_merge;
  if ((st = array_key(g, path, "tokenizer.ggml.tokens", false, DSEEK_GGUF_STRING, &k_tok, &n_tok))) return st;
  if (dseek_gguf_find_key(g, "tokenizer.ggml.token_type") >= 0 &&
      (st = array_key(g, path, "tokenizer.ggml.token_type", true, 0, &k_type, &n_type)))
    return st;
  if (k_type >= 0 && n_type != n_tok)
    return ds_error(DSEEK_ERR_FORMAT, "%s: tokenizer.ggml.token_type has %lld entries for %lld tokens", path,
                    (long long)n_type, (long long)n_tok);
  if ((st = array_key(g, path, "tokenizer.ggml.merges", false, DSEEK_GGUF_STRING, &k_merge, &n_merge))) return st;

  ds_vocab *v;
  if ((st = ds_vocab_new(path, n_tok, &v))) return st;
  v->pretok = kind;
  v->nfc = kind == DS_PRETOK_QWEN2;
  for (int64_t id = 0; id < n_tok && !st; id++) {
    int64_t type = DS_TOKEN_NORMAL;
    if ((st = dseek_gguf_get_array_string(g, k_tok, id, &s, &len))) break;
    if (k_type >= 0 && (st = dseek_gguf_get_array_int(g, k_type, id, &type))) break;
    if (type < DS_TOKEN_NORMAL || type > DS_TOKEN_BYTE) {
      st = ds_error(DSEEK_ERR_FORMAT, "%s: tokenizer.ggml.token_type[%lld] = %lld is not a token type", path,
                    (long long)id, (long long)type);
      break;
    }
    st = ds_vocab_set_token(v, id, s, len, (ds_token_type)type, type == DS_TOKEN_CONTROL || type == DS_TOKEN_UNKNOWN);
  }
  if (!st) st = ds_vocab_index(v, n_merge);
  for (int64_t r = 0; r < n_merge && !st; r++) {
    if ((st = dseek_gguf_get_array_string(g, k_merge, r, &s, &len))) break;
    const char *sp = memchr(s, ' ', len);
    if (!sp || sp == s || sp + 1 == s + len)
      st = ds_error(DSEEK_ERR_FORMAT, "%s: tokenizer.ggml.merges[%lld] = '%.64s' is not 'left right'", path, (long long)r, s);
    else
      st = ds_vocab_add_merge(v, s, (size_t)(sp - s), sp + 1, (size_t)(s + len - sp - 1), r);
  }
  if (!st) st = token_id_key(g, path, "tokenizer.ggml.bos_token_id", n_tok, &v->bos);
  if (!st) st = token_id_key(g, path, "tokenizer.ggml.eos_token_id", n_tok, &v->eos);
  if (!st) st = token_id_key(g, path, "tokenizer.ggml.padding_token_id", n_tok, &v->pad);
  if (!st) st = token_id_key(g, path, "tokenizer.ggml.eot_token_id", n_tok, &v->eot);
  int64_t k = dseek_gguf_find_key(g, "tokenizer.ggml.add_bos_token");
  int flag = 0;
  if (!st && k >= 0) {
    if (dseek_gguf_get_bool(g, k, &flag)) st = ds_error(DSEEK_ERR_FORMAT, "%s: key 'tokenizer.ggml.add_bos_token' is not a bool", path);
    v->add_bos = flag != 0;
  }
  if (!st) st = string_key(g, path, "tokenizer.chat_template", &s, &len);
  if (!st && s && !(v->chat_template = ds_strndup(s, len))) st = ds_error(DSEEK_ERR_NO_MEMORY, "%s: out of memory", path);
  if (!st) st = ds_vocab_finish(v);
  if (st) { ds_vocab_free(v); return st; }
  *out = v;
  return DSEEK_OK;
}

dseek_status ds_vocab_load_gguf(const struct dseek_gguf *g, const char *path, ds_vocab **out)
{
  if (!g || !out) return ds_error(DSEEK_ERR_INVALID_ARG, "ds_vocab_load_gguf: NULL argument");
  return load(g, path ? path : "gguf", out);
}
