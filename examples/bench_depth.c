/*
 * bench_depth.c — dseek-bench's context depth for the tgN@D figures: a
 * context holding D cached tokens, reached by a real prefill or, much
 * faster, by tiling the cache of one n_batch-token prefill.
 *
 * Tiling writes a state file (dseek_context_save's layout, lib/runtime/
 * state.c, version 2):
 *   "DSKV" u32 version, u64 model fingerprint, u32 kv_type, u32 reserved,
 *   u64 n_layer, u64 K row bytes, u64 V row bytes, u64 n_past,
 *   i32 tokens[n_past], per layer K rows [0, n_past) then V rows (if any),
 *   u64 FNV-1a of everything before it
 * with the saved block's tokens and rows repeated to D, and loads it with
 * dseek_context_load (which checks the fingerprint, sizes and checksum).
 * The repeated keys carry the rope rotation of their block position, not of
 * their slot: the attention weights differ from a real D-token prompt's, the
 * work per decoded token (D slots read and multiplied per layer) does not.
 */
#include "bench_depth.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define HEAD_BYTES 56   /* magic .. n_past */

static char block_path[4096];   /* the saved n_batch-token block, reused across depths */

static int prefill(dseek_context *c, const int32_t *toks, int64_t depth, int64_t n_batch)
{
  for (int64_t at = dseek_context_n_past(c); at < depth; at += n_batch)
    if (dseek_decode(c, toks + at, depth - at < n_batch ? depth - at : n_batch, 0) != DSEEK_OK) return 1;
  return 0;
}

typedef struct fnv_out { FILE *f; uint64_t h; int ok; } fnv_out;

static void put(fnv_out *o, const void *p, size_t n)
{
  const uint8_t *b = p;
  for (size_t i = 0; i < n; i++) o->h = (o->h ^ b[i]) * 1099511628211ull;
  if (o->ok && fwrite(p, 1, n, o->f) != n) o->ok = 0;
}

/* The block state file read into memory; NULL if its layout is not ours. */
static uint8_t *read_block(const char *path, size_t *size)
{
  FILE *f = fopen(path, "rb");
  if (!f) return NULL;
  uint8_t *buf = NULL;
  long n = fseek(f, 0, SEEK_END) == 0 ? ftell(f) : -1;
  if (n > HEAD_BYTES + 8 && fseek(f, 0, SEEK_SET) == 0 && (buf = malloc((size_t)n)) &&
      fread(buf, 1, (size_t)n, f) != (size_t)n) {
    free(buf);
    buf = NULL;
  }
  fclose(f);
  if (!buf) return NULL;
  uint32_t version;
  uint64_t n_layer, k_row, v_row, n_past;
  memcpy(&version, buf + 4, 4);
  memcpy(&n_layer, buf + 24, 8);
  memcpy(&k_row, buf + 32, 8);
  memcpy(&v_row, buf + 40, 8);
  memcpy(&n_past, buf + 48, 8);
  if (memcmp(buf, "DSKV", 4) || version != 2 || (uint64_t)n != HEAD_BYTES + 4 * n_past + n_layer * n_past * (k_row + v_row) + 8) {
    free(buf);
    return NULL;
  }
  *size = (size_t)n;
  return buf;
}

/* Write the block repeated to depth tokens at path; 0 on success. */
static int write_tiled(const uint8_t *b, const char *path, int64_t depth)
{
  uint64_t n_layer, k_row, v_row, n;
  memcpy(&n_layer, b + 24, 8);
  memcpy(&k_row, b + 32, 8);
  memcpy(&v_row, b + 40, 8);
  memcpy(&n, b + 48, 8);
  fnv_out o = {fopen(path, "wb"), 1469598103934665603ull, 1};
  if (!o.f) return 1;
  uint64_t d = (uint64_t)depth;
  put(&o, b, 48);
  put(&o, &d, 8);
  const uint8_t *tok = b + HEAD_BYTES, *rows = tok + 4 * n;
  for (uint64_t at = 0; at < d; at += n) put(&o, tok, 4 * (d - at < n ? d - at : n));
  for (uint64_t il = 0; il < n_layer; il++) {
    const uint8_t *k = rows + il * n * (k_row + v_row), *v = k + n * k_row;
    for (uint64_t at = 0; at < d; at += n) put(&o, k, k_row * (d - at < n ? d - at : n));
    for (uint64_t at = 0; v_row && at < d; at += n) put(&o, v, v_row * (d - at < n ? d - at : n));
  }
  uint64_t sum = o.h;
  put(&o, &sum, 8);
  return fclose(o.f) != 0 || !o.ok;
}

int bench_depth_fill(dseek_context *c, const int32_t *toks, int64_t depth, int64_t n_batch, bench_fill mode,
                     const char *tmp_dir, const char **how)
{
  *how = "prefill";
  if (mode == BENCH_FILL_PREFILL || depth <= n_batch) {
    if (dseek_context_n_past(c) > depth) dseek_context_reset(c);
    return prefill(c, toks, depth, n_batch);
  }
  if (!block_path[0]) {
    snprintf(block_path, sizeof block_path, "%s/dseek-bench-block-%ld.state", tmp_dir, (long)getpid());
    dseek_context_reset(c);
    if (prefill(c, toks, n_batch, n_batch) || dseek_context_save(c, block_path) != DSEEK_OK) {
      block_path[0] = 0;
      return 1;
    }
  }
  size_t size;
  uint8_t *b = read_block(block_path, &size);
  char tiled[4200];
  snprintf(tiled, sizeof tiled, "%s.tiled", block_path);
  int rc = !b || write_tiled(b, tiled, depth) || dseek_context_load(c, tiled) != DSEEK_OK;
  free(b);
  remove(tiled);
  if (!rc) {
    *how = "tiled";
    return 0;
  }
  fprintf(stderr, "dseek-bench: cannot tile the state file (%s); prefilling %lld tokens\n", dseek_last_error(),
          (long long)depth);
  dseek_clear_error();
  dseek_context_reset(c);
  return prefill(c, toks, depth, n_batch);
}

void bench_depth_done(void)
{
  if (block_path[0]) remove(block_path);
  block_path[0] = 0;
}
