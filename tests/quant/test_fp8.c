/* test_fp8.c — DeepSeek's 128x128 block-scaled e4m3 weights on a shape with
 * partial edge blocks (130 x 200: block rows of 128 and 2, block columns of
 * 128 and 72). */
#include "harness.h"
#include "kernels/fp8.h"

#include <math.h>
#include <stdint.h>
#include <stdlib.h>

enum { ROWS = 130, COLS = 200 };

static void test_scale_shape(void)
{
  int64_t r, c;
  CHECK(ds_fp8_scale_shape(ROWS, COLS, &r, &c) && r == 2 && c == 2);
  CHECK(ds_fp8_scale_shape(128, 128, &r, &c) && r == 1 && c == 1);
  CHECK(ds_fp8_scale_shape(129, 1, &r, &c) && r == 2 && c == 1);
  CHECK(ds_fp8_scale_shape(7168, 18432, &r, &c) && r == 56 && c == 144);   /* V3 gate_proj^T */
  CHECK(ds_fp8_scale_shape(INT64_MAX, 1, &r, &c) && r == INT64_MAX / 128 + 1);
  CHECK(!ds_fp8_scale_shape(0, 5, &r, &c));
  CHECK(!ds_fp8_scale_shape(5, -1, &r, &c));
}

/* Every byte 0x38 (e4m3 1.0) and a distinct scale per block, so each decoded
 * value names the block the decoder took its scale from:
 *   scale_inv = [[1, 2], [4, 8]]  ->  W[i][j] = 1 * scale_inv[i / 128][j / 128]. */
static void test_dequant_block_indexing(void)
{
  static uint8_t q[ROWS * COLS];
  static float w[ROWS * COLS];
  memset(q, 0x38, sizeof q);
  const float scale_inv[4] = {1.0f, 2.0f, 4.0f, 8.0f};
  ds_fp8_dequant(q, scale_inv, ROWS, COLS, w);
  int bad = 0;
  for (int i = 0; i < ROWS; i++)
    for (int j = 0; j < COLS; j++) bad += w[i * COLS + j] != scale_inv[(i / 128) * 2 + j / 128];
  CHECK_EQ_INT(bad, 0);
  CHECK(w[127 * COLS + 127] == 1.0f && w[127 * COLS + 128] == 2.0f);
  CHECK(w[128 * COLS + 0] == 4.0f && w[129 * COLS + 199] == 8.0f);

  /* one row by hand: row 129 (second block row) with bytes 0x3C (1.5) in the
   * first column block and 0xC4 (-3) in the partial one: 1.5 * 4 = 6, -3 * 8 = -24 */
  uint8_t row[COLS];
  float out[COLS];
  for (int j = 0; j < COLS; j++) row[j] = j < 128 ? 0x3C : 0xC4;
  ds_fp8_dequant_row(row, scale_inv + 2, COLS, out);
  CHECK(out[0] == 6.0f && out[127] == 6.0f && out[128] == -24.0f && out[199] == -24.0f);
}

static uint64_t rng_state = 0x853C49E6748FEA9Bull;
static float uniform(void)
{
  rng_state ^= rng_state << 13;
  rng_state ^= rng_state >> 7;
  rng_state ^= rng_state << 17;
  return (float)((rng_state >> 40) & 0xFFFFFF) / 16777216.0f * 2.0f - 1.0f;
}

/* Quantize random weights whose blocks have different ranges, then check the
 * scales (amax / 448 computed here), that each block's largest magnitude maps
 * to +-448, and the reconstruction error (e4m3 has 3 mantissa bits: relative
 * error <= 2^-4 for normal codes, plus an absolute 2^-10 * scale below 2^-6). */
static void test_quantize_roundtrip(void)
{
  static float w[ROWS * COLS], back[ROWS * COLS];
  static uint8_t q[ROWS * COLS];
  const float range[4] = {0.05f, 3.0f, 1e-4f, 700.0f};   /* per block (bi, bj) */
  for (int i = 0; i < ROWS; i++)
    for (int j = 0; j < COLS; j++) w[i * COLS + j] = range[(i / 128) * 2 + j / 128] * uniform();
  w[129 * COLS + 150] = -2000.0f;   /* the partial corner block's extreme */
  float scale_inv[4];
  ds_fp8_quantize(w, ROWS, COLS, q, scale_inv);

  for (int b = 0; b < 4; b++) {
    int i0 = (b / 2) * 128, i1 = b / 2 ? ROWS : 128, j0 = (b % 2) * 128, j1 = b % 2 ? COLS : 128;
    float amax = 0;
    int at = 0;
    for (int i = i0; i < i1; i++)
      for (int j = j0; j < j1; j++)
        if (fabsf(w[i * COLS + j]) > amax) { amax = fabsf(w[i * COLS + j]); at = i * COLS + j; }
    CHECK_MSG(scale_inv[b] == amax / 448.0f, "block %d: scale %g, amax/448 = %g", b, (double)scale_inv[b],
              (double)(amax / 448.0f));
    CHECK_MSG((q[at] & 0x7F) == 0x7E, "block %d: extreme coded 0x%02x", b, q[at]);
  }
  CHECK(q[129 * COLS + 150] == 0xFE);

  ds_fp8_dequant(q, scale_inv, ROWS, COLS, back);
  int bad = 0;
  for (int i = 0; i < ROWS; i++)
    for (int j = 0; j < COLS; j++) {
      float s = scale_inv[(i / 128) * 2 + j / 128], x = w[i * COLS + j];
      double tol = fabs(x) * 0x1p-4 + s * 0x1p-10 + fabs(x) * 1e-6;
      bad += fabs(back[i * COLS + j] - x) > tol;
    }
  CHECK_EQ_INT(bad, 0);
}

static void test_zero_block(void)
{
  float w[3 * 5] = {0};
  uint8_t q[15];
  float s[1];
  ds_fp8_quantize(w, 3, 5, q, s);
  CHECK(s[0] == 1.0f);
  int nz = 0;
  for (int i = 0; i < 15; i++) nz += q[i] != 0;
  CHECK_EQ_INT(nz, 0);
}

int main(void)
{
  RUN(test_scale_shape);
  RUN(test_dequant_block_indexing);
  RUN(test_quantize_roundtrip);
  RUN(test_zero_block);
  return DS_TEST_RESULT();
}
