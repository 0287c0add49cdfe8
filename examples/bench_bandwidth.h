/* bench_bandwidth.h — dseek-bench: the memory bandwidth probe (bench_bandwidth.c). */
#ifndef DSEEK_BENCH_BANDWIDTH_H
#define DSEEK_BENCH_BANDWIDTH_H

/* A streaming-read probe of a 1 GiB buffer (far beyond the caches) by
 * n_threads threads, each summing its own slice. The bandwidth a shared or
 * throttled machine gives moves by tens of percent between minutes, so the
 * bench probes before the first test and after every test and keeps the best
 * reading (the closest to what the memory can do) and the worst (to show the
 * spread). */
typedef struct bench_bw {
  void *buf;
  int n_threads;
  int n;            /* probes taken */
  double best, worst;   /* GB/s */
} bench_bw;

/* Allocates and faults in the buffer, then takes a first probe. Returns 0
 * on success. */
int bench_bw_init(bench_bw *bw, int n_threads);
/* One probe: the best of three reads, folded into best and worst. */
void bench_bw_probe(bench_bw *bw);
void bench_bw_free(bench_bw *bw);

#endif
