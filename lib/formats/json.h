/*
 * json.h — a strict RFC 8259 JSON reader into a compact, read-only DOM, for
 * tokenizer.json, tokenizer_config.json, config.json and safetensors headers.
 *
 * Policy (what "strict" means here):
 *   - The whole input is one value with optional whitespace (space, tab, LF,
 *     CR) around it. A leading UTF-8 byte order mark is skipped (RFC 8259 §8.1
 *     allows a parser to ignore it); nothing else is tolerated: no comments, no
 *     trailing commas, no NaN/Infinity, no single quotes, no leading '+' or
 *     zeros, no control characters (< 0x20) inside strings.
 *   - Strings must be valid UTF-8 (no overlongs, surrogates or > U+10FFFF).
 *     Escapes are unescaped to UTF-8; \uD8xx\uDCxx pairs become one code point
 *     and a lone surrogate escape is an error. \u0000 is allowed: every string
 *     carries its byte length and is also NUL-terminated.
 *   - Numbers are kept as the nearest double (correctly rounded; a value
 *     outside the double range is an error, underflow gives 0). When the
 *     literal is mathematically an integer within [INT64_MIN, INT64_MAX] (so
 *     "12", "-0", "1.0", "2e3" but not "1.5" or "1e19"), `is_int` is set and
 *     `i` holds it exactly.
 *   - Objects keep their members in file order. Duplicate keys are allowed; a
 *     lookup by key returns the LAST occurrence (as Python's json and
 *     JavaScript's JSON.parse do), iteration sees all of them.
 *   - Limits: nesting depth DS_JSON_MAX_DEPTH, input size DS_JSON_MAX_SIZE.
 *
 * Errors are DSEEK_ERR_FORMAT "name: line L column C: what" (line and column
 * 1-based, column counted in bytes), or DSEEK_ERR_NO_MEMORY.
 *
 * Every value of a document lives in arenas owned by the ds_json handle; the
 * document is immutable after parsing and may be read by many threads.
 */
#ifndef DS_FORMATS_JSON_H
#define DS_FORMATS_JSON_H

#include "core/ds.h"

#define DS_JSON_MAX_DEPTH 128
#define DS_JSON_MAX_SIZE ((size_t)1 << 30)   /* 1 GiB */

typedef enum ds_json_type {
  DS_JSON_NULL = 0,
  DS_JSON_FALSE,
  DS_JSON_TRUE,
  DS_JSON_NUMBER,
  DS_JSON_STRING,
  DS_JSON_ARRAY,
  DS_JSON_OBJECT
} ds_json_type;

typedef struct ds_json_member ds_json_member;

/* One value. `n` is the byte length of a string, the item count of an array
 * or the member count of an object. */
typedef struct ds_json_value {
  uint8_t type;                 /* ds_json_type */
  bool is_int;                  /* NUMBER only: `i` is exact */
  int64_t n;
  union {
    const char *str;            /* STRING: n bytes + NUL */
    const struct ds_json_value *items;   /* ARRAY: n values */
    const ds_json_member *members;       /* OBJECT: n members */
    double num;                 /* NUMBER */
  } u;
  int64_t i;                    /* NUMBER with is_int */
} ds_json_value;

struct ds_json_member {
  const char *key;              /* NUL-terminated, key_len bytes */
  size_t key_len;
  ds_json_value value;
};

typedef struct ds_json ds_json;   /* a parsed document (owner of everything) */

/* Parse text[0..len). `name` (a file name) prefixes error messages. */
dseek_status ds_json_parse(const char *text, size_t len, const char *name, ds_json **out);
/* Read and parse a whole file; errors name the path. */
dseek_status ds_json_parse_file(const char *path, ds_json **out);
void ds_json_free(ds_json *doc);

const ds_json_value *ds_json_root(const ds_json *doc);

/* ---- reading ---------------------------------------------------------------
 * All accessors accept NULL and values of the wrong type, returning NULL /
 * false / -1, so that lookups chain: ds_json_get(ds_json_get(root, "model"), "vocab"). */

/* Member of an object by key (last duplicate wins), or NULL. O(1) for objects
 * with many members (a hash index is built at parse time), else a short scan. */
const ds_json_value *ds_json_get(const ds_json_value *obj, const char *key);
const ds_json_value *ds_json_getn(const ds_json_value *obj, const char *key, size_t key_len);

/* Item i of an array, or NULL. */
const ds_json_value *ds_json_at(const ds_json_value *arr, int64_t i);

/* Items of an array / members of an object / bytes of a string; -1 otherwise. */
int64_t ds_json_len(const ds_json_value *v);

bool ds_json_is(const ds_json_value *v, ds_json_type type);
bool ds_json_str(const ds_json_value *v, const char **s, size_t *len);   /* len may be NULL */
bool ds_json_int(const ds_json_value *v, int64_t *out);   /* only exact integers */
bool ds_json_num(const ds_json_value *v, double *out);
bool ds_json_bool(const ds_json_value *v, bool *out);

/* "null", "boolean", "number", "string", "array", "object" (for messages);
 * v == NULL gives "missing". */
const char *ds_json_type_name(const ds_json_value *v);

#endif
