/*
 * platform.h — everything the library asks of the operating system, in one
 * place. The rest of lib/ calls only these functions and includes no OS
 * header (tests/core/platform_headers.sh checks that); each concern lives in
 * one file with a branch per OS:
 *
 *   platform_file.c    file views (mapped, or read as a fallback), paths, directories
 *   platform_memory.c  available memory
 *   platform_cores.c   physical cores
 *   platform_thread.c  threads, a lock with a condition, yielding
 *   platform_clock.c   a monotonic clock
 *   platform_cpu.c     CPU features (cpuid on x86; hwcaps / sysctl / the
 *                      processor-feature query on ARM)
 *   platform_math.c    a fused multiply-add where the C runtime has none
 *   platform_locale.c  number parsing in the "C" locale
 *
 * The OS branches: Windows (_WIN32: Win32 API, UTF-8 paths converted to UTF-16
 * for the wide-character file functions), macOS (__APPLE__: POSIX plus sysctl),
 * and the POSIX path (Linux and other Unix: /proc and sysfs where they exist).
 * Paths are UTF-8 on every OS.
 */
#ifndef DS_CORE_PLATFORM_H
#define DS_CORE_PLATFORM_H

#include "core/ds.h"

#include <math.h>
#include <stdio.h>
#if defined(_MSC_VER) && (defined(_M_X64) || defined(_M_IX86))
#include <immintrin.h>   /* _mm_pause */
#endif

/* ---- file views (platform_file.c) ----------------------------------------- */

typedef struct ds_file {
  const uint8_t *data;   /* size bytes (NULL when size == 0) */
  uint64_t size;
  bool mapped;           /* true: unmapped on close; false: ds_free */
  bool resident;         /* every byte in memory now: read whole, or mapped with every page brought in */
} ds_file;

/* Map (or, when allow_mmap is false or mapping fails, read) the file at path.
 * A file that fits in the memory available is mapped with every page brought
 * in at once where the OS offers it (Linux MAP_POPULATE; madvise WILLNEED on
 * macOS; PrefetchVirtualMemory on Windows).
 * Errors: DSEEK_ERR_IO with the path and the system's reason, DSEEK_ERR_NO_MEMORY. */
dseek_status ds_file_open(const char *path, bool allow_mmap, ds_file *out);

/* The same for one file of a set mapped together (the shards of a split
 * model): `together` bytes in all, which decides whether the pages are
 * brought in at once; 0 means this file alone. */
dseek_status ds_file_open_in_set(const char *path, bool allow_mmap, uint64_t together, ds_file *out);

/* Let the caller rewrite bytes [p, p + n) of a resident file's memory in
 * place: a private (copy-on-write) mapping's pages become the process's own
 * copies, so the file is never written. Errors: DSEEK_ERR_IO with the
 * system's reason. */
dseek_status ds_file_make_writable(ds_file *f, const void *p, size_t n);

/* Release the bytes; safe on a zeroed ds_file. */
void ds_file_close(ds_file *f);

/* fopen with a UTF-8 path (mode as for fopen). */
FILE *ds_fopen(const char *path, const char *mode);

typedef enum ds_path_kind { DS_PATH_NONE = 0, DS_PATH_FILE, DS_PATH_DIR, DS_PATH_OTHER } ds_path_kind;

/* What is at path (following links): nothing, a regular file, a directory, or
 * something else (a device, a pipe). */
ds_path_kind ds_path_kind_of(const char *path);

/* The size in bytes of what is at path (following links): false, with *why
 * the system's reason (valid until the next call on this thread), when
 * nothing is there or it cannot be queried. */
bool ds_path_size(const char *path, uint64_t *size, const char **why);

/* Call fn(name, user) for every entry of directory dir ("." and ".." left
 * out; names are UTF-8). Returns false when dir cannot be opened. */
bool ds_dir_each(const char *dir, void (*fn)(const char *name, void *user), void *user);

/* ---- memory and cores (platform_memory.c, platform_cores.c) --------------- */

/* Bytes of memory the system reports as available (Linux MemAvailable,
 * macOS free + inactive + purgeable pages, Windows ullAvailPhys), or 0 when
 * unknown. */
uint64_t ds_available_memory(void);

/* Physical cores (hyper-threads counted once); at least 1. */
int ds_physical_cores(void);

/* ---- threads (platform_thread.c) ------------------------------------------ */

typedef struct ds_thread ds_thread;

/* Start fn(arg) on a new thread. NULL on failure, with *err set to the
 * system's error number (no ds_error: the caller says what failed). */
ds_thread *ds_thread_start(void (*fn)(void *arg), void *arg, int *err);
/* Wait for the thread to return and release it; NULL allowed. */
void ds_thread_join(ds_thread *t);

/* Give the rest of this time slice to another runnable thread. */
void ds_thread_yield(void);

/* A pause hint for spin-wait loops (x86 pause, AArch64 yield). */
static inline void ds_cpu_relax(void)
{
#if defined(_MSC_VER) && (defined(_M_X64) || defined(_M_IX86))
  _mm_pause();
#elif defined(__x86_64__) || defined(__i386__)
  __builtin_ia32_pause();
#elif defined(__aarch64__) && defined(__GNUC__)
  __asm__ __volatile__("yield");
#endif
}

/* A mutex with one condition variable: what a spin-then-sleep wait needs
 * (the thread pool's job hand-off and barrier). Heap-allocated so that no OS
 * type leaks into this header. */
typedef struct ds_monitor ds_monitor;

ds_monitor *ds_monitor_create(void);         /* NULL when out of memory */
void ds_monitor_free(ds_monitor *m);         /* NULL allowed; nobody may be waiting */
void ds_monitor_lock(ds_monitor *m);
void ds_monitor_unlock(ds_monitor *m);
/* Called with the lock held: release it, sleep until woken (or spuriously),
 * hold it again. Callers re-check their condition in a loop. */
void ds_monitor_wait(ds_monitor *m);
void ds_monitor_wake_all(ds_monitor *m);

/* ---- clock (platform_clock.c) --------------------------------------------- */

/* Seconds on a monotonic clock (an arbitrary origin; differences only). */
double ds_seconds(void);

/* ---- CPU features (platform_cpu.c) ---------------------------------------- */

enum {
  DS_CPUF_AVX2 = 1u << 0,          /* AVX2 + FMA + F16C, the OS saving YMM state */
  DS_CPUF_AVX512 = 1u << 1,        /* AVX-512 F/BW/VL + VNNI, the OS saving ZMM/opmask state */
  DS_CPUF_AMX = 1u << 2,           /* AMX tiles + int8, the OS saving and granting tile state */
  DS_CPUF_NEON = 1u << 3,          /* AArch64 Advanced SIMD */
  DS_CPUF_NEON_DOTPROD = 1u << 4,  /* ARMv8.2 sdot/udot */
};

/* The DS_CPUF_* bits this CPU and OS support; queried on each call (callers cache).
 * DS_CPUF_AMX is only reported together with DS_CPUF_AVX512. */
unsigned ds_cpu_features(void);

/* Ask the OS to let this process use the AMX tile registers (Linux:
 * arch_prctl ARCH_REQ_XCOMP_PERM); true when granted. Elsewhere false. */
bool ds_cpu_request_amx(void);

/* ---- numbers (platform_math.c, platform_locale.c) ------------------------- */

/* fma(x, y, z) for floats with one rounding on every platform: the C
 * library's fmaf, except on MinGW-w64, whose fmaf is not fused. */
float ds_fmaf_soft(float x, float y, float z);
#if defined(__MINGW32__)
#define ds_fmaf ds_fmaf_soft
#else
#define ds_fmaf fmaf
#endif

/* ---- numbers (platform_locale.c) ------------------------------------------ */

/* strtod of the NUL-terminated s in the "C" locale, whatever locale the host
 * set; *range_error is true when the value overflowed to infinity. */
double ds_strtod_c(const char *s, bool *range_error);

#endif /* DS_CORE_PLATFORM_H */
