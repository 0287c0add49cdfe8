/* fuzz_state.c — the state-file loader (dseek_context_load) on a context of
 * the tiny qwen2 model that holds three tokens. A refused file must leave the
 * context exactly as it was (tokens and n_past); an accepted one must fit the
 * context and let it evaluate the next token.
 *
 * DSEEK_FUZZ_SAVE_SEED=PATH writes a valid state file there first (how the
 * seeds in corpus/state were made). */
#include "fuzz.h"
#include "dseek.h"

#include <string.h>

#define N_CTX 16

static dseek_model *model;
static dseek_context *ctx;
static const int32_t prefix[3] = {294, 72, 105};

static void init(void)
{
  if (dseek_model_load(fuzz_fixture("DSEEK_FUZZ_TINY", "qwen2-gguf-f32/model.gguf"), NULL, &model) != DSEEK_OK)
    fuzz_skip("the tiny qwen2 model does not load");
  dseek_context_options co;
  dseek_context_options_init(&co, sizeof co);
  co.n_ctx = N_CTX;
  co.n_threads = 1;
  if (dseek_context_create(model, &co, &ctx) != DSEEK_OK) fuzz_skip("no context");
  const char *seed = getenv("DSEEK_FUZZ_SAVE_SEED");
  if (seed && seed[0]) {
    if (dseek_decode(ctx, prefix, 3, 0) != DSEEK_OK || dseek_context_save(ctx, seed) != DSEEK_OK) {
      fprintf(stderr, "fuzz_state: %s\n", dseek_last_error());
      exit(2);
    }
  }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
  static int dirty = 1;   /* a refused file leaves the three tokens (checked below) */
  if (!ctx) init();
  if (dirty) {
    dseek_context_reset(ctx);
    FUZZ_ASSERT(dseek_decode(ctx, prefix, 3, 0) == DSEEK_OK, "decode: %s", dseek_last_error());
    dirty = 0;
  }
  const char *path = fuzz_path("input.state");
  fuzz_write(path, data, size);
  dseek_status st = dseek_context_load(ctx, path);
  int32_t toks[N_CTX];
  int64_t n = -1;
  FUZZ_ASSERT(dseek_context_tokens(ctx, toks, N_CTX, &n) == DSEEK_OK, "tokens: %s", dseek_last_error());
  if (st != DSEEK_OK) {
    FUZZ_ASSERT(dseek_last_error()[0] != '\0', "error %d without a message", (int)st);
    FUZZ_ASSERT(n == 3 && dseek_context_n_past(ctx) == 3 && memcmp(toks, prefix, sizeof prefix) == 0,
                "a refused state changed the context (n_past %lld)", (long long)n);
    return 0;
  }
  fuzz_accepted();
  dirty = 1;
  FUZZ_ASSERT(n >= 0 && n <= N_CTX, "n_past %lld", (long long)n);
  if (n < N_CTX) {
    int32_t next = 72;
    FUZZ_ASSERT(dseek_decode(ctx, &next, 1, 0) == DSEEK_OK, "decode after load: %s", dseek_last_error());
  }
  return 0;
}
