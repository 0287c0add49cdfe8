/* threadpool.c — persistent workers, job hand-off and the node barrier. */
#include "graph/threadpool.h"
#include "core/platform.h"

#include <stdatomic.h>

/* Spin this many polls before sleeping: long enough to cover a small graph
 * node (tens of microseconds), short enough not to burn a shared core. */
#define DS_SPIN_POLLS 4096

typedef struct ds_worker {
  struct ds_threadpool *pool;
  int ith;
} ds_worker;

struct ds_threadpool {
  int n;                       /* threads including the caller */
  ds_thread **threads;         /* n - 1 workers */
  ds_worker *workers;
  ds_monitor *mon;             /* woken when any generation counter advanced */
  void (*job)(void *, int, int);
  void *arg;
  atomic_uint job_gen;         /* bumped to post a job (or to stop) */
  atomic_bool stop;
  atomic_int bar_count;        /* threads arrived at the current barrier */
  atomic_uint bar_gen;         /* bumped by the last thread to arrive */
};

/* Wait until *gen != seen: spin, then sleep. Writers bump gen under mu and
 * broadcast, so a sleeper cannot miss the change. */
static void wait_change(struct ds_threadpool *pool, atomic_uint *gen, unsigned seen)
{
  for (int i = 0; i < DS_SPIN_POLLS; i++) {
    if (atomic_load_explicit(gen, memory_order_acquire) != seen) return;
    /* After a short spin, yield: when there are more runnable threads than
     * cores (two contexts, a busy host), the thread we wait for may be queued
     * behind us on this core, and spinning would only delay it. */
    if (i < DS_SPIN_POLLS / 8) ds_cpu_relax();
    else ds_thread_yield();
  }
  ds_monitor_lock(pool->mon);
  while (atomic_load_explicit(gen, memory_order_acquire) == seen) ds_monitor_wait(pool->mon);
  ds_monitor_unlock(pool->mon);
}

static void bump(struct ds_threadpool *pool, atomic_uint *gen)
{
  ds_monitor_lock(pool->mon);
  atomic_fetch_add_explicit(gen, 1, memory_order_acq_rel);
  ds_monitor_wake_all(pool->mon);
  ds_monitor_unlock(pool->mon);
}

void ds_threadpool_barrier(ds_threadpool *pool)
{
  if (!pool || pool->n == 1) {
    atomic_thread_fence(memory_order_seq_cst);
    return;
  }
  unsigned gen = atomic_load_explicit(&pool->bar_gen, memory_order_acquire);
  if (atomic_fetch_add_explicit(&pool->bar_count, 1, memory_order_acq_rel) == pool->n - 1) {
    /* Last to arrive: reset the count before releasing anyone, so that the
     * next barrier starts from zero. */
    atomic_store_explicit(&pool->bar_count, 0, memory_order_relaxed);
    bump(pool, &pool->bar_gen);
    return;
  }
  wait_change(pool, &pool->bar_gen, gen);
}

static void worker_main(void *p)
{
  ds_worker *w = p;
  struct ds_threadpool *pool = w->pool;
  unsigned seen = 0;
  for (;;) {
    wait_change(pool, &pool->job_gen, seen);
    seen = atomic_load_explicit(&pool->job_gen, memory_order_acquire);
    if (atomic_load(&pool->stop)) break;
    pool->job(pool->arg, w->ith, pool->n);
    ds_threadpool_barrier(pool);
  }
}

ds_threadpool *ds_threadpool_create(int n_threads)
{
  if (n_threads < 1 || n_threads > 1024) {
    ds_error(DSEEK_ERR_INVALID_ARG, "threadpool: n_threads %d outside [1, 1024]", n_threads);
    return NULL;
  }
  struct ds_threadpool *pool = ds_calloc(1, sizeof *pool);
  if (!pool) goto no_memory;
  pool->n = n_threads;
  atomic_init(&pool->job_gen, 0);
  atomic_init(&pool->stop, false);
  atomic_init(&pool->bar_count, 0);
  atomic_init(&pool->bar_gen, 0);
  if (n_threads == 1) return pool;

  pool->threads = ds_calloc((size_t)n_threads - 1, sizeof *pool->threads);
  pool->workers = ds_calloc((size_t)n_threads - 1, sizeof *pool->workers);
  pool->mon = pool->threads && pool->workers ? ds_monitor_create() : NULL;
  if (!pool->mon) {
    ds_free(pool->threads);
    ds_free(pool->workers);
    ds_free(pool);
    goto no_memory;
  }
  for (int i = 0; i < n_threads - 1; i++) {
    pool->workers[i].pool = pool;
    pool->workers[i].ith = i + 1;
    int rc = 0;
    pool->threads[i] = ds_thread_start(worker_main, &pool->workers[i], &rc);
    if (!pool->threads[i]) {
      pool->n = i + 1;   /* stop and join only the threads that exist */
      ds_threadpool_free(pool);
      ds_error(DSEEK_ERR_NO_MEMORY, "threadpool: cannot create thread %d of %d (error %d)",
               i + 1, n_threads, rc);
      return NULL;
    }
  }
  return pool;

no_memory:
  ds_error(DSEEK_ERR_NO_MEMORY, "threadpool: out of memory for %d threads", n_threads);
  return NULL;
}

void ds_threadpool_free(ds_threadpool *pool)
{
  if (!pool) return;
  if (pool->threads) {
    atomic_store(&pool->stop, true);
    bump(pool, &pool->job_gen);
    for (int i = 0; i < pool->n - 1; i++) ds_thread_join(pool->threads[i]);
    ds_monitor_free(pool->mon);
  }
  ds_free(pool->threads);
  ds_free(pool->workers);
  ds_free(pool);
}

int ds_threadpool_n_threads(const ds_threadpool *pool) { return pool ? pool->n : 1; }

void ds_threadpool_run(ds_threadpool *pool, void (*job)(void *arg, int ith, int nth), void *arg)
{
  if (!pool || pool->n == 1) {
    job(arg, 0, 1);
    return;
  }
  /* Workers are all parked (the previous run ended in a barrier they passed
   * before looking at job_gen again), so job/arg can be replaced. */
  pool->job = job;
  pool->arg = arg;
  bump(pool, &pool->job_gen);
  job(arg, 0, pool->n);
  ds_threadpool_barrier(pool);
}
