/* deepseek2_load.c — checks and conversions shared by the deepseek2 loaders
 * (see deepseek2_load.h; lib/models/README.md §1). */
#include "models/deepseek2_load.h"
#include "kernels/fp8.h"
#include "kernels/rope.h"
#include "kernels/types.h"

#include <math.h>
#include <string.h>

dseek_status ds_ds2_finish_hparams(struct dseek_model *m, const char *source)
{
  ds_hparams *hp = &m->hp;
  ds_ds2_hparams *d2 = &m->ds2;
  const int64_t E = d2->n_expert;
#define BAD(...) return ds_error(DSEEK_ERR_FORMAT, __VA_ARGS__)
  if (d2->kv_lora_rank < 1 || d2->qk_nope < 1 || d2->qk_rope < 2 || d2->qk_rope % 2 || d2->v_head < 1)
    BAD("%s: deepseek2 needs kv_lora_rank, qk_nope, v_head >= 1 and an even qk_rope >= 2 (got %lld, %lld, "
        "%lld, %lld)", source, (long long)d2->kv_lora_rank, (long long)d2->qk_nope, (long long)d2->v_head,
        (long long)d2->qk_rope);
  if (d2->q_lora_rank < 0 || d2->n_dense_lead < 0 || d2->n_dense_lead > hp->n_layer)
    BAD("%s: q_lora_rank %lld / leading dense layers %lld out of range", source, (long long)d2->q_lora_rank,
        (long long)d2->n_dense_lead);
  if (E > 0) {
    if (E > 1 << 16 || d2->n_expert_used < 1 || d2->n_expert_used > E || d2->n_ff_exp < 1 ||
        d2->n_expert_shared < 0 || d2->n_expert_shared > 1 << 10)
      BAD("%s: experts: %lld routed, %lld used, %lld shared, width %lld are inconsistent", source, (long long)E,
          (long long)d2->n_expert_used, (long long)d2->n_expert_shared, (long long)d2->n_ff_exp);
    if (d2->n_group < 1 || E % d2->n_group || d2->n_group_used < 1 || d2->n_group_used > d2->n_group ||
        d2->n_expert_used > E / d2->n_group * d2->n_group_used || (d2->n_group > 1 && E / d2->n_group < 2))
      BAD("%s: expert groups: %lld experts in %lld groups keeping %lld cannot give %lld experts", source,
          (long long)E, (long long)d2->n_group, (long long)d2->n_group_used, (long long)d2->n_expert_used);
    if (d2->gating != DS_MOE_SOFTMAX && d2->gating != DS_MOE_SIGMOID)
      BAD("%s: expert gating function %d is not softmax (1) or sigmoid (2)", source, d2->gating);
    if (!isfinite(d2->routed_scale)) BAD("%s: routed scaling factor is not finite", source);
  } else if (d2->n_dense_lead < hp->n_layer) {
    d2->n_dense_lead = hp->n_layer;   /* no experts: every layer is dense */
  }
  if (d2->n_nextn < 0 || d2->n_nextn > 16) BAD("%s: %lld MTP layers", source, (long long)d2->n_nextn);
  if (d2->yarn_factor > 1.0f &&
      (d2->yarn_orig_ctx < 1 || !(d2->yarn_beta_fast > 0) || !(d2->yarn_beta_slow > 0) ||
       !isfinite(d2->yarn_mscale) || !isfinite(d2->yarn_mscale_all_dim)))
    BAD("%s: YaRN needs original context >= 1, positive betas and finite mscales", source);
#undef BAD
  hp->head_dim = d2->qk_nope + d2->qk_rope;
  hp->n_rot = d2->qk_rope;
  hp->n_head_kv = 1;   /* one latent row per token */
  hp->rope_mode = DS_ROPE_NORMAL;   /* adjacent pairs, in GGUF and (equivalently for q.k) HF */
  /* softmax scale: mscale^2 / sqrt(qk_nope + qk_rope), mscale from mscale_all_dim */
  double ms = d2->yarn_factor > 1.0f ? ds_yarn_mscale(d2->yarn_factor, d2->yarn_mscale_all_dim) : 1.0;
  d2->kq_scale = (float)(ms * ms / sqrt((double)hp->head_dim));
  d2->mha_min_batch = DS_DS2_MHA_MIN_BATCH;

  /* n_layer <= 4096 and n_nextn <= 16 (loaders' ranges): the sizes cannot overflow */
  m->ds2_layers = ds_model_alloc(m, (size_t)hp->n_layer * sizeof *m->ds2_layers);
  if (m->ds2_layers) memset(m->ds2_layers, 0, (size_t)hp->n_layer * sizeof *m->ds2_layers);
  if (d2->n_nextn > 0) {
    m->ds2_nextn = ds_model_alloc(m, (size_t)d2->n_nextn * sizeof *m->ds2_nextn);
    if (m->ds2_nextn) memset(m->ds2_nextn, 0, (size_t)d2->n_nextn * sizeof *m->ds2_nextn);
  }
  if (!m->ds2_layers || (d2->n_nextn > 0 && !m->ds2_nextn))
    return ds_error(DSEEK_ERR_NO_MEMORY, "%s: out of memory", source);
  for (int64_t il = 0; il < hp->n_layer; il++) m->ds2_layers[il].moe = il >= d2->n_dense_lead;
  for (int64_t i = 0; i < d2->n_nextn; i++) m->ds2_nextn[i].block.moe = E > 0;
  return DSEEK_OK;
}

dseek_status ds_ds2_split_kv_b(struct dseek_model *m, const ds_weight *kv_b, const char *name, ds_ds2_layer *L)
{
  const int64_t C = m->ds2.kv_lora_rank, nope = m->ds2.qk_nope, v = m->ds2.v_head, H = m->hp.n_head;
  const int64_t rows = H * (nope + v);
  const ds_type_traits *tr = ds_type_traits_get(kv_b->type);
  if (!tr || !tr->to_float || C % tr->block_size)
    return ds_error(DSEEK_ERR_UNSUPPORTED, "%s: tensor '%s' has type %s, which dseek cannot decode", m->path,
                    name, dseek_type_name(kv_b->type));
  uint64_t row_bytes;
  if (!ds_row_size(kv_b->type, C, &row_bytes))
    return ds_error(DSEEK_ERR_FORMAT, "%s: tensor '%s': bad row size", m->path, name);
  size_t n = (size_t)(H * (nope + v) * C);
  float *k_b = ds_model_alloc(m, n * sizeof(float)), *tmp = ds_malloc((size_t)C * sizeof(float));
  if (!k_b || !tmp) {
    ds_free(tmp);
    return ds_error(DSEEK_ERR_NO_MEMORY, "%s: out of memory splitting '%s'", m->path, name);
  }
  float *v_b = k_b + H * nope * C;
  int64_t scale_cols = (C + DS_FP8_BLOCK - 1) / DS_FP8_BLOCK;
  for (int64_t r = 0; r < rows; r++) {
    const uint8_t *src = (const uint8_t *)kv_b->data + (uint64_t)r * row_bytes;
    if (kv_b->scale) ds_fp8_dequant_row(src, kv_b->scale + (r / DS_FP8_BLOCK) * scale_cols, C, tmp);
    else tr->to_float(src, tmp, C);
    int64_t h = r / (nope + v), i = r % (nope + v);
    if (i < nope)
      for (int64_t c = 0; c < C; c++) k_b[(h * C + c) * nope + i] = tmp[c];
    else
      memcpy(v_b + (h * v + (i - nope)) * C, tmp, (size_t)C * sizeof(float));
  }
  ds_free(tmp);
  L->wk_b = (ds_weight){.type = DSEEK_TYPE_F32, .n_dims = 3, .ne = {nope, C, H, 1}, .data = k_b};
  L->wv_b = (ds_weight){.type = DSEEK_TYPE_F32, .n_dims = 3, .ne = {C, v, H, 1}, .data = v_b};
  return DSEEK_OK;
}

dseek_status ds_ds2_make_wk_u(struct dseek_model *m, ds_ds2_layer *L, int il)
{
  const ds_weight *kb = &L->wk_b;
  const int64_t C = m->ds2.kv_lora_rank, nope = m->ds2.qk_nope, H = m->hp.n_head;
  const ds_type_traits *tr = ds_type_traits_get(kb->type);
  uint64_t row_bytes;
  /* FP8 stacks are split to f32 by the loader; any other undecodable one keeps the absorbed form */
  if (kb->scale || !tr || !tr->to_float || nope % tr->block_size || !ds_row_size(kb->type, nope, &row_bytes))
    return DSEEK_OK;
  /* float stacks stay exact (f32); quantized ones become Q8_0, which the
   * int8 products read (one more rounding of values already quantized) */
  const bool quantized = kb->type != DSEEK_TYPE_F32 && kb->type != DSEEK_TYPE_F16 && kb->type != DSEEK_TYPE_BF16;
  const int type = quantized && C % 32 == 0 ? DSEEK_TYPE_Q8_0 : DSEEK_TYPE_F32;
  const ds_type_traits *to = ds_type_traits_get(type);
  uint64_t out_row;
  if (!to || !to->from_float || !ds_row_size(type, C, &out_row)) return DSEEK_OK;
  uint8_t *ku = ds_model_alloc(m, (size_t)(out_row * (uint64_t)(H * nope)));
  float *col = ds_malloc((size_t)(nope * C + nope) * sizeof(float)), *tmp = col ? col + nope * C : NULL;
  if (!ku || !col) {
    ds_free(col);
    return ds_error(DSEEK_ERR_NO_MEMORY, "%s: out of memory transposing layer %d's attn_k_b", m->path, il);
  }
  /* wk_b row (c, h) holds W_UK[h][:, c]; wk_u row (d, h) holds W_UK[h][d, :] */
  for (int64_t h = 0; h < H; h++) {
    for (int64_t c = 0; c < C; c++) {
      tr->to_float((const uint8_t *)kb->data + (uint64_t)(h * C + c) * row_bytes, tmp, nope);
      for (int64_t d = 0; d < nope; d++) col[d * C + c] = tmp[d];
    }
    for (int64_t d = 0; d < nope; d++) to->from_float(col + d * C, ku + (uint64_t)(h * nope + d) * out_row, C);
  }
  ds_free(col);
  L->wk_u = (ds_weight){.type = type, .n_dims = 3, .ne = {C, nope, H, 1}, .data = ku};
  return DSEEK_OK;
}

/* MTP layer il = n_layer + i: eh_proj, enorm, hnorm, shared_head norm and
 * head, embed_tokens and a full block, optional as a whole (a file may
 * declare nextn layers and ship without them). */
static dseek_status load_nextn(struct dseek_model *m, const ds_ds2_format *f, ds_ds2_nextn *x, int il)
{
  const int64_t d = m->hp.n_embd, V = m->hp.n_vocab;
  const char *const *n = f->nextn;
  dseek_status st;
  if ((st = ds_model_fetch(m, &x->eh_proj, false, false, 2 * d, d, 1, n[0], il, 0))) return st;
  if (!x->eh_proj.data) {
    ds_log(DSEEK_LOG_INFO, "%s: no MTP tensors for layer %d; speculative MTP unavailable", m->path, il);
    return DSEEK_OK;
  }
  if ((st = f->load_block(m, &x->block, il)) ||
      (st = ds_model_fetch(m, &x->enorm, true, true, d, 1, 1, n[1], il, 0)) ||
      (st = ds_model_fetch(m, &x->hnorm, true, true, d, 1, 1, n[2], il, 0)) ||
      (st = ds_model_fetch(m, &x->shared_head_norm, false, true, d, 1, 1, n[3], il, 0)) ||
      (st = ds_model_fetch(m, &x->shared_head_head, false, false, d, V, 1, n[4], il, 0)) ||
      (st = ds_model_fetch(m, &x->embed_tokens, false, false, d, V, 1, n[5], il, 0)))
    return st;
  return DSEEK_OK;
}

dseek_status ds_ds2_load_weights(struct dseek_model *m, const ds_ds2_format *f, bool output_required)
{
  const int64_t d = m->hp.n_embd, V = m->hp.n_vocab;
  dseek_status st;
  if ((st = ds_model_fetch(m, &m->tok_embd, true, false, d, V, 1, f->embd, 0, 0)) ||
      (st = ds_model_fetch(m, &m->output_norm, true, true, d, 1, 1, f->output_norm, 0, 0)) ||
      (st = ds_model_fetch(m, &m->output, output_required, false, d, V, 1, f->output, 0, 0)))
    return st;
  if (!m->output.data) m->output = m->tok_embd;   /* tied */
  for (int il = 0; il < (int)m->hp.n_layer; il++)
    if ((st = f->load_block(m, &m->ds2_layers[il], il)) || (st = ds_ds2_make_wk_u(m, &m->ds2_layers[il], il)))
      return st;
  for (int i = 0; i < (int)m->ds2.n_nextn; i++)
    if ((st = load_nextn(m, f, &m->ds2_nextn[i], (int)m->hp.n_layer + i))) return st;
  return DSEEK_OK;
}
