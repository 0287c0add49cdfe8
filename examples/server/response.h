/*
 * response.h — the JSON bodies the server sends, in OpenAI's shapes
 * (chat.completion, chat.completion.chunk, text_completion, error, model
 * list). Every function returns a malloc'ed string (NULL when out of memory).
 */
#ifndef DSEEK_SERVER_RESPONSE_H
#define DSEEK_SERVER_RESPONSE_H

#include "server.h"

/* {"error": {"message", "type", "param", "code"}} */
char *response_error(const char *message, const char *type, const char *param, const char *code);

/* OpenAI's finish_reason for a dseek_stop_reason: "stop" or "length". */
const char *response_finish_reason(int stop_reason);

/* "tool_calls" when the choice called tools, else response_finish_reason. */
const char *response_choice_finish(const choice *c);

/* The logprobs entry of one token: {token, logprob, bytes, top_logprobs}. */
json_t *response_logprob_entry(const server *srv, const dseek_token_info *info);

/* The whole reply of a finished job (chat.completion or text_completion). */
char *response_completion(const server *srv, const job *j);

/* Stream chunks: a delta (kind: DSEEK_PIECE_*; 0 with text NULL: the opening
 * chunk carrying the role), the finishing chunk of choice `index`, and the
 * usage chunk (no choices). */
char *response_chunk_delta(const server *srv, const job *j, int64_t index, int kind, const char *text, size_t len,
                           const json_t *logprobs);
/* A chunk with the choice's tool calls (delta.tool_calls[] with index). */
char *response_chunk_tool_calls(const server *srv, const job *j, int64_t index, const json_t *calls);
char *response_chunk_finish(const server *srv, const job *j, int64_t index, const char *finish_reason);
char *response_chunk_usage(const server *srv, const job *j);

char *response_models(const server *srv);
char *response_health(const server *srv);

#endif
