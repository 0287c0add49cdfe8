/* gguf.c — placeholder until the gguf reader lands. */
#include "core/ds.h"
typedef int ds_gguf_placeholder;
