/*
 * plan.c — memory planning: every input and intermediate gets an offset in one
 * arena, reusing memory between tensors whose lifetimes do not overlap.
 *
 * Lifetime of a planned tensor t, in creation (= execution) indices:
 *   first(t) = index of t, last(t) = largest index of a node reading t, where
 *   reading a view (or the result of cpy/set_rows into t) reads its owner.
 *   Inputs and outputs (or owners of output views) live [0, n_tensors].
 * Two tensors may share bytes only if their [first, last] ranges are disjoint:
 * a node's output never aliases any of its sources.
 *
 * Placement (greedy by size, best fit): take tensors largest first; for each,
 * collect the already placed tensors whose lifetime overlaps, and put it in the
 * smallest gap between them that fits, or after the highest one. The arena's
 * size is the peak. Then per-thread scratch for the kernels is appended.
 */
#include "graph/graph_internal.h"

#include <stdlib.h>
#include <string.h>

typedef struct planned {
  ds_tensor *t;
  int first, last;
  size_t size;       /* rounded to DS_ARENA_ALIGN */
  size_t offset;
  bool placed;
} planned;

static ds_tensor *owner(ds_tensor *t) { return t->view_src ? t->view_src : t; }

static bool is_planned(const ds_tensor *t)
{
  return !(t->flags & (DS_TENSOR_EXTERNAL | DS_TENSOR_VIEW));
}

static int by_size_desc(const void *pa, const void *pb)
{
  const planned *a = *(const planned *const *)pa, *b = *(const planned *const *)pb;
  if (a->size != b->size) return a->size > b->size ? -1 : 1;
  return a->t->index - b->t->index;
}

static int by_offset(const void *pa, const void *pb)
{
  const planned *a = *(const planned *const *)pa, *b = *(const planned *const *)pb;
  if (a->offset != b->offset) return a->offset < b->offset ? -1 : 1;
  return 0;
}

/* Smallest aligned offset for p that does not collide with any placed tensor
 * alive at the same time. conflicts: scratch array of n pointers. */
static bool place(planned *p, planned **all, int n, planned **conflicts, size_t *offset)
{
  int nc = 0;
  for (int i = 0; i < n; i++) {
    planned *q = all[i];
    if (q->placed && q->first <= p->last && p->first <= q->last) conflicts[nc++] = q;
  }
  qsort(conflicts, (size_t)nc, sizeof *conflicts, by_offset);
  size_t best = SIZE_MAX, best_gap = SIZE_MAX, cursor = 0;
  for (int i = 0; i < nc; i++) {
    planned *q = conflicts[i];
    if (q->offset > cursor) {
      size_t gap = q->offset - cursor;
      if (gap >= p->size && gap < best_gap) {
        best = cursor;
        best_gap = gap;
      }
    }
    size_t end;
    if (ds_add_size(q->offset, q->size, &end)) return false;
    if (end > cursor) cursor = end;
  }
  if (best == SIZE_MAX) best = cursor;    /* after everything alive */
  size_t end;
  if (ds_add_size(best, p->size, &end)) return false;
  *offset = best;
  return true;
}

dseek_status ds_graph_plan(ds_graph *g, int max_threads)
{
  if (!g) return ds_error(DSEEK_ERR_INVALID_ARG, "graph_plan: NULL graph");
  if (g->planned) return ds_error(DSEEK_ERR_INVALID_ARG, "graph_plan: already planned");
  if (max_threads < 1 || max_threads > 1024)
    return ds_error(DSEEK_ERR_INVALID_ARG, "graph_plan: max_threads %d outside [1, 1024]", max_threads);

  int n = g->n_tensors;
  dseek_status st = DSEEK_OK;
  planned *items = ds_calloc((size_t)(n ? n : 1), sizeof *items);
  planned **slot = ds_calloc((size_t)(n ? n : 1), sizeof *slot);      /* by tensor index */
  planned **order = ds_calloc((size_t)(n ? n : 1), sizeof *order);
  planned **conflicts = ds_calloc((size_t)(n ? n : 1), sizeof *conflicts);
  ds_tensor **exec = ds_calloc((size_t)(n ? n : 1), sizeof *exec);
  if (!items || !slot || !order || !conflicts || !exec) {
    st = ds_error(DSEEK_ERR_NO_MEMORY, "graph_plan: out of memory for %d tensors", n);
    goto done;
  }

  /* Lifetimes. */
  int n_planned = 0;
  size_t sum = 0;
  for (int i = 0; i < n; i++) {
    ds_tensor *t = g->tensors[i];
    if (!is_planned(t)) continue;
    planned *p = &items[n_planned++];
    p->t = t;
    p->first = p->last = i;
    if (t->flags & (DS_TENSOR_INPUT | DS_TENSOR_OUTPUT)) {
      p->first = 0;
      p->last = n;
    }
    uint64_t rounded;
    if (ds_align_u64(t->size, DS_ARENA_ALIGN, &rounded) || rounded > SIZE_MAX / 4 ||
        ds_add_size(sum, (size_t)rounded, &sum)) {
      st = ds_error(DSEEK_ERR_NO_MEMORY, "graph_plan: '%s' is too large", t->name);
      goto done;
    }
    p->size = (size_t)rounded;
    slot[i] = p;
  }
  for (int i = 0; i < n; i++) {
    ds_tensor *t = g->tensors[i];
    for (int s = 0; s < DS_MAX_SRC; s++) {
      if (!t->src[s]) continue;
      planned *p = slot[owner(t->src[s])->index];
      if (p && p->last < i) p->last = i;
    }
    if ((t->flags & DS_TENSOR_OUTPUT) && t->view_src && slot[t->view_src->index])
      slot[t->view_src->index]->last = n;
  }

  /* Placement. */
  for (int i = 0; i < n_planned; i++) order[i] = &items[i];
  qsort(order, (size_t)n_planned, sizeof *order, by_size_desc);
  size_t peak = 0;
  for (int i = 0; i < n_planned; i++) {
    planned *p = order[i];
    size_t end;
    if (!place(p, order, i, conflicts, &p->offset) || ds_add_size(p->offset, p->size, &end)) {
      st = ds_error(DSEEK_ERR_NO_MEMORY, "graph_plan: arena size overflows");
      goto done;
    }
    p->placed = true;
    if (end > peak) peak = end;
  }

  /* Scratch: the largest per-thread need of any node, times max_threads. */
  size_t scratch_floats = 0;
  int n_exec = 0;
  for (int i = 0; i < n; i++) {
    ds_tensor *t = g->tensors[i];
    if (t->op == DS_OP_NONE || t->op == DS_OP_VIEW) continue;
    exec[n_exec++] = t;
    size_t need = ds_kernel_scratch_floats(t);
    if (need > scratch_floats) scratch_floats = need;
  }
  uint64_t per_thread, scratch_total, total, alloc;
  if (ds_align_u64((uint64_t)scratch_floats * 4, DS_ARENA_ALIGN, &per_thread) ||
      ds_mul_u64(per_thread, (uint64_t)max_threads, &scratch_total) ||
      ds_add_u64(peak, scratch_total, &total) || ds_add_u64(total, DS_ARENA_ALIGN, &alloc) ||
      alloc > SIZE_MAX) {
    st = ds_error(DSEEK_ERR_NO_MEMORY, "graph_plan: arena size overflows");
    goto done;
  }
  void *mem = ds_malloc((size_t)alloc);
  if (!mem) {
    st = ds_error(DSEEK_ERR_NO_MEMORY, "graph_plan: cannot allocate an arena of %llu bytes",
                  (unsigned long long)alloc);
    goto done;
  }
  uintptr_t at = ((uintptr_t)mem + DS_ARENA_ALIGN - 1) & ~(uintptr_t)(DS_ARENA_ALIGN - 1);
  g->arena_alloc = mem;
  g->arena = (uint8_t *)at;
  g->arena_bytes = peak;
  g->planned_sum = sum;
  g->max_threads = max_threads;
  g->scratch_floats = (size_t)per_thread / 4;
  g->scratch = (float *)(g->arena + peak);
  g->exec = exec;
  g->n_exec = n_exec;
  exec = NULL;

  for (int i = 0; i < n_planned; i++) items[i].t->data = g->arena + items[i].offset;
  for (int i = 0; i < n; i++) {
    ds_tensor *t = g->tensors[i];
    if (t->view_src) t->data = (char *)t->view_src->data + t->view_offs;
  }
  g->planned = true;

done:
  ds_free(items);
  ds_free(slot);
  ds_free(order);
  ds_free(conflicts);
  ds_free(exec);
  return st;
}

size_t ds_graph_arena_bytes(const ds_graph *g) { return g ? g->arena_bytes : 0; }
size_t ds_graph_planned_sum(const ds_graph *g) { return g ? g->planned_sum : 0; }
