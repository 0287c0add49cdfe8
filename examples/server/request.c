/*
 * request.c — parse and check an OpenAI chat or text completion body.
 *
 * Field names follow OpenAI's API reference ("Create chat completion",
 * "Create completion") and DeepSeek's (reasoning arrives separately). Thinking
 * control: `reasoning_effort` (OpenAI's name), and an explicit budget under
 * vLLM's name `thinking_token_budget` or `thinking_budget` (SGLang's
 * chat-template name, Qwen3's). A field that is present but wrong is a 400
 * naming it; a field this server does not know is ignored, as OpenAI-compatible
 * servers do (clients send `user`, `metadata`, ...). JSON null means absent.
 */
#include "request.h"
#include "tools.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int fail(request_error *err, int status, const char *param, const char *code, const char *fmt, ...)
{
  err->status = status;
  err->type = "invalid_request_error";
  err->param = param;
  err->code = code;
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(err->message, sizeof err->message, fmt, ap);
  va_end(ap);
  return -1;
}

/* The member `name` of obj, or NULL when absent or null. */
static json_t *field(json_t *obj, const char *name)
{
  json_t *v = json_object_get(obj, name);
  return json_is_null(v) ? NULL : v;
}

/* An integer (a JSON integer, or a real with an integral value) in [lo, hi]. */
static int get_int(json_t *obj, const char *name, int64_t lo, int64_t hi, int64_t *out, request_error *err)
{
  json_t *v = field(obj, name);
  if (!v) return 0;
  double d;
  if (json_is_integer(v)) d = (double)json_integer_value(v);
  else if (json_is_real(v) && json_real_value(v) == floor(json_real_value(v))) d = json_real_value(v);
  else return fail(err, 400, name, "invalid_type", "'%s' must be an integer", name);
  if (d < (double)lo || d > (double)hi)
    return fail(err, 400, name, "invalid_value", "'%s' must be between %lld and %lld", name, (long long)lo,
                (long long)hi);
  *out = (int64_t)d;
  return 1;
}

static int get_number(json_t *obj, const char *name, double lo, double hi, double *out, request_error *err)
{
  json_t *v = field(obj, name);
  if (!v) return 0;
  if (!json_is_number(v)) return fail(err, 400, name, "invalid_type", "'%s' must be a number", name);
  double d = json_number_value(v);
  if (!(d >= lo && d <= hi)) return fail(err, 400, name, "invalid_value", "'%s' must be between %g and %g", name, lo, hi);
  *out = d;
  return 1;
}

static int get_bool(json_t *obj, const char *name, int *out, request_error *err)
{
  json_t *v = field(obj, name);
  if (!v) return 0;
  if (!json_is_boolean(v)) return fail(err, 400, name, "invalid_type", "'%s' must be a boolean", name);
  *out = json_is_true(v);
  return 1;
}

/* A message's content: a string, or an array of {"type": "text", "text": ...}
 * parts joined (OpenAI's content parts; other part types need a model that
 * reads them). */
static int message_content(request *req, json_t *msg, int64_t i, const char **out, request_error *err)
{
  json_t *c = field(msg, "content");
  if (!c) { *out = ""; return 0; }
  if (json_is_string(c)) { *out = json_string_value(c); return 0; }
  if (!json_is_array(c)) return fail(err, 400, "messages", "invalid_type", "messages[%lld].content must be a string or an array of text parts", (long long)i);
  size_t total = 1, k;
  json_t *part;
  json_array_foreach(c, k, part) {
    json_t *type = json_object_get(part, "type"), *text = json_object_get(part, "text");
    if (!json_is_string(type) || strcmp(json_string_value(type), "text") || !json_is_string(text))
      return fail(err, 400, "messages", "invalid_value",
                  "messages[%lld].content[%zu]: only {\"type\": \"text\", \"text\": ...} parts are supported", (long long)i, k);
    total += json_string_length(text);
  }
  char *s = malloc(total);
  if (!s) return fail(err, 500, NULL, "no_memory", "out of memory");
  size_t at = 0;
  json_array_foreach(c, k, part) {
    json_t *text = json_object_get(part, "text");
    memcpy(s + at, json_string_value(text), json_string_length(text));
    at += json_string_length(text);
  }
  s[at] = '\0';
  req->owned[i] = s;
  *out = s;
  return 0;
}

static int parse_messages(request *req, json_t *root, request_error *err)
{
  json_t *msgs = field(root, "messages");
  if (!msgs) return fail(err, 400, "messages", "missing_required_parameter", "'messages' is required");
  if (!json_is_array(msgs) || json_array_size(msgs) == 0)
    return fail(err, 400, "messages", "invalid_value", "'messages' must be a non-empty array");
  size_t n = json_array_size(msgs);
  /* one more message: a system prompt describing the tools (add_tools_prompt) */
  req->roles = calloc(n + 1, sizeof *req->roles);
  req->contents = calloc(n + 1, sizeof *req->contents);
  req->owned = calloc(n + 2, sizeof *req->owned);
  req->msgs = calloc(n + 1, sizeof *req->msgs);
  req->msg_ptrs = calloc(n + 1, sizeof *req->msg_ptrs);
  req->calls = calloc(n + 2, sizeof *req->calls);
  req->call_ptrs = calloc(n + 2, sizeof *req->call_ptrs);
  if (!req->roles || !req->contents || !req->owned || !req->msgs || !req->msg_ptrs || !req->calls || !req->call_ptrs)
    return fail(err, 500, NULL, "no_memory", "out of memory");
  req->n_messages = (int64_t)n;
  for (size_t i = 0; i < n; i++) {
    json_t *m = json_array_get(msgs, i);
    if (!json_is_object(m)) return fail(err, 400, "messages", "invalid_type", "messages[%zu] must be an object", i);
    json_t *role = json_object_get(m, "role");
    if (!json_is_string(role)) return fail(err, 400, "messages", "invalid_value", "messages[%zu].role must be a string", i);
    const char *r = json_string_value(role);
    if (!strcmp(r, "developer")) r = "system";   /* OpenAI's newer name for the system turn */
    if (strcmp(r, "system") && strcmp(r, "user") && strcmp(r, "assistant") && strcmp(r, "tool"))
      return fail(err, 400, "messages", "invalid_value",
                  "messages[%zu].role '%.40s' is not one of system, developer, user, assistant, tool", i, r);
    req->roles[i] = r;
    if (message_content(req, m, (int64_t)i, &req->contents[i], err)) return -1;
    req->msgs[i] = (dseek_chat_message){sizeof(dseek_chat_message), r, req->contents[i], NULL, 0};
    req->msg_ptrs[i] = &req->msgs[i];
    if (tools_parse_message_calls(req, m, (int64_t)i, err)) return -1;
  }
  return 0;
}

/* The tools' description at the end of the last system message (R1's
 * template keeps only the last one; V3's and R1-0528's join them all), or as a
 * first system message. */
static int add_tools_prompt(request *req, request_error *err)
{
  int none;
  char *text = tools_system_text(req, &none);
  if (none) return 0;
  if (!text) return fail(err, 500, NULL, "no_memory", "out of memory");
  int64_t n = req->n_messages, last = -1;
  for (int64_t i = 0; i < n; i++)
    if (!strcmp(req->msgs[i].role, "system")) last = i;
  if (last < 0) {
    memmove(req->msgs + 1, req->msgs, (size_t)n * sizeof *req->msgs);
    for (int64_t i = 0; i <= n; i++) req->msg_ptrs[i] = &req->msgs[i];
    req->msgs[0] = (dseek_chat_message){sizeof(dseek_chat_message), "system", "", NULL, 0};
    req->n_messages = ++n;
    last = 0;
  }
  const char *old = req->msgs[last].content;
  size_t a = strlen(old), b = strlen(text);
  char *joined = malloc(a + b + 1);
  if (!joined) { free(text); return fail(err, 500, NULL, "no_memory", "out of memory"); }
  memcpy(joined, old, a);
  const char *t = a ? text : text + 2;   /* no blank lines before a lone tools section */
  memcpy(joined + a, t, strlen(t) + 1);
  free(text);
  req->owned[n] = joined;   /* owned has room for n_messages + 1 */
  req->msgs[last].content = joined;
  for (int64_t i = 0; i < n; i++) {   /* roles and contents as the messages now are */
    req->roles[i] = req->msgs[i].role;
    req->contents[i] = req->msgs[i].content ? req->msgs[i].content : "";
  }
  return 0;
}

static int parse_logprobs(request *req, json_t *root, request_error *err)
{
  if (req->kind == REQUEST_COMPLETION) {
    /* /v1/completions: logprobs is the number of alternatives (0..5) */
    int64_t k = -1;
    if (get_int(root, "logprobs", 0, 5, &k, err) < 0) return -1;
    req->logprobs = k >= 0;
    req->top_logprobs = k > 0 ? k : 0;
    return 0;
  }
  if (get_bool(root, "logprobs", &req->logprobs, err) < 0) return -1;
  int r = get_int(root, "top_logprobs", 0, 20, &req->top_logprobs, err);
  if (r < 0) return -1;
  if (r && !req->logprobs)
    return fail(err, 400, "top_logprobs", "invalid_value", "'top_logprobs' needs 'logprobs': true");
  return 0;
}

static int parse_stop(request *req, json_t *root, request_error *err)
{
  json_t *stop = field(root, "stop");
  if (!stop) return 0;
  if (json_is_string(stop)) {
    if (json_string_length(stop) == 0) return fail(err, 400, "stop", "invalid_value", "'stop' strings must not be empty");
    req->stop[req->n_stop++] = json_string_value(stop);
    return 0;
  }
  if (!json_is_array(stop) || json_array_size(stop) > REQUEST_MAX_STOP)
    return fail(err, 400, "stop", "invalid_value", "'stop' must be a string or an array of at most %d strings", REQUEST_MAX_STOP);
  size_t i;
  json_t *s;
  json_array_foreach(stop, i, s) {
    if (!json_is_string(s) || json_string_length(s) == 0)
      return fail(err, 400, "stop", "invalid_value", "stop[%zu] must be a non-empty string", i);
    req->stop[req->n_stop++] = json_string_value(s);
  }
  return 0;
}

static int parse_format(request *req, json_t *root, request_error *err)
{
  json_t *rf = field(root, "response_format");
  if (!rf) return 0;
  json_t *type = json_object_get(rf, "type");
  if (!json_is_object(rf) || !json_is_string(type))
    return fail(err, 400, "response_format", "invalid_value", "'response_format' must be an object with a string 'type'");
  const char *t = json_string_value(type);
  if (!strcmp(t, "text")) return 0;
  if (!strcmp(t, "json_object")) { req->format = FORMAT_JSON_OBJECT; return 0; }
  if (strcmp(t, "json_schema"))
    return fail(err, 400, "response_format", "invalid_value",
                "response_format.type '%.40s' is not one of text, json_object, json_schema", t);
  json_t *js = json_object_get(rf, "json_schema");
  json_t *schema = json_is_object(js) ? json_object_get(js, "schema") : NULL;
  if (!json_is_object(schema))
    return fail(err, 400, "response_format", "invalid_value", "response_format.json_schema.schema must be an object");
  req->schema_text = json_dumps(schema, JSON_COMPACT);
  if (!req->schema_text) return fail(err, 500, NULL, "no_memory", "out of memory");
  req->format = FORMAT_JSON_SCHEMA;
  return 0;
}

int64_t request_effort_budget(const char *effort)
{
  if (!strcmp(effort, "none") || !strcmp(effort, "minimal")) return 0;
  if (!strcmp(effort, "low")) return 512;
  if (!strcmp(effort, "medium")) return 2048;
  if (!strcmp(effort, "high")) return -1;
  return -2;
}

static int parse_thinking(request *req, json_t *root, request_error *err)
{
  json_t *effort = field(root, "reasoning_effort");
  if (effort) {
    int64_t b = json_is_string(effort) ? request_effort_budget(json_string_value(effort)) : -2;
    if (b == -2)
      return fail(err, 400, "reasoning_effort", "invalid_value",
                  "'reasoning_effort' must be one of none, minimal, low, medium, high");
    req->thinking_budget = b;
  }
  static const char *const names[2] = {"thinking_token_budget", "thinking_budget"};
  for (int i = 0; i < 2; i++)
    if (get_int(root, names[i], -1, INT32_MAX, &req->thinking_budget, err) < 0) return -1;
  return 0;
}

/* Fields that need what this server cannot do: refused, naming them. */
static int refuse_unsupported(json_t *root, request_error *err)
{
  json_t *echo = field(root, "echo");
  if ((echo && !json_is_false(echo)) || (json_is_integer(echo) && json_integer_value(echo)))
    return fail(err, 400, "echo", "unsupported_parameter", "'echo' is not supported by this server");
  return 0;
}

static int parse_fields(request *req, json_t *root, const request_limits *limits, request_error *err)
{
  json_t *model = field(root, "model");
  if (model && !json_is_string(model)) return fail(err, 400, "model", "invalid_type", "'model' must be a string");
  if (refuse_unsupported(root, err)) return -1;
  if (req->kind == REQUEST_CHAT) {
    if (parse_messages(req, root, err) || tools_parse(req, root, err) || add_tools_prompt(req, err)) return -1;
  } else {
    if (field(root, "tools")) return fail(err, 400, "tools", "unsupported_parameter", "'tools' is a chat completions field");
    json_t *p = field(root, "prompt");
    if (json_is_array(p) && json_array_size(p) == 1) p = json_array_get(p, 0);
    if (!p) return fail(err, 400, "prompt", "missing_required_parameter", "'prompt' is required");
    if (!json_is_string(p)) return fail(err, 400, "prompt", "invalid_type", "'prompt' must be a string (or an array of one string)");
    req->prompt = json_string_value(p);
  }
  if (get_int(root, "max_tokens", 1, limits->max_tokens, &req->max_tokens, err) < 0) return -1;
  if (get_int(root, "max_completion_tokens", 1, limits->max_tokens, &req->max_tokens, err) < 0) return -1;
  int r;
  if ((r = get_number(root, "temperature", 0.0, 2.0, &req->temperature, err)) < 0) return -1;
  req->has_temperature = r;
  if ((r = get_number(root, "top_p", 1e-9, 1.0, &req->top_p, err)) < 0) return -1;
  req->has_top_p = r;
  if (get_number(root, "frequency_penalty", -2.0, 2.0, &req->frequency_penalty, err) < 0) return -1;
  if (get_number(root, "presence_penalty", -2.0, 2.0, &req->presence_penalty, err) < 0) return -1;
  int64_t seed = 0;
  if ((r = get_int(root, "seed", INT64_MIN, INT64_MAX, &seed, err)) < 0) return -1;
  req->has_seed = r;
  req->seed = (uint64_t)seed;
  if (get_int(root, "n", 1, REQUEST_MAX_N, &req->n, err) < 0) return -1;
  if (get_bool(root, "stream", &req->stream, err) < 0) return -1;
  json_t *so = field(root, "stream_options");
  if (so) {
    if (!json_is_object(so)) return fail(err, 400, "stream_options", "invalid_type", "'stream_options' must be an object");
    if (get_bool(so, "include_usage", &req->include_usage, err) < 0) { err->param = "stream_options"; return -1; }
  }
  if (parse_stop(req, root, err) || parse_format(req, root, err) || parse_thinking(req, root, err) ||
      parse_logprobs(req, root, err))
    return -1;
  if (req->tool_choice >= TOOL_CHOICE_REQUIRED && req->format != FORMAT_TEXT)
    return fail(err, 400, "tool_choice", "unsupported_value", "a forced tool call and response_format exclude each other");
  if (req->n > 1 && (req->tool_choice >= TOOL_CHOICE_REQUIRED || req->logprobs))
    return fail(err, 400, "n", "unsupported_value", "'n' > 1: not together with a forced tool call or logprobs");
  if (req->n > 1 && (req->format != FORMAT_TEXT || req->thinking_budget >= 0))
    return fail(err, 400, "n", "unsupported_value",
                "'n' > 1 samples in one batch: not together with response_format or a thinking budget");
  return 0;
}

int request_parse(const char *body, size_t len, request_kind kind, const request_limits *limits,
                  request *req, request_error *err)
{
  memset(req, 0, sizeof *req);
  memset(err, 0, sizeof *err);
  req->kind = kind;
  req->max_tokens = -1;
  req->n = 1;
  req->thinking_budget = -1;
  json_error_t je;
  req->root = json_loadb(body, len, 0, &je);
  if (!req->root)
    return fail(err, 400, NULL, "invalid_json", "the body is not valid JSON: line %d column %d: %s", je.line,
                je.column, je.text);
  if (!json_is_object(req->root)) {
    request_free(req);
    return fail(err, 400, NULL, "invalid_json", "the body must be a JSON object");
  }
  if (parse_fields(req, req->root, limits, err)) {
    request_free(req);
    return -1;
  }
  return 0;
}

void request_free(request *req)
{
  if (req->owned)
    for (int64_t i = 0; i <= req->n_messages; i++) free(req->owned[i]);
  if (req->calls)
    for (int64_t i = 0; i <= req->n_messages; i++) {
      free(req->calls[i]);
      free(req->call_ptrs[i]);
    }
  free(req->calls);
  free(req->call_ptrs);
  free(req->msgs);
  free(req->msg_ptrs);
  free(req->owned);
  free(req->roles);
  free(req->contents);
  free(req->schema_text);
  json_decref(req->root);
  memset(req, 0, sizeof *req);
}
