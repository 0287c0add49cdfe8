/* safetensors.c — validated reader for single and sharded safetensors. */
#include "formats/safetensors.h"
#include "formats/json.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_HEADER ((uint64_t)512 << 20)   /* 512 MiB of JSON is far beyond any real header */

typedef struct st_file {
  char *path;
  ds_file file;
  ds_json *header;
} st_file;

struct ds_st_set {
  st_file *files;
  int n_files;
  ds_st_tensor *tensors;
  int64_t n_tensors, cap_tensors;
  int64_t *index;            /* open addressing: tensor position + 1 */
  uint64_t index_mask;
};

static const struct { const char *name; int type; size_t size; } dtypes[] = {
  {"F64", DSEEK_TYPE_F64, 8},   {"F32", DSEEK_TYPE_F32, 4},   {"F16", DSEEK_TYPE_F16, 2},
  {"BF16", DSEEK_TYPE_BF16, 2}, {"F8_E4M3", DSEEK_TYPE_F8_E4M3, 1},
  {"I64", DSEEK_TYPE_I64, 8},   {"I32", DSEEK_TYPE_I32, 4},   {"I16", DSEEK_TYPE_I16, 2},
  {"I8", DSEEK_TYPE_I8, 1},     {"U64", DS_ST_TYPE_UNSUPPORTED, 8}, {"U32", DS_ST_TYPE_UNSUPPORTED, 4},
  {"U16", DS_ST_TYPE_UNSUPPORTED, 2}, {"U8", DS_ST_TYPE_UNSUPPORTED, 1}, {"BOOL", DS_ST_TYPE_UNSUPPORTED, 1},
  {"F8_E5M2", DS_ST_TYPE_UNSUPPORTED, 1},
};

static uint64_t hash_name(const char *s)
{
  uint64_t h = 1469598103934665603ull;   /* FNV-1a */
  for (; *s; s++) h = (h ^ (unsigned char)*s) * 1099511628211ull;
  return h;
}

void ds_st_set_close(ds_st_set *set)
{
  if (!set) return;
  for (int i = 0; i < set->n_files; i++) {
    ds_json_free(set->files[i].header);
    ds_file_close(&set->files[i].file);
    ds_free(set->files[i].path);
  }
  ds_free(set->files);
  ds_free(set->tensors);
  ds_free(set->index);
  ds_free(set);
}

int64_t ds_st_count(const ds_st_set *set) { return set ? set->n_tensors : 0; }

const ds_st_tensor *ds_st_at(const ds_st_set *set, int64_t i)
{
  return set && i >= 0 && i < set->n_tensors ? &set->tensors[i] : NULL;
}

const ds_st_tensor *ds_st_find(const ds_st_set *set, const char *name)
{
  if (!set || !name || !set->index) return NULL;
  for (uint64_t h = hash_name(name) & set->index_mask;; h = (h + 1) & set->index_mask) {
    int64_t slot = set->index[h];
    if (!slot) return NULL;
    if (strcmp(set->tensors[slot - 1].name, name) == 0) return &set->tensors[slot - 1];
  }
}

/* Order tensors by data begin to find overlaps. */
typedef struct range { uint64_t begin, end; const char *name; } range;
static int range_cmp(const void *a, const void *b)
{
  const range *x = a, *y = b;
  return (x->begin > y->begin) - (x->begin < y->begin);
}

/* Parse one file's header and append its tensors to the set. */
static dseek_status add_file(ds_st_set *set, const char *path, bool allow_mmap)
{
  st_file *files = ds_realloc(set->files, (size_t)(set->n_files + 1) * sizeof *files);
  if (!files) return ds_error(DSEEK_ERR_NO_MEMORY, "%s: out of memory", path);
  set->files = files;
  st_file *f = &files[set->n_files];
  memset(f, 0, sizeof *f);
  f->path = ds_strndup(path, strlen(path));
  if (!f->path) return ds_error(DSEEK_ERR_NO_MEMORY, "%s: out of memory", path);
  set->n_files++;
  dseek_status st = ds_file_open(path, allow_mmap, &f->file);
  if (st) return st;
  const uint8_t *p = f->file.data;
  uint64_t size = f->file.size;
  if (size < 8) return ds_error(DSEEK_ERR_FORMAT, "%s: file of %llu bytes is too short for a safetensors header",
                                path, (unsigned long long)size);
  uint64_t n = 0;
  for (int i = 7; i >= 0; i--) n = (n << 8) | p[i];
  if (n < 2 || n > size - 8 || n > MAX_HEADER)
    return ds_error(DSEEK_ERR_FORMAT, "%s: header length %llu does not fit the file of %llu bytes", path,
                    (unsigned long long)n, (unsigned long long)size);
  if ((st = ds_json_parse((const char *)p + 8, (size_t)n, path, &f->header))) return st;
  const ds_json_value *root = ds_json_root(f->header);
  if (!ds_json_is(root, DS_JSON_OBJECT))
    return ds_error(DSEEK_ERR_FORMAT, "%s: header is a JSON %s, expected an object", path, ds_json_type_name(root));
  const uint8_t *data = p + 8 + n;
  uint64_t data_size = size - 8 - n;

  int64_t n_members = ds_json_len(root);
  range *ranges = ds_calloc((size_t)(n_members > 0 ? n_members : 1), sizeof *ranges);
  if (!ranges) return ds_error(DSEEK_ERR_NO_MEMORY, "%s: out of memory", path);
  int64_t n_ranges = 0;
  for (int64_t i = 0; i < n_members && !st; i++) {
    const ds_json_member *mb = &root->u.members[i];
    if (strcmp(mb->key, "__metadata__") == 0) continue;
    const char *name = mb->key;
    const ds_json_value *v = &mb->value;
    const char *dtype;
    const ds_json_value *shape = ds_json_get(v, "shape"), *offs = ds_json_get(v, "data_offsets");
    if (!ds_json_is(v, DS_JSON_OBJECT) || !ds_json_str(ds_json_get(v, "dtype"), &dtype, NULL) ||
        !ds_json_is(shape, DS_JSON_ARRAY) || !ds_json_is(offs, DS_JSON_ARRAY) || ds_json_len(offs) != 2) {
      st = ds_error(DSEEK_ERR_FORMAT, "%s: tensor '%s': needs \"dtype\" (string), \"shape\" (array) and "
                    "\"data_offsets\" ([begin, end])", path, name);
      break;
    }
    if (mb->key_len == 0 || strlen(name) != mb->key_len) {
      st = ds_error(DSEEK_ERR_FORMAT, "%s: tensor name is empty or holds a NUL byte", path);
      break;
    }
    size_t esize = 0;
    int type = DS_ST_TYPE_UNSUPPORTED;
    bool known = false;
    for (size_t k = 0; k < DS_ARRAY_LEN(dtypes); k++)
      if (strcmp(dtypes[k].name, dtype) == 0) { type = dtypes[k].type; esize = dtypes[k].size; known = true; }
    if (!known) { st = ds_error(DSEEK_ERR_FORMAT, "%s: tensor '%s': unknown dtype '%s'", path, name, dtype); break; }
    ds_st_tensor t = {.name = name, .dtype = dtype, .type = type, .file = f->path};
    t.n_dims = (int)ds_json_len(shape);
    if (t.n_dims > DS_ST_MAX_DIMS) {
      st = ds_error(DSEEK_ERR_FORMAT, "%s: tensor '%s': %d dimensions (at most %d supported)", path, name,
                    t.n_dims, DS_ST_MAX_DIMS);
      break;
    }
    uint64_t elems = 1;
    for (int d = 0; d < t.n_dims; d++) {
      int64_t dim;
      if (!ds_json_int(ds_json_at(shape, d), &dim) || dim < 0 || ds_mul_u64(elems, (uint64_t)dim, &elems)) {
        st = ds_error(DSEEK_ERR_FORMAT, "%s: tensor '%s': shape[%d] is not a valid size", path, name, d);
        break;
      }
      t.shape[d] = dim;
    }
    if (st) break;
    int64_t b, e;
    uint64_t bytes;
    if (!ds_json_int(ds_json_at(offs, 0), &b) || !ds_json_int(ds_json_at(offs, 1), &e) || b < 0 || e < b ||
        (uint64_t)e > data_size) {
      st = ds_error(DSEEK_ERR_FORMAT, "%s: tensor '%s': data_offsets outside the %llu data bytes", path, name,
                    (unsigned long long)data_size);
      break;
    }
    if (ds_mul_u64(elems, esize, &bytes) || bytes != (uint64_t)(e - b)) {
      st = ds_error(DSEEK_ERR_FORMAT, "%s: tensor '%s': data_offsets span %lld bytes but %s %s needs %llu",
                    path, name, (long long)(e - b), dtype, "shape", (unsigned long long)bytes);
      break;
    }
    t.size = bytes;
    t.data = data + b;
    ranges[n_ranges++] = (range){(uint64_t)b, (uint64_t)e, name};
    if (set->n_tensors == set->cap_tensors) {
      int64_t cap = set->cap_tensors ? set->cap_tensors * 2 : 64;
      ds_st_tensor *nt = ds_realloc(set->tensors, (size_t)cap * sizeof *nt);
      if (!nt) { st = ds_error(DSEEK_ERR_NO_MEMORY, "%s: out of memory", path); break; }
      set->tensors = nt;
      set->cap_tensors = cap;
    }
    set->tensors[set->n_tensors++] = t;
  }
  if (!st && n_ranges > 1) {
    qsort(ranges, (size_t)n_ranges, sizeof *ranges, range_cmp);
    for (int64_t i = 1; i < n_ranges && !st; i++)
      if (ranges[i].begin < ranges[i - 1].end && ranges[i].end > ranges[i].begin)
        st = ds_error(DSEEK_ERR_FORMAT, "%s: tensors '%s' and '%s' overlap", path, ranges[i - 1].name, ranges[i].name);
  }
  ds_free(ranges);
  return st;
}

static dseek_status build_index(ds_st_set *set)
{
  uint64_t cap = 16;
  while (cap < (uint64_t)set->n_tensors * 2) cap *= 2;
  set->index = ds_calloc((size_t)cap, sizeof *set->index);
  if (!set->index) return ds_error(DSEEK_ERR_NO_MEMORY, "safetensors: out of memory");
  set->index_mask = cap - 1;
  for (int64_t i = 0; i < set->n_tensors; i++) {
    uint64_t h = hash_name(set->tensors[i].name) & set->index_mask;
    while (set->index[h]) {
      if (strcmp(set->tensors[set->index[h] - 1].name, set->tensors[i].name) == 0)
        return ds_error(DSEEK_ERR_FORMAT, "%s: tensor '%s' appears twice (also in %s)", set->tensors[i].file,
                        set->tensors[i].name, set->tensors[set->index[h] - 1].file);
      h = (h + 1) & set->index_mask;
    }
    set->index[h] = i + 1;
  }
  return DSEEK_OK;
}

dseek_status ds_st_open_file(const char *path, bool allow_mmap, ds_st_set **out)
{
  ds_st_set *set = ds_calloc(1, sizeof *set);
  if (!set) return ds_error(DSEEK_ERR_NO_MEMORY, "%s: out of memory", path);
  dseek_status st = add_file(set, path, allow_mmap);
  if (!st) st = build_index(set);
  if (st) { ds_st_set_close(set); return st; }
  *out = set;
  return DSEEK_OK;
}

static bool file_exists(const char *path)
{
  FILE *f = ds_fopen(path, "rb");
  if (f) fclose(f);
  return f != NULL;
}

/* The *.safetensors names of a directory: how many, and the last one seen. */
typedef struct st_found {
  char name[1024];
  int n;
} st_found;

static void note_safetensors(const char *name, void *user)
{
  st_found *f = user;
  size_t n = strlen(name);
  if (n > 12 && strcmp(name + n - 12, ".safetensors") == 0) {
    f->n++;
    snprintf(f->name, sizeof f->name, "%s", name);
  }
}

/* Sharded: open every distinct file named in weight_map, then check that each
 * mapped tensor is in the file the index names. */
static dseek_status open_sharded(ds_st_set *set, const char *dir, const char *index_path, bool allow_mmap)
{
  ds_json *idx = NULL;
  dseek_status st = ds_json_parse_file(index_path, &idx);
  if (st) return st;
  const ds_json_value *map = ds_json_get(ds_json_root(idx), "weight_map");
  if (!ds_json_is(map, DS_JSON_OBJECT)) {
    ds_json_free(idx);
    return ds_error(DSEEK_ERR_FORMAT, "%s: \"weight_map\" missing or not an object", index_path);
  }
  char path[4096];
  for (int64_t i = 0; i < map->n && !st; i++) {
    const ds_json_member *mb = &map->u.members[i];
    const char *file;
    size_t flen;
    if (!ds_json_str(&mb->value, &file, &flen) || flen == 0 || strchr(file, '/') || strchr(file, '\\') ||
        strcmp(file, "..") == 0 || strcmp(file, ".") == 0 || strlen(file) != flen) {
      st = ds_error(DSEEK_ERR_FORMAT, "%s: weight_map['%s'] must be a plain file name in the same directory",
                    index_path, mb->key);
      break;
    }
    snprintf(path, sizeof path, "%s/%s", dir, file);
    bool seen = false;
    for (int k = 0; k < set->n_files && !seen; k++) seen = strcmp(set->files[k].path, path) == 0;
    if (!seen) st = add_file(set, path, allow_mmap);
  }
  if (!st) st = build_index(set);
  for (int64_t i = 0; i < map->n && !st; i++) {
    const ds_json_member *mb = &map->u.members[i];
    const ds_st_tensor *t = ds_st_find(set, mb->key);
    snprintf(path, sizeof path, "%s/%s", dir, mb->value.u.str);
    if (!t || strcmp(t->file, path) != 0)
      st = ds_error(DSEEK_ERR_FORMAT, "%s: tensor '%s' is not in %s as weight_map says", index_path, mb->key,
                    mb->value.u.str);
  }
  ds_json_free(idx);
  return st;
}

dseek_status ds_st_open_dir(const char *dir, bool allow_mmap, ds_st_set **out)
{
  char path[4096];
  snprintf(path, sizeof path, "%s/model.safetensors.index.json", dir);
  if (file_exists(path)) {
    ds_st_set *set = ds_calloc(1, sizeof *set);
    if (!set) return ds_error(DSEEK_ERR_NO_MEMORY, "%s: out of memory", dir);
    dseek_status st = open_sharded(set, dir, path, allow_mmap);
    if (st) { ds_st_set_close(set); return st; }
    *out = set;
    return DSEEK_OK;
  }
  snprintf(path, sizeof path, "%s/model.safetensors", dir);
  if (file_exists(path)) return ds_st_open_file(path, allow_mmap, out);
  /* Otherwise the single *.safetensors file of the directory. */
  st_found found = {"", 0};
  if (!ds_dir_each(dir, note_safetensors, &found)) return ds_error(DSEEK_ERR_IO, "%s: cannot open directory", dir);
  if (found.n != 1)
    return ds_error(DSEEK_ERR_FORMAT, "%s: %s", dir, found.n ? "several .safetensors files but no model.safetensors.index.json"
                                                            : "no .safetensors file");
  snprintf(path, sizeof path, "%s/%s", dir, found.name);
  return ds_st_open_file(path, allow_mmap, out);
}
