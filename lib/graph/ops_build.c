/* ops_build.c — op constructors: output shape, and validation of the sources'
 * shapes and types. Each returns NULL with a message naming op and tensors on
 * misuse, or NULL silently when a source is NULL (an earlier error). */
#include "graph/graph_internal.h"
#include "kernels/fp8.h"
#include "kernels/rope.h"
#include "kernels/types.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

static ds_tensor *fail(const char *op, const ds_tensor *t, const char *fmt, const char *detail)
{
  ds_error(DSEEK_ERR_INVALID_ARG, "%s: '%s': %s%s", op, t ? t->name : "(null)", fmt, detail);
  return NULL;
}

/* A new node of op with f32 (or `type`) contiguous output shape ne[4]. */
static ds_tensor *node(ds_graph *g, ds_op op, const char *what, int type, const int64_t ne[4],
                       ds_tensor *s0, ds_tensor *s1, ds_tensor *s2, ds_tensor *s3)
{
  int n_dims = 4;
  while (n_dims > 1 && ne[n_dims - 1] == 1) n_dims--;
  ds_tensor *t = ds_graph_add_tensor(g, what, type, n_dims, ne);
  if (!t) return NULL;
  t->op = op;
  t->src[0] = s0;
  t->src[1] = s1;
  t->src[2] = s2;
  t->src[3] = s3;
  return t;
}

static bool is_f32_rows(const ds_tensor *t) { return t->type == DSEEK_TYPE_F32 && t->nb[0] == 4; }

static bool same_shape(const ds_tensor *a, const ds_tensor *b)
{
  return memcmp(a->ne, b->ne, sizeof a->ne) == 0;
}

/* An I32 vector of n entries, contiguous. */
static bool is_i32_vector(const ds_tensor *t, int64_t n)
{
  return t->type == DSEEK_TYPE_I32 && t->nb[0] == 4 && t->ne[0] == n && t->ne[1] == 1 &&
         t->ne[2] == 1 && t->ne[3] == 1;
}

/* A type whose rows can be decoded, stored with each row's blocks contiguous. */
static bool has_decodable_rows(const ds_tensor *t)
{
  const ds_type_traits *tr = ds_type_traits_get(t->type);
  return tr && tr->to_float && t->nb[0] == tr->type_size;
}

/* A type cpy/set_rows can write: f32/f16/bf16, or any type with an encoder,
 * rows contiguous. */
static bool has_encodable_rows(const ds_tensor *t)
{
  const ds_type_traits *tr = ds_type_traits_get(t->type);
  return tr && tr->from_float && t->nb[0] == tr->type_size;
}

static void shape_str(const ds_tensor *t, char *buf, size_t n)
{
  snprintf(buf, n, " (shape [%lld, %lld, %lld, %lld])", (long long)t->ne[0], (long long)t->ne[1],
           (long long)t->ne[2], (long long)t->ne[3]);
}

ds_tensor *ds_op_get_rows(ds_graph *g, ds_tensor *w, ds_tensor *ids)
{
  if (!w || !ids) return NULL;
  if (!has_decodable_rows(w) || w->ne[2] != 1 || w->ne[3] != 1)
    return fail("get_rows", w, "needs a 2-D table of a supported type with contiguous rows", "");
  if (ids->type != DSEEK_TYPE_I32 || ids->nb[0] != 4 || ids->ne[1] != 1 || ids->ne[2] != 1 ||
      ids->ne[3] != 1)
    return fail("get_rows", ids, "ids must be a contiguous I32 vector", "");
  int64_t ne[4] = {w->ne[0], ids->ne[0], 1, 1};
  return node(g, DS_OP_GET_ROWS, "get_rows", DSEEK_TYPE_F32, ne, w, ids, NULL, NULL);
}

ds_tensor *ds_op_mul_mat(ds_graph *g, ds_tensor *w, ds_tensor *x)
{
  if (!w || !x) return NULL;
  char s[96];
  if (!has_decodable_rows(w))
    return fail("mul_mat", w, "weight needs a supported type with contiguous rows", "");
  if (!is_f32_rows(x)) return fail("mul_mat", x, "activations must be f32 with contiguous rows", "");
  if (w->ne[0] != x->ne[0]) {
    char sw[96];
    shape_str(w, sw, sizeof sw);
    shape_str(x, s, sizeof s);
    ds_error(DSEEK_ERR_INVALID_ARG, "mul_mat: '%s'%s and '%s'%s: ne[0] differs", w->name, sw,
             x->name, s);
    return NULL;
  }
  if (x->ne[2] % w->ne[2] != 0 || x->ne[3] % w->ne[3] != 0) {
    shape_str(x, s, sizeof s);
    return fail("mul_mat", w, "batch dims do not divide those of the activations", s);
  }
  int64_t ne[4] = {w->ne[1], x->ne[1], x->ne[2], x->ne[3]};
  return node(g, DS_OP_MUL_MAT, "mul_mat", DSEEK_TYPE_F32, ne, w, x, NULL, NULL);
}

static ds_tensor *broadcast_binary(ds_graph *g, ds_op op, const char *what, ds_tensor *a,
                                   ds_tensor *b)
{
  if (!a || !b) return NULL;
  if (a->type != DSEEK_TYPE_F32) return fail(what, a, "must be f32", "");
  if (b->type != DSEEK_TYPE_F32) return fail(what, b, "must be f32", "");
  for (int i = 0; i < DS_MAX_DIMS; i++) {
    if (a->ne[i] % b->ne[i] != 0) {
      char sa[96], sb[96];
      shape_str(a, sa, sizeof sa);
      shape_str(b, sb, sizeof sb);
      ds_error(DSEEK_ERR_INVALID_ARG, "%s: '%s'%s cannot broadcast to '%s'%s", what, b->name, sb,
               a->name, sa);
      return NULL;
    }
  }
  return node(g, op, what, DSEEK_TYPE_F32, a->ne, a, b, NULL, NULL);
}

ds_tensor *ds_op_add(ds_graph *g, ds_tensor *a, ds_tensor *b)
{
  return broadcast_binary(g, DS_OP_ADD, "add", a, b);
}

ds_tensor *ds_op_mul(ds_graph *g, ds_tensor *a, ds_tensor *b)
{
  return broadcast_binary(g, DS_OP_MUL, "mul", a, b);
}

ds_tensor *ds_op_scale(ds_graph *g, ds_tensor *a, float s)
{
  if (!a) return NULL;
  if (a->type != DSEEK_TYPE_F32) return fail("scale", a, "must be f32", "");
  ds_tensor *t = node(g, DS_OP_SCALE, "scale", DSEEK_TYPE_F32, a->ne, a, NULL, NULL, NULL);
  if (t) t->p.scale.s = s;
  return t;
}

ds_tensor *ds_op_rms_norm(ds_graph *g, ds_tensor *a, float eps)
{
  if (!a) return NULL;
  if (!is_f32_rows(a)) return fail("rms_norm", a, "must be f32 with contiguous rows", "");
  if (!(eps >= 0.0f)) return fail("rms_norm", a, "eps must be >= 0", "");
  ds_tensor *t = node(g, DS_OP_RMS_NORM, "rms_norm", DSEEK_TYPE_F32, a->ne, a, NULL, NULL, NULL);
  if (t) t->p.rms_norm.eps = eps;
  return t;
}

void ds_rope_params_init(ds_rope_params *p, int n_rot)
{
  *p = (ds_rope_params){.n_rot = n_rot, .mode = DS_ROPE_NORMAL, .freq_base = 10000.0f,
                        .yarn_factor = 1.0f, .yarn_beta_fast = 32.0f, .yarn_beta_slow = 1.0f,
                        .yarn_mscale = 1.0f, .yarn_mscale_all_dim = 1.0f};
}

ds_tensor *ds_op_rope(ds_graph *g, ds_tensor *a, ds_tensor *pos, ds_tensor *freq_factors,
                      const ds_rope_params *p)
{
  if (!a || !pos || !p) return NULL;
  char s[96];
  if (!is_f32_rows(a) || a->ne[3] != 1)
    return fail("rope", a, "must be f32 [head_dim, n_head, n_tokens] with contiguous rows", "");
  if (!is_i32_vector(pos, a->ne[2])) {
    snprintf(s, sizeof s, "%lld", (long long)a->ne[2]);
    return fail("rope", pos, "positions must be a contiguous I32 vector of n_tokens = ", s);
  }
  if (p->n_rot < 2 || p->n_rot % 2 != 0 || p->n_rot > a->ne[0]) {
    snprintf(s, sizeof s, "%d (head dim %lld)", p->n_rot, (long long)a->ne[0]);
    return fail("rope", a, "n_rot must be even, >= 2 and <= the head dim: ", s);
  }
  if (p->mode != DS_ROPE_NORMAL && p->mode != DS_ROPE_NEOX)
    return fail("rope", a, "mode must be normal or neox", "");
  if (!(p->freq_base > 0.0f)) return fail("rope", a, "freq_base must be > 0", "");
  if (freq_factors && (freq_factors->type != DSEEK_TYPE_F32 || !ds_tensor_is_contiguous(freq_factors) ||
                       ds_tensor_nelements(freq_factors) != p->n_rot / 2))
    return fail("rope", freq_factors, "freq_factors must be a contiguous f32 vector of n_rot/2", "");
  bool yarn = p->yarn_factor > 1.0f;
  if (yarn && (p->yarn_orig_ctx < 1 || !(p->yarn_beta_fast > 0.0f) || !(p->yarn_beta_slow > 0.0f)))
    return fail("rope", a, "YaRN needs original context >= 1 and betas > 0", "");
  ds_tensor *t = node(g, DS_OP_ROPE, "rope", DSEEK_TYPE_F32, a->ne, a, pos, freq_factors, NULL);
  if (!t) return NULL;
  /* cos/sin magnitude: yarn_mscale(s, mscale) / yarn_mscale(s, mscale_all_dim) */
  t->p.rope = (ds_rope_op_params){
      .n_rot = p->n_rot, .mode = p->mode, .orig_ctx = yarn ? p->yarn_orig_ctx : 0,
      .freq_base = p->freq_base, .yarn_s = yarn ? p->yarn_factor : 1.0f,
      .beta_fast = p->yarn_beta_fast, .beta_slow = p->yarn_beta_slow,
      .mag = yarn ? (float)(ds_yarn_mscale(p->yarn_factor, p->yarn_mscale) /
                            ds_yarn_mscale(p->yarn_factor, p->yarn_mscale_all_dim))
                  : 1.0f};
  return t;
}

ds_tensor *ds_op_softmax(ds_graph *g, ds_tensor *a, ds_tensor *mask, float scale)
{
  if (!a) return NULL;
  if (!is_f32_rows(a)) return fail("softmax", a, "must be f32 with contiguous rows", "");
  if (mask) {
    bool ok = is_f32_rows(mask) && mask->ne[0] == a->ne[0];
    for (int i = 1; i < DS_MAX_DIMS; i++) ok = ok && a->ne[i] % mask->ne[i] == 0;
    if (!ok) {
      char s[96];
      shape_str(a, s, sizeof s);
      return fail("softmax", mask, "mask must be f32 rows of ne[0] broadcasting to", s);
    }
  }
  ds_tensor *t = node(g, DS_OP_SOFTMAX, "softmax", DSEEK_TYPE_F32, a->ne, a, mask, NULL, NULL);
  if (t) t->p.softmax.scale = scale;
  return t;
}

ds_tensor *ds_op_silu(ds_graph *g, ds_tensor *a)
{
  if (!a) return NULL;
  if (a->type != DSEEK_TYPE_F32) return fail("silu", a, "must be f32", "");
  return node(g, DS_OP_SILU, "silu", DSEEK_TYPE_F32, a->ne, a, NULL, NULL, NULL);
}

ds_tensor *ds_op_swiglu(ds_graph *g, ds_tensor *gate, ds_tensor *up)
{
  if (!gate || !up) return NULL;
  if (gate->type != DSEEK_TYPE_F32) return fail("swiglu", gate, "must be f32", "");
  if (up->type != DSEEK_TYPE_F32) return fail("swiglu", up, "must be f32", "");
  if (!same_shape(gate, up)) {
    char s[96];
    shape_str(gate, s, sizeof s);
    return fail("swiglu", up, "must have the shape of gate", s);
  }
  return node(g, DS_OP_SWIGLU, "swiglu", DSEEK_TYPE_F32, gate->ne, gate, up, NULL, NULL);
}

ds_tensor *ds_op_top_k(ds_graph *g, ds_tensor *a, int k)
{
  if (!a) return NULL;
  if (!is_f32_rows(a)) return fail("top_k", a, "must be f32 with contiguous rows", "");
  if (k < 1 || k > a->ne[0]) {
    char s[64];
    snprintf(s, sizeof s, "%d (row length %lld)", k, (long long)a->ne[0]);
    return fail("top_k", a, "k must be in [1, row length]: ", s);
  }
  int64_t ne[4] = {k, a->ne[1], a->ne[2], a->ne[3]};
  return node(g, DS_OP_TOP_K, "top_k", DSEEK_TYPE_I32, ne, a, NULL, NULL, NULL);
}

/* A node that writes into dst's memory: its result is a view with dst's
 * geometry, so later readers depend on the write. */
static ds_tensor *writer_node(ds_graph *g, ds_op op, const char *what, ds_tensor *dst,
                              ds_tensor *s0, ds_tensor *s2)
{
  ds_tensor *base = dst->view_src ? dst->view_src : dst;
  int64_t ne[4] = {dst->ne[0], dst->ne[1], dst->ne[2], dst->ne[3]};
  ds_tensor *t = ds_graph_add_tensor(g, what, dst->type, 4, ne);
  if (!t) return NULL;
  t->n_dims = dst->n_dims;
  memcpy(t->nb, dst->nb, sizeof t->nb);
  t->op = op;
  t->src[0] = s0;
  t->src[1] = dst;
  t->src[2] = s2;
  t->flags = DS_TENSOR_VIEW;
  t->view_src = base;
  t->view_offs = dst->view_src ? dst->view_offs : 0;
  t->size = 0;
  if (base->data) t->data = (char *)base->data + t->view_offs;
  return t;
}

ds_tensor *ds_op_cpy(ds_graph *g, ds_tensor *src, ds_tensor *dst)
{
  if (!src || !dst) return NULL;
  if (src->type != DSEEK_TYPE_F32) return fail("cpy", src, "source must be f32", "");
  if (!has_encodable_rows(dst) && dst->type != DSEEK_TYPE_F32)
    return fail("cpy", dst, "destination type cannot be written: ", dseek_type_name(dst->type));
  if (!same_shape(src, dst)) {
    char s[96];
    shape_str(dst, s, sizeof s);
    return fail("cpy", src, "must have the destination's shape", s);
  }
  const ds_type_traits *tr = ds_type_traits_get(dst->type);
  if (tr->block_size != 1 && src->nb[0] != 4)
    return fail("cpy", src, "rows must be contiguous for a block destination type", "");
  return writer_node(g, DS_OP_CPY, "cpy", dst, src, NULL);
}

ds_tensor *ds_op_set_rows(ds_graph *g, ds_tensor *dst, ds_tensor *src, ds_tensor *slots)
{
  if (!dst || !src || !slots) return NULL;
  if (!has_encodable_rows(dst) || dst->ne[3] != 1)
    return fail("set_rows", dst, "destination must be 3-D of a writable type with contiguous rows", "");
  if (!is_f32_rows(src) || src->ne[0] != dst->ne[0] || src->ne[1] != dst->ne[1] || src->ne[3] != 1) {
    char s[96];
    shape_str(dst, s, sizeof s);
    return fail("set_rows", src, "source must be f32 [ne0, ne1, n] matching the destination", s);
  }
  if (!is_i32_vector(slots, src->ne[2]))
    return fail("set_rows", slots, "slots must be a contiguous I32 vector of the source's ne[2]", "");
  return writer_node(g, DS_OP_SET_ROWS, "set_rows", dst, src, slots);
}

ds_tensor *ds_op_cont(ds_graph *g, ds_tensor *a)
{
  if (!a) return NULL;
  if (a->type != DSEEK_TYPE_F32) return fail("cont", a, "must be f32", "");
  return node(g, DS_OP_CONT, "cont", DSEEK_TYPE_F32, a->ne, a, NULL, NULL, NULL);
}

ds_tensor *ds_op_concat(ds_graph *g, ds_tensor *a, ds_tensor *b, int dim)
{
  if (!a || !b) return NULL;
  if (a->type != DSEEK_TYPE_F32) return fail("concat", a, "must be f32", "");
  if (b->type != DSEEK_TYPE_F32) return fail("concat", b, "must be f32", "");
  if (dim < 0 || dim >= DS_MAX_DIMS) return fail("concat", a, "dim must be in [0, 3]", "");
  int64_t ne[4];
  for (int i = 0; i < DS_MAX_DIMS; i++) {
    if (i != dim && a->ne[i] != b->ne[i]) {
      char s[96];
      shape_str(a, s, sizeof s);
      return fail("concat", b, "must match outside the concatenated dim", s);
    }
    ne[i] = i == dim ? a->ne[i] + b->ne[i] : a->ne[i];
  }
  ds_tensor *t = node(g, DS_OP_CONCAT, "concat", DSEEK_TYPE_F32, ne, a, b, NULL, NULL);
  if (t) t->p.concat.dim = dim;
  return t;
}

/* A KV cache operand: a decodable type whose rows (one head of one slot) are
 * whole blocks (f32/f16/bf16, or q8_0 with head dims a multiple of 32; the
 * kernels decode a row at a time), rows contiguous. */
static bool is_cache(const ds_tensor *t)
{
  return has_decodable_rows(t) && t->ne[0] % ds_type_traits_get(t->type)->block_size == 0 && t->ne[3] == 1;
}

ds_tensor *ds_op_attn(ds_graph *g, ds_tensor *q, ds_tensor *k_cache, ds_tensor *v_cache,
                      int64_t n_kv, ds_tensor *pos, float scale)
{
  if (!q || !k_cache || !v_cache || !pos) return NULL;
  char s[96];
  if (!is_f32_rows(q) || q->ne[3] != 1)
    return fail("attn", q, "q must be f32 [head_dim, n_head, n_tokens] with contiguous rows", "");
  if (!is_cache(k_cache)) return fail("attn", k_cache, "k cache must be 3-D of a decodable type with rows of whole blocks", "");
  if (!is_cache(v_cache)) return fail("attn", v_cache, "v cache must be 3-D of a decodable type with rows of whole blocks", "");
  shape_str(q, s, sizeof s);
  if (k_cache->ne[0] != q->ne[0]) return fail("attn", k_cache, "head dim differs from q", s);
  if (v_cache->ne[1] != k_cache->ne[1] || v_cache->ne[2] != k_cache->ne[2]) {
    shape_str(k_cache, s, sizeof s);
    return fail("attn", v_cache, "kv heads / context differ from the k cache", s);
  }
  if (q->ne[1] % k_cache->ne[1] != 0) return fail("attn", k_cache, "n_kv_head must divide n_head of q", s);
  if (!is_i32_vector(pos, q->ne[2])) return fail("attn", pos, "positions must be an I32 vector of n_tokens of q", s);
  if (n_kv < 1 || n_kv > k_cache->ne[2] || n_kv > INT32_MAX) {
    snprintf(s, sizeof s, "%lld (n_ctx %lld)", (long long)n_kv, (long long)k_cache->ne[2]);
    return fail("attn", k_cache, "n_kv must be in [1, n_ctx]: ", s);
  }
  int64_t ne[4] = {v_cache->ne[0], q->ne[1], q->ne[2], 1};
  ds_tensor *t = node(g, DS_OP_ATTN, "attn", DSEEK_TYPE_F32, ne, q, k_cache, v_cache, pos);
  if (!t) return NULL;
  t->p.attn.n_kv = (int32_t)n_kv;
  t->p.attn.scale = scale;
  return t;
}

ds_tensor *ds_op_attn_seq(ds_graph *g, ds_tensor *q, ds_tensor *k_cache, ds_tensor *v_cache,
                          int64_t n_kv, ds_tensor *qslot, ds_tensor *seq, float scale)
{
  if (!seq) return NULL;
  ds_tensor *t = ds_op_attn(g, q, k_cache, v_cache, n_kv, qslot, scale);
  if (!t) return NULL;
  if (!is_i32_vector(seq, k_cache->ne[2] + q->ne[2])) {
    char s[64];
    snprintf(s, sizeof s, "%lld", (long long)(k_cache->ne[2] + q->ne[2]));
    return fail("attn", seq, "seq must be an I32 vector of n_ctx + n_tokens = ", s);
  }
  t->src[4] = seq;
  return t;
}

dseek_status ds_attn_set_n_kv(ds_tensor *attn, int64_t n_kv)
{
  if (!attn || attn->op != DS_OP_ATTN)
    return ds_error(DSEEK_ERR_INVALID_ARG, "attn_set_n_kv: not an attn node");
  if (n_kv < 1 || n_kv > attn->src[1]->ne[2])
    return ds_error(DSEEK_ERR_INVALID_ARG, "attn_set_n_kv: '%s': n_kv %lld outside [1, %lld]",
                    attn->name, (long long)n_kv, (long long)attn->src[1]->ne[2]);
  attn->p.attn.n_kv = (int32_t)n_kv;
  return DSEEK_OK;
}

/* ---- block-scaled FP8 ------------------------------------------------------ */

/* An f32 contiguous scale grid [ceil(K/128), ceil(N/128), E] for w [K, N, E]. */
static bool is_fp8_scale_for(const ds_tensor *scale, const ds_tensor *w)
{
  int64_t sr, sc;
  if (!ds_fp8_scale_shape(w->ne[1], w->ne[0], &sr, &sc)) return false;
  return scale->type == DSEEK_TYPE_F32 && ds_tensor_is_contiguous(scale) && scale->ne[0] == sc &&
         scale->ne[1] == sr && scale->ne[2] == w->ne[2] && scale->ne[3] == 1;
}

static ds_tensor *check_fp8(const char *op, ds_tensor *w, ds_tensor *scale)
{
  if (w->type != DSEEK_TYPE_F8_E4M3 || w->nb[0] != 1)
    return fail(op, w, "scaled weights must be F8_E4M3 with contiguous rows", "");
  if (!is_fp8_scale_for(scale, w)) {
    char s[96];
    shape_str(w, s, sizeof s);
    return fail(op, scale, "scale must be f32 [ceil(K/128), ceil(N/128)] for the weight", s);
  }
  return w;
}

ds_tensor *ds_op_mul_mat_scaled(ds_graph *g, ds_tensor *w, ds_tensor *scale, ds_tensor *x)
{
  if (!w || !scale || !x) return NULL;
  if (!check_fp8("mul_mat", w, scale)) return NULL;
  if (w->ne[2] != 1 || w->ne[3] != 1) return fail("mul_mat", w, "scaled weights must be 2-D", "");
  ds_tensor *t = ds_op_mul_mat(g, w, x);
  if (t) t->src[2] = scale;
  return t;
}

ds_tensor *ds_op_get_rows_scaled(ds_graph *g, ds_tensor *w, ds_tensor *scale, ds_tensor *ids)
{
  if (!w || !scale || !ids) return NULL;
  if (!check_fp8("get_rows", w, scale)) return NULL;
  ds_tensor *t = ds_op_get_rows(g, w, ids);
  if (t) t->src[2] = scale;
  return t;
}

/* ---- mixture of experts ----------------------------------------------------- */

ds_tensor *ds_op_mul_mat_id(ds_graph *g, ds_tensor *w, ds_tensor *scale, ds_tensor *table,
                            ds_tensor *x, ds_tensor *ids)
{
  if (!w || !x || !ids) return NULL;
  char s[96];
  if (!has_decodable_rows(w) || w->ne[3] != 1)
    return fail("mul_mat_id", w, "experts need a supported type with contiguous rows, [K, N, E]", "");
  if (scale && !check_fp8("mul_mat_id", w, scale)) return NULL;
  if (!scale && w->type == DSEEK_TYPE_F8_E4M3)
    return fail("mul_mat_id", w, "F8_E4M3 experts need their scale grid", "");
  if (table && (table->type != DSEEK_TYPE_I64 || !ds_tensor_is_contiguous(table) || table->ne[0] != 2 ||
                table->ne[1] != w->ne[2] || table->ne[2] != 1 || table->ne[3] != 1))
    return fail("mul_mat_id", table, "table must be a contiguous I64 [2, n_expert]", "");
  shape_str(w, s, sizeof s);
  if (!is_f32_rows(x) || x->ne[0] != w->ne[0] || x->ne[3] != 1)
    return fail("mul_mat_id", x, "x must be f32 [K, 1 or k, T] with contiguous rows for experts", s);
  if (ids->type != DSEEK_TYPE_I32 || !ds_tensor_is_contiguous(ids) || ids->ne[1] != x->ne[2] ||
      ids->ne[2] != 1 || ids->ne[3] != 1 || (x->ne[1] != 1 && x->ne[1] != ids->ne[0]))
    return fail("mul_mat_id", ids, "ids must be a contiguous I32 [k, T] matching x [K, 1 or k, T]", "");
  int64_t ne[4] = {w->ne[1], ids->ne[0], ids->ne[1], 1};
  ds_tensor *t = node(g, DS_OP_MUL_MAT_ID, "mul_mat_id", DSEEK_TYPE_F32, ne, w, x, ids, scale);
  if (t) t->src[4] = table;
  return t;
}

ds_tensor *ds_op_mul_mat_id_swiglu(ds_graph *g, ds_tensor *gate, ds_tensor *up, ds_tensor *x, ds_tensor *ids)
{
  if (!gate || !up || !x || !ids) return NULL;
  if (gate->type == DSEEK_TYPE_F8_E4M3)
    return fail("mul_mat_id_swiglu", gate, "FP8 experts need mul_mat_id with their scale grid", "");
  if (up->type != gate->type || !same_shape(up, gate) || memcmp(up->nb, gate->nb, sizeof up->nb) != 0)
    return fail("mul_mat_id_swiglu", up, "up experts must have the type, shape and strides of gate", "");
  ds_tensor *t = ds_op_mul_mat_id(g, gate, NULL, NULL, x, ids);   /* checks gate, x and ids */
  if (!t) return NULL;
  t->op = DS_OP_MUL_MAT_ID_SWIGLU;
  t->src[3] = up;
  snprintf(t->name, sizeof t->name, "mul_mat_id_swiglu#%d", t->index);
  return t;
}

ds_tensor *ds_op_mul_mat_swiglu(ds_graph *g, ds_tensor *gate, ds_tensor *up, ds_tensor *x)
{
  if (!gate || !up || !x) return NULL;
  if (gate->type == DSEEK_TYPE_F8_E4M3 || !has_decodable_rows(gate) || gate->ne[2] != 1 || gate->ne[3] != 1)
    return fail("mul_mat_swiglu", gate, "gate must be a 2-D weight of a supported type (not FP8)", "");
  if (up->type != gate->type || !same_shape(up, gate) || memcmp(up->nb, gate->nb, sizeof up->nb) != 0)
    return fail("mul_mat_swiglu", up, "up must have the type, shape and strides of gate", "");
  if (!is_f32_rows(x) || !ds_tensor_is_contiguous(x) || x->ne[0] != gate->ne[0] || x->ne[2] != 1 || x->ne[3] != 1)
    return fail("mul_mat_swiglu", x, "x must be a contiguous f32 [K, T] matching gate [K, N]", "");
  int64_t ne3[3] = {x->ne[0], 1, x->ne[1]}, ne[4] = {gate->ne[1], 1, x->ne[1], 1}, ne2[2] = {gate->ne[1], x->ne[1]};
  ds_tensor *x3 = ds_op_reshape(g, x, 3, ne3);
  ds_tensor *t = x3 ? node(g, DS_OP_MUL_MAT_ID_SWIGLU, "mul_mat_swiglu", DSEEK_TYPE_F32, ne, gate, x3, NULL, up) : NULL;
  return t ? ds_op_reshape(g, t, 2, ne2) : NULL;
}

static bool check_moe_params(const ds_tensor *logits, const ds_moe_params *p)
{
  int64_t E = logits->ne[0];
  return p->n_used >= 1 && p->n_used <= E && (p->scoring == DS_MOE_SOFTMAX || p->scoring == DS_MOE_SIGMOID) &&
         p->n_group >= 1 && E % p->n_group == 0 && p->n_group_used >= 1 && p->n_group_used <= p->n_group &&
         (int64_t)p->n_used <= (E / p->n_group) * p->n_group_used && isfinite(p->scale) &&
         (!p->group_top2sum || p->n_group == 1 || E / p->n_group >= 2);
}

ds_tensor *ds_op_moe_route(ds_graph *g, ds_tensor *logits, ds_tensor *bias, const ds_moe_params *p)
{
  if (!logits || !p) return NULL;
  if (!is_f32_rows(logits) || !ds_tensor_is_contiguous(logits) || logits->ne[2] != 1 || logits->ne[3] != 1)
    return fail("moe_route", logits, "logits must be a contiguous f32 [n_expert, T]", "");
  if (!check_moe_params(logits, p))
    return fail("moe_route", logits, "bad routing parameters (k, scoring, groups) for n_expert", "");
  if (bias && (bias->type != DSEEK_TYPE_F32 || !ds_tensor_is_contiguous(bias) ||
               ds_tensor_nelements(bias) != logits->ne[0]))
    return fail("moe_route", bias, "bias must be a contiguous f32 vector of n_expert", "");
  int64_t ne[4] = {p->n_used, logits->ne[1], 1, 1};
  ds_tensor *t = node(g, DS_OP_MOE_ROUTE, "moe_route", DSEEK_TYPE_I32, ne, logits, bias, NULL, NULL);
  if (t) t->p.moe = *p;
  return t;
}

ds_tensor *ds_op_moe_weights(ds_graph *g, ds_tensor *logits, ds_tensor *ids, const ds_moe_params *p)
{
  if (!logits || !ids || !p) return NULL;
  if (!is_f32_rows(logits) || !ds_tensor_is_contiguous(logits) || logits->ne[2] != 1 || logits->ne[3] != 1)
    return fail("moe_weights", logits, "logits must be a contiguous f32 [n_expert, T]", "");
  if (!check_moe_params(logits, p))
    return fail("moe_weights", logits, "bad routing parameters (k, scoring, groups) for n_expert", "");
  if (ids->type != DSEEK_TYPE_I32 || !ds_tensor_is_contiguous(ids) || ids->ne[0] != p->n_used ||
      ids->ne[1] != logits->ne[1] || ids->ne[2] != 1 || ids->ne[3] != 1)
    return fail("moe_weights", ids, "ids must be a contiguous I32 [k, T]", "");
  int64_t ne[4] = {p->n_used, logits->ne[1], 1, 1};
  ds_tensor *t = node(g, DS_OP_MOE_WEIGHTS, "moe_weights", DSEEK_TYPE_F32, ne, logits, ids, NULL, NULL);
  if (t) t->p.moe = *p;
  return t;
}

ds_tensor *ds_op_moe_sum(ds_graph *g, ds_tensor *y, ds_tensor *w)
{
  if (!y || !w) return NULL;
  if (!is_f32_rows(y) || y->ne[3] != 1) return fail("moe_sum", y, "y must be f32 [n, k, T]", "");
  if (!is_f32_rows(w) || w->ne[0] != y->ne[1] || w->ne[1] != y->ne[2] || w->ne[2] != 1 || w->ne[3] != 1)
    return fail("moe_sum", w, "w must be f32 [k, T] matching y [n, k, T]", "");
  int64_t ne[4] = {y->ne[0], y->ne[2], 1, 1};
  return node(g, DS_OP_MOE_SUM, "moe_sum", DSEEK_TYPE_F32, ne, y, w, NULL, NULL);
}
