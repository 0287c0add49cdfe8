/*
 * make_bench_model.c — writes a random-weight GGUF with the exact shapes of a
 * real model, for the benchmark: speed does not depend on the values
 * (the README's Performance section). Names and keys are llama.cpp's, so the files also load
 * there.
 *
 *   make_bench_model OUT.gguf TYPE [--arch A] [--layers N] [--seed S]
 *                    [--vocab N] [--embd N] [--experts N] [--mtp]
 *
 *   --arch qwen2-1.5b  (default) R1-Distill-Qwen-1.5B: TYPE q8_0, q4_0, q4_k_m
 *          v2-lite     DeepSeek-V2-Lite, all 27 layers (make_bench_deepseek2.c)
 *          v3-small    DeepSeek-V3's structure at small width (idem)
 *                      deepseek2 presets: TYPE q8_0 or q4_0
 *   --layers N   main layers (default: the preset's)
 *   --vocab N, --embd N, --experts N   shrink the preset (tests: a file of a
 *                few MB with the preset's structure; --embd and --experts:
 *                deepseek2 presets); --mtp: add V3's MTP layer (deepseek2)
 *
 * qwen2: vocab 151936, d 1536, 28 layers, 12 heads, 2 kv heads, head dim
 * 128, FFN 8960, rope theta 10000, rms eps 1e-6, q/k/v biases, untied output.
 * Matrices (token_embd, output, attention and FFN) are stored in the chosen
 * type; norms and biases are F32, as llama.cpp's converter leaves them. The
 * tokenizer is byte-level BPE ("gpt2", pre "deepseek-r1-qwen") with the
 * begin/end-of-sentence controls at the real ids (bench_gguf.c).
 */
#include "bench_gguf.h"
#include "make_bench_model.h"
#include "kernels/types.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Q4_K_M as llama.cpp's quantizer mixes it (llama_tensor_get_type): Q4_K
 * everywhere except output.weight (Q6_K) and, in the layers where
 * use_more_bits(i, n) = i < n/8 || i >= 7n/8 || (i - n/8) % 3 == 2 holds,
 * attn_v and ffn_down (Q6_K). Marked by this pseudo type. */
#define Q4_K_M (-2)
static bool use_more_bits(int i, int n) { return i < n / 8 || i >= 7 * n / 8 || (i - n / 8) % 3 == 2; }
/* The type of one matrix ("attn_v", "ffn_down", "output", other) of layer il. */
static int matrix_type(int wtype, const char *what, int il, int n_layer)
{
  if (wtype != Q4_K_M) return wtype;
  if (!strcmp(what, "output")) return DSEEK_TYPE_Q6_K;
  if ((!strcmp(what, "attn_v") || !strcmp(what, "ffn_down")) && use_more_bits(il, n_layer)) return DSEEK_TYPE_Q6_K;
  return DSEEK_TYPE_Q4_K;
}

static int make_qwen2(const char *path, const bench_opts *o)
{
  const int64_t V = o->vocab ? o->vocab : 151936, d = 1536;   /* d = heads x head dim */
  const int64_t n_head = 12, n_head_kv = 2, head_dim = 128, ff = 8960, dkv = n_head_kv * head_dim;
  const int n_layer = o->n_layer > 0 ? o->n_layer : 28, w = o->wtype;
  bg_vocab voc = {"deepseek-r1-qwen", V, 151646, 151643, 0};   /* <｜begin▁of▁sentence｜>, <｜end▁of▁sentence｜> */
  if (V <= voc.bos) {
    voc.bos = (int32_t)V - 2;
    voc.eos = (int32_t)V - 1;
  }
  bg_kvs kv;
  if (bg_kvs_open(&kv)) return 1;
  bg_kv_str(&kv, "general.architecture", "qwen2");
  bg_kv_str(&kv, "general.name", "dseek bench R1-Distill-Qwen-1.5B (random weights)");
  /* llama_ftype MOSTLY_Q8_0 / Q4_0 / Q4_K_M */
  bg_kv_u32(&kv, "general.file_type", w == DSEEK_TYPE_Q8_0 ? 7 : w == DSEEK_TYPE_Q4_0 ? 2 : 15);
  bg_kv_u32(&kv, "qwen2.context_length", 131072);
  bg_kv_u32(&kv, "qwen2.embedding_length", (uint32_t)d);
  bg_kv_u32(&kv, "qwen2.block_count", (uint32_t)n_layer);
  bg_kv_u32(&kv, "qwen2.feed_forward_length", (uint32_t)ff);
  bg_kv_u32(&kv, "qwen2.attention.head_count", (uint32_t)n_head);
  bg_kv_u32(&kv, "qwen2.attention.head_count_kv", (uint32_t)n_head_kv);
  bg_kv_f32(&kv, "qwen2.rope.freq_base", 10000.0f);
  bg_kv_f32(&kv, "qwen2.attention.layer_norm_rms_epsilon", 1e-6f);
  bg_kv_tokenizer(&kv, &voc);

  bg_list l = {0};
  const float sd = bg_scale(d), sff = bg_scale(ff);
  const int F32 = DSEEK_TYPE_F32;
  bg_add(&l, matrix_type(w, "token_embd", 0, n_layer), d, V, 1, 1.0f, "token_embd.weight");
  for (int il = 0; il < n_layer; il++) {
    bg_add(&l, F32, d, 1, 1, 0, "blk.%d.attn_norm.weight", il);
    bg_add(&l, matrix_type(w, "attn_q", il, n_layer), d, n_head * head_dim, 1, sd, "blk.%d.attn_q.weight", il);
    bg_add(&l, F32, n_head * head_dim, 1, 1, 0.01f, "blk.%d.attn_q.bias", il);
    bg_add(&l, matrix_type(w, "attn_k", il, n_layer), d, dkv, 1, sd, "blk.%d.attn_k.weight", il);
    bg_add(&l, F32, dkv, 1, 1, 0.01f, "blk.%d.attn_k.bias", il);
    bg_add(&l, matrix_type(w, "attn_v", il, n_layer), d, dkv, 1, sd, "blk.%d.attn_v.weight", il);
    bg_add(&l, F32, dkv, 1, 1, 0.01f, "blk.%d.attn_v.bias", il);
    bg_add(&l, matrix_type(w, "attn_output", il, n_layer), n_head * head_dim, d, 1, sd, "blk.%d.attn_output.weight", il);
    bg_add(&l, F32, d, 1, 1, 0, "blk.%d.ffn_norm.weight", il);
    bg_add(&l, matrix_type(w, "ffn_gate", il, n_layer), d, ff, 1, sd, "blk.%d.ffn_gate.weight", il);
    bg_add(&l, matrix_type(w, "ffn_up", il, n_layer), d, ff, 1, sd, "blk.%d.ffn_up.weight", il);
    bg_add(&l, matrix_type(w, "ffn_down", il, n_layer), ff, d, 1, sff, "blk.%d.ffn_down.weight", il);
  }
  bg_add(&l, F32, d, 1, 1, 0, "output_norm.weight");
  bg_add(&l, matrix_type(w, "output", 0, n_layer), d, V, 1, sd, "output.weight");
  int rc = bg_write_gguf(path, &kv, &l);
  free(l.t);
  return rc;
}

static int usage(const char *argv0)
{
  fprintf(stderr,
          "usage: %s OUT.gguf q8_0|q4_0|q4_k_m [--arch qwen2-1.5b|v2-lite|v3-small] [--layers N] [--seed S]\n"
          "       [--vocab N] [--embd N] [--experts N] [--mtp] [--experts-iq2_xxs]   (q4_k_m: qwen2-1.5b only;\n"
          "       --embd, --experts, --mtp, --experts-iq2_xxs: deepseek2 presets only)\n",
          argv0);
  return 2;
}

int main(int argc, char **argv)
{
  if (argc < 3) return usage(argv[0]);
  bench_opts o = {0};
  const char *arch = "qwen2-1.5b";
  o.wtype = !strcmp(argv[2], "q8_0")     ? DSEEK_TYPE_Q8_0
            : !strcmp(argv[2], "q4_0")   ? DSEEK_TYPE_Q4_0
            : !strcmp(argv[2], "q4_k_m") ? Q4_K_M
                                         : -1;
  uint64_t seed = 0;
  for (int i = 3; i < argc; i++) {
    const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
    if (!strcmp(a, "--mtp")) o.mtp = 1;
    else if (!strcmp(a, "--experts-iq2_xxs")) o.exps_type = DSEEK_TYPE_IQ2_XXS;
    else if (!v) return usage(argv[0]);
    else if (!strcmp(a, "--arch")) arch = argv[++i];
    else if (!strcmp(a, "--layers")) o.n_layer = atoi(argv[++i]);
    else if (!strcmp(a, "--seed")) seed = strtoull(argv[++i], NULL, 0);
    else if (!strcmp(a, "--vocab")) o.vocab = atoll(argv[++i]);
    else if (!strcmp(a, "--embd")) o.embd = atoll(argv[++i]);
    else if (!strcmp(a, "--experts")) o.experts = atoll(argv[++i]);
    else return usage(argv[0]);
  }
  bool qwen = !strcmp(arch, "qwen2-1.5b");
  if (o.wtype == -1 || (!qwen && o.wtype == Q4_K_M) || o.n_layer < 0 || o.n_layer > 1000 ||
      (o.vocab && (o.vocab < 300 || o.vocab > 1 << 22)) || (o.embd && (qwen || o.embd < 256 || o.embd % 256)) ||
      o.experts < 0 || o.experts > 1024 || (qwen && (o.mtp || o.experts || o.exps_type)))
    return usage(argv[0]);
  bg_seed(seed);
  if (qwen) return make_qwen2(argv[1], &o);
  return make_deepseek2(argv[1], arch, &o);
}
