/*
 * bench_grammar.c — dseek-bench --json-schema / --grammar: what a grammar
 * constraint adds to each generated token.
 *
 * The vocabulary is loaded alone (vocab-only). Two samplers draw from the
 * same pseudo-random logits rows: a plain one (temperature 1, full softmax)
 * and the same chain with the grammar. The constraint's cost per token is the
 * difference of their times, step by step; the grammar starts over whenever
 * it has ended. Reported: the one-off setup (compiling the grammar, building
 * the token trie for the vocabulary), and the median, mean, 95th percentile
 * and maximum per-token cost (the maximum is a fresh trie walk; repeated
 * states are cached), and, given the decode time of a model, the fraction of
 * a decode step the mean is.
 */
#include <dseek.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

int bench_grammar_main(const char *model_path, const char *vocab_path, const char *grammar_file,
                       const char *schema_file, int n_threads, int n_tg, int steps, int json);

static double now_s(void)
{
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static int cmp_d(const void *a, const void *b)
{
  double x = *(const double *)a, y = *(const double *)b;
  return (x > y) - (x < y);
}

static int bench_grammar(const char *vocab_path, const char *gbnf, int steps, double decode_seconds, int json)
{
  dseek_model *m = NULL;
  dseek_model_options mo;
  dseek_model_options_init(&mo, sizeof mo);
  mo.vocab_only = 1;
  if (dseek_model_load(vocab_path, &mo, &m)) {
    fprintf(stderr, "%s: %s\n", vocab_path, dseek_last_error());
    return 1;
  }
  /* a vocab-only model reports no logits width: the highest token id + 1 */
  int64_t n_vocab = 0;
  const char *piece;
  size_t plen;
  for (int64_t id = 0; id < (1 << 22); id++)
    if (dseek_token_piece(m, (int32_t)id, &piece, &plen) == DSEEK_OK) n_vocab = id + 1;
  dseek_sampler *plain = NULL, *con = NULL;
  dseek_sampler_create(1, &plain);
  dseek_sampler_create(1, &con);
  dseek_sampler_add_temperature(plain, 1.0f);
  dseek_sampler_add_temperature(con, 1.0f);
  double t0 = now_s();
  if (dseek_sampler_add_grammar(con, m, gbnf, NULL)) {
    fprintf(stderr, "grammar: %s\n", dseek_last_error());
    return 1;
  }
  double setup = now_s() - t0;

  enum { ROWS = 16 };
  float *logits = malloc((size_t)ROWS * (size_t)n_vocab * sizeof *logits);
  double *cost = malloc((size_t)steps * sizeof *cost);
  if (!logits || !cost) return 1;
  uint64_t x = 88172645463325252ull;
  for (int64_t i = 0; i < ROWS * n_vocab; i++) {
    x ^= x << 13; x ^= x >> 7; x ^= x << 17;   /* xorshift64 */
    logits[i] = (float)((double)(x >> 11) * 0x1p-53 * 8.0 - 4.0);
  }
  int docs = 0;
  double total = 0;
  for (int s = 0; s < steps; s++) {
    const float *row = logits + (size_t)(s % ROWS) * (size_t)n_vocab;
    int32_t a, b;
    double t1 = now_s();
    dseek_sampler_sample(plain, row, n_vocab, &a);
    double t2 = now_s();
    if (dseek_sampler_sample(con, row, n_vocab, &b)) {
      fprintf(stderr, "step %d: %s\n", s, dseek_last_error());
      return 1;
    }
    double t3 = now_s();
    cost[s] = (t3 - t2) - (t2 - t1);
    total += cost[s];
    if (dseek_token_is_eog(m, b)) {
      docs++;
      dseek_sampler_reset(con, (uint64_t)s);
    }
  }
  double mean = total / steps;
  qsort(cost, (size_t)steps, sizeof *cost, cmp_d);
  double med = cost[steps / 2], p95 = cost[(int)(steps * 0.95)], mx = cost[steps - 1];
  if (json) {
    printf("{\n  \"vocab\": \"%s\",\n  \"n_vocab\": %lld,\n  \"steps\": %d,\n  \"documents_completed\": %d,\n",
           vocab_path, (long long)n_vocab, steps, docs);
    printf("  \"setup_ms\": %.2f,\n  \"constraint_ms_median\": %.4f,\n  \"constraint_ms_mean\": %.4f,\n", setup * 1e3,
           med * 1e3, mean * 1e3);
    printf("  \"constraint_ms_p95\": %.4f,\n  \"constraint_ms_max\": %.4f", p95 * 1e3, mx * 1e3);
    if (decode_seconds > 0)
      printf(",\n  \"decode_ms\": %.3f,\n  \"constraint_fraction_of_decode\": %.4f", decode_seconds * 1e3,
             mean / decode_seconds);
    printf("\n}\n");
  } else {
    printf("grammar constraint on %s (%lld tokens), %d steps, %d documents completed\n", vocab_path,
           (long long)n_vocab, steps, docs);
    printf("setup (compile + token trie)  %.1f ms\n", setup * 1e3);
    printf("per token: median %.3f ms, mean %.3f ms, p95 %.3f ms, max %.3f ms\n", med * 1e3, mean * 1e3, p95 * 1e3,
           mx * 1e3);
    if (decode_seconds > 0)
      printf("decode step %.2f ms: the constraint's mean is %.1f%% of it (p95 %.1f%%, max %.1f%%)\n",
             decode_seconds * 1e3, 100 * mean / decode_seconds, 100 * p95 / decode_seconds,
             100 * mx / decode_seconds);
  }
  free(logits);
  free(cost);
  dseek_sampler_free(plain);
  dseek_sampler_free(con);
  dseek_model_free(m);
  return 0;
}

/* Seconds per decoded token of a model (median of 3 runs of n_tg tokens). */
static double decode_step(const char *path, int n_threads, int n_tg)
{
  dseek_model *m = NULL;
  dseek_context *c = NULL;
  if (dseek_model_load(path, NULL, &m)) { fprintf(stderr, "%s: %s\n", path, dseek_last_error()); return -1; }
  dseek_context_options co;
  dseek_context_options_init(&co, sizeof co);
  co.n_ctx = n_tg + 16;
  co.n_threads = n_threads;
  if (dseek_context_create(m, &co, &c)) { fprintf(stderr, "%s: %s\n", path, dseek_last_error()); dseek_model_free(m); return -1; }
  double best[3];
  for (int r = 0; r < 4; r++) {
    dseek_context_reset(c);
    double t0 = now_s();
    for (int i = 0; i < n_tg; i++) {
      int32_t tok = 1000 + i;
      if (dseek_decode(c, &tok, 1, 0)) { fprintf(stderr, "decode: %s\n", dseek_last_error()); return -1; }
    }
    if (r) best[r - 1] = (now_s() - t0) / n_tg;   /* run 0 warms up */
  }
  qsort(best, 3, sizeof *best, cmp_d);
  dseek_context_free(c);
  dseek_model_free(m);
  return best[1];
}

static char *read_text(const char *path)
{
  FILE *f = fopen(path, "rb");
  if (!f) return NULL;
  fseek(f, 0, SEEK_END);
  long n = ftell(f);
  fseek(f, 0, SEEK_SET);
  char *p = n >= 0 ? malloc((size_t)n + 1) : NULL;
  if (p && fread(p, 1, (size_t)n, f) == (size_t)n) p[n] = 0;
  else { free(p); p = NULL; }
  fclose(f);
  return p;
}

int bench_grammar_main(const char *model_path, const char *vocab_path, const char *grammar_file,
                       const char *schema_file, int n_threads, int n_tg, int steps, int json)
{
  const char *file = grammar_file ? grammar_file : schema_file;
  char *text = read_text(file), *gbnf = text;
  if (!text) { fprintf(stderr, "%s: cannot read\n", file); return 1; }
  if (schema_file) {
    size_t len = 0;
    dseek_json_schema_to_grammar(text, NULL, 0, &len);
    gbnf = malloc(len + 1);
    if (!gbnf || dseek_json_schema_to_grammar(text, gbnf, len + 1, &len)) {
      fprintf(stderr, "%s: %s\n", file, dseek_last_error());
      return 1;
    }
  }
  double decode = model_path ? decode_step(model_path, n_threads, n_tg > 0 ? n_tg : 32) : 0;
  if (decode < 0) return 1;
  int rc = bench_grammar(vocab_path ? vocab_path : model_path, gbnf, steps, decode, json);
  if (gbnf != text) free(gbnf);
  free(text);
  return rc;
}
