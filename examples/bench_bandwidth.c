/* bench_bandwidth.c — the memory bandwidth probe of dseek-bench (bench_bandwidth.h). */
#include "bench_bandwidth.h"

#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define BW_BYTES ((size_t)1 << 30)
#define BW_MAX_THREADS 64

double now(void);

typedef struct bw_slice {
  const uint64_t *p;
  size_t n;
  uint64_t sum;   /* kept so the reads cannot be optimized away */
} bw_slice;

static void *bw_read(void *arg)
{
  bw_slice *s = arg;
  uint64_t a = 0, b = 0, c = 0, d = 0;
  for (size_t i = 0; i + 4 <= s->n; i += 4) {
    a += s->p[i];
    b += s->p[i + 1];
    c += s->p[i + 2];
    d += s->p[i + 3];
  }
  s->sum = a + b + c + d;
  return NULL;
}

/* GB/s of one read of the whole buffer by the probe's threads. */
static double read_once(const bench_bw *bw, uint64_t *sink)
{
  const int nt = bw->n_threads;
  const size_t per = BW_BYTES / 8 / (size_t)nt;
  pthread_t th[BW_MAX_THREADS];
  bw_slice sl[BW_MAX_THREADS];
  int started[BW_MAX_THREADS] = {0};
  double t0 = now();
  for (int i = 0; i < nt; i++) {
    sl[i] = (bw_slice){(const uint64_t *)bw->buf + (size_t)i * per, per, 0};
    if (i > 0) started[i] = pthread_create(&th[i], NULL, bw_read, &sl[i]) == 0;
    if (i > 0 && !started[i]) bw_read(&sl[i]);   /* no thread: read it here */
  }
  bw_read(&sl[0]);
  for (int i = 1; i < nt; i++)
    if (started[i]) pthread_join(th[i], NULL);
  double t = now() - t0;
  for (int i = 0; i < nt; i++) *sink += sl[i].sum;
  return (double)(per * (size_t)nt * 8) / t / 1e9;
}

void bench_bw_probe(bench_bw *bw)
{
  if (!bw->buf) return;
  uint64_t sink = 0;
  double g = 0;
  for (int r = 0; r < 3; r++) {
    double x = read_once(bw, &sink);
    if (x > g) g = x;
  }
  if (sink == 42) fputc(' ', stderr);
  if (bw->n == 0 || g > bw->best) bw->best = g;
  if (bw->n == 0 || g < bw->worst) bw->worst = g;
  bw->n++;
}

int bench_bw_init(bench_bw *bw, int n_threads)
{
  memset(bw, 0, sizeof *bw);
  bw->n_threads = n_threads < 1 ? 1 : n_threads > BW_MAX_THREADS ? BW_MAX_THREADS : n_threads;
  bw->buf = malloc(BW_BYTES);
  if (!bw->buf) return -1;
  memset(bw->buf, 1, BW_BYTES);   /* fault the pages in */
  uint64_t sink = 0;
  read_once(bw, &sink);           /* warm-up */
  if (sink == 42) fputc(' ', stderr);
  bench_bw_probe(bw);
  return 0;
}

void bench_bw_free(bench_bw *bw)
{
  free(bw->buf);
  bw->buf = NULL;
}
