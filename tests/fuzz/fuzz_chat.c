/* fuzz_chat.c — chat rendering of arbitrary conversations, tool calls
 * included, with every template kind dseek recognises. Each kind is a
 * vocab-only model whose tokenizer_config.json carries the published template:
 *
 *   kind  template (family)                                    tokenizer.json
 *   0     tests/data/tokenizers/deepseek_r1 (R1, <think> prompt)  its own
 *   1     deepseek_v3 (V3)                                        its own
 *   2     deepseek_r1_distill_qwen (R1, Qwen vocabulary)          its own
 *   3     tests/data/chat_templates/deepseek-r1-0528-qwen3-8b.jinja (R1-0528)  deepseek_r1's
 *   4     tests/data/chat_templates/deepseek-v3-0324.jinja (V3-0324)           deepseek_v3's
 *
 * Kinds 3 and 4 are model directories written at start-up in the fuzz
 * directory: a link to the tokenizer.json and a tokenizer_config.json with
 * the template and DeepSeek's BOS/EOS texts. Start-up checks that every kind
 * is detected as the family above.
 *
 * Input:
 *   flags byte: bit 0 add_generation_prompt, (value >> 1) % 5 the kind
 *   then messages separated by 0x1E, each a role byte and fields separated by
 *   0x1F: the content, then (name, arguments) pairs, the message's tool calls
 *   role byte: value % 6 picks system, user, assistant, tool, or one of two
 *   unknown roles; (value / 6) & 1: the content is none (NULL);
 *   (value / 12) & 1: the calls' type is "function" (else NULL, the default)
 *
 * Unknown roles, and none contents other than an assistant's that calls
 * tools, must be refused with DSEEK_ERR_INVALID_ARG, everything else rendered.
 * Checked: the size query, the exact-size render, the NUL terminator, one byte
 * short; without calls dseek_chat_render gives the same text; user contents
 * appear verbatim (every template keeps them), and so do the names and
 * arguments of the calls every template renders (an assistant's with a none
 * content; R1-0528 and V3-0324 render every assistant's calls); rendered
 * valid UTF-8 must tokenize. */
#define _XOPEN_SOURCE 700   /* realpath, symlink */
#include "fuzz.h"
#include "dseek.h"
#include "core/ds.h"
#include "core/platform.h"
#include "models/model.h"

#include <errno.h>
#include <limits.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define MAX_MESSAGES 64
#define MAX_CALLS 128
#define N_KINDS 5

static const struct kind {
  const char *tokenizer;   /* directory in DSEEK_FUZZ_TOKENIZERS */
  const char *template;    /* file in DSEEK_FUZZ_CHAT_TEMPLATES, NULL: the tokenizer's own */
  ds_chat_family family;
} kinds[N_KINDS] = {
  {"deepseek_r1", NULL, DS_CHAT_DEEPSEEK_R1},
  {"deepseek_v3", NULL, DS_CHAT_DEEPSEEK_V3},
  {"deepseek_r1_distill_qwen", NULL, DS_CHAT_DEEPSEEK_R1},
  {"deepseek_r1", "deepseek-r1-0528-qwen3-8b.jinja", DS_CHAT_DEEPSEEK_R1_0528},
  {"deepseek_v3", "deepseek-v3-0324.jinja", DS_CHAT_DEEPSEEK_V3_0324},
};

static dseek_model *models[N_KINDS];

/* A JSON string literal of s[0, n) (the template's quotes, backslashes and
 * newlines escaped). */
static void put_json_string(FILE *f, const char *s, size_t n)
{
  fputc('"', f);
  for (size_t i = 0; i < n; i++) {
    unsigned char c = (unsigned char)s[i];
    if (c == '"' || c == '\\') fprintf(f, "\\%c", c);
    else if (c < 0x20) fprintf(f, "\\u%04x", c);
    else fputc(c, f);
  }
  fputc('"', f);
}

/* A model directory with the tokenizer of k and the template file of k. */
static const char *write_model_dir(int i, const struct kind *k)
{
  char name[32], real[PATH_MAX], link_path[600], config[600];
  snprintf(name, sizeof name, "kind%d", i);
  const char *dir = fuzz_path(name);
  if (mkdir(dir, 0700) != 0 && errno != EEXIST) fuzz_skip("cannot create a model directory");
  ds_file tmpl = {0};
  if (ds_file_open(fuzz_fixture("DSEEK_FUZZ_CHAT_TEMPLATES", k->template), false, &tmpl)) fuzz_skip(dseek_last_error());
  const char *tok = fuzz_fixture("DSEEK_FUZZ_TOKENIZERS", k->tokenizer);
  char tok_json[600];
  snprintf(tok_json, sizeof tok_json, "%s/tokenizer.json", tok);
  snprintf(link_path, sizeof link_path, "%s/tokenizer.json", dir);
  snprintf(config, sizeof config, "%s/tokenizer_config.json", dir);
  FILE *f = realpath(tok_json, real) && symlink(real, link_path) == 0 ? fopen(config, "wb") : NULL;
  if (!f) fuzz_skip("cannot write a model directory");
  fputs("{\"add_bos_token\": true, \"bos_token\": \"<\xEF\xBD\x9C" "begin\xE2\x96\x81of\xE2\x96\x81sentence"
        "\xEF\xBD\x9C>\", \"eos_token\": \"<\xEF\xBD\x9C" "end\xE2\x96\x81of\xE2\x96\x81sentence\xEF\xBD\x9C>\", "
        "\"chat_template\": ", f);
  put_json_string(f, (const char *)tmpl.data, (size_t)tmpl.size);
  fputs("}\n", f);
  if (fclose(f) != 0) fuzz_skip("cannot write a model directory");
  ds_file_close(&tmpl);
  return dir;
}

static void init(void)
{
  dseek_model_options mo;
  dseek_model_options_init(&mo, sizeof mo);
  mo.vocab_only = 1;
  for (int i = 0; i < N_KINDS; i++) {
    const struct kind *k = &kinds[i];
    const char *dir = k->template ? write_model_dir(i, k) : fuzz_fixture("DSEEK_FUZZ_TOKENIZERS", k->tokenizer);
    if (dseek_model_load(dir, &mo, &models[i]) != DSEEK_OK) {
      fprintf(stderr, "fuzz_chat: %s\n", dseek_last_error());
      fuzz_skip("a tokenizer does not load");
    }
    FUZZ_ASSERT(models[i]->has_chat && models[i]->chat.family == k->family && models[i]->chat.tool_calls,
                "kind %d: template detected as family %d, expected %d", i, (int)models[i]->chat.family,
                (int)k->family);
  }
}

/* One parsed input. */
struct conversation {
  dseek_chat_message msgs[MAX_MESSAGES];
  const dseek_chat_message *msg_ptrs[MAX_MESSAGES];
  const char *roles[MAX_MESSAGES], *contents[MAX_MESSAGES];
  dseek_tool_call calls[MAX_CALLS];
  const dseek_tool_call *call_ptrs[MAX_CALLS];
  int64_t n, n_calls;
  int must_fail, valid_utf8;
};

/* The calls of one message: (name, arguments) pairs from the 0x1F-separated
 * fields after its content (a name without arguments gets ""). */
static void parse_calls(struct conversation *cv, dseek_chat_message *m, char *p, char *end, const char *type)
{
  m->tool_calls = cv->call_ptrs + cv->n_calls;
  while (p < end && cv->n_calls < MAX_CALLS) {
    char *sep = memchr(p, 0x1F, (size_t)(end - p));
    if (sep) *sep = '\0';
    char *args = sep ? sep + 1 : end;
    char *next = args < end ? memchr(args, 0x1F, (size_t)(end - args)) : NULL;
    if (next) *next = '\0';
    dseek_tool_call *c = &cv->calls[cv->n_calls];
    *c = (dseek_tool_call){sizeof *c, type, p, args < end ? args : ""};
    cv->call_ptrs[cv->n_calls++] = c;
    m->n_tool_calls++;
    if (!ds_utf8_valid(c->name, strlen(c->name)) || !ds_utf8_valid(c->arguments, strlen(c->arguments)))
      cv->valid_utf8 = 0;
    if (!next) break;
    p = next + 1;
  }
}

static void parse(struct conversation *cv, char *copy, size_t size)
{
  static const char *const role_names[6] = {"system", "user", "assistant", "tool", "User", ""};
  char *p = copy, *end = copy + size;
  cv->valid_utf8 = 1;
  while (p < end && cv->n < MAX_MESSAGES) {
    char *sep = memchr(p, 0x1E, (size_t)(end - p));
    char *msg_end = sep ? sep : end;
    if (sep) *sep = '\0';
    size_t n = (size_t)(msg_end - p);   /* the role byte and the body */
    unsigned r = n ? (unsigned char)p[0] : 0;
    char *body = n ? p + 1 : p;
    char *fields = n > 1 ? memchr(body, 0x1F, n - 1) : NULL;
    if (fields) *fields = '\0';
    dseek_chat_message *m = &cv->msgs[cv->n];
    *m = (dseek_chat_message){sizeof *m, role_names[r % 6], (r / 6) & 1 ? NULL : body, NULL, 0};
    if (fields) parse_calls(cv, m, fields + 1, msg_end, (r / 12) & 1 ? "function" : NULL);
    bool calls_only = r % 6 == 2 && m->n_tool_calls > 0;
    if (r % 6 >= 4 || (!m->content && !calls_only)) cv->must_fail = 1;
    if (!ds_utf8_valid(body, strlen(body))) cv->valid_utf8 = 0;
    cv->roles[cv->n] = m->role;
    cv->contents[cv->n] = m->content;
    cv->msg_ptrs[cv->n] = m;
    cv->n++;
    if (!sep) break;
    p = sep + 1;
  }
}

/* What every template keeps verbatim: user contents and the calls it renders. */
static void check_kept(const struct conversation *cv, int kind, const char *text)
{
  bool all_calls = kinds[kind].family == DS_CHAT_DEEPSEEK_R1_0528 || kinds[kind].family == DS_CHAT_DEEPSEEK_V3_0324;
  for (int64_t i = 0; i < cv->n; i++) {
    const dseek_chat_message *m = &cv->msgs[i];
    if (!strcmp(m->role, "user"))
      FUZZ_ASSERT(strstr(text, m->content) != NULL, "kind %d: user message %lld lost", kind, (long long)i);
    if (strcmp(m->role, "assistant") || (m->content && !all_calls)) continue;
    for (int64_t j = 0; j < m->n_tool_calls; j++)
      FUZZ_ASSERT(strstr(text, m->tool_calls[j]->name) && strstr(text, m->tool_calls[j]->arguments),
                  "kind %d: message %lld, call %lld lost", kind, (long long)i, (long long)j);
  }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
  if (!models[0]) init();
  if (size < 1) return 0;
  int kind = (data[0] >> 1) % N_KINDS, add_gen = data[0] & 1;
  dseek_model *model = models[kind];
  char *copy = fuzz_cstr(data + 1, size - 1);   /* fields end at a NUL, 0x1E or 0x1F */
  struct conversation *cv = calloc(1, sizeof *cv);
  if (!cv) exit(2);
  parse(cv, copy, size - 1);

  size_t need = 0;
  dseek_status st = dseek_chat_render_messages(model, cv->msg_ptrs, cv->n, add_gen, NULL, 0, &need);
  if (cv->must_fail) {
    FUZZ_ASSERT(st == DSEEK_ERR_INVALID_ARG, "kind %d: a bad role or none content gave status %d", kind, (int)st);
  } else {
    FUZZ_ASSERT(st == DSEEK_ERR_BUFFER_TOO_SMALL, "kind %d: size query: %d %s", kind, (int)st, dseek_last_error());
    fuzz_accepted();
    char *text = malloc(need + 1);
    size_t len = 0;
    st = dseek_chat_render_messages(model, cv->msg_ptrs, cv->n, add_gen, text, need + 1, &len);
    FUZZ_ASSERT(st == DSEEK_OK && len == need, "kind %d: render: %s (%zu vs %zu)", kind, dseek_last_error(), len,
                need);
    FUZZ_ASSERT(text[len] == '\0', "not terminated");
    st = dseek_chat_render_messages(model, cv->msg_ptrs, cv->n, add_gen, text, need, &len);
    FUZZ_ASSERT(st == DSEEK_ERR_BUFFER_TOO_SMALL, "one byte short gave %d", (int)st);
    if (cv->n_calls == 0) {   /* the role/content form renders the same text */
      char *plain = malloc(need + 1);
      size_t plain_len = 0;
      st = dseek_chat_render(model, cv->roles, cv->contents, cv->n, add_gen, plain, need + 1, &plain_len);
      FUZZ_ASSERT(st == DSEEK_OK && plain_len == need && memcmp(plain, text, need) == 0,
                  "kind %d: dseek_chat_render differs from dseek_chat_render_messages", kind);
      free(plain);
    }
    check_kept(cv, kind, text);
    if (cv->valid_utf8) {
      FUZZ_ASSERT(ds_utf8_valid(text, len), "valid messages rendered as invalid UTF-8");
      int64_t k = 0;
      st = dseek_tokenize(model, text, len, 1, 1, NULL, 0, &k);
      FUZZ_ASSERT(st == DSEEK_OK || st == DSEEK_ERR_BUFFER_TOO_SMALL, "tokenize: %s", dseek_last_error());
    }
    free(text);
  }
  free(cv);
  free(copy);
  return 0;
}
