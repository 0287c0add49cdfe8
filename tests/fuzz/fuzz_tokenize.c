/* fuzz_tokenize.c — tokenize -> detokenize on arbitrary bytes with the real
 * DeepSeek-V3 tokenizer (loaded once, vocab-only). Input: one flag byte
 * (bit 0: parse_special), then the text. Invalid UTF-8 must be refused with
 * DSEEK_ERR_INVALID_ARG; valid text must come back byte for byte (V3 has no
 * normalizer, and without BOS nothing is added). */
#include "fuzz.h"
#include "dseek.h"
#include "core/ds.h"

#include <string.h>

static dseek_model *model;

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
  if (!model) {
    dseek_model_options mo;
    dseek_model_options_init(&mo, sizeof mo);
    mo.vocab_only = 1;
    const char *dir = fuzz_fixture("DSEEK_FUZZ_TOKENIZERS", "deepseek_v3");
    if (dseek_model_load(dir, &mo, &model) != DSEEK_OK) {
      fprintf(stderr, "fuzz_tokenize: %s\n", dseek_last_error());
      fuzz_skip("the deepseek_v3 tokenizer does not load");
    }
  }
  if (size < 1) return 0;
  int parse_special = data[0] & 1;
  const char *text = (const char *)data + 1;
  size_t len = size - 1;

  int64_t n = -1;
  dseek_status st = dseek_tokenize(model, text, len, 0, parse_special, NULL, 0, &n);
  if (!ds_utf8_valid(text, len)) {
    FUZZ_ASSERT(st == DSEEK_ERR_INVALID_ARG, "invalid UTF-8 gave status %d", (int)st);
    FUZZ_ASSERT(strstr(dseek_last_error(), "UTF-8") != NULL, "message '%s'", dseek_last_error());
    return 0;
  }
  fuzz_accepted();
  FUZZ_ASSERT(st == DSEEK_OK || st == DSEEK_ERR_BUFFER_TOO_SMALL, "count: %s", dseek_last_error());
  FUZZ_ASSERT(n >= 0 && (size_t)n <= len, "%lld tokens for %zu bytes", (long long)n, len);
  FUZZ_ASSERT((n == 0) == (st == DSEEK_OK), "status %d for %lld tokens at capacity 0", (int)st, (long long)n);
  int32_t *ids = malloc((size_t)(n ? n : 1) * sizeof *ids);
  int64_t n2 = -1;
  st = dseek_tokenize(model, text, len, 0, parse_special, ids, n, &n2);
  FUZZ_ASSERT(st == DSEEK_OK && n2 == n, "tokenize: %s (%lld vs %lld)", dseek_last_error(), (long long)n2,
              (long long)n);
  for (int64_t i = 0; i < n; i++) {
    const char *piece;
    size_t plen;
    FUZZ_ASSERT(dseek_token_piece(model, ids[i], &piece, &plen) == DSEEK_OK, "token %d has no piece", ids[i]);
  }
  char *back = malloc(len + 1);
  size_t blen = 0;
  st = dseek_detokenize(model, ids, n, back, len + 1, &blen);
  FUZZ_ASSERT(st == DSEEK_OK, "detokenize: %s", dseek_last_error());
  FUZZ_ASSERT(blen == len && memcmp(back, text, len) == 0 && back[len] == '\0',
              "round trip changed the text (%zu bytes -> %zu)", len, blen);
  free(back);
  free(ids);
  return 0;
}
