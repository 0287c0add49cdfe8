/*
 * test_gguf_vocab.c — llama.cpp's real vocab-only GGUF files, read with the
 * loaders' getters as a tokenizer would. Expected values are the facts of
 * these files recorded in lib/text/README.md §6 (token, merge and token-type
 * counts, special ids, the 13 single-character user-defined tokens, and the
 * pieces of "Führer" -> [37, 100014, 71, 6245]). Skips (77) without the data.
 *   usage: test_gguf_vocab <tokenizer data dir>
 */
#include "formats/gguf.h"
#include "harness.h"

#include <stdlib.h>
#include <time.h>
#include <unistd.h>

typedef struct vocab_facts {
  const char *file, *pre;
  int64_t n_tokens, n_merges, n_normal, n_control, n_user, bos, eos, pad;
} vocab_facts;

static double now(void)
{
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static void check_vocab(const char *dir, const vocab_facts *f)
{
  char path[1024];
  snprintf(path, sizeof path, "%s/llamacpp/%s", dir, f->file);
  ds_gguf *g = NULL;
  double t0 = now();
  CHECK_MSG(ds_gguf_open(path, true, &g) == DSEEK_OK, "%s", dseek_last_error());
  if (!g) return;
  fprintf(stderr, "%s: opened in %.1f ms\n", f->file, 1e3 * (now() - t0));
  CHECK_EQ_INT(g->version, 3);
  CHECK_EQ_INT(g->n_tensors, 0);

  const char *s = NULL;
  CHECK(ds_gguf_get_str(g, "tokenizer.ggml.model", &s, NULL, true) == DSEEK_OK && !strcmp(s, "gpt2"));
  CHECK(ds_gguf_get_str(g, "tokenizer.ggml.pre", &s, NULL, true) == DSEEK_OK && !strcmp(s, f->pre));
  uint32_t bos = 0, eos = 0, pad = 0;
  CHECK(ds_gguf_get_u32(g, "tokenizer.ggml.bos_token_id", &bos, true) == DSEEK_OK && bos == f->bos);
  CHECK(ds_gguf_get_u32(g, "tokenizer.ggml.eos_token_id", &eos, true) == DSEEK_OK && eos == f->eos);
  CHECK(ds_gguf_get_u32(g, "tokenizer.ggml.padding_token_id", &pad, true) == DSEEK_OK && pad == f->pad);
  bool add_bos = false;
  CHECK(ds_gguf_get_bool(g, "tokenizer.ggml.add_bos_token", &add_bos, true) == DSEEK_OK && add_bos);

  const ds_gguf_array *tokens = NULL, *types = NULL, *merges = NULL;
  CHECK(ds_gguf_get_array(g, "tokenizer.ggml.tokens", DS_GGUF_ARRAY_STRING, &tokens, true) == DSEEK_OK);
  CHECK(ds_gguf_get_array(g, "tokenizer.ggml.token_type", DS_GGUF_ARRAY_INT, &types, true) == DSEEK_OK);
  CHECK(ds_gguf_get_array(g, "tokenizer.ggml.merges", DS_GGUF_ARRAY_STRING, &merges, true) == DSEEK_OK);
  if (!tokens || !types || !merges) { ds_gguf_close(g); return; }
  CHECK_EQ_INT(tokens->count, f->n_tokens);
  CHECK_EQ_INT(types->count, f->n_tokens);
  CHECK_EQ_INT(merges->count, f->n_merges);

  /* Token types (1 normal, 3 control, 4 user-defined); the control ones are BOS and EOS. */
  int64_t n_normal = 0, n_control = 0, n_user = 0, other = 0;
  char single_chars[64] = "";
  for (uint64_t i = 0; i < types->count; i++) {
    int64_t t = -1;
    if (!ds_gguf_array_int(types, i, &t)) other++;
    else if (t == 1) n_normal++;
    else if (t == 3) { n_control++; CHECK((int64_t)i == f->bos || (int64_t)i == f->eos); }
    else if (t == 4) {
      n_user++;
      size_t len;
      const char *piece = ds_gguf_array_str(tokens, i, &len);
      /* one code point of two bytes: the single-character user-defined tokens */
      if (len == 2 && (piece[0] & 0xE0) == 0xC0 && strlen(single_chars) + 2 < sizeof single_chars)
        strcat(single_chars, piece);
    } else other++;
  }
  CHECK_EQ_INT(n_normal, f->n_normal);
  CHECK_EQ_INT(n_control, f->n_control);
  CHECK_EQ_INT(n_user, f->n_user);
  CHECK_EQ_INT(other, 0);

  /* Every merge is "left right": one space, neither end. */
  int64_t bad_merges = 0;
  t0 = now();
  for (uint64_t i = 0; i < merges->count; i++) {
    size_t len;
    const char *m = ds_gguf_array_str(merges, i, &len);
    const char *sp = memchr(m, ' ', len);
    if (!sp || sp == m || sp == m + len - 1 || memchr(sp + 1, ' ', len - (size_t)(sp - m) - 1)) bad_merges++;
  }
  CHECK_EQ_INT(bad_merges, 0);
  fprintf(stderr, "%s: %lld merges scanned in %.2f ms\n", f->file, (long long)merges->count, 1e3 * (now() - t0));

  if (f->n_tokens == 102400) {
    /* lib/text/README.md §6: Führer -> [37, 100014, 71, 6245] = "F", "ü", "h", "rer" */
    static const struct { uint64_t id; const char *piece; } fuhrer[] = {
      {37, "F"}, {100014, "\xC3\xBC"}, {71, "h"}, {6245, "rer"}};
    for (size_t i = 0; i < DS_ARRAY_LEN(fuhrer); i++)
      CHECK_STR(ds_gguf_array_str(tokens, fuhrer[i].id, NULL), fuhrer[i].piece);
    /* the 13 single-character user-defined tokens, in id order */
    const char *want = "øöúÿõ÷ûýÀùÁþü";
    CHECK_EQ_INT(strlen(single_chars), strlen(want));
    for (const char *c = want; *c; c += 2) {
      char one[3] = {c[0], c[1], 0};
      CHECK_MSG(strstr(single_chars, one) != NULL, "user-defined '%s' missing", one);
    }
  }

  /* The same facts through the public API. */
  dseek_gguf *pg = NULL;
  CHECK(dseek_gguf_open(path, DSEEK_GGUF_NO_MMAP, &pg) == DSEEK_OK);
  int64_t k = dseek_gguf_find_key(pg, "tokenizer.ggml.tokens"), v = 0;
  CHECK_EQ_INT(dseek_gguf_array_type(pg, k), DSEEK_GGUF_STRING);
  CHECK_EQ_INT(dseek_gguf_array_length(pg, k), f->n_tokens);
  CHECK(dseek_gguf_get_int(pg, dseek_gguf_find_key(pg, "tokenizer.ggml.bos_token_id"), &v) == DSEEK_OK &&
        v == f->bos);
  k = dseek_gguf_find_key(pg, "tokenizer.ggml.token_type");
  CHECK(dseek_gguf_get_array_int(pg, k, f->eos, &v) == DSEEK_OK && v == 3);
  size_t len = 0;
  CHECK(dseek_gguf_get_array_string(pg, dseek_gguf_find_key(pg, "tokenizer.ggml.tokens"), 37, &s, &len) ==
            DSEEK_OK && len == 1 && s[0] == 'F');
  dseek_gguf_close(pg);
  ds_gguf_close(g);
}

int main(int argc, char **argv)
{
  const char *dir = argc > 1 ? argv[1] : getenv("DS_TOKENIZER_DATA");
  char probe[1024];
  snprintf(probe, sizeof probe, "%s/llamacpp/ggml-vocab-deepseek-llm.gguf", dir ? dir : "");
  if (!dir || access(probe, R_OK) != 0) {
    fprintf(stderr, "fixture %s not readable (tests/data/tokenizers)\n", probe);
    return 1;
  }
  static const vocab_facts llm = {"ggml-vocab-deepseek-llm.gguf", "deepseek-llm", 102400, 99757, 100000, 2,
                                  2398, 100000, 100001, 100001};
  static const vocab_facts coder = {"ggml-vocab-deepseek-coder.gguf", "deepseek-coder", 32256, 31757, 32000, 2,
                                    254, 32013, 32014, 32014};
  check_vocab(dir, &llm);
  check_vocab(dir, &coder);
  return DS_TEST_RESULT();
}
