/*
 * harness.h — a tiny test harness: CHECK macros that count failures and keep
 * going, RUN() to run one test function, and DS_TEST_MAIN's exit code for
 * meson (0 = pass, 1 = fail, 77 = skip).
 */
#ifndef DS_TEST_HARNESS_H
#define DS_TEST_HARNESS_H

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* mkdir for tests on every OS (the library itself needs none). */
#if defined(_WIN32)
#include "compat_windows.h"
#include <sys/stat.h>
#define ds_test_mkdir(path) _mkdir(path)
#else
#include <sys/stat.h>
#define ds_test_mkdir(path) mkdir(path, 0700)
#endif

/* Remove directory dir and everything in it (test cleanup) with the shell:
 * rm -rf, or cmd's rmdir on Windows (under Wine too: "/tmp/x" is \tmp\x on
 * the current drive). Returns system()'s status, 0 on success. */
static inline int ds_test_rmtree(const char *dir)
{
  char cmd[1100];
#if defined(_WIN32)
  char win[1024];
  snprintf(win, sizeof win, "%s", dir);
  for (char *c = win; *c; c++)
    if (*c == '/') *c = '\\';
  snprintf(cmd, sizeof cmd, "rmdir /s /q \"%s\"", win);
  /* cmd.exe under Wine now and then fails to start or to delete on a loaded
   * host: try again while the directory is still there (gone = done, as
   * rm -rf) */
  int rc = -1;
  struct stat st;
  for (int attempt = 0; attempt < 5; attempt++) {
    rc = system(cmd);
    if (stat(dir, &st) != 0) return 0;
  }
  return rc ? rc : -1;
#else
  snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
  return system(cmd);
#endif
}

/* GCC 12 for AArch64 crashes (internal compiler error in the loop vectorizer)
 * on the tests' max-|difference| reductions; tests do not need vector loops. */
#if defined(__aarch64__) && defined(__GNUC__) && !defined(__clang__) && __GNUC__ < 13
#pragma GCC optimize("no-tree-loop-vectorize")
#endif

static int ds_test_failures;
static int ds_test_checks;

#define CHECK(cond)                                                                \
  do {                                                                             \
    ds_test_checks++;                                                              \
    if (!(cond)) {                                                                 \
      ds_test_failures++;                                                          \
      fprintf(stderr, "%s:%d: CHECK failed: %s\n", __FILE__, __LINE__, #cond);     \
    }                                                                              \
  } while (0)

#define CHECK_MSG(cond, ...)                                                       \
  do {                                                                             \
    ds_test_checks++;                                                              \
    if (!(cond)) {                                                                 \
      ds_test_failures++;                                                          \
      fprintf(stderr, "%s:%d: CHECK failed: %s: ", __FILE__, __LINE__, #cond);     \
      fprintf(stderr, __VA_ARGS__);                                                \
      fputc('\n', stderr);                                                         \
    }                                                                              \
  } while (0)

#define CHECK_EQ_INT(a, b)                                                         \
  do {                                                                             \
    long long va_ = (long long)(a), vb_ = (long long)(b);                          \
    CHECK_MSG(va_ == vb_, "%lld != %lld", va_, vb_);                               \
  } while (0)

#define CHECK_STR(a, b)                                                            \
  do {                                                                             \
    const char *sa_ = (a), *sb_ = (b);                                             \
    CHECK_MSG(sa_ && sb_ && strcmp(sa_, sb_) == 0, "\"%s\" != \"%s\"",             \
              sa_ ? sa_ : "(null)", sb_ ? sb_ : "(null)");                         \
  } while (0)

#define CHECK_NEAR(a, b, tol)                                                      \
  do {                                                                             \
    double va_ = (double)(a), vb_ = (double)(b);                                   \
    CHECK_MSG(fabs(va_ - vb_) <= (tol), "%.9g vs %.9g (tol %g)", va_, vb_,         \
              (double)(tol));                                                      \
  } while (0)

#define RUN(fn)                                                                    \
  do {                                                                             \
    int before_ = ds_test_failures;                                                \
    fn();                                                                          \
    fprintf(stderr, "%s %s\n", ds_test_failures == before_ ? "ok  " : "FAIL", #fn); \
  } while (0)

#define DS_TEST_RESULT()                                                           \
  (fprintf(stderr, "%d checks, %d failed\n", ds_test_checks, ds_test_failures),    \
   ds_test_failures ? 1 : (ds_test_checks ? 0 : 1))

/* The tiny reference models' directory, argv[1] (tests/reference/meson.build
 * passes it; it is empty where /usr/bin/python3 with numpy/torch/pytest is
 * missing); NULL after saying why the test skips, and then main returns 77. */
static inline const char *ds_test_tiny_dir(int argc, char **argv)
{
  if (argc > 1 && argv[1][0]) return argv[1];
  fprintf(stderr, "SKIP: the tiny reference models are not built: they need /usr/bin/python3 with "
                  "numpy, torch and pytest (tests/run installs them)\n");
  return NULL;
}

/* The numbers of the line "key v v v ..." in TINY/variant/expected.txt (the
 * reference generator's expectations); returns how many were read (0: none). */
static inline int ds_test_expected(const char *tiny, const char *variant, const char *key, double *v, int cap)
{
  char path[1024], line[16384];
  snprintf(path, sizeof path, "%s/%s/expected.txt", tiny, variant);
  FILE *f = fopen(path, "r");
  int n = 0;
  size_t k = strlen(key);
  while (f && fgets(line, sizeof line, f)) {
    if (strncmp(line, key, k) != 0 || line[k] != ' ') continue;
    char *s = line + k, *end;
    for (double x; n < cap && (x = strtod(s, &end), end != s); s = end) v[n++] = x;
  }
  if (f) fclose(f);
  return n;
}

#endif
