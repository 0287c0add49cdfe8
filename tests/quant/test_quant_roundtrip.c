/* test_quant_roundtrip.c — quantize -> dequantize for every block type with
 * per-type error bounds, special inputs, and the scalar conversions over all
 * of their codes. */
#include "harness.h"
#include "kernels/types.h"

#include <math.h>
#include <stdint.h>
#include <stdlib.h>

static uint64_t rng_state = 0x2545F4914F6CDD1Dull;
static uint32_t rng_u32(void)
{
  rng_state ^= rng_state << 13;
  rng_state ^= rng_state >> 7;
  rng_state ^= rng_state << 17;
  return (uint32_t)(rng_state >> 16);
}
static float uniform(void) { return (float)(rng_u32() & 0xFFFFFF) / 16777216.0f * 2.0f - 1.0f; }
static float gaussian(void)   /* Box-Muller; weights look roughly like this */
{
  float u = ((float)(rng_u32() & 0xFFFFFF) + 1.0f) / 16777217.0f, v = uniform();
  return sqrtf(-2.0f * logf(u)) * cosf(3.14159265f * v);
}

/* Relative RMSE bounds, rmse(x - dequant(quant(x))) / rms(x), for Gaussian
 * data. A b-bit uniform grid over +-3 sigma has step 6 sigma / 2^b and error
 * step / sqrt(12) ~ 1.7 * 2^-b relative; the block scales of the better types
 * adapt to each block's range, and the values measured here (noted) sit
 * comfortably inside the bounds. */
static const struct { int type; double bound; } types[] = {
  {DSEEK_TYPE_Q8_0, 0.007},  /* measured 0.0052 */
  {DSEEK_TYPE_Q8_1, 0.007},  /* 0.0054 */
  {DSEEK_TYPE_Q8_K, 0.009},  /* 0.0068: one scale per 256 values */
  {DSEEK_TYPE_Q6_K, 0.025},  /* 0.018 */
  {DSEEK_TYPE_Q5_0, 0.06},   /* 0.043 */
  {DSEEK_TYPE_Q5_1, 0.05},   /* 0.038 */
  {DSEEK_TYPE_Q5_K, 0.05},   /* 0.036 */
  {DSEEK_TYPE_Q4_0, 0.12},   /* 0.085 */
  {DSEEK_TYPE_Q4_1, 0.11},   /* 0.078 */
  {DSEEK_TYPE_Q4_K, 0.10},   /* 0.072 */
  {DSEEK_TYPE_Q3_K, 0.20},   /* 0.151 */
  {DSEEK_TYPE_Q2_K, 0.38},   /* 0.295 */
};

static double rel_rmse(const float *x, const float *y, int64_t n)
{
  double e = 0, s = 0;
  for (int64_t i = 0; i < n; i++) {
    e += ((double)x[i] - y[i]) * ((double)x[i] - y[i]);
    s += (double)x[i] * x[i];
  }
  return s > 0 ? sqrt(e / s) : sqrt(e);
}

/* Quantize and dequantize n values; returns the decoded copy (malloc'd). */
static float *roundtrip(const ds_type_traits *t, const float *x, int64_t n)
{
  size_t bytes = (size_t)(n / t->block_size) * t->type_size;
  uint8_t *q = malloc(bytes), *q2 = malloc(bytes);
  float *y = malloc((size_t)n * sizeof *y);
  t->from_float(x, q, n);
  t->from_float(x, q2, n);
  CHECK_MSG(memcmp(q, q2, bytes) == 0, "%s: quantizer not deterministic", t->name);
  t->to_float(q, y, n);
  free(q);
  free(q2);
  return y;
}

static void test_random_data(void)
{
  for (size_t k = 0; k < DS_ARRAY_LEN(types); k++) {
    const ds_type_traits *t = ds_type_traits_get(types[k].type);
    const int64_t sizes[] = {t->block_size, 64 * t->block_size};
    for (size_t s = 0; s < 2; s++) {
      int64_t n = sizes[s];
      float *x = malloc((size_t)n * sizeof *x);
      for (int64_t i = 0; i < n; i++) x[i] = 0.02f * gaussian();
      float *y = roundtrip(t, x, n);
      double r = rel_rmse(x, y, n);
      CHECK_MSG(r <= types[k].bound, "%s n=%lld: relative rmse %.4f > %.4f", t->name, (long long)n, r,
                types[k].bound);
      if (s == 1) fprintf(stderr, "  %-5s relative rmse %.4f (bound %.3f)\n", t->name, r, types[k].bound);
      free(x);
      free(y);
    }
  }
}

/* Data at very different scales per block: each block's error is relative to
 * its own range (block scales), so tiny blocks keep their precision. */
static void test_mixed_scales(void)
{
  for (size_t k = 0; k < DS_ARRAY_LEN(types); k++) {
    const ds_type_traits *t = ds_type_traits_get(types[k].type);
    int64_t bs = t->block_size, n = 4 * bs;
    float *x = malloc((size_t)n * sizeof *x);
    const float scale[4] = {1.0f, 1e-3f, 100.0f, 3e-2f};
    for (int64_t i = 0; i < n; i++) x[i] = scale[i / bs] * gaussian();
    float *y = roundtrip(t, x, n);
    for (int b = 0; b < 4; b++) {
      double r = rel_rmse(x + b * bs, y + b * bs, bs);
      CHECK_MSG(r <= 1.5 * types[k].bound, "%s block at scale %g: relative rmse %.4f", t->name,
                (double)scale[b], r);
    }
    free(x);
    free(y);
  }
}

/* Blocks are independent: quantizing 64 blocks in one call gives the same
 * bytes as quantizing them one at a time (no state carried between blocks). */
static void test_blocks_independent(void)
{
  for (size_t k = 0; k < DS_ARRAY_LEN(types); k++) {
    const ds_type_traits *t = ds_type_traits_get(types[k].type);
    int64_t bs = t->block_size, nb = 64;
    size_t ts = t->type_size;
    float *x = malloc((size_t)(nb * bs) * sizeof *x);
    uint8_t *whole = malloc((size_t)nb * ts), *single = malloc((size_t)nb * ts);
    for (int64_t i = 0; i < nb * bs; i++) x[i] = (float)(1 + i / bs % 5) * gaussian();
    t->from_float(x, whole, nb * bs);
    for (int64_t b = 0; b < nb; b++) t->from_float(x + b * bs, single + (size_t)b * ts, bs);
    CHECK_MSG(memcmp(whole, single, (size_t)nb * ts) == 0, "%s: blocks depend on each other", t->name);
    free(x);
    free(whole);
    free(single);
  }
}

static void test_special_inputs(void)
{
  for (size_t k = 0; k < DS_ARRAY_LEN(types); k++) {
    const ds_type_traits *t = ds_type_traits_get(types[k].type);
    int64_t bs = t->block_size, n = 3 * bs;
    float *x = calloc((size_t)n, sizeof *x);

    /* all zeros decode to exact zeros */
    float *y = roundtrip(t, x, n);
    int bad = 0;
    for (int64_t i = 0; i < n; i++) bad += y[i] != 0.0f;
    CHECK_MSG(bad == 0, "%s: zeros -> %d nonzero", t->name, bad);
    free(y);

    /* constants, positive and negative: within the format's step of c */
    const float consts[] = {0.75f, -1.5f};
    for (int c = 0; c < 2; c++) {
      for (int64_t i = 0; i < n; i++) x[i] = consts[c];
      y = roundtrip(t, x, n);
      double worst = 0;
      for (int64_t i = 0; i < n; i++) worst = fmax(worst, fabs(y[i] - consts[c]));
      CHECK_MSG(worst <= 0.01 * fabs(consts[c]), "%s: constant %g off by %g", t->name, (double)consts[c], worst);
      free(y);
    }

    /* one huge outlier among small values: the outlier survives to within a
     * part in 100 (it sets its block's scale), and the other blocks are
     * untouched by it */
    for (int64_t i = 0; i < n; i++) x[i] = 0.01f * gaussian();
    x[bs + 7] = 1000.0f;
    y = roundtrip(t, x, n);
    CHECK_MSG(fabs(y[bs + 7] - 1000.0) <= 10.0, "%s: outlier 1000 -> %g", t->name, (double)y[bs + 7]);
    double r0 = rel_rmse(x, y, bs), r2 = rel_rmse(x + 2 * bs, y + 2 * bs, bs);
    CHECK_MSG(r0 <= 1.5 * types[k].bound && r2 <= 1.5 * types[k].bound,
              "%s: blocks beside the outlier: relative rmse %.4f %.4f", t->name, r0, r2);
    free(y);
    free(x);
  }
}

/* ---- scalar conversions over every code --------------------------------- */

/* The value of an f16 code from its fields (independent of types.c). */
static double f16_value(uint16_t h)
{
  int e = (h >> 10) & 31, m = h & 1023;
  double v = e == 0 ? ldexp(m, -24) : e == 31 ? (m ? NAN : INFINITY) : ldexp(1024 + m, e - 25);
  return (h & 0x8000) ? -v : v;
}

static void test_f16_all_codes(void)
{
  int bad_decode = 0, bad_roundtrip = 0, bad_nan = 0;
  for (uint32_t c = 0; c < 65536; c++) {
    uint16_t h = (uint16_t)c;
    float f = ds_f16_to_f32(h);
    double want = f16_value(h);
    if (isnan(want)) {
      uint16_t back = ds_f32_to_f16(f);
      bad_nan += !isnan(f) || (back & 0x7C00) != 0x7C00 || (back & 0x3FF) == 0 || (back & 0x8000) != (h & 0x8000);
      continue;
    }
    bad_decode += (double)f != want || !!signbit(f) != ((h & 0x8000) != 0);
    bad_roundtrip += ds_f32_to_f16(f) != h;
  }
  CHECK_EQ_INT(bad_decode, 0);
  CHECK_EQ_INT(bad_roundtrip, 0);
  CHECK_EQ_INT(bad_nan, 0);
}

static void test_bf16_all_codes(void)
{
  int bad = 0, bad_nan = 0;
  for (uint32_t c = 0; c < 65536; c++) {
    uint16_t h = (uint16_t)c;
    float f = ds_bf16_to_f32(h);
    uint32_t bits;
    memcpy(&bits, &f, 4);
    bad += bits != c << 16;
    if (isnan(f)) {
      uint16_t back = ds_f32_to_bf16(f);
      bad_nan += (back & 0x7F80) != 0x7F80 || (back & 0x7F) == 0 || (back & 0x8000) != (h & 0x8000);
    } else {
      bad += ds_f32_to_bf16(f) != h;
    }
  }
  CHECK_EQ_INT(bad, 0);
  CHECK_EQ_INT(bad_nan, 0);
}

static void test_e4m3_all_codes(void)
{
  int bad = 0;
  for (int c = 0; c < 256; c++) {
    int e = (c >> 3) & 15, m = c & 7;
    float f = ds_e4m3_to_f32((uint8_t)c);
    if (e == 15 && m == 7) {
      bad += !isnan(f) || (ds_f32_to_e4m3(f) & 0x7F) != 0x7F;
      continue;
    }
    double want = e == 0 ? ldexp(m, -9) : ldexp(8 + m, e - 10);
    if (c & 0x80) want = -want;
    bad += (double)f != want || !!signbit(f) != ((c & 0x80) != 0);
    bad += ds_f32_to_e4m3(f) != c;
  }
  CHECK_EQ_INT(bad, 0);
}

/* Encoding is round-to-nearest-even: for random floats, no neighbouring code
 * is nearer, and on a tie the chosen code is even. Neighbours of code c are
 * c - 1 and c + 1 in the same sign half (codes are monotone in magnitude). */
static int check_nearest(double x, int code, double (*value)(int), int max_code)
{
  int mag = code & ~(max_code + 1), sign = code & (max_code + 1);
  double err = fabs(value(code) - x);
  for (int d = -1; d <= 1; d += 2) {
    int nb = mag + d;
    if (nb < 0 || nb > max_code) continue;
    double v = value(sign | nb);
    if (isnan(v) || isinf(v)) continue;
    double e2 = fabs(v - x);
    if (e2 < err || (e2 == err && (mag & 1))) return 1;
  }
  return 0;
}
static double f16_code_value(int c) { return f16_value((uint16_t)c); }
static double e4m3_code_value(int c) { return c == 0x7F || c == 0xFF ? NAN : (double)ds_e4m3_to_f32((uint8_t)c); }

static void test_rounding_random(void)
{
  int bad16 = 0, bad8 = 0;
  for (int i = 0; i < 200000; i++) {
    /* magnitudes from 2^-27 to 2^17: subnormal f16 through overflow */
    float x = ldexpf(uniform(), (int)(rng_u32() % 44) - 26);
    uint16_t h = ds_f32_to_f16(x);
    if (fabsf(x) < 65504.0f) bad16 += check_nearest(x, h, f16_code_value, 0x7FFF) || isinf(f16_value(h));
    float y = ldexpf(uniform(), (int)(rng_u32() % 22) - 12);   /* 2^-12 .. 2^9 */
    uint8_t b = ds_f32_to_e4m3(y);
    if (fabsf(y) <= 448.0f) bad8 += check_nearest(y, b, e4m3_code_value, 0x7F);
    else bad8 += (b & 0x7F) != 0x7E;
  }
  CHECK_EQ_INT(bad16, 0);
  CHECK_EQ_INT(bad8, 0);
}

int main(void)
{
  RUN(test_random_data);
  RUN(test_mixed_scales);
  RUN(test_special_inputs);
  RUN(test_blocks_independent);
  RUN(test_f16_all_codes);
  RUN(test_bf16_all_codes);
  RUN(test_e4m3_all_codes);
  RUN(test_rounding_random);
  return DS_TEST_RESULT();
}
