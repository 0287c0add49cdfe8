/* deepseek2_load.h — what the deepseek2 GGUF and HF loaders share
 * (deepseek2_load.c): hparam checks, the YaRN softmax scale, splitting a fused
 * kv_b into W_UK^T / W_UV, and the weight list after the blocks. */
#ifndef DS_MODELS_DEEPSEEK2_LOAD_H
#define DS_MODELS_DEEPSEEK2_LOAD_H

#include "models/model.h"

/* Check hparams read by a loader (m->hp, m->ds2) for consistency, set the
 * derived fields (head_dim, n_rot, rope mode, kq_scale) and allocate
 * m->ds2_layers (+ m->ds2_nextn when n_nextn > 0) in model-owned memory. */
dseek_status ds_ds2_finish_hparams(struct dseek_model *m, const char *source);

/* From kv_b [C, H (nope + v)] (W_kvb rows: per head nope rows of W_UK[h], then
 * v rows of W_UV[h]; any decodable type, or FP8 with scales) make
 *   wk_b [nope, C, H]: wk_b[d, c, h] = W_UK[h][d, c]   (W_UK^T, the absorbed query)
 *   wv_b [C, v, H]:    wv_b[c, i, h] = W_UV[h][i, c]
 * as f32 copies in model-owned memory (the layout newer GGUFs ship). */
dseek_status ds_ds2_split_kv_b(struct dseek_model *m, const ds_weight *kv_b, const char *name, ds_ds2_layer *L);

/* The default of m->ds2.mha_min_batch: prompt batches of this many tokens
 * or more attend in the decompressed form (measured: CHANGELOG.md). */
#define DS_DS2_MHA_MIN_BATCH 32

/* wk_u [C, nope, H] (W_UK[h] with rows of C, for the decompressed prompt
 * attention, deepseek2.c) from wk_b, for main layer il: f32 for a float wk_b,
 * Q8_0 for a quantized one; wk_b of a type without a decoder of its rows
 * leaves wk_u absent (the absorbed form only). Costs H nope C values per
 * layer. */
dseek_status ds_ds2_make_wk_u(struct dseek_model *m, ds_ds2_layer *L, int il);

/* One file format's names of the model-level and MTP tensors ("%d" the
 * layer) and its loader of one block (MLA + FFN/MoE weights of layer il). */
typedef struct ds_ds2_format {
  dseek_status (*load_block)(struct dseek_model *m, ds_ds2_layer *L, int il);
  const char *embd, *output_norm, *output;
  const char *nextn[6];   /* eh_proj, enorm, hnorm, shared_head norm, shared_head head, embed_tokens */
} ds_ds2_format;

/* The weights after the hparams: embedding, output norm, head (absent, or
 * not required: the embedding serves), the n_layer blocks, the MTP layers
 * (deepseek2_load.c). */
dseek_status ds_ds2_load_weights(struct dseek_model *m, const ds_ds2_format *f, bool output_required);

#endif
