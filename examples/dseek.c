/*
 * dseek — command line tool over the public API.
 *
 *   dseek run -m MODEL -p PROMPT [--chat] [-n N] [--temp T] [--top-p P] [--top-k K]
 *             [--min-p P] [--seed S] [-t THREADS] [--ctx N] [--hide-thinking]
 *             [--think-budget N] [--think-min N] [--grammar FILE | --json-schema FILE]
 *             [--mtp] [--samples N [--confidence MODE] [--conf-window W] [--conf-warmup N]
 *             [--consensus TAU] [--keep-top ETA]]
 *   dseek chat -m MODEL [same options]      interactive multi-turn chat
 *             (run and chat without -m use tiny-r1, examples/tiny-r1)
 *             [--kv-type T] [--context-shift [--keep N]]
 *   dseek info MODEL [--ctx N] [--kv-type T] [--layers N]   parameters, weights, memory;
 *             for a GGUF (any shard of a split one) also its shards and its
 *             tensor types with count, bytes and the kernel each runs
 *   dseek info CONFIG.json [--ctx N] [--kv-type T] [--layers N]   the same from a deepseek2
 *             config.json alone (no weights needed); --layers extrapolates its depth
 *   dseek tokenize -m MODEL TEXT [--no-special]
 *   dseek serve [-m MODEL] [--host H] [--port P] [--slots N] [--ctx N] ...
 *             runs dseek-server (examples/server), the OpenAI-compatible server
 *
 * Reasoning streams dimmed and the answer plain on a terminal; plain text when
 * stdout is not a terminal (reasoning then goes between <think> tags).
 */
#include <dseek.h>

#include "cli_samples.h"
#include "info_tensors.h"
#include "tiny-r1/default_path.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

typedef struct args {
  const char *model, *prompt;
  int chat_template, hide_thinking, no_special;
  int64_t n_predict, n_ctx, think_budget, think_min;
  int n_threads, top_k;
  double temp, top_p, min_p;
  uint64_t seed;
  const char *text;   /* tokenize */
  const char *grammar_file, *schema_file;   /* constrained answer */
  int use_mtp;                              /* --mtp: MTP speculative decoding */
  const char *kv_name;                      /* --kv-type (NULL: the library's default, F16) */
  int context_shift;                        /* --context-shift, keeping --keep N tokens */
  int64_t n_keep, layers;                   /* --keep, info --layers */
  cli_samples samples;                      /* --samples N and the --confidence options */
} args;

static void usage(FILE *f)
{
  fprintf(f,
          "usage: dseek run -m MODEL -p PROMPT [options]\n"
          "       dseek chat -m MODEL [options]\n"
          "       dseek info MODEL|CONFIG.json [--ctx N] [--kv-type T] [--layers N]\n"
          "       dseek tokenize -m MODEL TEXT [--no-special]\n"
          "       dseek serve [-m MODEL] [--host H] [--port P] [--slots N] [--ctx N]  (dseek serve --help)\n"
          "run and chat without -m use tiny-r1, a small demo reasoning model (chat template on)\n"
          "options:\n"
          "  --chat            apply the model's chat template to -p (run)\n"
          "  -n N              tokens to generate (default 1024)\n"
          "  --temp T          temperature (default 0.6; 0 = greedy)\n"
          "  --top-p P         nucleus sampling (default 0.95)\n"
          "  --top-k K         keep the K most likely tokens (default off)\n"
          "  --min-p P         min-p sampling (default off)\n"
          "  --seed S          random seed (default 0)\n"
          "  -t N              threads (default: physical cores)\n"
          "  --ctx N           context length (default: min(4096, trained))\n"
          "  --hide-thinking   do not print the reasoning\n"
          "  --think-budget N  close the reasoning after N tokens (0: answer at once)\n"
          "  --think-min N     keep reasoning for at least N tokens (\"Wait\" replaces an early </think>)\n"
          "  --grammar FILE    the answer (after </think>) must match this GBNF grammar (rule root)\n"
          "  --json-schema FILE  the answer (after </think>) must be JSON valid for this schema\n"
          "  --mtp             speculative decoding with the model's MTP layer (deepseek2 models with one)\n"
          "  --kv-type T       KV cache element type: f16 (default), f32, bf16, q8_0\n"
          "  --context-shift   when the context is full, drop half of it (after --keep N tokens) and go on\n"
          "  --layers N        info: counts extrapolated to N layers (deepseek2 config.json)\n"
          "  --samples N       run: N chains over the prompt's shared cache, then a vote of their answers\n"
          "  --confidence M    the vote (DeepConf): majority (default), weighted (by the lowest group\n"
          "                    confidence), low / high (stop chains below the 90th / 10th percentile\n"
          "                    of the warm-up chains), adaptive (start chains in waves until the\n"
          "                    weighted vote's leader holds --consensus), low+adaptive, high+adaptive\n"
          "  --conf-window W   tokens per confidence group (default 2048)\n"
          "  --conf-warmup N   warm-up chains (default 16)\n"
          "  --consensus TAU   share that settles the adaptive vote (default 0.95)\n"
          "  --keep-top ETA    only the most confident fraction ETA of the chains votes (default 1)\n");
}

static int parse(int argc, char **argv, int first, args *a)
{
  for (int i = first; i < argc; i++) {
    const char *s = argv[i];
    const char *v = i + 1 < argc ? argv[i + 1] : NULL;
#define VALUE() do { if (!v) { fprintf(stderr, "dseek: %s needs a value\n", s); return -1; } i++; } while (0)
    if (!strcmp(s, "-m") || !strcmp(s, "--model")) { VALUE(); a->model = v; }
    else if (!strcmp(s, "-p") || !strcmp(s, "--prompt")) { VALUE(); a->prompt = v; }
    else if (!strcmp(s, "-n")) { VALUE(); a->n_predict = atoll(v); }
    else if (!strcmp(s, "--temp")) { VALUE(); a->temp = atof(v); }
    else if (!strcmp(s, "--top-p")) { VALUE(); a->top_p = atof(v); }
    else if (!strcmp(s, "--top-k")) { VALUE(); a->top_k = atoi(v); }
    else if (!strcmp(s, "--min-p")) { VALUE(); a->min_p = atof(v); }
    else if (!strcmp(s, "--seed")) { VALUE(); a->seed = strtoull(v, NULL, 10); }
    else if (!strcmp(s, "-t") || !strcmp(s, "--threads")) { VALUE(); a->n_threads = atoi(v); }
    else if (!strcmp(s, "--ctx")) { VALUE(); a->n_ctx = atoll(v); }
    else if (!strcmp(s, "--think-budget")) { VALUE(); a->think_budget = atoll(v); }
    else if (!strcmp(s, "--think-min")) { VALUE(); a->think_min = atoll(v); }
    else if (!strcmp(s, "--grammar")) { VALUE(); a->grammar_file = v; }
    else if (!strcmp(s, "--json-schema")) { VALUE(); a->schema_file = v; }
    else if (!strcmp(s, "--mtp")) a->use_mtp = 1;
    else if (!strcmp(s, "--kv-type")) { VALUE(); a->kv_name = v; }
    else if (!strcmp(s, "--context-shift")) a->context_shift = 1;
    else if (!strcmp(s, "--keep")) { VALUE(); a->n_keep = atoll(v); }
    else if (!strcmp(s, "--layers")) { VALUE(); a->layers = atoll(v); }
    else if (!strcmp(s, "--samples")) { VALUE(); a->samples.n = atoll(v); }
    else if (!strcmp(s, "--confidence")) { VALUE(); a->samples.mode = v; }
    else if (!strcmp(s, "--conf-window")) { VALUE(); a->samples.window = atoll(v); }
    else if (!strcmp(s, "--conf-warmup")) { VALUE(); a->samples.warmup = atoll(v); }
    else if (!strcmp(s, "--consensus")) { VALUE(); a->samples.consensus = atof(v); }
    else if (!strcmp(s, "--keep-top")) { VALUE(); a->samples.keep_top = atof(v); }
    else if (!strcmp(s, "--chat")) a->chat_template = 1;
    else if (!strcmp(s, "--hide-thinking")) a->hide_thinking = 1;
    else if (!strcmp(s, "--no-special")) a->no_special = 1;
    else if (!strcmp(s, "-h") || !strcmp(s, "--help")) { usage(stdout); exit(0); }
    else if (s[0] != '-' && !a->model && first == 2 && !strcmp(argv[1], "info")) a->model = s;
    else if (s[0] != '-' && !a->text) a->text = s;
    else { fprintf(stderr, "dseek: unknown option '%s'\n", s); return -1; }
#undef VALUE
  }
  return 0;
}

static int load_progress(float f, void *user)
{
  (void)user;
  if (isatty(2)) fprintf(stderr, "\rloading %3.0f%%", f * 100.0f);
  if (f >= 1.0f && isatty(2)) fprintf(stderr, "\r             \r");
  return 0;
}

static dseek_model *load(const args *a, int vocab_only)
{
  if (!a->model) { fprintf(stderr, "dseek: no model given (-m MODEL)\n"); return NULL; }
  dseek_model_options mo;
  dseek_model_options_init(&mo, sizeof mo);
  mo.vocab_only = vocab_only;
  mo.progress = load_progress;
  dseek_model *m = NULL;
  if (dseek_model_load(a->model, &mo, &m)) {
    fprintf(stderr, "dseek: %s\n", dseek_last_error());
    return NULL;
  }
  return m;
}

/* ---- streaming output ----------------------------------------------------- */

typedef struct stream_state {
  int tty, hide_thinking;
  dseek_piece_kind last;
} stream_state;

static int on_piece(dseek_piece_kind kind, const char *text, size_t len, void *user)
{
  stream_state *s = user;
  if (kind == DSEEK_PIECE_REASONING && s->hide_thinking) return 0;
  if (kind != s->last) {
    if (s->tty) fputs(kind == DSEEK_PIECE_REASONING ? "\033[2m" : "\033[0m", stdout);
    else if (kind == DSEEK_PIECE_REASONING) fputs("<think>\n", stdout);
    else if (s->last == DSEEK_PIECE_REASONING) fputs("\n</think>\n\n", stdout);
    if (s->tty && s->last == DSEEK_PIECE_REASONING) fputs("\n\n", stdout);
    s->last = kind;
  }
  fwrite(text, 1, len, stdout);
  fflush(stdout);
  return 0;
}

static dseek_sampler *make_sampler(const args *a)
{
  dseek_sampler *s = NULL;
  if (dseek_sampler_create(a->seed, &s)) return NULL;
  if (a->temp <= 0) {
    dseek_sampler_add_greedy(s);
    return s;
  }
  if (a->top_k > 0) dseek_sampler_add_top_k(s, a->top_k);
  if (a->top_p > 0 && a->top_p < 1) dseek_sampler_add_top_p(s, (float)a->top_p);
  if (a->min_p > 0) dseek_sampler_add_min_p(s, (float)a->min_p);
  dseek_sampler_add_temperature(s, (float)a->temp);
  return s;
}

/* --kv-type: the type id, or -1 for an unknown name (0 F32 is a valid id). */
static int kv_type_of(const args *a)
{
  static const struct { const char *name; int type; } names[] = {
    {"f16", DSEEK_TYPE_F16}, {"f32", DSEEK_TYPE_F32}, {"bf16", DSEEK_TYPE_BF16}, {"q8_0", DSEEK_TYPE_Q8_0}};
  if (!a->kv_name) return DSEEK_TYPE_F16;
  for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
    if (!strcmp(a->kv_name, names[i].name)) return names[i].type;
  fprintf(stderr, "dseek: --kv-type must be f16, f32, bf16 or q8_0, not '%s'\n", a->kv_name);
  return -1;
}

static dseek_context *make_context(const args *a, dseek_model *m)
{
  dseek_context_options co;
  dseek_context_options_init(&co, sizeof co);
  co.n_ctx = a->n_ctx;
  co.n_threads = a->n_threads;
  if ((co.kv_type = kv_type_of(a)) < 0) return NULL;
  dseek_context *c = NULL;
  if (dseek_context_create(m, &co, &c)) fprintf(stderr, "dseek: %s\n", dseek_last_error());
  return c;
}

/* Render (roles, contents) with the template into a malloc'd string. */
static char *render(dseek_model *m, const char **roles, const char **contents, int64_t n)
{
  size_t len = 0;
  dseek_status st = dseek_chat_render(m, roles, contents, n, 1, NULL, 0, &len);
  if (st && st != DSEEK_ERR_BUFFER_TOO_SMALL) { fprintf(stderr, "dseek: %s\n", dseek_last_error()); return NULL; }
  char *buf = malloc(len + 1);
  if (buf && dseek_chat_render(m, roles, contents, n, 1, buf, len + 1, &len)) { free(buf); return NULL; }
  return buf;
}

/* A whole file as a NUL-terminated string (NULL for no path or on error). */
static char *read_file(const char *path)
{
  if (!path) return NULL;
  FILE *f = fopen(path, "rb");
  char *p = NULL;
  long n = -1;
  if (f && !fseek(f, 0, SEEK_END) && (n = ftell(f)) >= 0 && !fseek(f, 0, SEEK_SET) && (p = malloc((size_t)n + 1))) {
    if (fread(p, 1, (size_t)n, f) == (size_t)n) p[n] = 0;
    else { free(p); p = NULL; }
  }
  if (f) fclose(f);
  if (!p) fprintf(stderr, "dseek: cannot read %s\n", path);
  return p;
}

static int generate(const args *a, dseek_context *c, const char *prompt, stream_state *ss,
                    dseek_generate_result *r)
{
  char *grammar = read_file(a->grammar_file), *schema = read_file(a->schema_file);
  if ((a->grammar_file && !grammar) || (a->schema_file && !schema)) { free(grammar); free(schema); return 1; }
  dseek_sampler *sampler = make_sampler(a);
  dseek_generate_options go;
  dseek_generate_options_init(&go, sizeof go);
  go.max_tokens = a->n_predict;
  go.max_thinking_tokens = a->think_budget;
  go.min_thinking_tokens = a->think_min;
  go.sampler = sampler;
  go.stream = on_piece;
  go.stream_user_data = ss;
  go.grammar = grammar;
  go.json_schema = schema;
  go.use_mtp = a->use_mtp;
  go.context_shift = a->context_shift;
  go.n_keep = a->n_keep;
  r->struct_size = sizeof *r;
  dseek_status st = dseek_generate(c, prompt, &go, r);
  dseek_sampler_free(sampler);
  free(grammar);
  free(schema);
  if (ss->tty) fputs("\033[0m", stdout);
  fputc('\n', stdout);
  if (st) fprintf(stderr, "dseek: %s\n", dseek_last_error());
  return st ? 1 : 0;
}

static int cmd_run(const args *a)
{
  if (!a->prompt) { fprintf(stderr, "dseek run: no prompt (-p PROMPT)\n"); return 2; }
  dseek_model *m = load(a, 0);
  if (!m) return 1;
  dseek_context *c = make_context(a, m);
  char *prompt = NULL;
  int rc = 1;
  if (c) {
    const char *roles[] = {"user"}, *contents[] = {a->prompt};
    prompt = a->chat_template ? render(m, roles, contents, 1) : strdup(a->prompt);
  }
  if (prompt && a->samples.n > 0) {
    cli_samples s = a->samples;
    s.max_tokens = a->n_predict;
    s.hide_thinking = a->hide_thinking;
    s.sampler = make_sampler(a);
    rc = cli_run_samples(c, prompt, &s);
    dseek_sampler_free(s.sampler);
  } else if (prompt) {
    stream_state ss = {isatty(1), a->hide_thinking, 0};
    dseek_generate_result r;
    rc = generate(a, c, prompt, &ss, &r);
    if (!rc)
      fprintf(stderr, "[%lld prompt tokens in %.2f s, %lld generated (%lld reasoning) in %.2f s: %.1f tokens/s]\n",
              (long long)r.n_prompt_tokens, r.prompt_seconds, (long long)r.n_generated_tokens,
              (long long)r.n_reasoning_tokens, r.generate_seconds,
              r.generate_seconds > 0 ? r.n_generated_tokens / r.generate_seconds : 0.0);
    if (!rc && r.n_scored_tokens > 0)
      fprintf(stderr, "[confidence: mean %.3f, lowest group %.3f, bottom-10%% group %.3f, tail %.3f; "
              "log-probability %.2f]\n", r.mean_confidence, r.lowest_group_confidence,
              r.bottom10_group_confidence, r.tail_confidence, r.sum_logprob);
    if (!rc && a->use_mtp)
      fprintf(stderr, "[MTP: %lld of %lld drafts accepted]\n", (long long)r.n_draft_accepted,
              (long long)r.n_draft_tokens);
  }
  free(prompt);
  dseek_context_free(c);
  dseek_model_free(m);
  return rc;
}

/* ---- chat: the conversation keeps only answers of earlier turns ------------ */

typedef struct answer_buf { char *data; size_t len, cap; stream_state *ss; } answer_buf;

static int on_chat_piece(dseek_piece_kind kind, const char *text, size_t len, void *user)
{
  answer_buf *b = user;
  if (kind == DSEEK_PIECE_CONTENT) {
    if (b->len + len + 1 > b->cap) {
      size_t cap = (b->len + len + 1) * 2;
      char *p = realloc(b->data, cap);
      if (!p) return 1;
      b->data = p;
      b->cap = cap;
    }
    memcpy(b->data + b->len, text, len);
    b->len += len;
    b->data[b->len] = 0;
  }
  return on_piece(kind, text, len, b->ss);
}

static int cmd_chat(const args *a)
{
  dseek_model *m = load(a, 0);
  if (!m) return 1;
  dseek_context *c = make_context(a, m);
  if (!c) { dseek_model_free(m); return 1; }
  const char **roles = NULL, **contents = NULL;
  int64_t n = 0;
  char line[8192];
  int tty = isatty(0);
  for (;;) {
    if (tty) { fputs("> ", stdout); fflush(stdout); }
    if (!fgets(line, sizeof line, stdin)) break;
    line[strcspn(line, "\n")] = 0;
    if (!line[0]) continue;
    if (!strcmp(line, "/exit") || !strcmp(line, "/quit")) break;
    roles = realloc(roles, (size_t)(n + 2) * sizeof *roles);
    contents = realloc(contents, (size_t)(n + 2) * sizeof *contents);
    roles[n] = "user";
    contents[n] = strdup(line);
    n++;
    char *prompt = render(m, roles, contents, n);
    if (!prompt) break;
    stream_state ss = {isatty(1), a->hide_thinking, 0};
    answer_buf ab = {NULL, 0, 0, &ss};
    dseek_sampler *sampler = make_sampler(a);
    dseek_generate_options go;
    dseek_generate_options_init(&go, sizeof go);
    go.max_tokens = a->n_predict;
    go.max_thinking_tokens = a->think_budget;
    go.min_thinking_tokens = a->think_min;
    go.sampler = sampler;
    go.stream = on_chat_piece;
    go.stream_user_data = &ab;
    go.use_mtp = a->use_mtp;
    go.context_shift = a->context_shift;
    go.n_keep = a->n_keep;
    dseek_status st = dseek_generate(c, prompt, &go, NULL);
    dseek_sampler_free(sampler);
    free(prompt);
    if (ss.tty) fputs("\033[0m", stdout);
    fputc('\n', stdout);
    if (st) { fprintf(stderr, "dseek: %s\n", dseek_last_error()); free(ab.data); break; }
    roles[n] = "assistant";
    contents[n] = ab.data ? ab.data : strdup("");
    n++;
  }
  for (int64_t i = 0; i < n; i++) free((void *)contents[i]);
  free(roles);
  free(contents);
  dseek_context_free(c);
  dseek_model_free(m);
  return 0;
}

/* ---- info and tokenize ----------------------------------------------------- */

static double mib(int64_t bytes) { return (double)bytes / 1048576.0; }

/* A parameter count in M below 1e9, else in B. */
static const char *count(int64_t n, char *buf, size_t size)
{
  snprintf(buf, size, n < 1000000000 ? "%.3f M" : "%.3f B", n < 1000000000 ? n / 1e6 : n / 1e9);
  return buf;
}

static void print_counts(const dseek_param_counts *p)
{
  char a[32], b[32], c[32];
  printf("parameters    %s total, %s active per token", count(p->total, a, sizeof a), count(p->active, b, sizeof b));
  if (p->mtp) printf(", MTP layers %s more", count(p->mtp, c, sizeof c));
  printf("\n");
}

/* KV bytes of n values of a cache type (Q8_0: blocks of 32 values in 34 bytes). */
static int64_t kv_bytes(int64_t values, int type)
{
  return type == DSEEK_TYPE_F32 ? 4 * values : type == DSEEK_TYPE_Q8_0 ? values / 32 * 34 : 2 * values;
}

/* dseek info CONFIG.json: counts and KV sizes from a deepseek2 config alone. */
static int info_config(const args *a, int kv_type, int64_t n_ctx)
{
  dseek_param_counts p = {.struct_size = sizeof p};
  if (dseek_config_param_counts(a->model, a->layers, &p)) {
    fprintf(stderr, "dseek: %s\n", dseek_last_error());
    return 1;
  }
  printf("config        %s\n", a->model);
  if (a->layers > 0) printf("layers        %lld (extrapolated)\n", (long long)a->layers);
  print_counts(&p);
  int64_t per = kv_bytes(p.kv_values_per_token, kv_type);
  printf("KV cache      %lld bytes per token (%s); %lld tokens: %.1f MiB (work buffers not included)\n",
         (long long)per, dseek_type_name(kv_type), (long long)n_ctx, mib(per * n_ctx));
  return 0;
}

static int cmd_info(const args *a)
{
  int kv_type = kv_type_of(a);
  if (kv_type < 0) return 2;
  int64_t n_ctx = a->n_ctx > 0 ? a->n_ctx : 4096;
  size_t len = a->model ? strlen(a->model) : 0;
  if (len > 5 && !strcmp(a->model + len - 5, ".json")) return info_config(a, kv_type, n_ctx);
  printf("model         %s\n", a->model);
  fflush(stdout);
  info_tensors(a->model);   /* a GGUF: shards and tensor types, also when it cannot load */
  dseek_model *m = load(a, 0);
  if (!m) return 1;
  printf("architecture  %s\n", dseek_model_arch(m));
  printf("vocabulary    %lld tokens%s\n", (long long)dseek_model_n_vocab(m),
         dseek_model_has_vocab(m) ? "" : " (no tokenizer: token ids only)");
  printf("layers        %lld, embedding %lld\n", (long long)dseek_model_n_layer(m), (long long)dseek_model_n_embd(m));
  printf("trained ctx   %lld\n", (long long)dseek_model_n_ctx_train(m));
  dseek_param_counts p = {.struct_size = sizeof p};
  if (!dseek_model_param_counts(m, &p)) print_counts(&p);
  printf("weights       %.1f MiB:", mib(dseek_model_weight_bytes(m)));
  for (int t = 0; t <= DSEEK_TYPE_F8_E4M3; t++) {
    int64_t n = 0, bytes = 0;
    char buf[32];
    if (!dseek_model_weights_of_type(m, t, &n, &bytes) && bytes > 0)
      printf(" %s %.1f MiB (%s)", dseek_type_name(t), mib(bytes), count(n, buf, sizeof buf));
  }
  printf("\n");
  dseek_context_options co;
  dseek_context_options_init(&co, sizeof co);
  co.n_ctx = n_ctx;
  co.n_threads = a->n_threads;
  co.kv_type = kv_type;
  dseek_memory_estimate e = {.struct_size = sizeof e};
  if (!dseek_context_memory_estimate(m, &co, &e)) {
    printf("KV cache      %lld bytes per token (%s)\n", (long long)e.kv_bytes_per_token, dseek_type_name(kv_type));
    printf("context       %lld tokens: %.1f MiB (KV cache %.1f MiB + work buffers %.1f MiB) besides the weights\n",
           (long long)e.n_ctx, mib(e.total_bytes), mib(e.kv_bytes), mib(e.work_bytes));
  } else {
    printf("KV cache      %s\n", dseek_last_error());
  }
  if (a->layers > 0) {   /* a checkpoint directory's config.json, at another depth */
    dseek_param_counts x = {.struct_size = sizeof x};
    if (!dseek_config_param_counts(a->model, a->layers, &x)) {
      printf("at %lld layers ", (long long)a->layers);
      print_counts(&x);
    } else {
      printf("at %lld layers: %s\n", (long long)a->layers, dseek_last_error());
    }
  }
  dseek_model_free(m);
  return 0;
}

static int cmd_tokenize(const args *a)
{
  if (!a->text) { fprintf(stderr, "dseek tokenize: no text\n"); return 2; }
  dseek_model *m = load(a, 1);
  if (!m) return 1;
  int64_t n = 0;
  size_t len = strlen(a->text);
  dseek_status st = dseek_tokenize(m, a->text, len, 0, !a->no_special, NULL, 0, &n);
  int32_t *ids = NULL;
  if (st == DSEEK_ERR_BUFFER_TOO_SMALL || st == DSEEK_OK) {
    ids = malloc((size_t)(n > 0 ? n : 1) * sizeof *ids);
    st = dseek_tokenize(m, a->text, len, 0, !a->no_special, ids, n, &n);
  }
  if (st) {
    fprintf(stderr, "dseek: %s\n", dseek_last_error());
  } else {
    for (int64_t i = 0; i < n; i++) {
      const char *piece;
      size_t plen;
      dseek_token_piece(m, ids[i], &piece, &plen);
      printf("%6d  '", ids[i]);
      for (size_t k = 0; k < plen; k++) {
        unsigned char ch = (unsigned char)piece[k];
        if (ch == '\n') fputs("\\n", stdout);
        else if (ch < 0x20) printf("\\x%02x", ch);
        else putchar(ch);
      }
      puts("'");
    }
  }
  free(ids);
  dseek_model_free(m);
  return st ? 1 : 0;
}

/* `dseek serve ...` is dseek-server (examples/server) with the same
 * arguments: a program of its own, so that this tool needs no HTTP or JSON
 * library. The build tree's copy first (uninstalled builds), then the
 * installed one, then PATH; exec returns only on failure. */
static int cmd_serve(int argc, char **argv)
{
  static const char *const paths[] = {
#ifdef DSEEK_SERVER_BUILD_PATH
    DSEEK_SERVER_BUILD_PATH,
#endif
#ifdef DSEEK_SERVER_INSTALL_PATH
    DSEEK_SERVER_INSTALL_PATH,
#endif
    NULL};
  argv[1] = (char *)"dseek-server";
  for (int i = 0; paths[i]; i++)
    if (access(paths[i], X_OK) == 0) execv(paths[i], argv + 1);
  execvp("dseek-server", argv + 1);
  (void)argc;
  fprintf(stderr, "dseek: serve: dseek-server was not built (it needs libmicrohttpd-dev and libjansson-dev; "
                  "meson option -Dserver=enabled)\n");
  return 1;
}

int main(int argc, char **argv)
{
  if (argc < 2) { usage(stderr); return 2; }
  args a = {.n_predict = 1024, .temp = 0.6, .top_p = 0.95, .think_budget = -1,
            .samples = {.window = 2048, .warmup = 16, .consensus = 0.95, .keep_top = 1}};
  const char *cmd = argv[1];
  if (!strcmp(cmd, "-h") || !strcmp(cmd, "--help")) { usage(stdout); return 0; }
  if (!strcmp(cmd, "--version")) { printf("dseek %s\n", dseek_version()); return 0; }
  if (!strcmp(cmd, "serve")) return cmd_serve(argc, argv);
  if (parse(argc, argv, 2, &a)) return 2;
  if ((!strcmp(cmd, "run") || !strcmp(cmd, "chat")) && !a.model && (a.model = tiny_r1_default_path())) {
    fprintf(stderr, "dseek: no -m given: using tiny-r1, the built-in demo model (%s)\n", a.model);
    a.chat_template = 1;   /* tiny-r1 only knows chat turns */
  }
  if (!strcmp(cmd, "run")) return cmd_run(&a);
  if (!strcmp(cmd, "chat")) return cmd_chat(&a);
  if (!strcmp(cmd, "info")) return cmd_info(&a);
  if (!strcmp(cmd, "tokenize")) return cmd_tokenize(&a);
  fprintf(stderr, "dseek: unknown command '%s'\n", cmd);
  usage(stderr);
  return 2;
}
