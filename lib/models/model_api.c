/* model_api.c — the exported model functions: options, load, facts, free. */
#include "models/model.h"

#include <string.h>
#include "core/platform.h"

dseek_status dseek_model_options_init(dseek_model_options *o, size_t size)
{
  if (!o || size < sizeof(size_t) || size > 4096)
    return ds_error(DSEEK_ERR_INVALID_ARG, "dseek_model_options_init: bad struct_size %zu", size);
  memset(o, 0, size);
  o->struct_size = size;
  return DSEEK_OK;
}

dseek_status dseek_model_load(const char *path, const dseek_model_options *opts, dseek_model **out)
{
  static const char fn[] = "dseek_model_load";
  if (!path || !out) return ds_error(DSEEK_ERR_INVALID_ARG, "%s: path and out must not be NULL", fn);
  dseek_model_options o;
  dseek_model_options_init(&o, sizeof o);
  if (opts) {
    if (opts->struct_size < sizeof(size_t) || opts->struct_size > 4096)
      return ds_error(DSEEK_ERR_INVALID_ARG, "%s: options struct_size %zu is not valid", fn, opts->struct_size);
    memcpy(&o, opts, DS_MIN(opts->struct_size, sizeof o));
  }
  if (strlen(path) >= sizeof(((dseek_model *)0)->path))
    return ds_error(DSEEK_ERR_INVALID_ARG, "%s: path too long", fn);
  ds_path_kind kind = ds_path_kind_of(path);
  if (kind == DS_PATH_NONE) return ds_error(DSEEK_ERR_IO, "%s: cannot open: no such file or directory", path);

  dseek_model *m = ds_calloc(1, sizeof *m);
  if (m) m->cache = ds_calloc(1, sizeof *m->cache);
  if (!m || !m->cache) {
    ds_model_free(m);
    return ds_error(DSEEK_ERR_NO_MEMORY, "%s: out of memory", fn);
  }
  strcpy(m->path, path);
  if (o.progress && o.progress(0.0f, o.progress_user_data)) {
    ds_model_free(m);
    return ds_error(DSEEK_ERR_CANCELLED, "%s: load cancelled", path);
  }
  dseek_status s = kind == DS_PATH_DIR ? ds_model_load_hf(m, !o.no_mmap, o.vocab_only != 0)
                                       : ds_model_load_gguf(m, !o.no_mmap, o.vocab_only != 0);
  if (!s && !o.vocab_only) s = ds_model_prepare(m);
  if (!s && o.progress && o.progress(1.0f, o.progress_user_data))
    s = ds_error(DSEEK_ERR_CANCELLED, "%s: load cancelled", path);
  if (s) {
    ds_model_free(m);
    return s;
  }
  if (o.vocab_only) m->arch = DS_ARCH_UNKNOWN;
  *out = m;
  return DSEEK_OK;
}

void dseek_model_free(dseek_model *m) { ds_model_free(m); }

const char *dseek_model_arch(const dseek_model *m) { return m ? m->arch_name : NULL; }

#define MODEL_FACT(fn, expr) \
  int64_t fn(const dseek_model *m) { return !m ? -1 : m->arch == DS_ARCH_UNKNOWN ? 0 : (int64_t)(expr); }
MODEL_FACT(dseek_model_n_vocab, m->hp.n_vocab)
MODEL_FACT(dseek_model_n_embd, m->hp.n_embd)
MODEL_FACT(dseek_model_n_layer, m->hp.n_layer)
MODEL_FACT(dseek_model_n_ctx_train, m->hp.n_ctx_train)
MODEL_FACT(dseek_model_n_params, m->n_params)
MODEL_FACT(dseek_model_weight_bytes, m->weight_bytes)
#undef MODEL_FACT
