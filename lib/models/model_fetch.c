/*
 * model_fetch.c — the one weight fetch every loader (model_gguf.c,
 * model_hf.c, deepseek2_load_gguf.c, deepseek2_load_hf.c) calls with its
 * architecture's tensor names and shapes:
 *
 *   find the tensor in the model's open file set: a GGUF tensor (ne as
 *     written), or a safetensors entry whose HF shape [out, in] becomes
 *     ne [in, out] (the same bytes, lib/models/README.md "Notation");
 *   refuse a dtype dseek cannot read; attach an F8_E4M3 weight's
 *     "<name>_scale_inv" block-scale grid (README §6.4);
 *   make small tensors (norms, biases, router) f32;
 *   check the shape and that the type can be computed with;
 *   add it to the model's parameter and byte counts (bytes as stored).
 */
#include "models/model.h"
#include "formats/gguf.h"
#include "formats/safetensors.h"
#include "kernels/fp8.h"
#include "kernels/types.h"

#include <stdio.h>
#include <string.h>

/* Bytes of w as stored (FP8: with its f32 scale grid). */
static uint64_t stored_bytes(const ds_weight *w)
{
  uint64_t rows = (uint64_t)(w->ne[1] * w->ne[2] * w->ne[3]), bytes = 0;
  ds_row_size(w->type, w->ne[0], &bytes);
  bytes *= rows;
  if (w->scale) {
    int64_t sr, sc;
    ds_fp8_scale_shape(w->ne[1], w->ne[0], &sr, &sc);
    bytes += (uint64_t)(sr * sc) * sizeof(float) * (uint64_t)(w->ne[2] * w->ne[3]);
  }
  return bytes;
}

static void find_gguf(const struct dseek_model *m, const char *name, ds_weight *w)
{
  const ds_gguf_tensor *t = ds_gguf_tensor_get(m->gguf, name);
  if (!t) return;
  w->type = t->type;
  w->n_dims = t->n_dims;
  for (int i = 0; i < 4; i++) w->ne[i] = t->ne[i];
  w->data = (void *)t->data;
}

/* The scale grid of FP8 weight `name`, expected shape [ne0, ne1], as f32. */
static dseek_status fp8_scale(struct dseek_model *m, const char *name, int64_t ne0, int64_t ne1, ds_weight *w)
{
  char sname[192];
  snprintf(sname, sizeof sname, "%s_scale_inv", name);
  const ds_st_tensor *s = ds_st_find(m->st, sname);
  int64_t sr = 0, sc = 0;
  ds_fp8_scale_shape(ne1, ne0, &sr, &sc);
  if (!s) return ds_error(DSEEK_ERR_FORMAT, "%s: FP8 tensor '%s' has no '%s'", m->path, name, sname);
  if (s->type == DS_ST_TYPE_UNSUPPORTED || s->n_dims != 2 || s->shape[0] != sr || s->shape[1] != sc)
    return ds_error(DSEEK_ERR_FORMAT, "%s: tensor '%s' must be a float [%lld, %lld] block-scale grid", m->path,
                    sname, (long long)sr, (long long)sc);
  ds_weight sw = {.type = s->type, .n_dims = 2, .ne = {sc, sr, 1, 1}, .data = (void *)s->data};
  dseek_status st = ds_model_weight_to_f32(m, &sw, sname);
  if (!st) w->scale = sw.data;
  return st;
}

static dseek_status find_st(struct dseek_model *m, const char *name, bool small, int64_t ne0, int64_t ne1,
                            ds_weight *w)
{
  const ds_st_tensor *t = ds_st_find(m->st, name);
  if (!t) return DSEEK_OK;
  if (t->type == DS_ST_TYPE_UNSUPPORTED)
    return ds_error(DSEEK_ERR_UNSUPPORTED, "%s: tensor '%s' has dtype %s, which dseek cannot compute with", t->file,
                    name, t->dtype);
  w->type = t->type;
  w->n_dims = t->n_dims ? t->n_dims : 1;
  for (int i = 0; i < 4; i++) w->ne[i] = 1;
  for (int i = 0; i < t->n_dims; i++) w->ne[i] = t->shape[t->n_dims - 1 - i];
  w->data = (void *)t->data;
  if (w->type != DSEEK_TYPE_F8_E4M3) return DSEEK_OK;
  if (small)
    return ds_error(DSEEK_ERR_UNSUPPORTED, "%s: tensor '%s' is FP8 where dseek expects a small f32 vector", m->path,
                    name);
  return fp8_scale(m, name, ne0, ne1, w);
}

dseek_status ds_model_fetch(struct dseek_model *m, ds_weight *w, bool required, bool small, int64_t ne0,
                            int64_t ne1, int64_t ne2, const char *fmt, int il, int ie)
{
  char name[160];
  snprintf(name, sizeof name, fmt, il, ie);
  memset(w, 0, sizeof *w);
  dseek_status st = m->gguf ? (find_gguf(m, name, w), DSEEK_OK) : find_st(m, name, small, ne0, ne1, w);
  if (st) return st;
  if (!w->data) return required ? ds_error(DSEEK_ERR_FORMAT, "%s: tensor '%s' missing", m->path, name) : DSEEK_OK;
  const uint64_t bytes = stored_bytes(w);
  if (small && (st = ds_model_weight_to_f32(m, w, name))) return st;
  if (w->ne[0] != ne0 || w->ne[1] != ne1 || w->ne[2] != ne2 || w->ne[3] != 1) {
    char want[80];
    if (ne2 == 1) snprintf(want, sizeof want, "[%lld, %lld]", (long long)ne0, (long long)ne1);
    else snprintf(want, sizeof want, "[%lld, %lld, %lld]", (long long)ne0, (long long)ne1, (long long)ne2);
    return ds_error(DSEEK_ERR_FORMAT, "%s: tensor '%s' has shape [%lld, %lld, %lld, %lld], expected %s", m->path,
                    name, (long long)w->ne[0], (long long)w->ne[1], (long long)w->ne[2], (long long)w->ne[3], want);
  }
  if (!ds_type_traits_get(w->type))
    return ds_error(DSEEK_ERR_UNSUPPORTED, "%s: tensor '%s' has type %s, which dseek cannot compute with", m->path,
                    name, dseek_type_name(w->type));
  m->n_params += (uint64_t)(w->ne[0] * w->ne[1] * w->ne[2]);
  m->weight_bytes += bytes;
  return DSEEK_OK;
}
