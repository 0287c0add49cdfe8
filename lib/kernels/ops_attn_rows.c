/*
 * ops_attn_rows.c — the row helpers of the attention kernel
 * (ops_attn_blocked.c): cache rows to f32 and the weighted sum of value rows
 * (ds_attn_pv: one FMA chain per element in slot order, the same bits at
 * every level).
 *
 * Cache rows (ds_attn_row_to_f32): each decode is exact or one rounding per
 * value, so the SIMD forms give the scalar decode's bits (NaNs aside: the
 * hardware f16 conversions quiet a signalling NaN, the scalar one copies its
 * bits; both are NaN, which is all softmax sees):
 *   F16    value = the half float            F16C (x86 AVX2 level), vcvt (NEON)
 *   BF16   bits = h << 16                    a widening shift
 *   Q8_0   {f16 d; i8 q[32]}, value = q d    int8 -> int32 -> f32 (exact), one
 *                                            f32 multiply by d (one rounding,
 *                                            as the scalar (float)q * d)
 * (Q8_0's layout as ggml-common.h's block_q8_0 in llama.cpp.)
 */
#include "core/platform.h"   /* ds_fmaf */
#include "kernels/cpu.h"
#include "kernels/ops_attn.h"
#include "kernels/quants.h"  /* ds_get_half, DS_QK */
#include "kernels/types.h"

#include <math.h>
#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#endif
#if defined(__aarch64__)
#include <arm_neon.h>
#endif

/* Bytes of one Q8_0 block: the f16 scale, then 32 int8 values. */
#define Q8_0_BYTES (2 + DS_QK)

#if defined(__x86_64__) || defined(__i386__)
/* n f16 values -> f32 with F16C, 32 then 8 at a time (exact, as the scalar
 * decode); only called at DS_CPU_AVX2 and above, which require F16C (cpu.c).
 * Four conversions per pass: the decode runs once per cache row of every
 * block, and one per pass left it mostly loop overhead. */
__attribute__((target("avx2,f16c"))) static void f16_rows_f16c(const void *row, float *dst, int64_t n)
{
  const uint16_t *src = row;
  int64_t i = 0;
  for (; i + 32 <= n; i += 32) {
    const __m256 a = _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)(src + i)));
    const __m256 b = _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)(src + i + 8)));
    const __m256 c = _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)(src + i + 16)));
    const __m256 d = _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)(src + i + 24)));
    _mm256_storeu_ps(dst + i, a);
    _mm256_storeu_ps(dst + i + 8, b);
    _mm256_storeu_ps(dst + i + 16, c);
    _mm256_storeu_ps(dst + i + 24, d);
  }
  for (; i + 8 <= n; i += 8) _mm256_storeu_ps(dst + i, _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)(src + i))));
  for (; i < n; i++) dst[i] = ds_f16_to_f32(src[i]);
}

__attribute__((target("avx2"))) static void bf16_rows_avx2(const void *row, float *dst, int64_t n)
{
  const uint16_t *src = row;
  int64_t i = 0;
  for (; i + 8 <= n; i += 8) {
    const __m256i w = _mm256_cvtepu16_epi32(_mm_loadu_si128((const __m128i *)(src + i)));
    _mm256_storeu_ps(dst + i, _mm256_castsi256_ps(_mm256_slli_epi32(w, 16)));
  }
  for (; i < n; i++) dst[i] = ds_bf16_to_f32(src[i]);
}

__attribute__((target("avx512f"))) static void bf16_rows_avx512(const void *row, float *dst, int64_t n)
{
  const uint16_t *src = row;
  int64_t i = 0;
  for (; i + 16 <= n; i += 16) {
    const __m512i w = _mm512_cvtepu16_epi32(_mm256_loadu_si256((const __m256i *)(src + i)));
    _mm512_storeu_ps(dst + i, _mm512_castsi512_ps(_mm512_slli_epi32(w, 16)));
  }
  for (; i < n; i++) dst[i] = ds_bf16_to_f32(src[i]);
}

/* One Q8_0 block per pass: four 8-value quarters (AVX2) or two 16-value
 * halves (AVX-512), each widened to int32, converted and multiplied by d. */
__attribute__((target("avx2"))) static void q8_0_rows_avx2(const void *row, float *dst, int64_t n)
{
  const uint8_t *src = row;
  for (int64_t i = 0; i < n / DS_QK; i++, src += Q8_0_BYTES, dst += DS_QK) {
    const __m256 d = _mm256_set1_ps(ds_get_half(src));
    for (int k = 0; k < DS_QK; k += 8) {
      const __m256i q = _mm256_cvtepi8_epi32(_mm_loadl_epi64((const __m128i *)(src + 2 + k)));
      _mm256_storeu_ps(dst + k, _mm256_mul_ps(_mm256_cvtepi32_ps(q), d));
    }
  }
}

__attribute__((target("avx512f"))) static void q8_0_rows_avx512(const void *row, float *dst, int64_t n)
{
  const uint8_t *src = row;
  for (int64_t i = 0; i < n / DS_QK; i++, src += Q8_0_BYTES, dst += DS_QK) {
    const __m512 d = _mm512_set1_ps(ds_get_half(src));
    for (int k = 0; k < DS_QK; k += 16) {
      const __m512i q = _mm512_cvtepi8_epi32(_mm_loadu_si128((const __m128i *)(src + 2 + k)));
      _mm512_storeu_ps(dst + k, _mm512_mul_ps(_mm512_cvtepi32_ps(q), d));
    }
  }
}
#endif

#if defined(__aarch64__)
static void f16_rows_neon(const void *row, float *dst, int64_t n)
{
  const uint16_t *src = row;
  int64_t i = 0;
  for (; i + 4 <= n; i += 4) vst1q_f32(dst + i, vcvt_f32_f16(vreinterpret_f16_u16(vld1_u16(src + i))));
  for (; i < n; i++) dst[i] = ds_f16_to_f32(src[i]);
}

static void bf16_rows_neon(const void *row, float *dst, int64_t n)
{
  const uint16_t *src = row;
  int64_t i = 0;
  for (; i + 4 <= n; i += 4) vst1q_f32(dst + i, vreinterpretq_f32_u32(vshll_n_u16(vld1_u16(src + i), 16)));
  for (; i < n; i++) dst[i] = ds_bf16_to_f32(src[i]);
}

/* One Q8_0 block per pass: two 16-value halves, int8 -> int16 -> int32 -> f32, times d. */
static void q8_0_rows_neon(const void *row, float *dst, int64_t n)
{
  const uint8_t *src = row;
  for (int64_t i = 0; i < n / DS_QK; i++, src += Q8_0_BYTES, dst += DS_QK) {
    const float d = ds_get_half(src);
    for (int k = 0; k < DS_QK; k += 16) {
      const int8x16_t q = vld1q_s8((const int8_t *)(src + 2 + k));
      const int16x8_t lo = vmovl_s8(vget_low_s8(q)), hi = vmovl_s8(vget_high_s8(q));
      vst1q_f32(dst + k, vmulq_n_f32(vcvtq_f32_s32(vmovl_s16(vget_low_s16(lo))), d));
      vst1q_f32(dst + k + 4, vmulq_n_f32(vcvtq_f32_s32(vmovl_s16(vget_high_s16(lo))), d));
      vst1q_f32(dst + k + 8, vmulq_n_f32(vcvtq_f32_s32(vmovl_s16(vget_low_s16(hi))), d));
      vst1q_f32(dst + k + 12, vmulq_n_f32(vcvtq_f32_s32(vmovl_s16(vget_high_s16(hi))), d));
    }
  }
}
#endif

/* The SIMD decodes by type: simd[0] at the AVX2 / NEON rank, simd[1] at the
 * AVX-512 / dotprod rank; NULL (and every level below) the scalar twin. */
typedef ds_attn_row_fn row_decode;
static const struct {
  int type;
  row_decode simd[2];
} row_decodes[] = {
#if defined(__x86_64__) || defined(__i386__)
    {DSEEK_TYPE_F16, {f16_rows_f16c, f16_rows_f16c}},
    {DSEEK_TYPE_BF16, {bf16_rows_avx2, bf16_rows_avx512}},
    {DSEEK_TYPE_Q8_0, {q8_0_rows_avx2, q8_0_rows_avx512}},
#elif defined(__aarch64__)
    {DSEEK_TYPE_F16, {f16_rows_neon, f16_rows_neon}},
    {DSEEK_TYPE_BF16, {bf16_rows_neon, bf16_rows_neon}},
    {DSEEK_TYPE_Q8_0, {q8_0_rows_neon, q8_0_rows_neon}},
#else
    {DSEEK_TYPE_F16, {NULL, NULL}},
    {DSEEK_TYPE_BF16, {NULL, NULL}},
    {DSEEK_TYPE_Q8_0, {NULL, NULL}},
#endif
};

ds_attn_row_fn ds_attn_row_decoder(ds_cpu_level level, int type)
{
  for (size_t i = 0; i < sizeof row_decodes / sizeof row_decodes[0]; i++) {
    if (row_decodes[i].type != type) continue;
    const row_decode f = level >= DS_CPU_AVX512 ? row_decodes[i].simd[1]
                         : level >= DS_CPU_AVX2 ? row_decodes[i].simd[0]
                                                : NULL;
    return f ? f : ds_type_traits_get(type)->to_float;   /* NULL: the scalar twin */
  }
  return NULL;
}

bool ds_attn_row_to_f32(ds_cpu_level level, int type, const void *src, float *dst, int64_t n)
{
  const ds_attn_row_fn f = ds_attn_row_decoder(level, type);
  if (f) f(src, dst, n);
  return f != NULL;
}

/* o[d] = fma(e[n-1], v[n-1][d], ... fma(e[0], v[0][d], o[d])): n successive
 * axpys o += e_j v_j as one FMA chain per element, in slot order, with o
 * loaded and stored once per call instead of once per slot (the per-slot
 * axpy was load/store bound: two loads and a store per FMA). Every level
 * computes the same chain, so all give the scalar twin's bits. */
static void pv_scalar(int64_t Dv, float *o, const float *const *v, const float *e, int n)
{
  for (int64_t d = 0; d < Dv; d++) {
    float acc = o[d];
    for (int j = 0; j < n; j++) acc = ds_fmaf(e[j], v[j][d], acc);
    o[d] = acc;
  }
}

#if defined(__x86_64__) || defined(__i386__)
/* Eight W-wide column chunks of o per pass (a head of 128 values in one
 * AVX-512 pass or two AVX2 passes): eight independent FMA chains (one chain
 * alone waits on the FMA latency at every slot), and e_j broadcast and v_j's
 * pointer loaded once per eight FMAs. The rest of o runs one chunk at a
 * time. Advances d. */
#define PV_EIGHT_CHUNKS(VEC, W, LOAD, STORE, FMADD, SET1)                 \
  for (; d + 8 * (W) <= Dv; d += 8 * (W)) {                               \
    float *od = o + d;                                                    \
    VEC a0 = LOAD(od), a1 = LOAD(od + (W)), a2 = LOAD(od + 2 * (W));      \
    VEC a3 = LOAD(od + 3 * (W)), a4 = LOAD(od + 4 * (W));                 \
    VEC a5 = LOAD(od + 5 * (W)), a6 = LOAD(od + 6 * (W));                 \
    VEC a7 = LOAD(od + 7 * (W));                                          \
    for (int j = 0; j < n; j++) {                                         \
      const VEC ej = SET1(e[j]);                                          \
      const float *vj = v[j] + d;                                         \
      a0 = FMADD(ej, LOAD(vj), a0);                                       \
      a1 = FMADD(ej, LOAD(vj + (W)), a1);                                 \
      a2 = FMADD(ej, LOAD(vj + 2 * (W)), a2);                             \
      a3 = FMADD(ej, LOAD(vj + 3 * (W)), a3);                             \
      a4 = FMADD(ej, LOAD(vj + 4 * (W)), a4);                             \
      a5 = FMADD(ej, LOAD(vj + 5 * (W)), a5);                             \
      a6 = FMADD(ej, LOAD(vj + 6 * (W)), a6);                             \
      a7 = FMADD(ej, LOAD(vj + 7 * (W)), a7);                             \
    }                                                                     \
    STORE(od, a0);                                                        \
    STORE(od + (W), a1);                                                  \
    STORE(od + 2 * (W), a2);                                              \
    STORE(od + 3 * (W), a3);                                              \
    STORE(od + 4 * (W), a4);                                              \
    STORE(od + 5 * (W), a5);                                              \
    STORE(od + 6 * (W), a6);                                              \
    STORE(od + 7 * (W), a7);                                              \
  }

__attribute__((target("avx512f"))) static void pv_avx512(int64_t Dv, float *o, const float *const *v, const float *e,
                                                           int n)
{
  int64_t d = 0;
  PV_EIGHT_CHUNKS(__m512, 16, _mm512_loadu_ps, _mm512_storeu_ps, _mm512_fmadd_ps, _mm512_set1_ps)
  for (; d < Dv; d += 16) {
    const __mmask16 m = Dv - d >= 16 ? (__mmask16)0xFFFF : (__mmask16)((1u << (Dv - d)) - 1);
    __m512 acc = _mm512_maskz_loadu_ps(m, o + d);
    for (int j = 0; j < n; j++) acc = _mm512_fmadd_ps(_mm512_set1_ps(e[j]), _mm512_maskz_loadu_ps(m, v[j] + d), acc);
    _mm512_mask_storeu_ps(o + d, m, acc);
  }
}

__attribute__((target("avx2,fma"))) static void pv_avx2(int64_t Dv, float *o, const float *const *v, const float *e,
                                                         int n)
{
  int64_t d = 0;
  PV_EIGHT_CHUNKS(__m256, 8, _mm256_loadu_ps, _mm256_storeu_ps, _mm256_fmadd_ps, _mm256_set1_ps)
  for (; d + 8 <= Dv; d += 8) {
    __m256 acc = _mm256_loadu_ps(o + d);
    for (int j = 0; j < n; j++) acc = _mm256_fmadd_ps(_mm256_set1_ps(e[j]), _mm256_loadu_ps(v[j] + d), acc);
    _mm256_storeu_ps(o + d, acc);
  }
  for (; d < Dv; d++) {
    float acc = o[d];
    for (int j = 0; j < n; j++) acc = fmaf(e[j], v[j][d], acc);
    o[d] = acc;
  }
}
#undef PV_EIGHT_CHUNKS
#endif

void ds_attn_pv(ds_cpu_level level, int64_t Dv, float *o, const float *const *v, const float *e, int n)
{
#if defined(__x86_64__) || defined(__i386__)
  if (level >= DS_CPU_AVX512) {
    pv_avx512(Dv, o, v, e, n);
    return;
  }
  if (level >= DS_CPU_AVX2) {
    pv_avx2(Dv, o, v, e, n);
    return;
  }
#endif
  (void)level;
  pv_scalar(Dv, o, v, e, n);
}
