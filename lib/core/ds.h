/*
 * ds.h — what every part of the library shares: error reporting, logging,
 * allocation (with failure injection for tests) and overflow-checked arithmetic.
 * Internal names start with ds_; only include/dseek.h is public.
 */
#ifndef DS_CORE_H
#define DS_CORE_H

#include "dseek.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#if defined(__MINGW32__)   /* C99 formats (%zu, %lld): __USE_MINGW_ANSI_STDIO, meson.build */
#  define DS_PRINTF(fmt_idx, arg_idx) __attribute__((format(gnu_printf, fmt_idx, arg_idx)))
#elif defined(__GNUC__)
#  define DS_PRINTF(fmt_idx, arg_idx) __attribute__((format(printf, fmt_idx, arg_idx)))
#else
#  define DS_PRINTF(fmt_idx, arg_idx)
#endif

#define DS_MIN(a, b) ((a) < (b) ? (a) : (b))
#define DS_MAX(a, b) ((a) > (b) ? (a) : (b))
#define DS_ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))

/* ---- errors (error.c) ---------------------------------------------------- */

/* Record `fmt` as the calling thread's last error and return `status`, so that
 * a failing path reads `return ds_error(DSEEK_ERR_FORMAT, "%s: ...", path);`. */
dseek_status ds_error(dseek_status status, const char *fmt, ...) DS_PRINTF(2, 3);

/* Prepend "prefix: " to the current last-error message (adds context while an
 * error travels up) and return `status`. */
dseek_status ds_error_prefix(dseek_status status, const char *fmt, ...) DS_PRINTF(2, 3);

/* ---- logging (log.c) ----------------------------------------------------- */

void ds_log(dseek_log_level level, const char *fmt, ...) DS_PRINTF(2, 3);

/* ---- allocation (alloc.c) ------------------------------------------------ */
/* All library allocations go through these so that tests can make the Nth one
 * fail (meson -Dfailpoints=true). They never set an error themselves. */

void *ds_malloc(size_t size);
void *ds_calloc(size_t count, size_t size);   /* fails cleanly on count*size overflow */
void *ds_realloc(void *ptr, size_t size);
void ds_free(void *ptr);
char *ds_strndup(const char *s, size_t n);    /* always NUL-terminates */

#ifdef DSEEK_FAILPOINTS
/* Make the allocation numbered `n` (1-based, counted from this call) and every
 * one after it fail; n <= 0 disables injection. Returns allocations so far. */
int64_t ds_failpoint_alloc(int64_t n);
#endif

/* ---- checked arithmetic -------------------------------------------------- */
/* Each returns true on overflow; *r is then unspecified. */

static inline bool ds_add_u64(uint64_t a, uint64_t b, uint64_t *r) { return __builtin_add_overflow(a, b, r); }
static inline bool ds_mul_u64(uint64_t a, uint64_t b, uint64_t *r) { return __builtin_mul_overflow(a, b, r); }
static inline bool ds_add_size(size_t a, size_t b, size_t *r) { return __builtin_add_overflow(a, b, r); }
static inline bool ds_mul_size(size_t a, size_t b, size_t *r) { return __builtin_mul_overflow(a, b, r); }
static inline bool ds_mul_i64(int64_t a, int64_t b, int64_t *r) { return __builtin_mul_overflow(a, b, r); }

/* Round x up to a multiple of align (a power of two or any positive value). */
static inline bool ds_align_u64(uint64_t x, uint64_t align, uint64_t *r)
{
  uint64_t rem = x % align;
  if (rem == 0) { *r = x; return false; }
  return ds_add_u64(x, align - rem, r);
}

/* ---- UTF-8 ---------------------------------------------------------------- */

#include "core/utf8.h"   /* the lead-byte table, validation, decoding, encoding */

#endif /* DS_CORE_H */
