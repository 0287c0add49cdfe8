/*
 * quants.h — internals shared by the GGUF block-format files:
 *   quant_blocks.c   the 32-value formats Q4_0 Q4_1 Q5_0 Q5_1 Q8_0 Q8_1
 *   quants_k.c       the 256-value K-quant super-blocks Q2_K .. Q8_K
 *   quants_k_fit.c   ggml's scale searches used by the K-quant quantizers
 *   quants.c         the table ds_type_traits_get() falls back to
 * Byte layouts are little-endian as in GGUF; half floats are IEEE binary16.
 */
#ifndef DS_KERNELS_QUANTS_H
#define DS_KERNELS_QUANTS_H

#include "kernels/types.h"

#define DS_QK 32     /* values per block of the 32-value formats */
#define DS_QK_K 256  /* values per K-quant super-block */

const ds_type_traits *ds_quant_traits(int type);
const ds_type_traits *ds_quant_block32_traits(int type);
const ds_type_traits *ds_quant_k_traits(int type);

static inline float ds_get_half(const uint8_t *p) { return ds_f16_to_f32((uint16_t)(p[0] | p[1] << 8)); }
static inline void ds_put_half(uint8_t *p, float f)
{
  uint16_t h = ds_f32_to_f16(f);
  p[0] = (uint8_t)h;
  p[1] = (uint8_t)(h >> 8);
}

/* 6-bit (scale, min) of group j of Q4_K/Q5_K from the 12 packed bytes q:
 * groups 0..3 sit in the low 6 bits of q[j] and q[j+4]; groups 4..7 keep
 * their low 4 bits in the nibbles of q[j+4] and their top 2 bits in the top
 * bits of q[j-4] (scale) and q[j] (min). */
static inline void ds_scale_min_k4(int j, const uint8_t *q, uint8_t *sc, uint8_t *m)
{
  if (j < 4) {
    *sc = q[j] & 63;
    *m = q[j + 4] & 63;
  } else {
    *sc = (uint8_t)((q[j + 4] & 0xF) | ((q[j - 4] >> 6) << 4));
    *m = (uint8_t)((q[j + 4] >> 4) | ((q[j] >> 6) << 4));
  }
}

/* ggml's nearest_int: adding 1.5 * 2^23 leaves round(f) (half to even) in the
 * low mantissa bits. Exact for |f| < 2^22; larger or non-finite inputs give
 * some value without undefined behaviour (the quantizers never produce them
 * from finite data of sane range). */
int ds_nearest_int(float f);

/* The per-group fits of ggml-quants.c, same float arithmetic in the same order
 * so that files match llama.cpp's byte for byte. L receives levels.
 *
 * make_qx_quants (symmetric, rmse_type 1 = weights x^2 unless qw given):
 *   levels l = clamp(nearest(iscale x), -nmax, nmax-1) + nmax, trying 19
 *   inverse scales -(nmax + 0.1 k)/max, k = -9..9, keeping the one with the
 *   largest (sum w x l)^2 / sum w l^2; returns scale = sum w x l / sum w l^2. */
float ds_make_qx_quants(int n, int nmax, const float *x, int8_t *L, const float *qw);

/* make_q3_quants with do_rmse: symmetric levels in [-nmax, nmax-1] refined by
 * up to 5 coordinate-descent passes with weights x^2; L gets l + nmax. */
float ds_make_q3_quants(int n, int nmax, const float *x, int8_t *L);

/* make_qkx2_quants (asymmetric, x ~ scale * l - the_min): levels in [0, nmax],
 * nstep+1 trial inverse scales (rmin + rdelta k + nmax)/(max - min), each
 * refitting (scale, min) by weighted least squares; error is weighted |diff|
 * (use_mad) or diff^2. Returns scale; *the_min = -min >= 0. Laux: n bytes. */
float ds_make_qkx2_quants(int n, int nmax, const float *x, const float *weights, uint8_t *L,
                          float *the_min, uint8_t *Laux, float rmin, float rdelta, int nstep,
                          bool use_mad);

#endif
