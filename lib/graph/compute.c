/* compute.c — running a planned graph: every thread walks the node list,
 * computes its share of each node, and waits at a barrier before the next. */
#include "graph/graph_internal.h"
#include "graph/threadpool.h"

typedef struct compute_job {
  ds_graph *g;
  ds_threadpool *pool;
} compute_job;

static void pool_barrier(void *pool) { ds_threadpool_barrier(pool); }

static void compute_thread(void *arg, int ith, int nth)
{
  compute_job *job = arg;
  ds_graph *g = job->g;
  ds_kernel_params p = {
    .ith = ith,
    .nth = nth,
    .scratch = g->scratch + (size_t)ith * g->scratch_floats,
    .error = &g->error,
    .scratch0 = g->scratch,
    .scratch_stride = g->scratch_floats,
    .barrier = pool_barrier,
    .barrier_arg = job->pool,
  };
  for (int i = 0; i < g->n_exec; i++) {
    ds_kernel_run(&p, g->exec[i]);
    /* The next node may read anything this one wrote. */
    if (i + 1 < g->n_exec) ds_threadpool_barrier(job->pool);
  }
}

dseek_status ds_graph_compute(ds_graph *g, ds_threadpool *pool)
{
  if (!g) return ds_error(DSEEK_ERR_INVALID_ARG, "graph_compute: NULL graph");
  if (!g->planned) return ds_error(DSEEK_ERR_INVALID_ARG, "graph_compute: graph is not planned");
  int nth = ds_threadpool_n_threads(pool);
  if (nth > g->max_threads)
    return ds_error(DSEEK_ERR_INVALID_ARG,
                    "graph_compute: pool of %d threads, but the graph was planned for %d", nth,
                    g->max_threads);
  atomic_store(&g->error.set, 0);
  g->error.node = NULL;
  compute_job job = {g, pool};
  ds_threadpool_run(pool, compute_thread, &job);
  if (atomic_load(&g->error.set)) {
    const ds_tensor *t = g->error.node;
    return ds_error(DSEEK_ERR_INVALID_ARG, "graph_compute: node '%s': index %lld out of range",
                    t ? t->name : "?", (long long)g->error.value);
  }
  return DSEEK_OK;
}
