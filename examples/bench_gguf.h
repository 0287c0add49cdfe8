/*
 * bench_gguf.h — the GGUF writer of the benchmark model generator
 * (make_bench_model.c: qwen2, make_bench_deepseek2.c: deepseek2).
 *
 * A file is built in three steps: key/values into a bg_kvs (kept in memory,
 * counted), tensors into a bg_list (names, types, shapes; no data), then
 * bg_write_gguf lays out GGUF v3 (lib/models/README.md §5: header, key/values,
 * tensor infos, padding to 32, each tensor's data at a 32-aligned offset) and
 * streams the data tensor by tensor, 64 rows at a time, so the largest file
 * never needs more than a few MB of memory. Values are uniform random in
 * [-scale, scale] (scale 0: all ones, for norms), quantized by dseek's own
 * reference quantizers (from_float, byte-exact with ggml's).
 */
#ifndef DS_BENCH_GGUF_H
#define DS_BENCH_GGUF_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

/* ---- key/values ---------------------------------------------------------------- */

typedef struct bg_kvs {
  FILE *f;        /* open_memstream over buf */
  char *buf;
  size_t len;
  uint64_t n;     /* key/values written */
  int err;
} bg_kvs;

int bg_kvs_open(bg_kvs *kv);   /* 0 on success */
void bg_kv_str(bg_kvs *kv, const char *key, const char *v);
void bg_kv_u32(bg_kvs *kv, const char *key, uint32_t v);
void bg_kv_f32(bg_kvs *kv, const char *key, float v);
void bg_kv_bool(bg_kvs *kv, const char *key, bool v);

/* A byte-level BPE vocabulary ("gpt2") of n tokens without merges: the 256
 * byte tokens at ids byte0 .. byte0 + 255 (GPT-2's byte -> code point map),
 * begin/end-of-sentence controls at bos / eos, "[benchN]" fillers elsewhere:
 * valid, tiny to tokenize with, and the vocab size the shapes need. */
typedef struct bg_vocab {
  const char *pre;     /* tokenizer.ggml.pre */
  int64_t n;
  int32_t bos, eos, byte0;
} bg_vocab;
void bg_kv_tokenizer(bg_kvs *kv, const bg_vocab *v);

/* ---- tensors ------------------------------------------------------------------------ */

typedef struct bg_tensor {
  char name[96];
  int type;             /* dseek_type */
  int64_t ne[3];        /* row length, rows, matrices (1 for 1-D / 2-D) */
  int n_dims;
  float scale;          /* values uniform in [-scale, scale]; 0: all ones */
  uint64_t offset, size;
} bg_tensor;

typedef struct bg_list {
  bg_tensor *t;
  int n, cap;
  int err;
} bg_list;

/* Append a tensor named by fmt (printf); ne2 > 1 makes it 3-D, ne1 > 1 2-D. */
void bg_add(bg_list *l, int type, int64_t ne0, int64_t ne1, int64_t ne2, float scale, const char *fmt, ...)
    __attribute__((format(printf, 7, 8)));

/* Uniform(-a, a) with variance 1/k: a = sqrt(3 / k) (activations stay O(1)). */
float bg_scale(int64_t k);

void bg_seed(uint64_t seed);

/* Write the file: header, kv's key/values (closes kv), tensor infos, data.
 * Prints a one-line summary to stderr. Returns 0 on success. */
int bg_write_gguf(const char *path, bg_kvs *kv, bg_list *l);

#endif
