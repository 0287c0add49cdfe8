/*
 * gbnf_match.c — the incremental matcher: which texts can still become a
 * sentence of a compiled grammar, one byte at a time.
 *
 * A parse is a stack of positions in g->syms: the top is the next symbol to
 * match (always a character set after expansion), each lower entry is where
 * to continue once the rule above it ends. Stacks live in a node arena as
 * parent-linked lists, so the many parses of an ambiguous grammar share their
 * common bottoms; a "head" is (top position, parent node). Matching a code
 * point c advances every head whose set contains c to the next symbol and
 * expands it:
 *   END       -> pop: continue at the parent node's position
 *   REF r     -> push the return position, then one head per alternative of r
 *                (tail call: when the return position is END the parent is
 *                reused, so x* and right recursion do not grow the stack)
 *   CHARS     -> a head
 * A head with an empty stack (ACCEPT) means the text so far is a sentence.
 * Bytes of an unfinished UTF-8 character keep the heads whose set meets the
 * range of code points that still start with those bytes.
 */
#include "grammar/grammar.h"
#include "grammar/token_trie.h"

#include <string.h>

#define NIL UINT32_MAX        /* no parent: the bottom of a stack */
#define ACCEPT UINT32_MAX     /* head position of a finished parse */
#define FAIL (UINT32_MAX - 1) /* new_node: too deep or out of memory */

typedef struct gnode {
  uint32_t pos, parent, depth;
} gnode;

typedef struct ghead {
  uint32_t pos, parent;
} ghead;

/* A UTF-8 character being read: code point bits so far, bytes still needed,
 * and its total length. */
typedef struct u8state {
  uint32_t cp;
  uint8_t need, len;
} u8state;

struct ds_gmatch {
  const ds_grammar *g;
  gnode *nodes;
  uint32_t n_nodes, cap_nodes;
  ghead *heads;               /* the current state: n_heads heads + u */
  uint32_t n_heads;
  u8state u;
  ghead *scratch[2];          /* DS_GMATCH_MAX_HEADS each */
  /* the trie walk: per depth, heads (DS_GMATCH_MAX_HEADS each), count, UTF-8 state, arena mark */
  ghead *walk;
  uint32_t *walk_n, *walk_mark;
  u8state *walk_u;
  size_t walk_levels;
  uint8_t *key;
  size_t key_cap;
  bool oom;
};

/* ---- stacks ------------------------------------------------------------------- */

static uint32_t new_node(ds_gmatch *m, uint32_t pos, uint32_t parent)
{
  uint32_t depth = parent == NIL ? 1 : m->nodes[parent].depth + 1;
  if (depth > DS_GMATCH_MAX_DEPTH) return FAIL;
  if (m->n_nodes == m->cap_nodes) {
    uint32_t cap = m->cap_nodes ? m->cap_nodes * 2 : 256;
    gnode *n = cap > m->cap_nodes ? ds_realloc(m->nodes, (size_t)cap * sizeof *n) : NULL;
    if (!n) { m->oom = true; return FAIL; }
    m->nodes = n;
    m->cap_nodes = cap;
  }
  m->nodes[m->n_nodes] = (gnode){pos, parent, depth};
  return m->n_nodes++;
}

typedef struct sink {
  ghead *h;
  uint32_t n;
  bool overflow;
} sink;

static void push_head(sink *s, uint32_t pos, uint32_t parent)
{
  for (uint32_t i = 0; i < s->n; i++)
    if (s->h[i].pos == pos && s->h[i].parent == parent) return;
  if (s->n == DS_GMATCH_MAX_HEADS) { s->overflow = true; return; }
  s->h[s->n++] = (ghead){pos, parent};
}

/* Expand the parse whose next symbol is syms[pos] into heads. `level` bounds
 * the recursion (finite anyway: the grammar has no left recursion). */
static void expand(ds_gmatch *m, uint32_t pos, uint32_t parent, sink *out, int level)
{
  const ds_grammar *g = m->g;
  for (;;) {
    uint32_t s = g->syms[pos];
    if (DS_GS_KIND(s) == DS_GS_CHARS) { push_head(out, pos, parent); return; }
    if (DS_GS_KIND(s) == DS_GS_END) {
      if (parent == NIL) { push_head(out, ACCEPT, NIL); return; }
      pos = m->nodes[parent].pos;
      parent = m->nodes[parent].parent;
      continue;
    }
    if (level >= DS_GMATCH_MAX_DEPTH) return;
    uint32_t cont = DS_GS_KIND(g->syms[pos + 1]) == DS_GS_END ? parent : new_node(m, pos + 1, parent);
    if (cont == FAIL) return;
    uint32_t r = DS_GS_ARG(s);
    for (uint32_t a = g->rule_alt[r]; a < g->rule_alt[r + 1]; a++) expand(m, g->alt_start[a], cont, out, level + 1);
    return;
  }
}

/* ---- one byte ------------------------------------------------------------------- */

/* Does set cs contain a code point in [lo, hi]? */
static bool set_meets(const ds_grammar *g, const ds_gcharset *cs, uint32_t lo, uint32_t hi)
{
  const uint32_t *r = g->ranges + 2 * (size_t)cs->first;
  for (uint32_t i = 0; i < cs->n; i++) {
    if (cs->negated && r[2 * i] <= lo && r[2 * i + 1] >= hi) return false;   /* all of [lo, hi] excluded */
    if (!cs->negated && r[2 * i] <= hi && r[2 * i + 1] >= lo) return true;
  }
  return cs->negated;
}

static const uint32_t utf8_min[5] = {0, 0, 0x80, 0x800, 0x10000};   /* smallest code point of each length */

/* Advance heads in[0..n_in) in UTF-8 state *u over byte b into out; returns
 * the number of heads (0: b cannot follow). */
static uint32_t step_byte(ds_gmatch *m, const ghead *in, uint32_t n_in, const u8state *u_in, uint8_t b,
                          ghead *out, u8state *u_out)
{
  const ds_grammar *g = m->g;
  u8state u = *u_in;
  if (u.need == 0) {
    /* the second byte's range is not taken from the table: the code point
     * bounds below say the same, intersected with the character sets */
    u.len = ds_utf8_leads[b].len;
    if (!u.len) return 0;
    u.need = u.len - 1;
    u.cp = u.len == 1 ? b : b & (0x7Fu >> u.len);
  } else {
    if ((b & 0xC0) != 0x80) return 0;
    u.cp = (u.cp << 6) | (b & 0x3Fu);
    u.need--;
  }
  if (u.need) {
    /* the characters that start with these bytes form one range */
    uint32_t shift = 6u * u.need;
    uint32_t lo = DS_MAX(u.cp << shift, utf8_min[u.len]);
    uint32_t hi = DS_MIN((u.cp << shift) | ((1u << shift) - 1), 0x10FFFFu);
    if (lo > hi || (lo >= 0xD800 && hi <= 0xDFFF)) return 0;
    uint32_t n = 0;
    for (uint32_t i = 0; i < n_in; i++)
      if (in[i].pos != ACCEPT && set_meets(g, &g->sets[DS_GS_ARG(g->syms[in[i].pos])], lo, hi)) out[n++] = in[i];
    *u_out = u;
    return n;
  }
  uint32_t cp = u.cp;
  if (cp < utf8_min[u.len] || (cp >= 0xD800 && cp <= 0xDFFF) || cp > 0x10FFFF) return 0;
  sink s = {out, 0, false};
  for (uint32_t i = 0; i < n_in; i++) {
    if (in[i].pos == ACCEPT) continue;
    const ds_gcharset *cs = &g->sets[DS_GS_ARG(g->syms[in[i].pos])];
    bool has = cp < 128 ? (cs->ascii[cp >> 6] >> (cp & 63)) & 1 : ds_gcharset_has(g, cs, cp);
    if (has) expand(m, in[i].pos + 1, in[i].parent, &s, 0);
  }
  *u_out = (u8state){0, 0, 0};
  /* more live parses than the bound: refuse rather than drop some silently */
  return s.overflow ? 0 : s.n;
}

/* ---- state ---------------------------------------------------------------------------- */

dseek_status ds_gmatch_create(const ds_grammar *g, ds_gmatch **out)
{
  if (!g || !out) return ds_error(DSEEK_ERR_INVALID_ARG, "grammar matcher: grammar and out must not be NULL");
  ds_gmatch *m = ds_calloc(1, sizeof *m);
  if (!m) return ds_error(DSEEK_ERR_NO_MEMORY, "grammar matcher: out of memory");
  m->g = g;
  m->heads = ds_malloc(DS_GMATCH_MAX_HEADS * sizeof *m->heads);
  m->scratch[0] = ds_malloc(DS_GMATCH_MAX_HEADS * sizeof *m->heads);
  m->scratch[1] = ds_malloc(DS_GMATCH_MAX_HEADS * sizeof *m->heads);
  if (!m->heads || !m->scratch[0] || !m->scratch[1]) {
    ds_gmatch_free(m);
    return ds_error(DSEEK_ERR_NO_MEMORY, "grammar matcher: out of memory");
  }
  ds_gmatch_reset(m);
  if (m->oom) {
    ds_gmatch_free(m);
    return ds_error(DSEEK_ERR_NO_MEMORY, "grammar matcher: out of memory");
  }
  *out = m;
  return DSEEK_OK;
}

void ds_gmatch_free(ds_gmatch *m)
{
  if (!m) return;
  ds_free(m->nodes);
  ds_free(m->heads);
  ds_free(m->scratch[0]);
  ds_free(m->scratch[1]);
  ds_free(m->walk);
  ds_free(m->walk_n);
  ds_free(m->walk_mark);
  ds_free(m->walk_u);
  ds_free(m->key);
  ds_free(m);
}

void ds_gmatch_reset(ds_gmatch *m)
{
  const ds_grammar *g = m->g;
  m->n_nodes = 0;
  m->u = (u8state){0, 0, 0};
  sink s = {m->heads, 0, false};
  for (uint32_t a = g->rule_alt[g->root]; a < g->rule_alt[g->root + 1]; a++) expand(m, g->alt_start[a], NIL, &s, 0);
  m->n_heads = s.n;
}

/* Keep only the nodes the heads reach, merging equal stacks (same position
 * over the same parent), so the arena does not grow with the text. */
static bool compact(ds_gmatch *m)
{
  uint32_t n = m->n_nodes;
  if (n == 0) return true;
  uint32_t *remap = ds_malloc((size_t)n * sizeof *remap);
  uint32_t hcap = 16;
  while (hcap < 2 * n) hcap *= 2;
  uint32_t *hash = ds_malloc((size_t)hcap * sizeof *hash);
  gnode *fresh = ds_malloc((size_t)n * sizeof *fresh);
  uint32_t *chain = ds_malloc((size_t)(DS_GMATCH_MAX_DEPTH + 1) * sizeof *chain);
  if (!remap || !hash || !fresh || !chain) {
    ds_free(remap); ds_free(hash); ds_free(fresh); ds_free(chain);
    return false;
  }
  memset(remap, 0xFF, (size_t)n * sizeof *remap);
  memset(hash, 0xFF, (size_t)hcap * sizeof *hash);
  uint32_t n_fresh = 0;
  for (uint32_t h = 0; h < m->n_heads; h++) {
    /* collect the unmapped part of this head's stack, then map it bottom-up */
    uint32_t len = 0;
    for (uint32_t x = m->heads[h].parent; x != NIL && remap[x] == NIL; x = m->nodes[x].parent) chain[len++] = x;
    while (len) {
      uint32_t x = chain[--len];
      uint32_t parent = m->nodes[x].parent == NIL ? NIL : remap[m->nodes[x].parent];
      uint32_t pos = m->nodes[x].pos;
      uint32_t k = (pos * 0x9E3779B1u ^ parent * 0x85EBCA77u) & (hcap - 1);
      while (hash[k] != NIL && !(fresh[hash[k]].pos == pos && fresh[hash[k]].parent == parent)) k = (k + 1) & (hcap - 1);
      if (hash[k] == NIL) {
        fresh[n_fresh] = (gnode){pos, parent, parent == NIL ? 1 : fresh[parent].depth + 1};
        hash[k] = n_fresh++;
      }
      remap[x] = hash[k];
    }
  }
  uint32_t kept = 0;
  for (uint32_t h = 0; h < m->n_heads; h++) {
    ghead nh = {m->heads[h].pos, m->heads[h].parent == NIL ? NIL : remap[m->heads[h].parent]};
    bool dup = false;
    for (uint32_t i = 0; i < kept && !dup; i++) dup = m->heads[i].pos == nh.pos && m->heads[i].parent == nh.parent;
    if (!dup) m->heads[kept++] = nh;
  }
  m->n_heads = kept;
  memcpy(m->nodes, fresh, (size_t)n_fresh * sizeof *fresh);
  m->n_nodes = n_fresh;
  ds_free(remap);
  ds_free(hash);
  ds_free(fresh);
  ds_free(chain);
  return true;
}

bool ds_gmatch_accept(ds_gmatch *m, const char *bytes, size_t n, dseek_status *st)
{
  *st = DSEEK_OK;
  uint32_t base = m->n_nodes;
  const ghead *cur = m->heads;
  uint32_t n_cur = m->n_heads;
  u8state u = m->u;
  for (size_t i = 0; i < n; i++) {
    ghead *next = m->scratch[i & 1];
    n_cur = step_byte(m, cur, n_cur, &u, (uint8_t)bytes[i], next, &u);
    cur = next;
    if (n_cur == 0) break;
  }
  if (m->oom) {
    m->oom = false;
    m->n_nodes = base;
    *st = ds_error(DSEEK_ERR_NO_MEMORY, "grammar matcher: out of memory");
    return false;
  }
  if (n_cur == 0) { m->n_nodes = base; return false; }
  if (cur != m->heads) memcpy(m->heads, cur, (size_t)n_cur * sizeof *cur);
  m->n_heads = n_cur;
  m->u = u;
  if (!compact(m)) { *st = ds_error(DSEEK_ERR_NO_MEMORY, "grammar matcher: out of memory"); return false; }
  return true;
}

bool ds_gmatch_can_end(const ds_gmatch *m)
{
  if (m->u.need) return false;
  for (uint32_t i = 0; i < m->n_heads; i++)
    if (m->heads[i].pos == ACCEPT) return true;
  return false;
}

bool ds_gmatch_must_end(const ds_gmatch *m)
{
  if (m->u.need) return false;
  for (uint32_t i = 0; i < m->n_heads; i++)
    if (m->heads[i].pos != ACCEPT) return false;
  return true;
}

/* Serialise the state: the UTF-8 state, then each head's stack top-down. */
const uint8_t *ds_gmatch_key(ds_gmatch *m, size_t *len)
{
  size_t need = 8;
  for (uint32_t h = 0; h < m->n_heads; h++) {
    need += 8;
    for (uint32_t x = m->heads[h].parent; x != NIL; x = m->nodes[x].parent) need += 4;
  }
  if (need > m->key_cap) {
    uint8_t *k = ds_realloc(m->key, need * 2);
    if (!k) return NULL;
    m->key = k;
    m->key_cap = need * 2;
  }
  uint32_t *w = (uint32_t *)(void *)m->key;
  size_t i = 0;
  w[i++] = m->u.cp;
  w[i++] = (uint32_t)m->u.need << 8 | m->u.len;
  for (uint32_t h = 0; h < m->n_heads; h++) {
    w[i++] = m->heads[h].pos;
    for (uint32_t x = m->heads[h].parent; x != NIL; x = m->nodes[x].parent) w[i++] = m->nodes[x].pos;
    w[i++] = NIL;
  }
  *len = i * 4;
  return m->key;
}

/* ---- allowed tokens --------------------------------------------------------------------- */

dseek_status ds_gmatch_mask(ds_gmatch *m, const ds_token_trie *t, int64_t n_vocab, uint64_t *mask)
{
  memset(mask, 0, (size_t)((n_vocab + 63) / 64) * sizeof *mask);
  size_t levels = (size_t)t->max_depth + 1;
  if (levels > m->walk_levels) {
    ds_free(m->walk); ds_free(m->walk_n); ds_free(m->walk_mark); ds_free(m->walk_u);
    m->walk = ds_malloc(levels * DS_GMATCH_MAX_HEADS * sizeof *m->walk);
    m->walk_n = ds_malloc(levels * sizeof *m->walk_n);
    m->walk_mark = ds_malloc(levels * sizeof *m->walk_mark);
    m->walk_u = ds_malloc(levels * sizeof *m->walk_u);
    m->walk_levels = levels;
    if (!m->walk || !m->walk_n || !m->walk_mark || !m->walk_u) {
      m->walk_levels = 0;
      return ds_error(DSEEK_ERR_NO_MEMORY, "grammar: out of memory");
    }
  }
  if (ds_gmatch_can_end(m))
    for (int64_t i = 0; i < t->n_eog; i++)
      if (t->eog[i] < n_vocab) mask[t->eog[i] >> 6] |= 1ull << (t->eog[i] & 63);
  uint32_t base = m->n_nodes;
  memcpy(m->walk, m->heads, (size_t)m->n_heads * sizeof *m->heads);
  m->walk_n[0] = m->n_heads;
  m->walk_u[0] = m->u;
  m->walk_mark[0] = base;
  /* Preorder walk: a node's state comes from its parent's (depth - 1); a
   * rejected byte skips the node's whole subtree. */
  for (int64_t i = 0; i < t->n_nodes;) {
    const ds_trie_node *nd = &t->nodes[i];
    uint32_t d = nd->depth;
    m->n_nodes = m->walk_mark[d - 1];
    uint32_t n = step_byte(m, m->walk + (size_t)(d - 1) * DS_GMATCH_MAX_HEADS, m->walk_n[d - 1], &m->walk_u[d - 1],
                           nd->byte, m->walk + (size_t)d * DS_GMATCH_MAX_HEADS, &m->walk_u[d]);
    if (n == 0) { i = nd->next; continue; }
    m->walk_n[d] = n;
    m->walk_mark[d] = m->n_nodes;
    for (uint32_t k = 0; k < nd->n_tok; k++) {
      int32_t tok = t->toks[nd->tok_first + k];
      if (tok < n_vocab) mask[tok >> 6] |= 1ull << (tok & 63);
    }
    i++;
  }
  m->n_nodes = base;
  if (m->oom) {
    m->oom = false;
    return ds_error(DSEEK_ERR_NO_MEMORY, "grammar: out of memory");
  }
  return DSEEK_OK;
}
