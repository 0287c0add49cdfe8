/*
 * dump_quants.c — writes, for every element type dseek decodes, random
 * encoded bytes and dseek's decoded floats, for test_dequant.py to decode
 * independently with numpy and compare bit for bit.
 *
 *   dump_quants DIR   ->  DIR/<NAME>.bin (encoded bytes), DIR/<NAME>.f32 (floats)
 *
 * Block types get a few hundred blocks of random bytes whose f16/f32 scale
 * fields are replaced by random finite values of moderate size (including
 * zero, negative and subnormal f16), so every decoded value is finite. F16
 * and BF16 get all 65536 codes, F8_E4M3 all 256.
 */
#include "kernels/types.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static uint64_t rng_state = 0x9E3779B97F4A7C15u;
static uint32_t rnd(void)
{
  rng_state ^= rng_state << 13;
  rng_state ^= rng_state >> 7;
  rng_state ^= rng_state << 17;
  return (uint32_t)(rng_state >> 16);
}

/* A finite f16: mostly normal in [2^-10, 2^4), sometimes 0 or subnormal. */
static uint16_t random_half(void)
{
  uint32_t r = rnd();
  uint16_t sign = (uint16_t)((r & 1) << 15);
  uint16_t man = (uint16_t)((r >> 1) & 0x3FF);
  switch ((r >> 11) & 15) {
  case 0: return sign;                          /* +-0 */
  case 1: return (uint16_t)(sign | man);        /* subnormal */
  default: return (uint16_t)(sign | (5 + (r >> 16) % 14) << 10 | man);
  }
}

static void put_half_bits(uint8_t *p, uint16_t h)
{
  p[0] = (uint8_t)h;
  p[1] = (uint8_t)(h >> 8);
}

/* Offsets of the f16 scale fields in each block, -1 terminated. */
struct layout { int type; int64_t blocks; int half_at[3]; int f32_at; };

static const struct layout layouts[] = {
  {DSEEK_TYPE_Q4_0, 512, {0, -1}, -1},
  {DSEEK_TYPE_Q4_1, 512, {0, 2, -1}, -1},
  {DSEEK_TYPE_Q5_0, 512, {0, -1}, -1},
  {DSEEK_TYPE_Q5_1, 512, {0, 2, -1}, -1},
  {DSEEK_TYPE_Q8_0, 512, {0, -1}, -1},
  {DSEEK_TYPE_Q8_1, 512, {0, 2, -1}, -1},
  {DSEEK_TYPE_Q2_K, 300, {80, 82, -1}, -1},
  {DSEEK_TYPE_Q3_K, 300, {108, -1}, -1},
  {DSEEK_TYPE_Q4_K, 300, {0, 2, -1}, -1},
  {DSEEK_TYPE_Q5_K, 300, {0, 2, -1}, -1},
  {DSEEK_TYPE_Q6_K, 300, {208, -1}, -1},
  {DSEEK_TYPE_Q8_K, 300, {-1}, 0},
  {DSEEK_TYPE_F16, 65536, {-1}, -1},
  {DSEEK_TYPE_BF16, 65536, {-1}, -1},
  {DSEEK_TYPE_F8_E4M3, 256, {-1}, -1},
};

static int write_file(const char *dir, const char *name, const char *ext, const void *p, size_t n)
{
  char path[4096];
  snprintf(path, sizeof path, "%s/%s.%s", dir, name, ext);
  FILE *f = fopen(path, "wb");
  if (!f || fwrite(p, 1, n, f) != n || fclose(f) != 0) {
    fprintf(stderr, "dump_quants: cannot write %s\n", path);
    return 1;
  }
  return 0;
}

int main(int argc, char **argv)
{
  if (argc != 2) {
    fprintf(stderr, "usage: dump_quants DIR\n");
    return 2;
  }
  for (size_t t = 0; t < DS_ARRAY_LEN(layouts); t++) {
    const struct layout *lay = &layouts[t];
    const ds_type_traits *tr = ds_type_traits_get(lay->type);
    if (!tr || !tr->to_float) {
      fprintf(stderr, "dump_quants: type %d has no decoder\n", lay->type);
      return 1;
    }
    int64_t n = lay->blocks * tr->block_size;
    size_t bytes = (size_t)lay->blocks * tr->type_size;
    uint8_t *raw = malloc(bytes);
    float *out = malloc((size_t)n * sizeof *out);
    if (!raw || !out) return 1;
    if (!tr->is_quantized) {
      /* every code once: code k at element k */
      for (int64_t k = 0; k < n; k++) {
        if (tr->type_size == 2) put_half_bits(raw + 2 * k, (uint16_t)k);
        else raw[k] = (uint8_t)k;
      }
    } else {
      for (size_t k = 0; k < bytes; k++) raw[k] = (uint8_t)rnd();
      for (int64_t b = 0; b < lay->blocks; b++) {
        uint8_t *blk = raw + (size_t)b * tr->type_size;
        for (int k = 0; k < 3 && lay->half_at[k] >= 0; k++) put_half_bits(blk + lay->half_at[k], random_half());
        if (lay->f32_at >= 0) {
          /* f32 scale: a random f16 widened (finite, moderate), times 2^-7 */
          float d = ds_f16_to_f32(random_half()) * 0x1p-7f;
          memcpy(blk + lay->f32_at, &d, 4);
        }
      }
    }
    tr->to_float(raw, out, n);
    if (write_file(argv[1], tr->name, "bin", raw, bytes) ||
        write_file(argv[1], tr->name, "f32", out, (size_t)n * sizeof *out))
      return 1;
    free(raw);
    free(out);
  }
  return 0;
}
