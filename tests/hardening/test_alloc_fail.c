/*
 * test_alloc_fail.c — allocation-failure injection (build with
 * -Dfailpoints=true, and -Db_sanitize=address so LeakSanitizer watches).
 *
 * One "run" is what a host does: load a model (the tiny qwen2 GGUF, then the
 * tiny llama HF directory), create a context, tokenize, render a chat,
 * generate 8 tokens with a sampler chain, free everything. For N = 1, 2, ...
 * the N-th allocation of the run and every later one fail
 * (ds_failpoint_alloc), until a run makes fewer than N allocations. Every
 * run must either succeed completely (then no allocation failed) or stop at a
 * call that returned DSEEK_ERR_NO_MEMORY with a message and left its output
 * NULL; nothing may crash, and (ASan builds) a leak check after every run
 * must find nothing. Also: a context too large for the machine is refused before any
 * allocation.
 *
 *   test_alloc_fail TINY_DIR
 */
#include "dseek.h"
#include "core/ds.h"
#include "harness.h"

#include <stdlib.h>

#if defined(__SANITIZE_ADDRESS__)
#  define HAVE_LSAN 1
#elif defined(__has_feature)
#  if __has_feature(address_sanitizer)
#    define HAVE_LSAN 1
#  endif
#endif
#ifdef HAVE_LSAN
#  include <sanitizer/lsan_interface.h>
#endif

static const char *tiny;
static int64_t status_tally[16];   /* how the failing call reported the failure */
static int first_bad_n;

/* Check a failed call: an error status with a message, output untouched. */
static bool failed(dseek_status st, const void *out, const char *what, int64_t n)
{
  if (st == DSEEK_OK) return false;
  status_tally[st >= 0 && st < 16 ? st : 15]++;
  CHECK_MSG(dseek_last_error()[0] != '\0', "N=%lld: %s failed (%d) without a message", (long long)n, what, (int)st);
  CHECK_MSG(out == NULL, "N=%lld: %s failed but set its output", (long long)n, what);
  if (st != DSEEK_ERR_NO_MEMORY && !first_bad_n) {
    first_bad_n = (int)n;
    fprintf(stderr, "note: N=%lld: %s reported an allocation failure as %s: %s\n", (long long)n, what,
            dseek_status_string(st), dseek_last_error());
  }
  return true;
}

static int count_chars;
static int on_piece(dseek_piece_kind kind, const char *text, size_t len, void *user)
{
  (void)kind; (void)text; (void)user;
  count_chars += (int)len;
  return 0;
}

/* One run on one model file; returns true if every call succeeded. */
static bool run_model(const char *path, int64_t n)
{
  dseek_model *m = NULL;
  dseek_context *c = NULL;
  dseek_sampler *s = NULL;
  bool ok = false;
  dseek_status st = dseek_model_load(path, NULL, &m);
  if (failed(st, m, "dseek_model_load", n)) goto out;
  dseek_context_options co;
  dseek_context_options_init(&co, sizeof co);
  co.n_ctx = 64;
  co.n_threads = 2;
  st = dseek_context_create(m, &co, &c);
  if (failed(st, c, "dseek_context_create", n)) goto out;
  int32_t ids[64];
  int64_t n_ids = 0;
  st = dseek_tokenize(m, "Hello world, hello!", 19, 1, 1, ids, 64, &n_ids);
  if (failed(st, NULL, "dseek_tokenize", n)) goto out;
  char text[512];
  size_t len = 0;
  st = dseek_detokenize(m, ids, n_ids, text, sizeof text, &len);
  if (failed(st, NULL, "dseek_detokenize", n)) goto out;
  const char *roles[2] = {"system", "user"}, *contents[2] = {"Be brief.", "Hi"};
  st = dseek_chat_render(m, roles, contents, 2, 1, text, sizeof text, &len);
  if (st == DSEEK_ERR_UNSUPPORTED) st = DSEEK_OK;   /* a model without a recognised template */
  if (failed(st, NULL, "dseek_chat_render", n)) goto out;
  st = dseek_sampler_create(7, &s);
  if (failed(st, s, "dseek_sampler_create", n)) goto out;
  if (failed(dseek_sampler_add_top_k(s, 20), NULL, "dseek_sampler_add_top_k", n)) goto out;
  if (failed(dseek_sampler_add_temperature(s, 0.8f), NULL, "dseek_sampler_add_temperature", n)) goto out;
  dseek_generate_options go;
  dseek_generate_options_init(&go, sizeof go);
  go.max_tokens = 8;
  go.sampler = s;
  go.stream = on_piece;
  dseek_generate_result r;
  r.struct_size = sizeof r;
  r.n_generated_tokens = -1;
  st = dseek_generate(c, "Hello world", &go, &r);
  if (failed(st, NULL, "dseek_generate", n)) goto out;
  CHECK_MSG(r.n_generated_tokens >= 1 && r.n_generated_tokens <= 8, "N=%lld: generated %lld", (long long)n,
            (long long)r.n_generated_tokens);
  ok = true;
out:
  dseek_sampler_free(s);
  dseek_context_free(c);
  dseek_model_free(m);
  return ok;
}

static char *path_of(const char *variant, const char *file)
{
  static char p[2][1024];
  static int k;
  k ^= 1;
  snprintf(p[k], sizeof p[k], "%s/%s%s%s", tiny, variant, file ? "/" : "", file ? file : "");
  return p[k];
}

static void test_every_failure_point(void)
{
  const char *gguf = path_of("qwen2-gguf-f32", "model.gguf");
  const char *hf = path_of("llama-hf-f32", NULL);
  int64_t total = -1, n;
  int leaks = 0;
  for (n = 1;; n++) {
    ds_failpoint_alloc(n);
    bool ok = run_model(gguf, n);
    ok = run_model(hf, n) && ok;
    int64_t made = ds_failpoint_alloc(0);
    dseek_clear_error();
#ifdef HAVE_LSAN
    if (__lsan_do_recoverable_leak_check()) {
      if (leaks++ < 3) fprintf(stderr, "N=%lld: LeakSanitizer found leaks (above)\n", (long long)n);
    }
#endif
    if (made < n) {
      /* The failpoint was never reached: this run is the clean one. */
      CHECK_MSG(ok, "N=%lld: no allocation failed, yet a call reported an error", (long long)n);
      total = made;
      break;
    }
    /* An allocation failed: some call must have said so. */
    CHECK_MSG(!ok, "N=%lld: allocation %lld failed but every call reported success", (long long)n, (long long)n);
    if (n > 200000) break;
  }
  CHECK_EQ_INT(leaks, 0);
  CHECK(total > 0);
  /* An allocation failure is reported as one, not as a format or internal error. */
  CHECK_MSG(first_bad_n == 0, "N=%d: a failed allocation was reported as another error (note above)", first_bad_n);
  fprintf(stderr, "allocation failure points tried: %lld (a clean run makes %lld allocations)\n",
          (long long)(n - 1), (long long)total);
  fprintf(stderr, "failing call's status:");
  for (int k = 1; k < 16; k++)
    if (status_tally[k]) fprintf(stderr, " %s x%lld,", dseek_status_string((dseek_status)k), (long long)status_tally[k]);
  fprintf(stderr, "\n");
}

/* A context larger than the machine's memory is refused before allocating. */
static void test_refused_before_allocation(void)
{
  dseek_model *m = NULL;
  CHECK(dseek_model_load(path_of("qwen2-gguf-f32", "model.gguf"), NULL, &m) == DSEEK_OK);
  if (!m) return;
  dseek_context_options co;
  dseek_context_options_init(&co, sizeof co);
  co.n_ctx = INT32_MAX;
  co.kv_type = DSEEK_TYPE_F32;
  dseek_context *c = NULL;
  ds_failpoint_alloc(1 << 30);   /* count only */
  dseek_status st = dseek_context_create(m, &co, &c);
  int64_t made = ds_failpoint_alloc(0);
  CHECK_EQ_INT(st, DSEEK_ERR_NO_MEMORY);
  CHECK(c == NULL);
  CHECK_EQ_INT(made, 0);
  dseek_model_free(m);
}

int main(int argc, char **argv)
{
  if (!ds_test_tiny_dir(argc, argv)) return 77;
  tiny = argv[1];
  RUN(test_refused_before_allocation);
  RUN(test_every_failure_point);
  return DS_TEST_RESULT();
}
