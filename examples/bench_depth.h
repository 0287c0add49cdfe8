/* bench_depth.h — dseek-bench: a context filled to a given depth (bench_depth.c). */
#ifndef DSEEK_BENCH_DEPTH_H
#define DSEEK_BENCH_DEPTH_H

#include <dseek.h>

typedef enum bench_fill { BENCH_FILL_TILE, BENCH_FILL_PREFILL } bench_fill;

/* Bring context c (n_past <= depth, a prefix of toks) to n_past = depth.
 * BENCH_FILL_PREFILL decodes toks[n_past .. depth) in chunks of n_batch.
 * BENCH_FILL_TILE decodes the first n_batch tokens once (kept in a state
 * file under tmp_dir across calls; bench_depth_done removes it) and loads a
 * state whose cache is that block repeated up to depth: decode speed does
 * not depend on the cached values, and a 16384-token prefill would take
 * most of an hour. Falls back to prefilling (and says so on stderr) if the
 * state file format is not the one this tool writes. *how receives
 * "prefill" or "tiled". Returns 0 on success. */
int bench_depth_fill(dseek_context *c, const int32_t *toks, int64_t depth, int64_t n_batch, bench_fill mode,
                     const char *tmp_dir, const char **how);
void bench_depth_done(void);

#endif
