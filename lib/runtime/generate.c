/*
 * generate.c — the generation loop: tokenize the prompt (reusing the cached
 * prefix), evaluate it, then sample, stream (runtime/output.h) and evaluate
 * one token at a time, with the thinking budget and budget forcing of
 * lib/models/README.md §4.
 */
#include "grammar/grammar.h"
#include "runtime/confidence.h"
#include "runtime/context.h"
#include "runtime/generate.h"
#include "runtime/output.h"
#include "runtime/sampler.h"
#include "runtime/speculative.h"
#include "runtime/speculative_mtp.h"

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

int32_t ds_argmax(const float *x, int64_t n)
{
  int32_t best = 0;
  for (int64_t i = 1; i < n; i++) if (x[i] > x[best]) best = (int32_t)i;
  return best;
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
  ds_output out;
  dseek_generate_result r;
  ds_spec spec;
  bool speculate;
  ds_mtp_spec mtp;           /* MTP speculation (use_mtp) */
  bool use_mtp;
  bool shift;                /* context_shift, keeping the first n_keep tokens */
  int64_t n_keep;
  bool stopped_by_token_fn;  /* on_token asked to stop */
  ds_trace trace;            /* the sampled tokens' confidences (runtime/confidence.h) */
} run;

static dseek_status emit_token(run *u, int32_t tok) { return ds_output_token(&u->out, u->ctx->model->vocab, tok); }

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
 * budget forcing's "Wait"): tokenized, streamed like output, evaluated. */
static dseek_status inject(run *u, const char *text)
{
  if (u->speculate) ds_spec_discard(&u->spec, u->ctx, true);
  dseek_status st = u->use_mtp ? ds_mtp_spec_discard(&u->mtp, u->ctx, true, true) : DSEEK_OK;
  if (st) return st;
  const struct ds_vocab *v = u->ctx->model->vocab;
  int32_t ids[256];
  int64_t n = 0;
  st = ds_tokenize(v, text, strlen(text), false, true, ids, DS_ARRAY_LEN(ids), &n);
  if (st == DSEEK_ERR_BUFFER_TOO_SMALL)
    return ds_error(DSEEK_ERR_INVALID_ARG, "dseek_generate: injected text longer than %zu tokens", DS_ARRAY_LEN(ids));
  if (st) return st;
  bool room;
  if ((st = make_room(u, n, &room))) return st;
  if (!room) {
    u->r.stop_reason = DSEEK_STOP_CONTEXT_FULL;
    return DSEEK_OK;
  }
  for (int64_t i = 0; i < n && !st; i++) st = emit_token(u, ids[i]);
  if (!st && n) st = dseek_decode(u->ctx, ids, n, 0);
  u->r.n_forced_tokens += n;
  return st;
}

/* Token confidence of a sampled token (DeepConf eq. 2) into the trace, and
 * the host's on_token callback. */
static dseek_status score_token(run *u, const dseek_generate_options *o, const dseek_confidence_options *conf,
                                const float *logits, int64_t n_vocab, int32_t tok)
{
  float logprob, c;
  ds_token_confidence(logits, n_vocab, tok, conf->top_k, &logprob, &c);
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

/* Choose the next token from logits as the constraint (if any) allows. A
 * token that completes the trigger but continues with text the grammar
 * refuses is banned for this step and the choice repeats. */
static dseek_status sample_constrained(ds_constraint *con, dseek_sampler *sampler, const float *logits,
                                       int64_t n_vocab, int32_t *tok, const float **seen)
{
  for (int tries = 0;; tries++) {
    const float *l = logits;
    dseek_status st = con ? ds_constraint_apply(con, logits, n_vocab, &l) : DSEEK_OK;
    *seen = l;
    if (!st && sampler) st = dseek_sampler_sample(sampler, l, n_vocab, tok);
    else if (!st) *tok = ds_argmax(l, n_vocab);
    if (st || !con) return st;
    bool ok;
    if ((st = ds_constraint_accept(con, *tok, &ok)) || ok) return st;
    if (tries == 1000) return ds_error(DSEEK_ERR_INVALID_ARG, "dseek_generate: no token continues after the trigger");
    if ((st = ds_constraint_ban(con, *tok))) return st;
  }
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
  const dseek_generate_options o = prep.o;
  const dseek_confidence_options conf = prep.conf;
  const char *close = o.think_close ? o.think_close : o.max_thinking_tokens == 0 ? ZERO_BUDGET_CLOSE : DEFAULT_CLOSE;
  const char *cont = o.think_continue ? o.think_continue : DEFAULT_CONTINUE;
  const struct dseek_model *m = ctx->model;
  int32_t *ids = prep.ids;
  const int64_t n_prompt = prep.n_prompt;
  const bool open = prep.open;

  run u;
  memset(&u, 0, sizeof u);
  u.ctx = ctx;
  ds_output_init(&u.out, o.stop, o.n_stop, open, o.reasoning == DSEEK_REASONING_OFF, o.stream, o.stream_user_data);
  u.r.n_prompt_tokens = n_prompt;
  u.shift = o.context_shift != 0;
  u.n_keep = DS_MIN(o.n_keep, n_prompt);
  ds_trace_init(&u.trace, conf.window);

  if (o.use_mtp) {   /* before the prompt: its hidden states are kept for the MTP layer */
    if ((st = ds_mtp_spec_init(&u.mtp, ctx, o.sampler))) {
      ds_free(ids);
      ds_output_free(&u.out);
      ds_trace_free(&u.trace);
      return st;
    }
    u.use_mtp = true;
  }
  /* the MTP layer reads the hidden states of the tokens kept */
  double t1;
  st = ds_generate_prefill(ctx, ids, n_prompt, u.use_mtp ? ds_mtp_hidden_valid(ctx->mtp, ctx) : n_prompt, &u.r, &t1);
  ds_free(ids);
  if (!st && o.draft) {
    st = ds_spec_init(&u.spec, ctx, o.draft, o.n_draft, o.sampler);
    u.speculate = st == DSEEK_OK;
  }

  /* The answer's constraint: it waits for </think> when the output starts inside the reasoning. */
  ds_constraint *con = NULL;
  if (!st) st = ds_constraint_compile(m, o.grammar, o.json_schema, o.trigger, o.constrain_after_reasoning && open, &con);
  const int64_t n_vocab = m->hp.n_vocab;
  while (!st && !u.r.stop_reason) {
    if (u.r.n_generated_tokens >= o.max_tokens) { u.r.stop_reason = DSEEK_STOP_MAX_TOKENS; break; }
    if (atomic_load(&ctx->cancel)) { st = ds_error(DSEEK_ERR_CANCELLED, "%s: cancelled", fn); break; }
    if (u.out.stopped_by_callback) { u.r.stop_reason = DSEEK_STOP_CALLBACK; break; }
    bool thinking = ds_output_thinking(&u.out);
    if (con && !thinking) ds_constraint_end_reasoning(con);
    if (thinking && o.max_thinking_tokens >= 0 && u.r.n_reasoning_tokens >= o.max_thinking_tokens) {
      /* Thinking budget spent: close the reasoning gracefully. */
      st = inject(&u, close);
      if (!st && ds_output_thinking(&u.out)) st = ds_output_close_reasoning(&u.out);
      continue;
    }
    int32_t tok;
    const float *seen = NULL;   /* the logits the sampler saw (plain decoding only) */
    bool in_cache = false;   /* speculation: the target already evaluated tok */
    if (u.use_mtp) {
      st = ds_mtp_spec_next(&u.mtp, ctx, o.sampler, o.max_tokens - u.r.n_generated_tokens, &tok);
      if (st == DSEEK_ERR_CONTEXT_FULL) { st = DSEEK_OK; u.r.stop_reason = DSEEK_STOP_CONTEXT_FULL; break; }
      if (st) break;
      in_cache = true;   /* evaluated by the next round (or the discard) */
    } else if (u.speculate) {
      if ((st = ds_spec_next(&u.spec, ctx, o.sampler, o.max_tokens - u.r.n_generated_tokens, &tok, &in_cache))) break;
    } else if ((st = sample_constrained(con, o.sampler, dseek_logits(ctx, -1), n_vocab, &tok, &seen))) {
      break;
    }
    bool eog = ds_vocab_is_eog(m->vocab, tok);
    if (thinking && u.r.n_reasoning_tokens < o.min_thinking_tokens && (eog || closes_reasoning(m->vocab, tok))) {
      /* Budget forcing (s1): not done thinking yet. */
      if (u.speculate) ds_spec_discard(&u.spec, ctx, false);
      if (u.use_mtp) ds_mtp_spec_discard(&u.mtp, ctx, false, false);
      u.r.n_generated_tokens++;
      u.r.n_reasoning_tokens++;
      st = inject(&u, cont);
      continue;
    }
    if (eog) {
      if (u.speculate) ds_spec_discard(&u.spec, ctx, false);
      if (u.use_mtp) ds_mtp_spec_discard(&u.mtp, ctx, false, false);
      u.r.stop_reason = DSEEK_STOP_EOS;
      break;
    }
    if (seen && (st = score_token(&u, &o, &conf, seen, n_vocab, tok))) break;
    u.r.n_generated_tokens++;
    if (thinking) u.r.n_reasoning_tokens++;
    st = emit_token(&u, tok);
    if (st) break;
    if (u.stopped_by_token_fn) { u.r.stop_reason = DSEEK_STOP_CALLBACK; break; }
    if (u.out.stopped_by_callback) { u.r.stop_reason = DSEEK_STOP_CALLBACK; break; }
    if (u.out.hit) { u.r.stop_reason = DSEEK_STOP_STRING; break; }
    if (in_cache) continue;
    bool room;
    if ((st = make_room(&u, 1, &room))) break;
    if (!room) { u.r.stop_reason = DSEEK_STOP_CONTEXT_FULL; break; }
    st = dseek_decode(ctx, &tok, 1, 0);
  }
  if (u.speculate) {
    /* Drafted tokens past the last one handed out leave the cache. */
    ds_spec_discard(&u.spec, ctx, true);
    u.r.n_draft_tokens = u.spec.drafted;
    u.r.n_draft_accepted = u.spec.accepted;
    ds_spec_free(&u.spec);
  }
  if (u.use_mtp) {
    /* the last token handed out stays out of the cache (as after a stop string) */
    ds_mtp_spec_discard(&u.mtp, ctx, true, false);
    u.r.n_draft_tokens = u.mtp.drafted;
    u.r.n_draft_accepted = u.mtp.accepted;
    ds_mtp_spec_free(&u.mtp);
  }
  if (!st) st = ds_output_finish(&u.out);
  if (!st && u.out.stopped_by_callback) u.r.stop_reason = DSEEK_STOP_CALLBACK;
  if (!st) st = ds_trace_stats(&u.trace, conf.tail, &u.r);
  ds_trace_free(&u.trace);
  u.r.generate_seconds = ds_seconds() - t1;
  ds_output_free(&u.out);
  ds_constraint_free(con);
  if (!st && result) {
    size_t n = DS_MIN(result->struct_size, sizeof u.r);
    u.r.struct_size = result->struct_size;
    memcpy(result, &u.r, n);
  }
  return st;
}
