/* fuzz_chat.c — chat rendering of arbitrary messages with the real R1 and V3
 * templates (vocab-only models of tests/data/tokenizers). Input:
 *
 *   flags byte (bit 0: V3 instead of R1, bit 1: add_generation_prompt)
 *   then messages separated by 0x1E, each: role byte (value % 6 picks system,
 *   user, assistant, tool, or one of two unknown roles) + content
 *
 * Unknown roles must be refused with DSEEK_ERR_INVALID_ARG, everything else
 * rendered; the size query, the exact-size render, the NUL terminator and
 * the user contents (kept verbatim by both templates) are checked, and
 * rendered valid UTF-8 must tokenize. */
#include "fuzz.h"
#include "dseek.h"
#include "core/ds.h"

#include <string.h>

#define MAX_MESSAGES 64

static dseek_model *models[2];

static void init(void)
{
  static const char *const dirs[2] = {"deepseek_r1", "deepseek_v3"};
  dseek_model_options mo;
  dseek_model_options_init(&mo, sizeof mo);
  mo.vocab_only = 1;
  for (int i = 0; i < 2; i++)
    if (dseek_model_load(fuzz_fixture("DSEEK_FUZZ_TOKENIZERS", dirs[i]), &mo, &models[i]) != DSEEK_OK) {
      fprintf(stderr, "fuzz_chat: %s\n", dseek_last_error());
      fuzz_skip("a tokenizer does not load");
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
  static const char *const role_names[6] = {"system", "user", "assistant", "tool", "User", ""};
  if (!models[0]) init();
  if (size < 1) return 0;
  dseek_model *m = models[data[0] & 1];
  int add_gen = (data[0] >> 1) & 1;
  char *copy = fuzz_cstr(data + 1, size - 1);   /* contents end at a NUL or 0x1E */
  const char *roles[MAX_MESSAGES], *contents[MAX_MESSAGES];
  int64_t n = 0;
  int bad_role = 0, valid_utf8 = 1;
  char *p = copy, *end = copy + (size - 1);
  while (p < end && n < MAX_MESSAGES) {
    char *sep = memchr(p, 0x1E, (size_t)(end - p));
    if (sep) *sep = '\0';
    int r = (unsigned char)p[0] % 6;
    roles[n] = role_names[r];
    contents[n] = p + 1;
    if (r >= 4) bad_role = 1;
    if (!ds_utf8_valid(contents[n], strlen(contents[n]))) valid_utf8 = 0;
    n++;
    if (!sep) break;
    p = sep + 1;
  }

  size_t need = 0;
  dseek_status st = dseek_chat_render(m, roles, contents, n, add_gen, NULL, 0, &need);
  if (bad_role) {
    FUZZ_ASSERT(st == DSEEK_ERR_INVALID_ARG, "unknown role gave status %d", (int)st);
    free(copy);
    return 0;
  }
  FUZZ_ASSERT(st == DSEEK_ERR_BUFFER_TOO_SMALL, "size query: %d %s", (int)st, dseek_last_error());
  fuzz_accepted();
  char *text = malloc(need + 1);
  size_t len = 0;
  st = dseek_chat_render(m, roles, contents, n, add_gen, text, need + 1, &len);
  FUZZ_ASSERT(st == DSEEK_OK && len == need, "render: %s (%zu vs %zu)", dseek_last_error(), len, need);
  FUZZ_ASSERT(text[len] == '\0', "not terminated");
  st = dseek_chat_render(m, roles, contents, n, add_gen, text, need, &len);
  FUZZ_ASSERT(st == DSEEK_ERR_BUFFER_TOO_SMALL, "one byte short gave %d", (int)st);
  for (int64_t i = 0; i < n; i++)
    if (!strcmp(roles[i], "user")) FUZZ_ASSERT(strstr(text, contents[i]) != NULL, "user message %lld lost", (long long)i);
  if (valid_utf8) {
    FUZZ_ASSERT(ds_utf8_valid(text, len), "valid messages rendered as invalid UTF-8");
    int64_t k = 0;
    st = dseek_tokenize(m, text, len, 1, 1, NULL, 0, &k);
    FUZZ_ASSERT(st == DSEEK_OK || st == DSEEK_ERR_BUFFER_TOO_SMALL, "tokenize: %s", dseek_last_error());
  }
  free(text);
  free(copy);
  return 0;
}
