/* test_state.c — saving and loading a context's KV cache: the loaded context
 * continues exactly like the original; files from another model, another KV
 * type, damaged or too large are refused and leave the context untouched.
 *
 *   test_state TINY_DIR */
#include "dseek.h"
#include "harness.h"

#include <stdlib.h>
#include <unistd.h>

static dseek_model *load(const char *tiny, const char *variant)
{
  char path[1024];
  snprintf(path, sizeof path, "%s/%s/model.gguf", tiny, variant);
  dseek_model *m = NULL;
  CHECK_MSG(dseek_model_load(path, NULL, &m) == DSEEK_OK, "%s", dseek_last_error());
  return m;
}

static dseek_context *context(dseek_model *m, int64_t n_ctx, int kv_type)
{
  dseek_context_options co;
  dseek_context_options_init(&co, sizeof co);
  co.n_ctx = n_ctx;
  co.kv_type = kv_type;
  dseek_context *c = NULL;
  CHECK(dseek_context_create(m, &co, &c) == DSEEK_OK);
  return c;
}

int main(int argc, char **argv)
{
  if (!ds_test_tiny_dir(argc, argv)) return 77;
  const char *tiny = argv[1];
  char file[64];
  snprintf(file, sizeof file, "/tmp/dseek-state-%d.bin", (int)getpid());
  dseek_model *m = load(tiny, "qwen2-gguf-f32"), *other = load(tiny, "llama-gguf-f32"),
              *same_arch = load(tiny, "qwen2-gguf-f32-tied");
  if (!m || !other || !same_arch) return DS_TEST_RESULT();
  dseek_context *a = context(m, 64, DSEEK_TYPE_F16), *b = context(m, 64, DSEEK_TYPE_F16);
  int32_t toks[10] = {294, 5, 9, 100, 200, 7, 8, 9, 10, 11};
  CHECK_EQ_INT(dseek_decode(a, toks, 9, 0), DSEEK_OK);
  CHECK_EQ_INT(dseek_context_save(a, file), DSEEK_OK);
  CHECK_EQ_INT(dseek_context_load(b, file), DSEEK_OK);
  CHECK_EQ_INT(dseek_context_n_past(b), 9);
  CHECK(dseek_logits(b, -1) == NULL);
  CHECK_EQ_INT(dseek_decode(a, toks + 9, 1, 0), DSEEK_OK);
  CHECK_EQ_INT(dseek_decode(b, toks + 9, 1, 0), DSEEK_OK);
  CHECK(memcmp(dseek_logits(a, -1), dseek_logits(b, -1), 300 * sizeof(float)) == 0);

  /* refused: another architecture, same architecture with other weights,
   * another KV type, too small a context, a damaged or truncated file */
  dseek_context *o = context(other, 64, DSEEK_TYPE_F16), *t = context(same_arch, 64, DSEEK_TYPE_F16),
                *f32 = context(m, 64, DSEEK_TYPE_F32), *small = context(m, 8, DSEEK_TYPE_F16);
  CHECK_EQ_INT(dseek_context_load(o, file), DSEEK_ERR_FORMAT);
  CHECK(strstr(dseek_last_error(), "another model") != NULL);
  CHECK_EQ_INT(dseek_context_load(t, file), DSEEK_ERR_FORMAT);
  CHECK(strstr(dseek_last_error(), "another model") != NULL);
  CHECK_EQ_INT(dseek_context_load(f32, file), DSEEK_ERR_FORMAT);
  CHECK(strstr(dseek_last_error(), "KV cache") != NULL);
  CHECK_EQ_INT(dseek_context_load(small, file), DSEEK_ERR_CONTEXT_FULL);
  CHECK_EQ_INT(dseek_context_n_past(small), 0);

  FILE *fp = fopen(file, "rb");
  static unsigned char buf[1 << 20];
  size_t n = fread(buf, 1, sizeof buf, fp);
  fclose(fp);
  buf[n / 2] ^= 0x40;
  fp = fopen(file, "wb");
  fwrite(buf, 1, n, fp);
  fclose(fp);
  CHECK_EQ_INT(dseek_context_load(b, file), DSEEK_ERR_FORMAT);
  CHECK(strstr(dseek_last_error(), "checksum") != NULL);
  CHECK_EQ_INT(dseek_context_n_past(b), 10);            /* untouched */
  fp = fopen(file, "wb");
  fwrite(buf, 1, n - 3, fp);
  fclose(fp);
  CHECK_EQ_INT(dseek_context_load(b, file), DSEEK_ERR_FORMAT);
  fp = fopen(file, "wb");
  fwrite("hello", 1, 5, fp);
  fclose(fp);
  CHECK_EQ_INT(dseek_context_load(b, file), DSEEK_ERR_FORMAT);
  CHECK_EQ_INT(dseek_context_load(b, "/nonexistent/state"), DSEEK_ERR_IO);
  CHECK_EQ_INT(dseek_context_save(b, "/nonexistent/dir/state"), DSEEK_ERR_IO);
  CHECK_EQ_INT(dseek_context_save(NULL, file), DSEEK_ERR_INVALID_ARG);

  /* an empty context round-trips too */
  dseek_context_reset(a);
  CHECK_EQ_INT(dseek_context_save(a, file), DSEEK_OK);
  CHECK_EQ_INT(dseek_context_load(b, file), DSEEK_OK);
  CHECK_EQ_INT(dseek_context_n_past(b), 0);
  remove(file);
  dseek_context_free(a);
  dseek_context_free(b);
  dseek_context_free(o);
  dseek_context_free(t);
  dseek_context_free(f32);
  dseek_context_free(small);
  dseek_model_free(m);
  dseek_model_free(other);
  dseek_model_free(same_arch);
  return DS_TEST_RESULT();
}
