/*
 * mtp.h — a context's MTP state (deepseek2 models with an MTP layer): the main
 * model's hidden state of every cache slot, the MTP layer's own latent cache
 * and its graphs. Created on the first request for MTP speculation
 * (dseek_generate with use_mtp), freed with the context.
 *
 * MTP slot i holds the MTP layer's latent row for position i, computed from
 * the main hidden state h_i and the token t_{i+1}; its logits predict t_{i+2}.
 * Validity is checked by tokens, never assumed: h_i is valid while the token
 * stored with it equals the context's token at i and so does every slot
 * before it; MTP slot i while h_i is valid and the token t_{i+1} it used is
 * still the context's. Writing slots [a, b) (main or MTP) forgets everything
 * after them, since later slots depended on the old contents (the main model
 * writing slot a also forgets MTP slots >= a, computed from the old h_a).
 */
#ifndef DS_RUNTIME_MTP_H
#define DS_RUNTIME_MTP_H

#include "runtime/context.h"

typedef struct ds_mtp {
  int64_t n_ctx, n_embd, n_vocab;
  ds_kv_cache kv;              /* one layer: [C + rope] per slot */
  void *kv_mem, **kv_ptrs;       /* ds_kv_alloc (runtime/kv_cache.h) */
  float *hidden;               /* [n_ctx, d] main hidden states after the final norm */
  int32_t *htok;               /* token of each slot when its hidden state was stored, -1: none */
  int32_t *mtok;               /* t_{i+1} MTP slot i was computed with, -1: none */
  int64_t end;                 /* slots >= end hold nothing (htok and mtok -1) */
  int32_t *next;               /* n_ctx ints: the tokens t_{i+1} of one ds_mtp_draft */
  ds_forward step_fw, batch_fw;
  float *logits;               /* [rows, n_vocab] of the last ds_mtp_eval */
  int64_t logits_rows, logits_cap;
} ds_mtp;

/* Attach an MTP state to c (no-op if there is one); UNSUPPORTED if the model
 * has no MTP layer. */
dseek_status ds_mtp_attach(dseek_context *c);
void ds_mtp_free(ds_mtp *m);

/* Called by ds_context_eval after each chunk: keep the hidden states
 * (hidden [d, n]) of tokens evaluated for the shared sequence (seq -1); slots
 * of other sequences lose theirs. */
void ds_mtp_store_hidden(ds_mtp *m, const int32_t *tokens, const int32_t *slots, const int32_t *seqs, int64_t n,
                         const float *hidden);

/* Slots >= from (hidden states and MTP rows) hold nothing any more: the
 * context's cache changed there other than by evaluation (state load). */
void ds_mtp_forget_from(ds_mtp *m, int64_t from);

/* The context shift (shift.c) applied to the MTP state: slots [n_keep,
 * n_keep + n_discard) dropped, the later ones moved down with their hidden
 * states and tokens, the MTP rows' rotated part turned by rot (the main
 * cache's rope: the MTP layer's is the same; its offset and width are the MTP
 * cache type's). A moved hidden state keeps what the main model computed, as
 * the main cache's moved rows do. Out of memory, the MTP state forgets slots
 * >= n_keep instead (drafting rebuilds them), so the main cache's shift,
 * already done, stands. */
struct ds_kv_rotation;
void ds_mtp_shift(ds_mtp *m, int64_t n_keep, int64_t n_discard, const struct ds_kv_rotation *rot);

/* Leading cache slots of c whose hidden states are held. */
int64_t ds_mtp_hidden_valid(const ds_mtp *m, const dseek_context *c);
/* Leading MTP slots still valid for c's tokens. */
int64_t ds_mtp_valid(const ds_mtp *m, const dseek_context *c);

/* Evaluate MTP slots first .. first + n - 1 with tokens next[0 .. n-1] as
 * t_{i+1}; needs first <= ds_mtp_valid and first + n <= ds_mtp_hidden_valid.
 * Keeps the logits of every slot (all_logits) or of the last. */
dseek_status ds_mtp_eval(ds_mtp *m, dseek_context *c, int64_t first, int64_t n, const int32_t *next, bool all_logits);
/* Row i of the last ds_mtp_eval (-1: the last), or NULL. */
const float *ds_mtp_logits(const ds_mtp *m, int64_t i);

/* The MTP draft distribution for the token after `next`, where next is the
 * token following c's last cached one (position c->n_past): brings the MTP
 * cache up to date and evaluates slot n_past - 1 with next. *ok is false when
 * the hidden states needed are missing (nothing is evaluated then). */
dseek_status ds_mtp_draft(ds_mtp *m, dseek_context *c, int32_t next, const float **logits, bool *ok);

#endif
