/*
 * detok.c — ids -> text, whole or streamed.
 *
 * The bytes of the pieces are decoded as UTF-8 with the "maximal subpart"
 * replacement rule (Unicode §3.9, U+FFFD substitution; what Rust's
 * String::from_utf8_lossy and so HF decode do): at an ill-formed position,
 * the longest prefix of a well-formed sequence found there (at least one
 * byte) becomes one U+FFFD and decoding resumes after it.
 *
 * Streaming holds back a tail that is still a prefix of a well-formed
 * sequence, because the next token may complete it; all other decisions only
 * depend on bytes already seen, so pushes + flush give exactly the text of
 * the whole-sequence decode.
 */
#include "text/vocab_impl.h"

#include <string.h>

static const char fffd[] = "\xEF\xBF\xBD";

/* Decode b[0..n) into out (room for 3 * n bytes). With final false, an
 * incomplete but so-far valid sequence at the end is left unconsumed.
 * Returns the bytes consumed; *o advances by the bytes written. */
static size_t lossy_utf8(const uint8_t *b, size_t n, bool final, char *out, size_t *o)
{
  size_t i = 0, w = *o;
  while (i < n) {
    uint8_t c = b[i];
    if (c < 0x80) { out[w++] = (char)c; i++; continue; }
    size_t need, k = ds_utf8_match(b + i, n - i, &need);
    if (!need) { memcpy(out + w, fffd, 3); w += 3; i++; continue; }   /* never a lead byte */
    if (k == need) { memcpy(out + w, b + i, need); w += need; i += need; continue; }
    if (i + k == n && !final) break;   /* may still be completed */
    memcpy(out + w, fffd, 3);          /* the maximal subpart b[i..i+k) */
    w += 3;
    i += k;
  }
  *o = w;
  return i;
}

dseek_status ds_detokenize(const ds_vocab *v, const int32_t *ids, int64_t n, char *text, size_t cap,
                           size_t *len)
{
  if (!v || (!ids && n) || n < 0 || !len || (!text && cap))
    return ds_error(DSEEK_ERR_INVALID_ARG, "detokenize: NULL argument or negative count");
  size_t total = 0;
  for (int64_t k = 0; k < n; k++) {
    const char *p;
    size_t l;
    dseek_status st = ds_token_piece(v, ids[k], &p, &l);
    if (st) return ds_error_prefix(st, "detokenize: token %lld", (long long)k);
    total += l;
  }
  uint8_t *bytes = ds_malloc(total + 1);
  char *out = ds_malloc(3 * total + 1);
  if (!bytes || !out) {
    ds_free(bytes);
    ds_free(out);
    return ds_error(DSEEK_ERR_NO_MEMORY, "detokenize: out of memory");
  }
  size_t o = 0;
  for (int64_t k = 0; k < n; k++) {
    const char *p;
    size_t l;
    ds_token_piece(v, ids[k], &p, &l);
    memcpy(bytes + o, p, l);
    o += l;
  }
  size_t w = 0;
  lossy_utf8(bytes, total, true, out, &w);
  dseek_status st = DSEEK_OK;
  *len = w;
  if (w > cap) {
    st = ds_error(DSEEK_ERR_BUFFER_TOO_SMALL, "detokenize: %zu bytes do not fit in %zu", w, cap);
  } else {
    if (w) memcpy(text, out, w);
    if (w < cap) text[w] = '\0';
  }
  ds_free(bytes);
  ds_free(out);
  return st;
}

void ds_detok_stream_init(ds_detok_stream *s) { memset(s, 0, sizeof *s); }

void ds_detok_stream_free(ds_detok_stream *s)
{
  if (!s) return;
  ds_free(s->buf);
  memset(s, 0, sizeof *s);
}

dseek_status ds_detok_stream_push(ds_detok_stream *s, const ds_vocab *v, int32_t id, const char **text,
                                  size_t *len)
{
  if (!s || !text || !len) return ds_error(DSEEK_ERR_INVALID_ARG, "detok stream: NULL argument");
  const char *p;
  size_t l;
  dseek_status st = ds_token_piece(v, id, &p, &l);
  if (st) return st;
  /* buf = [output: 3 * total][input: tail + piece] */
  size_t total = s->n_tail + l, need = 4 * total + 1;
  if (need > s->cap) {
    char *b = ds_realloc(s->buf, need);
    if (!b) return ds_error(DSEEK_ERR_NO_MEMORY, "detok stream: out of memory");
    s->buf = b;
    s->cap = need;
  }
  uint8_t *in = (uint8_t *)s->buf + 3 * total;
  memcpy(in, s->tail, s->n_tail);
  memcpy(in + s->n_tail, p, l);
  size_t w = 0, used = lossy_utf8(in, total, false, s->buf, &w);
  s->n_tail = total - used;   /* < 4: a proper prefix of one sequence */
  memmove(s->tail, in + used, s->n_tail);
  s->buf[w] = '\0';
  *text = s->buf;
  *len = w;
  return DSEEK_OK;
}

void ds_detok_stream_flush(ds_detok_stream *s, const char **text, size_t *len)
{
  *text = s->n_tail ? fffd : "";
  *len = s->n_tail ? 3 : 0;
  s->n_tail = 0;
}
