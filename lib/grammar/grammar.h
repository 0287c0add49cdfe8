/*
 * grammar.h — constrained decoding: a GBNF subset compiled to flat rules
 * (gbnf_parse.c), an incremental matcher over stacks of rule positions
 * (gbnf_match.c), a per-vocabulary byte trie that turns a matcher state into
 * the set of allowed tokens (token_trie.c), JSON schema -> GBNF
 * (json_schema.c), and the constraint that generation and the sampler chain
 * apply (constraint.c).
 *
 * GBNF subset (as in llama.cpp's grammars/README.md):
 *   rule      ::= name "::=" alternatives          one rule per line; a line
 *                                                    starting with "|" continues
 *   alternatives: seq ("|" seq)*      seq: element*   (an empty seq matches "")
 *   element: "literal" | [class] | [^class] | . | name | ( alternatives )
 *            followed by ? * + {m} {m,} {m,n}
 *   literal/class escapes: \n \r \t \\ \" \' \[ \] \- \^ \xHH \uHHHH \UHHHHHHHH
 *   # comments run to the end of the line; names are [A-Za-z0-9_-]+.
 * Matching is over Unicode code points (the input is UTF-8; a token may end in
 * the middle of a character). Left recursion (a rule reaching itself without
 * consuming a character, also through nullable rules or a repeated nullable
 * element) is a compile error, so matching always terminates.
 */
#ifndef DS_GRAMMAR_H
#define DS_GRAMMAR_H

#include "core/ds.h"

#include <stdatomic.h>

struct ds_vocab;

/* ---- compiled grammar (gbnf_parse.c) ------------------------------------------ */

/* A symbol: kind in the top 2 bits, argument (rule or charset id) below. */
enum { DS_GS_END = 0, DS_GS_REF = 1, DS_GS_CHARS = 2 };
#define DS_GS(kind, arg) (((uint32_t)(kind) << 30) | (uint32_t)(arg))
#define DS_GS_KIND(s) ((s) >> 30)
#define DS_GS_ARG(s) ((s) & 0x3FFFFFFFu)

/* A set of code points: sorted disjoint ranges [lo, hi], optionally negated;
 * `ascii` is the membership bitmap of code points 0..127 (negation applied). */
typedef struct ds_gcharset {
  uint64_t ascii[2];
  uint32_t first, n;      /* ranges lo/hi at ranges[2*first ...] */
  bool negated;
} ds_gcharset;

typedef struct ds_grammar {
  uint32_t *syms;         /* every alternative's symbols followed by END */
  uint32_t n_syms;
  uint32_t *alt_start;    /* position in syms of each alternative, grouped by rule */
  uint32_t *rule_alt;     /* rule r's alternatives: alt_start[rule_alt[r] .. rule_alt[r+1]) */
  uint32_t n_rules;
  ds_gcharset *sets;
  uint32_t n_sets;
  uint32_t *ranges;
  uint32_t root;
  atomic_int refs;        /* owners (sampler clones share one grammar) */
} ds_grammar;

/* Compile GBNF text[0..len) with start rule `root` (NULL: "root"). Errors:
 * DSEEK_ERR_FORMAT "grammar: line L column C: what", DSEEK_ERR_NO_MEMORY. */
dseek_status ds_grammar_compile(const char *text, size_t len, const char *root, ds_grammar **out);
ds_grammar *ds_grammar_ref(ds_grammar *g);
void ds_grammar_free(ds_grammar *g);   /* drops one reference */

bool ds_gcharset_has(const ds_grammar *g, const ds_gcharset *cs, uint32_t cp);

/* ---- matcher (gbnf_match.c) --------------------------------------------------- */

/* Bounds that keep every step's work finite on ambiguous or deep grammars: a
 * state holds at most DS_GMATCH_MAX_HEADS live parses, each at most
 * DS_GMATCH_MAX_DEPTH rules deep; a continuation beyond them is rejected. */
#define DS_GMATCH_MAX_HEADS 512
#define DS_GMATCH_MAX_DEPTH 1024

typedef struct ds_gmatch ds_gmatch;

dseek_status ds_gmatch_create(const ds_grammar *g, ds_gmatch **out);
void ds_gmatch_free(ds_gmatch *m);
void ds_gmatch_reset(ds_gmatch *m);               /* back to the start rule */
/* Advance over bytes; false (state unchanged) if they cannot continue a
 * sentence of the grammar. DSEEK_ERR_NO_MEMORY is reported through *st. */
bool ds_gmatch_accept(ds_gmatch *m, const char *bytes, size_t n, dseek_status *st);
bool ds_gmatch_can_end(const ds_gmatch *m);       /* the text so far is a sentence */
bool ds_gmatch_must_end(const ds_gmatch *m);      /* ... and nothing may follow */
/* A byte string identifying the state (equal states give equal keys); valid
 * until the next call on m. */
const uint8_t *ds_gmatch_key(ds_gmatch *m, size_t *len);

/* ---- token trie (token_trie.c) ------------------------------------------------ */

typedef struct ds_token_trie ds_token_trie;

/* The byte trie of every ordinary token's piece (control and added tokens are
 * never produced under a constraint), plus the end-of-generation tokens. */
dseek_status ds_token_trie_build(const struct ds_vocab *v, ds_token_trie **out);
void ds_token_trie_free(ds_token_trie *t);
int64_t ds_token_trie_nodes(const ds_token_trie *t);

/* Set bit i of mask (n_vocab bits, zeroed here) for every token that can
 * continue the matcher's text; end-of-generation tokens when it can end. */
dseek_status ds_gmatch_mask(ds_gmatch *m, const ds_token_trie *t, int64_t n_vocab, uint64_t *mask);

/* ---- JSON schema (json_schema.c) ---------------------------------------------- */

/* Translate a JSON schema document into GBNF text with rule "root" (owned by
 * the caller, ds_free). Errors: DSEEK_ERR_FORMAT (bad JSON),
 * DSEEK_ERR_UNSUPPORTED "json schema: #/path: keyword 'k' is not supported". */
dseek_status ds_json_schema_to_gbnf(const char *schema, size_t len, char **gbnf);

/* ---- constraint (constraint.c) -------------------------------------------------
 * A grammar applied to generated tokens: waits (optionally) for the end of the
 * reasoning and/or a trigger string, then allows only tokens that continue a
 * sentence of the grammar, and only end-of-generation once it is complete. */

struct dseek_model;
typedef struct ds_constraint ds_constraint;

/* The model's token trie, built on first use and kept with the model. */
dseek_status ds_model_token_trie(const struct dseek_model *m, const ds_token_trie **out);

/* g gains a reference. trigger (copied; NULL: none): the constraint starts
 * after this text appears in the output. wait_reasoning: it starts only once
 * ds_constraint_end_reasoning is called (before the trigger, if any). */
dseek_status ds_constraint_create(const struct dseek_model *m, ds_grammar *g, const char *trigger,
                                  bool wait_reasoning, ds_constraint **out);
dseek_status ds_constraint_clone(const ds_constraint *c, ds_constraint **out);   /* fresh state */
void ds_constraint_free(ds_constraint *c);
void ds_constraint_reset(ds_constraint *c);
bool ds_constraint_active(const ds_constraint *c);
bool ds_constraint_waits_reasoning(const ds_constraint *c);
void ds_constraint_end_reasoning(ds_constraint *c);
/* Allowed tokens (bitmap of n_vocab bits, valid until the next call); only
 * when active. Errors: DSEEK_ERR_INVALID_ARG when no token is allowed. */
dseek_status ds_constraint_mask(ds_constraint *c, int64_t n_vocab, const uint64_t **mask);
/* Take a generated token. *ok false (nothing changed) when it breaks the
 * grammar: while waiting for the trigger, the text after a trigger that the
 * token completes must already fit the grammar. */
dseek_status ds_constraint_accept(ds_constraint *c, int32_t tok, bool *ok);
/* Compile a constraint from GBNF text (root rule "root") or a JSON schema
 * (exactly one of them non-NULL); *out NULL when both are NULL. Errors name
 * the source ("grammar: line L column C: ...", "json schema: #/path: ..."). */
dseek_status ds_constraint_compile(const struct dseek_model *m, const char *gbnf, const char *json_schema,
                                   const char *trigger, bool wait_reasoning, ds_constraint **out);
/* The logits to sample from: `logits` itself while the constraint waits,
 * else a copy with -infinity for every token it forbids (or banned). */
dseek_status ds_constraint_apply(ds_constraint *c, const float *logits, int64_t n_vocab, const float **out);
/* Forbid tok for the current step (a token rejected by ds_constraint_accept
 * while waiting for the trigger); forgotten once a token is accepted. */
dseek_status ds_constraint_ban(ds_constraint *c, int32_t tok);
/* Text that was not sampled (an injected closing phrase): watched for the
 * trigger while waiting, matched when active (*ok as above; ok may be NULL). */
dseek_status ds_constraint_text(ds_constraint *c, const char *text, size_t len, bool *ok);

#endif
