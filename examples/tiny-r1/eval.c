/*
 * tiny-r1-eval — test-time compute on tiny-r1's held-out arithmetic problems
 * (public API only).
 *
 *   tiny-r1-eval [-m MODEL] [--problems FILE] [--limit N] [--budgets LIST]
 *                [--sc LIST] [--sc-limit N] [--temp T] [--top-p P] [--seed S]
 *                [-t THREADS] [--csv FILE] [--expect PCT --tolerance PTS]
 *
 * Problems: FILE has one "question<TAB>answer" per line (heldout.tsv, written
 * by train.py; never trained on). Each question is rendered with the model's
 * chat template (DeepSeek R1) and answered; the answer is the content of the
 * last \boxed{...} after the thinking, compared with the expected integer.
 *
 * 1. Thinking budgets (greedy): for each budget B in LIST (default
 *    0,8,16,32,64,-1; -1 = unlimited) dseek_generate with
 *    max_thinking_tokens = B, which closes the thinking after B tokens by
 *    injecting "\n</think>\n\n" (at 0: "</think>\n\n" at once).
 * 2. Self-consistency: for each n in LIST (default 1,4,16) n samples at
 *    temperature T (default 0.6, top-p 0.95) with unlimited thinking from
 *    dseek_generate_parallel, majority vote of the boxed answers
 *    (dseek_samples_vote).
 * Prints a table (accuracy and mean thinking tokens); --csv writes the same
 * rows for plot.py. --expect: exit status 1 unless the accuracy of the last
 * budget is within --tolerance points (default 4) of PCT (the model card's
 * figure; used by the test).
 */
#include <dseek.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define MAX_LIST 16

typedef struct problem {
  char *question;
  char answer[32];
} problem;

typedef struct options {
  const char *model, *problems, *csv;
  int64_t limit, sc_limit;
  int64_t budgets[MAX_LIST], sc[MAX_LIST];
  int n_budgets, n_sc, n_threads;
  double temp, top_p, expect, tolerance;
  const char *conf_modes;        /* --conf: comma-separated modes of eval_conf (NULL: none) */
  int64_t conf_n, conf_window, conf_warmup;
  double consensus;
  uint64_t seed;
} options;

/* "0,8,-1" -> values; returns the count or -1. An empty string is no value. */
static int parse_list(const char *s, int64_t *out)
{
  int n = 0;
  while (*s) {
    char *end;
    long long v = strtoll(s, &end, 10);
    if (end == s || n == MAX_LIST || (*end && *end != ',')) return -1;
    out[n++] = v;
    s = *end ? end + 1 : end;
  }
  return n;
}

static const char *first_readable(const char *const *paths, int n)
{
  for (int i = 0; i < n; i++)
    if (paths[i] && access(paths[i], R_OK) == 0) return paths[i];
  return NULL;
}

static const char *default_path(int heldout)
{
  const char *paths[2] = {NULL, NULL};
  (void)heldout;   /* unused when the build defines no directory */
#ifdef DSEEK_TINY_R1_SOURCE_DIR
  paths[0] = heldout ? DSEEK_TINY_R1_SOURCE_DIR "/heldout.tsv" : DSEEK_TINY_R1_SOURCE_DIR "/tiny-r1.gguf";
#endif
#ifdef DSEEK_TINY_R1_INSTALL_DIR
  paths[1] = heldout ? DSEEK_TINY_R1_INSTALL_DIR "/heldout.tsv" : DSEEK_TINY_R1_INSTALL_DIR "/tiny-r1.gguf";
#endif
  return first_readable(paths, 2);
}

static int64_t read_problems(const char *path, int64_t limit, problem **out)
{
  FILE *f = fopen(path, "r");
  if (!f) { perror(path); return -1; }
  problem *p = NULL;
  int64_t n = 0, cap = 0;
  char line[4096];
  while ((limit < 0 || n < limit) && fgets(line, sizeof line, f)) {
    char *tab = strchr(line, '\t');
    if (!tab) continue;
    *tab = 0;
    char *ans = tab + 1;
    ans[strcspn(ans, "\r\n")] = 0;
    if (n == cap) {
      cap = cap ? 2 * cap : 64;
      problem *q = realloc(p, (size_t)cap * sizeof *p);
      if (!q) { fclose(f); free(p); return -1; }
      p = q;
    }
    p[n].question = strdup(line);
    snprintf(p[n].answer, sizeof p[n].answer, "%s", ans);
    n++;
  }
  fclose(f);
  *out = p;
  return n;
}

/* Content of the last \boxed{...} in text (into out), 0 if there is none. */
static int boxed(const char *text, char *out, size_t cap)
{
  const char *last = NULL;
  for (const char *s = text; (s = strstr(s, "\\boxed{")); s++) last = s;
  if (!last) return 0;
  last += strlen("\\boxed{");
  const char *end = strchr(last, '}');
  if (!end || (size_t)(end - last) >= cap) return 0;
  memcpy(out, last, (size_t)(end - last));
  out[end - last] = 0;
  return 1;
}

typedef struct text_buf {
  char data[8192];
  size_t len;
} text_buf;

static int collect_content(dseek_piece_kind kind, const char *text, size_t length, void *user)
{
  text_buf *b = user;
  if (kind == DSEEK_PIECE_CONTENT && b->len + length < sizeof b->data) {
    memcpy(b->data + b->len, text, length);
    b->len += length;
    b->data[b->len] = 0;
  }
  return 0;
}

static char *render(dseek_model *m, const char *question)
{
  const char *roles[] = {"user"}, *contents[] = {question};
  size_t len = 0;
  dseek_chat_render(m, roles, contents, 1, 1, NULL, 0, &len);
  char *text = malloc(len + 1);
  if (text && dseek_chat_render(m, roles, contents, 1, 1, text, len + 1, &len)) {
    free(text);
    return NULL;
  }
  return text;
}

/* Greedy accuracy (percent) at one thinking budget; *mean_think: mean reasoning tokens. */
static int eval_budget(dseek_context *c, char **prompts, const problem *p, int64_t n, int64_t budget,
                       double *acc, double *mean_think)
{
  int64_t correct = 0, think = 0;
  for (int64_t i = 0; i < n; i++) {
    text_buf buf = {.len = 0};
    buf.data[0] = 0;
    dseek_generate_options go;
    dseek_generate_options_init(&go, sizeof go);
    go.max_tokens = 400;
    go.add_special = 0;   /* the rendered prompt starts with BOS already */
    go.max_thinking_tokens = budget;
    go.think_close = "\n</think>\n\n";
    go.stream = collect_content;
    go.stream_user_data = &buf;
    dseek_generate_result r = {.struct_size = sizeof r};
    if (dseek_generate(c, prompts[i], &go, &r)) {
      fprintf(stderr, "tiny-r1-eval: %s\n", dseek_last_error());
      return -1;
    }
    char ans[64];
    correct += boxed(buf.data, ans, sizeof ans) && !strcmp(ans, p[i].answer);
    think += r.n_reasoning_tokens;
  }
  *acc = 100.0 * (double)correct / (double)n;
  *mean_think = (double)think / (double)n;
  return 0;
}

/* The voting runs' sampler: top-p then temperature (NULL after an error). */
static dseek_sampler *make_sampler(const options *o)
{
  dseek_sampler *s = NULL;
  if (dseek_sampler_create(o->seed, &s) || dseek_sampler_add_top_p(s, (float)o->top_p) ||
      dseek_sampler_add_temperature(s, (float)o->temp)) {
    fprintf(stderr, "tiny-r1-eval: %s\n", dseek_last_error());
    dseek_sampler_free(s);
    return NULL;
  }
  return s;
}

/* n_samples chains for problem i, chain k seeded with seed + 64 i + k (the
 * same seeds for every voting method). */
static int run_samples(dseek_context *c, const char *prompt, int64_t i, int64_t n_samples, const options *o,
                       dseek_sampler *s, const dseek_confidence_options *cf, dseek_samples **out)
{
  uint64_t seeds[64];
  for (int64_t k = 0; k < n_samples; k++) seeds[k] = o->seed + (uint64_t)(i * 64 + k);
  dseek_generate_options go;
  dseek_generate_options_init(&go, sizeof go);
  go.max_tokens = 320;
  go.add_special = 0;
  go.sampler = s;
  go.confidence = cf;
  *out = NULL;
  if (!dseek_generate_parallel(c, prompt, n_samples, seeds, &go, out)) return 0;
  fprintf(stderr, "tiny-r1-eval: %s\n", dseek_last_error());
  return -1;
}

/* Self-consistency accuracy with n_samples votes per problem. */
static int eval_sc(dseek_context *c, char **prompts, const problem *p, int64_t n, int64_t n_samples,
                   const options *o, double *acc, double *mean_think, double *tokens)
{
  dseek_sampler *s = make_sampler(o);
  if (!s) return -1;
  int64_t correct = 0, think = 0, spent = 0;
  for (int64_t i = 0; i < n; i++) {
    dseek_samples *out = NULL;
    const char *answer = NULL;
    int64_t votes = 0;
    if (run_samples(c, prompts[i], i, n_samples, o, s, NULL, &out) ||
        dseek_samples_vote(out, NULL, NULL, &answer, &votes)) {
      if (out) fprintf(stderr, "tiny-r1-eval: %s\n", dseek_last_error());
      dseek_samples_free(out);
      dseek_sampler_free(s);
      return -1;
    }
    correct += answer && !strcmp(answer, p[i].answer);
    for (int64_t k = 0; k < n_samples; k++) {
      dseek_generate_result r = {.struct_size = sizeof r};
      if (!dseek_samples_result(out, k, &r)) { think += r.n_reasoning_tokens; spent += r.n_generated_tokens; }
    }
    dseek_samples_free(out);
  }
  dseek_sampler_free(s);
  *acc = 100.0 * (double)correct / (double)n;
  *mean_think = (double)think / (double)(n * n_samples);
  *tokens = (double)spent / (double)n;
  return 0;
}

/* Confidence-guided voting (DeepConf, arXiv 2508.15260) at n chains per
 * problem, same seeds as eval_sc. mode: "offline" (all n chains run; the
 * votes majority, confidence-weighted, weighted top-90% and top-10% are
 * counted from the same chains), "low" / "high" (online early stop with the
 * 90th / 10th warm-up percentile), "adaptive" (consensus), or
 * "low+adaptive", "high+adaptive". acc[4]: accuracy of the four votes (only
 * acc[1], the weighted vote, for the online modes); *tokens: generated
 * tokens per problem, all chains together. */
static int eval_conf(dseek_context *c, char **prompts, const problem *p, int64_t n, int64_t n_samples,
                     const char *mode, const options *o, double acc[4], double *tokens)
{
  dseek_sampler *s = make_sampler(o);
  if (!s) return -1;
  dseek_confidence_options cf;
  dseek_confidence_options_init(&cf, sizeof cf);
  cf.window = o->conf_window;
  cf.n_warmup = o->conf_warmup;
  if (strstr(mode, "low")) { cf.early_stop = 1; cf.stop_percentile = 90; }
  if (strstr(mode, "high")) { cf.early_stop = 1; cf.stop_percentile = 10; }
  if (strstr(mode, "adaptive")) cf.consensus = o->consensus;
  const double keep[4] = {1, 1, 0.9, 0.1};
  const int weighted[4] = {0, 1, 1, 1};
  int64_t correct[4] = {0, 0, 0, 0}, spent = 0;
  for (int64_t i = 0; i < n; i++) {
    dseek_samples *out = NULL;
    if (run_samples(c, prompts[i], i, n_samples, o, s, &cf, &out)) {
      dseek_sampler_free(s);
      return -1;
    }
    for (int v = 0; v < 4; v++) {
      dseek_confidence_options vo = cf;
      vo.keep_top = keep[v];
      vo.weighted = weighted[v];
      const char *answer = NULL;
      if (dseek_samples_vote_confidence(out, NULL, NULL, &vo, &answer, NULL, NULL)) {
        fprintf(stderr, "tiny-r1-eval: %s\n", dseek_last_error());
        dseek_samples_free(out);
        dseek_sampler_free(s);
        return -1;
      }
      correct[v] += answer && !strcmp(answer, p[i].answer);
    }
    for (int64_t k = 0; k < dseek_samples_count(out); k++) {
      dseek_generate_result r = {.struct_size = sizeof r};
      if (!dseek_samples_result(out, k, &r)) spent += r.n_generated_tokens;
    }
    dseek_samples_free(out);
  }
  dseek_sampler_free(s);
  for (int v = 0; v < 4; v++) acc[v] = 100.0 * (double)correct[v] / (double)n;
  *tokens = (double)spent / (double)n;
  return 0;
}

static void usage(FILE *f)
{
  fprintf(f,
          "usage: tiny-r1-eval [-m MODEL] [--problems FILE] [--limit N] [--budgets LIST]\n"
          "                    [--sc LIST] [--sc-limit N] [--temp T] [--top-p P] [--seed S]\n"
          "                    [-t THREADS] [--csv FILE] [--expect PCT [--tolerance PTS]]\n"
          "  --budgets LIST  thinking budgets, greedy (default 0,8,16,32,64,-1; -1 unlimited)\n"
          "  --sc LIST       self-consistency sample counts (default 1,4,16; empty: none)\n"
          "  --limit N       first N problems (default all); --sc-limit N for voting (default 100)\n"
          "  --conf MODES    confidence-guided voting (DeepConf) at --conf-n chains (default 16):\n"
          "                  offline,low,high,adaptive,low+adaptive,high+adaptive; --conf-window W\n"
          "                  (default 16), --conf-warmup N (default 4), --consensus TAU (default 0.95)\n"
          "  --expect PCT    fail unless the last budget's accuracy is PCT +- tolerance (default 4)\n");
}

int main(int argc, char **argv)
{
  options o = {.limit = -1, .sc_limit = 100, .temp = 0.6, .top_p = 0.95, .tolerance = 4, .expect = -1,
               .n_threads = 1, .seed = 1, .conf_n = 16, .conf_window = 16, .conf_warmup = 4, .consensus = 0.95};
  o.n_budgets = parse_list("0,8,16,32,64,-1", o.budgets);
  o.n_sc = parse_list("1,4,16", o.sc);
  for (int i = 1; i < argc; i++) {
    const char *s = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
    if (!strcmp(s, "-h") || !strcmp(s, "--help")) { usage(stdout); return 0; }
    if (!v) { usage(stderr); return 2; }
    i++;
    if (!strcmp(s, "-m")) o.model = v;
    else if (!strcmp(s, "--problems")) o.problems = v;
    else if (!strcmp(s, "--csv")) o.csv = v;
    else if (!strcmp(s, "--limit")) o.limit = atoll(v);
    else if (!strcmp(s, "--sc-limit")) o.sc_limit = atoll(v);
    else if (!strcmp(s, "--budgets")) o.n_budgets = parse_list(v, o.budgets);
    else if (!strcmp(s, "--sc")) o.n_sc = parse_list(v, o.sc);
    else if (!strcmp(s, "--temp")) o.temp = atof(v);
    else if (!strcmp(s, "--top-p")) o.top_p = atof(v);
    else if (!strcmp(s, "--seed")) o.seed = strtoull(v, NULL, 10);
    else if (!strcmp(s, "-t")) o.n_threads = atoi(v);
    else if (!strcmp(s, "--expect")) o.expect = atof(v);
    else if (!strcmp(s, "--tolerance")) o.tolerance = atof(v);
    else if (!strcmp(s, "--conf")) o.conf_modes = v;
    else if (!strcmp(s, "--conf-n")) o.conf_n = atoll(v);
    else if (!strcmp(s, "--conf-window")) o.conf_window = atoll(v);
    else if (!strcmp(s, "--conf-warmup")) o.conf_warmup = atoll(v);
    else if (!strcmp(s, "--consensus")) o.consensus = atof(v);
    else { usage(stderr); return 2; }
  }
  if (o.n_budgets < 0 || o.n_sc < 0) { fprintf(stderr, "tiny-r1-eval: bad list\n"); return 2; }
  for (int k = 0; k < o.n_sc; k++)
    if (o.sc[k] < 1 || o.sc[k] > 64) { fprintf(stderr, "tiny-r1-eval: --sc values are 1..64\n"); return 2; }
  if (!o.model) o.model = default_path(0);
  if (!o.problems) o.problems = default_path(1);
  if (!o.model || !o.problems) { fprintf(stderr, "tiny-r1-eval: tiny-r1 not found; give -m and --problems\n"); return 2; }

  problem *p = NULL;
  int64_t n = read_problems(o.problems, o.limit, &p);
  if (n <= 0) { fprintf(stderr, "tiny-r1-eval: no problems in %s\n", o.problems); return 1; }
  dseek_model *m = NULL;
  if (dseek_model_load(o.model, NULL, &m)) { fprintf(stderr, "tiny-r1-eval: %s\n", dseek_last_error()); return 1; }
  int64_t max_sc = 1;
  for (int k = 0; k < o.n_sc; k++) max_sc = o.sc[k] > max_sc ? o.sc[k] : max_sc;
  if (o.conf_n < 1 || o.conf_n > 64) { fprintf(stderr, "tiny-r1-eval: --conf-n is 1..64\n"); return 2; }
  if (o.conf_modes && o.conf_n > max_sc) max_sc = o.conf_n;
  dseek_context_options co;
  dseek_context_options_init(&co, sizeof co);
  co.n_ctx = 128 + max_sc * 320;
  co.n_threads = o.n_threads;
  dseek_context *c = NULL;
  if (dseek_context_create(m, &co, &c)) { fprintf(stderr, "tiny-r1-eval: %s\n", dseek_last_error()); return 1; }
  char **prompts = calloc((size_t)n, sizeof *prompts);
  for (int64_t i = 0; i < n; i++)
    if (!prompts || !(prompts[i] = render(m, p[i].question))) {
      fprintf(stderr, "tiny-r1-eval: chat template: %s\n", dseek_last_error());
      return 1;
    }
  FILE *csv = o.csv ? fopen(o.csv, "w") : NULL;
  if (o.csv && !csv) { perror(o.csv); return 1; }
  if (csv) fprintf(csv, "kind,value,accuracy,mean_thinking_tokens,problems,tokens_per_problem\n");

  int status = 0;
  double acc = 0, think = 0;
  printf("tiny-r1 held-out accuracy: %s\n\n", o.model);
  if (o.n_budgets) printf("thinking budget (greedy, %lld problems)   accuracy   mean thinking tokens\n", (long long)n);
  for (int k = 0; k < o.n_budgets; k++) {
    if (eval_budget(c, prompts, p, n, o.budgets[k], &acc, &think)) return 1;
    char label[32];
    if (o.budgets[k] < 0) snprintf(label, sizeof label, "unlimited");
    else snprintf(label, sizeof label, "%lld", (long long)o.budgets[k]);
    printf("  %-40s %6.1f%%   %8.1f\n", label, acc, think);
    fflush(stdout);
    if (csv) fprintf(csv, "budget,%lld,%.2f,%.2f,%lld,\n", (long long)o.budgets[k], acc, think, (long long)n);
  }
  if (o.expect >= 0 && o.n_budgets) {
    int ok = acc >= o.expect - o.tolerance && acc <= o.expect + o.tolerance;
    printf("expected %.1f%% +- %.1f: %s\n", o.expect, o.tolerance, ok ? "ok" : "FAILED");
    status = !ok;
  }
  int64_t ns = o.sc_limit < n ? o.sc_limit : n;
  if (o.n_sc)
    printf("\nself-consistency (temp %.2f, top-p %.2f, %lld problems)  accuracy   mean thinking tokens\n",
           o.temp, o.top_p, (long long)ns);
  for (int k = 0; k < o.n_sc; k++) {
    double tokens = 0;
    if (eval_sc(c, prompts, p, ns, o.sc[k], &o, &acc, &think, &tokens)) return 1;
    char label[32];
    snprintf(label, sizeof label, "n = %lld", (long long)o.sc[k]);
    printf("  %-40s %6.1f%%   %8.1f   (%.0f tokens per problem)\n", label, acc, think, tokens);
    fflush(stdout);
    if (csv) fprintf(csv, "sc,%lld,%.2f,%.2f,%lld,%.1f\n", (long long)o.sc[k], acc, think, (long long)ns, tokens);
  }
  if (o.conf_modes)
    printf("\nconfidence-guided votes at n = %lld (window %lld, warm-up %lld, consensus %.2f, %lld problems)\n"
           "  mode / vote                                accuracy   tokens per problem\n",
           (long long)o.conf_n, (long long)o.conf_window, (long long)o.conf_warmup, o.consensus, (long long)ns);
  for (const char *ms = o.conf_modes; ms && *ms;) {
    char mode[32];
    size_t len = strcspn(ms, ",");
    snprintf(mode, sizeof mode, "%.*s", (int)(len < sizeof mode ? len : sizeof mode - 1), ms);
    ms += len + (ms[len] == ',');
    double a[4], tokens = 0;
    if (eval_conf(c, prompts, p, ns, o.conf_n, mode, &o, a, &tokens)) return 1;
    static const char *const votes[4] = {"majority", "weighted", "weighted top-90%", "weighted top-10%"};
    for (int v = strcmp(mode, "offline") ? 1 : 0; v < (strcmp(mode, "offline") ? 2 : 4); v++) {
      char label[64];
      snprintf(label, sizeof label, "%s, %s", mode, votes[v]);
      printf("  %-40s %6.1f%%   %8.1f\n", label, a[v], tokens);
      if (csv) fprintf(csv, "conf,%s/%s,%.2f,,%lld,%.1f\n", mode, votes[v], a[v], (long long)ns, tokens);
    }
    fflush(stdout);
  }
  if (csv) fclose(csv);
  for (int64_t i = 0; i < n; i++) { free(prompts[i]); free(p[i].question); }
  free(prompts);
  free(p);
  dseek_context_free(c);
  dseek_model_free(m);
  return status;
}
