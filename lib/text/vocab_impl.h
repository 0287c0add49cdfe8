/*
 * vocab_impl.h — the inside of a ds_vocab, shared by the files of lib/text
 * that build it (vocab.c, vocab_hf.c, vocab_gguf.c) and use it (bpe.c,
 * tokenize.c, detok.c). Not for other parts of the library: use vocab.h.
 */
#ifndef DS_TEXT_VOCAB_IMPL_H
#define DS_TEXT_VOCAB_IMPL_H

#include "core/id_list.h"
#include "text/vocab.h"

/* GPT-2 byte-level alphabet: bytes 0x21-0x7E, 0xA1-0xAC, 0xAE-0xFF stand for
 * themselves; the other 68 map in increasing order to U+0100, U+0101, ... */
#define DS_BYTE_LEVEL_MAX_CP 0x143

typedef struct ds_vocab_token {
  uint32_t text_off, text_len;     /* in text_arena: the vocabulary string */
  uint32_t piece_off, piece_len;   /* in piece_arena: the decoded bytes */
  uint8_t type;                    /* ds_token_type */
  bool special;                    /* added token that parse_special=false skips */
  bool added;                      /* matched in the raw text before BPE */
} ds_vocab_token;

/* One merge: (left id, right id) -> rank and the merged token's id. */
typedef struct ds_merge_slot {
  uint64_t key;                    /* left << 32 | right; UINT64_MAX = empty */
  int32_t rank;
  int32_t result;
} ds_merge_slot;

/* Byte trie over added-token contents, for leftmost-longest matching. */
typedef struct ds_trie_node {
  int32_t child;                   /* first child or -1 */
  int32_t sibling;                 /* next sibling or -1 */
  int32_t id;                      /* token ending here or -1 */
  uint8_t byte;
} ds_trie_node;

struct ds_vocab {
  char *source;                    /* file name for messages */
  int64_t n_tokens;
  ds_vocab_token *tokens;
  char *text_arena;
  size_t text_len, text_cap;
  char *piece_arena;
  size_t piece_len;

  int32_t *tok_slots;              /* string -> id: id + 1, 0 = empty */
  uint64_t tok_mask;

  ds_merge_slot *merges;
  uint64_t merge_mask;
  int64_t n_merges;
  int64_t n_merges_skipped;        /* listed merges naming a string that is no token */

  int32_t byte_token[256];         /* id of each single byte-level character, or -1 */
  uint16_t byte_to_cp[256];
  int16_t cp_to_byte[DS_BYTE_LEVEL_MAX_CP + 1];   /* -1 if not in the alphabet */

  int32_t trie_root[256];          /* first-level nodes, or -1 */
  ds_trie_node *trie;
  int64_t n_trie, cap_trie;
  bool has_added;

  int32_t bos, eos, pad, eot;
  bool add_bos;
  ds_pretok_kind pretok;
  bool nfc;
  bool ignore_merges;              /* HF ignore_merges: a piece that is a token is taken whole */
  char *chat_template;
};

/* ---- building (vocab.c) -------------------------------------------------------
 * A loader calls ds_vocab_new, ds_vocab_set_token for every id, ds_vocab_index
 * once, then ds_vocab_add_merge for every merge in rank order (capacity given
 * to ds_vocab_index), and finally ds_vocab_finish. Each returns a status with
 * the message naming v->source. */
dseek_status ds_vocab_new(const char *source, int64_t n_tokens, ds_vocab **out);
dseek_status ds_vocab_set_token(ds_vocab *v, int64_t id, const char *text, size_t len,
                                ds_token_type type, bool special);
dseek_status ds_vocab_index(ds_vocab *v, int64_t n_merges_max);
dseek_status ds_vocab_add_merge(ds_vocab *v, const char *left, size_t left_len, const char *right,
                                size_t right_len, int64_t rank);
dseek_status ds_vocab_finish(ds_vocab *v);

/* Lookup of a merge; false if the pair does not merge. */
static inline bool ds_vocab_merge(const ds_vocab *v, int32_t left, int32_t right, int32_t *rank,
                                  int32_t *result)
{
  if (left < 0 || right < 0) return false;   /* bytes without a token never merge */
  uint64_t key = (uint64_t)(uint32_t)left << 32 | (uint32_t)right;
  uint64_t h = key * 0x9E3779B97F4A7C15ull;
  for (uint64_t i = (h >> 20) & v->merge_mask;; i = (i + 1) & v->merge_mask) {
    const ds_merge_slot *s = &v->merges[i];
    if (s->key == key) { *rank = s->rank; *result = s->result; return true; }
    if (s->key == UINT64_MAX) return false;
  }
}

/* ---- encoding internals (bpe.c) ------------------------------------------------- */

/* Reusable buffers of the BPE merge loop. */
typedef struct ds_bpe_scratch {
  struct bpe_symbol *syms;
  size_t cap_syms;
  struct bpe_pair *heap;
  size_t cap_heap;
  char *str;
  size_t cap_str;
} ds_bpe_scratch;

/* Append the ids of one pre-tokenized piece (raw bytes) to out. */
dseek_status ds_bpe_piece(const ds_vocab *v, const uint8_t *bytes, size_t n, ds_bpe_scratch *sc,
                          ds_id_list *out);
void ds_bpe_scratch_free(ds_bpe_scratch *sc);

#endif
