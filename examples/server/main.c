/*
 * dseek-server — `dseek serve`: an OpenAI-compatible HTTP server over the
 * public API (README.md, "dseek serve").
 *
 *   dseek serve [-m MODEL] [--host 127.0.0.1] [--port 8080] [--slots N] [--ctx N]
 *               [-t THREADS] [--queue N] [--max-tokens N] [--timeout S]
 *               [--max-body BYTES] [--temp T] [--top-p P] [--alias NAME]
 *
 * Without -m it serves tiny-r1 (examples/tiny-r1). SIGINT / SIGTERM stop it
 * gracefully: new requests get 503, running ones have a few seconds to finish
 * (streams are then cut short with a proper ending), and it exits.
 */
#include "http.h"
#include "server.h"

#include "tiny-r1/default_path.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define GRACE_SECONDS 5.0

static void usage(FILE *f)
{
  fprintf(f,
          "usage: dseek serve [-m MODEL] [options]     (without -m: tiny-r1, the demo model)\n"
          "  --host H          address to listen on (default 127.0.0.1)\n"
          "  --port P          port (default 8080; 0: a free one, printed at start)\n"
          "  --slots N         requests generated at once, each with its own context (default 2)\n"
          "  --ctx N           tokens per slot's context (default: min(4096, trained))\n"
          "  -t N              threads per slot (default: cores / slots, at least 1)\n"
          "  --queue N         requests that may wait for a slot (default 64); beyond: 503\n"
          "  --max-tokens N    largest max_tokens accepted, and the default cap (default 4096)\n"
          "  --timeout S       seconds a request may take, queue included (default 600)\n"
          "  --max-body B      largest request body in bytes (default 1048576); beyond: 413\n"
          "  --temp T          temperature when a request gives none (default 0.6, R1's)\n"
          "  --top-p P         top_p when a request gives none (default 0.95, R1's)\n"
          "  --alias NAME      the model id /v1/models reports (default: the file name)\n");
}

static int parse_args(int argc, char **argv, server_config *c)
{
  for (int i = 1; i < argc; i++) {
    const char *s = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
    if (!strcmp(s, "-h") || !strcmp(s, "--help")) { usage(stdout); exit(0); }
    if (!v) { fprintf(stderr, "dseek serve: unknown option or missing value: %s\n", s); return -1; }
    i++;
    if (!strcmp(s, "-m") || !strcmp(s, "--model")) c->model_path = v;
    else if (!strcmp(s, "--host")) c->host = v;
    else if (!strcmp(s, "--port")) c->port = atoi(v);
    else if (!strcmp(s, "--slots")) c->n_slots = atoi(v);
    else if (!strcmp(s, "--ctx")) c->n_ctx = atoll(v);
    else if (!strcmp(s, "-t") || !strcmp(s, "--threads")) c->n_threads = atoi(v);
    else if (!strcmp(s, "--queue")) c->queue = atoi(v);
    else if (!strcmp(s, "--max-tokens")) c->max_tokens = atoll(v);
    else if (!strcmp(s, "--timeout")) c->timeout = atof(v);
    else if (!strcmp(s, "--max-body")) c->body_limit = (size_t)atoll(v);
    else if (!strcmp(s, "--temp")) c->temperature = atof(v);
    else if (!strcmp(s, "--top-p")) c->top_p = atof(v);
    else if (!strcmp(s, "--alias")) c->model_id = v;
    else { fprintf(stderr, "dseek serve: unknown option '%s'\n", s); return -1; }
  }
  if (c->port < 0 || c->port > 65535 || c->n_slots < 1 || c->n_slots > 256 || c->queue < 0 || c->max_tokens < 1 ||
      c->timeout <= 0 || c->body_limit < 1 || c->n_ctx < 0 || c->n_threads < 0 || c->temperature < 0 ||
      !(c->top_p > 0 && c->top_p <= 1)) {
    fprintf(stderr, "dseek serve: an option is out of range (see --help)\n");
    return -1;
  }
  return 0;
}

/* The model id: --alias, else the file (or directory) name without .gguf. */
static char *model_id(const char *path)
{
  size_t len = strlen(path);
  while (len > 1 && path[len - 1] == '/') len--;
  const char *base = path;
  for (size_t i = 0; i < len; i++)
    if (path[i] == '/') base = path + i + 1;
  size_t n = (size_t)(path + len - base);
  if (n > 5 && !strncmp(base + n - 5, ".gguf", 5)) n -= 5;
  char *id = malloc(n + 1);
  if (id) { memcpy(id, base, n); id[n] = '\0'; }
  return id;
}

static double seconds(void)
{
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* Wait until nothing runs and every connection has its reply, at most `limit` s. */
static int drain(server *srv, double limit)
{
  double t0 = seconds();
  while (pool_busy(srv->pool) || atomic_load(&srv->open_requests)) {
    if (seconds() - t0 > limit) return -1;
    usleep(20000);
  }
  return 0;
}

int main(int argc, char **argv)
{
  server srv;
  memset(&srv, 0, sizeof srv);
  server_config *c = &srv.cfg;
  *c = (server_config){.host = "127.0.0.1", .port = 8080, .n_slots = 2, .queue = 64, .max_tokens = 4096,
                       .timeout = 600, .body_limit = 1 << 20, .temperature = 0.6, .top_p = 0.95};
  if (parse_args(argc, argv, c)) return 2;
  if (!c->model_path && (c->model_path = tiny_r1_default_path()))
    fprintf(stderr, "dseek serve: no -m given: serving tiny-r1, the built-in demo model (%s)\n", c->model_path);
  if (!c->model_path) { fprintf(stderr, "dseek serve: no model given (-m MODEL)\n"); return 2; }
  char *id = c->model_id ? NULL : model_id(c->model_path);
  if (!c->model_id) c->model_id = id ? id : "model";
  if (!c->n_threads) {
    long cores = sysconf(_SC_NPROCESSORS_ONLN);
    c->n_threads = cores / c->n_slots > 1 ? (int)(cores / c->n_slots) : 1;
  }

  /* Signals go to the main thread only (sigwait below): block them before
   * any thread starts, so every thread inherits the mask. */
  sigset_t stop_signals;
  sigemptyset(&stop_signals);
  sigaddset(&stop_signals, SIGINT);
  sigaddset(&stop_signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &stop_signals, NULL);
  signal(SIGPIPE, SIG_IGN);

  double t0 = seconds();
  if (dseek_model_load(c->model_path, NULL, &srv.model)) {
    fprintf(stderr, "dseek serve: %s\n", dseek_last_error());
    free(id);
    return 1;
  }
  if (!c->n_ctx) {
    dseek_memory_estimate est;
    est.struct_size = sizeof est;
    if (dseek_context_memory_estimate(srv.model, NULL, &est) == DSEEK_OK) c->n_ctx = est.n_ctx;
  }
  char error[256];
  int rc = 1, port = 0;
  struct MHD_Daemon *d = NULL;
  if (!(srv.pool = pool_create(&srv, error, sizeof error)) || !(d = http_start(&srv, &port, error, sizeof error))) {
    fprintf(stderr, "dseek serve: %s\n", error);
    goto out;
  }
  fprintf(stderr, "dseek serve: %s, %d slots x %lld tokens, %d threads each; ready in %.2f s\n", c->model_id,
          c->n_slots, (long long)c->n_ctx, c->n_threads, seconds() - t0);
  fprintf(stderr, "dseek serve: listening on http://%s:%d\n", c->host, port);

  int sig = 0;
  sigwait(&stop_signals, &sig);
  fprintf(stderr, "dseek serve: %s: finishing running requests\n", sig == SIGINT ? "SIGINT" : "SIGTERM");
  atomic_store(&srv.stopping, 1);
  if (drain(&srv, GRACE_SECONDS)) {
    atomic_store(&srv.cancel_all, 1);   /* the waiting connections cancel their jobs */
    drain(&srv, GRACE_SECONDS);
  }
  rc = 0;
out:
  http_stop(d);
  pool_destroy(srv.pool);
  dseek_model_free(srv.model);
  free(id);
  fprintf(stderr, "dseek serve: stopped\n");
  return rc;
}
