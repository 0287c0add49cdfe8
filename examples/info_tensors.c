/*
 * info_tensors.c — `dseek info` on a GGUF: its shards and its tensors by
 * type (count, bytes, and the kernel this process runs for the type's
 * products: dseek_type_kernel), read with the public dseek_gguf_* reader, so
 * the report is there even for a file dseek cannot load (an unsupported
 * type is listed as such). Expert stacks (names with "_exps.") run other
 * kernels than plain matrices and get their own line.
 */
#include "info_tensors.h"

#include <dseek.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum { N_TYPES = 256 };

typedef struct by_type {
  int64_t count[N_TYPES][2];    /* [type][0: matrices and vectors, 1: expert stacks] */
  uint64_t bytes[N_TYPES][2];
} by_type;

static void add_tensors(const dseek_gguf *g, by_type *t)
{
  for (int64_t i = 0; i < dseek_gguf_tensor_count(g); i++) {
    dseek_tensor_info ti = {.struct_size = sizeof ti};
    if (dseek_gguf_tensor_info(g, i, &ti) || ti.type < 0 || ti.type >= N_TYPES) continue;
    int experts = strstr(ti.name, "_exps.") != NULL;
    t->count[ti.type][experts]++;
    t->bytes[ti.type][experts] += ti.size;
  }
}

static int64_t key_int(const dseek_gguf *g, const char *key, int64_t dflt)
{
  int64_t v = dflt, i = dseek_gguf_find_key(g, key);
  if (i >= 0 && dseek_gguf_get_int(g, i, &v)) v = dflt;
  return v;
}

static uint64_t file_bytes(const char *path)
{
  FILE *f = fopen(path, "rb");
  long n = -1;
  if (f && fseek(f, 0, SEEK_END) == 0) n = ftell(f);
  if (f) fclose(f);
  return n > 0 ? (uint64_t)n : 0;
}

int info_tensors(const char *path)
{
  dseek_gguf *g = NULL;
  if (dseek_gguf_open(path, 0, &g)) return -1;   /* not a GGUF: the model load says why */
  by_type *t = calloc(1, sizeof *t);
  if (!t) { dseek_gguf_close(g); return -1; }
  int64_t n_split = key_int(g, "split.count", 1);
  if (n_split > 1) {
    printf("shards        %lld (split.tensors.count %lld)\n", (long long)n_split,
           (long long)key_int(g, "split.tensors.count", -1));
    dseek_gguf_close(g);
    g = NULL;
    for (int k = 0; k < n_split; k++) {
      char shard[4096];
      dseek_gguf *s = NULL;
      if (dseek_gguf_split_path(path, k, shard, sizeof shard, NULL) || dseek_gguf_open(shard, 0, &s)) {
        printf("  %d  %s\n", k + 1, dseek_last_error());
        continue;
      }
      printf("  %d  %s: %lld tensors, %.1f MiB\n", k + 1, shard, (long long)dseek_gguf_tensor_count(s),
             (double)file_bytes(shard) / 1048576.0);
      add_tensors(s, t);
      dseek_gguf_close(s);
    }
  } else {
    add_tensors(g, t);
    dseek_gguf_close(g);
  }
  printf("tensors       type       count         MiB  kernel\n");
  for (int ty = 0; ty < N_TYPES; ty++)
    for (int e = 0; e < 2; e++) {
      if (!t->count[ty][e]) continue;
      char kernel[160];
      dseek_type_kernel(ty, e, kernel, sizeof kernel);
      printf("              %-8s %7lld %11.2f  %s%s\n", dseek_type_name(ty), (long long)t->count[ty][e],
             (double)t->bytes[ty][e] / 1048576.0, e ? "experts: " : "", kernel);
    }
  free(t);
  return 0;
}
