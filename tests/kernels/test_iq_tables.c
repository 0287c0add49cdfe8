/*
 * test_iq_tables.c — the IQ codebooks (iq_tables.c) against the published
 * tables and against what can be derived without them.
 *
 * Checksums: FNV-1a 64 over each table's entries as little-endian bytes,
 * computed (by a script, not by dseek) from the tables as printed in
 * ggml-common.h of llama.cpp commit c392e50. Derivations: the value set of
 * every grid, entries strictly increasing (ggml lists them sorted) or unique
 * (iq1s_grid), the sign table's parity rule, the IQ4 levels' order.
 */
#include "harness.h"
#include "kernels/iq_tables.h"

#include <stdbool.h>
#include <stdint.h>

static uint64_t fnv1a(const void *p, size_t n)
{
  const uint8_t *b = p;
  uint64_t h = 0xcbf29ce484222325u;
  for (size_t i = 0; i < n; i++) h = (h ^ b[i]) * 0x100000001b3u;
  return h;
}

/* the bytes of a table as ggml stores them (little-endian entries) */
static uint64_t fnv_entries(const void *t, size_t count, size_t width)
{
  uint8_t buf[2048 * 8];
  for (size_t i = 0; i < count; i++) {
    uint64_t v = width == 8 ? ((const uint64_t *)t)[i] : width == 4 ? ((const uint32_t *)t)[i] : ((const uint8_t *)t)[i];
    for (size_t k = 0; k < width; k++) buf[i * width + k] = (uint8_t)(v >> 8 * k);
  }
  return fnv1a(buf, count * width);
}

static bool byte_in(uint8_t b, const uint8_t *set, int n)
{
  for (int i = 0; i < n; i++)
    if (b == set[i]) return true;
  return false;
}

/* every byte of every entry in set; entries strictly increasing (sorted) or
 * merely pairwise distinct */
static void check_grid(const char *name, const void *t, size_t count, size_t width, const uint8_t *set, int nset,
                       bool sorted)
{
  int bad_bytes = 0, bad_order = 0;
  for (size_t i = 0; i < count; i++) {
    uint64_t v = width == 8 ? ((const uint64_t *)t)[i] : ((const uint32_t *)t)[i];
    for (size_t k = 0; k < width; k++) bad_bytes += !byte_in((uint8_t)(v >> 8 * k), set, nset);
    if (sorted && i > 0) {
      uint64_t p = width == 8 ? ((const uint64_t *)t)[i - 1] : ((const uint32_t *)t)[i - 1];
      bad_order += p >= v;
    }
    for (size_t j = 0; !sorted && j < i; j++) bad_order += ((const uint64_t *)t)[j] == v;
  }
  CHECK_MSG(bad_bytes == 0, "%s: %d bytes outside the grid's levels", name, bad_bytes);
  CHECK_MSG(bad_order == 0, "%s: %d entries out of order or repeated", name, bad_order);
}

static void test_checksums(void)
{
  static const struct { const char *name; const void *t; size_t count, width; uint64_t fnv; } tables[] = {
    {"iq2xxs_grid", ds_iq2xxs_grid, 256, 8, 0xbb4ee025b5ac6e8eu},
    {"iq2xs_grid", ds_iq2xs_grid, 512, 8, 0xc9b1ee61e79909bdu},
    {"iq2s_grid", ds_iq2s_grid, 1024, 8, 0x123edd38a3b62b90u},
    {"iq3xxs_grid", ds_iq3xxs_grid, 256, 4, 0xdfa5dc83d6a155d5u},
    {"iq3s_grid", ds_iq3s_grid, 512, 4, 0xfa37020c25b44829u},
    {"iq1s_grid", ds_iq1s_grid, 2048, 8, 0x6703ed863501ae2eu},
    {"ksigns_iq2xs", ds_ksigns_iq2xs, 128, 1, 0xf19ba8f8c3292ba5u},
    {"kvalues_iq4nl", ds_kvalues_iq4nl, 16, 1, 0x055d06d2d8fa0f75u},
  };
  for (size_t i = 0; i < sizeof tables / sizeof tables[0]; i++)
    CHECK_MSG(fnv_entries(tables[i].t, tables[i].count, tables[i].width) == tables[i].fnv,
              "%s differs from ggml-common.h", tables[i].name);
}

static void test_derivations(void)
{
  static const uint8_t iq2[] = {0x08, 0x19, 0x2b}, iq3xxs[] = {4, 12, 20, 28, 36, 44, 52, 62},
                       iq3s[] = {1, 3, 5, 7, 9, 11, 13, 15}, iq1[] = {0xff, 0x00, 0x01};
  check_grid("iq2xxs_grid", ds_iq2xxs_grid, 256, 8, iq2, 3, true);
  check_grid("iq2xs_grid", ds_iq2xs_grid, 512, 8, iq2, 3, true);
  check_grid("iq2s_grid", ds_iq2s_grid, 1024, 8, iq2, 3, true);
  check_grid("iq3xxs_grid", ds_iq3xxs_grid, 256, 4, iq3xxs, 8, true);
  check_grid("iq3s_grid", ds_iq3s_grid, 512, 4, iq3s, 8, true);
  check_grid("iq1s_grid", ds_iq1s_grid, 2048, 8, iq1, 3, false);
  /* ksigns: the 7 given sign bits, the eighth makes the number of minus signs even */
  int bad = 0;
  for (int i = 0; i < 128; i++) bad += ds_ksigns_iq2xs[i] != (i | (__builtin_popcount((unsigned)i) & 1) << 7);
  CHECK_MSG(bad == 0, "ksigns_iq2xs: %d entries break the parity rule", bad);
  /* IQ4 levels: 16 increasing int8 values from -127, 8 negative */
  CHECK(ds_kvalues_iq4nl[0] == -127);
  for (int i = 1; i < 16; i++) CHECK(ds_kvalues_iq4nl[i] > ds_kvalues_iq4nl[i - 1]);
  CHECK(ds_kvalues_iq4nl[7] < 0 && ds_kvalues_iq4nl[8] > 0);
}

int main(void)
{
  RUN(test_checksums);
  RUN(test_derivations);
  return DS_TEST_RESULT();
}
