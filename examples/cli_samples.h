/* cli_samples.h — `dseek run --samples N [--confidence MODE]`: parallel
 * chains over one prompt and their (confidence-guided) vote. */
#ifndef DSEEK_CLI_SAMPLES_H
#define DSEEK_CLI_SAMPLES_H

#include <dseek.h>

typedef struct cli_samples {
  int64_t n;                 /* --samples */
  const char *mode;          /* --confidence: majority (default), weighted, low, high, adaptive,
                                low+adaptive, high+adaptive */
  int64_t window, warmup;    /* --conf-window (default 2048), --conf-warmup (default 16) */
  double consensus, keep_top;/* --consensus (default 0.95), --keep-top (default 1) */
  int64_t max_tokens;
  dseek_sampler *sampler;
  int hide_thinking;
} cli_samples;

/* Fill the confidence options for mode; -1 for an unknown mode. */
int cli_confidence_mode(const cli_samples *s, dseek_confidence_options *cf);

/* Run the chains, print one line per chain and the vote; 0 on success. */
int cli_run_samples(dseek_context *c, const char *prompt, const cli_samples *s);

#endif
