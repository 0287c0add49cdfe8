/* platform_clock.c — a monotonic clock (platform.h). */
#include "core/platform.h"

#if defined(_WIN32)
#define WIN32_LEAN_AND_MEAN
#include <windows.h>

double ds_seconds(void)
{
  LARGE_INTEGER t, f;
  QueryPerformanceCounter(&t);
  QueryPerformanceFrequency(&f);   /* fixed at boot; never 0 since Windows XP */
  return (double)t.QuadPart / (double)f.QuadPart;
}

#else
#include <time.h>

/* CLOCK_MONOTONIC: POSIX; macOS has it since 10.12. */
double ds_seconds(void)
{
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}
#endif
