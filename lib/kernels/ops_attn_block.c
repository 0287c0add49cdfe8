/*
 * ops_attn_block.c — one block of the blocked attention kernel
 * (ops_attn_blocked.c): the block's key and value rows decoded (the next
 * blocks' rows prefetched), one head's online-softmax step over them, and
 * the merge of a partition's (m, l, o) into the partitions before it.
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
void ds_attn_head_block(ds_cpu_level level, int64_t Dkp, int64_t Dv, float scale, const float *qh,
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

/* The key and value rows of entries [j0, j0 + n) of a slot list (slots NULL:
 * entry j is slot j) of kv head hk, decoded into this thread's block (or
 * read in place); lanes past n repeat row 0 (scored, then given -inf). */
void ds_attn_block_rows(const ds_attn_op *a, int64_t hk, const int32_t *slots, int64_t j0, int n, int64_t n_slots,
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

/* Partition k's (m, l, o) into the merge of partitions 0 .. k-1 (see the
 * top): ao = fma(c, o, ao ca) per element through ds_attn_pv (one fused
 * multiply-add, the same bits at every level). */
void ds_attn_merge_partition(ds_cpu_level level, int64_t Dv, float *am, float *al, float *ao, float m, float l,
                            const float *o)
{
  const float mn = m > *am ? m : *am, ca = ds_attn_exp1(*am - mn), c = ds_attn_exp1(m - mn);
  *am = mn;
  *al = ds_fmaf(l, c, *al * ca);
  scale_row(ao, Dv, ca);
  ds_attn_pv(level, Dv, ao, &o, &c, 1);
}

