/* test_core.c — status strings, last error, logging, version, UTF-8, allocation. */
#include "core/ds.h"
#include "harness.h"

#include <stdint.h>

static void test_version(void)
{
  CHECK_STR(dseek_version(), DSEEK_VERSION_STRING);
  CHECK_EQ_INT(dseek_version_number(), DSEEK_VERSION_NUMBER);
}

static void test_status_strings(void)
{
  for (int s = DSEEK_OK; s <= DSEEK_ERR_BUFFER_TOO_SMALL; s++) {
    const char *name = dseek_status_string((dseek_status)s);
    CHECK(name && *name && strcmp(name, "unknown status") != 0);
  }
  CHECK_STR(dseek_status_string((dseek_status)12345), "unknown status");
}

static void test_last_error(void)
{
  dseek_clear_error();
  CHECK_STR(dseek_last_error(), "");
  CHECK_EQ_INT(ds_error(DSEEK_ERR_FORMAT, "file %s field %d", "x.gguf", 7), DSEEK_ERR_FORMAT);
  CHECK_STR(dseek_last_error(), "file x.gguf field 7");
  ds_error_prefix(DSEEK_ERR_FORMAT, "loading");
  CHECK_STR(dseek_last_error(), "loading: file x.gguf field 7");
  dseek_clear_error();
  CHECK_STR(dseek_last_error(), "");
}

static int log_calls;
static char log_last[256];
static void sink(dseek_log_level level, const char *msg, void *user)
{
  (void)level;
  log_calls++;
  *(int *)user = 1;
  snprintf(log_last, sizeof log_last, "%s", msg);
}

static void test_logging(void)
{
  int touched = 0;
  dseek_set_log_callback(sink, &touched);
  ds_log(DSEEK_LOG_ERROR, "silent by default");
  CHECK_EQ_INT(log_calls, 0);
  dseek_set_log_level(DSEEK_LOG_WARN);
  ds_log(DSEEK_LOG_INFO, "too verbose");
  CHECK_EQ_INT(log_calls, 0);
  ds_log(DSEEK_LOG_WARN, "warned %d", 3);
  CHECK_EQ_INT(log_calls, 1);
  CHECK_STR(log_last, "warned 3");
  CHECK_EQ_INT(touched, 1);
  dseek_set_log_level((dseek_log_level)99);   /* clamped to DEBUG */
  ds_log(DSEEK_LOG_DEBUG, "debug");
  CHECK_EQ_INT(log_calls, 2);
  dseek_set_log_level(DSEEK_LOG_NONE);
  dseek_set_log_callback(NULL, NULL);
}

static void test_utf8(void)
{
  CHECK(ds_utf8_valid("", 0));
  CHECK(ds_utf8_valid("abc", 3));
  CHECK(ds_utf8_valid("\xC3\xA9", 2));                  /* é */
  CHECK(ds_utf8_valid("\xEF\xBD\x9C", 3));              /* ｜ */
  CHECK(ds_utf8_valid("\xF0\x9F\x98\x80", 4));          /* emoji */
  CHECK(!ds_utf8_valid("\xC3", 1));                     /* truncated */
  CHECK(!ds_utf8_valid("\xC0\xAF", 2));                 /* overlong */
  CHECK(!ds_utf8_valid("\xE0\x80\xAF", 3));             /* overlong */
  CHECK(!ds_utf8_valid("\xED\xA0\x80", 3));             /* surrogate */
  CHECK(!ds_utf8_valid("\xF4\x90\x80\x80", 4));         /* > U+10FFFF */
  CHECK(!ds_utf8_valid("\x80", 1));                     /* lone continuation */
  CHECK(!ds_utf8_valid("a\xFF", 2));
}

/* Well-formedness from the definition (RFC 3629 §3-4): the lead byte's high
 * bits give the length, the rest are 10xxxxxx, and the code point is in its
 * length's shortest range, not a surrogate and at most U+10FFFF. */
static bool ref_utf8_valid(const uint8_t *s, size_t n)
{
  static const uint32_t min_cp[5] = {0, 0, 0x80, 0x800, 0x10000};
  for (size_t i = 0; i < n;) {
    uint8_t c = s[i];
    size_t len = c >> 7 == 0 ? 1 : c >> 5 == 6 ? 2 : c >> 4 == 14 ? 3 : c >> 3 == 30 ? 4 : 0;
    if (!len || n - i < len) return false;
    uint32_t cp = len == 1 ? c : c & (0xFFu >> (len + 1));
    for (size_t k = 1; k < len; k++) {
      if (s[i + k] >> 6 != 2) return false;
      cp = cp << 6 | (s[i + k] & 0x3Fu);
    }
    if (cp < min_cp[len] || (cp >= 0xD800 && cp <= 0xDFFF) || cp > 0x10FFFF) return false;
    i += len;
  }
  return true;
}

/* The lead-byte table against the definition: every string of 1-3 bytes, and
 * 4-byte strings with every first two bytes and edge values after them. */
static void test_utf8_table(void)
{
  int bad = 0;
  uint8_t s[4];
  for (size_t n = 1; n <= 3; n++)
    for (uint32_t v = 0; v < (1u << (8 * n)); v++) {
      for (size_t k = 0; k < n; k++) s[k] = (uint8_t)(v >> (8 * k));
      if (ds_utf8_valid((const char *)s, n) != ref_utf8_valid(s, n)) bad++;
    }
  static const uint8_t edge[] = {0x00, 0x7F, 0x80, 0x8F, 0x90, 0x9F, 0xA0, 0xBF, 0xC0, 0xFF};
  for (uint32_t v = 0; v < (1u << 16); v++)
    for (size_t a = 0; a < sizeof edge; a++)
      for (size_t b = 0; b < sizeof edge; b++) {
        s[0] = (uint8_t)(v >> 8); s[1] = (uint8_t)v; s[2] = edge[a]; s[3] = edge[b];
        if (ds_utf8_valid((const char *)s, 4) != ref_utf8_valid(s, 4)) bad++;
      }
  CHECK_EQ_INT(bad, 0);
  /* Unicode 15.0 §3.9 Table 3-8: 61 F1 80 80 E1 80 C2 62 80 63 80 BF 64 decodes
   * as a, FFFD, FFFD, FFFD, b, FFFD, c, FFFD, FFFD, d: the maximal subparts are
   * F1 80 80 (of 4), E1 80 (of 3), C2 (of 2), then lone 80, 80, BF. */
  const uint8_t t[] = {0x61, 0xF1, 0x80, 0x80, 0xE1, 0x80, 0xC2, 0x62, 0x80, 0x63, 0x80, 0xBF, 0x64};
  size_t len;
  CHECK_EQ_INT(ds_utf8_match(t + 1, sizeof t - 1, &len), 3);
  CHECK_EQ_INT(len, 4);
  CHECK_EQ_INT(ds_utf8_match(t + 4, sizeof t - 4, &len), 2);
  CHECK_EQ_INT(len, 3);
  CHECK_EQ_INT(ds_utf8_match(t + 6, sizeof t - 6, &len), 1);
  CHECK_EQ_INT(len, 2);
  CHECK_EQ_INT(ds_utf8_match(t + 8, sizeof t - 8, &len), 0);
  CHECK_EQ_INT(len, 0);
  CHECK_EQ_INT(ds_utf8_valid_len((const char *)t, sizeof t), 1);
  CHECK_EQ_INT(ds_utf8_match((const uint8_t *)"\xF0\x9F\x98", 3, &len), 3);   /* complete but for the end */
  CHECK_EQ_INT(len, 4);
}

static void test_checked_math(void)
{
  uint64_t r;
  CHECK(!ds_add_u64(1, 2, &r) && r == 3);
  CHECK(ds_add_u64(UINT64_MAX, 1, &r));
  CHECK(ds_mul_u64(UINT64_MAX / 2 + 1, 2, &r));
  CHECK(!ds_align_u64(33, 32, &r) && r == 64);
  CHECK(!ds_align_u64(64, 32, &r) && r == 64);
  CHECK(ds_align_u64(UINT64_MAX - 3, 32, &r));
  CHECK(ds_calloc(SIZE_MAX / 2, 4) == NULL);
  char *s = ds_strndup("hello", 3);
  CHECK_STR(s, "hel");
  ds_free(s);
}

int main(void)
{
  RUN(test_version);
  RUN(test_status_strings);
  RUN(test_last_error);
  RUN(test_logging);
  RUN(test_utf8);
  RUN(test_utf8_table);
  RUN(test_checked_math);
  return DS_TEST_RESULT();
}
