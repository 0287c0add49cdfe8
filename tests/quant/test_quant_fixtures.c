/* test_quant_fixtures.c — blocks and codes whose values are worked out by
 * hand from the format definitions (comments give the arithmetic), and the
 * traits table itself. */
#include "harness.h"
#include "kernels/types.h"

#include <math.h>
#include <stdint.h>

static void test_traits_table(void)
{
  /* {type, name, values per block, bytes per block}: ggml-common.h sizes */
  static const struct { int type; const char *name; int64_t bs; size_t ts; } want[] = {
    {DSEEK_TYPE_Q4_0, "Q4_0", 32, 18},   {DSEEK_TYPE_Q4_1, "Q4_1", 32, 20},
    {DSEEK_TYPE_Q5_0, "Q5_0", 32, 22},   {DSEEK_TYPE_Q5_1, "Q5_1", 32, 24},
    {DSEEK_TYPE_Q8_0, "Q8_0", 32, 34},   {DSEEK_TYPE_Q8_1, "Q8_1", 32, 36},
    {DSEEK_TYPE_Q2_K, "Q2_K", 256, 84},  {DSEEK_TYPE_Q3_K, "Q3_K", 256, 110},
    {DSEEK_TYPE_Q4_K, "Q4_K", 256, 144}, {DSEEK_TYPE_Q5_K, "Q5_K", 256, 176},
    {DSEEK_TYPE_Q6_K, "Q6_K", 256, 210}, {DSEEK_TYPE_Q8_K, "Q8_K", 256, 292},
  };
  for (size_t i = 0; i < DS_ARRAY_LEN(want); i++) {
    const ds_type_traits *t = ds_type_traits_get(want[i].type);
    CHECK_MSG(t != NULL, "%s", want[i].name);
    if (!t) continue;
    CHECK_STR(t->name, want[i].name);
    CHECK_EQ_INT(t->block_size, want[i].bs);
    CHECK_EQ_INT(t->type_size, want[i].ts);
    CHECK(t->is_quantized);
    CHECK(t->to_float != NULL && t->from_float != NULL);
    int64_t bs;
    size_t ts;
    CHECK(ds_type_block_info(want[i].type, &bs, &ts) && bs == want[i].bs && ts == want[i].ts);
    uint64_t bytes;
    CHECK(ds_row_size(want[i].type, 3 * want[i].bs, &bytes) && bytes == 3 * want[i].ts);
    CHECK(!ds_row_size(want[i].type, want[i].bs + 1, &bytes));
  }
  const int plain[] = {DSEEK_TYPE_F32, DSEEK_TYPE_F16, DSEEK_TYPE_BF16, DSEEK_TYPE_F8_E4M3};
  for (size_t i = 0; i < DS_ARRAY_LEN(plain); i++) {
    const ds_type_traits *t = ds_type_traits_get(plain[i]);
    CHECK(t && !t->is_quantized && t->block_size == 1);
  }
  CHECK(ds_type_traits_get(34) == NULL);   /* TQ1_0: geometry known, not computable */
  CHECK(ds_type_traits_get(999) == NULL);
}

static void decode(int type, const uint8_t *block, float *y, int64_t n)
{
  ds_type_traits_get(type)->to_float(block, y, n);
}

/* Q4_0: d = 0.5 (f16 0x3800), qs[j] = j | (15 - j) << 4.
 * x[j] = (j - 8) * 0.5;  x[j + 16] = ((15 - j) - 8) * 0.5 = (7 - j) / 2.
 * So x[0] = -4, x[8] = 0, x[15] = 3.5, x[16] = 3.5, x[31] = -4. */
static void test_q4_0_by_hand(void)
{
  uint8_t b[18] = {0x00, 0x38};
  for (int j = 0; j < 16; j++) b[2 + j] = (uint8_t)(j | (15 - j) << 4);
  float y[32];
  decode(DSEEK_TYPE_Q4_0, b, y, 32);
  for (int j = 0; j < 16; j++) {
    CHECK(y[j] == (float)(j - 8) * 0.5f);
    CHECK(y[j + 16] == (float)(7 - j) * 0.5f);
  }
  CHECK(y[0] == -4.0f && y[8] == 0.0f && y[15] == 3.5f && y[16] == 3.5f && y[31] == -4.0f);

  /* Quantizing: the largest magnitude is -4 (x[0], first of the ties with
   * x[31]), so d = -4 / -8 = 0.5 and q = trunc(x / 0.5 + 8.5) reproduces the
   * same nibbles: the block above is a fixed point of the reference quantizer. */
  uint8_t q[18];
  ds_type_traits_get(DSEEK_TYPE_Q4_0)->from_float(y, q, 32);
  CHECK(memcmp(q, b, 18) == 0);

  /* x = {6, 0, ..., 0}: max = 6, d = 6 / -8 = -0.75 (f16 0xBA00), id = -4/3;
   * q[0] = trunc(6 * -4/3 + 8.5) = trunc(0.5) = 0 -> decodes (0 - 8) * -0.75 = 6;
   * zeros give trunc(8.5) = 8 -> 0. */
  float x[32] = {6.0f};
  ds_type_traits_get(DSEEK_TYPE_Q4_0)->from_float(x, q, 32);
  CHECK(q[0] == 0x00 && q[1] == 0xBA);
  CHECK(q[2] == 0x80);                    /* lo nibble 0 (x[0]), hi nibble 8 (x[16]) */
  for (int j = 1; j < 16; j++) CHECK(q[2 + j] == 0x88);
}

/* Q8_0: d = 0.25 (0x3400), q[j] = j - 16 -> x[j] = (j - 16) / 4: -4 .. 3.75.
 * A second block with d = -2 (0xC000) and q = {3, -128, 127, 0, ...}
 * -> -6, 256, -254, 0. */
static void test_q8_0_by_hand(void)
{
  uint8_t b[68] = {0x00, 0x34};
  for (int j = 0; j < 32; j++) b[2 + j] = (uint8_t)(int8_t)(j - 16);
  b[34] = 0x00;
  b[35] = 0xC0;
  b[36] = 3;
  b[37] = 0x80;
  b[38] = 0x7F;
  float y[64];
  decode(DSEEK_TYPE_Q8_0, b, y, 64);
  for (int j = 0; j < 32; j++) CHECK(y[j] == (float)(j - 16) / 4.0f);
  CHECK(y[32] == -6.0f && y[33] == 256.0f && y[34] == -254.0f && y[35] == 0.0f);

  /* Quantizing x[j] = j - 16 (amax 16): d = 16/127, q = round(x * 127/16):
   * x = -16 -> -127, x = 4 -> 31.75 -> 32, x = -1 -> -7.94 -> -8, x = 0 -> 0. */
  float x[32];
  for (int j = 0; j < 32; j++) x[j] = (float)(j - 16);
  uint8_t q[34];
  ds_type_traits_get(DSEEK_TYPE_Q8_0)->from_float(x, q, 32);
  CHECK((int8_t)q[2 + 0] == -127);
  CHECK((int8_t)q[2 + 20] == 32);
  CHECK((int8_t)q[2 + 15] == -8);
  CHECK((int8_t)q[2 + 16] == 0);
  CHECK(ds_f16_to_f32((uint16_t)(q[0] | q[1] << 8)) == ds_f16_to_f32(ds_f32_to_f16(16.0f / 127.0f)));
}

/* Q4_K: d = 1 (0x3C00), dmin = 0.5 (0x3800); group scales and mins
 *   sc = {1, 2, 3, 4, 21, 38, 55, 8},  m = {0, 1, 2, 3, 17, 34, 4, 63}
 * packed (j < 4: scales[j] = sc_j | (sc_{j+4} >> 4) << 6,
 *                scales[j+4] = m_j | (m_{j+4} >> 4) << 6,
 *                scales[j+8] = (sc_{j+4} & 15) | (m_{j+4} & 15) << 4):
 *   scales[0] = 1 | 1<<6 = 0x41   scales[4] = 0 | 1<<6 = 0x40   scales[8]  = 5 | 1<<4  = 0x15
 *   scales[1] = 2 | 2<<6 = 0x82   scales[5] = 1 | 2<<6 = 0x81   scales[9]  = 6 | 2<<4  = 0x26
 *   scales[2] = 3 | 3<<6 = 0xC3   scales[6] = 2 | 0<<6 = 0x02   scales[10] = 7 | 4<<4  = 0x47
 *   scales[3] = 4 | 0<<6 = 0x04   scales[7] = 3 | 3<<6 = 0xC3   scales[11] = 8 | 15<<4 = 0xF8
 * qs[32c + l] = (l & 15) | (15 - (l & 15)) << 4: value 64c + l has q = l & 15
 * in group 2c, value 64c + 32 + l has q = 15 - (l & 15) in group 2c + 1.
 * x = (1 * sc) q - (0.5 * m). Spot values:
 *   x[5]   group 0, q 5:          1*5 - 0      = 5
 *   x[35]  group 1, q 15-3 = 12:  2*12 - 0.5   = 23.5
 *   x[160] group 5, q 15:         38*15 - 17   = 553
 *   x[199] group 6, q 7:          55*7 - 2     = 383
 *   x[255] group 7, q 15-15 = 0:  0 - 31.5     = -31.5 */
static void test_q4_k_by_hand(void)
{
  static const int sc[8] = {1, 2, 3, 4, 21, 38, 55, 8}, m[8] = {0, 1, 2, 3, 17, 34, 4, 63};
  uint8_t b[144] = {0x00, 0x3C, 0x00, 0x38, 0x41, 0x82, 0xC3, 0x04, 0x40, 0x81, 0x02, 0xC3, 0x15, 0x26, 0x47, 0xF8};
  for (int c = 0; c < 4; c++)
    for (int l = 0; l < 32; l++) b[16 + 32 * c + l] = (uint8_t)((l & 15) | (15 - (l & 15)) << 4);
  float y[256];
  decode(DSEEK_TYPE_Q4_K, b, y, 256);
  CHECK(y[5] == 5.0f && y[35] == 23.5f && y[160] == 553.0f && y[199] == 383.0f && y[255] == -31.5f);
  int bad = 0;
  for (int i = 0; i < 256; i++) {
    int g = i / 32, l = i % 32;
    int q = g % 2 == 0 ? (l & 15) : 15 - (l & 15);
    if (y[i] != (float)(sc[g] * q) - 0.5f * (float)m[g]) bad++;
  }
  CHECK_EQ_INT(bad, 0);
}

/* e4m3fn: S EEEE MMM, bias 7; E = 0 subnormal m/8 * 2^-6; S1111111 NaN. */
static void test_e4m3_by_hand(void)
{
  CHECK(ds_e4m3_to_f32(0x00) == 0.0f && !signbit(ds_e4m3_to_f32(0x00)));
  CHECK(ds_e4m3_to_f32(0x80) == 0.0f && signbit(ds_e4m3_to_f32(0x80)));
  CHECK(ds_e4m3_to_f32(0x01) == 0x1p-9f);          /* 1/8 * 2^-6 */
  CHECK(ds_e4m3_to_f32(0x07) == 7 * 0x1p-9f);      /* largest subnormal */
  CHECK(ds_e4m3_to_f32(0x08) == 0x1p-6f);          /* E=1 M=0 */
  CHECK(ds_e4m3_to_f32(0x38) == 1.0f);             /* E=7 */
  CHECK(ds_e4m3_to_f32(0x3C) == 1.5f);             /* E=7 M=4 */
  CHECK(ds_e4m3_to_f32(0x78) == 256.0f);           /* E=15 M=0 is a number */
  CHECK(ds_e4m3_to_f32(0x7E) == 448.0f);           /* 1.75 * 2^8, the maximum */
  CHECK(ds_e4m3_to_f32(0xFE) == -448.0f);
  CHECK(ds_e4m3_to_f32(0xC4) == -3.0f);            /* S, E=8 M=4: 1.5 * 2 */
  CHECK(isnan(ds_e4m3_to_f32(0x7F)) && isnan(ds_e4m3_to_f32(0xFF)));

  CHECK(ds_f32_to_e4m3(1.0f) == 0x38);
  CHECK(ds_f32_to_e4m3(1.0625f) == 0x38);          /* halfway 1 / 1.125: even mantissa 0 */
  CHECK(ds_f32_to_e4m3(1.1875f) == 0x3A);          /* halfway 1.125 / 1.25: even mantissa 2 */
  CHECK(ds_f32_to_e4m3(1.07f) == 0x39);            /* above the halfway point */
  CHECK(ds_f32_to_e4m3(0.96875f) == 0x38);         /* halfway 0.9375 (0x37) / 1: carry into E */
  CHECK(ds_f32_to_e4m3(0x1p-10f) == 0x00);         /* half the smallest subnormal: to even 0 */
  CHECK(ds_f32_to_e4m3(3 * 0x1p-10f) == 0x02);     /* 1.5 steps: to even 2 */
  CHECK(ds_f32_to_e4m3(15 * 0x1p-10f) == 0x08);    /* 7.5 steps: to even 8 = 2^-6 */
  CHECK(ds_f32_to_e4m3(-3.0f) == 0xC4);
  CHECK(ds_f32_to_e4m3(464.0f) == 0x7E);           /* past the top: saturate */
  CHECK(ds_f32_to_e4m3(-1e30f) == 0xFE);
  CHECK(ds_f32_to_e4m3(INFINITY) == 0x7E);
  CHECK(ds_f32_to_e4m3(-0.0f) == 0x80);
  CHECK((ds_f32_to_e4m3(NAN) & 0x7F) == 0x7F);
}

/* f16: S EEEEE MMMMMMMMMM, bias 15; bf16: the top half of an f32. */
static void test_f16_bf16_by_hand(void)
{
  CHECK(ds_f16_to_f32(0x3C00) == 1.0f);
  CHECK(ds_f16_to_f32(0x0001) == 0x1p-24f);
  CHECK(ds_f16_to_f32(0x03FF) == 1023 * 0x1p-24f);
  CHECK(ds_f16_to_f32(0x0400) == 0x1p-14f);
  CHECK(ds_f16_to_f32(0x7BFF) == 65504.0f);
  CHECK(ds_f16_to_f32(0xC000) == -2.0f);
  CHECK(isinf(ds_f16_to_f32(0x7C00)) && ds_f16_to_f32(0xFC00) < 0);
  CHECK(signbit(ds_f16_to_f32(0x8000)));

  CHECK(ds_f32_to_f16(65519.0f) == 0x7BFF);         /* below the halfway point to 2^16 */
  CHECK(ds_f32_to_f16(65520.0f) == 0x7C00);         /* halfway, 0x7BFF is odd: to inf */
  CHECK(ds_f32_to_f16(1e9f) == 0x7C00 && ds_f32_to_f16(-1e9f) == 0xFC00);
  CHECK(ds_f32_to_f16(0x1p-25f) == 0x0000);         /* half the smallest subnormal: to even 0 */
  CHECK(ds_f32_to_f16(3 * 0x1p-25f) == 0x0002);     /* 1.5 steps: to even 2 */
  CHECK(ds_f32_to_f16(1023.5f * 0x1p-24f) == 0x0400); /* into the first normal */
  CHECK(ds_f32_to_f16(1.0f + 0x1p-11f) == 0x3C00);  /* halfway: even */
  CHECK(ds_f32_to_f16(1.0f + 3 * 0x1p-11f) == 0x3C02);
  CHECK(ds_f32_to_f16(-0.0f) == 0x8000);
  uint16_t n = ds_f32_to_f16(NAN);
  CHECK((n & 0x7C00) == 0x7C00 && (n & 0x3FF) != 0);

  CHECK(ds_bf16_to_f32(0x3F80) == 1.0f && ds_bf16_to_f32(0xC000) == -2.0f);
  CHECK(ds_f32_to_bf16(1.0f + 0x1p-8f) == 0x3F80);   /* halfway: even */
  CHECK(ds_f32_to_bf16(1.0f + 3 * 0x1p-8f) == 0x3F82);
  CHECK(ds_f32_to_bf16(3.4028235e38f) == 0x7F80);     /* FLT_MAX rounds past the bf16 max */
  uint16_t bn = ds_f32_to_bf16(NAN);
  CHECK((bn & 0x7F80) == 0x7F80 && (bn & 0x7F) != 0);
}

int main(void)
{
  RUN(test_traits_table);
  RUN(test_q4_0_by_hand);
  RUN(test_q8_0_by_hand);
  RUN(test_q4_k_by_hand);
  RUN(test_e4m3_by_hand);
  RUN(test_f16_bf16_by_hand);
  return DS_TEST_RESULT();
}
