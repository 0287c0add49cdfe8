/*
 * cpu.c — CPU feature detection for kernel dispatch (cpu.h).
 *
 * x86-64: cpuid leaf 1 gives FMA (ecx 12), OSXSAVE (ecx 27), AVX (ecx 28) and
 * F16C (ecx 29); leaf 7 subleaf 0 gives AVX2 (ebx 5), AVX512F (ebx 16), BW
 * (ebx 30), VL (ebx 31) and VNNI (ecx 11). The OS must also save the registers:
 * xgetbv(0) bits 1-2 (SSE, AVX state) for AVX2 and bits 5-7 (opmask, ZMM) too
 * for AVX-512. AArch64: NEON always, the dot product from the hwcaps (below).
 * Elsewhere only the portable levels exist.
 */
#include "kernels/cpu.h"

#include <stdatomic.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#if defined(__x86_64__) && defined(__GNUC__)
#include <cpuid.h>

static unsigned long long xgetbv0(void)
{
  unsigned eax, edx;
  __asm__ volatile("xgetbv" : "=a"(eax), "=d"(edx) : "c"(0));
  return (unsigned long long)edx << 32 | eax;
}

static ds_cpu_level detect(void)
{
  unsigned a, b, c, d;
  if (!__get_cpuid(1, &a, &b, &c, &d)) return DS_CPU_SCALAR;
  bool fma = c >> 12 & 1, osxsave = c >> 27 & 1, avx = c >> 28 & 1, f16c = c >> 29 & 1;
  if (!osxsave || !avx) return DS_CPU_SCALAR;
  unsigned long long xcr0 = xgetbv0();
  if ((xcr0 & 0x6) != 0x6) return DS_CPU_SCALAR;
  if (!__get_cpuid_count(7, 0, &a, &b, &c, &d)) return DS_CPU_SCALAR;
  bool avx2 = b >> 5 & 1, f = b >> 16 & 1, bw = b >> 30 & 1, vl = b >> 31 & 1, vnni = c >> 11 & 1;
  if (!(avx2 && fma && f16c)) return DS_CPU_SCALAR;
  if (f && bw && vl && vnni && (xcr0 & 0xE6) == 0xE6) return DS_CPU_AVX512;
  return DS_CPU_AVX2;
}

#if defined(__linux__)
#include <sys/syscall.h>
#include <unistd.h>
#endif

static bool detect_amx(void)
{
  unsigned a, b, c, d;
  if (detect() < DS_CPU_AVX512 || !__get_cpuid_count(7, 0, &a, &b, &c, &d)) return false;
  if (!(d >> 24 & 1) || !(d >> 25 & 1) || (xgetbv0() & 0x60000) != 0x60000) return false;
#if defined(__linux__) && defined(SYS_arch_prctl)
  /* ARCH_REQ_XCOMP_PERM (0x1023) for XFEATURE_XTILEDATA (18): without it
   * the first tile instruction faults */
  return syscall(SYS_arch_prctl, 0x1023, 18) == 0;
#else
  return false;
#endif
}
#elif defined(__aarch64__) && defined(__ARM_NEON)
#if defined(__linux__)
#include <sys/auxv.h>
#endif
/* Advanced SIMD is mandatory in AArch64; the dot product (sdot, ARMv8.2) is
 * hwcap bit 20 (HWCAP_ASIMDDP) on Linux. */
static ds_cpu_level detect(void)
{
#if defined(__linux__)
  if (getauxval(AT_HWCAP) & (1UL << 20)) return DS_CPU_NEON_DOTPROD;
#endif
  return DS_CPU_NEON;
}
static bool detect_amx(void) { return false; }
#else
static ds_cpu_level detect(void) { return DS_CPU_SCALAR; }
static bool detect_amx(void) { return false; }
#endif

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
