/*
 * tools.h — OpenAI tool calling over DeepSeek's tool-call block: the request's
 * `tools` and `tool_choice`, assistant `tool_calls` messages (parsed in
 * request.c's pass), the system text that describes the tools, the grammar
 * that forces a call (tool_choice required or a named function) and the
 * calls read back from an answer.
 */
#ifndef DSEEK_SERVER_TOOLS_H
#define DSEEK_SERVER_TOOLS_H

#include "request.h"

/* The block's markers (UTF-8 of DeepSeek's added tokens). */
#define CALLS_BEGIN "<\xEF\xBD\x9Ctool\xE2\x96\x81" "calls\xE2\x96\x81" "begin\xEF\xBD\x9C>"
#define CALLS_END "<\xEF\xBD\x9Ctool\xE2\x96\x81" "calls\xE2\x96\x81" "end\xEF\xBD\x9C>"
#define CALL_BEGIN "<\xEF\xBD\x9Ctool\xE2\x96\x81" "call\xE2\x96\x81" "begin\xEF\xBD\x9C>"
#define CALL_END "<\xEF\xBD\x9Ctool\xE2\x96\x81" "call\xE2\x96\x81" "end\xEF\xBD\x9C>"
#define TOOL_SEP "<\xEF\xBD\x9Ctool\xE2\x96\x81sep\xEF\xBD\x9C>"

/* Parse `tools` and `tool_choice` of a chat body. 0, or -1 with err set. */
int tools_parse(request *req, json_t *root, request_error *err);

/* messages[i].tool_calls of an assistant message into req->msgs[i]. */
int tools_parse_message_calls(request *req, json_t *msg, int64_t i, request_error *err);

/* The text appended to the system prompt to describe the tools (malloc'ed;
 * NULL when there is nothing to describe or out of memory: *none tells). */
char *tools_system_text(const request *req, int *none);

/* GBNF for tool_choice required / named: exactly one tool-call block whose
 * arguments follow the function's `parameters` schema. NULL with a message in
 * err (400) when a schema is not supported. */
char *tools_grammar(const request *req, request_error *err);

/* The calls in an answer as an OpenAI tool_calls array (ids "call_<job>_<i>"),
 * or NULL when it has none; *content_len is the answer text before the block. */
json_t *tools_from_answer(const char *text, size_t len, const char *job_id, size_t *content_len);

#endif
