/*
 * make_bench_model.c — writes a random-weight GGUF with the exact shapes of
 * DeepSeek-R1-Distill-Qwen-1.5B (PERFORMANCE.md, MODELS.md section 2), for
 * the benchmark: speed does not depend on the values.
 *
 *   make_bench_model OUT.gguf q8_0|q4_0|q4_k_m [--layers N] [--seed S]
 *
 * qwen2: vocab 151936, d 1536, 28 layers, 12 heads, 2 kv heads, head dim
 * 128, FFN 8960, rope theta 10000, rms eps 1e-6, q/k/v biases, untied output.
 * Matrices (token_embd, output, attention and FFN) are stored in the chosen
 * type, quantized by dseek's own reference quantizers (from_float, byte-exact
 * with ggml's); norms and biases are F32, as llama.cpp's converter leaves them.
 * Weights are uniform with variance 1/K (K = row length), so the activations
 * stay O(1) through the layers. The tokenizer is byte-level BPE ("gpt2",
 * pre "deepseek-r1-qwen") with the 256 byte tokens, filler tokens, the
 * begin/end-of-sentence controls at the real ids, and no merges: valid, tiny
 * to tokenize with, and the vocab size the shapes need. Names and keys are
 * llama.cpp's, so the file also loads there.
 *
 * GGUF v3 layout (MODELS.md section 5): header, key/values, tensor infos,
 * padding to 32, tensor data each at a 32-aligned offset.
 */
#include "kernels/types.h"

#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

enum { N_VOCAB = 151936, N_EMBD = 1536, N_HEAD = 12, N_HEAD_KV = 2, HEAD_DIM = 128, N_FF = 8960 };
enum { GGUF_U32 = 4, GGUF_I32 = 5, GGUF_F32 = 6, GGUF_BOOL = 7, GGUF_STRING = 8, GGUF_ARRAY = 9 };
#define ALIGN 32
#define BOS_ID 151646   /* <｜begin▁of▁sentence｜> in the real vocabulary */
#define EOS_ID 151643   /* <｜end▁of▁sentence｜> */

/* ---- output: a FILE with sticky error ---------------------------------------- */

typedef struct out {
  FILE *f;
  int err;
} out;

static void put(out *o, const void *p, size_t n)
{
  if (!o->err && fwrite(p, 1, n, o->f) != n) o->err = 1;
}
static void put_u32(out *o, uint32_t v) { put(o, &v, 4); }   /* little-endian hosts only */
static void put_u64(out *o, uint64_t v) { put(o, &v, 8); }
static void put_str(out *o, const char *s)
{
  put_u64(o, strlen(s));
  put(o, s, strlen(s));
}
static void kv_str(out *o, const char *k, const char *v) { put_str(o, k); put_u32(o, GGUF_STRING); put_str(o, v); }
static void kv_u32(out *o, const char *k, uint32_t v) { put_str(o, k); put_u32(o, GGUF_U32); put_u32(o, v); }
static void kv_f32(out *o, const char *k, float v) { put_str(o, k); put_u32(o, GGUF_F32); put(o, &v, 4); }
static void kv_bool(out *o, const char *k, int v) { uint8_t b = (uint8_t)(v != 0); put_str(o, k); put_u32(o, GGUF_BOOL); put(o, &b, 1); }

/* ---- the tokenizer ------------------------------------------------------------- */

/* GPT-2's byte -> code point map: printable bytes map to themselves, the
 * other 68 to 256, 257, ... in byte order. */
static uint32_t byte_char(int b)
{
  if ((b >= '!' && b <= '~') || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE && b <= 0xFF)) return (uint32_t)b;
  int n = 0;
  for (int c = 0; c < b; c++)
    if (!((c >= '!' && c <= '~') || (c >= 0xA1 && c <= 0xAC) || (c >= 0xAE && c <= 0xFF))) n++;
  return 256u + (uint32_t)n;
}

static void token_text(int id, char *buf, size_t cap)
{
  if (id < 256) {
    uint32_t cp = byte_char(id);
    if (cp < 0x80) snprintf(buf, cap, "%c", (char)cp);
    else snprintf(buf, cap, "%c%c", (char)(0xC0 | cp >> 6), (char)(0x80 | (cp & 0x3F)));
  } else if (id == BOS_ID) {
    snprintf(buf, cap, "<｜begin▁of▁sentence｜>");
  } else if (id == EOS_ID) {
    snprintf(buf, cap, "<｜end▁of▁sentence｜>");
  } else {
    snprintf(buf, cap, "[bench%d]", id);
  }
}

static void write_tokenizer(out *o)
{
  char buf[64];
  kv_str(o, "tokenizer.ggml.model", "gpt2");
  kv_str(o, "tokenizer.ggml.pre", "deepseek-r1-qwen");
  put_str(o, "tokenizer.ggml.tokens");
  put_u32(o, GGUF_ARRAY);
  put_u32(o, GGUF_STRING);
  put_u64(o, N_VOCAB);
  for (int id = 0; id < N_VOCAB; id++) {
    token_text(id, buf, sizeof buf);
    put_str(o, buf);
  }
  put_str(o, "tokenizer.ggml.token_type");
  put_u32(o, GGUF_ARRAY);
  put_u32(o, GGUF_I32);
  put_u64(o, N_VOCAB);
  for (int id = 0; id < N_VOCAB; id++) put_u32(o, id == BOS_ID || id == EOS_ID ? 3 : 1);   /* control : normal */
  put_str(o, "tokenizer.ggml.merges");
  put_u32(o, GGUF_ARRAY);
  put_u32(o, GGUF_STRING);
  put_u64(o, 0);
  kv_u32(o, "tokenizer.ggml.bos_token_id", BOS_ID);
  kv_u32(o, "tokenizer.ggml.eos_token_id", EOS_ID);
  kv_bool(o, "tokenizer.ggml.add_bos_token", 1);
}
#define N_TOKENIZER_KEYS 8

/* ---- tensors ------------------------------------------------------------------------ */

typedef struct tensor {
  char name[64];
  int type;
  int64_t ne0, ne1;   /* row length, rows (ne1 = 1: a vector) */
  float scale;        /* values uniform in [-scale, scale]; 0: all ones (norms) */
  uint64_t offset, size;
} tensor;

static int add(tensor *t, int n, const char *name, int type, int64_t ne0, int64_t ne1, float scale)
{
  snprintf(t[n].name, sizeof t[n].name, "%s", name);
  t[n].type = type;
  t[n].ne0 = ne0;
  t[n].ne1 = ne1;
  t[n].scale = scale;
  return n + 1;
}

/* Q4_K_M as llama.cpp's quantizer mixes it (llama_tensor_get_type): Q4_K
 * everywhere except output.weight (Q6_K) and, in the layers where
 * use_more_bits(i, n) = i < n/8 || i >= 7n/8 || (i - n/8) % 3 == 2 holds,
 * attn_v and ffn_down (Q6_K). Marked by this pseudo type. */
#define Q4_K_M (-2)
static bool use_more_bits(int i, int n) { return i < n / 8 || i >= 7 * n / 8 || (i - n / 8) % 3 == 2; }
/* The type of one matrix ("attn_v", "ffn_down", "output", other) of layer il. */
static int matrix_type(int wtype, const char *what, int il, int n_layer)
{
  if (wtype != Q4_K_M) return wtype;
  if (!strcmp(what, "output")) return DSEEK_TYPE_Q6_K;
  if ((!strcmp(what, "attn_v") || !strcmp(what, "ffn_down")) && use_more_bits(il, n_layer)) return DSEEK_TYPE_Q6_K;
  return DSEEK_TYPE_Q4_K;
}

/* The qwen2 tensor list; matrices in `wtype` (or the Q4_K_M mix). Returns the count. */
static int qwen2_tensors(tensor *t, int wtype, int n_layer)
{
  int n = 0;
  char name[64];
  const int64_t d = N_EMBD, dkv = N_HEAD_KV * HEAD_DIM;
  const float sd = sqrtf(3.0f / N_EMBD), sff = sqrtf(3.0f / N_FF);
  n = add(t, n, "token_embd.weight", matrix_type(wtype, "token_embd", 0, n_layer), d, N_VOCAB, 1.0f);
  for (int il = 0; il < n_layer; il++) {
#define LAYER(suffix, type, ne0, ne1, scale)                       \
  snprintf(name, sizeof name, "blk.%d.%s", il, suffix);            \
  n = add(t, n, name, type, ne0, ne1, scale)
    LAYER("attn_norm.weight", DSEEK_TYPE_F32, d, 1, 0);
    LAYER("attn_q.weight", matrix_type(wtype, "attn_q", il, n_layer), d, d, sd);
    LAYER("attn_q.bias", DSEEK_TYPE_F32, d, 1, 0.01f);
    LAYER("attn_k.weight", matrix_type(wtype, "attn_k", il, n_layer), d, dkv, sd);
    LAYER("attn_k.bias", DSEEK_TYPE_F32, dkv, 1, 0.01f);
    LAYER("attn_v.weight", matrix_type(wtype, "attn_v", il, n_layer), d, dkv, sd);
    LAYER("attn_v.bias", DSEEK_TYPE_F32, dkv, 1, 0.01f);
    LAYER("attn_output.weight", matrix_type(wtype, "attn_output", il, n_layer), d, d, sd);
    LAYER("ffn_norm.weight", DSEEK_TYPE_F32, d, 1, 0);
    LAYER("ffn_gate.weight", matrix_type(wtype, "ffn_gate", il, n_layer), d, N_FF, sd);
    LAYER("ffn_up.weight", matrix_type(wtype, "ffn_up", il, n_layer), d, N_FF, sd);
    LAYER("ffn_down.weight", matrix_type(wtype, "ffn_down", il, n_layer), N_FF, d, sff);
#undef LAYER
  }
  n = add(t, n, "output_norm.weight", DSEEK_TYPE_F32, d, 1, 0);
  n = add(t, n, "output.weight", matrix_type(wtype, "output", 0, n_layer), d, N_VOCAB, sd);
  return n;
}

/* xorshift64*: fast, and the same file for the same seed */
static uint64_t rng;
static inline float uniform(float scale)
{
  rng ^= rng >> 12;
  rng ^= rng << 25;
  rng ^= rng >> 27;
  uint32_t r = (uint32_t)((rng * 0x2545F4914F6CDD1Dull) >> 40);   /* 24 bits */
  return scale * ((float)r * (2.0f / 16777216.0f) - 1.0f);
}

/* Generate and write one tensor, 64 rows at a time. */
static int write_data(out *o, const tensor *t)
{
  const ds_type_traits *tr = ds_type_traits_get(t->type);
  uint64_t row;
  if (!ds_row_size(t->type, t->ne0, &row)) return 1;
  const int64_t chunk = 64;
  float *v = malloc((size_t)(chunk * t->ne0) * sizeof *v);
  unsigned char *q = malloc((size_t)(row * (uint64_t)chunk));
  if (!v || !q) { free(v); free(q); return 1; }
  for (int64_t r0 = 0; r0 < t->ne1; r0 += chunk) {
    int64_t nr = t->ne1 - r0 < chunk ? t->ne1 - r0 : chunk;
    for (int64_t i = 0; i < nr * t->ne0; i++) v[i] = t->scale == 0 ? 1.0f : uniform(t->scale);
    if (t->type == DSEEK_TYPE_F32) put(o, v, (size_t)(nr * t->ne0) * 4);
    else {
      for (int64_t r = 0; r < nr; r++) tr->from_float(v + r * t->ne0, q + r * row, t->ne0);
      put(o, q, (size_t)(row * (uint64_t)nr));
    }
  }
  free(v);
  free(q);
  return o->err;
}

int main(int argc, char **argv)
{
  if (argc < 3) {
    fprintf(stderr, "usage: %s OUT.gguf q8_0|q4_0|q4_k_m [--layers N] [--seed S]\n", argv[0]);
    return 2;
  }
  int wtype = !strcmp(argv[2], "q8_0")     ? DSEEK_TYPE_Q8_0
              : !strcmp(argv[2], "q4_0")   ? DSEEK_TYPE_Q4_0
              : !strcmp(argv[2], "q4_k_m") ? Q4_K_M
                                           : -1;
  int n_layer = 28;
  rng = 0x9E3779B97F4A7C15ull;
  for (int i = 3; i + 1 < argc; i += 2) {
    if (!strcmp(argv[i], "--layers")) n_layer = atoi(argv[i + 1]);
    else if (!strcmp(argv[i], "--seed")) rng ^= strtoull(argv[i + 1], NULL, 0) * 0x9E3779B97F4A7C15ull;
  }
  if (wtype == -1 || n_layer < 1 || n_layer > 1000) {
    fprintf(stderr, "%s: type must be q8_0, q4_0 or q4_k_m, layers 1..1000\n", argv[0]);
    return 2;
  }
  if (!rng) rng = 1;
  tensor *t = calloc((size_t)(12 * n_layer + 3), sizeof *t);
  if (!t) return 1;
  int n_tensors = qwen2_tensors(t, wtype, n_layer);
  uint64_t off = 0;
  for (int i = 0; i < n_tensors; i++) {
    if (!ds_row_size(t[i].type, t[i].ne0, &t[i].size)) return 1;
    t[i].size *= (uint64_t)t[i].ne1;
    t[i].offset = off;
    off = (off + t[i].size + ALIGN - 1) / ALIGN * ALIGN;
  }

  out o = {fopen(argv[1], "wb"), 0};
  if (!o.f) { perror(argv[1]); return 1; }
  clock_t c0 = clock();
  put(&o, "GGUF", 4);
  put_u32(&o, 3);
  put_u64(&o, (uint64_t)n_tensors);
  put_u64(&o, 12 + N_TOKENIZER_KEYS);
  kv_str(&o, "general.architecture", "qwen2");
  kv_str(&o, "general.name", "dseek bench R1-Distill-Qwen-1.5B (random weights)");
  /* llama_ftype MOSTLY_Q8_0 / Q4_0 / Q4_K_M */
  kv_u32(&o, "general.file_type", wtype == DSEEK_TYPE_Q8_0 ? 7 : wtype == DSEEK_TYPE_Q4_0 ? 2 : 15);
  kv_u32(&o, "qwen2.context_length", 131072);
  kv_u32(&o, "qwen2.embedding_length", N_EMBD);
  kv_u32(&o, "qwen2.block_count", (uint32_t)n_layer);
  kv_u32(&o, "qwen2.feed_forward_length", N_FF);
  kv_u32(&o, "qwen2.attention.head_count", N_HEAD);
  kv_u32(&o, "qwen2.attention.head_count_kv", N_HEAD_KV);
  kv_f32(&o, "qwen2.rope.freq_base", 10000.0f);
  kv_f32(&o, "qwen2.attention.layer_norm_rms_epsilon", 1e-6f);
  kv_u32(&o, "general.alignment", ALIGN);
  write_tokenizer(&o);
  for (int i = 0; i < n_tensors; i++) {
    put_str(&o, t[i].name);
    put_u32(&o, t[i].ne1 > 1 ? 2 : 1);
    put_u64(&o, (uint64_t)t[i].ne0);
    if (t[i].ne1 > 1) put_u64(&o, (uint64_t)t[i].ne1);
    put_u32(&o, (uint32_t)t[i].type);
    put_u64(&o, t[i].offset);
  }
  long pos = ftell(o.f);
  static const char zeros[ALIGN];
  put(&o, zeros, (size_t)((ALIGN - pos % ALIGN) % ALIGN));
  for (int i = 0; i < n_tensors && !o.err; i++) {
    if (write_data(&o, &t[i])) o.err = 1;
    uint64_t pad = (ALIGN - t[i].size % ALIGN) % ALIGN;
    if (i + 1 < n_tensors) put(&o, zeros, (size_t)pad);
  }
  if (fclose(o.f) != 0) o.err = 1;
  if (o.err) { fprintf(stderr, "%s: write failed\n", argv[1]); return 1; }
  fprintf(stderr, "%s: %d tensors, %.2f GB of data, %.1f s\n", argv[1], n_tensors, (double)off / 1e9,
          (double)(clock() - c0) / CLOCKS_PER_SEC);
  free(t);
  return 0;
}
