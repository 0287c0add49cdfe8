/*
 * cpu.h — which kernel family mul_mat runs, chosen once at run time.
 *
 * Levels, each including the ones below it:
 *   DS_CPU_REFERENCE  decode each weight row to f32, f32 dot in index order (the
 *                     oracle; exact to the weights as stored, no activation rounding)
 *   DS_CPU_SCALAR     the quantized-activation kernels in plain C (vec_scalar.c):
 *                     the "scalar twins" every SIMD kernel is tested against
 *   DS_CPU_AVX2       AVX2 + FMA + F16C (vec_avx2.c)
 *   DS_CPU_AVX512     AVX-512 F/BW/VL + VNNI (vec_avx512.c)
 * On AArch64 the ranks above scalar are DS_CPU_NEON (= DS_CPU_AVX2's rank:
 * Advanced SIMD, vec_neon.c) and DS_CPU_NEON_DOTPROD (= DS_CPU_AVX512's: NEON
 * with the ARMv8.2 int8 dot product); x86 levels are not there. The default
 * is the best the CPU supports (x86: cpuid, and xgetbv for the OS saving the
 * wide registers; AArch64: NEON always, dotprod where the OS reports it:
 * Linux hwcaps, macOS sysctl, Windows IsProcessorFeaturePresent; see
 * core/platform_cpu.c). The environment variable DSEEK_CPU = reference |
 * scalar | avx2 | avx512 | neon | dotprod caps it (a level above what the CPU has is capped
 * to the CPU).
 */
#ifndef DS_KERNELS_CPU_H
#define DS_KERNELS_CPU_H

#include <stdbool.h>

typedef enum ds_cpu_level {
  DS_CPU_REFERENCE = 0,
  DS_CPU_SCALAR = 1,
  DS_CPU_AVX2 = 2,
  DS_CPU_AVX512 = 3,
  DS_CPU_NEON = 2,           /* AArch64's levels, at the ranks of AVX2 and AVX-512 */
  DS_CPU_NEON_DOTPROD = 3,
} ds_cpu_level;

/* The highest level this CPU (and OS) supports; cached after the first call. */
ds_cpu_level ds_cpu_detected(void);
/* The level kernels use: detected, capped by DSEEK_CPU; cached. */
ds_cpu_level ds_cpu_level_get(void);
/* Tests: use min(level, detected) from now on; returns the level in effect. */
ds_cpu_level ds_cpu_level_set(ds_cpu_level level);
/* "reference", "scalar", "avx2", "avx512"; on AArch64 "neon", "dotprod". */
const char *ds_cpu_level_name(ds_cpu_level level);

/* Intel AMX (tiles + int8) usable: cpuid leaf 7 edx bits 24-25, the OS saving
 * the tile state (xcr0 bits 17-18) and, on Linux, the process granted it
 * (arch_prctl ARCH_REQ_XCOMP_PERM); checked once. Used inside the AVX-512
 * level (same bits as its VNNI GEMM, vec_amx.c). DSEEK_AMX=0 turns it off. */
bool ds_cpu_amx(void);
/* Tests: false turns AMX off from now on, true back on where the CPU has it. */
void ds_cpu_amx_enable(bool on);

#endif
