/*
 * model_prepare.c — the last step of a load (ds_model_prepare): the model's
 * fingerprint, then the weights that only mul_mat reads repacked into the
 * layout its kernels read fastest.
 *
 * Repacking: a dense model's (llama, qwen2, qwen3) Q4_0, Q4_K and Q6_K
 * projection matrices, and its output head unless tied to the embedding
 * (which get_rows reads row by row), are interleaved eight rows at a time
 * (kernels/q4_0_r8.h, kernels/q4_k_r8.h, kernels/q6_k_r8.h) where the CPU
 * level has a SIMD R8 kernel for the type, in place: a mapped file's pages
 * become the process's own copies (the same bytes, so no weight is held
 * twice), which is done only when the whole file is resident anyway (read,
 * or mapped with MAP_POPULATE because it fits in memory): repacking a larger
 * one would turn pages the kernel could drop into memory it cannot.
 * DSEEK_REPACK=0 keeps every weight as the file has it (for comparisons).
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
  if (m->arch == DS_ARCH_DEEPSEEK2 || m->arch == DS_ARCH_UNKNOWN) return false;   /* dense models only */
  return m->gguf && all_resident(m->gguf);
}

/* The R8 layouts: the type, its block (values, bytes), repacker and flag. */
static const struct r8_kind {
  int type;
  int64_t block_values;
  size_t block_bytes;
  void (*repack)(void *w, int64_t K, int64_t N, void *tmp);
  unsigned flag;
} r8_kinds[] = {
  {DSEEK_TYPE_Q4_0, 32, 18, ds_q4_0_r8_repack, DS_TENSOR_Q4_0_R8},
  {DSEEK_TYPE_Q4_K, 256, 144, ds_q4_k_r8_repack, DS_TENSOR_Q4_K_R8},
  {DSEEK_TYPE_Q6_K, 256, 210, ds_q6_k_r8_repack, DS_TENSOR_Q6_K_R8},
};

static dseek_status repack(struct dseek_model *m, ds_weight *w, void **tmp, size_t *tmp_bytes)
{
  const struct r8_kind *kind = NULL;
  for (size_t i = 0; i < DS_ARRAY_LEN(r8_kinds); i++)
    if (r8_kinds[i].type == w->type) kind = &r8_kinds[i];
  if (!w->data || !kind || w->n_dims != 2 || w->ne[1] < DS_R8_ROWS || w->ne[0] % kind->block_values != 0 ||
      !level_has_r8(w->type))
    return DSEEK_OK;
  const size_t row_bytes = (size_t)(w->ne[0] / kind->block_values) * kind->block_bytes;
  if (*tmp_bytes < DS_R8_ROWS * row_bytes) {
    ds_free(*tmp);
    *tmp_bytes = DS_R8_ROWS * row_bytes;
    if (!(*tmp = ds_malloc(*tmp_bytes))) return ds_error(DSEEK_ERR_NO_MEMORY, "%s: out of memory", m->path);
  }
  ds_file *f = file_of(m->gguf, w->data);
  if (!f) return DSEEK_OK;   /* not in the file (converted at load): leave it */
  dseek_status st = ds_file_make_writable(f, w->data, row_bytes * (size_t)w->ne[1]);
  if (st) return ds_error_prefix(st, "%s: repacking a weight", m->path);
  kind->repack(w->data, w->ne[0], w->ne[1], *tmp);
  w->layout = kind->flag;
  return DSEEK_OK;
}

dseek_status ds_model_prepare(struct dseek_model *m)
{
  m->fingerprint = fingerprint(m);
  if (!repack_wanted(m)) return DSEEK_OK;
  void *tmp = NULL;
  size_t tmp_bytes = 0;
  dseek_status st = DSEEK_OK;
  for (int64_t il = 0; il < m->hp.n_layer && !st; il++) {
    ds_dense_layer *L = &m->layers[il];
    ds_weight *ws[] = {&L->wq, &L->wk, &L->wv, &L->wo, &L->ffn_gate, &L->ffn_up, &L->ffn_down};
    for (size_t k = 0; k < DS_ARRAY_LEN(ws) && !st; k++) st = repack(m, ws[k], &tmp, &tmp_bytes);
  }
  if (!st && m->output.data != m->tok_embd.data) st = repack(m, &m->output, &tmp, &tmp_bytes);
  ds_free(tmp);
  return st;
}
