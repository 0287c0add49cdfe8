/*
 * deepseek2.c — the forward pass of DeepSeek-V2/V3/R1 (lib/models/README.md §1): MLA with
 * a latent KV cache in the absorbed form, YaRN rope, DeepSeekMoE.
 *
 *   x = Emb[ids]
 *   per layer:
 *     xn    = RMSNorm(x) * attn_norm
 *     q     = W_q xn  |  W_qb (RMSNorm(W_qa xn) * q_a_norm)       -> [nope + rope, H, T]
 *     q_pe  = RoPE(q[nope:])                                      (adjacent pairs, YaRN)
 *     ckv   = W_kva xn;  c_kv = RMSNorm(ckv[:C]) * kv_a_norm;  k_pe = RoPE(ckv[C:])
 *     cache[slot] = [c_kv ; k_pe]                                 (C + rope values per token)
 *     qa_h  = W_UK[h]^T q_nope_h                                  (wk_b [nope, C, H])
 *     o_h   = sum_s softmax_s(kq_scale ([qa_h ; q_pe_h] . cache[s])) c_kv(s)
 *             -- the attn op with K = the cache row and V = its c_kv view
 *     v_h   = W_UV[h] o_h                                         (wv_b [C, v, H])
 *     x     = x + W_o concat_h(v_h)
 *     hn    = RMSNorm(x) * ffn_norm
 *     x     = x + MLP(hn)                                         (leading dense layers)
 *         or x + sum_k w_k Expert_k(hn) + SharedMLP(hn)           (router in f32)
 *            Expert_e(h) = D_e (silu(G_e h) * (U_e h)), the middle one op
 *            for GGUF experts (mul_mat_id_swiglu)
 *   logits = W_out (RMSNorm(x) * output_norm)
 *
 * Prompt batches (T >= mha_min_batch, over slots every query may see) use
 * the decompressed form instead, over the cache's rows [0, n) (mla_mha):
 *     K_h(s) = [W_UK[h] c_kv(s) ; k_pe(s)],  V_h(s) = W_UV[h] c_kv(s)
 *     o_h    = softmax(kq_scale [q_nope_h ; q_pe_h] . K_h) V_h
 * the same scores and outputs (q_nope . W_UK c = (W_UK^T q_nope) . c), as
 * ordinary attention with head dims nope + rope and v: per query and slot
 * H (nope + rope + v) multiply-adds instead of H (2 C + rope), for
 * 2 H nope C per slot to decompress, which a batch of T queries shares.
 */
#include "models/deepseek2_graph.h"
#include "models/deepseek2_load.h"

/* The decompressed K and V (f32) of one layer take at most this many bytes;
 * longer spans keep the absorbed form. */
#define DS_DS2_MHA_MAX_BYTES ((int64_t)256 << 20)

/* DeepSeekMoE on hn [d, T] -> [d, T]. */
static ds_tensor *moe(ds_graph *g, const struct dseek_model *m, const ds_ds2_layer *L, ds_tensor *hn)
{
  const ds_ds2_hparams *d2 = &m->ds2;
  ds_moe_params p = {.n_used = (int)d2->n_expert_used, .scoring = d2->gating, .n_group = (int)d2->n_group,
                     .n_group_used = (int)d2->n_group_used, .group_top2sum = d2->group_top2sum,
                     .norm = d2->norm_topk, .scale = d2->routed_scale};
  ds_moe_weights w = {&L->gate_inp, &L->exp_probs_b, &L->gate_exps, &L->up_exps, &L->down_exps,
                      &L->gate_shexp, &L->up_shexp, &L->down_shexp};
  return ds_build_moe(g, hn, &w, &p);
}

/* W [ne0, ne1, H] as the 2-D [ne0, ne1 H] (the heads' rows one after another). */
static ds_tensor *heads_as_matrix(ds_graph *g, const ds_weight *w, const char *name)
{
  ds_weight flat = *w;
  flat.n_dims = 2;
  flat.ne[1] *= flat.ne[2];
  flat.ne[2] = 1;
  return ds_build_weight(g, &flat, name);
}

/* The decompressed form (see the top) over cache slots [0, f->mha_rows):
 * q_nope [nope, H, T] and the roped q_pe [r, H, T] of the batch, kc the
 * layer's latent cache [C + r, 1, n_ctx] (this batch's rows written) ->
 * W_o concat_h(o_h) [d, T]. */
static ds_tensor *mla_mha(ds_graph *g, const struct dseek_model *m, const ds_ds2_layer *L, ds_forward *f,
                          ds_tensor *kc, ds_tensor *q_nope, ds_tensor *q_pe, ds_tensor **attn)
{
  const ds_ds2_hparams *d2 = &m->ds2;
  const int64_t H = m->hp.n_head, C = d2->kv_lora_rank, r = d2->qk_rope, nope = d2->qk_nope, v = d2->v_head;
  const int64_t n = f->mha_rows, T = q_nope->ne[2];
  const size_t fs = sizeof(float), row = (size_t)(C + r) * fs;
  int64_t ne_tab[2] = {C + r, kc ? kc->ne[2] : 1};
  size_t nb_tab[2] = {kc ? kc->nb[0] : 0, kc ? kc->nb[2] : 0};
  /* the latent rows [c_kv ; k_pe] of slots 0 .. n-1 in f32 */
  ds_tensor *rows = ds_op_get_rows(g, kc ? ds_op_view(g, kc, 2, ne_tab, nb_tab, 0) : NULL, f->mha_ids);
  int64_t ne_lat[2] = {C, n}, ne_pe[3] = {r, H, n};
  size_t nb_lat[2] = {fs, row}, nb_pe[3] = {fs, 0, row};   /* k_pe: one per slot, shared by the heads */
  ds_tensor *lat = ds_op_view(g, rows, 2, ne_lat, nb_lat, 0);
  ds_tensor *k_pe = ds_op_view(g, rows, 3, ne_pe, nb_pe, (size_t)C * fs);
  int64_t ne_kn[3] = {nope, H, n}, ne_v[3] = {v, H, n};
  ds_tensor *k_nope = ds_op_reshape(g, ds_op_mul_mat(g, heads_as_matrix(g, &L->wk_u, "attn_k_u"), lat), 3, ne_kn);
  ds_tensor *k = ds_op_concat(g, k_nope, k_pe, 0);                                     /* [nope + r, H, n] */
  ds_tensor *vv = ds_op_reshape(g, ds_op_mul_mat(g, heads_as_matrix(g, &L->wv_b, "attn_v_b"), lat), 3, ne_v);
  ds_tensor *q = ds_op_concat(g, q_nope, q_pe, 0);                                     /* [nope + r, H, T] */
  *attn = ds_op_attn(g, q, k, vv, n, f->slots, d2->kq_scale);                          /* [v, H, T] */
  int64_t ne_o[2] = {v * H, T};
  return ds_build_linear(g, ds_op_reshape(g, *attn, 2, ne_o), &L->wo, NULL, "attn_output");
}

/* Multi-head latent attention of xn [d, T] -> [d, T], writing the layer's
 * cache rows. Returns the attn node through *attn (n_kv is set per call). */
static ds_tensor *mla(ds_graph *g, const struct dseek_model *m, const ds_ds2_layer *L, const ds_kv_cache *kv,
                      void *cache, ds_forward *f, const ds_rope_params *rp, ds_tensor *xn, ds_tensor **attn)
{
  const ds_hparams *hp = &m->hp;
  const ds_ds2_hparams *d2 = &m->ds2;
  const int64_t T = xn->ne[1], H = hp->n_head, C = d2->kv_lora_rank, r = d2->qk_rope, nope = d2->qk_nope;
  const int64_t v = d2->v_head, qh = nope + r;

  ds_tensor *q;
  if (L->wq_a.data) {
    ds_tensor *cq = ds_build_linear(g, xn, &L->wq_a, NULL, "attn_q_a");   /* the query's low-rank latent */
    q = ds_build_linear(g, ds_build_norm(g, cq, &L->q_a_norm, hp->norm_eps, "attn_q_a_norm"), &L->wq_b, NULL, "attn_q_b");
  } else {
    q = ds_build_linear(g, xn, &L->wq, NULL, "attn_q");
  }
  int64_t ne_q[3] = {qh, H, T};
  q = ds_op_reshape(g, q, 3, ne_q);
  size_t fs = sizeof(float);
  int64_t ne_nope[3] = {nope, H, T}, ne_pe[3] = {r, H, T};
  size_t nb_q[3] = {fs, (size_t)qh * fs, (size_t)(qh * H) * fs};
  ds_tensor *q_nope = ds_op_view(g, q, 3, ne_nope, nb_q, 0);
  ds_tensor *q_pe = ds_op_rope(g, ds_op_view(g, q, 3, ne_pe, nb_q, (size_t)nope * fs), f->pos, NULL, rp);

  ds_tensor *ckv = ds_build_linear(g, xn, &L->wkv_a, NULL, "attn_kv_a_mqa");          /* [C + r, T] */
  int64_t ne_c[2] = {C, T}, ne_kpe[3] = {r, 1, T};
  size_t nb_c[2] = {fs, (size_t)(C + r) * fs}, nb_kpe[3] = {fs, (size_t)(C + r) * fs, (size_t)(C + r) * fs};
  ds_tensor *c_kv = ds_build_norm(g, ds_op_view(g, ckv, 2, ne_c, nb_c, 0), &L->kv_a_norm, hp->norm_eps, "attn_kv_a_norm");
  ds_tensor *k_pe = ds_op_rope(g, ds_op_view(g, ckv, 3, ne_kpe, nb_kpe, (size_t)C * fs), f->pos, NULL, rp);
  int64_t ne_c3[3] = {C, 1, T};
  ds_tensor *row = ds_op_concat(g, ds_op_reshape(g, c_kv, 3, ne_c3), k_pe, 0);   /* [C + r, 1, T] */

  ds_kv_layout kl;
  ds_ds2_kv_layout(m, &kl);
  const int64_t ne_cache[3] = {kl.k_head, kl.n_head, kv->n_ctx};
  /* the latent row [c_kv ; k_pe] cached; V = its c_kv part */
  ds_tensor *vc, *kc = ds_build_kv_write(g, kv, f, ne_cache, cache, NULL, kl.parts[0], row, NULL, "kv_latent", &vc);

  if (f->mha_rows) return mla_mha(g, m, L, f, kc, q_nope, q_pe, attn);
  /* absorbed query [W_UK^T q_nope ; q_pe] per head */
  ds_tensor *qa = ds_op_mul_mat(g, ds_build_weight(g, &L->wk_b, "attn_k_b"), ds_op_permute(g, q_nope, 0, 2, 1, 3));
  ds_tensor *qf = ds_op_concat(g, ds_op_permute(g, qa, 0, 2, 1, 3), q_pe, 0);   /* [C + r, H, T] */
  ds_tensor *o = ds_build_attend(g, kv, f, qf, kc, vc, d2->kq_scale, attn);   /* [C, H, T] */
  ds_tensor *vh = ds_build_linear(g, ds_op_permute(g, o, 0, 2, 1, 3), &L->wv_b, NULL, "attn_v_b");   /* [v, T, H] */
  vh = ds_op_cont(g, ds_op_permute(g, vh, 0, 2, 1, 3));                                 /* [v, H, T] */
  int64_t ne_o[2] = {v * H, T};
  return ds_build_linear(g, ds_op_reshape(g, vh, 2, ne_o), &L->wo, NULL, "attn_output");
}

void ds_ds2_rope_params(const struct dseek_model *m, ds_rope_params *rp)
{
  const ds_ds2_hparams *d2 = &m->ds2;
  ds_rope_params_init(rp, (int)d2->qk_rope);
  rp->mode = DS_ROPE_NORMAL;
  rp->freq_base = m->hp.rope_theta;
  if (d2->yarn_factor > 1.0f) {
    rp->yarn_factor = d2->yarn_factor;
    rp->yarn_orig_ctx = (int)d2->yarn_orig_ctx;
    rp->yarn_beta_fast = d2->yarn_beta_fast;
    rp->yarn_beta_slow = d2->yarn_beta_slow;
    rp->yarn_mscale = d2->yarn_mscale;
    rp->yarn_mscale_all_dim = d2->yarn_mscale_all_dim;
  }
}

ds_tensor *ds_ds2_block(ds_graph *g, const struct dseek_model *m, const ds_ds2_layer *L, const ds_kv_cache *kv,
                        void *cache, ds_forward *f, const ds_rope_params *rp, ds_tensor *x, ds_tensor **attn)
{
  if (!x) return NULL;   /* an earlier op failed: the builder reports it (the graph's error) */
  const float eps = m->hp.norm_eps;
  ds_tensor *xn = ds_build_norm(g, x, &L->attn_norm, eps, "attn_norm");
  if (!xn) return NULL;   /* an op failed: its error is set, the build reports it */
  x = ds_op_add(g, x, mla(g, m, L, kv, cache, f, rp, xn, attn));
  if (!x) return NULL;
  ds_tensor *hn = ds_build_norm(g, x, &L->ffn_norm, eps, "ffn_norm");
  return ds_op_add(g, x, L->moe ? moe(g, m, L, hn) : ds_build_ffn(g, hn, &L->ffn_gate, &L->ffn_up, &L->ffn_down, true));
}

/* MLA cache rows (README §1.3): one latent row [c_kv (C) ; k_pe (qk_rope)] per
 * token, V the c_kv view of it; rope on the k_pe tail. */
void ds_ds2_kv_layout(const struct dseek_model *m, ds_kv_layout *l)
{
  const ds_ds2_hparams *d2 = &m->ds2;
  *l = (ds_kv_layout){.n_head = 1, .k_head = d2->kv_lora_rank + d2->qk_rope, .v_head = 0,
                      .parts = {d2->kv_lora_rank, d2->qk_rope}, .parts_name = "kv_lora_rank and qk_rope",
                      .rope_offset = d2->kv_lora_rank, .rope_head = d2->qk_rope};
}

dseek_status ds_forward_build_deepseek2(const struct dseek_model *m, const ds_kv_cache *kv, int64_t T,
                                        bool all_logits, int max_threads, ds_forward *out)
{
  const ds_hparams *hp = &m->hp;
  dseek_status st = ds_forward_begin(kv, T, all_logits, hp->n_layer, out);
  if (st) return st;
  ds_graph *g = out->graph;
  ds_rope_params rp;
  ds_ds2_rope_params(m, &rp);
  /* a prompt batch over shared slots: the decompressed form, for those slots
   * (the graph is then rebuilt when they change) while their K and V fit */
  const ds_ds2_hparams *d2 = &m->ds2;
  if (T >= d2->mha_min_batch && hp->n_layer > 0 && m->ds2_layers[0].wk_u.data) {
    out->span_shaped = true;
    out->kv_shared = kv->n_shared;
    const int64_t per_slot = (int64_t)sizeof(float) * hp->n_head * (hp->head_dim + d2->v_head);
    if (kv->n_shared >= T && kv->n_shared <= kv->n_ctx && kv->n_shared <= DS_DS2_MHA_MAX_BYTES / per_slot) {
      out->mha_rows = kv->n_shared;
      int64_t ne_ids[1] = {out->mha_rows};
      out->mha_ids = ds_tensor_input(g, DSEEK_TYPE_I32, 1, ne_ids, "mha_ids");
    }
  }
  ds_tensor *x = ds_build_embed(g, &m->tok_embd, out->ids);
  for (int64_t il = 0; il < hp->n_layer; il++)
    x = ds_ds2_block(g, m, &m->ds2_layers[il], kv, kv->k[il], out, &rp, x, &out->attn[il]);
  /* A model with an MTP layer also hands out the final hidden state of every
   * token after the final norm (the h_t the MTP layer reads, see
   * deepseek2_mtp.c): the norm then runs on all T rows (it is per row, so the
   * last row is the same either way). */
  const bool hidden = ds_ds2_has_mtp(m);
  if (hidden) {
    x = ds_build_norm(g, x, &m->output_norm, hp->norm_eps, "output_norm");
    out->hidden = x;
  }
  x = ds_build_logit_rows(g, x, all_logits);
  if (!hidden) x = ds_build_norm(g, x, &m->output_norm, hp->norm_eps, "output_norm");
  out->logits = ds_build_linear(g, x, &m->output, NULL, "output");
  if (out->hidden) ds_tensor_set_output(out->hidden);
  dseek_status st2 = ds_forward_finish(m, out, hp->n_layer, max_threads, "forward graph");
  if (!st2 && out->mha_ids) {
    int32_t *ids = out->mha_ids->data;   /* planned: the slots the decompressed form reads */
    for (int64_t s = 0; s < out->mha_rows; s++) ids[s] = (int32_t)s;
  }
  return st2;
}
