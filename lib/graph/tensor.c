/* tensor.c — the graph's tensors: creation, leaves, shape helpers and views. */
#include "graph/graph_internal.h"
#include "kernels/types.h"

#include <stdio.h>
#include <string.h>

ds_graph *ds_graph_new(void)
{
  ds_graph *g = ds_calloc(1, sizeof *g);
  if (!g) ds_error(DSEEK_ERR_NO_MEMORY, "graph: out of memory");
  return g;
}

void ds_graph_free(ds_graph *g)
{
  if (!g) return;
  for (int i = 0; i < g->n_tensors; i++) ds_free(g->tensors[i]);
  ds_free(g->tensors);
  ds_free(g->exec);
  ds_free(g->arena_alloc);
  ds_free(g);
}

int ds_graph_n_tensors(const ds_graph *g) { return g ? g->n_tensors : 0; }

bool ds_graph_out_of_memory(const ds_graph *g) { return g && g->out_of_memory; }

ds_tensor *ds_graph_tensor(const ds_graph *g, int i)
{
  return g && i >= 0 && i < g->n_tensors ? g->tensors[i] : NULL;
}

bool ds_type_row_bytes(int type, int64_t n, size_t *bytes)
{
  uint64_t b;
  if (type == DSEEK_TYPE_I32 || type == DSEEK_TYPE_I64) {
    if (n < 0 || ds_mul_u64((uint64_t)n, type == DSEEK_TYPE_I32 ? 4 : 8, &b)) return false;
  } else if (!ds_row_size(type, n, &b)) {
    return false;
  }
  if (b > SIZE_MAX) return false;
  *bytes = (size_t)b;
  return true;
}

/* Bytes per block and values per block, I32 and I64 (expert tables) included. */
static bool type_geometry(int type, int64_t *block, size_t *bytes)
{
  if (type == DSEEK_TYPE_I32 || type == DSEEK_TYPE_I64) {
    *block = 1;
    *bytes = type == DSEEK_TYPE_I32 ? 4 : 8;
    return true;
  }
  int64_t bs;
  size_t ts;
  if (!ds_type_traits_get(type) || !ds_type_block_info(type, &bs, &ts)) return false;
  *block = bs;
  *bytes = ts;
  return true;
}

int64_t ds_tensor_nelements(const ds_tensor *t) { return t->ne[0] * t->ne[1] * t->ne[2] * t->ne[3]; }
int64_t ds_tensor_nrows(const ds_tensor *t) { return t->ne[1] * t->ne[2] * t->ne[3]; }

bool ds_tensor_is_contiguous(const ds_tensor *t)
{
  int64_t block;
  size_t bytes;
  if (!type_geometry(t->type, &block, &bytes)) return false;
  if (t->nb[0] != bytes && t->ne[0] != block) return false;
  size_t expect = (size_t)(t->ne[0] / block) * bytes;
  for (int i = 1; i < DS_MAX_DIMS; i++) {
    if (t->ne[i] != 1 && t->nb[i] != expect) return false;
    expect *= (size_t)t->ne[i];
  }
  return true;
}

/* Contiguous strides and total bytes for ne; false on overflow or a bad row. */
static bool contiguous_strides(int type, const int64_t ne[DS_MAX_DIMS], size_t nb[DS_MAX_DIMS],
                               size_t *total)
{
  int64_t block;
  size_t bytes;
  if (!type_geometry(type, &block, &bytes)) return false;
  size_t row;
  if (!ds_type_row_bytes(type, ne[0], &row)) return false;
  nb[0] = bytes;
  nb[1] = row;
  for (int i = 2; i < DS_MAX_DIMS; i++)
    if (ds_mul_size(nb[i - 1], (size_t)ne[i - 1], &nb[i])) return false;
  return !ds_mul_size(nb[3], (size_t)ne[3], total);
}

ds_tensor *ds_graph_add_tensor(ds_graph *g, const char *what, int type, int n_dims,
                               const int64_t *ne)
{
  if (!g) {
    ds_error(DSEEK_ERR_INVALID_ARG, "%s: NULL graph", what);
    return NULL;
  }
  if (g->planned) {
    ds_error(DSEEK_ERR_INVALID_ARG, "%s: the graph is already planned", what);
    return NULL;
  }
  if (n_dims < 1 || n_dims > DS_MAX_DIMS || !ne) {
    ds_error(DSEEK_ERR_INVALID_ARG, "%s: n_dims %d outside [1, %d]", what, n_dims, DS_MAX_DIMS);
    return NULL;
  }
  int64_t full[DS_MAX_DIMS] = {1, 1, 1, 1};
  for (int i = 0; i < n_dims; i++) {
    if (ne[i] < 1) {
      ds_error(DSEEK_ERR_INVALID_ARG, "%s: ne[%d] = %lld must be >= 1", what, i, (long long)ne[i]);
      return NULL;
    }
    full[i] = ne[i];
  }
  int64_t block;
  size_t bytes;
  if (!type_geometry(type, &block, &bytes)) {
    ds_error(DSEEK_ERR_UNSUPPORTED, "%s: type %s (%d) is not supported", what,
             dseek_type_name(type), type);
    return NULL;
  }
  if (full[0] % block != 0) {
    ds_error(DSEEK_ERR_INVALID_ARG, "%s: ne[0] = %lld is not a multiple of the %s block size %lld",
             what, (long long)full[0], dseek_type_name(type), (long long)block);
    return NULL;
  }
  ds_tensor t = {.type = type, .n_dims = n_dims};
  memcpy(t.ne, full, sizeof full);
  if (!contiguous_strides(type, full, t.nb, &t.size)) {
    ds_error(DSEEK_ERR_INVALID_ARG, "%s: tensor size overflows", what);
    return NULL;
  }
  if (g->n_tensors == g->cap_tensors) {
    int cap = g->cap_tensors ? g->cap_tensors * 2 : 64;
    ds_tensor **grown = ds_realloc(g->tensors, (size_t)cap * sizeof *grown);
    if (!grown) goto no_memory;
    g->tensors = grown;
    g->cap_tensors = cap;
  }
  ds_tensor *nt = ds_malloc(sizeof *nt);
  if (!nt) goto no_memory;
  *nt = t;
  nt->index = g->n_tensors;
  snprintf(nt->name, sizeof nt->name, "%s#%d", what, nt->index);
  g->tensors[g->n_tensors++] = nt;
  return nt;

no_memory:
  g->out_of_memory = true;
  ds_error(DSEEK_ERR_NO_MEMORY, "%s: out of memory", what);
  return NULL;
}

ds_tensor *ds_tensor_input(ds_graph *g, int type, int n_dims, const int64_t *ne, const char *name)
{
  ds_tensor *t = ds_graph_add_tensor(g, "input", type, n_dims, ne);
  if (!t) return NULL;
  t->flags = DS_TENSOR_INPUT;
  ds_tensor_set_name(t, name);
  return t;
}

ds_tensor *ds_tensor_external(ds_graph *g, int type, int n_dims, const int64_t *ne,
                              void *data, const char *name)
{
  if (!data) {
    ds_error(DSEEK_ERR_INVALID_ARG, "external tensor '%s': NULL data", name ? name : "");
    return NULL;
  }
  ds_tensor *t = ds_graph_add_tensor(g, "external", type, n_dims, ne);
  if (!t) return NULL;
  t->flags = DS_TENSOR_EXTERNAL;
  t->data = data;
  ds_tensor_set_name(t, name);
  return t;
}

void ds_tensor_set_output(ds_tensor *t)
{
  if (t) t->flags |= DS_TENSOR_OUTPUT;
}

void ds_tensor_set_name(ds_tensor *t, const char *name)
{
  if (t && name) snprintf(t->name, sizeof t->name, "%s", name);
}

/* ---- views ---------------------------------------------------------------- */

/* Bytes from a view's first byte to the end of its last element. */
static size_t view_extent(int type, const int64_t ne[DS_MAX_DIMS], const size_t nb[DS_MAX_DIMS])
{
  int64_t block = 1;
  size_t bytes = 4;
  type_geometry(type, &block, &bytes);
  size_t ext = bytes + (size_t)(ne[0] / block - 1) * nb[0];
  for (int i = 1; i < DS_MAX_DIMS; i++) ext += (size_t)(ne[i] - 1) * nb[i];
  return ext;
}

/* A metadata-only tensor aliasing a's memory with the given geometry. */
static ds_tensor *make_view(ds_graph *g, ds_tensor *a, const char *what, int n_dims,
                            const int64_t ne[DS_MAX_DIMS], const size_t nb[DS_MAX_DIMS],
                            size_t offset)
{
  ds_tensor *base = a->view_src ? a->view_src : a;
  size_t offs;
  if (ds_add_size(a->view_offs, offset, &offs)) offs = SIZE_MAX;
  /* The extent is computed with checked sizes: each (ne-1)*nb is bounded by
   * the base size below, which fits in memory. Along dim 0 nb[0] steps over
   * blocks (block types: ne[0] / block of them). */
  int64_t block = 1;
  size_t block_bytes = 4;
  type_geometry(a->type, &block, &block_bytes);
  for (int i = 0; i < DS_MAX_DIMS; i++) {
    size_t span;
    int64_t steps = (i == 0 ? ne[0] / block : ne[i]) - 1;
    if (steps < 0 || ds_mul_size((size_t)steps, nb[i], &span) || span > base->size) {
      ds_error(DSEEK_ERR_INVALID_ARG, "%s of '%s': dim %d spans beyond the tensor", what,
               a->name, i);
      return NULL;
    }
  }
  size_t ext = view_extent(a->type, ne, nb), end;
  if (ds_add_size(offs, ext, &end) || end > base->size) {
    ds_error(DSEEK_ERR_INVALID_ARG, "%s of '%s': bytes [%zu, +%zu) exceed its size %zu", what,
             a->name, offs, ext, base->size);
    return NULL;
  }
  ds_tensor *v = ds_graph_add_tensor(g, what, a->type, n_dims, ne);
  if (!v) return NULL;
  memcpy(v->nb, nb, sizeof v->nb);
  v->op = DS_OP_VIEW;
  v->src[0] = a;
  v->flags = DS_TENSOR_VIEW;
  v->view_src = base;
  v->view_offs = offs;
  v->size = 0;
  if (base->data) v->data = (char *)base->data + offs;
  snprintf(v->name, sizeof v->name, "%.30s (%s)", a->name, what);
  return v;
}

ds_tensor *ds_op_view(ds_graph *g, ds_tensor *a, int n_dims, const int64_t *ne,
                      const size_t *nb, size_t offset)
{
  if (!a) return NULL;
  if (n_dims < 1 || n_dims > DS_MAX_DIMS || !ne) {
    ds_error(DSEEK_ERR_INVALID_ARG, "view of '%s': n_dims %d outside [1, 4]", a->name, n_dims);
    return NULL;
  }
  int64_t full[DS_MAX_DIMS] = {1, 1, 1, 1};
  size_t strides[DS_MAX_DIMS];
  for (int i = 0; i < n_dims; i++) {
    if (ne[i] < 1) {
      ds_error(DSEEK_ERR_INVALID_ARG, "view of '%s': ne[%d] < 1", a->name, i);
      return NULL;
    }
    full[i] = ne[i];
  }
  size_t total;
  if (!contiguous_strides(a->type, full, strides, &total)) {
    ds_error(DSEEK_ERR_INVALID_ARG, "view of '%s': bad shape for type %s", a->name,
             dseek_type_name(a->type));
    return NULL;
  }
  if (nb) {
    if (nb[0] != a->nb[0] && nb[0] != strides[0]) {
      ds_error(DSEEK_ERR_INVALID_ARG, "view of '%s': nb[0] = %zu must be the element size %zu",
               a->name, nb[0], strides[0]);
      return NULL;
    }
    for (int i = 0; i < n_dims; i++) strides[i] = nb[i];
    for (int i = n_dims; i < DS_MAX_DIMS; i++) strides[i] = strides[i - 1] * (size_t)full[i - 1];
  }
  return make_view(g, a, "view", n_dims, full, strides, offset);
}

ds_tensor *ds_op_reshape(ds_graph *g, ds_tensor *a, int n_dims, const int64_t *ne)
{
  if (!a) return NULL;
  if (!ds_tensor_is_contiguous(a)) {
    ds_error(DSEEK_ERR_INVALID_ARG, "reshape of '%s': the tensor is not contiguous", a->name);
    return NULL;
  }
  int64_t n = 1;
  for (int i = 0; ne && i < n_dims && i < DS_MAX_DIMS; i++) {
    if (ne[i] < 1 || ds_mul_i64(n, ne[i], &n)) n = -1;
    if (n < 0) break;
  }
  if (n != ds_tensor_nelements(a)) {
    ds_error(DSEEK_ERR_INVALID_ARG, "reshape of '%s': %lld elements cannot become %lld",
             a->name, (long long)ds_tensor_nelements(a), (long long)n);
    return NULL;
  }
  return ds_op_view(g, a, n_dims, ne, NULL, 0);
}

ds_tensor *ds_op_permute(ds_graph *g, ds_tensor *a, int ax0, int ax1, int ax2, int ax3)
{
  if (!a) return NULL;
  int ax[DS_MAX_DIMS] = {ax0, ax1, ax2, ax3};
  bool seen[DS_MAX_DIMS] = {false};
  for (int i = 0; i < DS_MAX_DIMS; i++) {
    if (ax[i] < 0 || ax[i] >= DS_MAX_DIMS || seen[ax[i]]) {
      ds_error(DSEEK_ERR_INVALID_ARG, "permute of '%s': axes (%d %d %d %d) are not a permutation",
               a->name, ax0, ax1, ax2, ax3);
      return NULL;
    }
    seen[ax[i]] = true;
  }
  int64_t block = 1;
  size_t bytes = 4;
  type_geometry(a->type, &block, &bytes);
  if (block != 1 && ax0 != 0) {
    ds_error(DSEEK_ERR_INVALID_ARG, "permute of '%s': cannot move dim 0 of block type %s",
             a->name, dseek_type_name(a->type));
    return NULL;
  }
  int64_t ne[DS_MAX_DIMS];
  size_t nb[DS_MAX_DIMS];
  int n_dims = a->n_dims;
  for (int i = 0; i < DS_MAX_DIMS; i++) {
    ne[ax[i]] = a->ne[i];
    nb[ax[i]] = a->nb[i];
    if (i < a->n_dims && ax[i] + 1 > n_dims) n_dims = ax[i] + 1;
  }
  /* The view checks bounds on the permuted geometry: same bytes as a. */
  ds_tensor *v = make_view(g, a, "permute", n_dims, ne, nb, 0);
  return v;
}

ds_tensor *ds_op_transpose(ds_graph *g, ds_tensor *a)
{
  if (!a) return NULL;
  ds_tensor *v = ds_op_permute(g, a, 1, 0, 2, 3);
  if (v && v->n_dims < 2) v->n_dims = 2;
  return v;
}
