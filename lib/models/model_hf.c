/*
 * model_hf.c — load qwen2 / qwen3 / llama models from a Hugging Face checkpoint
 * directory: config.json, *.safetensors (single or sharded), and when present
 * tokenizer.json + tokenizer_config.json.
 *
 * config.json fields: model_type, vocab_size, hidden_size, num_hidden_layers,
 * intermediate_size, num_attention_heads, num_key_value_heads, head_dim,
 * rms_norm_eps, rope_theta, max_position_embeddings, tie_word_embeddings,
 * rope_scaling {rope_type|type: "llama3", factor, low_freq_factor,
 * high_freq_factor, original_max_position_embeddings}. qwen3 (modeling_qwen3)
 * adds self_attn.{q,k}_norm.weight [head_dim] per layer and has no biases.
 *
 * HF stores q/k in the order that rotates halves, so both architectures use
 * neox rope here (lib/models/README.md §3: GGUF llama was permuted to rotate pairs).
 */
#include "models/model.h"
#include "formats/json.h"
#include "formats/safetensors.h"
#include "kernels/types.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

/* "fmt" (with layer il) of shape [ne0, ne1] (ds_model_fetch, model_fetch.c). */
static dseek_status fetch(struct dseek_model *m, ds_weight *w, bool required, bool small, int64_t ne0, int64_t ne1,
                          const char *fmt, int il)
{
  return ds_model_fetch(m, w, required, small, ne0, ne1, 1, fmt, il, 0);
}

/* Integer field of config.json: required, or left at *out's preset default. */
static dseek_status cfg_int(const struct dseek_model *m, const ds_json_value *cfg, const char *key,
                            int64_t lo, int64_t hi, bool required, int64_t *out)
{
  const ds_json_value *v = ds_json_get(cfg, key);
  if (!v || ds_json_is(v, DS_JSON_NULL)) {
    if (required) return ds_error(DSEEK_ERR_FORMAT, "%s/config.json: \"%s\" missing", m->path, key);
    return DSEEK_OK;
  }
  int64_t x;
  if (!ds_json_int(v, &x))
    return ds_error(DSEEK_ERR_FORMAT, "%s/config.json: \"%s\" is a %s, expected an integer", m->path, key,
                    ds_json_type_name(v));
  if (x < lo || x > hi)
    return ds_error(DSEEK_ERR_FORMAT, "%s/config.json: \"%s\" = %lld outside [%lld, %lld]", m->path, key,
                    (long long)x, (long long)lo, (long long)hi);
  *out = x;
  return DSEEK_OK;
}

static dseek_status cfg_num(const struct dseek_model *m, const ds_json_value *cfg, const char *key,
                            bool required, double *out)
{
  const ds_json_value *v = ds_json_get(cfg, key);
  if (!v || ds_json_is(v, DS_JSON_NULL)) {
    if (required) return ds_error(DSEEK_ERR_FORMAT, "%s/config.json: \"%s\" missing", m->path, key);
    return DSEEK_OK;
  }
  if (!ds_json_num(v, out) || !isfinite(*out))
    return ds_error(DSEEK_ERR_FORMAT, "%s/config.json: \"%s\" is a %s, expected a number", m->path, key,
                    ds_json_type_name(v));
  return DSEEK_OK;
}

/* llama3 rope scaling (lib/models/README.md §3) as per-frequency divisors, the form GGUF's
 * rope_freqs tensor carries: f'_i = f_i / factor_i. */
static dseek_status llama3_rope_freqs(struct dseek_model *m, const ds_json_value *rs)
{
  double factor = 8, low = 1, high = 4, orig = 8192;
  dseek_status st;
  if ((st = cfg_num(m, rs, "factor", true, &factor)) || (st = cfg_num(m, rs, "low_freq_factor", false, &low)) ||
      (st = cfg_num(m, rs, "high_freq_factor", false, &high)) ||
      (st = cfg_num(m, rs, "original_max_position_embeddings", false, &orig)))
    return ds_error_prefix(st, "rope_scaling");
  if (!(factor > 0) || !(low > 0) || !(high > low) || !(orig > 0))
    return ds_error(DSEEK_ERR_FORMAT, "%s/config.json: rope_scaling needs factor > 0, 0 < low_freq_factor < "
                    "high_freq_factor and original_max_position_embeddings > 0", m->path);
  int64_t half = m->hp.n_rot / 2;
  float *div = ds_model_alloc(m, (size_t)half * sizeof(float));
  if (!div) return ds_error(DSEEK_ERR_NO_MEMORY, "%s: out of memory", m->path);
  for (int64_t i = 0; i < half; i++) {
    double f = pow((double)m->hp.rope_theta, -2.0 * (double)i / (double)m->hp.n_rot);
    double wavelen = 2 * M_PI / f;
    if (wavelen < orig / high) div[i] = 1.0f;
    else if (wavelen > orig / low) div[i] = (float)factor;
    else {
      double smooth = (orig / wavelen - low) / (high - low);
      div[i] = (float)(1.0 / ((1 - smooth) / factor + smooth));
    }
  }
  m->rope_freqs = (ds_weight){.type = DSEEK_TYPE_F32, .n_dims = 1, .ne = {half, 1, 1, 1}, .data = div};
  return DSEEK_OK;
}

dseek_status ds_dense_hf_config(struct dseek_model *m, const ds_json_value *cfg)
{
  ds_hparams *hp = &m->hp;
  dseek_status st;
  if ((st = cfg_int(m, cfg, "vocab_size", 1, INT32_MAX, true, &hp->n_vocab)) ||
      (st = cfg_int(m, cfg, "hidden_size", 1, 1 << 20, true, &hp->n_embd)) ||
      (st = cfg_int(m, cfg, "num_hidden_layers", 1, 4096, true, &hp->n_layer)) ||
      (st = cfg_int(m, cfg, "intermediate_size", 1, 1 << 24, true, &hp->n_ff)) ||
      (st = cfg_int(m, cfg, "num_attention_heads", 1, 1 << 14, true, &hp->n_head)))
    return st;
  hp->n_head_kv = hp->n_head;
  if ((st = cfg_int(m, cfg, "num_key_value_heads", 1, 1 << 14, false, &hp->n_head_kv))) return st;
  /* head_dim may differ from hidden_size / heads (Qwen3-0.6B: 1024 / 16
   * heads of 128); without it the hidden size must divide into the heads. */
  hp->head_dim = 0;
  if ((st = cfg_int(m, cfg, "head_dim", 2, 1 << 16, false, &hp->head_dim))) return st;
  if ((hp->head_dim == 0 && hp->n_embd % hp->n_head) || hp->n_head % hp->n_head_kv)
    return ds_error(DSEEK_ERR_FORMAT, "%s/config.json: hidden_size %lld, num_attention_heads %lld and "
                    "num_key_value_heads %lld do not divide", m->path, (long long)hp->n_embd,
                    (long long)hp->n_head, (long long)hp->n_head_kv);
  if (hp->head_dim == 0) hp->head_dim = hp->n_embd / hp->n_head;
  if (hp->head_dim % 2) return ds_error(DSEEK_ERR_FORMAT, "%s/config.json: head_dim is odd", m->path);
  hp->n_rot = hp->head_dim;
  hp->n_ctx_train = 4096;
  if ((st = cfg_int(m, cfg, "max_position_embeddings", 1, INT32_MAX, false, &hp->n_ctx_train))) return st;
  double eps = 1e-6, theta = 10000;
  if ((st = cfg_num(m, cfg, "rms_norm_eps", false, &eps)) || (st = cfg_num(m, cfg, "rope_theta", false, &theta)))
    return st;
  if (!(eps > 0) || !(theta > 0))
    return ds_error(DSEEK_ERR_FORMAT, "%s/config.json: rms_norm_eps and rope_theta must be positive", m->path);
  hp->norm_eps = (float)eps;
  hp->rope_theta = (float)theta;
  hp->rope_mode = DS_ROPE_NEOX;

  const ds_json_value *rs = ds_json_get(cfg, "rope_scaling");
  if (rs && !ds_json_is(rs, DS_JSON_NULL)) {
    const char *type = NULL;
    if (!ds_json_str(ds_json_get(rs, "rope_type"), &type, NULL)) ds_json_str(ds_json_get(rs, "type"), &type, NULL);
    if (!type) return ds_error(DSEEK_ERR_FORMAT, "%s/config.json: rope_scaling has no rope_type", m->path);
    if (strcmp(type, "llama3") == 0) return llama3_rope_freqs(m, rs);
    if (strcmp(type, "default") != 0)
      return ds_error(DSEEK_ERR_UNSUPPORTED, "%s/config.json: rope_scaling type '%s' is not supported for %s",
                      m->path, type, m->arch_name);
  }
  return DSEEK_OK;
}

/* The layer tensors as HF transformers names them (modeling_qwen2 / qwen3 /
 * llama), in ds_dense_load_layers order. */
static const char *const LAYER_TENSORS[DS_DENSE_LAYER_TENSORS] = {
  "model.layers.%d.input_layernorm.weight",
  "model.layers.%d.self_attn.q_proj.weight",
  "model.layers.%d.self_attn.k_proj.weight",
  "model.layers.%d.self_attn.v_proj.weight",
  "model.layers.%d.self_attn.o_proj.weight",
  "model.layers.%d.self_attn.q_proj.bias",
  "model.layers.%d.self_attn.k_proj.bias",
  "model.layers.%d.self_attn.v_proj.bias",
  "model.layers.%d.self_attn.q_norm.weight",
  "model.layers.%d.self_attn.k_norm.weight",
  "model.layers.%d.post_attention_layernorm.weight",
  "model.layers.%d.mlp.gate_proj.weight",
  "model.layers.%d.mlp.up_proj.weight",
  "model.layers.%d.mlp.down_proj.weight",
};

dseek_status ds_dense_hf_weights(struct dseek_model *m, bool tied)
{
  const ds_hparams *hp = &m->hp;
  const int64_t d = hp->n_embd;
  dseek_status st;
  if ((st = fetch(m, &m->tok_embd, true, false, d, hp->n_vocab, "model.embed_tokens.weight", 0)) ||
      (st = fetch(m, &m->output_norm, true, true, d, 1, "model.norm.weight", 0)) ||
      (st = fetch(m, &m->output, !tied, false, d, hp->n_vocab, "lm_head.weight", 0)))
    return st;
  if (!m->output.data) m->output = m->tok_embd;
  return ds_dense_load_layers(m, LAYER_TENSORS);
}

dseek_status ds_model_load_hf_vocab(struct dseek_model *m, bool required);

dseek_status ds_model_load_hf(struct dseek_model *m, bool allow_mmap, bool vocab_only)
{
  dseek_status st;
  if (vocab_only) return ds_model_load_hf_vocab(m, true);
  char path[1024];
  snprintf(path, sizeof path, "%s/config.json", m->path);
  ds_json *cfg_doc = NULL;
  if ((st = ds_json_parse_file(path, &cfg_doc))) return st;
  const ds_json_value *cfg = ds_json_root(cfg_doc);
  const char *type = NULL;
  if (!ds_json_str(ds_json_get(cfg, "model_type"), &type, NULL)) {
    ds_json_free(cfg_doc);
    return ds_error(DSEEK_ERR_FORMAT, "%s: \"model_type\" missing or not a string", path);
  }
  snprintf(m->arch_name, sizeof m->arch_name, "%s", type);
  const ds_arch_desc *desc = ds_arch_by_hf_type(type);
  if (!desc) {
    char list[128];
    ds_arch_supported_list(true, list, sizeof list);
    st = ds_error(DSEEK_ERR_UNSUPPORTED, "%s: model_type '%s' is not supported (supported: %s)", path, type, list);
    ds_json_free(cfg_doc);
    return st;
  }
  m->arch = desc->arch;
  bool tied = false;
  const ds_json_value *tie = ds_json_get(cfg, "tie_word_embeddings");
  if (tie && !ds_json_bool(tie, &tied)) {
    ds_json_free(cfg_doc);
    return ds_error(DSEEK_ERR_FORMAT, "%s: \"tie_word_embeddings\" is not a boolean", path);
  }
  st = desc->hf_config(m, cfg);
  ds_json_free(cfg_doc);
  if (st) return st;
  if ((st = ds_st_open_dir(m->path, allow_mmap, &m->st))) return st;
  if ((st = desc->hf_weights(m, tied))) return st;
  return ds_model_load_hf_vocab(m, false);
}
