/* fuzz_gguf_split.c — split models (lib/formats/gguf_split.c): the input is
 * shard 2 of llama.cpp's 4-shard split of model-IQ2_XXS.gguf (fixture
 * DSEEK_FUZZ_QUANTS = tests/data/quants; the seed is the real shard 2), the
 * other three shards the real ones. The set is opened from each shard in
 * turn, mapped and read; when it opens, every merged tensor is looked up by
 * name and its first and last data byte touched (a range the checks missed
 * shows under ASan), and the view must hold split.tensors.count tensors in 4
 * shards. */
#include "fuzz.h"
#include "dseek.h"
#include "formats/gguf.h"

#include <string.h>
#include <unistd.h>

static volatile uint8_t sink;

static void link_siblings(void)
{
  static int done;
  if (done) return;
  for (int k = 1; k <= 4; k++) {
    if (k == 2) continue;
    char name[64];
    snprintf(name, sizeof name, "split/model-IQ2_XXS-%05d-of-00004.gguf", k);
    const char *target = fuzz_fixture("DSEEK_FUZZ_QUANTS", name);
    char link[64];
    snprintf(link, sizeof link, "fz-%05d-of-00004.gguf", k);
    unlink(fuzz_path(link));
    if (symlink(target, fuzz_path(link)) != 0) fuzz_skip("cannot link the fixture shards");
  }
  done = 1;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
  link_siblings();
  fuzz_write(fuzz_path("fz-00002-of-00004.gguf"), data, size);
  for (int k = 1; k <= 4; k++) {
    char name[64];
    snprintf(name, sizeof name, "fz-%05d-of-00004.gguf", k);
    ds_gguf *g = NULL;
    dseek_status st = ds_gguf_open_split(fuzz_path(name), k % 2 == 0, &g);
    if (st != DSEEK_OK) {
      FUZZ_ASSERT(g == NULL, "output set on error");
      FUZZ_ASSERT(dseek_last_error()[0] != '\0', "error %d without a message", (int)st);
      continue;
    }
    fuzz_accepted();
    int64_t total = -1;
    FUZZ_ASSERT(ds_gguf_get_int_range(g, "split.tensors.count", 0, INT64_MAX, &total, true) == DSEEK_OK,
                "opened without split.tensors.count");
    FUZZ_ASSERT(g->n_shards == 4 && g->n_tensors == total, "%d shards, %lld tensors, split.tensors.count %lld",
                g->n_shards, (long long)g->n_tensors, (long long)total);
    for (int64_t i = 0; i < g->n_tensors; i++) {
      const ds_gguf_tensor *t = &g->tensors[i];
      FUZZ_ASSERT(ds_gguf_tensor_get(g, t->name) == t, "tensor '%s' not found by name", t->name);
      FUZZ_ASSERT(t->shard >= 0 && t->shard < 4, "tensor '%s' in shard %d", t->name, t->shard);
      if (t->size) {
        sink ^= t->data[0];
        sink ^= t->data[t->size - 1];
      }
    }
    ds_gguf_close(g);
  }
  return 0;
}
