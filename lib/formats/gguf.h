/*
 * gguf.h — a validated, read-only view of a GGUF (v2/v3) file, for model loaders
 * and the tokenizer. The public dseek_gguf_* functions are thin wrappers.
 *
 * Layout on disk (little-endian):
 *   "GGUF", u32 version, u64 tensor_count, u64 kv_count,
 *   kv_count   x { string key, u32 value_type, value },
 *   tensor_count x { string name, u32 n_dims, u64 ne[n_dims], u32 ggml_type, u64 offset },
 *   padding to general.alignment (u32, default 32), tensor data.
 *   string = u64 length + bytes (no NUL); array = u32 elem_type, u64 count, elems.
 *
 * After ds_gguf_open() returns DSEEK_OK every structure below is consistent with
 * the file: lengths, counts, offsets and sizes have been checked, so readers may
 * index without further checks (elements i < count, tensors i < n_tensors).
 *
 * Text policy: key names and tensor names must be non-empty valid UTF-8 without
 * NUL bytes (they are looked up as C strings). String values are kept byte for
 * byte with their length, even when they are not valid UTF-8 or contain NULs
 * (a vocabulary may legitimately hold such pieces); every one is NUL-terminated.
 *
 * Lookups of keys and tensors by name are O(1) (hash index built at open), and so
 * is element i of any array (numeric arrays point into the file bytes; string
 * arrays are copied once into one NUL-separated arena with an offsets table).
 */
#ifndef DS_FORMATS_GGUF_H
#define DS_FORMATS_GGUF_H

#include "core/ds.h"
#include "core/platform.h"

#define DS_GGUF_MAX_DIMS 4
#define DS_GGUF_MAX_NAME 64          /* tensor names are < 64 bytes, as in ggml */
#define DS_GGUF_DEFAULT_ALIGNMENT 32

/* One array value. Numeric/bool elements stay in the file as little-endian
 * bytes (`raw`, count * elem_size); string element j is strs + offs[j] with
 * length offs[j + 1] - offs[j] - 1 (each followed by a NUL). Arrays of arrays
 * are validated but not materialised: only type and count are kept. */
typedef struct ds_gguf_array {
  int type;                 /* dseek_gguf_value_type of the elements */
  uint64_t count;
  const uint8_t *raw;       /* numeric and bool elements */
  char *strs;               /* string elements: the arena ... */
  uint64_t *offs;           /* ... and count + 1 offsets into it */
} ds_gguf_array;

typedef struct ds_gguf_kv {
  char *key;                /* NUL-terminated, valid UTF-8 */
  int type;                 /* dseek_gguf_value_type */
  union {
    uint64_t u;             /* UINT8/16/32/64, BOOL (0 or 1) */
    int64_t i;              /* INT8/16/32/64, sign-extended */
    double f;               /* FLOAT32, FLOAT64 */
    struct { char *s; size_t len; } str;
    ds_gguf_array arr;
  } v;
} ds_gguf_kv;

typedef struct ds_gguf_tensor {
  char name[DS_GGUF_MAX_NAME];
  int type;                 /* ggml type id (any with known block geometry) */
  int n_dims;               /* 1..4 */
  int64_t ne[DS_GGUF_MAX_DIMS];   /* unused dims are 1 */
  uint64_t offset;          /* relative to the data section, a multiple of alignment */
  uint64_t size;            /* bytes: ne[0]/block_size*type_size * ne[1]*ne[2]*ne[3] */
  const uint8_t *data;      /* file bytes [data_offset + offset, + size) */
  int shard;                /* 0-based shard of a split model holding it (0: a plain file) */
} ds_gguf_tensor;

/* Open-addressing index from a name to a position (internal to gguf.c). */
typedef struct ds_gguf_index {
  int64_t *slots;           /* position + 1; 0 marks an empty slot */
  uint64_t mask;            /* capacity - 1 (capacity a power of two) */
} ds_gguf_index;

struct dseek_gguf {
  char *path;               /* as given to open; prefixes every error message */
  ds_file file;
  uint32_t version;
  uint64_t alignment;
  uint64_t data_offset;     /* absolute file offset of the data section */
  int64_t n_kv;
  ds_gguf_kv *kv;
  int64_t n_tensors;
  ds_gguf_tensor *tensors;
  ds_gguf_index key_index, tensor_index;
  /* A split model (ds_gguf_open_split): this is shard 1 (its keys are the
   * model's), tensors[] lists every shard's tensors, data pointing into the
   * shard that holds it; shards[i] (i >= 1) are the others, owned. */
  int n_shards;             /* 1 for a plain file */
  struct dseek_gguf **shards;
};
typedef struct dseek_gguf ds_gguf;

/* Open and validate `path` (DSEEK_ERR_IO / FORMAT / NO_MEMORY). */
dseek_status ds_gguf_open(const char *path, bool allow_mmap, ds_gguf **out);
/* The same for a file mapped together with others, `together` bytes in all
 * (ds_file_open_in_set). */
dseek_status ds_gguf_open_in_set(const char *path, bool allow_mmap, uint64_t together, ds_gguf **out);

/* A model's GGUF: `path` alone, or, when it is a shard of a split model
 * (gguf_split.c: llama.cpp's gguf-split layout), every shard merged into one
 * view. */
dseek_status ds_gguf_open_split(const char *path, bool allow_mmap, ds_gguf **out);

/* The split naming PREFIX-NNNNN-of-MMMMM.gguf (1 <= NNNNN <= MMMMM): true and
 * the prefix length, shard number (1-based) and count when `path` has it. */
bool ds_gguf_split_name(const char *path, size_t *prefix_len, int *no, int *count);
void ds_gguf_close(ds_gguf *g);

/* Replace g's tensor table by `tensors` (n entries from ds_malloc; g owns
 * them, also on error) and index it by name; a name twice is an error naming
 * both entries' shards. */
dseek_status ds_gguf_set_tensors(ds_gguf *g, ds_gguf_tensor *tensors, int64_t n);

/* Key or tensor position, or -1. */
int64_t ds_gguf_find_key(const ds_gguf *g, const char *key);
int64_t ds_gguf_find_tensor(const ds_gguf *g, const char *name);
const ds_gguf_kv *ds_gguf_kv_get(const ds_gguf *g, const char *key);      /* or NULL */
const ds_gguf_tensor *ds_gguf_tensor_get(const ds_gguf *g, const char *name);

/* "uint32", "string", "array", ... ("unknown" otherwise). */
const char *ds_gguf_type_name(int value_type);

/* ---- typed getters for loaders ------------------------------------------
 * `required` false: a missing key returns DSEEK_OK and leaves *out untouched
 * (so the caller presets the default). Errors are DSEEK_ERR_FORMAT with the
 * file and key named: "x.gguf: key 'qwen2.block_count' missing",
 * "x.gguf: key 'x' has type string, expected an integer",
 * "x.gguf: key 'x' = 5000000000 out of range [0, 4294967295]". */
dseek_status ds_gguf_get_int_range(const ds_gguf *g, const char *key, int64_t min,
                                   int64_t max, int64_t *out, bool required);
dseek_status ds_gguf_get_u32(const ds_gguf *g, const char *key, uint32_t *out, bool required);
dseek_status ds_gguf_get_i64(const ds_gguf *g, const char *key, int64_t *out, bool required);
/* FLOAT32/FLOAT64 or any integer type. */
dseek_status ds_gguf_get_f32(const ds_gguf *g, const char *key, float *out, bool required);
dseek_status ds_gguf_get_bool(const ds_gguf *g, const char *key, bool *out, bool required);
/* *len may be NULL. */
dseek_status ds_gguf_get_str(const ds_gguf *g, const char *key, const char **out,
                             size_t *len, bool required);

/* Array key whose elements fit `kind`; *out is left untouched when the key is
 * absent and not required. */
typedef enum ds_gguf_array_kind {
  DS_GGUF_ARRAY_STRING,     /* STRING elements */
  DS_GGUF_ARRAY_INT,        /* any integer type or BOOL */
  DS_GGUF_ARRAY_NUMBER      /* any integer type or FLOAT32/FLOAT64 */
} ds_gguf_array_kind;
dseek_status ds_gguf_get_array(const ds_gguf *g, const char *key, ds_gguf_array_kind kind,
                               const ds_gguf_array **out, bool required);

/* ---- elements of a validated array (no argument checks beyond these) ------
 * Each returns false if i >= count or the element type does not fit. */
bool ds_gguf_array_int(const ds_gguf_array *a, uint64_t i, int64_t *out);   /* UINT64 > INT64_MAX: false */
bool ds_gguf_array_float(const ds_gguf_array *a, uint64_t i, double *out);

/* String element i (NUL-terminated) and its length; i < count is the caller's duty. */
static inline const char *ds_gguf_array_str(const ds_gguf_array *a, uint64_t i, size_t *len)
{
  if (len) *len = (size_t)(a->offs[i + 1] - a->offs[i] - 1);
  return a->strs + a->offs[i];
}

#endif
