/*
 * test_gguf_roundtrip.c — files built with gguf_writer read back through the
 * internal API (formats/gguf.h) and the public one: every value type at its
 * limits, arrays of every element type, string arrays with empty, NUL-holding
 * and non-UTF-8 strings, nested arrays, alignments 1..4096, v2 and v3, mapped
 * and read, tensors of plain, quantized and IQ types with their data; the
 * loaders' getters and their messages; many keys and tensors (O(1) lookups);
 * and, in a -Dfailpoints=true build, allocation failure at every step of open.
 */
#include "formats/gguf.h"
#include "gguf_writer.h"
#include "harness.h"

#include <float.h>
#include <stdlib.h>
#include <unistd.h>

static char tmpdir[64];

static const char *tmp_path(const char *name)
{
  static char path[256];
  snprintf(path, sizeof path, "%s/%s", tmpdir, name);
  return path;
}

/* Tensor bytes: a pattern that differs per tensor, so a wrong data pointer shows. */
static void fill(uint8_t *p, size_t n, int seed)
{
  for (size_t i = 0; i < n; i++) p[i] = (uint8_t)(i * 7 + (size_t)seed * 31 + 1);
}

static const struct { const char *name; int type; int n_dims; int64_t ne[4]; size_t size; } tensors[] = {
  {"token_embd.weight", DSEEK_TYPE_F32, 2, {3, 5}, 3 * 5 * 4},
  {"blk.0.attn_q.weight", DSEEK_TYPE_Q8_0, 2, {64, 3}, 2 * 3 * 34},
  {"blk.0.ffn_up.weight", DSEEK_TYPE_Q4_K, 3, {256, 2, 2}, 4 * 144},
  {"blk.0.iq", 16 /* IQ2_XXS: a quantized type the writer copies as bytes */, 1, {256}, 66},
  {"output_norm.weight", DSEEK_TYPE_BF16, 4, {2, 1, 3, 1}, 6 * 2},
  {"t.i8", DSEEK_TYPE_I8, 1, {1}, 1},
};

static gguf_writer *build(uint32_t version, uint32_t alignment)
{
  gguf_writer *w = gw_create(version);
  gw_add_string(w, "general.architecture", "qwen2");
  if (alignment) gw_set_alignment(w, alignment);
  gw_add_u8(w, "v.u8", 255);
  gw_add_i8(w, "v.i8", -128);
  gw_add_u16(w, "v.u16", 65535);
  gw_add_i16(w, "v.i16", -32768);
  gw_add_u32(w, "v.u32", 4294967295u);
  gw_add_i32(w, "v.i32", INT32_MIN);
  gw_add_f32(w, "v.f32", -0.15625f);
  gw_add_bool(w, "v.true", true);
  gw_add_bool(w, "v.false", false);
  gw_add_u64(w, "v.u64", (uint64_t)INT64_MAX);
  gw_add_u64(w, "v.u64big", (uint64_t)INT64_MAX + 1);
  gw_add_i64(w, "v.i64", INT64_MIN);
  gw_add_f64(w, "v.f64", DBL_MAX);
  gw_add_f32(w, "v.f32inf", INFINITY);
  gw_add_string(w, "v.str", "caf\xC3\xA9");
  gw_add_string(w, "v.empty", "");
  gw_add_string_n(w, "v.nul", "a\0b", 3);
  gw_add_string_n(w, "v.latin1", "\xFF\xFE", 2);   /* not UTF-8: kept as bytes */

  uint8_t u8s[] = {0, 7, 255};
  int8_t i8s[] = {-128, 0, 127};
  uint16_t u16s[] = {1, 65535};
  int16_t i16s[] = {-32768, 32767};
  uint32_t u32s[] = {0, 4294967295u};
  int32_t i32s[] = {1, 3, 4, 3, 3};   /* token types: normal, control, user-defined */
  float f32s[] = {0.5f, -2.0f, 1e-30f};
  uint8_t bools[] = {1, 0, 1};
  uint64_t u64s[] = {(uint64_t)1 << 63, 5};
  int64_t i64s[] = {INT64_MIN, INT64_MAX};
  double f64s[] = {0.1, -1e300};
  gw_add_array(w, "a.u8", DSEEK_GGUF_UINT8, 3, u8s);
  gw_add_array(w, "a.i8", DSEEK_GGUF_INT8, 3, i8s);
  gw_add_array(w, "a.u16", DSEEK_GGUF_UINT16, 2, u16s);
  gw_add_array(w, "a.i16", DSEEK_GGUF_INT16, 2, i16s);
  gw_add_array(w, "a.u32", DSEEK_GGUF_UINT32, 2, u32s);
  gw_add_array(w, "a.i32", DSEEK_GGUF_INT32, 5, i32s);
  gw_add_array(w, "a.f32", DSEEK_GGUF_FLOAT32, 3, f32s);
  gw_add_array(w, "a.bool", DSEEK_GGUF_BOOL, 3, bools);
  gw_add_array(w, "a.u64", DSEEK_GGUF_UINT64, 2, u64s);
  gw_add_array(w, "a.i64", DSEEK_GGUF_INT64, 2, i64s);
  gw_add_array(w, "a.f64", DSEEK_GGUF_FLOAT64, 2, f64s);
  gw_add_array(w, "a.none", DSEEK_GGUF_INT32, 0, i32s);
  const char *strs[] = {"Ġthe", "", "x\0y", "\xC3", "Ġ Ġ"};
  size_t lens[] = {5, 0, 3, 1, 5};
  gw_add_string_array(w, "a.str", 5, strs, lens);

  /* [[1, 2], ["hi"], [[]]]: an array of arrays, the last one nested once more */
  gw_bytes nested = {0};
  gw_put_u32(&nested, DSEEK_GGUF_ARRAY);
  gw_put_u64(&nested, 3);
  gw_put_u32(&nested, DSEEK_GGUF_UINT16); gw_put_u64(&nested, 2); gw_put(&nested, "\x01\x00\x02\x00", 4);
  gw_put_u32(&nested, DSEEK_GGUF_STRING); gw_put_u64(&nested, 1); gw_put_str(&nested, "hi", 2);
  gw_put_u32(&nested, DSEEK_GGUF_ARRAY); gw_put_u64(&nested, 1);
  gw_put_u32(&nested, DSEEK_GGUF_INT8); gw_put_u64(&nested, 0);
  gw_add_raw(w, "a.nested", DSEEK_GGUF_ARRAY, nested.p, nested.n);
  free(nested.p);

  for (size_t i = 0; i < DS_ARRAY_LEN(tensors); i++) {
    uint8_t *data = malloc(tensors[i].size);
    fill(data, tensors[i].size, (int)i);
    gw_add_tensor(w, tensors[i].name, tensors[i].type, tensors[i].n_dims, tensors[i].ne, data, tensors[i].size);
    free(data);
  }
  return w;
}

static void check_internal(const ds_gguf *g, uint32_t version, uint64_t alignment)
{
  CHECK_EQ_INT(g->version, version);
  CHECK_EQ_INT(g->alignment, alignment);
  CHECK_EQ_INT(g->n_tensors, (int64_t)DS_ARRAY_LEN(tensors));
  CHECK_EQ_INT(g->data_offset % alignment, 0);

  const ds_gguf_kv *kv = ds_gguf_kv_get(g, "v.i8");
  CHECK(kv && kv->type == DSEEK_GGUF_INT8 && kv->v.i == -128);
  kv = ds_gguf_kv_get(g, "v.u64big");
  CHECK(kv && kv->type == DSEEK_GGUF_UINT64 && kv->v.u == (uint64_t)INT64_MAX + 1);
  kv = ds_gguf_kv_get(g, "v.nul");
  CHECK(kv && kv->v.str.len == 3 && memcmp(kv->v.str.s, "a\0b", 4) == 0);   /* NUL-terminated too */
  kv = ds_gguf_kv_get(g, "v.latin1");
  CHECK(kv && kv->v.str.len == 2 && memcmp(kv->v.str.s, "\xFF\xFE", 3) == 0);
  CHECK(ds_gguf_kv_get(g, "v.missing") == NULL);

  const ds_gguf_array *a = NULL;
  CHECK_EQ_INT(ds_gguf_get_array(g, "a.str", DS_GGUF_ARRAY_STRING, &a, true), DSEEK_OK);
  if (a) {
    static const char *const want[] = {"Ġthe", "", "x\0y", "\xC3", "Ġ Ġ"};
    static const size_t want_len[] = {5, 0, 3, 1, 5};
    CHECK_EQ_INT(a->count, 5);
    for (uint64_t i = 0; i < 5; i++) {
      size_t len = 99;
      const char *s = ds_gguf_array_str(a, i, &len);
      CHECK_MSG(len == want_len[i] && memcmp(s, want[i], len + 1) == 0, "string %d", (int)i);
    }
  }
  int64_t v;
  double d;
  a = NULL;
  CHECK_EQ_INT(ds_gguf_get_array(g, "a.i64", DS_GGUF_ARRAY_INT, &a, true), DSEEK_OK);
  CHECK(a && ds_gguf_array_int(a, 0, &v) && v == INT64_MIN);
  CHECK(a && ds_gguf_array_int(a, 1, &v) && v == INT64_MAX);
  CHECK(a && !ds_gguf_array_int(a, 2, &v));   /* past the end */
  CHECK_EQ_INT(ds_gguf_get_array(g, "a.u64", DS_GGUF_ARRAY_INT, &a, true), DSEEK_OK);
  CHECK(!ds_gguf_array_int(a, 0, &v));        /* 2^63 does not fit */
  CHECK(ds_gguf_array_float(a, 0, &d) && d == 9223372036854775808.0);
  CHECK(ds_gguf_array_int(a, 1, &v) && v == 5);
  CHECK_EQ_INT(ds_gguf_get_array(g, "a.bool", DS_GGUF_ARRAY_INT, &a, true), DSEEK_OK);
  CHECK(ds_gguf_array_int(a, 0, &v) && v == 1 && ds_gguf_array_int(a, 1, &v) && v == 0);
  CHECK_EQ_INT(ds_gguf_get_array(g, "a.f32", DS_GGUF_ARRAY_NUMBER, &a, true), DSEEK_OK);
  CHECK(ds_gguf_array_float(a, 1, &d) && d == -2.0);
  CHECK(ds_gguf_array_float(a, 2, &d) && d == (double)1e-30f);
  CHECK_EQ_INT(ds_gguf_get_array(g, "a.f64", DS_GGUF_ARRAY_NUMBER, &a, true), DSEEK_OK);
  CHECK(ds_gguf_array_float(a, 1, &d) && d == -1e300);
  CHECK_EQ_INT(ds_gguf_get_array(g, "a.i16", DS_GGUF_ARRAY_NUMBER, &a, true), DSEEK_OK);
  CHECK(ds_gguf_array_float(a, 0, &d) && d == -32768.0);
  CHECK_EQ_INT(ds_gguf_get_array(g, "a.none", DS_GGUF_ARRAY_INT, &a, true), DSEEK_OK);
  CHECK(a && a->count == 0);

  /* tensors: geometry, sizes, alignment, and the data bytes themselves */
  for (size_t i = 0; i < DS_ARRAY_LEN(tensors); i++) {
    const ds_gguf_tensor *t = ds_gguf_tensor_get(g, tensors[i].name);
    CHECK_MSG(t != NULL, "%s", tensors[i].name);
    if (!t) continue;
    CHECK_EQ_INT(t - g->tensors, (int64_t)i);
    CHECK_EQ_INT(t->type, tensors[i].type);
    CHECK_EQ_INT(t->n_dims, tensors[i].n_dims);
    for (int dim = 0; dim < 4; dim++)
      CHECK_EQ_INT(t->ne[dim], dim < tensors[i].n_dims ? tensors[i].ne[dim] : 1);
    CHECK_EQ_INT(t->size, tensors[i].size);
    CHECK_EQ_INT(t->offset % alignment, 0);
    CHECK(t->data == g->file.data + g->data_offset + t->offset);
    uint8_t *want = malloc(tensors[i].size);
    fill(want, tensors[i].size, (int)i);
    CHECK_MSG(memcmp(t->data, want, tensors[i].size) == 0, "%s data", tensors[i].name);
    free(want);
  }
  CHECK(ds_gguf_tensor_get(g, "blk.0") == NULL);
}

static void check_public(const dseek_gguf *g)
{
  int64_t v;
  double d;
  int b;
  const char *s;
  size_t len;
  struct { const char *key; int64_t want; } ints[] = {
    {"v.u8", 255}, {"v.i8", -128}, {"v.u16", 65535}, {"v.i16", -32768}, {"v.u32", 4294967295ll},
    {"v.i32", INT32_MIN}, {"v.u64", INT64_MAX}, {"v.i64", INT64_MIN}, {"v.true", 1}, {"v.false", 0}};
  for (size_t i = 0; i < DS_ARRAY_LEN(ints); i++) {
    int64_t k = dseek_gguf_find_key(g, ints[i].key);
    CHECK_MSG(dseek_gguf_get_int(g, k, &v) == DSEEK_OK && v == ints[i].want, "%s", ints[i].key);
  }
  CHECK_EQ_INT(dseek_gguf_get_int(g, dseek_gguf_find_key(g, "v.u64big"), &v), DSEEK_ERR_TYPE);
  CHECK_EQ_INT(dseek_gguf_get_int(g, dseek_gguf_find_key(g, "v.f32"), &v), DSEEK_ERR_TYPE);
  CHECK(dseek_gguf_get_float(g, dseek_gguf_find_key(g, "v.f32"), &d) == DSEEK_OK && d == -0.15625);
  CHECK(dseek_gguf_get_float(g, dseek_gguf_find_key(g, "v.f64"), &d) == DSEEK_OK && d == DBL_MAX);
  CHECK(dseek_gguf_get_float(g, dseek_gguf_find_key(g, "v.i64"), &d) == DSEEK_OK && d == -9223372036854775808.0);
  CHECK_EQ_INT(dseek_gguf_get_float(g, dseek_gguf_find_key(g, "v.true"), &d), DSEEK_ERR_TYPE);
  CHECK_EQ_INT(dseek_gguf_get_float(g, dseek_gguf_find_key(g, "v.str"), &d), DSEEK_ERR_TYPE);
  CHECK(dseek_gguf_get_bool(g, dseek_gguf_find_key(g, "v.false"), &b) == DSEEK_OK && b == 0);
  CHECK_EQ_INT(dseek_gguf_get_bool(g, dseek_gguf_find_key(g, "v.i8"), &b), DSEEK_ERR_TYPE);
  CHECK(dseek_gguf_get_string(g, dseek_gguf_find_key(g, "v.empty"), &s, &len) == DSEEK_OK && len == 0 && !*s);
  CHECK(dseek_gguf_get_string(g, dseek_gguf_find_key(g, "v.nul"), &s, &len) == DSEEK_OK && len == 3 && s[2] == 'b');
  CHECK(dseek_gguf_get_string(g, dseek_gguf_find_key(g, "v.str"), &s, NULL) == DSEEK_OK && !strcmp(s, "caf\xC3\xA9"));
  CHECK_EQ_INT(dseek_gguf_get_string(g, dseek_gguf_find_key(g, "a.str"), &s, &len), DSEEK_ERR_TYPE);

  int64_t k = dseek_gguf_find_key(g, "a.i32");
  CHECK_EQ_INT(dseek_gguf_array_type(g, k), DSEEK_GGUF_INT32);
  CHECK_EQ_INT(dseek_gguf_array_length(g, k), 5);
  CHECK(dseek_gguf_get_array_int(g, k, 4, &v) == DSEEK_OK && v == 3);
  CHECK_EQ_INT(dseek_gguf_get_array_int(g, k, 5, &v), DSEEK_ERR_INVALID_ARG);
  CHECK_EQ_INT(dseek_gguf_get_array_int(g, k, -1, &v), DSEEK_ERR_INVALID_ARG);
  k = dseek_gguf_find_key(g, "a.u8");
  CHECK(dseek_gguf_get_array_int(g, k, 2, &v) == DSEEK_OK && v == 255);
  CHECK(dseek_gguf_get_array_float(g, k, 1, &d) == DSEEK_OK && d == 7);
  k = dseek_gguf_find_key(g, "a.bool");
  CHECK(dseek_gguf_get_array_int(g, k, 2, &v) == DSEEK_OK && v == 1);
  CHECK_EQ_INT(dseek_gguf_get_array_float(g, k, 0, &d), DSEEK_ERR_TYPE);
  k = dseek_gguf_find_key(g, "a.f64");
  CHECK_EQ_INT(dseek_gguf_get_array_int(g, k, 0, &v), DSEEK_ERR_TYPE);
  CHECK(dseek_gguf_get_array_float(g, k, 0, &d) == DSEEK_OK && d == 0.1);
  k = dseek_gguf_find_key(g, "a.u64");
  CHECK_EQ_INT(dseek_gguf_get_array_int(g, k, 0, &v), DSEEK_ERR_TYPE);
  k = dseek_gguf_find_key(g, "a.str");
  CHECK(dseek_gguf_get_array_string(g, k, 0, &s, &len) == DSEEK_OK && len == 5 && !strcmp(s, "Ġthe"));
  CHECK(dseek_gguf_get_array_string(g, k, 2, &s, NULL) == DSEEK_OK && s[0] == 'x' && s[1] == 0 && s[2] == 'y');
  CHECK_EQ_INT(dseek_gguf_get_array_string(g, k, 5, &s, &len), DSEEK_ERR_INVALID_ARG);
  CHECK_EQ_INT(dseek_gguf_get_array_int(g, k, 0, &v), DSEEK_ERR_TYPE);
  k = dseek_gguf_find_key(g, "a.nested");
  CHECK_EQ_INT(dseek_gguf_array_type(g, k), DSEEK_GGUF_ARRAY);
  CHECK_EQ_INT(dseek_gguf_array_length(g, k), 3);
  CHECK_EQ_INT(dseek_gguf_get_array_int(g, k, 0, &v), DSEEK_ERR_TYPE);
  CHECK_EQ_INT(dseek_gguf_get_array_string(g, k, 1, &s, &len), DSEEK_ERR_TYPE);
  CHECK_EQ_INT(dseek_gguf_array_length(g, dseek_gguf_find_key(g, "v.u8")), -1);
  CHECK_EQ_INT(dseek_gguf_get_array_int(g, dseek_gguf_find_key(g, "v.u8"), 0, &v), DSEEK_ERR_TYPE);

  /* missing keys: -1 from find, INVALID_ARG from a getter given -1 */
  CHECK_EQ_INT(dseek_gguf_find_key(g, "nope"), -1);
  CHECK_EQ_INT(dseek_gguf_find_key(g, NULL), -1);
  CHECK_EQ_INT(dseek_gguf_get_int(g, -1, &v), DSEEK_ERR_INVALID_ARG);
  CHECK_EQ_INT(dseek_gguf_get_int(g, dseek_gguf_key_count(g), &v), DSEEK_ERR_INVALID_ARG);
  CHECK_EQ_INT(dseek_gguf_get_int(g, 0, NULL), DSEEK_ERR_INVALID_ARG);
  CHECK_EQ_INT(dseek_gguf_get_string(g, 0, NULL, &len), DSEEK_ERR_INVALID_ARG);
  CHECK_EQ_INT(dseek_gguf_key_type(g, -1), -1);
  CHECK_EQ_INT(dseek_gguf_array_type(g, 1 << 20), -1);
  for (int64_t i = 0; i < dseek_gguf_key_count(g); i++)
    CHECK_EQ_INT(dseek_gguf_find_key(g, dseek_gguf_key_name(g, i)), i);

  dseek_tensor_info ti = {.struct_size = sizeof ti};
  int64_t t = dseek_gguf_find_tensor(g, "blk.0.ffn_up.weight");
  CHECK(dseek_gguf_tensor_info(g, t, &ti) == DSEEK_OK && ti.type == DSEEK_TYPE_Q4_K && ti.n_dims == 3 &&
        ti.ne[2] == 2 && ti.ne[3] == 1 && ti.size == 4 * 144);
  CHECK_EQ_INT(dseek_gguf_tensor_info(g, -1, &ti), DSEEK_ERR_INVALID_ARG);
  CHECK_EQ_INT(dseek_gguf_tensor_info(g, 0, NULL), DSEEK_ERR_INVALID_ARG);
  CHECK_EQ_INT(dseek_gguf_tensor_info(NULL, 0, &ti), DSEEK_ERR_INVALID_ARG);
  CHECK_EQ_INT(dseek_gguf_find_tensor(g, NULL), -1);
  CHECK_EQ_INT(dseek_gguf_find_tensor(NULL, "t.i8"), -1);
}

static void test_roundtrip(void)
{
  static const uint32_t alignments[] = {0 /* default 32 */, 1, 8, 64, 4096};
  for (uint32_t version = 2; version <= 3; version++)
    for (size_t ai = 0; ai < DS_ARRAY_LEN(alignments); ai++)
      for (int mmap = 0; mmap < 2; mmap++) {
        gguf_writer *w = build(version, alignments[ai]);
        const char *path = tmp_path("rt.gguf");
        CHECK(gw_write(w, path));
        gw_free(w);
        uint64_t alignment = alignments[ai] ? alignments[ai] : 32;
        ds_gguf *g = NULL;
        CHECK_MSG(ds_gguf_open(path, mmap, &g) == DSEEK_OK, "v%u align %u: %s", version, alignments[ai],
                  dseek_last_error());
        if (g) {
          CHECK_EQ_INT(g->file.mapped, mmap);
          check_internal(g, version, alignment);
          ds_gguf_close(g);
        }
        dseek_gguf *pg = NULL;
        CHECK(dseek_gguf_open(path, mmap ? 0 : DSEEK_GGUF_NO_MMAP, &pg) == DSEEK_OK);
        if (pg) {
          CHECK_EQ_INT(dseek_gguf_version(pg), version);
          CHECK_EQ_INT(dseek_gguf_alignment(pg), alignment);
          check_public(pg);
          dseek_gguf_close(pg);
        }
      }
}

/* The loaders' getters: required/optional, type and range errors name file and key. */
static void test_loader_getters(void)
{
  gguf_writer *w = build(3, 0);
  const char *path = tmp_path("getters.gguf");
  CHECK(gw_write(w, path));
  gw_free(w);
  ds_gguf *g = NULL;
  CHECK(ds_gguf_open(path, true, &g) == DSEEK_OK);
  if (!g) return;
  uint32_t u = 77;
  CHECK_EQ_INT(ds_gguf_get_u32(g, "qwen2.block_count", &u, true), DSEEK_ERR_FORMAT);
  CHECK(strstr(dseek_last_error(), "getters.gguf: key 'qwen2.block_count' missing") != NULL);
  CHECK(ds_gguf_get_u32(g, "qwen2.block_count", &u, false) == DSEEK_OK && u == 77);   /* default kept */
  CHECK(ds_gguf_get_u32(g, "v.u16", &u, true) == DSEEK_OK && u == 65535);
  CHECK(ds_gguf_get_u32(g, "v.u32", &u, true) == DSEEK_OK && u == 4294967295u);
  CHECK_EQ_INT(ds_gguf_get_u32(g, "v.str", &u, true), DSEEK_ERR_FORMAT);
  CHECK(strstr(dseek_last_error(), "key 'v.str' has type string, expected an integer") != NULL);
  CHECK_EQ_INT(ds_gguf_get_u32(g, "v.i8", &u, true), DSEEK_ERR_FORMAT);
  CHECK_MSG(strstr(dseek_last_error(), "key 'v.i8' = -128 out of range [0, 4294967295]") != NULL, "%s",
            dseek_last_error());
  CHECK_EQ_INT(ds_gguf_get_u32(g, "v.u64big", &u, true), DSEEK_ERR_FORMAT);
  CHECK(strstr(dseek_last_error(), "= 9223372036854775808 out of range") != NULL);
  CHECK_EQ_INT(ds_gguf_get_u32(g, "v.true", &u, true), DSEEK_ERR_FORMAT);   /* bool is not a count */
  CHECK_EQ_INT(u, 4294967295u);
  int64_t v = 0;
  CHECK_EQ_INT(ds_gguf_get_int_range(g, "v.i16", -100, 100, &v, true), DSEEK_ERR_FORMAT);
  CHECK(strstr(dseek_last_error(), "-32768 out of range [-100, 100]") != NULL);
  CHECK(ds_gguf_get_i64(g, "v.i64", &v, true) == DSEEK_OK && v == INT64_MIN);
  float f = 0;
  CHECK(ds_gguf_get_f32(g, "v.f32", &f, true) == DSEEK_OK && f == -0.15625f);
  CHECK(ds_gguf_get_f32(g, "v.u8", &f, true) == DSEEK_OK && f == 255.0f);
  CHECK_EQ_INT(ds_gguf_get_f32(g, "v.f32inf", &f, true), DSEEK_ERR_FORMAT);
  CHECK_EQ_INT(ds_gguf_get_f32(g, "v.str", &f, true), DSEEK_ERR_FORMAT);
  f = 9;
  CHECK(ds_gguf_get_f32(g, "rope.scale", &f, false) == DSEEK_OK && f == 9);
  bool b = false;
  CHECK(ds_gguf_get_bool(g, "v.true", &b, true) == DSEEK_OK && b);
  CHECK_EQ_INT(ds_gguf_get_bool(g, "v.u8", &b, true), DSEEK_ERR_FORMAT);
  CHECK(strstr(dseek_last_error(), "key 'v.u8' has type uint8, expected bool") != NULL);
  const char *s = NULL;
  size_t len = 0;
  CHECK(ds_gguf_get_str(g, "general.architecture", &s, &len, true) == DSEEK_OK && !strcmp(s, "qwen2") && len == 5);
  CHECK_EQ_INT(ds_gguf_get_str(g, "v.u8", &s, NULL, true), DSEEK_ERR_FORMAT);
  CHECK_EQ_INT(ds_gguf_get_str(g, "general.name", &s, NULL, true), DSEEK_ERR_FORMAT);
  CHECK(strstr(dseek_last_error(), "'general.name' missing") != NULL);
  const ds_gguf_array *a = NULL;
  CHECK_EQ_INT(ds_gguf_get_array(g, "a.i32", DS_GGUF_ARRAY_STRING, &a, true), DSEEK_ERR_FORMAT);
  CHECK(strstr(dseek_last_error(), "'a.i32' is an array of int32, expected strings") != NULL);
  CHECK_EQ_INT(ds_gguf_get_array(g, "a.f32", DS_GGUF_ARRAY_INT, &a, true), DSEEK_ERR_FORMAT);
  CHECK_EQ_INT(ds_gguf_get_array(g, "a.bool", DS_GGUF_ARRAY_NUMBER, &a, true), DSEEK_ERR_FORMAT);
  CHECK_EQ_INT(ds_gguf_get_array(g, "a.nested", DS_GGUF_ARRAY_INT, &a, true), DSEEK_ERR_FORMAT);
  CHECK_EQ_INT(ds_gguf_get_array(g, "v.u8", DS_GGUF_ARRAY_INT, &a, true), DSEEK_ERR_FORMAT);
  CHECK(a == NULL);
  CHECK(ds_gguf_get_array(g, "tokenizer.ggml.merges", DS_GGUF_ARRAY_STRING, &a, false) == DSEEK_OK && a == NULL);
  CHECK_EQ_INT(ds_gguf_get_array(g, "tokenizer.ggml.merges", DS_GGUF_ARRAY_STRING, &a, true), DSEEK_ERR_FORMAT);
  CHECK_STR(ds_gguf_type_name(DSEEK_GGUF_FLOAT64), "float64");
  CHECK_STR(ds_gguf_type_name(13), "unknown");
  ds_gguf_close(g);
}

/* Many keys and tensors: every one found by name at its own position. */
static void test_many(void)
{
  enum { N_KEYS = 20000, N_TENSORS = 3000 };
  gguf_writer *w = gw_create(3);
  gw_set_alignment(w, 1);
  char name[64];
  for (int i = 0; i < N_KEYS; i++) {
    snprintf(name, sizeof name, "k.%d", i);
    gw_add_i32(w, name, i);
  }
  for (int i = 0; i < N_TENSORS; i++) {
    snprintf(name, sizeof name, "blk.%d.w", i);
    uint8_t byte = (uint8_t)i;
    gw_add_tensor(w, name, DSEEK_TYPE_I8, 1, (int64_t[]){1}, &byte, 1);
  }
  const char *path = tmp_path("many.gguf");
  CHECK(gw_write(w, path));
  gw_free(w);
  ds_gguf *g = NULL;
  CHECK(ds_gguf_open(path, true, &g) == DSEEK_OK);
  if (!g) return;
  int bad = 0;
  for (int i = 0; i < N_KEYS; i++) {
    snprintf(name, sizeof name, "k.%d", i);
    int64_t k = ds_gguf_find_key(g, name);
    if (k != 1 + i || g->kv[k].v.i != i) bad++;   /* key 0 is general.alignment */
  }
  for (int i = 0; i < N_TENSORS; i++) {
    snprintf(name, sizeof name, "blk.%d.w", i);
    const ds_gguf_tensor *t = ds_gguf_tensor_get(g, name);
    if (!t || t - g->tensors != i || t->data[0] != (uint8_t)i || t->offset != (uint64_t)i) bad++;
  }
  CHECK_EQ_INT(bad, 0);
  CHECK_EQ_INT(ds_gguf_find_key(g, "k.20000"), -1);
  ds_gguf_close(g);
}

/* A vocabulary-only file (no tensors) may end right after its keys. */
static void test_no_tensors(void)
{
  gguf_writer *w = gw_create(3);
  gw_set_alignment(w, 4096);
  gw_add_string(w, "tokenizer.ggml.model", "gpt2");
  const char *path = tmp_path("vocab.gguf");
  CHECK(gw_write(w, path));
  gw_free(w);
  dseek_gguf *g = NULL;
  CHECK(dseek_gguf_open(path, 0, &g) == DSEEK_OK);
  CHECK_EQ_INT(dseek_gguf_tensor_count(g), 0);
  CHECK_EQ_INT(dseek_gguf_key_count(g), 2);
  dseek_gguf_close(g);
}

#ifdef DSEEK_FAILPOINTS
/* Allocation failure at every step of open: NO_MEMORY, nothing leaked (ASan). */
static void test_alloc_failure(void)
{
  gguf_writer *w = build(3, 0);
  const char *path = tmp_path("oom.gguf");
  CHECK(gw_write(w, path));
  gw_free(w);
  int failures = 0, n;
  for (n = 1; n < 1000; n++) {
    ds_gguf *g = NULL;
    ds_failpoint_alloc(n);
    dseek_status st = ds_gguf_open(path, n % 2, &g);
    ds_failpoint_alloc(0);
    if (st == DSEEK_OK) { ds_gguf_close(g); break; }
    if (st != DSEEK_ERR_NO_MEMORY || g != NULL) failures++;
  }
  fprintf(stderr, "allocation failure: %d points, all NO_MEMORY\n", n - 1);
  CHECK(n > 5 && n < 1000);
  CHECK_EQ_INT(failures, 0);
}
#endif

int main(void)
{
  snprintf(tmpdir, sizeof tmpdir, "/tmp/dseek-gguf-rt-XXXXXX");
  if (!mkdtemp(tmpdir)) return 1;
  RUN(test_roundtrip);
  RUN(test_loader_getters);
  RUN(test_many);
  RUN(test_no_tensors);
#ifdef DSEEK_FAILPOINTS
  RUN(test_alloc_failure);
#endif
  static const char *const files[] = {"rt.gguf", "getters.gguf", "many.gguf", "vocab.gguf", "oom.gguf"};
  for (size_t i = 0; i < DS_ARRAY_LEN(files); i++) unlink(tmp_path(files[i]));
  rmdir(tmpdir);
  return DS_TEST_RESULT();
}
