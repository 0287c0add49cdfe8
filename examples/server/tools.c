/*
 * tools.c — OpenAI tool calling (API reference, "Create chat completion":
 * tools, tool_choice, message.tool_calls) over DeepSeek's tool-call block,
 * which the library renders and parses (dseek_chat_render_messages,
 * dseek_parse_tool_calls):
 *
 *   <｜tool▁calls▁begin｜><｜tool▁call▁begin｜>function<｜tool▁sep｜>NAME\n```json\nARGS\n```<｜tool▁call▁end｜><｜tool▁calls▁end｜>
 *
 * DeepSeek's R1, V3 and R1-0528 templates render no tool definitions, so this
 * server describes the tools at the end of the system prompt (tools_system_text).
 */
#include "tools.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int fail(request_error *err, const char *param, const char *code, const char *msg, const char *what)
{
  err->status = 400;
  err->type = "invalid_request_error";
  err->param = param;
  err->code = code;
  snprintf(err->message, sizeof err->message, "%s%.80s", msg, what ? what : "");
  return -1;
}

/* OpenAI's function names: ^[a-zA-Z0-9_-]{1,64}$ (so a name needs no
 * escaping in a GBNF literal). */
static int valid_name(const char *s)
{
  size_t n = strlen(s);
  if (n == 0 || n > 64) return 0;
  for (const char *c = s; *c; c++)
    if (!((*c >= 'a' && *c <= 'z') || (*c >= 'A' && *c <= 'Z') || (*c >= '0' && *c <= '9') || *c == '_' || *c == '-'))
      return 0;
  return 1;
}

static json_t *tool_function(json_t *tool) { return json_object_get(tool, "function"); }
static const char *tool_fname(json_t *tool) { return json_string_value(json_object_get(tool_function(tool), "name")); }

int tools_parse(request *req, json_t *root, request_error *err)
{
  json_t *tools = json_object_get(root, "tools");
  if (json_is_null(tools)) tools = NULL;
  if (tools) {
    if (!json_is_array(tools)) return fail(err, "tools", "invalid_type", "'tools' must be an array", NULL);
    size_t i;
    json_t *t;
    json_array_foreach(tools, i, t) {
      json_t *type = json_object_get(t, "type"), *fn = tool_function(t);
      if (!json_is_string(type) || strcmp(json_string_value(type), "function") || !json_is_object(fn))
        return fail(err, "tools", "invalid_value", "tools[] must be {\"type\": \"function\", \"function\": {...}}", NULL);
      const char *name = tool_fname(t);
      if (!name || !valid_name(name))
        return fail(err, "tools", "invalid_value", "tools[].function.name must match ^[a-zA-Z0-9_-]{1,64}$: ", name);
      json_t *params = json_object_get(fn, "parameters"), *desc = json_object_get(fn, "description");
      if (params && !json_is_null(params) && !json_is_object(params))
        return fail(err, "tools", "invalid_type", "tools[].function.parameters must be an object: ", name);
      if (desc && !json_is_null(desc) && !json_is_string(desc))
        return fail(err, "tools", "invalid_type", "tools[].function.description must be a string: ", name);
    }
    if (json_array_size(tools) > 0) req->tools = tools;
  }
  req->tool_choice = req->tools ? TOOL_CHOICE_AUTO : TOOL_CHOICE_NONE;
  json_t *choice = json_object_get(root, "tool_choice");
  if (!choice || json_is_null(choice)) return 0;
  if (json_is_string(choice)) {
    const char *c = json_string_value(choice);
    if (!strcmp(c, "none")) { req->tool_choice = TOOL_CHOICE_NONE; return 0; }
    if (strcmp(c, "auto") && strcmp(c, "required"))
      return fail(err, "tool_choice", "invalid_value", "'tool_choice' must be none, auto, required or a named function", NULL);
    if (!req->tools) return fail(err, "tool_choice", "invalid_value", "'tool_choice' needs 'tools': ", c);
    req->tool_choice = strcmp(c, "auto") ? TOOL_CHOICE_REQUIRED : TOOL_CHOICE_AUTO;
    return 0;
  }
  const char *name = json_string_value(json_object_get(json_object_get(choice, "function"), "name"));
  if (!json_is_object(choice) || !name)
    return fail(err, "tool_choice", "invalid_value",
                "'tool_choice' must be a string or {\"type\": \"function\", \"function\": {\"name\": ...}}", NULL);
  size_t i;
  json_t *t;
  if (req->tools)
    json_array_foreach(req->tools, i, t) if (!strcmp(tool_fname(t), name)) {
      req->tool_choice = TOOL_CHOICE_NAMED;
      req->tool_name = tool_fname(t);
      return 0;
    }
  return fail(err, "tool_choice", "invalid_value", "tool_choice names a function that is not in 'tools': ", name);
}

int tools_parse_message_calls(request *req, json_t *msg, int64_t i, request_error *err)
{
  json_t *tc = json_object_get(msg, "tool_calls");
  if (!tc || json_is_null(tc)) return 0;
  if (!json_is_array(tc)) return fail(err, "messages", "invalid_type", "messages[].tool_calls must be an array", NULL);
  size_t n = json_array_size(tc), k;
  if (n == 0) return 0;
  if (strcmp(req->msgs[i].role, "assistant"))
    return fail(err, "messages", "invalid_value", "tool_calls belong to assistant messages, not ", req->msgs[i].role);
  req->calls[i] = calloc(n, sizeof **req->calls);
  req->call_ptrs[i] = calloc(n, sizeof **req->call_ptrs);
  if (!req->calls[i] || !req->call_ptrs[i]) return fail(err, NULL, "no_memory", "out of memory", NULL);
  json_t *c;
  json_array_foreach(tc, k, c) {
    json_t *fn = json_object_get(c, "function");
    const char *name = json_string_value(json_object_get(fn, "name"));
    const char *args = json_string_value(json_object_get(fn, "arguments"));
    json_t *type = json_object_get(c, "type");
    if (!name || !args || (type && !json_is_null(type) && !json_is_string(type)))
      return fail(err, "messages", "invalid_value",
                  "messages[].tool_calls[] must be {\"type\": \"function\", \"function\": {\"name\", \"arguments\"}} "
                  "with string name and arguments", NULL);
    req->calls[i][k] = (dseek_tool_call){sizeof(dseek_tool_call), json_string_value(type), name, args};
    req->call_ptrs[i][k] = &req->calls[i][k];
  }
  req->msgs[i].tool_calls = req->call_ptrs[i];
  req->msgs[i].n_tool_calls = (int64_t)n;
  /* R1's and V3's templates render the calls of a message whose content is
   * none; an empty content with calls is how many clients send that (R1-0528's
   * writes an empty content and a none one alike). */
  if (req->msgs[i].content && !req->msgs[i].content[0]) req->msgs[i].content = NULL;
  return 0;
}

static int put(char **s, size_t *len, const char *t)
{
  size_t n = strlen(t);
  char *g = realloc(*s, *len + n + 1);
  if (!g) return -1;
  memcpy(g + *len, t, n + 1);
  *s = g;
  *len += n;
  return 0;
}

char *tools_system_text(const request *req, int *none)
{
  *none = req->tool_choice == TOOL_CHOICE_NONE || !req->tools;
  if (*none) return NULL;
  char *s = NULL;
  size_t len = 0;
  int bad = put(&s, &len, "\n\n## Tools\n\nYou have the following functions available:\n");
  size_t i;
  json_t *t;
  json_array_foreach(req->tools, i, t) {
    char *fn = json_dumps(tool_function(t), JSON_COMPACT);
    bad |= !fn || put(&s, &len, "\n- `") || put(&s, &len, tool_fname(t)) || put(&s, &len, "`:\n```json\n") ||
           put(&s, &len, fn) || put(&s, &len, "\n```\n");
    free(fn);
  }
  bad |= put(&s, &len, "\nTo call functions, answer with " CALLS_BEGIN CALL_BEGIN "function" TOOL_SEP
                       "FUNCTION_NAME\n```json\nARGUMENTS\n```" CALL_END CALLS_END
                       " (one " CALL_BEGIN "...." CALL_END " per call, separated by a newline).\n");
  if (bad) { free(s); return NULL; }
  return s;
}

/* Append GBNF text with every rule name prefixed by `prefix`: names are the
 * identifiers outside "literals", [classes], {counts} and # comments. */
static int put_prefixed(char **s, size_t *len, const char *g, const char *prefix)
{
  char one[2] = {0, 0};
  for (const char *p = g; *p;) {
    char c = *p;
    if (c == '"' || c == '[' || c == '{' || c == '#') {
      char close = c == '"' ? '"' : c == '[' ? ']' : c == '{' ? '}' : '\n';
      const char *q = p + 1;
      while (*q && *q != close) q += (*q == '\\' && q[1] && c != '#') ? 2 : 1;
      if (*q) q++;
      char *part = strndup(p, (size_t)(q - p));
      int bad = !part || put(s, len, part);
      free(part);
      if (bad) return -1;
      p = q;
    } else if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' || c == '-') {
      const char *q = p;
      while ((*q >= 'a' && *q <= 'z') || (*q >= 'A' && *q <= 'Z') || (*q >= '0' && *q <= '9') || *q == '_' || *q == '-') q++;
      char *name = strndup(p, (size_t)(q - p));
      int bad = !name || put(s, len, prefix) || put(s, len, name);
      free(name);
      if (bad) return -1;
      p = q;
    } else {
      one[0] = c;
      if (put(s, len, one)) return -1;
      p++;
    }
  }
  return 0;
}

/* The GBNF of one function's arguments (any JSON object without parameters). */
static char *arguments_gbnf(json_t *tool, request_error *err)
{
  json_t *params = json_object_get(tool_function(tool), "parameters");
  char *schema = params && json_is_object(params) ? json_dumps(params, JSON_COMPACT) : strdup("{\"type\": \"object\"}");
  size_t n = 0;
  char *g = NULL;
  if (schema && dseek_json_schema_to_grammar(schema, NULL, 0, &n) == DSEEK_ERR_BUFFER_TOO_SMALL && (g = malloc(n + 1)) &&
      dseek_json_schema_to_grammar(schema, g, n + 1, &n) != DSEEK_OK) {
    free(g);
    g = NULL;
  }
  if (!g) fail(err, "tools", "invalid_value", "a function's parameters schema: ", dseek_last_error());
  free(schema);
  return g;
}

char *tools_grammar(const request *req, request_error *err)
{
  char *s = NULL, *alts = NULL;
  size_t len = 0, alen = 0;
  int bad = 0;
  size_t i;
  json_t *t;
  json_array_foreach(req->tools, i, t) {
    const char *name = tool_fname(t);
    if (req->tool_choice == TOOL_CHOICE_NAMED && strcmp(name, req->tool_name)) continue;
    char *g = arguments_gbnf(t, err), prefix[24];
    if (!g) { free(s); free(alts); return NULL; }
    snprintf(prefix, sizeof prefix, "t%zu-", i);
    bad |= put_prefixed(&s, &len, g, prefix) || put(&s, &len, "\n");
    /* one alternative: NAME "\n```json\n" tN-root */
    bad |= put(&alts, &alen, alen ? " | \"" : "\"") || put(&alts, &alen, name) ||
           put(&alts, &alen, "\\n```json\\n\" ") || put(&alts, &alen, prefix) || put(&alts, &alen, "root");
    free(g);
  }
  bad |= put(&s, &len, "root ::= \"" CALLS_BEGIN CALL_BEGIN "function" TOOL_SEP "\" ( ") || put(&s, &len, alts) ||
         put(&s, &len, " ) \"\\n```" CALL_END CALLS_END "\"\n");
  free(alts);
  if (bad) { free(s); fail(err, NULL, "no_memory", "out of memory", NULL); return NULL; }
  return s;
}

json_t *tools_from_answer(const char *text, size_t len, const char *job_id, size_t *content_len)
{
  int64_t n = 0, spans[4 * 16];
  *content_len = len;
  if (dseek_parse_tool_calls(text, len, content_len, spans, 16, &n) != DSEEK_OK || n == 0) {
    *content_len = len;
    return NULL;
  }
  json_t *calls = json_array();
  for (int64_t k = 0; k < n; k++) {
    const char *args = text + spans[4 * k + 2];
    size_t alen = (size_t)spans[4 * k + 3];
    while (alen && (*args == '\n' || *args == ' ')) args++, alen--;   /* the grammar allows leading newlines */
    char id[64];
    snprintf(id, sizeof id, "call_%.40s_%lld", job_id, (long long)k);
    json_array_append_new(calls, json_pack("{s:s, s:s, s:{s:s%, s:s%}}", "id", id, "type", "function", "function",
                                           "name", text + spans[4 * k], (size_t)spans[4 * k + 1], "arguments", args,
                                           alen));
  }
  return calls;
}
