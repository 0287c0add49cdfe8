/*
 * model.h — a loaded model: hyperparameters, weights (views into the mapped
 * file), tokenizer and chat template. Immutable after load, so one model can
 * serve many contexts on many threads.
 *
 * Weights keep GGUF's orientation: a matrix [ne0 = in, ne1 = out] stored one
 * output row after another. A Hugging Face tensor [out, in] in row-major order
 * is the same bytes, so both formats load without copying.
 */
#ifndef DS_MODELS_MODEL_H
#define DS_MODELS_MODEL_H

#include "core/ds.h"
#include "graph/graph.h"
#include "models/arch.h"
#include "text/chat.h"

#include <stdatomic.h>

/* A weight: shape and type plus a pointer into the model's memory. data is
 * NULL for an absent optional weight. */
typedef struct ds_weight {
  int type;
  int n_dims;
  int64_t ne[4];
  void *data;
  float *scale;        /* F8_E4M3: weight_scale_inv [ceil(ne1/128), ceil(ne0/128)], else NULL */
  unsigned layout;     /* graph.h tensor flags of its layout (DS_TENSOR_Q4_0_R8, _Q4_K_R8, _Q6_K_R8), 0: as in the file */
} ds_weight;

typedef struct ds_dense_layer {
  ds_weight attn_norm;                 /* [d] f32 */
  ds_weight wq, wk, wv, wo;            /* [d, H*Dh], [d, Hkv*Dh] x2, [H*Dh, d] */
  ds_weight bq, bk, bv;                /* qwen2 biases (f32), else absent */
  ds_weight q_norm, k_norm;            /* qwen3 per-head RMSNorm weights [Dh] f32, else absent */
  ds_weight ffn_norm;                  /* [d] f32 */
  ds_weight ffn_gate, ffn_up, ffn_down;/* [d, F] x2, [F, d] */
} ds_dense_layer;

typedef struct ds_hparams {
  int64_t n_vocab;       /* rows of the embedding = width of the logits */
  int64_t n_embd;        /* d */
  int64_t n_layer;
  int64_t n_head, n_head_kv, head_dim;
  int64_t n_ff;
  int64_t n_ctx_train;
  float norm_eps;
  float rope_theta;
  int rope_mode;         /* DS_ROPE_NORMAL / DS_ROPE_NEOX */
  int64_t n_rot;         /* rotated dims per head */
} ds_hparams;

/* DeepSeek-V2/V3/R1 (lib/models/README.md §1). */
typedef struct ds_ds2_hparams {
  int64_t q_lora_rank;         /* 0: plain q projection */
  int64_t kv_lora_rank;        /* C: the latent cached per token */
  int64_t qk_nope, qk_rope, v_head;
  int64_t n_dense_lead;        /* first_k_dense_replace / leading_dense_block_count */
  int64_t n_ff_exp;            /* moe_intermediate_size */
  int64_t n_expert, n_expert_used, n_expert_shared;
  int64_t n_group, n_group_used;
  int gating;                  /* DS_MOE_SOFTMAX / DS_MOE_SIGMOID */
  bool group_top2sum;          /* group score: top-2 sum (V3/R1, sigmoid) or max (V2, softmax) */
  bool norm_topk;
  float routed_scale;
  int64_t n_nextn;             /* MTP layers after the n_layer main ones */
  /* YaRN (yarn_factor <= 1: plain rope) */
  float yarn_factor, yarn_beta_fast, yarn_beta_slow, yarn_mscale, yarn_mscale_all_dim;
  int64_t yarn_orig_ctx;
  float kq_scale;              /* mscale(all_dim)^2 / sqrt(qk_nope + qk_rope) */
  int64_t mha_min_batch;       /* batches of at least this many tokens attend in the decompressed
                                  form (deepseek2.c); a tuning knob, tests lower it */
} ds_ds2_hparams;

/* Experts of one projection: a [in, out, n_expert] weight, stacked (GGUF), or
 * one tensor per expert (HF) listed in table: 2 * n_expert addresses, expert
 * e's matrix at [2e] and its FP8 scale grid (or 0) at [2e + 1]. */
typedef struct ds_experts {
  ds_weight w;                 /* stacked, or expert 0's data with the set's shape */
  int64_t *table;              /* NULL when stacked */
} ds_experts;

typedef struct ds_ds2_layer {
  ds_weight attn_norm;
  ds_weight wq;                              /* [d, H (nope + rope)] if q_lora_rank == 0 */
  ds_weight wq_a, q_a_norm, wq_b;            /* [d, q_lora], [q_lora], [q_lora, H (nope + rope)] */
  ds_weight wkv_a, kv_a_norm;                /* [d, C + rope], [C] */
  ds_weight wk_b, wv_b;                      /* W_UK^T [nope, C, H], W_UV [C, v, H] */
  ds_weight wk_u;                            /* W_UK [C, nope, H] (wk_b transposed; f32, or Q8_0
                                                for a quantized wk_b) for the decompressed prompt
                                                attention; absent: none */
  ds_weight wo;                              /* [H v, d] */
  ds_weight ffn_norm;
  ds_weight ffn_gate, ffn_up, ffn_down;      /* dense layers */
  ds_weight gate_inp, exp_probs_b;           /* router [d, E] f32, correction bias [E] f32 */
  ds_experts gate_exps, up_exps, down_exps;  /* [d, ff, E] x2, [ff, d, E] */
  ds_weight gate_shexp, up_shexp, down_shexp;
  bool moe;
} ds_ds2_layer;

/* An MTP block (lib/models/README.md §1.7; its forward is deepseek2_mtp.c, used for
 * speculative decoding). embed_tokens / shared_head_head may be absent: the
 * main embedding / output head serve. */
typedef struct ds_ds2_nextn {
  ds_ds2_layer block;
  ds_weight eh_proj, enorm, hnorm, shared_head_norm, shared_head_head, embed_tokens;
} ds_ds2_nextn;

struct ds_vocab;
struct ds_json_value;

typedef struct ds_owned {
  struct ds_owned *next;
  /* followed by the bytes */
} ds_owned;

/* The one part of a loaded model that changes after loading: what is built
 * on first use and then shared by all the model's contexts. Contexts see the
 * model through const pointers; the model holds this behind a pointer, so
 * filling it needs no cast. Each entry is published with a compare-and-swap
 * (no lock): threads that race on the first use may each build one, the
 * first stored wins and the others free theirs, and a stored entry never
 * changes until ds_model_free. */
typedef struct ds_model_cache {
  struct ds_token_trie *_Atomic token_trie;   /* grammar constraints (grammar/constraint.c) */
} ds_model_cache;

struct dseek_model {
  ds_arch arch;
  char arch_name[32];
  char path[512];
  ds_hparams hp;
  ds_weight tok_embd;            /* [d, n_vocab], any type */
  ds_weight output_norm;         /* [d] f32 */
  ds_weight output;              /* [d, n_vocab]; tied: same as tok_embd */
  ds_weight rope_freqs;          /* llama3 factors [n_rot/2] f32, or absent */
  ds_dense_layer *layers;
  ds_ds2_hparams ds2;            /* DS_ARCH_DEEPSEEK2 only */
  ds_ds2_layer *ds2_layers;
  ds_ds2_nextn *ds2_nextn;       /* n_nextn entries; NULL if the file has none */
  uint64_t n_params;
  uint64_t weight_bytes;
  uint64_t fingerprint;          /* identifies the model for state files (ds_model_prepare) */

  struct ds_vocab *vocab;        /* NULL: ids in, logits out only */
  char *vocab_error;             /* why the file's tokenizer is unusable (unsupported kind), or NULL */
  bool has_chat;
  ds_chat_template chat;

  struct dseek_gguf *gguf;       /* keeps a GGUF file mapped */
  struct ds_st_set *st;          /* keeps safetensors files mapped */
  ds_owned *owned;               /* converted small tensors (norms, biases) */
  ds_model_cache *cache;         /* what is built on first use (NULL in a model that only counts parameters) */
};

/* Allocate bytes owned by the model (freed with it); NULL on no memory. */
void *ds_model_alloc(struct dseek_model *m, size_t bytes);

/* Make w an f32 tensor (converting into model-owned memory if needed). */
dseek_status ds_model_weight_to_f32(struct dseek_model *m, ds_weight *w, const char *name);

/* Loaders (model_gguf.c, model_hf.c). m is zeroed except path; on error the
 * caller frees m with ds_model_free. */
dseek_status ds_model_load_gguf(struct dseek_model *m, bool allow_mmap, bool vocab_only);
/* After a load: the fingerprint, then weights repacked into the layouts the
 * kernels read fastest where that pays (model_prepare.c). */
dseek_status ds_model_prepare(struct dseek_model *m);
dseek_status ds_model_load_hf(struct dseek_model *m, bool allow_mmap, bool vocab_only);
void ds_model_free(struct dseek_model *m);

/* The weight fmt (formatted with il, ie) from the model's GGUF or
 * safetensors files into w, shape [ne0, ne1, ne2] checked, small ones made
 * f32, FP8 ones with their scale grid, counted (model_fetch.c); an absent
 * optional weight leaves w zeroed. */
dseek_status ds_model_fetch(struct dseek_model *m, ds_weight *w, bool required, bool small, int64_t ne0,
                            int64_t ne1, int64_t ne2, const char *fmt, int il, int ie);

/* The dense layers' weights (dense_load.c) under one file format's names,
 * "%d" the layer, in this order: attn_norm, q, k, v, o, the q/k/v biases
 * (qwen2), the q/k norms (qwen3), ffn_norm, gate, up, down. */
#define DS_DENSE_LAYER_TENSORS 14
dseek_status ds_dense_load_layers(struct dseek_model *m, const char *const names[DS_DENSE_LAYER_TENSORS]);

/* ---- forward graphs (arch.c dispatches to dense.c, deepseek2.c) ------------- */

/* The KV cache as the graph sees it: per layer K [Dh, Hkv, n_ctx] and V
 * [Dh, Hkv, n_ctx] of type `type`, one slot per position. deepseek2 (MLA)
 * caches one latent row [c_kv (C) ; k_pe (rope)] per slot in k[il], and v[il]
 * == k[il] (attention reads c_kv as V through a view). */
typedef struct ds_kv_cache {
  int type;
  int64_t n_ctx;
  int64_t n_layer;
  void **k, **v;
  uint64_t k_row, v_row;   /* bytes of one slot's K / V row in one layer; v_row 0 when v[il] == k[il]
                              (runtime/kv_cache.h: set by ds_kv_alloc, read by shift and save/load) */
  /* The slots [0, n_shared) the next batch attends when every query may see
   * every one of them (one sequence, no slot owned by another): set by the
   * context before it picks the batch's graph; 0 when unknown or not so.
   * deepseek2 builds its decompressed prompt attention for exactly these. */
  int64_t n_shared;
} ds_kv_cache;

/* A built forward pass for T tokens. ids/pos/slots are I32 [T] inputs to fill
 * before each compute, seq is I32 [n_ctx + T] (the owner sequence of every
 * cache slot, -1 for shared, then the sequence of each token: see
 * ds_op_attn_seq); logits is [n_vocab, T] (all_logits) or [n_vocab, 1]. */
typedef struct ds_forward {
  ds_graph *graph;
  int64_t n_tokens;
  bool all_logits;
  ds_tensor *ids, *pos, *slots, *seq, *logits;
  ds_tensor **attn;              /* n_layer attention nodes (n_kv updated per call) */
  ds_tensor *hidden;             /* deepseek2 with MTP: f32 [d, T] hidden states after the final
                                    norm (an output); MTP graphs: the main model's, an input */
  /* Graphs whose shape depends on kv->n_shared (span_shaped: deepseek2's
   * prompt batches) serve only the n_shared they were built for (kv_shared);
   * mha_rows > 0: the attention decompresses slots [0, mha_rows), listed in
   * the I32 input mha_ids (0 .. mha_rows - 1, filled by the builder). */
  bool span_shaped;
  int64_t kv_shared, mha_rows;
  ds_tensor *mha_ids;
} ds_forward;

/* The architecture's forward pass (arch.c: its descriptor's builder). */
dseek_status ds_forward_build(const struct dseek_model *m, const ds_kv_cache *kv, int64_t n_tokens,
                              bool all_logits, int max_threads, ds_forward *out);
/* The MTP graph of MTP layer 0 for T tokens over its own one-layer latent
 * cache kv (deepseek2_mtp.c): ids are the tokens t+1, hidden the main model's
 * states at t, logits [n_vocab, T or 1] predict t+2. UNSUPPORTED without one. */
dseek_status ds_forward_build_mtp(const struct dseek_model *m, const ds_kv_cache *kv, int64_t n_tokens,
                                  bool all_logits, int max_threads, ds_forward *out);
void ds_forward_free(ds_forward *f);

#endif
