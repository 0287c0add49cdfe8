/*
 * threadpool.h — persistent worker threads for graph compute.
 *
 * A pool of n threads is created once: n - 1 threads (platform.h) plus the caller of
 * ds_threadpool_run(), which works as thread 0. run() hands one job to every
 * thread and returns when all of them finished it; inside the job the threads
 * meet at ds_threadpool_barrier() between graph nodes. Waiting (for a job or
 * at a barrier) spins briefly, then sleeps on a condition variable, so idle
 * pools cost no CPU on a shared machine. Nothing here allocates after create.
 */
#ifndef DS_GRAPH_THREADPOOL_H
#define DS_GRAPH_THREADPOOL_H

#include "core/ds.h"

typedef struct ds_threadpool ds_threadpool;

/* n_threads >= 1 (1: no extra threads). NULL + ds_error on failure. */
ds_threadpool *ds_threadpool_create(int n_threads);
void ds_threadpool_free(ds_threadpool *pool);     /* NULL allowed; joins the workers */
int ds_threadpool_n_threads(const ds_threadpool *pool);

/* Run job(arg, ith, nth) on every thread of the pool, the caller as ith 0.
 * One run at a time per pool. */
void ds_threadpool_run(ds_threadpool *pool, void (*job)(void *arg, int ith, int nth), void *arg);

/* Called by all nth threads inside a job: returns once every thread arrived.
 * Also a full memory fence between what threads wrote before and read after. */
void ds_threadpool_barrier(ds_threadpool *pool);

#endif
