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
 * and out = o (1 / l) after the last block. Lanes past the block's end get
 * a_j = -inf, so e_j = 0 and they add nothing. tree(e) is
 * t(e0..e7) + t(e8..e15), t(x) = ((x0 + x1) + (x2 + x3)) + ((x4 + x5) + (x6 + x7)).
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
 * ATTN_STATE_FLOATS of queries and m, l, o (one token's group at least).
 *
 * MLA's value rows are a view of its key rows (c_kv, the first Dv values of
 * the cached [c_kv ; k_pe]): the decoded key block is used for both.
 *
 * Slots of other sequences (ds_op_attn_seq) are left out before blocking: a
 * token walks the list of its visible slots, so a sequence's blocks, and its
 * bits, are the same whether other sequences' slots are interleaved in the
 * cache or not. Every step above is the same IEEE operation at every level
 * (ops_attn_scores.c, ops_attn_exp.h, ds_attn_pv, the exact f16 decode), and
 * a head's result depends on nothing but its own query and slots, so the bits
 * do not depend on the level, the tiling, the head split or the thread count.
 */
#include "kernels/cpu.h"
#include "kernels/ops.h"
#include "kernels/ops_attn.h"
#include "kernels/ops_attn_exp.h"
#include "kernels/types.h"

#include <math.h>
#include <string.h>

/* Slots per block: two score calls of DS_ATTN_BLOCK rows each. */
#define B (2 * DS_ATTN_BLOCK)

static int64_t padded8(int64_t n) { return (n + 7) & ~(int64_t)7; }

static int64_t ceil_div(int64_t a, int64_t b) { return (a + b - 1) / b; }

/* Floats of running softmax state a thread holds at once: the whole group of
 * one token at least, up to ATTN_STATE_FLOATS for tiles of tokens. */
#define ATTN_STATE_FLOATS ((int64_t)1 << 16)
static int64_t state_floats(int64_t T, int64_t group, int64_t pair_floats)
{
  return DS_MAX(group * pair_floats, DS_MIN(T * group * pair_floats, ATTN_STATE_FLOATS));
}

size_t ds_kernel_attn_blocked_scratch_floats(const ds_tensor *node)
{
  const ds_tensor *q = node->src[0], *k = node->src[1], *v = node->src[2];
  const int64_t Dkp = padded8(k->ne[0]), Dv = v->ne[0], group = q->ne[1] / k->ne[1], T = q->ne[2];
  /* the tile's queries, o[Dv], m, l; the key and value blocks; two slot
   * lists; each token's count of shared blocks */
  return (size_t)(state_floats(T, group, Dkp + Dv + 2) + B * (Dkp + Dv) + 2 * k->ne[2] + T);
}

/* Ways the heads of a kv head are split so that the units (tiles of tokens
 * x kv heads x splits) keep nth threads busy; at most group. */
static int64_t head_splits(int64_t units, int64_t group, int nth)
{
  if (units >= nth) return 1;
  const int64_t n = (nth + units - 1) / units;
  return n < group ? n : group;
}

/* Row s of kv head hk of cache c as D f32 values followed by zeros up to
 * padded8(D), at dst; or the cache row itself when it is f32 and D % 8 == 0. */
static const float *row_f32(const ds_tensor *c, const ds_type_traits *tr, ds_cpu_level level, int64_t hk, int64_t s,
                            float *dst)
{
  const void *src = ds_tensor_ptr(c, 0, hk, s, 0);
  const int64_t D = c->ne[0], Dp = padded8(D);
  if (c->type == DSEEK_TYPE_F32 && D == Dp) return src;
  if (c->type == DSEEK_TYPE_F32) memcpy(dst, src, (size_t)D * sizeof *dst);
  else if (c->type == DSEEK_TYPE_F16) ds_attn_f16_to_f32(level, src, dst, D);
  else tr->to_float(src, dst, D);
  for (int64_t d = D; d < Dp; d++) dst[d] = 0.0f;
  return dst;
}

/* Asks the CPU to fetch the bytes [p, p + n) into cache (no effect on results). */
static void prefetch_row(const void *p, size_t n)
{
#if defined(__GNUC__)
  for (size_t i = 0; i < n; i += 64) __builtin_prefetch((const char *)p + i, 0, 3);
#else
  (void)p;
  (void)n;
#endif
}

/* One head's online-softmax step over a block of n <= B slots (see the top). */
static void head_block(ds_cpu_level level, int64_t Dkp, int64_t Dv, float scale, const float *qh,
                       const float *const *krows, const float *const *vrows, int n, float *m, float *l, float *o)
{
  float a[B], e[B];
  ds_attn_scores8(level, Dkp, qh, krows, a);
  ds_attn_scores8(level, Dkp, qh, krows + DS_ATTN_BLOCK, a + DS_ATTN_BLOCK);
  float mb = -INFINITY;
  for (int j = 0; j < n; j++) {
    a[j] *= scale;
    if (a[j] > mb) mb = a[j];
  }
  for (int j = n; j < B; j++) a[j] = -INFINITY;
  const float mn = mb > *m ? mb : *m;
  for (int j = 0; j < B; j++) a[j] -= mn;
  ds_attn_exp(level, a, e, B);
  if (mn != *m) {
    if (*m != -INFINITY) {   /* nothing summed yet under -inf */
      const float c = ds_attn_exp1(*m - mn);
      *l *= c;
      for (int64_t d = 0; d < Dv; d++) o[d] *= c;
    }
    *m = mn;
  }
  *l += (((e[0] + e[1]) + (e[2] + e[3])) + ((e[4] + e[5]) + (e[6] + e[7]))) +
        (((e[8] + e[9]) + (e[10] + e[11])) + ((e[12] + e[13]) + (e[14] + e[15])));
  ds_attn_pv(level, Dv, o, vrows, e, n);
}

/* The op's tensors and parameters, fixed for one run of the kernel. */
typedef struct attn_op {
  ds_cpu_level level;
  const ds_tensor *q, *k, *v, *dst;
  const ds_type_traits *tk, *tv;
  int64_t Dk, Dkp, Dv, n_kv, n_ctx;
  float scale;
  const int32_t *positions, *owner;   /* owner: NULL, or ds_op_attn_seq's */
  bool v_in_k;                        /* MLA: v is the leading Dv values of each k row */
  float *ktile, *vtile;               /* this thread's decoded block */
} attn_op;

/* End of token t's causal range: slots [0, L) before ownership. */
static int64_t causal_end(const attn_op *a, int64_t t)
{
  const int64_t vis = a->positions[t] < 0 ? 0 : (int64_t)a->positions[t] + 1;
  return DS_MIN(vis, a->n_kv);
}

/* Whether token t may see slot s < causal_end(t): shared slots (owner < 0)
 * and its own sequence's. */
static bool sees(const attn_op *a, int64_t t, int64_t s)
{
  return !(a->owner && a->owner[s] >= 0 && a->owner[s] != a->owner[a->n_ctx + t]);
}

/* Token t's visible slots, in order: returns their count and sets *slots to
 * the list (in list) or to NULL when it is all of [0, L). */
static int64_t visible_slots(const attn_op *a, int64_t t, int32_t *list, const int32_t **slots)
{
  const int64_t L = causal_end(a, t);
  *slots = NULL;
  if (!a->owner) return L;
  int64_t n = 0;
  for (int64_t s = 0; s < L; s++)
    if (sees(a, t, s)) list[n++] = (int32_t)s;
  if (n < L) *slots = list;
  return n;
}

/* Length of the common prefix of the visible slot lists of tokens t and r. */
static int64_t common_slots(const attn_op *a, int64_t t, int64_t r)
{
  const int64_t end = DS_MIN(causal_end(a, t), causal_end(a, r));
  if (!a->owner) return end;
  int64_t n = 0;
  for (int64_t s = 0; s < end; s++) {
    const bool st = sees(a, t, s);
    if (st != sees(a, r, s)) break;
    n += st;
  }
  return n;
}

/* The key and value rows of entries [j0, j0 + n) of a slot list (slots NULL:
 * entry j is slot j) of kv head hk, decoded into this thread's block (or
 * read in place); lanes past n repeat row 0 (scored, then given -inf). */
static void block_rows(const attn_op *a, int64_t hk, const int32_t *slots, int64_t j0, int n, int64_t n_slots,
                       const float **krows, const float **vrows)
{
  const ds_tensor *k = a->k, *v = a->v;
  for (int j = 0; j < n; j++) {
    const int64_t s = slots ? slots[j0 + j] : j0 + j;
    krows[j] = row_f32(k, a->tk, a->level, hk, s, a->ktile + j * a->Dkp);
    if (a->v_in_k) vrows[j] = krows[j];
    else if (v->type == DSEEK_TYPE_F32) vrows[j] = ds_tensor_ptr(v, 0, hk, s, 0);
    else {
      const void *src = ds_tensor_ptr(v, 0, hk, s, 0);
      float *row = a->vtile + j * a->Dv;
      if (v->type == DSEEK_TYPE_F16) ds_attn_f16_to_f32(a->level, src, row, a->Dv);
      else a->tv->to_float(src, row, a->Dv);
      vrows[j] = row;
    }
  }
  for (int j = n; j < B; j++) krows[j] = krows[0];
  /* the next block's cache rows, asked for now: past a few MiB of cache the
   * rows come from DRAM, and the per-row walk alone leaves the loads waiting
   * on it */
  for (int64_t j = j0 + B; j < DS_MIN(j0 + 2 * B, n_slots); j++) {
    const int64_t s = slots ? slots[j] : j;
    prefetch_row(ds_tensor_ptr(k, 0, hk, s, 0), (size_t)(a->Dk * a->tk->type_size / a->tk->block_size));
    if (!a->v_in_k)
      prefetch_row(ds_tensor_ptr(v, 0, hk, s, 0), (size_t)(a->Dv * a->tv->type_size / a->tv->block_size));
  }
}

/* The running softmax of nh heads of each token of a tile: (token j, head i)
 * is pair p = j nh + i, with its query q + p Dkp (padded), o + p Dv, m[p], l[p]. */
typedef struct attn_tile {
  int64_t t0, nt, h0, nh;
  float *q, *o, *m, *l;
} attn_tile;

/* One block of rows for the nh heads of tile token j (see the top). */
static void token_block(const attn_op *a, const attn_tile *w, int64_t j, const float *const *krows,
                        const float *const *vrows, int n)
{
  for (int64_t i = 0; i < w->nh; i++) {
    const int64_t pr = j * w->nh + i;
    head_block(a->level, a->Dkp, a->Dv, a->scale, w->q + pr * a->Dkp, krows, vrows, n, &w->m[pr], &w->l[pr],
               w->o + pr * a->Dv);
  }
}

/* Attention of the tile's tokens over kv head hk. The full blocks that a
 * token's slot list shares with the list of the tile's longest token r are
 * decoded once and walked by every token that has them; then each token walks
 * the rest of its own list alone. lists: two of n_ctx; shared: nt. */
static void tile_walk(const attn_op *a, const attn_tile *w, int64_t hk, int32_t *lists, int32_t *shared)
{
  const float *krows[B], *vrows[B];
  int64_t r = w->t0;
  for (int64_t t = w->t0; t < w->t0 + w->nt; t++)
    if (causal_end(a, t) > causal_end(a, r)) r = t;
  const int32_t *ref_slots;
  const int64_t n_ref = visible_slots(a, r, lists, &ref_slots);
  int64_t n_shared = 0;   /* blocks any token shares */
  for (int64_t j = 0; j < w->nt; j++) {
    shared[j] = (int32_t)(common_slots(a, w->t0 + j, r) / B);
    n_shared = DS_MAX(n_shared, shared[j]);
  }
  for (int64_t b = 0; b < n_shared; b++) {
    block_rows(a, hk, ref_slots, b * B, B, n_ref, krows, vrows);
    for (int64_t j = 0; j < w->nt; j++)
      if (shared[j] > b) token_block(a, w, j, krows, vrows, B);
  }
  for (int64_t j = 0; j < w->nt; j++) {
    const int32_t *slots;
    const int64_t n_vis = visible_slots(a, w->t0 + j, lists + a->n_ctx, &slots);
    for (int64_t j0 = (int64_t)shared[j] * B; j0 < n_vis; j0 += B) {
      const int n = (int)DS_MIN(B, n_vis - j0);
      block_rows(a, hk, slots, j0, n, n_vis, krows, vrows);
      token_block(a, w, j, krows, vrows, n);
    }
    for (int64_t i = 0; i < w->nh; i++) {
      const int64_t pr = j * w->nh + i;
      float *out = ds_tensor_ptr(a->dst, 0, w->h0 + i, w->t0 + j, 0);
      if (n_vis == 0) {   /* nothing visible: zeros, as the reference */
        memset(out, 0, (size_t)a->Dv * sizeof *out);
        continue;
      }
      const float inv = 1.0f / w->l[pr];
      for (int64_t d = 0; d < a->Dv; d++) out[d] = w->o[pr * a->Dv + d] * inv;
    }
  }
}

void ds_kernel_attn_blocked(const ds_kernel_params *p, ds_tensor *dst)
{
  const ds_tensor *q = dst->src[0], *k = dst->src[1], *v = dst->src[2];
  attn_op a = {
    .level = ds_cpu_level_get(),
    .q = q,
    .k = k,
    .v = v,
    .dst = dst,
    .tk = ds_type_traits_get(k->type),
    .tv = ds_type_traits_get(v->type),
    .Dk = k->ne[0],
    .Dkp = padded8(k->ne[0]),
    .Dv = v->ne[0],
    .n_kv = dst->p.attn.n_kv,
    .n_ctx = k->ne[2],
    .scale = dst->p.attn.scale,
    .positions = dst->src[3]->data,
    .owner = dst->src[4] ? dst->src[4]->data : NULL,
    .v_in_k = v->data == k->data && v->type == k->type && v->nb[1] == k->nb[1] && v->nb[2] == k->nb[2],
  };
  const int64_t H = q->ne[1], T = q->ne[2], Hkv = k->ne[1], group = H / Hkv;
  const int64_t pair_floats = a.Dkp + a.Dv + 2, state = state_floats(T, group, pair_floats);
  /* the heads of a kv head are shared out when tiles of whole groups times
   * kv heads are fewer than the threads; then the tokens are tiled within
   * the state, in more tiles (down to one token each) until the units are a
   * multiple of the threads, so that no thread is left a unit behind */
  const int64_t n_split = head_splits(ceil_div(T, DS_MIN(T, state / (group * pair_floats))) * Hkv, group, p->nth);
  const int64_t per_split = ceil_div(group, n_split);
  int64_t n_tiles = ceil_div(T, DS_MIN(T, state / (per_split * pair_floats)));
  while (n_tiles < T && n_tiles * Hkv * n_split % p->nth != 0) n_tiles++;

  float *st = p->scratch;
  a.ktile = st + state;
  a.vtile = a.ktile + B * a.Dkp;
  int32_t *lists = (int32_t *)(a.vtile + B * a.Dv), *shared = lists + 2 * a.n_ctx;

  for (int64_t u = p->ith; u < n_tiles * Hkv * n_split; u += p->nth) {
    const int64_t hk = u % Hkv, split = (u / Hkv) % n_split, tile = u / Hkv / n_split;
    attn_tile w = {.h0 = hk * group + split * per_split};
    w.nh = DS_MIN(w.h0 + per_split, (hk + 1) * group) - w.h0;
    if (w.nh <= 0) continue;
    int64_t t1;
    ds_kernel_rows(T, (int)tile, (int)n_tiles, &w.t0, &t1);
    w.nt = t1 - w.t0;
    w.q = st;
    w.o = w.q + w.nt * w.nh * a.Dkp;
    w.m = w.o + w.nt * w.nh * a.Dv;
    w.l = w.m + w.nt * w.nh;
    for (int64_t j = 0; j < w.nt; j++)
      for (int64_t i = 0; i < w.nh; i++) {
        const int64_t pr = j * w.nh + i;
        float *qp = w.q + pr * a.Dkp;
        memcpy(qp, ds_tensor_ptr(q, 0, w.h0 + i, w.t0 + j, 0), (size_t)a.Dk * sizeof *qp);
        for (int64_t d = a.Dk; d < a.Dkp; d++) qp[d] = 0.0f;
        w.m[pr] = -INFINITY;
        w.l[pr] = 0.0f;
      }
    memset(w.o, 0, (size_t)(w.nt * w.nh * a.Dv) * sizeof *w.o);
    tile_walk(&a, &w, hk, lists, shared);
  }
}
