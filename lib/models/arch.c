/* arch.c — the architecture table and what the rest of dseek asks through it. */
#include "models/model.h"

#include <stdio.h>
#include <string.h>

/* Sources: llama.cpp's llama-arch.cpp (architecture names, attn_q_norm /
 * attn_k_norm tensors), llama-model.cpp (rope type NEOX for qwen2 and qwen3,
 * NORM for llama and deepseek2); HF transformers' modeling_qwen2 (q/k/v
 * biases) and modeling_qwen3 (q_norm / k_norm). */
#define DENSE .load_gguf = ds_dense_load_gguf, .hf_config = ds_dense_hf_config, .hf_weights = ds_dense_hf_weights, \
              .forward = ds_forward_build_dense, .kv_layout = ds_dense_kv_layout, .rope = ds_dense_rope_params
static const ds_arch_desc ARCHS[] = {
  {DS_ARCH_QWEN2, "qwen2", {"qwen2", NULL}, .qkv_bias = true, .gguf_rope_mode = DS_ROPE_NEOX, DENSE},
  {DS_ARCH_QWEN3, "qwen3", {"qwen3", NULL}, .qk_norm = true, .gguf_rope_mode = DS_ROPE_NEOX, DENSE},
  {DS_ARCH_LLAMA, "llama", {"llama", NULL}, .gguf_rope_mode = DS_ROPE_NORMAL, DENSE},
  {DS_ARCH_DEEPSEEK2, "deepseek2", {"deepseek_v2", "deepseek_v3"}, .gguf_rope_mode = DS_ROPE_NORMAL,
   .load_gguf = ds_model_load_deepseek2_gguf, .hf_config = ds_model_deepseek2_hf_config,
   .hf_weights = ds_model_deepseek2_hf_weights, .forward = ds_forward_build_deepseek2,
   .forward_mtp = ds_forward_build_deepseek2_mtp, .has_mtp = ds_ds2_has_mtp, .kv_layout = ds_ds2_kv_layout,
   .rope = ds_ds2_rope_params},
};
#undef DENSE

const ds_arch_desc *ds_arch_by_gguf_name(const char *name)
{
  for (size_t i = 0; name && i < DS_ARRAY_LEN(ARCHS); i++)
    if (strcmp(ARCHS[i].gguf_name, name) == 0) return &ARCHS[i];
  return NULL;
}

const ds_arch_desc *ds_arch_by_hf_type(const char *type)
{
  for (size_t i = 0; type && i < DS_ARRAY_LEN(ARCHS); i++)
    for (int k = 0; k < 2; k++)
      if (ARCHS[i].hf_types[k] && strcmp(ARCHS[i].hf_types[k], type) == 0) return &ARCHS[i];
  return NULL;
}

const ds_arch_desc *ds_arch_get(ds_arch arch)
{
  for (size_t i = 0; i < DS_ARRAY_LEN(ARCHS); i++)
    if (ARCHS[i].arch == arch) return &ARCHS[i];
  return NULL;
}

void ds_arch_supported_list(bool hf, char *buf, size_t size)
{
  size_t used = 0;
  if (size) buf[0] = 0;
  for (size_t i = 0; i < DS_ARRAY_LEN(ARCHS); i++)
    for (int k = 0; k < (hf ? 2 : 1); k++) {
      const char *name = hf ? ARCHS[i].hf_types[k] : ARCHS[i].gguf_name;
      if (!name || used >= size) continue;
      int w = snprintf(buf + used, size - used, "%s%s", used ? ", " : "", name);
      if (w > 0) used += (size_t)w;
    }
}

/* The row of a model that can evaluate (callers check for vocab-only first). */
static const ds_arch_desc *desc_of(const struct dseek_model *m, const char *what)
{
  const ds_arch_desc *d = m ? ds_arch_get(m->arch) : NULL;
  if (!d) ds_error(DSEEK_ERR_INVALID_ARG, "%s: the model has no architecture (loaded vocab-only)", what);
  return d;
}

dseek_status ds_forward_build(const struct dseek_model *m, const ds_kv_cache *kv, int64_t T, bool all_logits,
                              int max_threads, ds_forward *out)
{
  memset(out, 0, sizeof *out);
  const ds_arch_desc *d = desc_of(m, "forward");
  if (!d) return DSEEK_ERR_INVALID_ARG;
  return d->forward(m, kv, T, all_logits, max_threads, out);
}

dseek_status ds_forward_build_mtp(const struct dseek_model *m, const ds_kv_cache *kv, int64_t T, bool all_logits,
                                  int max_threads, ds_forward *out)
{
  memset(out, 0, sizeof *out);
  const ds_arch_desc *d = desc_of(m, "MTP forward");
  if (!d) return DSEEK_ERR_INVALID_ARG;
  if (!d->forward_mtp || !ds_model_has_mtp(m))
    return ds_error(DSEEK_ERR_UNSUPPORTED, "%s: the model has no MTP layer", m->path);
  return d->forward_mtp(m, kv, T, all_logits, max_threads, out);
}

bool ds_model_has_mtp(const struct dseek_model *m)
{
  const ds_arch_desc *d = m ? ds_arch_get(m->arch) : NULL;
  return d && d->has_mtp && d->has_mtp(m);
}

void ds_model_kv_layout(const struct dseek_model *m, ds_kv_layout *l)
{
  memset(l, 0, sizeof *l);
  const ds_arch_desc *d = ds_arch_get(m->arch);
  if (d) d->kv_layout(m, l);
}

int64_t ds_model_kv_values_per_token_layer(const struct dseek_model *m)
{
  ds_kv_layout l;
  ds_model_kv_layout(m, &l);
  return l.n_head * (l.k_head + l.v_head);
}

void ds_model_rope(const struct dseek_model *m, ds_rope_params *rp)
{
  const ds_arch_desc *d = ds_arch_get(m->arch);
  if (d) d->rope(m, rp);
  else ds_rope_params_init(rp, 0);
}
