/* utf8.c — the lead-byte table (RFC 3629, Unicode §3.9 Table 3-7), validation and encoding. */
#include "core/utf8.h"

#define X16(e) e, e, e, e, e, e, e, e, e, e, e, e, e, e, e, e
#define ASCII {1, 0x80, 0xBF}
#define NONE {0, 0, 0}
#define TWO {2, 0x80, 0xBF}
#define THREE {3, 0x80, 0xBF}
#define FOUR {4, 0x80, 0xBF}

const ds_utf8_lead ds_utf8_leads[256] = {
  X16(ASCII), X16(ASCII), X16(ASCII), X16(ASCII), X16(ASCII), X16(ASCII), X16(ASCII), X16(ASCII),
  X16(NONE), X16(NONE), X16(NONE), X16(NONE),       /* 80..BF: continuation bytes */
  NONE, NONE, TWO, TWO, TWO, TWO, TWO, TWO,         /* C0, C1: overlong */
  TWO, TWO, TWO, TWO, TWO, TWO, TWO, TWO, X16(TWO),
  {3, 0xA0, 0xBF},                                  /* E0: no overlongs */
  THREE, THREE, THREE, THREE, THREE, THREE, THREE, THREE, THREE, THREE, THREE, THREE,
  {3, 0x80, 0x9F},                                  /* ED: no surrogates */
  THREE, THREE,
  {4, 0x90, 0xBF},                                  /* F0: no overlongs */
  FOUR, FOUR, FOUR,
  {4, 0x80, 0x8F},                                  /* F4: nothing above U+10FFFF */
  NONE, NONE, NONE, NONE, NONE, NONE, NONE, NONE, NONE, NONE, NONE,   /* F5..FF */
};

size_t ds_utf8_valid_len(const char *str, size_t n)
{
  const unsigned char *s = (const unsigned char *)str;
  size_t i = 0;
  while (i < n) {
    if (s[i] < 0x80) { i++; continue; }
    size_t len;
    if (ds_utf8_match(s + i, n - i, &len) != len || !len) return i;
    i += len;
  }
  return n;
}

size_t ds_utf8_encode(uint32_t cp, char out[4])
{
  if (cp < 0x80) { out[0] = (char)cp; return 1; }
  if (cp < 0x800) { out[0] = (char)(0xC0 | cp >> 6); out[1] = (char)(0x80 | (cp & 0x3F)); return 2; }
  if (cp < 0x10000) {
    out[0] = (char)(0xE0 | cp >> 12); out[1] = (char)(0x80 | (cp >> 6 & 0x3F));
    out[2] = (char)(0x80 | (cp & 0x3F));
    return 3;
  }
  out[0] = (char)(0xF0 | cp >> 18); out[1] = (char)(0x80 | (cp >> 12 & 0x3F));
  out[2] = (char)(0x80 | (cp >> 6 & 0x3F)); out[3] = (char)(0x80 | (cp & 0x3F));
  return 4;
}
