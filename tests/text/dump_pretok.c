/* dump_pretok — the pieces dseek's pre-tokenizer cuts a text into, for
 * test_pretok_llamacpp.py: `dump_pretok NAME` (a tokenizer.ggml.pre name)
 * reads lines of hex-encoded UTF-8 from stdin and prints, per line, the
 * pieces as hex separated by spaces. */
#include "text/pretok.h"
#include "text/unicode.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static size_t unhex(const char *h, uint8_t *out, size_t cap)
{
  size_t n = 0;
  for (; h[0] && h[1] && h[0] != '\n' && n < cap; h += 2) {
    unsigned b;
    if (sscanf(h, "%2x", &b) != 1) break;
    out[n++] = (uint8_t)b;
  }
  return n;
}

int main(int argc, char **argv)
{
  ds_pretok_kind kind;
  if (argc < 2 || !ds_pretok_from_name(argv[1], &kind)) {
    fprintf(stderr, "usage: dump_pretok PRE-TOKENIZER-NAME < hex lines\n");
    return 2;
  }
  static char line[1 << 16];
  static uint8_t text[1 << 15], flags[1 << 15];
  static uint32_t cps[1 << 15];
  static bool cut[(1 << 15) + 1];
  static size_t starts[(1 << 15) + 1];
  while (fgets(line, sizeof line, stdin)) {
    size_t len = unhex(line, text, sizeof text), n = 0;
    for (size_t i = 0, l; i < len; i += l) {
      starts[n] = i;
      cps[n] = ds_utf8_decode(text + i, &l);
      flags[n] = (uint8_t)ds_uc_flags(cps[n]);
      n++;
    }
    starts[n] = len;
    memset(cut, 0, (n + 1) * sizeof *cut);
    if (n) ds_pretok_split(kind, cps, flags, n, cut);
    for (size_t i = 0, first = 1; i < n; i++) {
      if (cut[i] && !first) putchar(' ');
      first = 0;
      for (size_t b = starts[i]; b < starts[i + 1]; b++) printf("%02x", text[b]);
    }
    putchar('\n');
  }
  return 0;
}
