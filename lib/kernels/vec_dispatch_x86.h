/*
 * vec_dispatch_x86.h — the entry points of the x86 dots (vec.h's
 * ds_vec_dot_fn / ds_vec_dot_r8_fn), included by vec_avx2.c and
 * vec_avx512.c: NAME(K, w, x, xs, ncols, out) calls IMPL with ncols as a
 * constant, so IMPL's loops over the columns unroll and its per-column
 * arrays stay in registers.
 */
#ifndef DSEEK_KERNELS_VEC_DISPATCH_X86_H
#define DSEEK_KERNELS_VEC_DISPATCH_X86_H

#define DS_DISPATCH_HEAD(NAME, WT)                                                          \
  static void NAME(int64_t K, const void *w, const void *x, size_t xs, int ncols, float *out) \
  {                                                                                         \
    const WT *wp = w;                                                                       \
    const char *xp = x;                                                                     \
    switch (ncols) {
#define DS_DISPATCH_CASE(IMPL, N) \
  case N: IMPL(K, wp, xp, xs, N, out); break;
#define DS_DISPATCH_TAIL(IMPL)                  \
  default: IMPL(K, wp, xp, xs, 1, out); break; \
    }                                           \
  }

/* 1 .. DS_VEC_COLS columns */
#define DISPATCH_COLS(NAME, IMPL, WT) \
  DS_DISPATCH_HEAD(NAME, WT) DS_DISPATCH_CASE(IMPL, 4) DS_DISPATCH_CASE(IMPL, 3) DS_DISPATCH_CASE(IMPL, 2) DS_DISPATCH_TAIL(IMPL)

/* 1 .. DS_R8_COLS columns (the Q4_0 R8 dots) */
#define DISPATCH_COLS8(NAME, IMPL, WT)                                                                  \
  DS_DISPATCH_HEAD(NAME, WT) DS_DISPATCH_CASE(IMPL, 8) DS_DISPATCH_CASE(IMPL, 7) DS_DISPATCH_CASE(IMPL, 6) \
  DS_DISPATCH_CASE(IMPL, 5) DS_DISPATCH_CASE(IMPL, 4) DS_DISPATCH_CASE(IMPL, 3) DS_DISPATCH_CASE(IMPL, 2)  \
  DS_DISPATCH_TAIL(IMPL)

#endif
