/*
 * quants_k.c — the K-quant super-blocks (256 values), bit-exact with ggml
 * (ggml-common.h block_q*_K, ggml-quants.c dequantize_row_q*_K and
 * quantize_row_q*_K_ref). Offsets are bytes within one block; d, dmin are f16.
 *
 * Q2_K (84)  scales[16]@0 qs[64]@16 d@80 dmin@82
 *   16 groups of 16; group g: sc = scales[g] & 15, m = scales[g] >> 4.
 *   Value i = 128h + 32s + 16t + l (h half, s shift 0..3, t 0..1, l 0..15):
 *   q = (qs[32h + 16t + l] >> 2s) & 3, group g = 8h + 2s + t,
 *   x = (d sc) q - (dmin m).
 * Q3_K (110) hmask[32]@0 qs[64]@32 scales[12]@96 d@108
 *   Same 2-bit layout as Q2_K; the 3rd bit of value i is bit (4h + s) of
 *   hmask[16t + l]; q3 = q2 - (bit ? 0 : 4) in [-4, 3].
 *   6-bit group scales: low 4 bits in scales[g] (g < 8) or scales[g-8] >> 4,
 *   high 2 bits at bit 2(g/4) of scales[8 + g%4]; x = (d (sc - 32)) q3.
 * Q4_K (144) d@0 dmin@2 scales[12]@4 qs[128]@16
 *   8 groups of 32, 6-bit sc and m packed as get_scale_min_k4 (ds_scale_min_k4, quants.h).
 *   Value i = 64c + 32u + l: q = nibble u of qs[32c + l], group 2c + u,
 *   x = (d sc) q - (dmin m).
 * Q5_K (176) d@0 dmin@2 scales[12]@4 qh[32]@16 qs[128]@48
 *   As Q4_K plus a 5th bit: bit (2c + u) of qh[l] adds 16.
 * Q6_K (210) ql[128]@0 qh[64]@128 scales[16]@192 (int8) d@208
 *   Value i = 128h + 32r + l: low 4 bits are nibble (r / 2) of ql[64h + 32(r%2) + l],
 *   high 2 bits are bits 2r..2r+1 of qh[32h + l]; q = that - 32 in [-32, 31];
 *   group 8h + 2r + l/16; x = (d sc) q.
 * Q8_K (292) d@0 (f32) qs[256]@4 (int8) bsums[16]@260 (int16, sums of 16 qs)
 *   x = d q. Used for activations in K-quant dot products.
 */
#include "kernels/quants.h"

#include <math.h>
#include <string.h>

#define QK_K DS_QK_K

static inline int imin(int a, int b) { return a < b ? a : b; }
static inline int imax(int a, int b) { return a > b ? a : b; }

static void pack_scale_min_k4(uint8_t *q, int j, uint8_t ls, uint8_t lm)
{
  if (j < 4) {
    q[j] = ls;
    q[j + 4] = lm;
  } else {
    q[j + 4] = (uint8_t)((ls & 0xF) | ((lm & 0xF) << 4));
    q[j - 4] |= (uint8_t)((ls >> 4) << 6);
    q[j] |= (uint8_t)((lm >> 4) << 6);
  }
}

/* 6-bit scale of group j of Q3_K (before subtracting 32). */
static inline int q3_scale(const uint8_t *s, int j)
{
  int lo = j < 8 ? s[j] & 0xF : s[j - 8] >> 4;
  int hi = (s[8 + j % 4] >> (2 * (j / 4))) & 3;
  return lo | hi << 4;
}

/* Levels L[256] in [0, 3] into the 2-bit layout shared by Q2_K and Q3_K. */
static void pack_2bit(uint8_t *qs, const uint8_t *L)
{
  for (int j = 0; j < QK_K; j += 128)
    for (int l = 0; l < 32; l++)
      qs[j / 4 + l] = (uint8_t)(L[j + l] | L[j + l + 32] << 2 | L[j + l + 64] << 4 | L[j + l + 96] << 6);
}

/* ---- Q2_K --------------------------------------------------------------- */

static void q2_k_to_float(const void *src, float *y, int64_t n)
{
  const uint8_t *b = src;
  for (int64_t i = 0; i < n / QK_K; i++, b += 84) {
    float d = ds_get_half(b + 80), min = ds_get_half(b + 82);
    const uint8_t *q = b + 16;
    int is = 0;
    for (int h = 0; h < 2; h++, q += 32) {
      for (int shift = 0; shift < 8; shift += 2) {
        for (int t = 0; t < 2; t++) {
          uint8_t sc = b[is++];
          float dl = d * (float)(sc & 0xF), ml = min * (float)(sc >> 4);
          for (int l = 0; l < 16; l++) *y++ = dl * (float)((q[16 * t + l] >> shift) & 3) - ml;
        }
      }
    }
  }
}

/* Per group of 16: asymmetric fit (make_qkx2_quants, nmax 3, weights |x|,
 * mean absolute error); group scales and mins to 4 bits against the largest
 * of each; then requantize with the stored scales. */
static void q2_k_from_float(const float *x, void *dst, int64_t n)
{
  uint8_t *b = dst;
  uint8_t L[QK_K], Laux[16];
  float weights[16], mins[QK_K / 16], scales[QK_K / 16];
  for (int64_t i = 0; i < n / QK_K; i++, b += 84, x += QK_K) {
    float max_scale = 0, max_min = 0;
    for (int j = 0; j < QK_K / 16; j++) {
      for (int l = 0; l < 16; l++) weights[l] = fabsf(x[16 * j + l]);
      scales[j] = ds_make_qkx2_quants(16, 3, x + 16 * j, weights, L + 16 * j, &mins[j], Laux,
                                      -0.5f, 0.1f, 15, true);
      if (scales[j] > max_scale) max_scale = scales[j];
      if (mins[j] > max_min) max_min = mins[j];
    }
    uint8_t *sc = b;
    if (max_scale > 0) {
      float iscale = 15.0f / max_scale;
      for (int j = 0; j < QK_K / 16; j++) sc[j] = (uint8_t)ds_nearest_int(iscale * scales[j]);
      ds_put_half(b + 80, max_scale / 15.0f);
    } else {
      memset(sc, 0, QK_K / 16);
      ds_put_half(b + 80, 0.0f);
    }
    if (max_min > 0) {
      float iscale = 15.0f / max_min;
      for (int j = 0; j < QK_K / 16; j++) sc[j] |= (uint8_t)(ds_nearest_int(iscale * mins[j]) << 4);
      ds_put_half(b + 82, max_min / 15.0f);
    } else {
      ds_put_half(b + 82, 0.0f);
    }
    for (int j = 0; j < QK_K / 16; j++) {
      float d = ds_get_half(b + 80) * (float)(sc[j] & 0xF);
      if (d == 0) continue;
      float dm = ds_get_half(b + 82) * (float)(sc[j] >> 4);
      for (int l = 0; l < 16; l++)
        L[16 * j + l] = (uint8_t)imax(0, imin(3, ds_nearest_int((x[16 * j + l] + dm) / d)));
    }
    pack_2bit(b + 16, L);
  }
}

/* ---- Q3_K --------------------------------------------------------------- */

static void q3_k_to_float(const void *src, float *y, int64_t n)
{
  const uint8_t *b = src;
  for (int64_t i = 0; i < n / QK_K; i++, b += 110) {
    float d_all = ds_get_half(b + 108);
    const uint8_t *hm = b, *q = b + 32, *s = b + 96;
    uint8_t m = 1;
    int is = 0;
    for (int h = 0; h < 2; h++, q += 32) {
      for (int shift = 0; shift < 8; shift += 2, m <<= 1) {
        for (int t = 0; t < 2; t++) {
          float dl = d_all * (float)(q3_scale(s, is++) - 32);
          for (int l = 0; l < 16; l++) {
            int v = ((q[16 * t + l] >> shift) & 3) - ((hm[16 * t + l] & m) ? 0 : 4);
            *y++ = dl * (float)v;
          }
        }
      }
    }
  }
}

/* Per group of 16: symmetric levels in [-4, 3] (make_q3_quants); group scales
 * to 6 bits against the largest |scale| (sign kept, so the largest maps to
 * -32); requantize with the stored scales; bit 2 of each level goes to hmask,
 * value j's to bit j/32 of hmask[j % 32]. */
static void q3_k_from_float(const float *x, void *dst, int64_t n)
{
  uint8_t *b = dst;
  int8_t L[QK_K];
  float scales[QK_K / 16];
  for (int64_t i = 0; i < n / QK_K; i++, b += 110, x += QK_K) {
    float max_scale = 0, amax = 0;
    for (int j = 0; j < QK_K / 16; j++) {
      scales[j] = ds_make_q3_quants(16, 4, x + 16 * j, L + 16 * j);
      float scale = fabsf(scales[j]);
      if (scale > amax) { amax = scale; max_scale = scales[j]; }
    }
    uint8_t *s = b + 96;
    memset(s, 0, 12);
    if (max_scale != 0) {
      float iscale = -32.0f / max_scale;
      for (int j = 0; j < QK_K / 16; j++) {
        int l = imax(-32, imin(31, (int8_t)ds_nearest_int(iscale * scales[j]))) + 32;
        if (j < 8) s[j] = (uint8_t)(l & 0xF);
        else s[j - 8] |= (uint8_t)((l & 0xF) << 4);
        s[8 + j % 4] |= (uint8_t)((l >> 4) << (2 * (j / 4)));
      }
      ds_put_half(b + 108, 1 / iscale);
    } else {
      ds_put_half(b + 108, 0.0f);
    }
    for (int j = 0; j < QK_K / 16; j++) {
      float d = ds_get_half(b + 108) * (float)(q3_scale(s, j) - 32);
      if (d == 0) continue;
      for (int l = 0; l < 16; l++)
        L[16 * j + l] = (int8_t)(imax(-4, imin(3, ds_nearest_int(x[16 * j + l] / d))) + 4);
    }
    uint8_t *hmask = b, Lu[QK_K];
    memset(hmask, 0, QK_K / 8);
    for (int j = 0; j < QK_K; j++) {
      Lu[j] = (uint8_t)L[j];
      if (Lu[j] > 3) {
        hmask[j % 32] |= (uint8_t)(1u << (j / 32));
        Lu[j] -= 4;
      }
    }
    pack_2bit(b + 32, Lu);
  }
}

/* ---- Q4_K / Q5_K -------------------------------------------------------- */

static void q4_k_to_float(const void *src, float *y, int64_t n)
{
  const uint8_t *b = src;
  for (int64_t i = 0; i < n / QK_K; i++, b += 144) {
    float d = ds_get_half(b), min = ds_get_half(b + 2);
    const uint8_t *s = b + 4, *q = b + 16;
    for (int c = 0; c < 4; c++, q += 32) {
      uint8_t sc, m;
      ds_scale_min_k4(2 * c, s, &sc, &m);
      float d1 = d * (float)sc, m1 = min * (float)m;
      ds_scale_min_k4(2 * c + 1, s, &sc, &m);
      float d2 = d * (float)sc, m2 = min * (float)m;
      for (int l = 0; l < 32; l++) *y++ = d1 * (float)(q[l] & 0xF) - m1;
      for (int l = 0; l < 32; l++) *y++ = d2 * (float)(q[l] >> 4) - m2;
    }
  }
}

static void q5_k_to_float(const void *src, float *y, int64_t n)
{
  const uint8_t *b = src;
  for (int64_t i = 0; i < n / QK_K; i++, b += 176) {
    float d = ds_get_half(b), min = ds_get_half(b + 2);
    const uint8_t *s = b + 4, *qh = b + 16, *ql = b + 48;
    uint8_t u1 = 1, u2 = 2;
    for (int c = 0; c < 4; c++, ql += 32, u1 <<= 2, u2 <<= 2) {
      uint8_t sc, m;
      ds_scale_min_k4(2 * c, s, &sc, &m);
      float d1 = d * (float)sc, m1 = min * (float)m;
      ds_scale_min_k4(2 * c + 1, s, &sc, &m);
      float d2 = d * (float)sc, m2 = min * (float)m;
      for (int l = 0; l < 32; l++) *y++ = d1 * (float)((ql[l] & 0xF) + (qh[l] & u1 ? 16 : 0)) - m1;
      for (int l = 0; l < 32; l++) *y++ = d2 * (float)((ql[l] >> 4) + (qh[l] & u2 ? 16 : 0)) - m2;
    }
  }
}

/* Shared by Q4_K (nmax 15) and Q5_K (nmax 31): per group of 32, weights
 * sqrt(mean x^2) + |x|, asymmetric least-squares fit (make_qkx2_quants);
 * group scales and mins to 6 bits against the largest of each; requantize
 * with the stored values. L gets levels in [0, nmax]; the caller packs them. */
static void k4_fit(const float *x, uint8_t *b, int nmax, float rmin, int nstep, uint8_t *L)
{
  uint8_t Laux[32];
  float weights[32], mins[QK_K / 32], scales[QK_K / 32];
  float max_scale = 0, max_min = 0;
  for (int j = 0; j < QK_K / 32; j++) {
    float sum_x2 = 0;
    for (int l = 0; l < 32; l++) sum_x2 += x[32 * j + l] * x[32 * j + l];
    float av_x = sqrtf(sum_x2 / 32);
    for (int l = 0; l < 32; l++) weights[l] = av_x + fabsf(x[32 * j + l]);
    scales[j] = ds_make_qkx2_quants(32, nmax, x + 32 * j, weights, L + 32 * j, &mins[j], Laux,
                                    rmin, 0.1f, nstep, false);
    if (scales[j] > max_scale) max_scale = scales[j];
    if (mins[j] > max_min) max_min = mins[j];
  }
  float inv_scale = max_scale > 0 ? 63.0f / max_scale : 0.0f;
  float inv_min = max_min > 0 ? 63.0f / max_min : 0.0f;
  uint8_t *s = b + 4;
  for (int j = 0; j < QK_K / 32; j++) {
    uint8_t ls = (uint8_t)ds_nearest_int(inv_scale * scales[j]);
    uint8_t lm = (uint8_t)ds_nearest_int(inv_min * mins[j]);
    pack_scale_min_k4(s, j, ls < 63 ? ls : 63, lm < 63 ? lm : 63);
  }
  ds_put_half(b, max_scale / 63.0f);
  ds_put_half(b + 2, max_min / 63.0f);
  for (int j = 0; j < QK_K / 32; j++) {
    uint8_t sc, m;
    ds_scale_min_k4(j, s, &sc, &m);
    float d = ds_get_half(b) * (float)sc;
    if (d == 0) continue;
    float dm = ds_get_half(b + 2) * (float)m;
    for (int l = 0; l < 32; l++)
      L[32 * j + l] = (uint8_t)imax(0, imin(nmax, ds_nearest_int((x[32 * j + l] + dm) / d)));
  }
}

static void q4_k_from_float(const float *x, void *dst, int64_t n)
{
  uint8_t *b = dst, L[QK_K];
  for (int64_t i = 0; i < n / QK_K; i++, b += 144, x += QK_K) {
    k4_fit(x, b, 15, -1.0f, 20, L);
    uint8_t *q = b + 16;
    for (int j = 0; j < QK_K; j += 64, q += 32)
      for (int l = 0; l < 32; l++) q[l] = (uint8_t)(L[j + l] | L[j + l + 32] << 4);
  }
}

static void q5_k_from_float(const float *x, void *dst, int64_t n)
{
  uint8_t *b = dst, L[QK_K];
  for (int64_t i = 0; i < n / QK_K; i++, b += 176, x += QK_K) {
    k4_fit(x, b, 31, -0.5f, 15, L);
    uint8_t *qh = b + 16, *ql = b + 48;
    memset(qh, 0, QK_K / 8);
    uint8_t m1 = 1, m2 = 2;
    for (int j = 0; j < QK_K; j += 64, ql += 32, m1 <<= 2, m2 <<= 2) {
      for (int l = 0; l < 32; l++) {
        int l1 = L[j + l], l2 = L[j + l + 32];
        if (l1 > 15) { l1 -= 16; qh[l] |= m1; }
        if (l2 > 15) { l2 -= 16; qh[l] |= m2; }
        ql[l] = (uint8_t)(l1 | l2 << 4);
      }
    }
  }
}

/* ---- Q6_K --------------------------------------------------------------- */

static void q6_k_to_float(const void *src, float *y, int64_t n)
{
  const uint8_t *b = src;
  for (int64_t i = 0; i < n / QK_K; i++, b += 210) {
    float d = ds_get_half(b + 208);
    const uint8_t *ql = b, *qh = b + 128;
    const int8_t *sc = (const int8_t *)(b + 192);
    for (int h = 0; h < 2; h++, y += 128, ql += 64, qh += 32, sc += 8) {
      for (int l = 0; l < 32; l++) {
        int is = l / 16;
        int q1 = ((ql[l] & 0xF) | ((qh[l] >> 0) & 3) << 4) - 32;
        int q2 = ((ql[l + 32] & 0xF) | ((qh[l] >> 2) & 3) << 4) - 32;
        int q3 = ((ql[l] >> 4) | ((qh[l] >> 4) & 3) << 4) - 32;
        int q4 = ((ql[l + 32] >> 4) | ((qh[l] >> 6) & 3) << 4) - 32;
        y[l] = d * (float)sc[is] * (float)q1;
        y[l + 32] = d * (float)sc[is + 2] * (float)q2;
        y[l + 64] = d * (float)sc[is + 4] * (float)q3;
        y[l + 96] = d * (float)sc[is + 6] * (float)q4;
      }
    }
  }
}

/* Per group of 16: symmetric levels in [-32, 31] (make_qx_quants, weights
 * x^2); group scales to int8 with the largest |scale| mapped to -128 (sign
 * kept); requantize with the stored scales. */
static void q6_k_from_float(const float *x, void *dst, int64_t n)
{
  uint8_t *b = dst;
  int8_t L[QK_K];
  float scales[QK_K / 16];
  for (int64_t i = 0; i < n / QK_K; i++, b += 210, x += QK_K) {
    float max_scale = 0, max_abs_scale = 0;
    for (int j = 0; j < QK_K / 16; j++) {
      scales[j] = ds_make_qx_quants(16, 32, x + 16 * j, L + 16 * j, NULL);
      float abs_scale = fabsf(scales[j]);
      if (abs_scale > max_abs_scale) { max_abs_scale = abs_scale; max_scale = scales[j]; }
    }
    if (max_abs_scale < 1e-15f) {   /* GROUP_MAX_EPS: an all-zero block */
      memset(b, 0, 210);
      continue;
    }
    float iscale = -128.0f / max_scale;
    int8_t *sc = (int8_t *)(b + 192);
    ds_put_half(b + 208, 1 / iscale);
    for (int j = 0; j < QK_K / 16; j++) sc[j] = (int8_t)imin(127, ds_nearest_int(iscale * scales[j]));
    for (int j = 0; j < QK_K / 16; j++) {
      float d = ds_get_half(b + 208) * (float)sc[j];
      if (d == 0) continue;
      for (int l = 0; l < 16; l++)
        L[16 * j + l] = (int8_t)(imax(-32, imin(31, ds_nearest_int(x[16 * j + l] / d))) + 32);
    }
    uint8_t *ql = b, *qh = b + 128;
    for (int j = 0; j < QK_K; j += 128, ql += 64, qh += 32) {
      for (int l = 0; l < 32; l++) {
        uint8_t v0 = (uint8_t)L[j + l], v1 = (uint8_t)L[j + l + 32];
        uint8_t v2 = (uint8_t)L[j + l + 64], v3 = (uint8_t)L[j + l + 96];
        ql[l] = (uint8_t)((v0 & 0xF) | (v2 & 0xF) << 4);
        ql[l + 32] = (uint8_t)((v1 & 0xF) | (v3 & 0xF) << 4);
        qh[l] = (uint8_t)((v0 >> 4) | (v1 >> 4) << 2 | (v2 >> 4) << 4 | (v3 >> 4) << 6);
      }
    }
  }
}

/* ---- Q8_K --------------------------------------------------------------- */

static void q8_k_to_float(const void *src, float *y, int64_t n)
{
  const uint8_t *b = src;
  for (int64_t i = 0; i < n / QK_K; i++, b += 292) {
    float d;
    memcpy(&d, b, 4);
    for (int j = 0; j < QK_K; j++) *y++ = d * (float)(int8_t)b[4 + j];
  }
}

/* d = max / -127 with max the value of largest magnitude (sign kept), q =
 * min(127, nearest(x / d)); bsums[g] = sum of q over values 16g..16g+15. */
static void q8_k_from_float(const float *x, void *dst, int64_t n)
{
  uint8_t *b = dst;
  for (int64_t i = 0; i < n / QK_K; i++, b += 292, x += QK_K) {
    float max = 0, amax = 0;
    for (int j = 0; j < QK_K; j++) {
      float ax = fabsf(x[j]);
      if (ax > amax) { amax = ax; max = x[j]; }
    }
    if (amax == 0) {
      memset(b, 0, 292);
      continue;
    }
    float iscale = -127.0f / max;
    int8_t *qs = (int8_t *)(b + 4);
    for (int j = 0; j < QK_K; j++) qs[j] = (int8_t)imin(127, ds_nearest_int(iscale * x[j]));
    for (int g = 0; g < QK_K / 16; g++) {
      int sum = 0;
      for (int l = 0; l < 16; l++) sum += qs[16 * g + l];
      b[260 + 2 * g] = (uint8_t)(sum & 0xFF);
      b[261 + 2 * g] = (uint8_t)((sum >> 8) & 0xFF);
    }
    float d = 1 / iscale;
    memcpy(b, &d, 4);
  }
}

/* ---- table -------------------------------------------------------------- */

const ds_type_traits *ds_quant_k_traits(int type)
{
#define K_TRAITS(var, nm, size, fn)                                                          \
  static const ds_type_traits var = {.name = nm, .block_size = QK_K, .type_size = size,     \
                                     .is_quantized = true, .to_float = fn##_to_float,      \
                                     .from_float = fn##_from_float}
  K_TRAITS(q2_k, "Q2_K", 84, q2_k);
  K_TRAITS(q3_k, "Q3_K", 110, q3_k);
  K_TRAITS(q4_k, "Q4_K", 144, q4_k);
  K_TRAITS(q5_k, "Q5_K", 176, q5_k);
  K_TRAITS(q6_k, "Q6_K", 210, q6_k);
  K_TRAITS(q8_k, "Q8_K", 292, q8_k);
#undef K_TRAITS
  switch (type) {
  case DSEEK_TYPE_Q2_K: return &q2_k;
  case DSEEK_TYPE_Q3_K: return &q3_k;
  case DSEEK_TYPE_Q4_K: return &q4_k;
  case DSEEK_TYPE_Q5_K: return &q5_k;
  case DSEEK_TYPE_Q6_K: return &q6_k;
  case DSEEK_TYPE_Q8_K: return &q8_k;
  default: return NULL;
  }
}
