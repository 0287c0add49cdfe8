/*
 * http.c — routes and the request life cycle over libmicrohttpd.
 *
 * libmicrohttpd calls `on_request` several times per request: first to
 * create its state, then with each piece of the body, then with none left;
 * the reply is queued on that last call. Each connection has its own thread
 * (MHD_USE_THREAD_PER_CONNECTION), so a plain reply may wait there for its
 * job, and a stream's content reader may block until the slot appends text.
 * While waiting, both look at the socket: a client that hung up cancels its
 * job (within one token), and so does the request timeout.
 */
#define _GNU_SOURCE   /* POLLRDHUP: the peer closed its side */
#include "http.h"

#include "response.h"
#include "tools.h"

#include <microhttpd.h>
#include <netdb.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

typedef struct conn_state {
  server *srv;
  strbuf body;
  int too_large;
  double t0;
  int status;
  job *job;                 /* the generation, if one was started */
  int fd;
  char method[12], path[64];
} conn_state;

static double now(void)
{
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* The peer closed its side (or the socket failed). */
static int client_gone(int fd)
{
  struct pollfd p = {.fd = fd, .events = POLLRDHUP};
  return poll(&p, 1, 0) > 0 && (p.revents & (POLLRDHUP | POLLHUP | POLLERR | POLLNVAL));
}

/* Wait (j->mu held) until the job changes, watching the client and the clock.
 * Returns 1 when the client left. */
static int wait_job(server *srv, int fd, double t0, job *j)
{
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  ts.tv_nsec += 50 * 1000000L;
  if (ts.tv_nsec >= 1000000000L) ts.tv_sec++, ts.tv_nsec -= 1000000000L;
  pthread_cond_timedwait(&j->changed, &j->mu, &ts);
  int gone = client_gone(fd);
  int late = now() - t0 > srv->cfg.timeout || atomic_load(&srv->cancel_all);
  if ((gone || late) && !atomic_load(&j->cancelled)) {
    pthread_mutex_unlock(&j->mu);
    pool_cancel(srv->pool, j);   /* takes the pool's lock, then the job's */
    pthread_mutex_lock(&j->mu);
  }
  return gone;
}

/* Queue r with CORS's origin header and the (name, value, ..., NULL) headers. */
static enum MHD_Result queue_reply(struct MHD_Connection *conn, conn_state *cs, int status, struct MHD_Response *r,
                                   const char *const *headers)
{
  MHD_add_response_header(r, "Access-Control-Allow-Origin", "*");
  for (int i = 0; headers[i]; i += 2) MHD_add_response_header(r, headers[i], headers[i + 1]);
  cs->status = status;
  enum MHD_Result rc = MHD_queue_response(conn, (unsigned)status, r);
  MHD_destroy_response(r);
  return rc;
}

static enum MHD_Result send_body(struct MHD_Connection *conn, conn_state *cs, int status, char *json)
{
  static const char oom[] = "{\"error\":{\"message\":\"out of memory\",\"type\":\"server_error\",\"param\":null,\"code\":null}}";
  if (!json) {
    status = 500;
    json = strdup(oom);
    if (!json) return MHD_NO;
  }
  size_t len = strlen(json);
  struct MHD_Response *r = MHD_create_response_from_buffer(len, json, MHD_RESPMEM_MUST_FREE);
  if (!r) { free(json); return MHD_NO; }
  const char *const json_headers[] = {"Content-Type", "application/json", status == 503 ? "Retry-After" : NULL, "1", NULL};
  return queue_reply(conn, cs, status, r, json_headers);
}

static enum MHD_Result send_error(struct MHD_Connection *conn, conn_state *cs, int status, const char *type,
                                  const char *param, const char *code, const char *message)
{
  return send_body(conn, cs, status, response_error(message, type, param, code));
}

/* ---- streams ---- */

typedef struct stream_state {
  server *srv;
  int fd;
  double t0;
  job *job;
  size_t sent;
} stream_state;

static ssize_t stream_read(void *cls, uint64_t pos, char *buf, size_t max)
{
  (void)pos;
  stream_state *ss = cls;
  job *j = ss->job;
  pthread_mutex_lock(&j->mu);
  while (ss->sent == j->events.len && !j->done)
    if (wait_job(ss->srv, ss->fd, ss->t0, j)) { pthread_mutex_unlock(&j->mu); return MHD_CONTENT_READER_END_WITH_ERROR; }
  ssize_t n;
  if (ss->sent == j->events.len) {
    n = MHD_CONTENT_READER_END_OF_STREAM;
  } else {
    size_t avail = j->events.len - ss->sent;
    n = (ssize_t)(avail < max ? avail : max);
    memcpy(buf, j->events.data + ss->sent, (size_t)n);
    ss->sent += (size_t)n;
    if (ss->sent == j->events.len) ss->sent = j->events.len = 0;   /* all sent: reuse the buffer */
  }
  pthread_mutex_unlock(&j->mu);
  return n;
}

static void stream_free(void *cls)
{
  stream_state *ss = cls;
  pool_cancel(ss->srv->pool, ss->job);   /* no effect when it is done */
  job_release(ss->job);
  free(ss);
}

static enum MHD_Result send_stream(struct MHD_Connection *conn, conn_state *cs, job *j)
{
  stream_state *ss = calloc(1, sizeof *ss);
  if (!ss) return MHD_NO;
  ss->srv = cs->srv;
  ss->fd = cs->fd;
  ss->t0 = cs->t0;
  ss->job = j;
  atomic_fetch_add(&j->refs, 1);
  struct MHD_Response *r = MHD_create_response_from_callback(MHD_SIZE_UNKNOWN, 16384, stream_read, ss, stream_free);
  if (!r) { job_release(j); free(ss); return MHD_NO; }
  static const char *const sse_headers[] = {"Content-Type", "text/event-stream", "Cache-Control", "no-cache", NULL};
  return queue_reply(conn, cs, 200, r, sse_headers);
}

/* ---- completions ---- */

/* Render the prompt, tokenize it and size the reply. 0, or -1 with err set. */
static int prepare(server *srv, job *j, request_error *err)
{
  const request *req = j->req;
  err->status = 400;
  err->type = "invalid_request_error";
  err->param = NULL;
  err->code = NULL;
  size_t len = 0;
  dseek_status st;
  if (req->kind == REQUEST_CHAT) {
    int calls = 0;
    for (int64_t i = 0; i < req->n_messages; i++) calls |= req->msgs[i].n_tool_calls > 0;
    if ((calls || req->tool_choice != TOOL_CHOICE_NONE) && !dseek_model_has_tool_calls(srv->model)) {
      err->param = calls ? "messages" : "tools";
      err->code = "unsupported_value";
      snprintf(err->message, sizeof err->message,
               "%s: this model's chat template or vocabulary has no tool-call tokens (<｜tool▁calls▁begin｜>...), "
               "so it cannot call tools", calls ? "messages[].tool_calls" : "tools");
      return -1;
    }
    st = dseek_chat_render_messages(srv->model, req->msg_ptrs, req->n_messages, 1, NULL, 0, &len);
    if (st == DSEEK_ERR_BUFFER_TOO_SMALL && (j->prompt = malloc(len + 1)))
      st = dseek_chat_render_messages(srv->model, req->msg_ptrs, req->n_messages, 1, j->prompt, len + 1, &len);
    if (st) {
      err->param = "messages";
      snprintf(err->message, sizeof err->message, "messages: %s", dseek_last_error());
      return -1;
    }
  } else {
    len = strlen(req->prompt);
    if (!(j->prompt = strdup(req->prompt))) goto no_memory;
  }
  int64_t n = 0;
  st = dseek_tokenize(srv->model, j->prompt, len, 1, 1, NULL, 0, &n);
  if (st == DSEEK_ERR_BUFFER_TOO_SMALL || st == DSEEK_OK) {
    if (!(j->tokens = malloc((size_t)(n > 0 ? n : 1) * sizeof *j->tokens))) goto no_memory;
    st = dseek_tokenize(srv->model, j->prompt, len, 1, 1, j->tokens, n, &n);
  }
  if (st) {
    snprintf(err->message, sizeof err->message, "prompt: %s", dseek_last_error());
    return -1;
  }
  j->n_tokens = n;
  int64_t room = srv->cfg.n_ctx - n;
  if (room < 1) {
    err->param = req->kind == REQUEST_CHAT ? "messages" : "prompt";
    err->code = "context_length_exceeded";
    snprintf(err->message, sizeof err->message,
             "the prompt has %lld tokens; this server's context holds %lld (--ctx)", (long long)n,
             (long long)srv->cfg.n_ctx);
    return -1;
  }
  j->max_tokens = req->max_tokens > 0 ? req->max_tokens : (room < srv->cfg.max_tokens ? room : srv->cfg.max_tokens);
  if (req->tool_choice >= TOOL_CHOICE_REQUIRED && !(j->tool_grammar = tools_grammar(req, err))) return -1;
  if (req->format == FORMAT_JSON_SCHEMA) {
    st = dseek_json_schema_to_grammar(req->schema_text, NULL, 0, &len);
    if (st != DSEEK_OK && st != DSEEK_ERR_BUFFER_TOO_SMALL) {
      err->param = "response_format";
      snprintf(err->message, sizeof err->message, "response_format: %s", dseek_last_error());
      return -1;
    }
  }
  return 0;
no_memory:
  err->status = 500;
  err->type = "server_error";
  snprintf(err->message, sizeof err->message, "out of memory");
  return -1;
}

static enum MHD_Result completion(struct MHD_Connection *conn, conn_state *cs, request_kind kind)
{
  server *srv = cs->srv;
  if (atomic_load(&srv->stopping))
    return send_error(conn, cs, 503, "server_error", NULL, "shutting_down", "the server is shutting down");
  request_limits limits = {.max_tokens = srv->cfg.max_tokens};
  request_error err;
  request *req = malloc(sizeof *req);
  if (!req) return send_body(conn, cs, 500, NULL);
  if (request_parse(cs->body.data ? cs->body.data : "", cs->body.len, kind, &limits, req, &err)) {
    free(req);
    return send_error(conn, cs, err.status, err.type, err.param, err.code, err.message);
  }
  job *j = job_create(req);
  if (!j) { request_free(req); free(req); return send_body(conn, cs, 500, NULL); }
  cs->job = j;   /* released at request completion */
  if (prepare(srv, j, &err)) return send_error(conn, cs, err.status, err.type, err.param, err.code, err.message);
  if (pool_submit(srv->pool, j))
    return send_error(conn, cs, 503, "server_error", NULL, "server_overloaded",
                      "every slot is busy and the queue is full; retry later");
  if (req->stream) return send_stream(conn, cs, j);
  pthread_mutex_lock(&j->mu);
  int gone = 0;
  while (!j->done && !gone) gone = wait_job(srv, cs->fd, cs->t0, j);
  while (!j->done) pthread_cond_wait(&j->changed, &j->mu);
  pthread_mutex_unlock(&j->mu);
  if (gone) return MHD_NO;   /* nobody to answer: close the connection */
  if (j->status == DSEEK_ERR_CANCELLED)
    return send_error(conn, cs, atomic_load(&srv->stopping) ? 503 : 504, "server_error", NULL, "timeout",
                      "the request was cancelled before it ran (timeout or shutdown)");
  if (j->status == DSEEK_ERR_CONTEXT_FULL)
    return send_error(conn, cs, 400, "invalid_request_error", NULL, "context_length_exceeded", j->error);
  if (j->status == DSEEK_ERR_INVALID_ARG || j->status == DSEEK_ERR_UNSUPPORTED || j->status == DSEEK_ERR_FORMAT)
    return send_error(conn, cs, 400, "invalid_request_error", NULL, "invalid_value", j->error);
  if (j->status) return send_error(conn, cs, 500, "server_error", NULL, dseek_status_string(j->status), j->error);
  return send_body(conn, cs, 200, response_completion(srv, j));
}

/* ---- routing ---- */

static enum MHD_Result route(struct MHD_Connection *conn, conn_state *cs, const char *url, const char *method)
{
  static const struct { const char *path, *method; } routes[] = {
      {"/health", "GET"}, {"/v1/models", "GET"}, {"/v1/chat/completions", "POST"}, {"/v1/completions", "POST"}};
  int known = -1;
  for (int i = 0; i < 4; i++)
    if (!strcmp(url, routes[i].path)) known = i;
  if (known < 0) {
    char msg[160];
    snprintf(msg, sizeof msg, "no route %s %.80s", method, url);
    return send_error(conn, cs, 404, "invalid_request_error", NULL, "not_found", msg);
  }
  if (strcmp(method, routes[known].method)) {
    char msg[160];
    snprintf(msg, sizeof msg, "%s needs %s, not %s", routes[known].path, routes[known].method, method);
    return send_error(conn, cs, 405, "invalid_request_error", NULL, "method_not_allowed", msg);
  }
  if (cs->too_large) {
    char msg[160];
    snprintf(msg, sizeof msg, "the body exceeds this server's limit of %zu bytes (--max-body)", cs->srv->cfg.body_limit);
    return send_error(conn, cs, 413, "invalid_request_error", NULL, "request_too_large", msg);
  }
  switch (known) {
  case 0: return send_body(conn, cs, 200, response_health(cs->srv));
  case 1: return send_body(conn, cs, 200, response_models(cs->srv));
  case 2: return completion(conn, cs, REQUEST_CHAT);
  default: return completion(conn, cs, REQUEST_COMPLETION);
  }
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *conn, const char *url, const char *method,
                                  const char *version, const char *upload, size_t *upload_size, void **state)
{
  (void)version;
  server *srv = cls;
  conn_state *cs = *state;
  if (!cs) {
    if (!(cs = calloc(1, sizeof *cs))) return MHD_NO;
    cs->srv = srv;
    cs->t0 = now();
    const union MHD_ConnectionInfo *ci = MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CONNECTION_FD);
    cs->fd = ci ? ci->connect_fd : -1;
    snprintf(cs->method, sizeof cs->method, "%s", method);
    snprintf(cs->path, sizeof cs->path, "%s", url);
    atomic_fetch_add(&srv->open_requests, 1);
    *state = cs;
    return MHD_YES;
  }
  if (*upload_size) {
    if (cs->body.len + *upload_size > srv->cfg.body_limit) cs->too_large = 1;   /* read on, keep nothing */
    else if (strbuf_append(&cs->body, upload, *upload_size)) return MHD_NO;
    *upload_size = 0;
    return MHD_YES;
  }
  if (!strcmp(method, "OPTIONS")) {   /* CORS preflight of browser front-ends */
    struct MHD_Response *r = MHD_create_response_from_buffer(0, (void *)"", MHD_RESPMEM_PERSISTENT);
    if (!r) return MHD_NO;
    static const char *const cors_headers[] = {"Access-Control-Allow-Methods", "GET, POST, OPTIONS",
                                               "Access-Control-Allow-Headers", "Content-Type, Authorization", NULL};
    return queue_reply(conn, cs, 204, r, cors_headers);
  }
  return route(conn, cs, url, method);
}

/* The log line: method, path, status, tokens in/out, seconds. */
static void on_completed(void *cls, struct MHD_Connection *conn, void **state, enum MHD_RequestTerminationCode why)
{
  (void)conn;
  server *srv = cls;
  conn_state *cs = *state;
  if (!cs) return;
  long long in = 0, out = 0;
  if (cs->job && cs->job->done) {
    in = cs->job->choices[0].result.n_prompt_tokens;
    for (int64_t i = 0; i < cs->job->req->n; i++) out += cs->job->choices[i].result.n_generated_tokens;
  }
  fprintf(stderr, "%s %s %d in=%lld out=%lld %.3fs%s\n", cs->method, cs->path, cs->status, in, out, now() - cs->t0,
          why == MHD_REQUEST_TERMINATED_COMPLETED_OK ? "" : " (connection ended early)");
  if (cs->job) {
    pool_cancel(srv->pool, cs->job);   /* no effect when it is done */
    job_release(cs->job);
  }
  strbuf_free(&cs->body);
  free(cs);
  *state = NULL;
  atomic_fetch_sub(&srv->open_requests, 1);
}

struct MHD_Daemon *http_start(server *srv, int *port, char *error, size_t error_size)
{
  char service[16];
  snprintf(service, sizeof service, "%d", srv->cfg.port);
  struct addrinfo hints = {.ai_socktype = SOCK_STREAM, .ai_flags = AI_NUMERICSERV}, *ai = NULL;
  int rc = getaddrinfo(srv->cfg.host, service, &hints, &ai);
  if (rc) { snprintf(error, error_size, "%s: %s", srv->cfg.host, gai_strerror(rc)); return NULL; }
  unsigned flags = MHD_USE_THREAD_PER_CONNECTION | MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_POLL;
  if (ai->ai_family == AF_INET6) flags |= MHD_USE_IPv6;
  struct MHD_Daemon *d = MHD_start_daemon(
      flags, (uint16_t)srv->cfg.port, NULL, NULL, on_request, srv, MHD_OPTION_SOCK_ADDR, ai->ai_addr,
      MHD_OPTION_NOTIFY_COMPLETED, on_completed, srv, MHD_OPTION_CONNECTION_TIMEOUT, 30u,
      MHD_OPTION_CONNECTION_LIMIT, 256u, MHD_OPTION_END);
  freeaddrinfo(ai);
  if (!d) { snprintf(error, error_size, "cannot listen on %s:%d", srv->cfg.host, srv->cfg.port); return NULL; }
  const union MHD_DaemonInfo *di = MHD_get_daemon_info(d, MHD_DAEMON_INFO_BIND_PORT);
  *port = di ? di->port : srv->cfg.port;
  return d;
}

void http_stop(struct MHD_Daemon *d)
{
  if (d) MHD_stop_daemon(d);
}
