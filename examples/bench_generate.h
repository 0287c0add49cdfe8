/* bench_generate.h — dseek-bench's parallel-sample and MTP figures (bench_generate.c). */
#ifndef DSEEK_BENCH_GENERATE_H
#define DSEEK_BENCH_GENERATE_H

#include <dseek.h>

#define BENCH_MAX_PAR 8

typedef struct bench_gen {
  int n_par;                       /* par_n[0] = 1, then the widths asked for */
  int64_t par_n[BENCH_MAX_PAR];
  double par_tps[BENCH_MAX_PAR];   /* generated tokens of all samples / second (medians) */
  int mtp;                         /* the MTP figures were measured */
  double plain_tps, mtp_tps, acceptance;   /* medians */
  int64_t drafted, accepted;               /* totals over the repetitions */
} bench_gen;

/* From bench.c: a monotonic clock in seconds, the median of v (sorts v). */
double now(void);
double median(double *v, int n);

/* Measure (n_tg tokens per sample, reps repetitions); 0 on success (also when
 * the model has no tokenizer: nothing measured). */
int bench_generate(dseek_model *m, int n_threads, int reps, int64_t n_tg, const int64_t *par, int n_par,
                   bench_gen *out);
/* Table lines, or JSON members (each followed by a comma). */
void bench_generate_print(const bench_gen *g, int json);

#endif
