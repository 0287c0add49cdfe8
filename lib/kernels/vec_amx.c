/*
 * vec_amx.c — the GEMM tile of vec.h on Intel AMX (AMX-TILE + AMX-INT8),
 * 16 activation columns at a time; compiled with the AMX flags in its own
 * static library and only called after ds_cpu_amx() (cpu.c) found the
 * instructions and got the kernel's permission for the tile state.
 *
 * Per 32-value block one tdpbusd multiplies A = the 16 columns' u8
 * activations (16 rows x 32 bytes, loaded with the QA row stride) by B = the
 * packed weights, whose [8 groups][16 rows][4 bytes] layout is exactly AMX's
 * "4 bytes of K per column" form (8 rows x 64 bytes): C[m][r] = sum_k
 * u_mk w_rk, exact in int32. The epilogue is the VNNI kernel's (vec_avx512.c)
 * operation for operation, c_r added, converted, one FMA with d_r d_b, so both
 * give the same bits and a column's result does not depend on which of the
 * two computed it.
 */
#if defined(__x86_64__) && defined(__GNUC__) && !defined(_WIN32)   /* DS_VEC_AMX, vec.h */
#include "kernels/vec.h"

#include <immintrin.h>
#include <string.h>

typedef struct tile_config {
  uint8_t palette, start_row, reserved[14];
  uint16_t colsb[16];
  uint8_t rows[16];
} tile_config;

/* Block b's int products into tile C (zeroed), A from the activations, B
 * from the packed weights; tile numbers are immediates, hence a macro. */
#define TILE_BLOCK(C, A, B, b)                                                        \
  do {                                                                                \
    _tile_zero(C);                                                                    \
    _tile_loadd(A, (const char *)x + (b) * DS_QA_BLOCK, (long)xs);                    \
    _tile_loadd(B, (const uint8_t *)wpack + (b) * DS_GEMM_BLOCK_BYTES, 64);          \
    _tile_dpbusd(C, A, B);                                                            \
  } while (0)

/* The VNNI kernel's epilogue for block b from its stored int products c. */
static inline __attribute__((always_inline)) void epilogue(const uint8_t *pb, const int32_t *c,
                                                           const float *const *xd, int64_t b, __m512 *acc)
{
  const __m512 dw = _mm512_loadu_ps((const float *)(pb + 512));
  const __m512i corr = _mm512_loadu_si512(pb + 576);
  for (int m = 0; m < 16; m++) {
    __m512 p = _mm512_cvtepi32_ps(_mm512_add_epi32(corr, _mm512_load_si512(c + 16 * m)));
    acc[m] = _mm512_fmadd_ps(p, _mm512_mul_ps(dw, _mm512_set1_ps(xd[m][b])), acc[m]);
  }
}

/* The 16 columns' QA scales and zeroed accumulators; the accumulators out. */
static inline __attribute__((always_inline)) void start_columns(int64_t K, const void *x, size_t xs,
                                                                const float **xd, __m512 *acc)
{
  for (int m = 0; m < 16; m++) {
    xd[m] = ds_qa_d((const char *)x + m * xs, K);
    acc[m] = _mm512_setzero_ps();
  }
}
static inline __attribute__((always_inline)) void store_columns(const __m512 *acc, float *out, size_t os)
{
  for (int m = 0; m < 16; m++) _mm512_storeu_ps(out + m * os, acc[m]);
}

void ds_amx_gemm_r16x16(int64_t K, const void *wpack, const void *x, size_t xs, float *out, size_t os)
{
  /* two sets (C, A, B) = tiles (0, 1, 2) and (3, 4, 5): block b + 1 multiplies
   * while block b's products go through the f32 epilogue */
  tile_config cfg;
  memset(&cfg, 0, sizeof cfg);
  cfg.palette = 1;
  for (int t = 0; t < 6; t += 3) {
    cfg.colsb[t] = 64, cfg.rows[t] = 16;           /* C: 16 columns x 16 int32 */
    cfg.colsb[t + 1] = 32, cfg.rows[t + 1] = 16;   /* A: 16 columns x 32 u8 */
    cfg.colsb[t + 2] = 64, cfg.rows[t + 2] = 8;    /* B: 8 groups x 16 rows x 4 s8 */
  }
  _tile_loadconfig(&cfg);
  __attribute__((aligned(64))) int32_t c[16 * 16];
  const float *xd[16];
  __m512 acc[16];
  start_columns(K, x, xs, xd, acc);
  const int64_t nb = K / DS_QA_BLOCK;
  const uint8_t *pb = wpack;
  int64_t b = 0;
  if (nb > 0) TILE_BLOCK(0, 1, 2, 0);
  for (; b + 2 <= nb; b += 2) {
    TILE_BLOCK(3, 4, 5, b + 1);
    _tile_stored(0, c, 64);
    epilogue(pb + b * DS_GEMM_BLOCK_BYTES, c, xd, b, acc);
    if (b + 2 < nb) TILE_BLOCK(0, 1, 2, b + 2);
    _tile_stored(3, c, 64);
    epilogue(pb + (b + 1) * DS_GEMM_BLOCK_BYTES, c, xd, b + 1, acc);
  }
  if (b < nb) {   /* odd count: the last block is in set 0 */
    _tile_stored(0, c, 64);
    epilogue(pb + b * DS_GEMM_BLOCK_BYTES, c, xd, b, acc);
  }
  _tile_release();
  store_columns(acc, out, os);
}

/*
 * The Q6_K tile (vec.h): each 32-block's two halves are separate products,
 * A = the 16 columns' bytes 0..15 (or 16..31) of the block, B = groups 0-3
 * (or 4-7) of the packed weights (4 rows x 64 bytes), C_lo and C_hi. The
 * epilogue is the VNNI kernel's: lo's correction added, converted, FMA with
 * dlo_r d_b, then the same for hi. Tiles: C_lo, C_hi = 0, 1 (block b) or
 * 6, 7 (block b + 1), A_lo, A_hi, B_lo, B_hi = 2..5 reloaded per block, so a
 * block's products are computed while the previous one's go through the
 * epilogue.
 */
#define TILE_Q6_BLOCK(CL, CH, b)                                                         \
  do {                                                                                   \
    const uint8_t *pb_ = (const uint8_t *)wpack + (b) * DS_GEMM_Q6_BLOCK_BYTES;         \
    _tile_zero(CL);                                                                      \
    _tile_zero(CH);                                                                      \
    _tile_loadd(2, (const char *)x + (b) * DS_QA_BLOCK, (long)xs);                       \
    _tile_loadd(4, pb_, 64);                                                             \
    _tile_dpbusd(CL, 2, 4);                                                              \
    _tile_loadd(3, (const char *)x + (b) * DS_QA_BLOCK + 16, (long)xs);                  \
    _tile_loadd(5, pb_ + 256, 64);                                                       \
    _tile_dpbusd(CH, 3, 5);                                                              \
  } while (0)

static inline __attribute__((always_inline)) void epilogue_q6(const uint8_t *pb, const int32_t *clo,
                                                              const int32_t *chi, const float *const *xd, int64_t b,
                                                              __m512 *acc)
{
  const __m512 dlo = _mm512_loadu_ps((const float *)(pb + 512)), dhi = _mm512_loadu_ps((const float *)(pb + 576));
  const __m512i corr_lo = _mm512_loadu_si512(pb + 640), corr_hi = _mm512_loadu_si512(pb + 704);
  for (int m = 0; m < 16; m++) {
    const __m512 xv = _mm512_set1_ps(xd[m][b]);
    __m512 pl = _mm512_cvtepi32_ps(_mm512_add_epi32(corr_lo, _mm512_load_si512(clo + 16 * m)));
    __m512 ph = _mm512_cvtepi32_ps(_mm512_add_epi32(corr_hi, _mm512_load_si512(chi + 16 * m)));
    acc[m] = _mm512_fmadd_ps(pl, _mm512_mul_ps(dlo, xv), acc[m]);
    acc[m] = _mm512_fmadd_ps(ph, _mm512_mul_ps(dhi, xv), acc[m]);
  }
}

void ds_amx_gemm_q6_k_r16x16(int64_t K, const void *wpack, const void *x, size_t xs, float *out, size_t os)
{
  tile_config cfg;
  memset(&cfg, 0, sizeof cfg);
  cfg.palette = 1;
  const int c_tiles[] = {0, 1, 6, 7};
  for (int i = 0; i < 4; i++) cfg.colsb[c_tiles[i]] = 64, cfg.rows[c_tiles[i]] = 16;   /* 16 columns x 16 int32 */
  for (int t = 2; t <= 3; t++) cfg.colsb[t] = 16, cfg.rows[t] = 16;                    /* A: 16 columns x 16 u8 */
  for (int t = 4; t <= 5; t++) cfg.colsb[t] = 64, cfg.rows[t] = 4;                     /* B: 4 groups x 16 rows x 4 s8 */
  _tile_loadconfig(&cfg);
  __attribute__((aligned(64))) int32_t clo[16 * 16], chi[16 * 16];
  const float *xd[16];
  __m512 acc[16];
  start_columns(K, x, xs, xd, acc);
  const int64_t nb = K / DS_QA_BLOCK;
  const uint8_t *pb = wpack;
  int64_t b = 0;
  if (nb > 0) TILE_Q6_BLOCK(0, 1, 0);
  for (; b + 2 <= nb; b += 2) {
    TILE_Q6_BLOCK(6, 7, b + 1);
    _tile_stored(0, clo, 64);
    _tile_stored(1, chi, 64);
    epilogue_q6(pb + b * DS_GEMM_Q6_BLOCK_BYTES, clo, chi, xd, b, acc);
    if (b + 2 < nb) TILE_Q6_BLOCK(0, 1, b + 2);
    _tile_stored(6, clo, 64);
    _tile_stored(7, chi, 64);
    epilogue_q6(pb + (b + 1) * DS_GEMM_Q6_BLOCK_BYTES, clo, chi, xd, b + 1, acc);
  }
  if (b < nb) {   /* odd count: the last block is in tiles 0, 1 */
    _tile_stored(0, clo, 64);
    _tile_stored(1, chi, 64);
    epilogue_q6(pb + b * DS_GEMM_Q6_BLOCK_BYTES, clo, chi, xd, b, acc);
  }
  _tile_release();
  store_columns(acc, out, os);
}
#else
typedef int ds_vec_amx_unused;   /* ISO C forbids an empty translation unit */
#endif
