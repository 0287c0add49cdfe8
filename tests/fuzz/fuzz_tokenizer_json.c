/* fuzz_tokenizer_json.c — loading a Hugging Face tokenizer.json
 * (ds_vocab_load_hf; no tokenizer_config.json beside it). A vocabulary that
 * loads must tokenize and detokenize a fixed text, with every id in range,
 * and give every token's piece and stored text. */
#include "fuzz.h"
#include "text/vocab.h"

#include <string.h>

static const char TEXT[] = "Hello world 123 4567 <\xEF\xBD\x9CUser\xEF\xBD\x9C> \xC3\xBC \xE4\xBD\xA0\xE5\xA5\xBD\n\n"
                           "<think>x</think> caf\xC3\xA9  \t end";

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
  const char *path = fuzz_path("tokenizer.json");
  fuzz_write(path, data, size);
  ds_vocab *v = NULL;
  dseek_status st = ds_vocab_load_hf(path, &v);
  if (st != DSEEK_OK) {
    FUZZ_ASSERT(v == NULL, "output set on error");
    FUZZ_ASSERT(dseek_last_error()[0] != '\0', "error %d without a message", (int)st);
    return 0;
  }
  fuzz_accepted();
  int64_t n = ds_vocab_n_tokens(v);
  FUZZ_ASSERT(n > 0, "%lld tokens", (long long)n);
  for (int special = 0; special <= 1; special++) {
    int32_t ids[512];
    int64_t k = 0;
    st = ds_tokenize(v, TEXT, sizeof TEXT - 1, true, special, ids, 512, &k);
    /* A vocabulary may lack the bytes this text needs: that is an error, not a crash. */
    if (st != DSEEK_OK) {
      FUZZ_ASSERT(st != DSEEK_ERR_BUFFER_TOO_SMALL || k > 512, "buffer too small for %lld", (long long)k);
      continue;
    }
    for (int64_t i = 0; i < k; i++) FUZZ_ASSERT(ids[i] >= 0 && ids[i] < n, "id %d of %lld", ids[i], (long long)n);
    char out[4096];
    size_t len = 0;
    st = ds_detokenize(v, ids, k, out, sizeof out, &len);
    FUZZ_ASSERT(st == DSEEK_OK || st == DSEEK_ERR_BUFFER_TOO_SMALL, "detokenize: %s", dseek_last_error());
  }
  int64_t walk = n < 70000 ? n : 70000;
  for (int64_t id = 0; id < walk; id++) {
    const char *piece;
    size_t len;
    if (ds_token_piece(v, (int32_t)id, &piece, &len) == DSEEK_OK) FUZZ_ASSERT(len == 0 || piece, "piece");
    ds_vocab_token_text(v, (int32_t)id, &len);
    ds_vocab_token_type(v, (int32_t)id);
  }
  ds_vocab_free(v);
  return 0;
}
