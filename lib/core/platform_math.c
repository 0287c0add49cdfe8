/*
 * platform_math.c — a correctly rounded fmaf for C runtimes whose own is not
 * fused (platform.h: ds_fmaf is this on MinGW-w64, whose fmaf differs from
 * the hardware FMA in about a quarter of random cases, measured under Wine;
 * the kernels' scalar twins need one rounding per step to match SIMD FMAs).
 *
 * x*y is exact in double (24 + 24 significant bits <= 53, and no float
 * product leaves double's range). s = x*y + z rounded to nearest double, with
 * its error e from Knuth's TwoSum, is made the round-to-odd sum (if inexact
 * and s's last bit is 0, step one ulp towards the exact value); rounding a
 * round-to-odd value of p >= 2q + 2 bits to q bits equals rounding the exact
 * value once (Boldo and Melquiond, "Emulation of FMA and correctly rounded
 * sums: proved algorithms using rounding to odd", IEEE TC 2008), and
 * 53 >= 2 * 24 + 2.
 */
#include "core/platform.h"

#include <string.h>

float ds_fmaf_soft(float x, float y, float z)
{
  double p = (double)x * (double)y, s = p + (double)z;
  if (!isfinite(s)) return (float)s;   /* inf, nan: no error term to take */
  double bb = s - p, e = (p - (s - bb)) + ((double)z - bb);
  uint64_t u;
  memcpy(&u, &s, sizeof u);
  if (e != 0 && (u & 1) == 0) {   /* s != 0 here: an inexact sum never rounds to 0 */
    if ((e > 0) == (s > 0)) u++;  /* away from zero */
    else u--;
    memcpy(&s, &u, sizeof s);
  }
  return (float)s;
}
