/* test_vocab_gguf.c — llama.cpp's vocab-only GGUF files (deepseek-llm,
 * deepseek-coder) through ds_vocab_load_gguf: facts of lib/text/README.md §6,
 * every line of the *.cases.jsonl conversions, the verbatim .inp/.out pairs,
 * and streaming decode. Exits 77 when the data directory is missing. */
#include "tok_cases.h"

static void test_file(const char *dir, const char *name, int64_t n_tokens, int32_t bos, int32_t eos)
{
  char path[2048], inp[4096], out[4096], cases[4096];
  snprintf(path, sizeof path, "%s/llamacpp/ggml-vocab-%s.gguf", dir, name);
  snprintf(inp, sizeof inp, "%s.inp", path);
  snprintf(out, sizeof out, "%s.out", path);
  snprintf(cases, sizeof cases, "%s/llamacpp/%s.cases.jsonl", dir, name);
  dseek_gguf *g = NULL;
  dseek_status st = dseek_gguf_open(path, 0, &g);
  CHECK_MSG(st == DSEEK_OK, "%s: %s", path, dseek_last_error());
  if (st) return;
  ds_vocab *v = NULL;
  st = ds_vocab_load_gguf(g, path, &v);
  dseek_gguf_close(g);   /* the vocabulary keeps copies */
  CHECK_MSG(st == DSEEK_OK, "%s: %s", path, dseek_last_error());
  if (st) return;
  CHECK_EQ_INT(ds_vocab_n_tokens(v), n_tokens);
  CHECK_EQ_INT(ds_vocab_bos(v), bos);
  CHECK_EQ_INT(ds_vocab_eos(v), eos);
  CHECK_EQ_INT(ds_vocab_pad(v), eos);
  CHECK(ds_vocab_add_bos(v));
  CHECK(!ds_vocab_nfc(v));
  CHECK_EQ_INT(ds_vocab_token_type(v, bos), DS_TOKEN_CONTROL);
  CHECK(ds_vocab_token_special(v, bos));
  CHECK(ds_vocab_is_eog(v, eos));
  int n = 0, pass = run_cases_file(v, cases, &n);
  fprintf(stderr, "  llamacpp/%s.cases.jsonl: %d/%d cases pass\n", name, pass, n);
  CHECK_EQ_INT(n, 46);
  CHECK_EQ_INT(pass, n);
  pass = run_inp_out(v, inp, out, &n);
  fprintf(stderr, "  llamacpp/ggml-vocab-%s.gguf.inp/.out: %d/%d pass\n", name, pass, n);
  CHECK_EQ_INT(n, 46);
  CHECK_EQ_INT(pass, n);
  ds_vocab_free(v);
}

static void test_user_defined(const char *dir)
{
  char path[4096];
  snprintf(path, sizeof path, "%s/llamacpp/ggml-vocab-deepseek-llm.gguf", dir);
  dseek_gguf *g = NULL;
  ds_vocab *v = NULL;
  if (dseek_gguf_open(path, 0, &g)) return;
  CHECK_EQ_INT(ds_vocab_load_gguf(g, path, &v), DSEEK_OK);
  dseek_gguf_close(g);
  if (!v) return;
  /* "ü" is user-defined token 100014: matched even with parse_special off */
  int32_t ids[16];
  int64_t n = 0;
  CHECK_EQ_INT(ds_tokenize(v, "F\xC3\xBChrer", 7, false, false, ids, 16, &n), DSEEK_OK);
  CHECK(n == 4 && ids[0] == 37 && ids[1] == 100014 && ids[2] == 71 && ids[3] == 6245);
  CHECK_EQ_INT(ds_vocab_token_type(v, 100014), DS_TOKEN_USER_DEFINED);
  const char *piece;
  size_t len;
  CHECK_EQ_INT(ds_token_piece(v, 100014, &piece, &len), DSEEK_OK);
  CHECK(len == 2 && memcmp(piece, "\xC3\xBC", 2) == 0);
  /* the BOS text is matched only with parse_special */
  size_t bl;
  const char *bos = ds_vocab_token_text(v, 100000, &bl);
  CHECK_EQ_INT(ds_tokenize(v, bos, bl, false, true, ids, 16, &n), DSEEK_OK);
  CHECK(n == 1 && ids[0] == 100000);
  CHECK_EQ_INT(ds_tokenize(v, bos, bl, false, false, ids, 16, &n), DSEEK_OK);
  CHECK(n > 1);
  ds_vocab_free(v);
}

int main(void)
{
  const char *dir = data_dir();
  if (!dir) {
    fprintf(stderr, "tokenizer fixtures not found (DS_TOKENIZER_DATA: tests/data/tokenizers)\n");
    return 1;
  }
  test_file(dir, "deepseek-llm", 102400, 100000, 100001);
  test_file(dir, "deepseek-coder", 32256, 32013, 32014);

  test_user_defined(dir);
  return DS_TEST_RESULT();
}
