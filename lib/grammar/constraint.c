/*
 * constraint.c — a grammar applied to generated tokens, with a lazy start.
 *
 * Phases: WAIT_REASONING (the model is inside <think>; nothing is
 * constrained) -> WAIT_TRIGGER (the output is watched for the trigger text) ->
 * ACTIVE (only tokens that continue a sentence of the grammar; EOG only when
 * the text is a complete sentence, and nothing else once it must end).
 * Phases without a purpose are skipped. The allowed-token bitmap of a matcher
 * state is cached by the state's key: in a JSON string or a number, every
 * step returns to the same state and costs a lookup, not a trie walk.
 */
#include "core/id_list.h"
#include "grammar/grammar.h"
#include "grammar/token_trie.h"
#include "models/model.h"
#include "text/vocab.h"

#include <math.h>
#include <string.h>

enum { WAIT_REASONING, WAIT_TRIGGER, ACTIVE };

#define CACHE_SLOTS 8

typedef struct mask_slot {
  uint64_t hash;
  uint8_t *key;
  size_t key_len;
  uint64_t *mask;
  uint64_t used;
} mask_slot;

struct ds_constraint {
  const struct dseek_model *model;
  const ds_token_trie *trie;
  ds_grammar *g;
  ds_gmatch *m;
  char *trigger;
  size_t trigger_len;
  bool wait_reasoning;
  int phase;
  char *seen;                 /* the last trigger_len - 1 bytes of watched output */
  size_t n_seen;
  int64_t n_vocab;            /* mask bits */
  float *masked;              /* ds_constraint_apply's output, n_vocab floats */
  int64_t masked_cap;
  ds_id_list banned;          /* tokens banned for this step */
  mask_slot cache[CACHE_SLOTS];
  uint64_t clock;
};

dseek_status ds_model_token_trie(const struct dseek_model *m, const ds_token_trie **out)
{
  if (!m->vocab) return ds_error(DSEEK_ERR_UNSUPPORTED, "grammar: the model has no tokenizer");
  if (!m->cache) return ds_error(DSEEK_ERR_INVALID_ARG, "grammar: the model was not loaded by dseek_model_load");
  ds_model_cache *cache = m->cache;   /* the model's one mutable part (models/model.h) */
  ds_token_trie *t = atomic_load(&cache->token_trie);
  if (!t) {
    dseek_status st = ds_token_trie_build(m->vocab, &t);
    if (st) return st;
    ds_token_trie *expected = NULL;
    /* another thread may have built it meanwhile: keep the first */
    if (!atomic_compare_exchange_strong(&cache->token_trie, &expected, t)) {
      ds_token_trie_free(t);
      t = expected;
    }
  }
  *out = t;
  return DSEEK_OK;
}

static int first_phase(const ds_constraint *c)
{
  return c->wait_reasoning ? WAIT_REASONING : c->trigger ? WAIT_TRIGGER : ACTIVE;
}

dseek_status ds_constraint_create(const struct dseek_model *model, ds_grammar *g, const char *trigger,
                                  bool wait_reasoning, ds_constraint **out)
{
  static const char fn[] = "grammar constraint";
  if (!model || !g || !out) return ds_error(DSEEK_ERR_INVALID_ARG, "%s: model, grammar and out must not be NULL", fn);
  if (trigger && !trigger[0]) return ds_error(DSEEK_ERR_INVALID_ARG, "%s: the trigger string is empty", fn);
  const ds_token_trie *trie;
  dseek_status st = ds_model_token_trie(model, &trie);
  if (st) return st;
  ds_constraint *c = ds_calloc(1, sizeof *c);
  if (!c) return ds_error(DSEEK_ERR_NO_MEMORY, "%s: out of memory", fn);
  c->model = model;
  c->trie = trie;
  c->g = ds_grammar_ref(g);
  c->wait_reasoning = wait_reasoning;
  if (trigger) {
    c->trigger_len = strlen(trigger);
    c->trigger = ds_strndup(trigger, c->trigger_len);
    c->seen = ds_malloc(c->trigger_len * 2 + 1);
  }
  if ((trigger && (!c->trigger || !c->seen)) || (st = ds_gmatch_create(g, &c->m))) {
    ds_constraint_free(c);
    return st ? st : ds_error(DSEEK_ERR_NO_MEMORY, "%s: out of memory", fn);
  }
  c->phase = first_phase(c);
  *out = c;
  return DSEEK_OK;
}

dseek_status ds_constraint_clone(const ds_constraint *c, ds_constraint **out)
{
  return ds_constraint_create(c->model, c->g, c->trigger, c->wait_reasoning, out);
}

void ds_constraint_free(ds_constraint *c)
{
  if (!c) return;
  for (int i = 0; i < CACHE_SLOTS; i++) {
    ds_free(c->cache[i].key);
    ds_free(c->cache[i].mask);
  }
  ds_gmatch_free(c->m);
  ds_grammar_free(c->g);
  ds_free(c->masked);
  ds_free(c->banned.ids);
  ds_free(c->trigger);
  ds_free(c->seen);
  ds_free(c);
}

void ds_constraint_reset(ds_constraint *c)
{
  ds_gmatch_reset(c->m);
  c->phase = first_phase(c);
  c->n_seen = 0;
  c->banned.n = 0;
}

bool ds_constraint_active(const ds_constraint *c) { return c->phase == ACTIVE; }
bool ds_constraint_waits_reasoning(const ds_constraint *c) { return c->phase == WAIT_REASONING; }

void ds_constraint_end_reasoning(ds_constraint *c)
{
  if (c->phase == WAIT_REASONING) c->phase = c->trigger ? WAIT_TRIGGER : ACTIVE;
}

static uint64_t fnv1a(const uint8_t *p, size_t n)
{
  uint64_t h = 0xCBF29CE484222325ull;
  for (size_t i = 0; i < n; i++) h = (h ^ p[i]) * 0x100000001B3ull;
  return h;
}

dseek_status ds_constraint_mask(ds_constraint *c, int64_t n_vocab, const uint64_t **mask)
{
  static const char fn[] = "grammar constraint";
  if (n_vocab != c->n_vocab) {
    /* a different logits width: forget cached masks */
    for (int i = 0; i < CACHE_SLOTS; i++) {
      ds_free(c->cache[i].mask);
      ds_free(c->cache[i].key);
      memset(&c->cache[i], 0, sizeof c->cache[i]);
    }
    c->n_vocab = n_vocab;
  }
  size_t key_len;
  const uint8_t *key = ds_gmatch_key(c->m, &key_len);
  if (!key) return ds_error(DSEEK_ERR_NO_MEMORY, "%s: out of memory", fn);
  uint64_t h = fnv1a(key, key_len);
  c->clock++;
  mask_slot *slot = NULL;
  for (int i = 0; i < CACHE_SLOTS; i++) {
    mask_slot *s = &c->cache[i];
    if (s->mask && s->hash == h && s->key_len == key_len && memcmp(s->key, key, key_len) == 0) {
      s->used = c->clock;
      *mask = s->mask;
      return DSEEK_OK;
    }
    if (!slot || s->used < slot->used) slot = s;   /* least recently used */
  }
  size_t words = (size_t)(n_vocab + 63) / 64;
  if (!slot->mask && !(slot->mask = ds_malloc(words * sizeof *slot->mask)))
    return ds_error(DSEEK_ERR_NO_MEMORY, "%s: out of memory", fn);
  uint8_t *k = ds_realloc(slot->key, key_len ? key_len : 1);
  if (!k) return ds_error(DSEEK_ERR_NO_MEMORY, "%s: out of memory", fn);
  slot->key = k;
  memcpy(slot->key, key, key_len);   /* the walk below does not change the key's state */
  slot->used = 0;                    /* invalid until the walk succeeds */
  dseek_status st = ds_gmatch_mask(c->m, c->trie, n_vocab, slot->mask);
  if (st) return st;
  bool any = false;
  for (size_t i = 0; i < words && !any; i++) any = slot->mask[i] != 0;
  if (!any)
    return ds_error(DSEEK_ERR_INVALID_ARG, "%s: no token of the vocabulary can continue the output "
                    "(the grammar needs a character no token spells)", fn);
  slot->hash = h;
  slot->key_len = key_len;
  slot->used = c->clock;
  *mask = slot->mask;
  return DSEEK_OK;
}

/* Feed bytes to the matcher (active) or to the trigger watch (waiting): on a
 * trigger, the bytes after it go to the matcher. Nothing changes when *ok is
 * false. */
static dseek_status feed(ds_constraint *c, const char *s, size_t n, bool *ok)
{
  dseek_status st = DSEEK_OK;
  *ok = true;
  if (c->phase == WAIT_REASONING) return DSEEK_OK;
  if (c->phase == ACTIVE) {
    *ok = ds_gmatch_accept(c->m, s, n, &st);
    return st;
  }
  /* Search the held bytes plus the new ones for the trigger. */
  size_t tl = c->trigger_len, wn = c->n_seen + n;
  char *w = ds_malloc(wn + 1);
  if (!w) return ds_error(DSEEK_ERR_NO_MEMORY, "grammar constraint: out of memory");
  memcpy(w, c->seen, c->n_seen);
  if (n) memcpy(w + c->n_seen, s, n);
  for (size_t at = 0; at + tl <= wn; at++) {
    if (memcmp(w + at, c->trigger, tl) != 0) continue;
    /* the held bytes are shorter than the trigger, so the tail lies in s */
    *ok = ds_gmatch_accept(c->m, w + at + tl, wn - at - tl, &st);
    if (*ok) { c->phase = ACTIVE; c->n_seen = 0; }
    ds_free(w);
    return st;
  }
  size_t keep = DS_MIN(wn, tl - 1);
  memcpy(c->seen, w + wn - keep, keep);
  c->n_seen = keep;
  ds_free(w);
  return DSEEK_OK;
}

dseek_status ds_constraint_accept(ds_constraint *c, int32_t tok, bool *ok)
{
  const struct ds_vocab *v = c->model->vocab;
  *ok = true;
  if (c->phase == WAIT_REASONING) return DSEEK_OK;
  if (ds_vocab_is_eog(v, tok)) {
    *ok = c->phase != ACTIVE || ds_gmatch_can_end(c->m);
    return DSEEK_OK;
  }
  ds_token_type ty = ds_vocab_token_type(v, tok);
  if (c->phase == ACTIVE && ty != DS_TOKEN_NORMAL && ty != DS_TOKEN_BYTE) { *ok = false; return DSEEK_OK; }
  const char *piece;
  size_t len;
  dseek_status st = ds_token_piece(v, tok, &piece, &len);
  if (!st) st = feed(c, piece, len, ok);
  if (!st && *ok) c->banned.n = 0;
  return st;
}

dseek_status ds_constraint_text(ds_constraint *c, const char *text, size_t len, bool *ok)
{
  bool dummy;
  return feed(c, text, len, ok ? ok : &dummy);
}

dseek_status ds_constraint_compile(const struct dseek_model *m, const char *gbnf, const char *json_schema,
                                   const char *trigger, bool wait_reasoning, ds_constraint **out)
{
  *out = NULL;
  if (!gbnf && !json_schema) return DSEEK_OK;
  if (gbnf && json_schema) return ds_error(DSEEK_ERR_INVALID_ARG, "grammar constraint: give a grammar or a JSON schema, not both");
  char *text = NULL;
  dseek_status st = DSEEK_OK;
  if (json_schema) st = ds_json_schema_to_gbnf(json_schema, strlen(json_schema), &text);
  ds_grammar *g = NULL;
  if (!st) st = ds_grammar_compile(text ? text : gbnf, strlen(text ? text : gbnf), "root", &g);
  ds_free(text);
  if (!st) st = ds_constraint_create(m, g, trigger, wait_reasoning, out);
  ds_grammar_free(g);
  return st;
}

dseek_status ds_constraint_apply(ds_constraint *c, const float *logits, int64_t n_vocab, const float **out)
{
  *out = logits;
  if (c->phase != ACTIVE && c->banned.n == 0) return DSEEK_OK;
  if (n_vocab > c->masked_cap) {
    float *p = ds_realloc(c->masked, (size_t)n_vocab * sizeof *p);
    if (!p) return ds_error(DSEEK_ERR_NO_MEMORY, "grammar constraint: out of memory");
    c->masked = p;
    c->masked_cap = n_vocab;
  }
  if (c->phase == ACTIVE) {
    const uint64_t *mask;
    dseek_status st = ds_constraint_mask(c, n_vocab, &mask);
    if (st) return st;
    for (int64_t i = 0; i < n_vocab; i++) c->masked[i] = (mask[i >> 6] >> (i & 63)) & 1 ? logits[i] : -INFINITY;
  } else if (logits != c->masked) {
    memcpy(c->masked, logits, (size_t)n_vocab * sizeof *logits);
  }
  for (int64_t i = 0; i < c->banned.n; i++)
    if (c->banned.ids[i] < n_vocab) c->masked[c->banned.ids[i]] = -INFINITY;
  *out = c->masked;
  return DSEEK_OK;
}

dseek_status ds_constraint_ban(ds_constraint *c, int32_t tok) { return ds_id_list_push(&c->banned, tok); }
