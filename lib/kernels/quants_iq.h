/*
 * quants_iq.h — the GGUF IQ weight types as 32-value blocks of small signed
 * integers: the one view behind the decoders (quants_iq.c) and the integer
 * dots of every level (vec_*.c).
 *
 * Layouts and decode rules are those of ggml (ggml-common.h block_iq*,
 * ggml-quants.c dequantize_row_iq*); the codebooks are in iq_tables.h.
 * A super-block (256 values; IQ4_NL: 32) has 8 (IQ4_NL: 1) blocks of 32. For
 * block j the unpackers give int8 values v[32], two integer multipliers
 * m[0] (values 0..15) and m[1] (16..31) and return the float factor f, so that
 *   x_i = (f m[i / 16]) v_i
 * which is ggml's decode bit for bit: its block scales are f times small odd
 * integers with f a power-of-two fraction of the f16 d (an exact scaling), and
 * IQ1's grid + delta (delta = +-1/8) is (8 grid +- 1) / 8.
 *
 *   type     bytes  layout (byte offsets)                         f     m          v
 *   IQ2_XXS   66   d@0 {u8 idx[4]; u32 signs7x4|s<<28}[8]@2       d/8   2s+1       +-grid (8,25,43)
 *   IQ2_XS    74   d@0 u16 q[32]@2 (idx 9 bits, ksigns 7) s[8]@66 d/8   2 nib+1    +-grid
 *   IQ2_S     82   d@0 idx[32]@2 signs[32]@34 qh[8]@66 s[8]@74    d/8   2 nib+1    +-grid (idx + 2 bits of qh)
 *   IQ3_XXS   98   d@0 idx[64]@2 {u32 signs7x4|s<<28}[8]@66       d/4   2s+1       +-grid (4..62)
 *   IQ3_S    110   d@0 idx[64]@2 qh[8]@66 signs[32]@74 s[4]@106   d     2 nib+1    +-grid (1..15)
 *   IQ1_S     50   d@0 idx[32]@2 u16 qh[8]@34 (3 idx bits x4, s, delta sign)  d/8  2s+1  8 grid +- 1
 *   IQ1_M     56   idx[32]@0 qh[16]@32 u16 sc[4]@48 (3-bit scales; d = f16 of the top nibbles)
 *                                                                   d/8   2s+1 each  8 grid +- 1
 *   IQ4_NL    18   d@0 u8 q[16]@2 (one block)                      d     1          kvalues[nibble]
 *   IQ4_XS   136   d@0 u16 sh@2 u8 sl[4]@4 q[128]@8                d     ls - 32    kvalues[nibble]
 *
 * With QA activations (vec.h) a block's dot is the exact integer
 *   isum = m[0] sum_{i<16} v_i q_i + m[1] sum_{i>=16} v_i q_i
 * (|isum| < 2^25) scaled by f d_b.
 */
#ifndef DS_KERNELS_QUANTS_IQ_H
#define DS_KERNELS_QUANTS_IQ_H

#include "kernels/iq_tables.h"
#include "kernels/quants.h"

#include <stdbool.h>

/* one block: x_i = (f m[i / 16]) v_i, f returned */
typedef float (*ds_iq_unpack_fn)(const uint8_t *sb, int j, int8_t *v, int32_t *m);

static inline uint32_t ds_iq_u32(const uint8_t *p)
{
  return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}
static inline uint32_t ds_iq_u16(const uint8_t *p) { return (uint32_t)p[0] | (uint32_t)p[1] << 8; }

/* n bytes of grid entry g (value k in byte k), each negated where bit k of signs is set */
static inline void ds_iq_signed(uint64_t g, unsigned signs, int n, int8_t *v)
{
  for (int k = 0; k < n; k++) {
    int8_t a = (int8_t)(uint8_t)(g >> 8 * k);
    v[k] = (int8_t)(signs >> k & 1 ? -a : a);
  }
}

static inline float ds_iq2_xxs_unpack(const uint8_t *sb, int j, int8_t *v, int32_t *m)
{
  const uint8_t *p = sb + 2 + 8 * j;
  const uint32_t w = ds_iq_u32(p + 4);
  for (int l = 0; l < 4; l++) ds_iq_signed(ds_iq2xxs_grid[p[l]], ds_ksigns_iq2xs[w >> 7 * l & 127], 8, v + 8 * l);
  m[0] = m[1] = 2 * (int32_t)(w >> 28) + 1;
  return ds_get_half(sb) * 0.125f;
}

static inline float ds_iq2_xs_unpack(const uint8_t *sb, int j, int8_t *v, int32_t *m)
{
  for (int l = 0; l < 4; l++) {
    const uint32_t q = ds_iq_u16(sb + 2 + 8 * j + 2 * l);
    ds_iq_signed(ds_iq2xs_grid[q & 511], ds_ksigns_iq2xs[q >> 9], 8, v + 8 * l);
  }
  m[0] = 2 * (sb[66 + j] & 15) + 1;
  m[1] = 2 * (sb[66 + j] >> 4) + 1;
  return ds_get_half(sb) * 0.125f;
}

static inline float ds_iq2_s_unpack(const uint8_t *sb, int j, int8_t *v, int32_t *m)
{
  const uint8_t *idx = sb + 2 + 4 * j, *signs = sb + 34 + 4 * j;
  const unsigned qh = sb[66 + j];
  for (int l = 0; l < 4; l++) ds_iq_signed(ds_iq2s_grid[idx[l] | (qh << (8 - 2 * l) & 0x300)], signs[l], 8, v + 8 * l);
  m[0] = 2 * (sb[74 + j] & 15) + 1;
  m[1] = 2 * (sb[74 + j] >> 4) + 1;
  return ds_get_half(sb) * 0.125f;
}

static inline float ds_iq3_xxs_unpack(const uint8_t *sb, int j, int8_t *v, int32_t *m)
{
  const uint8_t *idx = sb + 2 + 8 * j;
  const uint32_t w = ds_iq_u32(sb + 66 + 4 * j);
  for (int l = 0; l < 4; l++) {
    const uint64_t g = ds_iq3xxs_grid[idx[2 * l]] | (uint64_t)ds_iq3xxs_grid[idx[2 * l + 1]] << 32;
    ds_iq_signed(g, ds_ksigns_iq2xs[w >> 7 * l & 127], 8, v + 8 * l);
  }
  m[0] = m[1] = 2 * (int32_t)(w >> 28) + 1;
  return ds_get_half(sb) * 0.25f;
}

/* Blocks 2p and 2p + 1 share scale byte p (low, high nibble). */
static inline float ds_iq3_s_unpack(const uint8_t *sb, int j, int8_t *v, int32_t *m)
{
  const uint8_t *idx = sb + 2 + 8 * j, *signs = sb + 74 + 4 * j;
  const unsigned qh = sb[66 + j];
  for (int l = 0; l < 4; l++) {
    const uint64_t g = ds_iq3s_grid[idx[2 * l] | (qh << (8 - 2 * l) & 256)] |
                       (uint64_t)ds_iq3s_grid[idx[2 * l + 1] | (qh << (7 - 2 * l) & 256)] << 32;
    ds_iq_signed(g, signs[l], 8, v + 8 * l);
  }
  m[0] = m[1] = 2 * (sb[106 + j / 2] >> 4 * (j % 2) & 15) + 1;
  return ds_get_half(sb);
}

/* 8 values of an iq1s grid entry as 8 g + 1 (delta +1/8) or 8 g - 1 */
static inline void ds_iq1_group(unsigned idx, bool minus, int8_t *v)
{
  const uint64_t g = ds_iq1s_grid[idx];
  for (int k = 0; k < 8; k++) v[k] = (int8_t)(8 * (int8_t)(uint8_t)(g >> 8 * k) + (minus ? -1 : 1));
}

static inline float ds_iq1_s_unpack(const uint8_t *sb, int j, int8_t *v, int32_t *m)
{
  const uint8_t *idx = sb + 2 + 4 * j;
  const uint32_t qh = ds_iq_u16(sb + 34 + 2 * j);
  for (int l = 0; l < 4; l++) ds_iq1_group(idx[l] | (qh >> 3 * l & 7) << 8, qh & 0x8000, v + 8 * l);
  m[0] = m[1] = 2 * (int32_t)(qh >> 12 & 7) + 1;
  return ds_get_half(sb) * 0.125f;
}

/* The f16 super-block scale of IQ1_M: the top nibbles of its 4 u16 scale words. */
static inline float ds_iq1_m_d(const uint8_t *sb)
{
  const uint8_t *s = sb + 48;
  uint32_t h = ds_iq_u16(s) >> 12 | (ds_iq_u16(s + 2) >> 8 & 0x00F0) | (ds_iq_u16(s + 4) >> 4 & 0x0F00) |
               (ds_iq_u16(s + 6) & 0xF000);
  return ds_f16_to_f32((uint16_t)h);
}

static inline float ds_iq1_m_unpack(const uint8_t *sb, int j, int8_t *v, int32_t *m)
{
  const uint8_t *idx = sb + 4 * j, *qh = sb + 32 + 2 * j;
  const uint32_t sc = ds_iq_u16(sb + 48 + 2 * (j / 2)) >> 6 * (j % 2);
  for (int l = 0; l < 4; l++) {
    const unsigned h = qh[l / 2] >> 4 * (l % 2);   /* 3 index bits, then the delta sign */
    ds_iq1_group(idx[l] | (h & 7) << 8, h & 8, v + 8 * l);
  }
  m[0] = 2 * (int32_t)(sc & 7) + 1;
  m[1] = 2 * (int32_t)(sc >> 3 & 7) + 1;
  return ds_iq1_m_d(sb) * 0.125f;
}

/* IQ4_NL: the super-block is the block (j = 0). */
static inline float ds_iq4_nl_unpack(const uint8_t *sb, int j, int8_t *v, int32_t *m)
{
  (void)j;
  for (int i = 0; i < 16; i++) {
    v[i] = ds_kvalues_iq4nl[sb[2 + i] & 15];
    v[i + 16] = ds_kvalues_iq4nl[sb[2 + i] >> 4];
  }
  m[0] = m[1] = 1;
  return ds_get_half(sb);
}

static inline float ds_iq4_xs_unpack(const uint8_t *sb, int j, int8_t *v, int32_t *m)
{
  const uint8_t *q = sb + 8 + 16 * j;
  for (int i = 0; i < 16; i++) {
    v[i] = ds_kvalues_iq4nl[q[i] & 15];
    v[i + 16] = ds_kvalues_iq4nl[q[i] >> 4];
  }
  const int32_t ls = (sb[4 + j / 2] >> 4 * (j % 2) & 15) | (int32_t)(ds_iq_u16(sb + 2) >> 2 * j & 3) << 4;
  m[0] = m[1] = ls - 32;
  return ds_get_half(sb);
}

/* The unpacker of an IQ type with its super-block geometry, or NULL. */
typedef struct ds_iq_format {
  int type;
  int64_t values;         /* per super-block: 256, IQ4_NL 32 */
  size_t bytes;           /* per super-block */
  ds_iq_unpack_fn unpack;
} ds_iq_format;
const ds_iq_format *ds_iq_format_get(int type);

const ds_type_traits *ds_quant_iq_traits(int type);

#endif
