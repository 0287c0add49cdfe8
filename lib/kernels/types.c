/* types.c — the table of element types and the plain (non-block) conversions. */
#include "kernels/types.h"
#include "kernels/quants.h"

#include <math.h>
#include <string.h>

/* ---- f16 / bf16 / e4m3 scalar conversions -------------------------------- */

float ds_f16_to_f32(uint16_t h)
{
  uint32_t sign = (uint32_t)(h & 0x8000) << 16;
  uint32_t exp = (h >> 10) & 0x1F;
  uint32_t man = h & 0x3FF;
  uint32_t bits;
  if (exp == 0) {
    if (man == 0) {
      bits = sign;
    } else {             /* subnormal: value = man * 2^-24 */
      float f = (float)man * 0x1p-24f;
      memcpy(&bits, &f, 4);
      bits |= sign;
    }
  } else if (exp == 31) {
    bits = sign | 0x7F800000u | (man << 13);
  } else {
    bits = sign | ((exp + 112) << 23) | (man << 13);
  }
  float out;
  memcpy(&out, &bits, 4);
  return out;
}

uint16_t ds_f32_to_f16(float f)
{
  uint32_t x;
  memcpy(&x, &f, 4);
  uint32_t sign = (x >> 16) & 0x8000;
  uint32_t ax = x & 0x7FFFFFFFu;
  if (ax > 0x7F800000u) return (uint16_t)(sign | 0x7E00 | ((ax >> 13) & 0x3FF));   /* quiet NaN, top payload bits kept */
  if (ax >= 0x477FF000u) return (uint16_t)(sign | 0x7C00);         /* overflow -> inf (rounds past 65504) */
  if (ax < 0x38800000u) {                                          /* subnormal or zero in f16 */
    float a;
    memcpy(&a, &ax, 4);
    /* value / 2^-24, rounded to nearest even by the FPU */
    float q = a * 0x1p24f;
    uint32_t m = (uint32_t)nearbyintf(q);
    return (uint16_t)(sign | m);
  }
  uint32_t exp = (ax >> 23) - 112;
  uint32_t man = ax & 0x7FFFFF;
  uint32_t h = (exp << 10) | (man >> 13);
  uint32_t rest = man & 0x1FFF;
  if (rest > 0x1000 || (rest == 0x1000 && (h & 1))) h++;
  return (uint16_t)(sign | h);
}

float ds_bf16_to_f32(uint16_t h)
{
  uint32_t bits = (uint32_t)h << 16;
  float f;
  memcpy(&f, &bits, 4);
  return f;
}

uint16_t ds_f32_to_bf16(float f)
{
  uint32_t x;
  memcpy(&x, &f, 4);
  if ((x & 0x7FFFFFFFu) > 0x7F800000u) return (uint16_t)((x >> 16) | 0x40);   /* quiet NaN */
  x += 0x7FFF + ((x >> 16) & 1);
  return (uint16_t)(x >> 16);
}

/* e4m3fn: s eeee mmm, bias 7; exp 0 is subnormal (m/8 * 2^-6); exp 15 with
 * m = 7 (0x7F, 0xFF) is NaN, the rest of exp 15 is normal (max 1.75 * 2^8 =
 * 448); there are no infinities. */
float ds_e4m3_to_f32(uint8_t v)
{
  uint32_t sign = (uint32_t)(v & 0x80) << 24;
  uint32_t exp = (v >> 3) & 0xF;
  uint32_t man = v & 0x7;
  uint32_t bits;
  if (exp == 0xF && man == 0x7) {
    bits = sign | 0x7FC00000u;                                 /* NaN */
  } else if (exp == 0) {
    float f = (float)man * 0x1p-9f;                            /* subnormal: man/8 * 2^-6 */
    memcpy(&bits, &f, 4);
    bits |= sign;
  } else {
    bits = sign | (exp + 120) << 23 | man << 20;               /* rebias 7 -> 127 */
  }
  float out;
  memcpy(&out, &bits, 4);
  return out;
}

/* With E = max(-6, floor(log2 |f|)), |f| in units of 2^(E-3) rounds (to
 * nearest even) to q in 0..16, and the code is (E + 6) * 8 + q: for normals
 * q in 8..15 gives exponent field E + 7 and mantissa q - 8 (q = 16 carries
 * into the next exponent), for E = -6 q < 8 is the subnormal mantissa.
 * Values at or beyond 448 saturate to +-448 (0x7E/0xFE); NaN keeps its sign. */
uint8_t ds_f32_to_e4m3(float f)
{
  uint8_t sign = signbit(f) ? 0x80 : 0;
  if (isnan(f)) return sign | 0x7F;
  float a = fabsf(f);
  if (a >= 448.0f) return sign | 0x7E;
  if (a == 0.0f) return sign;
  int e;
  frexpf(a, &e);                                               /* a = m 2^e, m in [0.5, 1) */
  int E = e - 1 < -6 ? -6 : e - 1;
  int q = (int)nearbyintf(ldexpf(a, 3 - E));                   /* exact scaling, RNE */
  return (uint8_t)(sign | ((E + 6) * 8 + q));
}

/* ---- plain types --------------------------------------------------------- */

static void f32_to_float(const void *src, float *dst, int64_t n) { memcpy(dst, src, (size_t)n * 4); }
static void f32_from_float(const float *src, void *dst, int64_t n) { memcpy(dst, src, (size_t)n * 4); }

static void f16_to_float(const void *src, float *dst, int64_t n)
{
  const uint16_t *s = src;
  for (int64_t i = 0; i < n; i++) dst[i] = ds_f16_to_f32(s[i]);
}
static void f16_from_float(const float *src, void *dst, int64_t n)
{
  uint16_t *d = dst;
  for (int64_t i = 0; i < n; i++) d[i] = ds_f32_to_f16(src[i]);
}
static void bf16_to_float(const void *src, float *dst, int64_t n)
{
  const uint16_t *s = src;
  for (int64_t i = 0; i < n; i++) dst[i] = ds_bf16_to_f32(s[i]);
}
static void bf16_from_float(const float *src, void *dst, int64_t n)
{
  uint16_t *d = dst;
  for (int64_t i = 0; i < n; i++) d[i] = ds_f32_to_bf16(src[i]);
}
static void e4m3_to_float(const void *src, float *dst, int64_t n)
{
  const uint8_t *s = src;
  for (int64_t i = 0; i < n; i++) dst[i] = ds_e4m3_to_f32(s[i]);
}
static void e4m3_from_float(const float *src, void *dst, int64_t n)
{
  uint8_t *d = dst;
  for (int64_t i = 0; i < n; i++) d[i] = ds_f32_to_e4m3(src[i]);
}

/* ---- the table ----------------------------------------------------------- */
/* Block types are registered in quants.c via ds_quant_traits(). */

static const ds_type_traits plain_f32 = {.name = "F32", .block_size = 1, .type_size = 4,
                                       .to_float = f32_to_float, .from_float = f32_from_float};
static const ds_type_traits plain_f16 = {.name = "F16", .block_size = 1, .type_size = 2,
                                       .to_float = f16_to_float, .from_float = f16_from_float};
static const ds_type_traits plain_bf16 = {.name = "BF16", .block_size = 1, .type_size = 2,
                                       .to_float = bf16_to_float, .from_float = bf16_from_float};
static const ds_type_traits plain_e4m3 = {.name = "F8_E4M3", .block_size = 1, .type_size = 1,
                                       .to_float = e4m3_to_float, .from_float = e4m3_from_float};

const ds_type_traits *ds_type_traits_get(int type)
{
  switch (type) {
  case DSEEK_TYPE_F32: return &plain_f32;
  case DSEEK_TYPE_F16: return &plain_f16;
  case DSEEK_TYPE_BF16: return &plain_bf16;
  case DSEEK_TYPE_F8_E4M3: return &plain_e4m3;
  default: return ds_quant_traits(type);
  }
}

bool ds_type_block_info(int type, int64_t *block_size, size_t *type_size)
{
  /* {ggml id, values per block, bytes per block}, from ggml's block structs. */
  static const struct { int id; int64_t bs; size_t ts; } geometry[] = {
    {0, 1, 4},     {1, 1, 2},     {2, 32, 18},   {3, 32, 20},   {6, 32, 22},
    {7, 32, 24},   {8, 32, 34},   {9, 32, 36},   {10, 256, 84}, {11, 256, 110},
    {12, 256, 144}, {13, 256, 176}, {14, 256, 210}, {15, 256, 292}, {16, 256, 66},
    {17, 256, 74}, {18, 256, 98},  {19, 256, 50}, {20, 32, 18},  {21, 256, 110},
    {22, 256, 82}, {23, 256, 136}, {24, 1, 1},    {25, 1, 2},    {26, 1, 4},
    {27, 1, 8},    {28, 1, 8},    {29, 256, 56}, {30, 1, 2},    {34, 256, 54},
    {35, 256, 66}, {39, 32, 17},  {DSEEK_TYPE_F8_E4M3, 1, 1},
  };
  for (size_t i = 0; i < DS_ARRAY_LEN(geometry); i++) {
    if (geometry[i].id == type) {
      *block_size = geometry[i].bs;
      *type_size = geometry[i].ts;
      return true;
    }
  }
  return false;
}

bool ds_row_size(int type, int64_t n, uint64_t *bytes)
{
  const ds_type_traits *t = ds_type_traits_get(type);
  if (!t || n < 0 || n % t->block_size != 0) return false;
  return !ds_mul_u64((uint64_t)(n / t->block_size), t->type_size, bytes);
}

const char *dseek_type_name(int type)
{
  static const char *const ggml_names[] = {
    "F32", "F16", "Q4_0", "Q4_1", "Q4_2", "Q4_3", "Q5_0", "Q5_1", "Q8_0", "Q8_1",
    "Q2_K", "Q3_K", "Q4_K", "Q5_K", "Q6_K", "Q8_K", "IQ2_XXS", "IQ2_XS", "IQ3_XXS",
    "IQ1_S", "IQ4_NL", "IQ3_S", "IQ2_S", "IQ4_XS", "I8", "I16", "I32", "I64", "F64",
    "IQ1_M", "BF16", "Q4_0_4_4", "Q4_0_4_8", "Q4_0_8_8", "TQ1_0", "TQ2_0",
    "IQ4_NL_4_4", "IQ4_NL_4_8", "IQ4_NL_8_8", "MXFP4",
  };
  if (type >= 0 && type < (int)DS_ARRAY_LEN(ggml_names) && type != 4 && type != 5)
    return ggml_names[type];
  if (type == DSEEK_TYPE_F8_E4M3) return "F8_E4M3";
  return "unknown";
}
