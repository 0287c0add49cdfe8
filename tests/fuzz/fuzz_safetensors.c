/* fuzz_safetensors.c — the safetensors reader through ds_st_open_dir on a
 * private directory. Input layout:
 *
 *   'S' <bytes>                          model.safetensors = <bytes>
 *   <index json> [SEP <shard>]...        model.safetensors.index.json, then
 *                                        shards a.safetensors, b.safetensors, ...
 *   SEP = "\n@@\n"
 *
 * On success every tensor is looked up by name and its first and last data
 * bytes are touched; sizes must equal elements x element size. */
#include "fuzz.h"
#include "formats/safetensors.h"
#include "kernels/types.h"

#include <string.h>
#include <unistd.h>

#define SEP "\n@@\n"
#define MAX_SHARDS 4

static const char *const shard_names[MAX_SHARDS] = {"a.safetensors", "b.safetensors", "c.safetensors",
                                                     "d.safetensors"};
static volatile uint8_t sink;

static const uint8_t *find_sep(const uint8_t *p, const uint8_t *end)
{
  for (; p + 4 <= end; p++)
    if (memcmp(p, SEP, 4) == 0) return p;
  return NULL;
}

static void lay_out(const uint8_t *data, size_t size)
{
  unlink(fuzz_path("model.safetensors"));
  unlink(fuzz_path("model.safetensors.index.json"));
  for (int i = 0; i < MAX_SHARDS; i++) unlink(fuzz_path(shard_names[i]));
  if (size >= 1 && data[0] == 'S') {
    fuzz_write(fuzz_path("model.safetensors"), data + 1, size - 1);
    return;
  }
  const uint8_t *p = data, *end = data + size;
  for (int part = 0; part <= MAX_SHARDS; part++) {
    const uint8_t *sep = find_sep(p, end);
    const uint8_t *stop = sep && part < MAX_SHARDS ? sep : end;
    fuzz_write(fuzz_path(part == 0 ? "model.safetensors.index.json" : shard_names[part - 1]), p, (size_t)(stop - p));
    if (stop == end) break;
    p = stop + 4;
  }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
  lay_out(data, size);
  for (int mmap = 0; mmap <= 1; mmap++) {
    ds_st_set *set = NULL;
    dseek_status st = ds_st_open_dir(fuzz_tmpdir(), mmap != 0, &set);
    if (st != DSEEK_OK) {
      FUZZ_ASSERT(dseek_last_error()[0] != '\0', "error %d without a message", (int)st);
      continue;
    }
    fuzz_accepted();
    int64_t n = ds_st_count(set);
    FUZZ_ASSERT(n >= 0, "count %lld", (long long)n);
    for (int64_t i = 0; i < n; i++) {
      const ds_st_tensor *t = ds_st_at(set, i);
      FUZZ_ASSERT(t && t->name && t->dtype && t->file, "tensor %lld incomplete", (long long)i);
      FUZZ_ASSERT(ds_st_find(set, t->name) == t, "find('%s') is not tensor %lld", t->name, (long long)i);
      FUZZ_ASSERT(t->n_dims >= 0 && t->n_dims <= DS_ST_MAX_DIMS, "n_dims %d", t->n_dims);
      uint64_t elems = 1;
      for (int d = 0; d < t->n_dims; d++) {
        FUZZ_ASSERT(t->shape[d] >= 0, "negative dimension");
        FUZZ_ASSERT(!__builtin_mul_overflow(elems, (uint64_t)t->shape[d], &elems), "element count overflows");
      }
      int64_t block;
      size_t esize;
      if (t->type != DS_ST_TYPE_UNSUPPORTED && ds_type_block_info(t->type, &block, &esize) && block == 1) {
        uint64_t want;
        FUZZ_ASSERT(!__builtin_mul_overflow(elems, (uint64_t)esize, &want) && want == t->size,
                    "'%s': %llu bytes for %llu elements of %s", t->name, (unsigned long long)t->size,
                    (unsigned long long)elems, t->dtype);
      }
      if (t->size) {
        FUZZ_ASSERT(t->data != NULL, "data missing");
        sink ^= t->data[0];
        sink ^= t->data[t->size - 1];
      }
    }
    FUZZ_ASSERT(ds_st_at(set, n) == NULL && ds_st_at(set, -1) == NULL, "tensor out of range");
    ds_st_set_close(set);
  }
  return 0;
}
