/*
 * chat_r1_0528.c — the turns of DeepSeek-R1-0528's chat template (the one
 * DeepSeek-R1-0528-Qwen3-8B publishes, tests/data/chat_templates/) and of
 * DeepSeek-V3-0324's, after the BOS text and the system messages joined by
 * "\n\n" (chat.c):
 *
 *   <｜User｜>{user}<｜Assistant｜>{answer}<｜end▁of▁sentence｜><｜User｜>...<｜Assistant｜>
 *
 * A user turn opens the assistant turn itself, so the generation prompt adds
 * "<｜Assistant｜>" only after something else (and never "<think>\n"). In
 * R1-0528 every assistant message keeps what follows its last "</think>". An
 * assistant message with tool calls writes its content (none: nothing) and then
 *
 *   <｜tool▁calls▁begin｜>CALL\nCALL...<｜tool▁calls▁end｜><｜end▁of▁sentence｜>
 *
 * closing first a tool-output block still open. Tool outputs open
 * <｜tool▁outputs▁begin｜> once per assistant call message (later outputs
 * start with "\n"); the next plain assistant message or the end closes the
 * block, a user message does not. The namespace flags below are the
 * template's (is_tool, is_first, is_output_first, is_last_user).
 *
 * DeepSeek-V3-0324's template (tests/data/chat_templates/) is the same text
 * without the "</think>" split: it writes message['content'] where R1-0528
 * writes the split content, so its assistant messages are kept whole
 * (drop_reasoning false). Both test a none content with `is none` before the
 * call block; V3-0324 reads it as none, R1-0528 would fail on it first.
 */
#include "text/chat_markers.h"

#include <string.h>

/* The assistant message's content as the template uses it: R1-0528 splits it
 * at the last "</think>". A none content stays none; R1-0528's template itself
 * would fail on it ('</think>' in none), so dseek reads it as the empty string
 * clients mean. */
static const char *assistant_content(const char *c, bool drop_reasoning)
{
  return c && drop_reasoning ? ds_chat_after_last_think(c) : c;
}

void ds_chat_render_r1_0528(const ds_chat_msg *msgs, int64_t n, bool add_generation_prompt, bool drop_reasoning,
                            ds_buf *out)
{
  bool is_tool = false, is_output_first = true, is_last_user = false;
  for (int64_t i = 0; i < n; i++) {
    const ds_chat_msg *m = &msgs[i];
    if (strcmp(m->role, "user") == 0) {
      is_tool = false;
      is_last_user = true;
      ds_buf_puts(out, USER);
      ds_buf_puts(out, m->content);
      ds_buf_puts(out, ASSISTANT);
    } else if (strcmp(m->role, "assistant") == 0 && m->n_calls > 0) {
      const char *c = assistant_content(m->content, drop_reasoning);
      is_last_user = false;
      if (is_tool) ds_buf_puts(out, OUTPUTS_END);
      is_tool = false;
      is_output_first = true;
      if (c) ds_buf_puts(out, c);
      ds_buf_puts(out, CALLS_BEGIN);
      for (int64_t k = 0; k < m->n_calls; k++) {
        if (k > 0) ds_buf_puts(out, "\n");
        ds_chat_put_call(out, &m->calls[k]);
      }
      ds_buf_puts(out, CALLS_END EOS);
    } else if (strcmp(m->role, "assistant") == 0) {
      is_last_user = false;
      if (is_tool) ds_buf_puts(out, OUTPUTS_END);
      is_tool = false;
      ds_buf_puts(out, assistant_content(m->content, drop_reasoning));
      ds_buf_puts(out, EOS);
    } else if (strcmp(m->role, "tool") == 0) {
      is_last_user = false;
      is_tool = true;
      ds_buf_puts(out, is_output_first ? OUTPUTS_BEGIN OUTPUT_BEGIN : "\n" OUTPUT_BEGIN);
      ds_buf_puts(out, m->content);
      ds_buf_puts(out, OUTPUT_END);
      is_output_first = false;
    }
  }
  if (is_tool) ds_buf_puts(out, OUTPUTS_END);
  if (add_generation_prompt && !is_last_user && !is_tool) ds_buf_puts(out, ASSISTANT);
}
