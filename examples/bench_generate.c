/*
 * bench_generate.c — dseek-bench's test-time-compute figures (issue 5), over
 * the public API on a model with a tokenizer:
 *
 *   parallel   n samples of one prompt decoded together (dseek_generate_parallel,
 *              temperature 1 with different seeds) against n = 1 through the same
 *              call: generated tokens of all samples / the decode phase's time
 *              (generate_seconds, as plain decoding's tg figure: the prompt,
 *              evaluated once, is left out), and the ratio to n = 1 - how much
 *              more a step that reads the weights once for n sequences produces.
 *   mtp        greedy decoding with the model's MTP layer drafting (use_mtp)
 *              against plain greedy decoding of the same prompt: tokens / second of
 *              the decode phase (the result's generate_seconds), the speed-up, and
 *              the acceptance rate (accepted / drafted). Only for models with an
 *              MTP layer (the probe call says UNSUPPORTED otherwise).
 * Medians of REPS repetitions after one warm-up run of each configuration.
 */
#include "bench_generate.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static const char PROMPT[] = "The quick brown fox jumps over the lazy dog.";

/* Tokens / second of n samples decoded together, or -1 on error. */
static double parallel_tps(dseek_context *c, int64_t n, int64_t n_tg)
{
  dseek_sampler *s = NULL;
  if (dseek_sampler_create(1, &s) || dseek_sampler_add_temperature(s, 1.0f)) { dseek_sampler_free(s); return -1; }
  dseek_generate_options go;
  dseek_generate_options_init(&go, sizeof go);
  go.max_tokens = n_tg;
  go.sampler = s;
  go.reasoning = DSEEK_REASONING_OFF;
  dseek_samples *out = NULL;
  dseek_context_reset(c);
  dseek_status st = dseek_generate_parallel(c, PROMPT, n, NULL, &go, &out);
  int64_t tokens = 0;
  double t = 0;   /* decode phase, the same for every sample */
  for (int64_t i = 0; !st && i < n; i++) {
    dseek_generate_result r = {.struct_size = sizeof r};
    if (!dseek_samples_result(out, i, &r)) {
      tokens += r.n_generated_tokens;
      t = r.generate_seconds;
    }
  }
  if (st) fprintf(stderr, "parallel n=%lld: %s\n", (long long)n, dseek_last_error());
  dseek_samples_free(out);
  dseek_sampler_free(s);
  return st || t <= 0 ? -1 : tokens / t;
}

/* One greedy generation of n_tg tokens, plain or with MTP. */
static dseek_status greedy_run(dseek_context *c, int mtp, int64_t n_tg, dseek_generate_result *r)
{
  dseek_generate_options go;
  dseek_generate_options_init(&go, sizeof go);
  go.max_tokens = n_tg;
  go.reasoning = DSEEK_REASONING_OFF;
  go.use_mtp = mtp;
  memset(r, 0, sizeof *r);
  r->struct_size = sizeof *r;
  dseek_context_reset(c);
  return dseek_generate(c, PROMPT, &go, r);
}

int bench_generate(dseek_model *m, int n_threads, int reps, int64_t n_tg, const int64_t *par, int n_par,
                   bench_gen *out)
{
  memset(out, 0, sizeof *out);
  int64_t n_max = 1;
  for (int i = 0; i < n_par; i++) n_max = par[i] > n_max ? par[i] : n_max;
  dseek_context_options co;
  dseek_context_options_init(&co, sizeof co);
  co.n_ctx = 64 + n_max * n_tg;
  co.n_threads = n_threads;
  dseek_context *c = NULL;
  if (dseek_context_create(m, &co, &c)) {
    fprintf(stderr, "bench: context: %s\n", dseek_last_error());
    return 1;
  }
  dseek_generate_result r;
  if (greedy_run(c, 0, 1, &r)) {   /* no tokenizer: nothing to measure here */
    fprintf(stderr, "bench: generation skipped: %s\n", dseek_last_error());
    dseek_context_free(c);
    return 0;
  }
  /* parallel: n = 1 first, then the requested widths */
  out->n_par = 0;
  for (int i = -1; i < n_par && out->n_par < BENCH_MAX_PAR; i++) {
    int64_t n = i < 0 ? 1 : par[i];
    if (n < 1 || (i >= 0 && n == 1)) continue;
    double v[64];
    parallel_tps(c, n, n_tg);   /* warm-up */
    int k = 0;
    for (; k < reps && k < 64; k++)
      if ((v[k] = parallel_tps(c, n, n_tg)) < 0) break;
    if (k < reps) break;
    out->par_n[out->n_par] = n;
    out->par_tps[out->n_par++] = median(v, reps);
  }
  /* MTP */
  if (greedy_run(c, 1, 2, &r) == DSEEK_OK) {
    double plain[64], spec[64], acc[64];
    greedy_run(c, 0, n_tg, &r);   /* warm-up */
    greedy_run(c, 1, n_tg, &r);
    int k = 0;
    for (; k < reps && k < 64; k++) {
      if (greedy_run(c, 0, n_tg, &r)) break;
      plain[k] = r.n_generated_tokens / r.generate_seconds;
      if (greedy_run(c, 1, n_tg, &r)) break;
      spec[k] = r.n_generated_tokens / r.generate_seconds;
      acc[k] = r.n_draft_tokens ? (double)r.n_draft_accepted / (double)r.n_draft_tokens : 0;
      out->drafted += r.n_draft_tokens;
      out->accepted += r.n_draft_accepted;
    }
    if (k == reps) {
      out->mtp = 1;
      out->plain_tps = median(plain, reps);
      out->mtp_tps = median(spec, reps);
      out->acceptance = median(acc, reps);
    } else {
      fprintf(stderr, "bench: MTP: %s\n", dseek_last_error());
    }
  }
  dseek_context_free(c);
  return 0;
}

void bench_generate_print(const bench_gen *g, int json)
{
  if (json) {
    for (int i = 0; i < g->n_par; i++)
      printf("  \"parallel%lld_tps\": %.3f,\n  \"parallel%lld_ratio\": %.3f,\n", (long long)g->par_n[i],
             g->par_tps[i], (long long)g->par_n[i], g->par_tps[0] > 0 ? g->par_tps[i] / g->par_tps[0] : 0.0);
    if (g->mtp)
      printf("  \"mtp_plain_tps\": %.3f,\n  \"mtp_tps\": %.3f,\n  \"mtp_speedup\": %.3f,\n"
             "  \"mtp_acceptance\": %.3f,\n  \"mtp_drafted\": %lld,\n  \"mtp_accepted\": %lld,\n",
             g->plain_tps, g->mtp_tps, g->mtp_tps / g->plain_tps, g->acceptance, (long long)g->drafted,
             (long long)g->accepted);
    return;
  }
  if (g->n_par) {
    printf("\n| parallel | tokens/s (all samples) | vs n=1 |\n|---------:|-----------:|-------:|\n");
    for (int i = 0; i < g->n_par; i++)
      printf("| n=%-6lld | %10.2f | %5.2fx |\n", (long long)g->par_n[i], g->par_tps[i],
             g->par_tps[0] > 0 ? g->par_tps[i] / g->par_tps[0] : 0.0);
  }
  if (g->mtp)
    printf("\nMTP (greedy)  plain %.2f tokens/s, with MTP %.2f tokens/s: %.2fx; acceptance %.1f%% "
           "(median; %lld of %lld drafts in all)\n", g->plain_tps, g->mtp_tps, g->mtp_tps / g->plain_tps,
           100 * g->acceptance, (long long)g->accepted, (long long)g->drafted);
}
