/* bench_attn_decode.c — paired in-process A/B of one decoded token's
 * attention on one thread: the fused kernel (ops_attn_flash.c, what decoding
 * ran before the decode kernel) against the decode kernel (ops_attn_decode.c)
 * on the same node, alternating, at the model shapes of R1-Distill-Qwen-1.5B
 * (12 heads over 2 kv heads of 128, f16 cache) and DeepSeek-V3's absorbed MLA
 * (16 heads over one 576-value latent row, V its leading 512; f16), at the
 * depths given (default 4096). Prints the median time of each kernel and the
 * median of the paired ratios. Not a test: run it by hand,
 *     build/tests/graph/bench_attn_decode [DEPTH...]
 * with DSEEK_CPU choosing the level. */
#include "graph/graph.h"
#include "kernels/ops.h"
#include "kernels/ops_attn.h"
#include "kernels/types.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

enum { REPS = 15 };

static double now(void)
{
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static int cmp(const void *a, const void *b)
{
  const double x = *(const double *)a, y = *(const double *)b;
  return (x > y) - (x < y);
}

static double median(double *v, int n)
{
  qsort(v, (size_t)n, sizeof *v, cmp);
  return v[n / 2];
}

static void bench(const char *name, int64_t D, int64_t Dv, int64_t H, int64_t Hkv, int64_t L, int mla)
{
  ds_graph *g = ds_graph_new();
  const ds_type_traits *f16 = ds_type_traits_get(DSEEK_TYPE_F16);
  const int64_t nk = D * Hkv * L, nv = Dv * Hkv * L;
  float *tmp = malloc((size_t)(nk > nv ? nk : nv) * 4);
  void *kc = malloc((size_t)nk * 2), *vc = malloc((size_t)nv * 2);
  srand(1);
  for (int64_t i = 0; i < nk; i++) tmp[i] = (float)rand() / RAND_MAX - 0.5f;
  f16->from_float(tmp, kc, nk);
  for (int64_t i = 0; i < nv; i++) tmp[i] = (float)rand() / RAND_MAX - 0.5f;
  f16->from_float(tmp, vc, nv);
  ds_tensor *q = ds_tensor_input(g, DSEEK_TYPE_F32, 3, (int64_t[]){D, H, 1}, "q");
  ds_tensor *pos = ds_tensor_input(g, DSEEK_TYPE_I32, 1, (int64_t[]){1}, "pos");
  ds_tensor *k = ds_tensor_external(g, DSEEK_TYPE_F16, 3, (int64_t[]){D, Hkv, L}, kc, "k");
  ds_tensor *v = mla ? ds_op_view(g, k, 3, (int64_t[]){Dv, 1, L}, k->nb, 0)
                     : ds_tensor_external(g, DSEEK_TYPE_F16, 3, (int64_t[]){Dv, Hkv, L}, vc, "v");
  ds_tensor *o = ds_op_attn(g, q, k, v, L, pos, 0.1f);
  ds_tensor_set_output(o);
  if (!o || ds_graph_plan(g, 1) != DSEEK_OK) {
    fprintf(stderr, "%s: graph: %s\n", name, "plan failed");
    exit(1);
  }
  for (int64_t i = 0; i < D * H; i++) ((float *)q->data)[i] = (float)rand() / RAND_MAX - 0.5f;
  ((int32_t *)pos->data)[0] = (int32_t)(L - 1);
  float *scratch = malloc(ds_kernel_scratch_floats(o) * sizeof(float));
  ds_kernel_error err;
  memset(&err, 0, sizeof err);
  const ds_kernel_params p = {.ith = 0, .nth = 1, .scratch = scratch, .error = &err};
  double t_old[REPS], t_new[REPS], ratio[REPS];
  for (int r = 0; r < REPS; r++) {
    for (int which = 0; which < 2; which++) {   /* alternate which runs first */
      const int run_new = (r + which) % 2;
      const double t0 = now();
      if (run_new) ds_kernel_attn_decode(&p, o);
      else ds_kernel_attn_flash(&p, o);
      (run_new ? t_new : t_old)[r] = now() - t0;
    }
    ratio[r] = t_old[r] / t_new[r];
  }
  const double mo = median(t_old, REPS), mn = median(t_new, REPS), mr = median(ratio, REPS);
  const double flops = 2.0 * (double)H * (double)L * (double)(D + Dv);
  printf("%-5s L=%-6lld fused %8.3f ms  decode %8.3f ms  (%.2f GFLOP/s)  paired old/new %.2fx\n", name, (long long)L,
         1e3 * mo, 1e3 * mn, flops / mn * 1e-9, mr);
  free(scratch);
  free(tmp);
  free(kc);
  free(vc);
  ds_graph_free(g);
}

int main(int argc, char **argv)
{
  int64_t depths[8] = {4096};
  int n = 1;
  if (argc > 1) {
    n = 0;
    for (int i = 1; i < argc && n < 8; i++) depths[n++] = atoll(argv[i]);
  }
  for (int i = 0; i < n; i++) {
    bench("gqa", 128, 128, 12, 2, depths[i], 0);
    bench("mla", 576, 512, 16, 1, depths[i], 1);
  }
  return 0;
}
