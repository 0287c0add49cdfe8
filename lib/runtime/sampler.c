/*
 * sampler.c — the sampler chain: penalties, logit bias, top-k, top-p, min-p,
 * temperature, greedy, grammar, then a seeded draw.
 *
 * Candidates are (token, logit) pairs. Stages narrow or reshape them; the draw
 * takes p_i = exp(l_i - max) / sum_j exp(l_j - max) over what is left. Ties are
 * broken by the lower token id everywhere, so results do not depend on qsort.
 * The random generator is xoshiro256** seeded through splitmix64: portable
 * and identical on every machine.
 */
#include "core/ds.h"
#include "grammar/grammar.h"
#include "runtime/sampler.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

typedef enum stage_kind {
  STAGE_PENALTIES,
  STAGE_LOGIT_BIAS,
  STAGE_TOP_K,
  STAGE_TOP_P,
  STAGE_MIN_P,
  STAGE_TEMPERATURE,
  STAGE_GREEDY,
  STAGE_GRAMMAR,
} stage_kind;

typedef struct bias_entry {
  int32_t token;
  float bias;
} bias_entry;

typedef struct stage {
  stage_kind kind;
  int32_t n;            /* top_k: k; penalties: last_n; logit bias: entry count */
  float a, b, c;        /* top_p/min_p: p; temperature; penalties: repeat, frequency, presence */
  bias_entry *biases;   /* logit bias entries (owned) */
  ds_constraint *con;   /* grammar (owned) */
} stage;

typedef struct candidate {
  int32_t token;
  float logit;
} candidate;

struct dseek_sampler {
  stage *stages;
  int n_stages, cap_stages;
  uint64_t rng[4];
  int32_t *history;     /* ring buffer of the last history_cap tokens */
  int64_t history_cap, history_len, history_head;
  candidate *cands;     /* scratch, grown to the vocabulary size */
  int64_t cands_cap;
  int32_t *counts;      /* scratch for penalties, n_vocab entries, kept zeroed */
  int64_t counts_cap;
};

/* ---- random generator ---------------------------------------------------- */

static uint64_t splitmix64(uint64_t *x)
{
  uint64_t z = (*x += 0x9E3779B97F4A7C15ull);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}

static void rng_seed(uint64_t s[4], uint64_t seed)
{
  for (int i = 0; i < 4; i++) s[i] = splitmix64(&seed);
}

static inline uint64_t rotl(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }

static uint64_t rng_next(uint64_t s[4])
{
  uint64_t result = rotl(s[1] * 5, 7) * 9;
  uint64_t t = s[1] << 17;
  s[2] ^= s[0];
  s[3] ^= s[1];
  s[1] ^= s[2];
  s[0] ^= s[3];
  s[2] ^= t;
  s[3] = rotl(s[3], 45);
  return result;
}

/* Uniform in [0, 1) with 53 random bits. */
static double rng_uniform(uint64_t s[4]) { return (double)(rng_next(s) >> 11) * 0x1p-53; }

/* ---- chain construction -------------------------------------------------- */

dseek_status dseek_sampler_create(uint64_t seed, dseek_sampler **out)
{
  if (!out) return ds_error(DSEEK_ERR_INVALID_ARG, "dseek_sampler_create: out is NULL");
  dseek_sampler *s = ds_calloc(1, sizeof *s);
  if (!s) return ds_error(DSEEK_ERR_NO_MEMORY, "dseek_sampler_create: out of memory");
  rng_seed(s->rng, seed);
  *out = s;
  return DSEEK_OK;
}

void dseek_sampler_free(dseek_sampler *s)
{
  if (!s) return;
  for (int i = 0; i < s->n_stages; i++) {
    ds_free(s->stages[i].biases);
    ds_constraint_free(s->stages[i].con);
  }
  ds_free(s->stages);
  ds_free(s->history);
  ds_free(s->cands);
  ds_free(s->counts);
  ds_free(s);
}

static dseek_status push_stage(dseek_sampler *s, stage st, const char *fn)
{
  if (s->n_stages == s->cap_stages) {
    int cap = s->cap_stages ? s->cap_stages * 2 : 8;
    stage *p = ds_realloc(s->stages, (size_t)cap * sizeof *p);
    if (!p) return ds_error(DSEEK_ERR_NO_MEMORY, "%s: out of memory", fn);
    s->stages = p;
    s->cap_stages = cap;
  }
  s->stages[s->n_stages++] = st;
  return DSEEK_OK;
}

dseek_status dseek_sampler_add_penalties(dseek_sampler *s, int32_t last_n, float repeat,
                                         float frequency, float presence)
{
  static const char fn[] = "dseek_sampler_add_penalties";
  if (!s) return ds_error(DSEEK_ERR_INVALID_ARG, "%s: sampler is NULL", fn);
  if (last_n < 0 || !(repeat > 0) || !isfinite(repeat) || !isfinite(frequency) || !isfinite(presence))
    return ds_error(DSEEK_ERR_INVALID_ARG,
                    "%s: need last_n >= 0, repeat > 0 and finite values (got %d, %g, %g, %g)", fn,
                    (int)last_n, (double)repeat, (double)frequency, (double)presence);
  if (last_n > s->history_cap) {
    /* Grow the ring buffer, keeping the most recent tokens in order. */
    int32_t *h = ds_malloc((size_t)last_n * sizeof *h);
    if (!h) return ds_error(DSEEK_ERR_NO_MEMORY, "%s: out of memory", fn);
    for (int64_t i = 0; i < s->history_len; i++)
      h[i] = s->history[(s->history_head + i) % s->history_cap];
    ds_free(s->history);
    s->history = h;
    s->history_cap = last_n;
    s->history_head = 0;
  }
  return push_stage(s, (stage){.kind = STAGE_PENALTIES, .n = last_n, .a = repeat, .b = frequency, .c = presence}, fn);
}

dseek_status dseek_sampler_add_logit_bias(dseek_sampler *s, int32_t token, float bias)
{
  static const char fn[] = "dseek_sampler_add_logit_bias";
  if (!s) return ds_error(DSEEK_ERR_INVALID_ARG, "%s: sampler is NULL", fn);
  if (token < 0 || isnan(bias) || bias == INFINITY)
    return ds_error(DSEEK_ERR_INVALID_ARG, "%s: bad token %d or bias %g", fn, (int)token, (double)bias);
  stage *last = s->n_stages ? &s->stages[s->n_stages - 1] : NULL;
  if (!last || last->kind != STAGE_LOGIT_BIAS) {
    dseek_status st = push_stage(s, (stage){.kind = STAGE_LOGIT_BIAS}, fn);
    if (st) return st;
    last = &s->stages[s->n_stages - 1];
  }
  bias_entry *b = ds_realloc(last->biases, (size_t)(last->n + 1) * sizeof *b);
  if (!b) return ds_error(DSEEK_ERR_NO_MEMORY, "%s: out of memory", fn);
  b[last->n++] = (bias_entry){token, bias};
  last->biases = b;
  return DSEEK_OK;
}

dseek_status dseek_sampler_add_top_k(dseek_sampler *s, int32_t k)
{
  if (!s || k < 1)
    return ds_error(DSEEK_ERR_INVALID_ARG, "dseek_sampler_add_top_k: need a sampler and k >= 1 (got %d)", (int)k);
  return push_stage(s, (stage){.kind = STAGE_TOP_K, .n = k}, "dseek_sampler_add_top_k");
}

dseek_status dseek_sampler_add_top_p(dseek_sampler *s, float p)
{
  if (!s || !(p > 0.0f && p <= 1.0f))
    return ds_error(DSEEK_ERR_INVALID_ARG, "dseek_sampler_add_top_p: need a sampler and 0 < p <= 1 (got %g)", (double)p);
  return push_stage(s, (stage){.kind = STAGE_TOP_P, .a = p}, "dseek_sampler_add_top_p");
}

dseek_status dseek_sampler_add_min_p(dseek_sampler *s, float p)
{
  if (!s || !(p >= 0.0f && p <= 1.0f))
    return ds_error(DSEEK_ERR_INVALID_ARG, "dseek_sampler_add_min_p: need a sampler and 0 <= p <= 1 (got %g)", (double)p);
  return push_stage(s, (stage){.kind = STAGE_MIN_P, .a = p}, "dseek_sampler_add_min_p");
}

dseek_status dseek_sampler_add_temperature(dseek_sampler *s, float t)
{
  if (!s || !(t >= 0.0f) || !isfinite(t))
    return ds_error(DSEEK_ERR_INVALID_ARG, "dseek_sampler_add_temperature: need a sampler and a finite temperature >= 0 (got %g)", (double)t);
  return push_stage(s, (stage){.kind = STAGE_TEMPERATURE, .a = t}, "dseek_sampler_add_temperature");
}

dseek_status dseek_sampler_add_greedy(dseek_sampler *s)
{
  if (!s) return ds_error(DSEEK_ERR_INVALID_ARG, "dseek_sampler_add_greedy: sampler is NULL");
  return push_stage(s, (stage){.kind = STAGE_GREEDY}, "dseek_sampler_add_greedy");
}

dseek_status dseek_sampler_add_grammar(dseek_sampler *s, const dseek_model *model, const char *gbnf, const char *root)
{
  static const char fn[] = "dseek_sampler_add_grammar";
  if (!s || !model || !gbnf) return ds_error(DSEEK_ERR_INVALID_ARG, "%s: sampler, model and grammar must not be NULL", fn);
  ds_grammar *g = NULL;
  dseek_status st = ds_grammar_compile(gbnf, strlen(gbnf), root, &g);
  stage sg = {.kind = STAGE_GRAMMAR};
  if (!st) st = ds_constraint_create(model, g, NULL, false, &sg.con);
  ds_grammar_free(g);
  if (!st && (st = push_stage(s, sg, fn))) ds_constraint_free(sg.con);
  return st;
}

/* Advance every grammar stage over tok (false: a stage refused it). */
static dseek_status grammar_accept(dseek_sampler *s, int32_t tok, const char *fn)
{
  for (int i = 0; i < s->n_stages; i++) {
    if (!s->stages[i].con) continue;
    bool ok;
    dseek_status st = ds_constraint_accept(s->stages[i].con, tok, &ok);
    if (st) return st;
    if (!ok) return ds_error(DSEEK_ERR_INVALID_ARG, "%s: token %d does not continue the grammar", fn, (int)tok);
  }
  return DSEEK_OK;
}

bool ds_sampler_has_grammar(const dseek_sampler *s)
{
  for (int i = 0; s && i < s->n_stages; i++)
    if (s->stages[i].con) return true;
  return false;
}

dseek_status dseek_sampler_clone(const dseek_sampler *s, uint64_t seed, dseek_sampler **out)
{
  static const char fn[] = "dseek_sampler_clone";
  if (!s || !out) return ds_error(DSEEK_ERR_INVALID_ARG, "%s: sampler and out must not be NULL", fn);
  dseek_sampler *c = NULL;
  dseek_status st = dseek_sampler_create(seed, &c);
  for (int i = 0; i < s->n_stages && !st; i++) {
    stage st_copy = s->stages[i];
    st_copy.biases = NULL;
    if (s->stages[i].n && s->stages[i].kind == STAGE_LOGIT_BIAS) {
      st_copy.biases = ds_malloc((size_t)s->stages[i].n * sizeof *st_copy.biases);
      if (!st_copy.biases) { st = ds_error(DSEEK_ERR_NO_MEMORY, "%s: out of memory", fn); break; }
      memcpy(st_copy.biases, s->stages[i].biases, (size_t)s->stages[i].n * sizeof *st_copy.biases);
    }
    st_copy.con = NULL;
    if (s->stages[i].con && (st = ds_constraint_clone(s->stages[i].con, &st_copy.con))) break;
    if ((st = push_stage(c, st_copy, fn))) {
      ds_free(st_copy.biases);
      ds_constraint_free(st_copy.con);
    }
  }
  if (!st && s->history_cap) {
    c->history = ds_malloc((size_t)s->history_cap * sizeof *c->history);
    if (!c->history) st = ds_error(DSEEK_ERR_NO_MEMORY, "%s: out of memory", fn);
    else c->history_cap = s->history_cap;
  }
  if (st) { dseek_sampler_free(c); return st; }
  *out = c;
  return DSEEK_OK;
}

/* ---- history ------------------------------------------------------------- */

static void history_push(dseek_sampler *s, int32_t token)
{
  if (s->history_cap == 0) return;
  int64_t pos = (s->history_head + s->history_len) % s->history_cap;
  s->history[pos] = token;
  if (s->history_len < s->history_cap) s->history_len++;
  else s->history_head = (s->history_head + 1) % s->history_cap;
}

dseek_status dseek_sampler_accept(dseek_sampler *s, int32_t token)
{
  if (!s || token < 0)
    return ds_error(DSEEK_ERR_INVALID_ARG, "dseek_sampler_accept: need a sampler and a token >= 0");
  dseek_status st = grammar_accept(s, token, "dseek_sampler_accept");
  if (st) return st;
  history_push(s, token);
  return DSEEK_OK;
}

dseek_status dseek_sampler_reset(dseek_sampler *s, uint64_t seed)
{
  if (!s) return ds_error(DSEEK_ERR_INVALID_ARG, "dseek_sampler_reset: sampler is NULL");
  s->history_len = 0;
  s->history_head = 0;
  rng_seed(s->rng, seed);
  for (int i = 0; i < s->n_stages; i++)
    if (s->stages[i].con) ds_constraint_reset(s->stages[i].con);
  return DSEEK_OK;
}

/* ---- stages -------------------------------------------------------------- */

/* Order: larger logit first, then lower token id. */
static int cand_cmp(const void *pa, const void *pb)
{
  const candidate *a = pa, *b = pb;
  if (a->logit != b->logit) return a->logit > b->logit ? -1 : 1;
  return (a->token > b->token) - (a->token < b->token);
}

static inline bool cand_before(const candidate *a, const candidate *b)
{
  return a->logit > b->logit || (a->logit == b->logit && a->token < b->token);
}

/* Rearrange c[0..n) so that its first m entries are the m best, sorted.
 * Quickselect around the m-th element, then sort the prefix: O(n + m log m). */
static void sort_prefix(candidate *c, int64_t n, int64_t m)
{
  if (m >= n) { qsort(c, (size_t)n, sizeof *c, cand_cmp); return; }
  int64_t lo = 0, hi = n - 1;
  while (lo < hi) {
    candidate pivot = c[lo + (hi - lo) / 2];
    int64_t i = lo, j = hi;
    while (i <= j) {
      while (cand_before(&c[i], &pivot)) i++;
      while (cand_before(&pivot, &c[j])) j--;
      if (i <= j) { candidate t = c[i]; c[i] = c[j]; c[j] = t; i++; j--; }
    }
    if (m - 1 <= j) hi = j;
    else if (m - 1 >= i) lo = i;
    else break;
  }
  qsort(c, (size_t)m, sizeof *c, cand_cmp);
}

static int64_t best_index(const candidate *c, int64_t n)
{
  int64_t best = 0;
  for (int64_t i = 1; i < n; i++)
    if (cand_before(&c[i], &c[best])) best = i;
  return best;
}

static float max_logit(const candidate *c, int64_t n)
{
  float m = -INFINITY;
  for (int64_t i = 0; i < n; i++) m = c[i].logit > m ? c[i].logit : m;
  return m;
}

static void apply_penalties(dseek_sampler *s, const stage *st, candidate *c, int64_t n, int64_t n_vocab)
{
  int64_t last = DS_MIN((int64_t)st->n, s->history_len);
  if (last == 0) return;
  /* counts[] is indexed by token id and zero outside this function. */
  for (int64_t i = s->history_len - last; i < s->history_len; i++) {
    int32_t t = s->history[(s->history_head + i) % s->history_cap];
    if (t < n_vocab) s->counts[t]++;
  }
  for (int64_t i = 0; i < n; i++) {
    int32_t cnt = s->counts[c[i].token];
    if (cnt == 0) continue;
    float l = c[i].logit;
    l = l > 0 ? l / st->a : l * st->a;
    c[i].logit = l - (float)cnt * st->b - st->c;
  }
  for (int64_t i = s->history_len - last; i < s->history_len; i++) {
    int32_t t = s->history[(s->history_head + i) % s->history_cap];
    if (t < n_vocab) s->counts[t] = 0;
  }
}

/* Keep the smallest prefix (in probability order) whose mass reaches p. */
static int64_t apply_top_p(candidate *c, int64_t n, float p)
{
  float mx = max_logit(c, n);
  double total = 0;
  for (int64_t i = 0; i < n; i++) total += exp((double)(c[i].logit - mx));
  int64_t m = DS_MIN(n, 64);
  for (;;) {
    sort_prefix(c, n, m);
    double cum = 0;
    for (int64_t i = 0; i < m; i++) {
      cum += exp((double)(c[i].logit - mx));
      if (cum >= (double)p * total) return i + 1;
    }
    if (m == n) return n;
    m = DS_MIN(n, m * 4);
  }
}

/* Apply the chain to logits: the surviving candidates are s->cands[0..*n_out),
 * *greedy_out tells whether the chain ends in greedy selection. */
static dseek_status filter(dseek_sampler *s, const float *logits, int64_t n_vocab, const char *fn, int64_t *n_out,
                           bool *greedy_out)
{
  if (!s || !logits || n_vocab < 1 || n_vocab > INT32_MAX)
    return ds_error(DSEEK_ERR_INVALID_ARG, "%s: need a sampler, logits, token and 1 <= n_vocab < 2^31", fn);
  if (n_vocab > s->cands_cap) {
    candidate *c = ds_malloc((size_t)n_vocab * sizeof *c);
    if (!c) return ds_error(DSEEK_ERR_NO_MEMORY, "%s: out of memory", fn);
    ds_free(s->cands);
    s->cands = c;
    s->cands_cap = n_vocab;
  }
  bool has_penalties = false;
  for (int i = 0; i < s->n_stages; i++) {
    const stage *st = &s->stages[i];
    if (st->kind == STAGE_PENALTIES) has_penalties = true;
    if (st->kind == STAGE_LOGIT_BIAS)
      for (int32_t k = 0; k < st->n; k++)
        if (st->biases[k].token >= n_vocab)
          return ds_error(DSEEK_ERR_INVALID_ARG, "%s: logit bias token %d >= n_vocab %lld", fn,
                          (int)st->biases[k].token, (long long)n_vocab);
  }
  if (has_penalties && n_vocab > s->counts_cap) {
    int32_t *cnt = ds_calloc((size_t)n_vocab, sizeof *cnt);
    if (!cnt) return ds_error(DSEEK_ERR_NO_MEMORY, "%s: out of memory", fn);
    ds_free(s->counts);
    s->counts = cnt;
    s->counts_cap = n_vocab;
  }

  candidate *c = s->cands;
  for (int64_t i = 0; i < n_vocab; i++) {
    if (isnan(logits[i])) return ds_error(DSEEK_ERR_INVALID_ARG, "%s: logit %lld is NaN", fn, (long long)i);
    c[i] = (candidate){(int32_t)i, logits[i]};
  }
  int64_t n = n_vocab;
  bool greedy = false;

  /* Grammars first, wherever they were added: every later stage sees only
   * tokens that continue the grammar. */
  for (int i = 0; i < s->n_stages; i++) {
    ds_constraint *con = s->stages[i].con;
    if (!con || !ds_constraint_active(con)) continue;
    const uint64_t *mask;
    dseek_status e = ds_constraint_mask(con, n_vocab, &mask);
    if (e) return ds_error_prefix(e, "%s", fn);
    for (int64_t j = 0; j < n; j++)
      if (!((mask[j >> 6] >> (j & 63)) & 1)) c[j].logit = -INFINITY;
  }

  for (int i = 0; i < s->n_stages && !greedy; i++) {
    const stage *st = &s->stages[i];
    switch (st->kind) {
    case STAGE_PENALTIES:
      apply_penalties(s, st, c, n, n_vocab);
      break;
    case STAGE_LOGIT_BIAS:
      /* Candidates are still indexed by token unless a narrowing stage ran. */
      for (int32_t k = 0; k < st->n; k++)
        for (int64_t j = 0; j < n; j++)
          if (c[j].token == st->biases[k].token) { c[j].logit += st->biases[k].bias; break; }
      break;
    case STAGE_TOP_K:
      if (st->n < n) { sort_prefix(c, n, st->n); n = st->n; }
      break;
    case STAGE_TOP_P:
      n = apply_top_p(c, n, st->a);
      break;
    case STAGE_MIN_P: {
      /* p_i >= p * p_max  <=>  l_i >= l_max + ln(p) */
      float bound = max_logit(c, n) + logf(st->a);
      int64_t kept = 0;
      for (int64_t j = 0; j < n; j++)
        if (c[j].logit >= bound) c[kept++] = c[j];
      n = kept ? kept : n;
      break;
    }
    case STAGE_TEMPERATURE:
      if (st->a == 0.0f) greedy = true;
      else for (int64_t j = 0; j < n; j++) c[j].logit /= st->a;
      break;
    case STAGE_GREEDY:
      greedy = true;
      break;
    case STAGE_GRAMMAR:   /* applied above */
      break;
    }
  }

  *n_out = n;
  *greedy_out = greedy;
  return DSEEK_OK;
}

dseek_status dseek_sampler_sample(dseek_sampler *s, const float *logits, int64_t n_vocab, int32_t *token)
{
  static const char fn[] = "dseek_sampler_sample";
  if (!token) return ds_error(DSEEK_ERR_INVALID_ARG, "%s: token is NULL", fn);
  int64_t n;
  bool greedy;
  dseek_status st = filter(s, logits, n_vocab, fn, &n, &greedy);
  if (st) return st;
  candidate *c = s->cands;
  float mx = max_logit(c, n);
  if (mx == -INFINITY) return ds_error(DSEEK_ERR_INVALID_ARG, "%s: every candidate has probability 0", fn);
  int64_t pick;
  if (greedy || n == 1) {
    pick = best_index(c, n);
  } else {
    double total = 0;
    for (int64_t j = 0; j < n; j++) total += exp((double)(c[j].logit - mx));
    double u = rng_uniform(s->rng) * total, cum = 0;
    pick = -1;
    for (int64_t j = 0; j < n; j++) {
      double w = exp((double)(c[j].logit - mx));
      if (w == 0) continue;
      cum += w;
      pick = j;
      if (u < cum) break;
    }
  }
  if ((st = grammar_accept(s, c[pick].token, fn))) return st;
  *token = c[pick].token;
  history_push(s, *token);
  return DSEEK_OK;
}

/* ---- distributions (speculative decoding) ---------------------------------- */

dseek_status ds_sampler_dist(dseek_sampler *s, const float *logits, int64_t n_vocab, float *probs, bool *greedy)
{
  static const char fn[] = "speculative sampling";
  int64_t n;
  dseek_status st = filter(s, logits, n_vocab, fn, &n, greedy);
  if (st) return st;
  candidate *c = s->cands;
  memset(probs, 0, (size_t)n_vocab * sizeof *probs);
  float mx = max_logit(c, n);
  if (mx == -INFINITY) return ds_error(DSEEK_ERR_INVALID_ARG, "%s: every candidate has probability 0", fn);
  if (*greedy || n == 1) {
    probs[c[best_index(c, n)].token] = 1.0f;
    return DSEEK_OK;
  }
  double total = 0;
  for (int64_t j = 0; j < n; j++) total += exp((double)(c[j].logit - mx));
  for (int64_t j = 0; j < n; j++) probs[c[j].token] = (float)(exp((double)(c[j].logit - mx)) / total);
  return DSEEK_OK;
}

double ds_sampler_uniform(dseek_sampler *s) { return rng_uniform(s->rng); }

int32_t ds_argmax(const float *x, int64_t n)
{
  int32_t best = 0;
  for (int64_t i = 1; i < n; i++) if (x[i] > x[best]) best = (int32_t)i;
  return best;
}

int32_t ds_sampler_draw(dseek_sampler *s, const float *probs, int64_t n_vocab)
{
  double total = 0;
  for (int64_t i = 0; i < n_vocab; i++) total += probs[i];
  double u = rng_uniform(s->rng) * total, cum = 0;
  int32_t pick = 0;
  for (int64_t i = 0; i < n_vocab; i++) {
    if (probs[i] <= 0) continue;
    cum += probs[i];
    pick = (int32_t)i;
    if (u < cum) break;
  }
  return pick;
}

bool ds_sampler_uses_history(const dseek_sampler *s)
{
  for (int i = 0; i < s->n_stages; i++)
    if (s->stages[i].kind == STAGE_PENALTIES && s->stages[i].n > 0) return true;
  return false;
}
