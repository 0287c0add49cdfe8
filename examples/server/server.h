/*
 * server.h — what the parts of `dseek serve` share: its settings, a job (one
 * request's generation and the channel its output flows through), the slot
 * pool, and the server itself.
 *
 * A request is parsed (request.c) and rendered on its connection's thread,
 * then handed to the pool (pool.c) as a job: an idle slot (a dseek_context of
 * the shared model, with its own thread) takes it at once, else it waits in a
 * bounded queue. The slot runs it (generate.c), appending text to the job; the
 * connection's thread reads it from there (http.c): all at the end for a plain
 * reply, as Server-Sent Events chunks while it grows for a stream.
 */
#ifndef DSEEK_SERVER_H
#define DSEEK_SERVER_H

#include "request.h"

#include <dseek.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

typedef struct server_config {
  const char *model_path, *model_id, *host;
  int port, n_slots, n_threads, queue;
  int64_t n_ctx, max_tokens;
  size_t body_limit;
  double timeout, temperature, top_p;
} server_config;

/* A growable byte string. */
typedef struct strbuf {
  char *data;
  size_t len, cap;
} strbuf;

int strbuf_append(strbuf *b, const char *s, size_t n);
void strbuf_free(strbuf *b);

/* One sample's outcome. */
typedef struct choice {
  strbuf content, reasoning;
  json_t *logprobs;              /* logprobs: the content tokens' entries (OpenAI's logprobs.content) */
  json_t *tool_calls;            /* the answer's calls (tools.c), NULL: none */
  size_t streamed;               /* stream: content bytes sent (the rest may open a tool-call block) */
  dseek_generate_result result;
} choice;

typedef struct job {
  pthread_mutex_t mu;
  pthread_cond_t changed;
  atomic_int refs;               /* the connection and the pool each hold one */
  /* input (read-only once submitted) */
  request *req;
  char *prompt;                  /* rendered text given to dseek_generate */
  int32_t *tokens;               /* its tokens, for routing to the slot with the longest prefix */
  int64_t n_tokens, max_tokens, n_ctx;
  char *tool_grammar;            /* tool_choice required / named: the forced call's GBNF */
  char id[40];
  int64_t created;
  /* output, under mu */
  strbuf events;                 /* stream: SSE bytes not yet sent */
  int done;                      /* the slot is finished with it */
  atomic_int cancelled;          /* the client left, the timeout passed or the server stops */
  dseek_status status;
  char error[256];
  choice *choices;               /* req->n of them */
  int slot;                      /* the slot that ran it (-1: none) */
} job;

job *job_create(request *req);
void job_release(job *j);        /* drop one reference */
int job_append_event(job *j, const char *json);   /* "data: JSON\n\n" onto events */
void job_finish(job *j);         /* done = 1 and wake the reader */

typedef struct pool pool;

typedef struct server {
  server_config cfg;
  dseek_model *model;
  pool *pool;
  atomic_int stopping;        /* new requests get 503 */
  atomic_int cancel_all;      /* the grace period is over: cut in-flight jobs short */
  atomic_int open_requests;
} server;

/* The pool of slots. */
pool *pool_create(server *srv, char *error, size_t error_size);
void pool_destroy(pool *p);      /* waits for the slots' threads */
/* 0: a slot or the queue took it; -1: every slot busy and the queue full. */
int pool_submit(pool *p, job *j);
void pool_cancel(pool *p, job *j);
void pool_counts(pool *p, int *idle, int *queued);
int pool_busy(pool *p);          /* jobs running or queued */

/* Run a job on a slot's context (generate.c). */
void generate_job(server *srv, dseek_context *ctx, job *j);

#endif
