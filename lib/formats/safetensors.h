/*
 * safetensors.h — Hugging Face safetensors files, single or sharded.
 *
 * A file is: u64 little-endian header length N, N bytes of JSON
 *   {"name": {"dtype": "BF16", "shape": [out, in], "data_offsets": [begin, end]},
 *    ..., "__metadata__": {...}}
 * then the data; offsets are relative to the byte after the header. A sharded
 * checkpoint has model.safetensors.index.json whose "weight_map" maps each
 * tensor name to the shard file that holds it.
 *
 * Everything is validated at open: the header length against the file, each
 * dtype, shape and offset range (end - begin = elements x element size, inside
 * the data, no overlap), shard names (plain file names in the same directory:
 * no '/', no "..").
 */
#ifndef DS_FORMATS_SAFETENSORS_H
#define DS_FORMATS_SAFETENSORS_H

#include "core/ds.h"
#include "core/platform.h"

#define DS_ST_MAX_DIMS 4
#define DS_ST_TYPE_UNSUPPORTED (-1)   /* a dtype dseek does not compute with (e.g. U8, BOOL) */

typedef struct ds_st_tensor {
  const char *name;          /* owned by the set */
  const char *dtype;         /* as written: "BF16", "F8_E4M3", ... */
  int type;                  /* dseek_type, or DS_ST_TYPE_UNSUPPORTED */
  int n_dims;                /* 0..4 */
  int64_t shape[DS_ST_MAX_DIMS];   /* as in the file: outermost first */
  uint64_t size;             /* bytes */
  const uint8_t *data;
  const char *file;          /* path of the file holding it */
} ds_st_tensor;

typedef struct ds_st_set ds_st_set;

/* Open the safetensors of a checkpoint directory: model.safetensors.index.json
 * (sharded) if present, else model.safetensors, else the only *.safetensors
 * file. Errors: DSEEK_ERR_IO, DSEEK_ERR_FORMAT (file and field named). */
dseek_status ds_st_open_dir(const char *dir, bool allow_mmap, ds_st_set **out);

/* Open one .safetensors file. */
dseek_status ds_st_open_file(const char *path, bool allow_mmap, ds_st_set **out);

void ds_st_set_close(ds_st_set *set);

const ds_st_tensor *ds_st_find(const ds_st_set *set, const char *name);   /* or NULL */
int64_t ds_st_count(const ds_st_set *set);
const ds_st_tensor *ds_st_at(const ds_st_set *set, int64_t i);

#endif
