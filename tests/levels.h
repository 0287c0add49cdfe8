/* levels.h — the line every test that runs kernels at several CPU levels
 * prints first: which levels run on this host and which it lacks (so a
 * level that did not run is named, not silently left out). */
#ifndef DS_TESTS_LEVELS_H
#define DS_TESTS_LEVELS_H

#include "kernels/cpu.h"

#include <stdio.h>

/* The highest level the host has, after printing
 * "levels run: reference scalar avx2; not on this host: avx512". */
static inline ds_cpu_level ds_test_levels(void)
{
  const ds_cpu_level top = ds_cpu_detected();
  fprintf(stderr, "levels run:");
  for (int l = DS_CPU_REFERENCE; l <= (int)top; l++) fprintf(stderr, " %s", ds_cpu_level_name((ds_cpu_level)l));
  fprintf(stderr, "; not on this host:");
  for (int l = (int)top + 1; l <= DS_CPU_AVX512; l++) fprintf(stderr, " %s", ds_cpu_level_name((ds_cpu_level)l));
  fprintf(stderr, "%s\n", top == DS_CPU_AVX512 ? " none" : "");
  return top;
}

#endif
