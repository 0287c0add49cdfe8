/*
 * gguf_read.c — parse and validate a GGUF file (layout in gguf.h).
 *
 * Every read goes through a cursor that checks the bytes remaining; every count
 * is checked against what the remaining bytes could possibly hold before
 * anything is allocated for it, so a hostile header cannot make us allocate
 * more than a small multiple of the file size. Messages name the file and the
 * field: "x.gguf: key 12 'general.name': string length 9999 exceeds the file".
 */
#include "formats/gguf.h"
#include "kernels/types.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct cursor {
  const uint8_t *p;
  uint64_t pos, size;
  const char *path;
} cursor;

static bool take(cursor *c, uint64_t n, const uint8_t **out)
{
  if (n > c->size - c->pos) return false;
  *out = c->p + c->pos;
  c->pos += n;
  return true;
}

static uint64_t le(const uint8_t *b, int n)
{
  uint64_t v = 0;
  for (int i = n - 1; i >= 0; i--) v = (v << 8) | b[i];
  return v;
}

static bool read_u32(cursor *c, uint32_t *v)
{
  const uint8_t *b;
  if (!take(c, 4, &b)) return false;
  *v = (uint32_t)le(b, 4);
  return true;
}

static bool read_u64(cursor *c, uint64_t *v)
{
  const uint8_t *b;
  if (!take(c, 8, &b)) return false;
  *v = le(b, 8);
  return true;
}

/* Size in bytes of one scalar value type; 0 for STRING/ARRAY/unknown. */
static uint64_t scalar_size(uint32_t type)
{
  switch (type) {
  case DSEEK_GGUF_UINT8: case DSEEK_GGUF_INT8: case DSEEK_GGUF_BOOL: return 1;
  case DSEEK_GGUF_UINT16: case DSEEK_GGUF_INT16: return 2;
  case DSEEK_GGUF_UINT32: case DSEEK_GGUF_INT32: case DSEEK_GGUF_FLOAT32: return 4;
  case DSEEK_GGUF_UINT64: case DSEEK_GGUF_INT64: case DSEEK_GGUF_FLOAT64: return 8;
  default: return 0;
  }
}

const char *ds_gguf_type_name(int t)
{
  static const char *const names[] = {"uint8", "int8", "uint16", "int16", "uint32", "int32", "float32",
                                      "bool", "string", "array", "uint64", "int64", "float64"};
  return t >= 0 && t < (int)DS_ARRAY_LEN(names) ? names[t] : "unknown";
}

/* A string: u64 length + bytes; s and n point into the file. */
static bool read_str(cursor *c, const uint8_t **s, uint64_t *n)
{
  return read_u64(c, n) && take(c, *n, s);
}

/* ---- hash index ------------------------------------------------------------ */

static uint64_t hash_str(const char *s)
{
  uint64_t h = 1469598103934665603ull;
  for (; *s; s++) h = (h ^ (unsigned char)*s) * 1099511628211ull;
  return h;
}

static bool index_init(ds_gguf_index *ix, int64_t n)
{
  uint64_t cap = 16;
  while (cap < (uint64_t)n * 2) cap *= 2;
  ix->slots = ds_calloc((size_t)cap, sizeof *ix->slots);
  ix->mask = cap - 1;
  return ix->slots != NULL;
}

/* Insert name at position pos; returns the position already holding the same
 * name, or -1 if it was new. */
static int64_t index_insert(ds_gguf_index *ix, const char *name, int64_t pos, const char *(*name_of)(const ds_gguf *, int64_t),
                            const ds_gguf *g)
{
  for (uint64_t h = hash_str(name) & ix->mask;; h = (h + 1) & ix->mask) {
    if (!ix->slots[h]) { ix->slots[h] = pos + 1; return -1; }
    if (strcmp(name_of(g, ix->slots[h] - 1), name) == 0) return ix->slots[h] - 1;
  }
}

static int64_t index_find(const ds_gguf_index *ix, const char *name, const char *(*name_of)(const ds_gguf *, int64_t),
                          const ds_gguf *g)
{
  if (!ix->slots) return -1;
  for (uint64_t h = hash_str(name) & ix->mask;; h = (h + 1) & ix->mask) {
    if (!ix->slots[h]) return -1;
    if (strcmp(name_of(g, ix->slots[h] - 1), name) == 0) return ix->slots[h] - 1;
  }
}

static const char *key_name(const ds_gguf *g, int64_t i) { return g->kv[i].key; }
static const char *tensor_name(const ds_gguf *g, int64_t i) { return g->tensors[i].name; }

/* ---- values ---------------------------------------------------------------- */

static dseek_status bad(const ds_gguf *g, const char *fmt, const char *a, const char *b)
{
  return ds_error(DSEEK_ERR_FORMAT, "%s: %s%s%s", g->path, a, b, fmt);
}

/* Bool elements are bytes 0 or 1, as for a bool value (readers rely on it). */
static dseek_status check_bools(const ds_gguf *g, const uint8_t *b, uint64_t count, const char *what)
{
  for (uint64_t i = 0; i < count; i++)
    if (b[i] > 1)
      return ds_error(DSEEK_ERR_FORMAT, "%s: %s: bool element %llu is %u, neither 0 nor 1", g->path, what,
                      (unsigned long long)i, b[i]);
  return DSEEK_OK;
}

/* Validate (and skip) the bytes of an array nested in an array. */
static dseek_status skip_array(ds_gguf *g, cursor *c, const char *what, int depth)
{
  uint32_t et;
  uint64_t count;
  if (!read_u32(c, &et) || !read_u64(c, &count)) return bad(g, ": truncated array header", what, "");
  if (depth > 8) return bad(g, ": arrays nested too deeply", what, "");
  if (et == DSEEK_GGUF_STRING) {
    for (uint64_t i = 0; i < count; i++) {
      const uint8_t *s;
      uint64_t n;
      if (!read_str(c, &s, &n)) return bad(g, ": truncated string in nested array", what, "");
    }
  } else if (et == DSEEK_GGUF_ARRAY) {
    if (count > (c->size - c->pos) / 12) return bad(g, ": nested array count exceeds the file", what, "");
    for (uint64_t i = 0; i < count; i++) {
      dseek_status st = skip_array(g, c, what, depth + 1);
      if (st) return st;
    }
  } else {
    uint64_t es = scalar_size(et), bytes;
    const uint8_t *b;
    if (!es) return bad(g, ": unknown array element type", what, "");
    if (ds_mul_u64(es, count, &bytes) || !take(c, bytes, &b)) return bad(g, ": array data exceeds the file", what, "");
    if (et == DSEEK_GGUF_BOOL) return check_bools(g, b, count, what);
  }
  return DSEEK_OK;
}

static dseek_status read_array(ds_gguf *g, cursor *c, ds_gguf_kv *kv, const char *what)
{
  uint32_t et;
  uint64_t count;
  char msg[96];
  if (!read_u32(c, &et) || !read_u64(c, &count)) return bad(g, ": truncated array header", what, "");
  ds_gguf_array *a = &kv->v.arr;
  a->type = (int)et;
  a->count = count;
  uint64_t remaining = c->size - c->pos;
  if (et == DSEEK_GGUF_STRING) {
    /* each element needs at least its 8-byte length */
    if (count > remaining / 8) {
      snprintf(msg, sizeof msg, ": array of %llu strings exceeds the file", (unsigned long long)count);
      return bad(g, msg, what, "");
    }
    uint64_t start = c->pos, total = 0;
    for (uint64_t i = 0; i < count; i++) {
      const uint8_t *s;
      uint64_t n;
      if (!read_str(c, &s, &n)) {
        snprintf(msg, sizeof msg, ": string %llu of the array exceeds the file", (unsigned long long)i);
        return bad(g, msg, what, "");
      }
      total += n + 1;
    }
    /* second pass: copy into one arena, NUL-separated */
    a->strs = ds_malloc((size_t)total + 1);
    a->offs = ds_malloc((size_t)(count + 1) * sizeof *a->offs);
    if (!a->strs || !a->offs) return ds_error(DSEEK_ERR_NO_MEMORY, "%s: out of memory for %s", g->path, what);
    cursor c2 = {c->p, start, c->size, c->path};
    uint64_t off = 0;
    for (uint64_t i = 0; i < count; i++) {
      const uint8_t *s;
      uint64_t n;
      read_str(&c2, &s, &n);
      a->offs[i] = off;
      memcpy(a->strs + off, s, (size_t)n);
      a->strs[off + n] = '\0';
      off += n + 1;
    }
    a->offs[count] = off;
    return DSEEK_OK;
  }
  if (et == DSEEK_GGUF_ARRAY) {
    if (count > remaining / 12) return bad(g, ": nested array count exceeds the file", what, "");
    for (uint64_t i = 0; i < count; i++) {
      dseek_status st = skip_array(g, c, what, 1);
      if (st) return st;
    }
    return DSEEK_OK;
  }
  uint64_t es = scalar_size(et), bytes;
  if (!es) {
    snprintf(msg, sizeof msg, ": unknown array element type %u", et);
    return bad(g, msg, what, "");
  }
  if (ds_mul_u64(es, count, &bytes) || !take(c, bytes, &a->raw)) {
    snprintf(msg, sizeof msg, ": array of %llu %s exceeds the file", (unsigned long long)count,
             ds_gguf_type_name((int)et));
    return bad(g, msg, what, "");
  }
  return et == DSEEK_GGUF_BOOL ? check_bools(g, a->raw, count, what) : DSEEK_OK;
}

static dseek_status read_value(ds_gguf *g, cursor *c, ds_gguf_kv *kv, const char *what)
{
  const uint8_t *b;
  uint64_t es = scalar_size((uint32_t)kv->type);
  if (es) {
    if (!take(c, es, &b)) return bad(g, ": value truncated", what, "");
    uint64_t u = le(b, (int)es);
    switch (kv->type) {
    case DSEEK_GGUF_UINT8: case DSEEK_GGUF_UINT16: case DSEEK_GGUF_UINT32: case DSEEK_GGUF_UINT64: kv->v.u = u; break;
    case DSEEK_GGUF_BOOL:
      if (u > 1) return bad(g, ": bool value is neither 0 nor 1", what, "");
      kv->v.u = u;
      break;
    case DSEEK_GGUF_INT8: kv->v.i = (int8_t)u; break;
    case DSEEK_GGUF_INT16: kv->v.i = (int16_t)u; break;
    case DSEEK_GGUF_INT32: kv->v.i = (int32_t)u; break;
    case DSEEK_GGUF_INT64: kv->v.i = (int64_t)u; break;
    case DSEEK_GGUF_FLOAT32: { uint32_t x = (uint32_t)u; float f; memcpy(&f, &x, 4); kv->v.f = f; break; }
    case DSEEK_GGUF_FLOAT64: { double d; memcpy(&d, &u, 8); kv->v.f = d; break; }
    }
    return DSEEK_OK;
  }
  if (kv->type == DSEEK_GGUF_STRING) {
    const uint8_t *s;
    uint64_t n;
    if (!read_str(c, &s, &n)) return bad(g, ": string value exceeds the file", what, "");
    kv->v.str.s = ds_strndup((const char *)s, (size_t)n);
    kv->v.str.len = (size_t)n;
    if (!kv->v.str.s) return ds_error(DSEEK_ERR_NO_MEMORY, "%s: out of memory for %s", g->path, what);
    return DSEEK_OK;
  }
  if (kv->type == DSEEK_GGUF_ARRAY) return read_array(g, c, kv, what);
  char msg[64];
  snprintf(msg, sizeof msg, ": unknown value type %d", kv->type);
  return bad(g, msg, what, "");
}

/* ---- open ------------------------------------------------------------------ */

static int cmp_offset(const void *a, const void *b)
{
  const ds_gguf_tensor *x = *(const ds_gguf_tensor *const *)a, *y = *(const ds_gguf_tensor *const *)b;
  return (x->offset > y->offset) - (x->offset < y->offset);
}

static dseek_status parse(ds_gguf *g)
{
  cursor c = {g->file.data, 0, g->file.size, g->path};
  const uint8_t *magic;
  char what[160];
  if (!take(&c, 4, &magic) || memcmp(magic, "GGUF", 4) != 0)
    return ds_error(DSEEK_ERR_FORMAT, "%s: not a GGUF file (bad magic)", g->path);
  if (!read_u32(&c, &g->version)) return ds_error(DSEEK_ERR_FORMAT, "%s: header truncated (version)", g->path);
  if (g->version == 0x02000000u || g->version == 0x03000000u)
    return ds_error(DSEEK_ERR_FORMAT, "%s: big-endian GGUF is not supported", g->path);
  if (g->version == 1) return ds_error(DSEEK_ERR_FORMAT, "%s: GGUF version 1 is not supported (re-convert the model)", g->path);
  if (g->version != 2 && g->version != 3)
    return ds_error(DSEEK_ERR_FORMAT, "%s: unknown GGUF version %u", g->path, g->version);
  uint64_t n_tensors, n_kv;
  if (!read_u64(&c, &n_tensors) || !read_u64(&c, &n_kv))
    return ds_error(DSEEK_ERR_FORMAT, "%s: header truncated (tensor_count, kv_count)", g->path);
  /* a key takes >= 8 + 1 + 4 + 1 bytes, a tensor info >= 8 + 1 + 4 + 8 + 4 + 8 */
  if (n_kv > (c.size - c.pos) / 14)
    return ds_error(DSEEK_ERR_FORMAT, "%s: kv_count %llu exceeds what the file can hold", g->path, (unsigned long long)n_kv);
  if (n_tensors > (c.size - c.pos) / 33)
    return ds_error(DSEEK_ERR_FORMAT, "%s: tensor_count %llu exceeds what the file can hold", g->path,
                    (unsigned long long)n_tensors);

  g->kv = ds_calloc((size_t)(n_kv ? n_kv : 1), sizeof *g->kv);
  g->tensors = ds_calloc((size_t)(n_tensors ? n_tensors : 1), sizeof *g->tensors);
  if (!g->kv || !g->tensors || !index_init(&g->key_index, (int64_t)n_kv) || !index_init(&g->tensor_index, (int64_t)n_tensors))
    return ds_error(DSEEK_ERR_NO_MEMORY, "%s: out of memory", g->path);

  dseek_status st;
  for (uint64_t i = 0; i < n_kv; i++) {
    const uint8_t *s;
    uint64_t n;
    uint32_t type;
    snprintf(what, sizeof what, "key %llu", (unsigned long long)i);
    if (!read_str(&c, &s, &n)) return bad(g, ": name exceeds the file", what, "");
    if (n == 0 || memchr(s, 0, (size_t)n) || !ds_utf8_valid((const char *)s, (size_t)n))
      return bad(g, ": name is empty, holds a NUL byte or is not valid UTF-8", what, "");
    ds_gguf_kv *kv = &g->kv[i];
    kv->key = ds_strndup((const char *)s, (size_t)n);
    if (!kv->key) return ds_error(DSEEK_ERR_NO_MEMORY, "%s: out of memory", g->path);
    g->n_kv = (int64_t)i + 1;
    snprintf(what, sizeof what, "key %llu '%.100s'", (unsigned long long)i, kv->key);
    if (!read_u32(&c, &type)) return bad(g, ": value type truncated", what, "");
    kv->type = (int)type;
    if ((st = read_value(g, &c, kv, what))) return st;
    if (index_insert(&g->key_index, kv->key, (int64_t)i, key_name, g) >= 0) return bad(g, ": duplicate key", what, "");
  }

  g->alignment = DS_GGUF_DEFAULT_ALIGNMENT;
  const ds_gguf_kv *al = ds_gguf_kv_get(g, "general.alignment");
  if (al) {
    if (al->type != DSEEK_GGUF_UINT32)
      return ds_error(DSEEK_ERR_FORMAT, "%s: key 'general.alignment' has type %s, expected uint32", g->path,
                      ds_gguf_type_name(al->type));
    if (al->v.u == 0 || (al->v.u & (al->v.u - 1)))
      return ds_error(DSEEK_ERR_FORMAT, "%s: key 'general.alignment' = %llu is not a power of two", g->path,
                      (unsigned long long)al->v.u);
    g->alignment = al->v.u;
  }

  for (uint64_t i = 0; i < n_tensors; i++) {
    const uint8_t *s;
    uint64_t n;
    uint32_t n_dims, type;
    ds_gguf_tensor *t = &g->tensors[i];
    snprintf(what, sizeof what, "tensor %llu", (unsigned long long)i);
    if (!read_str(&c, &s, &n)) return bad(g, ": name exceeds the file", what, "");
    if (n == 0 || n >= DS_GGUF_MAX_NAME || memchr(s, 0, (size_t)n) || !ds_utf8_valid((const char *)s, (size_t)n))
      return bad(g, ": name is empty, longer than 63 bytes, holds a NUL or is not valid UTF-8", what, "");
    memcpy(t->name, s, (size_t)n);
    t->name[n] = '\0';
    g->n_tensors = (int64_t)i + 1;
    snprintf(what, sizeof what, "tensor %llu '%s'", (unsigned long long)i, t->name);
    if (index_insert(&g->tensor_index, t->name, (int64_t)i, tensor_name, g) >= 0) return bad(g, ": duplicate name", what, "");
    if (!read_u32(&c, &n_dims)) return bad(g, ": n_dims truncated", what, "");
    if (n_dims < 1 || n_dims > DS_GGUF_MAX_DIMS) {
      snprintf(what + strlen(what), sizeof what - strlen(what), ": n_dims = %u (must be 1..4)", n_dims);
      return ds_error(DSEEK_ERR_FORMAT, "%s: %s", g->path, what);
    }
    t->n_dims = (int)n_dims;
    uint64_t elems = 1;
    for (int d = 0; d < DS_GGUF_MAX_DIMS; d++) t->ne[d] = 1;
    for (uint32_t d = 0; d < n_dims; d++) {
      uint64_t ne;
      if (!read_u64(&c, &ne)) return bad(g, ": shape truncated", what, "");
      if (ne == 0 || ne > (uint64_t)INT64_MAX || ds_mul_u64(elems, ne, &elems) || elems > (uint64_t)INT64_MAX)
        return ds_error(DSEEK_ERR_FORMAT, "%s: %s: ne[%u] = %llu is zero or overflows", g->path, what, d,
                        (unsigned long long)ne);
      t->ne[d] = (int64_t)ne;
    }
    if (!read_u32(&c, &type)) return bad(g, ": type truncated", what, "");
    int64_t bs;
    size_t ts;
    if (!ds_type_block_info((int)type, &bs, &ts))
      return ds_error(DSEEK_ERR_FORMAT, "%s: %s: unknown ggml type %u", g->path, what, type);
    t->type = (int)type;
    if (t->ne[0] % bs != 0)
      return ds_error(DSEEK_ERR_FORMAT, "%s: %s: ne[0] = %lld is not a multiple of %s's block size %lld", g->path,
                      what, (long long)t->ne[0], dseek_type_name((int)type), (long long)bs);
    if (ds_mul_u64(elems / (uint64_t)bs, ts, &t->size))
      return ds_error(DSEEK_ERR_FORMAT, "%s: %s: data size overflows", g->path, what);
    if (!read_u64(&c, &t->offset)) return bad(g, ": offset truncated", what, "");
    if (t->offset % g->alignment != 0)
      return ds_error(DSEEK_ERR_FORMAT, "%s: %s: offset %llu is not a multiple of the alignment %llu", g->path, what,
                      (unsigned long long)t->offset, (unsigned long long)g->alignment);
  }

  /* Data section: the first aligned offset after the tensor infos. */
  if (ds_align_u64(c.pos, g->alignment, &g->data_offset))
    return ds_error(DSEEK_ERR_FORMAT, "%s: data offset overflows", g->path);
  if (n_tensors > 0 && g->data_offset > g->file.size)
    return ds_error(DSEEK_ERR_FORMAT, "%s: data section starts at %llu, beyond the file size %llu", g->path,
                    (unsigned long long)g->data_offset, (unsigned long long)g->file.size);
  uint64_t data_size = g->file.size > g->data_offset ? g->file.size - g->data_offset : 0;
  for (int64_t i = 0; i < g->n_tensors; i++) {
    ds_gguf_tensor *t = &g->tensors[i];
    uint64_t end;
    if (ds_add_u64(t->offset, t->size, &end) || end > data_size)
      return ds_error(DSEEK_ERR_FORMAT, "%s: tensor %lld '%s': data [%llu, +%llu) exceeds the data section of %llu bytes",
                      g->path, (long long)i, t->name, (unsigned long long)t->offset, (unsigned long long)t->size,
                      (unsigned long long)data_size);
    t->data = g->file.data + g->data_offset + t->offset;
  }
  /* No two tensors may share bytes. */
  if (g->n_tensors > 1) {
    ds_gguf_tensor **order = ds_malloc((size_t)g->n_tensors * sizeof *order);
    if (!order) return ds_error(DSEEK_ERR_NO_MEMORY, "%s: out of memory", g->path);
    for (int64_t i = 0; i < g->n_tensors; i++) order[i] = &g->tensors[i];
    qsort(order, (size_t)g->n_tensors, sizeof *order, cmp_offset);
    st = DSEEK_OK;
    for (int64_t i = 1; i < g->n_tensors && !st; i++)
      if (order[i - 1]->size && order[i]->size && order[i]->offset < order[i - 1]->offset + order[i - 1]->size)
        st = ds_error(DSEEK_ERR_FORMAT, "%s: tensors '%s' and '%s' overlap", g->path, order[i - 1]->name, order[i]->name);
    ds_free(order);
    if (st) return st;
  }
  return DSEEK_OK;
}

dseek_status ds_gguf_open(const char *path, bool allow_mmap, ds_gguf **out)
{
  return ds_gguf_open_in_set(path, allow_mmap, 0, out);
}

dseek_status ds_gguf_open_in_set(const char *path, bool allow_mmap, uint64_t together, ds_gguf **out)
{
  ds_gguf *g = ds_calloc(1, sizeof *g);
  if (!g) return ds_error(DSEEK_ERR_NO_MEMORY, "%s: out of memory", path);
  g->n_shards = 1;
  g->path = ds_strndup(path, strlen(path));
  dseek_status st = g->path ? ds_file_open_in_set(path, allow_mmap, together, &g->file)
                            : ds_error(DSEEK_ERR_NO_MEMORY, "%s: out of memory", path);
  if (!st) st = parse(g);
  if (st) {
    ds_gguf_close(g);
    return st;
  }
  *out = g;
  return DSEEK_OK;
}

void ds_gguf_close(ds_gguf *g)
{
  if (!g) return;
  for (int64_t i = 0; i < g->n_kv; i++) {
    ds_gguf_kv *kv = &g->kv[i];
    ds_free(kv->key);
    if (kv->type == DSEEK_GGUF_STRING) ds_free(kv->v.str.s);
    if (kv->type == DSEEK_GGUF_ARRAY) { ds_free(kv->v.arr.strs); ds_free(kv->v.arr.offs); }
  }
  for (int i = 1; g->shards && i < g->n_shards; i++) ds_gguf_close(g->shards[i]);
  ds_free(g->shards);
  ds_free(g->kv);
  ds_free(g->tensors);
  ds_free(g->key_index.slots);
  ds_free(g->tensor_index.slots);
  ds_file_close(&g->file);
  ds_free(g->path);
  ds_free(g);
}

dseek_status ds_gguf_set_tensors(ds_gguf *g, ds_gguf_tensor *tensors, int64_t n)
{
  ds_gguf_index ix = {0};
  if (!index_init(&ix, n)) {
    ds_free(tensors);
    return ds_error(DSEEK_ERR_NO_MEMORY, "%s: out of memory", g->path);
  }
  ds_free(g->tensors);
  ds_free(g->tensor_index.slots);
  g->tensors = tensors;
  g->n_tensors = n;
  g->tensor_index = ix;
  for (int64_t i = 0; i < n; i++) {
    int64_t j = index_insert(&g->tensor_index, tensors[i].name, i, tensor_name, g);
    if (j >= 0)
      return ds_error(DSEEK_ERR_FORMAT, "%s: tensor '%s' is in shard %d and again in shard %d (each tensor of a "
                      "split model must be in exactly one shard)", g->path, tensors[i].name, tensors[j].shard + 1,
                      tensors[i].shard + 1);
  }
  return DSEEK_OK;
}

int64_t ds_gguf_find_key(const ds_gguf *g, const char *key) { return key ? index_find(&g->key_index, key, key_name, g) : -1; }
int64_t ds_gguf_find_tensor(const ds_gguf *g, const char *name) { return name ? index_find(&g->tensor_index, name, tensor_name, g) : -1; }

const ds_gguf_kv *ds_gguf_kv_get(const ds_gguf *g, const char *key)
{
  int64_t i = ds_gguf_find_key(g, key);
  return i < 0 ? NULL : &g->kv[i];
}

const ds_gguf_tensor *ds_gguf_tensor_get(const ds_gguf *g, const char *name)
{
  int64_t i = ds_gguf_find_tensor(g, name);
  return i < 0 ? NULL : &g->tensors[i];
}
