/* error.c — status names and the per-thread last-error message. */
#include "core/ds.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#define DS_ERROR_CAP 1024

static _Thread_local char last_error[DS_ERROR_CAP];

const char *dseek_status_string(dseek_status status)
{
  switch (status) {
  case DSEEK_OK: return "ok";
  case DSEEK_ERR_INVALID_ARG: return "invalid argument";
  case DSEEK_ERR_IO: return "i/o error";
  case DSEEK_ERR_FORMAT: return "format error";
  case DSEEK_ERR_UNSUPPORTED: return "unsupported";
  case DSEEK_ERR_NO_MEMORY: return "out of memory";
  case DSEEK_ERR_NOT_FOUND: return "not found";
  case DSEEK_ERR_TYPE: return "wrong type";
  case DSEEK_ERR_CONTEXT_FULL: return "context full";
  case DSEEK_ERR_CANCELLED: return "cancelled";
  case DSEEK_ERR_INTERNAL: return "internal error";
  case DSEEK_ERR_BUFFER_TOO_SMALL: return "buffer too small";
  }
  return "unknown status";
}

const char *dseek_last_error(void) { return last_error; }

void dseek_clear_error(void) { last_error[0] = '\0'; }

dseek_status ds_error(dseek_status status, const char *fmt, ...)
{
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(last_error, sizeof last_error, fmt, ap);
  va_end(ap);
  ds_log(DSEEK_LOG_DEBUG, "error (%s): %s", dseek_status_string(status), last_error);
  return status;
}

dseek_status ds_error_prefix(dseek_status status, const char *fmt, ...)
{
  char prefix[DS_ERROR_CAP];
  char old[DS_ERROR_CAP];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(prefix, sizeof prefix, fmt, ap);
  va_end(ap);
  memcpy(old, last_error, sizeof old);
  size_t n = strlen(prefix);
  if (n > sizeof last_error - 3) n = sizeof last_error - 3;
  memcpy(last_error, prefix, n);
  memcpy(last_error + n, ": ", 2);
  size_t rest = sizeof last_error - n - 3;
  size_t m = strlen(old);
  if (m > rest) m = rest;
  memcpy(last_error + n + 2, old, m);
  last_error[n + 2 + m] = '\0';
  return status;
}
