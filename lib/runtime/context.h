/* context.h — a context's state: KV cache, cached graphs, logits, thread pool. */
#ifndef DS_RUNTIME_CONTEXT_H
#define DS_RUNTIME_CONTEXT_H

#include "models/model.h"

#include <stdatomic.h>

struct dseek_context {
  const struct dseek_model *model;
  int64_t n_ctx, n_batch;
  int n_threads;
  int kv_type;
  ds_kv_cache kv;
  void *kv_mem;               /* one allocation for every layer's K and V */
  void **kv_ptrs;             /* 2 * n_layer pointers into kv_mem */
  int64_t kv_bytes_per_token;
  int64_t n_past;
  int32_t *tokens;            /* the token in each cache slot (the first n_past are the sequence) */
  int32_t *slot_seq;          /* owner sequence of each slot, -1 = shared (see ds_op_attn_seq) */
  int32_t *scratch;           /* 2 * n_ctx ints: slots and sequences of one decode call */
  ds_threadpool *pool;
  ds_forward decode_fw;       /* T = 1, last logits: the per-token graph */
  ds_forward batch_fw;        /* the most recent other shape */
  float *logits;              /* rows of n_vocab floats from the last decode */
  int64_t logits_rows, logits_cap;
  int64_t logits_first;       /* index (within the last decode) of row 0 */
  int64_t last_n;             /* tokens in the last decode */
  atomic_int cancel;          /* set from any thread to stop a generation */
  struct ds_mtp *mtp;         /* MTP speculation state (runtime/mtp.h), NULL until requested */
};

/* KV cache bytes of one slot in one layer (context_memory.c). */
typedef struct ds_kv_rows { uint64_t k, v; } ds_kv_rows;

/* Options with defaults filled in and checked, and the cache row sizes for
 * their kv_type (context_memory.c). fn names the caller in errors. */
dseek_status ds_context_resolve(const dseek_model *model, const dseek_context_options *opts, const char *fn,
                                dseek_context_options *o, ds_kv_rows *rows);
/* The memory a context with resolved options o takes (with_work false: the
 * KV cache only, without building graphs), and the admission check against
 * o->memory_limit or the memory available. */
dseek_status ds_context_estimate(const dseek_model *model, const dseek_context_options *o, const ds_kv_rows *rows,
                                 bool with_work, const char *fn, dseek_memory_estimate *e);
dseek_status ds_context_admit(const dseek_context_options *o, const dseek_memory_estimate *e, const char *fn);

/* Evaluate n tokens at explicit positions, cache slots and sequences (seq -1:
 * visible to every sequence). Logits of all n are kept when all_logits. The
 * slots must lie in [0, n_ctx); n_past is left to the caller. */
dseek_status ds_context_eval(dseek_context *ctx, const int32_t *tokens, const int32_t *pos, const int32_t *slots,
                             const int32_t *seqs, int64_t n, bool all_logits);

#endif
