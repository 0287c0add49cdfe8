/* gguf_writer.c — build small GGUF files for tests (see gguf_writer.h). */
#include "gguf_writer.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct gw_tensor {
  char *name;
  int type, n_dims;
  int64_t ne[4];
  uint8_t *data;
  size_t size;
} gw_tensor;

struct gguf_writer {
  uint32_t version, alignment;
  uint64_t n_kv;
  gw_bytes kv;            /* the encoded kv pairs, in order */
  gw_tensor *tensors;
  size_t n_tensors;
};

static void *xrealloc(void *p, size_t n)
{
  p = realloc(p, n ? n : 1);
  if (!p) { fprintf(stderr, "gguf_writer: out of memory\n"); abort(); }
  return p;
}

void gw_put(gw_bytes *b, const void *data, size_t n)
{
  if (b->n + n > b->cap) {
    b->cap = (b->n + n) * 2 + 64;
    b->p = xrealloc(b->p, b->cap);
  }
  if (n) memcpy(b->p + b->n, data, n);
  b->n += n;
}

static void put_le(gw_bytes *b, uint64_t v, int bytes)
{
  uint8_t x[8];
  for (int i = 0; i < bytes; i++) x[i] = (uint8_t)(v >> 8 * i);
  gw_put(b, x, (size_t)bytes);
}

void gw_put_u32(gw_bytes *b, uint32_t v) { put_le(b, v, 4); }
void gw_put_u64(gw_bytes *b, uint64_t v) { put_le(b, v, 8); }
void gw_put_str(gw_bytes *b, const char *s, size_t len) { gw_put_u64(b, len); gw_put(b, s, len); }

gguf_writer *gw_create(uint32_t version)
{
  gguf_writer *w = xrealloc(NULL, sizeof *w);
  memset(w, 0, sizeof *w);
  w->version = version;
  w->alignment = 32;
  return w;
}

void gw_free(gguf_writer *w)
{
  if (!w) return;
  for (size_t i = 0; i < w->n_tensors; i++) {
    free(w->tensors[i].name);
    free(w->tensors[i].data);
  }
  free(w->tensors);
  free(w->kv.p);
  free(w);
}

static void begin_kv(gguf_writer *w, const char *key, uint32_t type)
{
  gw_put_str(&w->kv, key, strlen(key));
  gw_put_u32(&w->kv, type);
  w->n_kv++;
}

void gw_add_raw(gguf_writer *w, const char *key, uint32_t type, const void *value, size_t n)
{
  begin_kv(w, key, type);
  gw_put(&w->kv, value, n);
}

/* Bytes of one scalar of GGUF value type t (0 for string/array/unknown). */
static int scalar_bytes(int t)
{
  static const int size[] = {1, 1, 2, 2, 4, 4, 4, 1, 0, 0, 8, 8, 8};
  return t >= 0 && t < 13 ? size[t] : 0;
}

/* Encode one host scalar of type t from p (unaligned-safe). */
static void put_scalar(gw_bytes *b, int t, const void *p)
{
  uint64_t v = 0;
  switch (scalar_bytes(t)) {
  case 1: { uint8_t x; memcpy(&x, p, 1); v = x; break; }
  case 2: { uint16_t x; memcpy(&x, p, 2); v = x; break; }
  case 4: { uint32_t x; memcpy(&x, p, 4); v = x; break; }   /* float bits too */
  case 8: { uint64_t x; memcpy(&x, p, 8); v = x; break; }   /* double bits too */
  default: abort();
  }
  put_le(b, v, scalar_bytes(t));
}

static void add_scalar(gguf_writer *w, const char *key, int t, const void *p)
{
  begin_kv(w, key, (uint32_t)t);
  put_scalar(&w->kv, t, p);
}

void gw_add_u8(gguf_writer *w, const char *key, uint8_t v) { add_scalar(w, key, 0, &v); }
void gw_add_i8(gguf_writer *w, const char *key, int8_t v) { add_scalar(w, key, 1, &v); }
void gw_add_u16(gguf_writer *w, const char *key, uint16_t v) { add_scalar(w, key, 2, &v); }
void gw_add_i16(gguf_writer *w, const char *key, int16_t v) { add_scalar(w, key, 3, &v); }
void gw_add_u32(gguf_writer *w, const char *key, uint32_t v) { add_scalar(w, key, 4, &v); }
void gw_add_i32(gguf_writer *w, const char *key, int32_t v) { add_scalar(w, key, 5, &v); }
void gw_add_f32(gguf_writer *w, const char *key, float v) { add_scalar(w, key, 6, &v); }
void gw_add_u64(gguf_writer *w, const char *key, uint64_t v) { add_scalar(w, key, 10, &v); }
void gw_add_i64(gguf_writer *w, const char *key, int64_t v) { add_scalar(w, key, 11, &v); }
void gw_add_f64(gguf_writer *w, const char *key, double v) { add_scalar(w, key, 12, &v); }

void gw_add_bool(gguf_writer *w, const char *key, bool v)
{
  uint8_t b = v ? 1 : 0;
  add_scalar(w, key, 7, &b);
}

void gw_add_string_n(gguf_writer *w, const char *key, const char *s, size_t len)
{
  begin_kv(w, key, 8);
  gw_put_str(&w->kv, s, len);
}

void gw_add_string(gguf_writer *w, const char *key, const char *s) { gw_add_string_n(w, key, s, strlen(s)); }

void gw_set_alignment(gguf_writer *w, uint32_t alignment)
{
  gw_add_u32(w, "general.alignment", alignment);
  w->alignment = alignment;
}

void gw_add_array(gguf_writer *w, const char *key, int elem_type, size_t count, const void *elems)
{
  if (!scalar_bytes(elem_type)) abort();
  begin_kv(w, key, 9);
  gw_put_u32(&w->kv, (uint32_t)elem_type);
  gw_put_u64(&w->kv, count);
  /* host C arrays have elements of exactly scalar_bytes (bool as uint8_t) */
  for (size_t i = 0; i < count; i++)
    put_scalar(&w->kv, elem_type, (const uint8_t *)elems + i * (size_t)scalar_bytes(elem_type));
}

void gw_add_string_array(gguf_writer *w, const char *key, size_t count, const char *const *strs,
                         const size_t *lens)
{
  begin_kv(w, key, 9);
  gw_put_u32(&w->kv, 8);
  gw_put_u64(&w->kv, count);
  for (size_t i = 0; i < count; i++) gw_put_str(&w->kv, strs[i], lens ? lens[i] : strlen(strs[i]));
}

void gw_add_tensor(gguf_writer *w, const char *name, int type, int n_dims, const int64_t *ne,
                   const void *data, size_t size)
{
  w->tensors = xrealloc(w->tensors, (w->n_tensors + 1) * sizeof *w->tensors);
  gw_tensor *t = &w->tensors[w->n_tensors++];
  memset(t, 0, sizeof *t);
  size_t len = strlen(name);
  t->name = xrealloc(NULL, len + 1);
  memcpy(t->name, name, len + 1);
  t->type = type;
  t->n_dims = n_dims;
  for (int d = 0; d < n_dims && d < 4; d++) t->ne[d] = ne[d];
  t->data = xrealloc(NULL, size);
  if (data) memcpy(t->data, data, size);
  else memset(t->data, 0, size);
  t->size = size;
}

static uint64_t align_up(uint64_t x, uint64_t a) { return (x + a - 1) / a * a; }

static void pad_to(gw_bytes *b, uint64_t alignment)
{
  static const uint8_t zero[1] = {0};
  while (b->n % alignment) gw_put(b, zero, 1);
}

uint8_t *gw_serialize(const gguf_writer *w, size_t *size)
{
  gw_bytes b = {0};
  gw_put(&b, "GGUF", 4);
  gw_put_u32(&b, w->version);
  gw_put_u64(&b, w->n_tensors);
  gw_put_u64(&b, w->n_kv);
  gw_put(&b, w->kv.p, w->kv.n);
  uint64_t offset = 0;
  for (size_t i = 0; i < w->n_tensors; i++) {
    const gw_tensor *t = &w->tensors[i];
    gw_put_str(&b, t->name, strlen(t->name));
    gw_put_u32(&b, (uint32_t)t->n_dims);
    for (int d = 0; d < t->n_dims; d++) gw_put_u64(&b, (uint64_t)t->ne[d]);
    gw_put_u32(&b, (uint32_t)t->type);
    gw_put_u64(&b, offset);
    offset = align_up(offset + t->size, w->alignment);
  }
  if (w->n_tensors) {
    pad_to(&b, w->alignment);
    for (size_t i = 0; i < w->n_tensors; i++) {
      gw_put(&b, w->tensors[i].data, w->tensors[i].size);
      pad_to(&b, w->alignment);
    }
  }
  *size = b.n;
  return b.p ? b.p : xrealloc(NULL, 1);
}

bool gw_write(const gguf_writer *w, const char *path)
{
  size_t n;
  uint8_t *p = gw_serialize(w, &n);
  FILE *f = fopen(path, "wb");
  bool ok = f && fwrite(p, 1, n, f) == n;
  if (f && fclose(f) != 0) ok = false;
  free(p);
  return ok;
}
