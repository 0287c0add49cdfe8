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
 * An assistant message whose content is none renders its tool calls:
 *
 *   <｜Assistant｜><｜tool▁calls▁begin｜><｜tool▁call▁begin｜>function<｜tool▁sep｜>NAME\n```json\nARGS\n```<｜tool▁call▁end｜>
 *
 * (both templates, tests/data/tokenizers/deepseek_{r1,v3}/tokenizer_config.json;
 * they render no `tools` definitions: a host puts those in a system message).
 * R1-0528's and V3-0324's templates (chat_r1_0528.c) join the systems as V3
 * does and render their turns differently.
 */
#include "text/chat_markers.h"

#include <string.h>

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
                    "chat template not recognised (dseek renders the DeepSeek R1, R1-0528, V3 and "
                    "V3-0324 families); pass a raw prompt instead");
  if (contains(source, len, "</think>") && contains(source, len, "is_last_user") &&
      contains(source, len, "'" USER "' + content + '" ASSISTANT "'")) {
    /* R1-0528: the user turn writes the assistant marker itself
     * ({{'<｜User｜>' + content + '<｜Assistant｜>'}}) and is_last_user keeps
     * the generation prompt from repeating it. */
    out->family = DS_CHAT_DEEPSEEK_R1_0528;
  } else if (contains(source, len, "is_last_user") &&
             contains(source, len, "'" USER "' + message['content'] + '" ASSISTANT "'")) {
    /* V3-0324: the same user turn, written on message['content'], and no
     * "</think>" anywhere. */
    out->family = DS_CHAT_DEEPSEEK_V3_0324;
  } else if (contains(source, len, "</think>")) {
    out->family = DS_CHAT_DEEPSEEK_R1;
    /* The generation prompt "<｜Assistant｜><think>\n" appears with the newline
     * escaped inside a Jinja string literal, or literally. */
    out->think_prefix = contains(source, len, ASSISTANT "<think>\\n") ||
                        contains(source, len, ASSISTANT "<think>\n");
  } else {
    out->family = DS_CHAT_DEEPSEEK_V3;
  }
  out->tool_calls = contains(source, len, CALLS_BEGIN);
  return DSEEK_OK;
}

const char *ds_chat_after_last_think(const char *content)
{
  const char *last = content;
  for (const char *p = strstr(content, "</think>"); p; p = strstr(p + 1, "</think>")) last = p + 8;
  return last;
}

void ds_chat_put_call(ds_buf *out, const ds_chat_call *c)
{
  ds_buf_puts(out, CALL_BEGIN);
  ds_buf_puts(out, c->type ? c->type : "function");
  ds_buf_puts(out, TOOL_SEP);
  ds_buf_puts(out, c->name);
  ds_buf_puts(out, ARGS_OPEN);
  ds_buf_puts(out, c->arguments);
  ds_buf_puts(out, ARGS_CLOSE CALL_END);
}

static dseek_status check_msgs(const ds_chat_msg *msgs, int64_t n)
{
  for (int64_t i = 0; i < n; i++) {
    const ds_chat_msg *m = &msgs[i];
    if (!m->role)
      return ds_error(DSEEK_ERR_INVALID_ARG, "chat render: message %lld has a NULL role", (long long)i);
    const char *r = m->role;
    if (strcmp(r, "system") && strcmp(r, "user") && strcmp(r, "assistant") && strcmp(r, "tool"))
      return ds_error(DSEEK_ERR_INVALID_ARG,
                      "chat render: message %lld has role '%s' (expected system, user, assistant or tool)",
                      (long long)i, r);
    bool calls_only = strcmp(r, "assistant") == 0 && m->n_calls > 0;
    if (!m->content && !calls_only)
      return ds_error(DSEEK_ERR_INVALID_ARG, "chat render: message %lld has a NULL content%s", (long long)i,
                      strcmp(r, "assistant") == 0 ? " and no tool calls" : "");
    if (m->n_calls < 0 || (m->n_calls > 0 && !m->calls))
      return ds_error(DSEEK_ERR_INVALID_ARG, "chat render: message %lld has bad tool calls", (long long)i);
    for (int64_t k = 0; k < m->n_calls; k++)
      if (!m->calls[k].name || !m->calls[k].arguments)
        return ds_error(DSEEK_ERR_INVALID_ARG, "chat render: message %lld, tool call %lld has a NULL name or arguments",
                        (long long)i, (long long)k);
  }
  return DSEEK_OK;
}

dseek_status ds_chat_render_msgs(const ds_chat_template *tmpl, const char *bos_text, const ds_chat_msg *msgs,
                                 int64_t n, bool add_generation_prompt, ds_buf *out)
{
  if (!tmpl || tmpl->family == DS_CHAT_UNKNOWN || !bos_text || n < 0 || (n > 0 && !msgs))
    return ds_error(DSEEK_ERR_INVALID_ARG, "chat render: bad arguments");
  dseek_status st = check_msgs(msgs, n);
  if (st) return st;
  bool r1 = tmpl->family == DS_CHAT_DEEPSEEK_R1;

  ds_buf_puts(out, bos_text);
  /* System prompt: R1 keeps the last system message, the others join them all. */
  bool first_system = true;
  int64_t last_system = -1;
  for (int64_t i = 0; i < n; i++) {
    if (strcmp(msgs[i].role, "system") != 0) continue;
    last_system = i;
    if (!r1) {
      if (!first_system) ds_buf_puts(out, "\n\n");
      ds_buf_puts(out, msgs[i].content);
      first_system = false;
    }
  }
  if (r1 && last_system >= 0) ds_buf_puts(out, msgs[last_system].content);
  if (tmpl->family == DS_CHAT_DEEPSEEK_R1_0528 || tmpl->family == DS_CHAT_DEEPSEEK_V3_0324) {
    ds_chat_render_r1_0528(msgs, n, add_generation_prompt, tmpl->family == DS_CHAT_DEEPSEEK_R1_0528, out);
    if (out->failed) return ds_error(DSEEK_ERR_NO_MEMORY, "chat render: out of memory");
    return DSEEK_OK;
  }

  /* The templates' namespace flags. is_first and is_output_first are never
   * reset: only the conversation's very first tool call opens with
   * "<｜Assistant｜><｜tool▁calls▁begin｜>" (every later call, even the first
   * of a later turn, starts with "\n" and closes the block and the turn), and
   * only its first tool output opens <｜tool▁outputs▁begin｜>. */
  bool is_tool = false, is_first = false, is_output_first = true;
  for (int64_t i = 0; i < n; i++) {
    const char *r = msgs[i].role, *c = msgs[i].content;
    if (strcmp(r, "user") == 0) {
      is_tool = false;
      ds_buf_puts(out, USER);
      ds_buf_puts(out, c);
    } else if (strcmp(r, "assistant") == 0 && !c) {
      is_tool = false;
      for (int64_t k = 0; k < msgs[i].n_calls; k++) {
        if (!is_first) {
          ds_buf_puts(out, ASSISTANT CALLS_BEGIN);
          ds_chat_put_call(out, &msgs[i].calls[k]);
          is_first = true;
        } else {
          ds_buf_puts(out, "\n");
          ds_chat_put_call(out, &msgs[i].calls[k]);
          ds_buf_puts(out, CALLS_END EOS);
        }
      }
    } else if (strcmp(r, "assistant") == 0) {
      if (is_tool) {
        ds_buf_puts(out, OUTPUTS_END);
        ds_buf_puts(out, c);
        is_tool = false;
      } else {
        ds_buf_puts(out, ASSISTANT);
        ds_buf_puts(out, r1 ? ds_chat_after_last_think(c) : c);
      }
      ds_buf_puts(out, EOS);
    } else if (strcmp(r, "tool") == 0) {
      is_tool = true;
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

dseek_status ds_chat_render(const ds_chat_template *tmpl, const char *bos_text,
                            const char *const *roles, const char *const *contents, int64_t n,
                            bool add_generation_prompt, ds_buf *out)
{
  if (n < 0 || (n > 0 && (!roles || !contents)))
    return ds_error(DSEEK_ERR_INVALID_ARG, "chat render: bad arguments");
  for (int64_t i = 0; i < n; i++)
    if (!roles[i] || !contents[i])
      return ds_error(DSEEK_ERR_INVALID_ARG, "chat render: message %lld has a NULL role or content", (long long)i);
  ds_chat_msg *msgs = ds_calloc(n > 0 ? (size_t)n : 1, sizeof *msgs);
  if (!msgs) return ds_error(DSEEK_ERR_NO_MEMORY, "chat render: out of memory");
  for (int64_t i = 0; i < n; i++) msgs[i] = (ds_chat_msg){roles[i], contents[i], NULL, 0};
  dseek_status st = ds_chat_render_msgs(tmpl, bos_text, msgs, n, add_generation_prompt, out);
  ds_free(msgs);
  return st;
}

/* Where `needle` starts in text[from, len), or len. */
static size_t find(const char *text, size_t len, size_t from, const char *needle)
{
  size_t m = strlen(needle);
  for (size_t i = from; m <= len && i <= len - m; i++)
    if (memcmp(text + i, needle, m) == 0) return i;
  return len;
}

static bool at(const char *text, size_t len, size_t pos, const char *s)
{
  size_t m = strlen(s);
  return pos <= len && len - pos >= m && memcmp(text + pos, s, m) == 0;
}

dseek_status ds_chat_parse_tool_calls(const char *text, size_t len, size_t *content_len, int64_t *spans,
                                      int64_t capacity, int64_t *n_calls)
{
  if ((!text && len) || !content_len || !n_calls || capacity < 0 || (capacity > 0 && !spans))
    return ds_error(DSEEK_ERR_INVALID_ARG, "tool call parse: bad arguments");
  *n_calls = 0;
  size_t begin = find(text, len, 0, CALLS_BEGIN);
  *content_len = begin;
  if (begin == len) return DSEEK_OK;
  size_t pos = begin + strlen(CALLS_BEGIN);
  int64_t count = 0;
  for (;;) {
    while (pos < len && (text[pos] == '\n' || text[pos] == ' ')) pos++;   /* "\n" between calls */
    if (pos == len || at(text, len, pos, CALLS_END)) break;               /* the model may stop at EOS */
    if (!at(text, len, pos, CALL_BEGIN))
      return ds_error(DSEEK_ERR_FORMAT, "tool call parse: byte %zu: expected <｜tool▁call▁begin｜>", pos);
    pos += strlen(CALL_BEGIN);
    size_t sep = find(text, len, pos, TOOL_SEP);
    if (sep == len) return ds_error(DSEEK_ERR_FORMAT, "tool call parse: byte %zu: no <｜tool▁sep｜>", pos);
    size_t name = sep + strlen(TOOL_SEP);
    size_t open = find(text, len, name, ARGS_OPEN);
    if (open == len) return ds_error(DSEEK_ERR_FORMAT, "tool call parse: byte %zu: no \"\\n```json\\n\" after the name", name);
    size_t args = open + strlen(ARGS_OPEN);
    size_t close = find(text, len, args, ARGS_CLOSE CALL_END);
    if (close == len)
      return ds_error(DSEEK_ERR_FORMAT, "tool call parse: byte %zu: arguments not closed by \"\\n```\" and <｜tool▁call▁end｜>", args);
    if (count < capacity) {
      spans[4 * count + 0] = (int64_t)name;
      spans[4 * count + 1] = (int64_t)(open - name);
      spans[4 * count + 2] = (int64_t)args;
      spans[4 * count + 3] = (int64_t)(close - args);
    }
    count++;
    pos = close + strlen(ARGS_CLOSE CALL_END);
  }
  *n_calls = count;
  if (count > capacity) return ds_error(DSEEK_ERR_BUFFER_TOO_SMALL, "tool call parse: %lld calls", (long long)count);
  return DSEEK_OK;
}
