/* tok_cases.h — shared by the tokenizer tests: the data directory, reading
 * cases.jsonl and llama.cpp .inp/.out files, and checking one case (ids,
 * whole decode, token-by-token streaming decode). */
#ifndef DS_TEST_TOK_CASES_H
#define DS_TEST_TOK_CASES_H

#include "core/platform.h"
#include "formats/json.h"
#include "harness.h"
#include "text/vocab.h"

#include <stdlib.h>

static const char *data_dir(void)
{
  const char *d = getenv("DS_TOKENIZER_DATA");
  char probe[4096];
  if (!d) return NULL;
  snprintf(probe, sizeof probe, "%s/README.md", d);
  FILE *f = fopen(probe, "r");
  if (!f) return NULL;
  fclose(f);
  return d;
}

static char *hex_decode(const char *hex, size_t n, size_t *len)
{
  char *out = malloc(n / 2 + 1);
  for (size_t k = 0; k < n / 2; k++) {
    unsigned b = 0;
    sscanf(hex + 2 * k, "%2x", &b);
    out[k] = (char)b;
  }
  *len = n / 2;
  out[*len] = 0;
  return out;
}

/* Decode ids with ds_detokenize and with the stream; both must equal want. */
static bool check_decode(const ds_vocab *v, const int32_t *ids, int64_t n, const char *want, size_t want_len,
                         const char *label)
{
  size_t len = 0;
  bool ok = true;
  dseek_status st = ds_detokenize(v, ids, n, NULL, 0, &len);
  CHECK(st == DSEEK_OK || st == DSEEK_ERR_BUFFER_TOO_SMALL);
  char *text = malloc(len + 1);
  st = ds_detokenize(v, ids, n, text, len + 1, &len);
  if (st || len != want_len || memcmp(text, want, len) != 0) {
    fprintf(stderr, "  %s: decode differs (%zu vs %zu bytes)\n", label, len, want_len);
    ok = false;
  }
  /* streaming, token by token */
  ds_detok_stream s;
  ds_detok_stream_init(&s);
  char *acc = malloc(3 * want_len + 3 * (size_t)n * 64 + 16);
  size_t o = 0;
  for (int64_t k = 0; k < n; k++) {
    const char *t;
    size_t l;
    if (ds_detok_stream_push(&s, v, ids[k], &t, &l)) { ok = false; break; }
    if (!ds_utf8_valid(t, l)) ok = false;   /* only complete sequences come out */
    memcpy(acc + o, t, l);
    o += l;
  }
  const char *t;
  size_t l;
  ds_detok_stream_flush(&s, &t, &l);
  memcpy(acc + o, t, l);
  o += l;
  ds_detok_stream_free(&s);
  if (o != len || memcmp(acc, text, len) != 0) {
    fprintf(stderr, "  %s: streamed decode differs from the whole decode\n", label);
    ok = false;
  }
  free(acc);
  free(text);
  return ok;
}

static bool ids_equal(const int32_t *got, int64_t n_got, const ds_json_value *want)
{
  if (ds_json_len(want) != n_got) return false;
  for (int64_t k = 0; k < n_got; k++) {
    int64_t id;
    if (!ds_json_int(ds_json_at(want, k), &id) || id != got[k]) return false;
  }
  return true;
}

static void print_ids(const char *label, const int32_t *ids, int64_t n)
{
  fprintf(stderr, "    %s:", label);
  for (int64_t k = 0; k < n && k < 40; k++) fprintf(stderr, " %d", (int)ids[k]);
  fprintf(stderr, n > 40 ? " ...\n" : "\n");
}

/* Every line of a cases.jsonl file against v; returns the number that pass. */
static int run_cases_file(const ds_vocab *v, const char *path, int *n_cases)
{
  ds_file f;
  *n_cases = 0;
  if (ds_file_open(path, false, &f)) { CHECK_MSG(0, "%s: %s", path, dseek_last_error()); return 0; }
  int pass = 0, line_no = 0;
  const char *p = (const char *)f.data, *end = p + f.size;
  while (p < end) {
    const char *nl = memchr(p, '\n', (size_t)(end - p));
    if (!nl) nl = end;
    line_no++;
    if (nl == p) { p = nl + 1; continue; }
    ds_json *doc = NULL;
    if (ds_json_parse(p, (size_t)(nl - p), path, &doc)) {
      CHECK_MSG(0, "%s line %d: %s", path, line_no, dseek_last_error());
      p = nl + 1;
      continue;
    }
    const ds_json_value *c = ds_json_root(doc);
    const char *hex;
    size_t hex_len, len;
    bool special = true, roundtrip = true;
    ds_json_str(ds_json_get(c, "text_hex"), &hex, &hex_len);
    ds_json_bool(ds_json_get(c, "special"), &special);
    ds_json_bool(ds_json_get(c, "roundtrip"), &roundtrip);
    char *text = hex_decode(hex, hex_len, &len);
    int64_t n = 0;
    dseek_status st = ds_tokenize(v, text, len, false, special, NULL, 0, &n);
    int32_t *ids = malloc(sizeof *ids * (size_t)(n + 1));
    if (st == DSEEK_OK || st == DSEEK_ERR_BUFFER_TOO_SMALL) st = ds_tokenize(v, text, len, false, special, ids, n, &n);
    (*n_cases)++;
    char label[64];
    snprintf(label, sizeof label, "line %d", line_no);
    bool ok = st == DSEEK_OK && ids_equal(ids, n, ds_json_get(c, "ids"));
    if (!ok) {
      fprintf(stderr, "  %s %s (special=%d): ids differ for \"%.60s\"\n", path, label, special, text);
      if (!st) print_ids("got ", ids, n);
    } else {
      const char *want = text;
      size_t want_len = len;
      if (!roundtrip) ds_json_str(ds_json_get(c, "decoded"), &want, &want_len);
      ok = check_decode(v, ids, n, want, want_len, label);
    }
    pass += ok;
    free(ids);
    free(text);
    ds_json_free(doc);
    p = nl + 1;
  }
  ds_file_close(&f);
  return pass;
}

/* llama.cpp's <name>.inp / <name>.out pair against v (special off, no BOS). */
static int run_inp_out(const ds_vocab *v, const char *inp_path, const char *out_path, int *n_cases)
{
  ds_file in, out;
  *n_cases = 0;
  if (ds_file_open(inp_path, false, &in)) { CHECK_MSG(0, "%s", dseek_last_error()); return 0; }
  if (ds_file_open(out_path, false, &out)) { ds_file_close(&in); CHECK_MSG(0, "%s", dseek_last_error()); return 0; }
  static const char sep[] = "\n__ggml_vocab_test__\n";
  const char *p = (const char *)in.data, *end = p + in.size;
  const char *q = (const char *)out.data, *qend = q + out.size;
  int pass = 0;
  while (p < end) {
    const char *s = NULL;
    for (const char *x = p; x + sizeof sep - 1 <= end; x++)
      if (memcmp(x, sep, sizeof sep - 1) == 0) { s = x; break; }
    if (!s) break;
    const char *nl = memchr(q, '\n', (size_t)(qend - q));
    if (!nl) nl = qend;
    /* expected ids: " 1 2 3" */
    int32_t want[4096];
    int64_t n_want = 0;
    for (const char *t = q; t < nl && n_want < 4096;) {
      char *e;
      long id = strtol(t, &e, 10);
      if (e == t) break;
      want[n_want++] = (int32_t)id;
      t = e;
    }
    int32_t got[4096];
    int64_t n = 0;
    dseek_status st = ds_tokenize(v, p, (size_t)(s - p), false, false, got, 4096, &n);
    (*n_cases)++;
    bool ok = st == DSEEK_OK && n == n_want && memcmp(got, want, (size_t)n * sizeof *got) == 0;
    if (!ok) {
      fprintf(stderr, "  %s case %d: ids differ for \"%.*s\"\n", inp_path, *n_cases, (int)DS_MIN(s - p, 60), p);
      print_ids("want", want, n_want);
      if (!st) print_ids("got ", got, n);
    }
    pass += ok;
    p = s + sizeof sep - 1;
    q = nl < qend ? nl + 1 : qend;
  }
  ds_file_close(&in);
  ds_file_close(&out);
  return pass;
}

#endif
