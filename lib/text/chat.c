/*
 * chat.c — render DeepSeek-R1 / V3 conversations exactly as their Jinja
 * templates do (lib/models/README.md §4, lib/text/README.md §8):
 *
 *   {bos}{system}<｜User｜>{user}<｜Assistant｜>{answer}<｜end▁of▁sentence｜>...<｜Assistant｜>[<think>\n]
 *
 * R1: only the last system message counts; an assistant turn keeps what follows
 * its last "</think>". V3: system messages are joined with "\n\n"; assistant
 * turns are kept whole. Tool outputs open a <｜tool▁outputs▁begin｜> block that
 * the next assistant turn (or the end) closes. Nothing separates turns.
 */
#include "text/chat.h"

#include <string.h>

#define USER "<\xEF\xBD\x9CUser\xEF\xBD\x9C>"
#define ASSISTANT "<\xEF\xBD\x9C" "Assistant\xEF\xBD\x9C>"
#define EOS "<\xEF\xBD\x9C" "end\xE2\x96\x81of\xE2\x96\x81sentence\xEF\xBD\x9C>"
#define OUTPUTS_BEGIN "<\xEF\xBD\x9Ctool\xE2\x96\x81outputs\xE2\x96\x81" "begin\xEF\xBD\x9C>"
#define OUTPUTS_END "<\xEF\xBD\x9Ctool\xE2\x96\x81outputs\xE2\x96\x81" "end\xEF\xBD\x9C>"
#define OUTPUT_BEGIN "<\xEF\xBD\x9Ctool\xE2\x96\x81output\xE2\x96\x81" "begin\xEF\xBD\x9C>"
#define OUTPUT_END "<\xEF\xBD\x9Ctool\xE2\x96\x81output\xE2\x96\x81" "end\xEF\xBD\x9C>"

static bool contains(const char *s, size_t n, const char *needle)
{
  size_t m = strlen(needle);
  for (size_t i = 0; m <= n && i <= n - m; i++)
    if (memcmp(s + i, needle, m) == 0) return true;
  return false;
}

dseek_status ds_chat_detect(const char *source, size_t len, ds_chat_template *out)
{
  memset(out, 0, sizeof *out);
  if (!source || !contains(source, len, USER) || !contains(source, len, ASSISTANT))
    return ds_error(DSEEK_ERR_UNSUPPORTED,
                    "chat template not recognised (dseek renders the DeepSeek R1 and V3 "
                    "families); pass a raw prompt instead");
  if (contains(source, len, "</think>")) {
    out->family = DS_CHAT_DEEPSEEK_R1;
    /* The generation prompt "<｜Assistant｜><think>\n" appears with the newline
     * escaped inside a Jinja string literal, or literally. */
    out->think_prefix = contains(source, len, ASSISTANT "<think>\\n") ||
                        contains(source, len, ASSISTANT "<think>\n");
  } else {
    out->family = DS_CHAT_DEEPSEEK_V3;
  }
  return DSEEK_OK;
}

/* The part of an assistant message after its last "</think>", as R1's
 * template keeps it (content.split('</think>')[-1]). */
static const char *after_last_think(const char *content)
{
  const char *last = content;
  for (const char *p = strstr(content, "</think>"); p; p = strstr(p + 1, "</think>")) last = p + 8;
  return last;
}

dseek_status ds_chat_render(const ds_chat_template *tmpl, const char *bos_text,
                            const char *const *roles, const char *const *contents, int64_t n,
                            bool add_generation_prompt, ds_buf *out)
{
  if (!tmpl || tmpl->family == DS_CHAT_UNKNOWN || !bos_text || n < 0 || (n > 0 && (!roles || !contents)))
    return ds_error(DSEEK_ERR_INVALID_ARG, "chat render: bad arguments");
  bool r1 = tmpl->family == DS_CHAT_DEEPSEEK_R1;
  for (int64_t i = 0; i < n; i++) {
    if (!roles[i] || !contents[i])
      return ds_error(DSEEK_ERR_INVALID_ARG, "chat render: message %lld has a NULL role or content", (long long)i);
    const char *r = roles[i];
    if (strcmp(r, "system") && strcmp(r, "user") && strcmp(r, "assistant") && strcmp(r, "tool"))
      return ds_error(DSEEK_ERR_INVALID_ARG,
                      "chat render: message %lld has role '%s' (expected system, user, assistant or tool)",
                      (long long)i, r);
  }

  ds_buf_puts(out, bos_text);
  /* System prompt: R1 keeps the last system message, V3 joins them all. */
  bool first_system = true;
  int64_t last_system = -1;
  for (int64_t i = 0; i < n; i++) {
    if (strcmp(roles[i], "system") != 0) continue;
    last_system = i;
    if (!r1) {
      if (!first_system) ds_buf_puts(out, "\n\n");
      ds_buf_puts(out, contents[i]);
      first_system = false;
    }
  }
  if (r1 && last_system >= 0) ds_buf_puts(out, contents[last_system]);

  bool is_tool = false, is_output_first = true;
  for (int64_t i = 0; i < n; i++) {
    const char *r = roles[i], *c = contents[i];
    if (strcmp(r, "user") == 0) {
      is_tool = false;
      ds_buf_puts(out, USER);
      ds_buf_puts(out, c);
    } else if (strcmp(r, "assistant") == 0) {
      if (is_tool) {
        ds_buf_puts(out, OUTPUTS_END);
        ds_buf_puts(out, c);
        is_tool = false;
      } else {
        ds_buf_puts(out, ASSISTANT);
        ds_buf_puts(out, r1 ? after_last_think(c) : c);
      }
      ds_buf_puts(out, EOS);
    } else if (strcmp(r, "tool") == 0) {
      is_tool = true;
      /* is_output_first is never reset by the templates: only the very first
       * tool output of a conversation opens the block with OUTPUTS_BEGIN. */
      ds_buf_puts(out, is_output_first ? OUTPUTS_BEGIN OUTPUT_BEGIN : "\n" OUTPUT_BEGIN);
      ds_buf_puts(out, c);
      ds_buf_puts(out, OUTPUT_END);
      is_output_first = false;
    }
  }
  if (is_tool) ds_buf_puts(out, OUTPUTS_END);
  if (add_generation_prompt && !is_tool) {
    ds_buf_puts(out, ASSISTANT);
    if (r1 && tmpl->think_prefix) ds_buf_puts(out, "<think>\n");
  }
  if (out->failed) return ds_error(DSEEK_ERR_NO_MEMORY, "chat render: out of memory");
  return DSEEK_OK;
}
