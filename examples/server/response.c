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

const char *response_choice_finish(const choice *c)
{
  return c->tool_calls ? "tool_calls" : response_finish_reason(c->result.stop_reason);
}

/* A token's text as a JSON string: its bytes when they are UTF-8, else with
 * U+FFFD for the token (a piece may end inside a character; `bytes` has them). */
static json_t *piece_string(const char *p, size_t n)
{
  json_t *s = json_stringn(p, n);
  return s ? s : json_string("\xEF\xBF\xBD");
}

static json_t *piece_bytes(const char *p, size_t n)
{
  json_t *a = json_array();
  for (size_t i = 0; i < n; i++) json_array_append_new(a, json_integer((unsigned char)p[i]));
  return a;
}

/* {"token", "logprob", "bytes"} of one token. */
static json_t *token_logprob(const server *srv, int32_t token, float logprob)
{
  const char *p = "";
  size_t n = 0;
  if (dseek_token_piece(srv->model, token, &p, &n)) n = 0;
  if (!(logprob > -9999.0f)) logprob = -9999.0f;   /* JSON has no -inf (OpenAI's floor for "impossible") */
  return json_pack("{s:o, s:f, s:o}", "token", piece_string(p, n), "logprob", (double)logprob, "bytes",
                   piece_bytes(p, n));
}

json_t *response_logprob_entry(const server *srv, const dseek_token_info *info)
{
  json_t *e = token_logprob(srv, info->token, info->logprob);
  json_t *top = json_array();
  for (int32_t k = 0; k < info->n_top; k++)
    json_array_append_new(top, token_logprob(srv, info->top_tokens[k], info->top_logprobs[k]));
  json_object_set_new(e, "top_logprobs", top);
  return e;
}

/* /v1/completions' older logprobs shape: tokens, token_logprobs,
 * top_logprobs (one {token: logprob} object per token), text_offset. */
static json_t *completion_logprobs(const json_t *entries)
{
  json_t *tokens = json_array(), *lps = json_array(), *tops = json_array(), *offs = json_array();
  size_t i, off = 0;
  json_t *e;
  json_array_foreach(entries, i, e) {
    json_t *tok = json_object_get(e, "token");
    json_array_append(tokens, tok);
    json_array_append(lps, json_object_get(e, "logprob"));
    json_array_append_new(offs, json_integer((json_int_t)off));
    off += json_array_size(json_object_get(e, "bytes"));
    json_t *obj = json_object(), *alt;
    size_t k;
    json_array_foreach(json_object_get(e, "top_logprobs"), k, alt)
      json_object_set(obj, json_string_value(json_object_get(alt, "token")), json_object_get(alt, "logprob"));
    json_array_append_new(tops, obj);
  }
  return json_pack("{s:o, s:o, s:o, s:o}", "tokens", tokens, "token_logprobs", lps, "top_logprobs", tops,
                   "text_offset", offs);
}

static json_t *chat_logprobs(const json_t *entries)
{
  return entries ? json_pack("{s:O, s:[]}", "content", entries, "refusal") : json_null();
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
    const char *finish = response_choice_finish(c);
    json_t *one;
    if (chat) {
      json_t *content = c->tool_calls && !c->content.len ? json_null()
                                                          : json_stringn(c->content.data ? c->content.data : "", c->content.len);
      json_t *msg = json_pack("{s:s, s:o, s:o}", "role", "assistant", "content", content ? content : json_string(""),
                              "reasoning_content", text_or_null(&c->reasoning));
      if (c->tool_calls) json_object_set(msg, "tool_calls", c->tool_calls);
      one = json_pack("{s:I, s:o, s:o, s:s}", "index", (json_int_t)i, "message", msg, "logprobs",
                      chat_logprobs(c->logprobs), "finish_reason", finish);
    } else {
      one = json_pack("{s:s%, s:I, s:o, s:s}", "text", c->content.data ? c->content.data : "", c->content.len,
                      "index", (json_int_t)i, "logprobs", c->logprobs ? completion_logprobs(c->logprobs) : json_null(),
                      "finish_reason", finish);
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

char *response_chunk_delta(const server *srv, const job *j, int64_t index, int kind, const char *text, size_t len,
                           const json_t *logprobs)
{
  json_t *c;
  int has_lp = logprobs && json_array_size(logprobs) > 0;
  if (j->req->kind != REQUEST_CHAT) {
    c = json_pack("{s:s%, s:I, s:o, s:n}", "text", text ? text : "", text ? len : 0, "index", (json_int_t)index,
                  "logprobs", has_lp ? completion_logprobs(logprobs) : json_null(), "finish_reason");
  } else {
    json_t *delta = kind == 0 ? json_pack("{s:s, s:s}", "role", "assistant", "content", "")
                              : json_pack("{s:s%}", kind == DSEEK_PIECE_REASONING ? "reasoning_content" : "content",
                                          text, len);
    c = json_pack("{s:I, s:o, s:o, s:n}", "index", (json_int_t)index, "delta", delta, "logprobs",
                  has_lp ? chat_logprobs(logprobs) : json_null(), "finish_reason");
  }
  return chunk(srv, j, c);
}

/* OpenAI streams a call as delta.tool_calls[] entries with their index; the
 * first carries id, type and the name. Each call is sent whole, in one entry. */
char *response_chunk_tool_calls(const server *srv, const job *j, int64_t index, const json_t *calls)
{
  json_t *list = json_array(), *call;
  size_t k;
  json_array_foreach(calls, k, call) {
    json_t *one = json_deep_copy(call);
    json_object_set_new(one, "index", json_integer((json_int_t)k));
    json_array_append_new(list, one);
  }
  json_t *c = json_pack("{s:I, s:{s:o}, s:n, s:n}", "index", (json_int_t)index, "delta", "tool_calls", list,
                        "logprobs", "finish_reason");
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
