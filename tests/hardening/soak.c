/*
 * soak.c — long-run stability (not part of the default test run).
 *
 * Generates at least TOKENS tokens (default 100 000) with the tiny qwen2
 * model as many chats: each chat renders its growing conversation with the
 * model's chat template, generates a reply with a seeded sampler (greedy
 * every fifth chat), appends it and a new user turn, and continues until the
 * context is nearly full; then the context is reset (every fourth chat it is
 * freed and created anew, with a new sampler). Resident memory is read from
 * /proc/self/statm every 5 000 tokens and printed as a curve; the run fails
 * if it grows by more than 1 MiB after the first 20 % (warm-up).
 *
 * Run it (about half a minute with the default count):
 *
 *   meson test -C BUILD --benchmark soak --verbose
 *   # or directly:  BUILD/tests/hardening/soak BUILD/tests/reference/tiny [TOKENS]
 */
#include "dseek.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define SAMPLE_EVERY 5000
#define MAX_TURNS 64

static long rss_kib(void)
{
  FILE *f = fopen("/proc/self/statm", "r");
  long size = 0, resident = 0;
  if (!f) return -1;
  if (fscanf(f, "%ld %ld", &size, &resident) != 2) resident = -1;
  fclose(f);
  return resident * (sysconf(_SC_PAGESIZE) / 1024);
}

typedef struct reply { char text[8192]; size_t len; } reply;

static int collect(dseek_piece_kind kind, const char *s, size_t n, void *user)
{
  reply *r = user;
  if (kind == DSEEK_PIECE_CONTENT && r->len + n < sizeof r->text) {
    memcpy(r->text + r->len, s, n);
    r->len += n;
    r->text[r->len] = '\0';
  }
  return 0;
}

static const char *const user_lines[] = {"Hello!", "What is 2+2?", "Tell me a story.", "Why?",
                                         "Explain it again, more briefly.", "\xE4\xBD\xA0\xE5\xA5\xBD"};

static dseek_sampler *new_sampler(uint64_t seed)
{
  dseek_sampler *s = NULL;
  if (dseek_sampler_create(seed, &s)) return NULL;
  dseek_sampler_add_penalties(s, 32, 1.1f, 0.0f, 0.0f);
  dseek_sampler_add_top_k(s, 50);
  dseek_sampler_add_top_p(s, 0.95f);
  dseek_sampler_add_temperature(s, 0.9f);
  return s;
}

int main(int argc, char **argv)
{
  if (argc < 2) {
    fprintf(stderr, "usage: %s TINY_DIR [TOKENS]\n", argv[0]);
    return 2;
  }
  long target = argc > 2 ? atol(argv[2]) : 100000;
  char path[1024];
  snprintf(path, sizeof path, "%s/qwen2-gguf-f32/model.gguf", argv[1]);
  dseek_model *m = NULL;
  if (dseek_model_load(path, NULL, &m)) { fprintf(stderr, "%s\n", dseek_last_error()); return 1; }
  dseek_context_options co;
  dseek_context_options_init(&co, sizeof co);
  co.n_ctx = 256;
  co.n_threads = 2;
  dseek_context *c = NULL;
  if (dseek_context_create(m, &co, &c)) { fprintf(stderr, "%s\n", dseek_last_error()); return 1; }
  dseek_sampler *s = new_sampler(1);

  /* Conversation storage: turns alternate user / assistant. */
  static char turns[MAX_TURNS][8192];
  const char *roles[MAX_TURNS], *contents[MAX_TURNS];
  static char prompt[1 << 16];
  long tokens = 0, chats = 0, resets = 0, recreated = 0, next_sample = SAMPLE_EVERY;
  long warm_rss = -1, peak_after_warm = 0;
  double t0 = (double)clock() / CLOCKS_PER_SEC;
  fprintf(stderr, "tokens      rss_kib\n%-10ld  %ld\n", 0L, rss_kib());

  while (tokens < target) {
    /* One chat. */
    int n = 0;
    chats++;
    snprintf(turns[n], sizeof turns[n], "%s", user_lines[chats % 6]);
    roles[n] = "user";
    contents[n] = turns[n];
    n++;
    for (;;) {
      size_t len = 0;
      dseek_status st = dseek_chat_render(m, roles, contents, n, 1, prompt, sizeof prompt, &len);
      if (st == DSEEK_ERR_UNSUPPORTED) { snprintf(prompt, sizeof prompt, "%s", contents[n - 1]); st = DSEEK_OK; }
      if (st) { fprintf(stderr, "chat_render: %s\n", dseek_last_error()); return 1; }
      reply r = {.len = 0};
      dseek_generate_options go;
      dseek_generate_options_init(&go, sizeof go);
      go.max_tokens = 48;
      go.sampler = chats % 5 == 0 ? NULL : s;
      go.stream = collect;
      go.stream_user_data = &r;
      dseek_generate_result res = {.struct_size = sizeof res};
      st = dseek_generate(c, prompt, &go, &res);
      if (st == DSEEK_ERR_CONTEXT_FULL) break;
      if (st) { fprintf(stderr, "generate: %s\n", dseek_last_error()); return 1; }
      tokens += res.n_generated_tokens;
      while (tokens >= next_sample) {
        long rss = rss_kib();
        fprintf(stderr, "%-10ld  %ld\n", next_sample, rss);
        if (next_sample >= target / 5 && warm_rss < 0) warm_rss = rss;
        else if (warm_rss >= 0 && rss > peak_after_warm) peak_after_warm = rss;
        next_sample += SAMPLE_EVERY;
      }
      if (res.stop_reason == DSEEK_STOP_CONTEXT_FULL || n + 2 > MAX_TURNS ||
          dseek_context_n_past(c) > co.n_ctx - 96)
        break;
      snprintf(turns[n], sizeof turns[n], "%s", r.text);
      roles[n] = "assistant";
      contents[n] = turns[n];
      n++;
      snprintf(turns[n], sizeof turns[n], "%s", user_lines[(chats + (long)n) % 6]);
      roles[n] = "user";
      contents[n] = turns[n];
      n++;
    }
    /* End of the chat: reset, or start over with a new context and sampler. */
    if (chats % 4 == 0) {
      dseek_context_free(c);
      c = NULL;
      if (dseek_context_create(m, &co, &c)) { fprintf(stderr, "%s\n", dseek_last_error()); return 1; }
      dseek_sampler_free(s);
      s = new_sampler((uint64_t)chats);
      recreated++;
    } else {
      dseek_context_reset(c);
      resets++;
    }
  }
  double secs = (double)clock() / CLOCKS_PER_SEC - t0;
  dseek_sampler_free(s);
  dseek_context_free(c);
  dseek_model_free(m);
  long growth = peak_after_warm > warm_rss ? peak_after_warm - warm_rss : 0;
  fprintf(stderr, "soak: %ld tokens in %ld chats (%ld resets, %ld new contexts), %.1f CPU s; "
          "RSS after warm-up %ld KiB, peak later %ld KiB, growth %ld KiB\n",
          tokens, chats, resets, recreated, secs, warm_rss, peak_after_warm, growth);
  if (growth > 1024) {
    fprintf(stderr, "soak: FAIL: resident memory grew by %ld KiB after warm-up\n", growth);
    return 1;
  }
  fprintf(stderr, "soak: OK\n");
  return 0;
}
