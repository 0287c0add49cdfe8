/* dump_quantized.c — writes, into the directory given as argv[1], input for
 * test_quantizers.py: for every block type
 *   <NAME>.qin   random f32 data (256-value chunks at scales 1, 1e-3, 30, 0.1,
 *                one outlier)
 *   <NAME>.qout  dseek's from_float of it
 * (the decoders are checked by dump_quants.c / test_dequant.py). */
#include "kernels/types.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static uint64_t rng_state = 0x9E3779B97F4A7C15ull;
static uint32_t rng(void)
{
  rng_state ^= rng_state << 13;
  rng_state ^= rng_state >> 7;
  rng_state ^= rng_state << 17;
  return (uint32_t)(rng_state >> 16);
}
static float uniform(void) { return (float)(rng() & 0xFFFFFF) / 16777216.0f * 2.0f - 1.0f; }

static const int block_types[] = {
  DSEEK_TYPE_Q4_0, DSEEK_TYPE_Q4_1, DSEEK_TYPE_Q5_0, DSEEK_TYPE_Q5_1, DSEEK_TYPE_Q8_0, DSEEK_TYPE_Q8_1,
  DSEEK_TYPE_Q2_K, DSEEK_TYPE_Q3_K, DSEEK_TYPE_Q4_K, DSEEK_TYPE_Q5_K, DSEEK_TYPE_Q6_K, DSEEK_TYPE_Q8_K,
};

static int write_file(const char *dir, const char *name, const char *ext, const void *p, size_t n)
{
  char path[4096];
  snprintf(path, sizeof path, "%s/%s.%s", dir, name, ext);
  FILE *f = fopen(path, "wb");
  if (!f || fwrite(p, 1, n, f) != n || fclose(f) != 0) {
    fprintf(stderr, "dump_quantized: cannot write %s\n", path);
    return 1;
  }
  return 0;
}

static int emit_block_type(const char *dir, int type)
{
  const ds_type_traits *tr = ds_type_traits_get(type);
  if (!tr || !tr->from_float) {
    fprintf(stderr, "dump_quantized: %s has no quantizer\n", dseek_type_name(type));
    return 1;
  }
  int64_t n = 8 * 256;
  float *x = malloc((size_t)n * sizeof *x);
  for (int64_t i = 0; i < n; i++) {
    int chunk = (int)(i / 256) % 4;
    float scale = chunk == 0 ? 1.0f : chunk == 1 ? 1e-3f : chunk == 2 ? 30.0f : 0.1f;
    x[i] = uniform() * scale;
  }
  x[777] = 50.0f;   /* one outlier */
  size_t nbytes = (size_t)(n / tr->block_size) * tr->type_size;
  uint8_t *q = malloc(nbytes);
  tr->from_float(x, q, n);
  int rc = write_file(dir, tr->name, "qin", x, (size_t)n * 4) | write_file(dir, tr->name, "qout", q, nbytes);
  free(x);
  free(q);
  return rc;
}

int main(int argc, char **argv)
{
  if (argc != 2) {
    fprintf(stderr, "usage: dump_quantized OUTDIR\n");
    return 2;
  }
  int rc = 0;
  for (size_t k = 0; k < sizeof block_types / sizeof block_types[0]; k++) rc |= emit_block_type(argv[1], block_types[k]);
  return rc;
}
