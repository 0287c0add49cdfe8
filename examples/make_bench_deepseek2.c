/*
 * make_bench_deepseek2.c — the deepseek2 presets of the benchmark model
 * generator (make_bench_model.c): random weights, real shapes, names and
 * keys as llama.cpp's newest converter writes them (lib/models/README.md §1.8;
 * tests/reference/convert_deepseek2.py lists them, checked against llama.cpp's
 * convert_hf_to_gguf.py and llama-model.cpp): split attn_k_b / attn_v_b (MLA
 * "absorbed", head_count_kv 1, key_length kv_lora + rope, value_length
 * kv_lora, *_mla the real head sizes), stacked experts, router and norms F32.
 *
 * v2-lite   DeepSeek-V2-Lite as its config.json (huggingface.co/deepseek-ai/
 *           DeepSeek-V2-Lite): vocab 102400, d 2048, 27 layers, the first
 *           dense (FFN 10944), 16 heads, no q LoRA, kv_lora 512, qk_nope 128,
 *           qk_rope 64, v_head 128, 64 routed experts of 1408 (6 used),
 *           2 shared, softmax routing, no groups, scale 1, no renormalisation;
 *           max_position_embeddings 163840, YaRN factor 40 over 4096,
 *           beta_fast 32, beta_slow 1, mscale = mscale_all_dim = 0.707.
 *           15.7B parameters, 2.4B active per token (DeepSeek's figures);
 *           ~8.9 GB at Q4_0, ~16.7 GB at Q8_0.
 * v3-small  DeepSeek-V3's structure at small width: q LoRA, sigmoid routing
 *           with e_score_correction_bias (exp_probs_b), 8 groups of which 4
 *           are kept, routed scaling 2.5 with renormalised top-k, leading
 *           dense layers, one shared expert, V3's vocabulary and MLA head
 *           sizes (kv_lora 512, rope 64, nope 128, v 128: the cache per token
 *           is V3's 576 values per layer), YaRN as V3 (mscale_all_dim 1).
 *           Width: d 1024, 16 heads, q_lora 512, 8 layers of which 3 dense
 *           (FFN 2816), 64 experts of 256 (8 used); optional MTP layer
 *           (--mtp). 0.60B parameters: ~0.34 GB at Q4_0, ~0.64 GB at Q8_0.
 *
 * llama.cpp reads attention.q_lora_rank unless block_count is 27 (its
 * "lite" test), so a v2-lite file with other --layers loads in dseek but
 * not in llama.cpp builds that still have that test. For side-by-side runs
 * with llama.cpp leave out --mtp: not every llama.cpp version accepts the
 * deepseek2 nextn block (its tensor count check refuses unused tensors).
 */
#include "bench_gguf.h"
#include "make_bench_model.h"
#include "kernels/types.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct ds2_shape {
  const char *preset, *name, *pre;
  int64_t vocab, d, n_layer, n_dense, ff, n_head, q_lora, kv_lora, nope, rope, v_head;
  int64_t n_exp, n_used, n_shared, ff_exp, n_group, group_used;
  int gating;            /* 1 softmax, 2 sigmoid (+ exp_probs_b) */
  float routed_scale;
  int norm_topk;
  int32_t bos, eos, byte0;
  float yarn_mscale_all_dim;
} ds2_shape;

static const ds2_shape presets[] = {
    {"v2-lite", "dseek bench DeepSeek-V2-Lite (random weights)", "deepseek-llm", 102400, 2048, 27, 1, 10944, 16, 0, 512,
     128, 64, 128, 64, 6, 2, 1408, 1, 1, 1, 1.0f, 0, 100000, 100001, 0, 0.707f},
    {"v3-small", "dseek bench DeepSeek-V3-shaped small (random weights)", "deepseek-v3", 129280, 1024, 8, 3, 2816, 16, 512,
     512, 128, 64, 128, 64, 8, 1, 256, 8, 4, 2, 2.5f, 1, 0, 1, 3, 1.0f},
};

static void write_keys(bg_kvs *kv, const ds2_shape *s, int wtype, int n_mtp)
{
#define K(suffix) "deepseek2." suffix
  bg_kv_str(kv, "general.architecture", "deepseek2");
  bg_kv_str(kv, "general.name", s->name);
  bg_kv_u32(kv, "general.file_type", wtype == DSEEK_TYPE_Q8_0 ? 7 : 2);   /* llama_ftype MOSTLY_Q8_0 / Q4_0 */
  bg_kv_u32(kv, "general.quantization_version", 2);
  bg_kv_u32(kv, K("block_count"), (uint32_t)(s->n_layer + n_mtp));
  if (n_mtp) bg_kv_u32(kv, K("nextn_predict_layers"), (uint32_t)n_mtp);
  bg_kv_u32(kv, K("context_length"), 163840);
  bg_kv_u32(kv, K("embedding_length"), (uint32_t)s->d);
  bg_kv_u32(kv, K("feed_forward_length"), (uint32_t)s->ff);
  bg_kv_u32(kv, K("attention.head_count"), (uint32_t)s->n_head);
  bg_kv_u32(kv, K("attention.head_count_kv"), 1);   /* MLA run as MQA over the latent */
  bg_kv_f32(kv, K("rope.freq_base"), 10000.0f);
  bg_kv_f32(kv, K("attention.layer_norm_rms_epsilon"), 1e-6f);
  bg_kv_u32(kv, K("expert_count"), (uint32_t)s->n_exp);
  bg_kv_u32(kv, K("expert_used_count"), (uint32_t)s->n_used);
  bg_kv_u32(kv, K("expert_group_count"), (uint32_t)s->n_group);
  bg_kv_u32(kv, K("expert_group_used_count"), (uint32_t)s->group_used);
  bg_kv_u32(kv, K("expert_gating_func"), (uint32_t)s->gating);
  bg_kv_str(kv, K("rope.scaling.type"), "yarn");
  bg_kv_f32(kv, K("rope.scaling.factor"), 40.0f);
  bg_kv_u32(kv, K("rope.scaling.original_context_length"), 4096);
  bg_kv_f32(kv, K("rope.scaling.yarn_beta_fast"), 32.0f);
  bg_kv_f32(kv, K("rope.scaling.yarn_beta_slow"), 1.0f);
  bg_kv_u32(kv, K("leading_dense_block_count"), (uint32_t)s->n_dense);
  bg_kv_u32(kv, K("vocab_size"), (uint32_t)s->vocab);
  if (s->q_lora) bg_kv_u32(kv, K("attention.q_lora_rank"), (uint32_t)s->q_lora);
  bg_kv_u32(kv, K("attention.kv_lora_rank"), (uint32_t)s->kv_lora);
  bg_kv_u32(kv, K("attention.key_length"), (uint32_t)(s->kv_lora + s->rope));
  bg_kv_u32(kv, K("attention.value_length"), (uint32_t)s->kv_lora);
  bg_kv_u32(kv, K("attention.key_length_mla"), (uint32_t)(s->nope + s->rope));
  bg_kv_u32(kv, K("attention.value_length_mla"), (uint32_t)s->v_head);
  bg_kv_u32(kv, K("expert_feed_forward_length"), (uint32_t)s->ff_exp);
  bg_kv_u32(kv, K("expert_shared_count"), (uint32_t)s->n_shared);
  bg_kv_f32(kv, K("expert_weights_scale"), s->routed_scale);   /* llama.cpp requires it */
  if (s->norm_topk) bg_kv_bool(kv, K("expert_weights_norm"), true);
  bg_kv_u32(kv, K("rope.dimension_count"), (uint32_t)s->rope);
  bg_kv_f32(kv, K("rope.scaling.yarn_log_multiplier"), 0.1f * s->yarn_mscale_all_dim);
#undef K
  bg_vocab voc = {s->pre, s->vocab, s->bos, s->eos, s->byte0};
  if (s->vocab <= voc.bos) {   /* shrunk vocabulary */
    voc.bos = (int32_t)s->vocab - 2;
    voc.eos = (int32_t)s->vocab - 1;
  }
  bg_kv_tokenizer(kv, &voc);
}

/* One block "blk.il.": MLA, then the dense FFN (il < n_dense) or the MoE. */
static void block(bg_list *l, const ds2_shape *s, int w, int we, int il)
{
  const int F32 = DSEEK_TYPE_F32;
  const int64_t d = s->d, H = s->n_head, C = s->kv_lora, qdim = H * (s->nope + s->rope);
  bg_add(l, F32, d, 1, 1, 0, "blk.%d.attn_norm.weight", il);
  if (s->q_lora) {
    bg_add(l, w, d, s->q_lora, 1, bg_scale(d), "blk.%d.attn_q_a.weight", il);
    bg_add(l, F32, s->q_lora, 1, 1, 0, "blk.%d.attn_q_a_norm.weight", il);
    bg_add(l, w, s->q_lora, qdim, 1, bg_scale(s->q_lora), "blk.%d.attn_q_b.weight", il);
  } else {
    bg_add(l, w, d, qdim, 1, bg_scale(d), "blk.%d.attn_q.weight", il);
  }
  bg_add(l, w, d, C + s->rope, 1, bg_scale(d), "blk.%d.attn_kv_a_mqa.weight", il);
  bg_add(l, F32, C, 1, 1, 0, "blk.%d.attn_kv_a_norm.weight", il);
  /* kv_b [H (nope + v), C] split: k_b ne [nope, C, H] (W_UK^T), v_b ne [C, v, H] */
  bg_add(l, w, s->nope, C, H, bg_scale(C), "blk.%d.attn_k_b.weight", il);
  bg_add(l, w, C, s->v_head, H, bg_scale(C), "blk.%d.attn_v_b.weight", il);
  bg_add(l, w, H * s->v_head, d, 1, bg_scale(H * s->v_head), "blk.%d.attn_output.weight", il);
  bg_add(l, F32, d, 1, 1, 0, "blk.%d.ffn_norm.weight", il);
  if (il < s->n_dense) {
    bg_add(l, w, d, s->ff, 1, bg_scale(d), "blk.%d.ffn_gate.weight", il);
    bg_add(l, w, d, s->ff, 1, bg_scale(d), "blk.%d.ffn_up.weight", il);
    bg_add(l, w, s->ff, d, 1, bg_scale(s->ff), "blk.%d.ffn_down.weight", il);
    return;
  }
  const int64_t E = s->n_exp, fe = s->ff_exp, sh = s->ff_exp * s->n_shared;
  bg_add(l, F32, d, E, 1, bg_scale(d), "blk.%d.ffn_gate_inp.weight", il);
  if (s->gating == 2) bg_add(l, F32, E, 1, 1, 0.01f, "blk.%d.exp_probs_b.bias", il);
  bg_add(l, we, d, fe, E, bg_scale(d), "blk.%d.ffn_gate_exps.weight", il);
  bg_add(l, we, d, fe, E, bg_scale(d), "blk.%d.ffn_up_exps.weight", il);
  /* a 256-value type needs rows of whole super-blocks (v2-lite's 1408: down keeps w) */
  bg_add(l, fe % 256 ? w : we, fe, d, E, bg_scale(fe), "blk.%d.ffn_down_exps.weight", il);
  if (sh) {
    bg_add(l, w, d, sh, 1, bg_scale(d), "blk.%d.ffn_gate_shexp.weight", il);
    bg_add(l, w, d, sh, 1, bg_scale(d), "blk.%d.ffn_up_shexp.weight", il);
    bg_add(l, w, sh, d, 1, bg_scale(sh), "blk.%d.ffn_down_shexp.weight", il);
  }
}

int make_deepseek2(const char *path, const char *preset, const bench_opts *o)
{
  ds2_shape s;
  size_t i = 0;
  while (i < sizeof presets / sizeof presets[0] && strcmp(presets[i].preset, preset)) i++;
  if (i == sizeof presets / sizeof presets[0]) {
    fprintf(stderr, "unknown --arch '%s' (qwen2-1.5b, v2-lite, v3-small)\n", preset);
    return 2;
  }
  s = presets[i];
  if (o->n_layer) s.n_layer = o->n_layer;
  if (o->vocab) s.vocab = o->vocab;
  if (o->embd) s.d = o->embd;
  if (o->experts) s.n_exp = o->experts;
  if (s.n_dense > s.n_layer) s.n_dense = s.n_layer;
  if (s.n_exp < s.n_used || s.n_exp % s.n_group || s.n_used > s.group_used * (s.n_exp / s.n_group)) {
    fprintf(stderr, "%s: %lld experts cannot hold %lld used in %lld of %lld groups\n", preset, (long long)s.n_exp,
            (long long)s.n_used, (long long)s.group_used, (long long)s.n_group);
    return 2;
  }
  const int w = o->wtype, we = o->exps_type ? o->exps_type : w, n_mtp = o->mtp ? 1 : 0;
  if (w != DSEEK_TYPE_Q8_0 && w != DSEEK_TYPE_Q4_0) {
    fprintf(stderr, "%s: type must be q8_0 or q4_0\n", preset);
    return 2;
  }
  bg_kvs kv;
  if (bg_kvs_open(&kv)) return 1;
  write_keys(&kv, &s, w, n_mtp);

  bg_list l = {0};
  bg_add(&l, w, s.d, s.vocab, 1, 1.0f, "token_embd.weight");
  for (int il = 0; il < (int)s.n_layer; il++) block(&l, &s, w, we, il);
  bg_add(&l, DSEEK_TYPE_F32, s.d, 1, 1, 0, "output_norm.weight");
  bg_add(&l, w, s.d, s.vocab, 1, bg_scale(s.d), "output.weight");
  for (int il = (int)s.n_layer; il < (int)s.n_layer + n_mtp; il++) {
    /* MTP: a full block plus the nextn tensors; the embedding and output
     * head are the main model's (the optional per-layer copies are left out) */
    block(&l, &s, w, we, il);
    bg_add(&l, w, 2 * s.d, s.d, 1, bg_scale(2 * s.d), "blk.%d.nextn.eh_proj.weight", il);
    bg_add(&l, DSEEK_TYPE_F32, s.d, 1, 1, 0, "blk.%d.nextn.enorm.weight", il);
    bg_add(&l, DSEEK_TYPE_F32, s.d, 1, 1, 0, "blk.%d.nextn.hnorm.weight", il);
    bg_add(&l, DSEEK_TYPE_F32, s.d, 1, 1, 0, "blk.%d.nextn.shared_head_norm.weight", il);
  }
  int rc = bg_write_gguf(path, &kv, &l);
  free(l.t);
  return rc;
}
