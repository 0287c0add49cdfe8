/*
 * vec_neon_int.h — the NEON integer dots on QA rows, included twice by
 * vec_neon.c: DOT16(acc, a, b) adds the 16 int8 products a_j b_j into acc's 4
 * s32 lanes (vmull + vpadal, or sdot), NEON_FN(name) names this copy. Either
 * way every block sum is exact and is scaled and summed over blocks as the
 * scalar twin does (vec_scalar.c), so both copies give the twin's bits.
 * (No include guard: meant to be included once per instruction set.)
 */
/* ---- Q8_0 / Q4_0 ------------------------------------------------------------ */

static void NEON_FN(dot_q8_0)(int64_t K, const void *w, const void *x, size_t x_stride, int ncols, float *out)
{
  for (int c = 0; c < ncols; c++) {
    const void *xr = (const char *)x + (size_t)c * x_stride;
    const int8_t *xq = xr;
    const float *xd = ds_qa_d(xr, K);
    const uint8_t *wb = w;
    float sum = 0.0f;
    for (int64_t b = 0; b < K / DS_QA_BLOCK; b++, wb += 34) {
      int32x4_t acc = DOT16(vdupq_n_s32(0), vld1q_s8((const int8_t *)wb + 2), vld1q_s8(xq + b * 32));
      acc = DOT16(acc, vld1q_s8((const int8_t *)wb + 18), vld1q_s8(xq + b * 32 + 16));
      sum += (float)vaddvq_s32(acc) * (ds_get_half(wb) * xd[b]);
    }
    out[c] = sum;
  }
}

static void NEON_FN(dot_q4_0)(int64_t K, const void *w, const void *x, size_t x_stride, int ncols, float *out)
{
  const uint8x16_t lo4 = vdupq_n_u8(0x0F);
  for (int c = 0; c < ncols; c++) {
    const void *xr = (const char *)x + (size_t)c * x_stride;
    const int8_t *xq = xr;
    const float *xd = ds_qa_d(xr, K);
    const int32_t *xs = ds_qa_s(xr, K);
    const uint8_t *wb = w;
    float sum = 0.0f;
    for (int64_t b = 0; b < K / DS_QA_BLOCK; b++, wb += 18) {
      const uint8x16_t u = vld1q_u8(wb + 2);
      int32x4_t acc = DOT16(vdupq_n_s32(0), vreinterpretq_s8_u8(vandq_u8(u, lo4)), vld1q_s8(xq + b * 32));
      acc = DOT16(acc, vreinterpretq_s8_u8(vshrq_n_u8(u, 4)), vld1q_s8(xq + b * 32 + 16));
      sum += (float)(vaddvq_s32(acc) - 8 * xs[b]) * (ds_get_half(wb) * xd[b]);
    }
    out[c] = sum;
  }
}

/* Q5_0 (vec.h: dot_q5_0): the fifth bits as bytes by vtst of qh's byte i / 8
 * against bit i % 8, or'ed into the nibbles; values 0..31 fit s8. The block
 * sum is exact and goes into the same fmaf chain as the twin's. */
static void NEON_FN(dot_q5_0)(int64_t K, const void *w, const void *x, size_t x_stride, int ncols, float *out)
{
  const uint8x16_t lo4 = vdupq_n_u8(0x0F), five = vdupq_n_u8(0x10);
  const uint8x16_t bit = {1, 2, 4, 8, 16, 32, 64, 128, 1, 2, 4, 8, 16, 32, 64, 128};
  float acc[DS_VEC_COLS] = {0};
  const uint8_t *wb = w;
  for (int64_t b = 0; b < K / DS_QA_BLOCK; b++, wb += 22) {
    const uint8x16_t u = vld1q_u8(wb + 6);
    const uint8x16_t h0 = vcombine_u8(vdup_n_u8(wb[2]), vdup_n_u8(wb[3]));
    const uint8x16_t h1 = vcombine_u8(vdup_n_u8(wb[4]), vdup_n_u8(wb[5]));
    const int8x16_t v0 = vreinterpretq_s8_u8(vorrq_u8(vandq_u8(u, lo4), vandq_u8(vtstq_u8(h0, bit), five)));
    const int8x16_t v1 = vreinterpretq_s8_u8(vorrq_u8(vshrq_n_u8(u, 4), vandq_u8(vtstq_u8(h1, bit), five)));
    const float dw = ds_get_half(wb);
    for (int c = 0; c < ncols; c++) {
      const char *xr = (const char *)x + (size_t)c * x_stride;
      const int8_t *q = (const int8_t *)xr + b * DS_QA_BLOCK;
      const int32x4_t s = DOT16(DOT16(vdupq_n_s32(0), v0, vld1q_s8(q)), v1, vld1q_s8(q + 16));
      acc[c] = ds_fmaf((float)(vaddvq_s32(s) - 16 * ds_qa_s(xr, K)[b]), dw * ds_qa_d(xr, K)[b], acc[c]);
    }
  }
  for (int c = 0; c < ncols; c++) out[c] = acc[c];
}

/* ---- K-quants (quants_k.c layouts; the equations in vec_scalar.c) --------- */

static void NEON_FN(dot_k4)(int64_t K, const void *w, const void *x, size_t x_stride, int ncols, float *out, bool q5)
{
  const size_t bytes = q5 ? 176 : 144;
  const uint8x16_t lo4 = vdupq_n_u8(0x0F), one = vdupq_n_u8(1);
  for (int c = 0; c < ncols; c++) {
    const void *xr = (const char *)x + (size_t)c * x_stride;
    const int8_t *xq = xr;
    const float *xd = ds_qa_d(xr, K);
    const int32_t *xs = ds_qa_s(xr, K);
    float sum = 0.0f, msum = 0.0f;
    for (int64_t sb = 0; sb < K / DS_QK_K; sb++) {
      const uint8_t *b = (const uint8_t *)w + sb * bytes, *qh = b + 16;
      const float d = ds_get_half(b), dmin = ds_get_half(b + 2);
      const uint8x16_t h0 = vld1q_u8(qh), h1 = vld1q_u8(qh + 16);
      for (int j = 0; j < 8; j++) {
        const uint8_t *qs = b + (q5 ? 48 : 16) + 32 * (j / 2);
        const int64_t blk = sb * 8 + j;
        uint8x16_t u0 = vld1q_u8(qs), u1 = vld1q_u8(qs + 16);
        if (j % 2) {
          u0 = vshrq_n_u8(u0, 4);
          u1 = vshrq_n_u8(u1, 4);
        } else {
          u0 = vandq_u8(u0, lo4);
          u1 = vandq_u8(u1, lo4);
        }
        if (q5) {   /* + 16 where bit j of qh[l] is set */
          const int8x16_t sh = vdupq_n_s8((int8_t)-j);
          u0 = vorrq_u8(u0, vshlq_n_u8(vandq_u8(vshlq_u8(h0, sh), one), 4));
          u1 = vorrq_u8(u1, vshlq_n_u8(vandq_u8(vshlq_u8(h1, sh), one), 4));
        }
        uint8_t sc, m;
        ds_scale_min_k4(j, b + 4, &sc, &m);
        int32x4_t acc = DOT16(vdupq_n_s32(0), vreinterpretq_s8_u8(u0), vld1q_s8(xq + blk * 32));
        acc = DOT16(acc, vreinterpretq_s8_u8(u1), vld1q_s8(xq + blk * 32 + 16));
        sum += (float)vaddvq_s32(acc) * (d * (float)sc * xd[blk]);
        msum += (float)xs[blk] * (dmin * (float)m * xd[blk]);
      }
    }
    out[c] = sum - msum;
  }
}
static void NEON_FN(dot_q4_k)(int64_t K, const void *w, const void *x, size_t xs, int nc, float *out) { NEON_FN(dot_k4)(K, w, x, xs, nc, out, false); }
static void NEON_FN(dot_q5_k)(int64_t K, const void *w, const void *x, size_t xs, int nc, float *out) { NEON_FN(dot_k4)(K, w, x, xs, nc, out, true); }

static void NEON_FN(dot_q6_k)(int64_t K, const void *w, const void *x, size_t x_stride, int ncols, float *out)
{
  const uint8x16_t lo4 = vdupq_n_u8(0x0F), three = vdupq_n_u8(3);
  const int8x16_t k32 = vdupq_n_s8(32);
  for (int c = 0; c < ncols; c++) {
    const void *xr = (const char *)x + (size_t)c * x_stride;
    const int8_t *xq = xr;
    const float *xd = ds_qa_d(xr, K);
    float sum = 0.0f;
    for (int64_t sb = 0; sb < K / DS_QK_K; sb++) {
      const uint8_t *b = (const uint8_t *)w + sb * 210;
      const float d = ds_get_half(b + 208);
      const int8_t *sc = (const int8_t *)(b + 192);
      for (int h = 0; h < 2; h++)
        for (int r = 0; r < 4; r++) {
          const int64_t blk = sb * 8 + 4 * h + r;
          const uint8_t *ql = b + 64 * h + 32 * (r % 2), *qh = b + 128 + 32 * h;
          int32_t half[2];
          for (int g = 0; g < 2; g++) {   /* values 16g .. 16g + 15: one scale */
            uint8x16_t lo = vld1q_u8(ql + 16 * g), hi = vld1q_u8(qh + 16 * g);
            lo = r / 2 ? vshrq_n_u8(lo, 4) : vandq_u8(lo, lo4);
            hi = vandq_u8(vshlq_u8(hi, vdupq_n_s8((int8_t)(-2 * r))), three);
            const int8x16_t v = vsubq_s8(vreinterpretq_s8_u8(vorrq_u8(lo, vshlq_n_u8(hi, 4))), k32);
            half[g] = vaddvq_s32(DOT16(vdupq_n_s32(0), v, vld1q_s8(xq + blk * 32 + 16 * g)));
          }
          int32_t is = sc[8 * h + 2 * r] * half[0] + sc[8 * h + 2 * r + 1] * half[1];
          sum += (float)is * (d * xd[blk]);
        }
    }
    out[c] = sum;
  }
}

