/*
 * test_model_api.c — the public model, context, text and generation API on
 * the tiny models: bad inputs give clear errors (missing file, unknown
 * architecture, truncated or malformed files, context overflow, invalid UTF-8,
 * out-of-range tokens), and generation honours max_tokens, stop strings, EOS,
 * the stream callback and the reasoning split.
 *
 *   test_model_api TINY_DIR
 */
#include "dseek.h"
#include "harness.h"

#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

static const char *tiny;
static char tmp[64];

static char *path_of(const char *variant, const char *file)
{
  static char p[4][1024];
  static int k;
  k = (k + 1) % 4;
  snprintf(p[k], sizeof p[k], "%s/%s%s%s", tiny, variant, file ? "/" : "", file ? file : "");
  return p[k];
}

static uint8_t *slurp(const char *path, size_t *n)
{
  FILE *f = fopen(path, "rb");
  if (!f) return NULL;
  fseek(f, 0, SEEK_END);
  *n = (size_t)ftell(f);
  fseek(f, 0, SEEK_SET);
  uint8_t *p = malloc(*n + 1);
  if (fread(p, 1, *n, f) != *n) { free(p); p = NULL; }
  fclose(f);
  return p;
}

static void spit(const char *path, const void *p, size_t n)
{
  FILE *f = fopen(path, "wb");
  fwrite(p, 1, n, f);
  fclose(f);
}

/* Copy an HF variant's files into tmp/<name>, returning that directory. */
static const char *copy_hf(const char *variant, const char *name)
{
  static char dir[256];
  snprintf(dir, sizeof dir, "%s/%s", tmp, name);
  ds_test_mkdir(dir);
  const char *files[] = {"config.json", "model.safetensors", "tokenizer.json", "tokenizer_config.json"};
  for (size_t i = 0; i < 4; i++) {
    size_t n;
    uint8_t *p = slurp(path_of(variant, files[i]), &n);
    if (!p) continue;
    char dst[512];
    snprintf(dst, sizeof dst, "%s/%s", dir, files[i]);
    spit(dst, p, n);
    free(p);
  }
  return dir;
}

static dseek_status load(const char *path, dseek_model **m)
{
  *m = NULL;
  return dseek_model_load(path, NULL, m);
}

static void expect_load_error(const char *path, dseek_status want, const char *msg_part)
{
  dseek_model *m = NULL;
  dseek_status st = load(path, &m);
  CHECK_MSG(st == want, "%s: status %d, want %d (%s)", path, (int)st, (int)want, dseek_last_error());
  CHECK_MSG(strstr(dseek_last_error(), msg_part) != NULL, "%s: message '%s' lacks '%s'", path, dseek_last_error(), msg_part);
  CHECK(m == NULL);
  dseek_model_free(m);
}

static void test_load_errors(void)
{
  expect_load_error("/nonexistent/model.gguf", DSEEK_ERR_IO, "/nonexistent/model.gguf");
  dseek_model *m;
  CHECK_EQ_INT(dseek_model_load(NULL, NULL, &m), DSEEK_ERR_INVALID_ARG);
  CHECK_EQ_INT(dseek_model_load("x", NULL, NULL), DSEEK_ERR_INVALID_ARG);
  dseek_model_options bad_opts = {.struct_size = 2};
  CHECK_EQ_INT(dseek_model_load(path_of("qwen2-gguf-f32", "model.gguf"), &bad_opts, &m), DSEEK_ERR_INVALID_ARG);
  CHECK_EQ_INT(dseek_model_options_init(NULL, 8), DSEEK_ERR_INVALID_ARG);

  /* unknown architecture: patch the value of general.architecture */
  size_t n;
  uint8_t *p = slurp(path_of("qwen2-gguf-f32", "model.gguf"), &n);
  CHECK(p != NULL);
  if (!p) return;
  const char key[] = "general.architecture";
  for (size_t i = 0; i + sizeof key + 20 < n; i++)
    if (memcmp(p + i, key, sizeof key - 1) == 0) { memcpy(p + i + sizeof key - 1 + 4 + 8, "gpt99", 5); break; }
  char path[512];
  snprintf(path, sizeof path, "%s/arch.gguf", tmp);
  spit(path, p, n);
  expect_load_error(path, DSEEK_ERR_UNSUPPORTED, "architecture 'gpt99'");
  /* truncated GGUF */
  size_t full = n;
  uint8_t *q = slurp(path_of("qwen2-gguf-f32", "model.gguf"), &n);
  spit(path, q, full / 2);
  expect_load_error(path, DSEEK_ERR_FORMAT, "arch.gguf");
  /* a tensor missing: rename token_embd */
  for (size_t i = 0; i + 17 < n; i++)
    if (memcmp(q + i, "token_embd.weight", 17) == 0) { q[i] = 'T'; break; }
  spit(path, q, n);
  expect_load_error(path, DSEEK_ERR_FORMAT, "'token_embd.weight' missing");
  free(p);
  free(q);

  /* HF: malformed config.json, missing field, truncated safetensors */
  const char *dir = copy_hf("llama-hf-f32", "badjson");
  char cfg[512];
  snprintf(cfg, sizeof cfg, "%s/config.json", dir);
  const char *broken = "{\"model_type\": \"llama\",\n \"hidden_size\": }";
  spit(cfg, broken, strlen(broken));
  expect_load_error(dir, DSEEK_ERR_FORMAT, "line 2");
  dir = copy_hf("llama-hf-f32", "nofield");
  snprintf(cfg, sizeof cfg, "%s/config.json", dir);
  const char *nf = "{\"model_type\": \"llama\", \"vocab_size\": 300}";
  spit(cfg, nf, strlen(nf));
  expect_load_error(dir, DSEEK_ERR_FORMAT, "\"hidden_size\" missing");
  dir = copy_hf("llama-hf-f32", "arch");
  snprintf(cfg, sizeof cfg, "%s/config.json", dir);
  const char *ar = "{\"model_type\": \"mamba\"}";
  spit(cfg, ar, strlen(ar));
  expect_load_error(dir, DSEEK_ERR_UNSUPPORTED, "model_type 'mamba'");
  dir = copy_hf("llama-hf-f32", "trunc");
  char st[512];
  snprintf(st, sizeof st, "%s/model.safetensors", dir);
  uint8_t *s = slurp(st, &n);
  spit(st, s, n - 100);
  free(s);
  expect_load_error(dir, DSEEK_ERR_FORMAT, "model.safetensors");
}

static void test_model_facts_and_text(void)
{
  dseek_model *m;
  CHECK_EQ_INT(load(path_of("qwen2-gguf-f32", "model.gguf"), &m), DSEEK_OK);
  if (!m) return;
  CHECK_STR(dseek_model_arch(m), "qwen2");
  CHECK_EQ_INT(dseek_model_n_vocab(m), 300);
  CHECK_EQ_INT(dseek_model_n_embd(m), 64);
  CHECK_EQ_INT(dseek_model_n_layer(m), 2);
  CHECK_EQ_INT(dseek_model_n_ctx_train(m), 512);
  CHECK(dseek_model_n_params(m) > 0 && dseek_model_weight_bytes(m) > 0);
  CHECK(dseek_model_has_vocab(m));
  CHECK_EQ_INT(dseek_token_bos(m), 294);
  CHECK_EQ_INT(dseek_token_eos(m), 295);
  CHECK(dseek_token_is_eog(m, 295) && !dseek_token_is_eog(m, 10));

  int32_t ids[64];
  int64_t n = 0;
  CHECK_EQ_INT(dseek_tokenize(m, "hello world", 11, 1, 1, ids, 64, &n), DSEEK_OK);
  CHECK(n > 1 && ids[0] == 294);
  int64_t need = 0;
  CHECK_EQ_INT(dseek_tokenize(m, "hello world", 11, 1, 1, NULL, 0, &need), DSEEK_ERR_BUFFER_TOO_SMALL);
  CHECK_EQ_INT(need, n);
  char text[64];
  size_t len;
  CHECK_EQ_INT(dseek_detokenize(m, ids + 1, n - 1, text, sizeof text, &len), DSEEK_OK);
  CHECK_STR(text, "hello world");
  CHECK_EQ_INT(dseek_detokenize(m, ids + 1, n - 1, text, 3, &len), DSEEK_ERR_BUFFER_TOO_SMALL);
  CHECK_EQ_INT(len, 11);
  /* special tokens: parsed, or text */
  CHECK_EQ_INT(dseek_tokenize(m, "<think>", 7, 0, 1, ids, 64, &n), DSEEK_OK);
  CHECK(n == 1 && ids[0] == 298);
  /* invalid UTF-8 names the byte offset */
  CHECK_EQ_INT(dseek_tokenize(m, "ab\xff", 3, 0, 1, ids, 64, &n), DSEEK_ERR_INVALID_ARG);
  CHECK(strstr(dseek_last_error(), "2") != NULL);
  const char *piece;
  CHECK_EQ_INT(dseek_token_piece(m, 298, &piece, &len), DSEEK_OK);
  CHECK(len == 7 && memcmp(piece, "<think>", 7) == 0);
  CHECK_EQ_INT(dseek_token_piece(m, 300, &piece, &len), DSEEK_ERR_INVALID_ARG);

  /* chat: the R1-Distill template travels in the GGUF */
  const char *roles[] = {"system", "user", "assistant", "user"};
  const char *contents[] = {"S", "Q1", "<think>r</think>\n\nA1", "Q2"};
  char chat[512];
  CHECK_EQ_INT(dseek_chat_render(m, roles, contents, 4, 1, chat, sizeof chat, &len), DSEEK_OK);
  CHECK_STR(chat, "<｜begin▁of▁sentence｜>S<｜User｜>Q1<｜Assistant｜>\n\nA1<｜end▁of▁sentence｜><｜User｜>Q2<｜Assistant｜><think>\n");
  CHECK_EQ_INT(dseek_chat_render(m, roles, contents, 4, 1, NULL, 0, &len), DSEEK_ERR_BUFFER_TOO_SMALL);
  CHECK_EQ_INT(len, strlen(chat));
  dseek_model_free(m);

  /* a checkpoint without tokenizer files: ids in, logits out, clear text errors */
  CHECK_EQ_INT(load(path_of("llama-hf-f32-tied-notok", NULL), &m), DSEEK_OK);
  if (!m) return;
  CHECK(!dseek_model_has_vocab(m));
  CHECK_EQ_INT(dseek_tokenize(m, "a", 1, 1, 1, ids, 64, &n), DSEEK_ERR_UNSUPPORTED);
  CHECK(strstr(dseek_last_error(), "no tokenizer") != NULL);
  CHECK_EQ_INT(dseek_chat_render(m, roles, contents, 1, 1, chat, sizeof chat, &len), DSEEK_ERR_UNSUPPORTED);
  CHECK_EQ_INT(dseek_token_bos(m), -1);
  dseek_context *c = NULL;
  CHECK_EQ_INT(dseek_context_create(m, NULL, &c), DSEEK_OK);
  int32_t one = 5;
  CHECK_EQ_INT(dseek_decode(c, &one, 1, 0), DSEEK_OK);
  CHECK(dseek_logits(c, -1) != NULL);
  CHECK_EQ_INT(dseek_generate(c, "hi", NULL, NULL), DSEEK_ERR_UNSUPPORTED);
  dseek_context_free(c);
  dseek_model_free(m);

  /* vocab-only: tokenizes, cannot evaluate */
  dseek_model_options o;
  dseek_model_options_init(&o, sizeof o);
  o.vocab_only = 1;
  CHECK_EQ_INT(dseek_model_load(path_of("qwen2-hf-f32", NULL), &o, &m), DSEEK_OK);
  if (!m) return;
  CHECK_EQ_INT(dseek_tokenize(m, "hello", 5, 0, 1, ids, 64, &n), DSEEK_OK);
  CHECK_EQ_INT(dseek_model_n_vocab(m), 0);
  CHECK_EQ_INT(dseek_context_create(m, NULL, &c), DSEEK_ERR_INVALID_ARG);
  CHECK(strstr(dseek_last_error(), "vocab-only") != NULL);
  dseek_model_free(m);
}

static void test_context(void)
{
  dseek_model *m;
  CHECK_EQ_INT(load(path_of("llama-gguf-f32", "model.gguf"), &m), DSEEK_OK);
  if (!m) return;
  dseek_context_options co;
  dseek_context_options_init(&co, sizeof co);
  co.n_ctx = 8;
  co.kv_type = 1234;
  dseek_context *c = NULL;
  CHECK_EQ_INT(dseek_context_create(m, &co, &c), DSEEK_ERR_INVALID_ARG);
  co.kv_type = DSEEK_TYPE_F16;
  co.n_threads = -1;
  CHECK_EQ_INT(dseek_context_create(m, &co, &c), DSEEK_ERR_INVALID_ARG);
  co.n_threads = 0;
  co.n_ctx = (int64_t)1 << 30;   /* 256 GiB of KV cache */
  CHECK_EQ_INT(dseek_context_create(m, &co, &c), DSEEK_ERR_NO_MEMORY);
  CHECK(strstr(dseek_last_error(), "n_ctx") != NULL);
  co.n_ctx = 8;
  CHECK_EQ_INT(dseek_context_create(m, &co, &c), DSEEK_OK);
  if (!c) { dseek_model_free(m); return; }
  CHECK_EQ_INT(dseek_context_n_ctx(c), 8);
  /* 2 layers x 2 kv heads x 16 dims x (K + V) x 2 bytes */
  CHECK_EQ_INT(dseek_context_kv_bytes_per_token(c), 2 * 2 * 16 * 2 * 2);
  CHECK(dseek_logits(c, -1) == NULL);
  int32_t toks[9] = {1, 2, 3, 4, 5, 6, 7, 8, 9};
  CHECK_EQ_INT(dseek_decode(c, toks, 9, 0), DSEEK_ERR_CONTEXT_FULL);
  CHECK(strstr(dseek_last_error(), "do not fit") != NULL);
  CHECK_EQ_INT(dseek_context_n_past(c), 0);
  int32_t badtok = 300;
  CHECK_EQ_INT(dseek_decode(c, &badtok, 1, 0), DSEEK_ERR_INVALID_ARG);
  CHECK_EQ_INT(dseek_decode(c, toks, 6, 1), DSEEK_OK);
  CHECK(dseek_logits(c, 0) && dseek_logits(c, 5) && !dseek_logits(c, 6));
  float first[300];
  memcpy(first, dseek_logits(c, 5), sizeof first);
  CHECK_EQ_INT(dseek_decode(c, toks + 6, 3, 0), DSEEK_ERR_CONTEXT_FULL);
  CHECK_EQ_INT(dseek_decode(c, toks + 6, 2, 0), DSEEK_OK);
  CHECK_EQ_INT(dseek_context_n_past(c), 8);
  CHECK(dseek_logits(c, 1) != NULL && dseek_logits(c, 0) == NULL);
  /* reset: the same tokens give the same logits again */
  CHECK_EQ_INT(dseek_context_reset(c), DSEEK_OK);
  CHECK_EQ_INT(dseek_context_n_past(c), 0);
  CHECK_EQ_INT(dseek_decode(c, toks, 6, 0), DSEEK_OK);
  CHECK(memcmp(first, dseek_logits(c, -1), sizeof first) == 0);
  dseek_context_free(c);
  dseek_model_free(m);
}

/* ---- generation --------------------------------------------------------------- */

typedef struct sink {
  char reasoning[4096], content[4096];
  int pieces, stop_after;
} sink;

static int on_piece(dseek_piece_kind kind, const char *text, size_t len, void *user)
{
  sink *s = user;
  strncat(kind == DSEEK_PIECE_REASONING ? s->reasoning : s->content, text, len);
  s->pieces++;
  return s->stop_after && s->pieces >= s->stop_after;
}

static void test_generate(void)
{
  dseek_model *m;
  CHECK_EQ_INT(load(path_of("qwen2-gguf-f32", "model.gguf"), &m), DSEEK_OK);
  if (!m) return;
  dseek_context_options co;
  dseek_context_options_init(&co, sizeof co);
  co.n_ctx = 64;
  dseek_context *c = NULL;
  CHECK_EQ_INT(dseek_context_create(m, &co, &c), DSEEK_OK);
  if (!c) { dseek_model_free(m); return; }
  dseek_generate_options go;
  dseek_generate_options_init(&go, sizeof go);
  dseek_generate_result r = {.struct_size = sizeof r};
  sink s;

  /* greedy, max_tokens */
  memset(&s, 0, sizeof s);
  go.max_tokens = 10;
  go.stream = on_piece;
  go.stream_user_data = &s;
  go.reasoning = DSEEK_REASONING_OFF;
  CHECK_EQ_INT(dseek_generate(c, "hello", &go, &r), DSEEK_OK);
  CHECK_EQ_INT(r.stop_reason, DSEEK_STOP_MAX_TOKENS);
  CHECK_EQ_INT(r.n_generated_tokens, 10);
  CHECK_EQ_INT(r.n_reasoning_tokens, 0);
  CHECK(r.n_prompt_tokens >= 2 && r.n_prompt_tokens <= 6);   /* BOS + "hello" in 1 to 5 pieces */
  CHECK(s.reasoning[0] == 0 && strlen(s.content) > 0);
  char greedy_text[4096];
  snprintf(greedy_text, sizeof greedy_text, "%s", s.content);

  /* the same again: identical (context reset per call) */
  memset(&s, 0, sizeof s);
  CHECK_EQ_INT(dseek_generate(c, "hello", &go, &r), DSEEK_OK);
  CHECK_STR(s.content, greedy_text);

  /* a stop string cuts the output before it */
  if (strlen(greedy_text) > 4) {
    char stop[3] = {greedy_text[3], greedy_text[4], 0};
    const char *stops[] = {stop};
    const char *at = strstr(greedy_text, stop);
    memset(&s, 0, sizeof s);
    go.stop = stops;
    go.n_stop = 1;
    CHECK_EQ_INT(dseek_generate(c, "hello", &go, &r), DSEEK_OK);
    CHECK_EQ_INT(r.stop_reason, DSEEK_STOP_STRING);
    CHECK_EQ_INT(strlen(s.content), (size_t)(at - greedy_text));
    CHECK(strncmp(s.content, greedy_text, strlen(s.content)) == 0);
    go.stop = NULL;
    go.n_stop = 0;
  }

  /* the callback stops generation */
  memset(&s, 0, sizeof s);
  s.stop_after = 2;
  CHECK_EQ_INT(dseek_generate(c, "hello", &go, &r), DSEEK_OK);
  CHECK_EQ_INT(r.stop_reason, DSEEK_STOP_CALLBACK);
  CHECK_EQ_INT(s.pieces, 2);

  /* EOS forced by a logit bias: nothing generated */
  dseek_sampler *sm = NULL;
  dseek_sampler_create(1, &sm);
  dseek_sampler_add_logit_bias(sm, 295, 1000.0f);
  dseek_sampler_add_greedy(sm);
  memset(&s, 0, sizeof s);
  go.sampler = sm;
  CHECK_EQ_INT(dseek_generate(c, "hello", &go, &r), DSEEK_OK);
  CHECK_EQ_INT(r.stop_reason, DSEEK_STOP_EOS);
  CHECK_EQ_INT(r.n_generated_tokens, 0);
  dseek_sampler_free(sm);

  /* reasoning: the prompt opens <think>; the model is pushed to close it at once */
  dseek_sampler_create(1, &sm);
  dseek_sampler_add_logit_bias(sm, 299, 1000.0f);   /* </think> */
  dseek_sampler_add_greedy(sm);
  memset(&s, 0, sizeof s);
  go.sampler = sm;
  go.max_tokens = 3;
  go.reasoning = DSEEK_REASONING_AUTO;
  CHECK_EQ_INT(dseek_generate(c, "<｜User｜>hi<｜Assistant｜><think>\n", &go, &r), DSEEK_OK);
  CHECK_STR(s.reasoning, "");
  CHECK_STR(s.content, "</think></think>");   /* later tags are answer text */
  CHECK_EQ_INT(r.n_reasoning_tokens, 1);
  dseek_sampler_free(sm);
  /* without <think> in the prompt everything is content */
  memset(&s, 0, sizeof s);
  go.sampler = NULL;
  go.max_tokens = 5;
  CHECK_EQ_INT(dseek_generate(c, "hello", &go, &r), DSEEK_OK);
  CHECK_STR(s.reasoning, "");
  /* the prompt opens <think> and the model never closes it: all reasoning */
  memset(&s, 0, sizeof s);
  dseek_sampler_create(1, &sm);
  dseek_sampler_add_logit_bias(sm, 299, -INFINITY);
  dseek_sampler_add_logit_bias(sm, 295, -INFINITY);
  dseek_sampler_add_greedy(sm);
  go.sampler = sm;
  CHECK_EQ_INT(dseek_generate(c, "hello<think>", &go, &r), DSEEK_OK);
  CHECK_STR(s.content, "");
  CHECK(strlen(s.reasoning) > 0);
  CHECK_EQ_INT(r.n_reasoning_tokens, 5);
  dseek_sampler_free(sm);
  go.sampler = NULL;

  /* errors */
  CHECK_EQ_INT(dseek_generate(NULL, "x", &go, &r), DSEEK_ERR_INVALID_ARG);
  CHECK_EQ_INT(dseek_generate(c, "ab\xc3", &go, &r), DSEEK_ERR_INVALID_ARG);
  char longp[400];
  memset(longp, 'a', sizeof longp - 1);
  longp[sizeof longp - 1] = 0;
  CHECK_EQ_INT(dseek_generate(c, longp, &go, &r), DSEEK_ERR_CONTEXT_FULL);
  go.max_tokens = 100;
  memset(&s, 0, sizeof s);
  CHECK_EQ_INT(dseek_generate(c, "hello", &go, &r), DSEEK_OK);
  CHECK(r.stop_reason == DSEEK_STOP_CONTEXT_FULL || r.stop_reason == DSEEK_STOP_EOS);
  go.n_stop = 1;
  go.stop = NULL;
  CHECK_EQ_INT(dseek_generate(c, "hello", &go, &r), DSEEK_ERR_INVALID_ARG);
  dseek_context_free(c);
  dseek_model_free(m);
}

/* ---- test-time compute: budget, forcing, prompt cache, cancel ----------------- */

static int count(const char *hay, const char *needle)
{
  int n = 0;
  for (const char *p = strstr(hay, needle); p; p = strstr(p + 1, needle)) n++;
  return n;
}

typedef struct canceller {
  dseek_context *ctx;
  int pieces;
} canceller;

static int cancel_after_two(dseek_piece_kind kind, const char *text, size_t len, void *user)
{
  (void)kind; (void)text; (void)len;
  canceller *c = user;
  if (++c->pieces == 2) dseek_cancel(c->ctx);
  return 0;
}

static void test_thinking_and_cache(void)
{
  dseek_model *m;
  CHECK_EQ_INT(load(path_of("qwen2-gguf-f32", "model.gguf"), &m), DSEEK_OK);
  if (!m) return;
  dseek_context_options co;
  dseek_context_options_init(&co, sizeof co);
  co.n_ctx = 128;
  dseek_context *c = NULL, *fresh = NULL;
  CHECK_EQ_INT(dseek_context_create(m, &co, &c), DSEEK_OK);
  CHECK_EQ_INT(dseek_context_create(m, &co, &fresh), DSEEK_OK);
  if (!c || !fresh) goto done;
  dseek_generate_options go;
  dseek_generate_options_init(&go, sizeof go);
  CHECK_EQ_INT(go.max_thinking_tokens, -1);
  dseek_generate_result r = {.struct_size = sizeof r};
  sink s;
  const char *think_prompt = "<｜User｜>hi<｜Assistant｜><think>\n";

  /* 1. thinking budget: the model may not close on its own, so the budget does */
  dseek_sampler *never_close = NULL;
  dseek_sampler_create(3, &never_close);
  dseek_sampler_add_logit_bias(never_close, 299, -INFINITY);
  dseek_sampler_add_logit_bias(never_close, 295, -INFINITY);
  dseek_sampler_add_greedy(never_close);
  memset(&s, 0, sizeof s);
  go.sampler = never_close;
  go.stream = on_piece;
  go.stream_user_data = &s;
  go.max_tokens = 8;
  go.max_thinking_tokens = 3;
  CHECK_EQ_INT(dseek_generate(c, think_prompt, &go, &r), DSEEK_OK);
  CHECK_EQ_INT(r.n_reasoning_tokens, 3);
  CHECK_EQ_INT(r.n_generated_tokens, 8);
  CHECK(r.n_forced_tokens > 0);
  CHECK(strstr(s.reasoning, "Considering the limited time, I have to give the answer now.") != NULL);
  CHECK(strstr(s.reasoning, "</think>") == NULL && strstr(s.content, "</think>") == NULL);
  CHECK(strlen(s.content) > 0);
  /* budget 0: no reasoning at all */
  memset(&s, 0, sizeof s);
  go.max_thinking_tokens = 0;
  CHECK_EQ_INT(dseek_generate(c, think_prompt, &go, &r), DSEEK_OK);
  CHECK_EQ_INT(r.n_reasoning_tokens, 0);
  CHECK_STR(s.reasoning, "");
  CHECK(strlen(s.content) > 0);
  /* a large budget changes nothing */
  memset(&s, 0, sizeof s);
  go.max_thinking_tokens = 1000;
  CHECK_EQ_INT(dseek_generate(c, think_prompt, &go, &r), DSEEK_OK);
  CHECK_EQ_INT(r.n_reasoning_tokens, 8);
  CHECK_EQ_INT(r.n_forced_tokens, 0);
  CHECK_STR(s.content, "");
  dseek_sampler_free(never_close);

  /* 2. budget forcing: the model wants to close at once; "Wait" keeps it thinking */
  dseek_sampler *eager = NULL;
  dseek_sampler_create(3, &eager);
  dseek_sampler_add_logit_bias(eager, 299, 1000.0f);
  dseek_sampler_add_greedy(eager);
  memset(&s, 0, sizeof s);
  go.sampler = eager;
  go.max_thinking_tokens = -1;
  go.min_thinking_tokens = 4;
  go.max_tokens = 6;
  CHECK_EQ_INT(dseek_generate(c, think_prompt, &go, &r), DSEEK_OK);
  CHECK_EQ_INT(count(s.reasoning, "Wait"), 4);
  CHECK_EQ_INT(r.n_reasoning_tokens, 5);      /* 4 replaced attempts + the closing tag */
  CHECK(strstr(s.content, "</think>") != NULL);   /* the 6th token: tags after the close are text */
  go.think_continue = "\nHmm";
  memset(&s, 0, sizeof s);
  CHECK_EQ_INT(dseek_generate(c, think_prompt, &go, &r), DSEEK_OK);
  CHECK_EQ_INT(count(s.reasoning, "Hmm"), 4);
  go.think_continue = NULL;
  go.think_close = "no closing tag";
  CHECK_EQ_INT(dseek_generate(c, think_prompt, &go, &r), DSEEK_ERR_INVALID_ARG);
  go.think_close = NULL;
  go.min_thinking_tokens = -1;
  CHECK_EQ_INT(dseek_generate(c, think_prompt, &go, &r), DSEEK_ERR_INVALID_ARG);
  go.min_thinking_tokens = 0;
  dseek_sampler_free(eager);
  go.sampler = NULL;

  /* 3. prompt cache: a shared prefix is reused and the logits equal a fresh run */
  go.max_tokens = 0;
  go.stream = NULL;
  CHECK_EQ_INT(dseek_generate(c, "hello world, how are you", &go, &r), DSEEK_OK);
  CHECK_EQ_INT(dseek_generate(c, "hello world, where are you", &go, &r), DSEEK_OK);
  CHECK(r.n_cached_tokens > 3);
  int64_t cached = r.n_cached_tokens;
  CHECK_EQ_INT(dseek_generate(fresh, "hello world, where are you", &go, &r), DSEEK_OK);
  CHECK_EQ_INT(r.n_cached_tokens, 0);
  const float *a = dseek_logits(c, -1), *b = dseek_logits(fresh, -1);
  CHECK(a && b && memcmp(a, b, 300 * sizeof(float)) == 0);
  /* the identical prompt: everything but the last token is reused */
  CHECK_EQ_INT(dseek_generate(c, "hello world, where are you", &go, &r), DSEEK_OK);
  CHECK_EQ_INT(r.n_cached_tokens, r.n_prompt_tokens - 1);
  CHECK(r.n_cached_tokens > cached);
  CHECK(memcmp(dseek_logits(c, -1), b, 300 * sizeof(float)) == 0);

  /* 4. cancel: stops within a token; the context stays usable */
  canceller cc = {c, 0};
  go.max_tokens = 50;
  go.stream = cancel_after_two;
  go.stream_user_data = &cc;
  go.reasoning = DSEEK_REASONING_OFF;
  CHECK_EQ_INT(dseek_generate(c, "hello", &go, &r), DSEEK_ERR_CANCELLED);
  CHECK_EQ_INT(cc.pieces, 2);
  CHECK_EQ_INT(dseek_cancel(NULL), DSEEK_ERR_INVALID_ARG);
  dseek_cancel(c);            /* nothing runs: no effect on the next call */
  cc.pieces = -100;
  CHECK_EQ_INT(dseek_generate(c, "hello", &go, &r), DSEEK_OK);
  CHECK_EQ_INT(r.stop_reason, DSEEK_STOP_MAX_TOKENS);
done:
  dseek_context_free(c);
  dseek_context_free(fresh);
  dseek_model_free(m);
}

int main(int argc, char **argv)
{
  if (!ds_test_tiny_dir(argc, argv)) return 77;
  tiny = argv[1];
  snprintf(tmp, sizeof tmp, "/tmp/dseek-model-XXXXXX");
  if (!mkdtemp(tmp)) return 1;
  RUN(test_load_errors);
  RUN(test_model_facts_and_text);
  RUN(test_context);
  RUN(test_generate);
  RUN(test_thinking_and_cache);
  if (ds_test_rmtree(tmp) != 0) return 1;
  return DS_TEST_RESULT();
}
