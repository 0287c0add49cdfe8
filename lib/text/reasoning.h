/*
 * reasoning.h — split a model's streamed output into reasoning and answer.
 *
 * R1-family models think inside <think> ... </think> and then answer. The
 * R1 template's generation prompt already opens "<think>\n", so output starts
 * inside the reasoning; older templates let the model write "<think>" itself.
 * The splitter consumes text pieces as they stream (tags may be cut across
 * pieces), never lets a tag leak into either part, trims whitespace at the
 * start of each part, and copes with a missing opening tag (then everything
 * is answer unless the prompt opened the reasoning) or a missing closing tag
 * (then everything is reasoning).
 */
#ifndef DS_TEXT_REASONING_H
#define DS_TEXT_REASONING_H

#include "core/buf.h"

typedef enum ds_part {
  DS_PART_REASONING = 1,
  DS_PART_CONTENT = 2,
} ds_part;

/* Receives one run of text of one part; returns non-zero to stop. */
typedef int (*ds_part_fn)(ds_part part, const char *text, size_t len, void *user);

typedef struct ds_reasoning {
  int mode;              /* internal: START, REASONING or CONTENT */
  size_t matched;        /* bytes of the tag being matched, held back */
  bool trim;             /* skipping whitespace at the start of a part */
  ds_buf run;            /* text of the current part not yet delivered */
  int64_t reasoning_bytes, content_bytes;
} ds_reasoning;

/* in_reasoning: the prompt already opened <think>. */
void ds_reasoning_init(ds_reasoning *r, bool in_reasoning);
void ds_reasoning_free(ds_reasoning *r);

/* Feed a piece; delivers complete runs to fn. Returns DSEEK_ERR_CANCELLED when
 * fn asked to stop, DSEEK_ERR_NO_MEMORY on allocation failure. */
dseek_status ds_reasoning_push(ds_reasoning *r, const char *text, size_t len, ds_part_fn fn, void *user);

/* End of output: deliver what is held back (a partial tag is text after all). */
dseek_status ds_reasoning_finish(ds_reasoning *r, ds_part_fn fn, void *user);

/* The part the next byte would belong to (after the held-back bytes). */
ds_part ds_reasoning_part(const ds_reasoning *r);

/* Close the reasoning from outside (a thinking budget ran out): held bytes go
 * to the reasoning, and what follows is answer. */
dseek_status ds_reasoning_close(ds_reasoning *r, ds_part_fn fn, void *user);

#endif
