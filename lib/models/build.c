/* build.c — the shared graph pieces of the forward passes (build.h). */
#include "models/build.h"

#include <string.h>

ds_tensor *ds_build_weight(ds_graph *g, const ds_weight *w, const char *name)
{
  if (!w->data) return NULL;
  ds_tensor *t = ds_tensor_external(g, w->type, w->n_dims, w->ne, w->data, name);
  if (t) t->flags |= w->layout;
  return t;
}

/* The FP8 scale grid of w (f32 [ceil(ne0/128), ceil(ne1/128), ne2]), or NULL. */
static ds_tensor *weight_scale(ds_graph *g, const ds_weight *w, const char *name)
{
  if (!w->scale) return NULL;
  int64_t ne[3] = {(w->ne[0] + 127) / 128, (w->ne[1] + 127) / 128, w->ne[2]};
  return ds_tensor_external(g, DSEEK_TYPE_F32, 3, ne, w->scale, name);
}

ds_tensor *ds_build_linear(ds_graph *g, ds_tensor *x, const ds_weight *w, const ds_weight *b, const char *name)
{
  ds_tensor *y = w->scale ? ds_op_mul_mat_scaled(g, ds_build_weight(g, w, name), weight_scale(g, w, name), x)
                          : ds_op_mul_mat(g, ds_build_weight(g, w, name), x);
  if (b && b->data) y = ds_op_add(g, y, ds_build_weight(g, b, name));
  return y;
}

ds_tensor *ds_build_norm(ds_graph *g, ds_tensor *x, const ds_weight *w, float eps, const char *name)
{
  return ds_op_mul(g, ds_op_rms_norm(g, x, eps), ds_build_weight(g, w, name));
}

ds_tensor *ds_build_embed(ds_graph *g, const ds_weight *w, ds_tensor *ids)
{
  ds_tensor *emb = ds_build_weight(g, w, "token_embd");
  return w->scale ? ds_op_get_rows_scaled(g, emb, weight_scale(g, w, "token_embd"), ids) : ds_op_get_rows(g, emb, ids);
}

/* Can silu(G x) * (U x) be one op? Not for FP8 (it needs the scale grids),
 * two weight types, R8 layouts (a dense FFN's R8 weights take mul_mat's R8
 * path; the fused op reads R8 too, but has not been measured against it
 * for dense FFNs) or a strided x. */
static bool fuse_gate_up(const ds_weight *gate, const ds_weight *up)
{
  return !gate->scale && !up->scale && gate->type == up->type && !gate->layout && !up->layout;
}

/* The routed experts' gate and up in one op: as fuse_gate_up, except that
 * both may be in the same R8 layout (ops_moe_mm.c reads it in every way). */
static bool fuse_experts(const ds_weight *gate, const ds_weight *up)
{
  return !gate->scale && !up->scale && gate->type == up->type && gate->layout == up->layout;
}

ds_tensor *ds_build_ffn(ds_graph *g, ds_tensor *x, const ds_weight *gate, const ds_weight *up,
                        const ds_weight *down, bool may_fuse)
{
  ds_tensor *h = may_fuse && fuse_gate_up(gate, up) && x && ds_tensor_is_contiguous(x)
                     ? ds_op_mul_mat_swiglu(g, ds_build_weight(g, gate, "ffn_gate"), ds_build_weight(g, up, "ffn_up"), x)
                     : ds_op_swiglu(g, ds_build_linear(g, x, gate, NULL, "ffn_gate"),
                                    ds_build_linear(g, x, up, NULL, "ffn_up"));
  return ds_build_linear(g, h, down, NULL, "ffn_down");
}

/* One projection for every selected expert: [in, 1 or k, T] -> [out, k, T]. */
static ds_tensor *experts(ds_graph *g, ds_tensor *x, const ds_experts *e, ds_tensor *ids, const char *name)
{
  ds_tensor *table = NULL;
  if (e->table) {
    int64_t ne[2] = {2, e->w.ne[2]};
    table = ds_tensor_external(g, DSEEK_TYPE_I64, 2, ne, e->table, name);
  }
  return ds_op_mul_mat_id(g, ds_build_weight(g, &e->w, name), weight_scale(g, &e->w, name), table, x, ids);
}

ds_tensor *ds_build_moe(ds_graph *g, ds_tensor *hn, const ds_moe_weights *w, const ds_moe_params *p)
{
  ds_tensor *logits = ds_op_mul_mat(g, ds_build_weight(g, w->router, "ffn_gate_inp"), hn);   /* f32 router */
  ds_tensor *ids = ds_op_moe_route(g, logits, ds_build_weight(g, w->bias, "exp_probs_b"), p);
  ds_tensor *wk = ds_op_moe_weights(g, logits, ids, p);
  int64_t ne3[3] = {hn->ne[0], 1, hn->ne[1]};
  ds_tensor *x = ds_op_reshape(g, hn, 3, ne3);
  /* silu(G_e hn) * (U_e hn) in one op for stacked experts (GGUF); FP8 and
   * scattered experts (Hugging Face files) take the two products */
  ds_tensor *h = !w->gate->table && !w->up->table && fuse_experts(&w->gate->w, &w->up->w)
                     ? ds_op_mul_mat_id_swiglu(g, ds_build_weight(g, &w->gate->w, "ffn_gate_exps"),
                                               ds_build_weight(g, &w->up->w, "ffn_up_exps"), x, ids)
                     : ds_op_swiglu(g, experts(g, x, w->gate, ids, "ffn_gate_exps"),
                                    experts(g, x, w->up, ids, "ffn_up_exps"));
  ds_tensor *y = ds_op_moe_sum(g, experts(g, h, w->down, ids, "ffn_down_exps"), wk);
  if (w->shared_gate->data) y = ds_op_add(g, y, ds_build_ffn(g, hn, w->shared_gate, w->shared_up, w->shared_down, true));
  return y;
}

dseek_status ds_forward_begin(const ds_kv_cache *kv, int64_t T, bool all_logits, int64_t n_attn, ds_forward *out)
{
  memset(out, 0, sizeof *out);
  ds_graph *g = ds_graph_new();
  if (!g) return ds_error(DSEEK_ERR_NO_MEMORY, "forward: out of memory");
  out->graph = g;
  out->n_tokens = T;
  out->all_logits = all_logits;
  out->attn = ds_calloc((size_t)n_attn, sizeof *out->attn);
  if (!out->attn) { ds_forward_free(out); return ds_error(DSEEK_ERR_NO_MEMORY, "forward: out of memory"); }
  int64_t ne_t[1] = {T}, ne_seq[1] = {kv->n_ctx + T};
  out->ids = ds_tensor_input(g, DSEEK_TYPE_I32, 1, ne_t, "ids");
  out->pos = ds_tensor_input(g, DSEEK_TYPE_I32, 1, ne_t, "pos");
  out->slots = ds_tensor_input(g, DSEEK_TYPE_I32, 1, ne_t, "slots");
  out->seq = ds_tensor_input(g, DSEEK_TYPE_I32, 1, ne_seq, "seq");
  return DSEEK_OK;
}

ds_tensor *ds_build_logit_rows(ds_graph *g, ds_tensor *x, bool all_logits)
{
  if (all_logits || !x || x->ne[1] <= 1) return x;
  int64_t ne_last[2] = {x->ne[0], 1};
  return ds_op_view(g, x, 2, ne_last, NULL, x->nb[1] * (size_t)(x->ne[1] - 1));
}

ds_tensor *ds_build_kv_write(ds_graph *g, const ds_kv_cache *kv, const ds_forward *f, const int64_t ne_cache[3],
                             void *k_mem, void *v_mem, int64_t v_head, ds_tensor *k, ds_tensor *v,
                             const char *k_name, ds_tensor **vc)
{
  ds_tensor *kc = ds_tensor_external(g, kv->type, 3, ne_cache, k_mem, k_name);
  if (v_mem) {
    *vc = ds_tensor_external(g, kv->type, 3, ne_cache, v_mem, "v_cache");
    ds_op_set_rows(g, kc, k, f->slots);
    ds_op_set_rows(g, *vc, v, f->slots);
  } else {
    ds_op_set_rows(g, kc, k, f->slots);
    const int64_t ne_v[3] = {v_head, ne_cache[1], ne_cache[2]};
    *vc = kc ? ds_op_view(g, kc, 3, ne_v, kc->nb, 0) : NULL;   /* the leading v_head values of every slot */
  }
  return kc;
}

ds_tensor *ds_build_attend(ds_graph *g, const ds_kv_cache *kv, const ds_forward *f, ds_tensor *q, ds_tensor *kc,
                           ds_tensor *vc, float scale, ds_tensor **attn)
{
  *attn = ds_op_attn_seq(g, q, kc, vc, kv->n_ctx, f->slots, f->seq, scale);
  return *attn;
}

dseek_status ds_forward_finish(const struct dseek_model *m, ds_forward *out, int64_t n_attn, int max_threads,
                               const char *what)
{
  if (!out->logits) {
    dseek_status st = ds_graph_out_of_memory(out->graph) ? DSEEK_ERR_NO_MEMORY : DSEEK_ERR_INTERNAL;
    ds_forward_free(out);
    return ds_error_prefix(st, "%s: building the %s", m->path, what);
  }
  for (int64_t il = 0; il < n_attn; il++) {
    if (!out->attn[il]) {
      ds_forward_free(out);
      return ds_error(DSEEK_ERR_INTERNAL, "%s: building the %s: attention missing", m->path, what);
    }
  }
  ds_tensor_set_output(out->logits);
  dseek_status st = ds_graph_plan(out->graph, max_threads);
  if (st) ds_forward_free(out);
  return st;
}

void ds_forward_free(ds_forward *f)
{
  if (!f) return;
  ds_graph_free(f->graph);
  ds_free(f->attn);
  memset(f, 0, sizeof *f);
}
