/*
 * ops_attn.h — the blocked attention kernel (ops_attn_blocked.c) and the
 * helpers of it that tests reach directly (ops_attn_rows.c, ops_attn_scores.c).
 */
#ifndef DS_KERNELS_OPS_ATTN_H
#define DS_KERNELS_OPS_ATTN_H

#include "kernels/cpu.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* n values of a cache row of type F16, BF16 or Q8_0 (Q8_0: n a multiple of 32) ->
 * f32 by level (F16C/AVX2/AVX-512, NEON; else the type's scalar to_float,
 * the twin: same bits at every level) and true; any other type: false,
 * nothing written. */
bool ds_attn_row_to_f32(ds_cpu_level level, int type, const void *src, float *dst, int64_t n);

/* The decode ds_attn_row_to_f32 runs for type at level, resolved once (the
 * kernel calls it per cache row); NULL for a type it declines. */
typedef void (*ds_attn_row_fn)(const void *src, float *dst, int64_t n);
ds_attn_row_fn ds_attn_row_decoder(ds_cpu_level level, int type);

/* o[d] += e[0] v[0][d] + ... + e[n-1] v[n-1][d] as one FMA chain per
 * element in j order (n successive fused axpys): AVX-512 / AVX2+FMA by level,
 * else fmaf (the twin); every level gives the same bits. */
void ds_attn_pv(ds_cpu_level level, int64_t Dv, float *o, const float *const *v, const float *e, int n);

/* Rows per score call of the blocked kernel (ops_attn_blocked.c). */
#define DS_ATTN_BLOCK 8

/* out[j] = q . k[j] for the DS_ATTN_BLOCK rows k[j] of D values (D % 8 == 0)
 * in the one order of ops_attn_scores.c: every level gives the scalar twin's
 * bits. */
void ds_attn_scores8(ds_cpu_level level, int64_t D, const float *q, const float *const *k, float *out);

struct ds_tensor;
struct ds_kernel_params;
/* The attention kernel of every level above the reference (ops_attn_blocked.c). */
void ds_kernel_attn_blocked(const struct ds_kernel_params *p, struct ds_tensor *dst);
size_t ds_kernel_attn_blocked_scratch_floats(const struct ds_tensor *node);

#endif
