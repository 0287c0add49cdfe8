/*
 * model_prepare.c — the last step of a load (ds_model_prepare): the model's
 * fingerprint, then the weights that only the matrix products read
 * repacked into the layout their kernels read fastest.
 *
 * Repacking: a model's Q4_0, Q4_K and Q6_K matrices that only mul_mat (or
 * the expert products) read — a dense model's (llama, qwen2, qwen3)
 * projections; deepseek2's attention projections, dense-layer and
 * shared-expert FFNs, MTP projections and stacked Q4_0/Q4_K routed experts
 * (each expert's matrix on its own: ops_moe_mm.c reads them expert by
 * expert; not the per-head W_UK / W_UV stacks) — and the output head unless
 * tied to the embedding (which get_rows reads row by row), are interleaved
 * eight rows at a time (kernels/q4_0_r8.h, kernels/q4_k_r8.h,
 * kernels/q6_k_r8.h) where the CPU level has a SIMD R8 kernel for the type,
 * in place: a mapped file's pages become the
 * process's own copies (the same bytes, so no weight is held twice), which
 * is done only when the whole file is resident anyway (read, or mapped with
 * MAP_POPULATE because it fits in memory): repacking a larger one would turn
 * pages the kernel could drop into memory it cannot. DSEEK_REPACK=0 keeps
 * every weight as the file has it (for comparisons).
 */
#include "formats/gguf.h"
#include "kernels/cpu.h"
#include "kernels/q4_0_r8.h"
#include "kernels/q4_k_r8.h"
#include "kernels/q6_k_r8.h"
#include "kernels/type_ops.h"
#include "kernels/types.h"
#include "kernels/vec.h"
#include "models/model.h"

#include "graph/graph.h"

#include <stdlib.h>
#include <string.h>

static uint64_t fnv(uint64_t h, const void *p, size_t n)
{
  const uint8_t *b = p;
  for (size_t i = 0; i < n; i++) h = (h ^ b[i]) * 1099511628211ull;
  return h;
}

/* FNV-1a over the architecture, the hyperparameters, the weight bytes and
 * the first and last 4 KiB of the embedding and the output head, as the file
 * has them (before any repacking): enough to refuse another model's state. */
static uint64_t fingerprint(const struct dseek_model *m)
{
  uint64_t h = 1469598103934665603ull;
  h = fnv(h, m->arch_name, strlen(m->arch_name));
  h = fnv(h, &m->hp, sizeof m->hp);
  h = fnv(h, &m->weight_bytes, sizeof m->weight_bytes);
  const ds_weight *ws[2] = {&m->tok_embd, &m->output};
  for (int k = 0; k < 2; k++) {
    uint64_t bytes = 0;
    if (!ws[k]->data || !ds_row_size(ws[k]->type, ws[k]->ne[0], &bytes)) continue;
    bytes *= (uint64_t)ws[k]->ne[1];
    size_t n = (size_t)DS_MIN(bytes, (uint64_t)4096);
    h = fnv(h, ws[k]->data, n);
    h = fnv(h, (const uint8_t *)ws[k]->data + (bytes - n), n);
  }
  return h;
}

/* The file of a split model's shard set (or the one file) holding p. */
static ds_file *file_of(struct dseek_gguf *g, const void *p)
{
  for (int i = 0; i < g->n_shards; i++) {
    ds_file *f = i == 0 ? &g->file : &g->shards[i]->file;
    if ((const uint8_t *)p >= f->data && (const uint8_t *)p < f->data + f->size) return f;
  }
  return NULL;
}

static bool all_resident(const struct dseek_gguf *g)
{
  for (int i = 0; i < g->n_shards; i++)
    if (!(i == 0 ? &g->file : &g->shards[i]->file)->resident) return false;
  return true;
}

/* Whether the level has a SIMD R8 kernel for the type (the scalar twins
 * are there to check them, not worth a repack): the type table's r8.simd. */
static bool level_has_r8(int type)
{
  const ds_cpu_level level = ds_cpu_level_get();
  if (level == DS_CPU_REFERENCE) return false;
  const ds_cpu_type_ops *o = ds_cpu_type_ops_get(ds_vec_get(level), type);
  return o && o->r8.simd;
}

static bool repack_wanted(const struct dseek_model *m)
{
  const char *e = getenv("DSEEK_REPACK");
  if (e && strcmp(e, "0") == 0) return false;
  if (m->arch == DS_ARCH_UNKNOWN) return false;
  return m->gguf && all_resident(m->gguf);
}

/* The R8 layouts: the type, its block (values, bytes), repacker and flag,
 * and whether the expert products read it (ops_moe_mm.c: Q4_0 and Q4_K). */
static const struct r8_kind {
  int type;
  int64_t block_values;
  size_t block_bytes;
  void (*repack)(void *w, int64_t K, int64_t N, void *tmp);
  unsigned flag;
  bool experts;
} r8_kinds[] = {
  {DSEEK_TYPE_Q4_0, 32, 18, ds_q4_0_r8_repack, DS_TENSOR_Q4_0_R8, true},
  {DSEEK_TYPE_Q4_K, 256, 144, ds_q4_k_r8_repack, DS_TENSOR_Q4_K_R8, true},
  {DSEEK_TYPE_Q6_K, 256, 210, ds_q6_k_r8_repack, DS_TENSOR_Q6_K_R8, false},
};

/* Repack w, a matrix or (max_dims 3) a stack of ne[2] matrices (a stacked
 * GGUF expert tensor [K, N, E], expert e's N rows contiguous): each matrix's
 * rows are interleaved on their own, so expert e's slice is an R8 matrix. */
static dseek_status repack_stack(struct dseek_model *m, ds_weight *w, int max_dims, void **tmp, size_t *tmp_bytes)
{
  const struct r8_kind *kind = NULL;
  for (size_t i = 0; i < DS_ARRAY_LEN(r8_kinds); i++)
    if (r8_kinds[i].type == w->type) kind = &r8_kinds[i];
  if (!w->data || !kind || w->n_dims < 2 || w->n_dims > max_dims || (w->n_dims == 3 && !kind->experts) ||
      w->ne[1] < DS_R8_ROWS || w->ne[0] % kind->block_values != 0 || !level_has_r8(w->type))
    return DSEEK_OK;
  const size_t row_bytes = (size_t)(w->ne[0] / kind->block_values) * kind->block_bytes;
  const int64_t n_mat = w->n_dims == 3 ? w->ne[2] : 1;
  if (*tmp_bytes < DS_R8_ROWS * row_bytes) {
    ds_free(*tmp);
    *tmp_bytes = DS_R8_ROWS * row_bytes;
    if (!(*tmp = ds_malloc(*tmp_bytes))) return ds_error(DSEEK_ERR_NO_MEMORY, "%s: out of memory", m->path);
  }
  ds_file *f = file_of(m->gguf, w->data);
  if (!f) return DSEEK_OK;   /* not in the file (converted at load): leave it */
  const size_t mat_bytes = row_bytes * (size_t)w->ne[1];
  dseek_status st = ds_file_make_writable(f, w->data, mat_bytes * (size_t)n_mat);
  if (st) return ds_error_prefix(st, "%s: repacking a weight", m->path);
  for (int64_t e = 0; e < n_mat; e++) kind->repack((char *)w->data + (size_t)e * mat_bytes, w->ne[0], w->ne[1], *tmp);
  w->layout = kind->flag;
  return DSEEK_OK;
}

static dseek_status repack(struct dseek_model *m, ds_weight *w, void **tmp, size_t *tmp_bytes)
{
  return repack_stack(m, w, 2, tmp, tmp_bytes);
}

/* Routed experts: stacked ones only (an HF expert table's matrices are
 * scattered over the file, and it is not read here: no GGUF). */
static dseek_status repack_experts(struct dseek_model *m, ds_experts *x, void **tmp, size_t *tmp_bytes)
{
  if (x->table || x->w.scale) return DSEEK_OK;
  return repack_stack(m, &x->w, 3, tmp, tmp_bytes);
}

/* The 2-D matrices of a deepseek2 block that only mul_mat reads, and its
 * stacked routed experts (mul_mat_id and the fused gate/up op read them). */
static dseek_status repack_ds2_block(struct dseek_model *m, ds_ds2_layer *L, void **tmp, size_t *tmp_bytes)
{
  ds_weight *ws[] = {&L->wq,       &L->wq_a,     &L->wq_b,        &L->wkv_a,     &L->wo,
                     &L->ffn_gate, &L->ffn_up,   &L->ffn_down,    &L->gate_shexp, &L->up_shexp,
                     &L->down_shexp};
  ds_experts *xs[] = {&L->gate_exps, &L->up_exps, &L->down_exps};
  dseek_status st = DSEEK_OK;
  for (size_t k = 0; k < DS_ARRAY_LEN(ws) && !st; k++) st = repack(m, ws[k], tmp, tmp_bytes);
  for (size_t k = 0; L->moe && k < DS_ARRAY_LEN(xs) && !st; k++) st = repack_experts(m, xs[k], tmp, tmp_bytes);
  return st;
}

static dseek_status repack_deepseek2(struct dseek_model *m, void **tmp, size_t *tmp_bytes)
{
  dseek_status st = DSEEK_OK;
  for (int64_t il = 0; il < m->hp.n_layer && !st; il++) st = repack_ds2_block(m, &m->ds2_layers[il], tmp, tmp_bytes);
  for (int64_t i = 0; m->ds2_nextn && i < m->ds2.n_nextn && !st; i++) {
    ds_ds2_nextn *x = &m->ds2_nextn[i];
    st = repack_ds2_block(m, &x->block, tmp, tmp_bytes);
    if (!st) st = repack(m, &x->eh_proj, tmp, tmp_bytes);
    /* its own head, unless it is the model's (repacked below) or an embedding */
    if (!st && x->shared_head_head.data != m->output.data && x->shared_head_head.data != m->tok_embd.data &&
        x->shared_head_head.data != x->embed_tokens.data)
      st = repack(m, &x->shared_head_head, tmp, tmp_bytes);
  }
  return st;
}

dseek_status ds_model_prepare(struct dseek_model *m)
{
  m->fingerprint = fingerprint(m);
  if (!repack_wanted(m)) return DSEEK_OK;
  void *tmp = NULL;
  size_t tmp_bytes = 0;
  dseek_status st = DSEEK_OK;
  if (m->arch == DS_ARCH_DEEPSEEK2) st = repack_deepseek2(m, &tmp, &tmp_bytes);
  for (int64_t il = 0; m->arch != DS_ARCH_DEEPSEEK2 && il < m->hp.n_layer && !st; il++) {
    ds_dense_layer *L = &m->layers[il];
    ds_weight *ws[] = {&L->wq, &L->wk, &L->wv, &L->wo, &L->ffn_gate, &L->ffn_up, &L->ffn_down};
    for (size_t k = 0; k < DS_ARRAY_LEN(ws) && !st; k++) st = repack(m, ws[k], &tmp, &tmp_bytes);
  }
  if (!st && m->output.data != m->tok_embd.data) st = repack(m, &m->output, &tmp, &tmp_bytes);
  ds_free(tmp);
  return st;
}
