/* test_tokenizer.c — the HF tokenizers of tests/data/tokenizers: every case
 * of deepseek_v3, deepseek_r1 and deepseek_r1_distill_qwen cases.jsonl
 * (ids, decode, streaming decode), llama.cpp's r1-qwen .inp/.out, the
 * examples of lib/text/README.md §2-4 and §7, argument and buffer rules, and
 * the measured speed. Exits 77 when the data directory is missing. */
#include "tok_cases.h"

#include <time.h>

static ds_vocab *v3, *r1, *qwen;

static ds_vocab *load(const char *dir, const char *sub)
{
  char path[4096];
  snprintf(path, sizeof path, "%s/%s", dir, sub);
  ds_vocab *v = NULL;
  dseek_status st = ds_vocab_load_hf(path, &v);
  CHECK_MSG(st == DSEEK_OK, "%s: %s", path, dseek_last_error());
  return v;
}

static void check_ids(const ds_vocab *v, const char *text, bool special, const int32_t *want, int64_t n_want)
{
  int32_t got[256];
  int64_t n = -1;
  dseek_status st = ds_tokenize(v, text, strlen(text), false, special, got, 256, &n);
  bool ok = st == DSEEK_OK && n == n_want && memcmp(got, want, (size_t)n * sizeof *got) == 0;
  CHECK_MSG(ok, "\"%s\": status %d, %lld ids", text, (int)st, (long long)n);
  if (!ok && !st) print_ids("got", got, n);
}

#define IDS(...) (const int32_t[]){__VA_ARGS__}, (int64_t)(sizeof((const int32_t[]){__VA_ARGS__}) / sizeof(int32_t))

static void test_facts(void)
{
  CHECK_EQ_INT(ds_vocab_n_tokens(v3), 128815);
  CHECK_EQ_INT(ds_vocab_bos(v3), 0);
  CHECK_EQ_INT(ds_vocab_eos(v3), 1);
  CHECK_EQ_INT(ds_vocab_pad(v3), 1);
  CHECK(ds_vocab_add_bos(v3));
  CHECK_EQ_INT(ds_vocab_pretok(v3), DS_PRETOK_DEEPSEEK_V3);
  CHECK(!ds_vocab_nfc(v3));
  CHECK(ds_vocab_token_special(v3, 0));
  CHECK(!ds_vocab_token_special(v3, 128803));   /* <｜User｜> */
  CHECK(ds_vocab_token_special(v3, 128805));    /* <|EOT|> */
  CHECK(ds_vocab_is_eog(v3, 1));
  CHECK(ds_vocab_is_eog(v3, 128805));
  CHECK(!ds_vocab_is_eog(v3, 0));
  CHECK(ds_vocab_chat_template(v3) != NULL);
  CHECK_EQ_INT(ds_vocab_find(v3, "<think>", 7), -1);
  CHECK_EQ_INT(ds_vocab_find(r1, "<think>", 7), 128798);
  CHECK_EQ_INT(ds_vocab_find(r1, "</think>", 8), 128799);
  CHECK_EQ_INT(ds_vocab_n_tokens(qwen), 151665);
  CHECK_EQ_INT(ds_vocab_bos(qwen), 151646);
  CHECK_EQ_INT(ds_vocab_eos(qwen), 151643);
  CHECK(ds_vocab_add_bos(qwen));
  CHECK(ds_vocab_nfc(qwen));
  CHECK_EQ_INT(ds_vocab_pretok(qwen), DS_PRETOK_QWEN2);
  CHECK(!ds_vocab_token_special(qwen, 151648));   /* <think> is not special */
  size_t len;
  const char *t = ds_vocab_token_text(v3, 2058, &len);
  CHECK(t && len == 7 && memcmp(t, "\xC4\xA0world", 7) == 0);   /* "Ġworld" */
  const char *p;
  CHECK_EQ_INT(ds_token_piece(v3, 2058, &p, &len), DSEEK_OK);
  CHECK(len == 6 && memcmp(p, " world", 6) == 0);
  CHECK_EQ_INT(ds_token_piece(v3, 128815, &p, &len), DSEEK_ERR_INVALID_ARG);
  CHECK_EQ_INT(ds_token_piece(v3, -1, &p, &len), DSEEK_ERR_INVALID_ARG);
}

/* Examples written out in lib/text/README.md §2-4 and §7 (ids of the real
 * HF tokenizers, also among the cases of tests/data/tokenizers). */
static void test_semantics_examples(void)
{
  check_ids(v3, "Hello <\xEF\xBD\x9C" "Assistant\xEF\xBD\x9C> world", true, IDS(19923, 223, 128804, 2058));
  check_ids(v3, "cafe\xCC\x81", true, IDS(69, 15702, 17793));
  check_ids(v3, "caf\xC3\xA9", true, IDS(69, 2797, 619));
  check_ids(qwen, "cafe\xCC\x81", true, IDS(924, 58858));
  check_ids(qwen, "caf\xC3\xA9", true, IDS(924, 58858));
  check_ids(v3, "a   b", true, IDS(67, 262, 291));
  check_ids(v3, "1234567", true, IDS(6895, 18009, 25));
  check_ids(v3, "1,234,567.89", true, IDS(19, 14, 14456, 14, 25601, 16, 4362));
  check_ids(v3, " 123", true, IDS(223, 6895));
  check_ids(v3, "\xE6\x88\x91\xE6\x83\xB3\xE5\x9C\xA8" "apple\xE5\xB7\xA5\xE4\xBD\x9C" "1314151\xE5\xA4\xA9\xEF\xBD\x9E", true,
            IDS(11458, 445, 42123, 1472, 9049, 19453, 19, 954, 9596));
  check_ids(qwen, "\xE6\x88\x91\xE6\x83\xB3\xE5\x9C\xA8" "apple\xE5\xB7\xA5\xE4\xBD\x9C" "1314151\xE5\xA4\xA9\xEF\xBD\x9E", true,
            IDS(104100, 18493, 22377, 99257, 16, 18, 16, 19, 16, 20, 16, 35727, 21216));
  check_ids(qwen, "1234567", true, IDS(16, 17, 18, 19, 20, 21, 22));
  check_ids(qwen, " 123", true, IDS(220, 16, 17, 18));
  check_ids(v3, "text  \xEF\xBB\xBF", true, IDS(2067, 223, 223, 15251));
  check_ids(qwen, "text  \xEF\xBB\xBF", true, IDS(1318, 220, 75780));
  check_ids(v3, "<think>", true, IDS(30, 37947, 32));
  check_ids(r1, "<think>", true, IDS(128798));
  /* special off: <｜begin▁of▁sentence｜> is text, <｜User｜> is still matched */
  int32_t ids[64];
  int64_t n = 0;
  const char *bos_user = "<\xEF\xBD\x9C" "begin\xE2\x96\x81of\xE2\x96\x81sentence\xEF\xBD\x9C><\xEF\xBD\x9C" "User\xEF\xBD\x9C>";
  CHECK_EQ_INT(ds_tokenize(v3, bos_user, strlen(bos_user), false, true, ids, 64, &n), DSEEK_OK);
  CHECK(n == 2 && ids[0] == 0 && ids[1] == 128803);
  CHECK_EQ_INT(ds_tokenize(v3, bos_user, strlen(bos_user), false, false, ids, 64, &n), DSEEK_OK);
  CHECK(n > 2 && ids[0] != 0 && ids[n - 1] == 128803);
  /* U+0085 U+0085 -> four byte tokens, each a partial sequence */
  check_ids(v3, "\xC2\x85\xC2\x85", true, IDS(129, 230, 129, 230));
}

static void test_api_rules(void)
{
  int32_t ids[8];
  int64_t n = -1;
  /* add_bos follows the vocabulary's flag */
  CHECK_EQ_INT(ds_tokenize(v3, "Hi", 2, true, true, ids, 8, &n), DSEEK_OK);
  CHECK(n >= 2 && ids[0] == 0);
  CHECK_EQ_INT(ds_tokenize(qwen, "Hi", 2, true, true, ids, 8, &n), DSEEK_OK);
  CHECK(n >= 2 && ids[0] == 151646);
  /* empty text */
  CHECK_EQ_INT(ds_tokenize(v3, "", 0, false, true, NULL, 0, &n), DSEEK_OK);
  CHECK_EQ_INT(n, 0);
  CHECK_EQ_INT(ds_tokenize(v3, NULL, 0, true, true, ids, 8, &n), DSEEK_OK);
  CHECK(n == 1 && ids[0] == 0);
  /* too small: the count needed, nothing written */
  ids[0] = -7;
  CHECK_EQ_INT(ds_tokenize(v3, "Hello world", 11, false, true, ids, 1, &n), DSEEK_ERR_BUFFER_TOO_SMALL);
  CHECK_EQ_INT(n, 2);
  CHECK_EQ_INT(ids[0], -7);
  CHECK_EQ_INT(ds_tokenize(v3, "Hello world", 11, false, true, NULL, 0, &n), DSEEK_ERR_BUFFER_TOO_SMALL);
  CHECK_EQ_INT(n, 2);
  /* invalid UTF-8 names the offset */
  CHECK_EQ_INT(ds_tokenize(v3, "abc\xC3(", 5, false, true, ids, 8, &n), DSEEK_ERR_INVALID_ARG);
  CHECK(strstr(dseek_last_error(), "byte offset 3") != NULL);
  CHECK_EQ_INT(ds_tokenize(v3, "\xED\xA0\x80", 3, false, true, ids, 8, &n), DSEEK_ERR_INVALID_ARG);
  CHECK_EQ_INT(ds_tokenize(NULL, "a", 1, false, true, ids, 8, &n), DSEEK_ERR_INVALID_ARG);
  CHECK_EQ_INT(ds_tokenize(v3, "a", 1, false, true, NULL, 8, &n), DSEEK_ERR_INVALID_ARG);
  /* decode: buffer rule, NUL, invalid ids */
  int32_t hello[] = {19923, 2058};
  char buf[32];
  size_t len = 0;
  CHECK_EQ_INT(ds_detokenize(v3, hello, 2, buf, 5, &len), DSEEK_ERR_BUFFER_TOO_SMALL);
  CHECK_EQ_INT(len, 11);
  CHECK_EQ_INT(ds_detokenize(v3, hello, 2, buf, sizeof buf, &len), DSEEK_OK);
  CHECK_STR(buf, "Hello world");
  int32_t bad[] = {19923, 999999};
  CHECK_EQ_INT(ds_detokenize(v3, bad, 2, buf, sizeof buf, &len), DSEEK_ERR_INVALID_ARG);
  /* lone bytes decode to U+FFFD (one per maximal subpart) */
  int32_t partial[] = {129};   /* byte 0xC2 */
  CHECK_EQ_INT(ds_detokenize(v3, partial, 1, buf, sizeof buf, &len), DSEEK_OK);
  CHECK_STR(buf, "\xEF\xBF\xBD");
}

/* The stream holds incomplete sequences and replaces impossible ones. */
static void test_stream(void)
{
  int32_t b[256];   /* token of each single byte */
  for (int k = 0; k < 256; k++) {
    char u[3];
    int cp = (k >= 0x21 && k <= 0x7E) || (k >= 0xA1 && k <= 0xAC) || k >= 0xAE ? k : -1;
    if (cp < 0) {
      int m = 0;
      for (int j = 0; j < k; j++) m += !((j >= 0x21 && j <= 0x7E) || (j >= 0xA1 && j <= 0xAC) || j >= 0xAE);
      cp = 256 + m;
    }
    size_t n = cp < 0x80 ? (u[0] = (char)cp, 1) : (u[0] = (char)(0xC0 | cp >> 6), u[1] = (char)(0x80 | (cp & 0x3F)), 2);
    b[k] = ds_vocab_find(v3, u, n);
    CHECK(b[k] >= 0);
  }
  ds_detok_stream s;
  ds_detok_stream_init(&s);
  const char *t;
  size_t l;
  /* U+20AC in three pushes: nothing, nothing, the character */
  CHECK_EQ_INT(ds_detok_stream_push(&s, v3, b[0xE2], &t, &l), DSEEK_OK);
  CHECK_EQ_INT(l, 0);
  ds_detok_stream_push(&s, v3, b[0x82], &t, &l);
  CHECK_EQ_INT(l, 0);
  ds_detok_stream_push(&s, v3, b[0xAC], &t, &l);
  CHECK(l == 3 && memcmp(t, "\xE2\x82\xAC", 3) == 0);
  /* E2 then 'A': impossible -> U+FFFD at once, then 'A' */
  ds_detok_stream_push(&s, v3, b[0xE2], &t, &l);
  CHECK_EQ_INT(l, 0);
  ds_detok_stream_push(&s, v3, b['A'], &t, &l);
  CHECK(l == 4 && memcmp(t, "\xEF\xBF\xBD" "A", 4) == 0);
  /* a held tail at the end is flushed as one U+FFFD */
  ds_detok_stream_push(&s, v3, b[0xF0], &t, &l);
  ds_detok_stream_push(&s, v3, b[0x9F], &t, &l);
  CHECK_EQ_INT(l, 0);
  ds_detok_stream_flush(&s, &t, &l);
  CHECK(l == 3 && memcmp(t, "\xEF\xBF\xBD", 3) == 0);
  ds_detok_stream_flush(&s, &t, &l);
  CHECK_EQ_INT(l, 0);
  /* stray continuation byte and 0xFF: one U+FFFD each, immediately */
  ds_detok_stream_push(&s, v3, b[0x80], &t, &l);
  CHECK(l == 3);
  ds_detok_stream_push(&s, v3, b[0xFF], &t, &l);
  CHECK(l == 3);
  CHECK_EQ_INT(ds_detok_stream_push(&s, v3, -5, &t, &l), DSEEK_ERR_INVALID_ARG);
  ds_detok_stream_free(&s);
  /* every split of a mixed byte string streams to the whole decode */
  int32_t seq[] = {b[0xE4], b[0xB8], b[0xAD], b[0xF0], b['x'], b[0xC2], b[0x85], b[0xED], b[0xA0], b[0x80], b[0xF4], b[0x8F]};
  CHECK(check_decode(v3, seq, 12, "\xE4\xB8\xAD\xEF\xBF\xBDx\xC2\x85\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD",
                     3 + 3 + 1 + 2 + 3 * 4, "mixed bytes"));
}

static void test_case_files(const char *dir)
{
  struct { const char *file; ds_vocab **v; } sets[] = {
    {"deepseek_v3/cases.jsonl", &v3},
    {"deepseek_r1/cases.jsonl", &r1},
    {"deepseek_r1_distill_qwen/cases.jsonl", &qwen},
  };
  for (size_t k = 0; k < DS_ARRAY_LEN(sets); k++) {
    char path[4096];
    snprintf(path, sizeof path, "%s/%s", dir, sets[k].file);
    int n = 0, pass = run_cases_file(*sets[k].v, path, &n);
    fprintf(stderr, "  %s: %d/%d cases pass\n", sets[k].file, pass, n);
    CHECK(n > 0);
    CHECK_EQ_INT(pass, n);
  }
  char inp[4096], out[4096];
  snprintf(inp, sizeof inp, "%s/llamacpp/ggml-vocab-deepseek-r1-qwen.gguf.inp", dir);
  snprintf(out, sizeof out, "%s/llamacpp/ggml-vocab-deepseek-r1-qwen.gguf.out", dir);
  int n = 0, pass = run_inp_out(qwen, inp, out, &n);
  fprintf(stderr, "  llamacpp/ggml-vocab-deepseek-r1-qwen.gguf.inp/.out (tokenizer.json): %d/%d pass\n", pass, n);
  CHECK_EQ_INT(n, 46);
  CHECK_EQ_INT(pass, n);
}

/* Random strings from an alphabet of tricky code points: with no normalizer,
 * decode(tokenize(x)) must give x back, whole and streamed, and every id must
 * be a real token. */
static void test_random_roundtrip(void)
{
  static const uint32_t alphabet[] = {
    'a', 'Z', 'q', ' ', ' ', ' ', '\n', '\r', '\t', '0', '7', '\'', '.', '#', '_', '(', 0x85, 0xA0, 0xFEFF,
    0x200D, 0x301, 0xFE0F, 0x1F600, 0x1F3FB, 0x4E2D, 0x3042, 0x30A2, 0xAC00, 0x3000, 0xFF5E, 0x0663, 0xBD,
    0xE9, 0x17F, 0x2028, 0xE000, 0x10FFFF, 0x0958, 0x212B, 0xFF10,
  };
  unsigned seed = 12345;
  char text[512];
  int32_t ids[512];
  int bad = 0;
  for (int iter = 0; iter < 3000; iter++) {
    size_t len = 0;
    int n_cp = 1 + (int)((seed = seed * 1103515245u + 12345u) >> 16) % 40;
    for (int k = 0; k < n_cp; k++) {
      seed = seed * 1103515245u + 12345u;
      uint32_t cp = alphabet[(seed >> 16) % DS_ARRAY_LEN(alphabet)];
      if (cp < 0x80) text[len++] = (char)cp;
      else if (cp < 0x800) { text[len++] = (char)(0xC0 | cp >> 6); text[len++] = (char)(0x80 | (cp & 0x3F)); }
      else if (cp < 0x10000) {
        text[len++] = (char)(0xE0 | cp >> 12); text[len++] = (char)(0x80 | (cp >> 6 & 0x3F)); text[len++] = (char)(0x80 | (cp & 0x3F));
      } else {
        text[len++] = (char)(0xF0 | cp >> 18); text[len++] = (char)(0x80 | (cp >> 12 & 0x3F));
        text[len++] = (char)(0x80 | (cp >> 6 & 0x3F)); text[len++] = (char)(0x80 | (cp & 0x3F));
      }
    }
    int64_t n = 0;
    const ds_vocab *v = iter % 2 ? v3 : r1;
    if (ds_tokenize(v, text, len, false, iter % 3 != 0, ids, 512, &n) != DSEEK_OK) { bad++; continue; }
    for (int64_t k = 0; k < n; k++)
      if (ds_vocab_token_type(v, ids[k]) == DS_TOKEN_UNDEFINED) bad++;
    char label[32];
    snprintf(label, sizeof label, "random %d", iter);
    if (!check_decode(v, ids, n, text, len, label)) bad++;
  }
  CHECK_EQ_INT(bad, 0);
}

/* ~100 kB of mixed text: report MB/s (not asserted). */
static void test_speed(void)
{
  static const char *parts[] = {
    "The quick brown fox jumps over the lazy dog. ", "int main(void) { return 0; }\n",
    "\xE6\x88\x91\xE6\x83\xB3\xE5\x9C\xA8\xE5\xB7\xA5\xE4\xBD\x9C\xE3\x80\x82", "    indented   spaces\t\t\n\n",
    "1234567890 3.14159 ", "caf\xC3\xA9 na\xC3\xAFve r\xC3\xA9sum\xC3\xA9 ", "\xF0\x9F\x98\x80\xF0\x9F\x91\x8D ",
    "<\xEF\xBD\x9C" "User\xEF\xBD\x9C>", "don't WE'RE it's ",
  };
  size_t cap = 100 * 1024, len = 0;
  char *text = malloc(cap + 64);
  for (size_t k = 0; len < cap; k++) {
    const char *p = parts[k % DS_ARRAY_LEN(parts)];
    memcpy(text + len, p, strlen(p));
    len += strlen(p);
  }
  int32_t *ids = malloc(len * sizeof *ids);
  ds_vocab *vs[] = {v3, qwen};
  const char *names[] = {"deepseek_v3", "r1_distill_qwen"};
  for (int k = 0; k < 2; k++) {
    int64_t n = 0;
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    dseek_status st = ds_tokenize(vs[k], text, len, false, true, ids, (int64_t)len, &n);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    CHECK_EQ_INT(st, DSEEK_OK);
    double s = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
    fprintf(stderr, "  speed %s: %zu bytes -> %lld tokens in %.1f ms = %.1f MB/s\n", names[k], len, (long long)n,
            s * 1e3, (double)len / s / 1e6);
    CHECK(check_decode(vs[k], ids, n, text, len, "speed text"));
  }
  /* one 100 kB piece: a single run of the same letter */
  memset(text, 'a', len);
  int64_t n = 0;
  struct timespec t0, t1;
  clock_gettime(CLOCK_MONOTONIC, &t0);
  CHECK_EQ_INT(ds_tokenize(v3, text, len, false, true, ids, (int64_t)len, &n), DSEEK_OK);
  clock_gettime(CLOCK_MONOTONIC, &t1);
  fprintf(stderr, "  speed one %zu-byte piece: %.1f ms\n", len,
          (double)(t1.tv_sec - t0.tv_sec) * 1e3 + (double)(t1.tv_nsec - t0.tv_nsec) / 1e6);
  free(ids);
  free(text);
}

int main(void)
{
  const char *dir = data_dir();
  if (!dir) {
    fprintf(stderr, "tokenizer fixtures not found (DS_TOKENIZER_DATA: tests/data/tokenizers)\n");
    return 1;
  }
  struct timespec t0, t1;
  clock_gettime(CLOCK_MONOTONIC, &t0);
  v3 = load(dir, "deepseek_v3");
  r1 = load(dir, "deepseek_r1/tokenizer.json");
  qwen = load(dir, "deepseek_r1_distill_qwen");
  clock_gettime(CLOCK_MONOTONIC, &t1);
  fprintf(stderr, "  loaded 3 tokenizers in %.0f ms\n",
          (double)(t1.tv_sec - t0.tv_sec) * 1e3 + (double)(t1.tv_nsec - t0.tv_nsec) / 1e6);
  if (!v3 || !r1 || !qwen) return DS_TEST_RESULT();
  RUN(test_facts);
  RUN(test_semantics_examples);
  RUN(test_api_rules);
  RUN(test_stream);
  test_case_files(dir);
  RUN(test_random_roundtrip);
  RUN(test_speed);
  ds_vocab_free(v3);
  ds_vocab_free(r1);
  ds_vocab_free(qwen);
  return DS_TEST_RESULT();
}
