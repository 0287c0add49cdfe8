/*
 * deepseek2_load_hf.c — DeepSeek-V2/V3/R1 from a Hugging Face checkpoint
 * directory (model_type deepseek_v2 / deepseek_v3), BF16/F32 or FP8 as
 * released, without conversion (lib/models/README.md §1.8, §6).
 *
 * config.json: vocab_size, hidden_size, num_hidden_layers (MTP layers come
 * after), intermediate_size, num_attention_heads, q_lora_rank (null: q_proj),
 * kv_lora_rank, qk_nope_head_dim, qk_rope_head_dim, v_head_dim,
 * first_k_dense_replace, moe_layer_freq (1), moe_intermediate_size,
 * n_routed_experts, num_experts_per_tok, n_shared_experts, n_group,
 * topk_group, topk_method, scoring_func, norm_topk_prob,
 * routed_scaling_factor, rms_norm_eps, rope_theta, max_position_embeddings,
 * rope_scaling {type|rope_type "yarn", factor,
 * original_max_position_embeddings, beta_fast, beta_slow, mscale,
 * mscale_all_dim}, num_nextn_predict_layers.
 *
 * Routing: the group score is the top-2 sum for topk_method "noaux_tc" (V3)
 * and the max otherwise (V2 "group_limited_greedy"), as HF's MoEGate.
 * FP8 (F8_E4M3) weights come with "<name>_scale_inv" [ceil(out/128),
 * ceil(in/128)] and stay FP8 in memory. Experts are one tensor per expert,
 * reached through an address table (ds_experts). kv_b_proj is split into
 * W_UK^T / W_UV f32 copies (deepseek2_load.c).
 */
#include "models/deepseek2_load.h"
#include "formats/json.h"
#include "formats/safetensors.h"
#include "kernels/types.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

/* ---- config.json ------------------------------------------------------------ */

/* Number field: required, or *out keeps its preset default (also for null). */
static dseek_status cfg_num(const struct dseek_model *m, const ds_json_value *obj, const char *key, bool required,
                            double lo, double hi, bool integer, double *out)
{
  const ds_json_value *v = ds_json_get(obj, key);
  if (!v || ds_json_is(v, DS_JSON_NULL)) {
    if (required) return ds_error(DSEEK_ERR_FORMAT, "%s/config.json: \"%s\" missing", m->path, key);
    return DSEEK_OK;
  }
  double x;
  int64_t i;
  if (integer ? !ds_json_int(v, &i) : !ds_json_num(v, &x))
    return ds_error(DSEEK_ERR_FORMAT, "%s/config.json: \"%s\" is a %s, expected %s", m->path, key,
                    ds_json_type_name(v), integer ? "an integer" : "a number");
  if (integer) x = (double)i;
  if (!(x >= lo && x <= hi))
    return ds_error(DSEEK_ERR_FORMAT, "%s/config.json: \"%s\" = %g outside [%g, %g]", m->path, key, x, lo, hi);
  *out = x;
  return DSEEK_OK;
}

static dseek_status cfg_int(const struct dseek_model *m, const ds_json_value *obj, const char *key, bool required,
                            int64_t lo, int64_t hi, int64_t *out)
{
  double x = (double)*out;
  dseek_status st = cfg_num(m, obj, key, required, (double)lo, (double)hi, true, &x);
  if (!st) *out = (int64_t)x;
  return st;
}

static dseek_status cfg_f32(const struct dseek_model *m, const ds_json_value *obj, const char *key, float *out)
{
  double x = *out;
  dseek_status st = cfg_num(m, obj, key, false, -1e30, 1e30, false, &x);
  if (!st) *out = (float)x;
  return st;
}

static dseek_status read_yarn(struct dseek_model *m, const ds_json_value *rs)
{
  ds_ds2_hparams *d2 = &m->ds2;
  const char *type = NULL;
  if (!ds_json_str(ds_json_get(rs, "type"), &type, NULL)) ds_json_str(ds_json_get(rs, "rope_type"), &type, NULL);
  if (!type) return ds_error(DSEEK_ERR_FORMAT, "%s/config.json: rope_scaling has no type", m->path);
  if (strcmp(type, "default") == 0) return DSEEK_OK;
  if (strcmp(type, "yarn") != 0)
    return ds_error(DSEEK_ERR_UNSUPPORTED, "%s/config.json: rope_scaling type '%s' is not supported for %s",
                    m->path, type, m->arch_name);
  d2->yarn_beta_fast = 32.0f;
  d2->yarn_beta_slow = 1.0f;
  d2->yarn_mscale = 1.0f;          /* HF DeepseekV2YarnRotaryEmbedding defaults */
  d2->yarn_mscale_all_dim = 0.0f;
  d2->yarn_orig_ctx = 4096;
  dseek_status st;
  if ((st = cfg_f32(m, rs, "factor", &d2->yarn_factor)) ||
      (st = cfg_int(m, rs, "original_max_position_embeddings", false, 1, INT32_MAX, &d2->yarn_orig_ctx)) ||
      (st = cfg_f32(m, rs, "beta_fast", &d2->yarn_beta_fast)) ||
      (st = cfg_f32(m, rs, "beta_slow", &d2->yarn_beta_slow)) ||
      (st = cfg_f32(m, rs, "mscale", &d2->yarn_mscale)) ||
      (st = cfg_f32(m, rs, "mscale_all_dim", &d2->yarn_mscale_all_dim)))
    return ds_error_prefix(st, "rope_scaling");
  return DSEEK_OK;
}

dseek_status ds_model_deepseek2_hf_config(struct dseek_model *m, const ds_json_value *cfg)
{
  ds_hparams *hp = &m->hp;
  ds_ds2_hparams *d2 = &m->ds2;
  snprintf(m->arch_name, sizeof m->arch_name, "deepseek2");
  dseek_status st;
  int64_t freq = 1;
  hp->n_ctx_train = 4096;
  d2->n_group = d2->n_group_used = 1;
  if ((st = cfg_int(m, cfg, "vocab_size", true, 1, INT32_MAX, &hp->n_vocab)) ||
      (st = cfg_int(m, cfg, "hidden_size", true, 1, 1 << 20, &hp->n_embd)) ||
      (st = cfg_int(m, cfg, "num_hidden_layers", true, 1, 4096, &hp->n_layer)) ||
      (st = cfg_int(m, cfg, "intermediate_size", true, 1, 1 << 24, &hp->n_ff)) ||
      (st = cfg_int(m, cfg, "num_attention_heads", true, 1, 1 << 14, &hp->n_head)) ||
      (st = cfg_int(m, cfg, "max_position_embeddings", false, 1, INT32_MAX, &hp->n_ctx_train)) ||
      (st = cfg_int(m, cfg, "q_lora_rank", false, 0, 1 << 20, &d2->q_lora_rank)) ||
      (st = cfg_int(m, cfg, "kv_lora_rank", true, 1, 1 << 20, &d2->kv_lora_rank)) ||
      (st = cfg_int(m, cfg, "qk_nope_head_dim", true, 1, 1 << 16, &d2->qk_nope)) ||
      (st = cfg_int(m, cfg, "qk_rope_head_dim", true, 2, 1 << 16, &d2->qk_rope)) ||
      (st = cfg_int(m, cfg, "v_head_dim", true, 1, 1 << 16, &d2->v_head)) ||
      (st = cfg_int(m, cfg, "first_k_dense_replace", false, 0, 4096, &d2->n_dense_lead)) ||
      (st = cfg_int(m, cfg, "moe_layer_freq", false, 1, 4096, &freq)) ||
      (st = cfg_int(m, cfg, "n_routed_experts", false, 0, 1 << 16, &d2->n_expert)) ||
      (st = cfg_int(m, cfg, "num_experts_per_tok", d2->n_expert > 0, 0, 1 << 16, &d2->n_expert_used)) ||
      (st = cfg_int(m, cfg, "moe_intermediate_size", d2->n_expert > 0, 0, 1 << 24, &d2->n_ff_exp)) ||
      (st = cfg_int(m, cfg, "n_shared_experts", false, 0, 1 << 10, &d2->n_expert_shared)) ||
      (st = cfg_int(m, cfg, "n_group", false, 1, 1 << 16, &d2->n_group)) ||
      (st = cfg_int(m, cfg, "topk_group", false, 1, 1 << 16, &d2->n_group_used)) ||
      (st = cfg_int(m, cfg, "num_nextn_predict_layers", false, 0, 16, &d2->n_nextn)))
    return st;
  if (freq != 1)
    return ds_error(DSEEK_ERR_UNSUPPORTED, "%s/config.json: moe_layer_freq %lld is not supported (only 1)",
                    m->path, (long long)freq);
  float eps = 1e-6f, theta = 10000.0f;
  d2->routed_scale = 1.0f;
  if ((st = cfg_f32(m, cfg, "rms_norm_eps", &eps)) || (st = cfg_f32(m, cfg, "rope_theta", &theta)) ||
      (st = cfg_f32(m, cfg, "routed_scaling_factor", &d2->routed_scale)))
    return st;
  if (!(eps > 0) || !(theta > 0))
    return ds_error(DSEEK_ERR_FORMAT, "%s/config.json: rms_norm_eps and rope_theta must be positive", m->path);
  hp->norm_eps = eps;
  hp->rope_theta = theta;
  const ds_json_value *norm = ds_json_get(cfg, "norm_topk_prob");
  if (norm && !ds_json_is(norm, DS_JSON_NULL) && !ds_json_bool(norm, &d2->norm_topk))
    return ds_error(DSEEK_ERR_FORMAT, "%s/config.json: \"norm_topk_prob\" is not a boolean", m->path);
  const char *scoring = "softmax", *method = NULL;
  ds_json_str(ds_json_get(cfg, "scoring_func"), &scoring, NULL);
  ds_json_str(ds_json_get(cfg, "topk_method"), &method, NULL);
  if (strcmp(scoring, "softmax") == 0) d2->gating = DS_MOE_SOFTMAX;
  else if (strcmp(scoring, "sigmoid") == 0) d2->gating = DS_MOE_SIGMOID;
  else
    return ds_error(DSEEK_ERR_UNSUPPORTED, "%s/config.json: scoring_func '%s' is not supported", m->path, scoring);
  d2->group_top2sum = method ? strcmp(method, "noaux_tc") == 0 : d2->gating == DS_MOE_SIGMOID;
  d2->yarn_factor = 1.0f;
  const ds_json_value *rs = ds_json_get(cfg, "rope_scaling");
  if (rs && !ds_json_is(rs, DS_JSON_NULL) && (st = read_yarn(m, rs))) return st;
  char src[600];
  snprintf(src, sizeof src, "%s/config.json", m->path);
  return ds_ds2_finish_hparams(m, src);
}

/* ---- weights ---------------------------------------------------------------- */

/* "fmt" (layer il, expert ie) of shape [ne0, ne1], an FP8 one with its scale
 * grid (ds_model_fetch, model_fetch.c). */
static dseek_status fetch(struct dseek_model *m, ds_weight *w, bool required, bool small, int64_t ne0, int64_t ne1,
                          const char *fmt, int il, int ie)
{
  return ds_model_fetch(m, w, required, small, ne0, ne1, 1, fmt, il, ie);
}

/* Experts "<prefix>experts.%d.<proj>.weight" of shape [ne0, ne1] as a table. */
static dseek_status fetch_experts(struct dseek_model *m, ds_experts *x, int64_t ne0, int64_t ne1, const char *fmt,
                                  int il)
{
  const int64_t E = m->ds2.n_expert;
  x->table = ds_model_alloc(m, (size_t)(2 * E) * sizeof *x->table);
  if (!x->table) return ds_error(DSEEK_ERR_NO_MEMORY, "%s: out of memory", m->path);
  dseek_status st;
  for (int e = 0; e < (int)E; e++) {
    ds_weight w;
    if ((st = fetch(m, &w, true, false, ne0, ne1, fmt, il, e))) return st;
    if (e == 0) {
      x->w = w;
      x->w.n_dims = 3;
      x->w.ne[2] = E;
    } else if (w.type != x->w.type || !w.scale != !x->w.scale) {
      char name[160];
      snprintf(name, sizeof name, fmt, il, e);
      return ds_error(DSEEK_ERR_UNSUPPORTED, "%s: tensor '%s' has type %s, expert 0 has %s (mixed expert types)",
                      m->path, name, dseek_type_name(w.type), dseek_type_name(x->w.type));
    }
    x->table[2 * e] = (int64_t)(uintptr_t)w.data;
    x->table[2 * e + 1] = (int64_t)(uintptr_t)w.scale;
  }
  return DSEEK_OK;
}

#define P "model.layers.%d."

static dseek_status load_block(struct dseek_model *m, ds_ds2_layer *L, int il)
{
  const ds_hparams *hp = &m->hp;
  const ds_ds2_hparams *d2 = &m->ds2;
  const int64_t d = hp->n_embd, H = hp->n_head, C = d2->kv_lora_rank, nope = d2->qk_nope, v = d2->v_head;
  const int64_t qdim = H * (nope + d2->qk_rope), ff = d2->n_ff_exp, sh = ff * d2->n_expert_shared;
  const bool q_lora = d2->q_lora_rank > 0;
  dseek_status st;
  ds_weight kv_b;
  char name[96];
  snprintf(name, sizeof name, P "self_attn.kv_b_proj.weight", il);
  if ((st = fetch(m, &L->attn_norm, true, true, d, 1, P "input_layernorm.weight", il, 0)) ||
      (st = fetch(m, &L->wq, !q_lora, false, d, qdim, P "self_attn.q_proj.weight", il, 0)) ||
      (st = fetch(m, &L->wq_a, q_lora, false, d, d2->q_lora_rank, P "self_attn.q_a_proj.weight", il, 0)) ||
      (st = fetch(m, &L->q_a_norm, q_lora, true, d2->q_lora_rank, 1, P "self_attn.q_a_layernorm.weight", il, 0)) ||
      (st = fetch(m, &L->wq_b, q_lora, false, d2->q_lora_rank, qdim, P "self_attn.q_b_proj.weight", il, 0)) ||
      (st = fetch(m, &L->wkv_a, true, false, d, C + d2->qk_rope, P "self_attn.kv_a_proj_with_mqa.weight", il, 0)) ||
      (st = fetch(m, &L->kv_a_norm, true, true, C, 1, P "self_attn.kv_a_layernorm.weight", il, 0)) ||
      (st = fetch(m, &kv_b, true, false, C, H * (nope + v), P "self_attn.kv_b_proj.weight", il, 0)) ||
      (st = ds_ds2_split_kv_b(m, &kv_b, name, L)) ||
      (st = fetch(m, &L->wo, true, false, H * v, d, P "self_attn.o_proj.weight", il, 0)) ||
      (st = fetch(m, &L->ffn_norm, true, true, d, 1, P "post_attention_layernorm.weight", il, 0)))
    return st;
  if (!L->moe)
    return (st = fetch(m, &L->ffn_gate, true, false, d, hp->n_ff, P "mlp.gate_proj.weight", il, 0)) ||
                   (st = fetch(m, &L->ffn_up, true, false, d, hp->n_ff, P "mlp.up_proj.weight", il, 0)) ||
                   (st = fetch(m, &L->ffn_down, true, false, hp->n_ff, d, P "mlp.down_proj.weight", il, 0))
               ? st
               : DSEEK_OK;
  if ((st = fetch(m, &L->gate_inp, true, true, d, d2->n_expert, P "mlp.gate.weight", il, 0)) ||
      (st = fetch(m, &L->exp_probs_b, false, true, d2->n_expert, 1, P "mlp.gate.e_score_correction_bias", il, 0)) ||
      (st = fetch_experts(m, &L->gate_exps, d, ff, P "mlp.experts.%d.gate_proj.weight", il)) ||
      (st = fetch_experts(m, &L->up_exps, d, ff, P "mlp.experts.%d.up_proj.weight", il)) ||
      (st = fetch_experts(m, &L->down_exps, ff, d, P "mlp.experts.%d.down_proj.weight", il)) ||
      (st = fetch(m, &L->gate_shexp, sh > 0, false, d, sh, P "mlp.shared_experts.gate_proj.weight", il, 0)) ||
      (st = fetch(m, &L->up_shexp, sh > 0, false, d, sh, P "mlp.shared_experts.up_proj.weight", il, 0)) ||
      (st = fetch(m, &L->down_shexp, sh > 0, false, sh, d, P "mlp.shared_experts.down_proj.weight", il, 0)))
    return st;
  return DSEEK_OK;
}

dseek_status ds_model_deepseek2_hf_weights(struct dseek_model *m, bool tied)
{
  static const ds_ds2_format hf = {
    load_block, "model.embed_tokens.weight", "model.norm.weight", "lm_head.weight",
    {P "eh_proj.weight", P "enorm.weight", P "hnorm.weight", P "shared_head.norm.weight", P "shared_head.head.weight",
     P "embed_tokens.weight"}};
  return ds_ds2_load_weights(m, &hf, !tied);
}
