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
  RUN(test_checked_math);
  return DS_TEST_RESULT();
}
