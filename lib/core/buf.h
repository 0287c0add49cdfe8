/* buf.h — a growable byte buffer for building strings (always NUL-terminated). */
#ifndef DS_CORE_BUF_H
#define DS_CORE_BUF_H

#include "core/ds.h"

typedef struct ds_buf {
  char *data;     /* NUL-terminated when non-NULL */
  size_t len;
  size_t cap;
  bool failed;    /* an append ran out of memory; the content is incomplete */
} ds_buf;

/* Append n bytes; on allocation failure sets failed and returns false. */
bool ds_buf_append(ds_buf *b, const char *s, size_t n);
bool ds_buf_puts(ds_buf *b, const char *s);
void ds_buf_free(ds_buf *b);

#endif
