/*
 * test_concurrency.c — one model shared by 4 contexts on 4 threads.
 *
 * Four jobs (two greedy, two with seeded sampling chains), each a two-turn
 * conversation (the second turn reuses the first one's cache), run first one
 * after another, then on 4 threads at once (3 rounds, started together at a
 * barrier): every thread must produce the sequential run's text and tokens.
 * Each context uses 2 threads of its own, so the worker pools run
 * concurrently too. Error messages stay per thread. The ThreadSanitizer build
 * of this test (tests/hardening/ci.sh) must be clean.
 *
 * Cancellation: dseek_cancel from another thread stops a generation with
 * DSEEK_ERR_CANCELLED within one token (tokens delivered after the cancel
 * call returned are counted), and the context then generates exactly what a
 * fresh context does.
 *
 * Grammars: 4 threads add a grammar to their own sampler at once on a freshly
 * loaded model, so they race on building its token trie (the model's one
 * cache); each then draws the tokens the same grammar gives on one thread.
 *
 *   test_concurrency TINY_DIR
 */
#include "dseek.h"
#include "harness.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdlib.h>
#include <time.h>

enum { N_JOBS = 4, MAX_TOKENS = 24, N_CTX = 256, ROUNDS = 3 };

static dseek_model *model;

typedef struct output {
  char text[2][4096];        /* reasoning, content of both turns together */
  size_t len[2];
  int32_t tokens[N_CTX];
  int64_t n_tokens;
  dseek_status status;
} output;

static int collect(dseek_piece_kind kind, const char *s, size_t n, void *user)
{
  output *o = user;
  int k = kind == DSEEK_PIECE_REASONING ? 0 : 1;
  if (o->len[k] + n <= sizeof o->text[k]) memcpy(o->text[k] + o->len[k], s, n);
  o->len[k] += n;
  return 0;
}

/* Job j: its sampler (NULL: greedy) and prompts. */
static dseek_sampler *job_sampler(int j)
{
  dseek_sampler *s = NULL;
  if (j < 2) return NULL;
  if (dseek_sampler_create(1000 + (uint64_t)j, &s)) return NULL;
  if (j == 2) {
    dseek_sampler_add_top_k(s, 40);
    dseek_sampler_add_temperature(s, 0.9f);
  } else {
    dseek_sampler_add_penalties(s, 16, 1.1f, 0.1f, 0.1f);
    dseek_sampler_add_top_p(s, 0.95f);
    dseek_sampler_add_min_p(s, 0.02f);
    dseek_sampler_add_temperature(s, 1.2f);
  }
  return s;
}

static const char *const first_prompts[N_JOBS] = {"Hello world", "The quick brown fox", "Hello world", "1 2 3 4 5"};

static void run_job(int j, output *o)
{
  memset(o, 0, sizeof *o);
  dseek_context_options co;
  dseek_context_options_init(&co, sizeof co);
  co.n_ctx = N_CTX;
  co.n_threads = 2;
  dseek_context *c = NULL;
  o->status = dseek_context_create(model, &co, &c);
  if (o->status) return;
  dseek_sampler *s = job_sampler(j);
  dseek_generate_options go;
  dseek_generate_options_init(&go, sizeof go);
  go.max_tokens = MAX_TOKENS;
  go.sampler = s;
  go.stream = collect;
  go.stream_user_data = o;
  go.reasoning = DSEEK_REASONING_OFF;
  o->status = dseek_generate(c, first_prompts[j], &go, NULL);
  /* Second turn: the first prompt, what came back, and more. */
  char prompt[4096 + 128];
  if (!o->status) {
    snprintf(prompt, sizeof prompt, "%s%.*s and then", first_prompts[j], (int)strnlen(o->text[1], o->len[1]),
             o->text[1]);
    o->status = dseek_generate(c, prompt, &go, NULL);
  }
  if (!o->status) o->status = dseek_context_tokens(c, o->tokens, N_CTX, &o->n_tokens);
  dseek_sampler_free(s);
  dseek_context_free(c);
}

static bool same(const output *a, const output *b)
{
  return a->status == b->status && a->len[0] == b->len[0] && a->len[1] == b->len[1] &&
         memcmp(a->text[0], b->text[0], a->len[0] < 4096 ? a->len[0] : 4096) == 0 &&
         memcmp(a->text[1], b->text[1], a->len[1] < 4096 ? a->len[1] : 4096) == 0 && a->n_tokens == b->n_tokens &&
         memcmp(a->tokens, b->tokens, (size_t)a->n_tokens * sizeof a->tokens[0]) == 0;
}

static output expected[N_JOBS], got[N_JOBS];
static pthread_barrier_t start;
static int error_ok[N_JOBS];

static void *job_thread(void *arg)
{
  int j = (int)(intptr_t)arg;
  pthread_barrier_wait(&start);
  run_job(j, &got[j]);
  /* Error messages are per thread: each raises its own and reads it back. */
  char bad[16] = "abcdefgh";
  bad[j + 1] = (char)0xFF;
  int64_t n;
  dseek_status st = dseek_tokenize(model, bad, 8, 0, 0, NULL, 0, &n);
  char want[32];
  snprintf(want, sizeof want, "byte offset %d (", j + 1);
  error_ok[j] = st == DSEEK_ERR_INVALID_ARG && strstr(dseek_last_error(), want) != NULL;
  return NULL;
}

static void test_threads_match_sequential(void)
{
  for (int j = 0; j < N_JOBS; j++) {
    run_job(j, &expected[j]);
    CHECK_MSG(expected[j].status == DSEEK_OK, "job %d: %s", j, dseek_last_error());
    CHECK_MSG(expected[j].n_tokens > MAX_TOKENS, "job %d: %lld tokens", j, (long long)expected[j].n_tokens);
  }
  CHECK_MSG(!same(&expected[0], &expected[2]), "greedy and sampled outputs coincide: the test would not see a mix-up");
  for (int round = 0; round < ROUNDS; round++) {
    pthread_t th[N_JOBS];
    pthread_barrier_init(&start, NULL, N_JOBS);
    for (int j = 0; j < N_JOBS; j++) pthread_create(&th[j], NULL, job_thread, (void *)(intptr_t)j);
    for (int j = 0; j < N_JOBS; j++) pthread_join(th[j], NULL);
    pthread_barrier_destroy(&start);
    for (int j = 0; j < N_JOBS; j++) {
      CHECK_MSG(same(&got[j], &expected[j]), "round %d job %d: threaded output differs from sequential", round, j);
      CHECK_MSG(error_ok[j], "round %d job %d: the thread's error message is not its own", round, j);
    }
  }
  fprintf(stderr, "4 threads x %d rounds (contexts with 2 threads each): outputs equal the sequential runs\n", ROUNDS);
}

/* ---- cancellation ----------------------------------------------------------- */

typedef struct cancel_run {
  dseek_context *ctx;
  dseek_sampler *sampler;
  atomic_long emitted;         /* pieces delivered (one per token, see ascii_only_sampler) */
  atomic_int wait_at;          /* > 0: the callback blocks at this piece until released */
  atomic_int blocked, release;
  dseek_status status;
} cancel_run;

static int count_piece(dseek_piece_kind kind, const char *s, size_t n, void *user)
{
  (void)kind; (void)s; (void)n;
  cancel_run *r = user;
  long e = atomic_fetch_add(&r->emitted, 1) + 1;
  if (e == atomic_load(&r->wait_at)) {
    atomic_store(&r->blocked, 1);
    while (!atomic_load(&r->release)) { struct timespec t = {0, 100000}; nanosleep(&t, NULL); }
  }
  return 0;
}

/* A sampler that only picks tokens whose piece is non-empty printable ASCII
 * (no end-of-turn, no partial UTF-8), so every token is exactly one piece. */
static dseek_sampler *ascii_only_sampler(uint64_t seed)
{
  dseek_sampler *s = NULL;
  dseek_sampler_create(seed, &s);
  for (int32_t t = 0; t < (int32_t)dseek_model_n_vocab(model); t++) {
    const char *p;
    size_t n;
    bool ok = dseek_token_piece(model, t, &p, &n) == DSEEK_OK && n > 0;
    for (size_t i = 0; ok && i < n; i++) ok = p[i] >= 0x20 && p[i] < 0x7F && p[i] != '<';
    if (!ok) dseek_sampler_add_logit_bias(s, t, -INFINITY);
  }
  dseek_sampler_add_temperature(s, 1.0f);
  return s;
}

static void *generate_thread(void *arg)
{
  cancel_run *r = arg;
  dseek_generate_options go;
  dseek_generate_options_init(&go, sizeof go);
  go.max_tokens = 400;
  go.sampler = r->sampler;
  go.stream = count_piece;
  go.stream_user_data = r;
  go.reasoning = DSEEK_REASONING_OFF;
  r->status = dseek_generate(r->ctx, "Once upon a time", &go, NULL);
  return NULL;
}

static void sleep_us(long us)
{
  struct timespec t = {us / 1000000, (us % 1000000) * 1000};
  nanosleep(&t, NULL);
}

/* Greedy 8 tokens of `prompt` on c, as text. */
static size_t greedy_text(dseek_context *c, const char *prompt, char *text)
{
  output o;
  memset(&o, 0, sizeof o);
  dseek_generate_options go;
  dseek_generate_options_init(&go, sizeof go);
  go.max_tokens = 8;
  go.stream = collect;
  go.stream_user_data = &o;
  go.reasoning = DSEEK_REASONING_OFF;
  dseek_status st = dseek_generate(c, prompt, &go, NULL);
  CHECK_MSG(st == DSEEK_OK, "generate: %s", dseek_last_error());
  memcpy(text, o.text[1], o.len[1]);
  return o.len[1];
}

static void test_cancel(void)
{
  dseek_context_options co;
  dseek_context_options_init(&co, sizeof co);
  co.n_ctx = 512;
  co.n_threads = 2;
  cancel_run r;
  memset(&r, 0, sizeof r);
  dseek_context *fresh = NULL;
  CHECK(dseek_context_create(model, &co, &r.ctx) == DSEEK_OK);
  CHECK(dseek_context_create(model, &co, &fresh) == DSEEK_OK);
  if (!r.ctx || !fresh) goto out;
  r.sampler = ascii_only_sampler(5);

  /* Precondition: one piece per token. */
  generate_thread(&r);
  CHECK_MSG(r.status == DSEEK_OK && atomic_load(&r.emitted) == 400, "uncancelled run: %d, %ld pieces for 400 tokens",
            (int)r.status, atomic_load(&r.emitted));

  /* Exact: the callback holds the generation at piece 5 while the cancel
   * arrives; not one more token may follow. */
  atomic_store(&r.emitted, 0);
  atomic_store(&r.wait_at, 5);
  pthread_t th;
  pthread_create(&th, NULL, generate_thread, &r);
  while (!atomic_load(&r.blocked)) sleep_us(100);
  CHECK(dseek_cancel(r.ctx) == DSEEK_OK);
  long at_cancel = atomic_load(&r.emitted);
  atomic_store(&r.release, 1);
  pthread_join(th, NULL);
  CHECK_EQ_INT(r.status, DSEEK_ERR_CANCELLED);
  CHECK_EQ_INT(atomic_load(&r.emitted) - at_cancel, 0);
  atomic_store(&r.wait_at, 0);

  /* Free-running: cancel at random moments; count pieces after the call. */
  long worst = 0;
  srand(1);
  for (int trial = 0; trial < 20; trial++) {
    atomic_store(&r.emitted, 0);
    pthread_create(&th, NULL, generate_thread, &r);
    long target = 2 + trial % 7;
    while (atomic_load(&r.emitted) < target) sleep_us(50);
    sleep_us(rand() % 400);
    CHECK(dseek_cancel(r.ctx) == DSEEK_OK);
    long after_call = atomic_load(&r.emitted);
    pthread_join(th, NULL);
    CHECK_MSG(r.status == DSEEK_ERR_CANCELLED, "trial %d: status %d", trial, (int)r.status);
    long extra = atomic_load(&r.emitted) - after_call;
    if (extra > worst) worst = extra;
  }
  CHECK_MSG(worst <= 1, "%ld tokens after dseek_cancel returned", worst);
  fprintf(stderr, "cancellation: 0 tokens after the cancel when held at a token; at most %ld in 20 free-running "
          "trials\n", worst);

  /* Still usable: the cancelled context generates exactly what a fresh one does. */
  char a[4096], b[4096];
  size_t na = greedy_text(r.ctx, "Once upon a time there", a), nb = greedy_text(fresh, "Once upon a time there", b);
  CHECK_MSG(na == nb && memcmp(a, b, na) == 0, "after a cancel the context generates something else");
  /* A cancel while nothing runs does not stop the next generation. */
  dseek_cancel(r.ctx);
  na = greedy_text(r.ctx, "Hello", a);
  nb = greedy_text(fresh, "Hello", b);
  CHECK(na == nb && memcmp(a, b, na) == 0);
out:
  dseek_sampler_free(r.sampler);
  dseek_context_free(r.ctx);
  dseek_context_free(fresh);
}

enum { N_GRAMMAR_TOKENS = 12 };
static dseek_model *fresh_model;
static float *flat_logits;
static int32_t grammar_tokens[N_JOBS + 1][N_GRAMMAR_TOKENS];
static dseek_status grammar_status[N_JOBS + 1];

/* Greedy over equal logits under the grammar: the tokens it allows, lowest id first. */
static void grammar_job(int j)
{
  dseek_sampler *s = NULL;
  dseek_status st = dseek_sampler_create(1, &s);
  if (!st) st = dseek_sampler_add_grammar(s, fresh_model, "root ::= [a-z ]+", "root");
  if (!st) st = dseek_sampler_add_greedy(s);
  for (int k = 0; k < N_GRAMMAR_TOKENS && !st; k++)
    st = dseek_sampler_sample(s, flat_logits, dseek_model_n_vocab(fresh_model), &grammar_tokens[j][k]);
  grammar_status[j] = st;
  dseek_sampler_free(s);
}

static void *grammar_thread(void *arg)
{
  pthread_barrier_wait(&start);
  grammar_job((int)(intptr_t)arg);
  return NULL;
}

static char model_path[1024];

static void test_grammar_first_use(void)
{
  CHECK_EQ_INT(dseek_model_load(model_path, NULL, &fresh_model), DSEEK_OK);
  if (!fresh_model) return;
  int64_t n_vocab = dseek_model_n_vocab(fresh_model);
  flat_logits = calloc((size_t)n_vocab, sizeof *flat_logits);
  pthread_t th[N_JOBS];
  pthread_barrier_init(&start, NULL, N_JOBS);
  for (int j = 0; j < N_JOBS; j++) pthread_create(&th[j], NULL, grammar_thread, (void *)(intptr_t)j);
  for (int j = 0; j < N_JOBS; j++) pthread_join(th[j], NULL);
  pthread_barrier_destroy(&start);
  grammar_job(N_JOBS);   /* one thread, the trie built */
  CHECK_MSG(grammar_status[N_JOBS] == DSEEK_OK, "%s", dseek_last_error());
  char piece[64];
  size_t n;
  CHECK(dseek_detokenize(fresh_model, grammar_tokens[N_JOBS], 1, piece, sizeof piece, &n) == DSEEK_OK && n > 0 &&
        ((piece[0] >= 'a' && piece[0] <= 'z') || piece[0] == ' '));
  for (int j = 0; j < N_JOBS; j++) {
    CHECK_MSG(grammar_status[j] == DSEEK_OK, "thread %d: status %d", j, (int)grammar_status[j]);
    CHECK_MSG(memcmp(grammar_tokens[j], grammar_tokens[N_JOBS], sizeof grammar_tokens[j]) == 0,
              "thread %d drew other tokens", j);
  }
  free(flat_logits);
  dseek_model_free(fresh_model);
}

int main(int argc, char **argv)
{
  if (!ds_test_tiny_dir(argc, argv)) return 77;
  char path[1024];
  snprintf(path, sizeof path, "%s/qwen2-gguf-q8_0/model.gguf", argv[1]);
  if (dseek_model_load(path, NULL, &model) != DSEEK_OK) {
    fprintf(stderr, "%s\n", dseek_last_error());
    return 1;
  }
  RUN(test_threads_match_sequential);
  RUN(test_cancel);
  snprintf(model_path, sizeof model_path, "%s", path);
  RUN(test_grammar_first_use);
  dseek_model_free(model);
  return DS_TEST_RESULT();
}
