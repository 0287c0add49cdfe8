/*
 * platform_cpu.c — what the CPU and the OS support, for kernel dispatch
 * (platform.h; lib/kernels/cpu.c turns the bits into levels).
 *
 * x86-64 (every OS): cpuid leaf 1 gives FMA (ecx 12), OSXSAVE (ecx 27), AVX
 * (ecx 28) and F16C (ecx 29); leaf 7 subleaf 0 gives AVX2 (ebx 5), AVX512F
 * (ebx 16), BW (ebx 30), VL (ebx 31), VNNI (ecx 11), AMX-TILE (edx 24) and
 * AMX-INT8 (edx 25). The OS must also save the registers: xgetbv(0) bits 1-2
 * (SSE, AVX state) for AVX2, bits 5-7 (opmask, ZMM) too for AVX-512, bits
 * 17-18 (XTILECFG, XTILEDATA) for AMX.
 * AArch64: Advanced SIMD is mandatory; the dot product (ARMv8.2) is Linux
 * hwcap bit 20 (HWCAP_ASIMDDP), sysctl hw.optional.arm.FEAT_DotProd on macOS,
 * PF_ARM_V82_DP_INSTRUCTIONS_AVAILABLE (43) on Windows.
 */
#include "core/platform.h"

#if defined(__x86_64__) || defined(_M_X64)
#if defined(_MSC_VER) && !defined(__clang__)
#include <intrin.h>
static void cpuid(unsigned leaf, unsigned sub, unsigned r[4])
{
  int v[4];
  __cpuidex(v, (int)leaf, (int)sub);
  for (int i = 0; i < 4; i++) r[i] = (unsigned)v[i];
}
static unsigned long long xgetbv0(void) { return _xgetbv(0); }
static unsigned max_leaf(void) { unsigned r[4]; cpuid(0, 0, r); return r[0]; }
#else
#include <cpuid.h>
static void cpuid(unsigned leaf, unsigned sub, unsigned r[4]) { __cpuid_count(leaf, sub, r[0], r[1], r[2], r[3]); }
static unsigned long long xgetbv0(void)
{
  unsigned eax, edx;
  __asm__ volatile("xgetbv" : "=a"(eax), "=d"(edx) : "c"(0));
  return (unsigned long long)edx << 32 | eax;
}
static unsigned max_leaf(void) { return __get_cpuid_max(0, NULL); }
#endif

unsigned ds_cpu_features(void)
{
  unsigned r[4];
  if (max_leaf() < 7) return 0;
  cpuid(1, 0, r);
  unsigned c = r[2];
  bool fma = c >> 12 & 1, osxsave = c >> 27 & 1, avx = c >> 28 & 1, f16c = c >> 29 & 1;
  if (!osxsave || !avx) return 0;
  unsigned long long xcr0 = xgetbv0();
  if ((xcr0 & 0x6) != 0x6) return 0;
  cpuid(7, 0, r);
  unsigned b = r[1], d = r[3];
  c = r[2];
  bool avx2 = b >> 5 & 1, f = b >> 16 & 1, bw = b >> 30 & 1, vl = b >> 31 & 1, vnni = c >> 11 & 1;
  if (!(avx2 && fma && f16c)) return 0;
  unsigned out = DS_CPUF_AVX2;
  if (!(f && bw && vl && vnni && (xcr0 & 0xE6) == 0xE6)) return out;
  out |= DS_CPUF_AVX512;
  if ((d >> 24 & 1) && (d >> 25 & 1) && (xcr0 & 0x60000) == 0x60000) out |= DS_CPUF_AMX;
  return out;
}

#if defined(__linux__)
#include <sys/syscall.h>
#include <unistd.h>
#endif

bool ds_cpu_request_amx(void)
{
#if defined(__linux__) && defined(SYS_arch_prctl)
  /* ARCH_REQ_XCOMP_PERM (0x1023) for XFEATURE_XTILEDATA (18): without it
   * the first tile instruction faults */
  return syscall(SYS_arch_prctl, 0x1023, 18) == 0;
#else
  return false;   /* other OSes: AMX not used (untested) */
#endif
}

#elif defined(__aarch64__) || defined(_M_ARM64)
#if defined(__linux__)
#include <sys/auxv.h>
#elif defined(__APPLE__)
#include <sys/sysctl.h>
#elif defined(_WIN32)
#define WIN32_LEAN_AND_MEAN
#include <windows.h>
#endif

static bool has_dotprod(void)
{
#if defined(__linux__)
  return getauxval(AT_HWCAP) & (1UL << 20);
#elif defined(__APPLE__)
  int v = 0;
  size_t len = sizeof v;
  return sysctlbyname("hw.optional.arm.FEAT_DotProd", &v, &len, NULL, 0) == 0 && v;
#elif defined(_WIN32)
  return IsProcessorFeaturePresent(43);   /* PF_ARM_V82_DP_INSTRUCTIONS_AVAILABLE */
#else
  return false;
#endif
}

unsigned ds_cpu_features(void) { return DS_CPUF_NEON | (has_dotprod() ? DS_CPUF_NEON_DOTPROD : 0u); }
bool ds_cpu_request_amx(void) { return false; }

#else
unsigned ds_cpu_features(void) { return 0; }
bool ds_cpu_request_amx(void) { return false; }
#endif
