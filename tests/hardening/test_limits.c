/*
 * test_limits.c — resource limits at the model level: a context whose KV
 * cache needs more memory than the machine has is refused at once with the
 * bytes needed and available; a GGUF or safetensors file whose metadata
 * promises more data than the file holds is refused when the model loads
 * (whatever the point of truncation), and so are counts and lengths no file
 * could hold.
 *
 *   test_limits TINY_DIR
 */
#include "dseek.h"
#include "harness.h"

#include <stdlib.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

static const char *tiny;
static char tmp[64];

static uint8_t *slurp(const char *path, size_t *n)
{
  FILE *f = fopen(path, "rb");
  if (!f) return NULL;
  fseek(f, 0, SEEK_END);
  *n = (size_t)ftell(f);
  fseek(f, 0, SEEK_SET);
  uint8_t *p = malloc(*n ? *n : 1);
  if (fread(p, 1, *n, f) != *n) { free(p); p = NULL; }
  fclose(f);
  return p;
}

static void spit(const char *path, const void *p, size_t n)
{
  FILE *f = fopen(path, "wb");
  if (!f) return;
  fwrite(p, 1, n, f);
  fclose(f);
}

static double now(void)
{
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

static void test_context_larger_than_memory(void)
{
  char path[1024];
  snprintf(path, sizeof path, "%s/qwen2-gguf-f32/model.gguf", tiny);
  dseek_model *m = NULL;
  CHECK(dseek_model_load(path, NULL, &m) == DSEEK_OK);
  if (!m) return;
  dseek_context_options co;
  dseek_context_options_init(&co, sizeof co);
  co.n_ctx = INT32_MAX;          /* 2^31 tokens x 512 bytes of F32 K and V: 1 TiB */
  co.kv_type = DSEEK_TYPE_F32;
  dseek_context *c = NULL;
  double t0 = now();
  dseek_status st = dseek_context_create(m, &co, &c);
  double dt = now() - t0;
  CHECK_EQ_INT(st, DSEEK_ERR_NO_MEMORY);
  CHECK(c == NULL);
  const char *msg = dseek_last_error();
  CHECK_MSG(strstr(msg, "MiB") && strstr(msg, "available") && strstr(msg, "n_ctx"), "message: %s", msg);
  CHECK_MSG(dt < 0.5, "refusal took %.3f s (touching memory?)", dt);
  /* A context that fits is fine, and the refusal left nothing behind. */
  co.n_ctx = 64;
  CHECK(dseek_context_create(m, &co, &c) == DSEEK_OK);
  dseek_context_free(c);
  dseek_model_free(m);
}

static void expect_refused(const char *path, const char *what, size_t cut)
{
  dseek_model *m = NULL;
  dseek_status st = dseek_model_load(path, NULL, &m);
  CHECK_MSG(st == DSEEK_ERR_FORMAT || st == DSEEK_ERR_IO, "%s cut at %zu: status %d (%s)", what, cut, (int)st,
            dseek_last_error());
  CHECK(m == NULL);
  if (m) dseek_model_free(m);
}

/* Every truncation point from the end of the header to the end of the data
 * (64 of them, spread evenly), mapped and read. */
static void test_truncated_gguf(void)
{
  char src[1024], dst[1024];
  snprintf(src, sizeof src, "%s/qwen2-gguf-f32/model.gguf", tiny);
  snprintf(dst, sizeof dst, "%s/truncated.gguf", tmp);
  size_t n = 0;
  uint8_t *p = slurp(src, &n);
  CHECK(p != NULL && n > 4096);
  if (!p) return;
  for (int k = 0; k < 64; k++) {
    size_t cut = 16 + (n - 17) * (size_t)k / 63;     /* 16 .. n - 1 */
    spit(dst, p, cut);
    expect_refused(dst, "model.gguf", cut);
  }
  /* The message names the file and says what is missing. */
  spit(dst, p, n - 1);
  dseek_model *m = NULL;
  CHECK(dseek_model_load(dst, NULL, &m) == DSEEK_ERR_FORMAT);
  CHECK_MSG(strstr(dseek_last_error(), "truncated.gguf") != NULL, "message: %s", dseek_last_error());
  /* A tensor count no file could hold is refused, not allocated. */
  uint64_t huge = (uint64_t)1 << 60;
  memcpy(p + 8, &huge, 8);
  spit(dst, p, n);
  expect_refused(dst, "tensor count 2^60", n);
  free(p);
  unlink(dst);
}

static void test_truncated_safetensors(void)
{
  char dir[256];
  snprintf(dir, sizeof dir, "%s/hf", tmp);
  mkdir(dir, 0700);
  const char *files[] = {"config.json", "tokenizer.json", "tokenizer_config.json"};
  for (size_t i = 0; i < 3; i++) {
    char s[1024], d[1024];
    size_t n;
    snprintf(s, sizeof s, "%s/qwen2-hf-f32/%s", tiny, files[i]);
    snprintf(d, sizeof d, "%s/%s", dir, files[i]);
    uint8_t *p = slurp(s, &n);
    CHECK(p != NULL);
    if (p) spit(d, p, n);
    free(p);
  }
  char src[1024], dst[1024];
  snprintf(src, sizeof src, "%s/qwen2-hf-f32/model.safetensors", tiny);
  snprintf(dst, sizeof dst, "%s/model.safetensors", dir);
  size_t n = 0;
  uint8_t *p = slurp(src, &n);
  CHECK(p != NULL);
  if (!p) return;
  spit(dst, p, n);
  dseek_model *m = NULL;
  CHECK_MSG(dseek_model_load(dir, NULL, &m) == DSEEK_OK, "%s", dseek_last_error());   /* the copy is whole */
  dseek_model_free(m);
  for (int k = 0; k < 32; k++) {
    size_t cut = 9 + (n - 10) * (size_t)k / 31;
    spit(dst, p, cut);
    expect_refused(dir, "model.safetensors", cut);
  }
  /* A header length past the end of the file. */
  uint64_t huge = (uint64_t)1 << 62;
  memcpy(p, &huge, 8);
  spit(dst, p, n);
  expect_refused(dir, "header length 2^62", n);
  free(p);
  for (size_t i = 0; i < 3; i++) {
    char d[1024];
    snprintf(d, sizeof d, "%s/%s", dir, files[i]);
    unlink(d);
  }
  unlink(dst);
  rmdir(dir);
}

int main(int argc, char **argv)
{
  if (!ds_test_tiny_dir(argc, argv)) return 77;
  tiny = argv[1];
  snprintf(tmp, sizeof tmp, "/tmp/dseek-limits-XXXXXX");
  if (!mkdtemp(tmp)) return 1;
  RUN(test_context_larger_than_memory);
  RUN(test_truncated_gguf);
  RUN(test_truncated_safetensors);
  rmdir(tmp);
  return DS_TEST_RESULT();
}
