/*
 * test_gguf.c — the GGUF reader: a file with every value type read back through
 * the public API (v2 and v3, mapped and read), a corpus of malformed files
 * derived from it (each with its expected message), truncation at every byte,
 * random corruption, and defects built with gguf_writer (llama.cpp's real
 * vocab files are read by test_gguf_vocab.c).
 */
#include "dseek.h"
#include "gguf_writer.h"
#include "harness.h"

#include <stdint.h>

#define COUNT(a) (sizeof(a) / sizeof((a)[0]))
#include <stdlib.h>
#include <unistd.h>

/* ---- a small GGUF writer that remembers where each field is ---------------- */

typedef struct wbuf { uint8_t *p; size_t n, cap; } wbuf;

static void put(wbuf *b, const void *d, size_t n)
{
  if (b->n + n > b->cap) { b->cap = (b->n + n) * 2 + 64; b->p = realloc(b->p, b->cap); }
  memcpy(b->p + b->n, d, n);
  b->n += n;
}
static void u32(wbuf *b, uint32_t v) { uint8_t x[4]; for (int i = 0; i < 4; i++) x[i] = (uint8_t)(v >> 8 * i); put(b, x, 4); }
static void u64(wbuf *b, uint64_t v) { uint8_t x[8]; for (int i = 0; i < 8; i++) x[i] = (uint8_t)(v >> 8 * i); put(b, x, 8); }
static void str(wbuf *b, const char *s) { u64(b, strlen(s)); put(b, s, strlen(s)); }
static void f32(wbuf *b, float f) { uint32_t v; memcpy(&v, &f, 4); u32(b, v); }
static void pad(wbuf *b, size_t a) { uint8_t z = 0; while (b->n % a) put(b, &z, 1); }

/* Offsets of interesting fields in the valid file. */
typedef struct layout {
  size_t version, n_tensors, n_kv, key0_len, key0_name, key_i8_name, type_u16, bool_val, align_type, align_val,
      str_len, arr_str_count, arr_i32_type, arr_i32_count, nested_inner_type, t0_name_len, t1_name, t0_ndims,
      t0_ne0, t1_ne0, t0_type, t1_type, t1_offset, t2_offset;
} layout;

static wbuf make_valid(uint32_t version, layout *L)
{
  wbuf b = {0};
  put(&b, "GGUF", 4);
  L->version = b.n; u32(&b, version);
  L->n_tensors = b.n; u64(&b, 3);
  L->n_kv = b.n; u64(&b, 18);
  L->key0_len = b.n; u64(&b, 20); L->key0_name = b.n; put(&b, "general.architecture", 20);
  u32(&b, 8); str(&b, "llama");
  str(&b, "general.alignment"); L->align_type = b.n; u32(&b, 4); L->align_val = b.n; u32(&b, 32);
  str(&b, "k.u8"); u32(&b, 0); put(&b, "\xC8", 1);
  u64(&b, 4); L->key_i8_name = b.n; put(&b, "k.i8", 4); u32(&b, 1); put(&b, "\xFB", 1);
  str(&b, "k.u16"); L->type_u16 = b.n; u32(&b, 2); put(&b, "\x34\x12", 2);
  str(&b, "k.i16"); u32(&b, 3); put(&b, "\xFE\xFF", 2);
  str(&b, "k.u32"); u32(&b, 4); u32(&b, 4000000000u);
  str(&b, "k.i32"); u32(&b, 5); u32(&b, (uint32_t)-7);
  str(&b, "k.f32"); u32(&b, 6); f32(&b, 1.5f);
  str(&b, "k.bool"); u32(&b, 7); L->bool_val = b.n; put(&b, "\x01", 1);
  str(&b, "k.u64"); u32(&b, 10); u64(&b, (uint64_t)1 << 40);
  str(&b, "k.u64max"); u32(&b, 10); u64(&b, UINT64_MAX);
  str(&b, "k.i64"); u32(&b, 11); u64(&b, (uint64_t)-3);
  str(&b, "k.f64"); u32(&b, 12); { double d = 2.25; uint64_t v; memcpy(&v, &d, 8); u64(&b, v); }
  str(&b, "k.str"); u32(&b, 8); L->str_len = b.n; str(&b, "h\xC3\xA9llo");
  str(&b, "k.arr_i32"); u32(&b, 9); L->arr_i32_type = b.n; u32(&b, 5); L->arr_i32_count = b.n; u64(&b, 3);
  u32(&b, 1); u32(&b, (uint32_t)-2); u32(&b, 3);
  str(&b, "k.arr_str"); u32(&b, 9); u32(&b, 8); L->arr_str_count = b.n; u64(&b, 3); str(&b, "a"); str(&b, ""); str(&b, "z\xC3\xA9");
  str(&b, "k.arr_nested"); u32(&b, 9); u32(&b, 9); u64(&b, 2);
  L->nested_inner_type = b.n; u32(&b, 0); u64(&b, 2); put(&b, "\x01\x02", 2);
  u32(&b, 8); u64(&b, 1); str(&b, "x");
  /* tensors: names of equal length so one can be patched into another */
  L->t0_name_len = b.n; str(&b, "t.a32");
  L->t0_ndims = b.n; u32(&b, 2); L->t0_ne0 = b.n; u64(&b, 4); u64(&b, 2); L->t0_type = b.n; u32(&b, 0); u64(&b, 0);
  u64(&b, 5); L->t1_name = b.n; put(&b, "t.q80", 5);
  u32(&b, 1); L->t1_ne0 = b.n; u64(&b, 32); L->t1_type = b.n; u32(&b, 8); L->t1_offset = b.n; u64(&b, 32);
  str(&b, "t.f16"); u32(&b, 1); u64(&b, 3); u32(&b, 1); L->t2_offset = b.n; u64(&b, 96);
  pad(&b, 32);
  for (int i = 0; i < 102; i++) { uint8_t v = (uint8_t)i; put(&b, &v, 1); }
  pad(&b, 32);
  return b;
}

static char tmpdir[64];

static const char *write_tmp(const char *name, const uint8_t *p, size_t n)
{
  static char path[256];
  snprintf(path, sizeof path, "%s/%s", tmpdir, name);
  FILE *f = fopen(path, "wb");
  if (n) fwrite(p, 1, n, f);
  fclose(f);
  return path;
}

/* ---- reading back ---------------------------------------------------------- */

static void check_valid(uint32_t version, unsigned flags)
{
  layout L;
  wbuf b = make_valid(version, &L);
  dseek_gguf *g = NULL;
  const char *path = write_tmp("valid.gguf", b.p, b.n);
  CHECK_EQ_INT(dseek_gguf_open(path, flags, &g), DSEEK_OK);
  free(b.p);
  if (!g) { fprintf(stderr, "%s\n", dseek_last_error()); return; }
  CHECK_EQ_INT(dseek_gguf_version(g), version);
  CHECK_EQ_INT(dseek_gguf_alignment(g), 32);
  CHECK_EQ_INT(dseek_gguf_key_count(g), 18);
  CHECK_EQ_INT(dseek_gguf_tensor_count(g), 3);
  CHECK_STR(dseek_gguf_key_name(g, 0), "general.architecture");
  CHECK(dseek_gguf_key_name(g, 18) == NULL && dseek_gguf_key_name(g, -1) == NULL);
  int64_t v;
  double d;
  int bl;
  const char *s;
  size_t len;
  struct { const char *key; int64_t want; } ints[] = {
    {"k.u8", 200}, {"k.i8", -5}, {"k.u16", 0x1234}, {"k.i16", -2}, {"k.u32", 4000000000ll},
    {"k.i32", -7}, {"k.u64", (int64_t)1 << 40}, {"k.i64", -3}, {"k.bool", 1}};
  for (size_t i = 0; i < COUNT(ints); i++) {
    int64_t k = dseek_gguf_find_key(g, ints[i].key);
    CHECK_MSG(k >= 0 && dseek_gguf_get_int(g, k, &v) == DSEEK_OK && v == ints[i].want, "%s", ints[i].key);
  }
  int64_t k = dseek_gguf_find_key(g, "k.u64max");
  CHECK_EQ_INT(dseek_gguf_get_int(g, k, &v), DSEEK_ERR_TYPE);
  CHECK_EQ_INT(dseek_gguf_get_float(g, k, &d), DSEEK_OK);
  CHECK(d == 18446744073709551615.0);
  CHECK_EQ_INT(dseek_gguf_get_float(g, dseek_gguf_find_key(g, "k.f32"), &d), DSEEK_OK);
  CHECK(d == 1.5);
  CHECK_EQ_INT(dseek_gguf_get_float(g, dseek_gguf_find_key(g, "k.f64"), &d), DSEEK_OK);
  CHECK(d == 2.25);
  CHECK_EQ_INT(dseek_gguf_get_float(g, dseek_gguf_find_key(g, "k.i32"), &d), DSEEK_OK);
  CHECK(d == -7);
  CHECK_EQ_INT(dseek_gguf_get_bool(g, dseek_gguf_find_key(g, "k.bool"), &bl), DSEEK_OK);
  CHECK_EQ_INT(bl, 1);
  CHECK_EQ_INT(dseek_gguf_get_bool(g, dseek_gguf_find_key(g, "k.u8"), &bl), DSEEK_ERR_TYPE);
  CHECK_EQ_INT(dseek_gguf_get_string(g, dseek_gguf_find_key(g, "k.str"), &s, &len), DSEEK_OK);
  CHECK_STR(s, "h\xC3\xA9llo");
  CHECK_EQ_INT(len, 6);
  CHECK_EQ_INT(dseek_gguf_get_string(g, dseek_gguf_find_key(g, "k.f32"), &s, &len), DSEEK_ERR_TYPE);
  CHECK(strstr(dseek_last_error(), "k.f32") != NULL);
  CHECK_EQ_INT(dseek_gguf_get_int(g, dseek_gguf_find_key(g, "k.str"), &v), DSEEK_ERR_TYPE);
  CHECK_EQ_INT(dseek_gguf_find_key(g, "missing"), -1);
  /* arrays */
  k = dseek_gguf_find_key(g, "k.arr_i32");
  CHECK_EQ_INT(dseek_gguf_key_type(g, k), DSEEK_GGUF_ARRAY);
  CHECK_EQ_INT(dseek_gguf_array_type(g, k), DSEEK_GGUF_INT32);
  CHECK_EQ_INT(dseek_gguf_array_length(g, k), 3);
  CHECK(dseek_gguf_get_array_int(g, k, 1, &v) == DSEEK_OK && v == -2);
  CHECK(dseek_gguf_get_array_float(g, k, 2, &d) == DSEEK_OK && d == 3);
  CHECK_EQ_INT(dseek_gguf_get_array_int(g, k, 3, &v), DSEEK_ERR_INVALID_ARG);
  CHECK_EQ_INT(dseek_gguf_get_array_string(g, k, 0, &s, &len), DSEEK_ERR_TYPE);
  k = dseek_gguf_find_key(g, "k.arr_str");
  CHECK(dseek_gguf_get_array_string(g, k, 0, &s, &len) == DSEEK_OK && !strcmp(s, "a") && len == 1);
  CHECK(dseek_gguf_get_array_string(g, k, 1, &s, &len) == DSEEK_OK && !strcmp(s, "") && len == 0);
  CHECK(dseek_gguf_get_array_string(g, k, 2, &s, &len) == DSEEK_OK && !strcmp(s, "z\xC3\xA9") && len == 3);
  k = dseek_gguf_find_key(g, "k.arr_nested");
  CHECK_EQ_INT(dseek_gguf_array_type(g, k), DSEEK_GGUF_ARRAY);
  CHECK_EQ_INT(dseek_gguf_get_array_int(g, k, 0, &v), DSEEK_ERR_TYPE);
  CHECK_EQ_INT(dseek_gguf_array_type(g, dseek_gguf_find_key(g, "k.u8")), -1);
  /* tensors */
  dseek_tensor_info ti = {.struct_size = sizeof ti};
  int64_t t = dseek_gguf_find_tensor(g, "t.q80");
  CHECK_EQ_INT(t, 1);
  CHECK_EQ_INT(dseek_gguf_tensor_info(g, t, &ti), DSEEK_OK);
  CHECK_STR(ti.name, "t.q80");
  CHECK(ti.type == DSEEK_TYPE_Q8_0 && ti.n_dims == 1 && ti.ne[0] == 32 && ti.ne[1] == 1 && ti.offset == 32 && ti.size == 34);
  CHECK(ti.data && ((const uint8_t *)ti.data)[0] == 32);
  CHECK_EQ_INT(dseek_gguf_tensor_info(g, 0, &ti), DSEEK_OK);
  CHECK(ti.ne[0] == 4 && ti.ne[1] == 2 && ti.size == 32 && ((const uint8_t *)ti.data)[31] == 31);
  /* only the fields struct_size covers are written */
  struct { size_t struct_size; const char *name; int type; } small = {sizeof small, NULL, 12345};
  CHECK_EQ_INT(dseek_gguf_tensor_info(g, 2, (dseek_tensor_info *)(void *)&small), DSEEK_OK);
  CHECK_STR(small.name, "t.f16");
  CHECK_EQ_INT(small.type, DSEEK_TYPE_F16);
  dseek_tensor_info tiny = {.struct_size = 4};
  CHECK_EQ_INT(dseek_gguf_tensor_info(g, 0, &tiny), DSEEK_ERR_INVALID_ARG);
  CHECK_EQ_INT(dseek_gguf_tensor_info(g, 3, &ti), DSEEK_ERR_INVALID_ARG);
  CHECK_EQ_INT(dseek_gguf_find_tensor(g, "nope"), -1);
  dseek_gguf_close(g);
}

static void test_valid(void)
{
  check_valid(3, 0);
  check_valid(2, 0);
  check_valid(3, DSEEK_GGUF_NO_MMAP);
}

static void test_arguments(void)
{
  dseek_gguf *g = NULL;
  CHECK_EQ_INT(dseek_gguf_open(NULL, 0, &g), DSEEK_ERR_INVALID_ARG);
  CHECK_EQ_INT(dseek_gguf_open("x", 0, NULL), DSEEK_ERR_INVALID_ARG);
  CHECK_EQ_INT(dseek_gguf_open("x", 0x80, &g), DSEEK_ERR_INVALID_ARG);
  CHECK_EQ_INT(dseek_gguf_open("/nonexistent/x.gguf", 0, &g), DSEEK_ERR_IO);
  CHECK(strstr(dseek_last_error(), "/nonexistent/x.gguf") != NULL);
  CHECK_EQ_INT(dseek_gguf_open(tmpdir, 0, &g), DSEEK_ERR_IO);   /* a directory */
  CHECK_EQ_INT(dseek_gguf_key_count(NULL), -1);
  CHECK_EQ_INT(dseek_gguf_tensor_count(NULL), -1);
  CHECK_EQ_INT(dseek_gguf_version(NULL), 0);
  CHECK_EQ_INT(dseek_gguf_find_key(NULL, "a"), -1);
  int64_t v;
  CHECK_EQ_INT(dseek_gguf_get_int(NULL, 0, &v), DSEEK_ERR_INVALID_ARG);
  dseek_gguf_close(NULL);
}

/* ---- the malformed corpus --------------------------------------------------- */

typedef struct bad {
  const char *name;
  size_t *field;        /* offset in the valid file (NULL: special) */
  int width;            /* bytes to write: 1, 4 or 8; 0 = raw bytes in `raw` */
  uint64_t value;
  const char *raw;
  const char *expect;
} bad;

static void patch(uint8_t *p, const bad *c)
{
  if (c->width == 0) { memcpy(p + *c->field, c->raw, strlen(c->raw)); return; }
  for (int i = 0; i < c->width; i++) p[*c->field + i] = (uint8_t)(c->value >> 8 * i);
}

static void test_malformed_corpus(void)
{
  layout L;
  wbuf b = make_valid(3, &L);
  size_t zero = 0;
  const bad cases[] = {
    {"bad magic", &zero, 0, 0, "GGUX", "bad magic"},
    {"version 1", &L.version, 4, 1, NULL, "version 1"},
    {"version 7", &L.version, 4, 7, NULL, "unknown GGUF version 7"},
    {"big-endian", &L.version, 4, 0x03000000u, NULL, "big-endian"},
    {"tensor_count huge", &L.n_tensors, 8, (uint64_t)1 << 60, NULL, "tensor_count"},
    {"kv_count huge", &L.n_kv, 8, (uint64_t)1 << 59, NULL, "kv_count"},
    {"kv_count one too many", &L.n_kv, 8, 19, NULL, "exceeds the file"},
    {"key length huge", &L.key0_len, 8, (uint64_t)1 << 62, NULL, "key 0: name exceeds the file"},
    {"key length zero", &L.key0_len, 8, 0, NULL, "key 0: name is empty"},
    {"key not UTF-8", &L.key0_name, 1, 0xFF, NULL, "not valid UTF-8"},
    {"key with NUL", &L.key0_name, 1, 0, NULL, "NUL"},
    {"duplicate key", &L.key_i8_name, 0, 0, "k.u8", "duplicate key"},
    {"unknown value type", &L.type_u16, 4, 13, NULL, "unknown value type 13"},
    {"bool value 2", &L.bool_val, 1, 2, NULL, "'k.bool': bool value"},
    {"string length huge", &L.str_len, 8, (uint64_t)1 << 40, NULL, "'k.str': string value exceeds"},
    {"string array count huge", &L.arr_str_count, 8, (uint64_t)1 << 58, NULL, "'k.arr_str': array of"},
    {"string array count past end", &L.arr_str_count, 8, 1000, NULL, "'k.arr_str'"},
    {"array element type 99", &L.arr_i32_type, 4, 99, NULL, "unknown array element type 99"},
    {"numeric array count huge", &L.arr_i32_count, 8, (uint64_t)1 << 61, NULL, "'k.arr_i32': array of"},
    {"nested array inner type", &L.nested_inner_type, 4, 77, NULL, "unknown array element type"},
    {"alignment 0", &L.align_val, 4, 0, NULL, "power of two"},
    {"alignment 48", &L.align_val, 4, 48, NULL, "power of two"},
    {"alignment wrong type", &L.align_type, 4, 5, NULL, "expected uint32"},
    {"tensor name empty", &L.t0_name_len, 8, 0, NULL, "tensor 0: name"},
    {"tensor name too long", &L.t0_name_len, 8, 64, NULL, "tensor 0"},
    {"tensor name huge", &L.t0_name_len, 8, (uint64_t)1 << 63, NULL, "tensor 0: name exceeds"},
    {"duplicate tensor", &L.t1_name, 0, 0, "t.a32", "duplicate name"},
    {"n_dims 0", &L.t0_ndims, 4, 0, NULL, "n_dims = 0"},
    {"n_dims 5", &L.t0_ndims, 4, 5, NULL, "n_dims = 5"},
    {"ne zero", &L.t0_ne0, 8, 0, NULL, "ne[0] = 0"},
    {"ne overflow", &L.t0_ne0, 8, (uint64_t)1 << 63, NULL, "overflows"},
    {"unknown ggml type", &L.t0_type, 4, 99, NULL, "unknown ggml type 99"},
    {"removed ggml type 4", &L.t0_type, 4, 4, NULL, "unknown ggml type 4"},
    {"row not whole blocks", &L.t1_ne0, 8, 33, NULL, "block size"},
    {"offset unaligned", &L.t1_offset, 8, 33, NULL, "multiple of the alignment"},
    {"offset past the data", &L.t1_offset, 8, 1 << 20, NULL, "exceeds the data section"},
    {"offset + size overflows", &L.t2_offset, 8, UINT64_MAX - 31, NULL, "exceeds the data section"},
    {"tensors overlap", &L.t1_offset, 8, 0, NULL, "overlap"},
    {"type grows the data", &L.t1_type, 4, 0, NULL, "exceeds the data section"},
  };
  int n = 0;
  for (size_t i = 0; i < COUNT(cases); i++) {
    uint8_t *p = malloc(b.n);
    memcpy(p, b.p, b.n);
    patch(p, &cases[i]);
    const char *path = write_tmp("bad.gguf", p, b.n);
    dseek_gguf *g = NULL;
    dseek_status st = dseek_gguf_open(path, 0, &g);
    CHECK_MSG(st == DSEEK_ERR_FORMAT, "%s: status %d", cases[i].name, (int)st);
    CHECK_MSG(strstr(dseek_last_error(), cases[i].expect) != NULL, "%s: message '%s' lacks '%s'", cases[i].name,
              dseek_last_error(), cases[i].expect);
    CHECK_MSG(strstr(dseek_last_error(), "bad.gguf") != NULL, "%s: file not named", cases[i].name);
    CHECK(g == NULL);
    dseek_gguf_close(g);
    free(p);
    n++;
  }
  /* the data section cut short, and an empty file */
  const char *path = write_tmp("short.gguf", b.p, b.n - 40);
  dseek_gguf *g = NULL;
  CHECK_EQ_INT(dseek_gguf_open(path, 0, &g), DSEEK_ERR_FORMAT);
  CHECK(strstr(dseek_last_error(), "exceeds the data section") != NULL);
  path = write_tmp("empty.gguf", b.p, 0);
  CHECK_EQ_INT(dseek_gguf_open(path, DSEEK_GGUF_NO_MMAP, &g), DSEEK_ERR_FORMAT);
  n += 2;
  fprintf(stderr, "malformed corpus: %d files, each with its expected error\n", n);
  CHECK(n >= 30);
  free(b.p);
}

/* Truncation at every byte: always a format error, never a crash. */
static void test_truncation(void)
{
  layout L;
  wbuf b = make_valid(3, &L);
  int failures = 0;
  for (size_t cut = 0; cut < b.n - 32; cut++) {   /* the last 32 bytes are padding after the data */
    const char *path = write_tmp("cut.gguf", b.p, cut);
    dseek_gguf *g = NULL;
    dseek_status st = dseek_gguf_open(path, cut % 2 ? DSEEK_GGUF_NO_MMAP : 0, &g);
    if (st != DSEEK_ERR_FORMAT) { failures++; fprintf(stderr, "cut at %zu: status %d\n", cut, (int)st); }
    dseek_gguf_close(g);
  }
  CHECK_EQ_INT(failures, 0);
  free(b.p);
}

/* Random corruption: any status is acceptable, but no crash, and a file
 * that opens must have consistent tensors. */
static void test_random_corruption(void)
{
  layout L;
  wbuf b = make_valid(3, &L);
  srand(1234);
  int opened = 0;
  for (int iter = 0; iter < 3000; iter++) {
    uint8_t *p = malloc(b.n);
    memcpy(p, b.p, b.n);
    int flips = 1 + rand() % 4;
    for (int k = 0; k < flips; k++) p[rand() % (int)b.n] = (uint8_t)rand();
    const char *path = write_tmp("rand.gguf", p, b.n);
    dseek_gguf *g = NULL;
    if (dseek_gguf_open(path, 0, &g) == DSEEK_OK) {
      opened++;
      for (int64_t t = 0; t < dseek_gguf_tensor_count(g); t++) {
        dseek_tensor_info ti = {.struct_size = sizeof ti};
        CHECK(dseek_gguf_tensor_info(g, t, &ti) == DSEEK_OK);
        volatile uint8_t sink = 0;
        for (uint64_t i = 0; i < ti.size; i++) sink ^= ((const uint8_t *)ti.data)[i];   /* in bounds (ASan checks) */
        (void)sink;
      }
      dseek_gguf_close(g);
    }
    free(p);
  }
  fprintf(stderr, "random corruption: 3000 files, %d still valid\n", opened);
  free(b.p);
}

/* Defects built with gguf_writer: values the fixed layout above cannot hold. */
static void expect_format(const gguf_writer *w, const char *name, const char *expect)
{
  const char *path = NULL;
  size_t n;
  uint8_t *p = gw_serialize(w, &n);
  path = write_tmp("built.gguf", p, n);
  free(p);
  for (unsigned flags = 0; flags <= DSEEK_GGUF_NO_MMAP; flags++) {
    dseek_gguf *g = NULL;
    dseek_status st = dseek_gguf_open(path, flags, &g);
    CHECK_MSG(st == DSEEK_ERR_FORMAT, "%s: status %d", name, (int)st);
    CHECK_MSG(strstr(dseek_last_error(), expect) != NULL, "%s: message '%s' lacks '%s'", name, dseek_last_error(),
              expect);
    CHECK(g == NULL);
  }
}

static void test_built_corpus(void)
{
  int n = 0;
  gguf_writer *w = gw_create(3);
  gw_add_array(w, "a.bool", DSEEK_GGUF_BOOL, 3, "\x01\x00\x02");
  expect_format(w, "bool array element 2", "'a.bool': bool element 2 is 2");
  gw_free(w), n++;

  wbuf v = {0};   /* [[true, 7]] */
  u32(&v, 9); u64(&v, 1); u32(&v, 7); u64(&v, 2); put(&v, "\x01\x07", 2);
  w = gw_create(3);
  gw_add_raw(w, "a.nested_bool", 9, v.p, v.n);
  expect_format(w, "nested bool element 7", "bool element 1 is 7");
  gw_free(w), n++;

  v.n = 0;   /* [[[[[[[[[[[]]]]]]]]]]]: arrays nested 11 deep */
  for (int d = 0; d < 10; d++) { u32(&v, 9); u64(&v, 1); }
  u32(&v, 0); u64(&v, 0);
  w = gw_create(3);
  gw_add_raw(w, "a.deep", 9, v.p, v.n);
  expect_format(w, "arrays nested too deeply", "'a.deep': arrays nested too deeply");
  gw_free(w), n++;
  free(v.p);

  w = gw_create(3);
  gw_add_u64(w, "general.alignment", 64);
  expect_format(w, "alignment as uint64", "'general.alignment' has type uint64, expected uint32");
  gw_free(w), n++;

  w = gw_create(0x02000000u);
  expect_format(w, "big-endian v2", "big-endian GGUF is not supported");
  gw_free(w), n++;

  w = gw_create(0);
  expect_format(w, "version 0", "unknown GGUF version 0");
  gw_free(w), n++;

  w = gw_create(3);   /* tensor infos, then the file ends where the data should start */
  gw_add_string(w, "general.name", "x");
  gw_add_tensor(w, "t", DSEEK_TYPE_F32, 1, (int64_t[]){8}, NULL, 32);
  {
    size_t size;
    uint8_t *p = gw_serialize(w, &size);
    const char *path = write_tmp("nodata.gguf", p, size - 32);
    dseek_gguf *g = NULL;
    CHECK_EQ_INT(dseek_gguf_open(path, 0, &g), DSEEK_ERR_FORMAT);
    CHECK(strstr(dseek_last_error(), "tensor 0 't': data [0, +32) exceeds the data section of 0 bytes") != NULL);
    free(p);
  }
  gw_free(w), n++;

  w = gw_create(3);   /* a 63-byte name is the longest allowed */
  char name[65];
  memset(name, 'n', 64);
  name[63] = 0;
  gw_add_tensor(w, name, DSEEK_TYPE_F32, 1, (int64_t[]){1}, NULL, 4);
  name[63] = 'n', name[64] = 0;
  gw_add_tensor(w, name, DSEEK_TYPE_F32, 1, (int64_t[]){1}, NULL, 4);
  expect_format(w, "64-byte tensor name", "tensor 1: name is empty, longer than 63 bytes");
  gw_free(w), n++;

  w = gw_create(3);
  gw_add_tensor(w, "q4k", DSEEK_TYPE_Q4_K, 2, (int64_t[]){128, 2}, NULL, 144);
  expect_format(w, "Q4_K row of half a block", "ne[0] = 128 is not a multiple of Q4_K's block size 256");
  gw_free(w), n++;

  w = gw_create(3);
  gw_add_tensor(w, "big", DSEEK_TYPE_F32, 4, (int64_t[]){1 << 20, 1 << 20, 1 << 20, 1 << 20}, NULL, 4);
  expect_format(w, "element count overflow", "ne[3] = 1048576 is zero or overflows");
  gw_free(w), n++;

  w = gw_create(3);
  gw_add_tensor(w, "f64", DSEEK_TYPE_F64, 3, (int64_t[]){(int64_t)1 << 30, (int64_t)1 << 30, 4}, NULL, 4);
  expect_format(w, "byte size overflow", "'f64': data size overflows");
  gw_free(w), n++;

  fprintf(stderr, "built corpus: %d files, each with its expected error\n", n);
}

int main(void)
{
  snprintf(tmpdir, sizeof tmpdir, "/tmp/dseek-gguf-XXXXXX");
  if (!mkdtemp(tmpdir)) return 1;
  RUN(test_valid);
  RUN(test_arguments);
  RUN(test_malformed_corpus);
  RUN(test_truncation);
  RUN(test_random_corruption);
  RUN(test_built_corpus);
  if (ds_test_rmtree(tmpdir) != 0) return 1;
  return DS_TEST_RESULT();
}
