/*
 * state.c — save a context's cached tokens and KV cache to a file and load
 * them back, refusing a file made by another model or an incompatible
 * context.
 *
 * Layout (little-endian, as this machine writes it):
 *   "DSKV" u32 version=2
 *   u64 model fingerprint (FNV-1a over the architecture, hyperparameters and
 *       sampled bytes of the embedding and output weights)
 *   u32 kv_type, u32 reserved, u64 n_layer,
 *   u64 K row bytes, u64 V row bytes (one slot, one layer; V 0 when the V
 *       cache is a view of the K cache: deepseek2's latent rows)
 *   u64 n_past, i32 tokens[n_past]
 *   per layer: K rows [0, n_past), V rows [0, n_past) (if any)
 *   u64 FNV-1a of everything above
 * A cache slot holds one token's keys (or values, or latent row) for every
 * head contiguously, so the first n_past slots of a layer are one contiguous
 * block (the KV-cache unit walks them: kv_cache.c, ds_kv_blocks). Version 1 (one row size for K and V) is refused.
 */
#include "core/platform.h"
#include "kernels/types.h"
#include "runtime/context.h"
#include "runtime/kv_cache.h"
#include "runtime/mtp.h"

#include <stdio.h>
#include <string.h>

#define STATE_VERSION 2u

static uint64_t fnv(uint64_t h, const void *p, size_t n)
{
  const uint8_t *b = p;
  for (size_t i = 0; i < n; i++) h = (h ^ b[i]) * 1099511628211ull;
  return h;
}

typedef struct wr { FILE *f; uint64_t h; bool ok; } wr;

static void put(wr *w, const void *p, size_t n)
{
  if (!w->ok) return;
  w->h = fnv(w->h, p, n);
  w->ok = fwrite(p, 1, n, w->f) == n;
}

static bool put_block(void *u, void *block, size_t bytes)
{
  put(u, block, bytes);
  return ((wr *)u)->ok;
}

/* A loaded file's cache blocks, read in ds_kv_blocks' order. */
static bool get_block(void *u, void *block, size_t bytes)
{
  const uint8_t **q = u;
  memcpy(block, *q, bytes);
  *q += bytes;
  return true;
}

dseek_status dseek_context_save(const dseek_context *ctx, const char *path)
{
  static const char fn[] = "dseek_context_save";
  if (!ctx || !path) return ds_error(DSEEK_ERR_INVALID_ARG, "%s: ctx and path must not be NULL", fn);
  FILE *f = ds_fopen(path, "wb");
  if (!f) return ds_error(DSEEK_ERR_IO, "%s: cannot create %s", fn, path);
  wr w = {f, 1469598103934665603ull, true};
  uint32_t v32[2] = {STATE_VERSION, 0};
  put(&w, "DSKV", 4);
  put(&w, v32, 4);
  uint64_t fp = ctx->model->fingerprint;
  put(&w, &fp, 8);
  uint32_t kv[2] = {(uint32_t)ctx->kv_type, 0};
  put(&w, kv, 8);
  uint64_t n_layer = (uint64_t)ctx->kv.n_layer, k_row = ctx->kv.k_row, v_row = ctx->kv.v_row;
  uint64_t n_past = (uint64_t)ctx->n_past;
  put(&w, &n_layer, 8);
  put(&w, &k_row, 8);
  put(&w, &v_row, 8);
  put(&w, &n_past, 8);
  put(&w, ctx->tokens, (size_t)n_past * sizeof(int32_t));
  ds_kv_blocks(&ctx->kv, (int64_t)n_past, put_block, &w);
  uint64_t sum = w.h;
  put(&w, &sum, 8);
  bool ok = w.ok && fclose(f) == 0;
  if (!ok) {
    if (w.ok == false) fclose(f);
    remove(path);
    return ds_error(DSEEK_ERR_IO, "%s: writing %s failed", fn, path);
  }
  return DSEEK_OK;
}

dseek_status dseek_context_load(dseek_context *ctx, const char *path)
{
  static const char fn[] = "dseek_context_load";
  if (!ctx || !path) return ds_error(DSEEK_ERR_INVALID_ARG, "%s: ctx and path must not be NULL", fn);
  ds_file file;
  dseek_status st = ds_file_open(path, true, &file);
  if (st) return st;
  const uint8_t *p = file.data;
  uint64_t size = file.size, h = 1469598103934665603ull;
  uint32_t version, kv_type;
  uint64_t fp, n_layer, k_row, v_row, n_past, sum;
  const uint64_t head = 4 + 4 + 8 + 8 + 8 + 8 + 8 + 8;
  if (size < head + 8 || memcmp(p, "DSKV", 4) != 0) {
    ds_file_close(&file);
    return ds_error(DSEEK_ERR_FORMAT, "%s: not a dseek state file", path);
  }
  memcpy(&version, p + 4, 4);
  memcpy(&fp, p + 8, 8);
  memcpy(&kv_type, p + 16, 4);
  memcpy(&n_layer, p + 24, 8);
  memcpy(&k_row, p + 32, 8);
  memcpy(&v_row, p + 40, 8);
  memcpy(&n_past, p + 48, 8);
  const struct dseek_model *m = ctx->model;
  uint64_t total = 0, kv_bytes = 0;
  if (version != STATE_VERSION) st = ds_error(DSEEK_ERR_FORMAT, "%s: state version %u is not supported", path, version);
  else if (fp != m->fingerprint)
    st = ds_error(DSEEK_ERR_FORMAT, "%s: the state was saved with another model (this one is %s)", path, m->path);
  else if ((int)kv_type != ctx->kv_type || n_layer != (uint64_t)ctx->kv.n_layer || k_row != ctx->kv.k_row ||
           v_row != ctx->kv.v_row)
    st = ds_error(DSEEK_ERR_FORMAT, "%s: the state's KV cache (%s) does not match this context's (%s)", path,
                  dseek_type_name((int)kv_type), dseek_type_name(ctx->kv_type));
  else if (n_past > (uint64_t)ctx->n_ctx)
    st = ds_error(DSEEK_ERR_CONTEXT_FULL, "%s: the state holds %llu tokens, the context only %lld", path,
                  (unsigned long long)n_past, (long long)ctx->n_ctx);
  else if (ds_mul_u64(n_past, (k_row + v_row) * n_layer, &kv_bytes) || ds_add_u64(head + n_past * 4 + 8, kv_bytes, &total) ||
           total != size)
    st = ds_error(DSEEK_ERR_FORMAT, "%s: file size %llu does not match its header", path, (unsigned long long)size);
  if (!st) {
    h = fnv(h, p, (size_t)(size - 8));
    memcpy(&sum, p + size - 8, 8);
    if (sum != h) st = ds_error(DSEEK_ERR_FORMAT, "%s: checksum mismatch (damaged file)", path);
  }
  if (!st) {
    const int32_t *tok = (const int32_t *)(const void *)(p + head);
    for (uint64_t i = 0; i < n_past && !st; i++)
      if (tok[i] < 0 || tok[i] >= m->hp.n_vocab) st = ds_error(DSEEK_ERR_FORMAT, "%s: token %llu out of range", path, (unsigned long long)i);
  }
  if (!st) {
    memcpy(ctx->tokens, p + head, (size_t)n_past * 4);
    const uint8_t *q = p + head + n_past * 4;
    ds_kv_blocks(&ctx->kv, (int64_t)n_past, get_block, &q);
    for (int64_t s = 0; s < ctx->n_ctx; s++) ctx->slot_seq[s] = -1;
    ctx->n_past = (int64_t)n_past;
    if (ctx->mtp) ds_mtp_forget_from(ctx->mtp, 0);   /* no hidden states came with the file */
    ctx->logits_rows = 0;
    ctx->last_n = 0;
  }
  ds_file_close(&file);
  return st;
}
