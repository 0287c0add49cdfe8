/*
 * test_deepseek2.c — deepseek2 specifics on the tiny reference models
 * (tests/reference, README "deepseek2 variants"):
 *   - the latent KV cache: bytes per token per layer == (kv_lora_rank +
 *     qk_rope) x element size for F32/F16/BF16, and F16/BF16 caches still
 *     match the reference within the cache's rounding;
 *   - what the loaders keep: FP8 weights stay F8_E4M3 with their scale grids
 *     (experts through per-expert tables), GGUF experts stacked, split vs
 *     fused kv_b giving the same W_UK^T / W_UV, hparams read from both
 *     formats (YaRN mscale and the softmax scale by hand, the group score
 *     rule of V2 and V3 routing);
 *   - config.json errors name the field.
 *
 *   test_deepseek2 TINY_DIR
 */
#include "dseek.h"
#include "harness.h"
#include "kernels/types.h"
#include "models/model.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <limits.h>
#include <unistd.h>

static const char *tiny;

static char *path_of(const char *variant, const char *file)
{
  static char p[4][1024];
  static int k;
  k = (k + 1) % 4;
  snprintf(p[k], sizeof p[k], "%s/%s%s%s", tiny, variant, file ? "/" : "", file ? file : "");
  return p[k];
}

static dseek_model *load(const char *variant, const char *file)
{
  dseek_model *m = NULL;
  dseek_status st = dseek_model_load(path_of(variant, file), NULL, &m);
  CHECK_MSG(st == DSEEK_OK, "%s: %s", variant, dseek_last_error());
  return m;
}

/* Logits of the reference prompt (expected.txt's "prompt" line). */
static int read_prompt(const char *variant, int32_t *ids, int cap)
{
  FILE *f = fopen(path_of(variant, "expected.txt"), "r");
  char line[4096];
  int n = 0;
  while (f && fgets(line, sizeof line, f)) {
    if (strncmp(line, "prompt ", 7) != 0) continue;
    char *s = line + 7, *end;
    for (long v; n < cap && (v = strtol(s, &end, 10), end != s); s = end) ids[n++] = (int32_t)v;
  }
  if (f) fclose(f);
  return n;
}

static void test_kv_cache(void)
{
  dseek_model *m = load("ds2-v3-gguf-f32", "model.gguf");
  if (!m) return;
  const int64_t C = 32, rope = 8, L = dseek_model_n_layer(m);
  CHECK_EQ_INT(L, 3);
  int32_t prompt[64];
  int n = read_prompt("ds2-v3-gguf-f32", prompt, 64);
  CHECK(n == 12);
  float *ref = NULL;
  const int types[3] = {DSEEK_TYPE_F32, DSEEK_TYPE_F16, DSEEK_TYPE_BF16};
  const int64_t size[3] = {4, 2, 2};
  const double tol[3] = {0, 0.02, 0.15};   /* logits change from rounding the cached latents */
  for (int i = 0; i < 3; i++) {
    dseek_context_options o;
    dseek_context_options_init(&o, sizeof o);
    o.n_ctx = 32;
    o.kv_type = types[i];
    o.n_threads = 2;
    dseek_context *c = NULL;
    CHECK(dseek_context_create(m, &o, &c) == DSEEK_OK);
    if (!c) continue;
    /* per token and layer: one latent row, nothing per head */
    CHECK_EQ_INT(dseek_context_kv_bytes_per_token(c), L * (C + rope) * size[i]);
    CHECK(dseek_decode(c, prompt, n, 0) == DSEEK_OK);
    const float *lg = dseek_logits(c, -1);
    if (i == 0) {
      ref = malloc(300 * sizeof *ref);
      memcpy(ref, lg, 300 * sizeof *ref);
    } else {
      double worst = 0;
      for (int j = 0; j < 300; j++) worst = fmax(worst, fabs((double)lg[j] - ref[j]));
      CHECK_MSG(worst > 0 && worst < tol[i], "%s cache: logits differ by %g from the f32 cache",
                dseek_type_name(types[i]), worst);
    }
    dseek_context_free(c);
  }
  free(ref);
  dseek_model_free(m);
}

static void test_loaded_weights(void)
{
  dseek_model *fp8 = load("ds2-v3-hf-fp8", NULL), *q4 = load("ds2-v3-gguf-q4_k", "model.gguf");
  dseek_model *fused = load("ds2-v2lite-gguf-f32", "model.gguf");
  dseek_model *split = load("ds2-v2lite-gguf-f32-split", "model.gguf");
  dseek_model *hf = load("ds2-v2lite-hf-f32", NULL);
  if (!fp8 || !q4 || !fused || !split || !hf) goto done;
  CHECK_STR(dseek_model_arch(fp8), "deepseek2");
  CHECK_STR(dseek_model_arch(q4), "deepseek2");

  /* FP8 stays FP8: experts by table with a scale grid each, dense FFN too */
  const ds_ds2_layer *L0 = &fp8->ds2_layers[0], *L1 = &fp8->ds2_layers[1];
  CHECK(!L0->moe && L1->moe);
  CHECK_EQ_INT(L0->ffn_gate.type, DSEEK_TYPE_F8_E4M3);
  CHECK(L0->ffn_gate.scale != NULL);
  CHECK_EQ_INT(L1->gate_exps.w.type, DSEEK_TYPE_F8_E4M3);
  CHECK(L1->gate_exps.table != NULL && L1->gate_exps.w.ne[2] == 16);
  for (int e = 0; e < 16; e++) CHECK(L1->down_exps.table[2 * e] != 0 && L1->down_exps.table[2 * e + 1] != 0);
  CHECK(L1->exp_probs_b.data && L1->exp_probs_b.type == DSEEK_TYPE_F32);
  /* GGUF experts are stacked [d, ff, E] and keep their quantized type */
  const ds_ds2_layer *Q1 = &q4->ds2_layers[1];
  CHECK(Q1->gate_exps.table == NULL && Q1->gate_exps.w.ne[2] == 16);
  CHECK_EQ_INT(Q1->gate_exps.w.type, DSEEK_TYPE_Q4_K);

  /* hparams: V3 style from GGUF and HF agree */
  const ds_ds2_hparams *a = &q4->ds2, *b = &fp8->ds2;
  CHECK(a->q_lora_rank == 48 && b->q_lora_rank == 48 && a->kv_lora_rank == 32 && b->kv_lora_rank == 32);
  CHECK(a->qk_nope == 16 && b->qk_nope == 16 && a->qk_rope == 8 && a->v_head == 16 && b->v_head == 16);
  CHECK(a->gating == DS_MOE_SIGMOID && b->gating == DS_MOE_SIGMOID && a->norm_topk && b->norm_topk);
  CHECK(a->n_group == 4 && a->n_group_used == 2 && b->n_group == 4 && b->n_group_used == 2);
  CHECK(a->group_top2sum && b->group_top2sum);
  CHECK_NEAR(a->routed_scale, 2.5, 1e-6);
  CHECK_NEAR(b->routed_scale, 2.5, 1e-6);
  /* softmax scale = (0.1 * 1.0 * ln 40 + 1)^2 / sqrt(24) = 1.8739 / 4.899 (V3);
   * V2-Lite: mscale_all_dim 0.707 -> (0.1 * 0.707 * ln 40 + 1)^2 / sqrt(24) */
  double v3 = pow(0.1 * log(40.0) + 1, 2) / sqrt(24.0), v2 = pow(0.1 * 0.707 * log(40.0) + 1, 2) / sqrt(24.0);
  CHECK_NEAR(a->kq_scale, v3, 1e-6);
  CHECK_NEAR(b->kq_scale, v3, 1e-6);
  CHECK_NEAR(fused->ds2.kq_scale, v2, 1e-6);
  CHECK_NEAR(hf->ds2.kq_scale, v2, 1e-6);
  CHECK(fused->ds2.gating == DS_MOE_SOFTMAX && !fused->ds2.norm_topk && fused->ds2.n_expert_shared == 2);
  CHECK(!hf->ds2.group_top2sum && hf->ds2.q_lora_rank == 0 && hf->ds2_layers[0].wq.data);
  /* V2 group-limited routing (softmax, groups scored by their max) from both
   * formats: a GGUF carries only the group counts and the gating function */
  dseek_model *grp[2] = {load("ds2-v2grp-gguf-f32", "model.gguf"), load("ds2-v2grp-hf-f32", NULL)};
  for (int i = 0; i < 2; i++) {
    if (!grp[i]) continue;
    const ds_ds2_hparams *g = &grp[i]->ds2;
    CHECK(g->gating == DS_MOE_SOFTMAX && g->n_group == 4 && g->n_group_used == 2 && !g->group_top2sum);
    CHECK(g->n_expert == 16 && g->n_expert_used == 4 && !grp[i]->ds2_layers[1].exp_probs_b.data);
    dseek_model_free(grp[i]);
  }

  /* the fused kv_b, split at load, equals the file's own split halves */
  for (int il = 0; il < 3; il++) {
    const ds_ds2_layer *F = &fused->ds2_layers[il], *S = &split->ds2_layers[il], *H = &hf->ds2_layers[il];
    CHECK(F->wk_b.ne[0] == 16 && F->wk_b.ne[1] == 32 && F->wk_b.ne[2] == 4);
    CHECK(F->wv_b.ne[0] == 32 && F->wv_b.ne[1] == 16 && F->wv_b.ne[2] == 4);
    CHECK(S->wk_b.type == DSEEK_TYPE_F32 && S->wv_b.type == DSEEK_TYPE_F32);
    size_t bytes = 16 * 32 * 4 * sizeof(float);
    CHECK(memcmp(F->wk_b.data, S->wk_b.data, bytes) == 0);
    CHECK(memcmp(F->wv_b.data, S->wv_b.data, bytes) == 0);
    CHECK(memcmp(H->wk_b.data, S->wk_b.data, bytes) == 0);
  }
  /* parameter counts: GGUF (split) and HF (fused kv_b) count the same weights */
  CHECK_EQ_INT(dseek_model_n_params(split), dseek_model_n_params(hf));
done:
  dseek_model_free(fp8);
  dseek_model_free(q4);
  dseek_model_free(fused);
  dseek_model_free(split);
  dseek_model_free(hf);
}

/* config.json of ds2-v2lite-hf-f32 with `from` replaced by `to`, next to a
 * link to its weights; loading must fail with status and a message naming
 * `field`. */
static void bad_config(const char *from, const char *to, dseek_status want, const char *field)
{
  char dir[] = "/tmp/dseek-ds2-XXXXXX", p[1024];
  if (!mkdtemp(dir)) { CHECK(0); return; }
  FILE *f = fopen(path_of("ds2-v2lite-hf-f32", "config.json"), "rb");
  char buf[8192], out[8400];
  size_t n = f ? fread(buf, 1, sizeof buf - 1, f) : 0;
  if (f) fclose(f);
  buf[n] = 0;
  char *at = strstr(buf, from);
  CHECK_MSG(at != NULL, "'%s' not in config.json", from);
  if (at) {
    snprintf(out, sizeof out, "%.*s%s%s", (int)(at - buf), buf, to, at + strlen(from));
    snprintf(p, sizeof p, "%s/config.json", dir);
    f = fopen(p, "wb");
    fputs(out, f);
    fclose(f);
    char link[1024], target[PATH_MAX];
    snprintf(link, sizeof link, "%s/model.safetensors", dir);
    CHECK(realpath(path_of("ds2-v2lite-hf-f32", "model.safetensors"), target) && symlink(target, link) == 0);
    dseek_model *m = NULL;
    dseek_status st = dseek_model_load(dir, NULL, &m);
    CHECK_MSG(st == want && strstr(dseek_last_error(), field), "%s -> %s: status %d, '%s'", from, to, (int)st,
              dseek_last_error());
    dseek_model_free(m);
    unlink(link);
    unlink(p);
  }
  rmdir(dir);
}

static void test_config_errors(void)
{
  bad_config("\"kv_lora_rank\": 32", "\"kv_lora_rankX\": 32", DSEEK_ERR_FORMAT, "kv_lora_rank");
  bad_config("\"qk_rope_head_dim\": 8", "\"qk_rope_head_dim\": 7", DSEEK_ERR_FORMAT, "qk_rope");
  bad_config("\"scoring_func\": \"softmax\"", "\"scoring_func\": \"relu\"", DSEEK_ERR_UNSUPPORTED, "scoring_func");
  bad_config("\"n_group\": 1", "\"n_group\": 3", DSEEK_ERR_FORMAT, "groups");
  bad_config("\"type\": \"yarn\"", "\"type\": \"dynamic\"", DSEEK_ERR_UNSUPPORTED, "rope_scaling");
  bad_config("\"v_head_dim\": 16", "\"v_head_dim\": 8", DSEEK_ERR_FORMAT, "kv_b_proj");
}

int main(int argc, char **argv)
{
  if (!ds_test_tiny_dir(argc, argv)) return 77;
  tiny = argv[1];
  RUN(test_kv_cache);
  RUN(test_loaded_weights);
  RUN(test_config_errors);
  return DS_TEST_RESULT();
}
