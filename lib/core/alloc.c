/* alloc.c — the library's allocator, with optional failure injection. */
#include "core/ds.h"

#include <stdlib.h>
#include <string.h>

#ifdef DSEEK_FAILPOINTS
#include <stdatomic.h>
static _Atomic int64_t alloc_count;
static _Atomic int64_t fail_at;   /* 0: never */

int64_t ds_failpoint_alloc(int64_t n)
{
  int64_t done = atomic_exchange(&alloc_count, 0);
  atomic_store(&fail_at, n > 0 ? n : 0);
  return done;
}

static bool should_fail(void)
{
  int64_t k = atomic_fetch_add(&alloc_count, 1) + 1;
  int64_t f = atomic_load(&fail_at);
  return f > 0 && k >= f;
}
#else
static inline bool should_fail(void) { return false; }
#endif

void *ds_malloc(size_t size)
{
  if (should_fail()) return NULL;
  return malloc(size ? size : 1);
}

void *ds_calloc(size_t count, size_t size)
{
  size_t total;
  if (ds_mul_size(count, size, &total)) return NULL;
  if (should_fail()) return NULL;
  return calloc(total ? count : 1, total ? size : 1);
}

void *ds_realloc(void *ptr, size_t size)
{
  if (should_fail()) return NULL;
  return realloc(ptr, size ? size : 1);
}

void ds_free(void *ptr) { free(ptr); }

char *ds_strndup(const char *s, size_t n)
{
  size_t cap;
  if (ds_add_size(n, 1, &cap)) return NULL;
  char *r = ds_malloc(cap);
  if (!r) return NULL;
  if (n) memcpy(r, s, n);
  r[n] = '\0';
  return r;
}
