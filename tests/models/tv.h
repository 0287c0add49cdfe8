/* tv.h — total variation distance between two empirical distributions given
 * as counts over V outcomes: TV = 1/2 sum_v |a_v / na - b_v / nb|. The sample
 * sizes na, nb are returned for the caller's own check. (The speculative and
 * MTP sampling tests compare a draft-accelerated run with plain sampling.) */
#ifndef DS_TESTS_TV_H
#define DS_TESTS_TV_H

#include <math.h>

static inline double tv_distance(const int *a, const int *b, int V, int *na, int *nb)
{
  *na = *nb = 0;
  for (int v = 0; v < V; v++) { *na += a[v]; *nb += b[v]; }
  if (*na == 0 || *nb == 0) return 1.0;
  double tv = 0;
  for (int v = 0; v < V; v++) tv += fabs(a[v] / (double)*na - b[v] / (double)*nb);
  return tv / 2;
}

#endif
