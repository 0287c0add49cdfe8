/* generate.h — small pieces shared by single and parallel generation. */
#ifndef DS_RUNTIME_GENERATE_H
#define DS_RUNTIME_GENERATE_H

#include "core/platform.h"   /* ds_seconds, the monotonic clock */

bool ds_prompt_opens_think(const char *prompt);  /* ends in "<think>" (+ whitespace) */
int32_t ds_argmax(const float *x, int64_t n);    /* first maximum */

#endif
