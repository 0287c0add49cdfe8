/*
 * bench.c — dseek-bench: how fast a model runs here, and how close decode is
 * to this machine's memory limit.
 *
 *   dseek-bench -m MODEL [-t THREADS] [-r REPS] [-p 64,512] [-n 64] [-d 512,4096,16384]
 *               [--depth-fill tile|prefill] [--kv-type f16|f32|bf16|q8_0] [--parallel 4,8] [--no-mmap]
 *               [--json]
 *   dseek-bench [-m MODEL] --vocab TOKENIZER --json-schema FILE | --grammar FILE
 *               [--steps 2000] [--json]     (the constraint's cost: bench_grammar.c)
 *
 * In one run:
 *   bandwidth   a streaming read of a 1 GiB buffer (far beyond the caches) by
 *               THREADS threads, each summing its own slice; bytes / second,
 *               probed before the first test and after every test, the best
 *               reading kept (bench_bandwidth.c); the spread is printed too
 *   ppN         prompt processing: N tokens in one dseek_decode from an empty
 *               context; tokens / second
 *   tgN         decode: N tokens one at a time from an empty context
 *   tgN@D       the same with D tokens already cached (-d 512,4096,16384).
 *               Depth is reached (bench_depth.c) by tiling: one n_batch-token
 *               prefill whose KV cache is repeated up to D through a state
 *               file (dseek_context_load) -- decode cost does not depend on
 *               the cached values, and a real 16384-token prefill takes most
 *               of an hour here -- or, with --depth-fill prefill, by decoding
 *               a D-token prompt (depths ascending, each continuing the last).
 *               Every repetition starts at D: the N decoded tokens are
 *               dropped again (dseek_context_shift). Its roofline fraction
 *               counts the weights plus the cache a token reads: bytes/token
 *               + (D + N/2) x KV bytes per token. --kv-type: the cache type
 *               of the pp, tg and tgN@D figures (default F16)
 *   bytes/token the weights one decoded token reads: every tensor of the file
 *               except the embedding table, plus one embedding row (the whole
 *               table when the output head is tied to it), and of a MoE
 *               file's expert tensors the share expert_used_count /
 *               expert_count (bytes_per_token below).
 *   roofline    bandwidth / bytes per token, the decode speed if only memory
 *               traffic cost time; tg / roofline is the fraction reached. A
 *               fraction over 100% is marked: the probe then read slower than
 *               the decode did (a busy machine during the probes, or weights
 *               partly in the caches), and the figure is not to be trusted.
 *   parallel    n samples decoded together vs one (--parallel, "0": skip), and
 *   MTP         speculative decoding with the model's MTP layer vs plain greedy
 *               (speed-up, acceptance rate), for models with a tokenizer
 *               (bench_generate.c)
 * Every figure is the median of REPS repetitions (default 3) after one warm-up
 * (a read of the whole file, so every expert's pages are cached, and a short
 * decode). Uses only the public API (dseek.h).
 */
#include <dseek.h>
#include "bench_bandwidth.h"
#include "bench_depth.h"
#include "bench_generate.h"

#include <stdint.h>
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define MAX_REPS 32

double now(void)
{
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static int cmp_double(const void *a, const void *b)
{
  double x = *(const double *)a, y = *(const double *)b;
  return (x > y) - (x < y);
}

double median(double *v, int n)
{
  qsort(v, (size_t)n, sizeof *v, cmp_double);
  return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

/* ---- weights per token -------------------------------------------------------------- */

/* An integer key "<arch>.<name>" of the file, or dflt. */
static int64_t arch_int(const dseek_gguf *g, const dseek_model *m, const char *name, int64_t dflt)
{
  char key[256];
  snprintf(key, sizeof key, "%s.%s", dseek_model_arch(m), name);
  int64_t i = dseek_gguf_find_key(g, key), v = dflt;
  if (i < 0 || dseek_gguf_get_int(g, i, &v) != DSEEK_OK) v = dflt;
  dseek_clear_error();
  return v;
}

/* Weight bytes one decoded token reads: every tensor, one embedding row
 * (unless tied to the output), expert_used_count / expert_count of each
 * stacked expert tensor ("*_exps"), and nothing of the MTP layers (the last
 * nextn_predict_layers blocks: plain decoding never runs them). */
static double bytes_per_token(const char *path, const dseek_model *m)
{
  dseek_gguf *g = NULL;
  if (dseek_gguf_open(path, 0, &g) != DSEEK_OK) {
    dseek_clear_error();
    return (double)dseek_model_weight_bytes(m);   /* not a GGUF: every weight */
  }
  double total = 0, embd = 0, embd_rows = 1;
  int tied = dseek_gguf_find_tensor(g, "output.weight") < 0;
  int64_t n_expert = arch_int(g, m, "expert_count", 0), n_used = arch_int(g, m, "expert_used_count", 0);
  int64_t n_block = arch_int(g, m, "block_count", 0), first_mtp = n_block - arch_int(g, m, "nextn_predict_layers", 0);
  for (int64_t i = 0; i < dseek_gguf_tensor_count(g); i++) {
    dseek_tensor_info ti;
    ti.struct_size = sizeof ti;
    if (dseek_gguf_tensor_info(g, i, &ti) != DSEEK_OK) continue;
    int blk = -1;
    if (sscanf(ti.name, "blk.%d.", &blk) == 1 && blk >= first_mtp && first_mtp < n_block)
      continue;
    if (!strcmp(ti.name, "token_embd.weight")) {
      embd = (double)ti.size;
      embd_rows = (double)ti.ne[1];
    } else if (strstr(ti.name, "_exps.") && n_expert > 0 && n_used > 0 && n_used < n_expert) {
      total += (double)ti.size * (double)n_used / (double)n_expert;
    } else {
      total += (double)ti.size;
    }
  }
  dseek_gguf_close(g);
  return total + (tied ? embd : embd / embd_rows);
}

/* Read the model file once so that its pages are cached: the warm-up decode
 * touches only the experts two tokens select, and a MoE model's first
 * timed run would otherwise read the others from disk. */
static void warm_page_cache(const char *path)
{
  FILE *f = fopen(path, "rb");
  char *buf = malloc((size_t)1 << 22);
  while (f && buf && fread(buf, 1, (size_t)1 << 22, f) == (size_t)1 << 22) {}
  free(buf);
  if (f) fclose(f);
}

/* ---- prompt and decode speed ------------------------------------------------------------ */

static void fill_tokens(int32_t *t, int64_t n, int64_t vocab)
{
  for (int64_t i = 0; i < n; i++) t[i] = (int32_t)((1000 + i * 7919) % vocab);
}

/* Tokens / second of one prompt of n tokens from an empty context. */
static double run_pp(dseek_context *c, const int32_t *toks, int64_t n)
{
  dseek_context_reset(c);
  double t0 = now();
  if (dseek_decode(c, toks, n, 0) != DSEEK_OK) return -1;
  return (double)n / (now() - t0);
}

/* Tokens / second of n single-token decodes from an empty context. */
static double run_tg(dseek_context *c, const int32_t *toks, int64_t n)
{
  dseek_context_reset(c);
  double t0 = now();
  for (int64_t i = 0; i < n; i++)
    if (dseek_decode(c, &toks[i], 1, 0) != DSEEK_OK) return -1;
  return (double)n / (now() - t0);
}

typedef struct result {
  char name[24];
  int64_t n, depth;   /* depth: tokens cached before the test (tgN@D) */
  double tps;
} result;

/* The decode roofline with `depth` cached tokens: the weights plus the KV
 * rows read, on average D + N/2 per token over N decodes. */
static double roofline_at(double bw_gbs, double bpt, double kv_bpt, const result *r)
{
  return bw_gbs * 1e9 / (bpt + (r->depth ? ((double)r->depth + 0.5 * (double)r->n) * kv_bpt : 0.0));
}

static int usage(const char *argv0)
{
  fprintf(stderr, "usage: %s -m MODEL [-t THREADS] [-r REPS] [-p 64,512] [-n 64] [-d DEPTHS] [--depth-fill tile|prefill]\n"
                  "       [--kv-type f16|f32|bf16|q8_0] [--parallel 4,8] [--no-mmap] [--json]\n"
                  "       %s [-m MODEL] --vocab TOKENIZER --json-schema FILE | --grammar FILE [--steps N] [--json]\n",
          argv0, argv0);
  return 2;
}

/* "64,512" -> values in [lo, hi] (others skipped), at most max; returns the count. */
static int parse_list(const char *list, int64_t *out, int max, int64_t lo, int64_t hi)
{
  int n = 0;
  for (const char *s = list; *s && n < max;) {
    char *end;
    long long v = strtoll(s, &end, 10);
    if (end == s) break;
    if (v >= lo && v <= hi) out[n++] = v;
    s = *end == ',' ? end + 1 : end;
  }
  return n;
}

/* --kv-type: a cache type by its name in any case ("q8_0" or "Q8_0"), or -1. */
static int kv_type_named(const char *name)
{
  static const int types[] = {DSEEK_TYPE_F16, DSEEK_TYPE_F32, DSEEK_TYPE_BF16, DSEEK_TYPE_Q8_0};
  for (size_t i = 0; i < sizeof types / sizeof types[0]; i++) {
    const char *t = dseek_type_name(types[i]);
    size_t k = 0;
    while (t[k] && toupper((unsigned char)name[k]) == t[k]) k++;
    if (!t[k] && !name[k]) return types[i];
  }
  return -1;
}

int bench_grammar_main(const char *model_path, const char *vocab_path, const char *grammar_file,
                       const char *schema_file, int n_threads, int n_tg, int steps, int json);

int main(int argc, char **argv)
{
  const char *path = NULL, *pp_list = "64,512", *par_list = "4,8", *depth_list = "";
  const char *vocab = NULL, *grammar = NULL, *schema = NULL;
  int n_threads = 2, reps = 3, json = 0, steps = 2000, no_mmap = 0, kv_type = DSEEK_TYPE_F16;
  bench_fill fill = BENCH_FILL_TILE;
  int64_t n_tg = 64;
  for (int i = 1; i < argc; i++) {
    const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
    if (!strcmp(a, "--json")) json = 1;
    else if (!strcmp(a, "--no-mmap")) no_mmap = 1;
    else if (!strcmp(a, "-m") && v) path = argv[++i];
    else if (!strcmp(a, "-t") && v) n_threads = atoi(argv[++i]);
    else if (!strcmp(a, "-r") && v) reps = atoi(argv[++i]);
    else if (!strcmp(a, "-p") && v) pp_list = argv[++i];
    else if (!strcmp(a, "-n") && v) n_tg = atoll(argv[++i]);
    else if (!strcmp(a, "-d") && v) depth_list = argv[++i];
    else if (!strcmp(a, "--depth-fill") && v && (!strcmp(v, "tile") || !strcmp(v, "prefill")))
      fill = !strcmp(argv[++i], "tile") ? BENCH_FILL_TILE : BENCH_FILL_PREFILL;
    else if (!strcmp(a, "--parallel") && v) par_list = argv[++i];
    else if (!strcmp(a, "--kv-type") && v && (kv_type = kv_type_named(v)) >= 0) i++;
    else if (!strcmp(a, "--vocab") && v) vocab = argv[++i];
    else if (!strcmp(a, "--grammar") && v) grammar = argv[++i];
    else if (!strcmp(a, "--json-schema") && v) schema = argv[++i];
    else if (!strcmp(a, "--steps") && v) steps = atoi(argv[++i]);
    else return usage(argv[0]);
  }
  if (grammar || schema) {
    if ((!path && !vocab) || (grammar && schema) || steps < 1) return usage(argv[0]);
    return bench_grammar_main(path, vocab, grammar, schema, n_threads, (int)n_tg, steps, json);
  }
  if (!path || n_threads < 1 || n_threads > 64 || reps < 1 || reps > MAX_REPS || n_tg < 0) return usage(argv[0]);

  int64_t pp[8], par[BENCH_MAX_PAR], depth[4];
  int n_pp = parse_list(pp_list, pp, 8, 1, INT64_MAX);
  int n_par = parse_list(par_list, par, BENCH_MAX_PAR - 1, 2, 64);
  int n_depth = parse_list(depth_list, depth, 4, 1, 1 << 22);
  for (int i = 1; i < n_depth; i++)   /* ascending: a prefill continues the previous depth's */
    for (int j = i; j > 0 && depth[j - 1] > depth[j]; j--) {
      int64_t t = depth[j];
      depth[j] = depth[j - 1];
      depth[j - 1] = t;
    }
  int64_t n_max = n_tg;
  for (int i = 0; i < n_pp; i++) n_max = pp[i] > n_max ? pp[i] : n_max;
  int64_t n_ctx_need = n_max;
  for (int i = 0; i < n_depth; i++)
    if (depth[i] + n_tg > n_ctx_need) n_ctx_need = depth[i] + n_tg;

  dseek_model *m = NULL;
  dseek_context *c = NULL;
  dseek_model_options mo;
  dseek_model_options_init(&mo, sizeof mo);
  mo.no_mmap = no_mmap;
  if (dseek_model_load(path, &mo, &m) != DSEEK_OK) {
    fprintf(stderr, "%s: %s\n", path, dseek_last_error());
    return 1;
  }
  dseek_context_options co;
  dseek_context_options_init(&co, sizeof co);
  co.n_ctx = n_ctx_need + 16;
  co.n_batch = n_max;
  co.n_threads = n_threads;
  co.kv_type = kv_type;
  if (dseek_context_create(m, &co, &c) != DSEEK_OK) {
    fprintf(stderr, "%s: context: %s\n", path, dseek_last_error());
    dseek_model_free(m);
    return 1;
  }
  int32_t *toks = malloc((size_t)n_ctx_need * sizeof *toks);
  if (!toks) return 1;
  fill_tokens(toks, n_ctx_need, dseek_model_n_vocab(m));

  bench_bw probe;
  if (bench_bw_init(&probe, n_threads) != 0) {
    fprintf(stderr, "no memory for the bandwidth probe\n");
    return 1;
  }
  double bpt = bytes_per_token(path, m);
  /* warm-up: pages the weights in and builds the graphs */
  warm_page_cache(path);
  run_tg(c, toks, n_tg < 2 ? n_tg : 2);
  if (n_pp) run_pp(c, toks, pp[0]);

  result res[13];
  memset(res, 0, sizeof res);
  int n_res = 0;
  for (int i = 0; i < n_pp; i++) {
    double v[MAX_REPS];
    for (int r = 0; r < reps; r++) v[r] = run_pp(c, toks, pp[i]);
    snprintf(res[n_res].name, sizeof res[n_res].name, "pp%lld", (long long)pp[i]);
    res[n_res].n = pp[i];
    res[n_res++].tps = median(v, reps);
    bench_bw_probe(&probe);
  }
  double tg = 0;
  if (n_tg > 0) {
    double v[MAX_REPS];
    for (int r = 0; r < reps; r++) v[r] = run_tg(c, toks, n_tg);
    tg = median(v, reps);
    snprintf(res[n_res].name, sizeof res[n_res].name, "tg%lld", (long long)n_tg);
    res[n_res].n = n_tg;
    res[n_res++].tps = tg;
    bench_bw_probe(&probe);
  }
  const char *depth_how = "";
  const double kv_bpt = (double)dseek_context_kv_bytes_per_token(c);
  const char *tmp = getenv("TMPDIR");
  if (n_tg > 0) dseek_context_reset(c);
  for (int i = 0; i < n_depth && n_tg > 0; i++) {
    /* the context at depth D, then reps runs of n_tg decodes, each rewound to D */
    double v[MAX_REPS], t0 = now();
    int ok = bench_depth_fill(c, toks, depth[i], n_max, fill, tmp && *tmp ? tmp : "/tmp", &depth_how) == 0;
    if (!json) fprintf(stderr, "depth %lld: %s in %.1f s\n", (long long)depth[i], depth_how, now() - t0);
    for (int r = 0; r < reps; r++) {
      t0 = now();
      for (int64_t j = 0; j < n_tg && ok; j++) ok = dseek_decode(c, &toks[depth[i] + j], 1, 0) == DSEEK_OK;
      v[r] = ok ? (double)n_tg / (now() - t0) : -1;
      ok = ok && dseek_context_shift(c, depth[i], n_tg) == DSEEK_OK;
    }
    if (!ok) fprintf(stderr, "depth %lld: %s\n", (long long)depth[i], dseek_last_error());
    snprintf(res[n_res].name, sizeof res[n_res].name, "tg%lld@%lld", (long long)n_tg, (long long)depth[i]);
    res[n_res].n = n_tg;
    res[n_res].depth = depth[i];
    res[n_res++].tps = median(v, reps);
    bench_bw_probe(&probe);
  }
  bench_depth_done();
  const double bw = probe.best;
  bench_bw_free(&probe);
  double roof = bw * 1e9 / bpt;
  const char *cpu = getenv("DSEEK_CPU");
  bench_gen gen;
  if (n_tg > 0 && bench_generate(m, n_threads, reps, n_tg, par, n_par, &gen)) memset(&gen, 0, sizeof gen);
  if (n_tg <= 0) memset(&gen, 0, sizeof gen);

  if (json) {
    printf("{\n  \"model\": \"%s\",\n  \"arch\": \"%s\",\n  \"threads\": %d,\n  \"reps\": %d,\n", path,
           dseek_model_arch(m), n_threads, reps);
    printf("  \"dseek_cpu\": \"%s\",\n  \"weight_bytes\": %lld,\n  \"bytes_per_token\": %.0f,\n",
           cpu ? cpu : "default", (long long)dseek_model_weight_bytes(m), bpt);
    printf("  \"bandwidth_gbs\": %.2f,\n  \"bandwidth_worst_gbs\": %.2f,\n  \"bandwidth_probes\": %d,\n", bw,
           probe.worst, probe.n);
    printf("  \"roofline_tps\": %.2f,\n", roof);
    printf("  \"kv_type\": \"%s\",\n", dseek_type_name(kv_type));
    for (int i = 0; i < n_res; i++) printf("  \"%s_tps\": %.3f,\n", res[i].name, res[i].tps);
    if (n_depth && n_tg > 0) {
      printf("  \"kv_bytes_per_token\": %.0f,\n  \"depth_fill\": \"%s\",\n", kv_bpt, depth_how);
      for (int i = 0; i < n_res; i++)
        if (res[i].depth)
          printf("  \"%s_roofline_fraction\": %.3f,\n", res[i].name, res[i].tps / roofline_at(bw, bpt, kv_bpt, &res[i]));
    }
    bench_generate_print(&gen, 1);
    printf("  \"tg_roofline_fraction\": %.3f\n}\n", n_tg > 0 ? tg / roof : 0.0);
  } else {
    printf("model       %s (%s, %.2f GB of weights)\n", path, dseek_model_arch(m),
           (double)dseek_model_weight_bytes(m) / 1e9);
    printf("threads     %d   reps %d (medians)   DSEEK_CPU %s\n", n_threads, reps, cpu ? cpu : "default");
    printf("bandwidth   %.1f GB/s (streaming read, %d threads; best of %d probes, worst %.1f)\n", bw, n_threads,
           probe.n, probe.worst);
    printf("bytes/token %.3f GB   roofline %.1f tokens/s\n", bpt / 1e9, roof);
    if (n_depth && n_tg > 0)
      printf("KV cache    %s, %.1f KB per token; tgN@D: depth %s, roofline with the cache reads\n",
             dseek_type_name(kv_type), kv_bpt / 1e3,
             !strcmp(depth_how, "tiled") ? "tiled from one n_batch prefill (bench_depth.c)" : "by prefill");
    printf("\n");
    printf("| test      |   tokens/s | of roofline |\n|-----------|-----------:|------------:|\n");
    for (int i = 0; i < n_res; i++) {
      const double frac = res[i].tps / roofline_at(bw, bpt, kv_bpt, &res[i]);
      if (res[i].name[0] == 't')
        printf("| %-9s | %10.2f | %9.1f%%%s |\n", res[i].name, res[i].tps, 100 * frac, frac > 1 ? "!" : " ");
      else printf("| %-9s | %10.2f |             |\n", res[i].name, res[i].tps);
    }
    for (int i = 0; i < n_res; i++)
      if (res[i].name[0] == 't' && res[i].tps > roofline_at(bw, bpt, kv_bpt, &res[i])) {
        printf("! over 100%% of the roofline: the probes read slower than the decode streamed (a busy "
               "machine while probing, or weights held in the caches): not to be trusted\n");
        break;
      }
    bench_generate_print(&gen, 0);
  }
  free(toks);
  dseek_context_free(c);
  dseek_model_free(m);
  return 0;
}
