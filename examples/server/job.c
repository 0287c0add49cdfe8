/*
 * job.c — a request's generation as the connection and the slot share it:
 * reference counted, its output appended under a mutex and announced on a
 * condition variable.
 */
#include "server.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

int strbuf_append(strbuf *b, const char *s, size_t n)
{
  if (b->len + n + 1 > b->cap) {
    size_t cap = b->cap ? b->cap : 256;
    while (cap < b->len + n + 1) cap *= 2;
    char *d = realloc(b->data, cap);
    if (!d) return -1;
    b->data = d;
    b->cap = cap;
  }
  memcpy(b->data + b->len, s, n);
  b->len += n;
  b->data[b->len] = '\0';
  return 0;
}

void strbuf_free(strbuf *b)
{
  free(b->data);
  memset(b, 0, sizeof *b);
}

job *job_create(request *req)
{
  job *j = calloc(1, sizeof *j);
  if (!j) return NULL;
  j->choices = calloc((size_t)req->n, sizeof *j->choices);
  if (!j->choices) { free(j); return NULL; }
  pthread_mutex_init(&j->mu, NULL);
  pthread_cond_init(&j->changed, NULL);
  atomic_init(&j->refs, 1);
  atomic_init(&j->cancelled, 0);
  j->req = req;
  j->slot = -1;
  j->created = (int64_t)time(NULL);
  /* An id unique enough for logs and clients: time and a process counter. */
  static atomic_uint counter;
  snprintf(j->id, sizeof j->id, "%s-%llx%04x", req->kind == REQUEST_CHAT ? "chatcmpl" : "cmpl",
           (unsigned long long)j->created, atomic_fetch_add(&counter, 1) & 0xffffu);
  return j;
}

void job_release(job *j)
{
  if (!j || atomic_fetch_sub(&j->refs, 1) != 1) return;
  for (int64_t i = 0; i < j->req->n; i++) {
    strbuf_free(&j->choices[i].content);
    strbuf_free(&j->choices[i].reasoning);
    json_decref(j->choices[i].logprobs);
    json_decref(j->choices[i].tool_calls);
  }
  free(j->choices);
  strbuf_free(&j->events);
  free(j->prompt);
  free(j->tool_grammar);
  free(j->tokens);
  request_free(j->req);
  free(j->req);
  pthread_cond_destroy(&j->changed);
  pthread_mutex_destroy(&j->mu);
  free(j);
}

int job_append_event(job *j, const char *json)
{
  pthread_mutex_lock(&j->mu);
  int rc = strbuf_append(&j->events, "data: ", 6);
  rc |= strbuf_append(&j->events, json, strlen(json));
  rc |= strbuf_append(&j->events, "\n\n", 2);
  pthread_cond_broadcast(&j->changed);
  pthread_mutex_unlock(&j->mu);
  return rc;
}

void job_finish(job *j)
{
  pthread_mutex_lock(&j->mu);
  j->done = 1;
  pthread_cond_broadcast(&j->changed);
  pthread_mutex_unlock(&j->mu);
}
