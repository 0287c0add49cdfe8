/* mini_gguf.c — TEST SCAFFOLDING ONLY, until lib/formats/gguf.c lands: just
 * enough of the public dseek_gguf_* metadata API (trusted files, no tensors)
 * for test_vocab_gguf to exercise lib/text/vocab_gguf.c on llama.cpp's vocab
 * files. Delete it (and its line in meson.build) when the real reader exists. */
#include "dseek.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct mkv {
  char *key;
  int type, elem_type;
  int64_t count;          /* arrays */
  int64_t i;              /* scalars */
  char **strs;            /* string value (strs[0]) or string array */
  size_t *lens;
  int64_t *ints;          /* integer array */
} mkv;

struct dseek_gguf { int64_t n; mkv *kv; };

static const uint8_t *p, *end;
static int ok;
static uint64_t rd(int n) { uint64_t v = 0; if (end - p < n) { ok = 0; return 0; } memcpy(&v, p, (size_t)n); p += n; return v; }
static char *rd_str(size_t *len)
{
  uint64_t n = rd(8);
  if (!ok || (uint64_t)(end - p) < n) { ok = 0; return NULL; }
  char *s = malloc(n + 1);
  memcpy(s, p, n);
  s[n] = 0;
  p += n;
  if (len) *len = n;
  return s;
}
static const int sizes[] = {1, 1, 2, 2, 4, 4, 4, 1, 0, 0, 8, 8, 8};
static int64_t rd_int(int t)
{
  uint64_t v = rd(sizes[t]);
  switch (t) {
  case 1: return (int8_t)v;
  case 3: return (int16_t)v;
  case 5: return (int32_t)v;
  default: return (int64_t)v;
  }
}

dseek_status dseek_gguf_open(const char *path, unsigned flags, dseek_gguf **out)
{
  (void)flags;
  FILE *f = fopen(path, "rb");
  if (!f) return DSEEK_ERR_IO;
  fseek(f, 0, SEEK_END);
  long sz = ftell(f);
  fseek(f, 0, SEEK_SET);
  uint8_t *buf = malloc((size_t)sz);
  if (fread(buf, 1, (size_t)sz, f) != (size_t)sz) { fclose(f); free(buf); return DSEEK_ERR_IO; }
  fclose(f);
  p = buf; end = buf + sz; ok = 1;
  if (rd(4) != 0x46554747u) { free(buf); return DSEEK_ERR_FORMAT; }
  rd(4);
  rd(8);
  int64_t n = (int64_t)rd(8);
  dseek_gguf *g = calloc(1, sizeof *g);
  g->kv = calloc((size_t)n, sizeof *g->kv);
  g->n = n;
  for (int64_t k = 0; k < n && ok; k++) {
    mkv *kv = &g->kv[k];
    kv->key = rd_str(NULL);
    kv->type = (int)rd(4);
    if (kv->type == DSEEK_GGUF_STRING) {
      kv->strs = malloc(sizeof *kv->strs);
      kv->lens = malloc(sizeof *kv->lens);
      kv->strs[0] = rd_str(&kv->lens[0]);
    } else if (kv->type == DSEEK_GGUF_ARRAY) {
      kv->elem_type = (int)rd(4);
      kv->count = (int64_t)rd(8);
      if (kv->elem_type == DSEEK_GGUF_STRING) {
        kv->strs = malloc((size_t)kv->count * sizeof *kv->strs);
        kv->lens = malloc((size_t)kv->count * sizeof *kv->lens);
        for (int64_t j = 0; j < kv->count && ok; j++) kv->strs[j] = rd_str(&kv->lens[j]);
      } else {
        kv->ints = malloc((size_t)kv->count * sizeof *kv->ints + 1);
        for (int64_t j = 0; j < kv->count && ok; j++) kv->ints[j] = rd_int(kv->elem_type);
      }
    } else {
      kv->i = rd_int(kv->type);
    }
  }
  free(buf);
  *out = g;
  return ok ? DSEEK_OK : DSEEK_ERR_FORMAT;
}

void dseek_gguf_close(dseek_gguf *g)
{
  if (!g) return;
  for (int64_t k = 0; k < g->n; k++) {
    mkv *kv = &g->kv[k];
    int64_t ns = kv->type == DSEEK_GGUF_STRING ? 1 : kv->elem_type == DSEEK_GGUF_STRING ? kv->count : 0;
    for (int64_t j = 0; kv->strs && j < ns; j++) free(kv->strs[j]);
    free(kv->strs); free(kv->lens); free(kv->ints); free(kv->key);
  }
  free(g->kv);
  free(g);
}

int64_t dseek_gguf_find_key(const dseek_gguf *g, const char *key)
{
  for (int64_t k = 0; k < g->n; k++) if (g->kv[k].key && strcmp(g->kv[k].key, key) == 0) return k;
  return -1;
}
int dseek_gguf_array_type(const dseek_gguf *g, int64_t i) { return g->kv[i].type == DSEEK_GGUF_ARRAY ? g->kv[i].elem_type : -1; }
int64_t dseek_gguf_array_length(const dseek_gguf *g, int64_t i) { return g->kv[i].type == DSEEK_GGUF_ARRAY ? g->kv[i].count : -1; }
dseek_status dseek_gguf_get_int(const dseek_gguf *g, int64_t i, int64_t *out)
{
  if (g->kv[i].type >= DSEEK_GGUF_STRING && g->kv[i].type <= DSEEK_GGUF_ARRAY) return DSEEK_ERR_TYPE;
  *out = g->kv[i].i;
  return DSEEK_OK;
}
dseek_status dseek_gguf_get_bool(const dseek_gguf *g, int64_t i, int *out)
{
  if (g->kv[i].type != DSEEK_GGUF_BOOL) return DSEEK_ERR_TYPE;
  *out = g->kv[i].i != 0;
  return DSEEK_OK;
}
dseek_status dseek_gguf_get_string(const dseek_gguf *g, int64_t i, const char **s, size_t *len)
{
  if (g->kv[i].type != DSEEK_GGUF_STRING) return DSEEK_ERR_TYPE;
  *s = g->kv[i].strs[0];
  if (len) *len = g->kv[i].lens[0];
  return DSEEK_OK;
}
dseek_status dseek_gguf_get_array_int(const dseek_gguf *g, int64_t i, int64_t idx, int64_t *out)
{
  if (!g->kv[i].ints || idx < 0 || idx >= g->kv[i].count) return DSEEK_ERR_INVALID_ARG;
  *out = g->kv[i].ints[idx];
  return DSEEK_OK;
}
dseek_status dseek_gguf_get_array_string(const dseek_gguf *g, int64_t i, int64_t idx, const char **s, size_t *len)
{
  if (g->kv[i].elem_type != DSEEK_GGUF_STRING || idx < 0 || idx >= g->kv[i].count) return DSEEK_ERR_INVALID_ARG;
  *s = g->kv[i].strs[idx];
  if (len) *len = g->kv[i].lens[idx];
  return DSEEK_OK;
}
