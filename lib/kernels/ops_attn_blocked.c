/*
 * ops_attn_blocked.c — attention at every level above the reference (prompts
 * and decoding); same op and math as ops_attn.c:
 *     out[:, h, t] = sum_s softmax_s(scale q.k_s) v_s   over the visible slots
 *
 * Each (token t, head h) walks the list of t's visible slots in blocks of
 * B = 16 entries, with an online softmax. Per head and block:
 *     a_j  = scale q.k_j                    (ds_attn_scores8: eight scores
 *                                            per reduction tree)
 *     m'   = max(m, max_j a_j)
 *     e_j  = exp(a_j - m')                  (ds_attn_exp: eight or sixteen
 *                                            lanes at once)
 *     l    = l exp(m - m') + tree(e)        (o scaled by exp(m - m') only
 *     o    = o exp(m - m') + sum_j e_j v_j   when the max moved; ds_attn_pv)
 * and out = o (1 / l) after the last block (of the last partition: below).
 * Lanes past the block's end get a_j = -inf, so e_j = 0 and they add
 * nothing. tree(e) is t(e0..e7) + t(e8..e15),
 * t(x) = ((x0 + x1) + (x2 + x3)) + ((x4 + x5) + (x6 + x7)).
 *
 * Partitions: a list of n entries is cut into partitions of W(n) entries,
 * W(n) = 16 max(PART_MIN_BLOCKS, ceil(ceil(n / 16) / PARTS_MAX)) (a
 * multiple of the block; at most PARTS_MAX partitions); each partition k is
 * walked as above from m = -inf, l = 0, o = 0, giving (m_k, l_k, o_k), and
 * the partitions are merged in order, (M, L, O) = partition 0, then for
 * k = 1, 2, ...:
 *     M' = max(M, m_k),  c = exp(M - M'),  c_k = exp(m_k - M')
 *     L  = fma(l_k, c_k, L c),  O = fma(c_k, o_k, O c) per element
 * (exp: ds_attn_exp1); out = O (1 / L). A list of one partition (n <= 16
 * PART_MIN_BLOCKS = 512) is the plain walk: a partition costs its restart
 * (the running max moves more often) and one merge, so short lists are not
 * cut. W depends on n alone, so a token's
 * result is the same whether one thread walks its partitions in a row or
 * several threads take one each: when the tokens x kv heads of an op are
 * fewer than the threads (one decode token of MLA, or of GQA with few kv
 * heads), each (token, kv head, partition) is a unit of its own, its
 * partial (m, l, o) per head left in its thread's scratch, and past a
 * barrier inside the op (ds_kernel_params.barrier) each thread merges its
 * share of the (token, head) pairs.
 *
 * Work unit: a tile of consecutive tokens, one kv head hk and a share of the
 * heads that read hk (all of them unless the units leave threads idle; MLA's
 * absorbed form has one latent kv head for every query head). A block's key
 * rows (and value rows) are decoded to f32 once (or read in place: f32 rows
 * of a multiple of 8) and then serve every head of the unit. Shared prefixes:
 * the tile's tokens whose slot lists begin with the same entries as the list
 * of its longest token (a prompt batch over the cache before it, parallel
 * chains over their shared prompt) walk the full blocks of that common
 * prefix together, block by block, each (token, head) with its own m, l, o;
 * then each token walks the rest of its own list alone. Block boundaries are
 * multiples of 16 of every token's own list either way, so a token's blocks
 * and operations are those of its walk alone. The tile holds at most
 * ATTN_STATE_FLOATS of queries and both (m, l, o) (one token's group at
 * least).
 *
 * MLA's value rows are a view of its key rows (c_kv, the first Dv values of
 * the cached [c_kv ; k_pe]): the decoded key block is used for both.
 *
 * Slots of other sequences (ds_op_attn_seq) are left out before blocking: a
 * token walks the list of its visible slots, so a sequence's blocks, and its
 * bits, are the same whether other sequences' slots are interleaved in the
 * cache or not. Every step above is the same IEEE operation at every level
 * (ops_attn_scores.c, ops_attn_exp.h, ds_attn_pv, the exact cache-row decodes
 * of ds_attn_row_to_f32), and
 * a head's result depends on nothing but its own query and slots, so the bits
 * do not depend on the level, the tiling, the head or slot split or the
 * thread count.
 */
#include "core/platform.h"   /* ds_fmaf */
#include "kernels/cpu.h"
#include "kernels/ops.h"
#include "kernels/ops_attn.h"
#include "kernels/ops_attn_blocked.h"
#include "kernels/ops_attn_exp.h"
#include "kernels/types.h"

#include <math.h>
#include <string.h>

#define B DS_ATTN_SLOTS

/* Per (token, head): the query, the current partition's o, m, l and the
 * merged partitions' o, m, l. */
static int64_t pair_state_floats(int64_t Dkp, int64_t Dv) { return Dkp + 2 * (Dv + 2); }

/* Floats of running softmax state a thread holds at once: the whole group of
 * one token at least, up to ATTN_STATE_FLOATS for tiles of tokens; a
 * multiple of 16, so that the key block after it starts on a cache line (an
 * AVX-512 load across two lines costs two). */
#define ATTN_STATE_FLOATS ((int64_t)1 << 17)
static int64_t state_floats(int64_t T, int64_t group, int64_t pair_floats)
{
  const int64_t n = DS_MAX(group * pair_floats, DS_MIN(T * group * pair_floats, ATTN_STATE_FLOATS));
  return (n + 15) & ~(int64_t)15;
}

/* Whether the scratch has room for the slot split's partials (ops of few
 * tokens x kv heads: decoding). */
static bool split_reserved(int64_t T, int64_t Hkv) { return T * Hkv < 16; }

size_t ds_kernel_attn_blocked_scratch_floats(const ds_tensor *node)
{
  const ds_tensor *q = node->src[0], *k = node->src[1], *v = node->src[2];
  const int64_t Dkp = ds_attn_padded8(k->ne[0]), Dv = v->ne[0], Hkv = k->ne[1], group = q->ne[1] / Hkv, T = q->ne[2];
  /* the tile's state; the key and value blocks; two slot lists; three int32
   * per token; the slot split's partials, (m, l, o) per head of a group for
   * at most DS_ATTN_PARTS_MAX partitions */
  const int64_t partials = split_reserved(T, Hkv) ? DS_ATTN_PARTS_MAX * group * (Dv + 2) : 0;
  return (size_t)(state_floats(T, group, pair_state_floats(Dkp, Dv)) + B * (Dkp + Dv) + 2 * k->ne[2] + 3 * T + partials);
}

/* Ways the heads of a kv head are split so that the units (tiles of tokens
 * x kv heads x splits) keep nth threads busy; at most group. */
static int64_t head_splits(int64_t units, int64_t group, int nth)
{
  if (units >= nth) return 1;
  const int64_t n = (nth + units - 1) / units;
  return n < group ? n : group;
}

/* A cache type's row decode: the level's (ds_attn_row_decoder), else the
 * type's to_float (F32: a copy). */
static ds_attn_row_fn cache_row_decoder(ds_cpu_level level, int type)
{
  const ds_attn_row_fn f = ds_attn_row_decoder(level, type);
  return f ? f : ds_type_traits_get(type)->to_float;
}

/* Token j's current partition closes: merged into (am, al, ao) (the first
 * one copied), and a fresh one opens. */
static void close_partition(const ds_attn_op *a, const ds_attn_tile *w, int64_t j)
{
  for (int64_t i = 0; i < w->nh; i++) {
    const int64_t pr = j * w->nh + i;
    float *o = w->o + pr * a->Dv, *ao = w->ao + pr * a->Dv;
    if (w->merged[j] == 0) {
      w->am[pr] = w->m[pr];
      w->al[pr] = w->l[pr];
      memcpy(ao, o, (size_t)a->Dv * sizeof *ao);
    } else {
      ds_attn_merge_partition(a->level, a->Dv, &w->am[pr], &w->al[pr], ao, w->m[pr], w->l[pr], o);
    }
    w->m[pr] = -INFINITY;
    w->l[pr] = 0.0f;
    memset(o, 0, (size_t)a->Dv * sizeof *o);
  }
  w->merged[j]++;
}

/* One block of rows, list entries [j0, j0 + n), for the nh heads of tile
 * token j (see the top), a partition closing first when j0 starts another. */
static void token_block(const ds_attn_op *a, const ds_attn_tile *w, int64_t j, int64_t j0, const float *const *krows,
                        const float *const *vrows, int n)
{
  if (j0 > 0 && j0 % w->width[j] == 0) close_partition(a, w, j);
  for (int64_t i = 0; i < w->nh; i++) {
    const int64_t pr = j * w->nh + i;
    ds_attn_head_block(a->level, a->Dkp, a->Dv, a->scale, w->q + pr * a->Dkp, krows, vrows, n, &w->m[pr], &w->l[pr],
               w->o + pr * a->Dv);
  }
}

/* Token j's out = o / l, over its merged partitions when it had several. */
static void token_out(const ds_attn_op *a, const ds_attn_tile *w, int64_t j, int64_t n_vis)
{
  if (w->merged[j] > 0) close_partition(a, w, j);
  for (int64_t i = 0; i < w->nh; i++) {
    const int64_t pr = j * w->nh + i;
    float *out = ds_tensor_ptr(a->dst, 0, w->h0 + i, w->t0 + j, 0);
    if (n_vis == 0) {   /* nothing visible: zeros, as the reference */
      memset(out, 0, (size_t)a->Dv * sizeof *out);
      continue;
    }
    const float *o = w->merged[j] ? w->ao + pr * a->Dv : w->o + pr * a->Dv;
    const float inv = 1.0f / (w->merged[j] ? w->al[pr] : w->l[pr]);
    for (int64_t d = 0; d < a->Dv; d++) out[d] = o[d] * inv;
  }
}

/* Attention of the tile's tokens over kv head hk. The full blocks that a
 * token's slot list shares with the list of the tile's longest token r are
 * decoded once and walked by every token that has them; then each token walks
 * the rest of its own list alone. lists: two of n_ctx. */
static void tile_walk(const ds_attn_op *a, const ds_attn_tile *w, int64_t hk, int32_t *lists)
{
  const float *krows[B], *vrows[B];
  int64_t r = w->t0;
  for (int64_t t = w->t0; t < w->t0 + w->nt; t++)
    if (ds_attn_causal_end(a, t) > ds_attn_causal_end(a, r)) r = t;
  const int32_t *ref_slots;
  const int64_t n_ref = ds_attn_visible_slots(a, r, lists, &ref_slots);
  int64_t n_shared = 0;   /* blocks any token shares */
  for (int64_t j = 0; j < w->nt; j++) {
    const int32_t *slots;
    w->width[j] = (int32_t)ds_attn_partition_slots(ds_attn_visible_slots(a, w->t0 + j, lists + a->n_ctx, &slots));
    w->shared[j] = (int32_t)(ds_attn_common_slots(a, w->t0 + j, r) / B);
    w->merged[j] = 0;
    n_shared = DS_MAX(n_shared, w->shared[j]);
  }
  for (int64_t b = 0; b < n_shared; b++) {
    ds_attn_block_rows(a, hk, ref_slots, b * B, B, n_ref, krows, vrows);
    for (int64_t j = 0; j < w->nt; j++)
      if (w->shared[j] > b) token_block(a, w, j, b * B, krows, vrows, B);
  }
  for (int64_t j = 0; j < w->nt; j++) {
    const int32_t *slots;
    const int64_t n_vis = ds_attn_visible_slots(a, w->t0 + j, lists + a->n_ctx, &slots);
    for (int64_t j0 = (int64_t)w->shared[j] * B; j0 < n_vis; j0 += B) {
      const int n = (int)DS_MIN(B, n_vis - j0);
      ds_attn_block_rows(a, hk, slots, j0, n, n_vis, krows, vrows);
      token_block(a, w, j, j0, krows, vrows, n);
    }
    token_out(a, w, j, n_vis);
  }
}

/* Tile w's state laid out in st (at most `state` floats) and int32 room in
 * ints (3 nt); queries loaded, m = -inf, l = 0, o = 0. */
void ds_attn_tile_init(const ds_attn_op *a, ds_attn_tile *w, float *st, int32_t *ints)
{
  const int64_t np = w->nt * w->nh;
  w->q = st;
  w->o = w->q + np * a->Dkp;
  w->ao = w->o + np * a->Dv;
  w->m = w->ao + np * a->Dv;
  w->l = w->m + np;
  w->am = w->l + np;
  w->al = w->am + np;
  w->shared = ints;
  w->width = ints + w->nt;
  w->merged = ints + 2 * w->nt;
  for (int64_t j = 0; j < w->nt; j++)
    for (int64_t i = 0; i < w->nh; i++) {
      const int64_t pr = j * w->nh + i;
      float *qp = w->q + pr * a->Dkp;
      memcpy(qp, ds_tensor_ptr(a->q, 0, w->h0 + i, w->t0 + j, 0), (size_t)a->Dk * sizeof *qp);
      for (int64_t d = a->Dk; d < a->Dkp; d++) qp[d] = 0.0f;
      w->m[pr] = -INFINITY;
      w->l[pr] = 0.0f;
    }
  memset(w->o, 0, (size_t)(np * a->Dv) * sizeof *w->o);
}

void ds_kernel_attn_blocked(const ds_kernel_params *p, ds_tensor *dst)
{
  const ds_tensor *q = dst->src[0], *k = dst->src[1], *v = dst->src[2];
  ds_attn_op a = {
    .level = ds_cpu_level_get(),
    .q = q,
    .k = k,
    .v = v,
    .dst = dst,
    .kdec = cache_row_decoder(ds_cpu_level_get(), k->type),
    .vdec = cache_row_decoder(ds_cpu_level_get(), v->type),
    .Dk = k->ne[0],
    .Dkp = ds_attn_padded8(k->ne[0]),
    .Dv = v->ne[0],
    .n_kv = dst->p.attn.n_kv,
    .n_ctx = k->ne[2],
    .scale = dst->p.attn.scale,
    .positions = dst->src[3]->data,
    .owner = dst->src[4] ? dst->src[4]->data : NULL,
    .v_in_k = v->data == k->data && v->type == k->type && v->nb[1] == k->nb[1] && v->nb[2] == k->nb[2],
  };
  const ds_type_traits *tk = ds_type_traits_get(k->type), *tv = ds_type_traits_get(v->type);
  a.k_row_bytes = (size_t)(a.Dk / tk->block_size * (int64_t)tk->type_size);
  a.v_row_bytes = (size_t)(a.Dv / tv->block_size * (int64_t)tv->type_size);
  a.k_in_place = k->type == DSEEK_TYPE_F32 && a.Dk == a.Dkp;
  const int64_t H = q->ne[1], T = q->ne[2], Hkv = k->ne[1], group = H / Hkv;
  const int64_t pair_floats = pair_state_floats(a.Dkp, a.Dv), state = state_floats(T, group, pair_floats);
  float *st = p->scratch;
  a.ktile = st + state;
  a.vtile = a.ktile + B * a.Dkp;
  int32_t *lists = (int32_t *)(a.vtile + B * a.Dv), *ints = lists + 2 * a.n_ctx;

  /* too few units for the threads: split the slot lists, if one is long
   * enough to have partitions (the condition is the same on every thread) */
  if (T * Hkv < p->nth && p->barrier && split_reserved(T, Hkv)) {
    bool long_list = false;
    for (int64_t t = 0; t < T; t++) long_list |= ds_attn_causal_end(&a, t) > ds_attn_partition_slots(ds_attn_causal_end(&a, t));
    if (long_list) {
      ds_attn_split_walk(p, &a, T, Hkv, group, (size_t)(state + B * (a.Dkp + a.Dv)) + (size_t)(2 * a.n_ctx + 3 * T));
      return;
    }
  }

  /* the heads of a kv head are shared out when tiles of whole groups times
   * kv heads are fewer than the threads; then the tokens are tiled within
   * the state, in more tiles (down to one token each) until the units are a
   * multiple of the threads, so that no thread is left a unit behind */
  const int64_t n_split = head_splits(ds_attn_ceil_div(T, DS_MIN(T, state / (group * pair_floats))) * Hkv, group, p->nth);
  const int64_t per_split = ds_attn_ceil_div(group, n_split);
  int64_t n_tiles = ds_attn_ceil_div(T, DS_MIN(T, state / (per_split * pair_floats)));
  while (n_tiles < T && n_tiles * Hkv * n_split % p->nth != 0) n_tiles++;

  for (int64_t u = p->ith; u < n_tiles * Hkv * n_split; u += p->nth) {
    const int64_t hk = u % Hkv, split = (u / Hkv) % n_split, tile = u / Hkv / n_split;
    ds_attn_tile w = {.h0 = hk * group + split * per_split};
    w.nh = DS_MIN(w.h0 + per_split, (hk + 1) * group) - w.h0;
    if (w.nh <= 0) continue;
    int64_t t1;
    ds_kernel_rows(T, (int)tile, (int)n_tiles, &w.t0, &t1);
    w.nt = t1 - w.t0;
    ds_attn_tile_init(&a, &w, st, ints);
    tile_walk(&a, &w, hk, lists);
  }
}
