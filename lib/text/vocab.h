/*
 * vocab.h — the byte-level BPE tokenizer of the DeepSeek-V3/R1 family and its
 * relatives (Qwen2 / R1-Distill-Qwen, Llama-3 / R1-Distill-Llama, DeepSeek-LLM,
 * DeepSeek-Coder): the vocabulary, text -> ids and ids -> text.
 *
 * Encoding pipeline (HF `tokenizers` order; lib/text/README.md §1-5):
 *   1. added-token split: leftmost-longest match of added-token contents in the
 *      raw text; a match is its id. parse_special on: every added token;
 *      off: only non-special ones (HF split_special_tokens; for GGUF vocabs the
 *      USER_DEFINED tokens, as llama.cpp does);
 *   2. NFC of each stretch between added tokens (Qwen2 tokenizers only);
 *   3. pre-tokenizer: a sequence of regex Splits (Isolated), hand-written in
 *      pretok.c;
 *   4. byte-level map + BPE by merge rank (lowest rank first, leftmost on ties).
 *
 * A ds_vocab is immutable after loading and may be shared by threads.
 */
#ifndef DS_TEXT_VOCAB_H
#define DS_TEXT_VOCAB_H

#include "core/ds.h"

/* Token types, numbered as GGUF's tokenizer.ggml.token_type. */
typedef enum ds_token_type {
  DS_TOKEN_UNDEFINED = 0,     /* an id with no token (a hole in the id range) */
  DS_TOKEN_NORMAL = 1,        /* byte-level BPE piece */
  DS_TOKEN_UNKNOWN = 2,
  DS_TOKEN_CONTROL = 3,       /* special added token (BOS, EOS, placeholders, ...) */
  DS_TOKEN_USER_DEFINED = 4,  /* non-special added token, matched in the raw text */
  DS_TOKEN_UNUSED = 5,
  DS_TOKEN_BYTE = 6
} ds_token_type;

/* Pre-tokenizers (regex sequences), by their llama.cpp names. */
typedef enum ds_pretok_kind {
  DS_PRETOK_DEEPSEEK_V3 = 0,  /* "deepseek-v3": \p{N}{1,3}, CJK/kana runs, main regex */
  DS_PRETOK_QWEN2,            /* "qwen2", "deepseek-r1-qwen" */
  DS_PRETOK_LLAMA3,           /* "llama-bpe" (Qwen2's regex with \p{N}{1,3}) */
  DS_PRETOK_DEEPSEEK_LLM,     /* "deepseek-llm" */
  DS_PRETOK_DEEPSEEK_CODER,   /* "deepseek-coder" */
  DS_PRETOK_DEFAULT,          /* "default" (and a GGUF without the key): llama.cpp's fallback */
  DS_PRETOK_GPT2              /* "gpt-2" (also "gpt2"): the GPT-2 regex alone */
} ds_pretok_kind;

typedef struct ds_vocab ds_vocab;

/* ---- loading ---------------------------------------------------------------- */

/* From a Hugging Face tokenizer: `dir_or_file` is a directory holding
 * tokenizer.json (and optionally tokenizer_config.json), or the path of a
 * tokenizer.json (its sibling tokenizer_config.json is read if present).
 * tokenizer_config.json supplies bos/eos/pad tokens, add_bos_token and
 * chat_template. Errors: DSEEK_ERR_IO, DSEEK_ERR_FORMAT (file and field
 * named), DSEEK_ERR_UNSUPPORTED (a model type, normalizer or pre-tokenizer
 * this tokenizer cannot reproduce, named), DSEEK_ERR_NO_MEMORY. */
dseek_status ds_vocab_load_hf(const char *dir_or_file, ds_vocab **out);

struct dseek_gguf;
/* From GGUF metadata tokenizer.ggml.* (model "gpt2"). `path` prefixes messages. */
dseek_status ds_vocab_load_gguf(const struct dseek_gguf *g, const char *path, ds_vocab **out);

void ds_vocab_free(ds_vocab *v);

/* ---- facts ------------------------------------------------------------------ */

int64_t ds_vocab_n_tokens(const ds_vocab *v);          /* highest id + 1 */
int64_t ds_vocab_n_merges_skipped(const ds_vocab *v);  /* merges that can never apply */
int32_t ds_vocab_bos(const ds_vocab *v);               /* -1 if none */
int32_t ds_vocab_eos(const ds_vocab *v);
int32_t ds_vocab_pad(const ds_vocab *v);
bool ds_vocab_add_bos(const ds_vocab *v);              /* BOS prepended by default */
ds_pretok_kind ds_vocab_pretok(const ds_vocab *v);
bool ds_vocab_nfc(const ds_vocab *v);                  /* NFC before pre-tokenizing */
ds_token_type ds_vocab_token_type(const ds_vocab *v, int32_t id);   /* UNDEFINED if out of range */
bool ds_vocab_token_special(const ds_vocab *v, int32_t id);        /* skipped when parse_special is off */
/* The token's string as stored in the vocabulary (byte-level form for
 * NORMAL tokens, e.g. "Ġworld"); NULL if out of range. */
const char *ds_vocab_token_text(const ds_vocab *v, int32_t id, size_t *len);
/* Id of a vocabulary string (byte-level form), or -1. */
int32_t ds_vocab_find(const ds_vocab *v, const char *text, size_t len);
/* True for tokens that end generation: EOS, EOT and the family's end markers. */
bool ds_vocab_is_eog(const ds_vocab *v, int32_t id);
/* tokenizer_config.json "chat_template" or GGUF tokenizer.chat_template; NULL if none. */
const char *ds_vocab_chat_template(const ds_vocab *v);

/* ---- encoding --------------------------------------------------------------- */

/* Tokenize text[0..len) (UTF-8). add_bos: prepend BOS if the vocabulary asks
 * for it (ds_vocab_add_bos). parse_special: see the pipeline above. Writes
 * the ids to ids[0..cap) and their count to *n_out; when cap is too small
 * nothing is written to ids, *n_out holds the count needed and the result is
 * DSEEK_ERR_BUFFER_TOO_SMALL (so ids may be NULL with cap 0).
 * Errors: DSEEK_ERR_INVALID_ARG (NULL, invalid UTF-8 with its byte offset),
 * DSEEK_ERR_NO_MEMORY. */
dseek_status ds_tokenize(const ds_vocab *v, const char *text, size_t len, bool add_bos,
                         bool parse_special, int32_t *ids, int64_t cap, int64_t *n_out);

/* ---- decoding --------------------------------------------------------------- */

/* The bytes token `id` decodes to: byte-level pieces unmapped to raw bytes
 * (possibly a partial UTF-8 sequence), added/control tokens as their content.
 * Errors: DSEEK_ERR_INVALID_ARG (NULL, id out of range or a hole). */
dseek_status ds_token_piece(const ds_vocab *v, int32_t id, const char **piece, size_t *len);

/* The text of n tokens: their pieces concatenated and decoded as UTF-8, each
 * maximal ill-formed subsequence replaced by U+FFFD (as Rust's
 * String::from_utf8_lossy, i.e. HF decode). NUL-terminated when capacity
 * allows (not counted). *len always receives the size needed.
 * Errors: DSEEK_ERR_INVALID_ARG, DSEEK_ERR_BUFFER_TOO_SMALL, DSEEK_ERR_NO_MEMORY. */
dseek_status ds_detokenize(const ds_vocab *v, const int32_t *ids, int64_t n, char *text,
                           size_t cap, size_t *len);

/* Streaming detokenizer: push tokens one at a time and get the text they
 * complete. Only whole UTF-8 sequences are emitted; an incomplete tail (at
 * most 3 bytes that can still become a valid sequence) is held back across
 * pushes. Bytes that can no longer form a valid sequence become U+FFFD as
 * soon as that is certain; ds_detok_stream_flush turns a held tail into
 * U+FFFD. The concatenated output of all pushes and the flush equals
 * ds_detokenize of the same ids. */
typedef struct ds_detok_stream {
  uint8_t tail[4];      /* held bytes of an incomplete sequence */
  size_t n_tail;
  char *buf;            /* output of the last call */
  size_t cap;
} ds_detok_stream;

void ds_detok_stream_init(ds_detok_stream *s);
/* *text (valid until the next call on s) receives the newly completed text,
 * possibly empty. Errors: DSEEK_ERR_INVALID_ARG (bad id), DSEEK_ERR_NO_MEMORY. */
dseek_status ds_detok_stream_push(ds_detok_stream *s, const ds_vocab *v, int32_t id,
                                  const char **text, size_t *len);
/* Emit what is held (as U+FFFD) and reset the stream for reuse. */
void ds_detok_stream_flush(ds_detok_stream *s, const char **text, size_t *len);
void ds_detok_stream_free(ds_detok_stream *s);

#endif
