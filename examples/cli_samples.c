/*
 * cli_samples.c — `dseek run --samples N`: N chains decoded together over
 * one prompt (dseek_generate_parallel), a line per chain (tokens, why it
 * stopped, its confidence, its answer) and the vote; --confidence picks
 * DeepConf's (arXiv 2508.15260) weighted vote, online early stop and
 * adaptive count.
 */
#include "cli_samples.h"

#include <stdio.h>
#include <string.h>

int cli_confidence_mode(const cli_samples *s, dseek_confidence_options *cf)
{
  dseek_confidence_options_init(cf, sizeof *cf);
  cf->window = s->window;
  cf->n_warmup = s->warmup;
  cf->keep_top = s->keep_top;
  const char *m = s->mode ? s->mode : "majority";
  static const char *const known[] = {"majority", "weighted", "low", "high", "adaptive", "low+adaptive",
                                      "high+adaptive"};
  int ok = 0;
  for (size_t i = 0; i < sizeof known / sizeof known[0]; i++) ok |= !strcmp(m, known[i]);
  if (!ok) return -1;
  cf->weighted = strcmp(m, "majority") != 0;
  if (strstr(m, "low")) { cf->early_stop = 1; cf->stop_percentile = 90; }
  if (strstr(m, "high")) { cf->early_stop = 1; cf->stop_percentile = 10; }
  if (strstr(m, "adaptive")) cf->consensus = s->consensus;
  return 0;
}

static const char *reason_name(int r)
{
  static const char *const names[] = {"none", "eos", "max_tokens", "stop", "callback", "context_full",
                                      "low_confidence", "settled"};
  return r >= 0 && r < (int)(sizeof names / sizeof names[0]) ? names[r] : "?";
}

int cli_run_samples(dseek_context *c, const char *prompt, const cli_samples *s)
{
  dseek_confidence_options cf;
  if (cli_confidence_mode(s, &cf)) {
    fprintf(stderr, "dseek: --confidence must be majority, weighted, low, high, adaptive, low+adaptive or "
                    "high+adaptive, not '%s'\n", s->mode);
    return 2;
  }
  dseek_generate_options go;
  dseek_generate_options_init(&go, sizeof go);
  go.max_tokens = s->max_tokens;
  go.sampler = s->sampler;
  go.confidence = &cf;
  dseek_samples *ss = NULL;
  const char *answer = NULL;
  double weight = 0, share = 0;
  if (dseek_generate_parallel(c, prompt, s->n, NULL, &go, &ss) ||
      dseek_samples_vote_confidence(ss, NULL, NULL, &cf, &answer, &weight, &share)) {
    fprintf(stderr, "dseek: %s\n", dseek_last_error());
    dseek_samples_free(ss);
    return 1;
  }
  int64_t spent = 0, n = dseek_samples_count(ss);
  printf("chain  tokens  stop            lowest-group  mean   tail   answer\n");
  for (int64_t i = 0; i < n; i++) {
    dseek_generate_result r = {.struct_size = sizeof r};
    dseek_samples_result(ss, i, &r);
    spent += r.n_generated_tokens;
    const char *a = dseek_samples_answer(ss, i);
    printf("%5lld  %6lld  %-14s  %12.3f  %5.2f  %5.2f  %s\n", (long long)i, (long long)r.n_generated_tokens,
           reason_name(r.stop_reason), r.lowest_group_confidence, r.mean_confidence, r.tail_confidence,
           a ? a : "-");
    if (!s->hide_thinking) {
      size_t len = 0;
      const char *text = dseek_samples_content(ss, i, &len);
      printf("       %.*s\n", (int)(len > 200 ? 200 : len), text);
    }
  }
  double thr = dseek_samples_stop_threshold(ss);
  if (thr == thr) printf("early-stop threshold (warm-up %lld chains): %.3f\n", (long long)cf.n_warmup, thr);
  printf("vote (%s): %s  (weight %.2f, share %.0f%%; %lld of %lld chains ran, %lld tokens)\n",
         s->mode ? s->mode : "majority", answer ? answer : "(none)", weight, 100 * share, (long long)n,
         (long long)s->n, (long long)spent);
  dseek_samples_free(ss);
  return 0;
}
