/*
 * sample_schema.c — generate many constrained answers with a tiny model, for
 * test_schema_sampling.py to validate independently (Python's json module
 * and a schema checker written there).
 *
 *   sample_schema MODEL SCHEMA_FILE N_SEEDS MODE
 *
 * MODE: "plain"  no reasoning (the constraint starts at once);
 *       "think"  an R1 prompt ending in <think>: free reasoning, </think>
 *                made likely by a logit bias, then the constrained answer;
 *       "budget" as think, but the model may not end or close the reasoning
 *                itself (min_thinking_tokens): max_thinking_tokens cuts it short.
 * Output: one JSON line per sample: {"seed", "stop", "reasoning", "content"}.
 * Temperatures cycle through 1.0, 1.5 and 2.0 over the seeds.
 */
#include "dseek.h"

#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct sink {
  char *text[3];
  size_t len[3];
} sink;

static int on_piece(dseek_piece_kind kind, const char *text, size_t len, void *user)
{
  sink *s = user;
  s->text[kind] = realloc(s->text[kind], s->len[kind] + len + 1);
  memcpy(s->text[kind] + s->len[kind], text, len);
  s->len[kind] += len;
  s->text[kind][s->len[kind]] = 0;
  return 0;
}

static void put_json_string(const char *s, size_t n)
{
  putchar('"');
  for (size_t i = 0; i < n; i++) {
    unsigned char c = (unsigned char)s[i];
    if (c == '"' || c == '\\') printf("\\%c", c);
    else if (c < 0x20) printf("\\u%04x", c);
    else putchar(c);
  }
  putchar('"');
}

static char *slurp(const char *path)
{
  FILE *f = fopen(path, "rb");
  if (!f) return NULL;
  fseek(f, 0, SEEK_END);
  long n = ftell(f);
  fseek(f, 0, SEEK_SET);
  char *p = malloc((size_t)n + 1);
  if (fread(p, 1, (size_t)n, f) != (size_t)n) { free(p); p = NULL; }
  else p[n] = 0;
  fclose(f);
  return p;
}

int main(int argc, char **argv)
{
  if (argc != 5) { fprintf(stderr, "usage: %s MODEL SCHEMA_FILE N_SEEDS plain|think|budget\n", argv[0]); return 2; }
  const char *mode = argv[4];
  int n_seeds = atoi(argv[3]);
  char *schema = slurp(argv[2]);
  dseek_model *m = NULL;
  dseek_context *c = NULL;
  if (!schema || dseek_model_load(argv[1], NULL, &m)) { fprintf(stderr, "load: %s\n", dseek_last_error()); return 1; }
  dseek_context_options co;
  dseek_context_options_init(&co, sizeof co);
  co.n_ctx = 512;
  co.n_threads = 1;
  if (dseek_context_create(m, &co, &c)) { fprintf(stderr, "context: %s\n", dseek_last_error()); return 1; }
  int32_t close_id = -1;
  int64_t nt = 0;
  if (dseek_tokenize(m, "</think>", 8, 0, 1, &close_id, 1, &nt) || nt != 1) { fprintf(stderr, "no </think> token\n"); return 1; }
  bool think = strcmp(mode, "plain") != 0;
  for (int seed = 0; seed < n_seeds; seed++) {
    dseek_sampler *s = NULL;
    dseek_sampler_create((uint64_t)seed, &s);
    if (!strcmp(mode, "think")) dseek_sampler_add_logit_bias(s, close_id, 4.0f);
    dseek_sampler_add_temperature(s, 1.0f + 0.5f * (float)(seed % 3));
    dseek_generate_options go;
    dseek_generate_options_init(&go, sizeof go);
    go.sampler = s;
    go.max_tokens = 400;
    go.json_schema = schema;
    go.reasoning = think ? DSEEK_REASONING_AUTO : DSEEK_REASONING_OFF;
    if (!strcmp(mode, "budget")) {
      /* budget forcing keeps the model from ending or closing early; the budget closes */
      go.max_thinking_tokens = 5 + seed % 20;
      go.min_thinking_tokens = go.max_thinking_tokens;
    }
    sink k;
    memset(&k, 0, sizeof k);
    go.stream = on_piece;
    go.stream_user_data = &k;
    dseek_generate_result r = {.struct_size = sizeof r};
    const char *prompt = think ? "<｜User｜>Answer in JSON.<｜Assistant｜><think>\n" : "<｜User｜>Answer in JSON.<｜Assistant｜>";
    if (dseek_generate(c, prompt, &go, &r)) { fprintf(stderr, "seed %d: %s\n", seed, dseek_last_error()); return 1; }
    printf("{\"seed\": %d, \"stop\": %d, \"reasoning_tokens\": %lld, \"reasoning\": ", seed, r.stop_reason,
           (long long)r.n_reasoning_tokens);
    put_json_string(k.text[DSEEK_PIECE_REASONING] ? k.text[DSEEK_PIECE_REASONING] : "", k.len[DSEEK_PIECE_REASONING]);
    printf(", \"content\": ");
    put_json_string(k.text[DSEEK_PIECE_CONTENT] ? k.text[DSEEK_PIECE_CONTENT] : "", k.len[DSEEK_PIECE_CONTENT]);
    printf("}\n");
    free(k.text[1]);
    free(k.text[2]);
    dseek_sampler_free(s);
  }
  dseek_context_free(c);
  dseek_model_free(m);
  free(schema);
  return 0;
}
