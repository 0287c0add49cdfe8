/*
 * model_census.c — what a model holds: parameters (total, active per token,
 * MTP) and weight bytes per element type, counted from the loaded tensors;
 * and the same counts computed from a deepseek2 config.json alone.
 *
 * Counted: every learned tensor (matrices, norms, biases, routers, the
 * routing correction bias). Not counted: llama3's rope_freqs (computed from
 * the config) and FP8 scale grids (their bytes count with their weight).
 * A tied output head is the embedding and counts once. deepseek2's kv_b is
 * held split as W_UK^T [nope, C, H] and W_UV [C, v, H]: H C (nope + v) values,
 * as in the file.
 *
 * Active per token (DeepSeek's convention, README_WEIGHTS of the V3 release:
 * 671B total, 36.6B active "including 0.9B for the output head"): what a
 * token's forward pass multiplies with. A MoE layer runs n_expert_used of its
 * n_expert routed experts, so (n_expert - n_expert_used) experts' gate, up
 * and down do not count; the embedding table does not either (a token reads
 * one row of it) unless it is also the (tied) output head. MTP layers are
 * apart, and count their unique parameters (DeepSeek: 11.5B): the MTP
 * layer's embedding and output head are the main model's (V3 ships copies;
 * their bytes still count by type).
 *
 * From the config (deepseek2), per layer (d hidden, H heads, C kv_lora_rank,
 * r qk_rope, ql q_lora_rank):
 *   attention  d (attn_norm) + [ql ? d ql + ql + ql H (nope + r) : d H (nope + r)]
 *              + d (C + r) + C (kv_a_norm) + H C (nope + v) + H v d + d (ffn_norm)
 *   dense FFN  3 d n_ff                       (first_k_dense_replace layers)
 *   MoE        d E (router) [+ E correction bias, sigmoid routing]
 *              + E 3 d ff_exp + 3 d (ff_exp n_shared)
 *   model      V d (embedding) + V d (head, unless tied) + d (final norm)
 *   MTP layer  a MoE layer + 2 d d (eh_proj) + 3 d (enorm, hnorm, head norm)
 * tests/models/test_params.c checks these against the tensors of every tiny
 * model and against DeepSeek-V3's published 671B total / 37B active.
 */
#include "dseek.h"
#include "formats/json.h"
#include "core/platform.h"
#include "kernels/fp8.h"
#include "kernels/types.h"
#include "models/deepseek2_load.h"

#include <stdio.h>
#include <string.h>

enum { N_TYPES = 128 };

typedef struct census {
  uint64_t total, mtp, inactive;   /* inactive: the embedding table and the routed experts a token skips */
  uint64_t params[N_TYPES], bytes[N_TYPES];          /* main and MTP together, by element type */
} census;

/* Count w's bytes by type, and its parameters as main or MTP (neither when
 * `params` is false: a copy of a main tensor). */
static void add_as(census *c, const ds_weight *w, bool mtp, bool params)
{
  if (!w->data) return;
  uint64_t n = (uint64_t)(w->ne[0] * w->ne[1] * w->ne[2] * w->ne[3]), row = 0;
  ds_row_size(w->type, w->ne[0], &row);
  uint64_t bytes = row * (uint64_t)(w->ne[1] * w->ne[2] * w->ne[3]);
  if (w->scale) {
    int64_t sr, sc;
    ds_fp8_scale_shape(w->ne[1], w->ne[0], &sr, &sc);
    bytes += (uint64_t)(sr * sc) * sizeof(float) * (uint64_t)(w->ne[2] * w->ne[3]);
  }
  if (params && mtp) c->mtp += n;
  else if (params) c->total += n;
  if (w->type >= 0 && w->type < N_TYPES) {
    c->params[w->type] += n;
    c->bytes[w->type] += bytes;
  }
}

static void add(census *c, const ds_weight *w, bool mtp) { add_as(c, w, mtp, true); }

static void add_ds2_layer(census *c, const struct dseek_model *m, const ds_ds2_layer *L, bool mtp)
{
  const ds_weight *ws[] = {&L->attn_norm, &L->wq, &L->wq_a, &L->q_a_norm, &L->wq_b, &L->wkv_a, &L->kv_a_norm,
                           &L->wk_b, &L->wv_b, &L->wo, &L->ffn_norm, &L->ffn_gate, &L->ffn_up, &L->ffn_down,
                           &L->gate_inp, &L->exp_probs_b, &L->gate_exps.w, &L->up_exps.w, &L->down_exps.w,
                           &L->gate_shexp, &L->up_shexp, &L->down_shexp};
  for (size_t i = 0; i < DS_ARRAY_LEN(ws); i++) add(c, ws[i], mtp);
  if (!mtp && L->moe && m->ds2.n_expert > 0) {
    const ds_weight *ex[] = {&L->gate_exps.w, &L->up_exps.w, &L->down_exps.w};
    for (int i = 0; i < 3; i++)
      if (ex[i]->data)
        c->inactive += (uint64_t)(ex[i]->ne[0] * ex[i]->ne[1]) * (uint64_t)(m->ds2.n_expert - m->ds2.n_expert_used);
  }
}

static void take_census(const struct dseek_model *m, census *c)
{
  memset(c, 0, sizeof *c);
  add(c, &m->tok_embd, false);
  add(c, &m->output_norm, false);
  if (m->output.data != m->tok_embd.data) {
    add(c, &m->output, false);
    c->inactive += (uint64_t)(m->tok_embd.ne[0] * m->tok_embd.ne[1]);   /* untied: only read by rows */
  }
  for (int64_t il = 0; il < m->hp.n_layer; il++) {
    if (m->arch == DS_ARCH_DEEPSEEK2) {
      add_ds2_layer(c, m, &m->ds2_layers[il], false);
      continue;
    }
    const ds_dense_layer *L = &m->layers[il];
    const ds_weight *ws[] = {&L->attn_norm, &L->wq, &L->wk, &L->wv, &L->wo, &L->bq, &L->bk, &L->bv,
                             &L->q_norm, &L->k_norm, &L->ffn_norm, &L->ffn_gate, &L->ffn_up, &L->ffn_down};
    for (size_t i = 0; i < DS_ARRAY_LEN(ws); i++) add(c, ws[i], false);
  }
  for (int64_t i = 0; m->ds2_nextn && i < m->ds2.n_nextn; i++) {
    const ds_ds2_nextn *x = &m->ds2_nextn[i];
    add_ds2_layer(c, m, &x->block, true);
    const ds_weight *ws[] = {&x->eh_proj, &x->enorm, &x->hnorm, &x->shared_head_norm};
    for (size_t k = 0; k < DS_ARRAY_LEN(ws); k++) add(c, ws[k], true);
    add_as(c, &x->shared_head_head, true, false);
    add_as(c, &x->embed_tokens, true, false);
  }
}

static dseek_status check_model(const dseek_model *m, const char *fn)
{
  if (!m) return ds_error(DSEEK_ERR_INVALID_ARG, "%s: model is NULL", fn);
  if (m->arch == DS_ARCH_UNKNOWN) return ds_error(DSEEK_ERR_INVALID_ARG, "%s: the model was loaded vocab-only", fn);
  return DSEEK_OK;
}

static dseek_status put_counts(const dseek_param_counts *in, dseek_param_counts *out, const char *fn)
{
  if (!out || out->struct_size < sizeof(size_t) || out->struct_size > 4096)
    return ds_error(DSEEK_ERR_INVALID_ARG, "%s: out must not be NULL and needs a valid struct_size", fn);
  dseek_param_counts c = *in;
  c.struct_size = out->struct_size;
  memcpy(out, &c, DS_MIN(out->struct_size, sizeof c));
  return DSEEK_OK;
}

dseek_status dseek_model_param_counts(const dseek_model *m, dseek_param_counts *out)
{
  static const char fn[] = "dseek_model_param_counts";
  dseek_status st = check_model(m, fn);
  if (st) return st;
  census c;
  take_census(m, &c);
  dseek_param_counts p = {.struct_size = sizeof p, .total = (int64_t)c.total,
                          .active = (int64_t)(c.total - c.inactive), .mtp = (int64_t)c.mtp,
                          .kv_values_per_token = m->hp.n_layer * ds_model_kv_values_per_token_layer(m)};
  return put_counts(&p, out, fn);
}

dseek_status dseek_model_weights_of_type(const dseek_model *m, int type, int64_t *n_params, int64_t *bytes)
{
  static const char fn[] = "dseek_model_weights_of_type";
  dseek_status st = check_model(m, fn);
  if (st) return st;
  if (!n_params || !bytes) return ds_error(DSEEK_ERR_INVALID_ARG, "%s: n_params and bytes must not be NULL", fn);
  census c;
  take_census(m, &c);
  bool in = type >= 0 && type < N_TYPES;
  *n_params = in ? (int64_t)c.params[type] : 0;
  *bytes = in ? (int64_t)c.bytes[type] : 0;
  return DSEEK_OK;
}

/* ---- from config.json --------------------------------------------------------- */

/* The counts of a deepseek2 model with hyperparameters hp / d2 (see the top). */
static void ds2_formula(const ds_hparams *hp, const ds_ds2_hparams *d2, bool tied, dseek_param_counts *p)
{
  const int64_t d = hp->n_embd, H = hp->n_head, C = d2->kv_lora_rank, r = d2->qk_rope, nope = d2->qk_nope;
  const int64_t v = d2->v_head, ql = d2->q_lora_rank, E = d2->n_expert, V = hp->n_vocab;
  const int64_t q = ql ? d * ql + ql + ql * H * (nope + r) : d * H * (nope + r);
  const int64_t attn = d + q + d * (C + r) + C + H * C * (nope + v) + H * v * d + d;
  const int64_t dense = attn + 3 * d * hp->n_ff;
  const int64_t routed = E * 3 * d * d2->n_ff_exp;
  const int64_t moe = attn + d * E + (d2->gating == DS_MOE_SIGMOID ? E : 0) + routed +
                      3 * d * d2->n_ff_exp * d2->n_expert_shared;
  const int64_t n_moe = hp->n_layer - d2->n_dense_lead;
  p->total = V * d * (tied ? 1 : 2) + d + d2->n_dense_lead * dense + n_moe * moe;
  p->active = p->total - (tied ? 0 : V * d) - (E > 0 ? n_moe * (E - d2->n_expert_used) * 3 * d * d2->n_ff_exp : 0);
  p->mtp = d2->n_nextn * ((E > 0 ? moe : dense) + 2 * d * d + 3 * d);
  p->kv_values_per_token = hp->n_layer * (C + r);
}

dseek_status dseek_config_param_counts(const char *config_json, int64_t n_layer, dseek_param_counts *out)
{
  static const char fn[] = "dseek_config_param_counts";
  if (!config_json || n_layer < 0 || n_layer > 4096)
    return ds_error(DSEEK_ERR_INVALID_ARG, "%s: need a path and 0 <= n_layer <= 4096", fn);
  /* a directory holding config.json, or the file; the loaders' messages name <dir>/config.json */
  struct dseek_model *m = ds_calloc(1, sizeof *m);
  if (!m) return ds_error(DSEEK_ERR_NO_MEMORY, "%s: out of memory", fn);
  bool dir = ds_path_kind_of(config_json) == DS_PATH_DIR;
  char file[1024];
  snprintf(m->path, sizeof m->path, "%s", config_json);
  if (dir) {
    snprintf(file, sizeof file, "%s/config.json", config_json);
  } else {
    snprintf(file, sizeof file, "%s", config_json);
    char *slash = strrchr(m->path, '/');
    if (slash) *slash = 0;
    else snprintf(m->path, sizeof m->path, ".");
  }
  ds_json *doc = NULL;
  dseek_status st = ds_json_parse_file(file, &doc);
  const ds_json_value *cfg = st ? NULL : ds_json_root(doc);
  const char *type = NULL;
  bool tied = false;
  if (!st && !ds_json_str(ds_json_get(cfg, "model_type"), &type, NULL))
    st = ds_error(DSEEK_ERR_FORMAT, "%s: \"model_type\" missing or not a string", file);
  else if (!st && strcmp(type, "deepseek_v2") != 0 && strcmp(type, "deepseek_v3") != 0)
    st = ds_error(DSEEK_ERR_UNSUPPORTED, "%s: model_type '%s': counting from the config covers deepseek_v2 and "
                  "deepseek_v3", file, type);
  else if (!st && ds_json_get(cfg, "tie_word_embeddings") && !ds_json_bool(ds_json_get(cfg, "tie_word_embeddings"), &tied))
    st = ds_error(DSEEK_ERR_FORMAT, "%s: \"tie_word_embeddings\" is not a boolean", file);
  if (!st) {
    m->arch = DS_ARCH_DEEPSEEK2;
    st = ds_model_deepseek2_hf_config(m, cfg);
  }
  dseek_param_counts p = {.struct_size = sizeof p};
  if (!st) {
    if (n_layer > 0) {
      m->hp.n_layer = n_layer;
      m->ds2.n_dense_lead = m->ds2.n_expert > 0 ? DS_MIN(m->ds2.n_dense_lead, n_layer) : n_layer;
    }
    ds2_formula(&m->hp, &m->ds2, tied, &p);
  }
  ds_json_free(doc);
  ds_model_free(m);
  return st ? st : put_counts(&p, out, fn);
}
