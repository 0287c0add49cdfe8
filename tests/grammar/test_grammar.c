/*
 * test_grammar.c — the GBNF compiler (errors with line and column), the
 * incremental matcher (hand-written sentences and non-sentences, byte by
 * byte through UTF-8), the JSON-schema translation (accepted and rejected
 * documents written by hand, unsupported keywords named with their path), and
 * the token trie walk against checking every token one by one, and the public
 * calls (dseek_json_schema_to_grammar, dseek_sampler_add_grammar).
 *
 *   test_grammar TINY_DIR [TOKENIZERS_DIR]
 */
#include "grammar/grammar.h"
#include "models/model.h"
#include "text/vocab.h"
#include "harness.h"

#include <stdlib.h>

static void expect_error(const char *gbnf, const char *msg_part)
{
  ds_grammar *g = NULL;
  dseek_status st = ds_grammar_compile(gbnf, strlen(gbnf), NULL, &g);
  CHECK_MSG(st == DSEEK_ERR_FORMAT, "'%s' compiled (status %d)", gbnf, (int)st);
  CHECK_MSG(strstr(dseek_last_error(), msg_part) != NULL, "'%s': message '%s' lacks '%s'", gbnf, dseek_last_error(),
            msg_part);
  ds_grammar_free(g);
}

static void test_compile_errors(void)
{
  expect_error("root ::= \"abc", "line 1 column 10: unterminated string literal");
  expect_error("root ::= foo", "line 1 column 10: rule 'foo' is used but not defined");
  expect_error("root ::= a\na ::= [abc", "line 2 column 7: unterminated character class");
  expect_error("root ::= [z-a]", "line 1 column 11: character range ends before it starts");
  expect_error("root ::= []", "line 1 column 10: empty character class");
  expect_error("root ::= root \"a\"", "left recursion: rule 'root' can start with itself (root -> root)");
  expect_error("root ::= x\nx ::= y? x \"b\"\ny ::= \"a\"", "line 2 column 1: left recursion: rule 'x'");
  expect_error("root ::= (\"a\"?)*", "line 1 column 16: left recursion: rule 'root-3'");
  expect_error("root ::= \"a\"{3,2}", "line 1 column 13: repetition {3,2} has max < min");
  expect_error("root ::= \"a\"{2", "line 1 column 13: expected {m}, {m,} or {m,n}");
  expect_error("root ::= \"a\"{20000}", "repetition count above 10000");
  expect_error("x ::= \"a\"", "the start rule 'root' is not defined");
  expect_error("root ::= \"a\" )", "line 1 column 14: unmatched ')'");
  expect_error("root := \"a\"", "line 1 column 6: expected '::=' after the rule name");
  expect_error("root ::= \"\\q\"", "line 1 column 11: unknown escape '\\q'");
  expect_error("root ::= \"\\x4\"", "escape '\\x' needs 2 hex digits");
  expect_error("root ::= (\"a\"", "line 1 column 10: '(' is not closed");
  expect_error("root ::= \"a\"\nroot ::= \"b\"", "line 2 column 1: rule 'root' is defined twice");
  expect_error("root ::= * \"a\"", "line 1 column 10: unexpected '*'");
  expect_error("::= \"a\"", "line 1 column 1: expected a rule name");
  ds_grammar *g = NULL;
  CHECK_EQ_INT(ds_grammar_compile(NULL, 0, NULL, &g), DSEEK_ERR_INVALID_ARG);
}

/* Does the grammar accept text as a whole sentence? Bytes are fed one at a
 * time, so multi-byte characters arrive split. */
static bool full_match(const ds_grammar *g, const char *text)
{
  ds_gmatch *m = NULL;
  if (ds_gmatch_create(g, &m)) return false;
  bool ok = true;
  dseek_status st;
  for (size_t i = 0; text[i] && ok; i++) ok = ds_gmatch_accept(m, text + i, 1, &st);
  ok = ok && ds_gmatch_can_end(m);
  ds_gmatch_free(m);
  return ok;
}

static ds_grammar *compile(const char *gbnf)
{
  ds_grammar *g = NULL;
  dseek_status st = ds_grammar_compile(gbnf, strlen(gbnf), NULL, &g);
  CHECK_MSG(st == DSEEK_OK, "'%s': %s", gbnf, dseek_last_error());
  return g;
}

typedef struct gcase {
  const char *gbnf;
  const char *yes[6];
  const char *no[6];
} gcase;

static void test_matcher(void)
{
  static const gcase cases[] = {
    {"root ::= \"ab\" | \"c\"", {"ab", "c"}, {"", "a", "abc", "b", "cc"}},
    {"root ::= (\"a\" \"b\")* \"c\"", {"c", "abc", "ababc"}, {"ab", "ac", "abac", "cc"}},
    {"root ::= \"a\"+ \"b\"?", {"a", "aaa", "aab"}, {"", "b", "abb"}},
    {"root ::= [0-9]{2,4}", {"12", "123", "1234"}, {"1", "12345", "1a"}},
    {"root ::= \"x\"{3}", {"xxx"}, {"xx", "xxxx"}},
    {"root ::= \"x\"{2,}", {"xx", "xxxxxxxxxx"}, {"x", ""}},
    {"root ::= [^a-c\\n]+", {"xyz", "d", "é"}, {"a", "xbx", "x\ny", ""}},
    {"root ::= [a-zA-Z_] [a-zA-Z_0-9-]*  # an identifier\n", {"a", "_x9-"}, {"9a", "a b"}},
    {"root ::= \"\\\"\" ( [^\"\\\\] | \"\\\\\" . )* \"\\\"\"", {"\"\"", "\"a\\\"b\"", "\"\\\\\""}, {"\"", "\"a\\\"", "\"a\"b\""}},
    {"root ::= [α-ω]+ \"→\" [\\u4e00-\\u9fff]", {"αβγ→中", "ω→一"}, {"αβγ→a", "a→中", "α中"}},
    {"root ::= \"\\U0001F600\" | \"\\x41\\u00e9\"", {"😀", "Aé"}, {"😁", "A"}},
    {"root ::= item (\",\" item)*\nitem ::= \"a\"\n       | \"b\" # continued\n", {"a", "a,b,a"}, {"a,", ",a", "c"}},
    {"root ::= (\n  \"x\" |\n  \"y\"\n)", {"x", "y"}, {"xy"}},
    {"root ::= . .", {"ab", "é!", "中文"}, {"a", "abc"}},
    {"root ::= (\"a\" | \"a\" \"a\")* \"b\"", {"b", "ab", "aaaaaaaab"}, {"aaaa", "ba"}},
    {"root ::= \"(\" root \")\" | \"\"", {"", "()", "((()))"}, {"(", "())", ")("}},
  };
  for (size_t i = 0; i < DS_ARRAY_LEN(cases); i++) {
    ds_grammar *g = compile(cases[i].gbnf);
    if (!g) continue;
    for (size_t k = 0; k < 6 && cases[i].yes[k]; k++)
      CHECK_MSG(full_match(g, cases[i].yes[k]), "grammar %zu should accept '%s'", i, cases[i].yes[k]);
    for (size_t k = 0; k < 6 && cases[i].no[k]; k++)
      CHECK_MSG(!full_match(g, cases[i].no[k]), "grammar %zu should reject '%s'", i, cases[i].no[k]);
    ds_grammar_free(g);
  }

  /* invalid UTF-8 never matches, even under a negated class */
  ds_grammar *g = compile("root ::= [^a]*");
  CHECK(!full_match(g, "\xC0\x80") && !full_match(g, "\xED\xA0\x80") && !full_match(g, "\xF5\x80\x80\x80"));
  CHECK(full_match(g, "b\xC3\xA9"));
  /* a partial character is not a sentence yet, and must be able to continue */
  ds_gmatch *m = NULL;
  dseek_status st;
  CHECK_EQ_INT(ds_gmatch_create(g, &m), DSEEK_OK);
  CHECK(ds_gmatch_accept(m, "\xC3", 1, &st) && !ds_gmatch_can_end(m));
  CHECK(!ds_gmatch_accept(m, "x", 1, &st));      /* state unchanged after a rejection */
  CHECK(ds_gmatch_accept(m, "\xA9", 1, &st) && ds_gmatch_can_end(m) && !ds_gmatch_must_end(m));
  ds_gmatch_free(m);
  ds_grammar_free(g);
  g = compile("root ::= [\\u00e0-\\u00ff]");
  CHECK_EQ_INT(ds_gmatch_create(g, &m), DSEEK_OK);
  CHECK(!ds_gmatch_accept(m, "\xC2", 1, &st));   /* U+0080..U+00BF: none in the set */
  CHECK(ds_gmatch_accept(m, "\xC3", 1, &st));
  CHECK(ds_gmatch_accept(m, "\xA0", 1, &st) && ds_gmatch_must_end(m));
  ds_gmatch_free(m);
  ds_grammar_free(g);

  /* bounded work: nesting beyond DS_GMATCH_MAX_DEPTH is refused, not grown */
  g = compile("root ::= \"(\" root \")\" | \"x\"");
  CHECK_EQ_INT(ds_gmatch_create(g, &m), DSEEK_OK);
  int depth = 0;
  while (depth < DS_GMATCH_MAX_DEPTH + 10 && ds_gmatch_accept(m, "(", 1, &st)) depth++;
  CHECK_MSG(depth >= DS_GMATCH_MAX_DEPTH - 2 && depth <= DS_GMATCH_MAX_DEPTH, "nesting stopped at %d", depth);
  ds_gmatch_free(m);
  ds_grammar_free(g);
  /* an exponentially ambiguous grammar stays within the head bound */
  g = compile("root ::= x*\nx ::= \"a\" | \"a\" \"a\" | \"a\" \"a\" \"a\"");
  CHECK_EQ_INT(ds_gmatch_create(g, &m), DSEEK_OK);
  for (int i = 0; i < 200; i++) CHECK(ds_gmatch_accept(m, "a", 1, &st));
  CHECK(ds_gmatch_can_end(m));
  ds_gmatch_free(m);
  ds_grammar_free(g);
}

/* ---- JSON schema ---------------------------------------------------------------- */

typedef struct scase {
  const char *schema;
  const char *yes[8];
  const char *no[8];
} scase;

static void test_json_schema(void)
{
  static const scase cases[] = {
    {"{\"type\":\"integer\",\"minimum\":5,\"maximum\":123}", {"5", "9", "10", "99", "100", "123"},
     {"4", "124", "0", "05", "-5", "5.0", "1000"}},
    {"{\"type\":\"integer\",\"minimum\":-20,\"maximum\":-3}", {"-20", "-3", "-19", "-10"}, {"-2", "-21", "3", "-0", "0"}},
    {"{\"type\":\"integer\",\"exclusiveMinimum\":0}", {"1", "999999"}, {"0", "-1"}},
    {"{\"type\":\"number\",\"minimum\":-1.5,\"maximum\":2}", {"2", "1.75", "0.5", "-1", "-0.25", "0"},
     {"2.5", "-2", "3", "1e3"}},
    {"{\"type\":\"number\"}", {"0", "-1.25e+10", "3.5", "12"}, {"01", "1.", ".5", "+1", "1e"}},
    {"{\"type\":\"string\",\"maxLength\":3}", {"\"\"", "\"abc\"", "\"a\\\"b\"", "\"\\u00e9\""}, {"\"abcd\"", "abc", "\"a"}},
    {"{\"type\":\"string\",\"minLength\":2}", {"\"ab\"", "\"abcdef\""}, {"\"a\"", "\"\""}},
    {"{\"enum\":[\"red\",\"green\",3,null,{\"a\":[1]}]}", {"\"red\"", "\"green\"", "3", "null", "{\"a\":[1]}"},
     {"\"blue\"", "4", "\"Red\""}},
    {"{\"const\":\"x\\\"y\"}", {"\"x\\\"y\""}, {"\"xy\"", "\"x\"y\""}},
    {"{\"type\":\"string\",\"pattern\":\"^[A-Z]{2}-\\\\d{3}$\"}", {"\"AB-123\"", "\"ZZ-000\""},
     {"\"AB-12\"", "\"ab-123\"", "\"AB-1234\"", "\"xAB-123\""}},
    {"{\"type\":\"string\",\"pattern\":\"a(b|c)+\"}", {"\"ab\"", "\"xxacbc yy\""}, {"\"a\"", "\"ad\""}},
    {"{\"type\":\"string\",\"pattern\":\"^[^x]+$\"}", {"\"abc\"", "\"é\""}, {"\"axb\"", "\"\"", "\"a\\\"\""}},
    {"{\"type\":\"string\",\"pattern\":\"^[\\\"a]$\"}", {"\"a\"", "\"\\\"\""}, {"\"\"\"", "\"b\""}},
    {"{\"type\":\"boolean\"}", {"true", "false"}, {"True", "1", "null"}},
    {"{\"type\":[\"null\",\"integer\"]}", {"null", "42"}, {"\"42\"", "true"}},
    {"{\"type\":\"array\",\"items\":{\"type\":\"integer\"},\"minItems\":1,\"maxItems\":3}",
     {"[1]", "[1, 2,3]", "[ 7 ]"}, {"[]", "[1,2,3,4]", "[1,]", "[\"a\"]"}},
    {"{\"type\":\"array\",\"maxItems\":0}", {"[]", "[ ]"}, {"[1]"}},
    {"{\"type\":\"array\"}", {"[]", "[1,\"a\",[{}],{\"k\":null}]"}, {"[", "[1 2]"}},
    {"{\"type\":\"object\",\"properties\":{\"name\":{\"type\":\"string\"},\"age\":{\"type\":\"integer\"},"
     "\"tags\":{\"type\":\"array\",\"items\":{\"type\":\"string\"}}},\"required\":[\"age\"]}",
     {"{\"age\":3}", "{\"name\":\"a\",\"age\":3}", "{\"age\":3,\"tags\":[\"x\"]}", "{ \"name\" : \"a\" , \"age\" : 3 , \"tags\" : [ ] }"},
     {"{}", "{\"name\":\"a\"}", "{\"age\":3,\"name\":\"a\"}", "{\"age\":3,}", "{\"age\":3,\"x\":1}", "{,\"age\":3}"}},
    {"{\"type\":\"object\",\"properties\":{\"a\":{\"type\":\"null\"},\"b\":{\"type\":\"null\"}}}",
     {"{}", "{\"a\":null}", "{\"b\":null}", "{\"a\":null,\"b\":null}"}, {"{\"b\":null,\"a\":null}", "{,}", "{\"a\":null,}"}},
    {"{\"anyOf\":[{\"type\":\"integer\",\"minimum\":0,\"maximum\":9},{\"type\":\"string\",\"maxLength\":1}]}",
     {"7", "\"q\""}, {"10", "\"qq\""}},
    {"{\"oneOf\":[{\"const\":1},{\"const\":2}]}", {"1", "2"}, {"3"}},
    {"{\"$defs\":{\"node\":{\"type\":\"object\",\"properties\":{\"v\":{\"type\":\"integer\"},"
     "\"next\":{\"anyOf\":[{\"$ref\":\"#/$defs/node\"},{\"type\":\"null\"}]}},\"required\":[\"v\",\"next\"]}},"
     "\"$ref\":\"#/$defs/node\"}",
     {"{\"v\":1,\"next\":null}", "{\"v\":1,\"next\":{\"v\":2,\"next\":null}}"}, {"{\"v\":1}", "{\"v\":1,\"next\":{}}"}},
    {"{\"title\":\"t\",\"description\":\"d\",\"type\":\"null\"}", {"null", "\n\nnull"}, {"\n\n\nnull", "null "}},
  };
  for (size_t i = 0; i < DS_ARRAY_LEN(cases); i++) {
    char *gbnf = NULL;
    dseek_status st = ds_json_schema_to_gbnf(cases[i].schema, strlen(cases[i].schema), &gbnf);
    CHECK_MSG(st == DSEEK_OK, "schema %zu: %s", i, dseek_last_error());
    if (st) continue;
    ds_grammar *g = compile(gbnf);
    if (!g) { fprintf(stderr, "%s\n", gbnf); ds_free(gbnf); continue; }
    for (size_t k = 0; k < 8 && cases[i].yes[k]; k++)
      CHECK_MSG(full_match(g, cases[i].yes[k]), "schema %zu should accept '%s'", i, cases[i].yes[k]);
    for (size_t k = 0; k < 8 && cases[i].no[k]; k++)
      CHECK_MSG(!full_match(g, cases[i].no[k]), "schema %zu should reject '%s'", i, cases[i].no[k]);
    ds_grammar_free(g);
    ds_free(gbnf);
  }

  static const char *const bad[][2] = {
    {"{\"type\":\"object\",\"properties\":{\"a\":{\"type\":\"string\",\"format\":\"email\"}}}",
     "json schema: #/properties/a: keyword 'format' is not supported"},
    {"{\"type\":\"array\",\"items\":{\"allOf\":[]}}", "json schema: #/items: keyword 'allOf' is not supported"},
    {"{\"type\":\"object\",\"additionalProperties\":true}", "#: keyword 'additionalProperties' other than false"},
    {"{\"$ref\":\"#/$defs/missing\"}", "'$ref' \"#/$defs/missing\" does not exist"},
    {"{\"$ref\":\"http://x/y.json\"}", "is not supported (only"},
    {"{\"type\":\"integer\",\"minimum\":1.2,\"maximum\":1.8}", "no integer lies within"},
    {"{\"type\":\"string\",\"pattern\":\"a*?\"}", "lazy or possessive quantifiers are not supported"},
    {"{\"type\":\"string\",\"pattern\":\"\\\\bx\"}", "pattern escape '\\b' is not supported"},
    {"{\"type\":\"uuid\"}", "#: unknown type 'uuid'"},
    {"{\"type\":\"object\",\"properties\":{},\"required\":[\"x\"]}", "required property 'x' is not in 'properties'"},
    {"{\"type\":\"array\",\"maxItems\":100000}", "'maxItems' must be an integer in [0, 10000]"},
  };
  for (size_t i = 0; i < DS_ARRAY_LEN(bad); i++) {
    char *gbnf = NULL;
    dseek_status st = ds_json_schema_to_gbnf(bad[i][0], strlen(bad[i][0]), &gbnf);
    CHECK_MSG(st == DSEEK_ERR_UNSUPPORTED, "bad schema %zu: status %d", i, (int)st);
    CHECK_MSG(strstr(dseek_last_error(), bad[i][1]) != NULL, "bad schema %zu: '%s' lacks '%s'", i, dseek_last_error(),
              bad[i][1]);
    ds_free(gbnf);
  }
  char *gbnf = NULL;
  CHECK_EQ_INT(ds_json_schema_to_gbnf("{\"type\":", 8, &gbnf), DSEEK_ERR_FORMAT);
  CHECK(strstr(dseek_last_error(), "json schema: line 1 column 9") != NULL);
}

/* ---- the trie walk equals checking each token ------------------------------------------- */

/* The mask of the state after `history` must allow exactly the tokens whose
 * piece a fresh matcher accepts after history (EOG: when it can end). */
static void check_mask(const ds_vocab *v, const ds_token_trie *t, const ds_grammar *g, const char *history)
{
  int64_t n = ds_vocab_n_tokens(v);
  uint64_t *mask = calloc((size_t)(n + 63) / 64, 8);
  ds_gmatch *m = NULL, *probe = NULL;
  dseek_status st;
  CHECK_EQ_INT(ds_gmatch_create(g, &m), DSEEK_OK);
  CHECK_EQ_INT(ds_gmatch_create(g, &probe), DSEEK_OK);
  if (!m || !probe || !mask) goto done;
  CHECK_MSG(ds_gmatch_accept(m, history, strlen(history), &st), "history '%s'", history);
  CHECK_EQ_INT(ds_gmatch_mask(m, t, n, mask), DSEEK_OK);
  int64_t diff = 0, allowed = 0;
  for (int32_t id = 0; id < n; id++) {
    bool want = false;
    ds_token_type ty = ds_vocab_token_type(v, id);
    const char *piece;
    size_t len;
    if (ds_vocab_is_eog(v, id)) {
      want = ds_gmatch_can_end(m);
    } else if ((ty == DS_TOKEN_NORMAL || ty == DS_TOKEN_BYTE) && !ds_token_piece(v, id, &piece, &len) && len > 0) {
      ds_gmatch_reset(probe);
      want = ds_gmatch_accept(probe, history, strlen(history), &st) && ds_gmatch_accept(probe, piece, len, &st);
    }
    bool got = (mask[id >> 6] >> (id & 63)) & 1;
    allowed += got;
    if (got != want) diff++;
  }
  CHECK_MSG(diff == 0, "'%s': %lld tokens differ between the trie walk and one-by-one checks", history, (long long)diff);
  CHECK_MSG(allowed > 0, "'%s': nothing allowed", history);
done:
  ds_gmatch_free(m);
  ds_gmatch_free(probe);
  free(mask);
}

static void test_trie(const char *vocab_path)
{
  dseek_model *model = NULL;
  dseek_model_options mo;
  dseek_model_options_init(&mo, sizeof mo);
  mo.vocab_only = 1;
  if (dseek_model_load(vocab_path, &mo, &model)) { fprintf(stderr, "skip trie test: %s\n", dseek_last_error()); return; }
  const ds_token_trie *t;
  CHECK_EQ_INT(ds_model_token_trie(model, &t), DSEEK_OK);
  const ds_token_trie *again;
  CHECK_EQ_INT(ds_model_token_trie(model, &again), DSEEK_OK);
  CHECK(t == again);
  const char *schema = "{\"type\":\"object\",\"properties\":{\"name\":{\"type\":\"string\"},\"n\":{\"type\":\"integer\","
                       "\"minimum\":-5,\"maximum\":250},\"ok\":{\"type\":\"boolean\"}},\"required\":[\"name\",\"n\"]}";
  char *gbnf = NULL;
  CHECK_EQ_INT(ds_json_schema_to_gbnf(schema, strlen(schema), &gbnf), DSEEK_OK);
  ds_grammar *g = compile(gbnf);
  static const char *const histories[] = {"", "{", "{\"name\"", "{\"name\": \"ab", "{\"name\": \"ab\\", "{\"name\": \"\xC3",
                                          "{\"name\":\"\",\"n\":2", "{\"name\":\"\",\"n\":-", "{\"name\":\"\",\"n\":25,"};
  for (size_t i = 0; g && i < DS_ARRAY_LEN(histories); i++) check_mask(model->vocab, t, g, histories[i]);
  ds_grammar_free(g);
  ds_free(gbnf);
  dseek_model_free(model);
}

/* The public calls: dseek_json_schema_to_grammar's buffer rule and errors;
 * dseek_sampler_add_grammar's errors, and a chain holding only the grammar
 * drawing from flat logits spells a sentence of it, then ends the turn. */
static void test_public_api(const char *model_path)
{
  size_t len = 0;
  char buf[4096];
  CHECK_EQ_INT(dseek_json_schema_to_grammar(NULL, buf, sizeof buf, &len), DSEEK_ERR_INVALID_ARG);
  CHECK_EQ_INT(dseek_json_schema_to_grammar("{}", buf, sizeof buf, NULL), DSEEK_ERR_INVALID_ARG);
  const char *schema = "{\"type\": \"boolean\"}";
  CHECK_EQ_INT(dseek_json_schema_to_grammar(schema, NULL, 0, &len), DSEEK_ERR_BUFFER_TOO_SMALL);
  size_t need = len;
  CHECK(need > 0 && need < sizeof buf);
  CHECK_EQ_INT(dseek_json_schema_to_grammar(schema, buf, sizeof buf, &len), DSEEK_OK);
  CHECK(len == need && strlen(buf) == len && strstr(buf, "root") != NULL);
  CHECK_EQ_INT(dseek_json_schema_to_grammar("{\"format\": \"email\"}", buf, sizeof buf, &len), DSEEK_ERR_UNSUPPORTED);
  CHECK(strstr(dseek_last_error(), "'format'") != NULL);
  CHECK_EQ_INT(dseek_json_schema_to_grammar("{\"type\": ", buf, sizeof buf, &len), DSEEK_ERR_FORMAT);

  dseek_model *m = NULL;
  if (dseek_model_load(model_path, NULL, &m)) { fprintf(stderr, "skip: %s\n", dseek_last_error()); return; }
  dseek_sampler *s = NULL;
  CHECK_EQ_INT(dseek_sampler_create(1, &s), DSEEK_OK);
  CHECK_EQ_INT(dseek_sampler_add_grammar(NULL, m, "root ::= \"a\"", NULL), DSEEK_ERR_INVALID_ARG);
  CHECK_EQ_INT(dseek_sampler_add_grammar(s, NULL, "root ::= \"a\"", NULL), DSEEK_ERR_INVALID_ARG);
  CHECK_EQ_INT(dseek_sampler_add_grammar(s, m, NULL, NULL), DSEEK_ERR_INVALID_ARG);
  CHECK_EQ_INT(dseek_sampler_add_grammar(s, m, "root ::= undefined", NULL), DSEEK_ERR_FORMAT);
  CHECK(strstr(dseek_last_error(), "line 1") != NULL);
  CHECK_EQ_INT(dseek_sampler_add_grammar(s, m, "root ::= \"ab\" | \"cd\"", NULL), DSEEK_OK);

  int64_t n_vocab = dseek_model_n_vocab(m);
  float *flat = calloc((size_t)n_vocab, sizeof *flat);
  for (uint64_t seed = 1; flat && seed <= 16; seed++) {
    CHECK_EQ_INT(dseek_sampler_reset(s, seed), DSEEK_OK);
    char text[64] = "";
    size_t n = 0;
    int32_t tok = -1;
    for (int step = 0; step < 8; step++) {
      if (dseek_sampler_sample(s, flat, n_vocab, &tok) != DSEEK_OK || dseek_token_is_eog(m, tok)) break;
      const char *piece;
      size_t plen;
      if (dseek_token_piece(m, tok, &piece, &plen) || n + plen >= sizeof text) break;
      memcpy(text + n, piece, plen);
      text[n += plen] = 0;
    }
    CHECK_MSG(dseek_token_is_eog(m, tok) && (!strcmp(text, "ab") || !strcmp(text, "cd")), "seed %llu: '%s'",
              (unsigned long long)seed, text);
  }
  /* a token that does not continue the grammar is refused */
  CHECK_EQ_INT(dseek_sampler_reset(s, 1), DSEEK_OK);
  int32_t z[8];
  int64_t nz = 0;
  if (dseek_tokenize(m, "z", 1, 0, 0, z, 8, &nz) == DSEEK_OK && nz == 1)
    CHECK_EQ_INT(dseek_sampler_accept(s, z[0]), DSEEK_ERR_INVALID_ARG);
  free(flat);
  dseek_sampler_free(s);
  dseek_model_free(m);
}

int main(int argc, char **argv)
{
  RUN(test_compile_errors);
  RUN(test_matcher);
  RUN(test_json_schema);
  if (argc > 2) {
    char p[1024];
    snprintf(p, sizeof p, "%s/deepseek_r1", argv[2]);
    test_trie(p);
  }
  const char *tiny = ds_test_tiny_dir(argc, argv);
  if (tiny) {
    char p[1024];
    snprintf(p, sizeof p, "%s/qwen2-gguf-f32/model.gguf", tiny);
    test_trie(p);
    test_public_api(p);
  }
  int rc = DS_TEST_RESULT();
  return rc == 0 && !tiny ? 77 : rc;   /* the checks that ran passed; the tiny-model part skipped */
}
