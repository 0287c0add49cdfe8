/* model.c — what every architecture's loader shares: owned memory, weight
 * checks and conversions, freeing (the architecture table is arch.c). */
#include "models/model.h"
#include "formats/gguf.h"
#include "formats/safetensors.h"
#include "text/vocab.h"
#include "grammar/grammar.h"
#include "kernels/types.h"

#include <string.h>

void *ds_model_alloc(struct dseek_model *m, size_t bytes)
{
  size_t total;
  if (ds_add_size(bytes, sizeof(ds_owned) + 64, &total)) return NULL;
  ds_owned *o = ds_malloc(total);
  if (!o) return NULL;
  o->next = m->owned;
  m->owned = o;
  /* keep the payload 64-byte aligned for SIMD kernels */
  uintptr_t p = (uintptr_t)(o + 1);
  return (void *)((p + 63) & ~(uintptr_t)63);
}

dseek_status ds_model_weight_to_f32(struct dseek_model *m, ds_weight *w, const char *name)
{
  if (!w->data || w->type == DSEEK_TYPE_F32) return DSEEK_OK;
  const ds_type_traits *t = ds_type_traits_get(w->type);
  int64_t n = w->ne[0] * w->ne[1] * w->ne[2] * w->ne[3];
  if (!t || n % t->block_size != 0)
    return ds_error(DSEEK_ERR_UNSUPPORTED, "%s: tensor '%s' has type %s, which cannot be converted to F32",
                    m->path, name, dseek_type_name(w->type));
  float *f = ds_model_alloc(m, (size_t)n * sizeof(float));
  if (!f) return ds_error(DSEEK_ERR_NO_MEMORY, "%s: out of memory converting '%s'", m->path, name);
  t->to_float(w->data, f, n);
  w->data = f;
  w->type = DSEEK_TYPE_F32;
  return DSEEK_OK;
}

void ds_model_free(struct dseek_model *m)
{
  if (!m) return;
  ds_free(m->layers);
  ds_vocab_free(m->vocab);
  ds_free(m->vocab_error);
  if (m->cache) ds_token_trie_free(atomic_load(&m->cache->token_trie));
  ds_free(m->cache);
  ds_gguf_close(m->gguf);
  ds_st_set_close(m->st);
  for (ds_owned *o = m->owned; o;) {
    ds_owned *next = o->next;
    ds_free(o);
    o = next;
  }
  ds_free(m);
}
