/*
 * test_platform.c — the platform layer (lib/core/platform.h) on the OS it was
 * built for: UTF-8 paths through the file functions (the file is made with
 * the OS's own call: _wfopen with a wide literal on Windows), file views
 * mapped and read, directory listing, what is at a path, the clock, cores,
 * memory, threads with the monitor, and ds_fmaf_soft against the CPU's FMA
 * instruction (or the C library's fmaf where there is no such instruction).
 */
#include "core/platform.h"
#include "harness.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#if !defined(_WIN32)
#include <unistd.h>
#endif

/* "tëst-é.bin": a name outside ASCII */
#define NAME_UTF8 "t\xc3\xabst-\xc3\xa9.bin"
static const char payload[] = "platform layer bytes";

static char dir[256];
#if defined(_WIN32)
static wchar_t wpath[300];
#endif

/* Make dir/NAME_UTF8 holding payload, with the OS's own calls. */
static int make_fixture(void)
{
  snprintf(dir, sizeof dir, "dseek-platform-XXXXXX");
  if (!mkdtemp(dir)) return 0;
  FILE *f;
#if defined(_WIN32)
  swprintf(wpath, 300, L"%hs\\t\u00ebst-\u00e9.bin", dir);
  f = _wfopen(wpath, L"wb");
#else
  char path[300];
  snprintf(path, sizeof path, "%s/%s", dir, NAME_UTF8);
  f = fopen(path, "wb");
#endif
  if (!f) return 0;
  int ok = fwrite(payload, 1, sizeof payload, f) == sizeof payload;
  return fclose(f) == 0 && ok;
}

static void seen(const char *name, void *user)
{
  if (!strcmp(name, NAME_UTF8)) ++*(int *)user;
}

static void test_files(void)
{
  if (!make_fixture()) { CHECK_MSG(0, "cannot make the fixture in %s", dir); return; }
  char path[300];
  snprintf(path, sizeof path, "%s/%s", dir, NAME_UTF8);
  CHECK_EQ_INT(ds_path_kind_of(path), DS_PATH_FILE);
  CHECK_EQ_INT(ds_path_kind_of(dir), DS_PATH_DIR);
  char missing[300];
  snprintf(missing, sizeof missing, "%s/none", dir);
  CHECK_EQ_INT(ds_path_kind_of(missing), DS_PATH_NONE);
  for (int mapped = 0; mapped < 2; mapped++) {
    ds_file file;
    CHECK_EQ_INT(ds_file_open(path, mapped != 0, &file), DSEEK_OK);
    CHECK(file.size == sizeof payload && file.data && !memcmp(file.data, payload, sizeof payload));
    if (mapped) CHECK(file.mapped);
    CHECK(file.resident);   /* a few bytes fit in any machine's memory */
    /* a range made writable takes our bytes and leaves the file as it was
     * (the load's R8 repack relies on it: copy-on-write views everywhere) */
    CHECK_EQ_INT(ds_file_make_writable(&file, file.data + 2, 3), DSEEK_OK);
    memcpy((uint8_t *)file.data + 2, "xyz", 3);
    CHECK(!memcmp(file.data + 2, "xyz", 3) && !memcmp(file.data, payload, 2));
    ds_file_close(&file);
    CHECK_EQ_INT(ds_file_open(path, false, &file), DSEEK_OK);
    CHECK(file.size == sizeof payload && !memcmp(file.data, payload, sizeof payload));
    ds_file_close(&file);
  }
  ds_file file;
  CHECK_EQ_INT(ds_file_open(missing, true, &file), DSEEK_ERR_IO);
  CHECK(strstr(dseek_last_error(), "cannot open") != NULL);
  CHECK_EQ_INT(ds_file_open(dir, true, &file), DSEEK_ERR_IO);   /* a directory is not a file */
  FILE *f = ds_fopen(path, "rb");
  char buf[64] = "";
  CHECK(f && fread(buf, 1, sizeof buf, f) == sizeof payload && !strcmp(buf, payload));
  if (f) fclose(f);
  int n = 0;
  CHECK(ds_dir_each(dir, seen, &n));
  CHECK_EQ_INT(n, 1);
  CHECK(!ds_dir_each(missing, seen, &n));
#if defined(_WIN32)
  CHECK(_wremove(wpath) == 0);
#else
  CHECK(remove(path) == 0);
#endif
  CHECK(rmdir(dir) == 0);
}

static void test_machine(void)
{
  CHECK(ds_physical_cores() >= 1);
  CHECK(ds_available_memory() > (uint64_t)1 << 20);   /* every test machine has a MiB free */
  double t0 = ds_seconds(), t1 = t0;
  for (int i = 0; i < 1000000 && t1 == t0; i++) t1 = ds_seconds();
  CHECK(t1 > t0 && t1 - t0 < 1.0);
}

typedef struct counter {
  ds_monitor *mon;
  int value, started;
} counter;

/* Each thread adds 1000 under the lock, then waits until all four started. */
static void count_up(void *p)
{
  counter *c = p;
  for (int i = 0; i < 1000; i++) {
    ds_monitor_lock(c->mon);
    c->value++;
    ds_monitor_unlock(c->mon);
  }
  ds_monitor_lock(c->mon);
  c->started++;
  ds_monitor_wake_all(c->mon);
  while (c->started < 4) ds_monitor_wait(c->mon);
  ds_monitor_unlock(c->mon);
}

static void test_threads(void)
{
  counter c = {ds_monitor_create(), 0, 0};
  CHECK(c.mon != NULL);
  if (!c.mon) return;
  ds_thread *t[4];
  for (int i = 0; i < 4; i++) {
    int err = 0;
    t[i] = ds_thread_start(count_up, &c, &err);
    CHECK_MSG(t[i] != NULL, "thread %d: error %d", i, err);
  }
  for (int i = 0; i < 4; i++) ds_thread_join(t[i]);
  CHECK_EQ_INT(c.value, 4000);
  ds_monitor_free(c.mon);
  ds_thread_yield();
}

#if defined(__x86_64__) && defined(__GNUC__)
__attribute__((target("fma"))) static float fma_insn(float a, float b, float c) { return __builtin_fmaf(a, b, c); }
#endif
/* The CPU's FMA instruction where cpuid reports it (leaf 1 ecx bit 12),
 * else the C library's fmaf. */
static float fma_oracle(float a, float b, float c)
{
#if defined(__x86_64__) && defined(__GNUC__)
  __builtin_cpu_init();
  if (__builtin_cpu_supports("fma")) return fma_insn(a, b, c);
#endif
  return fmaf(a, b, c);
}

static uint32_t rng = 12345;
static float rand_float(int spread)
{
  rng = rng * 1664525u + 1013904223u;
  uint32_t bits = rng;
  rng = rng * 1664525u + 1013904223u;
  /* sign, an exponent within +-spread of 1, a random mantissa */
  uint32_t e = (uint32_t)(127 - spread + (int)(rng % (uint32_t)(2 * spread + 1)));
  uint32_t u = (bits & 0x80000000u) | e << 23 | (bits & 0x7FFFFFu);
  float f;
  memcpy(&f, &u, sizeof f);
  return f;
}

static int same_bits(float a, float b) { return !memcmp(&a, &b, sizeof a) || (isnan(a) && isnan(b)); }

static void test_fmaf(void)
{
  int bad = 0;
  for (int i = 0; i < 200000; i++) {
    float a = rand_float(i % 2 ? 4 : 60), b = rand_float(i % 2 ? 4 : 60), c = rand_float(i % 3 ? 8 : 120);
    if (i % 5 == 0) c = -a * b;   /* cancellation: the product's low half decides */
    if (!same_bits(ds_fmaf_soft(a, b, c), fma_oracle(a, b, c))) bad++;
  }
  CHECK_MSG(bad == 0, "%d of 200000 differ from the oracle", bad);
  /* (1 + 2^-23)(1 - 2^-23) - 1 = -2^-46: only a fused operation keeps it */
  CHECK(ds_fmaf_soft(1.0f + 0x1p-23f, 1.0f - 0x1p-23f, -1.0f) == -0x1p-46f);
  /* a tie after rounding to double: 1 + 2^-24 + 2^-80 rounds up to 1 + 2^-23 */
  CHECK(ds_fmaf_soft(0x1p-40f, 0x1p-40f, 1.0f + 0x1p-24f) == fma_oracle(0x1p-40f, 0x1p-40f, 1.0f + 0x1p-24f));
  CHECK(ds_fmaf_soft(0x1p-40f, 0x1p-40f, 1.0f) == 1.0f);
  CHECK(isinf(ds_fmaf_soft(0x1p127f, 4.0f, 0.0f)));
  CHECK(isnan(ds_fmaf_soft(INFINITY, 0.0f, 1.0f)));
  CHECK(ds_fmaf_soft(0x1p-149f, 0.5f, 0x1p-149f) == fma_oracle(0x1p-149f, 0.5f, 0x1p-149f));   /* subnormal tie */
}

int main(void)
{
  RUN(test_files);
  RUN(test_machine);
  RUN(test_threads);
  RUN(test_fmaf);
  return DS_TEST_RESULT();
}
