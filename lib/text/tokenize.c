/*
 * tokenize.c — text -> ids: the added-token split (leftmost-longest over a
 * byte trie), then for each stretch between added tokens NFC (if the
 * vocabulary has it), pre-tokenization (pretok.c) and BPE per piece (bpe.c).
 */
#include "text/vocab_impl.h"

#include "text/pretok.h"
#include "text/unicode.h"

#include <string.h>

/* Length of the longest added token at s[0..n) that parse_special allows, or 0. */
static size_t match_added(const ds_vocab *v, const uint8_t *s, size_t n, bool parse_special, int32_t *id)
{
  size_t best = 0;
  int32_t node = v->trie_root[s[0]];
  for (size_t k = 0; node >= 0;) {
    const ds_trie_node *t = &v->trie[node];
    if (t->id >= 0 && (parse_special || !v->tokens[t->id].special)) { best = k + 1; *id = t->id; }
    if (++k >= n) break;
    for (node = t->child; node >= 0 && v->trie[node].byte != s[k]; node = v->trie[node].sibling) {}
  }
  return best;
}

typedef struct encoder {
  const ds_vocab *v;
  ds_id_list out;
  ds_bpe_scratch bpe;
  uint32_t *cps;        /* code points of the current stretch ... */
  uint8_t *flags;       /* ... their class flags ... */
  size_t *offs;         /* ... byte offset of each (and of the end) */
  bool *cut;            /* piece boundaries */
  size_t cap;
} encoder;

static dseek_status encode_stretch(encoder *e, const char *text, size_t len)
{
  if (len == 0) return DSEEK_OK;
  char *normalized = NULL;
  if (e->v->nfc && !ds_nfc_quick_yes(text, len)) {
    dseek_status st = ds_nfc(text, len, &normalized, &len);
    if (st) return st;
    text = normalized;
  }
  dseek_status st = DSEEK_OK;
  if (len + 1 > e->cap) {
    size_t cap = len + 1 > 2 * e->cap ? len + 1 : 2 * e->cap;
    ds_free(e->cps); ds_free(e->flags); ds_free(e->offs); ds_free(e->cut);
    e->cps = ds_malloc(cap * sizeof *e->cps);
    e->flags = ds_malloc(cap);
    e->offs = ds_malloc(cap * sizeof *e->offs);
    e->cut = ds_malloc(cap * sizeof *e->cut);
    e->cap = cap;
    if (!e->cps || !e->flags || !e->offs || !e->cut) {
      e->cap = 0;
      st = ds_error(DSEEK_ERR_NO_MEMORY, "tokenize: out of memory for %zu bytes", len);
      goto done;
    }
  }
  size_t n = 0;
  for (size_t i = 0; i < len; n++) {
    size_t l;
    e->offs[n] = i;
    e->cps[n] = ds_utf8_decode((const uint8_t *)text + i, &l);
    e->flags[n] = (uint8_t)ds_uc_flags(e->cps[n]);
    i += l;
  }
  e->offs[n] = len;
  memset(e->cut, 0, (n + 1) * sizeof *e->cut);
  ds_pretok_split(e->v->pretok, e->cps, e->flags, n, e->cut);
  for (size_t a = 0; a < n && !st;) {
    size_t b = a + 1;
    while (!e->cut[b]) b++;
    st = ds_bpe_piece(e->v, (const uint8_t *)text + e->offs[a], e->offs[b] - e->offs[a], &e->bpe, &e->out);
    a = b;
  }
done:
  ds_free(normalized);
  return st;
}

dseek_status ds_tokenize(const ds_vocab *v, const char *text, size_t len, bool add_bos,
                         bool parse_special, int32_t *ids, int64_t cap, int64_t *n_out)
{
  if (!v || (!text && len) || !n_out || cap < 0 || (cap > 0 && !ids))
    return ds_error(DSEEK_ERR_INVALID_ARG, "tokenize: need a vocabulary, text, n_out and ids for cap > 0");
  size_t bad = ds_utf8_valid_len(text, len);
  if (bad < len)
    return ds_error(DSEEK_ERR_INVALID_ARG, "tokenize: text is not valid UTF-8 at byte offset %zu (byte 0x%02x)",
                    bad, (uint8_t)text[bad]);
  encoder e = {.v = v};
  dseek_status st = DSEEK_OK;
  if (add_bos && ds_vocab_add_bos(v)) st = ds_id_list_push(&e.out, v->bos);
  size_t start = 0;
  for (size_t i = 0; i < len && !st && v->has_added;) {
    int32_t id = -1;
    size_t m = match_added(v, (const uint8_t *)text + i, len - i, parse_special, &id);
    if (!m) { i++; continue; }
    st = encode_stretch(&e, text + start, i - start);
    if (!st) st = ds_id_list_push(&e.out, id);
    i += m;
    start = i;
  }
  if (!st) st = encode_stretch(&e, text + start, len - start);
  if (!st) {
    *n_out = e.out.n;
    if (e.out.n > cap)
      st = ds_error(DSEEK_ERR_BUFFER_TOO_SMALL, "tokenize: %lld tokens do not fit in %lld", (long long)e.out.n,
                    (long long)cap);
    else if (e.out.n)
      memcpy(ids, e.out.ids, (size_t)e.out.n * sizeof *ids);
  }
  ds_free(e.out.ids);
  ds_bpe_scratch_free(&e.bpe);
  ds_free(e.cps); ds_free(e.flags); ds_free(e.offs); ds_free(e.cut);
  return st;
}
