/*
 * ops_attn_rows.c — the row helpers of the attention kernel
 * (ops_attn_blocked.c): f16 cache rows to f32 (F16C at DS_CPU_AVX2 and above,
 * the exact scalar decode otherwise) and the weighted sum of value rows
 * (ds_attn_pv: one FMA chain per element in slot order, the same bits at
 * every level).
 */
#include "core/platform.h"   /* ds_fmaf */
#include "kernels/cpu.h"
#include "kernels/ops_attn.h"
#include "kernels/types.h"

#include <math.h>
#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#endif

#if defined(__x86_64__) || defined(__i386__)
/* n f16 values -> f32 with F16C, 8 at a time (exact, as the scalar decode);
 * only called at DS_CPU_AVX2 and above, which require F16C (cpu.c). */
__attribute__((target("avx2,f16c"))) static void f16_rows_f16c(const uint16_t *src, float *dst, int64_t n)
{
  int64_t i = 0;
  for (; i + 8 <= n; i += 8) _mm256_storeu_ps(dst + i, _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)(src + i))));
  for (; i < n; i++) dst[i] = ds_f16_to_f32(src[i]);
}
#endif

void ds_attn_f16_to_f32(ds_cpu_level level, const uint16_t *src, float *dst, int64_t n)
{
#if defined(__x86_64__) || defined(__i386__)
  if (level >= DS_CPU_AVX2) {
    f16_rows_f16c(src, dst, n);
    return;
  }
#endif
  (void)level;
  ds_type_traits_get(DSEEK_TYPE_F16)->to_float(src, dst, n);   /* the scalar twin */
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
/* Four W-wide column chunks of o per pass: four independent FMA chains (one
 * chain alone waits on the FMA latency at every slot). Advances d. */
#define PV_FOUR_CHUNKS(VEC, W, LOAD, STORE, FMADD, SET1)                  \
  for (; d + 4 * (W) <= Dv; d += 4 * (W)) {                               \
    VEC a0 = LOAD(o + d), a1 = LOAD(o + d + (W));                         \
    VEC a2 = LOAD(o + d + 2 * (W)), a3 = LOAD(o + d + 3 * (W));           \
    for (int j = 0; j < n; j++) {                                         \
      const VEC ej = SET1(e[j]);                                          \
      const float *vj = v[j] + d;                                         \
      a0 = FMADD(ej, LOAD(vj), a0);                                       \
      a1 = FMADD(ej, LOAD(vj + (W)), a1);                                 \
      a2 = FMADD(ej, LOAD(vj + 2 * (W)), a2);                             \
      a3 = FMADD(ej, LOAD(vj + 3 * (W)), a3);                             \
    }                                                                     \
    STORE(o + d, a0);                                                     \
    STORE(o + d + (W), a1);                                               \
    STORE(o + d + 2 * (W), a2);                                           \
    STORE(o + d + 3 * (W), a3);                                           \
  }

__attribute__((target("avx512f"))) static void pv_avx512(int64_t Dv, float *o, const float *const *v, const float *e,
                                                           int n)
{
  int64_t d = 0;
  PV_FOUR_CHUNKS(__m512, 16, _mm512_loadu_ps, _mm512_storeu_ps, _mm512_fmadd_ps, _mm512_set1_ps)
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
  PV_FOUR_CHUNKS(__m256, 8, _mm256_loadu_ps, _mm256_storeu_ps, _mm256_fmadd_ps, _mm256_set1_ps)
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
#undef PV_FOUR_CHUNKS
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
