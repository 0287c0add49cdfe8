/* test_answer.c — the default answer extractor used by self-consistency voting. */
#include "text/answer.h"
#include "harness.h"

static void expect(const char *content, const char *want)
{
  char buf[64];
  int64_t n = ds_extract_answer(content, "", buf, sizeof buf, NULL);
  if (!want) { CHECK_MSG(n == -1, "'%s' gave '%s'", content, n >= 0 ? buf : ""); return; }
  CHECK_MSG(n == (int64_t)strlen(want) && strcmp(buf, want) == 0, "'%s': got '%s' want '%s'", content,
            n >= 0 ? buf : "(none)", want);
}

static void test_boxed(void)
{
  expect("The answer is \\boxed{391}.", "391");
  expect("\\boxed{1} then \\boxed{2}", "2");                        /* the last one */
  expect("\\boxed{\\frac{1}{2}}", "\\frac{1}{2}");                  /* nested braces */
  expect("first \\boxed{7} then \\boxed{unclosed", "7");            /* an unclosed box is ignored */
  expect("\\boxed{}", NULL);                                         /* empty box: no answer... */
}

static void test_last_line(void)
{
  expect("Some work.\nFinal: 42\n\n  ", "Final: 42");
  expect("  single line  ", "single line");
  expect("", NULL);
  expect("\n\n \n", NULL);
}

static void test_truncation(void)
{
  char buf[4];
  CHECK_EQ_INT(ds_extract_answer("\\boxed{123456}", "", buf, sizeof buf, NULL), 3);
  CHECK_STR(buf, "123");
}

int main(void)
{
  RUN(test_boxed);
  RUN(test_last_line);
  RUN(test_truncation);
  return DS_TEST_RESULT();
}
