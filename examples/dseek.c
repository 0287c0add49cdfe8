/*
 * dseek — command line tool over the public API.
 *
 *   dseek run -m MODEL -p PROMPT [--chat] [-n N] [--temp T] [--top-p P] [--top-k K]
 *             [--min-p P] [--seed S] [-t THREADS] [--ctx N] [--hide-thinking]
 *             [--think-budget N] [--think-min N] [--grammar FILE | --json-schema FILE]
 *             [--mtp]
 *   dseek chat -m MODEL [same options]      interactive multi-turn chat
 *   dseek info MODEL [--ctx N]              architecture, sizes, memory
 *   dseek tokenize -m MODEL TEXT [--no-special]
 *
 * Reasoning streams dimmed and the answer plain on a terminal; plain text when
 * stdout is not a terminal (reasoning then goes between <think> tags).
 */
#include <dseek.h>

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
} args;
  int use_mtp;                              /* --mtp: MTP speculative decoding */

static void usage(FILE *f)
{
  fprintf(f,
          "usage: dseek run -m MODEL -p PROMPT [options]\n"
          "       dseek chat -m MODEL [options]\n"
          "       dseek info MODEL [--ctx N]\n"
          "       dseek tokenize -m MODEL TEXT [--no-special]\n"
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
          "  --mtp             speculative decoding with the model's MTP layer (deepseek2 models with one)\n");
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
    else if (!strcmp(s, "--chat")) a->chat_template = 1;
    else if (!strcmp(s, "--hide-thinking")) a->hide_thinking = 1;
    else if (!strcmp(s, "--mtp")) a->use_mtp = 1;
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

static dseek_context *make_context(const args *a, dseek_model *m)
{
  dseek_context_options co;
  dseek_context_options_init(&co, sizeof co);
  co.n_ctx = a->n_ctx;
  co.n_threads = a->n_threads;
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
  go.use_mtp = a->use_mtp;
    const char *roles[] = {"user"}, *contents[] = {a->prompt};
    prompt = a->chat_template ? render(m, roles, contents, 1) : strdup(a->prompt);
  }
  if (prompt) {
    stream_state ss = {isatty(1), a->hide_thinking, 0};
    dseek_generate_result r;
    rc = generate(a, c, prompt, &ss, &r);
    if (!rc)
      fprintf(stderr, "[%lld prompt tokens in %.2f s, %lld generated (%lld reasoning) in %.2f s: %.1f tokens/s]\n",
              (long long)r.n_prompt_tokens, r.prompt_seconds, (long long)r.n_generated_tokens,
              (long long)r.n_reasoning_tokens, r.generate_seconds,
              r.generate_seconds > 0 ? r.n_generated_tokens / r.generate_seconds : 0.0);
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
    if (!rc && a->use_mtp)
      fprintf(stderr, "[MTP: %lld of %lld drafts accepted]\n", (long long)r.n_draft_accepted,
              (long long)r.n_draft_tokens);
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

    go.use_mtp = a->use_mtp;
static int cmd_info(const args *a)
{
  dseek_model *m = load(a, 0);
  if (!m) return 1;
  int64_t n_ctx = a->n_ctx > 0 ? a->n_ctx : 4096;
  printf("model         %s\n", a->model);
  printf("architecture  %s\n", dseek_model_arch(m));
  printf("vocabulary    %lld tokens%s\n", (long long)dseek_model_n_vocab(m),
         dseek_model_has_vocab(m) ? "" : " (no tokenizer: token ids only)");
  printf("layers        %lld, embedding %lld\n", (long long)dseek_model_n_layer(m), (long long)dseek_model_n_embd(m));
  printf("trained ctx   %lld\n", (long long)dseek_model_n_ctx_train(m));
  printf("parameters    %.3f M\n", dseek_model_n_params(m) / 1e6);
  printf("weights       %.1f MiB\n", dseek_model_weight_bytes(m) / 1048576.0);
  dseek_context_options co;
  dseek_context_options_init(&co, sizeof co);
  co.n_ctx = n_ctx;
  co.n_threads = 1;
  dseek_context *c = NULL;
  if (!dseek_context_create(m, &co, &c)) {
    int64_t per = dseek_context_kv_bytes_per_token(c);
    printf("KV cache      %lld bytes per token (F16); %lld tokens: %.1f MiB\n", (long long)per,
           (long long)n_ctx, per * (double)n_ctx / 1048576.0);
    dseek_context_free(c);
  } else {
    printf("KV cache      %s\n", dseek_last_error());
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

int main(int argc, char **argv)
{
  if (argc < 2) { usage(stderr); return 2; }
  args a = {.n_predict = 1024, .temp = 0.6, .top_p = 0.95, .think_budget = -1};
  const char *cmd = argv[1];
  if (!strcmp(cmd, "-h") || !strcmp(cmd, "--help")) { usage(stdout); return 0; }
  if (!strcmp(cmd, "--version")) { printf("dseek %s\n", dseek_version()); return 0; }
  if (parse(argc, argv, 2, &a)) return 2;
  if (!strcmp(cmd, "run")) return cmd_run(&a);
  if (!strcmp(cmd, "chat")) return cmd_chat(&a);
  if (!strcmp(cmd, "info")) return cmd_info(&a);
  if (!strcmp(cmd, "tokenize")) return cmd_tokenize(&a);
  fprintf(stderr, "dseek: unknown command '%s'\n", cmd);
  usage(stderr);
  return 2;
}
