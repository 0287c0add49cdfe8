/*
 * bench_gguf.c — the GGUF writer of the benchmark model generator (see
 * bench_gguf.h). Little-endian hosts only, as dseek itself.
 */
#define _GNU_SOURCE   /* open_memstream */
#include "bench_gguf.h"
#include "kernels/types.h"

#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

enum { GGUF_U32 = 4, GGUF_I32 = 5, GGUF_F32 = 6, GGUF_BOOL = 7, GGUF_STRING = 8, GGUF_ARRAY = 9 };
#define ALIGN 32

/* ---- raw output with a sticky error -------------------------------------------------- */

static void put(FILE *f, int *err, const void *p, size_t n)
{
  if (!*err && n && fwrite(p, 1, n, f) != n) *err = 1;
}
static void put_u32(FILE *f, int *err, uint32_t v) { put(f, err, &v, 4); }
static void put_u64(FILE *f, int *err, uint64_t v) { put(f, err, &v, 8); }
static void put_str(FILE *f, int *err, const char *s)
{
  put_u64(f, err, strlen(s));
  put(f, err, s, strlen(s));
}

/* ---- key/values ------------------------------------------------------------------------- */

int bg_kvs_open(bg_kvs *kv)
{
  memset(kv, 0, sizeof *kv);
  kv->f = open_memstream(&kv->buf, &kv->len);
  return kv->f ? 0 : 1;
}

static void key(bg_kvs *kv, const char *k, uint32_t type)
{
  put_str(kv->f, &kv->err, k);
  put_u32(kv->f, &kv->err, type);
  kv->n++;
}
void bg_kv_str(bg_kvs *kv, const char *k, const char *v) { key(kv, k, GGUF_STRING); put_str(kv->f, &kv->err, v); }
void bg_kv_u32(bg_kvs *kv, const char *k, uint32_t v) { key(kv, k, GGUF_U32); put_u32(kv->f, &kv->err, v); }
void bg_kv_f32(bg_kvs *kv, const char *k, float v) { key(kv, k, GGUF_F32); put(kv->f, &kv->err, &v, 4); }
void bg_kv_bool(bg_kvs *kv, const char *k, bool v)
{
  uint8_t b = v;
  key(kv, k, GGUF_BOOL);
  put(kv->f, &kv->err, &b, 1);
}

/* ---- the tokenizer ------------------------------------------------------------------------ */

/* GPT-2's byte -> code point map: printable bytes map to themselves, the
 * other 68 to 256, 257, ... in byte order. */
static bool printable(int b) { return (b >= '!' && b <= '~') || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE && b <= 0xFF); }
static uint32_t byte_char(int b)
{
  if (printable(b)) return (uint32_t)b;
  int n = 0;
  for (int c = 0; c < b; c++) n += !printable(c);
  return 256u + (uint32_t)n;
}

static void token_text(const bg_vocab *v, int64_t id, char *buf, size_t cap)
{
  if (id == v->bos) snprintf(buf, cap, "<｜begin▁of▁sentence｜>");
  else if (id == v->eos) snprintf(buf, cap, "<｜end▁of▁sentence｜>");
  else if (id >= v->byte0 && id < v->byte0 + 256) {
    uint32_t cp = byte_char((int)(id - v->byte0));
    if (cp < 0x80) snprintf(buf, cap, "%c", (char)cp);
    else snprintf(buf, cap, "%c%c", (char)(0xC0 | cp >> 6), (char)(0x80 | (cp & 0x3F)));
  } else {
    snprintf(buf, cap, "[bench%lld]", (long long)id);
  }
}

void bg_kv_tokenizer(bg_kvs *kv, const bg_vocab *v)
{
  char buf[64];
  bg_kv_str(kv, "tokenizer.ggml.model", "gpt2");
  bg_kv_str(kv, "tokenizer.ggml.pre", v->pre);
  key(kv, "tokenizer.ggml.tokens", GGUF_ARRAY);
  put_u32(kv->f, &kv->err, GGUF_STRING);
  put_u64(kv->f, &kv->err, (uint64_t)v->n);
  for (int64_t id = 0; id < v->n; id++) {
    token_text(v, id, buf, sizeof buf);
    put_str(kv->f, &kv->err, buf);
  }
  key(kv, "tokenizer.ggml.token_type", GGUF_ARRAY);
  put_u32(kv->f, &kv->err, GGUF_I32);
  put_u64(kv->f, &kv->err, (uint64_t)v->n);
  for (int64_t id = 0; id < v->n; id++) put_u32(kv->f, &kv->err, id == v->bos || id == v->eos ? 3 : 1);   /* control : normal */
  key(kv, "tokenizer.ggml.merges", GGUF_ARRAY);
  put_u32(kv->f, &kv->err, GGUF_STRING);
  put_u64(kv->f, &kv->err, 0);
  bg_kv_u32(kv, "tokenizer.ggml.bos_token_id", (uint32_t)v->bos);
  bg_kv_u32(kv, "tokenizer.ggml.eos_token_id", (uint32_t)v->eos);
  bg_kv_bool(kv, "tokenizer.ggml.add_bos_token", true);
}

/* ---- tensors --------------------------------------------------------------------------------- */

void bg_add(bg_list *l, int type, int64_t ne0, int64_t ne1, int64_t ne2, float scale, const char *fmt, ...)
{
  if (l->err) return;
  if (l->n == l->cap) {
    int cap = l->cap ? 2 * l->cap : 256;
    bg_tensor *t = realloc(l->t, (size_t)cap * sizeof *t);
    if (!t) {
      l->err = 1;
      return;
    }
    l->t = t;
    l->cap = cap;
  }
  bg_tensor *t = &l->t[l->n++];
  memset(t, 0, sizeof *t);
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(t->name, sizeof t->name, fmt, ap);
  va_end(ap);
  t->type = type;
  t->ne[0] = ne0;
  t->ne[1] = ne1;
  t->ne[2] = ne2;
  t->n_dims = ne2 > 1 ? 3 : ne1 > 1 ? 2 : 1;
  t->scale = scale;
}

float bg_scale(int64_t k) { return sqrtf(3.0f / (float)k); }

/* xorshift64*: fast, and the same file for the same seed */
static uint64_t rng = 0x9E3779B97F4A7C15ull;
void bg_seed(uint64_t seed)
{
  rng = 0x9E3779B97F4A7C15ull ^ (seed * 0x9E3779B97F4A7C15ull);
  if (!rng) rng = 1;
}
static inline float uniform(float scale)
{
  rng ^= rng >> 12;
  rng ^= rng << 25;
  rng ^= rng >> 27;
  uint32_t r = (uint32_t)((rng * 0x2545F4914F6CDD1Dull) >> 40);   /* 24 bits */
  return scale * ((float)r * (2.0f / 16777216.0f) - 1.0f);
}

/* IQ2_XXS rows (dseek has no IQ quantizer): random grid indices, signs and
 * 4-bit block scales under an f16 d that gives the values about the
 * magnitude of uniform(scale) (a value is d (2s + 1) / 8 * grid, grid 8..43,
 * mean about 42 d): the bytes and the work per value of a real file, random
 * values as every bench tensor has. */
static void iq2_xxs_random_rows(float scale, int64_t nr, int64_t ne0, unsigned char *q)
{
  const uint16_t d = ds_f32_to_f16(scale / 84.0f);
  for (int64_t b = 0; b < nr * ne0 / 256; b++) {
    unsigned char *p = q + b * 66;
    for (int i = 2; i < 66; i++) p[i] = (unsigned char)(uniform(1.0f) * 127.0f + 128.0f);
    p[0] = (unsigned char)d;
    p[1] = (unsigned char)(d >> 8);
  }
}

/* Generate and write one tensor, 64 rows at a time (3-D: ne1 ne2 rows). */
static int write_data(FILE *f, int *err, const bg_tensor *t)
{
  const ds_type_traits *tr = ds_type_traits_get(t->type);
  uint64_t row;
  if (!tr || !ds_row_size(t->type, t->ne[0], &row)) return 1;
  const int64_t chunk = 64, rows = t->ne[1] * t->ne[2];
  float *v = malloc((size_t)(chunk * t->ne[0]) * sizeof *v);
  unsigned char *q = malloc((size_t)(row * (uint64_t)chunk));
  if (!v || !q) {
    free(v);
    free(q);
    return 1;
  }
  for (int64_t r0 = 0; r0 < rows && !*err; r0 += chunk) {
    int64_t nr = rows - r0 < chunk ? rows - r0 : chunk;
    for (int64_t i = 0; i < nr * t->ne[0]; i++) v[i] = t->scale == 0 ? 1.0f : uniform(t->scale);
    if (t->type == DSEEK_TYPE_F32) put(f, err, v, (size_t)(nr * t->ne[0]) * 4);
    else if (t->type == DSEEK_TYPE_IQ2_XXS) {
      iq2_xxs_random_rows(t->scale, nr, t->ne[0], q);
      put(f, err, q, (size_t)(row * (uint64_t)nr));
    } else {
      for (int64_t r = 0; r < nr; r++) tr->from_float(v + r * t->ne[0], q + r * row, t->ne[0]);
      put(f, err, q, (size_t)(row * (uint64_t)nr));
    }
  }
  free(v);
  free(q);
  return *err;
}

int bg_write_gguf(const char *path, bg_kvs *kv, bg_list *l)
{
  if (fclose(kv->f) != 0) kv->err = 1;
  kv->f = NULL;
  int err = kv->err || l->err;
  uint64_t off = 0;
  for (int i = 0; i < l->n && !err; i++) {
    bg_tensor *t = &l->t[i];
    if (!ds_row_size(t->type, t->ne[0], &t->size)) {
      fprintf(stderr, "%s: %s: row of %lld does not fit type %d\n", path, t->name, (long long)t->ne[0], t->type);
      err = 1;
      break;
    }
    t->size *= (uint64_t)(t->ne[1] * t->ne[2]);
    t->offset = off;
    off = (off + t->size + ALIGN - 1) / ALIGN * ALIGN;
  }
  FILE *f = err ? NULL : fopen(path, "wb");
  if (!f) {
    if (!err) perror(path);
    free(kv->buf);
    return 1;
  }
  struct timespec t0, t1;
  clock_gettime(CLOCK_MONOTONIC, &t0);
  put(f, &err, "GGUF", 4);
  put_u32(f, &err, 3);
  put_u64(f, &err, (uint64_t)l->n);
  put_u64(f, &err, kv->n + 1);
  put(f, &err, kv->buf, kv->len);
  free(kv->buf);
  kv->buf = NULL;
  put_str(f, &err, "general.alignment");
  put_u32(f, &err, GGUF_U32);
  put_u32(f, &err, ALIGN);
  for (int i = 0; i < l->n; i++) {
    const bg_tensor *t = &l->t[i];
    put_str(f, &err, t->name);
    put_u32(f, &err, (uint32_t)t->n_dims);
    for (int d = 0; d < t->n_dims; d++) put_u64(f, &err, (uint64_t)t->ne[d]);
    put_u32(f, &err, (uint32_t)t->type);
    put_u64(f, &err, t->offset);
  }
  static const char zeros[ALIGN];
  long pos = ftell(f);
  put(f, &err, zeros, (size_t)((ALIGN - pos % ALIGN) % ALIGN));
  for (int i = 0; i < l->n && !err; i++) {
    if (write_data(f, &err, &l->t[i])) err = 1;
    if (i + 1 < l->n) put(f, &err, zeros, (size_t)((ALIGN - l->t[i].size % ALIGN) % ALIGN));
  }
  if (fclose(f) != 0) err = 1;
  if (err) {
    fprintf(stderr, "%s: write failed\n", path);
    return 1;
  }
  clock_gettime(CLOCK_MONOTONIC, &t1);
  fprintf(stderr, "%s: %d tensors, %.3f GB of data, %.1f s\n", path, l->n, (double)off / 1e9,
          (double)(t1.tv_sec - t0.tv_sec) + 1e-9 * (double)(t1.tv_nsec - t0.tv_nsec));
  return 0;
}
