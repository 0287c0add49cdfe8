/*
 * output.h — the text path of generated tokens, shared by single and parallel
 * generation:
 *
 *   token bytes -> UTF-8 assembler (whole characters only) -> stop-string
 *   filter (holds back what could still become a stop string) -> reasoning
 *   splitter (<think> ... </think>) -> a sink callback.
 */
#ifndef DS_RUNTIME_OUTPUT_H
#define DS_RUNTIME_OUTPUT_H

#include "core/buf.h"
#include "text/reasoning.h"
#include "text/vocab.h"

/* Receives one run of text of one part; returns non-zero to stop. */
typedef int (*ds_output_fn)(dseek_piece_kind kind, const char *text, size_t len, void *user);

typedef struct ds_output {
  const char *const *stop;
  int64_t n_stop;
  ds_output_fn fn;
  void *user;
  ds_reasoning split;
  ds_buf pending;            /* text held back by the stop-string filter */
  ds_detok_stream detok;
  bool stopped_by_callback;  /* the sink asked to stop */
  bool hit;                  /* a stop string appeared; what follows is dropped */
} ds_output;

/* in_reasoning: the output starts inside <think>; off: never split. */
void ds_output_init(ds_output *o, const char *const *stop, int64_t n_stop, bool in_reasoning, bool off,
                    ds_output_fn fn, void *user);
void ds_output_free(ds_output *o);

/* Push one token's bytes. A sink stop is not an error: check stopped_by_callback. */
dseek_status ds_output_token(ds_output *o, const ds_vocab *v, int32_t tok);

/* End of output: deliver what the assembler and the filters hold. */
dseek_status ds_output_finish(ds_output *o);

/* Close the reasoning from outside (thinking budget). */
dseek_status ds_output_close_reasoning(ds_output *o);

static inline bool ds_output_thinking(const ds_output *o)
{
  return ds_reasoning_part(&o->split) == DS_PART_REASONING;
}

#endif
