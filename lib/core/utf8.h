/*
 * utf8.h — UTF-8 in one place: the lead-byte table, validation, and the
 * decoder/encoder the text and grammar code share.
 *
 * Well-formed sequences are those of RFC 3629 and Unicode §3.9 Table 3-7:
 * no overlongs, no surrogates (U+D800..DFFF), nothing above U+10FFFF. The
 * table encodes that per lead byte as a length and the range of the second
 * byte; every later byte is 80..BF.
 */
#ifndef DS_CORE_UTF8_H
#define DS_CORE_UTF8_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* What a byte starts: the length of its well-formed sequence (1-4; 0 for
 * bytes that start none: 80..C1, F5..FF) and the allowed range lo..hi of
 * the sequence's second byte. */
typedef struct ds_utf8_lead {
  uint8_t len, lo, hi;
} ds_utf8_lead;

extern const ds_utf8_lead ds_utf8_leads[256];

/* How many leading bytes of s[0..n) (n >= 1) agree with a well-formed
 * sequence starting at s[0]; *len receives that sequence's length (0 when
 * s[0] starts none, and then 0 is returned). The sequence is complete in s
 * iff the result equals *len; otherwise s[0..result) is its longest
 * well-formed prefix there (the "maximal subpart" of Unicode §3.9). */
static inline size_t ds_utf8_match(const uint8_t *s, size_t n, size_t *len)
{
  const ds_utf8_lead *l = &ds_utf8_leads[s[0]];
  size_t m = l->len < n ? l->len : n;   /* the bytes to look at */
  *len = l->len;
  if (m < 2) return m;
  if (s[1] < l->lo || s[1] > l->hi) return 1;
  size_t k = 2;
  while (k < m && (s[k] & 0xC0) == 0x80) k++;
  return k;
}

/* Offset of the first byte of s[0..n) that does not begin a complete
 * well-formed sequence, or n when all of s is well-formed. */
size_t ds_utf8_valid_len(const char *s, size_t n);

/* True if s[0..n) is well-formed UTF-8. */
static inline bool ds_utf8_valid(const char *s, size_t n) { return ds_utf8_valid_len(s, n) == n; }

/* The code point starting at s (well-formed UTF-8 with at least one byte);
 * *len receives its byte length (1-4). */
static inline uint32_t ds_utf8_decode(const uint8_t *s, size_t *len)
{
  uint8_t c = s[0];
  if (c < 0x80) { *len = 1; return c; }
  if (c < 0xE0) { *len = 2; return (uint32_t)(c & 0x1F) << 6 | (s[1] & 0x3Fu); }
  if (c < 0xF0) { *len = 3; return (uint32_t)(c & 0x0F) << 12 | (uint32_t)(s[1] & 0x3F) << 6 | (s[2] & 0x3Fu); }
  *len = 4;
  return (uint32_t)(c & 0x07) << 18 | (uint32_t)(s[1] & 0x3F) << 12 | (uint32_t)(s[2] & 0x3F) << 6 | (s[3] & 0x3Fu);
}

/* Byte length of a sequence of well-formed text from its lead byte (1 for
 * stray bytes). */
static inline size_t ds_utf8_len(uint8_t lead)
{
  return lead < 0xC0 ? 1 : lead < 0xE0 ? 2 : lead < 0xF0 ? 3 : 4;
}

/* Write cp (<= 0x10FFFF) as UTF-8; returns 1-4. */
size_t ds_utf8_encode(uint32_t cp, char out[4]);

#endif
