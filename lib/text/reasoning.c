/* reasoning.c — streaming <think> ... </think> splitter (see reasoning.h). */
#include "text/reasoning.h"

#include <string.h>

enum { MODE_START, MODE_REASONING, MODE_CONTENT };

static const char OPEN[] = "<think>";
static const char CLOSE[] = "</think>";

void ds_reasoning_init(ds_reasoning *r, bool in_reasoning)
{
  memset(r, 0, sizeof *r);
  r->mode = in_reasoning ? MODE_REASONING : MODE_START;
  r->trim = true;
}

void ds_reasoning_free(ds_reasoning *r) { ds_buf_free(&r->run); }

ds_part ds_reasoning_part(const ds_reasoning *r)
{
  return r->mode == MODE_REASONING ? DS_PART_REASONING : DS_PART_CONTENT;
}

static bool is_space(char c) { return c == ' ' || c == '\n' || c == '\r' || c == '\t'; }

/* Deliver the accumulated run as `part`. */
static dseek_status deliver(ds_reasoning *r, ds_part part, ds_part_fn fn, void *user)
{
  if (r->run.failed) return ds_error(DSEEK_ERR_NO_MEMORY, "reasoning splitter: out of memory");
  if (r->run.len == 0) return DSEEK_OK;
  if (part == DS_PART_REASONING) r->reasoning_bytes += (int64_t)r->run.len;
  else r->content_bytes += (int64_t)r->run.len;
  int stop = fn(part, r->run.data, r->run.len, user);
  r->run.len = 0;
  return stop ? DSEEK_ERR_CANCELLED : DSEEK_OK;
}

/* Append text to the run, skipping whitespace at the start of a part. */
static void add(ds_reasoning *r, const char *s, size_t n)
{
  while (r->trim && n && is_space(*s)) { s++; n--; }
  if (n) { r->trim = false; ds_buf_append(&r->run, s, n); }
}

dseek_status ds_reasoning_push(ds_reasoning *r, const char *text, size_t len, ds_part_fn fn, void *user)
{
  dseek_status st;
  for (size_t i = 0; i < len; i++) {
    char c = text[i];
    if (r->mode == MODE_START) {
      /* Before anything else: leading whitespace, then maybe "<think>". */
      if (r->matched == 0 && is_space(c)) continue;
      if (c == OPEN[r->matched]) {
        if (++r->matched == sizeof OPEN - 1) { r->matched = 0; r->mode = MODE_REASONING; }
        continue;
      }
      r->mode = MODE_CONTENT;
      add(r, OPEN, r->matched);
      r->matched = 0;
      add(r, &c, 1);
    } else if (r->mode == MODE_REASONING) {
      if (c == CLOSE[r->matched]) {
        if (++r->matched == sizeof CLOSE - 1) {
          r->matched = 0;
          if ((st = deliver(r, DS_PART_REASONING, fn, user))) return st;
          r->mode = MODE_CONTENT;
          r->trim = true;
        }
        continue;
      }
      add(r, CLOSE, r->matched);           /* a false start of the tag is text */
      r->matched = c == CLOSE[0];
      if (!r->matched) add(r, &c, 1);
    } else {
      add(r, &c, 1);
    }
  }
  return deliver(r, r->mode == MODE_REASONING ? DS_PART_REASONING : DS_PART_CONTENT, fn, user);
}

dseek_status ds_reasoning_finish(ds_reasoning *r, ds_part_fn fn, void *user)
{
  const char *tag = r->mode == MODE_REASONING ? CLOSE : OPEN;
  ds_part part = r->mode == MODE_REASONING ? DS_PART_REASONING : DS_PART_CONTENT;
  add(r, tag, r->matched);
  r->matched = 0;
  return deliver(r, part, fn, user);
}

dseek_status ds_reasoning_close(ds_reasoning *r, ds_part_fn fn, void *user)
{
  dseek_status st = DSEEK_OK;
  if (r->mode == MODE_REASONING) {
    add(r, CLOSE, r->matched);
    r->matched = 0;
    st = deliver(r, DS_PART_REASONING, fn, user);
  }
  r->mode = MODE_CONTENT;
  r->matched = 0;
  r->trim = true;
  return st;
}
