/*
 * fuzz.h — what the fuzz targets share. Each target (fuzz_<name>.c) defines
 *
 *   int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
 *
 * and links fuzz_util.c, which supplies temporary files, the fixtures and —
 * unless built for libFuzzer (-DDSEEK_LIBFUZZER) — a plain main() that replays
 * corpus files and directories given on the command line:
 *
 *   fuzz_<name> [--mutate N] CORPUS_DIR_OR_FILE...
 *
 * --mutate N also runs N deterministic mutations of every input (byte flips,
 * truncations, insertions, splices), so a gcc build explores a little too.
 *
 * Fixtures come from the environment:
 *   DSEEK_FUZZ_TINY        the tiny models (tests/reference: tiny_models_dir)
 *   DSEEK_FUZZ_TOKENIZERS  tests/data/tokenizers
 *   DSEEK_FUZZ_QUANTS      tests/data/quants (llama.cpp-made split files)
 *   DSEEK_FUZZ_CHAT_TEMPLATES  tests/data/chat_templates (published Jinja templates)
 * A target whose fixture is missing calls fuzz_skip(): the replay driver then
 * exits 77 (meson's "skipped").
 *
 * Targets check invariants with FUZZ_ASSERT, which prints the input's
 * violation and aborts (the libFuzzer way of reporting a finding).
 */
#ifndef DS_FUZZ_H
#define DS_FUZZ_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FUZZ_ASSERT(cond, ...)                                                    \
  do {                                                                            \
    if (!(cond)) {                                                                \
      fprintf(stderr, "%s:%d: fuzz invariant failed: %s: ", __FILE__, __LINE__,   \
              #cond);                                                             \
      fprintf(stderr, __VA_ARGS__);                                               \
      fputc('\n', stderr);                                                        \
      abort();                                                                    \
    }                                                                             \
  } while (0)

/* A private directory for this process (created on first use, removed at exit). */
const char *fuzz_tmpdir(void);

/* fuzz_tmpdir()/name, in a static buffer per call slot (4 rotating). */
const char *fuzz_path(const char *name);

/* Write n bytes to path (replacing it); exits on I/O failure (not a finding). */
void fuzz_write(const char *path, const void *data, size_t n);

/* A fixture directory from the environment variable `var`, joined with `sub`
 * (may be NULL); calls fuzz_skip() when unset or missing. */
const char *fuzz_fixture(const char *var, const char *sub);

/* No fixture: the replay driver exits 77, libFuzzer exits 1. */
void fuzz_skip(const char *why);

/* Count an input the code under test accepted (the replay driver reports how
 * many did, so a corpus that only exercises error paths shows). */
void fuzz_accepted(void);

/* A NUL-terminated copy of the input (free with free()). */
char *fuzz_cstr(const uint8_t *data, size_t size);

#endif
