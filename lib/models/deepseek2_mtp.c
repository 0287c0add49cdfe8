/*
 * deepseek2_mtp.c — the forward pass of a DeepSeek-V3/R1 MTP layer
 * (lib/models/README.md §1.7; DeepSeek-V3 report section 2.2), used to draft
 * tokens for speculative decoding (runtime/mtp.c):
 *
 *   e   = RMSNorm(Emb[t+1]) * enorm          Emb: the layer's embed_tokens, else the model's
 *   h   = RMSNorm(h_t) * hnorm               h_t: the main model's state after its final norm
 *   u   = W_eh [e ; h]                       eh_proj [2d, d], the embedding half first
 *   u'  = block(u)                           a full MLA + MoE layer (blk.{n_layer}) with its
 *                                            own latent cache, rope at the position of t
 *   p   = W_head (RMSNorm(u') * shared_head_norm)   the layer's head, else the model's
 *
 * Checked against public implementations (tests/reference/deepseek2.py
 * mtp_forward has the sources): h_t is taken after the main model's final norm
 * (SGLang hands the MTP layer the same hidden_states its LogitsProcessor
 * multiplies by lm_head; vLLM the target's returned, normed states), and the
 * concat order is [embedding ; hidden].
 */
#include "models/deepseek2_graph.h"


bool ds_ds2_has_mtp(const struct dseek_model *m)
{
  return m->ds2.n_nextn > 0 && m->ds2_nextn && m->ds2_nextn[0].eh_proj.data;
}

/* The caller (ds_forward_build_mtp, arch.c) checked ds_ds2_has_mtp. */
dseek_status ds_forward_build_deepseek2_mtp(const struct dseek_model *m, const ds_kv_cache *kv, int64_t T,
                                            bool all_logits, int max_threads, ds_forward *out)
{
  const ds_hparams *hp = &m->hp;
  const ds_ds2_nextn *x = &m->ds2_nextn[0];
  const float eps = hp->norm_eps;
  dseek_status st = ds_forward_begin(kv, T, all_logits, 1, out);
  if (st) return st;
  ds_graph *g = out->graph;
  int64_t ne_h[2] = {hp->n_embd, T};
  out->hidden = ds_tensor_input(g, DSEEK_TYPE_F32, 2, ne_h, "hidden");

  ds_rope_params rp;
  ds_ds2_rope_params(m, &rp);
  const ds_weight *emb = x->embed_tokens.data ? &x->embed_tokens : &m->tok_embd;
  ds_tensor *e = ds_build_norm(g, ds_build_embed(g, emb, out->ids), &x->enorm, eps, "nextn.enorm");
  ds_tensor *h = ds_build_norm(g, out->hidden, &x->hnorm, eps, "nextn.hnorm");
  ds_tensor *u = ds_build_linear(g, ds_op_concat(g, e, h, 0), &x->eh_proj, NULL, "nextn.eh_proj");
  u = ds_ds2_block(g, m, &x->block, kv, kv->k[0], out, &rp, u, &out->attn[0]);
  u = ds_build_logit_rows(g, u, all_logits);
  /* shared_head_norm is optional in GGUF (llama.cpp: "shared with the
   * backbone if absent"): then the main output norm serves. */
  const ds_weight *hn = x->shared_head_norm.data ? &x->shared_head_norm : &m->output_norm;
  const ds_weight *head = x->shared_head_head.data ? &x->shared_head_head : &m->output;
  out->logits = ds_build_linear(g, ds_build_norm(g, u, hn, eps, "nextn.shared_head_norm"), head, NULL,
                                "nextn.shared_head_head");
  return ds_forward_finish(m, out, 1, max_threads, "MTP graph");
}
