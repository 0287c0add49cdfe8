/*
 * ops_attn_blocked.h — the parts of the blocked attention kernel
 * (ops_attn_blocked.c: the method, the tiles and the kernel) that its other
 * files share: the slot lists (ops_attn_slots.c), one block's rows and
 * online-softmax step (ops_attn_block.c) and the slot split of decoding
 * (ops_attn_split.c). Internal to lib/kernels.
 */
#ifndef DS_KERNELS_OPS_ATTN_BLOCKED_H
#define DS_KERNELS_OPS_ATTN_BLOCKED_H

#include "kernels/cpu.h"
#include "kernels/ops.h"
#include "kernels/ops_attn.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Slots per block: two score calls of DS_ATTN_BLOCK rows each. */
#define DS_ATTN_SLOTS (2 * DS_ATTN_BLOCK)

/* At most this many partitions of a slot list (ops_attn_slots.c). */
#define DS_ATTN_PARTS_MAX 16

static inline int64_t ds_attn_padded8(int64_t n) { return (n + 7) & ~(int64_t)7; }

static inline int64_t ds_attn_ceil_div(int64_t a, int64_t b) { return (a + b - 1) / b; }

/* The op's tensors and parameters, fixed for one run of the kernel. */
typedef struct ds_attn_op {
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
} ds_attn_op;

/* The running softmax of nh heads of each token of a tile: (token j, head i)
 * is pair p = j nh + i, with its query q + p Dkp (padded), the current
 * partition's o + p Dv, m[p], l[p], and the partitions before it merged in
 * ao + p Dv, am[p], al[p]. Per token j: blocks shared with the tile's longest
 * token, its partition width and the partitions merged so far. */
typedef struct ds_attn_tile {
  int64_t t0, nt, h0, nh;
  float *q, *o, *m, *l, *ao, *am, *al;
  int32_t *shared, *width, *merged;
} ds_attn_tile;

/* ops_attn_slots.c: token t's causal end (slots [0, L) before ownership);
 * its visible slots (count; *slots = the list in list, or NULL for all of
 * [0, L)); the common prefix of two tokens' lists; the partition width of a
 * list of n. */
int64_t ds_attn_causal_end(const ds_attn_op *a, int64_t t);
int64_t ds_attn_visible_slots(const ds_attn_op *a, int64_t t, int32_t *list, const int32_t **slots);
int64_t ds_attn_common_slots(const ds_attn_op *a, int64_t t, int64_t r);
int64_t ds_attn_partition_slots(int64_t n);

/* ops_attn_block.c: entries [j0, j0 + n) of a slot list as rows of kv head
 * hk; one head's online-softmax step over them; partition (m, l, o) merged
 * into (am, al, ao). */
void ds_attn_block_rows(const ds_attn_op *a, int64_t hk, const int32_t *slots, int64_t j0, int n, int64_t n_slots,
                        const float **krows, const float **vrows);
void ds_attn_head_block(ds_cpu_level level, int64_t Dkp, int64_t Dv, float scale, const float *qh,
                        const float *const *krows, const float *const *vrows, int n, float *m, float *l, float *o);
void ds_attn_merge_partition(ds_cpu_level level, int64_t Dv, float *am, float *al, float *ao, float m, float l,
                             const float *o);

/* ops_attn_blocked.c: tile w's state laid out in st and ints (3 nt int32),
 * queries loaded, m = -inf, l = 0, o = 0. */
void ds_attn_tile_init(const ds_attn_op *a, ds_attn_tile *w, float *st, int32_t *ints);

/* ops_attn_split.c: the slot split of an op of few tokens x kv heads;
 * part_offset: floats of the scratch before the partials. */
void ds_attn_split_walk(const ds_kernel_params *p, const ds_attn_op *a, int64_t T, int64_t Hkv, int64_t group,
                        size_t part_offset);

#endif
