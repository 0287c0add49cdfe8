/*
 * response.c — OpenAI-shaped JSON bodies (OpenAI API reference: "The chat
 * completion object", "The chat completion chunk object", "The completion
 * object", error objects). The reasoning goes in `reasoning_content` of the
 * message or delta, as DeepSeek's API and vLLM's reasoning parsers put it; the
 * usage counts it in completion_tokens_details.reasoning_tokens.
 */
#include "response.h"

#include <stdlib.h>
#include <string.h>

static char *dump(json_t *v)
{
  if (!v) return NULL;
  char *s = json_dumps(v, JSON_COMPACT);
  json_decref(v);
  return s;
}

char *response_error(const char *message, const char *type, const char *param, const char *code)
{
  return dump(json_pack("{s:{s:s, s:s, s:s?, s:s?}}", "error", "message", message, "type", type, "param", param,
                        "code", code));
}

const char *response_finish_reason(int stop_reason)
{
  return stop_reason == DSEEK_STOP_MAX_TOKENS || stop_reason == DSEEK_STOP_CONTEXT_FULL ? "length" : "stop";
}

static json_t *usage(const job *j)
{
  int64_t completion = 0, reasoning = 0;
  for (int64_t i = 0; i < j->req->n; i++) {
    completion += j->choices[i].result.n_generated_tokens;
    reasoning += j->choices[i].result.n_reasoning_tokens;
  }
  const dseek_generate_result *r = &j->choices[0].result;
  return json_pack("{s:I, s:I, s:I, s:{s:I}, s:{s:I}}", "prompt_tokens", (json_int_t)r->n_prompt_tokens,
                   "completion_tokens", (json_int_t)completion, "total_tokens",
                   (json_int_t)(r->n_prompt_tokens + completion), "prompt_tokens_details", "cached_tokens",
                   (json_int_t)r->n_cached_tokens, "completion_tokens_details", "reasoning_tokens",
                   (json_int_t)reasoning);
}

static json_t *envelope(const server *srv, const job *j, const char *object)
{
  return json_pack("{s:s, s:s, s:I, s:s, s:s}", "id", j->id, "object", object, "created", (json_int_t)j->created,
                   "model", srv->cfg.model_id, "system_fingerprint", "dseek-" DSEEK_VERSION_STRING);
}

static json_t *text_or_null(const strbuf *b)
{
  return b->len ? json_stringn(b->data, b->len) : json_null();
}

char *response_completion(const server *srv, const job *j)
{
  int chat = j->req->kind == REQUEST_CHAT;
  json_t *root = envelope(srv, j, chat ? "chat.completion" : "text_completion");
  json_t *choices = json_array();
  for (int64_t i = 0; i < j->req->n; i++) {
    const choice *c = &j->choices[i];
    const char *finish = response_finish_reason(c->result.stop_reason);
    json_t *one;
    if (chat) {
      json_t *msg = json_pack("{s:s, s:s%, s:o}", "role", "assistant", "content", c->content.data ? c->content.data : "",
                              c->content.len, "reasoning_content", text_or_null(&c->reasoning));
      one = json_pack("{s:I, s:o, s:n, s:s}", "index", (json_int_t)i, "message", msg, "logprobs", "finish_reason", finish);
    } else {
      one = json_pack("{s:s%, s:I, s:n, s:s}", "text", c->content.data ? c->content.data : "", c->content.len,
                      "index", (json_int_t)i, "logprobs", "finish_reason", finish);
    }
    json_array_append_new(choices, one);
  }
  json_object_set_new(root, "choices", choices);
  json_object_set_new(root, "usage", usage(j));
  return dump(root);
}

static char *chunk(const server *srv, const job *j, json_t *choice_obj)
{
  int chat = j->req->kind == REQUEST_CHAT;
  json_t *root = envelope(srv, j, chat ? "chat.completion.chunk" : "text_completion");
  json_object_set_new(root, "choices", choice_obj ? json_pack("[o]", choice_obj) : json_array());
  if (j->req->include_usage) json_object_set_new(root, "usage", choice_obj ? json_null() : usage(j));
  return dump(root);
}

char *response_chunk_delta(const server *srv, const job *j, int64_t index, int kind, const char *text, size_t len)
{
  json_t *c;
  if (j->req->kind != REQUEST_CHAT) {
    c = json_pack("{s:s%, s:I, s:n, s:n}", "text", text ? text : "", text ? len : 0, "index", (json_int_t)index,
                  "logprobs", "finish_reason");
  } else {
    json_t *delta = kind == 0 ? json_pack("{s:s, s:s}", "role", "assistant", "content", "")
                              : json_pack("{s:s%}", kind == DSEEK_PIECE_REASONING ? "reasoning_content" : "content",
                                          text, len);
    c = json_pack("{s:I, s:o, s:n, s:n}", "index", (json_int_t)index, "delta", delta, "logprobs", "finish_reason");
  }
  return chunk(srv, j, c);
}

char *response_chunk_finish(const server *srv, const job *j, int64_t index, const char *finish_reason)
{
  json_t *c = j->req->kind == REQUEST_CHAT
                  ? json_pack("{s:I, s:{}, s:n, s:s}", "index", (json_int_t)index, "delta", "logprobs", "finish_reason",
                              finish_reason)
                  : json_pack("{s:s, s:I, s:n, s:s}", "text", "", "index", (json_int_t)index, "logprobs",
                              "finish_reason", finish_reason);
  return chunk(srv, j, c);
}

char *response_chunk_usage(const server *srv, const job *j)
{
  return chunk(srv, j, NULL);
}

char *response_models(const server *srv)
{
  return dump(json_pack("{s:s, s:[{s:s, s:s, s:I, s:s, s:I}]}", "object", "list", "data", "id", srv->cfg.model_id,
                        "object", "model", "created", (json_int_t)0, "owned_by", "dseek", "max_model_len",
                        (json_int_t)srv->cfg.n_ctx));
}

char *response_health(const server *srv)
{
  int idle, queued;
  pool_counts(srv->pool, &idle, &queued);
  return dump(json_pack("{s:s, s:i, s:i, s:i}", "status", atomic_load(&srv->stopping) ? "stopping" : "ok",
                        "slots_idle", idle, "slots_total", srv->cfg.n_slots, "queue", queued));
}
