/*
 * quant_blocks.c — the 32-value GGUF block formats, bit-exact with ggml
 * (ggml-common.h block structs, ggml-quants.c dequantize_row_* and the
 * reference quantizers quantize_row_*_ref). d and m are IEEE half floats.
 *
 *   Q8_0  {f16 d; i8 q[32]}                 x = q d
 *   Q8_1  {f16 d; f16 s; i8 q[32]}          x = q d            (s = d * sum q)
 *   Q4_0  {f16 d; u8 q[16]}                 x_j = (lo4(q_j) - 8) d, x_{j+16} = (hi4(q_j) - 8) d
 *   Q4_1  {f16 d; f16 m; u8 q[16]}          x_j = lo4(q_j) d + m, x_{j+16} = hi4(q_j) d + m
 *   Q5_0  {f16 d; u8 qh[4]; u8 q[16]}       5th bit of value j in bit j of the LE u32 qh; x = (v - 16) d
 *   Q5_1  {f16 d; f16 m; u8 qh[4]; u8 q[16]} x = v d + m
 */
#include "kernels/quants.h"

#include <math.h>
#include <string.h>

#define QK DS_QK
#define half ds_get_half
#define put_half ds_put_half

static inline uint32_t u32le(const uint8_t *p) { return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24; }

/* ---- Q8_0 / Q8_1 ----------------------------------------------------------- */

static void q8_0_to_float(const void *src, float *y, int64_t n)
{
  const uint8_t *b = src;
  for (int64_t i = 0; i < n / QK; i++, b += 34) {
    float d = half(b);
    for (int j = 0; j < QK; j++) y[i * QK + j] = (float)(int8_t)b[2 + j] * d;
  }
}

/* amax / 127, q = round(x / d) (half away from zero, as roundf). */
static void q8_0_from_float(const float *x, void *dst, int64_t n)
{
  uint8_t *b = dst;
  for (int64_t i = 0; i < n / QK; i++, b += 34, x += QK) {
    float amax = 0;
    for (int j = 0; j < QK; j++) amax = fmaxf(amax, fabsf(x[j]));
    float d = amax / 127.0f, id = d ? 1.0f / d : 0.0f;
    put_half(b, d);
    for (int j = 0; j < QK; j++) b[2 + j] = (uint8_t)(int8_t)roundf(x[j] * id);
  }
}

static void q8_1_to_float(const void *src, float *y, int64_t n)
{
  const uint8_t *b = src;
  for (int64_t i = 0; i < n / QK; i++, b += 36) {
    float d = half(b);
    for (int j = 0; j < QK; j++) y[i * QK + j] = (float)(int8_t)b[4 + j] * d;
  }
}

static void q8_1_from_float(const float *x, void *dst, int64_t n)
{
  uint8_t *b = dst;
  for (int64_t i = 0; i < n / QK; i++, b += 36, x += QK) {
    float amax = 0;
    for (int j = 0; j < QK; j++) amax = fmaxf(amax, fabsf(x[j]));
    float d = amax / 127.0f, id = d ? 1.0f / d : 0.0f;
    int sum = 0;
    for (int j = 0; j < QK; j++) {
      int8_t q = (int8_t)roundf(x[j] * id);
      b[4 + j] = (uint8_t)q;
      sum += q;
    }
    put_half(b, d);
    put_half(b + 2, (float)sum * d);
  }
}

/* ---- Q4_0 / Q4_1 ----------------------------------------------------------- */

static void q4_0_to_float(const void *src, float *y, int64_t n)
{
  const uint8_t *b = src;
  for (int64_t i = 0; i < n / QK; i++, b += 18, y += QK) {
    float d = half(b);
    for (int j = 0; j < 16; j++) {
      y[j] = (float)((b[2 + j] & 0x0F) - 8) * d;
      y[j + 16] = (float)((b[2 + j] >> 4) - 8) * d;
    }
  }
}

/* d = max / -8 with max the value of largest magnitude (sign kept), q =
 * min(15, trunc(x / d + 8.5)). */
static void q4_0_from_float(const float *x, void *dst, int64_t n)
{
  uint8_t *b = dst;
  for (int64_t i = 0; i < n / QK; i++, b += 18, x += QK) {
    float amax = 0, max = 0;
    for (int j = 0; j < QK; j++)
      if (fabsf(x[j]) > amax) { amax = fabsf(x[j]); max = x[j]; }
    float d = max / -8.0f, id = d ? 1.0f / d : 0.0f;
    put_half(b, d);
    for (int j = 0; j < 16; j++) {
      int q0 = (int)(int8_t)(x[j] * id + 8.5f), q1 = (int)(int8_t)(x[j + 16] * id + 8.5f);
      q0 = q0 < 15 ? q0 : 15;
      q1 = q1 < 15 ? q1 : 15;
      b[2 + j] = (uint8_t)(q0 | q1 << 4);
    }
  }
}

static void q4_1_to_float(const void *src, float *y, int64_t n)
{
  const uint8_t *b = src;
  for (int64_t i = 0; i < n / QK; i++, b += 20, y += QK) {
    float d = half(b), m = half(b + 2);
    for (int j = 0; j < 16; j++) {
      y[j] = (float)(b[4 + j] & 0x0F) * d + m;
      y[j + 16] = (float)(b[4 + j] >> 4) * d + m;
    }
  }
}

/* d = (max - min) / 15, m = min, q = min(15, trunc((x - min) / d + 0.5)). */
static void q4_1_from_float(const float *x, void *dst, int64_t n)
{
  uint8_t *b = dst;
  for (int64_t i = 0; i < n / QK; i++, b += 20, x += QK) {
    float min = INFINITY, max = -INFINITY;
    for (int j = 0; j < QK; j++) { min = fminf(min, x[j]); max = fmaxf(max, x[j]); }
    float d = (max - min) / 15.0f, id = d ? 1.0f / d : 0.0f;
    put_half(b, d);
    put_half(b + 2, min);
    for (int j = 0; j < 16; j++) {
      int q0 = (int)(int8_t)((x[j] - min) * id + 0.5f), q1 = (int)(int8_t)((x[j + 16] - min) * id + 0.5f);
      q0 = q0 < 15 ? q0 : 15;
      q1 = q1 < 15 ? q1 : 15;
      b[4 + j] = (uint8_t)(q0 | q1 << 4);
    }
  }
}

/* ---- Q5_0 / Q5_1 ----------------------------------------------------------- */

static void q5_0_to_float(const void *src, float *y, int64_t n)
{
  const uint8_t *b = src;
  for (int64_t i = 0; i < n / QK; i++, b += 22, y += QK) {
    float d = half(b);
    uint32_t qh = u32le(b + 2);
    for (int j = 0; j < 16; j++) {
      int hi0 = (int)((qh >> j) << 4 & 0x10), hi1 = (int)((qh >> (j + 12)) & 0x10);
      y[j] = (float)(((b[6 + j] & 0x0F) | hi0) - 16) * d;
      y[j + 16] = (float)(((b[6 + j] >> 4) | hi1) - 16) * d;
    }
  }
}

/* d = max / -16, q = min(31, trunc(x / d + 16.5)); bit 4 of q goes to qh. */
static void q5_0_from_float(const float *x, void *dst, int64_t n)
{
  uint8_t *b = dst;
  for (int64_t i = 0; i < n / QK; i++, b += 22, x += QK) {
    float amax = 0, max = 0;
    for (int j = 0; j < QK; j++)
      if (fabsf(x[j]) > amax) { amax = fabsf(x[j]); max = x[j]; }
    float d = max / -16.0f, id = d ? 1.0f / d : 0.0f;
    put_half(b, d);
    uint32_t qh = 0;
    for (int j = 0; j < 16; j++) {
      int q0 = (int)(int8_t)(x[j] * id + 16.5f), q1 = (int)(int8_t)(x[j + 16] * id + 16.5f);
      q0 = q0 < 31 ? q0 : 31;
      q1 = q1 < 31 ? q1 : 31;
      b[6 + j] = (uint8_t)((q0 & 0x0F) | (q1 & 0x0F) << 4);
      qh |= (uint32_t)((q0 & 0x10) >> 4) << j;
      qh |= (uint32_t)((q1 & 0x10) >> 4) << (j + 16);
    }
    for (int k = 0; k < 4; k++) b[2 + k] = (uint8_t)(qh >> (8 * k));
  }
}

static void q5_1_to_float(const void *src, float *y, int64_t n)
{
  const uint8_t *b = src;
  for (int64_t i = 0; i < n / QK; i++, b += 24, y += QK) {
    float d = half(b), m = half(b + 2);
    uint32_t qh = u32le(b + 4);
    for (int j = 0; j < 16; j++) {
      int hi0 = (int)((qh >> j) << 4 & 0x10), hi1 = (int)((qh >> (j + 12)) & 0x10);
      y[j] = (float)((b[8 + j] & 0x0F) | hi0) * d + m;
      y[j + 16] = (float)((b[8 + j] >> 4) | hi1) * d + m;
    }
  }
}

/* d = (max - min) / 31, m = min, q = trunc((x - min) / d + 0.5). ggml leaves
 * q unclamped here; rounding can push the top value to 32, which would wrap to
 * 0 in 5 bits, so it is clamped to 31 (identical output whenever ggml's is
 * valid). */
static void q5_1_from_float(const float *x, void *dst, int64_t n)
{
  uint8_t *b = dst;
  for (int64_t i = 0; i < n / QK; i++, b += 24, x += QK) {
    float min = INFINITY, max = -INFINITY;
    for (int j = 0; j < QK; j++) { min = fminf(min, x[j]); max = fmaxf(max, x[j]); }
    float d = (max - min) / 31.0f, id = d ? 1.0f / d : 0.0f;
    put_half(b, d);
    put_half(b + 2, min);
    uint32_t qh = 0;
    for (int j = 0; j < 16; j++) {
      int q0 = (int)((x[j] - min) * id + 0.5f), q1 = (int)((x[j + 16] - min) * id + 0.5f);
      q0 = q0 < 31 ? q0 : 31;
      q1 = q1 < 31 ? q1 : 31;
      b[8 + j] = (uint8_t)((q0 & 0x0F) | (q1 & 0x0F) << 4);
      qh |= (uint32_t)((q0 & 0x10) >> 4) << j;
      qh |= (uint32_t)((q1 & 0x10) >> 4) << (j + 16);
    }
    for (int k = 0; k < 4; k++) b[4 + k] = (uint8_t)(qh >> (8 * k));
  }
}

/* ---- table ----------------------------------------------------------------- */

const ds_type_traits *ds_quant_block32_traits(int type)
{
#define B_TRAITS(var, nm, size, fn)                                                          \
  static const ds_type_traits var = {.name = nm, .block_size = QK, .type_size = size,       \
                                     .is_quantized = true, .to_float = fn##_to_float,      \
                                     .from_float = fn##_from_float}
  B_TRAITS(q4_0, "Q4_0", 18, q4_0);
  B_TRAITS(q4_1, "Q4_1", 20, q4_1);
  B_TRAITS(q5_0, "Q5_0", 22, q5_0);
  B_TRAITS(q5_1, "Q5_1", 24, q5_1);
  B_TRAITS(q8_0, "Q8_0", 34, q8_0);
  B_TRAITS(q8_1, "Q8_1", 36, q8_1);
#undef B_TRAITS
  switch (type) {
  case DSEEK_TYPE_Q4_0: return &q4_0;
  case DSEEK_TYPE_Q4_1: return &q4_1;
  case DSEEK_TYPE_Q5_0: return &q5_0;
  case DSEEK_TYPE_Q5_1: return &q5_1;
  case DSEEK_TYPE_Q8_0: return &q8_0;
  case DSEEK_TYPE_Q8_1: return &q8_1;
  default: return NULL;
  }
}
