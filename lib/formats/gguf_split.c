/*
 * gguf_split.c — a model cut into shards by llama.cpp's gguf-split
 * (llama.cpp examples/gguf-split/gguf-split.cpp, and llama_split_path /
 * llama_split_prefix in llama.h for the names): PREFIX-00001-of-00004.gguf,
 * PREFIX-00002-of-00004.gguf, ... Each shard is a valid GGUF holding some of
 * the tensors (their data in its own data section) and the keys
 *   split.no             0-based number of the shard      (gguf-split: u16)
 *   split.count          shards in the set                 (u16)
 *   split.tensors.count  tensors in all shards together    (i32)
 * The model's other metadata is in shard 1 (split.no 0) only.
 *
 * ds_gguf_open_split, given any shard, opens them all and checks that they
 * belong together before merging their tensor tables into shard 1's view:
 * every shard present, split.count equal to the name's count in each,
 * split.no the shard's own number, split.tensors.count the same in each and
 * equal to the tensors found, and every tensor name in exactly one shard.
 * Each shard's parse has already checked that its tensors lie inside it.
 * The shards are mapped as one set: whether pages are mapped at once
 * (core/platform_file.c) is judged by the sum of their sizes.
 */
#include "formats/gguf.h"

#include <stdio.h>
#include <string.h>

#define SUFFIX_LEN 20   /* "-NNNNN-of-MMMMM.gguf" */

static bool digits5(const char *s, int *v)
{
  *v = 0;
  for (int i = 0; i < 5; i++) {
    if (s[i] < '0' || s[i] > '9') return false;
    *v = *v * 10 + (s[i] - '0');
  }
  return true;
}

bool ds_gguf_split_name(const char *path, size_t *prefix_len, int *no, int *count)
{
  size_t n = path ? strlen(path) : 0;
  if (n <= SUFFIX_LEN) return false;
  const char *s = path + n - SUFFIX_LEN;
  int a, b;
  if (s[0] != '-' || !digits5(s + 1, &a) || memcmp(s + 6, "-of-", 4) != 0 || !digits5(s + 10, &b) ||
      strcmp(s + 15, ".gguf") != 0 || a < 1 || a > b)
    return false;
  *prefix_len = n - SUFFIX_LEN;
  *no = a;
  *count = b;
  return true;
}

/* A plain file; one that says it is a shard (split.count > 1) under another
 * name is an error, since its siblings cannot be found. */
static dseek_status open_single(const char *path, bool allow_mmap, ds_gguf **out)
{
  ds_gguf *g = NULL;
  dseek_status st = ds_gguf_open(path, allow_mmap, &g);
  if (st) return st;
  int64_t count = 1;
  if (!(st = ds_gguf_get_int_range(g, "split.count", 1, 99999, &count, false)) && count > 1)
    st = ds_error(DSEEK_ERR_FORMAT, "%s: the file is a shard of a split model (split.count = %lld), but its name "
                  "does not end in -NNNNN-of-%05lld.gguf, so the other shards cannot be found (keep the names "
                  "gguf-split gave them)", path, (long long)count, (long long)count);
  if (st) {
    ds_gguf_close(g);
    return st;
  }
  *out = g;
  return DSEEK_OK;
}

/* Shard k's split keys against the set's: count shards, shard 1's
 * split.tensors.count (*total, read from shard 1 when k == 0). */
static dseek_status check_keys(const ds_gguf *g, int k, int count, int64_t *total)
{
  int64_t n = 0, no = -1, tensors = -1;
  dseek_status st;
  if ((st = ds_gguf_get_int_range(g, "split.count", 1, 99999, &n, true)) ||
      (st = ds_gguf_get_int_range(g, "split.no", 0, 99998, &no, true)) ||
      (st = ds_gguf_get_int_range(g, "split.tensors.count", 0, INT64_MAX, &tensors, k == 0)))
    return st;
  if (n != count)
    return ds_error(DSEEK_ERR_FORMAT, "%s: split.count = %lld, but the name says %d shards: not a shard of this "
                    "model", g->path, (long long)n, count);
  if (no != k)
    return ds_error(DSEEK_ERR_FORMAT, "%s: split.no = %lld, but the name says shard %d (split.no %d): not a shard "
                    "of this model", g->path, (long long)no, k + 1, k);
  if (k == 0) *total = tensors;
  else if (tensors >= 0 && tensors != *total)
    return ds_error(DSEEK_ERR_FORMAT, "%s: split.tensors.count = %lld, but shard 1 says %lld: the shards are not "
                    "from the same model", g->path, (long long)tensors, (long long)*total);
  return DSEEK_OK;
}

/* The shards' tensors in one table on shards[0] (which takes `shards`). */
static dseek_status merge(ds_gguf **shards, int count, int64_t total)
{
  ds_gguf *g = shards[0];
  int64_t n = 0;
  for (int k = 0; k < count; k++) n += shards[k]->n_tensors;
  if (n != total)
    return ds_error(DSEEK_ERR_FORMAT, "%s: the %d shards hold %lld tensors, but split.tensors.count = %lld (a "
                    "shard from another model, or a shard cut short)", g->path, count, (long long)n,
                    (long long)total);
  ds_gguf_tensor *all = ds_malloc((size_t)(n ? n : 1) * sizeof *all);
  if (!all) return ds_error(DSEEK_ERR_NO_MEMORY, "%s: out of memory", g->path);
  int64_t i = 0;
  for (int k = 0; k < count; k++)
    for (int64_t j = 0; j < shards[k]->n_tensors; j++) {
      all[i] = shards[k]->tensors[j];
      all[i++].shard = k;
    }
  return ds_gguf_set_tensors(g, all, n);
}

dseek_status ds_gguf_open_split(const char *path, bool allow_mmap, ds_gguf **out)
{
  size_t plen;
  int no, count;
  if (!ds_gguf_split_name(path, &plen, &no, &count) || count == 1) return open_single(path, allow_mmap, out);

  /* every shard's name and size first: a missing one fails before anything is mapped */
  char *name = ds_malloc(plen + SUFFIX_LEN + 1);
  ds_gguf **shards = ds_calloc((size_t)count, sizeof *shards);
  if (!name || !shards) {
    ds_free(name);
    ds_free(shards);
    return ds_error(DSEEK_ERR_NO_MEMORY, "%s: out of memory", path);
  }
  dseek_status st = DSEEK_OK;
  uint64_t together = 0;
  for (int k = 0; k < count && !st; k++) {
    snprintf(name, plen + SUFFIX_LEN + 1, "%.*s-%05d-of-%05d.gguf", (int)plen, path, k + 1, count);
    uint64_t size = 0;
    const char *why = NULL;
    if (!ds_path_size(name, &size, &why))
      st = ds_error(DSEEK_ERR_IO, "%s: shard %d of %d of the split model is missing: %s: %s", path, k + 1, count,
                    name, why);
    else together += size;
  }
  int64_t total = 0;
  for (int k = 0; k < count && !st; k++) {
    snprintf(name, plen + SUFFIX_LEN + 1, "%.*s-%05d-of-%05d.gguf", (int)plen, path, k + 1, count);
    if (!(st = ds_gguf_open_in_set(name, allow_mmap, together, &shards[k]))) st = check_keys(shards[k], k, count, &total);
  }
  ds_free(name);
  if (!st) {
    shards[0]->shards = shards;   /* shard 1 owns the others from here */
    shards[0]->n_shards = count;
    if (!(st = merge(shards, count, total))) {
      *out = shards[0];
      return DSEEK_OK;
    }
    ds_gguf_close(shards[0]);
    return st;
  }
  for (int k = 0; k < count; k++) ds_gguf_close(shards[k]);
  ds_free(shards);
  return st;
}
