/*
 * compat_windows.h — the few POSIX calls the C tests use, for the MinGW-w64
 * build that runs them under Wine (tests only; the library has its own
 * platform layer, lib/core/platform.h). Included by harness.h on Windows.
 *
 * Memory: the tests allocate SIMD buffers with C11 aligned_alloc and release
 * everything with free; the MSVC runtime has neither aligned_alloc nor a free
 * that accepts _aligned_malloc's blocks, so in test code every allocation
 * goes through _aligned_malloc (16 bytes, or the alignment asked) and free
 * through _aligned_free. Test code never frees what the library allocated
 * (the library has its own *_free functions), so the two heaps do not mix.
 */
#ifndef DS_TEST_COMPAT_WINDOWS_H
#define DS_TEST_COMPAT_WINDOWS_H

#include <direct.h>
#include <io.h>
#include <limits.h>
#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#define WIN32_LEAN_AND_MEAN
#include <windows.h>

static inline void *ds_test_malloc(size_t n) { return _aligned_malloc(n > 0 ? n : 1, 16); }
static inline void *ds_test_realloc(void *p, size_t n) { return _aligned_realloc(p, n > 0 ? n : 1, 16); }
static inline void *ds_test_calloc(size_t n, size_t size)
{
  if (size && n > SIZE_MAX / size) return NULL;
  void *p = ds_test_malloc(n * size);
  if (p) memset(p, 0, n * size);
  return p;
}
static inline char *ds_test_strdup(const char *s)
{
  size_t n = strlen(s) + 1;
  char *p = _aligned_malloc(n, 16);
  if (p) memcpy(p, s, n);
  return p;
}
#define malloc(n) ds_test_malloc(n)
#define calloc(n, size) ds_test_calloc(n, size)
#define realloc(p, n) ds_test_realloc(p, n)
#define free(p) _aligned_free(p)
#define strdup(s) ds_test_strdup(s)
#define aligned_alloc(align, n) _aligned_malloc(n, align)

/* mkdtemp: the template's XXXXXX replaced, the directory created. */
static inline char *mkdtemp(char *tmpl)
{
  if (_mktemp_s(tmpl, strlen(tmpl) + 1) != 0) return NULL;
  return _mkdir(tmpl) == 0 ? tmpl : NULL;
}

static inline char *realpath(const char *path, char *resolved) { return _fullpath(resolved, path, PATH_MAX); }

/* Symbolic links need a privilege on Windows; the tests only need the
 * target's bytes under the new name, so they get a copy. */
static inline int symlink(const char *target, const char *linkpath)
{
  return CopyFileA(target, linkpath, TRUE) ? 0 : -1;
}

static inline int setenv(const char *name, const char *value, int overwrite)
{
  if (!overwrite && getenv(name)) return 0;
  return _putenv_s(name, value) == 0 ? 0 : -1;
}
static inline int unsetenv(const char *name) { return _putenv_s(name, "") == 0 ? 0 : -1; }

#endif
