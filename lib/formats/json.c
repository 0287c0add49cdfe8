/*
 * json.c — strict RFC 8259 parser into the read-only DOM of json.h.
 *
 * Recursive descent over the bytes (depth capped at DS_JSON_MAX_DEPTH, so the
 * C stack stays small). Children of a container are first pushed on a shared
 * scratch stack; when the container closes they are copied into one
 * contiguous arena block, so arrays index in O(1) and the whole DOM is a few
 * large allocations. Objects with >= HASH_MIN_MEMBERS members get an
 * open-addressing index (int32 slots, placed right after the members) built
 * in member order, so a duplicate key's slot ends up pointing at the last one.
 */
#include "formats/json.h"

#include "core/platform.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define HASH_MIN_MEMBERS 16
#define ARENA_BLOCK (256 * 1024)

/* ---- arena ------------------------------------------------------------------ */

typedef struct arena_block {
  struct arena_block *next;
  size_t used, cap;
  _Alignas(16) unsigned char data[];
} arena_block;

struct ds_json {
  arena_block *blocks;
  ds_json_value root;
};

/* n bytes, 8-aligned, or NULL on allocation failure. */
static void *arena_alloc(ds_json *doc, size_t n)
{
  n = (n + 7) & ~(size_t)7;
  arena_block *b = doc->blocks;
  if (!b || b->cap - b->used < n) {
    size_t cap = n > ARENA_BLOCK ? n : ARENA_BLOCK;
    b = ds_malloc(sizeof *b + cap);
    if (!b) return NULL;
    b->used = 0;
    b->cap = cap;
    b->next = doc->blocks;
    doc->blocks = b;
  }
  void *p = b->data + b->used;
  b->used += n;
  return p;
}

/* Give back the unused tail of the most recent allocation (`p`, reserved with
 * `reserved` bytes, of which `used` are kept). */
static void arena_shrink(ds_json *doc, void *p, size_t reserved, size_t used)
{
  arena_block *b = doc->blocks;
  reserved = (reserved + 7) & ~(size_t)7;
  used = (used + 7) & ~(size_t)7;
  if ((unsigned char *)p + reserved == b->data + b->used) b->used -= reserved - used;
}

/* ---- parser state ------------------------------------------------------------- */

typedef struct parser {
  const char *name;
  const uint8_t *start, *p, *end;
  ds_json *doc;
  ds_json_value *vals;   /* scratch stack of array items */
  size_t n_vals, cap_vals;
  ds_json_member *mems;  /* scratch stack of object members */
  size_t n_mems, cap_mems;
  int depth;
} parser;

static dseek_status fail_at(const parser *P, const uint8_t *at, const char *fmt, ...) DS_PRINTF(3, 4);

/* "name: line L column C: what" for the byte at `at`. */
static dseek_status fail_at(const parser *P, const uint8_t *at, const char *fmt, ...)
{
  char what[160];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(what, sizeof what, fmt, ap);
  va_end(ap);
  int64_t line = 1, col = 1;
  for (const uint8_t *q = P->start; q < at; q++) {
    if (*q == '\n') { line++; col = 1; }
    else col++;
  }
  return ds_error(DSEEK_ERR_FORMAT, "%s: line %lld column %lld: %s", P->name, (long long)line,
                  (long long)col, what);
}

static dseek_status no_memory(const parser *P)
{
  return ds_error(DSEEK_ERR_NO_MEMORY, "%s: out of memory while parsing JSON", P->name);
}

static void skip_ws(parser *P)
{
  const uint8_t *p = P->p, *end = P->end;
  while (p < end && (*p == ' ' || *p == '\n' || *p == '\r' || *p == '\t')) p++;
  P->p = p;
}

/* ---- strings -------------------------------------------------------------------- */

static int hex_digit(uint8_t c)
{
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

/* Four hex digits at p (caller checked p + 4 <= end), or -1. */
static int32_t hex4(const uint8_t *p)
{
  int32_t v = 0;
  for (int k = 0; k < 4; k++) {
    int d = hex_digit(p[k]);
    if (d < 0) return -1;
    v = v * 16 + d;
  }
  return v;
}

/* Length of the well-formed UTF-8 sequence at p (lead byte >= 0x80), or 0. */
static size_t utf8_seq(const uint8_t *p, const uint8_t *end)
{
  size_t n, k = ds_utf8_match(p, (size_t)(end - p), &n);
  return k == n ? n : 0;
}

/* P->p is at the opening quote. Unescapes into the arena. */
static dseek_status parse_string(parser *P, const char **out, size_t *out_len)
{
  const uint8_t *open = P->p, *end = P->end;
  /* Pass 1: find the closing quote; the unescaped text is never longer. */
  const uint8_t *q = open + 1;
  while (q < end && *q != '"') q += (*q == '\\') ? 2 : 1;
  if (q >= end) return fail_at(P, open, "unterminated string");
  size_t reserve = (size_t)(q - open);   /* raw bytes + 1 for the NUL */
  char *buf = arena_alloc(P->doc, reserve);
  if (!buf) return no_memory(P);
  char *o = buf;
  const uint8_t *p = open + 1;
  /* Pass 2: copy, validate, unescape. */
  while (p < q) {
    uint8_t c = *p;
    if (c >= 0x20 && c < 0x80 && c != '\\') { *o++ = (char)c; p++; continue; }
    if (c < 0x20) return fail_at(P, p, "control character 0x%02x in string (must be escaped)", c);
    if (c >= 0x80) {
      size_t n = utf8_seq(p, q);
      if (!n) return fail_at(P, p, "invalid UTF-8 byte 0x%02x in string", c);
      memcpy(o, p, n);
      o += n;
      p += n;
      continue;
    }
    /* escape; pass 1 guaranteed p + 1 < q or p + 1 == q (the quote, escaped) */
    const uint8_t *esc = p;
    if (p + 1 >= q) return fail_at(P, open, "unterminated string");
    p++;
    switch (*p++) {
    case '"': *o++ = '"'; break;
    case '\\': *o++ = '\\'; break;
    case '/': *o++ = '/'; break;
    case 'b': *o++ = '\b'; break;
    case 'f': *o++ = '\f'; break;
    case 'n': *o++ = '\n'; break;
    case 'r': *o++ = '\r'; break;
    case 't': *o++ = '\t'; break;
    case 'u': {
      if (q - p < 4) return fail_at(P, esc, "truncated \\u escape");
      int32_t cp = hex4(p);
      if (cp < 0) return fail_at(P, esc, "\\u escape needs four hex digits");
      p += 4;
      if (cp >= 0xDC00 && cp <= 0xDFFF)
        return fail_at(P, esc, "lone low surrogate \\u%04X", (unsigned)cp);
      if (cp >= 0xD800 && cp <= 0xDBFF) {
        int32_t lo = (q - p >= 6 && p[0] == '\\' && p[1] == 'u') ? hex4(p + 2) : -1;
        if (lo < 0xDC00 || lo > 0xDFFF)
          return fail_at(P, esc, "high surrogate \\u%04X not followed by a low surrogate escape",
                         (unsigned)cp);
        p += 6;
        cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
      }
      o += ds_utf8_encode((uint32_t)cp, o);
      break;
    }
    default: return fail_at(P, esc, "invalid escape '\\%c'", p[-1] >= 0x20 && p[-1] < 0x7F ? p[-1] : '?');
    }
  }
  *o = '\0';
  size_t len = (size_t)(o - buf);
  arena_shrink(P->doc, buf, reserve, len + 1);
  P->p = q + 1;
  *out = buf;
  *out_len = len;
  return DSEEK_OK;
}

/* ---- numbers -------------------------------------------------------------------- */

/* strtod of the literal [s, s+n) in the "C" locale, whatever the host set. */
static double strtod_c(const char *s, size_t n, bool *range_error)
{
  char small[64];
  char *buf = n < sizeof small ? small : ds_malloc(n + 1);
  if (!buf) { *range_error = false; return NAN; }
  memcpy(buf, s, n);
  buf[n] = '\0';
  double d = ds_strtod_c(buf, range_error);
  if (buf != small) ds_free(buf);
  return d;
}

/* number = [ "-" ] ( "0" / [1-9] *DIGIT ) [ "." 1*DIGIT ] [ ("e"/"E") ["+"/"-"] 1*DIGIT ]
 * While checking the grammar, the first 19 significant digits go into `mant`
 * and the value is mant * 10^e10 (+ dropped digits), which decides is_int
 * exactly and feeds the exact fast path for doubles (Clinger: mant <= 2^53 and
 * |e10| <= 22 make one correctly rounded multiply or divide). */
static dseek_status parse_number(parser *P, ds_json_value *v)
{
  const uint8_t *s = P->p, *p = s, *end = P->end;
  bool neg = false;
  if (p < end && *p == '-') { neg = true; p++; }
  if (p >= end || *p < '0' || *p > '9') return fail_at(P, s, "invalid number");
  uint64_t mant = 0;
  int n_sig = 0;
  int64_t e10 = 0;
  bool dropped_nonzero = false, plain = true;
  if (*p == '0') {
    p++;
    if (p < end && *p >= '0' && *p <= '9') return fail_at(P, s, "leading zero in number");
  } else {
    for (; p < end && *p >= '0' && *p <= '9'; p++) {
      if (n_sig < 19) { mant = mant * 10 + (uint64_t)(*p - '0'); n_sig++; }
      else { e10++; if (*p != '0') dropped_nonzero = true; }
    }
  }
  if (p < end && *p == '.') {
    plain = false;
    p++;
    if (p >= end || *p < '0' || *p > '9') return fail_at(P, s, "number needs a digit after '.'");
    for (; p < end && *p >= '0' && *p <= '9'; p++) {
      if (mant == 0 && *p == '0') { e10--; continue; }
      if (n_sig < 19) { mant = mant * 10 + (uint64_t)(*p - '0'); n_sig++; e10--; }
      else if (*p != '0') dropped_nonzero = true;
    }
  }
  if (p < end && (*p == 'e' || *p == 'E')) {
    plain = false;
    p++;
    bool eneg = false;
    if (p < end && (*p == '+' || *p == '-')) { eneg = *p == '-'; p++; }
    if (p >= end || *p < '0' || *p > '9') return fail_at(P, s, "number needs a digit in the exponent");
    int64_t ex = 0;
    for (; p < end && *p >= '0' && *p <= '9'; p++)
      if (ex < 100000000) ex = ex * 10 + (*p - '0');   /* saturates far outside double range */
    e10 += eneg ? -ex : ex;
  }
  P->p = p;
  v->type = DS_JSON_NUMBER;
  v->is_int = false;
  v->n = 0;
  v->i = 0;

  /* exact integer? */
  if (!dropped_nonzero) {
    uint64_t m = mant;
    int64_t e = e10;
    if (m == 0) e = 0;
    while (e < 0 && m % 10 == 0) { m /= 10; e++; }
    bool ok = e >= 0;
    for (; ok && e > 0; e--) ok = !ds_mul_u64(m, 10, &m);
    if (ok && m <= (neg ? (uint64_t)INT64_MAX + 1 : (uint64_t)INT64_MAX)) {
      v->is_int = true;
      v->i = neg ? (int64_t)(0 - m) : (int64_t)m;   /* two's complement wrap for INT64_MIN */
      if (m == 0) { v->u.num = neg ? -0.0 : 0.0; return DSEEK_OK; }
      if (plain) { v->u.num = neg ? -(double)m : (double)m; return DSEEK_OK; }   /* correctly rounded */
    }
  }
  static const double pow10[] = {1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11,
                                  1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22};
  if (!dropped_nonzero && mant <= ((uint64_t)1 << 53) && e10 >= -22 && e10 <= 22) {
    double d = (double)mant;
    d = e10 < 0 ? d / pow10[-e10] : d * pow10[e10];
    v->u.num = neg ? -d : d;
    return DSEEK_OK;
  }
  bool range_error = false;
  double d = strtod_c((const char *)s, (size_t)(p - s), &range_error);
  if (isnan(d)) return no_memory(P);
  if (range_error) return fail_at(P, s, "number %.*s is outside the range of a double",
                                  (int)DS_MIN(p - s, 40), (const char *)s);
  v->u.num = d;
  return DSEEK_OK;
}

/* ---- values --------------------------------------------------------------------- */

static dseek_status parse_value(parser *P, ds_json_value *v);

static bool literal(parser *P, const char *word, size_t n)
{
  if ((size_t)(P->end - P->p) < n || memcmp(P->p, word, n) != 0) return false;
  P->p += n;
  return true;
}

static uint64_t key_hash(const char *s, size_t n)
{
  uint64_t h = 1469598103934665603ull;   /* FNV-1a */
  for (size_t k = 0; k < n; k++) { h ^= (uint8_t)s[k]; h *= 1099511628211ull; }
  return h;
}

static size_t index_capacity(int64_t n)
{
  size_t cap = 32;
  while (cap < (size_t)n * 2) cap *= 2;
  return cap;
}

static dseek_status parse_array(parser *P, ds_json_value *v)
{
  const uint8_t *open = P->p++;
  size_t base = P->n_vals;
  skip_ws(P);
  if (P->p < P->end && *P->p == ']') { P->p++; goto done; }
  for (;;) {
    ds_json_value item;
    dseek_status st = parse_value(P, &item);
    if (st) return st;
    if (P->n_vals == P->cap_vals) {
      size_t cap = P->cap_vals ? P->cap_vals * 2 : 256;
      ds_json_value *nv = ds_realloc(P->vals, cap * sizeof *nv);
      if (!nv) return no_memory(P);
      P->vals = nv;
      P->cap_vals = cap;
    }
    P->vals[P->n_vals++] = item;
    skip_ws(P);
    if (P->p >= P->end) return fail_at(P, open, "unterminated array");
    if (*P->p == ',') { P->p++; continue; }
    if (*P->p == ']') { P->p++; break; }
    return fail_at(P, P->p, "expected ',' or ']' in array");
  }
done:;
  size_t n = P->n_vals - base;
  ds_json_value *items = NULL;
  if (n) {
    items = arena_alloc(P->doc, n * sizeof *items);
    if (!items) return no_memory(P);
    memcpy(items, P->vals + base, n * sizeof *items);
  }
  P->n_vals = base;
  v->type = DS_JSON_ARRAY;
  v->is_int = false;
  v->n = (int64_t)n;
  v->u.items = items;
  v->i = 0;
  return DSEEK_OK;
}

static dseek_status parse_object(parser *P, ds_json_value *v)
{
  const uint8_t *open = P->p++;
  size_t base = P->n_mems;
  skip_ws(P);
  if (P->p < P->end && *P->p == '}') { P->p++; goto done; }
  for (;;) {
    skip_ws(P);
    if (P->p >= P->end) return fail_at(P, open, "unterminated object");
    if (*P->p != '"') return fail_at(P, P->p, "expected a string key in object");
    ds_json_member m;
    dseek_status st = parse_string(P, &m.key, &m.key_len);
    if (st) return st;
    skip_ws(P);
    if (P->p >= P->end) return fail_at(P, open, "unterminated object");
    if (*P->p != ':') return fail_at(P, P->p, "expected ':' after key \"%.40s\"", m.key);
    P->p++;
    if ((st = parse_value(P, &m.value))) return st;
    if (P->n_mems == P->cap_mems) {
      size_t cap = P->cap_mems ? P->cap_mems * 2 : 256;
      ds_json_member *nm = ds_realloc(P->mems, cap * sizeof *nm);
      if (!nm) return no_memory(P);
      P->mems = nm;
      P->cap_mems = cap;
    }
    P->mems[P->n_mems++] = m;
    skip_ws(P);
    if (P->p >= P->end) return fail_at(P, open, "unterminated object");
    if (*P->p == ',') { P->p++; continue; }
    if (*P->p == '}') { P->p++; break; }
    return fail_at(P, P->p, "expected ',' or '}' in object");
  }
done:;
  size_t n = P->n_mems - base;
  ds_json_member *mems = NULL;
  if (n) {
    size_t bytes = n * sizeof *mems, cap = 0;
    if (n >= HASH_MIN_MEMBERS) {
      cap = index_capacity((int64_t)n);
      bytes += cap * sizeof(int32_t);
    }
    mems = arena_alloc(P->doc, bytes);
    if (!mems) return no_memory(P);
    memcpy(mems, P->mems + base, n * sizeof *mems);
    if (cap) {
      /* slot = member index + 1, 0 = empty; later duplicates overwrite */
      int32_t *slots = (int32_t *)(mems + n);
      memset(slots, 0, cap * sizeof *slots);
      for (size_t k = 0; k < n; k++) {
        size_t h = (size_t)key_hash(mems[k].key, mems[k].key_len) & (cap - 1);
        while (slots[h]) {
          const ds_json_member *o = &mems[slots[h] - 1];
          if (o->key_len == mems[k].key_len && memcmp(o->key, mems[k].key, o->key_len) == 0) break;
          h = (h + 1) & (cap - 1);
        }
        slots[h] = (int32_t)k + 1;
      }
    }
  }
  P->n_mems = base;
  v->type = DS_JSON_OBJECT;
  v->is_int = false;
  v->n = (int64_t)n;
  v->u.members = mems;
  v->i = 0;
  return DSEEK_OK;
}

static dseek_status parse_value(parser *P, ds_json_value *v)
{
  skip_ws(P);
  if (P->p >= P->end) return fail_at(P, P->p, "unexpected end of input, expected a value");
  dseek_status st;
  switch (*P->p) {
  case '{':
  case '[':
    if (P->depth >= DS_JSON_MAX_DEPTH)
      return fail_at(P, P->p, "nesting deeper than %d", DS_JSON_MAX_DEPTH);
    P->depth++;
    st = *P->p == '{' ? parse_object(P, v) : parse_array(P, v);
    P->depth--;
    return st;
  case '"':
    memset(v, 0, sizeof *v);
    v->type = DS_JSON_STRING;
    size_t len;
    if ((st = parse_string(P, &v->u.str, &len))) return st;
    v->n = (int64_t)len;
    return DSEEK_OK;
  case 't': case 'f': case 'n': {
    memset(v, 0, sizeof *v);
    if (literal(P, "true", 4)) { v->type = DS_JSON_TRUE; return DSEEK_OK; }
    if (literal(P, "false", 5)) { v->type = DS_JSON_FALSE; return DSEEK_OK; }
    if (literal(P, "null", 4)) { v->type = DS_JSON_NULL; return DSEEK_OK; }
    return fail_at(P, P->p, "invalid literal (expected true, false or null)");
  }
  default:
    if (*P->p == '-' || (*P->p >= '0' && *P->p <= '9')) return parse_number(P, v);
    if (*P->p >= 0x20 && *P->p < 0x7F) return fail_at(P, P->p, "unexpected character '%c', expected a value", *P->p);
    return fail_at(P, P->p, "unexpected byte 0x%02x, expected a value", *P->p);
  }
}

/* ---- documents ------------------------------------------------------------------ */

void ds_json_free(ds_json *doc)
{
  if (!doc) return;
  for (arena_block *b = doc->blocks, *next; b; b = next) {
    next = b->next;
    ds_free(b);
  }
  ds_free(doc);
}

dseek_status ds_json_parse(const char *text, size_t len, const char *name, ds_json **out)
{
  if (!name) name = "json";
  if ((!text && len) || !out) return ds_error(DSEEK_ERR_INVALID_ARG, "%s: ds_json_parse needs text and out", name);
  if (len > DS_JSON_MAX_SIZE)
    return ds_error(DSEEK_ERR_FORMAT, "%s: %zu bytes of JSON exceed the limit of %zu", name, len, DS_JSON_MAX_SIZE);
  if (!text) text = "";   /* an empty file has no bytes: NULL + 0 is undefined in C */
  ds_json *doc = ds_calloc(1, sizeof *doc);
  if (!doc) return ds_error(DSEEK_ERR_NO_MEMORY, "%s: out of memory", name);
  parser P = {.name = name, .start = (const uint8_t *)text, .p = (const uint8_t *)text,
              .end = (const uint8_t *)text + len, .doc = doc};
  if (len >= 3 && memcmp(text, "\xEF\xBB\xBF", 3) == 0) P.p += 3;
  dseek_status st = parse_value(&P, &doc->root);
  if (!st) {
    skip_ws(&P);
    if (P.p != P.end) st = fail_at(&P, P.p, "unexpected data after the JSON value");
  }
  ds_free(P.vals);
  ds_free(P.mems);
  if (st) { ds_json_free(doc); return st; }
  *out = doc;
  return DSEEK_OK;
}

dseek_status ds_json_parse_file(const char *path, ds_json **out)
{
  if (!path || !out) return ds_error(DSEEK_ERR_INVALID_ARG, "ds_json_parse_file: NULL argument");
  ds_file f;
  dseek_status st = ds_file_open(path, true, &f);
  if (st) return st;
  if (f.size > DS_JSON_MAX_SIZE) {
    ds_file_close(&f);
    return ds_error(DSEEK_ERR_FORMAT, "%s: file of %llu bytes exceeds the JSON limit of %zu", path,
                    (unsigned long long)f.size, DS_JSON_MAX_SIZE);
  }
  st = ds_json_parse((const char *)f.data, (size_t)f.size, path, out);
  ds_file_close(&f);
  return st;
}

const ds_json_value *ds_json_root(const ds_json *doc) { return doc ? &doc->root : NULL; }

/* ---- reading -------------------------------------------------------------------- */

const ds_json_value *ds_json_getn(const ds_json_value *obj, const char *key, size_t key_len)
{
  if (!obj || obj->type != DS_JSON_OBJECT || !key || obj->n == 0) return NULL;
  const ds_json_member *m = obj->u.members;
  int64_t n = obj->n;
  if (n >= HASH_MIN_MEMBERS) {
    size_t cap = index_capacity(n);
    const int32_t *slots = (const int32_t *)(m + n);
    size_t h = (size_t)key_hash(key, key_len) & (cap - 1);
    for (; slots[h]; h = (h + 1) & (cap - 1)) {
      const ds_json_member *o = &m[slots[h] - 1];
      if (o->key_len == key_len && memcmp(o->key, key, key_len) == 0) return &o->value;
    }
    return NULL;
  }
  for (int64_t k = n - 1; k >= 0; k--)   /* backwards: the last duplicate wins */
    if (m[k].key_len == key_len && memcmp(m[k].key, key, key_len) == 0) return &m[k].value;
  return NULL;
}

const ds_json_value *ds_json_get(const ds_json_value *obj, const char *key)
{
  return key ? ds_json_getn(obj, key, strlen(key)) : NULL;
}

const ds_json_value *ds_json_at(const ds_json_value *arr, int64_t i)
{
  if (!arr || arr->type != DS_JSON_ARRAY || i < 0 || i >= arr->n) return NULL;
  return &arr->u.items[i];
}

int64_t ds_json_len(const ds_json_value *v)
{
  if (!v || (v->type != DS_JSON_ARRAY && v->type != DS_JSON_OBJECT && v->type != DS_JSON_STRING)) return -1;
  return v->n;
}

bool ds_json_is(const ds_json_value *v, ds_json_type type)
{
  if (!v) return false;
  if (type == DS_JSON_TRUE || type == DS_JSON_FALSE) return v->type == DS_JSON_TRUE || v->type == DS_JSON_FALSE;
  return v->type == type;
}

bool ds_json_str(const ds_json_value *v, const char **s, size_t *len)
{
  if (!v || v->type != DS_JSON_STRING) return false;
  if (s) *s = v->u.str;
  if (len) *len = (size_t)v->n;
  return true;
}

bool ds_json_int(const ds_json_value *v, int64_t *out)
{
  if (!v || v->type != DS_JSON_NUMBER || !v->is_int) return false;
  if (out) *out = v->i;
  return true;
}

bool ds_json_num(const ds_json_value *v, double *out)
{
  if (!v || v->type != DS_JSON_NUMBER) return false;
  if (out) *out = v->u.num;
  return true;
}

bool ds_json_bool(const ds_json_value *v, bool *out)
{
  if (!v || (v->type != DS_JSON_TRUE && v->type != DS_JSON_FALSE)) return false;
  if (out) *out = v->type == DS_JSON_TRUE;
  return true;
}

const char *ds_json_type_name(const ds_json_value *v)
{
  if (!v) return "missing";
  switch (v->type) {
  case DS_JSON_NULL: return "null";
  case DS_JSON_FALSE: case DS_JSON_TRUE: return "boolean";
  case DS_JSON_NUMBER: return "number";
  case DS_JSON_STRING: return "string";
  case DS_JSON_ARRAY: return "array";
  default: return "object";
  }
}
