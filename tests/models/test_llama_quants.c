/*
 * test_llama_quants.c — whole-model check of the IQ types on files quantized
 * by llama.cpp (tests/data/quants: a random qwen2, vocab 384, 2 layers).
 *
 *   test_llama_quants DATA_DIR
 *
 * For each file model-T.gguf, prefill of the 100 tokens of tokens.json in one
 * batch, at every CPU level this host has (reference, scalar, avx2, avx512 /
 * neon, dotprod): every logit must be within tol of llama.cpp's logits on the
 * same weights dequantized to F32 (logits_prefill_T_dequant.f32), with tol
 * twice the largest difference between llama.cpp's own logits on the
 * quantized file (its activations quantized for the dots) and on the
 * dequantized weights. A wrong weight decode moves logits by O(1); the
 * spread is a few hundredths. The files have no tokenizer dseek supports
 * (pre-tokenizer 'default'), so token ids go in directly.
 */
#include "dseek.h"
#include "harness.h"
#include "levels.h"
#include "kernels/cpu.h"

#include <stdio.h>
#include <stdlib.h>

#define N_TOK 100
#define N_VOCAB 384

static float *read_f32(const char *dir, const char *name, size_t n)
{
  char path[1024];
  snprintf(path, sizeof path, "%s/%s", dir, name);
  FILE *f = fopen(path, "rb");
  float *p = f ? malloc(n * sizeof *p) : NULL;
  if (p && fread(p, sizeof *p, n, f) != n) {
    free(p);
    p = NULL;
  }
  if (f) fclose(f);
  return p;
}

static bool read_tokens(const char *dir, int32_t *tok)
{
  char path[1024], buf[4096];
  snprintf(path, sizeof path, "%s/tokens.json", dir);
  FILE *f = fopen(path, "r");
  size_t n = f ? fread(buf, 1, sizeof buf - 1, f) : 0;
  if (f) fclose(f);
  buf[n] = 0;
  char *s = strchr(buf, '[');
  for (int i = 0; s && i < N_TOK; i++) {
    char *end;
    tok[i] = (int32_t)strtol(s + 1, &end, 10);
    if (end == s + 1) return false;
    s = end;
  }
  return s && *s == ']';
}

static double max_diff(const float *a, const float *b, size_t n)
{
  double m = 0;
  for (size_t i = 0; i < n; i++) m = fmax(m, fabs((double)a[i] - b[i]));
  return m;
}

static void check_type(const char *dir, const char *type, const int32_t *tok)
{
  char name[256];
  const size_t n = (size_t)N_TOK * N_VOCAB;
  snprintf(name, sizeof name, "logits_prefill_%s.f32", type);
  float *quant = read_f32(dir, name, n);
  snprintf(name, sizeof name, "logits_prefill_%s_dequant.f32", type);
  float *dequant = read_f32(dir, name, n);
  CHECK_MSG(quant && dequant, "%s: llama.cpp logits missing", type);
  if (!quant || !dequant) goto done;
  const double tol = 2 * max_diff(quant, dequant, n);

  snprintf(name, sizeof name, "%s/model-%s.gguf", dir, type);
  const ds_cpu_level best = ds_cpu_detected();
  for (int l = DS_CPU_REFERENCE; l <= (int)best; l++) {
    ds_cpu_level_set((ds_cpu_level)l);
    dseek_model *m = NULL;
    dseek_context *c = NULL;
    dseek_context_options o;
    dseek_context_options_init(&o, sizeof o);
    o.n_ctx = 128;
    o.n_threads = 2;
    bool ok = dseek_model_load(name, NULL, &m) == DSEEK_OK && dseek_context_create(m, &o, &c) == DSEEK_OK &&
              dseek_decode(c, tok, N_TOK, 1) == DSEEK_OK;
    CHECK_MSG(ok, "%s at %s: %s", type, ds_cpu_level_name((ds_cpu_level)l), dseek_last_error());
    double err = 0;
    for (int i = 0; ok && i < N_TOK; i++) {
      const float *lg = dseek_logits(c, i);
      CHECK(lg != NULL);
      if (lg) err = fmax(err, max_diff(lg, dequant + (size_t)i * N_VOCAB, N_VOCAB));
    }
    CHECK_MSG(ok && err <= tol, "%s at %s: max |dseek - llama.cpp dequant| %.4g > %.4g", type,
              ds_cpu_level_name((ds_cpu_level)l), err, tol);
    fprintf(stderr, "  %-8s %-9s max diff %.4g (tol %.4g)\n", type, ds_cpu_level_name((ds_cpu_level)l), err, tol);
    dseek_context_free(c);
    dseek_model_free(m);
  }
  ds_cpu_level_set(best);
done:
  free(quant);
  free(dequant);
}

int main(int argc, char **argv)
{
  ds_test_levels();
  if (argc != 2) {
    fprintf(stderr, "usage: test_llama_quants DATA_DIR\n");
    return 1;
  }
  int32_t tok[N_TOK];
  CHECK_MSG(read_tokens(argv[1], tok), "%s/tokens.json unreadable", argv[1]);
  static const char *const types[] = {"IQ4_NL", "IQ4_XS", "IQ3_XXS", "IQ2_XXS", "IQ2_XS", "IQ1_S", "IQ1_M"};
  for (size_t i = 0; i < sizeof types / sizeof types[0]; i++) check_type(argv[1], types[i], tok);
  return DS_TEST_RESULT();
}
