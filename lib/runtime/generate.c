/*
 * generate.c — the generation loop: the prompt through the cache
 * (generate_prepare.c), then one token at a time from the drafter (plain
 * decoding, a draft model or MTP: runtime/drafter.h), streamed
 * (runtime/output.h) and queued for the step loop to evaluate (one lane of
 * runtime/step_loop.h), with the thinking budget and budget forcing of
 * lib/models/README.md §4.
 */
#include "grammar/grammar.h"
#include "runtime/confidence.h"
#include "runtime/context.h"
#include "runtime/drafter.h"
#include "runtime/generate.h"
#include "runtime/output.h"
#include "runtime/sampler.h"
#include "runtime/step_loop.h"

#include <string.h>

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
  d.max_thinking_tokens = -1;
  d.n_draft = 4;
  d.constrain_after_reasoning = 1;
  memset(o, 0, size);
  memcpy(o, &d, DS_MIN(size, sizeof d));
  o->struct_size = size;
  return DSEEK_OK;
}

/* Does the prompt (ignoring trailing whitespace) end by opening <think>? */
bool ds_prompt_opens_think(const char *prompt)
{
  size_t n = strlen(prompt);
  while (n && (prompt[n - 1] == '\n' || prompt[n - 1] == ' ' || prompt[n - 1] == '\r' || prompt[n - 1] == '\t')) n--;
  return n >= 7 && memcmp(prompt + n - 7, "<think>", 7) == 0;
}

static const char DEFAULT_CLOSE[] = "\n\nConsidering the limited time, I have to give the answer now.\n</think>\n\n";
static const char ZERO_BUDGET_CLOSE[] = "</think>\n\n";
static const char DEFAULT_CONTINUE[] = "\nWait";

dseek_status dseek_cancel(dseek_context *ctx)
{
  if (!ctx) return ds_error(DSEEK_ERR_INVALID_ARG, "dseek_cancel: ctx is NULL");
  atomic_store(&ctx->cancel, 1);
  return DSEEK_OK;
}

/* Everything one generation call carries around. */
typedef struct run {
  dseek_context *ctx;
  dseek_generate_options o;
  dseek_confidence_options conf;
  const char *close, *cont;  /* the thinking budget's closing text, budget forcing's continuation */
  ds_output out;
  dseek_generate_result r;
  ds_drafter d;              /* where each token comes from (runtime/drafter.h) */
  ds_constraint *con;        /* the answer's grammar or JSON schema, or NULL */
  bool shift;                /* context_shift, keeping the first n_keep tokens */
  int64_t n_keep;
  bool stopped_by_token_fn;  /* on_token asked to stop */
  ds_trace trace;            /* the sampled tokens' confidences (runtime/confidence.h) */
  ds_step_batch *b;          /* this step's tokens to evaluate (runtime/step_loop.h) */
} run;

enum { MAX_INJECT = 256 };   /* tokens of one injected text */

static dseek_status emit_token(run *u, int32_t tok) { return ds_output_token(&u->out, u->ctx->model->vocab, tok); }

static dseek_status stop(run *u, int reason)
{
  u->r.stop_reason = reason;
  return DSEEK_OK;
}

/* Room for n more tokens? With context_shift a full context keeps its first
 * n_keep tokens and drops half of the rest (at least enough for n). */
static dseek_status make_room(run *u, int64_t n, bool *ok)
{
  dseek_context *c = u->ctx;
  const int64_t room = c->n_ctx - c->n_past;
  const int64_t drop = DS_MAX((c->n_past - u->n_keep) / 2, n - room);
  *ok = n <= room;
  if (*ok || !u->shift || drop < 1 || drop > c->n_past - u->n_keep) return DSEEK_OK;
  dseek_status st = dseek_context_shift(c, u->n_keep, drop);
  *ok = st == DSEEK_OK;
  return st;
}

/* Inject text the model did not sample (a thinking budget's closing phrase,
 * budget forcing's "Wait"): tokenized, streamed like output, queued. */
static dseek_status inject(run *u, const char *text)
{
  dseek_status st = ds_drafter_reset(&u->d, true, true);
  if (st) return st;
  const struct ds_vocab *v = u->ctx->model->vocab;
  int32_t ids[MAX_INJECT];
  int64_t n = 0;
  st = ds_tokenize(v, text, strlen(text), false, true, ids, DS_ARRAY_LEN(ids), &n);
  if (st == DSEEK_ERR_BUFFER_TOO_SMALL)
    return ds_error(DSEEK_ERR_INVALID_ARG, "dseek_generate: injected text longer than %zu tokens", DS_ARRAY_LEN(ids));
  if (st) return st;
  bool room;
  if ((st = make_room(u, n, &room))) return st;
  if (!room) return stop(u, DSEEK_STOP_CONTEXT_FULL);
  for (int64_t i = 0; i < n && !st; i++) st = emit_token(u, ids[i]);
  for (int64_t i = 0; i < n && !st; i++) ds_step_push(u->b, ids[i], 0, 0, 0);
  u->r.n_forced_tokens += n;
  return st;
}

/* Token confidence of a sampled token (DeepConf eq. 2) into the trace, and
 * the host's on_token callback. */
static dseek_status score_token(run *u, const float *logits, int32_t tok)
{
  const dseek_generate_options *o = &u->o;
  const int64_t n_vocab = u->ctx->model->hp.n_vocab;
  float logprob, c;
  ds_token_confidence(logits, n_vocab, tok, u->conf.top_k, &logprob, &c);
  dseek_status st = ds_trace_push(&u->trace, logprob, c);
  if (st || !o->on_token) return st;
  int32_t top_ids[DS_TOP_LOGPROBS_MAX];
  float top_lp[DS_TOP_LOGPROBS_MAX];
  int n_top = ds_token_top_logprobs(logits, n_vocab, o->top_logprobs, top_ids, top_lp);
  dseek_token_info info = {.struct_size = sizeof info, .index = u->r.n_generated_tokens, .token = tok,
                           .logprob = logprob, .confidence = c, .group_confidence = (float)ds_trace_group(&u->trace),
                           .n_top = n_top, .top_tokens = top_ids, .top_logprobs = top_lp};
  u->stopped_by_token_fn = o->on_token(&info, o->on_token_user_data) != 0;
  return DSEEK_OK;
}

/* Does token t's text close the reasoning? */
static bool closes_reasoning(const struct ds_vocab *v, int32_t t)
{
  const char *piece;
  size_t len;
  if (ds_token_piece(v, t, &piece, &len)) return false;
  for (size_t i = 0; i + 8 <= len; i++)
    if (memcmp(piece + i, "</think>", 8) == 0) return true;
  return false;
}

/* A token the loop takes: scored (plain decoding), counted, streamed, and
 * queued unless the drafter evaluated it already or the output stops here. */
static dseek_status take(run *u, const ds_drafted *t, bool thinking)
{
  dseek_status st;
  if (t->seen && (st = score_token(u, t->seen, t->token))) return st;
  u->r.n_generated_tokens++;
  if (thinking) u->r.n_reasoning_tokens++;
  if ((st = emit_token(u, t->token))) return st;
  if (u->stopped_by_token_fn || u->out.stopped_by_callback) return stop(u, DSEEK_STOP_CALLBACK);
  if (u->out.hit) return stop(u, DSEEK_STOP_STRING);
  if (t->in_cache) return DSEEK_OK;
  bool room;
  if ((st = make_room(u, 1, &room))) return st;
  if (!room) return stop(u, DSEEK_STOP_CONTEXT_FULL);
  ds_step_push(u->b, t->token, 0, 0, 0);
  return DSEEK_OK;
}

/* One step of the loop: a stop, the thinking budget's closing text, or the
 * drafter's next token (refused by budget forcing, the end of the turn, or
 * taken). */
static dseek_status step(run *u)
{
  const dseek_generate_options *o = &u->o;
  const struct ds_vocab *v = u->ctx->model->vocab;
  if (u->r.n_generated_tokens >= o->max_tokens) return stop(u, DSEEK_STOP_MAX_TOKENS);
  if (atomic_load(&u->ctx->cancel)) return ds_error(DSEEK_ERR_CANCELLED, "dseek_generate: cancelled");
  if (u->out.stopped_by_callback) return stop(u, DSEEK_STOP_CALLBACK);
  bool thinking = ds_output_thinking(&u->out);
  if (u->con && !thinking) ds_constraint_end_reasoning(u->con);
  if (thinking && o->max_thinking_tokens >= 0 && u->r.n_reasoning_tokens >= o->max_thinking_tokens) {
    /* Thinking budget spent: close the reasoning gracefully. */
    dseek_status st = inject(u, u->close);
    if (!st && ds_output_thinking(&u->out)) st = ds_output_close_reasoning(&u->out);
    return st;
  }
  ds_drafted t;
  dseek_status st = ds_drafter_next(&u->d, o->max_tokens - u->r.n_generated_tokens, &t);
  if (st || t.context_full) return st ? st : stop(u, DSEEK_STOP_CONTEXT_FULL);
  bool eog = ds_vocab_is_eog(v, t.token);
  if (thinking && u->r.n_reasoning_tokens < o->min_thinking_tokens && (eog || closes_reasoning(v, t.token))) {
    /* Budget forcing (s1): not done thinking yet. */
    if ((st = ds_drafter_reset(&u->d, false, false))) return st;
    u->r.n_generated_tokens++;
    u->r.n_reasoning_tokens++;
    return inject(u, u->cont);
  }
  if (eog) return (st = ds_drafter_reset(&u->d, false, false)) ? st : stop(u, DSEEK_STOP_EOS);
  return take(u, &t, thinking);
}

/* The one lane's step for ds_step_loop: the loop ends with a stop reason. */
static dseek_status step_lane(void *p, ds_step_batch *b, bool *done)
{
  run *u = p;
  u->b = b;
  dseek_status st = step(u);
  *done = u->r.stop_reason != 0;
  return st;
}

/* The run's state from the prepared call. */
static void run_init(run *u, dseek_context *ctx, const ds_generate_prep *p)
{
  memset(u, 0, sizeof *u);
  u->ctx = ctx;
  u->o = p->o;
  u->conf = p->conf;
  const dseek_generate_options *o = &u->o;
  u->close = o->think_close ? o->think_close : o->max_thinking_tokens == 0 ? ZERO_BUDGET_CLOSE : DEFAULT_CLOSE;
  u->cont = o->think_continue ? o->think_continue : DEFAULT_CONTINUE;
  ds_output_init(&u->out, o->stop, o->n_stop, p->open, o->reasoning == DSEEK_REASONING_OFF, o->stream,
                 o->stream_user_data);
  u->r.n_prompt_tokens = p->n_prompt;
  u->shift = o->context_shift != 0;
  u->n_keep = DS_MIN(o->n_keep, p->n_prompt);
  ds_trace_init(&u->trace, u->conf.window);
}

/* The end of a run (st: how the loop ended): the drafter's counts, the
 * output flushed, the confidence statistics, the result handed back. */
static dseek_status run_finish(run *u, dseek_status st, double t_loop, dseek_generate_result *result)
{
  ds_drafter_end(&u->d, &u->r);
  if (!st) st = ds_output_finish(&u->out);
  if (!st && u->out.stopped_by_callback) u->r.stop_reason = DSEEK_STOP_CALLBACK;
  if (!st) st = ds_trace_stats(&u->trace, u->conf.tail, &u->r);
  ds_trace_free(&u->trace);
  u->r.generate_seconds = ds_seconds() - t_loop;
  ds_output_free(&u->out);
  ds_constraint_free(u->con);
  if (!st && result) {
    size_t n = DS_MIN(result->struct_size, sizeof u->r);
    u->r.struct_size = result->struct_size;
    memcpy(result, &u->r, n);
  }
  return st;
}

/* What dseek_generate adds to the common checks (ds_generate_prepare). */
static dseek_status check_generate(const dseek_generate_options *o, const char *fn)
{
  if (o->use_mtp && o->draft)
    return ds_error(DSEEK_ERR_INVALID_ARG, "%s: use_mtp and a draft context exclude each other", fn);
  if (o->on_token && (o->draft || o->use_mtp))
    return ds_error(DSEEK_ERR_INVALID_ARG, "%s: on_token does not work with a draft model or use_mtp", fn);
  if (o->n_keep < 0 || (o->context_shift && (o->draft || o->use_mtp)))
    return ds_error(DSEEK_ERR_INVALID_ARG, "%s: need n_keep >= 0; context_shift works without a draft model "
                    "and without use_mtp", fn);
  if ((o->grammar || o->json_schema || ds_sampler_has_grammar(o->sampler)) && (o->draft || o->use_mtp))
    return ds_error(DSEEK_ERR_INVALID_ARG, "%s: a grammar or JSON schema does not work with a draft model or use_mtp",
                    fn);
  if (o->think_close && !strstr(o->think_close, "</think>"))
    return ds_error(DSEEK_ERR_INVALID_ARG, "%s: think_close must contain \"</think>\"", fn);
  return DSEEK_OK;
}

dseek_status dseek_generate(dseek_context *ctx, const char *prompt, const dseek_generate_options *opts,
                            dseek_generate_result *result)
{
  static const char fn[] = "dseek_generate";
  if (!ctx || !prompt) return ds_error(DSEEK_ERR_INVALID_ARG, "%s: ctx and prompt must not be NULL", fn);
  if (result && result->struct_size < sizeof(size_t))
    return ds_error(DSEEK_ERR_INVALID_ARG, "%s: result struct_size %zu is not valid", fn, result->struct_size);
  ds_generate_prep prep;
  dseek_status st = ds_generate_prepare(ctx, prompt, opts, fn, check_generate, &prep);
  if (st) return st;
  run u;
  run_init(&u, ctx, &prep);
  if ((st = ds_drafter_init(&u.d, ctx, &u.o))) {   /* before the prompt (MTP keeps its hidden states) */
    ds_free(prep.ids);
    ds_output_free(&u.out);
    ds_trace_free(&u.trace);
    return st;
  }
  double t_loop;
  st = ds_generate_prefill(ctx, prep.ids, prep.n_prompt, ds_drafter_prefix(&u.d), &u.r, &t_loop);
  ds_free(prep.ids);
  /* The answer's constraint: it waits for </think> when the output starts inside the reasoning. */
  const dseek_generate_options *o = &u.o;
  if (!st) st = ds_constraint_compile(ctx->model, o->grammar, o->json_schema, o->trigger,
                                      o->constrain_after_reasoning && prep.open, &u.con);
  u.d.con = u.con;
  int32_t queue[MAX_INJECT];
  ds_step_batch b = {.ids = queue, .cap = MAX_INJECT, .extend = true};
  if (!st) st = ds_step_loop(ctx, &b, step_lane, &u);
  return run_finish(&u, st, t_loop, result);
}
