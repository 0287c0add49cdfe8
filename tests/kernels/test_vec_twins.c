/*
 * test_vec_twins.c — every SIMD kernel of every level this machine has
 * against its scalar twin and against exact double sums, on the odd shapes and
 * extreme values test_vec.c does not reach: model-sized K (2816, 11008: odd
 * numbers of 256-value super-blocks and of 32-blocks), every ncols 1..4,
 * weights of all-ones bytes (largest levels and scales), 0x80 bytes (Q8_0's
 * -128) and random bytes (every scale and min bit pattern), QA rows at +-127,
 * the GEMM tiles of every weight type with 1..8 columns and partial tiles,
 * f16 weights at the format's extremes and K not a multiple of 8 or 16, FP8
 * rows with every code.
 *
 * Bounds (as test_vec.c, derived here): a kernel sums f32 terms of total
 * magnitude A in some order, so it is within (n + 40) 2^-24 A of the exact
 * sum, n = blocks (integer dots) or K (float dots); a SIMD kernel and its twin
 * each meet that, so they agree within twice it. The exact sums come from the
 * weights decoded by the type's to_float (the reference level's decode) in
 * double, and from the QA bytes as stored.
 */
#include "harness.h"
#include "levels.h"
#include "kernels/cpu.h"
#include "kernels/fp8.h"
#include "kernels/types.h"
#include "kernels/type_ops.h"
#include "kernels/vec.h"
#include "vec_test.h"

#include <stdint.h>
#include <stdlib.h>

static const ds_cpu_level simd_levels[] = {DS_CPU_AVX2, DS_CPU_AVX512};

/* Offsets of the f16 scales in a block (the rest of the bytes may be anything). */
static void half_offsets(int type, int *a, int *b)
{
  *a = *b = -1;
  switch (type) {
  case DSEEK_TYPE_Q8_0:
  case DSEEK_TYPE_Q4_0:
  case DSEEK_TYPE_Q5_0: *a = 0; break;
  case DSEEK_TYPE_Q4_K:
  case DSEEK_TYPE_Q5_K: *a = 0, *b = 2; break;
  case DSEEK_TYPE_Q6_K: *a = 208; break;
  case DSEEK_TYPE_IQ1_M: break;   /* its d is spread over 4 nibbles: make_qrow */
  default:
    if (ds_vec_iq_index(type) >= 0) *a = 0;   /* the other IQ types: f16 d first */
    break;
  }
}

enum { W_RANDOM, W_ONES, W_ZEROS, W_MIN };
enum { X_RANDOM, X_MAX, X_MIN, X_ALTERNATE };

/* A quantized row of K values: random or all-0xFF / all-0 / all-0x80 bytes
 * (Q8_0: -128 everywhere) with the f16 scales set to finite values (0.01..0.05
 * for random rows, d = 1/64 and dmin = 1/32 otherwise). */
static void make_qrow(int type, int64_t K, int kind, uint8_t *w, size_t rb)
{
  const ds_type_traits *tr = ds_type_traits_get(type);
  const size_t bb = tr->type_size;
  for (size_t i = 0; i < rb; i++)
    w[i] = kind == W_ONES ? 0xFF : kind == W_ZEROS ? 0 : kind == W_MIN ? 0x80 : (uint8_t)rng_u32();
  int a, b;
  half_offsets(type, &a, &b);
  for (int64_t blk = 0; blk < K / tr->block_size; blk++) {
    uint8_t *p = w + (size_t)blk * bb;
    for (int i = 0; i < 2; i++) {   /* d, and dmin where the type has one: different values */
      const int at = i ? b : a;
      uint16_t h = kind == W_RANDOM ? ds_f32_to_f16(0.01f + 0.04f * (float)(rng_u32() % 1000) / 1000.0f)
                                    : ds_f32_to_f16(i ? 1.0f / 32 : 1.0f / 64);
      if (at >= 0) p[at] = (uint8_t)h, p[at + 1] = (uint8_t)(h >> 8);
      /* IQ1_M: nibble k of d is the top nibble of scale byte 49 + 2k */
      for (int k = 0; type == DSEEK_TYPE_IQ1_M && i == 0 && k < 4; k++)
        p[49 + 2 * k] = (uint8_t)((p[49 + 2 * k] & 0x0F) | ((h >> 4 * k) & 0xF) << 4);
    }
  }
}

/* A QA row written directly (any int8 in -127..127 is a possible QA byte):
 * q by kind, d_b random in (0, 2], s_b = sum q. */
static void make_qa(int64_t K, int kind, void *row)
{
  int8_t *q = row;
  float *d = (float *)((char *)row + K);
  int32_t *s = (int32_t *)(d + K / DS_QA_BLOCK);
  for (int64_t b = 0; b < K / DS_QA_BLOCK; b++) {
    int32_t sum = 0;
    for (int j = 0; j < DS_QA_BLOCK; j++) {
      int v = kind == X_MAX ? 127 : kind == X_MIN ? -127 : kind == X_ALTERNATE ? (j % 2 ? 127 : -127)
                                                                              : (int)(rng_u32() % 255) - 127;
      q[b * DS_QA_BLOCK + j] = (int8_t)v;
      sum += v;
    }
    d[b] = 2.0f * (float)(1 + rng_u32() % 1000) / 1000.0f;
    s[b] = sum;
  }
}

/* |terms| the kernels sum for weight i: for Q4_K/Q5_K, w = D q - M is summed
 * as D q and M apart, so |D q| + M = 2 D q - w, with D q the value decoded with
 * dmin = 0 (D q >= 0). Other types: |w|. */
static void kernel_terms(int type, const uint8_t *w, size_t rb, const float *wf, int64_t K, double *t)
{
  for (int64_t i = 0; i < K; i++) t[i] = fabs(wf[i]);
  if (type != DSEEK_TYPE_Q4_K && type != DSEEK_TYPE_Q5_K) return;
  const size_t bb = ds_type_traits_get(type)->type_size;
  uint8_t *w0 = malloc(rb);
  float *dq = malloc((size_t)K * sizeof *dq);
  memcpy(w0, w, rb);
  for (int64_t sb = 0; sb < K / 256; sb++) w0[sb * bb + 2] = w0[sb * bb + 3] = 0;   /* dmin = 0 */
  ds_type_traits_get(type)->to_float(w0, dq, K);
  for (int64_t i = 0; i < K; i++) t[i] = 2.0 * dq[i] - wf[i];
  free(w0);
  free(dq);
}

/* One integer-activation dot case: every level's kernel, ncols 1..4, against
 * the exact sums and the twin. */
static void qdot_case(int type, int64_t K, int wkind, const int xkinds[4])
{
  const ds_type_traits *tr = ds_type_traits_get(type);
  uint64_t rb64;
  CHECK(ds_row_size(type, K, &rb64));
  const size_t rb = (size_t)rb64, xs = ds_qa_row_bytes(K);
  uint8_t *w = malloc(rb);
  float *wf = malloc((size_t)K * sizeof *wf);
  double *terms = malloc((size_t)K * sizeof *terms);
  char *x = aligned_alloc(64, 4 * xs);
  make_qrow(type, K, wkind, w, rb);
  tr->to_float(w, wf, K);
  kernel_terms(type, w, rb, wf, K, terms);
  double exact[4], mag[4];
  for (int c = 0; c < 4; c++) {
    make_qa(K, xkinds[c], x + c * xs);
    const int8_t *q = (const int8_t *)(x + c * xs);
    const float *d = ds_qa_d(x + c * xs, K);
    exact[c] = mag[c] = 0;
    for (int64_t i = 0; i < K; i++) {
      exact[c] += (double)wf[i] * q[i] * d[i / 32];
      mag[c] += terms[i] * fabs((double)q[i] * d[i / 32]);
    }
  }
  const double allow = (double)(K / 32 + 40) * 0x1p-24;
  float twin[4];
  ds_cpu_type_ops_get(&ds_vec_scalar, type)->dot(K, w, x, xs, 4, twin);
  for (int c = 0; c < 4; c++)
    CHECK_MSG(fabs(twin[c] - exact[c]) <= allow * mag[c], "scalar %s K=%lld w%d col %d: %.9g vs exact %.9g",
              tr->name, (long long)K, wkind, c, twin[c], exact[c]);
  for (size_t l = 0; l < DS_ARRAY_LEN(simd_levels); l++) {
    if (simd_levels[l] > ds_cpu_detected()) continue;
    const ds_vec_kernels *vk = ds_vec_get(simd_levels[l]);
#ifdef DS_VEC_NEON
    /* the NEON levels have no IQ dots yet: they decode IQ rows to f32 (kernel_info says so) */
    if (!ds_cpu_type_ops_get(vk, type)->dot && ds_vec_iq_index(type) >= 0) continue;
#endif
    CHECK_MSG(ds_cpu_type_ops_get(vk, type)->dot != NULL, "%s has no %s dot", vk->name, tr->name);
    if (!ds_cpu_type_ops_get(vk, type)->dot) continue;
    for (int nc = 1; nc <= 4; nc++) {
      float got[4];
      ds_cpu_type_ops_get(vk, type)->dot(K, w, x, xs, nc, got);
      for (int c = 0; c < nc; c++) {
        CHECK_MSG(fabs(got[c] - exact[c]) <= allow * mag[c], "%s %s K=%lld w%d ncols %d col %d: %.9g vs exact %.9g",
                  vk->name, tr->name, (long long)K, wkind, nc, c, got[c], exact[c]);
        CHECK_MSG(fabs(got[c] - twin[c]) <= 2 * allow * mag[c], "%s %s K=%lld w%d col %d: %.9g vs twin %.9g",
                  vk->name, tr->name, (long long)K, wkind, c, got[c], twin[c]);
      }
    }
  }
  free(w);
  free(wf);
  free(terms);
  free(x);
}

static void test_quantized_dots(void)
{
  const int types[] = {DSEEK_TYPE_Q4_K, DSEEK_TYPE_Q5_K, DSEEK_TYPE_Q6_K, DSEEK_TYPE_Q8_0, DSEEK_TYPE_Q4_0,
                       DSEEK_TYPE_Q5_0};
  const int64_t Ks[] = {256, 512, 2816, 11008};
  const int mixed[4] = {X_RANDOM, X_MAX, X_MIN, X_ALTERNATE}, random[4] = {X_RANDOM, X_RANDOM, X_RANDOM, X_RANDOM};
  for (size_t t = 0; t < DS_ARRAY_LEN(types); t++)
    for (size_t k = 0; k < DS_ARRAY_LEN(Ks); k++) {
      qdot_case(types[t], Ks[k], W_RANDOM, random);
      qdot_case(types[t], Ks[k], W_RANDOM, mixed);
      qdot_case(types[t], Ks[k], W_ONES, mixed);
      qdot_case(types[t], Ks[k], W_ZEROS, mixed);
      qdot_case(types[t], Ks[k], W_MIN, mixed);
    }
}

/* Q5_0 (vec.h: dot_q5_0): every level gives the scalar twin's bits, for
 * every ncols 1..4. 256 blocks whose qh byte i runs through all 256 values
 * (block b: (b + 64 i) mod 256), so each fifth bit meets each value slot set
 * and clear in every combination with its byte's neighbours; random nibbles,
 * scales and QA rows (random, +-127, alternating), and K = 32 (one block). */
static void test_q5_0_bits(void)
{
  const int64_t Ks[] = {256 * 32, 32, 160};
  for (size_t k = 0; k < DS_ARRAY_LEN(Ks); k++) {
    const int64_t K = Ks[k];
    const size_t rb = (size_t)(K / 32) * 22, xs = ds_qa_row_bytes(K);
    uint8_t *w = malloc(rb);
    char *x = aligned_alloc(64, 4 * xs);
    make_qrow(DSEEK_TYPE_Q5_0, K, W_RANDOM, w, rb);
    for (int64_t b = 0; b < K / 32; b++)
      for (int i = 0; i < 4; i++) w[b * 22 + 2 + i] = (uint8_t)(b + 64 * i);
    const int kinds[4] = {X_RANDOM, X_MAX, X_ALTERNATE, X_RANDOM};
    for (int c = 0; c < 4; c++) make_qa(K, kinds[c], x + c * xs);
    float twin[4];
    ds_vec_scalar.dot_q5_0(K, w, x, xs, 4, twin);
    for (size_t l = 0; l < DS_ARRAY_LEN(simd_levels); l++) {
      if (simd_levels[l] > ds_cpu_detected()) continue;
      const ds_vec_kernels *vk = ds_vec_get(simd_levels[l]);
      CHECK_MSG(ds_cpu_type_ops_get(vk, DSEEK_TYPE_Q5_0)->dot == vk->dot_q5_0 && vk->dot_q5_0,
                "%s: Q5_0 rows do not take the level's dot", vk->name);
      if (!vk->dot_q5_0) continue;
      for (int nc = 1; nc <= 4; nc++)
        for (int c0 = 0; c0 + nc <= 4; c0++) {
          float got[4];
          vk->dot_q5_0(K, w, x + c0 * xs, xs, nc, got);
          for (int c = 0; c < nc; c++)
            CHECK_MSG(!memcmp(&got[c], &twin[c0 + c], sizeof(float)), "%s Q5_0 K=%lld ncols %d col %d: %.9g vs twin %.9g",
                      vk->name, (long long)K, nc, c0 + c, got[c], twin[c0 + c]);
        }
    }
    free(w);
    free(x);
  }
}

/* The IQ types' integer dots (quants_iq.h): odd numbers of super-blocks, and
 * for IQ4_NL (32-value blocks) K = 160 too. */
static void test_iq_dots(void)
{
  const int types[] = {DSEEK_TYPE_IQ2_XXS, DSEEK_TYPE_IQ2_XS, DSEEK_TYPE_IQ2_S,  DSEEK_TYPE_IQ3_XXS, DSEEK_TYPE_IQ3_S,
                       DSEEK_TYPE_IQ1_S,   DSEEK_TYPE_IQ1_M,  DSEEK_TYPE_IQ4_NL, DSEEK_TYPE_IQ4_XS};
  const int64_t Ks[] = {256, 2816, 11008, 160};
  const int mixed[4] = {X_RANDOM, X_MAX, X_MIN, X_ALTERNATE}, random[4] = {X_RANDOM, X_RANDOM, X_RANDOM, X_RANDOM};
  for (size_t t = 0; t < DS_ARRAY_LEN(types); t++)
    for (size_t k = 0; k < DS_ARRAY_LEN(Ks); k++) {
      if (Ks[k] % ds_type_traits_get(types[t])->block_size) continue;
      qdot_case(types[t], Ks[k], W_RANDOM, random);
      qdot_case(types[t], Ks[k], W_RANDOM, mixed);
      qdot_case(types[t], Ks[k], W_ONES, mixed);
      qdot_case(types[t], Ks[k], W_ZEROS, mixed);
      qdot_case(types[t], Ks[k], W_MIN, mixed);
    }
}

/* ---- the GEMM tiles (vec.h) ------------------------------------------------------------ */

/* nrows weight rows of `type` (row stride rb + 64: not contiguous blocks)
 * packed by the plain-C packers, ncols QA columns as u8; every level's tile
 * kernel (+ the min term for Q4_K/Q5_K) against the exact sums and the scalar
 * twin's outputs, and every level's Q8_0/Q4_0 packer against the plain bytes. */
static void gemm_case(int type, int64_t K, int nrows, int ncols, int wkind)
{
  const ds_type_traits *tr = ds_type_traits_get(type);
  uint64_t rb64;
  CHECK(ds_row_size(type, K, &rb64));
  const size_t rb = (size_t)rb64, stride = rb + 64, xs = ds_qa_row_bytes(K), nb = (size_t)(K / 32);
  const bool kq = type == DSEEK_TYPE_Q4_K || type == DSEEK_TYPE_Q5_K, q6 = type == DSEEK_TYPE_Q6_K;
  const size_t tile_bytes = nb * (q6 ? DS_GEMM_Q6_BLOCK_BYTES : DS_GEMM_BLOCK_BYTES);
  uint8_t *w = malloc(stride * DS_GEMM_ROWS);
  float *wf = malloc((size_t)K * DS_GEMM_ROWS * sizeof *wf), *mins = malloc(nb * DS_GEMM_ROWS * sizeof *mins);
  double *terms = malloc((size_t)K * DS_GEMM_ROWS * sizeof *terms);
  char *x = aligned_alloc(64, (size_t)ncols * xs);
  void *pack = aligned_alloc(64, tile_bytes), *pack2 = aligned_alloc(64, tile_bytes);
  for (int r = 0; r < nrows; r++) {
    make_qrow(type, K, wkind, w + r * stride, rb);
    tr->to_float(w + r * stride, wf + r * K, K);
    kernel_terms(type, w + r * stride, rb, wf + r * K, K, terms + r * K);
  }
  const int xkinds[4] = {X_RANDOM, X_MAX, X_MIN, X_ALTERNATE};
  double exact[DS_GEMM_COLS][DS_GEMM_ROWS], mag[DS_GEMM_COLS][DS_GEMM_ROWS];
  for (int c = 0; c < ncols; c++) {
    make_qa(K, xkinds[c % 4], x + c * xs);
    const int8_t *q = (const int8_t *)(x + c * xs);
    const float *d = ds_qa_d(x + c * xs, K);
    for (int r = 0; r < DS_GEMM_ROWS; r++) {
      exact[c][r] = mag[c][r] = 0;
      for (int64_t i = 0; r < nrows && i < K; i++) {
        exact[c][r] += (double)wf[r * K + i] * q[i] * d[i / 32];
        mag[c][r] += terms[r * K + i] * fabs((double)q[i] * d[i / 32]);
      }
    }
    ds_qa_to_u8(x + c * xs, K);
  }
  float *xds = malloc(nb * (size_t)ncols * sizeof *xds);   /* d_b s_b of each column (the min term's input) */
  for (int c = 0; c < ncols; c++) ds_qa_ds(x + c * xs, K, xds + c * nb);
  if (q6)
    CHECK(ds_gemm_pack_q6_k_r16(w, stride, nrows, K, pack));
  else if (kq)
    CHECK(ds_gemm_pack_k_r16(type, w, stride, nrows, K, pack, mins));
  else
    CHECK(ds_gemm_pack_r16(type, w, stride, nrows, K, pack));
  const double allow = (double)(K / 32 + 40) * 0x1p-24;
  float twin[DS_GEMM_COLS * DS_GEMM_ROWS], got[DS_GEMM_COLS * DS_GEMM_ROWS];
  for (int l = DS_CPU_SCALAR; l <= (int)ds_cpu_detected(); l++) {
    const ds_vec_kernels *vk = ds_vec_get((ds_cpu_level)l);
    if (!vk->gemm_r16) continue;
    float *out = l == DS_CPU_SCALAR ? twin : got;
    if (q6)
      (vk->gemm_q6_k_r16 ? vk->gemm_q6_k_r16 : ds_gemm_q6_k_r16)(K, pack, x, xs, ncols, out, DS_GEMM_ROWS);
    else
      vk->gemm_r16(K, pack, x, xs, ncols, out, DS_GEMM_ROWS);
    if (kq)
      (vk->gemm_min_term ? vk->gemm_min_term : ds_gemm_min_term)(K, mins, xds, nb, ncols, out, DS_GEMM_ROWS);
    int bad = 0, bad_twin = 0;
    for (int c = 0; c < ncols; c++)
      for (int r = 0; r < DS_GEMM_ROWS; r++) {
        const float o = out[c * DS_GEMM_ROWS + r];
        if (!(fabs(o - exact[c][r]) <= allow * mag[c][r])) bad++;
        if (!(fabs(o - twin[c * DS_GEMM_ROWS + r]) <= 2 * allow * mag[c][r])) bad_twin++;
      }
    CHECK_MSG(bad == 0 && bad_twin == 0, "%s tile %s K=%lld rows %d cols %d w%d: %d off exact, %d off twin", vk->name,
              tr->name, (long long)K, nrows, ncols, wkind, bad, bad_twin);
    /* the level's packers (where it has its own) give the plain-C bytes */
    memset(pack2, 0xA5, tile_bytes);
    float *mins2 = malloc(nb * DS_GEMM_ROWS * sizeof *mins2);
    memset(mins2, 0xA5, nb * DS_GEMM_ROWS * sizeof *mins2);
    bool packed = false, same_mins = true;
    if (q6 && vk->pack_q6_k_r16) packed = vk->pack_q6_k_r16(w, stride, nrows, K, pack2);
    if (kq && vk->pack_k_r16) {
      packed = vk->pack_k_r16(type, w, stride, nrows, K, pack2, mins2);
      same_mins = memcmp(mins, mins2, nb * DS_GEMM_ROWS * sizeof *mins2) == 0;
    }
    if (!q6 && !kq && vk->pack_r16) packed = vk->pack_r16(type, w, stride, nrows, K, pack2);
    if (packed)
      CHECK_MSG(memcmp(pack, pack2, tile_bytes) == 0 && same_mins, "%s packer %s K=%lld rows %d w%d: bytes differ",
                vk->name, tr->name, (long long)K, nrows, wkind);
    free(mins2);
  }
  free(w);
  free(wf);
  free(mins);
  free(xds);
  free(terms);
  free(x);
  free(pack);
  free(pack2);
}

static void test_gemm_tiles(void)
{
  const int types[] = {DSEEK_TYPE_Q8_0, DSEEK_TYPE_Q4_0, DSEEK_TYPE_Q4_K, DSEEK_TYPE_Q5_K, DSEEK_TYPE_Q6_K};
  const int64_t Ks[] = {96, 256, 2816, 4128, 11008};
  const int shapes[][2] = {{16, 1}, {16, 3}, {16, 4}, {16, 5}, {16, 8}, {5, 7}, {1, 2}};
  const int wkinds[] = {W_RANDOM, W_ONES, W_MIN};
  for (size_t t = 0; t < DS_ARRAY_LEN(types); t++)
    for (size_t k = 0; k < DS_ARRAY_LEN(Ks); k++) {
      if (Ks[k] % ds_type_traits_get(types[t])->block_size) continue;
      for (size_t s = 0; s < DS_ARRAY_LEN(shapes); s++)
        for (size_t v = 0; v < DS_ARRAY_LEN(wkinds); v++)
          if (wkinds[v] == W_RANDOM || s % 3 == 0) gemm_case(types[t], Ks[k], shapes[s][0], shapes[s][1], wkinds[v]);
    }
}

/* AMX (where the CPU has it): 16 columns give the bits of the AVX-512 VNNI
 * kernel in two calls of 8, also for -128 / all-ones weight bytes and +-127
 * activations. */
static void test_gemm_amx_extremes(void)
{
#ifdef DS_VEC_AMX
  if (!ds_cpu_amx()) {
    fprintf(stderr, "  no AMX here: skipped\n");
    return;
  }
  const int types[] = {DSEEK_TYPE_Q8_0, DSEEK_TYPE_Q4_0, DSEEK_TYPE_Q6_K};
  const int wkinds[] = {W_RANDOM, W_ONES, W_MIN};
  const int64_t K = 2816;
  const size_t xs = ds_qa_row_bytes(K), nb = K / 32;
  char *x = aligned_alloc(64, 16 * xs);
  for (int c = 0; c < 16; c++) {
    make_qa(K, c % 4, x + c * xs);
    ds_qa_to_u8(x + c * xs, K);
  }
  for (size_t t = 0; t < DS_ARRAY_LEN(types); t++)
    for (size_t v = 0; v < DS_ARRAY_LEN(wkinds); v++) {
      const bool q6 = types[t] == DSEEK_TYPE_Q6_K;
      uint64_t rb;
      CHECK(ds_row_size(types[t], K, &rb));
      uint8_t *w = malloc((size_t)rb * 16);
      void *pack = aligned_alloc(64, nb * DS_GEMM_Q6_BLOCK_BYTES);
      for (int r = 0; r < 16; r++) make_qrow(types[t], K, wkinds[v], w + r * rb, (size_t)rb);
      CHECK(q6 ? ds_gemm_pack_q6_k_r16(w, (size_t)rb, 16, K, pack) : ds_gemm_pack_r16(types[t], w, (size_t)rb, 16, K, pack));
      const ds_vec_gemm_fn vnni = q6 ? ds_vec_avx512.gemm_q6_k_r16 : ds_vec_avx512.gemm_r16;
      float a[16 * 16], b[16 * 16];
      vnni(K, pack, x, xs, 8, a, DS_GEMM_ROWS);
      vnni(K, pack, x + 8 * xs, xs, 8, a + 8 * DS_GEMM_ROWS, DS_GEMM_ROWS);
      (q6 ? ds_amx_gemm_q6_k_r16x16 : ds_amx_gemm_r16x16)(K, pack, x, xs, b, DS_GEMM_ROWS);
      CHECK_MSG(memcmp(a, b, sizeof a) == 0, "AMX type %d w%d: bits differ from VNNI", types[t], wkinds[v]);
      free(w);
      free(pack);
    }
  free(x);
#endif
}

/* ---- f32 / f16 / bf16 weights with f32 activations, any K -------------------------- */

/* Raw 16-bit patterns for f16 / bf16: random finite values, and for f16 the
 * extremes (65504, the smallest subnormal, -0). */
static uint16_t rand_half(int type, int i)
{
  if (type == DSEEK_TYPE_F16) {
    static const uint16_t special[] = {0x7BFF, 0xFBFF, 0x0001, 0x8001, 0x03FF, 0x8000, 0x0400};
    if (i % 5 == 0) return special[(i / 5) % DS_ARRAY_LEN(special)];
    return ds_f32_to_f16(4.0f * frand());
  }
  return ds_f32_to_bf16(i % 7 == 0 ? 1e30f * frand() : frand());
}

static void fdot_case(int type, int64_t K)
{
  const size_t es = type == DSEEK_TYPE_F32 ? 4 : 2;
  void *w = malloc((size_t)K * es);
  float *wf = malloc((size_t)K * 4), *x = malloc((size_t)(4 * K) * 4);
  for (int64_t i = 0; i < K; i++) {
    if (type == DSEEK_TYPE_F32) {
      wf[i] = frand();
      ((float *)w)[i] = wf[i];
    } else {
      uint16_t h = rand_half(type, (int)i);
      ((uint16_t *)w)[i] = h;
      wf[i] = type == DSEEK_TYPE_F16 ? ds_f16_to_f32(h) : ds_bf16_to_f32(h);
    }
  }
  for (int64_t i = 0; i < 4 * K; i++) x[i] = (i % 11 == 0 ? 1e4f : 1.0f) * frand();
  double exact[4], mag[4];
  for (int c = 0; c < 4; c++) {
    exact[c] = mag[c] = 0;
    for (int64_t i = 0; i < K; i++) {
      exact[c] += (double)wf[i] * x[c * K + i];
      mag[c] += fabs((double)wf[i] * x[c * K + i]);
    }
  }
  const double allow = (double)(K + 40) * 0x1p-24;
  float twin[4];
  ds_cpu_type_ops_get(&ds_vec_scalar, type)->dot(K, w, x, (size_t)K * 4, 4, twin);
  for (size_t l = 0; l < DS_ARRAY_LEN(simd_levels); l++) {
    if (simd_levels[l] > ds_cpu_detected()) continue;
    const ds_vec_kernels *vk = ds_vec_get(simd_levels[l]);
    for (int nc = 1; nc <= 4; nc++) {
      float got[4];
      ds_cpu_type_ops_get(vk, type)->dot(K, w, x, (size_t)K * 4, nc, got);
      for (int c = 0; c < nc; c++) {
        CHECK_MSG(fabs(got[c] - exact[c]) <= allow * mag[c], "%s type %d K=%lld ncols %d col %d: %.9g vs exact %.9g",
                  vk->name, type, (long long)K, nc, c, got[c], exact[c]);
        CHECK_MSG(fabs(got[c] - twin[c]) <= 2 * allow * mag[c], "%s type %d K=%lld col %d: %.9g vs twin %.9g",
                  vk->name, type, (long long)K, c, got[c], twin[c]);
      }
    }
  }
  free(w);
  free(wf);
  free(x);
}

static void test_float_dots(void)
{
  const int types[] = {DSEEK_TYPE_F32, DSEEK_TYPE_F16, DSEEK_TYPE_BF16};
  const int64_t Ks[] = {1, 2, 3, 5, 8, 9, 15, 16, 17, 23, 31, 47, 63, 65, 129, 1000, 2816 + 13};
  for (size_t t = 0; t < DS_ARRAY_LEN(types); t++)
    for (size_t k = 0; k < DS_ARRAY_LEN(Ks); k++) fdot_case(types[t], Ks[k]);
}

/* ---- axpy and QA quantization on odd lengths / extreme rows ------------------------- */

static void test_axpy_odd(void)
{
  enum { N = 1031 };
  static float x[N], y0[N], y[N];
  for (int64_t n = 1; n <= N; n += n < 40 ? 1 : 97) {
    for (int64_t j = 0; j < n; j++) x[j] = frand(), y0[j] = 1e3f * frand();
    const float a = frand();
    for (int l = DS_CPU_SCALAR; l <= (int)ds_cpu_detected(); l++) {
      const ds_vec_kernels *vk = ds_vec_get((ds_cpu_level)l);
      memcpy(y, y0, (size_t)n * 4);
      y[n] = 12345.0f;   /* the element after the end is left alone */
      vk->axpy_f32(n, a, x, y);
      int bad = 0;
      for (int64_t j = 0; j < n; j++) {
        double e = (double)y0[j] + (double)a * x[j];
        if (!(fabs(y[j] - e) <= 0x1p-23 * (fabs(y0[j]) + fabs((double)a * x[j])))) bad++;
      }
      CHECK_MSG(bad == 0 && y[n] == 12345.0f, "%s axpy n=%lld: %d elements off", vk->name, (long long)n, bad);
    }
  }
}

/* Rows with extreme contents quantize to the same bytes at every level. */
static void test_quantize_extremes(void)
{
  const int64_t K = 2816;
  float *x = malloc((size_t)K * 4);
  const size_t rb = ds_qa_row_bytes(K);
  void *ref = aligned_alloc(64, rb), *got = aligned_alloc(64, rb);
  for (int kind = 0; kind < 7; kind++) {
    for (int64_t i = 0; i < K; i++) {
      switch (kind) {
      case 0: x[i] = 0.0f; break;                                   /* all zero: d = 0, q = 0 */
      case 1: x[i] = 3e38f * frand(); break;                        /* near FLT_MAX */
      case 2: x[i] = (i % 32 == 5) ? -1e6f : 1e-3f * frand(); break; /* one outlier per block */
      case 3: x[i] = (float)(i % 255) - 127.0f; break;              /* integers: d = 1, exact q */
      case 4: x[i] = (float)((int)(i % 64) - 32) + 0.5f; break;      /* ties at x / d = k + 0.5 */
      case 5: x[i] = 1e-39f * frand(); break;                       /* d subnormal, 1 / d overflows */
      default: x[i] = (i / 32) % 2 ? 1e-37f * frand() : 1e-30f * frand(); break; /* tiny and small blocks */
      }
    }
    memset(ref, 0, rb);
    ds_vec_scalar.quantize_qa(x, K, ref);
    for (size_t l = 0; l < DS_ARRAY_LEN(simd_levels); l++) {
      if (simd_levels[l] > ds_cpu_detected()) continue;
      const ds_vec_kernels *vk = ds_vec_get(simd_levels[l]);
      memset(got, 0, rb);
      vk->quantize_qa(x, K, got);
      CHECK_MSG(memcmp(ref, got, rb) == 0, "%s QA bytes differ from scalar, row kind %d", vk->name, kind);
    }
    /* the QA invariants every dot relies on: |q| <= 127, s = sum q */
    const int8_t *q = ref;
    int bad = 0;
    for (int64_t b = 0; b < K / 32; b++) {
      int32_t sum = 0;
      for (int j = 0; j < 32; j++) {
        bad += q[b * 32 + j] == -128;
        sum += q[b * 32 + j];
      }
      bad += sum != ds_qa_s(ref, K)[b];
    }
    CHECK_MSG(bad == 0, "QA row kind %d: %d blocks break |q| <= 127 or s = sum q", kind, bad);
    if (kind == 3) {   /* |x| <= 127 integers in every block with a 127: q = x */
      int off = 0;
      for (int64_t i = 0; i < K; i++) off += ds_qa_d(ref, K)[i / 32] == 1.0f && q[i] != (int8_t)x[i];
      CHECK_EQ_INT(off, 0);
    }
  }
  free(x);
  free(ref);
  free(got);
}

/* ---- block-scaled FP8 rows ----------------------------------------------------------- */

/* e4m3fn from its definition (OCP FP8: bias 7, exponent 0 subnormal m/8 2^-6,
 * s 1111 111 NaN, no infinities); NaN returned as NAN. */
static double e4m3_value(int code)
{
  if ((code & 0x7F) == 0x7F) return NAN;
  int e = (code >> 3) & 15, m = code & 7;
  double v = e ? ldexp(1.0 + m / 8.0, e - 7) : ldexp(m / 8.0, -6);
  return code & 0x80 ? -v : v;
}

/* Every level's row decode against the plain ds_fp8_dequant_row bit for bit
 * (NaN codes included: 0x7FC00000 | sign) and against e4m3 * scale rounded
 * once from the exact double product; all 256 codes in every row of >= 256
 * values, block scales from 1e-38 (subnormal products) to 3e38 (overflow). */
static void test_fp8_rows(void)
{
  const int64_t ns[] = {1, 15, 16, 17, 31, 33, 127, 128, 129, 256, 300, 1031, 7168 + 5};
  const float scales[] = {1.0f, 3.0517578e-5f, 1e-38f, 0.37f, 3e38f, 2.5e-3f, 7.0f};
  enum { NMAX = 7168 + 5 };
  static uint8_t row[NMAX];
  static float ref[NMAX + 1], got[NMAX + 1], srow[NMAX / 128 + 1];
  for (size_t t = 0; t < DS_ARRAY_LEN(ns); t++) {
    const int64_t n = ns[t];
    for (int64_t i = 0; i < n; i++) row[i] = (uint8_t)(i * 37 + t);   /* 37 odd: 256 consecutive i cover all codes */
    for (int64_t b = 0; b <= (n - 1) / 128; b++) srow[b] = scales[(b + t) % DS_ARRAY_LEN(scales)];
    ds_fp8_dequant_row(row, srow, n, ref);
    int bad_exact = 0;
    for (int64_t i = 0; i < n; i++) {
      const double v = e4m3_value(row[i]);
      uint32_t bits;
      memcpy(&bits, &ref[i], 4);
      if (isnan(v) ? bits != (0x7FC00000u | (uint32_t)(row[i] & 0x80) << 24) : ref[i] != (float)(v * srow[i / 128]))
        bad_exact++;
    }
    CHECK_MSG(bad_exact == 0, "plain FP8 decode n=%lld: %d values off e4m3 * scale", (long long)n, bad_exact);
    for (int l = DS_CPU_SCALAR; l <= (int)ds_cpu_detected(); l++) {
      memset(got, 0x55, sizeof got);
      ds_fp8_row_kernel((ds_cpu_level)l)(row, srow, n, got);
      uint32_t past;
      memcpy(&past, &got[n], 4);
      CHECK_MSG(memcmp(ref, got, (size_t)n * 4) == 0 && past == 0x55555555u, "%s FP8 decode n=%lld: bits differ",
                ds_cpu_level_name((ds_cpu_level)l), (long long)n);
    }
  }
}

int main(void)
{
  ds_test_levels();
  RUN(test_quantized_dots);
  RUN(test_q5_0_bits);
  RUN(test_iq_dots);
  RUN(test_gemm_tiles);
  RUN(test_gemm_amx_extremes);
  RUN(test_float_dots);
  RUN(test_axpy_odd);
  RUN(test_quantize_extremes);
  RUN(test_fp8_rows);
  return DS_TEST_RESULT();
}
