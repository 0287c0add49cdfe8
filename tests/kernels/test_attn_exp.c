/* test_attn_exp.c — the softmax exponential of kernels/ops_attn_exp.h:
 *   - accuracy against exp() in double (the correctly rounded value to well
 *     within an ulp) over every float of [-87, 0] reached in steps of 37 ulps
 *     (plus 1e6 random arguments in [-87, 10]): at most 1 ulp of float
 *     (measured 0.997 ulp; printed, with the C library's expf for scale);
 *   - the edges: 0 -> 1, below DS_EXP_LO and -inf -> 0, NaN -> NaN, large x
 *     clamped finite;
 *   - every level's SIMD lanes give the scalar twin's bits, at every length
 *     (tails included). */
#include "harness.h"
#include "levels.h"
#include "kernels/ops_attn_exp.h"
#include "vec_test.h"

#include <float.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>


/* |y - exact| in units of the float spacing at exact (normal range). */
static double ulps(float y, double exact)
{
  int e;
  frexp(exact, &e);
  return fabs((double)y - exact) / ldexp(1.0, e - 24);
}

static void test_accuracy(void)
{
  double worst = 0, worst_x = 0, worst_libm = 0;
  int64_t n = 0;
  uint32_t bits;
  float x = -87.0f;
  memcpy(&bits, &x, 4);
  /* negative floats: decreasing the bit pattern walks towards 0 */
  for (;; bits -= 37) {
    memcpy(&x, &bits, 4);
    if (!(x < 0.0f) || bits < 37) break;
    const float y = ds_attn_exp1(x);
    const double u = ulps(y, exp((double)x));
    if (u > worst) worst = u, worst_x = x;
    worst_libm = fmax(worst_libm, ulps(expf(x), exp((double)x)));
    n++;
  }
  for (int i = 0; i < 1000000; i++) {
    x = -87.0f + 97.0f * 0.5f * (frand() + 1.0f);
    const double u = ulps(ds_attn_exp1(x), exp((double)x));
    if (u > worst) worst = u, worst_x = x;
    n++;
  }
  fprintf(stderr, "exp: %lld arguments in [-87, 10]: max error %.3f ulp (at %.9g); the C library's expf %.3f ulp\n",
          (long long)n, worst, worst_x, worst_libm);
  CHECK_MSG(worst <= 1.0, "max error %g ulp at %.9g", worst, worst_x);
}

static void test_edges(void)
{
  CHECK(ds_attn_exp1(0.0f) == 1.0f);
  CHECK(ds_attn_exp1(-0.0f) == 1.0f);
  CHECK(ds_attn_exp1(-INFINITY) == 0.0f);
  CHECK(ds_attn_exp1(-88.0f) == 0.0f);
  CHECK(ds_attn_exp1(-1e30f) == 0.0f);
  CHECK(isnan(ds_attn_exp1(NAN)));
  const float big = ds_attn_exp1(1e30f);
  CHECK(isfinite(big) && big > 1e38f);
  CHECK(ds_attn_exp1(INFINITY) == big);
  /* near FLT_MIN the result is still a normal float within an ulp */
  const float y = ds_attn_exp1(-87.3f);
  CHECK(y >= FLT_MIN && fabs((double)y - exp((double)-87.3f)) <= ldexp(1.0, -149));
}

/* Same bits, NaNs included (every level returns a NaN argument as it is). */
static int same_bits(const float *a, const float *b, int64_t n) { return memcmp(a, b, (size_t)n * 4) == 0; }

static void test_twins(void)
{
  enum { N = 4099 };
  static float x[N], want[N], got[N];
  for (int i = 0; i < N; i++) x[i] = -100.0f + 110.0f * 0.5f * (frand() + 1.0f);
  x[0] = -INFINITY;
  x[1] = NAN;
  x[2] = INFINITY;
  x[3] = DS_EXP_LO;
  x[4] = DS_EXP_HI;
  x[5] = -0.0f;
  for (int i = 0; i < N; i++) want[i] = ds_attn_exp1(x[i]);
  const ds_cpu_level best = ds_test_levels();
  for (int l = DS_CPU_SCALAR; l <= (int)best; l++) {
    for (int64_t n = 0; n <= 40; n++) {
      memset(got, 0xAB, sizeof got);
      ds_attn_exp((ds_cpu_level)l, x, got, n);
      CHECK_MSG(same_bits(got, want, n), "level %d n=%lld", l, (long long)n);
      CHECK(((uint32_t *)got)[n] == 0xABABABABu);
    }
    ds_attn_exp((ds_cpu_level)l, x, got, N);
    CHECK_MSG(same_bits(got, want, N), "level %d", l);
    memcpy(got, x, sizeof got);
    ds_attn_exp((ds_cpu_level)l, got, got, N);   /* in place */
    CHECK_MSG(same_bits(got, want, N), "level %d in place", l);
  }
}

int main(void)
{
  RUN(test_accuracy);
  RUN(test_edges);
  RUN(test_twins);
  return DS_TEST_RESULT();
}
