/*
 * test_params.c — parameter counts and weight bytes by type:
 *   - counted from the loaded tensors == computed from config.json alone
 *     (dseek_config_param_counts) for every tiny deepseek2 HF checkpoint
 *     (V2-Lite style without q_lora, V3 style, FP8, MTP), and GGUF == HF;
 *   - active by hand: total - embedding - unselected routed experts;
 *   - bytes by type add up to dseek_model_weight_bytes (GGUF);
 *   - DeepSeek-V3's published config (written below from the V3 release's
 *     config.json): 671B total, 36.6B active, 11.5B MTP (the release's
 *     README_WEIGHTS figures; the "37B active" headline rounds 36.6B), and a
 *     3-layer copy of it extrapolated to 61 layers gives the same numbers;
 *   - errors.
 *
 *   test_params TINY_DIR
 */
#include "dseek.h"
#include "harness.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static const char *tiny;

static dseek_model *load(const char *variant, const char *file)
{
  char path[1024];
  snprintf(path, sizeof path, "%s/%s%s%s", tiny, variant, file ? "/" : "", file ? file : "");
  dseek_model *m = NULL;
  CHECK_MSG(dseek_model_load(path, NULL, &m) == DSEEK_OK, "%s: %s", variant, dseek_last_error());
  return m;
}

static dseek_param_counts counts_of(const dseek_model *m)
{
  dseek_param_counts p = {.struct_size = sizeof p};
  CHECK_EQ_INT(dseek_model_param_counts(m, &p), DSEEK_OK);
  return p;
}

static void test_config_equals_tensors(void)
{
  static const char *const hf[] = {"ds2-v2lite-hf-f32", "ds2-v3-hf-f32-notok", "ds2-v3-hf-fp8", "ds2-mtp-hf-f32",
                                   "ds2-yarn-hf-f32"};
  for (size_t i = 0; i < sizeof hf / sizeof hf[0]; i++) {
    dseek_model *m = load(hf[i], NULL);
    if (!m) continue;
    dseek_param_counts got = counts_of(m), cfg = {.struct_size = sizeof cfg};
    char dir[1024];
    snprintf(dir, sizeof dir, "%s/%s", tiny, hf[i]);
    CHECK_MSG(dseek_config_param_counts(dir, 0, &cfg) == DSEEK_OK, "%s", dseek_last_error());
    CHECK_MSG(cfg.total == got.total && cfg.active == got.active && cfg.mtp == got.mtp &&
              cfg.kv_values_per_token == got.kv_values_per_token,
              "%s: config %lld/%lld/%lld/%lld vs tensors %lld/%lld/%lld/%lld", hf[i], (long long)cfg.total,
              (long long)cfg.active, (long long)cfg.mtp, (long long)cfg.kv_values_per_token, (long long)got.total,
              (long long)got.active, (long long)got.mtp, (long long)got.kv_values_per_token);
    CHECK(got.total > got.active && got.active > 0);
    dseek_model_free(m);
  }
  /* the config.json path itself works as well as its directory */
  char file[1024];
  snprintf(file, sizeof file, "%s/ds2-mtp-hf-f32/config.json", tiny);
  dseek_param_counts a = {.struct_size = sizeof a};
  CHECK_EQ_INT(dseek_config_param_counts(file, 0, &a), DSEEK_OK);
  CHECK(a.mtp > 0);
}

static void test_by_hand(void)
{
  /* v2lite: d 64, vocab 300, layers 1 dense + 2 MoE of 8 experts top 2, expert FFN 32 */
  dseek_model *gguf = load("ds2-v2lite-gguf-f32", "model.gguf"), *hf = load("ds2-v2lite-hf-f32", NULL);
  dseek_model *qwen = load("qwen2-gguf-q8_0", "model.gguf");
  if (!gguf || !hf || !qwen) goto done;
  dseek_param_counts g = counts_of(gguf), h = counts_of(hf), q = counts_of(qwen);
  CHECK(g.total == h.total && g.active == h.active && g.mtp == 0);
  CHECK_EQ_INT(g.active, g.total - 300 * 64 - 2 * (8 - 2) * 3 * 64 * 32);
  CHECK_EQ_INT(g.kv_values_per_token, 3 * (32 + 8));
  /* dense qwen2: d 64, vocab 300, untied, 2 layers of K/V 2 heads x 16 */
  CHECK_EQ_INT(q.active, q.total - 300 * 64);
  CHECK_EQ_INT(q.kv_values_per_token, 2 * 2 * 2 * 16);
  CHECK_EQ_INT(q.total, dseek_model_n_params(qwen));
  int64_t sum = 0, q8 = 0;
  for (int t = 0; t <= DSEEK_TYPE_F8_E4M3; t++) {
    int64_t n, b;
    CHECK_EQ_INT(dseek_model_weights_of_type(qwen, t, &n, &b), DSEEK_OK);
    sum += b;
    if (t == DSEEK_TYPE_Q8_0) q8 = b;
  }
  CHECK_EQ_INT(sum, dseek_model_weight_bytes(qwen));
  CHECK(q8 > 0 && q8 < sum);
done:
  dseek_model_free(gguf);
  dseek_model_free(hf);
  dseek_model_free(qwen);
}

/* DeepSeek-V3's config.json numbers (layers: 61, or fewer to extrapolate from). */
static void write_v3_config(const char *dir, int layers)
{
  char path[1024];
  snprintf(path, sizeof path, "%s/config.json", dir);
  FILE *f = fopen(path, "w");
  if (!f) return;
  fprintf(f, "{\"model_type\": \"deepseek_v3\", \"architectures\": [\"DeepseekV3ForCausalLM\"],\n"
             " \"vocab_size\": 129280, \"hidden_size\": 7168, \"intermediate_size\": 18432,\n"
             " \"moe_intermediate_size\": 2048, \"num_hidden_layers\": %d, \"num_nextn_predict_layers\": 1,\n"
             " \"num_attention_heads\": 128, \"num_key_value_heads\": 128, \"n_shared_experts\": 1,\n"
             " \"n_routed_experts\": 256, \"routed_scaling_factor\": 2.5, \"kv_lora_rank\": 512,\n"
             " \"q_lora_rank\": 1536, \"qk_rope_head_dim\": 64, \"v_head_dim\": 128, \"qk_nope_head_dim\": 128,\n"
             " \"topk_method\": \"noaux_tc\", \"n_group\": 8, \"topk_group\": 4, \"num_experts_per_tok\": 8,\n"
             " \"moe_layer_freq\": 1, \"first_k_dense_replace\": 3, \"norm_topk_prob\": true,\n"
             " \"scoring_func\": \"sigmoid\", \"rms_norm_eps\": 1e-06, \"rope_theta\": 10000,\n"
             " \"max_position_embeddings\": 163840, \"tie_word_embeddings\": false,\n"
             " \"rope_scaling\": {\"beta_fast\": 32, \"beta_slow\": 1, \"factor\": 40, \"mscale\": 1.0,\n"
             "   \"mscale_all_dim\": 1.0, \"original_max_position_embeddings\": 4096, \"type\": \"yarn\"}}\n",
          layers);
  fclose(f);
}

static void test_v3_scale(void)
{
  char dir[64];
  snprintf(dir, sizeof dir, "/tmp/dseek-v3cfg-%d", (int)getpid());
  CHECK(ds_test_mkdir(dir) == 0);
  write_v3_config(dir, 61);
  dseek_param_counts full = {.struct_size = sizeof full}, few = {.struct_size = sizeof few};
  CHECK_MSG(dseek_config_param_counts(dir, 0, &full) == DSEEK_OK, "%s", dseek_last_error());
  fprintf(stderr, "  DeepSeek-V3 config: total %.3f B, active %.3f B, MTP %.3f B, KV %lld values per token\n",
          full.total / 1e9, full.active / 1e9, full.mtp / 1e9, (long long)full.kv_values_per_token);
  CHECK_MSG(llabs(full.total - 671000000000ll) < 6710000000ll, "total %lld", (long long)full.total);
  CHECK_MSG(llabs(full.active - 36600000000ll) < 366000000ll, "active %lld", (long long)full.active);
  CHECK_MSG(llabs(full.mtp - 11500000000ll) < 115000000ll, "mtp %lld", (long long)full.mtp);
  CHECK_EQ_INT(full.kv_values_per_token, 61 * (512 + 64));
  /* a 3-layer copy (all dense lead) and a 5-layer one (2 MoE), extrapolated */
  for (int layers = 3; layers <= 5; layers += 2) {
    write_v3_config(dir, layers);
    CHECK_EQ_INT(dseek_config_param_counts(dir, 0, &few), DSEEK_OK);
    CHECK(few.total < full.total / 10);
    CHECK_EQ_INT(dseek_config_param_counts(dir, 61, &few), DSEEK_OK);
    CHECK(few.total == full.total && few.active == full.active && few.mtp == full.mtp);
  }
  char path[1024];
  snprintf(path, sizeof path, "%s/config.json", dir);
  remove(path);
  rmdir(dir);
}

static void test_errors(void)
{
  dseek_param_counts p = {.struct_size = sizeof p};
  char dir[1024];
  snprintf(dir, sizeof dir, "%s/qwen2-hf-f32", tiny);
  CHECK_EQ_INT(dseek_config_param_counts(NULL, 0, &p), DSEEK_ERR_INVALID_ARG);
  CHECK_EQ_INT(dseek_config_param_counts(dir, -1, &p), DSEEK_ERR_INVALID_ARG);
  CHECK_EQ_INT(dseek_config_param_counts(dir, 0, &p), DSEEK_ERR_UNSUPPORTED);
  CHECK_EQ_INT(dseek_config_param_counts("/nonexistent/config.json", 0, &p), DSEEK_ERR_IO);
  snprintf(dir, sizeof dir, "%s/ds2-v3-hf-f32-notok", tiny);
  CHECK_EQ_INT(dseek_config_param_counts(dir, 0, NULL), DSEEK_ERR_INVALID_ARG);
  CHECK_EQ_INT(dseek_model_param_counts(NULL, &p), DSEEK_ERR_INVALID_ARG);
  int64_t n, b;
  CHECK_EQ_INT(dseek_model_weights_of_type(NULL, 0, &n, &b), DSEEK_ERR_INVALID_ARG);
}

int main(int argc, char **argv)
{
  if (!ds_test_tiny_dir(argc, argv)) return 77;
  tiny = argv[1];
  RUN(test_config_equals_tensors);
  RUN(test_by_hand);
  RUN(test_v3_scale);
  RUN(test_errors);
  return DS_TEST_RESULT();
}
