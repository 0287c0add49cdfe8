/* fuzz_server_request.c — request bodies through dseek serve's parser
 * (examples/server/request.c, the code the server runs on every body).
 * Input: the body; it is parsed as a chat request and as a text completion.
 *
 * A refused body must come with a 4xx/5xx status, a type and a message; an
 * accepted one must hold only values the server can act on: known roles,
 * every content a string, n, max_tokens, temperature, top_p and the stop list
 * within their limits, a json_schema that is itself valid JSON. */
#include "fuzz.h"
#include "request.h"
#include "tools.h"

#include <string.h>

#define LIMIT_MAX_TOKENS 4096

static void check(const request *req, request_kind kind)
{
  FUZZ_ASSERT(req->root && req->kind == kind, "kind");
  FUZZ_ASSERT(req->n >= 1 && req->n <= REQUEST_MAX_N, "n = %lld", (long long)req->n);
  FUZZ_ASSERT(req->max_tokens == -1 || (req->max_tokens >= 1 && req->max_tokens <= LIMIT_MAX_TOKENS), "max_tokens");
  FUZZ_ASSERT(!req->has_temperature || (req->temperature >= 0 && req->temperature <= 2), "temperature");
  FUZZ_ASSERT(!req->has_top_p || (req->top_p > 0 && req->top_p <= 1), "top_p");
  FUZZ_ASSERT(req->n_stop >= 0 && req->n_stop <= REQUEST_MAX_STOP, "n_stop");
  for (int64_t i = 0; i < req->n_stop; i++) FUZZ_ASSERT(req->stop[i] && req->stop[i][0], "stop[%lld]", (long long)i);
  FUZZ_ASSERT(req->thinking_budget >= -1, "thinking_budget");
  if (kind == REQUEST_CHAT) {
    FUZZ_ASSERT(req->n_messages >= 1, "no messages");
    for (int64_t i = 0; i < req->n_messages; i++) {
      const char *r = req->roles[i];
      FUZZ_ASSERT(r && (!strcmp(r, "system") || !strcmp(r, "user") || !strcmp(r, "assistant") || !strcmp(r, "tool")),
                  "role %lld", (long long)i);
      FUZZ_ASSERT(req->contents[i], "content %lld", (long long)i);
      const dseek_chat_message *m = req->msg_ptrs[i];
      FUZZ_ASSERT(m && m->role == req->roles[i] && (m->content || (!strcmp(r, "assistant") && m->n_tool_calls > 0)),
                  "message %lld", (long long)i);
      for (int64_t k = 0; k < m->n_tool_calls; k++)
        FUZZ_ASSERT(m->tool_calls[k]->name && m->tool_calls[k]->arguments, "call %lld.%lld", (long long)i, (long long)k);
    }
  } else {
    FUZZ_ASSERT(req->prompt, "prompt");
  }
  if (req->format == FORMAT_JSON_SCHEMA) {
    json_error_t e;
    json_t *schema = json_loads(req->schema_text, 0, &e);
    FUZZ_ASSERT(json_is_object(schema), "schema text does not parse back");
    json_decref(schema);
  }
  FUZZ_ASSERT(req->top_logprobs >= 0 && req->top_logprobs <= 20, "top_logprobs");
  FUZZ_ASSERT(req->tool_choice == TOOL_CHOICE_NONE || req->tools, "tool_choice without tools");
  FUZZ_ASSERT(req->tool_choice != TOOL_CHOICE_NAMED || req->tool_name, "named tool_choice without a name");
  if (req->tool_choice >= TOOL_CHOICE_REQUIRED) {   /* the forced call's grammar (tools.c) */
    request_error gerr;
    char *g = tools_grammar(req, &gerr);
    FUZZ_ASSERT(g || gerr.status == 400, "tools_grammar failed without a 400");
    free(g);
  }
  if (req->n > 1) FUZZ_ASSERT(req->format == FORMAT_TEXT && req->thinking_budget == -1, "n > 1 combination");
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
  static const request_kind kinds[2] = {REQUEST_CHAT, REQUEST_COMPLETION};
  request_limits limits = {.max_tokens = LIMIT_MAX_TOKENS};
  for (int k = 0; k < 2; k++) {
    request req;
    request_error err;
    if (request_parse((const char *)data, size, kinds[k], &limits, &req, &err) == 0) {
      check(&req, kinds[k]);
      request_free(&req);
    } else {
      FUZZ_ASSERT(err.status >= 400 && err.status < 600, "status %d", err.status);
      FUZZ_ASSERT(err.type && err.message[0], "an error without type or message");
      FUZZ_ASSERT(!req.root, "a refused request keeps its JSON");
    }
  }
  return 0;
}
