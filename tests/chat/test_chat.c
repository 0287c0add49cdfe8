/* test_chat.c — native chat rendering against prompts rendered by a Jinja
 * engine (@huggingface/jinja) in tests/data/tokenizers/ (chat_template cases). */
#include "text/chat.h"
#include "harness.h"

#define BOS "<\xEF\xBD\x9C" "begin\xE2\x96\x81of\xE2\x96\x81sentence\xEF\xBD\x9C>"

static const ds_chat_template r1 = {DS_CHAT_DEEPSEEK_R1, true, true};
static const ds_chat_template v3 = {DS_CHAT_DEEPSEEK_V3, false, true};
static const ds_chat_template r1_0528 = {DS_CHAT_DEEPSEEK_R1_0528, false, true};
static const ds_chat_template v3_0324 = {DS_CHAT_DEEPSEEK_V3_0324, false, true};

static void expect(const ds_chat_template *t, const char *const *roles, const char *const *contents,
                   int n, bool gen, const char *want)
{
  ds_buf b = {0};
  CHECK_EQ_INT(ds_chat_render(t, BOS, roles, contents, n, gen, &b), DSEEK_OK);
  CHECK_STR(b.data, want);
  ds_buf_free(&b);
}

static void test_single_and_system(void)
{
  const char *roles[] = {"user"}, *c[] = {"What is the capital of France?"};
  expect(&r1, roles, c, 1, true,
         BOS "<｜User｜>What is the capital of France?<｜Assistant｜><think>\n");
  expect(&v3, roles, c, 1, true, BOS "<｜User｜>What is the capital of France?<｜Assistant｜>");
  const char *roles2[] = {"system", "user"};
  const char *c2[] = {"You are a helpful assistant.", "Explain recursion in one sentence."};
  expect(&r1, roles2, c2, 2, true,
         BOS "You are a helpful assistant.<｜User｜>Explain recursion in one sentence.<｜Assistant｜><think>\n");
}

static void test_history_with_think(void)
{
  const char *roles[] = {"system", "user", "assistant", "user"};
  const char *c[] = {"You are a careful math tutor.", "What is 17 * 23?",
                     "<think>\n17 * 23 = 17 * 20 + 17 * 3 = 340 + 51 = 391.\n</think>\n\n17 × 23 = **391**.",
                     "And 391 / 17?"};
  expect(&r1, roles, c, 4, true,
         BOS "You are a careful math tutor.<｜User｜>What is 17 * 23?<｜Assistant｜>\n\n17 × 23 = **391**."
             "<｜end▁of▁sentence｜><｜User｜>And 391 / 17?<｜Assistant｜><think>\n");
  expect(&v3, roles, c, 4, true,
         BOS "You are a careful math tutor.<｜User｜>What is 17 * 23?<｜Assistant｜><think>\n17 * 23 = 17 * 20 + "
             "17 * 3 = 340 + 51 = 391.\n</think>\n\n17 × 23 = **391**.<｜end▁of▁sentence｜><｜User｜>And 391 / "
             "17?<｜Assistant｜>");
}

static void test_no_generation_prompt(void)
{
  const char *roles[] = {"user", "assistant"};
  const char *c[] = {"Say hello.", "<think>\nThe user wants a greeting.\n</think>\n\nHello!"};
  expect(&r1, roles, c, 2, false, BOS "<｜User｜>Say hello.<｜Assistant｜>\n\nHello!<｜end▁of▁sentence｜>");
  expect(&v3, roles, c, 2, false,
         BOS "<｜User｜>Say hello.<｜Assistant｜><think>\nThe user wants a greeting.\n</think>\n\nHello!<｜end▁of▁sentence｜>");
}

static void test_literal_think_in_user(void)
{
  const char *roles[] = {"user"}, *c[] = {"What does the <think> tag mean in your output?"};
  expect(&r1, roles, c, 1, true,
         BOS "<｜User｜>What does the <think> tag mean in your output?<｜Assistant｜><think>\n");
}

static void test_multiple_systems_and_tools(void)
{
  const char *roles[] = {"system", "system", "user"}, *c[] = {"A", "B", "hi"};
  expect(&v3, roles, c, 3, true, BOS "A\n\nB<｜User｜>hi<｜Assistant｜>");
  expect(&r1, roles, c, 3, true, BOS "B<｜User｜>hi<｜Assistant｜><think>\n");
  /* Tool outputs: the block opens once, later outputs are newline-separated,
   * and the next assistant turn (or the end) closes it. */
  const char *troles[] = {"user", "tool", "tool", "assistant", "user"};
  const char *tc[] = {"q", "{\"a\":1}", "{\"b\":2}", "done", "thanks"};
  expect(&r1, troles, tc, 5, true,
         BOS "<｜User｜>q<｜tool▁outputs▁begin｜><｜tool▁output▁begin｜>{\"a\":1}<｜tool▁output▁end｜>\n"
             "<｜tool▁output▁begin｜>{\"b\":2}<｜tool▁output▁end｜><｜tool▁outputs▁end｜>done<｜end▁of▁sentence｜>"
             "<｜User｜>thanks<｜Assistant｜><think>\n");
  expect(&r1, troles, tc, 2, true,
         BOS "<｜User｜>q<｜tool▁outputs▁begin｜><｜tool▁output▁begin｜>{\"a\":1}<｜tool▁output▁end｜><｜tool▁outputs▁end｜>");
}

/* R1-0528 (the template DeepSeek-R1-0528-Qwen3-8B publishes): the user turn
 * opens the assistant turn, so the generation prompt adds nothing after it;
 * systems are joined; reasoning is dropped from every assistant turn. */
static void test_r1_0528(void)
{
  const char *roles[] = {"system", "system", "user", "assistant", "user"};
  const char *c[] = {"A", "B", "17 * 23?", "<think>\n340 + 51\n</think>\n\n391", "Thanks"};
  expect(&r1_0528, roles, c, 5, true,
         BOS "A\n\nB<｜User｜>17 * 23?<｜Assistant｜>\n\n391<｜end▁of▁sentence｜><｜User｜>Thanks<｜Assistant｜>");
  expect(&r1_0528, roles, c, 4, true,
         BOS "A\n\nB<｜User｜>17 * 23?<｜Assistant｜>\n\n391<｜end▁of▁sentence｜><｜Assistant｜>");
  expect(&r1_0528, roles, c, 4, false, BOS "A\n\nB<｜User｜>17 * 23?<｜Assistant｜>\n\n391<｜end▁of▁sentence｜>");

  /* Calls after the content (its reasoning dropped); outputs closed by the answer. */
  ds_chat_call calls[2] = {{NULL, "f", "{\"x\": 1}"}, {"function", "g", "{}"}};
  ds_chat_msg msgs[5] = {{"user", "q", NULL, 0}, {"assistant", "<think>t</think>Let me see.", calls, 2},
                         {"tool", "1", NULL, 0}, {"tool", "2", NULL, 0}, {"assistant", "done", NULL, 0}};
  ds_buf b = {0};
  CHECK_EQ_INT(ds_chat_render_msgs(&r1_0528, BOS, msgs, 5, true, &b), DSEEK_OK);
  CHECK_STR(b.data, BOS "<｜User｜>q<｜Assistant｜>Let me see.<｜tool▁calls▁begin｜><｜tool▁call▁begin｜>function"
                        "<｜tool▁sep｜>f\n```json\n{\"x\": 1}\n```<｜tool▁call▁end｜>\n<｜tool▁call▁begin｜>function"
                        "<｜tool▁sep｜>g\n```json\n{}\n```<｜tool▁call▁end｜><｜tool▁calls▁end｜><｜end▁of▁sentence｜>"
                        "<｜tool▁outputs▁begin｜><｜tool▁output▁begin｜>1<｜tool▁output▁end｜>\n<｜tool▁output▁begin｜>2"
                        "<｜tool▁output▁end｜><｜tool▁outputs▁end｜>done<｜end▁of▁sentence｜><｜Assistant｜>");
  /* Ending in an output: the block closes and no generation prompt follows. */
  msgs[1].content = NULL;
  ds_buf_free(&b);
  b = (ds_buf){0};
  CHECK_EQ_INT(ds_chat_render_msgs(&r1_0528, "", msgs, 3, true, &b), DSEEK_OK);
  CHECK(strstr(b.data, "<｜Assistant｜><｜tool▁calls▁begin｜>") != NULL);
  const char *tail = "<｜tool▁output▁begin｜>1<｜tool▁output▁end｜><｜tool▁outputs▁end｜>";
  CHECK(b.len >= strlen(tail) && strcmp(b.data + b.len - strlen(tail), tail) == 0);
  ds_buf_free(&b);
}

/* V3-0324 (tests/data/chat_templates/deepseek-v3-0324.jinja): R1-0528's turns
 * with every assistant message written whole (message['content'], no
 * "</think>" split), and a none content before the calls writing nothing. */
static void test_v3_0324(void)
{
  const char *roles[] = {"system", "system", "user", "assistant", "user"};
  const char *c[] = {"A", "B", "17 * 23?", "<think>\n340 + 51\n</think>\n\n391", "Thanks"};
  expect(&v3_0324, roles, c, 5, true,
         BOS "A\n\nB<｜User｜>17 * 23?<｜Assistant｜><think>\n340 + 51\n</think>\n\n391<｜end▁of▁sentence｜>"
             "<｜User｜>Thanks<｜Assistant｜>");
  /* V3 would end this one at the user's text; V3-0324's user turn opens the answer. */
  expect(&v3_0324, roles, c, 3, false, BOS "A\n\nB<｜User｜>17 * 23?<｜Assistant｜>");
  expect(&v3_0324, roles, c, 4, true,
         BOS "A\n\nB<｜User｜>17 * 23?<｜Assistant｜><think>\n340 + 51\n</think>\n\n391<｜end▁of▁sentence｜>"
             "<｜Assistant｜>");

  ds_chat_call call = {NULL, "f", "{}"};
  ds_chat_msg msgs[4] = {{"user", "q", NULL, 0}, {"assistant", NULL, &call, 1}, {"tool", "1", NULL, 0},
                         {"assistant", "<think>t</think>ok", NULL, 0}};
  ds_buf b = {0};
  CHECK_EQ_INT(ds_chat_render_msgs(&v3_0324, BOS, msgs, 4, true, &b), DSEEK_OK);
  CHECK_STR(b.data, BOS "<｜User｜>q<｜Assistant｜><｜tool▁calls▁begin｜><｜tool▁call▁begin｜>function<｜tool▁sep｜>f"
                        "\n```json\n{}\n```<｜tool▁call▁end｜><｜tool▁calls▁end｜><｜end▁of▁sentence｜>"
                        "<｜tool▁outputs▁begin｜><｜tool▁output▁begin｜>1<｜tool▁output▁end｜><｜tool▁outputs▁end｜>"
                        "<think>t</think>ok<｜end▁of▁sentence｜><｜Assistant｜>");
  ds_buf_free(&b);
}

static void test_detect_and_errors(void)
{
  ds_chat_template t;
  const char *r1_src = "{{'<｜User｜>' + message['content']}}{% if '</think>' in content %}"
                       "{{'<｜Assistant｜><think>\\n'}}";
  CHECK_EQ_INT(ds_chat_detect(r1_src, strlen(r1_src), &t), DSEEK_OK);
  CHECK_EQ_INT(t.family, DS_CHAT_DEEPSEEK_R1);
  CHECK(t.think_prefix);
  const char *old_r1 = "{{'<｜User｜>'}}{% set content = content.split('</think>')[-1] %}{{'<｜Assistant｜>'}}";
  CHECK_EQ_INT(ds_chat_detect(old_r1, strlen(old_r1), &t), DSEEK_OK);
  CHECK(!t.think_prefix);
  const char *v3_src = "{{'<｜User｜>' + c}}{{'<｜Assistant｜>'}}";
  CHECK_EQ_INT(ds_chat_detect(v3_src, strlen(v3_src), &t), DSEEK_OK);
  CHECK_EQ_INT(t.family, DS_CHAT_DEEPSEEK_V3);
  const char *r1_0528_src = "{% set ns = namespace(is_last_user=false) %}{{'<｜User｜>' + content + '<｜Assistant｜>'}}"
                            "{% if '</think>' in content %}{% endif %}";
  CHECK_EQ_INT(ds_chat_detect(r1_0528_src, strlen(r1_0528_src), &t), DSEEK_OK);
  CHECK_EQ_INT(t.family, DS_CHAT_DEEPSEEK_R1_0528);
  CHECK(!t.think_prefix);
  const char *v3_0324_src = "{% set ns = namespace(is_last_user=false) %}"
                            "{{'<｜User｜>' + message['content'] + '<｜Assistant｜>'}}";
  CHECK_EQ_INT(ds_chat_detect(v3_0324_src, strlen(v3_0324_src), &t), DSEEK_OK);
  CHECK_EQ_INT(t.family, DS_CHAT_DEEPSEEK_V3_0324);
  const char *chatml = "{% for m in messages %}<|im_start|>{{m.role}}{% endfor %}";
  CHECK_EQ_INT(ds_chat_detect(chatml, strlen(chatml), &t), DSEEK_ERR_UNSUPPORTED);
  CHECK(strstr(dseek_last_error(), "raw prompt") != NULL);

  ds_buf b = {0};
  const char *roles[] = {"narrator"}, *c[] = {"x"};
  CHECK_EQ_INT(ds_chat_render(&r1, BOS, roles, c, 1, true, &b), DSEEK_ERR_INVALID_ARG);
  CHECK(strstr(dseek_last_error(), "narrator") != NULL);
  const char *nullc[] = {NULL};
  const char *user[] = {"user"};
  CHECK_EQ_INT(ds_chat_render(&r1, BOS, user, nullc, 1, true, &b), DSEEK_ERR_INVALID_ARG);
  CHECK_EQ_INT(b.len, 0);
  ds_buf_free(&b);
}

/* The parser reads back what the templates write (the rendering itself is
 * checked against Jinja2 in test_chat_tools.py). */
static void check_span(const char *text, const int64_t *span, const char *name, const char *args)
{
  CHECK_EQ_INT(span[1], (int64_t)strlen(name));
  CHECK(memcmp(text + span[0], name, strlen(name)) == 0);
  CHECK_EQ_INT(span[3], (int64_t)strlen(args));
  CHECK(memcmp(text + span[2], args, strlen(args)) == 0);
}

static void test_parse_tool_calls(void)
{
  ds_chat_call calls[2] = {{NULL, "get_weather", "{\"city\": \"Paris\"}"}, {"function", "now", "{}"}};
  ds_chat_msg msgs[2] = {{"user", "hi", NULL, 0}, {"assistant", NULL, calls, 2}};
  ds_buf b = {0};
  CHECK_EQ_INT(ds_chat_render_msgs(&v3, "", msgs, 2, false, &b), DSEEK_OK);
  /* The model's answer is what follows <｜Assistant｜>; put text before it. */
  const char *a = strstr(b.data, "<｜Assistant｜>") + strlen("<｜Assistant｜>");
  char text[512];
  snprintf(text, sizeof text, "Let me look.%s", a);
  size_t content = 0;
  int64_t spans[8], n = -1;
  CHECK_EQ_INT(ds_chat_parse_tool_calls(text, strlen(text), &content, spans, 2, &n), DSEEK_OK);
  CHECK_EQ_INT(n, 2);
  CHECK_EQ_INT((int64_t)content, (int64_t)strlen("Let me look."));
  check_span(text, spans, "get_weather", "{\"city\": \"Paris\"}");
  check_span(text, spans + 4, "now", "{}");
  /* Too small a buffer: the count is still given. */
  CHECK_EQ_INT(ds_chat_parse_tool_calls(text, strlen(text), &content, spans, 1, &n), DSEEK_ERR_BUFFER_TOO_SMALL);
  CHECK_EQ_INT(n, 2);
  /* Stopped at EOS before <｜tool▁calls▁end｜>: the closed calls count. */
  char *end = strstr(text, "<｜tool▁calls▁end｜>");
  CHECK(end != NULL);
  CHECK_EQ_INT(ds_chat_parse_tool_calls(text, (size_t)(end - text), &content, spans, 2, &n), DSEEK_OK);
  CHECK_EQ_INT(n, 2);
  /* No block: all content. A block cut inside the arguments: FORMAT. */
  CHECK_EQ_INT(ds_chat_parse_tool_calls("plain", 5, &content, NULL, 0, &n), DSEEK_OK);
  CHECK_EQ_INT(n, 0);
  CHECK_EQ_INT((int64_t)content, 5);
  const char *cut = strstr(text, "Paris");
  CHECK_EQ_INT(ds_chat_parse_tool_calls(text, (size_t)(cut - text), &content, spans, 2, &n), DSEEK_ERR_FORMAT);
  CHECK_EQ_INT(ds_chat_parse_tool_calls(NULL, 3, &content, spans, 2, &n), DSEEK_ERR_INVALID_ARG);
  /* An assistant message with neither content nor calls is refused. */
  ds_chat_msg bad = {"assistant", NULL, NULL, 0};
  CHECK_EQ_INT(ds_chat_render_msgs(&v3, "", &bad, 1, false, &b), DSEEK_ERR_INVALID_ARG);
  ds_buf_free(&b);
}

int main(void)
{
  RUN(test_parse_tool_calls);
  RUN(test_single_and_system);
  RUN(test_history_with_think);
  RUN(test_no_generation_prompt);
  RUN(test_literal_think_in_user);
  RUN(test_multiple_systems_and_tools);
  RUN(test_r1_0528);
  RUN(test_v3_0324);
  RUN(test_detect_and_errors);
  return DS_TEST_RESULT();
}
