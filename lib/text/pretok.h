/*
 * pretok.h — the pre-tokenizers: each is a sequence of regex Splits with
 * Isolated behaviour (matches and the gaps between them become pieces; each
 * Split runs over every piece of the previous one), reproduced by
 * hand-written matchers with Oniguruma's semantics (first alternative that
 * matches at the leftmost position wins; greedy quantifiers that backtrack;
 * \s = White_Space; a piece is the whole subject string, so `$` and (?!\S)
 * see its end). The exact regexes are in pretok.c next to their matchers.
 */
#ifndef DS_TEXT_PRETOK_H
#define DS_TEXT_PRETOK_H

#include "text/vocab.h"

#define DS_PRETOK_MAX_SPLITS 8

/* Recognise a HF pre_tokenizer by its Split patterns (JSON-decoded, in order),
 * compared byte for byte with the known ones. */
bool ds_pretok_from_patterns(const char *const *patterns, size_t n, ds_pretok_kind *kind);

/* Recognise a llama.cpp pre-tokenizer name (GGUF tokenizer.ggml.pre). */
bool ds_pretok_from_name(const char *name, ds_pretok_kind *kind);

/* Mark piece boundaries of the code points cps[0..n) (flags[i] =
 * ds_uc_flags(cps[i])): cut[i] is set when a piece starts at i (cut[0] and
 * cut[n] are set on return). cut must hold n + 1 entries, zeroed or holding
 * boundaries already known (those are kept: pieces never span them). */
void ds_pretok_split(ds_pretok_kind kind, const uint32_t *cps, const uint8_t *flags, size_t n,
                     bool *cut);

#endif
