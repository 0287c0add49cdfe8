/* fuzz_util.c — temporary files, fixtures and the corpus-replay main() of the
 * fuzz targets (see fuzz.h). */
#define _XOPEN_SOURCE 700   /* nftw */
#include "fuzz.h"

#include <dirent.h>
#include <errno.h>
#include <ftw.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static char tmpdir[256];
static long n_accepted;

void fuzz_accepted(void) { n_accepted++; }

static int remove_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
  (void)st; (void)flag; (void)ftw;
  remove(path);
  return 0;
}

static void remove_tmpdir(void)
{
  if (tmpdir[0]) nftw(tmpdir, remove_entry, 8, FTW_DEPTH | FTW_PHYS);
}

const char *fuzz_tmpdir(void)
{
  if (!tmpdir[0]) {
    const char *base = getenv("TMPDIR");
    snprintf(tmpdir, sizeof tmpdir, "%s/dseek-fuzz-XXXXXX", base && base[0] ? base : "/tmp");
    if (!mkdtemp(tmpdir)) {
      fprintf(stderr, "fuzz: cannot create %s: %s\n", tmpdir, strerror(errno));
      exit(2);
    }
    atexit(remove_tmpdir);
  }
  return tmpdir;
}

const char *fuzz_path(const char *name)
{
  static char p[4][512];
  static int k;
  k = (k + 1) % 4;
  snprintf(p[k], sizeof p[k], "%s/%s", fuzz_tmpdir(), name);
  return p[k];
}

void fuzz_write(const char *path, const void *data, size_t n)
{
  FILE *f = fopen(path, "wb");
  if (!f || (n && fwrite(data, 1, n, f) != n) || fclose(f) != 0) {
    fprintf(stderr, "fuzz: cannot write %s: %s\n", path, strerror(errno));
    exit(2);
  }
}

void fuzz_skip(const char *why)
{
  fprintf(stderr, "fuzz: skipped: %s\n", why);
#ifdef DSEEK_LIBFUZZER
  exit(1);
#else
  exit(77);
#endif
}

const char *fuzz_fixture(const char *var, const char *sub)
{
  static char p[4][1024];
  static int k;
  const char *base = getenv(var);
  if (!base || !base[0]) {
    char why[128];
    snprintf(why, sizeof why, "%s is not set", var);
    fuzz_skip(why);
  }
  k = (k + 1) % 4;
  snprintf(p[k], sizeof p[k], "%s%s%s", base, sub ? "/" : "", sub ? sub : "");
  struct stat st;
  if (stat(p[k], &st) != 0) {
    char why[1100];
    snprintf(why, sizeof why, "fixture %s is missing", p[k]);
    fuzz_skip(why);
  }
  return p[k];
}

char *fuzz_cstr(const uint8_t *data, size_t size)
{
  char *s = malloc(size + 1);
  if (!s) exit(2);
  if (size) memcpy(s, data, size);
  s[size] = '\0';
  return s;
}

#ifndef DSEEK_LIBFUZZER
/* ---- the replay driver ----------------------------------------------------- */

static long n_inputs;

static uint64_t rng_state = 0x9E3779B97F4A7C15ull;
static uint64_t rng(void)
{
  /* xorshift64*: fixed seed, so every run replays the same mutations */
  rng_state ^= rng_state >> 12;
  rng_state ^= rng_state << 25;
  rng_state ^= rng_state >> 27;
  return rng_state * 2685821657736338717ull;
}

/* One mutation of data[0..n) into out (capacity n + 64); returns its length. */
static size_t mutate(const uint8_t *data, size_t n, uint8_t *out)
{
  memcpy(out, data, n);
  size_t m = n;
  int edits = 1 + (int)(rng() % 4);
  for (int e = 0; e < edits; e++) {
    switch (rng() % 5) {
    case 0: if (m) out[rng() % m] ^= (uint8_t)(1u << (rng() % 8)); break;            /* bit flip */
    case 1: if (m) out[rng() % m] = (uint8_t)rng(); break;                            /* byte */
    case 2: if (m) m = (size_t)(rng() % m); break;                                    /* truncate */
    case 3: {                                                                         /* interesting integer */
      static const uint8_t v[][8] = {{0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff},
                                     {0, 0, 0, 0, 0, 0, 0, 0x80}, {0xff, 0xff, 0xff, 0x7f, 0, 0, 0, 0},
                                     {0, 0, 0, 0, 0, 0, 0, 0}, {1, 0, 0, 0, 0, 0, 0, 0}};
      size_t w = 1u << (rng() % 4);
      if (m >= w) memcpy(out + rng() % (m - w + 1), v[rng() % 5], w);
      break;
    }
    default: {                                                                        /* duplicate a run */
      if (!m || m + 16 > n + 64) break;
      size_t at = (size_t)(rng() % m), len = 1 + (size_t)(rng() % 16);
      if (at + len > m) len = m - at;
      memmove(out + at + len, out + at, m - at);
      m += len;
      break;
    }
    }
  }
  return m;
}

static void replay_file(const char *path, long n_mutations)
{
  FILE *f = fopen(path, "rb");
  if (!f) { fprintf(stderr, "fuzz: cannot open %s\n", path); exit(2); }
  size_t n = 0, cap = 1, r;
  uint8_t *buf = malloc(cap);
  if (!buf) exit(2);
  uint8_t chunk[65536];
  while ((r = fread(chunk, 1, sizeof chunk, f)) > 0) {
    if (n + r > cap) {
      cap = (n + r) * 2;
      buf = realloc(buf, cap);
      if (!buf) exit(2);
    }
    memcpy(buf + n, chunk, r);
    n += r;
  }
  fclose(f);
  /* An exact-size heap copy, so ASan sees reads past the end. */
  uint8_t *exact = malloc(n ? n : 1);
  if (!exact) exit(2);
  if (n) memcpy(exact, buf, n);
  LLVMFuzzerTestOneInput(exact, n);
  n_inputs++;
  free(exact);
  uint8_t *mut = malloc(n + 64);
  if (!mut) exit(2);
  for (long i = 0; i < n_mutations; i++) {
    size_t m = mutate(buf, n, mut);
    uint8_t *copy = malloc(m ? m : 1);
    if (!copy) exit(2);
    if (m) memcpy(copy, mut, m);
    LLVMFuzzerTestOneInput(copy, m);
    n_inputs++;
    free(copy);
  }
  free(mut);
  free(buf);
}

static int cmp_names(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

static void replay(const char *path, long n_mutations)
{
  struct stat st;
  if (stat(path, &st) != 0) { fprintf(stderr, "fuzz: no such corpus: %s\n", path); exit(2); }
  if (!S_ISDIR(st.st_mode)) { replay_file(path, n_mutations); return; }
  DIR *d = opendir(path);
  if (!d) { fprintf(stderr, "fuzz: cannot list %s\n", path); exit(2); }
  char **names = NULL;
  size_t count = 0;
  struct dirent *e;
  while ((e = readdir(d))) {
    if (e->d_name[0] == '.') continue;
    names = realloc(names, (count + 1) * sizeof *names);
    if (!names) exit(2);
    names[count++] = strdup(e->d_name);
  }
  closedir(d);
  qsort(names, count, sizeof *names, cmp_names);   /* same order on every machine */
  for (size_t i = 0; i < count; i++) {
    char p[4096];
    snprintf(p, sizeof p, "%s/%s", path, names[i]);
    replay(p, n_mutations);
    free(names[i]);
  }
  free(names);
}

int main(int argc, char **argv)
{
  long n_mutations = 0;
  int first = 1;
  if (argc > 2 && !strcmp(argv[1], "--mutate")) {
    n_mutations = strtol(argv[2], NULL, 10);
    first = 3;
  }
  if (first >= argc) {
    fprintf(stderr, "usage: %s [--mutate N] CORPUS_DIR_OR_FILE...\n", argv[0]);
    return 2;
  }
  for (int i = first; i < argc; i++) replay(argv[i], n_mutations);
  fprintf(stderr, "%s: %ld inputs replayed without a finding (%ld accepted)\n", argv[0], n_inputs, n_accepted);
  return n_inputs > 0 ? 0 : 1;
}
#endif
