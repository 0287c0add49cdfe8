/* rope.h — the per-pair rope frequencies (ops_rope.c), shared by the rope
 * kernel and by the context shift (runtime/shift.c), which rotates cached keys
 * by a position delta with exactly the frequencies the forward pass used. */
#ifndef DS_KERNELS_ROPE_H
#define DS_KERNELS_ROPE_H

#include "core/ds.h"

#include <math.h>

/* Frequencies f_j, j = 0 .. n_rot/2 - 1, of one rope configuration (see
 * ops_rope.c for the formula): base^(-2j/n_rot), divided by factors[j] when
 * given (llama3), blended with f_j / s by YaRN's ramp when yarn_s > 1. */
typedef struct ds_rope_freqs {
  int n_rot;
  double base, yarn_s;
  double lo, hi;           /* YaRN ramp bounds (0, 1 without YaRN) */
  const float *factors;    /* [n_rot/2] or NULL */
} ds_rope_freqs;

void ds_rope_freqs_init(ds_rope_freqs *r, int n_rot, double base, const float *factors, double yarn_s,
                        int orig_ctx, double beta_fast, double beta_slow);
double ds_rope_freq(const ds_rope_freqs *r, int j);

/* YaRN's magnitude correction for a context stretched by s (arXiv 2309.00071
 * with DeepSeek-V2's coefficient m): 0.1 m ln(s) + 1 for s > 1, else 1. The
 * rope's cos/sin carry yarn_mscale(s, mscale) / yarn_mscale(s, mscale_all_dim)
 * and DeepSeek-V2's softmax scale yarn_mscale(s, mscale_all_dim)^2
 * (lib/models/README.md §1.5). */
static inline double ds_yarn_mscale(double s, double m) { return s <= 1.0 ? 1.0 : 0.1 * m * log(s) + 1.0; }

#endif
