/*
 * deepseek2_load_gguf.c — DeepSeek-V2/V3/R1 from GGUF (arch "deepseek2") as
 * llama.cpp's converter writes it (lib/models/README.md §1.8; tests/reference/README.md).
 *
 * Keys (deepseek2.*): block_count (main layers + nextn_predict_layers),
 * context_length, embedding_length, feed_forward_length (dense FFN),
 * attention.{head_count, layer_norm_rms_epsilon, q_lora_rank (absent: plain
 * attn_q), kv_lora_rank, key_length, value_length, key_length_mla,
 * value_length_mla}, rope.{dimension_count (= qk_rope), freq_base},
 * rope.scaling.{type "yarn", factor, original_context_length, yarn_beta_fast,
 * yarn_beta_slow, yarn_log_multiplier (= 0.1 mscale_all_dim)},
 * leading_dense_block_count, expert_{feed_forward_length, count, used_count,
 * shared_count, weights_scale, weights_norm, gating_func (1 softmax,
 * 2 sigmoid; absent: softmax), group_count, group_used_count},
 * nextn_predict_layers.
 *
 * Head sizes: newer files (split attn_k_b/attn_v_b) write key_length =
 * kv_lora + rope and value_length = kv_lora (the absorbed view) and the real
 * sizes in key_length_mla = nope + rope, value_length_mla = v; older files
 * (fused attn_kv_b) only key_length = nope + rope, value_length = v.
 *
 * YaRN: llama.cpp reads the log multiplier as 0.1 mscale_all_dim and uses
 * mscale = mscale_all_dim for deepseek2 (cos/sin factor 1).
 *
 * Group-limited routing (expert_group_count > 1): a GGUF has no topk_method,
 * so the gating function decides how a group is scored, as DeepSeek's own code
 * does (DeepSeek-V3 inference/model.py, Gate.forward; HF modeling_deepseek.py
 * MoEGate):
 *   softmax (V2, V2.5: group_limited_greedy)  group score = max of its experts'
 *                                             probabilities
 *   sigmoid (V3, R1: noaux_tc)                group score = sum of its top-2
 *                                             biased selection scores
 * model.py keys the rule on the gate's correction bias, which every sigmoid
 * release has and no softmax release has; the HF loader keys it on
 * topk_method, falling back to the same gating rule. llama.cpp's
 * build_moe_ffn sums the top-2 for every file, which routes the 236B V2 by a
 * rule it was not trained with: not followed here.
 */
#include "models/deepseek2_load.h"
#include "formats/gguf.h"
#include "kernels/types.h"

#include <stdio.h>
#include <string.h>

/* "blk.%d.<suffix>" (or a global name) with shape [ne0, ne1, ne2] (ne2 = 1
 * for matrices and vectors; ds_model_fetch, model_fetch.c). Small tensors
 * (norms, router, bias) become f32. */
static dseek_status fetch(struct dseek_model *m, ds_weight *w, bool required, bool small, int64_t ne0,
                          int64_t ne1, int64_t ne2, const char *fmt, int il)
{
  return ds_model_fetch(m, w, required, small, ne0, ne1, ne2, fmt, il, 0);
}

static dseek_status read_hparams(struct dseek_model *m)
{
  const ds_gguf *g = m->gguf;
  ds_hparams *hp = &m->hp;
  ds_ds2_hparams *d2 = &m->ds2;
  char key[128];
  dseek_status st;
  int64_t v, block_count = 0, key_len = 0, val_len = 0, key_mla = 0, val_mla = 0;
#define KEY(suffix) (snprintf(key, sizeof key, "deepseek2." suffix), key)
#define INT(dst, suffix, lo, hi, required)                                              \
  do {                                                                                 \
    v = (dst);                                                                         \
    if ((st = ds_gguf_get_int_range(g, KEY(suffix), lo, hi, &v, required))) return st; \
    (dst) = v;                                                                         \
  } while (0)
  INT(hp->n_ctx_train, "context_length", 1, INT32_MAX, true);
  INT(hp->n_embd, "embedding_length", 1, 1 << 20, true);
  INT(block_count, "block_count", 1, 4096, true);
  INT(hp->n_ff, "feed_forward_length", 1, 1 << 24, true);
  INT(hp->n_head, "attention.head_count", 1, 1 << 14, true);
  INT(d2->q_lora_rank, "attention.q_lora_rank", 0, 1 << 20, false);
  INT(d2->kv_lora_rank, "attention.kv_lora_rank", 1, 1 << 20, true);
  INT(d2->qk_rope, "rope.dimension_count", 2, 1 << 16, true);
  INT(key_len, "attention.key_length", 1, 1 << 20, true);
  INT(val_len, "attention.value_length", 1, 1 << 20, true);
  INT(key_mla, "attention.key_length_mla", 0, 1 << 20, false);
  INT(val_mla, "attention.value_length_mla", 0, 1 << 20, false);
  INT(d2->n_dense_lead, "leading_dense_block_count", 0, 4096, false);
  INT(d2->n_expert, "expert_count", 0, 1 << 16, false);
  INT(d2->n_expert_used, "expert_used_count", 0, 1 << 16, d2->n_expert > 0);
  INT(d2->n_ff_exp, "expert_feed_forward_length", 0, 1 << 24, d2->n_expert > 0);
  INT(d2->n_expert_shared, "expert_shared_count", 0, 1 << 10, false);
  d2->n_group = d2->n_group_used = 1;
  INT(d2->n_group, "expert_group_count", 1, 1 << 16, false);
  INT(d2->n_group_used, "expert_group_used_count", 1, 1 << 16, false);
  int64_t gating = DS_MOE_SOFTMAX;
  INT(gating, "expert_gating_func", 0, 2, false);
  INT(d2->n_nextn, "nextn_predict_layers", 0, 16, false);
#undef INT
  d2->gating = gating == 0 ? DS_MOE_SOFTMAX : (int)gating;   /* 0 (none): softmax, as llama.cpp */
  d2->group_top2sum = d2->gating == DS_MOE_SIGMOID;   /* see the rule above */
  if (d2->n_nextn >= block_count)
    return ds_error(DSEEK_ERR_FORMAT, "%s: nextn_predict_layers %lld leaves no main layer of %lld", m->path,
                    (long long)d2->n_nextn, (long long)block_count);
  hp->n_layer = block_count - d2->n_nextn;
  if (key_mla) {
    if (!val_mla) return ds_error(DSEEK_ERR_FORMAT, "%s: key_length_mla without value_length_mla", m->path);
    key_len = key_mla;
    val_len = val_mla;
  }
  d2->qk_nope = key_len - d2->qk_rope;
  d2->v_head = val_len;
  d2->norm_topk = false;
  d2->routed_scale = 1.0f;
  hp->norm_eps = 1e-6f;
  hp->rope_theta = 10000.0f;
  if ((st = ds_gguf_get_bool(g, KEY("expert_weights_norm"), &d2->norm_topk, false)) ||
      (st = ds_gguf_get_f32(g, KEY("expert_weights_scale"), &d2->routed_scale, false)) ||
      (st = ds_gguf_get_f32(g, KEY("attention.layer_norm_rms_epsilon"), &hp->norm_eps, true)) ||
      (st = ds_gguf_get_f32(g, KEY("rope.freq_base"), &hp->rope_theta, false)))
    return st;
  if (!(hp->norm_eps > 0) || !(hp->rope_theta > 0))
    return ds_error(DSEEK_ERR_FORMAT, "%s: layer_norm_rms_epsilon and rope.freq_base must be positive", m->path);

  const char *type = NULL;
  if ((st = ds_gguf_get_str(g, KEY("rope.scaling.type"), &type, NULL, false))) return st;
  d2->yarn_factor = 1.0f;
  if (type && strcmp(type, "yarn") == 0) {
    float log_mul = 0.0f;
    d2->yarn_beta_fast = 32.0f;
    d2->yarn_beta_slow = 1.0f;
    if ((st = ds_gguf_get_f32(g, KEY("rope.scaling.factor"), &d2->yarn_factor, true)) ||
        (st = ds_gguf_get_int_range(g, KEY("rope.scaling.original_context_length"), 1, INT32_MAX,
                                    &d2->yarn_orig_ctx, true)) ||
        (st = ds_gguf_get_f32(g, KEY("rope.scaling.yarn_beta_fast"), &d2->yarn_beta_fast, false)) ||
        (st = ds_gguf_get_f32(g, KEY("rope.scaling.yarn_beta_slow"), &d2->yarn_beta_slow, false)) ||
        (st = ds_gguf_get_f32(g, KEY("rope.scaling.yarn_log_multiplier"), &log_mul, false)))
      return st;
    d2->yarn_mscale = d2->yarn_mscale_all_dim = log_mul / 0.1f;
  } else if (type && strcmp(type, "none") != 0) {
    return ds_error(DSEEK_ERR_UNSUPPORTED, "%s: rope scaling '%s' is not supported for deepseek2", m->path, type);
  }
#undef KEY
  return ds_ds2_finish_hparams(m, m->path);
}

/* One attention + FFN block "blk.%d." (also an MTP block). */
static dseek_status load_block(struct dseek_model *m, ds_ds2_layer *L, int il)
{
  const ds_hparams *hp = &m->hp;
  const ds_ds2_hparams *d2 = &m->ds2;
  const int64_t d = hp->n_embd, H = hp->n_head, C = d2->kv_lora_rank, nope = d2->qk_nope, v = d2->v_head;
  const int64_t qdim = H * (nope + d2->qk_rope), E = d2->n_expert, ff = d2->n_ff_exp;
  const bool q_lora = d2->q_lora_rank > 0;
  dseek_status st;
  if ((st = fetch(m, &L->attn_norm, true, true, d, 1, 1, "blk.%d.attn_norm.weight", il)) ||
      (st = fetch(m, &L->wq, !q_lora, false, d, qdim, 1, "blk.%d.attn_q.weight", il)) ||
      (st = fetch(m, &L->wq_a, q_lora, false, d, d2->q_lora_rank, 1, "blk.%d.attn_q_a.weight", il)) ||
      (st = fetch(m, &L->q_a_norm, q_lora, true, d2->q_lora_rank, 1, 1, "blk.%d.attn_q_a_norm.weight", il)) ||
      (st = fetch(m, &L->wq_b, q_lora, false, d2->q_lora_rank, qdim, 1, "blk.%d.attn_q_b.weight", il)) ||
      (st = fetch(m, &L->wkv_a, true, false, d, C + d2->qk_rope, 1, "blk.%d.attn_kv_a_mqa.weight", il)) ||
      (st = fetch(m, &L->kv_a_norm, true, true, C, 1, 1, "blk.%d.attn_kv_a_norm.weight", il)) ||
      (st = fetch(m, &L->wo, true, false, H * v, d, 1, "blk.%d.attn_output.weight", il)) ||
      (st = fetch(m, &L->ffn_norm, true, true, d, 1, 1, "blk.%d.ffn_norm.weight", il)))
    return st;
  /* split W_UK^T / W_UV when present, else the fused kv_b */
  if ((st = fetch(m, &L->wk_b, false, false, nope, C, H, "blk.%d.attn_k_b.weight", il)) ||
      (st = fetch(m, &L->wv_b, !!L->wk_b.data, false, C, v, H, "blk.%d.attn_v_b.weight", il)))
    return st;
  if (!L->wk_b.data) {
    ds_weight kv_b;
    char name[64];
    snprintf(name, sizeof name, "blk.%d.attn_kv_b.weight", il);
    if ((st = fetch(m, &kv_b, true, false, C, H * (nope + v), 1, "blk.%d.attn_kv_b.weight", il)) ||
        (st = ds_ds2_split_kv_b(m, &kv_b, name, L)))
      return st;
  }
  if (!L->moe) {
    if ((st = fetch(m, &L->ffn_gate, true, false, d, hp->n_ff, 1, "blk.%d.ffn_gate.weight", il)) ||
        (st = fetch(m, &L->ffn_up, true, false, d, hp->n_ff, 1, "blk.%d.ffn_up.weight", il)) ||
        (st = fetch(m, &L->ffn_down, true, false, hp->n_ff, d, 1, "blk.%d.ffn_down.weight", il)))
      return st;
    return DSEEK_OK;
  }
  const int64_t sh = ff * d2->n_expert_shared;
  if ((st = fetch(m, &L->gate_inp, true, true, d, E, 1, "blk.%d.ffn_gate_inp.weight", il)) ||
      (st = fetch(m, &L->exp_probs_b, false, true, E, 1, 1, "blk.%d.exp_probs_b.bias", il)) ||
      (st = fetch(m, &L->gate_exps.w, true, false, d, ff, E, "blk.%d.ffn_gate_exps.weight", il)) ||
      (st = fetch(m, &L->up_exps.w, true, false, d, ff, E, "blk.%d.ffn_up_exps.weight", il)) ||
      (st = fetch(m, &L->down_exps.w, true, false, ff, d, E, "blk.%d.ffn_down_exps.weight", il)) ||
      (st = fetch(m, &L->gate_shexp, sh > 0, false, d, sh, 1, "blk.%d.ffn_gate_shexp.weight", il)) ||
      (st = fetch(m, &L->up_shexp, sh > 0, false, d, sh, 1, "blk.%d.ffn_up_shexp.weight", il)) ||
      (st = fetch(m, &L->down_shexp, sh > 0, false, sh, d, 1, "blk.%d.ffn_down_shexp.weight", il)))
    return st;
  return DSEEK_OK;
}

dseek_status ds_model_load_deepseek2_gguf(struct dseek_model *m)
{
  dseek_status st;
  if ((st = read_hparams(m))) return st;
  const ds_gguf_tensor *embd = ds_gguf_tensor_get(m->gguf, "token_embd.weight");
  if (!embd) return ds_error(DSEEK_ERR_FORMAT, "%s: tensor 'token_embd.weight' missing", m->path);
  m->hp.n_vocab = embd->ne[1];
  static const ds_ds2_format gguf = {
    load_block, "token_embd.weight", "output_norm.weight", "output.weight",
    {"blk.%d.nextn.eh_proj.weight", "blk.%d.nextn.enorm.weight", "blk.%d.nextn.hnorm.weight",
     "blk.%d.nextn.shared_head_norm.weight", "blk.%d.nextn.shared_head_head.weight",
     "blk.%d.nextn.embed_tokens.weight"}};
  return ds_ds2_load_weights(m, &gguf, false);
}
