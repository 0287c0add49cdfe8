/* util.h — helpers for the graph tests: a seeded RNG, leaf shortcuts, running
 * a planned graph on a pool of n threads, and comparisons. */
#ifndef DS_TEST_GRAPH_UTIL_H
#define DS_TEST_GRAPH_UTIL_H

#include "graph/graph.h"
#include "graph/threadpool.h"
#include "kernels/types.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static uint64_t rng_state = 0x9E3779B97F4A7C15ull;

static inline uint32_t rng_u32(void)
{
  rng_state ^= rng_state << 13;
  rng_state ^= rng_state >> 7;
  rng_state ^= rng_state << 17;
  return (uint32_t)(rng_state >> 16);
}

/* uniform in [-1, 1) */
static inline float frand(void) { return (float)rng_u32() / 2147483648.0f - 1.0f; }

static inline void fill(float *x, int64_t n)
{
  for (int64_t i = 0; i < n; i++) x[i] = frand();
}

/* A cache of n values of type, holding what the type represents exactly. */
static inline void *random_cache(int type, int64_t n)
{
  const ds_type_traits *tr = ds_type_traits_get(type);
  float *vals = malloc((size_t)n * 4);
  for (int64_t i = 0; i < n; i++) vals[i] = frand();
  void *c = malloc((size_t)(n / tr->block_size) * tr->type_size);
  tr->from_float(vals, c, n);
  free(vals);
  return c;
}

static inline ds_tensor *input_f32(ds_graph *g, int64_t ne0, int64_t ne1, int64_t ne2, int64_t ne3)
{
  int64_t ne[4] = {ne0, ne1, ne2, ne3};
  return ds_tensor_input(g, DSEEK_TYPE_F32, 4, ne, NULL);
}

static inline ds_tensor *input_i32(ds_graph *g, int64_t n)
{
  return ds_tensor_input(g, DSEEK_TYPE_I32, 1, &n, NULL);
}

/* Fill every f32 input of g with random values. */
static inline void fill_inputs(ds_graph *g)
{
  for (int i = 0; i < ds_graph_n_tensors(g); i++) {
    ds_tensor *t = ds_graph_tensor(g, i);
    if ((t->flags & DS_TENSOR_INPUT) && t->type == DSEEK_TYPE_F32) fill(t->data, ds_tensor_nelements(t));
  }
}

static inline dseek_status compute_threads(ds_graph *g, int n_threads)
{
  ds_threadpool *pool = ds_threadpool_create(n_threads);
  if (!pool) return DSEEK_ERR_NO_MEMORY;
  dseek_status st = ds_graph_compute(g, pool);
  ds_threadpool_free(pool);
  return st;
}

/* Element (i0, i1, i2, i3) of an f32 tensor, through its strides. */
static inline float at(const ds_tensor *t, int64_t i0, int64_t i1, int64_t i2, int64_t i3)
{
  float x;
  memcpy(&x, (const char *)t->data + i0 * t->nb[0] + i1 * t->nb[1] + i2 * t->nb[2] + i3 * t->nb[3], 4);
  return x;
}

/* Compute out with 1 thread, then with 2, 3, 4: results must be bit-identical. */
static inline int same_bits_for_thread_counts(ds_graph *g, const ds_tensor *out)
{
  size_t bytes = out->size ? out->size : (size_t)ds_tensor_nelements(out) * 4;
  void *first = malloc(bytes);
  int ok = first && compute_threads(g, 1) == DSEEK_OK;
  if (ok) memcpy(first, out->data, bytes);
  for (int n = 2; ok && n <= 4; n++)
    ok = compute_threads(g, n) == DSEEK_OK && memcmp(first, out->data, bytes) == 0;
  free(first);
  return ok;
}

#endif
