/*
 * generate.c — the generation loop: tokenize the prompt, evaluate it, then
 * sample, stream and evaluate one token at a time.
 *
 * Text path of every generated token:
 *   token bytes -> UTF-8 assembler (whole characters only) -> stop-string
 *   filter (holds back what could still become a stop string) -> reasoning
 *   splitter (<think> ... </think>) -> the host's stream callback.
 */
#include "core/buf.h"
#include "runtime/context.h"
#include "text/reasoning.h"
#include "text/vocab.h"

#include <string.h>
#include <time.h>

dseek_status dseek_generate_options_init(dseek_generate_options *o, size_t size)
{
  if (!o || size < sizeof(size_t) || size > 4096)
    return ds_error(DSEEK_ERR_INVALID_ARG, "dseek_generate_options_init: bad struct_size %zu", size);
  dseek_generate_options d;
  memset(&d, 0, sizeof d);
  d.max_tokens = 512;
  d.reasoning = DSEEK_REASONING_AUTO;
  d.add_special = 1;
  d.parse_special = 1;
  memset(o, 0, size);
  memcpy(o, &d, DS_MIN(size, sizeof d));
  o->struct_size = size;
  return DSEEK_OK;
}

static double seconds(void)
{
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* ---- output plumbing -------------------------------------------------------- */

typedef struct gen_state {
  const dseek_generate_options *o;
  ds_reasoning split;
  ds_buf pending;            /* text held back by the stop-string filter */
  bool stopped_by_callback;
} gen_state;

static int to_host(ds_part part, const char *text, size_t len, void *user)
{
  gen_state *g = user;
  if (!g->o->stream) return 0;
  dseek_piece_kind kind = part == DS_PART_REASONING ? DSEEK_PIECE_REASONING : DSEEK_PIECE_CONTENT;
  if (g->o->stream(kind, text, len, g->o->stream_user_data)) {
    g->stopped_by_callback = true;
    return 1;
  }
  return 0;
}

/* Longest suffix of s[0..n) that is a proper prefix of some stop string. */
static size_t stop_prefix_len(const dseek_generate_options *o, const char *s, size_t n)
{
  size_t best = 0;
  for (int64_t k = 0; k < o->n_stop; k++) {
    size_t m = strlen(o->stop[k]);
    for (size_t len = DS_MIN(n, m ? m - 1 : 0); len > best; len--)
      if (memcmp(s + n - len, o->stop[k], len) == 0) { best = len; break; }
  }
  return best;
}

/* Feed whole-character text through the stop filter into the splitter. Sets
 * *hit when a stop string appeared (the text from it on is dropped). */
static dseek_status emit_text(gen_state *g, const char *text, size_t len, bool final, bool *hit)
{
  ds_buf *p = &g->pending;
  if (!ds_buf_append(p, text, len)) return ds_error(DSEEK_ERR_NO_MEMORY, "generate: out of memory");
  size_t cut = p->len;
  for (int64_t k = 0; k < g->o->n_stop; k++) {
    const char *at = p->len ? strstr(p->data, g->o->stop[k]) : NULL;
    if (at && (size_t)(at - p->data) < cut && g->o->stop[k][0]) { cut = (size_t)(at - p->data); *hit = true; }
  }
  size_t keep = *hit || final ? 0 : stop_prefix_len(g->o, p->data, p->len);
  size_t out = *hit ? cut : p->len - keep;
  dseek_status st = DSEEK_OK;
  if (out) st = ds_reasoning_push(&g->split, p->data, out, to_host, g);
  memmove(p->data, p->data + out, p->len - out);
  p->len -= out;
  if (p->data) p->data[p->len] = '\0';
  return st;
}

/* Does the prompt (ignoring trailing whitespace) end by opening <think>? */
static bool prompt_opens_think(const char *prompt)
{
  size_t n = strlen(prompt);
  while (n && (prompt[n - 1] == '\n' || prompt[n - 1] == ' ' || prompt[n - 1] == '\r' || prompt[n - 1] == '\t')) n--;
  return n >= 7 && memcmp(prompt + n - 7, "<think>", 7) == 0;
}

static int32_t argmax(const float *x, int64_t n)
{
  int32_t best = 0;
  for (int64_t i = 1; i < n; i++) if (x[i] > x[best]) best = (int32_t)i;
  return best;
}

dseek_status dseek_generate(dseek_context *ctx, const char *prompt, const dseek_generate_options *opts,
                            dseek_generate_result *result)
{
  static const char fn[] = "dseek_generate";
  if (!ctx || !prompt) return ds_error(DSEEK_ERR_INVALID_ARG, "%s: ctx and prompt must not be NULL", fn);
  dseek_generate_options o;
  dseek_generate_options_init(&o, sizeof o);
  if (opts) {
    if (opts->struct_size < sizeof(size_t) || opts->struct_size > 4096)
      return ds_error(DSEEK_ERR_INVALID_ARG, "%s: options struct_size %zu is not valid", fn, opts->struct_size);
    memcpy(&o, opts, DS_MIN(opts->struct_size, sizeof o));
  }
  if (result && result->struct_size < sizeof(size_t))
    return ds_error(DSEEK_ERR_INVALID_ARG, "%s: result struct_size %zu is not valid", fn, result->struct_size);
  if (o.max_tokens < 0 || o.n_stop < 0 || (o.n_stop > 0 && !o.stop) || o.reasoning < 0 || o.reasoning > 2)
    return ds_error(DSEEK_ERR_INVALID_ARG, "%s: need max_tokens >= 0, a stop array for n_stop > 0 and a valid reasoning mode", fn);
  for (int64_t k = 0; k < o.n_stop; k++)
    if (!o.stop[k]) return ds_error(DSEEK_ERR_INVALID_ARG, "%s: stop string %lld is NULL", fn, (long long)k);
  const struct dseek_model *m = ctx->model;
  if (!m->vocab) return ds_error(DSEEK_ERR_UNSUPPORTED, "%s: the model has no tokenizer (ids-only model)", fn);

  /* Prompt -> tokens. */
  size_t plen = strlen(prompt);
  int64_t n_prompt = 0;
  dseek_status st = ds_tokenize(m->vocab, prompt, plen, o.add_special != 0, o.parse_special != 0, NULL, 0, &n_prompt);
  if (st && st != DSEEK_ERR_BUFFER_TOO_SMALL) return st;
  if (n_prompt < 1) return ds_error(DSEEK_ERR_INVALID_ARG, "%s: the prompt is empty", fn);
  if (n_prompt > ctx->n_ctx)
    return ds_error(DSEEK_ERR_CONTEXT_FULL, "%s: the prompt has %lld tokens but the context holds %lld", fn,
                    (long long)n_prompt, (long long)ctx->n_ctx);
  int32_t *ids = ds_malloc((size_t)n_prompt * sizeof *ids);
  if (!ids) return ds_error(DSEEK_ERR_NO_MEMORY, "%s: out of memory", fn);
  st = ds_tokenize(m->vocab, prompt, plen, o.add_special != 0, o.parse_special != 0, ids, n_prompt, &n_prompt);
  if (st) { ds_free(ids); return st; }

  gen_state g;
  memset(&g, 0, sizeof g);
  g.o = &o;
  bool open = o.reasoning == DSEEK_REASONING_OPEN ||
              (o.reasoning == DSEEK_REASONING_AUTO && prompt_opens_think(prompt));
  ds_reasoning_init(&g.split, open);
  if (o.reasoning == DSEEK_REASONING_OFF) ds_reasoning_close(&g.split, to_host, &g);
  ds_detok_stream detok;
  ds_detok_stream_init(&detok);

  dseek_generate_result r;
  memset(&r, 0, sizeof r);
  r.n_prompt_tokens = n_prompt;
  atomic_store(&ctx->cancel, 0);
  dseek_context_reset(ctx);
  double t0 = seconds();
  st = dseek_decode(ctx, ids, n_prompt, 0);
  ds_free(ids);
  double t1 = seconds();
  r.prompt_seconds = t1 - t0;

  bool hit = false;
  const int64_t n_vocab = m->hp.n_vocab;
  while (!st) {
    if (r.n_generated_tokens >= o.max_tokens) { r.stop_reason = DSEEK_STOP_MAX_TOKENS; break; }
    if (atomic_load(&ctx->cancel)) { st = ds_error(DSEEK_ERR_CANCELLED, "%s: cancelled", fn); break; }
    const float *logits = dseek_logits(ctx, -1);
    int32_t tok;
    if (o.sampler) { if ((st = dseek_sampler_sample(o.sampler, logits, n_vocab, &tok))) break; }
    else tok = argmax(logits, n_vocab);
    if (ds_vocab_is_eog(m->vocab, tok)) { r.stop_reason = DSEEK_STOP_EOS; break; }
    r.n_generated_tokens++;
    if (ds_reasoning_part(&g.split) == DS_PART_REASONING) r.n_reasoning_tokens++;
    const char *text;
    size_t len;
    if ((st = ds_detok_stream_push(&detok, m->vocab, tok, &text, &len))) break;
    st = emit_text(&g, text, len, false, &hit);
    if (g.stopped_by_callback) { st = DSEEK_OK; r.stop_reason = DSEEK_STOP_CALLBACK; break; }
    if (st) break;
    if (hit) { r.stop_reason = DSEEK_STOP_STRING; break; }
    if (ctx->n_past >= ctx->n_ctx) { r.stop_reason = DSEEK_STOP_CONTEXT_FULL; break; }
    st = dseek_decode(ctx, &tok, 1, 0);
  }
  if (!st && r.stop_reason != DSEEK_STOP_CALLBACK && !hit) {
    /* End of output: what the assembler and the filters still hold is text. */
    const char *text;
    size_t len;
    ds_detok_stream_flush(&detok, &text, &len);
    st = emit_text(&g, text, len, true, &hit);
    if (!st && !g.stopped_by_callback) st = ds_reasoning_finish(&g.split, to_host, &g);
    if (g.stopped_by_callback) { st = DSEEK_OK; r.stop_reason = DSEEK_STOP_CALLBACK; }
  }
  r.generate_seconds = seconds() - t1;
  ds_detok_stream_free(&detok);
  ds_reasoning_free(&g.split);
  ds_buf_free(&g.pending);
  if (!st && result) {
    size_t n = DS_MIN(result->struct_size, sizeof r);
    r.struct_size = result->struct_size;
    memcpy(result, &r, n);
  }
  return st;
}
