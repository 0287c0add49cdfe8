/*
 * gbnf_parse.c — the GBNF compiler: text -> ds_grammar (subset in grammar.h).
 *
 * Groups and repetitions become generated rules, so the compiled grammar has
 * only rule references and character sets:
 *   x*      -> S ::= x S | ""                 x+ -> x S
 *   x?      -> R ::= x | ""
 *   x{m,n}  -> x ... x (m times) R_{n-m}, R_k ::= x R_{k-1} | "", R_1 ::= x | ""
 *   x{m,}   -> x ... x (m times) S
 * A literal is a sequence of one-code-point sets. After parsing: every
 * referenced rule must be defined, the start rule must exist, and no rule may
 * reach itself through a leftmost chain of nullable symbols (left recursion,
 * which would make the matcher's expansion loop).
 */
#include "grammar/grammar.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_SYMS (1u << 22)     /* compiled symbols: bounds memory and compile time */
#define MAX_REPEAT 10000        /* m and n of {m,n} */
#define NO_SET UINT32_MAX

typedef struct u32vec {
  uint32_t *v;
  size_t n, cap;
} u32vec;

typedef struct prule {
  char *name;
  int line, col;          /* definition (or first reference while undefined) */
  bool defined;
  u32vec *alts;
  size_t n_alts, cap_alts;
} prule;

typedef struct pset {
  uint32_t first, n;
  bool negated;
} pset;

typedef struct parser {
  const char *src, *p, *end;
  prule *rules;
  size_t n_rules, cap_rules;
  pset *sets;
  size_t n_sets, cap_sets;
  u32vec ranges;            /* lo, hi pairs */
  uint32_t ascii_set[128];  /* set id of each single ASCII character, NO_SET if none yet */
  size_t total;             /* symbols so far */
  dseek_status st;          /* first error */
} parser;

/* ---- helpers ----------------------------------------------------------------- */

static bool vpush(u32vec *a, uint32_t x)
{
  if (a->n == a->cap) {
    size_t cap = a->cap ? a->cap * 2 : 8;
    uint32_t *v = ds_realloc(a->v, cap * sizeof *v);
    if (!v) return false;
    a->v = v;
    a->cap = cap;
  }
  a->v[a->n++] = x;
  return true;
}

static void position(const parser *ps, const char *at, int *line, int *col)
{
  *line = 1;
  *col = 1;
  for (const char *q = ps->src; q < at; q++) {
    if (*q == '\n') { ++*line; *col = 1; }
    else ++*col;
  }
}

static DS_PRINTF(3, 4) void fail(parser *ps, const char *at, const char *fmt, ...)
{
  if (ps->st) return;
  char msg[256];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(msg, sizeof msg, fmt, ap);
  va_end(ap);
  int line, col;
  position(ps, at, &line, &col);
  ps->st = ds_error(DSEEK_ERR_FORMAT, "grammar: line %d column %d: %s", line, col, msg);
}

static void oom(parser *ps)
{
  if (!ps->st) ps->st = ds_error(DSEEK_ERR_NO_MEMORY, "grammar: out of memory");
}

static bool push_sym(parser *ps, u32vec *seq, uint32_t sym, const char *at)
{
  if (++ps->total > MAX_SYMS) { fail(ps, at, "the grammar expands to more than %u symbols", MAX_SYMS); return false; }
  if (!vpush(seq, sym)) { oom(ps); return false; }
  return true;
}

/* ---- rules --------------------------------------------------------------------- */

static int64_t add_rule(parser *ps, const char *name, size_t len, const char *at)
{
  if (ps->n_rules == ps->cap_rules) {
    size_t cap = ps->cap_rules ? ps->cap_rules * 2 : 16;
    prule *r = ds_realloc(ps->rules, cap * sizeof *r);
    if (!r) { oom(ps); return -1; }
    ps->rules = r;
    ps->cap_rules = cap;
  }
  if (ps->n_rules >= (1u << 30)) { fail(ps, at, "too many rules"); return -1; }
  prule *r = &ps->rules[ps->n_rules];
  memset(r, 0, sizeof *r);
  if (!(r->name = ds_strndup(name, len))) { oom(ps); return -1; }
  position(ps, at, &r->line, &r->col);
  return (int64_t)ps->n_rules++;
}

static int64_t find_rule(const parser *ps, const char *name, size_t len)
{
  for (size_t i = 0; i < ps->n_rules; i++)
    if (strlen(ps->rules[i].name) == len && memcmp(ps->rules[i].name, name, len) == 0) return (int64_t)i;
  return -1;
}

/* A rule for a group or repetition inside `parent`, named "parent-N". */
static int64_t generated_rule(parser *ps, int64_t parent, const char *at)
{
  char name[160];
  snprintf(name, sizeof name, "%.100s-%zu", ps->rules[parent].name, ps->n_rules);
  int64_t r = add_rule(ps, name, strlen(name), at);
  if (r >= 0) ps->rules[r].defined = true;
  return r;
}

/* Give rule r the alternative `seq` (ownership moves). */
static bool add_alt(parser *ps, int64_t r, u32vec *seq)
{
  prule *ru = &ps->rules[r];
  if (ru->n_alts == ru->cap_alts) {
    size_t cap = ru->cap_alts ? ru->cap_alts * 2 : 4;
    u32vec *a = ds_realloc(ru->alts, cap * sizeof *a);
    if (!a) { ds_free(seq->v); oom(ps); return false; }
    ru->alts = a;
    ru->cap_alts = cap;
  }
  ru->alts[ru->n_alts++] = *seq;
  memset(seq, 0, sizeof *seq);
  return true;
}

static bool add_alt_syms(parser *ps, int64_t r, const uint32_t *syms, size_t n, const char *at)
{
  u32vec seq = {0};
  for (size_t i = 0; i < n; i++)
    if (!push_sym(ps, &seq, syms[i], at)) { ds_free(seq.v); return false; }
  return add_alt(ps, r, &seq);
}

/* ---- character sets ----------------------------------------------------------------- */

static int range_cmp(const void *a, const void *b)
{
  const uint32_t *x = a, *y = b;
  return (x[0] > y[0]) - (x[0] < y[0]);
}

/* Sort and merge pairs[0..2n), store them as a new set. */
static uint32_t add_set(parser *ps, uint32_t *pairs, size_t n, bool negated)
{
  if (n) qsort(pairs, n, 2 * sizeof *pairs, range_cmp);   /* an empty class may come with pairs NULL */
  size_t m = 0;
  for (size_t i = 0; i < n; i++) {
    if (m && pairs[2 * i] <= pairs[2 * (m - 1) + 1] + 1) {
      if (pairs[2 * i + 1] > pairs[2 * (m - 1) + 1]) pairs[2 * (m - 1) + 1] = pairs[2 * i + 1];
    } else {
      pairs[2 * m] = pairs[2 * i];
      pairs[2 * m + 1] = pairs[2 * i + 1];
      m++;
    }
  }
  if (ps->n_sets == ps->cap_sets) {
    size_t cap = ps->cap_sets ? ps->cap_sets * 2 : 32;
    pset *s = ds_realloc(ps->sets, cap * sizeof *s);
    if (!s) { oom(ps); return NO_SET; }
    ps->sets = s;
    ps->cap_sets = cap;
  }
  uint32_t first = (uint32_t)(ps->ranges.n / 2);
  for (size_t i = 0; i < 2 * m; i++)
    if (!vpush(&ps->ranges, pairs[i])) { oom(ps); return NO_SET; }
  ps->sets[ps->n_sets] = (pset){first, (uint32_t)m, negated};
  return (uint32_t)ps->n_sets++;
}

static uint32_t single_set(parser *ps, uint32_t cp)
{
  if (cp < 128 && ps->ascii_set[cp] != NO_SET) return ps->ascii_set[cp];
  uint32_t pair[2] = {cp, cp};
  uint32_t id = add_set(ps, pair, 1, false);
  if (cp < 128) ps->ascii_set[cp] = id;
  return id;
}

/* ---- lexing ------------------------------------------------------------------------- */

static bool is_name_char(char c)
{
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' || c == '-';
}

/* Skip blanks and comments; newlines too when newline_ok. */
static void skip_space(parser *ps, bool newline_ok)
{
  while (ps->p < ps->end) {
    char c = *ps->p;
    if (c == ' ' || c == '\t' || c == '\r' || (newline_ok && c == '\n')) ps->p++;
    else if (c == '#') while (ps->p < ps->end && *ps->p != '\n') ps->p++;
    else break;
  }
}

static int hex_val(char c)
{
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

/* One character of a literal or class (escape or UTF-8 sequence); UINT32_MAX on error. */
static uint32_t parse_char(parser *ps)
{
  const char *at = ps->p;
  const unsigned char *s = (const unsigned char *)ps->p;
  size_t left = (size_t)(ps->end - ps->p);
  if (s[0] == '\\') {
    if (left < 2) { fail(ps, at, "unfinished escape"); return UINT32_MAX; }
    int digits = 0;
    switch (s[1]) {
    case 'n': ps->p += 2; return '\n';
    case 'r': ps->p += 2; return '\r';
    case 't': ps->p += 2; return '\t';
    case '\\': case '"': case '\'': case '[': case ']': case '-': case '^': case '/': case '.':
      ps->p += 2;
      return s[1];
    case 'x': digits = 2; break;
    case 'u': digits = 4; break;
    case 'U': digits = 8; break;
    default: fail(ps, at, "unknown escape '\\%c'", s[1]); return UINT32_MAX;
    }
    uint32_t v = 0;
    for (int i = 0; i < digits; i++) {
      int h = (size_t)(2 + i) < left ? hex_val((char)s[2 + i]) : -1;
      if (h < 0) { fail(ps, at, "escape '\\%c' needs %d hex digits", s[1], digits); return UINT32_MAX; }
      v = v * 16 + (uint32_t)h;
    }
    if (v > 0x10FFFF || (v >= 0xD800 && v <= 0xDFFF)) { fail(ps, at, "escape is not a Unicode scalar value"); return UINT32_MAX; }
    ps->p += 2 + digits;
    return v;
  }
  size_t n;
  if (ds_utf8_match(s, left, &n) != n || !n) { fail(ps, at, "invalid UTF-8"); return UINT32_MAX; }
  uint32_t cp = ds_utf8_decode(s, &n);
  ps->p += n;
  return cp;
}

static bool parse_literal(parser *ps, u32vec *seq)
{
  const char *at = ps->p++;
  while (ps->p < ps->end && *ps->p != '"') {
    if (*ps->p == '\n') break;
    uint32_t cp = parse_char(ps);
    if (cp == UINT32_MAX) return false;
    uint32_t set = single_set(ps, cp);
    if (set == NO_SET || !push_sym(ps, seq, DS_GS(DS_GS_CHARS, set), at)) return false;
  }
  if (ps->p >= ps->end || *ps->p != '"') { fail(ps, at, "unterminated string literal"); return false; }
  ps->p++;
  return true;
}

static bool parse_class(parser *ps, u32vec *seq)
{
  const char *at = ps->p++;
  bool negated = ps->p < ps->end && *ps->p == '^';
  if (negated) ps->p++;
  u32vec pairs = {0};
  bool ok = true;
  while (ok && ps->p < ps->end && *ps->p != ']' && *ps->p != '\n') {
    const char *item = ps->p;
    uint32_t lo = parse_char(ps), hi = lo;
    if (lo == UINT32_MAX) { ok = false; break; }
    if (ps->p + 1 < ps->end && *ps->p == '-' && ps->p[1] != ']') {
      ps->p++;
      hi = parse_char(ps);
      if (hi == UINT32_MAX) { ok = false; break; }
      if (hi < lo) { fail(ps, item, "character range ends before it starts"); ok = false; break; }
    }
    if (!vpush(&pairs, lo) || !vpush(&pairs, hi)) { oom(ps); ok = false; }
  }
  if (ok && (ps->p >= ps->end || *ps->p != ']')) { fail(ps, at, "unterminated character class"); ok = false; }
  if (ok && pairs.n == 0) { fail(ps, at, "empty character class"); ok = false; }
  uint32_t set = ok ? add_set(ps, pairs.v, pairs.n / 2, negated) : NO_SET;
  ds_free(pairs.v);
  if (set == NO_SET) return false;
  ps->p++;
  return push_sym(ps, seq, DS_GS(DS_GS_CHARS, set), at);
}

/* Parse a decimal for {m,n}; -1 if none. */
static long parse_count(parser *ps)
{
  if (ps->p >= ps->end || *ps->p < '0' || *ps->p > '9') return -1;
  long v = 0;
  while (ps->p < ps->end && *ps->p >= '0' && *ps->p <= '9') {
    v = v * 10 + (*ps->p++ - '0');
    if (v > MAX_REPEAT) return MAX_REPEAT + 1;
  }
  return v;
}

/* ---- structure ---------------------------------------------------------------------- */

static bool parse_alternates(parser *ps, int64_t rule, bool nested);

/* Replace seq[start..] (one element) by its repetition min..max (max -1: unbounded). */
static bool repeat(parser *ps, int64_t rule, u32vec *seq, size_t start, long min, long max, const char *at)
{
  uint32_t el;
  if (seq->n - start == 1) {
    el = seq->v[start];
  } else {
    int64_t r = generated_rule(ps, rule, at);
    if (r < 0 || !add_alt_syms(ps, r, seq->v + start, seq->n - start, at)) return false;
    el = DS_GS(DS_GS_REF, r);
  }
  seq->n = start;
  for (long i = 0; i < min; i++)
    if (!push_sym(ps, seq, el, at)) return false;
  if (max < 0) {
    int64_t s = generated_rule(ps, rule, at);
    uint32_t body[2] = {el, DS_GS(DS_GS_REF, s)};
    if (s < 0 || !add_alt_syms(ps, s, body, 2, at) || !add_alt_syms(ps, s, NULL, 0, at)) return false;
    return push_sym(ps, seq, DS_GS(DS_GS_REF, s), at);
  }
  int64_t prev = -1;
  for (long k = 0; k < max - min; k++) {
    int64_t r = generated_rule(ps, rule, at);
    uint32_t body[2] = {el, prev >= 0 ? DS_GS(DS_GS_REF, prev) : 0};
    if (r < 0 || !add_alt_syms(ps, r, body, prev >= 0 ? 2 : 1, at) || !add_alt_syms(ps, r, NULL, 0, at)) return false;
    prev = r;
  }
  return prev < 0 || push_sym(ps, seq, DS_GS(DS_GS_REF, prev), at);
}

static bool parse_postfix(parser *ps, int64_t rule, u32vec *seq, size_t start)
{
  const char *at = ps->p;
  if (ps->p >= ps->end) return true;
  char c = *ps->p;
  long min, max;
  if (c == '*') { min = 0; max = -1; }
  else if (c == '+') { min = 1; max = -1; }
  else if (c == '?') { min = 0; max = 1; }
  else if (c == '{') {
    ps->p++;
    skip_space(ps, false);
    min = parse_count(ps);
    skip_space(ps, false);
    max = min;
    if (ps->p < ps->end && *ps->p == ',') {
      ps->p++;
      skip_space(ps, false);
      max = parse_count(ps);
      skip_space(ps, false);
    }
    if (min < 0 || ps->p >= ps->end || *ps->p != '}') { fail(ps, at, "expected {m}, {m,} or {m,n}"); return false; }
    if (min > MAX_REPEAT || max > MAX_REPEAT) { fail(ps, at, "repetition count above %d", MAX_REPEAT); return false; }
    if (max >= 0 && max < min) { fail(ps, at, "repetition {%ld,%ld} has max < min", min, max); return false; }
  } else {
    return true;
  }
  ps->p++;
  if (seq->n == start) { fail(ps, at, "'%c' follows nothing", c); return false; }
  return repeat(ps, rule, seq, start, min, max, at);
}

static bool parse_sequence(parser *ps, int64_t rule, u32vec *seq, bool nested)
{
  for (;;) {
    skip_space(ps, nested);
    if (ps->p >= ps->end) return true;
    const char *at = ps->p;
    size_t start = seq->n;
    char c = *ps->p;
    if (c == '"') {
      if (!parse_literal(ps, seq)) return false;
    } else if (c == '[') {
      if (!parse_class(ps, seq)) return false;
    } else if (c == '.') {
      /* any character: the complement of the empty set */
      ps->p++;
      uint32_t set = add_set(ps, NULL, 0, true);
      if (set == NO_SET || !push_sym(ps, seq, DS_GS(DS_GS_CHARS, set), at)) return false;
    } else if (c == '(') {
      ps->p++;
      int64_t g = generated_rule(ps, rule, at);
      if (g < 0 || !parse_alternates(ps, g, true)) return false;
      skip_space(ps, true);
      if (ps->p >= ps->end || *ps->p != ')') { fail(ps, at, "'(' is not closed"); return false; }
      ps->p++;
      if (!push_sym(ps, seq, DS_GS(DS_GS_REF, g), at)) return false;
    } else if (is_name_char(c)) {
      const char *name = ps->p;
      while (ps->p < ps->end && is_name_char(*ps->p)) ps->p++;
      int64_t r = find_rule(ps, name, (size_t)(ps->p - name));
      if (r < 0) r = add_rule(ps, name, (size_t)(ps->p - name), at);
      if (r < 0 || !push_sym(ps, seq, DS_GS(DS_GS_REF, r), at)) return false;
    } else {
      return true;
    }
    if (!parse_postfix(ps, rule, seq, start)) return false;
  }
}

static bool parse_alternates(parser *ps, int64_t rule, bool nested)
{
  for (;;) {
    u32vec seq = {0};
    if (!parse_sequence(ps, rule, &seq, nested)) { ds_free(seq.v); return false; }
    if (!add_alt(ps, rule, &seq)) return false;
    /* '|' continues the rule, also at the start of the next line */
    const char *save = ps->p;
    skip_space(ps, true);
    if (ps->p < ps->end && *ps->p == '|') {
      ps->p++;
      skip_space(ps, true);
      continue;
    }
    if (!nested) ps->p = save;
    return true;
  }
}

static bool parse_rules(parser *ps)
{
  for (;;) {
    skip_space(ps, true);
    if (ps->p >= ps->end) return true;
    const char *at = ps->p;
    while (ps->p < ps->end && is_name_char(*ps->p)) ps->p++;
    size_t len = (size_t)(ps->p - at);
    if (len == 0) { fail(ps, at, "expected a rule name"); return false; }
    skip_space(ps, false);
    if (ps->end - ps->p < 3 || memcmp(ps->p, "::=", 3) != 0) { fail(ps, ps->p, "expected '::=' after the rule name"); return false; }
    ps->p += 3;
    int64_t r = find_rule(ps, at, len);
    if (r >= 0 && ps->rules[r].defined) { fail(ps, at, "rule '%.*s' is defined twice", (int)len, at); return false; }
    if (r < 0 && (r = add_rule(ps, at, len, at)) < 0) return false;
    ps->rules[r].defined = true;
    position(ps, at, &ps->rules[r].line, &ps->rules[r].col);
    skip_space(ps, true);
    if (!parse_alternates(ps, r, false)) return false;
    skip_space(ps, false);
    if (ps->p < ps->end && *ps->p != '\n') {
      if (*ps->p == ')') fail(ps, ps->p, "unmatched ')'");
      else fail(ps, ps->p, "unexpected '%c'", *ps->p);
      return false;
    }
  }
}

/* ---- checks ------------------------------------------------------------------------- */

/* Left recursion: depth-first search over the "can start with" edges
 * (r -> s when s is referenced after only nullable symbols of an alternative
 * of r); a back edge is a cycle. */
static bool check_left_recursion(parser *ps, const bool *nullable)
{
  size_t n = ps->n_rules;
  uint8_t *color = ds_calloc(n, 1);         /* 0 new, 1 on the path, 2 done */
  int64_t *path = ds_malloc(n * sizeof *path);
  size_t *edge = ds_malloc(n * sizeof *edge); /* per path entry: next (alt << 32 | sym) to look at */
  if (!color || !path || !edge) { ds_free(color); ds_free(path); ds_free(edge); oom(ps); return false; }
  bool ok = true;
  for (size_t root = 0; root < n && ok; root++) {
    if (color[root]) continue;
    size_t depth = 0;
    path[depth] = (int64_t)root;
    edge[depth] = 0;
    color[root] = 1;
    depth = 1;
    while (depth && ok) {
      const prule *r = &ps->rules[path[depth - 1]];
      size_t a = edge[depth - 1] >> 32, k = edge[depth - 1] & 0xFFFFFFFFu;
      int64_t next = -1;
      while (a < r->n_alts && next < 0) {
        const u32vec *alt = &r->alts[a];
        if (k < alt->n && DS_GS_KIND(alt->v[k]) == DS_GS_REF) {
          next = DS_GS_ARG(alt->v[k]);
          /* the symbol after it is leftmost too if this one is nullable */
          if (nullable[next] && k + 1 < alt->n) k++;
          else { a++; k = 0; }
        } else {
          a++;
          k = 0;
        }
      }
      edge[depth - 1] = ((size_t)a << 32) | k;
      if (next < 0) { color[path[depth - 1]] = 2; depth--; continue; }
      if (color[next] == 1) {
        /* the cycle is path[i..depth) -> next */
        char chain[512] = "";
        size_t i = 0;
        while (path[i] != next) i++;
        for (size_t j = i; j < depth; j++) {
          size_t l = strlen(chain);
          snprintf(chain + l, sizeof chain - l, "%s -> ", ps->rules[path[j]].name);
        }
        size_t l = strlen(chain);
        snprintf(chain + l, sizeof chain - l, "%s", ps->rules[next].name);
        const prule *at = &ps->rules[next];
        ps->st = ds_error(DSEEK_ERR_FORMAT,
                          "grammar: line %d column %d: left recursion: rule '%s' can start with itself (%s); "
                          "rewrite it with repetition, e.g. x ::= y (\"+\" y)*",
                          at->line, at->col, at->name, chain);
        ok = false;
      } else if (color[next] == 0) {
        color[next] = 1;
        path[depth] = next;
        edge[depth] = 0;
        depth++;
      }
    }
  }
  ds_free(color);
  ds_free(path);
  ds_free(edge);
  return ok;
}

static bool check(parser *ps, const char *root, bool **nullable_out)
{
  for (size_t i = 0; i < ps->n_rules; i++)
    if (!ps->rules[i].defined) {
      const prule *r = &ps->rules[i];
      ps->st = ds_error(DSEEK_ERR_FORMAT, "grammar: line %d column %d: rule '%s' is used but not defined", r->line,
                        r->col, r->name);
      return false;
    }
  if (find_rule(ps, root, strlen(root)) < 0) {
    ps->st = ds_error(DSEEK_ERR_FORMAT, "grammar: line 1 column 1: the start rule '%s' is not defined", root);
    return false;
  }
  /* nullable: fixed point of "some alternative has only nullable symbols" */
  bool *nullable = ds_calloc(ps->n_rules ? ps->n_rules : 1, sizeof *nullable);
  if (!nullable) { oom(ps); return false; }
  for (bool changed = true; changed;) {
    changed = false;
    for (size_t i = 0; i < ps->n_rules; i++) {
      if (nullable[i]) continue;
      for (size_t a = 0; a < ps->rules[i].n_alts && !nullable[i]; a++) {
        const u32vec *alt = &ps->rules[i].alts[a];
        size_t k = 0;
        while (k < alt->n && DS_GS_KIND(alt->v[k]) == DS_GS_REF && nullable[DS_GS_ARG(alt->v[k])]) k++;
        if (k == alt->n) nullable[i] = changed = true;
      }
    }
  }
  *nullable_out = nullable;
  return check_left_recursion(ps, nullable);
}

/* ---- output ---------------------------------------------------------------------------- */

static ds_grammar *flatten(parser *ps, uint32_t root)
{
  ds_grammar *g = ds_calloc(1, sizeof *g);
  if (!g) return NULL;
  size_t n_alts = 0, n_syms = 0;
  for (size_t i = 0; i < ps->n_rules; i++) {
    n_alts += ps->rules[i].n_alts;
    for (size_t a = 0; a < ps->rules[i].n_alts; a++) n_syms += ps->rules[i].alts[a].n + 1;
  }
  g->syms = ds_malloc(n_syms * sizeof *g->syms);
  g->alt_start = ds_malloc((n_alts ? n_alts : 1) * sizeof *g->alt_start);
  g->rule_alt = ds_malloc((ps->n_rules + 1) * sizeof *g->rule_alt);
  g->sets = ds_malloc((ps->n_sets ? ps->n_sets : 1) * sizeof *g->sets);
  g->ranges = ds_malloc((ps->ranges.n ? ps->ranges.n : 1) * sizeof *g->ranges);
  if (!g->syms || !g->alt_start || !g->rule_alt || !g->sets || !g->ranges) {
    ds_grammar_free(g);
    return NULL;
  }
  atomic_init(&g->refs, 1);
  size_t s = 0, a = 0;
  for (size_t i = 0; i < ps->n_rules; i++) {
    g->rule_alt[i] = (uint32_t)a;
    for (size_t k = 0; k < ps->rules[i].n_alts; k++) {
      const u32vec *alt = &ps->rules[i].alts[k];
      g->alt_start[a++] = (uint32_t)s;
      if (alt->n) memcpy(g->syms + s, alt->v, alt->n * sizeof *alt->v);
      s += alt->n;
      g->syms[s++] = DS_GS(DS_GS_END, 0);
    }
  }
  g->rule_alt[ps->n_rules] = (uint32_t)a;
  g->n_rules = (uint32_t)ps->n_rules;
  g->n_syms = (uint32_t)s;
  if (ps->ranges.n) memcpy(g->ranges, ps->ranges.v, ps->ranges.n * sizeof *g->ranges);
  g->n_sets = (uint32_t)ps->n_sets;
  for (size_t i = 0; i < ps->n_sets; i++) {
    ds_gcharset *cs = &g->sets[i];
    memset(cs, 0, sizeof *cs);
    cs->first = ps->sets[i].first;
    cs->n = ps->sets[i].n;
    cs->negated = ps->sets[i].negated;
    for (uint32_t c = 0; c < 128; c++) {
      bool in = false;
      for (uint32_t r = 0; r < cs->n && !in; r++)
        in = c >= g->ranges[2 * (cs->first + r)] && c <= g->ranges[2 * (cs->first + r) + 1];
      if (in != cs->negated) cs->ascii[c >> 6] |= 1ull << (c & 63);
    }
  }
  g->root = root;
  return g;
}

static void parser_free(parser *ps)
{
  for (size_t i = 0; i < ps->n_rules; i++) {
    for (size_t a = 0; a < ps->rules[i].n_alts; a++) ds_free(ps->rules[i].alts[a].v);
    ds_free(ps->rules[i].alts);
    ds_free(ps->rules[i].name);
  }
  ds_free(ps->rules);
  ds_free(ps->sets);
  ds_free(ps->ranges.v);
}

dseek_status ds_grammar_compile(const char *text, size_t len, const char *root, ds_grammar **out)
{
  if (!text || !out) return ds_error(DSEEK_ERR_INVALID_ARG, "grammar: text and out must not be NULL");
  if (!root) root = "root";
  parser ps;
  memset(&ps, 0, sizeof ps);
  ps.src = ps.p = text;
  ps.end = text + len;
  for (int i = 0; i < 128; i++) ps.ascii_set[i] = NO_SET;
  bool *nullable = NULL;
  if (memchr(text, '\0', len)) fail(&ps, (const char *)memchr(text, '\0', len), "NUL byte in the grammar text");
  else if (parse_rules(&ps) && check(&ps, root, &nullable)) {
    ds_grammar *g = flatten(&ps, (uint32_t)find_rule(&ps, root, strlen(root)));
    if (!g) oom(&ps);
    else *out = g;
  }
  ds_free(nullable);
  parser_free(&ps);
  return ps.st;
}

ds_grammar *ds_grammar_ref(ds_grammar *g)
{
  if (g) atomic_fetch_add(&g->refs, 1);
  return g;
}

void ds_grammar_free(ds_grammar *g)
{
  if (!g || atomic_fetch_sub(&g->refs, 1) > 1) return;
  ds_free(g->syms);
  ds_free(g->alt_start);
  ds_free(g->rule_alt);
  ds_free(g->sets);
  ds_free(g->ranges);
  ds_free(g);
}

bool ds_gcharset_has(const ds_grammar *g, const ds_gcharset *cs, uint32_t cp)
{
  if (cp < 128) return (cs->ascii[cp >> 6] >> (cp & 63)) & 1;
  /* binary search for the last range starting at or below cp */
  const uint32_t *r = g->ranges + 2 * (size_t)cs->first;
  uint32_t lo = 0, hi = cs->n;
  while (lo < hi) {
    uint32_t mid = (lo + hi) / 2;
    if (r[2 * mid] <= cp) lo = mid + 1;
    else hi = mid;
  }
  bool in = lo > 0 && cp <= r[2 * (lo - 1) + 1];
  return in != cs->negated;
}
