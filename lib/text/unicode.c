/*
 * unicode.c — lookups over the generated tables and Unicode Normalization
 * Form C (UAX #15): decompose canonically, sort each run of non-starters by
 * combining class (stable), then recompose left to right: a character C
 * combines with the last starter S when nothing between them blocks it (the
 * last kept character in between has ccc 0 or ccc >= ccc(C)) and (S, C) has a
 * primary composite.
 */
#include "text/unicode.h"

#include <string.h>

/* Hangul syllables: S = SBase + (L * VCount + V) * TCount + T. */
enum { SBASE = 0xAC00, LBASE = 0x1100, VBASE = 0x1161, TBASE = 0x11A7,
       LCOUNT = 19, VCOUNT = 21, TCOUNT = 28, NCOUNT = VCOUNT * TCOUNT, SCOUNT = LCOUNT * NCOUNT };

unsigned ds_uc_flags_slow(uint32_t cp)
{
  /* last run whose first <= cp */
  size_t lo = 0, hi = DS_UC_N_CLASS_RUNS;
  while (hi - lo > 1) {
    size_t mid = (lo + hi) / 2;
    if (ds_uc_class_runs[mid].first <= cp) lo = mid;
    else hi = mid;
  }
  return ds_uc_class_runs[lo].flags;
}

int ds_uc_ccc(uint32_t cp)
{
  if (cp < 0x300) return 0;
  size_t lo = 0, hi = DS_UC_N_CCC_RUNS;
  while (lo < hi) {
    size_t mid = (lo + hi) / 2;
    if (ds_uc_ccc_runs[mid].last < cp) lo = mid + 1;
    else hi = mid;
  }
  if (lo < DS_UC_N_CCC_RUNS && ds_uc_ccc_runs[lo].first <= cp) return ds_uc_ccc_runs[lo].ccc;
  return 0;
}

int ds_uc_decompose(uint32_t cp, uint32_t out[4])
{
  if (cp >= SBASE && cp < SBASE + SCOUNT) {
    uint32_t s = cp - SBASE;
    out[0] = LBASE + s / NCOUNT;
    out[1] = VBASE + (s % NCOUNT) / TCOUNT;
    if (s % TCOUNT == 0) return 2;
    out[2] = TBASE + s % TCOUNT;
    return 3;
  }
  if (cp >= 0xC0) {
    size_t lo = 0, hi = DS_UC_N_DECOMP;
    while (lo < hi) {
      size_t mid = (lo + hi) / 2;
      if (ds_uc_decomp[mid].cp < cp) lo = mid + 1;
      else hi = mid;
    }
    if (lo < DS_UC_N_DECOMP && ds_uc_decomp[lo].cp == cp) {
      const ds_uc_decomp_row *r = &ds_uc_decomp[lo];
      for (int k = 0; k < r->len; k++) out[k] = ds_uc_decomp_pool[r->offset + k];
      return r->len;
    }
  }
  out[0] = cp;
  return 1;
}

uint32_t ds_uc_compose_pair(uint32_t a, uint32_t b)
{
  if (a >= LBASE && a < LBASE + LCOUNT && b >= VBASE && b < VBASE + VCOUNT)
    return SBASE + ((a - LBASE) * VCOUNT + (b - VBASE)) * TCOUNT;
  if (a >= SBASE && a < SBASE + SCOUNT && (a - SBASE) % TCOUNT == 0 && b > TBASE && b < TBASE + TCOUNT)
    return a + (b - TBASE);
  size_t lo = 0, hi = DS_UC_N_COMPOSE;
  while (lo < hi) {
    size_t mid = (lo + hi) / 2;
    const ds_uc_compose_row *r = &ds_uc_compose[mid];
    if (r->first < a || (r->first == a && r->second < b)) lo = mid + 1;
    else hi = mid;
  }
  if (lo < DS_UC_N_COMPOSE && ds_uc_compose[lo].first == a && ds_uc_compose[lo].second == b)
    return ds_uc_compose[lo].composite;
  return 0;
}

bool ds_nfc_quick_yes(const char *s, size_t n)
{
  /* U+0300 is the first code point whose UTF-8 lead byte is 0xCC */
  for (size_t k = 0; k < n; k++)
    if ((uint8_t)s[k] >= 0xCC) return false;
  return true;
}

dseek_status ds_nfc(const char *s, size_t n, char **out, size_t *out_len)
{
  /* at most 4 code points per decomposed code point, and never more than
   * one per input byte times 4 */
  size_t cap;
  if (ds_mul_size(n + 1, 4 * sizeof(uint32_t), &cap))
    return ds_error(DSEEK_ERR_NO_MEMORY, "NFC: text too long");
  uint32_t *cps = ds_malloc(cap);
  int *ccs = ds_malloc((n + 1) * 4 * sizeof(int));
  if (!cps || !ccs) {
    ds_free(cps);
    ds_free(ccs);
    return ds_error(DSEEK_ERR_NO_MEMORY, "NFC: out of memory");
  }
  /* 1. decompose, 2. order each run of non-starters by ccc (insertion sort:
   * stable, runs are short) */
  size_t m = 0;
  for (size_t k = 0; k < n;) {
    size_t len;
    uint32_t d[4];
    int nd = ds_uc_decompose(ds_utf8_decode((const uint8_t *)s + k, &len), d);
    k += len;
    for (int j = 0; j < nd; j++) {
      int cc = ds_uc_ccc(d[j]);
      size_t at = m++;
      if (cc) {
        while (at > 0 && ccs[at - 1] > cc) { cps[at] = cps[at - 1]; ccs[at] = ccs[at - 1]; at--; }
      }
      cps[at] = d[j];
      ccs[at] = cc;
    }
  }
  /* 3. compose */
  size_t kept = 0;
  ptrdiff_t starter = -1;
  int last_cc = -1;   /* ccc of the last kept character after the starter; -1: none */
  for (size_t k = 0; k < m; k++) {
    uint32_t c = cps[k];
    int cc = ccs[k];
    if (starter >= 0 && (last_cc == -1 || last_cc < cc)) {
      uint32_t comp = ds_uc_compose_pair(cps[starter], c);
      if (comp) { cps[starter] = comp; continue; }
    }
    if (cc == 0) { starter = (ptrdiff_t)kept; last_cc = -1; }
    else last_cc = cc;
    cps[kept++] = c;
  }
  ds_free(ccs);
  char *buf = ds_malloc(kept * 4 + 1);
  if (!buf) { ds_free(cps); return ds_error(DSEEK_ERR_NO_MEMORY, "NFC: out of memory"); }
  size_t o = 0;
  for (size_t k = 0; k < kept; k++) o += ds_utf8_encode(cps[k], buf + o);
  buf[o] = '\0';
  ds_free(cps);
  *out = buf;
  *out_len = o;
  return DSEEK_OK;
}
