/*
 * vec_test.h — helpers the kernel tests share: a xorshift generator (each
 * test file its own state, the same seed) and mul_mat run as a graph op at a
 * level. (A level's dot for a weight type: ds_cpu_type_ops_get(vk, type)->dot, type_ops.h.)
 */
#ifndef DS_TESTS_VEC_TEST_H
#define DS_TESTS_VEC_TEST_H

#include "graph/graph.h"
#include "graph/threadpool.h"
#include "harness.h"
#include "kernels/cpu.h"
#include "kernels/vec.h"
#include "dseek.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static uint64_t rng = 0x243F6A8885A308D3ull;
static uint32_t rng_u32(void)
{
  rng ^= rng << 13;
  rng ^= rng >> 7;
  rng ^= rng << 17;
  return (uint32_t)(rng >> 16);
}
/* uniform in [-1, 1) */
static float frand(void) { return (float)rng_u32() / 2147483648.0f - 1.0f; }

/* y = mul_mat(w [K, N], x [K, M]) at `level` with nth threads, the weight
 * tensor carrying `flags` (graph.h: its layout); returns y (N x M). */
static inline float *run_mul_mat_flags(int type, const void *w, const float *x, int64_t K, int64_t N, int64_t M,
                                       ds_cpu_level level, int nth, unsigned flags)
{
  CHECK_EQ_INT(ds_cpu_level_set(level), level);
  ds_graph *g = ds_graph_new();
  ds_tensor *wt = ds_tensor_external(g, type, 2, (int64_t[]){K, N}, (void *)w, "w");
  if (wt) wt->flags |= flags;
  ds_tensor *xt = ds_tensor_input(g, DSEEK_TYPE_F32, 2, (int64_t[]){K, M}, "x");
  ds_tensor *y = ds_op_mul_mat(g, wt, xt);
  ds_tensor_set_output(y);
  float *out = NULL;
  if (y && ds_graph_plan(g, nth) == DSEEK_OK) {
    memcpy(xt->data, x, (size_t)(K * M) * 4);
    ds_threadpool *pool = ds_threadpool_create(nth);
    if (pool && ds_graph_compute(g, pool) == DSEEK_OK) {
      out = malloc((size_t)(N * M) * 4);
      memcpy(out, y->data, (size_t)(N * M) * 4);
    }
    ds_threadpool_free(pool);
  }
  ds_graph_free(g);
  CHECK(out != NULL);
  return out;
}

static inline float *run_mul_mat(int type, const void *w, const float *x, int64_t K, int64_t N, int64_t M,
                                 ds_cpu_level level, int nth)
{
  return run_mul_mat_flags(type, w, x, K, N, M, level, nth, 0);
}

#endif
