/*
 * pretok.c — hand-written matchers for the pre-tokenizer regexes.
 *
 * A matcher gets the subject (one piece: code points, their class flags and
 * its end) and a position i, and returns the length of the match that the
 * regex would find starting exactly at i (0: none). Backtracking is resolved
 * analytically for each construct; the comments give the resulting rule.
 * split_step() applies a matcher the way a regex search does: try at i, on
 * success cut around the match and continue after it, else move on by one
 * code point (unmatched code points collect into one gap piece).
 */
#include "text/pretok.h"

#include "text/unicode.h"

#include <string.h>

typedef struct subject {
  const uint32_t *cps;
  const uint8_t *flags;
  size_t end;
} subject;

/* Returns the match length at i; on failure may set *skip to the number of
 * positions from i that are certain to fail too (default 1). */
typedef size_t (*matcher)(const subject *s, size_t i, size_t *skip);

#define WS DS_UC_WHITE_SPACE

static bool is_crlf(uint32_t c) { return c == '\r' || c == '\n'; }
static bool is_ascii_alpha(uint32_t c) { return (c | 0x20) >= 'a' && (c | 0x20) <= 'z'; }
static bool is_ascii_punct(uint32_t c)
{
  return (c >= 0x21 && c <= 0x2F) || (c >= 0x3A && c <= 0x40) || (c >= 0x5B && c <= 0x60) || (c >= 0x7B && c <= 0x7E);
}

/* end of the run of code points from j whose flags intersect `mask` */
static size_t run_flags(const subject *s, size_t j, unsigned mask)
{
  while (j < s->end && (s->flags[j] & mask)) j++;
  return j;
}

/* The common tail of the GPT-style regexes at i:
 *   \s*[\r\n]+   greedy \s* gives back until [\r\n]+ fits: the match ends just
 *                after the LAST CR/LF of the whitespace run from i;
 *   \s+(?!\S)    the whole run if it ends the subject, else the run minus its
 *                last character (which is then followed by whitespace), when
 *                that leaves at least one;
 *   \s+          otherwise the single remaining case: a run of one. */
static size_t whitespace_tail(const subject *s, size_t i)
{
  size_t j = i, last_nl = SIZE_MAX;
  for (; j < s->end && (s->flags[j] & WS); j++)
    if (is_crlf(s->cps[j])) last_nl = j;
  if (last_nl != SIZE_MAX) return last_nl + 1 - i;
  if (j == i) return 0;
  if (j == s->end) return j - i;
  return j - i >= 2 ? j - 1 - i : 1;
}

/* ---- DeepSeek-V3 / R1 -----------------------------------------------------------
 * 1. \p{N}{1,3}
 * 2. [\u4e00-\u9fa5\u3040-\u309f\u30a0-\u30ff]+
 * 3. [!"#$%&'()*+,\-./:;<=>?@\[\\\]^_`{|}~][A-Za-z]+ | [^\r\n\p{L}\p{P}\p{S}]?[\p{L}\p{M}]+
 *    | ?[\p{P}\p{S}]+[\r\n]* | \s*[\r\n]+ | \s+(?!\S) | \s+                          */

static size_t match_digits_1_3(const subject *s, size_t i, size_t *skip)
{
  (void)skip;
  size_t j = i;
  while (j < s->end && j - i < 3 && (s->flags[j] & DS_UC_N)) j++;
  return j - i;
}

static bool is_v3_cjk(uint32_t c)
{
  return (c >= 0x4E00 && c <= 0x9FA5) || (c >= 0x3040 && c <= 0x309F) || (c >= 0x30A0 && c <= 0x30FF);
}

static size_t match_v3_cjk(const subject *s, size_t i, size_t *skip)
{
  (void)skip;
  size_t j = i;
  while (j < s->end && is_v3_cjk(s->cps[j])) j++;
  return j - i;
}

static size_t match_v3_main(const subject *s, size_t i, size_t *skip)
{
  (void)skip;
  const uint32_t *c = s->cps;
  const uint8_t *f = s->flags;
  size_t end = s->end, j;
  /* [ascii punct][A-Za-z]+ */
  if (is_ascii_punct(c[i]) && i + 1 < end && is_ascii_alpha(c[i + 1])) {
    for (j = i + 2; j < end && is_ascii_alpha(c[j]); j++) {}
    return j - i;
  }
  /* [^\r\n\p{L}\p{P}\p{S}]?[\p{L}\p{M}]+ : with the optional character if a
   * letter/mark follows it, else without (then c[i] itself must be L or M) */
  bool opt = !is_crlf(c[i]) && !(f[i] & (DS_UC_L | DS_UC_P | DS_UC_S));
  if (opt && i + 1 < end && (f[i + 1] & (DS_UC_L | DS_UC_M))) return run_flags(s, i + 2, DS_UC_L | DS_UC_M) - i;
  if (f[i] & (DS_UC_L | DS_UC_M)) return run_flags(s, i + 1, DS_UC_L | DS_UC_M) - i;
  /*  ?[\p{P}\p{S}]+[\r\n]* */
  size_t k = (c[i] == ' ' && i + 1 < end && (f[i + 1] & (DS_UC_P | DS_UC_S))) ? i + 1 : i;
  if (f[k] & (DS_UC_P | DS_UC_S)) {
    for (j = run_flags(s, k + 1, DS_UC_P | DS_UC_S); j < end && is_crlf(c[j]); j++) {}
    return j - i;
  }
  return whitespace_tail(s, i);
}

/* ---- Qwen2 (R1-Distill-Qwen) and Llama-3 ------------------------------------------
 * (?i:'s|'t|'re|'ve|'m|'ll|'d) | [^\r\n\p{L}\p{N}]?\p{L}+ | \p{N}  (Llama-3: \p{N}{1,3})
 * | ?[^\s\p{L}\p{N}]+[\r\n]* | \s*[\r\n]+ | \s+(?!\S) | \s+                          */

/* Simple case folding of what the contractions can meet: ASCII, and U+017F
 * LONG S which Oniguruma folds to 's'. */
static uint32_t fold(uint32_t c)
{
  if (c >= 'A' && c <= 'Z') return c + 32;
  if (c == 0x17F) return 's';
  return c;
}

static size_t match_gpt(const subject *s, size_t i, bool digits_1_3)
{
  const uint32_t *c = s->cps;
  const uint8_t *f = s->flags;
  size_t end = s->end, j;
  if (c[i] == '\'' && i + 1 < end) {
    uint32_t a = fold(c[i + 1]), b = i + 2 < end ? fold(c[i + 2]) : 0;
    if (a == 's' || a == 't' || a == 'm' || a == 'd') return 2;
    if (((a == 'r' || a == 'v') && b == 'e') || (a == 'l' && b == 'l')) return 3;
  }
  bool opt = !is_crlf(c[i]) && !(f[i] & (DS_UC_L | DS_UC_N));
  if (opt && i + 1 < end && (f[i + 1] & DS_UC_L)) return run_flags(s, i + 2, DS_UC_L) - i;
  if (f[i] & DS_UC_L) return run_flags(s, i + 1, DS_UC_L) - i;
  if (f[i] & DS_UC_N) {
    if (!digits_1_3) return 1;
    for (j = i + 1; j < end && j - i < 3 && (f[j] & DS_UC_N); j++) {}
    return j - i;
  }
  /*  ?[^\s\p{L}\p{N}]+[\r\n]* */
#define OTHER(k) (!(f[k] & (WS | DS_UC_L | DS_UC_N)))
  size_t k = (c[i] == ' ' && i + 1 < end && OTHER(i + 1)) ? i + 1 : i;
  if (OTHER(k)) {
    for (j = k + 1; j < end && OTHER(j); j++) {}
    while (j < end && is_crlf(c[j])) j++;
    return j - i;
  }
#undef OTHER
  return whitespace_tail(s, i);
}

static size_t match_qwen2(const subject *s, size_t i, size_t *skip) { (void)skip; return match_gpt(s, i, false); }
static size_t match_llama3(const subject *s, size_t i, size_t *skip) { (void)skip; return match_gpt(s, i, true); }

/* ---- llama.cpp deepseek-llm and deepseek-coder --------------------------------------
 * deepseek-llm:   [\r\n] ; \s?[<letters>]+ ; \s?[!-/:-~！-／：-～‘-‟　-。]+ ; \s+$ ;
 *                 [\u4e00-\u9fa5\u0800-\u4e00\uac00-\ud7ff]+ ; \p{N}+
 * deepseek-coder: [\r\n] ; \s?\p{L}+ ; \s?\p{P}+ ; [\u4e00-\u9fa5\u0800-\u4e00\uac00-\ud7ff]+ ; \p{N}
 * <letters> is the explicit class of llama.cpp's regex (Latin, Greek, Cyrillic,
 * ... but deliberately not all of \p{L}), transcribed by script from the JSON
 * form of the pattern. */

typedef struct cp_range { uint32_t lo, hi; } cp_range;

static const cp_range llm_letters[] = {
  {0x41, 0x5A}, {0x61, 0x7A}, {0xB5, 0xB5}, {0xC0, 0xD6}, {0xD8, 0xF6}, {0xF8, 0x1BA},
  {0x1BC, 0x1BF}, {0x1C4, 0x293}, {0x295, 0x2AF}, {0x370, 0x373}, {0x376, 0x376}, {0x377, 0x377},
  {0x37B, 0x37D}, {0x37F, 0x37F}, {0x386, 0x386}, {0x388, 0x38A}, {0x38C, 0x38C}, {0x38E, 0x3A1},
  {0x3A3, 0x3F5}, {0x3F7, 0x481}, {0x48A, 0x52F}, {0x531, 0x556}, {0x10A0, 0x10C5}, {0x13A0, 0x13F5},
  {0x13F8, 0x13FD}, {0x1C90, 0x1CBA}, {0x1CBD, 0x1CBF}, {0x1D00, 0x1D2B}, {0x1D6B, 0x1D77}, {0x1D79, 0x1D9A},
  {0x1E00, 0x1F15}, {0x1F18, 0x1F1D}, {0x1F20, 0x1F45}, {0x1F48, 0x1F4D}, {0x1F50, 0x1F57}, {0x1F59, 0x1F59},
  {0x1F5B, 0x1F5B}, {0x1F5D, 0x1F5D}, {0x1F5F, 0x1F7D}, {0x1F80, 0x1FB4}, {0x1FB6, 0x1FBC}, {0x1FBE, 0x1FBE},
  {0x1FC2, 0x1FC4}, {0x1FC6, 0x1FCC}, {0x1FD0, 0x1FD3}, {0x1FD6, 0x1FDB}, {0x1FE0, 0x1FEC}, {0x1FF2, 0x1FF4},
  {0x1FF6, 0x1FFC}, {0x2102, 0x2102}, {0x2107, 0x2107}, {0x210A, 0x2113}, {0x2115, 0x2115}, {0x2119, 0x211D},
  {0x2124, 0x2124}, {0x2126, 0x2126}, {0x2128, 0x2128}, {0x212A, 0x212D}, {0x212F, 0x2134}, {0x2139, 0x2139},
  {0x213C, 0x213F}, {0x2145, 0x2149}, {0x214E, 0x214E}, {0x2183, 0x2183}, {0x2184, 0x2184}, {0x2C00, 0x2C7B},
  {0x2C7E, 0x2CE4}, {0x2CEB, 0x2CEE}, {0x2CF2, 0x2CF2}, {0x2CF3, 0x2CF3}, {0xA640, 0xA66D}, {0xA680, 0xA69B},
  {0xA722, 0xA76F}, {0xA771, 0xA787}, {0xA78B, 0xA78E}, {0xAB70, 0xABBF}, {0xFB00, 0xFB06}, {0xFB13, 0xFB17},
  {0xFF21, 0xFF3A}, {0xFF41, 0xFF5A}, {0x10400, 0x1044F}, {0x104B0, 0x104D3}, {0x104D8, 0x104FB}, {0x10C80, 0x10CB2},
  {0x10CC0, 0x10CF2}, {0x118A0, 0x118DF}, {0x1E900, 0x1E943},
};

static const cp_range llm_punct[] = {
  {0x21, 0x2F}, {0x3A, 0x7E}, {0x2018, 0x201F}, {0x3000, 0x3002}, {0xFF01, 0xFF0F}, {0xFF1A, 0xFF5E},
};

static bool in_ranges(const cp_range *r, size_t n, uint32_t c)
{
  size_t lo = 0, hi = n;
  while (lo < hi) {
    size_t mid = (lo + hi) / 2;
    if (r[mid].hi < c) lo = mid + 1;
    else hi = mid;
  }
  return lo < n && r[lo].lo <= c;
}

static bool is_llm_letter(uint32_t c) { return in_ranges(llm_letters, DS_ARRAY_LEN(llm_letters), c); }
static bool is_llm_punct(uint32_t c) { return in_ranges(llm_punct, DS_ARRAY_LEN(llm_punct), c); }
static bool is_llm_cjk(uint32_t c) { return (c >= 0x0800 && c <= 0x9FA5) || (c >= 0xAC00 && c <= 0xD7FF); }

static size_t match_crlf(const subject *s, size_t i, size_t *skip) { (void)skip; return is_crlf(s->cps[i]); }

/* \s?[set]+ : the optional whitespace only if the set follows it */
static size_t ws_opt_then_run(const subject *s, size_t i, bool (*in)(uint32_t))
{
  size_t k = ((s->flags[i] & WS) && i + 1 < s->end && in(s->cps[i + 1])) ? i + 1 : i;
  if (!in(s->cps[k])) return 0;
  size_t j = k + 1;
  while (j < s->end && in(s->cps[j])) j++;
  return j - i;
}

static size_t match_llm_letters(const subject *s, size_t i, size_t *skip) { (void)skip; return ws_opt_then_run(s, i, is_llm_letter); }
static size_t match_llm_punct(const subject *s, size_t i, size_t *skip) { (void)skip; return ws_opt_then_run(s, i, is_llm_punct); }

/* \s+$ : a whitespace run that reaches the end of the subject; a run that
 * does not fails at each of its positions. */
static size_t match_ws_at_end(const subject *s, size_t i, size_t *skip)
{
  size_t j = run_flags(s, i, WS);
  if (j == i) return 0;
  if (j == s->end) return j - i;
  *skip = j - i;
  return 0;
}

static size_t match_llm_cjk(const subject *s, size_t i, size_t *skip)
{
  (void)skip;
  size_t j = i;
  while (j < s->end && is_llm_cjk(s->cps[j])) j++;
  return j - i;
}

static size_t match_digits(const subject *s, size_t i, size_t *skip) { (void)skip; return run_flags(s, i, DS_UC_N) - i; }
static size_t match_digit(const subject *s, size_t i, size_t *skip) { (void)skip; return (s->flags[i] & DS_UC_N) ? 1 : 0; }

static size_t match_ws_opt_letters(const subject *s, size_t i, size_t *skip)
{
  (void)skip;
  size_t k = ((s->flags[i] & WS) && i + 1 < s->end && (s->flags[i + 1] & DS_UC_L)) ? i + 1 : i;
  return (s->flags[k] & DS_UC_L) ? run_flags(s, k + 1, DS_UC_L) - i : 0;
}

static size_t match_ws_opt_punct(const subject *s, size_t i, size_t *skip)
{
  (void)skip;
  size_t k = ((s->flags[i] & WS) && i + 1 < s->end && (s->flags[i + 1] & DS_UC_P)) ? i + 1 : i;
  return (s->flags[k] & DS_UC_P) ? run_flags(s, k + 1, DS_UC_P) - i : 0;
}

/* ---- llama.cpp "gpt-2" and "default" ----------------------------------------------------
 * llama.cpp's src/llama-vocab.cpp (llm_tokenizer_bpe), for a GGUF whose
 * tokenizer.ggml.pre is "gpt-2" (and the names it maps there):
 *     's|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)
 * and for "default" (what its converter writes for an unknown tokenizer, and
 * what it assumes when the key is missing) four Splits in sequence:
 *     [\p{P}\$\+<=>\^~\|]+ ; the GPT-2 regex ; \p{N}+ ; [0-9][0-9][0-9]
 * The contractions are case-sensitive here (no (?i:...)). */

static size_t match_gpt2(const subject *s, size_t i, size_t *skip)
{
  (void)skip;
  const uint32_t *c = s->cps;
  const uint8_t *f = s->flags;
  size_t end = s->end;
  if (c[i] == '\'' && i + 1 < end) {
    uint32_t a = c[i + 1], b = i + 2 < end ? c[i + 2] : 0;
    if (a == 's' || a == 't' || a == 'm' || a == 'd') return 2;
    if (((a == 'r' || a == 'v') && b == 'e') || (a == 'l' && b == 'l')) return 3;
  }
  /*  ?\p{L}+ |  ?\p{N}+ |  ?[^\s\p{L}\p{N}]+ : the three classes split every
   * non-space character, so the optional space is taken whenever one follows */
  size_t k = (c[i] == ' ' && i + 1 < end && !(f[i + 1] & WS)) ? i + 1 : i;
  if (!(f[k] & WS)) {
    unsigned cls = f[k] & (DS_UC_L | DS_UC_N);
    size_t j = k + 1;
    if (cls) j = run_flags(s, j, cls);
    else
      while (j < end && !(f[j] & (WS | DS_UC_L | DS_UC_N))) j++;
    return j - i;
  }
  /* \s+(?!\S): the whole run at the end of the subject, else all but its last
   * character when that leaves one (a lone space before \S matches nothing) */
  size_t j = run_flags(s, i, WS);
  if (j == end) return j - i;
  return j - i >= 2 ? j - 1 - i : 0;
}

static bool is_default_punct(const subject *s, size_t k)
{
  uint32_t c = s->cps[k];
  return (s->flags[k] & DS_UC_P) || c == '$' || c == '+' || c == '<' || c == '=' || c == '>' || c == '^' ||
         c == '~' || c == '|';
}

static size_t match_default_punct(const subject *s, size_t i, size_t *skip)
{
  (void)skip;
  size_t j = i;
  while (j < s->end && is_default_punct(s, j)) j++;
  return j - i;
}

static size_t match_ascii_digits_3(const subject *s, size_t i, size_t *skip)
{
  (void)skip;
  if (i + 3 > s->end) return 0;
  for (size_t k = i; k < i + 3; k++)
    if (s->cps[k] < '0' || s->cps[k] > '9') return 0;
  return 3;
}

/* ---- the sequences --------------------------------------------------------------------- */

typedef struct pretok_def {
  ds_pretok_kind kind;
  matcher steps[DS_PRETOK_MAX_SPLITS];
  size_t n_steps;
} pretok_def;

static const pretok_def defs[] = {
  {DS_PRETOK_DEEPSEEK_V3, {match_digits_1_3, match_v3_cjk, match_v3_main}, 3},
  {DS_PRETOK_QWEN2, {match_qwen2}, 1},
  {DS_PRETOK_LLAMA3, {match_llama3}, 1},
  {DS_PRETOK_DEEPSEEK_LLM, {match_crlf, match_llm_letters, match_llm_punct, match_ws_at_end, match_llm_cjk, match_digits}, 6},
  {DS_PRETOK_DEEPSEEK_CODER, {match_crlf, match_ws_opt_letters, match_ws_opt_punct, match_llm_cjk, match_digit}, 5},
  {DS_PRETOK_DEFAULT, {match_default_punct, match_gpt2, match_digits, match_ascii_digits_3}, 4},
  {DS_PRETOK_GPT2, {match_gpt2}, 1},
};

static void split_step(matcher m, const uint32_t *cps, const uint8_t *flags, size_t n, bool *cut)
{
  size_t start = 0;
  while (start < n) {
    size_t end = start + 1;
    while (end < n && !cut[end]) end++;
    subject s = {cps, flags, end};
    for (size_t i = start; i < end;) {
      size_t skip = 1, len = m(&s, i, &skip);
      if (len) {
        cut[i] = cut[i + len] = true;
        i += len;
      } else {
        i += skip;
      }
    }
    start = end;
  }
}

void ds_pretok_split(ds_pretok_kind kind, const uint32_t *cps, const uint8_t *flags, size_t n, bool *cut)
{
  cut[0] = cut[n] = true;
  for (size_t d = 0; d < DS_ARRAY_LEN(defs); d++) {
    if (defs[d].kind != kind) continue;
    for (size_t k = 0; k < defs[d].n_steps; k++) split_step(defs[d].steps[k], cps, flags, n, cut);
  }
}

/* ---- recognising a tokenizer's regexes ---------------------------------------------------- */

/* The patterns as they are after JSON decoding (UTF-8, real CR/LF where the
 * JSON has \r \n escapes; regex escapes as backslashes). */
static const char v3_p1[] = "\\p{N}{1,3}";
static const char v3_p2[] = "[\xE4\xB8\x80-\xE9\xBE\xA5\xE3\x81\x80-\xE3\x82\x9F\xE3\x82\xA0-\xE3\x83\xBF]+";
static const char v3_p3[] =
  "[!\"#$%&'()*+,\\-./:;<=>?@\\[\\\\\\]^_`{|}~][A-Za-z]+|[^\r\n\\p{L}\\p{P}\\p{S}]?[\\p{L}\\p{M}]+|"
  " ?[\\p{P}\\p{S}]+[\r\n]*|\\s*[\r\n]+|\\s+(?!\\S)|\\s+";
static const char qwen2_p[] =
  "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|"
  "\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+";
static const char llama3_p[] =
  "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}{1,3}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|"
  "\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+";

bool ds_pretok_from_patterns(const char *const *patterns, size_t n, ds_pretok_kind *kind)
{
  static const struct { ds_pretok_kind kind; const char *p[3]; size_t n; } known[] = {
    {DS_PRETOK_DEEPSEEK_V3, {v3_p1, v3_p2, v3_p3}, 3},
    {DS_PRETOK_QWEN2, {qwen2_p}, 1},
    {DS_PRETOK_LLAMA3, {llama3_p}, 1},
  };
  for (size_t k = 0; k < DS_ARRAY_LEN(known); k++) {
    if (known[k].n != n) continue;
    size_t j = 0;
    while (j < n && strcmp(patterns[j], known[k].p[j]) == 0) j++;
    if (j == n) { *kind = known[k].kind; return true; }
  }
  return false;
}

bool ds_pretok_from_name(const char *name, ds_pretok_kind *kind)
{
  static const struct { const char *name; ds_pretok_kind kind; } names[] = {
    {"deepseek-v3", DS_PRETOK_DEEPSEEK_V3},     {"deepseek-r1-qwen", DS_PRETOK_QWEN2},
    {"qwen2", DS_PRETOK_QWEN2},                 {"llama-bpe", DS_PRETOK_LLAMA3},
    {"llama3", DS_PRETOK_LLAMA3},               {"deepseek-llm", DS_PRETOK_DEEPSEEK_LLM},
    {"deepseek-coder", DS_PRETOK_DEEPSEEK_CODER}, {"default", DS_PRETOK_DEFAULT},
    {"gpt-2", DS_PRETOK_GPT2},                  {"gpt2", DS_PRETOK_GPT2},
  };
  for (size_t k = 0; k < DS_ARRAY_LEN(names); k++)
    if (strcmp(name, names[k].name) == 0) { *kind = names[k].kind; return true; }
  return false;
}
