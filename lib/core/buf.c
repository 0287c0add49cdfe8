/* buf.c — growable byte buffer. */
#include "core/buf.h"

#include <string.h>

bool ds_buf_append(ds_buf *b, const char *s, size_t n)
{
  if (b->failed) return false;
  size_t need;
  if (ds_add_size(b->len, n, &need) || ds_add_size(need, 1, &need)) { b->failed = true; return false; }
  if (need > b->cap) {
    size_t cap = b->cap ? b->cap : 64;
    while (cap < need) {
      if (ds_mul_size(cap, 2, &cap)) { b->failed = true; return false; }
    }
    char *p = ds_realloc(b->data, cap);
    if (!p) { b->failed = true; return false; }
    b->data = p;
    b->cap = cap;
  }
  if (n) memcpy(b->data + b->len, s, n);
  b->len += n;
  b->data[b->len] = '\0';
  return true;
}

bool ds_buf_puts(ds_buf *b, const char *s) { return ds_buf_append(b, s, strlen(s)); }

void ds_buf_free(ds_buf *b)
{
  ds_free(b->data);
  memset(b, 0, sizeof *b);
}
