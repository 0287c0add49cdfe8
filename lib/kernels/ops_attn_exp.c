/*
 * ops_attn_exp.c — ds_attn_exp: the softmax exponential of ops_attn_exp.h
 * over an array, in the level's registers; tails and DS_CPU_SCALAR run the
 * scalar twin (the same operations, so the same bits).
 */
#include "kernels/ops_attn_exp.h"

#if defined(__x86_64__) && defined(__GNUC__)
__attribute__((target("avx2,fma"))) static int64_t exp_avx2(const float *x, float *y, int64_t n)
{
  int64_t i = 0;
  for (; i + 8 <= n; i += 8) _mm256_storeu_ps(y + i, ds_attn_exp8_avx2(_mm256_loadu_ps(x + i)));
  return i;
}

__attribute__((target("avx512f"))) static int64_t exp_avx512(const float *x, float *y, int64_t n)
{
  int64_t i = 0;
  for (; i + 16 <= n; i += 16) _mm512_storeu_ps(y + i, ds_attn_exp16_avx512(_mm512_loadu_ps(x + i)));
  return i;
}
#endif

#if defined(__aarch64__)
static int64_t exp_neon(const float *x, float *y, int64_t n)
{
  int64_t i = 0;
  for (; i + 4 <= n; i += 4) vst1q_f32(y + i, ds_attn_exp4_neon(vld1q_f32(x + i)));
  return i;
}
#endif

void ds_attn_exp(ds_cpu_level level, const float *x, float *y, int64_t n)
{
  int64_t i = 0;
#if defined(__x86_64__) && defined(__GNUC__)
  if (level >= DS_CPU_AVX512) i = exp_avx512(x, y, n);
  if (level >= DS_CPU_AVX2) i += exp_avx2(x + i, y + i, n - i);
#elif defined(__aarch64__)
  if (level >= DS_CPU_NEON) i = exp_neon(x, y, n);
#endif
  (void)level;
  for (; i < n; i++) y[i] = ds_attn_exp1(x[i]);
}
