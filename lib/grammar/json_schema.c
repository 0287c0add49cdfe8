/*
 * json_schema.c — a JSON schema (the common subset below) as GBNF text, so
 * that a constrained model can only write documents the schema accepts.
 *
 * Supported (anything else is an error naming the keyword and its path):
 *   type (a name or a list), properties, required, additionalProperties
 *   (absent or false: only the listed properties, in the listed order),
 *   items, minItems, maxItems, enum and const (any JSON values), pattern
 *   (literal characters, classes, . \d \w \s and their negations, groups,
 *   |, ? * + {m,n}, ^ and $; a negated class or . never produces ", \ or a
 *   control character), minLength, maxLength, minimum, maximum,
 *   exclusiveMinimum, exclusiveMaximum, anyOf, oneOf (as anyOf: the branches
 *   should not overlap), $ref to "#", "#/$defs/..." or "#/definitions/...",
 *   and the annotations title, description, $schema, $id, $comment,
 *   default, examples.
 * Output layout: whitespace of at most 8 blanks between tokens, up to two
 * newlines before the document, integers of at most 16 digits, fractions of
 * at most 16 digits and 3 exponent digits (bounded texts keep a model from
 * writing digits forever). Integer bounds are exact. A number with bounds is
 * written as an integer in [ceil(min), floor(max)] or, with a fraction, an
 * integer part whose every fraction stays in range: a subset of the valid
 * numbers, never outside them.
 */
#include "core/buf.h"
#include "formats/json.h"
#include "grammar/grammar.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#define BOUND 1000000000000000000LL   /* |integers| with bounds stay below 10^18 */
#define MAX_COUNT 10000               /* largest minItems/maxItems/minLength/maxLength */

static const char PRIMITIVES[] =
  "ws ::= [ \\t\\n]{0,8}\n"
  "json-char ::= [^\"\\\\\\x00-\\x1f] | \"\\\\\" ([\"\\\\/bfnrt] | \"u\" [0-9a-fA-F]{4})\n"
  "json-string ::= \"\\\"\" json-char* \"\\\"\"\n"
  "json-int ::= \"-\"? (\"0\" | [1-9] [0-9]{0,15})\n"
  "json-number ::= json-int (\".\" [0-9]{1,16})? ([eE] [-+]? [0-9]{1,3})?\n"
  "json-bool ::= \"true\" | \"false\"\n"
  "json-null ::= \"null\"\n"
  "json-value ::= json-object | json-array | json-string | json-number | json-bool | json-null\n"
  "json-member ::= json-string ws \":\" ws json-value ws\n"
  "json-object ::= \"{\" ws (json-member (\",\" ws json-member)*)? \"}\"\n"
  "json-array ::= \"[\" ws (json-value ws (\",\" ws json-value ws)*)? \"]\"\n";

typedef struct ref_rule {
  char *ref;
  char name[24];
} ref_rule;

typedef struct js {
  ds_buf out;
  const ds_json_value *root;
  int n_rules;
  ref_rule *refs;
  size_t n_refs;
  dseek_status st;
} js;

static DS_PRINTF(2, 3) void bprintf(ds_buf *b, const char *fmt, ...)
{
  char tmp[512];
  va_list ap;
  va_start(ap, fmt);
  int n = vsnprintf(tmp, sizeof tmp, fmt, ap);
  va_end(ap);
  if (n >= 0) ds_buf_append(b, tmp, (size_t)DS_MIN((size_t)n, sizeof tmp - 1));
}

static bool unsupported(js *j, const char *path, const char *what)
{
  if (!j->st) j->st = ds_error(DSEEK_ERR_UNSUPPORTED, "json schema: %s: %s", path, what);
  return false;
}

/* ---- literals ------------------------------------------------------------------ */

/* Bytes as the inside of a GBNF string literal. */
static void gbnf_escape(ds_buf *b, const char *s, size_t n)
{
  for (size_t i = 0; i < n; i++) {
    unsigned char c = (unsigned char)s[i];
    if (c == '"' || c == '\\') { ds_buf_append(b, "\\", 1); ds_buf_append(b, (const char *)&c, 1); }
    else if (c < 0x20 || c == 0x7F) bprintf(b, "\\x%02x", c);
    else ds_buf_append(b, (const char *)&c, 1);
  }
}

/* A string as JSON text (quotes and escapes), the form a document holds. */
static void json_quote(ds_buf *b, const char *s, size_t n)
{
  ds_buf_append(b, "\"", 1);
  for (size_t i = 0; i < n; i++) {
    unsigned char c = (unsigned char)s[i];
    if (c == '"') ds_buf_puts(b, "\\\"");
    else if (c == '\\') ds_buf_puts(b, "\\\\");
    else if (c == '\n') ds_buf_puts(b, "\\n");
    else if (c == '\t') ds_buf_puts(b, "\\t");
    else if (c == '\r') ds_buf_puts(b, "\\r");
    else if (c < 0x20) bprintf(b, "\\u%04x", c);
    else ds_buf_append(b, (const char *)&c, 1);
  }
  ds_buf_append(b, "\"", 1);
}

/* Compact JSON text of a value (for enum and const). */
static void json_write(ds_buf *b, const ds_json_value *v)
{
  switch (v->type) {
  case DS_JSON_NULL: ds_buf_puts(b, "null"); break;
  case DS_JSON_FALSE: ds_buf_puts(b, "false"); break;
  case DS_JSON_TRUE: ds_buf_puts(b, "true"); break;
  case DS_JSON_NUMBER:
    if (v->is_int) bprintf(b, "%lld", (long long)v->i);
    else bprintf(b, "%.17g", v->u.num);
    break;
  case DS_JSON_STRING: json_quote(b, v->u.str, (size_t)v->n); break;
  case DS_JSON_ARRAY:
    ds_buf_puts(b, "[");
    for (int64_t i = 0; i < v->n; i++) {
      if (i) ds_buf_puts(b, ",");
      json_write(b, &v->u.items[i]);
    }
    ds_buf_puts(b, "]");
    break;
  case DS_JSON_OBJECT:
    ds_buf_puts(b, "{");
    for (int64_t i = 0; i < v->n; i++) {
      if (i) ds_buf_puts(b, ",");
      json_quote(b, v->u.members[i].key, v->u.members[i].key_len);
      ds_buf_puts(b, ":");
      json_write(b, &v->u.members[i].value);
    }
    ds_buf_puts(b, "}");
    break;
  }
}

static void literal_of(ds_buf *expr, const ds_json_value *v)
{
  ds_buf t = {0};
  json_write(&t, v);
  ds_buf_puts(expr, "\"");
  gbnf_escape(expr, t.data ? t.data : "", t.len);
  ds_buf_puts(expr, "\"");
  if (t.failed) expr->failed = true;
  ds_buf_free(&t);
}

/* ---- integer ranges ---------------------------------------------------------------- */

/* All n-digit strings between lo and hi (same length, leading zeros allowed):
 * fix equal leading digits, then split at the first differing one. */
static void digit_range(ds_buf *b, const char *lo, const char *hi, size_t n)
{
  if (n == 0) return;
  if (lo[0] == hi[0]) {
    bprintf(b, "\"%c\" ", lo[0]);
    digit_range(b, lo + 1, hi + 1, n - 1);
    return;
  }
  bool lo_zeros = strspn(lo + 1, "0") >= n - 1, hi_nines = strspn(hi + 1, "9") >= n - 1;
  char mid_lo = lo_zeros ? lo[0] : (char)(lo[0] + 1), mid_hi = hi_nines ? hi[0] : (char)(hi[0] - 1);
  char nines[24], zeros[24];
  memset(nines, '9', n);
  memset(zeros, '0', n);
  const char *sep = "";
  ds_buf_puts(b, "(");
  if (!lo_zeros) {
    bprintf(b, "\"%c\" (", lo[0]);
    digit_range(b, lo + 1, nines, n - 1);
    ds_buf_puts(b, ")");
    sep = " | ";
  }
  if (mid_lo <= mid_hi) {
    bprintf(b, "%s[%c-%c]", sep, mid_lo, mid_hi);
    if (n > 1) bprintf(b, " [0-9]{%zu}", n - 1);
    sep = " | ";
  }
  if (!hi_nines) {
    bprintf(b, "%s\"%c\" (", sep, hi[0]);
    digit_range(b, zeros, hi + 1, n - 1);
    ds_buf_puts(b, ")");
  }
  ds_buf_puts(b, ")");
}

/* Decimal integers in [a, b], 0 <= a <= b, without leading zeros. */
static void uint_range(ds_buf *b, int64_t a, int64_t hi)
{
  ds_buf_puts(b, "(");
  int64_t p = 1;
  const char *sep = "";
  for (int d = 1; d <= 19 && a <= hi; d++) {
    int64_t top = d == 19 ? INT64_MAX : p * 10 - 1;   /* largest d-digit number */
    if (a <= top) {
      int64_t lo_d = a, hi_d = DS_MIN(hi, top);
      char ls[24], hs[24];
      snprintf(ls, sizeof ls, "%lld", (long long)lo_d);
      snprintf(hs, sizeof hs, "%lld", (long long)hi_d);
      ds_buf_puts(b, sep);
      digit_range(b, ls, hs, strlen(ls));
      sep = " | ";
      a = hi_d + 1;
    }
    if (d < 19) p *= 10;
  }
  ds_buf_puts(b, ")");
}

/* Integers in [lo, hi] (|bounds| <= BOUND). */
static void int_range(ds_buf *b, int64_t lo, int64_t hi)
{
  ds_buf_puts(b, "(");
  const char *sep = "";
  if (hi >= 0) { uint_range(b, DS_MAX(lo, 0), hi); sep = " | "; }
  if (lo < 0) {
    bprintf(b, "%s\"-\" ", sep);
    uint_range(b, DS_MAX(1, -hi), -lo);
  }
  ds_buf_puts(b, ")");
}

/* ---- schema -> expression ------------------------------------------------------------- */

static bool gen_rule(js *j, const ds_json_value *s, const char *path, const char *fixed_name, char name[24]);

static bool number_bound(js *j, const ds_json_value *s, const char *key, const char *path, double *out)
{
  const ds_json_value *v = ds_json_get(s, key);
  if (!v) return false;
  if (!ds_json_num(v, out)) {
    char msg[160];
    snprintf(msg, sizeof msg, "'%s' must be a number", key);
    unsupported(j, path, msg);
    return false;
  }
  return true;
}

static bool count_of(js *j, const ds_json_value *s, const char *key, const char *path, int64_t *out)
{
  const ds_json_value *v = ds_json_get(s, key);
  if (!v) return true;
  if (!ds_json_int(v, out) || *out < 0 || *out > MAX_COUNT) {
    char msg[160];
    snprintf(msg, sizeof msg, "'%s' must be an integer in [0, %d]", key, MAX_COUNT);
    return unsupported(j, path, msg);
  }
  return true;
}

/* Bounds of a number or integer schema: [lo, hi] as integers (see the top). */
static bool numeric(js *j, const ds_json_value *s, const char *path, bool integer, ds_buf *e)
{
  double mn = -(double)BOUND, mx = (double)BOUND, x;
  bool bounded = false;
  if (number_bound(j, s, "minimum", path, &x)) { mn = DS_MAX(mn, ceil(x)); bounded = true; }
  if (number_bound(j, s, "exclusiveMinimum", path, &x)) { mn = DS_MAX(mn, floor(x) + 1); bounded = true; }
  if (number_bound(j, s, "maximum", path, &x)) { mx = DS_MIN(mx, floor(x)); bounded = true; }
  if (number_bound(j, s, "exclusiveMaximum", path, &x)) { mx = DS_MIN(mx, ceil(x) - 1); bounded = true; }
  if (j->st) return false;
  if (!bounded) { ds_buf_puts(e, integer ? "json-int" : "json-number"); return true; }
  if (mn > mx) return unsupported(j, path, "no integer lies within minimum/maximum (fractional-only ranges are not supported)");
  int64_t lo = (int64_t)DS_MAX(mn, -(double)BOUND), hi = (int64_t)DS_MIN(mx, (double)BOUND);
  ds_buf_puts(e, "(");
  int_range(e, lo, hi);
  if (!integer) {
    /* k.f with k >= 0 stays in range for every fraction when lo <= k <= hi - 1;
     * -k.f (= -(k + f)) when -hi <= k <= -lo - 1 */
    if (hi - 1 >= DS_MAX(lo, 0)) {
      ds_buf_puts(e, " | ");
      uint_range(e, DS_MAX(lo, 0), hi - 1);
      ds_buf_puts(e, " \".\" [0-9]{1,16}");
    }
    if (-lo - 1 >= DS_MAX(-hi, 0)) {
      ds_buf_puts(e, " | \"-\" ");
      uint_range(e, DS_MAX(-hi, 0), -lo - 1);
      ds_buf_puts(e, " \".\" [0-9]{1,16}");
    }
  }
  ds_buf_puts(e, ")");
  return true;
}

/* ---- pattern (regular expression subset) -> GBNF ---------------------------------------- */

typedef struct rx {
  const char *p, *end;
  js *j;
  const char *path;
} rx;

/* Code point ranges of a class escape (\d \w \s); false if c is not one. */
static bool class_escape(char c, uint32_t *r, size_t *n, bool *neg)
{
  static const uint32_t d[] = {'0', '9'}, w[] = {'0', '9', 'A', 'Z', '_', '_', 'a', 'z'},
                        sp[] = {'\t', '\r', ' ', ' '};
  const uint32_t *src;
  size_t m;
  switch (c) {
  case 'd': case 'D': src = d; m = 2; break;
  case 'w': case 'W': src = w; m = 8; break;
  case 's': case 'S': src = sp; m = 4; break;
  default: return false;
  }
  memcpy(r + *n, src, m * sizeof *r);
  *n += m;
  *neg = c >= 'A' && c <= 'Z';
  return true;
}

static uint32_t rx_char(rx *x)
{
  const unsigned char *s = (const unsigned char *)x->p;
  if (s[0] == '\\') {
    if (x->p + 1 >= x->end) { unsupported(x->j, x->path, "pattern ends in '\\'"); return UINT32_MAX; }
    x->p += 2;
    switch (s[1]) {
    case 'n': return '\n';
    case 't': return '\t';
    case 'r': return '\r';
    default:
      if ((s[1] >= 'a' && s[1] <= 'z') || (s[1] >= 'A' && s[1] <= 'Z') || (s[1] >= '0' && s[1] <= '9')) {
        char msg[64];
        snprintf(msg, sizeof msg, "pattern escape '\\%c' is not supported", s[1]);
        unsupported(x->j, x->path, msg);
        return UINT32_MAX;
      }
      return s[1];
    }
  }
  size_t n;
  if (ds_utf8_match(s, (size_t)(x->end - x->p), &n) != n || !n) {
    unsupported(x->j, x->path, "pattern is not UTF-8");
    return UINT32_MAX;
  }
  uint32_t cp = ds_utf8_decode(s, &n);
  x->p += n;
  return cp;
}

/* One code point as a GBNF class member. */
static void class_member(ds_buf *e, uint32_t cp)
{
  if ((cp >= '0' && cp <= '9') || (cp >= 'a' && cp <= 'z') || (cp >= 'A' && cp <= 'Z')) bprintf(e, "%c", (char)cp);
  else if (cp <= 0xFFFF) bprintf(e, "\\u%04X", (unsigned)cp);
  else bprintf(e, "\\U%08X", (unsigned)cp);
}

/* The JSON text of one code point of the decoded string, as a GBNF literal. */
static void json_char_literal(ds_buf *e, uint32_t cp)
{
  char u[4];
  size_t n = ds_utf8_encode(cp, u);
  ds_buf t = {0};
  json_quote(&t, u, n);
  ds_buf_puts(e, "\"");
  gbnf_escape(e, t.data + 1, t.len - 2);   /* without the quotes */
  ds_buf_puts(e, "\"");
  ds_buf_free(&t);
}

/* A class from ranges r[0..2n): characters that JSON must escape (", \ and
 * controls) become their escapes in a positive class and are left out of a
 * negated one. */
static void emit_class(ds_buf *e, const uint32_t *r, size_t n, bool neg)
{
  if (neg) {
    ds_buf_puts(e, "[^\"\\\\\\x00-\\x1f");
    for (size_t i = 0; i < n; i++) {
      class_member(e, r[2 * i]);
      if (r[2 * i + 1] != r[2 * i]) { ds_buf_puts(e, "-"); class_member(e, r[2 * i + 1]); }
    }
    ds_buf_puts(e, "]");
    return;
  }
  ds_buf_puts(e, "(");
  const char *sep = "";
  for (size_t i = 0; i < n; i++) {
    uint32_t lo = r[2 * i], hi = r[2 * i + 1];
    /* split out the special characters, each written escaped */
    for (uint32_t c = lo; c <= hi && c < 0x20; c++) { ds_buf_puts(e, sep); json_char_literal(e, c); sep = " | "; }
    if (lo <= '"' && hi >= '"') { ds_buf_puts(e, sep); json_char_literal(e, '"'); sep = " | "; }
    if (lo <= '\\' && hi >= '\\') { ds_buf_puts(e, sep); json_char_literal(e, '\\'); sep = " | "; }
    uint32_t cuts[][2] = {{DS_MAX(lo, 0x20u), DS_MIN(hi, 0x21u)}, {DS_MAX(lo, 0x23u), DS_MIN(hi, 0x5Bu)},
                          {DS_MAX(lo, 0x5Du), hi}};
    for (size_t k = 0; k < 3; k++) {
      if (cuts[k][0] > cuts[k][1]) continue;
      ds_buf_puts(e, sep);
      ds_buf_puts(e, "[");
      class_member(e, cuts[k][0]);
      if (cuts[k][1] != cuts[k][0]) { ds_buf_puts(e, "-"); class_member(e, cuts[k][1]); }
      ds_buf_puts(e, "]");
      sep = " | ";
    }
  }
  ds_buf_puts(e, ")");
}

static bool rx_alt(rx *x, ds_buf *e, int depth);

static bool rx_atom(rx *x, ds_buf *e, int depth)
{
  char c = *x->p;
  if (c == '(') {
    x->p++;
    if (x->end - x->p >= 2 && x->p[0] == '?' && x->p[1] == ':') x->p += 2;
    else if (x->p < x->end && *x->p == '?') return unsupported(x->j, x->path, "pattern group '(?' is not supported");
    ds_buf_puts(e, "(");
    if (!rx_alt(x, e, depth + 1)) return false;
    if (x->p >= x->end || *x->p != ')') return unsupported(x->j, x->path, "pattern has an unclosed '('");
    x->p++;
    ds_buf_puts(e, ")");
    return true;
  }
  uint32_t r[256];
  size_t n = 0;
  bool neg = false;
  if (c == '[') {
    x->p++;
    if (x->p < x->end && *x->p == '^') { neg = true; x->p++; }
    while (x->p < x->end && *x->p != ']') {
      if (n + 8 > DS_ARRAY_LEN(r)) return unsupported(x->j, x->path, "pattern class is too long");
      bool sub_neg;
      if (*x->p == '\\' && x->p + 1 < x->end && class_escape(x->p[1], r, &n, &sub_neg)) {
        if (sub_neg) return unsupported(x->j, x->path, "negated escapes inside a pattern class are not supported");
        x->p += 2;
        continue;
      }
      uint32_t lo = rx_char(x), hi = lo;
      if (lo == UINT32_MAX) return false;
      if (x->p + 1 < x->end && *x->p == '-' && x->p[1] != ']') {
        x->p++;
        if ((hi = rx_char(x)) == UINT32_MAX) return false;
        if (hi < lo) return unsupported(x->j, x->path, "pattern class range ends before it starts");
      }
      r[n++] = lo;
      r[n++] = hi;
    }
    if (x->p >= x->end) return unsupported(x->j, x->path, "pattern has an unclosed '['");
    x->p++;
    if (n == 0) return unsupported(x->j, x->path, "pattern has an empty class");
  } else if (c == '.') {
    x->p++;
    r[n++] = '\n';
    r[n++] = '\n';
    neg = true;
  } else if (c == '\\' && x->p + 1 < x->end && class_escape(x->p[1], r, &n, &neg)) {
    x->p += 2;
  } else if (c == '*' || c == '+' || c == '?' || c == '{' || c == ')' || c == '^' || c == '$') {
    char msg[64];
    snprintf(msg, sizeof msg, "pattern has '%c' where a character is expected", c);
    return unsupported(x->j, x->path, msg);
  } else {
    uint32_t cp = rx_char(x);
    if (cp == UINT32_MAX) return false;
    json_char_literal(e, cp);
    return true;
  }
  emit_class(e, r, n / 2, neg);
  return true;
}

static bool rx_seq(rx *x, ds_buf *e, int depth)
{
  while (x->p < x->end && *x->p != '|' && *x->p != ')') {
    if (*x->p == '$' && x->p + 1 == x->end) return true;
    if (!rx_atom(x, e, depth)) return false;
    if (x->p < x->end && (*x->p == '*' || *x->p == '+' || *x->p == '?' || *x->p == '{')) {
      const char *q = x->p;
      if (*x->p == '{') {
        while (x->p < x->end && *x->p != '}') x->p++;
        if (x->p >= x->end) return unsupported(x->j, x->path, "pattern has an unclosed '{'");
      }
      x->p++;
      ds_buf_append(e, q, (size_t)(x->p - q));
      if (x->p < x->end && (*x->p == '?' || *x->p == '+'))
        return unsupported(x->j, x->path, "lazy or possessive quantifiers are not supported");
    }
    ds_buf_puts(e, " ");
  }
  return true;
}

static bool rx_alt(rx *x, ds_buf *e, int depth)
{
  if (depth > 32) return unsupported(x->j, x->path, "pattern nests too deeply");
  if (!rx_seq(x, e, depth)) return false;
  while (x->p < x->end && *x->p == '|') {
    x->p++;
    ds_buf_puts(e, " | ");
    if (!rx_seq(x, e, depth)) return false;
  }
  return true;
}

static bool pattern(js *j, const char *pat, size_t n, const char *path, ds_buf *e)
{
  rx x = {pat, pat + n, j, path};
  bool anchored_start = n && pat[0] == '^';
  bool anchored_end = n && pat[n - 1] == '$' && !(n >= 2 && pat[n - 2] == '\\');
  if (anchored_start) x.p++;
  /* JSON schema patterns are unanchored: free text may surround the match */
  ds_buf_puts(e, "\"\\\"\" ");
  if (!anchored_start) ds_buf_puts(e, "json-char* ");
  ds_buf_puts(e, "(");
  if (!rx_alt(&x, e, 0)) return false;
  if (x.p < x.end && *x.p == ')') return unsupported(j, path, "pattern has an unmatched ')'");
  if (x.p < x.end && !(*x.p == '$' && x.p + 1 == x.end)) return unsupported(j, path, "pattern has '$' before its end");
  ds_buf_puts(e, ")");
  if (!anchored_end) ds_buf_puts(e, " json-char*");
  ds_buf_puts(e, " \"\\\"\"");
  return true;
}

/* ---- objects, arrays, strings ------------------------------------------------------------- */

static bool string_schema(js *j, const ds_json_value *s, const char *path, ds_buf *e)
{
  const char *pat;
  size_t pn;
  int64_t mn = 0, mx = -1;
  if (!count_of(j, s, "minLength", path, &mn) || !count_of(j, s, "maxLength", path, &mx)) return false;
  if (ds_json_get(s, "pattern")) {
    if (!ds_json_str(ds_json_get(s, "pattern"), &pat, &pn)) return unsupported(j, path, "'pattern' must be a string");
    if (ds_json_get(s, "minLength") || ds_json_get(s, "maxLength"))
      return unsupported(j, path, "'pattern' together with 'minLength'/'maxLength' is not supported");
    return pattern(j, pat, pn, path, e);
  }
  if (mx >= 0 && mx < mn) return unsupported(j, path, "maxLength < minLength");
  if (mn == 0 && mx < 0) { ds_buf_puts(e, "json-string"); return true; }
  if (mx < 0) bprintf(e, "\"\\\"\" json-char{%lld,} \"\\\"\"", (long long)mn);
  else bprintf(e, "\"\\\"\" json-char{%lld,%lld} \"\\\"\"", (long long)mn, (long long)mx);
  return true;
}

static bool array_schema(js *j, const ds_json_value *s, const char *path, ds_buf *e)
{
  int64_t mn = 0, mx = -1;
  if (!count_of(j, s, "minItems", path, &mn) || !count_of(j, s, "maxItems", path, &mx)) return false;
  if (mx >= 0 && mx < mn) return unsupported(j, path, "maxItems < minItems");
  char item[24] = "json-value";
  const ds_json_value *items = ds_json_get(s, "items");
  if (items) {
    char p[1024];
    snprintf(p, sizeof p, "%s/items", path);
    if (!gen_rule(j, items, p, NULL, item)) return false;
  }
  if (mx == 0) { ds_buf_puts(e, "\"[\" ws \"]\""); return true; }
  char rep[48];
  int64_t rmin = mn ? mn - 1 : 0;
  if (mx < 0) snprintf(rep, sizeof rep, "{%lld,}", (long long)rmin);
  else snprintf(rep, sizeof rep, "{%lld,%lld}", (long long)rmin, (long long)(mx - 1));
  bprintf(e, "\"[\" ws %s%s ws (\",\" ws %s ws)%s%s \"]\"", mn ? "" : "(", item, item, rep, mn ? "" : ")?");
  return true;
}

static bool object_schema(js *j, const ds_json_value *s, const char *path, ds_buf *e)
{
  const ds_json_value *props = ds_json_get(s, "properties"), *req = ds_json_get(s, "required");
  const ds_json_value *extra = ds_json_get(s, "additionalProperties");
  if (props && !ds_json_is(props, DS_JSON_OBJECT)) return unsupported(j, path, "'properties' must be an object");
  if (req && !ds_json_is(req, DS_JSON_ARRAY)) return unsupported(j, path, "'required' must be an array");
  if (extra && extra->type != DS_JSON_FALSE)
    return unsupported(j, path, "keyword 'additionalProperties' other than false is not supported");
  int64_t n = props ? props->n : 0;
  for (int64_t r = 0; req && r < req->n; r++) {
    const char *k;
    size_t kl;
    if (!ds_json_str(&req->u.items[r], &k, &kl)) return unsupported(j, path, "'required' must list strings");
    if (!ds_json_getn(props, k, kl)) {
      char msg[300];
      snprintf(msg, sizeof msg, "required property '%.200s' is not in 'properties'", k);
      return unsupported(j, path, msg);
    }
  }
  if (n == 0) { ds_buf_puts(e, "\"{\" ws \"}\""); return true; }
  /* kv_i: one member; first_i: members from i on when none was written yet;
   * rest_i: the same after at least one (each starts with a comma). */
  int base = j->n_rules;
  j->n_rules += 3 * (int)n;
  for (int64_t i = 0; i < n; i++) {
    const ds_json_member *mb = &props->u.members[i];
    char p[1024], val[24];
    snprintf(p, sizeof p, "%s/properties/%.200s", path, mb->key);
    if (!gen_rule(j, &mb->value, p, NULL, val)) return false;
    bool required = false;
    for (int64_t r = 0; req && r < req->n && !required; r++)
      required = (size_t)req->u.items[r].n == mb->key_len && memcmp(req->u.items[r].u.str, mb->key, mb->key_len) == 0;
    int kv = base + 3 * (int)i, first = kv + 1, rest = kv + 2, nfirst = kv + 4, nrest = kv + 5;
    bool last = i == n - 1;
    bprintf(&j->out, "s%d ::= ", kv);
    {
      ds_buf t = {0};
      json_quote(&t, mb->key, mb->key_len);
      ds_buf_puts(&j->out, "\"");
      gbnf_escape(&j->out, t.data, t.len);
      ds_buf_puts(&j->out, "\"");
      ds_buf_free(&t);
    }
    bprintf(&j->out, " ws \":\" ws %s ws\n", val);
    if (last) {
      bprintf(&j->out, "s%d ::= s%d%s\n", first, kv, required ? "" : " | \"\"");
      bprintf(&j->out, "s%d ::= \",\" ws s%d%s\n", rest, kv, required ? "" : " | \"\"");
    } else if (required) {
      bprintf(&j->out, "s%d ::= s%d s%d\n", first, kv, nrest);
      bprintf(&j->out, "s%d ::= \",\" ws s%d s%d\n", rest, kv, nrest);
    } else {
      bprintf(&j->out, "s%d ::= s%d s%d | s%d\n", first, kv, nrest, nfirst);
      bprintf(&j->out, "s%d ::= \",\" ws s%d s%d | s%d\n", rest, kv, nrest, nrest);
    }
  }
  bprintf(e, "\"{\" ws s%d \"}\"", base + 1);
  return true;
}

/* ---- dispatch --------------------------------------------------------------------------- */

static const char *const KNOWN[] = {
  "type", "properties", "required", "additionalProperties", "items", "minItems", "maxItems", "enum", "const",
  "pattern", "minLength", "maxLength", "minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum", "anyOf",
  "oneOf", "$ref", "$defs", "definitions", "title", "description", "$schema", "$id", "$comment", "default",
  "examples",
};

/* The rule name for a "$ref" (generating the target once). */
static bool ref_rule_name(js *j, const char *ref, const char *path, char name[24])
{
  for (size_t i = 0; i < j->n_refs; i++)
    if (strcmp(j->refs[i].ref, ref) == 0) { memcpy(name, j->refs[i].name, 24); return true; }
  const ds_json_value *target = NULL;
  if (strcmp(ref, "#") == 0) target = j->root;
  else if (strncmp(ref, "#/$defs/", 8) == 0) target = ds_json_get(ds_json_get(j->root, "$defs"), ref + 8);
  else if (strncmp(ref, "#/definitions/", 14) == 0) target = ds_json_get(ds_json_get(j->root, "definitions"), ref + 14);
  else {
    char msg[300];
    snprintf(msg, sizeof msg, "'$ref' \"%.200s\" is not supported (only \"#\", \"#/$defs/NAME\", \"#/definitions/NAME\")", ref);
    return unsupported(j, path, msg);
  }
  if (!target) {
    char msg[300];
    snprintf(msg, sizeof msg, "'$ref' \"%.200s\" does not exist", ref);
    return unsupported(j, path, msg);
  }
  ref_rule *r = ds_realloc(j->refs, (j->n_refs + 1) * sizeof *r);
  if (!r) { j->st = ds_error(DSEEK_ERR_NO_MEMORY, "json schema: out of memory"); return false; }
  j->refs = r;
  ref_rule *nr = &j->refs[j->n_refs];
  if (!(nr->ref = ds_strndup(ref, strlen(ref)))) { j->st = ds_error(DSEEK_ERR_NO_MEMORY, "json schema: out of memory"); return false; }
  snprintf(nr->name, sizeof nr->name, "s%d", j->n_rules++);
  memcpy(name, nr->name, 24);
  j->n_refs++;
  char fixed[24];
  memcpy(fixed, name, 24);
  return gen_rule(j, target, ref, fixed, name);
}

static bool type_schema(js *j, const ds_json_value *s, const char *type, const char *path, ds_buf *e)
{
  if (!strcmp(type, "string")) return string_schema(j, s, path, e);
  if (!strcmp(type, "integer")) return numeric(j, s, path, true, e);
  if (!strcmp(type, "number")) return numeric(j, s, path, false, e);
  if (!strcmp(type, "boolean")) { ds_buf_puts(e, "json-bool"); return true; }
  if (!strcmp(type, "null")) { ds_buf_puts(e, "json-null"); return true; }
  if (!strcmp(type, "array")) return array_schema(j, s, path, e);
  if (!strcmp(type, "object")) return object_schema(j, s, path, e);
  char msg[300];
  snprintf(msg, sizeof msg, "unknown type '%.200s'", type);
  return unsupported(j, path, msg);
}

static bool gen_expr(js *j, const ds_json_value *s, const char *path, ds_buf *e)
{
  if (s->type == DS_JSON_TRUE) { ds_buf_puts(e, "json-value"); return true; }
  if (s->type == DS_JSON_FALSE) return unsupported(j, path, "the schema false accepts nothing");
  if (!ds_json_is(s, DS_JSON_OBJECT)) return unsupported(j, path, "a schema must be an object or true");
  for (int64_t i = 0; i < s->n; i++) {
    const char *k = s->u.members[i].key;
    bool known = false;
    for (size_t q = 0; q < DS_ARRAY_LEN(KNOWN) && !known; q++) known = strcmp(k, KNOWN[q]) == 0;
    if (!known) {
      char msg[300];
      snprintf(msg, sizeof msg, "keyword '%.200s' is not supported", k);
      return unsupported(j, path, msg);
    }
  }
  const ds_json_value *v;
  if ((v = ds_json_get(s, "$ref"))) {
    const char *ref;
    char name[24];
    if (!ds_json_str(v, &ref, NULL)) return unsupported(j, path, "'$ref' must be a string");
    if (!ref_rule_name(j, ref, path, name)) return false;
    ds_buf_puts(e, name);
    return true;
  }
  if ((v = ds_json_get(s, "const"))) { literal_of(e, v); return true; }
  if ((v = ds_json_get(s, "enum"))) {
    if (!ds_json_is(v, DS_JSON_ARRAY) || v->n == 0) return unsupported(j, path, "'enum' must be a non-empty array");
    ds_buf_puts(e, "(");
    for (int64_t i = 0; i < v->n; i++) {
      if (i) ds_buf_puts(e, " | ");
      literal_of(e, &v->u.items[i]);
    }
    ds_buf_puts(e, ")");
    return true;
  }
  const char *combo = ds_json_get(s, "anyOf") ? "anyOf" : ds_json_get(s, "oneOf") ? "oneOf" : NULL;
  if (combo) {
    v = ds_json_get(s, combo);
    if (!ds_json_is(v, DS_JSON_ARRAY) || v->n == 0) return unsupported(j, path, "'anyOf'/'oneOf' must be a non-empty array");
    ds_buf_puts(e, "(");
    for (int64_t i = 0; i < v->n; i++) {
      char p[1024], name[24];
      snprintf(p, sizeof p, "%s/%s/%lld", path, combo, (long long)i);
      if (!gen_rule(j, &v->u.items[i], p, NULL, name)) return false;
      bprintf(e, "%s%s", i ? " | " : "", name);
    }
    ds_buf_puts(e, ")");
    return true;
  }
  const char *type;
  if ((v = ds_json_get(s, "type"))) {
    if (ds_json_str(v, &type, NULL)) return type_schema(j, s, type, path, e);
    if (!ds_json_is(v, DS_JSON_ARRAY) || v->n == 0) return unsupported(j, path, "'type' must be a string or a non-empty array");
    ds_buf_puts(e, "(");
    for (int64_t i = 0; i < v->n; i++) {
      if (!ds_json_str(&v->u.items[i], &type, NULL)) return unsupported(j, path, "'type' must list strings");
      if (i) ds_buf_puts(e, " | ");
      if (!type_schema(j, s, type, path, e)) return false;
    }
    ds_buf_puts(e, ")");
    return true;
  }
  /* no type: infer it from the keywords present */
  if (ds_json_get(s, "properties") || ds_json_get(s, "required") || ds_json_get(s, "additionalProperties"))
    return object_schema(j, s, path, e);
  if (ds_json_get(s, "items") || ds_json_get(s, "minItems") || ds_json_get(s, "maxItems")) return array_schema(j, s, path, e);
  if (ds_json_get(s, "pattern") || ds_json_get(s, "minLength") || ds_json_get(s, "maxLength")) return string_schema(j, s, path, e);
  if (ds_json_get(s, "minimum") || ds_json_get(s, "maximum") || ds_json_get(s, "exclusiveMinimum") ||
      ds_json_get(s, "exclusiveMaximum"))
    return numeric(j, s, path, false, e);
  ds_buf_puts(e, "json-value");
  return true;
}

/* Write "name ::= <schema s>" (name fixed_name, or a new one) and return the name. */
static bool gen_rule(js *j, const ds_json_value *s, const char *path, const char *fixed_name, char name[24])
{
  if (fixed_name) memcpy(name, fixed_name, 24);
  else snprintf(name, 24, "s%d", j->n_rules++);
  ds_buf e = {0};
  bool ok = gen_expr(j, s, path, &e);
  if (ok) {
    ds_buf_puts(&j->out, "# ");
    for (const char *c = path; *c; c++) ds_buf_append(&j->out, (unsigned char)*c < 0x20 ? "?" : c, 1);
    bprintf(&j->out, "\n%s ::= ", name);
    ds_buf_append(&j->out, e.data ? e.data : "", e.len);
    ds_buf_puts(&j->out, "\n");
    if (e.failed) j->out.failed = true;
  }
  ds_buf_free(&e);
  return ok;
}

dseek_status ds_json_schema_to_gbnf(const char *schema, size_t len, char **gbnf)
{
  if (!schema || !gbnf) return ds_error(DSEEK_ERR_INVALID_ARG, "json schema: schema and gbnf must not be NULL");
  ds_json *doc = NULL;
  dseek_status st = ds_json_parse(schema, len, "json schema", &doc);
  if (st) return st;
  js j;
  memset(&j, 0, sizeof j);
  j.root = ds_json_root(doc);
  char name[24];
  ds_buf_puts(&j.out, PRIMITIVES);
  if (gen_rule(&j, j.root, "#", NULL, name)) bprintf(&j.out, "root ::= \"\\n\"{0,2} %s\n", name);
  st = j.st;
  if (!st && j.out.failed) st = ds_error(DSEEK_ERR_NO_MEMORY, "json schema: out of memory");
  for (size_t i = 0; i < j.n_refs; i++) ds_free(j.refs[i].ref);
  ds_free(j.refs);
  ds_json_free(doc);
  if (st) { ds_buf_free(&j.out); return st; }
  *gbnf = j.out.data;
  return DSEEK_OK;
}

dseek_status dseek_json_schema_to_grammar(const char *schema, char *gbnf, size_t capacity, size_t *length)
{
  static const char fn[] = "dseek_json_schema_to_grammar";
  if (!schema || !length || (!gbnf && capacity))
    return ds_error(DSEEK_ERR_INVALID_ARG, "%s: schema and length must not be NULL (gbnf only with capacity 0)", fn);
  char *text = NULL;
  dseek_status st = ds_json_schema_to_gbnf(schema, strlen(schema), &text);
  if (st) return st;
  size_t n = strlen(text);
  *length = n;
  if (capacity < n + 1)
    st = ds_error(DSEEK_ERR_BUFFER_TOO_SMALL, "%s: the grammar needs %zu bytes with its NUL", fn, n + 1);
  else
    memcpy(gbnf, text, n + 1);
  ds_free(text);
  return st;
}
