/* fuzz_gguf.c — the GGUF reader: the input is a file; when it opens, every
 * key, array element and tensor is read back through the public API, and the
 * first and last byte of every tensor's data are touched (so a range the
 * reader failed to check shows up under ASan). Opened mapped and read. */
#include "fuzz.h"
#include "dseek.h"

#include <string.h>

/* Arrays are walked up to this many elements (a valid file may hold millions). */
#define MAX_ELEMS 4096

static void walk_key(const dseek_gguf *g, int64_t i)
{
  const char *name = dseek_gguf_key_name(g, i);
  FUZZ_ASSERT(name != NULL, "key %lld has no name", (long long)i);
  int64_t found = dseek_gguf_find_key(g, name);
  FUZZ_ASSERT(found >= 0 && found <= i, "find_key('%s') = %lld for key %lld", name, (long long)found, (long long)i);
  int type = dseek_gguf_key_type(g, i);
  FUZZ_ASSERT(type >= DSEEK_GGUF_UINT8 && type <= DSEEK_GGUF_FLOAT64, "key '%s' has type %d", name, type);
  int64_t iv;
  double dv;
  int bv;
  const char *s;
  size_t len;
  dseek_status st = dseek_gguf_get_int(g, i, &iv);
  FUZZ_ASSERT(st == DSEEK_OK || st == DSEEK_ERR_TYPE, "get_int: %d", (int)st);
  st = dseek_gguf_get_float(g, i, &dv);
  FUZZ_ASSERT(st == DSEEK_OK || st == DSEEK_ERR_TYPE, "get_float: %d", (int)st);
  st = dseek_gguf_get_bool(g, i, &bv);
  FUZZ_ASSERT(st == DSEEK_OK || st == DSEEK_ERR_TYPE, "get_bool: %d", (int)st);
  FUZZ_ASSERT(st != DSEEK_OK || bv == 0 || bv == 1, "bool %d", bv);
  st = dseek_gguf_get_string(g, i, &s, &len);
  FUZZ_ASSERT(st == DSEEK_OK || st == DSEEK_ERR_TYPE, "get_string: %d", (int)st);
  if (st == DSEEK_OK) FUZZ_ASSERT(s[len] == '\0', "string of key '%s' not terminated", name);
  if (type != DSEEK_GGUF_ARRAY) {
    FUZZ_ASSERT(dseek_gguf_array_length(g, i) == -1, "scalar with an array length");
    return;
  }
  int et = dseek_gguf_array_type(g, i);
  int64_t n = dseek_gguf_array_length(g, i);
  FUZZ_ASSERT(n >= 0, "array '%s' length %lld", name, (long long)n);
  int64_t walk = n < MAX_ELEMS ? n : MAX_ELEMS;
  for (int64_t k = 0; k < walk; k++) {
    if (et == DSEEK_GGUF_STRING) {
      st = dseek_gguf_get_array_string(g, i, k, &s, &len);
      FUZZ_ASSERT(st == DSEEK_OK, "array '%s'[%lld]: %s", name, (long long)k, dseek_last_error());
      FUZZ_ASSERT(s[len] == '\0', "array string not terminated");
    } else {
      st = dseek_gguf_get_array_float(g, i, k, &dv);
      FUZZ_ASSERT(st == DSEEK_OK || st == DSEEK_ERR_TYPE, "array_float: %d", (int)st);
      st = dseek_gguf_get_array_int(g, i, k, &iv);
      FUZZ_ASSERT(st == DSEEK_OK || st == DSEEK_ERR_TYPE, "array_int: %d", (int)st);
    }
  }
  /* Out of range is an error, not a read. */
  FUZZ_ASSERT(dseek_gguf_get_array_int(g, i, n, &iv) != DSEEK_OK, "element past the end");
  FUZZ_ASSERT(dseek_gguf_get_array_int(g, i, -1, &iv) != DSEEK_OK, "element -1");
}

static volatile uint8_t sink;

static void walk_tensor(const dseek_gguf *g, int64_t i)
{
  dseek_tensor_info info;
  memset(&info, 0, sizeof info);
  info.struct_size = sizeof info;
  dseek_status st = dseek_gguf_tensor_info(g, i, &info);
  FUZZ_ASSERT(st == DSEEK_OK, "tensor_info(%lld): %s", (long long)i, dseek_last_error());
  FUZZ_ASSERT(info.name != NULL, "tensor without a name");
  int64_t found = dseek_gguf_find_tensor(g, info.name);
  FUZZ_ASSERT(found >= 0 && found <= i, "find_tensor('%s') = %lld", info.name, (long long)found);
  FUZZ_ASSERT(info.n_dims >= 1 && info.n_dims <= 4, "n_dims %d", info.n_dims);
  for (int d = 0; d < 4; d++) FUZZ_ASSERT(info.ne[d] >= 0, "ne[%d] = %lld", d, (long long)info.ne[d]);
  dseek_type_name(info.type);
  if (info.size > 0) {
    FUZZ_ASSERT(info.data != NULL, "tensor '%s' of %llu bytes without data", info.name,
                (unsigned long long)info.size);
    const uint8_t *p = info.data;
    sink ^= p[0];
    sink ^= p[info.size - 1];
  }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
  const char *path = fuzz_path("input.gguf");
  fuzz_write(path, data, size);
  for (unsigned flags = 0; flags <= DSEEK_GGUF_NO_MMAP; flags += DSEEK_GGUF_NO_MMAP) {
    dseek_gguf *g = NULL;
    dseek_status st = dseek_gguf_open(path, flags, &g);
    if (st != DSEEK_OK) {
      FUZZ_ASSERT(g == NULL, "output set on error");
      FUZZ_ASSERT(dseek_last_error()[0] != '\0', "error %d without a message", (int)st);
      continue;
    }
    fuzz_accepted();
    uint32_t v = dseek_gguf_version(g);
    FUZZ_ASSERT(v == 2 || v == 3, "version %u", v);
    FUZZ_ASSERT(dseek_gguf_alignment(g) > 0, "alignment 0");
    int64_t nk = dseek_gguf_key_count(g), nt = dseek_gguf_tensor_count(g);
    FUZZ_ASSERT(nk >= 0 && nt >= 0, "counts %lld %lld", (long long)nk, (long long)nt);
    for (int64_t i = 0; i < nk; i++) walk_key(g, i);
    for (int64_t i = 0; i < nt; i++) walk_tensor(g, i);
    FUZZ_ASSERT(dseek_gguf_key_name(g, nk) == NULL, "key past the end");
    dseek_gguf_close(g);
  }
  return 0;
}
