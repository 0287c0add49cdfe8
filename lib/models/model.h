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
#include "text/chat.h"

typedef enum ds_arch {
  DS_ARCH_UNKNOWN = 0,
  DS_ARCH_LLAMA,       /* Llama-3.x: R1-Distill-Llama */
  DS_ARCH_QWEN2,       /* Qwen2.5: R1-Distill-Qwen; q/k/v biases */
} ds_arch;

/* A weight: shape and type plus a pointer into the model's memory. data is
 * NULL for an absent optional weight. */
typedef struct ds_weight {
  int type;
  int n_dims;
  int64_t ne[4];
  void *data;
} ds_weight;

typedef struct ds_dense_layer {
  ds_weight attn_norm;                 /* [d] f32 */
  ds_weight wq, wk, wv, wo;            /* [d, H*Dh], [d, Hkv*Dh] x2, [H*Dh, d] */
  ds_weight bq, bk, bv;                /* qwen2 biases (f32), else absent */
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

struct ds_vocab;

typedef struct ds_owned {
  struct ds_owned *next;
  /* followed by the bytes */
} ds_owned;

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
  uint64_t n_params;
  uint64_t weight_bytes;

  struct ds_vocab *vocab;        /* NULL: ids in, logits out only */
  bool has_chat;
  ds_chat_template chat;

  struct dseek_gguf *gguf;       /* keeps a GGUF file mapped */
  struct ds_st_set *st;          /* keeps safetensors files mapped */
  ds_owned *owned;               /* converted small tensors (norms, biases) */
};

/* Allocate bytes owned by the model (freed with it); NULL on no memory. */
void *ds_model_alloc(struct dseek_model *m, size_t bytes);

/* Make w an f32 tensor (converting into model-owned memory if needed). */
dseek_status ds_model_weight_to_f32(struct dseek_model *m, ds_weight *w, const char *name);

/* Loaders (model_gguf.c, model_hf.c). m is zeroed except path; on error the
 * caller frees m with ds_model_free. */
dseek_status ds_model_load_gguf(struct dseek_model *m, bool allow_mmap, bool vocab_only);
dseek_status ds_model_load_hf(struct dseek_model *m, bool allow_mmap, bool vocab_only);
void ds_model_free(struct dseek_model *m);

/* Check shape/type of a weight against expectations; message names it. */
dseek_status ds_weight_check(const struct dseek_model *m, const ds_weight *w, const char *name,
                             int n_dims, int64_t ne0, int64_t ne1, bool need_f32);

/* ---- forward graphs (dense.c) --------------------------------------------- */

/* The KV cache as the graph sees it: per layer K [Dh, Hkv, n_ctx] and V
 * [Dh, Hkv, n_ctx] of type `type`, one slot per position. */
typedef struct ds_kv_cache {
  int type;
  int64_t n_ctx;
  int64_t n_layer;
  void **k, **v;
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
} ds_forward;

dseek_status ds_forward_build(const struct dseek_model *m, const ds_kv_cache *kv, int64_t n_tokens,
                              bool all_logits, int max_threads, ds_forward *out);
void ds_forward_free(ds_forward *f);

#endif
