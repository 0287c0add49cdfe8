/* fuzz_config.c — config.json of a Hugging Face checkpoint: the input becomes
 * config.json in a directory beside the tiny model's real safetensors and
 * tokenizer (tiny qwen2, or tiny llama when the input mentions "llama"), and
 * dseek_model_load reads the directory. A model that loads must also create
 * a small context and evaluate two tokens. */
#include "fuzz.h"
#include "dseek.h"

#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static const char *const variants[2] = {"qwen2-hf-f32", "llama-hf-f32"};
static char dirs[2][512];

static void init(void)
{
  static const char *const files[] = {"model.safetensors", "tokenizer.json", "tokenizer_config.json"};
  for (int v = 0; v < 2; v++) {
    snprintf(dirs[v], sizeof dirs[v], "%s", fuzz_path(variants[v]));
    if (mkdir(dirs[v], 0700) != 0) fuzz_skip("cannot create a directory");
    for (size_t f = 0; f < sizeof files / sizeof files[0]; f++) {
      char link[1200];
      snprintf(link, sizeof link, "%s/%s", dirs[v], files[f]);
      char sub[256];
      snprintf(sub, sizeof sub, "%s/%s", variants[v], files[f]);
      if (symlink(fuzz_fixture("DSEEK_FUZZ_TINY", sub), link) != 0) fuzz_skip("cannot link a fixture");
    }
  }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
  static int ready;
  if (!ready) { init(); ready = 1; }
  char *text = fuzz_cstr(data, size);
  int v = strstr(text, "llama") != NULL;
  free(text);
  char config[600];
  snprintf(config, sizeof config, "%s/config.json", dirs[v]);
  fuzz_write(config, data, size);

  dseek_model *m = NULL;
  dseek_status st = dseek_model_load(dirs[v], NULL, &m);
  if (st != DSEEK_OK) {
    FUZZ_ASSERT(m == NULL, "output set on error");
    FUZZ_ASSERT(dseek_last_error()[0] != '\0', "error %d without a message", (int)st);
    return 0;
  }
  fuzz_accepted();
  int64_t n_vocab = dseek_model_n_vocab(m);
  FUZZ_ASSERT(n_vocab > 0 && dseek_model_n_layer(m) > 0 && dseek_model_n_embd(m) > 0, "model facts");
  dseek_context_options co;
  dseek_context_options_init(&co, sizeof co);
  co.n_ctx = 8;
  co.n_threads = 1;
  dseek_context *c = NULL;
  if (dseek_context_create(m, &co, &c) == DSEEK_OK) {
    int32_t toks[2] = {1 % (int32_t)n_vocab, 2 % (int32_t)n_vocab};
    st = dseek_decode(c, toks, 2, 0);
    FUZZ_ASSERT(st == DSEEK_OK, "decode on a loaded model: %s", dseek_last_error());
    FUZZ_ASSERT(dseek_logits(c, -1) != NULL, "no logits");
    dseek_context_free(c);
  }
  dseek_model_free(m);
  return 0;
}
