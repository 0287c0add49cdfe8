/*
 * iq_tables.h — the codebooks of the GGUF IQ weight types (quants_iq.c).
 *
 * Published numbers, copied from ggml-common.h in llama.cpp (commit c392e50)
 * into iq_tables.c; tests/kernels/test_iq_tables.c checks each against a
 * checksum of the published table and against what can be derived
 * independently (the value set of every grid, the parity rule of the signs).
 *
 * A grid entry packs 8 (or 4) unsigned magnitudes, one per byte, value j in
 * byte j (little-endian): iq2*_grid bytes are 8, 25, 43; iq3xxs_grid bytes
 * 4..62 (8 levels), iq3s_grid bytes 1, 3, .., 15; iq1s_grid bytes are the
 * int8 values -1, 0, 1.
 */
#ifndef DS_KERNELS_IQ_TABLES_H
#define DS_KERNELS_IQ_TABLES_H

#include <stdint.h>

extern const uint64_t ds_iq2xxs_grid[256];
extern const uint64_t ds_iq2xs_grid[512];
extern const uint64_t ds_iq2s_grid[1024];
extern const uint32_t ds_iq3xxs_grid[256];
extern const uint32_t ds_iq3s_grid[512];
extern const uint64_t ds_iq1s_grid[2048];
/* ksigns_iq2xs[i]: the 7 sign bits i plus an eighth bit that makes the count
 * of set bits even (the eighth sign is implied by parity). */
extern const uint8_t ds_ksigns_iq2xs[128];
/* The 16 non-linear levels of IQ4_NL / IQ4_XS. */
extern const int8_t ds_kvalues_iq4nl[16];

/* IQ1_S / IQ1_M: a group's values are dl (grid + delta), delta = +-1/8. */
#define DS_IQ1S_DELTA 0.125f

#endif
