/*
 * q4_k_r8_neon.h — the R8 Q4_K dot (q4_k_r8.h, vec.h: dot_q4_k_r8) for
 * AArch64, included by vec_neon.c once per instruction set, like
 * vec_neon_int.h: R8_ACC is the accumulator type of one block's row sums,
 * R8_ZERO its zero, R8_DOT4(acc, u, q) adds u_i q_i (16 int8 pairs) into it,
 * R8_ROWS(acc) gives the four rows' exact sums (lane i: bytes 4i .. 4i + 3),
 * NEON_FN(name) names this copy. Both copies compute q4_k_r8.h's order and
 * give the scalar twin's bits.
 *
 * Rows 0-3 and 4-7 sit in the four 32-bit lanes of two registers. Chunk k
 * of pair p holds 4 qs bytes of each row (rows 0-3 in its first 16 bytes):
 * the low nibbles meet activation bytes 4k .. 4k + 3 of block 2p, the high
 * nibbles those of block 2p + 1, the 4 activation bytes broadcast to every
 * lane. Each block's sum is exact in int32 (|isum| <= 32 * 15 * 127), and
 * t = sc * isum too (< 2^22, so its f32 is exact): the twin's t.
 */
#ifndef DS_KERNELS_Q4_K_R8_NEON_H
#define DS_KERNELS_Q4_K_R8_NEON_H   /* the helpers below once; the dot once per inclusion */

#include "kernels/q4_k_r8.h"
#include "kernels/vec.h"

#include <arm_neon.h>
#include <string.h>

/* sc[8j + r], m[8j + r] of the R8 super-block at blk (q4_k_r8.h: sl, sh):
 * blocks j < 4 take bits 0-3 of sh, blocks j >= 4 bits 4-7. */
static inline __attribute__((always_inline)) void ds_q4_k_r8_scales_neon(const uint8_t *blk, uint8_t *sc, uint8_t *m)
{
  const uint8x16_t nib = vdupq_n_u8(0x0F), top = vdupq_n_u8(0x30);
  for (int i = 0; i < 2; i++) {   /* sh bytes 16i .. 16i + 15: blocks 2i, 2i + 1 and 2i + 4, 2i + 5 */
    const uint8x16_t h = vld1q_u8(blk + 96 + 16 * i);
    const uint8x16_t l0 = vld1q_u8(blk + 32 + 16 * i), l1 = vld1q_u8(blk + 64 + 16 * i);
    vst1q_u8(sc + 16 * i, vorrq_u8(vandq_u8(l0, nib), vandq_u8(vshlq_n_u8(h, 4), top)));
    vst1q_u8(sc + 32 + 16 * i, vorrq_u8(vandq_u8(l1, nib), vandq_u8(h, top)));
    vst1q_u8(m + 16 * i, vorrq_u8(vshrq_n_u8(l0, 4), vandq_u8(vshlq_n_u8(h, 2), top)));
    vst1q_u8(m + 32 + 16 * i, vorrq_u8(vshrq_n_u8(l1, 4), vandq_u8(vshrq_n_u8(h, 2), top)));
  }
}

/* Four u8 at p widened to the four 32-bit lanes. */
static inline __attribute__((always_inline)) uint32x4_t ds_q4_k_r8_lanes_neon(const uint8_t *p)
{
  uint32_t v;
  memcpy(&v, p, 4);
  return vmovl_u16(vget_low_u16(vmovl_u8(vreinterpret_u8_u32(vdup_n_u32(v)))));
}

/* Four f16 at p as f32 (exact). */
static inline __attribute__((always_inline)) float32x4_t ds_q4_k_r8_half4_neon(const uint8_t *p)
{
  uint16_t h[4];
  memcpy(h, p, 8);
  return vcvt_f32_f16(vreinterpret_f16_u16(vld1_u16(h)));
}

#endif

/* One group of eight R8 rows against nc QA columns, out[c * 8 + r]. */
static inline __attribute__((always_inline)) void NEON_FN(dot_q4_k_r8_n)(int64_t K, const uint8_t *w, const char *x,
                                                                         size_t xs, const int nc, float *out)
{
  float32x4_t acc[DS_VEC_COLS][2];
  const float *xd[DS_VEC_COLS];
  const int32_t *xsum[DS_VEC_COLS];
  for (int c = 0; c < nc; c++) {
    acc[c][0] = acc[c][1] = vdupq_n_f32(0.0f);
    xd[c] = ds_qa_d(x + c * xs, K);
    xsum[c] = ds_qa_s(x + c * xs, K);
  }
  const uint8x16_t nib = vdupq_n_u8(0x0F);
  for (int64_t s = 0; s < K / 256; s++, w += DS_Q4_K_R8_BLOCK_BYTES) {
    uint8_t sc[64], m[64];
    ds_q4_k_r8_scales_neon(w, sc, m);
    float32x4_t a[DS_VEC_COLS][2];
    for (int c = 0; c < nc; c++) a[c][0] = a[c][1] = vdupq_n_f32(0.0f);
    for (int j = 0; j < 8; j++) {   /* A_s = fma(t_b, dx_b, A_s), j in order */
      const uint8_t *qp = w + 128 + 256 * (j / 2);
      const int64_t b = s * 8 + j;
      R8_ACC p[DS_VEC_COLS][2];
      for (int c = 0; c < nc; c++) p[c][0] = p[c][1] = R8_ZERO;
      for (int k = 0; k < 8; k++) {
        uint8x16_t u0 = vld1q_u8(qp + 32 * k), u1 = vld1q_u8(qp + 32 * k + 16);
        if (j % 2) {
          u0 = vshrq_n_u8(u0, 4);
          u1 = vshrq_n_u8(u1, 4);
        } else {
          u0 = vandq_u8(u0, nib);
          u1 = vandq_u8(u1, nib);
        }
        for (int c = 0; c < nc; c++) {
          int32_t q4;
          memcpy(&q4, x + c * xs + b * DS_QA_BLOCK + 4 * k, 4);
          const int8x16_t q = vreinterpretq_s8_s32(vdupq_n_s32(q4));
          p[c][0] = R8_DOT4(p[c][0], vreinterpretq_s8_u8(u0), q);
          p[c][1] = R8_DOT4(p[c][1], vreinterpretq_s8_u8(u1), q);
        }
      }
      const int32x4_t sc0 = vreinterpretq_s32_u32(ds_q4_k_r8_lanes_neon(sc + 8 * j));
      const int32x4_t sc1 = vreinterpretq_s32_u32(ds_q4_k_r8_lanes_neon(sc + 8 * j + 4));
      for (int c = 0; c < nc; c++) {
        const float32x4_t dx = vdupq_n_f32(xd[c][b]);
        a[c][0] = vfmaq_f32(a[c][0], vcvtq_f32_s32(vmulq_s32(R8_ROWS(p[c][0]), sc0)), dx);
        a[c][1] = vfmaq_f32(a[c][1], vcvtq_f32_s32(vmulq_s32(R8_ROWS(p[c][1]), sc1)), dx);
      }
    }
    float32x4_t mn[DS_VEC_COLS][2];   /* Mn_s = fma(m, dx_b * s_b, Mn_s), j in order */
    for (int c = 0; c < nc; c++) mn[c][0] = mn[c][1] = vdupq_n_f32(0.0f);
    for (int j = 0; j < 8; j++) {
      const float32x4_t m0 = vcvtq_f32_u32(ds_q4_k_r8_lanes_neon(m + 8 * j));
      const float32x4_t m1 = vcvtq_f32_u32(ds_q4_k_r8_lanes_neon(m + 8 * j + 4));
      for (int c = 0; c < nc; c++) {
        const float32x4_t ds = vdupq_n_f32(xd[c][s * 8 + j] * (float)xsum[c][s * 8 + j]);
        mn[c][0] = vfmaq_f32(mn[c][0], m0, ds);
        mn[c][1] = vfmaq_f32(mn[c][1], m1, ds);
      }
    }
    /* acc = fma(-dmin, Mn_s, fma(d, A_s, acc)) */
    const float32x4_t d0 = ds_q4_k_r8_half4_neon(w), d1 = ds_q4_k_r8_half4_neon(w + 8);
    const float32x4_t dm0 = ds_q4_k_r8_half4_neon(w + 16), dm1 = ds_q4_k_r8_half4_neon(w + 24);
    for (int c = 0; c < nc; c++) {
      acc[c][0] = vfmsq_f32(vfmaq_f32(acc[c][0], d0, a[c][0]), dm0, mn[c][0]);
      acc[c][1] = vfmsq_f32(vfmaq_f32(acc[c][1], d1, a[c][1]), dm1, mn[c][1]);
    }
  }
  for (int c = 0; c < nc; c++) {
    vst1q_f32(out + 8 * c, acc[c][0]);
    vst1q_f32(out + 8 * c + 4, acc[c][1]);
  }
}

/* The column count a constant in each copy, so the loops over c unroll. */
static void NEON_FN(dot_q4_k_r8)(int64_t K, const void *w, const void *x, size_t xs, int ncols, float *out)
{
  switch (ncols) {
  case 4: NEON_FN(dot_q4_k_r8_n)(K, w, x, xs, 4, out); break;
  case 3: NEON_FN(dot_q4_k_r8_n)(K, w, x, xs, 3, out); break;
  case 2: NEON_FN(dot_q4_k_r8_n)(K, w, x, xs, 2, out); break;
  default: NEON_FN(dot_q4_k_r8_n)(K, w, x, xs, 1, out); break;
  }
}
