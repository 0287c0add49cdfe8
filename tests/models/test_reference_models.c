/*
 * test_reference_models.c — dseek's forward passes against the independent
 * PyTorch reference (tests/reference/), on every tiny model variant it wrote:
 * prefill logits at every position, token-by-token decode logits, and greedy
 * generation token for token.
 *
 *   test_reference_models TINY_DIR [variant-prefix]
 *
 * Tolerance: max |dseek - reference| <= tol * max|reference logit| with tol =
 * 1e-4 (the reference runs in float64 on the weights as stored, so weight
 * rounding is already in the expectation). Greedy tokens must agree wherever
 * the reference's top-1/top-2 margin exceeds twice the allowed error; after a
 * near-tie the sequences may legitimately part, so comparison stops there.
 */
#include "dseek.h"
#include "harness.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#if !defined(_WIN32)
#include <sys/wait.h>
#include <unistd.h>
#else
#include <process.h>
#endif

#define MAX_TOK 64

typedef struct expected {
  int64_t vocab, n_prompt, n_gen;
  int32_t prompt[MAX_TOK], greedy[MAX_TOK];
  double margin[MAX_TOK];
  double absmax;
  float *prefill, *decode;
} expected;

static float *read_f32(const char *dir, const char *name, int64_t n)
{
  char path[1024];
  snprintf(path, sizeof path, "%s/%s", dir, name);
  FILE *f = fopen(path, "rb");
  if (!f) return NULL;
  float *p = malloc((size_t)n * sizeof *p);
  if (p && fread(p, sizeof *p, (size_t)n, f) != (size_t)n) { free(p); p = NULL; }
  fclose(f);
  return p;
}

static bool read_expected(const char *dir, expected *e)
{
  char path[1200], line[8192];
  memset(e, 0, sizeof *e);
  snprintf(path, sizeof path, "%s/expected.txt", dir);
  FILE *f = fopen(path, "r");
  if (!f) return false;
  while (fgets(line, sizeof line, f)) {
    char key[64];
    int off = 0;
    if (sscanf(line, "%63s%n", key, &off) != 1) continue;
    char *rest = line + off;
    if (!strcmp(key, "vocab")) e->vocab = atoll(rest);
    else if (!strcmp(key, "n_prompt")) e->n_prompt = atoll(rest);
    else if (!strcmp(key, "n_gen")) e->n_gen = atoll(rest);
    else if (!strcmp(key, "logit_absmax")) e->absmax = atof(rest);
    else if (!strcmp(key, "prompt") || !strcmp(key, "greedy") || !strcmp(key, "greedy_margin")) {
      for (int i = 0; i < MAX_TOK; i++) {
        char *end;
        double v = strtod(rest, &end);
        if (end == rest) break;
        rest = end;
        if (key[0] == 'p') e->prompt[i] = (int32_t)v;
        else if (!strcmp(key, "greedy")) e->greedy[i] = (int32_t)v;
        else e->margin[i] = v;
      }
    }
  }
  fclose(f);
  if (e->n_prompt < 1 || e->n_prompt > MAX_TOK || e->n_gen < 1 || e->n_gen > MAX_TOK || e->vocab < 1) return false;
  e->prefill = read_f32(dir, "prefill_logits.f32", e->n_prompt * e->vocab);
  e->decode = read_f32(dir, "decode_logits.f32", e->n_gen * e->vocab);
  return e->prefill && e->decode;
}

static double max_diff(const float *a, const float *b, int64_t n)
{
  double m = 0;
  for (int64_t i = 0; i < n; i++) {
    double d = fabs((double)a[i] - (double)b[i]);
    if (!(d <= m)) m = d;   /* NaN propagates as a failure */
  }
  return m;
}

static int32_t argmax(const float *x, int64_t n)
{
  int32_t best = 0;
  for (int64_t i = 1; i < n; i++) if (x[i] > x[best]) best = (int32_t)i;
  return best;
}

static void check_variant(const char *tiny, const char *name)
{
  char dir[1024], path[1100];
  snprintf(dir, sizeof dir, "%s/%s", tiny, name);
  expected e;
  if (!read_expected(dir, &e)) { CHECK_MSG(0, "%s: cannot read expected outputs", name); return; }
  snprintf(path, sizeof path, "%s/model.gguf", dir);
  FILE *probe = fopen(path, "rb");
  if (probe) fclose(probe);
  else snprintf(path, sizeof path, "%s", dir);   /* a Hugging Face directory */

  dseek_model *m = NULL;
  dseek_status st = dseek_model_load(path, NULL, &m);
  CHECK_MSG(st == DSEEK_OK, "%s: load: %s", name, dseek_last_error());
  if (st) goto done;
  CHECK_EQ_INT(dseek_model_n_vocab(m), e.vocab);

  dseek_context_options co;
  dseek_context_options_init(&co, sizeof co);
  co.n_ctx = 64;
  co.kv_type = DSEEK_TYPE_F32;
  co.n_threads = 2;
  co.n_batch = 5;          /* the 12-token prompt runs as chunks 5 + 5 + 2 */
  dseek_context *c = NULL;
  st = dseek_context_create(m, &co, &c);
  CHECK_MSG(st == DSEEK_OK, "%s: context: %s", name, dseek_last_error());
  if (st) goto done;

  const double tol = 1e-4 * e.absmax;
  /* 1. prefill: logits at every prompt position */
  st = dseek_decode(c, e.prompt, e.n_prompt, 1);
  CHECK_MSG(st == DSEEK_OK, "%s: decode: %s", name, dseek_last_error());
  double worst = 0;
  for (int64_t t = 0; t < e.n_prompt && !st; t++) {
    double d = max_diff(dseek_logits(c, t), e.prefill + t * e.vocab, e.vocab);
    if (!(d <= worst)) worst = d;
  }
  CHECK_MSG(worst <= tol, "%s: prefill max diff %.3g > %.3g", name, worst, tol);
  double prefill_worst = worst;

  /* 2. token-by-token decode of the reference's greedy tokens */
  worst = 0;
  for (int64_t j = 0; j < e.n_gen && !st; j++) {
    st = dseek_decode(c, &e.greedy[j], 1, 0);
    CHECK_MSG(st == DSEEK_OK, "%s: decode token %lld: %s", name, (long long)j, dseek_last_error());
    if (st) break;
    double d = max_diff(dseek_logits(c, -1), e.decode + j * e.vocab, e.vocab);
    if (!(d <= worst)) worst = d;
  }
  CHECK_MSG(worst <= tol, "%s: decode max diff %.3g > %.3g", name, worst, tol);

  /* 3. greedy generation from the prompt alone, one token at a time */
  dseek_context_reset(c);
  int64_t agreed = 0;
  if (!st && (st = dseek_decode(c, e.prompt, e.n_prompt, 0)) == DSEEK_OK) {
    for (int64_t j = 0; j < e.n_gen; j++) {
      int32_t tok = argmax(dseek_logits(c, -1), e.vocab);
      if (e.margin[j] > 2 * tol) CHECK_MSG(tok == e.greedy[j], "%s: greedy token %lld: %d != %d", name,
                                           (long long)j, tok, e.greedy[j]);
      if (tok != e.greedy[j]) break;
      agreed++;
      if ((st = dseek_decode(c, &tok, 1, 0))) break;
    }
  }
  fprintf(stderr, "%-28s prefill %.2e decode %.2e (tol %.1e) greedy %lld/%lld\n", name, prefill_worst, worst,
          tol, (long long)agreed, (long long)e.n_gen);
  dseek_context_free(c);
done:
  dseek_model_free(m);
  free(e.prefill);
  free(e.decode);
}

/* Q8_0, Q4_0 and K-quant weights: by default dseek rounds the activations of their
 * products to int8 per 32 values (lib/kernels/vec.h, as llama.cpp does), which
 * moves these tiny models' logits far beyond 1e-4 (measured max |diff| /
 * max|logit|: qwen2 q8_0 2% (decode 4%), q4_0 2.5% (5%), llama 2.5-3.5%;
 * ds2-v3 q8_0 57% once a router near-tie picks another expert). No tolerance
 * derived from the model would mean anything, so the 1e-4 comparison — which
 * checks the weights' decoding and the model's math — runs these variants
 * with f32 activations (DSEEK_CPU=reference) in a fresh process, the level
 * being read once per process. The int8 path itself is bounded dot by dot
 * against exact sums in tests/kernels. */
static bool activations_rounded(const char *name)
{
  const char *level = getenv("DSEEK_CPU");
  return (strstr(name, "q8_0") || strstr(name, "q4_0") || strstr(name, "q4_k") || strstr(name, "q5_k") || strstr(name, "ud_mix") ||
          strstr(name, "q6_k")) && !(level && !strcmp(level, "reference"));
}

static const char *self_path;

/* Re-run this program on the one variant with DSEEK_CPU=reference (in a
 * cross build through the emulator meson runs the tests with, given in
 * MESON_EXE_WRAPPER as words separated by spaces). */
static void check_variant_exact(const char *tiny, const char *name)
{
  fflush(stderr);
#if defined(_WIN32)
  /* Windows (also under Wine): this program again, directly, with the
   * variable set for the child only. */
  const char *argv[] = {self_path, tiny, name, NULL};
  setenv("DSEEK_CPU", "reference", 1);
  intptr_t rc = _spawnv(_P_WAIT, self_path, argv);
  unsetenv("DSEEK_CPU");
  CHECK_MSG(rc == 0, "%s: failed with f32 activations (DSEEK_CPU=reference)", name);
#else
  pid_t pid = fork();
  if (pid == 0) {
    setenv("DSEEK_CPU", "reference", 1);
    char *argv[16], wrap[512] = "";
    int argc = 0;
    const char *w = getenv("MESON_EXE_WRAPPER");
    if (w && strlen(w) < sizeof wrap) strcpy(wrap, w);
    for (char *t = strtok(wrap, " "); t && argc < 12; t = strtok(NULL, " ")) argv[argc++] = t;
    argv[argc++] = (char *)self_path;
    argv[argc++] = (char *)tiny;
    argv[argc++] = (char *)name;
    argv[argc] = NULL;
    execvp(argv[0], argv);
    _exit(127);
  }
  int status = 0;
  CHECK_MSG(pid > 0 && waitpid(pid, &status, 0) == pid && WIFEXITED(status) && WEXITSTATUS(status) == 0,
            "%s: failed with f32 activations (DSEEK_CPU=reference)", name);
#endif
}

int main(int argc, char **argv)
{
  if (!ds_test_tiny_dir(argc, argv)) return 77;
  const char *prefix = argc > 2 ? argv[2] : "";
  self_path = argv[0];
  char path[1024], line[512];
  snprintf(path, sizeof path, "%s/manifest.txt", argv[1]);
  FILE *f = fopen(path, "r");
  if (!f) { fprintf(stderr, "%s missing\n", path); return 1; }
  int n = 0;
  while (fgets(line, sizeof line, f)) {
    char name[256];
    if (sscanf(line, "%255s", name) != 1 || strncmp(name, prefix, strlen(prefix)) != 0) continue;
    if (activations_rounded(name)) check_variant_exact(argv[1], name);
    else check_variant(argv[1], name);
    n++;
  }
  fclose(f);
  CHECK_MSG(n > 0, "no variant matches '%s'", prefix);
  return DS_TEST_RESULT();
}
