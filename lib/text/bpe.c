/*
 * bpe.c — byte-level BPE of one pre-tokenized piece.
 *
 * The piece's bytes start as one symbol each (the token of the byte's
 * byte-level character). Then, repeatedly, the adjacent pair with the lowest
 * merge rank is merged, the leftmost first among equal ranks, until no
 * adjacent pair has a merge. Symbols form a doubly linked list over the
 * original byte positions; candidate pairs sit in a binary min-heap keyed by
 * (rank, position of the left symbol). Entries are not removed when a merge
 * invalidates them: a popped entry is used only if its left symbol still has
 * the same id and is followed by a symbol with the same right id — then it is
 * exactly a current pair with that rank and position. O(n log n) per piece.
 */
#include "text/vocab_impl.h"

#include <string.h>

#define DEAD INT32_MIN

struct bpe_symbol {
  int32_t id;        /* token id; -1 for a byte without a token; DEAD when merged away */
  int32_t prev, next;
};

struct bpe_pair {
  int32_t rank;
  int32_t pos;       /* left symbol */
  int32_t left, right;
};

void ds_bpe_scratch_free(ds_bpe_scratch *sc)
{
  ds_free(sc->syms);
  ds_free(sc->heap);
  ds_free(sc->str);
  memset(sc, 0, sizeof *sc);
}

static bool pair_less(const struct bpe_pair *a, const struct bpe_pair *b)
{
  return a->rank < b->rank || (a->rank == b->rank && a->pos < b->pos);
}

static void heap_push(struct bpe_pair *h, size_t *n, struct bpe_pair p)
{
  size_t i = (*n)++;
  while (i > 0) {
    size_t parent = (i - 1) / 2;
    if (!pair_less(&p, &h[parent])) break;
    h[i] = h[parent];
    i = parent;
  }
  h[i] = p;
}

static struct bpe_pair heap_pop(struct bpe_pair *h, size_t *n)
{
  struct bpe_pair top = h[0], last = h[--(*n)];
  size_t i = 0;
  for (;;) {
    size_t c = 2 * i + 1;
    if (c >= *n) break;
    if (c + 1 < *n && pair_less(&h[c + 1], &h[c])) c++;
    if (!pair_less(&h[c], &last)) break;
    h[i] = h[c];
    i = c;
  }
  h[i] = last;
  return top;
}

/* Push the pair starting at symbol l, if it merges. The heap never holds more
 * than n - 1 + 2 * merges <= 3n entries. */
static void consider(const ds_vocab *v, const struct bpe_symbol *sym, int32_t l, struct bpe_pair *heap,
                     size_t *n_heap)
{
  if (l < 0) return;
  int32_t r = sym[l].next;
  if (r < 0) return;
  int32_t rank, result;
  if (ds_vocab_merge(v, sym[l].id, sym[r].id, &rank, &result))
    heap_push(heap, n_heap, (struct bpe_pair){rank, l, sym[l].id, sym[r].id});
}

static bool grow(void **p, size_t *cap, size_t need, size_t elem)
{
  if (*cap >= need) return true;
  size_t c = *cap ? *cap : 64;
  while (c < need) c *= 2;
  void *q = ds_realloc(*p, c * elem);
  if (!q) return false;
  *p = q;
  *cap = c;
  return true;
}

dseek_status ds_bpe_piece(const ds_vocab *v, const uint8_t *bytes, size_t n, ds_bpe_scratch *sc,
                          ds_id_list *out)
{
  if (n == 0) return DSEEK_OK;
  if (n > INT32_MAX / 4) return ds_error(DSEEK_ERR_INVALID_ARG, "tokenize: a piece of %zu bytes is too long", n);
  if (v->ignore_merges) {
    /* the piece in byte-level form, looked up whole */
    if (!grow((void **)&sc->str, &sc->cap_str, 2 * n, 1))
      return ds_error(DSEEK_ERR_NO_MEMORY, "tokenize: out of memory");
    size_t o = 0;
    for (size_t k = 0; k < n; k++) {
      uint16_t cp = v->byte_to_cp[bytes[k]];
      if (cp < 0x80) sc->str[o++] = (char)cp;
      else { sc->str[o++] = (char)(0xC0 | cp >> 6); sc->str[o++] = (char)(0x80 | (cp & 0x3F)); }
    }
    int32_t id = ds_vocab_find(v, sc->str, o);
    if (id >= 0 && v->tokens[id].type == DS_TOKEN_NORMAL) return ds_id_list_push(out, id);
  }
  if (!grow((void **)&sc->syms, &sc->cap_syms, n, sizeof *sc->syms) ||
      !grow((void **)&sc->heap, &sc->cap_heap, 3 * n, sizeof *sc->heap))
    return ds_error(DSEEK_ERR_NO_MEMORY, "tokenize: out of memory");
  struct bpe_symbol *sym = sc->syms;
  struct bpe_pair *heap = sc->heap;
  size_t n_heap = 0;
  for (size_t k = 0; k < n; k++)
    sym[k] = (struct bpe_symbol){v->byte_token[bytes[k]], (int32_t)k - 1, k + 1 < n ? (int32_t)k + 1 : -1};
  for (size_t k = 0; k + 1 < n; k++) consider(v, sym, (int32_t)k, heap, &n_heap);
  while (n_heap) {
    struct bpe_pair p = heap_pop(heap, &n_heap);
    int32_t l = p.pos, r = sym[l].next;
    if (sym[l].id != p.left || r < 0 || sym[r].id != p.right) continue;   /* stale */
    int32_t rank = 0, result = 0;
    ds_vocab_merge(v, p.left, p.right, &rank, &result);   /* found: the pair was pushed */
    sym[l].id = result;
    sym[r].id = DEAD;
    sym[l].next = sym[r].next;
    if (sym[r].next >= 0) sym[sym[r].next].prev = l;
    consider(v, sym, sym[l].prev, heap, &n_heap);
    consider(v, sym, l, heap, &n_heap);
  }
  /* bytes without a token (a vocabulary lacking part of the byte alphabet)
   * are dropped, as HF BPE does without an unk token */
  for (int32_t k = 0; k >= 0; k = sym[k].next) {
    if (sym[k].id < 0) continue;
    dseek_status st = ds_id_list_push(out, sym[k].id);
    if (st) return st;
  }
  return DSEEK_OK;
}
