/*
 * ops_attn.h — helpers of the attention kernels (ops_attn.c, ops_attn_flash.c)
 * that tests reach directly.
 */
#ifndef DS_KERNELS_OPS_ATTN_H
#define DS_KERNELS_OPS_ATTN_H

#include "kernels/cpu.h"

#include <stdint.h>

/* n f16 values -> f32: F16C at DS_CPU_AVX2 and above, else the F16 type's
 * scalar to_float (its twin; the conversion is exact, so both give the same
 * bits). */
void ds_attn_f16_to_f32(ds_cpu_level level, const uint16_t *src, float *dst, int64_t n);

/* o[d] += e[0] v[0][d] + ... + e[n-1] v[n-1][d] as one FMA chain per
 * element in j order (n successive fused axpys): AVX-512 / AVX2+FMA by level,
 * else fmaf (the twin); every level gives the same bits. */
void ds_attn_pv(ds_cpu_level level, int64_t Dv, float *o, const float *const *v, const float *e, int n);

#endif
