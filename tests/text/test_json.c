/* test_json.c — the strict JSON reader: values, escapes, numbers at the int64
 * and double limits, duplicates, depth, every invalid form we know of, truncation
 * at every offset, error positions, and the real tokenizer.json files. */
#include "formats/json.h"
#include "harness.h"

#include <locale.h>
#include <stdint.h>
#include <stdlib.h>
#include <time.h>

static ds_json *parse(const char *s)
{
  ds_json *doc = NULL;
  dseek_status st = ds_json_parse(s, strlen(s), "t.json", &doc);
  CHECK_MSG(st == DSEEK_OK, "parse of [%s] failed: %s", s, dseek_last_error());
  return doc;
}

static dseek_status parse_err(const char *s)
{
  ds_json *doc = NULL;
  dseek_status st = ds_json_parse(s, strlen(s), "t.json", &doc);
  CHECK_MSG(st == DSEEK_ERR_FORMAT, "[%s] parsed but should fail (status %d)", s, (int)st);
  CHECK(doc == NULL);
  ds_json_free(doc);
  return st;
}

static void test_scalars(void)
{
  ds_json *d = parse(" \t\r\n true \n");
  bool b = false;
  CHECK(ds_json_bool(ds_json_root(d), &b) && b);
  ds_json_free(d);
  d = parse("false");
  CHECK(ds_json_bool(ds_json_root(d), &b) && !b);
  CHECK_STR(ds_json_type_name(ds_json_root(d)), "boolean");
  ds_json_free(d);
  d = parse("null");
  CHECK(ds_json_is(ds_json_root(d), DS_JSON_NULL));
  CHECK(!ds_json_bool(ds_json_root(d), &b));
  ds_json_free(d);
  d = parse("\"\"");
  const char *s = NULL;
  size_t n = 99;
  CHECK(ds_json_str(ds_json_root(d), &s, &n) && n == 0 && s[0] == 0);
  ds_json_free(d);
  d = parse("\xEF\xBB\xBF" "1");   /* a BOM is skipped */
  int64_t i = 0;
  CHECK(ds_json_int(ds_json_root(d), &i) && i == 1);
  ds_json_free(d);
}

static void test_escapes(void)
{
  ds_json *d = parse("\"a\\\"b\\\\c\\/d\\be\\ff\\ng\\rh\\ti\"");
  const char *s;
  size_t n;
  CHECK(ds_json_str(ds_json_root(d), &s, &n));
  CHECK_EQ_INT(n, 17);
  CHECK(memcmp(s, "a\"b\\c/d\be\ff\ng\rh\ti", 17) == 0);
  ds_json_free(d);
  /* \u: 1-, 2-, 3-byte forms, upper/lower hex, NUL, a surrogate pair -> U+1F600 */
  d = parse("\"\\u0041\\u00e9\\u00E9\\u20AC\\u0000x\\uD83D\\uDE00\\ud83d\\ude00\"");
  CHECK(ds_json_str(ds_json_root(d), &s, &n));
  const char want[] = "A\xC3\xA9\xC3\xA9\xE2\x82\xAC\0x\xF0\x9F\x98\x80\xF0\x9F\x98\x80";
  CHECK_EQ_INT(n, sizeof want - 1);
  CHECK(memcmp(s, want, sizeof want - 1) == 0);
  ds_json_free(d);
  /* raw UTF-8 passes through; U+10FFFF is the largest */
  d = parse("\"caf\xC3\xA9 \xE4\xB8\xAD \xF4\x8F\xBF\xBF\"");
  CHECK(ds_json_str(ds_json_root(d), &s, &n) && n == 14 && memcmp(s, "caf\xC3\xA9 \xE4\xB8\xAD \xF4\x8F\xBF\xBF", 14) == 0);
  ds_json_free(d);
  d = parse("\"\\uDBFF\\uDFFF\"");
  CHECK(ds_json_str(ds_json_root(d), &s, &n) && n == 4 && memcmp(s, "\xF4\x8F\xBF\xBF", 4) == 0);
  ds_json_free(d);
  /* bad escapes and strings */
  parse_err("\"\\x\"");
  parse_err("\"\\u12\"");
  parse_err("\"\\u12G4\"");
  parse_err("\"\\uD83D\"");          /* lone high surrogate */
  parse_err("\"\\uD83Dx\"");
  parse_err("\"\\uD83D\\u0041\"");   /* high + non-low */
  parse_err("\"\\uDE00\"");          /* lone low surrogate */
  parse_err("\"\\uDE00\\uD83D\"");   /* reversed pair */
  parse_err("\"a\nb\"");             /* raw control character */
  parse_err("\"a\tb\"");
  parse_err("\"\x01\"");
  parse_err("\"\xC3\"");             /* truncated UTF-8 */
  parse_err("\"\xC0\x80\"");         /* overlong */
  parse_err("\"\xE0\x80\x80\"");     /* overlong */
  parse_err("\"\xED\xA0\x80\"");     /* encoded surrogate */
  parse_err("\"\xF4\x90\x80\x80\""); /* > U+10FFFF */
  parse_err("\"\xFF\"");
  parse_err("\"\x80\"");
  parse_err("'a'");
  parse_err("\"abc");
  parse_err("\"abc\\\"");
}

static void check_int(const char *text, int64_t want)
{
  ds_json *d = parse(text);
  int64_t i = 0;
  CHECK_MSG(ds_json_int(ds_json_root(d), &i) && i == want, "%s -> %lld", text, (long long)i);
  ds_json_free(d);
}

static void check_not_int(const char *text, double want)
{
  ds_json *d = parse(text);
  double x = 0;
  CHECK_MSG(!ds_json_int(ds_json_root(d), NULL), "%s should not be an exact integer", text);
  CHECK_MSG(ds_json_num(ds_json_root(d), &x) && x == want, "%s -> %.17g, want %.17g", text, x, want);
  ds_json_free(d);
}

static void check_double(const char *text, double want)
{
  ds_json *d = parse(text);
  double x = 0;
  CHECK_MSG(ds_json_num(ds_json_root(d), &x) && x == want && signbit(x) == signbit(want),
            "%s -> %.17g, want %.17g", text, x, want);
  ds_json_free(d);
}

static void test_numbers(void)
{
  check_int("0", 0);
  check_int("-0", 0);
  check_double("-0", -0.0);
  check_int("7", 7);
  check_int("-42", -42);
  check_int("9223372036854775807", INT64_MAX);
  check_int("-9223372036854775808", INT64_MIN);
  check_double("9223372036854775807", 9223372036854775807.0);
  check_double("-9223372036854775808", -9223372036854775808.0);
  check_not_int("9223372036854775808", 9223372036854775808.0);
  check_not_int("-9223372036854775809", -9223372036854775808.0);
  check_not_int("18446744073709551616", 18446744073709551616.0);
  check_not_int("123456789012345678901234567890", 1.2345678901234568e29);
  check_int("1.0", 1);
  check_int("1.000000000000000000000000", 1);
  check_int("2e3", 2000);
  check_int("2E+3", 2000);
  check_int("12.5e1", 125);
  check_int("-1000e-3", -1);
  check_not_int("-1500e-3", -1.5);
  check_int("9.223372036854775807e18", INT64_MAX);
  check_int("0.0e0", 0);
  check_int("0e99999999999", 0);
  check_not_int("1.5", 1.5);
  check_not_int("1e19", 1e19);
  check_not_int("1.00000000000000000001", 1.0);
  check_not_int("0.1", 0.1);
  check_not_int("1e-3", 0.001);
  check_not_int("-2.5E-3", -0.0025);
  check_not_int("3.141592653589793", 3.141592653589793);
  check_not_int("2.2250738585072014e-308", 2.2250738585072014e-308);
  check_not_int("1.7976931348623157e308", 1.7976931348623157e308);
  check_not_int("4.9e-324", 4.9e-324);
  check_not_int("1e-400", 0.0);      /* underflow to 0 is fine */
  check_not_int("0.30000000000000004", 0.30000000000000004);
  check_not_int("1e23", 1e23);      /* outside the fast path */
  check_not_int("9007199254740993.5", 9007199254740994.0);
  parse_err("1e400");
  parse_err("-1e400");
  parse_err("01");
  parse_err("-01");
  parse_err("+1");
  parse_err("1.");
  parse_err(".5");
  parse_err("1.e5");
  parse_err("1e");
  parse_err("1e+");
  parse_err("-");
  parse_err("- 1");
  parse_err("0x10");
  parse_err("NaN");
  parse_err("Infinity");
  parse_err("-Infinity");
  parse_err("1 2");
}

/* A host's locale with ',' as decimal separator must not change results. */
static void test_locale_independent(void)
{
  const char *names[] = {"de_DE.UTF-8", "de_DE.utf8", "fr_FR.UTF-8", "C.UTF-8"};
  for (size_t k = 0; k < DS_ARRAY_LEN(names); k++)
    if (setlocale(LC_NUMERIC, names[k])) break;
  check_not_int("1.25e300", 1.25e300);
  check_not_int("0.123456789012345678", 0.123456789012345678);
  setlocale(LC_NUMERIC, "C");
}

static void test_containers(void)
{
  ds_json *d = parse("{\"a\": [1, 2.5, \"x\", null, true, {}, []], \"b\": {\"c\": -3}, \"\": 0}");
  const ds_json_value *r = ds_json_root(d);
  CHECK_EQ_INT(ds_json_len(r), 3);
  const ds_json_value *a = ds_json_get(r, "a");
  CHECK_EQ_INT(ds_json_len(a), 7);
  int64_t i = 0;
  CHECK(ds_json_int(ds_json_at(a, 0), &i) && i == 1);
  CHECK(!ds_json_int(ds_json_at(a, 1), &i));
  CHECK(ds_json_is(ds_json_at(a, 3), DS_JSON_NULL));
  CHECK_EQ_INT(ds_json_len(ds_json_at(a, 5)), 0);
  CHECK_EQ_INT(ds_json_len(ds_json_at(a, 6)), 0);
  CHECK(ds_json_at(a, 7) == NULL);
  CHECK(ds_json_at(a, -1) == NULL);
  CHECK(ds_json_int(ds_json_get(ds_json_get(r, "b"), "c"), &i) && i == -3);
  CHECK(ds_json_get(r, "") != NULL);
  CHECK(ds_json_get(r, "zz") == NULL);
  CHECK(ds_json_get(a, "a") == NULL);   /* not an object */
  CHECK(ds_json_get(NULL, "a") == NULL);
  CHECK_EQ_INT(ds_json_len(NULL), -1);
  CHECK_STR(ds_json_type_name(NULL), "missing");
  CHECK_STR(r->u.members[0].key, "a");   /* order kept */
  CHECK_STR(r->u.members[1].key, "b");
  ds_json_free(d);
  parse_err("[1,]");
  parse_err("[,1]");
  parse_err("[1 2]");
  parse_err("{\"a\":1,}");
  parse_err("{\"a\" 1}");
  parse_err("{a:1}");
  parse_err("{\"a\":}");
  parse_err("{1:2}");
  parse_err("[");
  parse_err("]");
  parse_err("{");
  parse_err("");
  parse_err("   ");
  parse_err("[1]]");
  parse_err("/* c */ 1");
  parse_err("[tru]");
  parse_err("[nul]");
  parse_err("[True]");
  parse_err("\x00");
}

static void test_duplicates_and_index(void)
{
  ds_json *d = parse("{\"k\": 1, \"x\": 0, \"k\": 2}");
  int64_t i = 0;
  CHECK(ds_json_int(ds_json_get(ds_json_root(d), "k"), &i) && i == 2);
  CHECK_EQ_INT(ds_json_len(ds_json_root(d)), 3);
  ds_json_free(d);
  /* a big object (hash index) with a duplicate and keys with embedded NUL */
  char buf[40000];
  size_t o = 0;
  o += (size_t)snprintf(buf + o, sizeof buf - o, "{");
  for (int k = 0; k < 2000; k++) o += (size_t)snprintf(buf + o, sizeof buf - o, "\"key%d\": %d, ", k, k);
  o += (size_t)snprintf(buf + o, sizeof buf - o, "\"key7\": -7, \"a\\u0000b\": 5}");
  d = parse(buf);
  const ds_json_value *r = ds_json_root(d);
  CHECK_EQ_INT(ds_json_len(r), 2002);
  int bad = 0;
  for (int k = 0; k < 2000; k++) {
    char key[16];
    snprintf(key, sizeof key, "key%d", k);
    if (!ds_json_int(ds_json_get(r, key), &i) || i != (k == 7 ? -7 : k)) bad++;
  }
  CHECK_EQ_INT(bad, 0);
  CHECK(ds_json_get(r, "key2000") == NULL);
  CHECK(ds_json_int(ds_json_getn(r, "a\0b", 3), &i) && i == 5);
  CHECK(ds_json_get(r, "a") == NULL);
  ds_json_free(d);
}

static void test_depth(void)
{
  char buf[2 * DS_JSON_MAX_DEPTH + 8];
  for (int n = DS_JSON_MAX_DEPTH; n <= DS_JSON_MAX_DEPTH + 1; n++) {
    memset(buf, '[', (size_t)n);
    memset(buf + n, ']', (size_t)n);
    buf[2 * n] = 0;
    ds_json *d = NULL;
    dseek_status st = ds_json_parse(buf, strlen(buf), "t.json", &d);
    CHECK_EQ_INT(st, n <= DS_JSON_MAX_DEPTH ? DSEEK_OK : DSEEK_ERR_FORMAT);
    if (st) CHECK(strstr(dseek_last_error(), "nesting deeper than") != NULL);
    ds_json_free(d);
  }
  /* very deep input must not exhaust the C stack */
  size_t big = 1000000;
  char *deep = malloc(big);
  memset(deep, '[', big);
  ds_json *d = NULL;
  CHECK_EQ_INT(ds_json_parse(deep, big, "t.json", &d), DSEEK_ERR_FORMAT);
  free(deep);
}

static void test_error_positions(void)
{
  ds_json *d = NULL;
  const char *s = "{\n  \"a\": 1,\n  \"b\": tru\n}";
  CHECK_EQ_INT(ds_json_parse(s, strlen(s), "cfg.json", &d), DSEEK_ERR_FORMAT);
  CHECK_STR(dseek_last_error(), "cfg.json: line 3 column 8: invalid literal (expected true, false or null)");
  s = "[1,\n2,]";
  CHECK_EQ_INT(ds_json_parse(s, strlen(s), "x.json", &d), DSEEK_ERR_FORMAT);
  CHECK_STR(dseek_last_error(), "x.json: line 2 column 3: unexpected character ']', expected a value");
  s = "{\"k\": \"\\q\"}";
  CHECK_EQ_INT(ds_json_parse(s, strlen(s), "x.json", &d), DSEEK_ERR_FORMAT);
  CHECK_STR(dseek_last_error(), "x.json: line 1 column 8: invalid escape '\\q'");
  CHECK_EQ_INT(ds_json_parse(NULL, 1, "x", &d), DSEEK_ERR_INVALID_ARG);
  CHECK_EQ_INT(ds_json_parse_file("/nonexistent/x.json", &d), DSEEK_ERR_IO);
}

/* Every proper prefix of a valid document that is not itself valid must fail
 * cleanly; the few prefixes that are complete values must parse. */
static void test_truncation(void)
{
  const char *s = "{\"name\": \"caf\\u00e9 \\uD83D\\uDE00 \xE4\xB8\xAD\", \"n\": [-12.5e-3, 0, 9223372036854775807, true, false, null],"
                  " \"o\": {\"x\": {\"y\": []}}, \"e\": \"\\n\\t\\\"\\\\\"}";
  size_t len = strlen(s);
  ds_json *d = NULL;
  CHECK_EQ_INT(ds_json_parse(s, len, "t.json", &d), DSEEK_OK);
  ds_json_free(d);
  int wrong = 0;
  for (size_t n = 0; n < len; n++) {
    d = NULL;
    dseek_status st = ds_json_parse(s, n, "t.json", &d);
    if (st != DSEEK_ERR_FORMAT || d) wrong++;
    ds_json_free(d);
  }
  CHECK_EQ_INT(wrong, 0);
  /* a number cut short is still a number: "12" of "123" */
  const char *num = "-123.5e7";
  int ok = 0;
  for (size_t n = 0; n <= strlen(num); n++) {
    d = NULL;
    if (ds_json_parse(num, n, "t.json", &d) == DSEEK_OK) ok++;
    ds_json_free(d);
  }
  CHECK_EQ_INT(ok, 5);   /* -1 -12 -123 -123.5 -123.5e7 */
}

static void test_tokenizer_file(void)
{
  const char *dir = getenv("DS_TOKENIZER_DATA");
  CHECK_MSG(dir != NULL, "DS_TOKENIZER_DATA (tests/data/tokenizers) not set");
  if (!dir) return;
  const char *names[] = {"deepseek_v3/tokenizer.json", "deepseek_r1_distill_qwen/tokenizer.json"};
  const int64_t bang[] = {3, 0};   /* id of "!" in each vocab */
  for (size_t k = 0; k < DS_ARRAY_LEN(names); k++) {
    char path[4096];
    snprintf(path, sizeof path, "%s/%s", dir, names[k]);
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    ds_json *d = NULL;
    dseek_status st = ds_json_parse_file(path, &d);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    CHECK_MSG(st == DSEEK_OK, "%s", dseek_last_error());
    if (st) continue;
    double ms = (double)(t1.tv_sec - t0.tv_sec) * 1e3 + (double)(t1.tv_nsec - t0.tv_nsec) / 1e6;
    fprintf(stderr, "  parsed %s in %.1f ms\n", names[k], ms);
    const ds_json_value *vocab = ds_json_get(ds_json_get(ds_json_root(d), "model"), "vocab");
    CHECK(ds_json_len(vocab) > 100000);
    int64_t id = -1;
    CHECK(ds_json_int(ds_json_get(vocab, "!"), &id) && id == bang[k]);
    ds_json_free(d);
  }
}

int main(void)
{
  RUN(test_scalars);
  RUN(test_escapes);
  RUN(test_numbers);
  RUN(test_locale_independent);
  RUN(test_containers);
  RUN(test_duplicates_and_index);
  RUN(test_depth);
  RUN(test_error_positions);
  RUN(test_truncation);
  RUN(test_tokenizer_file);
  return DS_TEST_RESULT();
}
