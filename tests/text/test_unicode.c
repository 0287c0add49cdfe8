/* test_unicode.c — class flags as Oniguruma sees them (values from
 * lib/text/README.md §4 and the Unicode standard), NFC (decomposition, reordering,
 * composition, exclusions, Hangul) and UTF-8 helpers. */
#include "harness.h"
#include "text/unicode.h"

#include <stdlib.h>

static void test_classes(void)
{
  /* \s = White_Space */
  const uint32_t ws[] = {0x09, 0x0A, 0x0B, 0x0C, 0x0D, 0x20, 0x85, 0xA0, 0x1680, 0x2000, 0x200A,
                         0x2028, 0x2029, 0x202F, 0x205F, 0x3000};
  for (size_t k = 0; k < DS_ARRAY_LEN(ws); k++) CHECK_MSG(ds_uc_flags(ws[k]) & DS_UC_WHITE_SPACE, "U+%04X", (unsigned)ws[k]);
  const uint32_t not_ws[] = {0xFEFF, 0x200B, 0x200C, 0x200D, 0x2060, 0x1C, 0x00, 'a'};
  for (size_t k = 0; k < DS_ARRAY_LEN(not_ws); k++) CHECK_MSG(!(ds_uc_flags(not_ws[k]) & DS_UC_WHITE_SPACE), "U+%04X", (unsigned)not_ws[k]);
  struct { uint32_t cp; unsigned flags; } c[] = {
    {'A', DS_UC_L}, {'z', DS_UC_L}, {0xAA, DS_UC_L}, {0x4E00, DS_UC_L}, {0x3042, DS_UC_L}, {0xAC00, DS_UC_L},
    {0x20000, DS_UC_L},                                   /* CJK Ext-B (a range in UnicodeData) */
    {'0', DS_UC_N}, {0xB2, DS_UC_N}, {0xBD, DS_UC_N}, {0x216B, DS_UC_N}, {0x2460, DS_UC_N}, {0x0663, DS_UC_N},
    {0xFF10, DS_UC_N},
    {0x0301, DS_UC_M}, {0xFE0F, DS_UC_M}, {0x20E3, DS_UC_M}, {0x093C, DS_UC_M},
    {'!', DS_UC_P}, {'_', DS_UC_P}, {'(', DS_UC_P}, {0xAB, DS_UC_P}, {0x3002, DS_UC_P}, {0x2018, DS_UC_P},
    {'$', DS_UC_S}, {'+', DS_UC_S}, {'^', DS_UC_S}, {'`', DS_UC_S}, {'|', DS_UC_S}, {0x1F600, DS_UC_S},
    {0x1F3FB, DS_UC_S}, {0xFF5E, DS_UC_S},
    {' ', DS_UC_Z | DS_UC_WHITE_SPACE}, {0x3000, DS_UC_Z | DS_UC_WHITE_SPACE},
    {0x200D, 0}, {0xFEFF, 0}, {0xE000, 0}, {0xFFFF, 0}, {0x10FFFF, 0}, {0x0378, 0}, {0x7F, 0},
  };
  for (size_t k = 0; k < DS_ARRAY_LEN(c); k++)
    CHECK_MSG(ds_uc_flags(c[k].cp) == c[k].flags, "U+%04X: flags %u, want %u", (unsigned)c[k].cp,
              ds_uc_flags(c[k].cp), c[k].flags);
  CHECK_EQ_INT(ds_uc_ccc(0x0301), 230);
  CHECK_EQ_INT(ds_uc_ccc(0x0316), 220);
  CHECK_EQ_INT(ds_uc_ccc(0x093C), 7);
  CHECK_EQ_INT(ds_uc_ccc('a'), 0);
}

static void check_nfc(const char *in, const char *want)
{
  char *out = NULL;
  size_t len = 0;
  CHECK_EQ_INT(ds_nfc(in, strlen(in), &out, &len), DSEEK_OK);
  CHECK_MSG(out && len == strlen(want) && memcmp(out, want, len) == 0, "NFC(\"%s\") = \"%s\"", in, out ? out : "");
  ds_free(out);
}

static void test_nfc(void)
{
  check_nfc("", "");
  check_nfc("plain ascii", "plain ascii");
  check_nfc("cafe\xCC\x81", "caf\xC3\xA9");               /* e + acute -> é */
  check_nfc("caf\xC3\xA9", "caf\xC3\xA9");
  check_nfc("\xE2\x84\xAB", "\xC3\x85");                   /* U+212B ANGSTROM -> U+00C5 (singleton) */
  check_nfc("\xEF\xA4\x80", "\xE8\xB1\x88");               /* U+F900 -> U+8C48 */
  check_nfc("\xE0\xA5\x98", "\xE0\xA4\x95\xE0\xA4\xBC");   /* U+0958 -> U+0915 U+093C (exclusion) */
  check_nfc("a\xCC\x81\xCC\x96", "\xC3\xA1\xCC\x96");      /* a 0301 0316 -> reorder -> á 0316 */
  check_nfc("a\xCC\x96\xCC\x81", "\xC3\xA1\xCC\x96");
  check_nfc("\xE1\x84\x80\xE1\x85\xA1", "\xEA\xB0\x80");   /* Hangul L V -> U+AC00 */
  check_nfc("\xE1\x84\x80\xE1\x85\xA1\xE1\x86\xA8", "\xEA\xB0\x81");   /* L V T -> U+AC01 */
  check_nfc("\xEA\xB0\x81", "\xEA\xB0\x81");
  check_nfc("\xE1\xBA\xA5", "\xE1\xBA\xA5");               /* U+1EA5 stays composed */
  check_nfc("a\xCC\x82\xCC\x81", "\xE1\xBA\xA5");          /* a 0302 0301 -> U+1EA5 (two steps) */
  check_nfc("\xCC\x81" "a", "\xCC\x81" "a");               /* leading combining mark */
  check_nfc("e\xE2\x80\x8D\xCC\x81", "e\xE2\x80\x8D\xCC\x81");   /* a ZWJ (starter) blocks */
  check_nfc("\xF0\x9D\x85\x9E", "\xF0\x9D\x85\x97\xF0\x9D\x85\xA5");   /* U+1D15E excluded -> decomposed */
  CHECK(ds_nfc_quick_yes("abc \xC3\xA9", 6));
  CHECK(!ds_nfc_quick_yes("e\xCC\x81", 3));
}

static void test_utf8(void)
{
  char buf[4];
  uint32_t cps[] = {0, 0x7F, 0x80, 0x7FF, 0x800, 0xFFFF, 0x10000, 0x10FFFF};
  for (size_t k = 0; k < DS_ARRAY_LEN(cps); k++) {
    size_t n = ds_utf8_encode(cps[k], buf), m = 0;
    CHECK(ds_utf8_valid(buf, n));
    CHECK_EQ_INT(ds_utf8_decode((const uint8_t *)buf, &m), cps[k]);
    CHECK_EQ_INT(m, n);
    CHECK_EQ_INT(ds_utf8_len((uint8_t)buf[0]), n);
  }
}

int main(void)
{
  RUN(test_classes);
  RUN(test_nfc);
  RUN(test_utf8);
  return DS_TEST_RESULT();
}
