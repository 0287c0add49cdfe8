/* test_vocab_files.c — tokenizer.json loading on small hand-written files:
 * BPE rank order and leftmost ties, ignore_merges, added tokens, config
 * fields, merges that can never apply (skipped), and clear errors for malformed
 * or unsupported files. */
#include "harness.h"
#include "text/vocab.h"

#include <stdlib.h>
#include <unistd.h>

static char dir[64];

/* Write tokenizer.json (and tokenizer_config.json if cfg) into dir. */
static void write_files(const char *tok, const char *cfg)
{
  char path[256];
  snprintf(path, sizeof path, "%s/tokenizer.json", dir);
  FILE *f = fopen(path, "w");
  fputs(tok, f);
  fclose(f);
  snprintf(path, sizeof path, "%s/tokenizer_config.json", dir);
  unlink(path);
  if (cfg) {
    f = fopen(path, "w");
    fputs(cfg, f);
    fclose(f);
  }
}

/* The Qwen2 Split pattern as it appears inside the JSON file. */
#define QWEN_PATTERN \
  "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\\\r\\\\n\\\\p{L}\\\\p{N}]?\\\\p{L}+|\\\\p{N}| ?[^\\\\s\\\\p{L}\\\\p{N}]+[\\\\r\\\\n]*|\\\\s*[\\\\r\\\\n]+|\\\\s+(?!\\\\S)|\\\\s+"
#define PRE "\"pre_tokenizer\": {\"type\": \"Sequence\", \"pretokenizers\": [{\"type\": \"Split\", \"pattern\": {\"Regex\": \"" \
  QWEN_PATTERN "\"}, \"behavior\": \"Isolated\", \"invert\": false}, {\"type\": \"ByteLevel\", \"add_prefix_space\": false, \"use_regex\": false}]}"
#define VOCAB "\"vocab\": {\"a\": 0, \"b\": 1, \"c\": 2, \"ab\": 3, \"ba\": 4, \"aa\": 5, \"abc\": 6, \"\\u0120\": 7, \"\\u0120a\": 8, \"<s>\": 9}"

static ds_vocab *load_ok(void)
{
  ds_vocab *v = NULL;
  dseek_status st = ds_vocab_load_hf(dir, &v);
  CHECK_MSG(st == DSEEK_OK, "%s", dseek_last_error());
  return v;
}

static void expect(const ds_vocab *v, const char *text, const int32_t *want, int64_t n_want)
{
  int32_t got[32];
  int64_t n = 0;
  dseek_status st = ds_tokenize(v, text, strlen(text), false, true, got, 32, &n);
  CHECK_MSG(st == DSEEK_OK && n == n_want && memcmp(got, want, (size_t)n * sizeof *got) == 0,
            "\"%s\": status %d, %lld ids (first %d)", text, (int)st, (long long)n, n ? got[0] : -1);
}
#define EXPECT(v, text, ...) expect(v, text, (const int32_t[]){__VA_ARGS__}, \
                                    (int64_t)(sizeof((const int32_t[]){__VA_ARGS__}) / sizeof(int32_t)))

static void test_bpe_order(void)
{
  write_files("{\"model\": {\"type\": \"BPE\", " VOCAB ", \"merges\": [\"a a\", \"a b\", \"b a\", \"ab c\", \"\\u0120 a\"]}, " PRE ","
              " \"added_tokens\": [{\"id\": 9, \"content\": \"<s>\", \"special\": true}]}",
              "{\"bos_token\": \"<s>\", \"add_bos_token\": true, \"chat_template\": [{\"name\": \"default\", \"template\": \"T\"}]}");
  ds_vocab *v = load_ok();
  if (!v) return;
  EXPECT(v, "aaa", 5, 0);          /* equal ranks: the leftmost pair first */
  EXPECT(v, "aba", 3, 0);          /* "a b" (rank 1) before "b a" (rank 2) */
  EXPECT(v, "bab", 1, 3);          /* pairs "b a"(2) and "a b"(1): a b first -> b, ab */
  EXPECT(v, "abc", 6);
  EXPECT(v, "aab", 5, 1);          /* "a a" wins over "a b" */
  EXPECT(v, "a a", 0, 8);          /* "Ġa" */
  EXPECT(v, "<s>ab", 9, 3);
  int32_t ids[4];
  int64_t n;
  CHECK_EQ_INT(ds_tokenize(v, "<s>", 3, false, false, ids, 4, &n), DSEEK_OK);   /* special off: text */
  CHECK_EQ_INT(n, 0);   /* "<s" and ">": bytes without tokens, dropped */
  CHECK_EQ_INT(ds_tokenize(v, "a", 1, true, true, ids, 4, &n), DSEEK_OK);
  CHECK(n == 2 && ids[0] == 9);
  CHECK_STR(ds_vocab_chat_template(v), "T");
  /* a byte with no token is dropped (no unk token, no byte fallback) */
  CHECK_EQ_INT(ds_tokenize(v, "ad", 2, false, true, ids, 4, &n), DSEEK_OK);
  CHECK(n == 1 && ids[0] == 0);
  ds_vocab_free(v);
  /* ignore_merges: a piece that is a token is taken whole */
  write_files("{\"model\": {\"type\": \"BPE\", \"ignore_merges\": true, " VOCAB ", \"merges\": [[\"a\", \"b\"]]}, " PRE "}", NULL);
  v = load_ok();
  if (!v) return;
  EXPECT(v, "abc", 6);
  EXPECT(v, "ba", 4);
  EXPECT(v, "bab", 1, 3);
  CHECK_EQ_INT(ds_vocab_bos(v), -1);
  CHECK(!ds_vocab_add_bos(v));
  ds_vocab_free(v);
}

/* Merges that name a string which is no token (left, right or the merged
 * result) can never apply, since every BPE symbol is a token: they are
 * skipped and counted, not fatal (llama.cpp loads such files too); the
 * merges around them keep their ranks. */
static void test_unappliable_merges(void)
{
  write_files("{\"model\": {\"type\": \"BPE\", " VOCAB ", \"merges\": [\"a q\", \"b c\", \"a b\", \"ab c\"]}, " PRE "}", NULL);
  ds_vocab *v = load_ok();
  if (!v) return;
  CHECK_EQ_INT(ds_vocab_n_merges_skipped(v), 2);   /* 'q' is no token; "bc" is no token */
  EXPECT(v, "bc", 1, 2);
  EXPECT(v, "abc", 6);                             /* ranks 2 and 3 still apply in order */
  ds_vocab_free(v);
  write_files("{\"model\": {\"type\": \"BPE\", " VOCAB ", \"merges\": [\"a b\"]}, " PRE "}", NULL);
  if ((v = load_ok())) CHECK_EQ_INT(ds_vocab_n_merges_skipped(v), 0);
  ds_vocab_free(v);
}

static void expect_error(const char *tok, const char *cfg, dseek_status want, const char *fragment)
{
  write_files(tok, cfg);
  ds_vocab *v = NULL;
  dseek_status st = ds_vocab_load_hf(dir, &v);
  CHECK_MSG(st == want && !v && strstr(dseek_last_error(), fragment), "status %d, message \"%s\", want %d with \"%s\"",
            (int)st, dseek_last_error(), (int)want, fragment);
  ds_vocab_free(v);
}

static void test_errors(void)
{
  const char *good_model = "\"model\": {\"type\": \"BPE\", " VOCAB ", \"merges\": [\"a b\"]}";
  char buf[4096];
  expect_error("{\"model\": {\"type\": \"BPE\",\n \"vocab\": {\"a\": 0,}}}", NULL, DSEEK_ERR_FORMAT, "tokenizer.json: line 2 column 19");
  expect_error("[1, 2]", NULL, DSEEK_ERR_FORMAT, "expected an object with a 'model' object");
  expect_error("{\"model\": {\"type\": \"Unigram\", \"vocab\": [], \"merges\": []}, " PRE "}", NULL, DSEEK_ERR_UNSUPPORTED, "'Unigram'");
  expect_error("{\"model\": {\"type\": \"BPE\", \"vocab\": {\"a\": 0}, \"merges\": [], \"byte_fallback\": true}, " PRE "}", NULL,
               DSEEK_ERR_UNSUPPORTED, "byte_fallback");
  expect_error("{\"model\": {\"type\": \"BPE\", \"vocab\": [], \"merges\": []}, " PRE "}", NULL, DSEEK_ERR_FORMAT, "model.vocab is array");
  expect_error("{\"model\": {\"type\": \"BPE\", \"vocab\": {\"a\": 0}}, " PRE "}", NULL, DSEEK_ERR_FORMAT, "model.merges is missing");
  expect_error("{\"model\": {\"type\": \"BPE\", \"vocab\": {\"a\": \"x\"}, \"merges\": []}, " PRE "}", NULL, DSEEK_ERR_FORMAT,
               "model.vocab['a'] is not a valid token id");
  expect_error("{\"model\": {\"type\": \"BPE\", \"vocab\": {\"a\": 0, \"b\": 0}, \"merges\": []}, " PRE "}", NULL, DSEEK_ERR_FORMAT,
               "id 0 is given twice");
  expect_error("{\"model\": {\"type\": \"BPE\", \"vocab\": {\"a\": 600000000}, \"merges\": []}, " PRE "}", NULL,
               DSEEK_ERR_FORMAT, "token ids are sparse: highest id 600000000 for 1 listed tokens");
  expect_error("{\"model\": {\"type\": \"BPE\", " VOCAB ", \"merges\": [\"ab\"]}, " PRE "}", NULL, DSEEK_ERR_FORMAT,
               "model.merges[0] = 'ab' is not 'left right'");
  expect_error("{\"model\": {\"type\": \"BPE\", " VOCAB ", \"merges\": [7]}, " PRE "}", NULL, DSEEK_ERR_FORMAT,
               "model.merges[0] is neither");
  snprintf(buf, sizeof buf, "{%s, \"normalizer\": {\"type\": \"NFKC\"}, " PRE "}", good_model);
  expect_error(buf, NULL, DSEEK_ERR_UNSUPPORTED, "normalizer 'NFKC'");
  snprintf(buf, sizeof buf, "{%s, \"pre_tokenizer\": {\"type\": \"Sequence\", \"pretokenizers\": [{\"type\": \"Split\", "
           "\"pattern\": {\"Regex\": \"\\\\w+\"}, \"behavior\": \"Isolated\", \"invert\": false}, {\"type\": \"ByteLevel\", "
           "\"add_prefix_space\": false, \"use_regex\": false}]}}", good_model);
  expect_error(buf, NULL, DSEEK_ERR_UNSUPPORTED, "pre-tokenizer regex '\\w+' is not one dseek implements");
  snprintf(buf, sizeof buf, "{%s, \"pre_tokenizer\": {\"type\": \"ByteLevel\", \"add_prefix_space\": false, \"use_regex\": true}}", good_model);
  expect_error(buf, NULL, DSEEK_ERR_UNSUPPORTED, "pre_tokenizer 'ByteLevel' is not supported");
  snprintf(buf, sizeof buf, "{%s, \"pre_tokenizer\": null}", good_model);
  expect_error(buf, NULL, DSEEK_ERR_UNSUPPORTED, "pre_tokenizer 'null'");
  snprintf(buf, sizeof buf, "{%s, " PRE ", \"added_tokens\": [{\"id\": 0, \"content\": \"zz\", \"special\": true}]}", good_model);
  expect_error(buf, NULL, DSEEK_ERR_FORMAT, "added token 0 'zz' conflicts with vocabulary entry 'a'");
  snprintf(buf, sizeof buf, "{%s, " PRE ", \"added_tokens\": [{\"id\": 20, \"content\": \"<x>\", \"lstrip\": true}]}", good_model);
  expect_error(buf, NULL, DSEEK_ERR_UNSUPPORTED, "sets lstrip");
  snprintf(buf, sizeof buf, "{%s, " PRE ", \"added_tokens\": [{\"id\": -1, \"content\": \"<x>\"}]}", good_model);
  expect_error(buf, NULL, DSEEK_ERR_FORMAT, "added_tokens[0].id");
  snprintf(buf, sizeof buf, "{%s, " PRE "}", good_model);
  expect_error(buf, "{\"bos_token\": \"<nope>\"}", DSEEK_ERR_FORMAT, "tokenizer_config.json: bos_token '<nope>' is not in the vocabulary");
  expect_error(buf, "{\"bos_token\": ", DSEEK_ERR_FORMAT, "tokenizer_config.json: line 1 column 1");
  ds_vocab *v = NULL;
  CHECK_EQ_INT(ds_vocab_load_hf("/nonexistent/dir", &v), DSEEK_ERR_IO);
  CHECK_EQ_INT(ds_vocab_load_hf(NULL, &v), DSEEK_ERR_INVALID_ARG);
}

int main(void)
{
  snprintf(dir, sizeof dir, "/tmp/dseek-vocab-XXXXXX");
  if (!mkdtemp(dir)) return 77;
  RUN(test_bpe_order);
  RUN(test_errors);
  RUN(test_unappliable_merges);
  char path[256];
  snprintf(path, sizeof path, "%s/tokenizer.json", dir);
  unlink(path);
  snprintf(path, sizeof path, "%s/tokenizer_config.json", dir);
  unlink(path);
  rmdir(dir);
  return DS_TEST_RESULT();
}
