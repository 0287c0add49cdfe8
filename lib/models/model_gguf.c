/*
 * model_gguf.c — load qwen2 / qwen3 / llama models from GGUF as llama.cpp writes them.
 *
 * Keys ({arch}.*): context_length, embedding_length, block_count,
 * feed_forward_length, attention.head_count, attention.head_count_kv,
 * attention.layer_norm_rms_epsilon, attention.key_length, rope.freq_base,
 * rope.dimension_count. Tensors: token_embd, output_norm, output (absent:
 * tied to token_embd), rope_freqs (llama3 factors), blk.N.{attn_norm,
 * attn_q, attn_k, attn_v, attn_output, attn_{q,k,v}.bias (qwen2),
 * attn_{q,k}_norm (qwen3, [key_length]), ffn_norm,
 * ffn_gate, ffn_up, ffn_down}.weight.
 *
 * Rope: qwen2 and qwen3 rotate halves (neox). llama.cpp's converter permutes llama's
 * q/k rows so that GGUF llama rotates adjacent pairs (normal) — lib/models/README.md §3.
 */
#include "models/model.h"
#include "formats/gguf.h"
#include "kernels/types.h"

#include <stdio.h>
#include <string.h>

/* "fmt" (with layer il) of shape [ne0, ne1] (ds_model_fetch, model_fetch.c). */
static dseek_status fetch(struct dseek_model *m, ds_weight *w, bool required, bool small, int64_t ne0, int64_t ne1,
                          const char *fmt, int il)
{
  return ds_model_fetch(m, w, required, small, ne0, ne1, 1, fmt, il, 0);
}

static dseek_status read_hparams(struct dseek_model *m)
{
  const ds_gguf *g = m->gguf;
  ds_hparams *hp = &m->hp;
  char key[96];
  const char *a = m->arch_name;
  dseek_status st;
  int64_t v;
#define GET_INT(field, suffix, lo, hi, required)                                   \
  do {                                                                             \
    snprintf(key, sizeof key, "%s." suffix, a);                                    \
    v = hp->field;                                                                 \
    if ((st = ds_gguf_get_int_range(g, key, lo, hi, &v, required))) return st;     \
    hp->field = v;                                                                 \
  } while (0)
  GET_INT(n_ctx_train, "context_length", 1, INT32_MAX, true);
  GET_INT(n_embd, "embedding_length", 1, 1 << 20, true);
  GET_INT(n_layer, "block_count", 1, 4096, true);
  GET_INT(n_ff, "feed_forward_length", 1, 1 << 24, true);
  GET_INT(n_head, "attention.head_count", 1, 1 << 14, true);
  hp->n_head_kv = hp->n_head;
  GET_INT(n_head_kv, "attention.head_count_kv", 1, 1 << 14, false);
  /* key_length: the head dimension, which may differ from d / H (Qwen3-0.6B:
   * 1024 / 16 heads of 128); absent, d must divide into the heads. */
  hp->head_dim = 0;
  GET_INT(head_dim, "attention.key_length", 1, 1 << 16, false);
  if (hp->head_dim == 0) {
    if (hp->n_embd % hp->n_head != 0)
      return ds_error(DSEEK_ERR_FORMAT, "%s: embedding_length %lld is not a multiple of head_count %lld "
                      "and attention.key_length is absent", m->path, (long long)hp->n_embd, (long long)hp->n_head);
    hp->head_dim = hp->n_embd / hp->n_head;
  }
  hp->n_rot = hp->head_dim;
  GET_INT(n_rot, "rope.dimension_count", 2, hp->head_dim, false);
#undef GET_INT
  if (hp->n_head % hp->n_head_kv != 0)
    return ds_error(DSEEK_ERR_FORMAT, "%s: head_count %lld is not a multiple of head_count_kv %lld",
                    m->path, (long long)hp->n_head, (long long)hp->n_head_kv);
  if (hp->n_rot % 2 != 0)
    return ds_error(DSEEK_ERR_FORMAT, "%s: rope.dimension_count %lld is odd", m->path, (long long)hp->n_rot);
  hp->norm_eps = 1e-5f;
  snprintf(key, sizeof key, "%s.attention.layer_norm_rms_epsilon", a);
  if ((st = ds_gguf_get_f32(g, key, &hp->norm_eps, true))) return st;
  hp->rope_theta = 10000.0f;
  snprintf(key, sizeof key, "%s.rope.freq_base", a);
  if ((st = ds_gguf_get_f32(g, key, &hp->rope_theta, false))) return st;
  if (!(hp->norm_eps > 0) || !(hp->rope_theta > 0))
    return ds_error(DSEEK_ERR_FORMAT, "%s: layer_norm_rms_epsilon and rope.freq_base must be positive", m->path);
  hp->rope_mode = ds_arch_get(m->arch)->gguf_rope_mode;
  return DSEEK_OK;
}

dseek_status ds_model_attach_vocab_gguf(struct dseek_model *m);

/* The layer tensors as llama.cpp names them (llama-arch.cpp), in ds_dense_load_layers order. */
static const char *const LAYER_TENSORS[DS_DENSE_LAYER_TENSORS] = {
  "blk.%d.attn_norm.weight",
  "blk.%d.attn_q.weight",
  "blk.%d.attn_k.weight",
  "blk.%d.attn_v.weight",
  "blk.%d.attn_output.weight",
  "blk.%d.attn_q.bias",
  "blk.%d.attn_k.bias",
  "blk.%d.attn_v.bias",
  "blk.%d.attn_q_norm.weight",
  "blk.%d.attn_k_norm.weight",
  "blk.%d.ffn_norm.weight",
  "blk.%d.ffn_gate.weight",
  "blk.%d.ffn_up.weight",
  "blk.%d.ffn_down.weight",
};

dseek_status ds_dense_load_gguf(struct dseek_model *m)
{
  dseek_status st;
  ds_hparams *hp = &m->hp;
  if ((st = read_hparams(m))) return st;
  const ds_gguf_tensor *embd = ds_gguf_tensor_get(m->gguf, "token_embd.weight");
  if (!embd) return ds_error(DSEEK_ERR_FORMAT, "%s: tensor 'token_embd.weight' missing", m->path);
  hp->n_vocab = embd->ne[1];
  const int64_t d = hp->n_embd;
  if ((st = fetch(m, &m->tok_embd, true, false, d, hp->n_vocab, "token_embd.weight", 0))) return st;
  if ((st = fetch(m, &m->output_norm, true, true, d, 1, "output_norm.weight", 0))) return st;
  if ((st = fetch(m, &m->output, false, false, d, hp->n_vocab, "output.weight", 0))) return st;
  if (!m->output.data) m->output = m->tok_embd;   /* tied embeddings */
  if ((st = fetch(m, &m->rope_freqs, false, true, hp->n_rot / 2, 1, "rope_freqs.weight", 0))) return st;
  return ds_dense_load_layers(m, LAYER_TENSORS);
}

dseek_status ds_model_load_gguf(struct dseek_model *m, bool allow_mmap, bool vocab_only)
{
  dseek_status st = ds_gguf_open_split(m->path, allow_mmap, &m->gguf);   /* a split model: every shard */
  if (st) return st;
  const char *arch = NULL;
  if ((st = ds_gguf_get_str(m->gguf, "general.architecture", &arch, NULL, !vocab_only))) return st;
  if (arch) snprintf(m->arch_name, sizeof m->arch_name, "%s", arch);
  if (!vocab_only) {
    const ds_arch_desc *desc = ds_arch_by_gguf_name(m->arch_name);
    if (!desc) {
      char list[128];
      ds_arch_supported_list(false, list, sizeof list);
      return ds_error(DSEEK_ERR_UNSUPPORTED, "%s: architecture '%s' is not supported (supported: %s)", m->path,
                      m->arch_name, list);
    }
    m->arch = desc->arch;
    st = desc->load_gguf(m);
    if (st) return st;
  }
  if ((st = ds_model_attach_vocab_gguf(m))) return st;
  if (vocab_only && m->vocab_error) return ds_error(DSEEK_ERR_UNSUPPORTED, "%s", m->vocab_error);
  if (vocab_only && !m->vocab)
    return ds_error(DSEEK_ERR_FORMAT, "%s: vocab-only load, but the file has no tokenizer.ggml.* keys", m->path);
  return DSEEK_OK;
}
