/*
 * dense.c — the forward pass of the dense decoder-only transformers: Llama-3
 * (R1-Distill-Llama), Qwen2.5 (R1-Distill-Qwen), lib/models/README.md §2-3, and
 * Qwen3 (R1-0528-Qwen3; HF transformers' modeling_qwen3, llama.cpp's qwen3 graph).
 *
 *   x   = Emb[ids]
 *   per layer:
 *     h   = RMSNorm(x) * w_attn_norm
 *     q,k,v = Wq h (+bq), Wk h (+bk), Wv h (+bv)          (biases: qwen2 only)
 *     q,k = RMSNorm(q_h) * w_q_norm, RMSNorm(k_h) * w_k_norm   (qwen3 only: per head h, over Dh)
 *     q,k = RoPE(q, pos), RoPE(k, pos)                   (neox: qwen2/qwen3 / HF llama; normal: GGUF llama)
 *     cache[slot] = k, v;  a = softmax(q.K^T / sqrt(Dh) + causal) V   (GQA; slots of
 *                          other sequences are masked: parallel samples share a prompt)
 *     x   = x + Wo a
 *     h   = RMSNorm(x) * w_ffn_norm
 *     x   = x + W_down (silu(W_gate h) * W_up h)
 *   logits = W_out (RMSNorm(x) * w_out_norm)
 */
#include "models/build.h"

#include <math.h>

dseek_status ds_forward_build_dense(const struct dseek_model *m, const ds_kv_cache *kv, int64_t T,
                                    bool all_logits, int max_threads, ds_forward *out)
{
  const ds_hparams *hp = &m->hp;
  const int64_t Dh = hp->head_dim, H = hp->n_head, Hkv = hp->n_head_kv;
  dseek_status st = ds_forward_begin(kv, T, all_logits, hp->n_layer, out);
  if (st) return st;
  ds_graph *g = out->graph;

  ds_rope_params rp;
  ds_dense_rope_params(m, &rp);
  ds_tensor *freqs = ds_build_weight(g, &m->rope_freqs, "rope_freqs");
  const float scale = 1.0f / sqrtf((float)Dh);
  ds_kv_layout kl;
  ds_dense_kv_layout(m, &kl);
  const int64_t ne_cache[3] = {kl.k_head, kl.n_head, kv->n_ctx};

  ds_tensor *x = ds_build_embed(g, &m->tok_embd, out->ids);
  for (int64_t il = 0; il < hp->n_layer; il++) {
    const ds_dense_layer *L = &m->layers[il];
    ds_tensor *h = ds_build_norm(g, x, &L->attn_norm, hp->norm_eps, "attn_norm");
    ds_tensor *q = ds_build_linear(g, h, &L->wq, &L->bq, "attn_q");
    ds_tensor *k = ds_build_linear(g, h, &L->wk, &L->bk, "attn_k");
    ds_tensor *v = ds_build_linear(g, h, &L->wv, &L->bv, "attn_v");
    int64_t ne_q[3] = {Dh, H, T}, ne_kv[3] = {Dh, Hkv, T};
    q = ds_op_reshape(g, q, 3, ne_q);
    k = ds_op_reshape(g, k, 3, ne_kv);
    if (L->q_norm.data) {   /* qwen3: each head's q and k RMS-normalised over Dh, one weight for all heads */
      q = ds_build_norm(g, q, &L->q_norm, hp->norm_eps, "attn_q_norm");
      k = ds_build_norm(g, k, &L->k_norm, hp->norm_eps, "attn_k_norm");
    }
    q = ds_op_rope(g, q, out->pos, freqs, &rp);
    k = ds_op_rope(g, k, out->pos, freqs, &rp);
    v = ds_op_reshape(g, v, 3, ne_kv);
    ds_tensor *vc, *kc = ds_build_kv_write(g, kv, out, ne_cache, kv->k[il], kv->v[il], 0, k, v, "k_cache", &vc);
    ds_tensor *a = ds_build_attend(g, kv, out, q, kc, vc, scale, &out->attn[il]);
    int64_t ne_a[2] = {H * Dh, T};
    x = ds_op_add(g, x, ds_build_linear(g, ds_op_reshape(g, a, 2, ne_a), &L->wo, NULL, "attn_output"));
    h = ds_build_norm(g, x, &L->ffn_norm, hp->norm_eps, "ffn_norm");
    x = ds_op_add(g, x, ds_build_ffn(g, h, &L->ffn_gate, &L->ffn_up, &L->ffn_down, false));
  }
  x = ds_build_norm(g, ds_build_logit_rows(g, x, all_logits), &m->output_norm, hp->norm_eps, "output_norm");
  out->logits = ds_build_linear(g, x, &m->output, NULL, "output");
  return ds_forward_finish(m, out, hp->n_layer, max_threads, "forward graph");
}

/* GQA cache rows: K and V each Hkv heads of head_dim; rope on the first n_rot
 * dims of every K head. */
void ds_dense_kv_layout(const struct dseek_model *m, ds_kv_layout *l)
{
  const ds_hparams *hp = &m->hp;
  *l = (ds_kv_layout){.n_head = hp->n_head_kv, .k_head = hp->head_dim, .v_head = hp->head_dim,
                      .parts = {hp->head_dim, hp->head_dim}, .parts_name = "head dims",
                      .rope_offset = 0, .rope_head = hp->head_dim};
}

/* n_rot dims per head, pairs as the file's rope type (README §2-3), theta;
 * llama3's frequency divisors come as the rope_freqs weight. */
void ds_dense_rope_params(const struct dseek_model *m, ds_rope_params *rp)
{
  ds_rope_params_init(rp, (int)m->hp.n_rot);
  rp->mode = m->hp.rope_mode;
  rp->freq_base = m->hp.rope_theta;
}
