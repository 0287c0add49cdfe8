/* log.c — the library's only way to speak: a host callback, silent by default. */
#include "core/ds.h"

#include <stdarg.h>
#include <stdio.h>

static const char *const level_names[] = {"none", "error", "warn", "info", "debug"};

static void stderr_sink(dseek_log_level level, const char *message, void *user_data)
{
  (void)user_data;
  fprintf(stderr, "dseek %s: %s\n", level_names[level], message);
}

static dseek_log_fn log_fn = stderr_sink;
static void *log_user;
static dseek_log_level log_level = DSEEK_LOG_NONE;

void dseek_set_log_callback(dseek_log_fn fn, void *user_data)
{
  log_fn = fn ? fn : stderr_sink;
  log_user = fn ? user_data : NULL;
}

void dseek_set_log_level(dseek_log_level level)
{
  if ((int)level < DSEEK_LOG_NONE) level = DSEEK_LOG_NONE;
  if ((int)level > DSEEK_LOG_DEBUG) level = DSEEK_LOG_DEBUG;
  log_level = level;
}

void ds_log(dseek_log_level level, const char *fmt, ...)
{
  if (level == DSEEK_LOG_NONE || level > log_level) return;
  char msg[1024];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(msg, sizeof msg, fmt, ap);
  va_end(ap);
  log_fn(level, msg, log_user);
}
