/* gguf_get.c — typed access to GGUF metadata: the loaders' getters (with
 * messages naming file and key) and the public dseek_gguf_* functions. */
#include "formats/gguf.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

/* ---- value conversion ------------------------------------------------------ */

static bool is_int_type(int t)
{
  return t == DSEEK_GGUF_UINT8 || t == DSEEK_GGUF_INT8 || t == DSEEK_GGUF_UINT16 || t == DSEEK_GGUF_INT16 ||
         t == DSEEK_GGUF_UINT32 || t == DSEEK_GGUF_INT32 || t == DSEEK_GGUF_UINT64 || t == DSEEK_GGUF_INT64 ||
         t == DSEEK_GGUF_BOOL;
}

static bool is_unsigned(int t)
{
  return t == DSEEK_GGUF_UINT8 || t == DSEEK_GGUF_UINT16 || t == DSEEK_GGUF_UINT32 || t == DSEEK_GGUF_UINT64 ||
         t == DSEEK_GGUF_BOOL;
}

/* A scalar kv as int64; false if not an integer or a UINT64 above INT64_MAX. */
static bool kv_int(const ds_gguf_kv *kv, int64_t *out)
{
  if (!is_int_type(kv->type)) return false;
  if (is_unsigned(kv->type)) {
    if (kv->v.u > (uint64_t)INT64_MAX) return false;
    *out = (int64_t)kv->v.u;
  } else {
    *out = kv->v.i;
  }
  return true;
}

static bool kv_float(const ds_gguf_kv *kv, double *out)
{
  int64_t i;
  if (kv->type == DSEEK_GGUF_FLOAT32 || kv->type == DSEEK_GGUF_FLOAT64) { *out = kv->v.f; return true; }
  if (kv->type == DSEEK_GGUF_UINT64) { *out = (double)kv->v.u; return true; }
  if (kv->type != DSEEK_GGUF_BOOL && kv_int(kv, &i)) { *out = (double)i; return true; }
  return false;
}

static size_t elem_size(int t)
{
  switch (t) {
  case DSEEK_GGUF_UINT8: case DSEEK_GGUF_INT8: case DSEEK_GGUF_BOOL: return 1;
  case DSEEK_GGUF_UINT16: case DSEEK_GGUF_INT16: return 2;
  case DSEEK_GGUF_UINT32: case DSEEK_GGUF_INT32: case DSEEK_GGUF_FLOAT32: return 4;
  case DSEEK_GGUF_UINT64: case DSEEK_GGUF_INT64: case DSEEK_GGUF_FLOAT64: return 8;
  default: return 0;
  }
}

/* Element i of a numeric array as a scalar kv. */
static bool array_elem(const ds_gguf_array *a, uint64_t i, ds_gguf_kv *kv)
{
  size_t es = elem_size(a->type);
  if (!es || i >= a->count || !a->raw) return false;
  const uint8_t *b = a->raw + i * es;
  uint64_t u = 0;
  for (int k = (int)es - 1; k >= 0; k--) u = (u << 8) | b[k];
  kv->type = a->type;
  switch (a->type) {
  case DSEEK_GGUF_INT8: kv->v.i = (int8_t)u; break;
  case DSEEK_GGUF_INT16: kv->v.i = (int16_t)u; break;
  case DSEEK_GGUF_INT32: kv->v.i = (int32_t)u; break;
  case DSEEK_GGUF_INT64: kv->v.i = (int64_t)u; break;
  case DSEEK_GGUF_FLOAT32: { uint32_t x = (uint32_t)u; float f; memcpy(&f, &x, 4); kv->v.f = f; break; }
  case DSEEK_GGUF_FLOAT64: { double d; memcpy(&d, &u, 8); kv->v.f = d; break; }
  default: kv->v.u = u; break;
  }
  return true;
}

bool ds_gguf_array_int(const ds_gguf_array *a, uint64_t i, int64_t *out)
{
  ds_gguf_kv kv;
  return array_elem(a, i, &kv) && kv_int(&kv, out);
}

bool ds_gguf_array_float(const ds_gguf_array *a, uint64_t i, double *out)
{
  ds_gguf_kv kv;
  return array_elem(a, i, &kv) && kv_float(&kv, out);
}

/* ---- loader getters -------------------------------------------------------- */

static dseek_status lookup(const ds_gguf *g, const char *key, bool required, const ds_gguf_kv **kv)
{
  *kv = ds_gguf_kv_get(g, key);
  if (!*kv && required) return ds_error(DSEEK_ERR_FORMAT, "%s: key '%s' missing", g->path, key);
  return DSEEK_OK;
}

static dseek_status wrong_type(const ds_gguf *g, const char *key, int type, const char *expected)
{
  return ds_error(DSEEK_ERR_FORMAT, "%s: key '%s' has type %s, expected %s", g->path, key, ds_gguf_type_name(type),
                  expected);
}

dseek_status ds_gguf_get_int_range(const ds_gguf *g, const char *key, int64_t min, int64_t max, int64_t *out,
                                   bool required)
{
  const ds_gguf_kv *kv;
  dseek_status st = lookup(g, key, required, &kv);
  if (st || !kv) return st;
  int64_t v;
  if (kv->type == DSEEK_GGUF_BOOL || !is_int_type(kv->type)) return wrong_type(g, key, kv->type, "an integer");
  if (!kv_int(kv, &v) || v < min || v > max) {
    char value[24];   /* signed types print as signed, unsigned (incl. > INT64_MAX) as unsigned */
    if (is_unsigned(kv->type)) snprintf(value, sizeof value, "%llu", (unsigned long long)kv->v.u);
    else snprintf(value, sizeof value, "%lld", (long long)kv->v.i);
    return ds_error(DSEEK_ERR_FORMAT, "%s: key '%s' = %s out of range [%lld, %lld]", g->path, key, value,
                    (long long)min, (long long)max);
  }
  *out = v;
  return DSEEK_OK;
}

dseek_status ds_gguf_get_u32(const ds_gguf *g, const char *key, uint32_t *out, bool required)
{
  int64_t v = *out;
  dseek_status st = ds_gguf_get_int_range(g, key, 0, UINT32_MAX, &v, required);
  if (!st) *out = (uint32_t)v;
  return st;
}

dseek_status ds_gguf_get_i64(const ds_gguf *g, const char *key, int64_t *out, bool required)
{
  return ds_gguf_get_int_range(g, key, INT64_MIN, INT64_MAX, out, required);
}

dseek_status ds_gguf_get_f32(const ds_gguf *g, const char *key, float *out, bool required)
{
  const ds_gguf_kv *kv;
  dseek_status st = lookup(g, key, required, &kv);
  if (st || !kv) return st;
  double d;
  if (!kv_float(kv, &d)) return wrong_type(g, key, kv->type, "a number");
  if (!isfinite(d)) return ds_error(DSEEK_ERR_FORMAT, "%s: key '%s' is not finite", g->path, key);
  *out = (float)d;
  return DSEEK_OK;
}

dseek_status ds_gguf_get_bool(const ds_gguf *g, const char *key, bool *out, bool required)
{
  const ds_gguf_kv *kv;
  dseek_status st = lookup(g, key, required, &kv);
  if (st || !kv) return st;
  if (kv->type != DSEEK_GGUF_BOOL) return wrong_type(g, key, kv->type, "bool");
  *out = kv->v.u != 0;
  return DSEEK_OK;
}

dseek_status ds_gguf_get_str(const ds_gguf *g, const char *key, const char **out, size_t *len, bool required)
{
  const ds_gguf_kv *kv;
  dseek_status st = lookup(g, key, required, &kv);
  if (st || !kv) return st;
  if (kv->type != DSEEK_GGUF_STRING) return wrong_type(g, key, kv->type, "string");
  *out = kv->v.str.s;
  if (len) *len = kv->v.str.len;
  return DSEEK_OK;
}

dseek_status ds_gguf_get_array(const ds_gguf *g, const char *key, ds_gguf_array_kind kind, const ds_gguf_array **out,
                               bool required)
{
  const ds_gguf_kv *kv;
  dseek_status st = lookup(g, key, required, &kv);
  if (st || !kv) return st;
  if (kv->type != DSEEK_GGUF_ARRAY) return wrong_type(g, key, kv->type, "array");
  int et = kv->v.arr.type;
  bool ok = kind == DS_GGUF_ARRAY_STRING ? et == DSEEK_GGUF_STRING
          : kind == DS_GGUF_ARRAY_INT    ? is_int_type(et)
                                         : (is_int_type(et) && et != DSEEK_GGUF_BOOL) || et == DSEEK_GGUF_FLOAT32 ||
                                               et == DSEEK_GGUF_FLOAT64;
  if (!ok)
    return ds_error(DSEEK_ERR_FORMAT, "%s: key '%s' is an array of %s, expected %s", g->path, key,
                    ds_gguf_type_name(et),
                    kind == DS_GGUF_ARRAY_STRING ? "strings" : kind == DS_GGUF_ARRAY_INT ? "integers" : "numbers");
  *out = &kv->v.arr;
  return DSEEK_OK;
}

/* ---- public API ------------------------------------------------------------ */

dseek_status dseek_gguf_open(const char *path, unsigned flags, dseek_gguf **out)
{
  if (!path || !out) return ds_error(DSEEK_ERR_INVALID_ARG, "dseek_gguf_open: path and out must not be NULL");
  if (flags & ~DSEEK_GGUF_NO_MMAP) return ds_error(DSEEK_ERR_INVALID_ARG, "dseek_gguf_open: unknown flags 0x%x", flags);
  return ds_gguf_open(path, !(flags & DSEEK_GGUF_NO_MMAP), out);
}

void dseek_gguf_close(dseek_gguf *g) { ds_gguf_close(g); }

dseek_status dseek_gguf_split_path(const char *path, int split_no, char *buf, size_t size, size_t *len_out)
{
  size_t plen;
  int no, count;
  if (!path || !buf) return ds_error(DSEEK_ERR_INVALID_ARG, "dseek_gguf_split_path: path and buf must not be NULL");
  if (!ds_gguf_split_name(path, &plen, &no, &count))
    return ds_error(DSEEK_ERR_INVALID_ARG, "dseek_gguf_split_path: '%s' does not end in -NNNNN-of-MMMMM.gguf", path);
  if (split_no < 0 || split_no >= count)
    return ds_error(DSEEK_ERR_INVALID_ARG, "dseek_gguf_split_path: split_no %d is not in [0, %d)", split_no, count);
  size_t len = strlen(path);   /* the suffix keeps its length */
  if (len_out) *len_out = len;
  if (size < len + 1)
    return ds_error(DSEEK_ERR_BUFFER_TOO_SMALL, "dseek_gguf_split_path: needs %zu bytes, buf has %zu", len + 1, size);
  snprintf(buf, size, "%.*s-%05d-of-%05d.gguf", (int)plen, path, split_no + 1, count);
  return DSEEK_OK;
}
uint32_t dseek_gguf_version(const dseek_gguf *g) { return g ? g->version : 0; }
uint64_t dseek_gguf_alignment(const dseek_gguf *g) { return g ? g->alignment : 0; }
int64_t dseek_gguf_key_count(const dseek_gguf *g) { return g ? g->n_kv : -1; }
int64_t dseek_gguf_tensor_count(const dseek_gguf *g) { return g ? g->n_tensors : -1; }

const char *dseek_gguf_key_name(const dseek_gguf *g, int64_t i)
{
  return g && i >= 0 && i < g->n_kv ? g->kv[i].key : NULL;
}

int64_t dseek_gguf_find_key(const dseek_gguf *g, const char *key) { return g && key ? ds_gguf_find_key(g, key) : -1; }
int64_t dseek_gguf_find_tensor(const dseek_gguf *g, const char *n) { return g && n ? ds_gguf_find_tensor(g, n) : -1; }

int dseek_gguf_key_type(const dseek_gguf *g, int64_t i) { return g && i >= 0 && i < g->n_kv ? g->kv[i].type : -1; }

int dseek_gguf_array_type(const dseek_gguf *g, int64_t i)
{
  return g && i >= 0 && i < g->n_kv && g->kv[i].type == DSEEK_GGUF_ARRAY ? g->kv[i].v.arr.type : -1;
}

int64_t dseek_gguf_array_length(const dseek_gguf *g, int64_t i)
{
  return g && i >= 0 && i < g->n_kv && g->kv[i].type == DSEEK_GGUF_ARRAY ? (int64_t)g->kv[i].v.arr.count : -1;
}

static dseek_status get_kv(const dseek_gguf *g, int64_t i, const void *out, const char *fn, const ds_gguf_kv **kv)
{
  if (!g || !out) return ds_error(DSEEK_ERR_INVALID_ARG, "%s: gguf and out must not be NULL", fn);
  if (i < 0 || i >= g->n_kv)
    return ds_error(DSEEK_ERR_INVALID_ARG, "%s: key index %lld outside [0, %lld)", fn, (long long)i, (long long)g->n_kv);
  *kv = &g->kv[i];
  return DSEEK_OK;
}

static dseek_status type_error(const dseek_gguf *g, const ds_gguf_kv *kv, const char *fn, const char *want)
{
  return ds_error(DSEEK_ERR_TYPE, "%s: %s: key '%s' has type %s, not %s", fn, g->path, kv->key,
                  ds_gguf_type_name(kv->type), want);
}

dseek_status dseek_gguf_get_int(const dseek_gguf *g, int64_t i, int64_t *out)
{
  const ds_gguf_kv *kv = NULL;
  dseek_status st = get_kv(g, i, out, "dseek_gguf_get_int", &kv);
  if (st) return st;
  if (!kv_int(kv, out)) return type_error(g, kv, "dseek_gguf_get_int", "an integer that fits int64");
  return DSEEK_OK;
}

dseek_status dseek_gguf_get_float(const dseek_gguf *g, int64_t i, double *out)
{
  const ds_gguf_kv *kv = NULL;
  dseek_status st = get_kv(g, i, out, "dseek_gguf_get_float", &kv);
  if (st) return st;
  if (!kv_float(kv, out)) return type_error(g, kv, "dseek_gguf_get_float", "a number");
  return DSEEK_OK;
}

dseek_status dseek_gguf_get_bool(const dseek_gguf *g, int64_t i, int *out)
{
  const ds_gguf_kv *kv = NULL;
  dseek_status st = get_kv(g, i, out, "dseek_gguf_get_bool", &kv);
  if (st) return st;
  if (kv->type != DSEEK_GGUF_BOOL) return type_error(g, kv, "dseek_gguf_get_bool", "bool");
  *out = kv->v.u != 0;
  return DSEEK_OK;
}

dseek_status dseek_gguf_get_string(const dseek_gguf *g, int64_t i, const char **str, size_t *len)
{
  const ds_gguf_kv *kv = NULL;
  dseek_status st = get_kv(g, i, str, "dseek_gguf_get_string", &kv);
  if (st) return st;
  if (kv->type != DSEEK_GGUF_STRING) return type_error(g, kv, "dseek_gguf_get_string", "string");
  *str = kv->v.str.s;
  if (len) *len = kv->v.str.len;
  return DSEEK_OK;
}

/* Array key i and element idx, checked. */
static dseek_status get_elem(const dseek_gguf *g, int64_t i, int64_t idx, const void *out, const char *fn,
                             const ds_gguf_array **arr)
{
  const ds_gguf_kv *kv = NULL;
  dseek_status st = get_kv(g, i, out, fn, &kv);
  if (st) return st;
  if (kv->type != DSEEK_GGUF_ARRAY) return type_error(g, kv, fn, "array");
  if (idx < 0 || (uint64_t)idx >= kv->v.arr.count)
    return ds_error(DSEEK_ERR_INVALID_ARG, "%s: index %lld outside the %llu elements of '%s'", fn, (long long)idx,
                    (unsigned long long)kv->v.arr.count, kv->key);
  *arr = &kv->v.arr;
  return DSEEK_OK;
}

dseek_status dseek_gguf_get_array_int(const dseek_gguf *g, int64_t i, int64_t idx, int64_t *out)
{
  const ds_gguf_array *a;
  dseek_status st = get_elem(g, i, idx, out, "dseek_gguf_get_array_int", &a);
  if (st) return st;
  if (!ds_gguf_array_int(a, (uint64_t)idx, out))
    return ds_error(DSEEK_ERR_TYPE, "dseek_gguf_get_array_int: '%s' is an array of %s", g->kv[i].key,
                    ds_gguf_type_name(a->type));
  return DSEEK_OK;
}

dseek_status dseek_gguf_get_array_float(const dseek_gguf *g, int64_t i, int64_t idx, double *out)
{
  const ds_gguf_array *a;
  dseek_status st = get_elem(g, i, idx, out, "dseek_gguf_get_array_float", &a);
  if (st) return st;
  if (a->type == DSEEK_GGUF_BOOL || !ds_gguf_array_float(a, (uint64_t)idx, out))
    return ds_error(DSEEK_ERR_TYPE, "dseek_gguf_get_array_float: '%s' is an array of %s", g->kv[i].key,
                    ds_gguf_type_name(a->type));
  return DSEEK_OK;
}

dseek_status dseek_gguf_get_array_string(const dseek_gguf *g, int64_t i, int64_t idx, const char **str, size_t *len)
{
  const ds_gguf_array *a;
  dseek_status st = get_elem(g, i, idx, str, "dseek_gguf_get_array_string", &a);
  if (st) return st;
  if (a->type != DSEEK_GGUF_STRING)
    return ds_error(DSEEK_ERR_TYPE, "dseek_gguf_get_array_string: '%s' is an array of %s", g->kv[i].key,
                    ds_gguf_type_name(a->type));
  *str = ds_gguf_array_str(a, (uint64_t)idx, len);
  return DSEEK_OK;
}

dseek_status dseek_gguf_tensor_info(const dseek_gguf *g, int64_t i, dseek_tensor_info *info)
{
  static const char fn[] = "dseek_gguf_tensor_info";
  if (!g || !info) return ds_error(DSEEK_ERR_INVALID_ARG, "%s: gguf and info must not be NULL", fn);
  if (i < 0 || i >= g->n_tensors)
    return ds_error(DSEEK_ERR_INVALID_ARG, "%s: tensor index %lld outside [0, %lld)", fn, (long long)i,
                    (long long)g->n_tensors);
  size_t size = info->struct_size;
  if (size < offsetof(dseek_tensor_info, type))
    return ds_error(DSEEK_ERR_INVALID_ARG, "%s: struct_size %zu is too small", fn, size);
  const ds_gguf_tensor *t = &g->tensors[i];
  dseek_tensor_info full = {.struct_size = size, .name = t->name, .type = t->type, .n_dims = t->n_dims,
                            .offset = t->offset, .size = t->size, .data = t->data};
  memcpy(full.ne, t->ne, sizeof full.ne);
  memcpy(info, &full, DS_MIN(size, sizeof full));
  return DSEEK_OK;
}
