/* token_trie.h — layout of the per-vocabulary token byte trie (token_trie.c),
 * read by the matcher's walk (gbnf_match.c). */
#ifndef DS_GRAMMAR_TOKEN_TRIE_H
#define DS_GRAMMAR_TOKEN_TRIE_H

#include "grammar/grammar.h"

/* Nodes are stored in preorder; node i's subtree is [i, next). A node at
 * depth d stands for the d-byte prefix ending in `byte`; the tokens whose
 * piece is exactly that prefix are toks[tok_first .. tok_first + n_tok). */
typedef struct ds_trie_node {
  uint32_t next;
  uint32_t tok_first;
  uint16_t n_tok;
  uint16_t depth;
  uint8_t byte;
} ds_trie_node;

#define DS_TRIE_MAX_BYTES 256   /* longer pieces are never produced under a constraint */

struct ds_token_trie {
  ds_trie_node *nodes;
  int64_t n_nodes;
  int32_t *toks;
  int32_t *eog;               /* end-of-generation tokens */
  int64_t n_eog;
  uint16_t max_depth;
};

#endif
