/*
 * arch.h — the architecture descriptor: what differs between architectures,
 * in one table (arch.c). The file loaders, the forward dispatch and the
 * runtime (KV cache sizes, context shift, MTP) read it instead of branching
 * on the architecture, so adding one means its own loader and forward files
 * plus one row (lib/models/README.md §7).
 */
#ifndef DS_MODELS_ARCH_H
#define DS_MODELS_ARCH_H

#include "core/ds.h"
#include "graph/graph.h"

typedef enum ds_arch {
  DS_ARCH_UNKNOWN = 0,
  DS_ARCH_LLAMA,       /* Llama-3.x: R1-Distill-Llama */
  DS_ARCH_QWEN2,       /* Qwen2.5: R1-Distill-Qwen; q/k/v biases */
  DS_ARCH_DEEPSEEK2,   /* DeepSeek-V2/V3/R1: MLA + DeepSeekMoE (lib/models/README.md §1) */
  DS_ARCH_QWEN3,       /* Qwen3: R1-0528-Qwen3; per-head RMSNorm of q and k, no biases */
} ds_arch;

struct dseek_model;
struct ds_json_value;
struct ds_kv_cache;
struct ds_forward;

/* One cache row per token and layer, as the forward writes it and the
 * runtime sizes, shifts and saves it:
 *   GQA (dense): K row = n_head heads of head_dim, V row the same;
 *   MLA (deepseek2, README §1.3): one K row [c_kv (C) ; k_pe (qk_rope)] and
 *   no V row (attention reads c_kv through a view of K). */
typedef struct ds_kv_layout {
  int64_t n_head;          /* heads per row: Hkv (GQA), 1 (MLA) */
  int64_t k_head, v_head;  /* values per head of a K / V row (v_head 0: V is a view of K) */
  int64_t parts[2];        /* per head, the spans a kernel decodes on its own (whole blocks of a
                              quantized cache): the K and V head (GQA), c_kv and k_pe (MLA) */
  const char *parts_name;  /* what parts are, for messages */
  int64_t rope_offset;     /* values before the rotated span of each K head: 0 (GQA), C (MLA) */
  int64_t rope_head;       /* values of that span per head (its first n_rot are rotated) */
} ds_kv_layout;

typedef dseek_status (*ds_forward_fn)(const struct dseek_model *m, const struct ds_kv_cache *kv, int64_t n_tokens,
                                      bool all_logits, int max_threads, struct ds_forward *out);

typedef struct ds_arch_desc {
  ds_arch arch;
  const char *gguf_name;       /* general.architecture, the {arch}. key prefix */
  const char *hf_types[2];     /* config.json model_type values (NULL: unused slot) */
  bool qkv_bias;               /* attn_{q,k,v}.bias required (qwen2) */
  bool qk_norm;                /* attn_{q,k}_norm [head_dim] required (qwen3) */
  int gguf_rope_mode;          /* DS_ROPE_NEOX, or DS_ROPE_NORMAL where the converter permuted q/k (llama) */
  /* Loading. GGUF: hparams and weights from m->gguf (m->arch set). HF: the
   * config (config.json's root), then, with m->st open, the weights (tied:
   * no lm_head, the embedding serves as output). */
  dseek_status (*load_gguf)(struct dseek_model *m);
  dseek_status (*hf_config)(struct dseek_model *m, const struct ds_json_value *cfg);
  dseek_status (*hf_weights)(struct dseek_model *m, bool tied);
  ds_forward_fn forward;       /* the forward graph (ds_forward_build) */
  ds_forward_fn forward_mtp;   /* the MTP layer's graph (ds_forward_build_mtp); NULL: none */
  bool (*has_mtp)(const struct dseek_model *m);   /* a loaded MTP layer; NULL: never */
  void (*kv_layout)(const struct dseek_model *m, ds_kv_layout *l);
  /* The attention's rope as the forward builds it (mode, dims, theta, YaRN);
   * llama3's per-frequency divisors, when present, are m->rope_freqs. */
  void (*rope)(const struct dseek_model *m, ds_rope_params *rp);
} ds_arch_desc;

/* The descriptor of a GGUF general.architecture / an HF model_type / an arch;
 * NULL if unknown. */
const ds_arch_desc *ds_arch_by_gguf_name(const char *name);
const ds_arch_desc *ds_arch_by_hf_type(const char *type);
const ds_arch_desc *ds_arch_get(ds_arch arch);
/* The supported names, comma-separated, into buf: GGUF architectures, or
 * HF model_types. */
void ds_arch_supported_list(bool hf, char *buf, size_t size);

/* What the runtime asks of a loaded model (not vocab-only), through its row. */
void ds_model_kv_layout(const struct dseek_model *m, ds_kv_layout *l);
/* KV cache values per token and layer: 2 Hkv Dh (GQA), C + rope (MLA). */
int64_t ds_model_kv_values_per_token_layer(const struct dseek_model *m);
void ds_model_rope(const struct dseek_model *m, ds_rope_params *rp);
/* Does the model carry a loaded MTP layer (deepseek2 nextn)? */
bool ds_model_has_mtp(const struct dseek_model *m);

/* The rows' entries, each in its architecture's files. */
dseek_status ds_dense_load_gguf(struct dseek_model *m);                                    /* model_gguf.c */
dseek_status ds_dense_hf_config(struct dseek_model *m, const struct ds_json_value *cfg);   /* model_hf.c */
dseek_status ds_dense_hf_weights(struct dseek_model *m, bool tied);
dseek_status ds_forward_build_dense(const struct dseek_model *m, const struct ds_kv_cache *kv, int64_t n_tokens,
                                    bool all_logits, int max_threads, struct ds_forward *out);   /* dense.c */
void ds_dense_kv_layout(const struct dseek_model *m, ds_kv_layout *l);
void ds_dense_rope_params(const struct dseek_model *m, ds_rope_params *rp);
dseek_status ds_model_load_deepseek2_gguf(struct dseek_model *m);                          /* deepseek2_load_*.c */
dseek_status ds_model_deepseek2_hf_config(struct dseek_model *m, const struct ds_json_value *cfg);
dseek_status ds_model_deepseek2_hf_weights(struct dseek_model *m, bool tied);
dseek_status ds_forward_build_deepseek2(const struct dseek_model *m, const struct ds_kv_cache *kv, int64_t n_tokens,
                                        bool all_logits, int max_threads, struct ds_forward *out);   /* deepseek2.c */
void ds_ds2_kv_layout(const struct dseek_model *m, ds_kv_layout *l);
/* The model's rope: adjacent pairs over qk_rope dims, YaRN when configured. */
void ds_ds2_rope_params(const struct dseek_model *m, ds_rope_params *rp);
dseek_status ds_forward_build_deepseek2_mtp(const struct dseek_model *m, const struct ds_kv_cache *kv,
                                            int64_t n_tokens, bool all_logits, int max_threads,
                                            struct ds_forward *out);   /* deepseek2_mtp.c */
bool ds_ds2_has_mtp(const struct dseek_model *m);

#endif
