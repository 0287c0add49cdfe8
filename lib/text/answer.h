/* answer.h — extract a final answer from a reasoning model's reply. */
#ifndef DS_TEXT_ANSWER_H
#define DS_TEXT_ANSWER_H

#include "core/ds.h"

/* The content of the last \boxed{...} (braces balanced) in content, else its
 * last non-empty line with surrounding blanks trimmed; written NUL-terminated
 * to answer (truncated to cap - 1 bytes). Returns the length, or -1 when there
 * is no answer. Matches dseek_extract_fn. */
int64_t ds_extract_answer(const char *content, const char *reasoning, char *answer, size_t cap, void *user);

#endif
