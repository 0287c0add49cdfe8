/*
 * token_trie.c — the byte trie of a vocabulary's token pieces, built once per
 * model, so that finding the tokens a grammar state allows walks shared
 * prefixes once (and skips every token under a rejected prefix) instead of
 * matching each of ~150k tokens from scratch.
 *
 * Only ordinary tokens (byte-level BPE pieces and byte tokens) are in it:
 * control and added tokens (<think>, <｜User｜>, BOS) stand for markup, not
 * text, and are never produced under a constraint. End-of-generation tokens
 * are listed apart: they are allowed exactly when the grammar can end.
 */
#include "grammar/token_trie.h"
#include "text/vocab.h"

#include <stdlib.h>
#include <string.h>

typedef struct piece {
  const uint8_t *bytes;
  uint32_t len;
  int32_t id;
} piece;

static int piece_cmp(const void *pa, const void *pb)
{
  const piece *a = pa, *b = pb;
  uint32_t n = DS_MIN(a->len, b->len);
  int c = memcmp(a->bytes, b->bytes, n);
  if (c) return c;
  if (a->len != b->len) return a->len < b->len ? -1 : 1;
  return (a->id > b->id) - (a->id < b->id);
}

void ds_token_trie_free(ds_token_trie *t)
{
  if (!t) return;
  ds_free(t->nodes);
  ds_free(t->toks);
  ds_free(t->eog);
  ds_free(t);
}

int64_t ds_token_trie_nodes(const ds_token_trie *t) { return t ? t->n_nodes : -1; }

dseek_status ds_token_trie_build(const ds_vocab *v, ds_token_trie **out)
{
  static const char fn[] = "token trie";
  int64_t n_vocab = ds_vocab_n_tokens(v);
  ds_token_trie *t = ds_calloc(1, sizeof *t);
  piece *p = ds_malloc((size_t)(n_vocab ? n_vocab : 1) * sizeof *p);
  if (!t || !p) goto oom;
  int64_t n = 0, n_eog = 0, total = 0;
  for (int32_t id = 0; id < n_vocab; id++) {
    if (ds_vocab_is_eog(v, id)) n_eog++;
    ds_token_type ty = ds_vocab_token_type(v, id);
    if (ty != DS_TOKEN_NORMAL && ty != DS_TOKEN_BYTE) continue;
    const char *bytes;
    size_t len;
    if (ds_token_piece(v, id, &bytes, &len) || len == 0 || len > DS_TRIE_MAX_BYTES) continue;
    p[n++] = (piece){(const uint8_t *)bytes, (uint32_t)len, id};
    total += (int64_t)len;
  }
  t->eog = ds_malloc((size_t)(n_eog ? n_eog : 1) * sizeof *t->eog);
  t->toks = ds_malloc((size_t)(n ? n : 1) * sizeof *t->toks);
  /* at most one node per byte of all pieces */
  t->nodes = ds_malloc((size_t)(total ? total : 1) * sizeof *t->nodes);
  if (!t->eog || !t->toks || !t->nodes) goto oom;
  for (int32_t id = 0; id < n_vocab; id++)
    if (ds_vocab_is_eog(v, id)) t->eog[t->n_eog++] = id;

  /* Sorted pieces: each shares a prefix with the previous one; the nodes
   * below that prefix are closed (their subtree ends here), new ones opened. */
  qsort(p, (size_t)n, sizeof *p, piece_cmp);
  uint32_t open[DS_TRIE_MAX_BYTES + 1];
  uint32_t depth = 0, n_toks = 0;
  const piece *prev = NULL;
  for (int64_t i = 0; i < n; i++) {
    uint32_t common = 0;
    if (prev)
      while (common < depth && common < p[i].len && prev->bytes[common] == p[i].bytes[common]) common++;
    while (depth > common) t->nodes[open[--depth]].next = (uint32_t)t->n_nodes;
    while (depth < p[i].len) {
      ds_trie_node *nd = &t->nodes[t->n_nodes];
      memset(nd, 0, sizeof *nd);
      nd->byte = p[i].bytes[depth];
      nd->depth = (uint16_t)(depth + 1);
      open[depth++] = (uint32_t)t->n_nodes++;
    }
    ds_trie_node *leaf = &t->nodes[open[depth - 1]];
    if (leaf->n_tok == 0) leaf->tok_first = n_toks;
    if (leaf->n_tok < UINT16_MAX) {
      leaf->n_tok++;
      t->toks[n_toks++] = p[i].id;
    }
    if (depth > t->max_depth) t->max_depth = (uint16_t)depth;
    prev = &p[i];
  }
  while (depth > 0) t->nodes[open[--depth]].next = (uint32_t)t->n_nodes;
  ds_free(p);
  *out = t;
  return DSEEK_OK;
oom:
  ds_free(p);
  ds_token_trie_free(t);
  return ds_error(DSEEK_ERR_NO_MEMORY, "%s: out of memory", fn);
}
