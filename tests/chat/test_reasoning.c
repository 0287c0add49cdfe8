/* test_reasoning.c — the streaming reasoning/answer splitter on scripted outputs,
 * cut into pieces at every possible place. */
#include "text/reasoning.h"
#include "harness.h"

typedef struct collected {
  char reasoning[512], content[512];
  int calls, stop_after;
} collected;

static int collect(ds_part part, const char *text, size_t len, void *user)
{
  collected *c = user;
  char *dst = part == DS_PART_REASONING ? c->reasoning : c->content;
  strncat(dst, text, len);
  c->calls++;
  return c->stop_after && c->calls >= c->stop_after;
}

/* Run `out` through the splitter cut at positions cut1 <= cut2 (3 pieces). */
static void split3(const char *out, bool in_reasoning, size_t cut1, size_t cut2, collected *c)
{
  ds_reasoning r;
  ds_reasoning_init(&r, in_reasoning);
  memset(c, 0, sizeof *c);
  size_t n = strlen(out);
  CHECK_EQ_INT(ds_reasoning_push(&r, out, cut1, collect, c), DSEEK_OK);
  CHECK_EQ_INT(ds_reasoning_push(&r, out + cut1, cut2 - cut1, collect, c), DSEEK_OK);
  CHECK_EQ_INT(ds_reasoning_push(&r, out + cut2, n - cut2, collect, c), DSEEK_OK);
  CHECK_EQ_INT(ds_reasoning_finish(&r, collect, c), DSEEK_OK);
  ds_reasoning_free(&r);
}

static void expect_all_cuts(const char *out, bool in_reasoning, const char *want_r, const char *want_c)
{
  size_t n = strlen(out);
  int bad = 0;
  for (size_t a = 0; a <= n; a++)
    for (size_t b = a; b <= n; b++) {
      collected c;
      split3(out, in_reasoning, a, b, &c);
      if (strcmp(c.reasoning, want_r) || strcmp(c.content, want_c)) {
        if (!bad++) fprintf(stderr, "cuts %zu,%zu of '%s': reasoning '%s' content '%s'\n", a, b, out, c.reasoning, c.content);
      }
    }
  CHECK_EQ_INT(bad, 0);
}

static void test_prompt_opened_think(void)
{
  expect_all_cuts("Let me think.\n</think>\n\nThe answer is 4.", true, "Let me think.\n", "The answer is 4.");
  /* a false start of the closing tag stays in the reasoning */
  expect_all_cuts("a </th b</think>c", true, "a </th b", "c");
  expect_all_cuts("<</think>x", true, "<", "x");
  /* never closed: all reasoning, a dangling partial tag included */
  expect_all_cuts("still thinking </thi", true, "still thinking </thi", "");
  /* immediately closed */
  expect_all_cuts("</think>\n\nNo thoughts.", true, "", "No thoughts.");
}

static void test_model_writes_think(void)
{
  expect_all_cuts("<think>\nhmm</think>\n\nyes", false, "hmm", "yes");
  expect_all_cuts("\n  <think>x</think>y", false, "x", "y");
  /* no tag at all: everything is answer, including look-alikes */
  expect_all_cuts("Hello <think> world", false, "", "Hello <think> world");
  expect_all_cuts("<thing>", false, "", "<thing>");
  expect_all_cuts("<thin", false, "", "<thin");
  /* a closing tag in the answer is text */
  expect_all_cuts("answer </think> more", false, "", "answer </think> more");
}

static void test_close_from_outside(void)
{
  ds_reasoning r;
  collected c;
  memset(&c, 0, sizeof c);
  ds_reasoning_init(&r, true);
  CHECK_EQ_INT(ds_reasoning_push(&r, "long thought </th", 17, collect, &c), DSEEK_OK);
  CHECK_EQ_INT(ds_reasoning_part(&r), DS_PART_REASONING);
  CHECK_EQ_INT(ds_reasoning_close(&r, collect, &c), DSEEK_OK);
  CHECK_EQ_INT(ds_reasoning_part(&r), DS_PART_CONTENT);
  CHECK_EQ_INT(ds_reasoning_push(&r, "\n\nFinal: 7", 10, collect, &c), DSEEK_OK);
  CHECK_EQ_INT(ds_reasoning_finish(&r, collect, &c), DSEEK_OK);
  CHECK_STR(c.reasoning, "long thought </th");
  CHECK_STR(c.content, "Final: 7");
  CHECK_EQ_INT(r.reasoning_bytes, 17);
  CHECK_EQ_INT(r.content_bytes, 8);
  ds_reasoning_free(&r);
}

static void test_stop(void)
{
  ds_reasoning r;
  collected c;
  memset(&c, 0, sizeof c);
  c.stop_after = 1;
  ds_reasoning_init(&r, true);
  CHECK_EQ_INT(ds_reasoning_push(&r, "a</think>b", 10, collect, &c), DSEEK_ERR_CANCELLED);
  CHECK_STR(c.reasoning, "a");
  ds_reasoning_free(&r);
}

int main(void)
{
  RUN(test_prompt_opened_think);
  RUN(test_model_writes_think);
  RUN(test_close_from_outside);
  RUN(test_stop);
  return DS_TEST_RESULT();
}
