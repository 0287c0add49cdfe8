/*
 * pool.c — N slots over one shared model and a bounded queue.
 *
 * Each slot is a dseek_context with a thread. dseek_generate reuses the
 * longest common prefix of a prompt with the tokens its context holds, so a
 * new job goes to the idle slot whose cached tokens share the longest prefix
 * with the job's prompt (a conversation's next turn finds its history there;
 * ties go to the slot used least recently, keeping other caches). When every
 * slot is busy the job waits in a FIFO of --queue places; beyond that the
 * server answers 503.
 */
#include "server.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct slot {
  pool *pool;
  int index;
  dseek_context *ctx;
  pthread_t thread;
  int started;
  job *job;                 /* running (or assigned), NULL when idle */
  int32_t *cached;          /* the context's tokens after its last job */
  int64_t n_cached;
  uint64_t last_used;
} slot;

struct pool {
  server *srv;
  pthread_mutex_t mu;
  pthread_cond_t work;
  slot *slots;
  int n_slots, n_idle;
  job **queue;              /* ring of q_cap */
  int q_cap, q_head, q_len;
  int stopping;
  uint64_t clock;
};

static int64_t common_prefix(const int32_t *a, int64_t na, const int32_t *b, int64_t nb)
{
  int64_t n = 0;
  while (n < na && n < nb && a[n] == b[n]) n++;
  return n;
}

/* Under mu: the idle slot for j (see the file comment). */
static slot *best_idle(pool *p, const job *j)
{
  slot *best = NULL;
  int64_t best_len = -1;
  for (int i = 0; i < p->n_slots; i++) {
    slot *s = &p->slots[i];
    if (s->job) continue;
    int64_t len = common_prefix(s->cached, s->n_cached, j->tokens, j->n_tokens);
    if (len > best_len || (len == best_len && s->last_used < best->last_used)) best = s, best_len = len;
  }
  return best;
}

static void *slot_main(void *arg)
{
  slot *s = arg;
  pool *p = s->pool;
  pthread_mutex_lock(&p->mu);
  for (;;) {
    while (!s->job && !p->stopping) pthread_cond_wait(&p->work, &p->mu);
    if (!s->job) break;
    job *j = s->job;
    pthread_mutex_unlock(&p->mu);
    generate_job(p->srv, s->ctx, j);
    int64_t n = 0;
    dseek_context_tokens(s->ctx, s->cached, dseek_context_n_ctx(s->ctx), &n);
    pthread_mutex_lock(&p->mu);
    s->n_cached = n;
    s->last_used = ++p->clock;
    job_finish(j);
    job_release(j);
    if (p->q_len > 0) {           /* the oldest waiting job */
      s->job = p->queue[p->q_head];
      s->job->slot = s->index;
      p->q_head = (p->q_head + 1) % p->q_cap;
      p->q_len--;
    } else {
      s->job = NULL;
      p->n_idle++;
    }
  }
  pthread_mutex_unlock(&p->mu);
  return NULL;
}

pool *pool_create(server *srv, char *error, size_t error_size)
{
  pool *p = calloc(1, sizeof *p);
  if (!p) { snprintf(error, error_size, "out of memory"); return NULL; }
  p->srv = srv;
  pthread_mutex_init(&p->mu, NULL);
  pthread_cond_init(&p->work, NULL);
  p->n_slots = srv->cfg.n_slots;
  p->q_cap = srv->cfg.queue > 0 ? srv->cfg.queue : 1;
  p->slots = calloc((size_t)p->n_slots, sizeof *p->slots);
  p->queue = calloc((size_t)p->q_cap, sizeof *p->queue);
  if (!p->slots || !p->queue) { snprintf(error, error_size, "out of memory"); pool_destroy(p); return NULL; }
  dseek_context_options co;
  dseek_context_options_init(&co, sizeof co);
  co.n_ctx = srv->cfg.n_ctx;
  co.n_threads = srv->cfg.n_threads;
  for (int i = 0; i < p->n_slots; i++) {
    slot *s = &p->slots[i];
    s->pool = p;
    s->index = i;
    if (dseek_context_create(srv->model, &co, &s->ctx)) {
      snprintf(error, error_size, "slot %d: %s", i, dseek_last_error());
      pool_destroy(p);
      return NULL;
    }
    s->cached = malloc((size_t)dseek_context_n_ctx(s->ctx) * sizeof *s->cached);
    if (!s->cached) { snprintf(error, error_size, "out of memory"); pool_destroy(p); return NULL; }
    if (pthread_create(&s->thread, NULL, slot_main, s)) {
      snprintf(error, error_size, "slot %d: cannot start its thread", i);
      pool_destroy(p);
      return NULL;
    }
    s->started = 1;
    p->n_idle++;
  }
  return p;
}

void pool_destroy(pool *p)
{
  if (!p) return;
  pthread_mutex_lock(&p->mu);
  p->stopping = 1;
  pthread_cond_broadcast(&p->work);
  pthread_mutex_unlock(&p->mu);
  for (int i = 0; p->slots && i < p->n_slots; i++) {
    if (p->slots[i].started) pthread_join(p->slots[i].thread, NULL);
    dseek_context_free(p->slots[i].ctx);
    free(p->slots[i].cached);
  }
  free(p->slots);
  free(p->queue);
  pthread_cond_destroy(&p->work);
  pthread_mutex_destroy(&p->mu);
  free(p);
}

int pool_submit(pool *p, job *j)
{
  pthread_mutex_lock(&p->mu);
  int rc = 0;
  slot *s = best_idle(p, j);
  if (s) {
    atomic_fetch_add(&j->refs, 1);
    s->job = j;
    j->slot = s->index;
    p->n_idle--;
    pthread_cond_broadcast(&p->work);
  } else if (p->q_len < p->q_cap) {
    atomic_fetch_add(&j->refs, 1);
    p->queue[(p->q_head + p->q_len) % p->q_cap] = j;
    p->q_len++;
  } else {
    rc = -1;
  }
  pthread_mutex_unlock(&p->mu);
  return rc;
}

void pool_cancel(pool *p, job *j)
{
  pthread_mutex_lock(&p->mu);
  atomic_store(&j->cancelled, 1);
  for (int k = 0; k < p->q_len; k++) {           /* still waiting: leave the queue */
    int at = (p->q_head + k) % p->q_cap;
    if (p->queue[at] != j) continue;
    for (int m = k; m + 1 < p->q_len; m++)
      p->queue[(p->q_head + m) % p->q_cap] = p->queue[(p->q_head + m + 1) % p->q_cap];
    p->q_len--;
    j->status = DSEEK_ERR_CANCELLED;
    job_finish(j);
    job_release(j);
    break;
  }
  /* Running: n = 1 jobs stop at their next piece (the stream callback sees
   * `cancelled`); samples decoded together have no callback. */
  for (int i = 0; i < p->n_slots; i++)
    if (p->slots[i].job == j && j->req->n > 1) dseek_cancel(p->slots[i].ctx);
  pthread_mutex_unlock(&p->mu);
}

void pool_counts(pool *p, int *idle, int *queued)
{
  pthread_mutex_lock(&p->mu);
  *idle = p->n_idle;
  *queued = p->q_len;
  pthread_mutex_unlock(&p->mu);
}

int pool_busy(pool *p)
{
  int idle, queued;
  pool_counts(p, &idle, &queued);
  return p->n_slots - idle + queued;
}
