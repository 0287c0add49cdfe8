/*
 * cpu.c — CPU feature detection for kernel dispatch (cpu.h): the feature
 * bits of the platform layer (core/platform_cpu.c: cpuid and xgetbv on x86,
 * hwcaps / sysctl / the processor-feature query on AArch64) as levels.
 */
#include "kernels/cpu.h"
#include "core/platform.h"

#include <stdatomic.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

static ds_cpu_level detect(void)
{
  unsigned f = ds_cpu_features();
#if defined(__aarch64__) && defined(__ARM_NEON)
  if (f & DS_CPUF_NEON_DOTPROD) return DS_CPU_NEON_DOTPROD;
  if (f & DS_CPUF_NEON) return DS_CPU_NEON;
#elif defined(__x86_64__) && defined(__GNUC__)   /* the x86 kernels are built with GCC or Clang */
  if (f & DS_CPUF_AVX512) return DS_CPU_AVX512;
  if (f & DS_CPUF_AVX2) return DS_CPU_AVX2;
#endif
  (void)f;
  return DS_CPU_SCALAR;
}

static bool detect_amx(void)
{
#if defined(__x86_64__) || defined(_M_X64)
  return (ds_cpu_features() & DS_CPUF_AMX) && ds_cpu_request_amx();
#else
  return false;
#endif
}

/* -1: not yet known. Racing first calls compute the same value. */
static atomic_int detected = -1, level = -1;

ds_cpu_level ds_cpu_detected(void)
{
  int v = atomic_load_explicit(&detected, memory_order_relaxed);
  if (v < 0) {
    v = (int)detect();
    atomic_store_explicit(&detected, v, memory_order_relaxed);
  }
  return (ds_cpu_level)v;
}

static ds_cpu_level from_env(void)
{
  ds_cpu_level best = ds_cpu_detected();
  const char *s = getenv("DSEEK_CPU");
  if (!s || !*s) return best;
  for (int l = DS_CPU_REFERENCE; l <= DS_CPU_AVX512; l++)
    if (!strcmp(s, ds_cpu_level_name((ds_cpu_level)l))) return (ds_cpu_level)l < best ? (ds_cpu_level)l : best;
  return best;   /* an unknown name (or another architecture's level) changes nothing */
}

ds_cpu_level ds_cpu_level_get(void)
{
  int v = atomic_load_explicit(&level, memory_order_relaxed);
  if (v < 0) {
    v = (int)from_env();
    atomic_store_explicit(&level, v, memory_order_relaxed);
  }
  return (ds_cpu_level)v;
}

ds_cpu_level ds_cpu_level_set(ds_cpu_level l)
{
  ds_cpu_level best = ds_cpu_detected();
  if (l > best) l = best;
  if (l < DS_CPU_REFERENCE) l = DS_CPU_REFERENCE;
  atomic_store_explicit(&level, (int)l, memory_order_relaxed);
  return l;
}

/* -1: not yet known; 0/1 afterwards (racing first calls agree). */
static atomic_int amx = -1, amx_on = 1;

bool ds_cpu_amx(void)
{
  int v = atomic_load_explicit(&amx, memory_order_relaxed);
  if (v < 0) {
    const char *e = getenv("DSEEK_AMX");
    v = (e && !strcmp(e, "0")) ? 0 : (int)detect_amx();
    atomic_store_explicit(&amx, v, memory_order_relaxed);
  }
  return v && atomic_load_explicit(&amx_on, memory_order_relaxed);
}

void ds_cpu_amx_enable(bool on) { atomic_store_explicit(&amx_on, on ? 1 : 0, memory_order_relaxed); }

const char *ds_cpu_level_name(ds_cpu_level l)
{
  if (l == DS_CPU_REFERENCE) return "reference";
  if (l == DS_CPU_SCALAR) return "scalar";
#if defined(__aarch64__)
  if (l == DS_CPU_NEON) return "neon";
  if (l == DS_CPU_NEON_DOTPROD) return "dotprod";
#else
  if (l == DS_CPU_AVX2) return "avx2";
  if (l == DS_CPU_AVX512) return "avx512";
#endif
  return "?";
}
