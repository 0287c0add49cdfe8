/* dense_load.c — the per-layer tensor list of the dense architectures
 * (qwen2, qwen3, llama; lib/models/README.md §2-3), shared by the GGUF and
 * HF loaders, which supply only the names (model_gguf.c, model_hf.c). */
#include "models/model.h"

dseek_status ds_dense_load_layers(struct dseek_model *m, const char *const names[DS_DENSE_LAYER_TENSORS])
{
  const ds_hparams *hp = &m->hp;
  const ds_arch_desc *desc = ds_arch_get(m->arch);
  const int64_t d = hp->n_embd, q = hp->n_head * hp->head_dim, kv = hp->n_head_kv * hp->head_dim;
  const int64_t Dh = hp->head_dim, F = hp->n_ff;
  const bool bias = desc->qkv_bias, qk_norm = desc->qk_norm;
  m->layers = ds_calloc((size_t)hp->n_layer, sizeof *m->layers);
  if (!m->layers) return ds_error(DSEEK_ERR_NO_MEMORY, "%s: out of memory", m->path);
  for (int il = 0; il < (int)hp->n_layer; il++) {
    ds_dense_layer *L = &m->layers[il];
    /* in the order of names: the weight, required, small (f32), shape [ne0, ne1] */
    const struct { ds_weight *w; bool required, small; int64_t ne0, ne1; } t[DS_DENSE_LAYER_TENSORS] = {
      {&L->attn_norm, true, true, d, 1},   {&L->wq, true, false, d, q},          {&L->wk, true, false, d, kv},
      {&L->wv, true, false, d, kv},        {&L->wo, true, false, q, d},          {&L->bq, bias, true, q, 1},
      {&L->bk, bias, true, kv, 1},         {&L->bv, bias, true, kv, 1},          {&L->q_norm, qk_norm, true, Dh, 1},
      {&L->k_norm, qk_norm, true, Dh, 1},  {&L->ffn_norm, true, true, d, 1},     {&L->ffn_gate, true, false, d, F},
      {&L->ffn_up, true, false, d, F},     {&L->ffn_down, true, false, F, d},
    };
    for (int k = 0; k < DS_DENSE_LAYER_TENSORS; k++) {
      dseek_status st = ds_model_fetch(m, t[k].w, t[k].required, t[k].small, t[k].ne0, t[k].ne1, 1, names[k], il, 0);
      if (st) return st;
    }
  }
  return DSEEK_OK;
}
