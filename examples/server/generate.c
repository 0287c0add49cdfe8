/*
 * generate.c — run one job on a slot's context: the sampler from the
 * request, dseek_generate (n = 1, streamed piece by piece) or
 * dseek_generate_parallel (n > 1: one prompt evaluation, a shared KV cache),
 * the reply collected per choice and, for a stream, SSE chunks as it grows.
 */
#include "response.h"
#include "tools.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* response_format json_object: any JSON object (RFC 8259's grammar, with at
 * most a few whitespace characters between tokens so that a model cannot
 * spend its tokens on blanks). */
static const char json_object_gbnf[] =
    "root ::= object\n"
    "value ::= object | array | string | number | \"true\" | \"false\" | \"null\"\n"
    "object ::= \"{\" ws ( member ( \",\" ws member )* )? \"}\" ws\n"
    "member ::= string \":\" ws value\n"
    "array ::= \"[\" ws ( value ( \",\" ws value )* )? \"]\" ws\n"
    "string ::= \"\\\"\" ( [^\"\\\\\\x00-\\x1f] | \"\\\\\" ( [\"\\\\/bfnrt] | \"u\" [0-9a-fA-F]{4} ) )* \"\\\"\" ws\n"
    "number ::= \"-\"? ( \"0\" | [1-9] [0-9]{0,15} ) ( \".\" [0-9]{1,16} )? ( [eE] [-+]? [0-9]{1,3} )? ws\n"
    "ws ::= [ \\t\\n]{0,2}\n";

static uint64_t fresh_seed(void)
{
  static atomic_ullong counter;
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  return ((uint64_t)ts.tv_sec * 1000000007ull) ^ (uint64_t)ts.tv_nsec ^ (atomic_fetch_add(&counter, 1) << 40);
}

static dseek_sampler *make_sampler(const server *srv, const request *req)
{
  double temp = req->has_temperature ? req->temperature : srv->cfg.temperature;
  double top_p = req->has_top_p ? req->top_p : srv->cfg.top_p;
  dseek_sampler *s = NULL;
  if (dseek_sampler_create(req->has_seed ? req->seed : fresh_seed(), &s)) return NULL;
  if (req->frequency_penalty != 0 || req->presence_penalty != 0)
    dseek_sampler_add_penalties(s, 256, 1.0f, (float)req->frequency_penalty, (float)req->presence_penalty);
  if (temp <= 0) {
    dseek_sampler_add_greedy(s);
  } else {
    if (top_p < 1) dseek_sampler_add_top_p(s, (float)top_p);
    dseek_sampler_add_temperature(s, (float)temp);
  }
  return s;
}

static void emit(job *j, char *json)
{
  if (json) job_append_event(j, json);
  free(json);
}

typedef struct piece_sink {
  server *srv;
  job *j;
  json_t *pending;   /* stream: logprob entries of tokens whose text is not sent yet */
} piece_sink;

/* Content bytes that can be streamed: with tools, not the tool-call block
 * nor a tail that may be the start of its opening marker. */
static size_t sendable(const job *j, const strbuf *content)
{
  if (j->req->tool_choice == TOOL_CHOICE_NONE) return content->len;
  size_t m = strlen(CALLS_BEGIN);
  for (size_t i = 0; i < content->len; i++) {
    size_t k = content->len - i < m ? content->len - i : m;
    if (memcmp(content->data + i, CALLS_BEGIN, k) == 0) return i;
  }
  return content->len;
}

/* Send the content not sent yet that may be sent, with the pending logprobs. */
static void send_content(piece_sink *sink, int final)
{
  job *j = sink->j;
  choice *c = &j->choices[0];
  size_t upto = final && !c->tool_calls ? c->content.len : sendable(j, &c->content);
  if (upto > c->streamed) {
    emit(j, response_chunk_delta(sink->srv, j, 0, DSEEK_PIECE_CONTENT, c->content.data + c->streamed,
                                 upto - c->streamed, sink->pending));
    c->streamed = upto;
    if (sink->pending) json_array_clear(sink->pending);
  }
}

static int on_piece(dseek_piece_kind kind, const char *text, size_t len, void *user)
{
  piece_sink *sink = user;
  job *j = sink->j;
  choice *c = &j->choices[0];
  strbuf_append(kind == DSEEK_PIECE_REASONING ? &c->reasoning : &c->content, text, len);
  if (j->req->stream) {
    if (kind == DSEEK_PIECE_REASONING) {
      emit(j, response_chunk_delta(sink->srv, j, 0, kind, text, len, NULL));
    } else if (j->req->tool_choice == TOOL_CHOICE_NONE) {   /* every piece as it comes */
      emit(j, response_chunk_delta(sink->srv, j, 0, kind, text, len, sink->pending));
      c->streamed = c->content.len;
      if (sink->pending) json_array_clear(sink->pending);
    } else {
      send_content(sink, 0);
    }
  }
  return atomic_load(&j->cancelled);
}

/* logprobs: one OpenAI entry per sampled token. */
static int on_token(const dseek_token_info *info, void *user)
{
  piece_sink *sink = user;
  job *j = sink->j;
  json_t *entry = response_logprob_entry(sink->srv, info);
  if (!entry) return 0;
  json_array_append(j->choices[0].logprobs, entry);
  if (sink->pending) json_array_append(sink->pending, entry);
  json_decref(entry);
  return 0;
}

static dseek_status run_parallel(dseek_context *ctx, job *j, const dseek_generate_options *opts)
{
  int64_t n = j->req->n;
  uint64_t seeds[REQUEST_MAX_N];
  uint64_t base = j->req->has_seed ? j->req->seed : fresh_seed();
  for (int64_t i = 0; i < n; i++) seeds[i] = base + (uint64_t)i;
  dseek_samples *samples = NULL;
  dseek_status st = dseek_generate_parallel(ctx, j->prompt, n, seeds, opts, &samples);
  for (int64_t i = 0; st == DSEEK_OK && i < n; i++) {
    choice *c = &j->choices[i];
    size_t len;
    const char *t = dseek_samples_content(samples, i, &len);
    strbuf_append(&c->content, t ? t : "", t ? len : 0);
    t = dseek_samples_reasoning(samples, i, &len);
    strbuf_append(&c->reasoning, t ? t : "", t ? len : 0);
    c->result.struct_size = sizeof c->result;
    dseek_samples_result(samples, i, &c->result);
  }
  dseek_samples_free(samples);
  return st;
}

/* A stream of n > 1 samples: each choice in one piece once all are done. */
static void emit_parallel(server *srv, job *j)
{
  for (int64_t i = 0; i < j->req->n; i++) {
    const choice *c = &j->choices[i];
    if (i > 0) emit(j, response_chunk_delta(srv, j, i, 0, NULL, 0, NULL));
    if (c->reasoning.len) emit(j, response_chunk_delta(srv, j, i, DSEEK_PIECE_REASONING, c->reasoning.data, c->reasoning.len, NULL));
    if (c->content.len) emit(j, response_chunk_delta(srv, j, i, DSEEK_PIECE_CONTENT, c->content.data, c->content.len, NULL));
  }
}

void generate_job(server *srv, dseek_context *ctx, job *j)
{
  const request *req = j->req;
  if (atomic_load(&j->cancelled)) { j->status = DSEEK_ERR_CANCELLED; return; }
  dseek_generate_options go;
  dseek_generate_options_init(&go, sizeof go);
  go.max_tokens = j->max_tokens;
  go.stop = req->stop;
  go.n_stop = req->n_stop;
  go.reasoning = req->kind == REQUEST_CHAT ? DSEEK_REASONING_AUTO : DSEEK_REASONING_OFF;
  go.sampler = make_sampler(srv, req);
  if (!go.sampler) {
    j->status = DSEEK_ERR_NO_MEMORY;
    snprintf(j->error, sizeof j->error, "sampler: %s", dseek_last_error());
    return;
  }
  if (req->stream && req->kind == REQUEST_CHAT) emit(j, response_chunk_delta(srv, j, 0, 0, NULL, 0, NULL));
  piece_sink sink = {srv, j, NULL};
  if (req->n > 1) {
    j->status = run_parallel(ctx, j, &go);
    if (j->status == DSEEK_OK && req->stream) emit_parallel(srv, j);
  } else {
    go.stream = on_piece;
    go.stream_user_data = &sink;
    if (req->logprobs) {
      j->choices[0].logprobs = json_array();
      if (req->stream) sink.pending = json_array();
      go.on_token = on_token;
      go.on_token_user_data = &sink;
      go.top_logprobs = (int32_t)req->top_logprobs;
    }
    if (j->tool_grammar) go.grammar = j->tool_grammar;
    go.max_thinking_tokens = req->thinking_budget;
    if (req->format == FORMAT_JSON_OBJECT) go.grammar = json_object_gbnf;
    if (req->format == FORMAT_JSON_SCHEMA) go.json_schema = req->schema_text;
    j->choices[0].result.struct_size = sizeof j->choices[0].result;
    j->status = dseek_generate(ctx, j->prompt, &go, &j->choices[0].result);
  }
  dseek_sampler_free(go.sampler);
  if (j->status != DSEEK_OK) snprintf(j->error, sizeof j->error, "%s", dseek_last_error());
  /* The answer's tool-call block becomes tool_calls; content keeps what precedes it. */
  for (int64_t i = 0; j->status == DSEEK_OK && req->tool_choice != TOOL_CHOICE_NONE && i < req->n; i++) {
    choice *c = &j->choices[i];
    size_t before;
    c->tool_calls = tools_from_answer(c->content.data ? c->content.data : "", c->content.len, j->id, &before);
    if (c->tool_calls) c->content.len = before;
  }
  if (!req->stream) {
    json_decref(sink.pending);
    return;
  }
  if (req->n == 1 && j->status == DSEEK_OK) send_content(&sink, 1);
  json_decref(sink.pending);
  if (j->status != DSEEK_OK && j->status != DSEEK_ERR_CANCELLED) {
    emit(j, response_error(j->error, "server_error", NULL, dseek_status_string(j->status)));
    return;
  }
  /* Ended by the client, the timeout or shutdown: the stream still closes
   * properly, the choice cut short ("length"). */
  int cut = atomic_load(&j->cancelled) || j->status == DSEEK_ERR_CANCELLED;
  for (int64_t i = 0; i < req->n; i++) {
    const choice *c = &j->choices[i];
    if (c->tool_calls) emit(j, response_chunk_tool_calls(srv, j, i, c->tool_calls));
    emit(j, response_chunk_finish(srv, j, i, cut ? "length" : response_choice_finish(c)));
  }
  if (req->include_usage) emit(j, response_chunk_usage(srv, j));
  pthread_mutex_lock(&j->mu);
  strbuf_append(&j->events, "data: [DONE]\n\n", 14);
  pthread_cond_broadcast(&j->changed);
  pthread_mutex_unlock(&j->mu);
}
