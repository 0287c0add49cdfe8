/* graph_internal.h — the ds_graph struct, shared by tensor.c, ops_build.c,
 * plan.c and compute.c only. */
#ifndef DS_GRAPH_INTERNAL_H
#define DS_GRAPH_INTERNAL_H

#include "graph/graph.h"
#include "kernels/ops.h"

struct ds_graph {
  ds_tensor **tensors;         /* every tensor, creation (= topological) order */
  int n_tensors, cap_tensors;
  bool planned;
  bool out_of_memory;          /* a constructor failed to allocate (see ds_graph_out_of_memory) */
  /* set by ds_graph_plan */
  void *arena_alloc;           /* what ds_malloc returned */
  uint8_t *arena;              /* aligned: planned tensors, then per-thread scratch */
  size_t arena_bytes;          /* tensor part: the peak */
  size_t planned_sum;          /* sum of planned sizes (what no reuse would cost) */
  int max_threads;
  size_t scratch_floats;       /* per thread, rounded to DS_ARENA_ALIGN */
  float *scratch;
  ds_tensor **exec;            /* nodes with a kernel, in order */
  int n_exec;
  ds_kernel_error error;       /* first data error of the current compute */
};

/* A new tensor owned by g with contiguous strides; NULL + ds_error. Fails if
 * g is planned. */
ds_tensor *ds_graph_add_tensor(ds_graph *g, const char *what, int type, int n_dims,
                               const int64_t *ne);

#endif
