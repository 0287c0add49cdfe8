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
#include "kernels/ops_attn_exp.h"
#include "kernels/types.h"

#include <math.h>
#include <string.h>

/* Slots per block: two score calls of DS_ATTN_BLOCK rows each. */
#define B (2 * DS_ATTN_BLOCK)

static int64_t padded8(int64_t n) { return (n + 7) & ~(int64_t)7; }

static int64_t ceil_div(int64_t a, int64_t b) { return (a + b - 1) / b; }

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

/* Slots per partition of a list of n: a multiple of B, at least
 * PART_MIN_BLOCKS blocks, and at most PARTS_MAX partitions. */
#define PART_MIN_BLOCKS 32
#define PARTS_MAX 16
static int64_t partition_slots(int64_t n)
{
  return B * DS_MAX(PART_MIN_BLOCKS, ceil_div(ceil_div(n, B), PARTS_MAX));
}

/* Whether the scratch has room for the slot split's partials (ops of few
 * tokens x kv heads: decoding). */
static bool split_reserved(int64_t T, int64_t Hkv) { return T * Hkv < 16; }

size_t ds_kernel_attn_blocked_scratch_floats(const ds_tensor *node)
{
  const ds_tensor *q = node->src[0], *k = node->src[1], *v = node->src[2];
  const int64_t Dkp = padded8(k->ne[0]), Dv = v->ne[0], Hkv = k->ne[1], group = q->ne[1] / Hkv, T = q->ne[2];
  /* the tile's state; the key and value blocks; two slot lists; three int32
   * per token; the slot split's partials, (m, l, o) per head of a group for
   * at most PARTS_MAX partitions */
  const int64_t partials = split_reserved(T, Hkv) ? PARTS_MAX * group * (Dv + 2) : 0;
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

/* Blocks ahead of the one decoded whose cache rows are prefetched. */
#define PREFETCH_BLOCKS 1

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

/* o[d] *= c for d < n, in chunks of eight that the compiler turns into SIMD
 * multiplies (one IEEE product per element, as the plain loop). */
static void scale_row(float *o, int64_t n, float c)
{
  int64_t d = 0;
  for (; d + 8 <= n; d += 8)
    for (int k = 0; k < 8; k++) o[d + k] *= c;
  for (; d < n; d++) o[d] *= c;
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
      scale_row(o, Dv, c);
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
  ds_attn_row_fn kdec, vdec;          /* the cache rows' decodes, resolved once */
  size_t k_row_bytes, v_row_bytes;    /* bytes of one cache row (for prefetching) */
  bool k_in_place;                    /* f32 keys of a multiple of 8 are read where they lie */
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
  const char *kbase = (const char *)k->data + hk * (int64_t)k->nb[1];
  const char *vbase = (const char *)v->data + hk * (int64_t)v->nb[1];
  const int64_t ks = (int64_t)k->nb[2], vs = (int64_t)v->nb[2];
  for (int j = 0; j < n; j++) {
    const int64_t s = slots ? slots[j0 + j] : j0 + j;
    const void *ksrc = kbase + s * ks;
    if (a->k_in_place) {
      krows[j] = ksrc;
    } else {   /* D values, then zeros up to Dkp */
      float *row = a->ktile + j * a->Dkp;
      a->kdec(ksrc, row, a->Dk);
      for (int64_t d = a->Dk; d < a->Dkp; d++) row[d] = 0.0f;
      krows[j] = row;
    }
    if (a->v_in_k) {
      vrows[j] = krows[j];
    } else if (v->type == DSEEK_TYPE_F32) {
      vrows[j] = (const float *)(vbase + s * vs);
    } else {
      float *row = a->vtile + j * a->Dv;
      a->vdec(vbase + s * vs, row, a->Dv);
      vrows[j] = row;
    }
  }
  for (int j = n; j < B; j++) krows[j] = krows[0];
  /* the cache rows PREFETCH_BLOCKS blocks ahead, asked for now: past a few
   * MiB of cache the rows come from DRAM, and the per-row walk alone leaves
   * the loads waiting on it */
  const int64_t p0 = j0 + PREFETCH_BLOCKS * B;
  for (int64_t j = p0; j < DS_MIN(p0 + B, n_slots); j++) {
    const int64_t s = slots ? slots[j] : j;
    prefetch_row(kbase + s * ks, a->k_row_bytes);
    if (!a->v_in_k) prefetch_row(vbase + s * vs, a->v_row_bytes);
  }
}

/* The running softmax of nh heads of each token of a tile: (token j, head i)
 * is pair p = j nh + i, with its query q + p Dkp (padded), the current
 * partition's o + p Dv, m[p], l[p], and the partitions before it merged in
 * ao + p Dv, am[p], al[p]. Per token j: blocks shared with the tile's longest
 * token, its partition width and the partitions merged so far. */
typedef struct attn_tile {
  int64_t t0, nt, h0, nh;
  float *q, *o, *m, *l, *ao, *am, *al;
  int32_t *shared, *width, *merged;
} attn_tile;

/* Partition k's (m, l, o) into the merge of partitions 0 .. k-1 (see the
 * top): ao = fma(c, o, ao ca) per element through ds_attn_pv (one fused
 * multiply-add, the same bits at every level). */
static void merge_partition(ds_cpu_level level, int64_t Dv, float *am, float *al, float *ao, float m, float l,
                            const float *o)
{
  const float mn = m > *am ? m : *am, ca = ds_attn_exp1(*am - mn), c = ds_attn_exp1(m - mn);
  *am = mn;
  *al = ds_fmaf(l, c, *al * ca);
  scale_row(ao, Dv, ca);
  ds_attn_pv(level, Dv, ao, &o, &c, 1);
}

/* Token j's current partition closes: merged into (am, al, ao) (the first
 * one copied), and a fresh one opens. */
static void close_partition(const attn_op *a, const attn_tile *w, int64_t j)
{
  for (int64_t i = 0; i < w->nh; i++) {
    const int64_t pr = j * w->nh + i;
    float *o = w->o + pr * a->Dv, *ao = w->ao + pr * a->Dv;
    if (w->merged[j] == 0) {
      w->am[pr] = w->m[pr];
      w->al[pr] = w->l[pr];
      memcpy(ao, o, (size_t)a->Dv * sizeof *ao);
    } else {
      merge_partition(a->level, a->Dv, &w->am[pr], &w->al[pr], ao, w->m[pr], w->l[pr], o);
    }
    w->m[pr] = -INFINITY;
    w->l[pr] = 0.0f;
    memset(o, 0, (size_t)a->Dv * sizeof *o);
  }
  w->merged[j]++;
}

/* One block of rows, list entries [j0, j0 + n), for the nh heads of tile
 * token j (see the top), a partition closing first when j0 starts another. */
static void token_block(const attn_op *a, const attn_tile *w, int64_t j, int64_t j0, const float *const *krows,
                        const float *const *vrows, int n)
{
  if (j0 > 0 && j0 % w->width[j] == 0) close_partition(a, w, j);
  for (int64_t i = 0; i < w->nh; i++) {
    const int64_t pr = j * w->nh + i;
    head_block(a->level, a->Dkp, a->Dv, a->scale, w->q + pr * a->Dkp, krows, vrows, n, &w->m[pr], &w->l[pr],
               w->o + pr * a->Dv);
  }
}

/* Token j's out = o / l, over its merged partitions when it had several. */
static void token_out(const attn_op *a, const attn_tile *w, int64_t j, int64_t n_vis)
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
static void tile_walk(const attn_op *a, const attn_tile *w, int64_t hk, int32_t *lists)
{
  const float *krows[B], *vrows[B];
  int64_t r = w->t0;
  for (int64_t t = w->t0; t < w->t0 + w->nt; t++)
    if (causal_end(a, t) > causal_end(a, r)) r = t;
  const int32_t *ref_slots;
  const int64_t n_ref = visible_slots(a, r, lists, &ref_slots);
  int64_t n_shared = 0;   /* blocks any token shares */
  for (int64_t j = 0; j < w->nt; j++) {
    const int32_t *slots;
    w->width[j] = (int32_t)partition_slots(visible_slots(a, w->t0 + j, lists + a->n_ctx, &slots));
    w->shared[j] = (int32_t)(common_slots(a, w->t0 + j, r) / B);
    w->merged[j] = 0;
    n_shared = DS_MAX(n_shared, w->shared[j]);
  }
  for (int64_t b = 0; b < n_shared; b++) {
    block_rows(a, hk, ref_slots, b * B, B, n_ref, krows, vrows);
    for (int64_t j = 0; j < w->nt; j++)
      if (w->shared[j] > b) token_block(a, w, j, b * B, krows, vrows, B);
  }
  for (int64_t j = 0; j < w->nt; j++) {
    const int32_t *slots;
    const int64_t n_vis = visible_slots(a, w->t0 + j, lists + a->n_ctx, &slots);
    for (int64_t j0 = (int64_t)w->shared[j] * B; j0 < n_vis; j0 += B) {
      const int n = (int)DS_MIN(B, n_vis - j0);
      block_rows(a, hk, slots, j0, n, n_vis, krows, vrows);
      token_block(a, w, j, j0, krows, vrows, n);
    }
    token_out(a, w, j, n_vis);
  }
}

/* Tile w's state laid out in st (at most `state` floats) and int32 room in
 * ints (3 nt); queries loaded, m = -inf, l = 0, o = 0. */
static void tile_init(const attn_op *a, attn_tile *w, float *st, int32_t *ints)
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

/* Slot split (a lone token, or too few tokens x kv heads for the threads):
 * phase 1, unit u = (token t, kv head hk, partition k) in that order, all
 * heads of hk, is thread u % nth's, which leaves the partition's (m, l, o)
 * per head at slot u / nth of its partials; then, past the barrier, each
 * thread merges the partitions of its share of the (token, head) pairs in
 * partition order (the formula of close_partition) and writes out. */
static void split_walk(const ds_kernel_params *p, const attn_op *a, int64_t T, int64_t Hkv, int64_t group,
                       size_t part_offset)
{
  const float *krows[B], *vrows[B];
  const int64_t part_floats = group * (a->Dv + 2);
  int32_t *list = (int32_t *)(a->vtile + B * a->Dv);
  int64_t u = 0;
  for (int64_t t = 0; t < T; t++) {
    const int32_t *slots;
    const int64_t n_vis = visible_slots(a, t, list, &slots), width = partition_slots(n_vis);
    const int64_t n_part = DS_MAX(1, ceil_div(n_vis, width));
    for (int64_t hk = 0; hk < Hkv; hk++)
      for (int64_t k = 0; k < n_part; k++, u++) {
        if (u % p->nth != p->ith) continue;
        float *part = p->scratch + part_offset + (size_t)(u / p->nth) * (size_t)part_floats;
        int32_t ints[3] = {0, (int32_t)width, 0};
        attn_tile w = {.t0 = t, .nt = 1, .h0 = hk * group, .nh = group};
        tile_init(a, &w, p->scratch, ints);
        w.m = part;
        w.l = part + group;
        w.o = part + 2 * group;
        for (int64_t i = 0; i < group; i++) {
          w.m[i] = -INFINITY;
          w.l[i] = 0.0f;
        }
        memset(w.o, 0, (size_t)(group * a->Dv) * sizeof *w.o);
        for (int64_t j0 = k * width; j0 < DS_MIN((k + 1) * width, n_vis); j0 += B) {
          const int n = (int)DS_MIN(B, n_vis - j0);
          block_rows(a, hk, slots, j0, n, n_vis, krows, vrows);
          for (int64_t i = 0; i < group; i++)
            head_block(a->level, a->Dkp, a->Dv, a->scale, w.q + i * a->Dkp, krows, vrows, n, &w.m[i], &w.l[i],
                       w.o + i * a->Dv);
        }
      }
  }
  p->barrier(p->barrier_arg);

  int64_t r0, r1;
  ds_kernel_rows(T * Hkv * group, p->ith, p->nth, &r0, &r1);
  int64_t t_done = 0, u0 = 0, n_part = 0, n_vis = 0;   /* units before token t_done */
  for (int64_t ph = r0; ph < r1; ph++) {
    const int64_t t = ph / (Hkv * group), h = ph % (Hkv * group), hk = h / group, i = h % group;
    for (; t_done <= t; t_done++) {   /* the units of the tokens before t */
      u0 += Hkv * n_part;
      const int32_t *slots;
      n_vis = visible_slots(a, t_done, list, &slots);
      n_part = DS_MAX(1, ceil_div(n_vis, partition_slots(n_vis)));
    }
    float *out = ds_tensor_ptr(a->dst, 0, h, t, 0);
    if (n_vis == 0) {
      memset(out, 0, (size_t)a->Dv * sizeof *out);
      continue;
    }
    float am = 0.0f, al = 0.0f;
    for (int64_t k = 0; k < n_part; k++) {
      const int64_t uk = u0 + hk * n_part + k;
      const float *part = p->scratch0 + (size_t)(uk % p->nth) * p->scratch_stride + part_offset +
                          (size_t)(uk / p->nth) * (size_t)part_floats;
      const float m = part[i], l = part[group + i], *o = part + 2 * group + i * a->Dv;
      if (k == 0) {
        am = m;
        al = l;
        memcpy(out, o, (size_t)a->Dv * sizeof *out);
      } else {
        merge_partition(a->level, a->Dv, &am, &al, out, m, l, o);
      }
    }
    const float inv = 1.0f / al;
    for (int64_t d = 0; d < a->Dv; d++) out[d] *= inv;
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
    .kdec = cache_row_decoder(ds_cpu_level_get(), k->type),
    .vdec = cache_row_decoder(ds_cpu_level_get(), v->type),
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
    for (int64_t t = 0; t < T; t++) long_list |= causal_end(&a, t) > partition_slots(causal_end(&a, t));
    if (long_list) {
      split_walk(p, &a, T, Hkv, group, (size_t)(state + B * (a.Dkp + a.Dv)) + (size_t)(2 * a.n_ctx + 3 * T));
      return;
    }
  }

  /* the heads of a kv head are shared out when tiles of whole groups times
   * kv heads are fewer than the threads; then the tokens are tiled within
   * the state, in more tiles (down to one token each) until the units are a
   * multiple of the threads, so that no thread is left a unit behind */
  const int64_t n_split = head_splits(ceil_div(T, DS_MIN(T, state / (group * pair_floats))) * Hkv, group, p->nth);
  const int64_t per_split = ceil_div(group, n_split);
  int64_t n_tiles = ceil_div(T, DS_MIN(T, state / (per_split * pair_floats)));
  while (n_tiles < T && n_tiles * Hkv * n_split % p->nth != 0) n_tiles++;

  for (int64_t u = p->ith; u < n_tiles * Hkv * n_split; u += p->nth) {
    const int64_t hk = u % Hkv, split = (u / Hkv) % n_split, tile = u / Hkv / n_split;
    attn_tile w = {.h0 = hk * group + split * per_split};
    w.nh = DS_MIN(w.h0 + per_split, (hk + 1) * group) - w.h0;
    if (w.nh <= 0) continue;
    int64_t t1;
    ds_kernel_rows(T, (int)tile, (int)n_tiles, &w.t0, &t1);
    w.nt = t1 - w.t0;
    tile_init(&a, &w, st, ints);
    tile_walk(&a, &w, hk, lists);
  }
}
