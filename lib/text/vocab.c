/*
 * vocab.c — building a ds_vocab (token table, string and merge hash maps,
 * byte-level alphabet, added-token trie, decoded pieces) and its simple facts.
 * The file formats are read by vocab_hf.c and vocab_gguf.c.
 */
#include "text/vocab_impl.h"

#include "text/unicode.h"

#include <string.h>

static uint64_t str_hash(const char *s, size_t n)
{
  uint64_t h = 1469598103934665603ull;   /* FNV-1a */
  for (size_t k = 0; k < n; k++) { h ^= (uint8_t)s[k]; h *= 1099511628211ull; }
  return h;
}

static uint64_t pow2_at_least(uint64_t n)
{
  uint64_t c = 16;
  while (c < n) c *= 2;
  return c;
}

dseek_status ds_vocab_new(const char *source, int64_t n_tokens, ds_vocab **out)
{
  if (n_tokens < 1 || n_tokens > INT32_MAX / 2)
    return ds_error(DSEEK_ERR_FORMAT, "%s: vocabulary size %lld out of range [1, %d]", source,
                    (long long)n_tokens, INT32_MAX / 2);
  ds_vocab *v = ds_calloc(1, sizeof *v);
  if (!v) return ds_error(DSEEK_ERR_NO_MEMORY, "%s: out of memory", source);
  v->source = ds_strndup(source, strlen(source));
  v->tokens = ds_calloc((size_t)n_tokens, sizeof *v->tokens);
  if (!v->source || !v->tokens) {
    ds_vocab_free(v);
    return ds_error(DSEEK_ERR_NO_MEMORY, "%s: out of memory for %lld tokens", source, (long long)n_tokens);
  }
  v->n_tokens = n_tokens;
  v->bos = v->eos = v->pad = v->eot = -1;
  *out = v;
  return DSEEK_OK;
}

void ds_vocab_free(ds_vocab *v)
{
  if (!v) return;
  ds_free(v->source);
  ds_free(v->tokens);
  ds_free(v->text_arena);
  ds_free(v->piece_arena);
  ds_free(v->tok_slots);
  ds_free(v->merges);
  ds_free(v->trie);
  ds_free(v->chat_template);
  ds_free(v);
}

dseek_status ds_vocab_set_token(ds_vocab *v, int64_t id, const char *text, size_t len,
                                ds_token_type type, bool special)
{
  if (id < 0 || id >= v->n_tokens)
    return ds_error(DSEEK_ERR_FORMAT, "%s: token id %lld outside [0, %lld)", v->source, (long long)id,
                    (long long)v->n_tokens);
  if (len > UINT32_MAX / 4 || v->text_len > UINT32_MAX - len - 1)
    return ds_error(DSEEK_ERR_FORMAT, "%s: token %lld: vocabulary text too large", v->source, (long long)id);
  if (v->text_cap - v->text_len < len + 1) {
    size_t cap = v->text_cap ? v->text_cap : 1 << 20;
    while (cap - v->text_len < len + 1) cap *= 2;
    char *t = ds_realloc(v->text_arena, cap);
    if (!t) return ds_error(DSEEK_ERR_NO_MEMORY, "%s: out of memory", v->source);
    v->text_arena = t;
    v->text_cap = cap;
  }
  ds_vocab_token *t = &v->tokens[id];
  t->text_off = (uint32_t)v->text_len;
  t->text_len = (uint32_t)len;
  t->type = (uint8_t)type;
  t->special = special;
  t->added = type == DS_TOKEN_CONTROL || type == DS_TOKEN_USER_DEFINED || type == DS_TOKEN_UNKNOWN;
  memcpy(v->text_arena + v->text_len, text, len);
  v->text_arena[v->text_len + len] = '\0';
  v->text_len += len + 1;
  return DSEEK_OK;
}

int32_t ds_vocab_find(const ds_vocab *v, const char *text, size_t len)
{
  if (!v || !v->tok_slots) return -1;
  for (uint64_t i = str_hash(text, len) & v->tok_mask;; i = (i + 1) & v->tok_mask) {
    int32_t s = v->tok_slots[i];
    if (!s) return -1;
    const ds_vocab_token *t = &v->tokens[s - 1];
    if (t->text_len == len && memcmp(v->text_arena + t->text_off, text, len) == 0) return s - 1;
  }
}

/* Insert the content of added token `id` into the trie. */
static dseek_status trie_insert(ds_vocab *v, int32_t id)
{
  const ds_vocab_token *t = &v->tokens[id];
  const uint8_t *s = (const uint8_t *)v->text_arena + t->text_off;
  /* empty or ill-formed contents are never matched: a match must leave the
   * text around it well-formed UTF-8 */
  if (t->text_len == 0 || !ds_utf8_valid((const char *)s, t->text_len)) return DSEEK_OK;
  int32_t *link = &v->trie_root[s[0]];
  int32_t node = -1;
  for (uint32_t k = 0; k < t->text_len; k++) {
    if (k > 0) link = &v->trie[node].child;
    int32_t c = *link;
    while (c >= 0 && v->trie[c].byte != s[k]) c = v->trie[c].sibling;
    if (c < 0) {
      if (v->n_trie == v->cap_trie) {
        int64_t cap = v->cap_trie ? v->cap_trie * 2 : 1024;
        ds_trie_node *nt = ds_realloc(v->trie, (size_t)cap * sizeof *nt);
        if (!nt) return ds_error(DSEEK_ERR_NO_MEMORY, "%s: out of memory", v->source);
        v->trie = nt;
        v->cap_trie = cap;
        if (k > 0) link = &v->trie[node].child;   /* the array moved */
      }
      c = (int32_t)v->n_trie++;
      v->trie[c] = (ds_trie_node){.child = -1, .sibling = *link, .id = -1, .byte = s[k]};
      *link = c;
    }
    node = c;
  }
  if (v->trie[node].id < 0) v->trie[node].id = id;   /* duplicate content: lowest id */
  v->has_added = true;
  return DSEEK_OK;
}

dseek_status ds_vocab_index(ds_vocab *v, int64_t n_merges_max)
{
  /* string -> id (the lowest id wins for duplicate strings) */
  uint64_t cap = pow2_at_least((uint64_t)v->n_tokens * 2);
  v->tok_slots = ds_calloc(cap, sizeof *v->tok_slots);
  if (!v->tok_slots) return ds_error(DSEEK_ERR_NO_MEMORY, "%s: out of memory", v->source);
  v->tok_mask = cap - 1;
  for (int64_t id = 0; id < v->n_tokens; id++) {
    const ds_vocab_token *t = &v->tokens[id];
    if (t->type == DS_TOKEN_UNDEFINED) continue;
    const char *s = v->text_arena + t->text_off;
    uint64_t i = str_hash(s, t->text_len) & v->tok_mask;
    for (;; i = (i + 1) & v->tok_mask) {
      int32_t o = v->tok_slots[i];
      if (!o) { v->tok_slots[i] = (int32_t)id + 1; break; }
      const ds_vocab_token *ot = &v->tokens[o - 1];
      if (ot->text_len == t->text_len && memcmp(v->text_arena + ot->text_off, s, t->text_len) == 0) break;
    }
  }
  /* byte-level alphabet and the token of each byte */
  for (int c = 0; c <= DS_BYTE_LEVEL_MAX_CP; c++) v->cp_to_byte[c] = -1;
  int next = 256;
  for (int b = 0; b < 256; b++) {
    bool self = (b >= 0x21 && b <= 0x7E) || (b >= 0xA1 && b <= 0xAC) || b >= 0xAE;
    int cp = self ? b : next++;
    v->byte_to_cp[b] = (uint16_t)cp;
    v->cp_to_byte[cp] = (int16_t)b;
    char u[4];
    size_t n = ds_utf8_encode((uint32_t)cp, u);
    v->byte_token[b] = ds_vocab_find(v, u, n);
  }
  /* merges table, filled by ds_vocab_add_merge */
  if (n_merges_max < 0 || n_merges_max > INT32_MAX)
    return ds_error(DSEEK_ERR_FORMAT, "%s: %lld merges out of range", v->source, (long long)n_merges_max);
  cap = pow2_at_least((uint64_t)n_merges_max * 2 + 2);
  v->merges = ds_malloc(cap * sizeof *v->merges);
  if (!v->merges) return ds_error(DSEEK_ERR_NO_MEMORY, "%s: out of memory", v->source);
  for (uint64_t i = 0; i < cap; i++) v->merges[i].key = UINT64_MAX;
  v->merge_mask = cap - 1;
  /* added-token trie */
  for (int c = 0; c < 256; c++) v->trie_root[c] = -1;
  for (int64_t id = 0; id < v->n_tokens; id++) {
    if (!v->tokens[id].added) continue;
    dseek_status st = trie_insert(v, (int32_t)id);
    if (st) return st;
  }
  return DSEEK_OK;
}

dseek_status ds_vocab_add_merge(ds_vocab *v, const char *left, size_t left_len, const char *right,
                                size_t right_len, int64_t rank)
{
  /* Every symbol BPE works on is a token (ds_vocab_merge), so a merge whose
   * left, right or result is not in the vocabulary can never apply: it is
   * skipped (and counted), as llama.cpp loads such files too. */
  int32_t a = ds_vocab_find(v, left, left_len), b = ds_vocab_find(v, right, right_len);
  if (a < 0 || b < 0) {
    v->n_merges_skipped++;
    return DSEEK_OK;
  }
  char small[256];
  size_t n = left_len + right_len;
  char *joined = n <= sizeof small ? small : ds_malloc(n);
  if (!joined) return ds_error(DSEEK_ERR_NO_MEMORY, "%s: out of memory", v->source);
  memcpy(joined, left, left_len);
  memcpy(joined + left_len, right, right_len);
  int32_t r = ds_vocab_find(v, joined, n);
  if (joined != small) ds_free(joined);
  if (r < 0) {
    v->n_merges_skipped++;
    return DSEEK_OK;
  }
  if ((uint64_t)v->n_merges * 2 + 2 > v->merge_mask + 1 || rank > INT32_MAX)
    return ds_error(DSEEK_ERR_INTERNAL, "%s: more merges than announced", v->source);
  uint64_t key = (uint64_t)(uint32_t)a << 32 | (uint32_t)b;
  uint64_t h = key * 0x9E3779B97F4A7C15ull;
  for (uint64_t i = (h >> 20) & v->merge_mask;; i = (i + 1) & v->merge_mask) {
    ds_merge_slot *s = &v->merges[i];
    if (s->key == key) return DSEEK_OK;   /* a repeated pair keeps its first (lowest) rank */
    if (s->key == UINT64_MAX) {
      *s = (ds_merge_slot){.key = key, .rank = (int32_t)rank, .result = r};
      v->n_merges++;
      return DSEEK_OK;
    }
  }
}

/* Decoded bytes of every token: byte-level characters back to bytes for
 * NORMAL tokens; the text itself for added tokens (and for characters outside
 * the alphabet, which a byte-level vocabulary should not have). */
dseek_status ds_vocab_finish(ds_vocab *v)
{
  v->piece_arena = ds_malloc(v->text_len + 1);
  if (!v->piece_arena) return ds_error(DSEEK_ERR_NO_MEMORY, "%s: out of memory", v->source);
  size_t o = 0;
  for (int64_t id = 0; id < v->n_tokens; id++) {
    ds_vocab_token *t = &v->tokens[id];
    const uint8_t *s = (const uint8_t *)v->text_arena + t->text_off;
    t->piece_off = (uint32_t)o;
    if (t->type == DS_TOKEN_NORMAL || t->type == DS_TOKEN_BYTE || t->type == DS_TOKEN_UNUSED) {
      for (uint32_t k = 0; k < t->text_len;) {
        size_t n = ds_utf8_len(s[k]);
        if (k + n > t->text_len) n = 1;
        uint32_t cp = n == 1 ? s[k] : ds_utf8_decode(s + k, &n);
        if (cp <= DS_BYTE_LEVEL_MAX_CP && v->cp_to_byte[cp] >= 0) v->piece_arena[o++] = (char)v->cp_to_byte[cp];
        else { memcpy(v->piece_arena + o, s + k, n); o += n; }
        k += (uint32_t)n;
      }
    } else {
      memcpy(v->piece_arena + o, s, t->text_len);
      o += t->text_len;
    }
    t->piece_len = (uint32_t)(o - t->piece_off);
  }
  v->piece_len = o;
  /* an EOT-like end marker, if the vocabulary has one */
  static const char *const eot_names[] = {"<|EOT|>", "<|eot_id|>", "<|im_end|>", "<|endoftext|>"};
  for (size_t k = 0; v->eot < 0 && k < DS_ARRAY_LEN(eot_names); k++) {
    int32_t id = ds_vocab_find(v, eot_names[k], strlen(eot_names[k]));
    if (id >= 0 && v->tokens[id].added && id != v->eos) v->eot = id;
  }
  return DSEEK_OK;
}

/* ---- facts ------------------------------------------------------------------ */

int64_t ds_vocab_n_tokens(const ds_vocab *v) { return v ? v->n_tokens : 0; }
int64_t ds_vocab_n_merges_skipped(const ds_vocab *v) { return v ? v->n_merges_skipped : 0; }
int32_t ds_vocab_bos(const ds_vocab *v) { return v ? v->bos : -1; }
int32_t ds_vocab_eos(const ds_vocab *v) { return v ? v->eos : -1; }
int32_t ds_vocab_pad(const ds_vocab *v) { return v ? v->pad : -1; }
bool ds_vocab_add_bos(const ds_vocab *v) { return v && v->add_bos && v->bos >= 0; }
ds_pretok_kind ds_vocab_pretok(const ds_vocab *v) { return v ? v->pretok : DS_PRETOK_DEEPSEEK_V3; }
bool ds_vocab_nfc(const ds_vocab *v) { return v && v->nfc; }
const char *ds_vocab_chat_template(const ds_vocab *v) { return v ? v->chat_template : NULL; }

ds_token_type ds_vocab_token_type(const ds_vocab *v, int32_t id)
{
  if (!v || id < 0 || id >= v->n_tokens) return DS_TOKEN_UNDEFINED;
  return (ds_token_type)v->tokens[id].type;
}

bool ds_vocab_token_special(const ds_vocab *v, int32_t id)
{
  return v && id >= 0 && id < v->n_tokens && v->tokens[id].special;
}

const char *ds_vocab_token_text(const ds_vocab *v, int32_t id, size_t *len)
{
  if (!v || id < 0 || id >= v->n_tokens || v->tokens[id].type == DS_TOKEN_UNDEFINED) return NULL;
  if (len) *len = v->tokens[id].text_len;
  return v->text_arena + v->tokens[id].text_off;
}

bool ds_vocab_is_eog(const ds_vocab *v, int32_t id)
{
  return v && id >= 0 && (id == v->eos || id == v->eot);
}

dseek_status ds_token_piece(const ds_vocab *v, int32_t id, const char **piece, size_t *len)
{
  if (!v || !piece || !len) return ds_error(DSEEK_ERR_INVALID_ARG, "ds_token_piece: NULL argument");
  if (id < 0 || id >= v->n_tokens || v->tokens[id].type == DS_TOKEN_UNDEFINED)
    return ds_error(DSEEK_ERR_INVALID_ARG, "token id %d is not in the vocabulary (%lld tokens)", (int)id,
                    (long long)v->n_tokens);
  *piece = v->piece_arena + v->tokens[id].piece_off;
  *len = v->tokens[id].piece_len;
  return DSEEK_OK;
}
