/* dump_chat.c — render one conversation with dseek's native chat templates
 * (lib/text/chat.c) for test_chat_tools.py, which renders the same one with
 * DeepSeek's Jinja template and compares.
 *
 *   dump_chat TEMPLATE_FILE BOS_FILE < conversation
 *
 * BOS_FILE holds the BOS token's text (a file, not an argument: Windows
 * passes arguments through the ANSI code page, which loses its characters).
 *
 * The conversation on stdin is NUL-terminated fields: add_generation_prompt
 * ("0"/"1"), then per message: role, "1" or "0" (content present), content,
 * the number of tool calls, and per call: type, name, arguments. The rendered
 * text goes to stdout. */
#include "text/chat.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#ifdef _WIN32
#include <fcntl.h>
#include <io.h>
#endif

static char *read_all(FILE *f, size_t *len)
{
  size_t cap = 1 << 16, n = 0;
  char *s = malloc(cap);
  for (size_t got; s && (got = fread(s + n, 1, cap - n, f)) > 0;) {
    n += got;
    if (n == cap) s = realloc(s, cap *= 2);
  }
  *len = n;
  return s;
}

/* The next NUL-terminated field at *pos, or NULL at the end. */
static const char *next(const char *s, size_t len, size_t *pos)
{
  if (*pos >= len) return NULL;
  const char *f = s + *pos;
  size_t m = strnlen(f, len - *pos);
  if (m == len - *pos) return NULL;
  *pos += m + 1;
  return f;
}

int main(int argc, char **argv)
{
  if (argc != 3) {
    fprintf(stderr, "usage: dump_chat TEMPLATE_FILE BOS_FILE < conversation\n");
    return 2;
  }
  FILE *tf = fopen(argv[1], "rb");
  if (!tf) return perror(argv[1]), 2;
  size_t tlen, len, pos = 0;
  char *tmpl_src = read_all(tf, &tlen);
  fclose(tf);
  FILE *bf = fopen(argv[2], "rb");
  if (!bf) return perror(argv[2]), 2;
  size_t blen;
  char *bos = read_all(bf, &blen);
  fclose(bf);
  if (!bos || !(bos = realloc(bos, blen + 1))) return 2;
  bos[blen] = 0;
#ifdef _WIN32
  _setmode(_fileno(stdin), _O_BINARY);   /* bytes in and out: no "\r\n" translation */
  _setmode(_fileno(stdout), _O_BINARY);
#endif
  char *in = read_all(stdin, &len);
  ds_chat_template tmpl;
  if (!tmpl_src || !in || ds_chat_detect(tmpl_src, tlen, &tmpl) != DSEEK_OK) {
    fprintf(stderr, "dump_chat: %s\n", dseek_last_error());
    return 1;
  }
  const char *gen = next(in, len, &pos);
  ds_chat_msg msgs[64];
  ds_chat_call calls[256];
  int64_t n = 0, n_calls = 0;
  for (const char *role; n < 64 && (role = next(in, len, &pos));) {
    const char *has = next(in, len, &pos), *content = next(in, len, &pos), *k = next(in, len, &pos);
    if (!has || !content || !k) return fprintf(stderr, "dump_chat: truncated message\n"), 2;
    ds_chat_msg *m = &msgs[n++];
    *m = (ds_chat_msg){role, strcmp(has, "1") == 0 ? content : NULL, calls + n_calls, atoi(k)};
    for (int64_t j = 0; j < m->n_calls && n_calls < 256; j++, n_calls++) {
      const char *type = next(in, len, &pos), *name = next(in, len, &pos), *args = next(in, len, &pos);
      if (!args) return fprintf(stderr, "dump_chat: truncated call\n"), 2;
      calls[n_calls] = (ds_chat_call){type, name, args};
    }
  }
  ds_buf out = {0};
  if (!gen || ds_chat_render_msgs(&tmpl, bos, msgs, n, strcmp(gen, "1") == 0, &out) != DSEEK_OK) {
    fprintf(stderr, "dump_chat: %s\n", dseek_last_error());
    return 1;
  }
  fwrite(out.data, 1, out.len, stdout);
  ds_buf_free(&out);
  free(tmpl_src);
  free(bos);
  free(in);
  return 0;
}
