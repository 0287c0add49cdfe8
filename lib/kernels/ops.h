/*
 * ops.h — scalar reference kernels, one per graph op.
 *
 * Contract: a kernel computes node `dst` from dst->src[] and its op
 * parameters, as thread ith of nth. It splits the output rows into nth
 * contiguous ranges (ds_kernel_rows) and writes only its own range, summing
 * in f32 in a fixed order, so the result does not depend on nth. Scratch is
 * this thread's slice of the planned arena (ds_kernel_scratch_floats(dst)
 * floats); kernels never allocate. Data errors (a row id out of range) are
 * reported with ds_kernel_fail() and the kernel writes zeros instead.
 *
 * Faster variants (SIMD, BLAS) plug in behind the same functions and are
 * tested against these.
 */
#ifndef DS_KERNELS_OPS_H
#define DS_KERNELS_OPS_H

#include "graph/graph.h"

#include <stdatomic.h>

/* The first data error of a compute; later ones are dropped. */
typedef struct ds_kernel_error {
  atomic_int set;
  const ds_tensor *node;
  int64_t value;
} ds_kernel_error;

typedef struct ds_kernel_params {
  int ith, nth;
  float *scratch;          /* this thread's scratch */
  ds_kernel_error *error;
  /* For a kernel in phases: thread i's scratch is scratch0 + i scratch_stride,
   * and barrier(barrier_arg), called by all nth threads, returns once every
   * thread arrived (a full memory fence); NULL: no barrier (then a kernel
   * runs its phases on one thread's terms, as if nth were 1). */
  float *scratch0;
  size_t scratch_stride;
  void (*barrier)(void *arg);
  void *barrier_arg;
} ds_kernel_params;

/* Rows [*r0, *r1) of n for thread ith of nth: contiguous, balanced ranges. */
static inline void ds_kernel_rows(int64_t n, int ith, int nth, int64_t *r0, int64_t *r1)
{
  int64_t per = n / nth, extra = n % nth;
  *r0 = ith * per + (ith < extra ? ith : extra);
  *r1 = *r0 + per + (ith < extra ? 1 : 0);
}

void ds_kernel_fail(const ds_kernel_params *p, const ds_tensor *node, int64_t value);

/* Run node's kernel (views and leaves: nothing to do). */
void ds_kernel_run(const ds_kernel_params *p, ds_tensor *node);
/* Floats of scratch one thread needs for node. */
size_t ds_kernel_scratch_floats(const ds_tensor *node);

/* ---- the kernels ---------------------------------------------------------- */
void ds_kernel_get_rows(const ds_kernel_params *p, ds_tensor *dst);      /* ops_copy.c */
void ds_kernel_cpy(const ds_kernel_params *p, ds_tensor *dst);
void ds_kernel_set_rows(const ds_kernel_params *p, ds_tensor *dst);
void ds_kernel_cont(const ds_kernel_params *p, ds_tensor *dst);
void ds_kernel_concat(const ds_kernel_params *p, ds_tensor *dst);
void ds_kernel_add(const ds_kernel_params *p, ds_tensor *dst);           /* ops_unary.c */
void ds_kernel_mul(const ds_kernel_params *p, ds_tensor *dst);
void ds_kernel_scale(const ds_kernel_params *p, ds_tensor *dst);
void ds_kernel_silu(const ds_kernel_params *p, ds_tensor *dst);
void ds_kernel_swiglu(const ds_kernel_params *p, ds_tensor *dst);
void ds_kernel_rms_norm(const ds_kernel_params *p, ds_tensor *dst);      /* ops_rows.c */
void ds_kernel_softmax(const ds_kernel_params *p, ds_tensor *dst);
void ds_kernel_top_k(const ds_kernel_params *p, ds_tensor *dst);
void ds_kernel_rope(const ds_kernel_params *p, ds_tensor *dst);          /* ops_rope.c */
void ds_kernel_mul_mat(const ds_kernel_params *p, ds_tensor *dst);       /* ops_mul_mat.c */
size_t ds_kernel_mul_mat_scratch_floats(const ds_tensor *node);
/* In words, the kernel mul_mat (mul_mat_id: routed experts) runs for a weight
 * of `type` (no FP8 scale grid) with level table vk (NULL: the reference). */
struct ds_vec_kernels;
void ds_kernel_mul_mat_describe(int type, const struct ds_vec_kernels *vk, char *buf, size_t size);
void ds_kernel_mul_mat_id_describe(int type, const struct ds_vec_kernels *vk, char *buf, size_t size);
size_t ds_kernel_mul_mat_id_scratch_floats(const ds_tensor *node);
void ds_kernel_attn(const ds_kernel_params *p, ds_tensor *dst);          /* ops_attn.c */
void ds_kernel_mul_mat_id(const ds_kernel_params *p, ds_tensor *dst);    /* ops_moe_mm.c */
void ds_kernel_mul_mat_id_swiglu(const ds_kernel_params *p, ds_tensor *dst);
void ds_kernel_moe_route(const ds_kernel_params *p, ds_tensor *dst);    /* ops_moe.c */
void ds_kernel_moe_weights(const ds_kernel_params *p, ds_tensor *dst);
void ds_kernel_moe_sum(const ds_kernel_params *p, ds_tensor *dst);

/* Helpers shared by the kernels (ops.c). */
float ds_dot_f32(const float *x, const float *y, int64_t n);   /* sum in index order */
static inline void *ds_tensor_ptr(const ds_tensor *t, int64_t i0, int64_t i1, int64_t i2, int64_t i3)
{
  return (char *)t->data + i0 * (int64_t)t->nb[0] + i1 * (int64_t)t->nb[1] +
         i2 * (int64_t)t->nb[2] + i3 * (int64_t)t->nb[3];
}

#endif
