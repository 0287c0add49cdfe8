/* output.c — generated tokens to text pieces (see output.h). */
#include "runtime/output.h"

#include <string.h>

static int to_sink(ds_part part, const char *text, size_t len, void *user)
{
  ds_output *o = user;
  if (!o->fn) return 0;
  dseek_piece_kind kind = part == DS_PART_REASONING ? DSEEK_PIECE_REASONING : DSEEK_PIECE_CONTENT;
  if (o->fn(kind, text, len, o->user)) {
    o->stopped_by_callback = true;
    return 1;
  }
  return 0;
}

void ds_output_init(ds_output *o, const char *const *stop, int64_t n_stop, bool in_reasoning, bool off,
                    ds_output_fn fn, void *user)
{
  memset(o, 0, sizeof *o);
  o->stop = stop;
  o->n_stop = n_stop;
  o->fn = fn;
  o->user = user;
  ds_reasoning_init(&o->split, in_reasoning && !off);
  if (off) ds_reasoning_close(&o->split, to_sink, o);
  ds_detok_stream_init(&o->detok);
}

void ds_output_free(ds_output *o)
{
  ds_detok_stream_free(&o->detok);
  ds_reasoning_free(&o->split);
  ds_buf_free(&o->pending);
}

/* Longest suffix of s[0..n) that is a proper prefix of some stop string. */
static size_t stop_prefix_len(const ds_output *o, const char *s, size_t n)
{
  size_t best = 0;
  for (int64_t k = 0; k < o->n_stop; k++) {
    size_t m = strlen(o->stop[k]);
    for (size_t len = DS_MIN(n, m ? m - 1 : 0); len > best; len--)
      if (memcmp(s + n - len, o->stop[k], len) == 0) { best = len; break; }
  }
  return best;
}

/* Whole-character text through the stop filter into the splitter. */
static dseek_status emit_text(ds_output *o, const char *text, size_t len, bool final)
{
  ds_buf *p = &o->pending;
  if (!ds_buf_append(p, text, len)) return ds_error(DSEEK_ERR_NO_MEMORY, "generate: out of memory");
  size_t cut = p->len;
  for (int64_t k = 0; k < o->n_stop; k++) {
    const char *at = p->len && o->stop[k][0] ? strstr(p->data, o->stop[k]) : NULL;
    if (at && (size_t)(at - p->data) < cut) { cut = (size_t)(at - p->data); o->hit = true; }
  }
  size_t keep = o->hit || final ? 0 : stop_prefix_len(o, p->data, p->len);
  size_t out = o->hit ? cut : p->len - keep;
  dseek_status st = DSEEK_OK;
  if (out) st = ds_reasoning_push(&o->split, p->data, out, to_sink, o);
  memmove(p->data, p->data + out, p->len - out);
  p->len -= out;
  if (p->data) p->data[p->len] = '\0';
  return st == DSEEK_ERR_CANCELLED && o->stopped_by_callback ? DSEEK_OK : st;
}

dseek_status ds_output_token(ds_output *o, const ds_vocab *v, int32_t tok)
{
  const char *text;
  size_t len;
  dseek_status st = ds_detok_stream_push(&o->detok, v, tok, &text, &len);
  return st ? st : emit_text(o, text, len, false);
}

dseek_status ds_output_finish(ds_output *o)
{
  if (o->stopped_by_callback || o->hit) return DSEEK_OK;
  const char *text;
  size_t len;
  ds_detok_stream_flush(&o->detok, &text, &len);
  dseek_status st = emit_text(o, text, len, true);
  if (!st && !o->stopped_by_callback) st = ds_reasoning_finish(&o->split, to_sink, o);
  return st == DSEEK_ERR_CANCELLED && o->stopped_by_callback ? DSEEK_OK : st;
}

dseek_status ds_output_close_reasoning(ds_output *o)
{
  dseek_status st = ds_reasoning_close(&o->split, to_sink, o);
  return st == DSEEK_ERR_CANCELLED && o->stopped_by_callback ? DSEEK_OK : st;
}
