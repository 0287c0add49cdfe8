/*
 * shift.c — context shift: drop cached tokens [n_keep, n_keep + d) and move
 * the later ones down by d positions, so that a full context can go on.
 *
 * Cache slot s holds position s (context.c), so moving a token from slot p to
 * slot p - d also moves it to position p - d. Its key was cached rotated for
 * position p: k_p = R(p) k with R(p) the rope rotation (per pair j by the
 * angle p f_j). Rotations by angles compose, so
 *     k_{p-d} = R(p - d) k = R(-d) R(p) k = R(-d) k_p,
 * i.e. every moved key is rotated by -d f_j per pair, with exactly the
 * frequencies f_j of the forward pass (kernels/rope.h: llama3 factors and
 * YaRN's blended frequencies included; YaRN's cos/sin magnitude is part of
 * k_p already and is not applied again: R(-d) is a pure rotation). Values
 * carry no position and are moved as they are (bytes, no rounding).
 * Which part of a row is rotated comes from the model's KV row layout and its
 * rope from the architecture's descriptor (models/arch.h):
 *   dense:     K rows [head_dim, Hkv], the first n_rot dims of every head
 *              rotated (pairs adjacent or neox-split as the model's rope);
 *   deepseek2: the latent row [c_kv (C) ; k_pe (rope)], only the k_pe tail
 *              rotated (adjacent pairs); c_kv is moved as bytes.
 * The rows move in the KV-cache unit (kv_cache.c: ds_kv_shift), which decodes
 * the rotated part of F16/BF16/Q8_0 caches to f32, has it rotated here (in
 * double) and encodes it again (one extra rounding of the cache type per
 * shift; Q8_0 rows are block aligned, context.c, so the rope part is whole
 * blocks).
 *
 * A context's MTP state (mtp.h) moves with it: hidden states, tokens and the
 * MTP layer's latent rows (k_pe turned by the same R(-d)), so MTP drafting
 * goes on over the shifted cache.
 *
 * Exactness (tests/models/test_shift.c): the kept tokens' keys at their new
 * positions are what a fresh evaluation computes wherever the cached rows do
 * not depend on the dropped tokens (the prefix, every first-layer row, and a
 * whole sequence evaluated without seeing them); deeper rows of later tokens
 * keep what they computed while the dropped tokens were visible, as in
 * llama.cpp's context shift.
 */
#include "kernels/rope.h"
#include "kernels/types.h"
#include "runtime/context.h"
#include "runtime/kv_cache.h"
#include "runtime/mtp.h"

#include <math.h>
#include <string.h>

/* Where the rotated values sit in one K row of the cache. */
typedef struct shift_layout {
  size_t seg_offset;      /* bytes from the row start to the rotated segment */
  int64_t seg_values;     /* values in the segment: n_heads x head_dim */
  int64_t head_dim;       /* rotated dims are the first n_rot of each head */
  int n_rot, mode;
  ds_rope_freqs freqs;
} shift_layout;

/* The rotated span of a K row of a cache of element type `type`. */
static dseek_status layout_of(const dseek_context *c, int type, shift_layout *l)
{
  const struct dseek_model *m = c->model;
  ds_rope_params rp;
  ds_model_rope(m, &rp);   /* as the forward builds its rope */
  const float *factors = m->rope_freqs.data;
  memset(l, 0, sizeof *l);
  ds_kv_layout kl;
  ds_model_kv_layout(m, &kl);
  uint64_t offset;
  if (!ds_row_size(type, kl.rope_offset, &offset))
    return ds_error(DSEEK_ERR_INTERNAL, "dseek_context_shift: cache rows are not block aligned");
  l->seg_offset = (size_t)offset;
  l->seg_values = kl.n_head * kl.rope_head;
  l->head_dim = kl.rope_head;
  l->n_rot = rp.n_rot;
  l->mode = rp.mode;
  /* the values the rope op stores for its kernel (floats), as ds_op_rope does */
  bool yarn = rp.yarn_factor > 1.0f;
  ds_rope_freqs_init(&l->freqs, rp.n_rot, rp.freq_base, factors, yarn ? rp.yarn_factor : 1.0f,
                     yarn ? rp.yarn_orig_ctx : 0, rp.yarn_beta_fast, rp.yarn_beta_slow);
  return DSEEK_OK;
}

/* Rotate every head of x (seg_values floats) by `delta` positions. */
static void rotate(const shift_layout *l, const double *cs, const double *sn, float *x)
{
  const int half = l->n_rot / 2;
  for (int64_t h = 0; h < l->seg_values / l->head_dim; h++) {
    float *y = x + h * l->head_dim;
    for (int j = 0; j < half; j++) {
      int k0 = l->mode == DS_ROPE_NEOX ? j : 2 * j, k1 = l->mode == DS_ROPE_NEOX ? j + half : 2 * j + 1;
      double x0 = y[k0], x1 = y[k1];
      y[k0] = (float)(x0 * cs[j] - x1 * sn[j]);
      y[k1] = (float)(x0 * sn[j] + x1 * cs[j]);
    }
  }
}

/* The turn by -n_discard positions, per pair j of each rotated head. */
typedef struct shift_turn {
  const shift_layout *l;
  const double *cs, *sn;
} shift_turn;

static void turn(const void *u, float *x)
{
  const shift_turn *t = u;
  rotate(t->l, t->cs, t->sn, x);
}

dseek_status dseek_context_shift(dseek_context *c, int64_t n_keep, int64_t n_discard)
{
  static const char fn[] = "dseek_context_shift";
  if (!c) return ds_error(DSEEK_ERR_INVALID_ARG, "%s: ctx is NULL", fn);
  if (n_keep < 0 || n_discard < 1 || n_discard > c->n_past - n_keep)
    return ds_error(DSEEK_ERR_INVALID_ARG, "%s: need n_keep >= 0, n_discard >= 1 and n_keep + n_discard <= n_past "
                    "(got %lld, %lld with %lld tokens cached)", fn, (long long)n_keep, (long long)n_discard,
                    (long long)c->n_past);
  shift_layout l, lm;
  dseek_status st = layout_of(c, c->kv_type, &l);
  if (!st && c->mtp) st = layout_of(c, c->mtp->kv.type, &lm);
  if (st) return st;
  const int half = l.n_rot / 2;
  /* n_rot <= head_dim < 2^20 fits easily */
  double *cs = ds_malloc((size_t)half * 2 * sizeof(double));
  if (!cs) return ds_error(DSEEK_ERR_NO_MEMORY, "%s: out of memory", fn);
  double *sn = cs + half;
  for (int j = 0; j < half; j++) {
    double theta = -(double)n_discard * ds_rope_freq(&l.freqs, j);
    cs[j] = cos(theta);
    sn[j] = sin(theta);
  }
  shift_turn t = {&l, cs, sn};
  ds_kv_rotation rot = {l.seg_offset, l.seg_values, turn, &t};
  st = ds_kv_shift(&c->kv, n_keep, n_discard, c->n_past, &rot, fn);
  if (!st && c->mtp) {   /* the MTP layer's latent rows: the same rope, at the MTP cache type's offset */
    shift_turn tm = {&lm, cs, sn};
    ds_kv_rotation rot_m = {lm.seg_offset, lm.seg_values, turn, &tm};
    ds_mtp_shift(c->mtp, n_keep, n_discard, &rot_m);
  }
  ds_free(cs);
  if (st) return st;

  const int64_t first = n_keep + n_discard, n_move = c->n_past - first;
  memmove(c->tokens + n_keep, c->tokens + first, (size_t)n_move * sizeof *c->tokens);
  for (int64_t s = 0; s < c->n_ctx; s++) c->slot_seq[s] = -1;   /* one shared sequence from here on */
  c->n_past -= n_discard;
  c->logits_rows = 0;
  c->last_n = 0;
  return DSEEK_OK;
}
