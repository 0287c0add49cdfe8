/*
 * vocab_hf.c — a ds_vocab from Hugging Face tokenizer.json (+ tokenizer_config.json).
 *
 * tokenizer.json fields read:
 *   model: {type "BPE", vocab {string: id}, merges ["a b", ...] or [["a","b"], ...],
 *           byte_fallback false, continuing_subword_prefix / end_of_word_suffix
 *           null or "", ignore_merges}
 *   added_tokens: [{id, content, special, lstrip, rstrip, single_word}]
 *   normalizer: null | NFC | Sequence of those (anything else is unsupported)
 *   pre_tokenizer: Sequence [Split{pattern.Regex, behavior "Isolated", invert
 *           false}..., ByteLevel{use_regex false}]; the Split patterns must be
 *           one of the known sets (pretok.h), compared byte for byte
 *   post_processor: TemplateProcessing whose "single" starts with a
 *           SpecialToken means that token is prepended as BOS
 * tokenizer_config.json: bos_token, eos_token, pad_token (string or
 *   {content}), add_bos_token, chat_template (string, or [{name, template}]
 *   where "default" is taken).
 */
#include "text/vocab_impl.h"

#include "core/platform.h"
#include "formats/json.h"
#include "text/pretok.h"

#include <stdio.h>
#include <string.h>

typedef struct hf_paths {
  char tok[4096], cfg[4096];
} hf_paths;

static dseek_status resolve_paths(const char *in, hf_paths *p)
{
  ds_path_kind kind = ds_path_kind_of(in);
  if (kind == DS_PATH_NONE) return ds_error(DSEEK_ERR_IO, "%s: no such file or directory", in);
  int n;
  if (kind == DS_PATH_DIR) {
    n = snprintf(p->tok, sizeof p->tok, "%s/tokenizer.json", in);
    snprintf(p->cfg, sizeof p->cfg, "%s/tokenizer_config.json", in);
  } else {
    n = snprintf(p->tok, sizeof p->tok, "%s", in);
    const char *slash = strrchr(in, '/');
    int dir_len = slash ? (int)(slash - in) : 1;
    snprintf(p->cfg, sizeof p->cfg, "%.*s/tokenizer_config.json", dir_len, slash ? in : ".");
  }
  if (n < 0 || (size_t)n >= sizeof p->tok) return ds_error(DSEEK_ERR_INVALID_ARG, "%s: path too long", in);
  return DSEEK_OK;
}

/* A token given as "text" or {"content": "text"}. */
static const ds_json_value *token_content(const ds_json_value *v)
{
  if (ds_json_is(v, DS_JSON_OBJECT)) v = ds_json_get(v, "content");
  return ds_json_is(v, DS_JSON_STRING) ? v : NULL;
}

static dseek_status check_model(const char *path, const ds_json_value *model, bool *ignore_merges)
{
  const char *s;
  const ds_json_value *type = ds_json_get(model, "type");
  if (type && (!ds_json_str(type, &s, NULL) || strcmp(s, "BPE") != 0))
    return ds_error(DSEEK_ERR_UNSUPPORTED, "%s: model.type '%s' is not supported (only byte-level BPE)", path,
                    ds_json_str(type, &s, NULL) ? s : ds_json_type_name(type));
  bool b = false;
  if (ds_json_bool(ds_json_get(model, "byte_fallback"), &b) && b)
    return ds_error(DSEEK_ERR_UNSUPPORTED, "%s: model.byte_fallback = true is not supported", path);
  const char *affixes[] = {"continuing_subword_prefix", "end_of_word_suffix"};
  for (size_t k = 0; k < 2; k++) {
    size_t n = 0;
    const ds_json_value *a = ds_json_get(model, affixes[k]);
    if (a && !ds_json_is(a, DS_JSON_NULL) && (!ds_json_str(a, &s, &n) || n != 0))
      return ds_error(DSEEK_ERR_UNSUPPORTED, "%s: model.%s is not supported", path, affixes[k]);
  }
  *ignore_merges = false;
  ds_json_bool(ds_json_get(model, "ignore_merges"), ignore_merges);
  if (!ds_json_is(ds_json_get(model, "vocab"), DS_JSON_OBJECT))
    return ds_error(DSEEK_ERR_FORMAT, "%s: model.vocab is %s, expected an object", path,
                    ds_json_type_name(ds_json_get(model, "vocab")));
  if (!ds_json_is(ds_json_get(model, "merges"), DS_JSON_ARRAY))
    return ds_error(DSEEK_ERR_FORMAT, "%s: model.merges is %s, expected an array", path,
                    ds_json_type_name(ds_json_get(model, "merges")));
  return DSEEK_OK;
}

static dseek_status read_normalizer(const char *path, const ds_json_value *n, bool *nfc)
{
  if (!n || ds_json_is(n, DS_JSON_NULL)) return DSEEK_OK;
  const char *type = "";
  ds_json_str(ds_json_get(n, "type"), &type, NULL);
  if (strcmp(type, "NFC") == 0) { *nfc = true; return DSEEK_OK; }
  if (strcmp(type, "Sequence") == 0) {
    const ds_json_value *list = ds_json_get(n, "normalizers");
    for (int64_t k = 0; k < ds_json_len(list); k++) {
      dseek_status st = read_normalizer(path, ds_json_at(list, k), nfc);
      if (st) return st;
    }
    return DSEEK_OK;
  }
  return ds_error(DSEEK_ERR_UNSUPPORTED, "%s: normalizer '%s' is not supported", path, type);
}

static dseek_status read_pre_tokenizer(const char *path, const ds_json_value *pt, ds_pretok_kind *kind)
{
  const char *type = "";
  ds_json_str(ds_json_get(pt, "type"), &type, NULL);
  if (strcmp(type, "Sequence") != 0)
    return ds_error(DSEEK_ERR_UNSUPPORTED, "%s: pre_tokenizer '%s' is not supported (expected a Sequence of Splits and ByteLevel)",
                    path, !pt || ds_json_is(pt, DS_JSON_NULL) ? "null" : type);
  const ds_json_value *list = ds_json_get(pt, "pretokenizers");
  const char *patterns[DS_PRETOK_MAX_SPLITS];
  size_t n_patterns = 0;
  bool byte_level = false;
  for (int64_t k = 0; k < ds_json_len(list); k++) {
    const ds_json_value *step = ds_json_at(list, k);
    const char *t = "", *s;
    ds_json_str(ds_json_get(step, "type"), &t, NULL);
    if (strcmp(t, "Split") == 0 && !byte_level) {
      bool invert = false;
      ds_json_bool(ds_json_get(step, "invert"), &invert);
      const char *behavior = "";
      ds_json_str(ds_json_get(step, "behavior"), &behavior, NULL);
      if (invert || strcmp(behavior, "Isolated") != 0)
        return ds_error(DSEEK_ERR_UNSUPPORTED, "%s: pre_tokenizer step %lld: Split with behavior '%s'%s is not supported",
                        path, (long long)k, behavior, invert ? " inverted" : "");
      if (!ds_json_str(ds_json_get(ds_json_get(step, "pattern"), "Regex"), &s, NULL))
        return ds_error(DSEEK_ERR_UNSUPPORTED, "%s: pre_tokenizer step %lld: Split needs pattern.Regex", path, (long long)k);
      if (n_patterns == DS_PRETOK_MAX_SPLITS)
        return ds_error(DSEEK_ERR_UNSUPPORTED, "%s: pre_tokenizer has more Splits than any known tokenizer", path);
      patterns[n_patterns++] = s;
    } else if (strcmp(t, "ByteLevel") == 0 && !byte_level) {
      bool use_regex = true, prefix = false;
      ds_json_bool(ds_json_get(step, "use_regex"), &use_regex);
      ds_json_bool(ds_json_get(step, "add_prefix_space"), &prefix);
      if (use_regex || prefix)
        return ds_error(DSEEK_ERR_UNSUPPORTED, "%s: pre_tokenizer ByteLevel with use_regex or add_prefix_space is not supported", path);
      byte_level = true;
    } else {
      return ds_error(DSEEK_ERR_UNSUPPORTED, "%s: pre_tokenizer step %lld ('%s') is not supported", path, (long long)k, t);
    }
  }
  if (!byte_level) return ds_error(DSEEK_ERR_UNSUPPORTED, "%s: pre_tokenizer has no ByteLevel step", path);
  if (!ds_pretok_from_patterns(patterns, n_patterns, kind))
    return ds_error(DSEEK_ERR_UNSUPPORTED, "%s: pre-tokenizer regex '%.80s'%s is not one dseek implements", path,
                    n_patterns ? patterns[n_patterns - 1] : "", n_patterns > 1 ? " (last of the sequence)" : "");
  return DSEEK_OK;
}

/* Vocabulary + added tokens -> tokens of v (created here). */
static dseek_status read_tokens(const char *path, const ds_json_value *root, ds_vocab **out)
{
  const ds_json_value *vocab = ds_json_get(ds_json_get(root, "model"), "vocab");
  const ds_json_value *added = ds_json_get(root, "added_tokens");
  if (added && !ds_json_is(added, DS_JSON_ARRAY))
    return ds_error(DSEEK_ERR_FORMAT, "%s: added_tokens is %s, expected an array", path, ds_json_type_name(added));
  int64_t max_id = -1, id;
  for (int64_t k = 0; k < vocab->n; k++) {
    const ds_json_member *m = &vocab->u.members[k];
    if (!ds_json_int(&m->value, &id) || id < 0 || id >= INT32_MAX / 2)
      return ds_error(DSEEK_ERR_FORMAT, "%s: model.vocab['%.64s'] is not a valid token id", path, m->key);
    max_id = DS_MAX(max_id, id);
  }
  for (int64_t k = 0; k < ds_json_len(added); k++) {
    const ds_json_value *a = ds_json_at(added, k);
    if (!ds_json_int(ds_json_get(a, "id"), &id) || id < 0 || id >= INT32_MAX / 2)
      return ds_error(DSEEK_ERR_FORMAT, "%s: added_tokens[%lld].id is missing or invalid", path, (long long)k);
    if (!ds_json_is(ds_json_get(a, "content"), DS_JSON_STRING))
      return ds_error(DSEEK_ERR_FORMAT, "%s: added_tokens[%lld].content is missing or not a string", path, (long long)k);
    max_id = DS_MAX(max_id, id);
  }
  if (max_id < 0) return ds_error(DSEEK_ERR_FORMAT, "%s: model.vocab is empty", path);
  /* Real vocabularies are dense (ids 0..n-1, at most a few holes). A few
   * listed ids up to 2^30 would make the table gigabytes from a small file. */
  int64_t n_listed = vocab->n + (added ? ds_json_len(added) : 0);
  if (max_id >= 2 * n_listed + 1024)
    return ds_error(DSEEK_ERR_FORMAT, "%s: token ids are sparse: highest id %lld for %lld listed tokens", path,
                    (long long)max_id, (long long)n_listed);
  ds_vocab *v;
  dseek_status st = ds_vocab_new(path, max_id + 1, &v);
  if (st) return st;
  for (int64_t k = 0; k < vocab->n && !st; k++) {
    const ds_json_member *m = &vocab->u.members[k];
    ds_json_int(&m->value, &id);
    if (v->tokens[id].type != DS_TOKEN_UNDEFINED)
      st = ds_error(DSEEK_ERR_FORMAT, "%s: model.vocab: id %lld is given twice", path, (long long)id);
    else
      st = ds_vocab_set_token(v, id, m->key, m->key_len, DS_TOKEN_NORMAL, false);
  }
  for (int64_t k = 0; k < ds_json_len(added) && !st; k++) {
    const ds_json_value *a = ds_json_at(added, k);
    const char *content;
    size_t len;
    ds_json_int(ds_json_get(a, "id"), &id);
    ds_json_str(ds_json_get(a, "content"), &content, &len);
    bool special = false, flag = false;
    ds_json_bool(ds_json_get(a, "special"), &special);
    const char *flags[] = {"lstrip", "rstrip", "single_word"};
    for (size_t f = 0; f < 3 && !st; f++)
      if (ds_json_bool(ds_json_get(a, flags[f]), &flag) && flag)
        st = ds_error(DSEEK_ERR_UNSUPPORTED, "%s: added token '%.64s' sets %s, which dseek does not implement",
                      path, content, flags[f]);
    if (st) break;
    const ds_vocab_token *t = &v->tokens[id];
    if (t->type != DS_TOKEN_UNDEFINED &&
        (t->text_len != len || memcmp(v->text_arena + t->text_off, content, len) != 0))
      st = ds_error(DSEEK_ERR_FORMAT, "%s: added token %lld '%.64s' conflicts with vocabulary entry '%.64s'",
                    path, (long long)id, content, v->text_arena + t->text_off);
    else
      st = ds_vocab_set_token(v, id, content, len, special ? DS_TOKEN_CONTROL : DS_TOKEN_USER_DEFINED, special);
  }
  if (st) { ds_vocab_free(v); return st; }
  *out = v;
  return DSEEK_OK;
}

static dseek_status read_merges(const char *path, ds_vocab *v, const ds_json_value *merges)
{
  for (int64_t k = 0; k < merges->n; k++) {
    const ds_json_value *m = &merges->u.items[k];
    const char *a, *b;
    size_t la, lb;
    if (ds_json_str(m, &a, &la)) {
      /* "left right": split at the first space (pieces hold no raw spaces) */
      const char *sp = memchr(a, ' ', la);
      if (!sp || sp == a || sp + 1 == a + la)
        return ds_error(DSEEK_ERR_FORMAT, "%s: model.merges[%lld] = '%.64s' is not 'left right'", path, (long long)k, a);
      b = sp + 1;
      lb = (size_t)(a + la - b);
      la = (size_t)(sp - a);
    } else if (ds_json_len(m) == 2 && ds_json_str(ds_json_at(m, 0), &a, &la) && ds_json_str(ds_json_at(m, 1), &b, &lb)) {
    } else {
      return ds_error(DSEEK_ERR_FORMAT, "%s: model.merges[%lld] is neither \"a b\" nor [\"a\", \"b\"]", path, (long long)k);
    }
    dseek_status st = ds_vocab_add_merge(v, a, la, b, lb, k);
    if (st) return st;
  }
  return DSEEK_OK;
}

static int32_t id_of_token(const ds_vocab *v, const ds_json_value *tok)
{
  const ds_json_value *c = token_content(tok);
  return c ? ds_vocab_find(v, c->u.str, (size_t)c->n) : -1;
}

/* tokenizer_config.json (optional) and the post-processor's BOS. */
static dseek_status read_config(const hf_paths *p, const ds_json_value *root, ds_vocab *v)
{
  const ds_json_value *single = ds_json_get(ds_json_get(root, "post_processor"), "single");
  const ds_json_value *first = ds_json_get(ds_json_at(single, 0), "SpecialToken");
  const char *s;
  if (ds_json_str(ds_json_get(first, "id"), &s, NULL)) {
    v->bos = ds_vocab_find(v, s, strlen(s));
    v->add_bos = v->bos >= 0;
  }
  if (ds_path_kind_of(p->cfg) == DS_PATH_NONE) return DSEEK_OK;
  ds_json *cfg;
  dseek_status st = ds_json_parse_file(p->cfg, &cfg);
  if (st) return st;
  const ds_json_value *c = ds_json_root(cfg);
  struct { const char *key; int32_t *id; } named[] = {{"bos_token", &v->bos}, {"eos_token", &v->eos}, {"pad_token", &v->pad}};
  for (size_t k = 0; k < DS_ARRAY_LEN(named); k++) {
    const ds_json_value *t = ds_json_get(c, named[k].key);
    if (!t || ds_json_is(t, DS_JSON_NULL)) continue;
    int32_t id = id_of_token(v, t);
    if (id < 0) {
      const ds_json_value *ct = token_content(t);
      st = ds_error(DSEEK_ERR_FORMAT, "%s: %s '%.64s' is not in the vocabulary", p->cfg, named[k].key,
                    ct ? ct->u.str : ds_json_type_name(t));
      break;
    }
    *named[k].id = id;
  }
  bool add_bos;
  if (!st && ds_json_bool(ds_json_get(c, "add_bos_token"), &add_bos)) v->add_bos = add_bos || v->add_bos;
  const ds_json_value *tpl = ds_json_get(c, "chat_template");
  for (int64_t k = 0; k < ds_json_len(tpl) && ds_json_is(tpl, DS_JSON_ARRAY); k++)
    if (ds_json_str(ds_json_get(ds_json_at(tpl, k), "name"), &s, NULL) && strcmp(s, "default") == 0)
      tpl = ds_json_get(ds_json_at(tpl, k), "template");
  size_t len;
  if (!st && ds_json_str(tpl, &s, &len)) {
    v->chat_template = ds_strndup(s, len);
    if (!v->chat_template) st = ds_error(DSEEK_ERR_NO_MEMORY, "%s: out of memory", p->cfg);
  }
  ds_json_free(cfg);
  return st;
}

dseek_status ds_vocab_load_hf(const char *dir_or_file, ds_vocab **out)
{
  if (!dir_or_file || !out) return ds_error(DSEEK_ERR_INVALID_ARG, "ds_vocab_load_hf: NULL argument");
  hf_paths p;
  dseek_status st = resolve_paths(dir_or_file, &p);
  if (st) return st;
  ds_json *doc;
  if ((st = ds_json_parse_file(p.tok, &doc))) return st;
  const ds_json_value *root = ds_json_root(doc), *model = ds_json_get(root, "model");
  bool ignore_merges = false, nfc = false;
  ds_pretok_kind kind = DS_PRETOK_DEEPSEEK_V3;
  ds_vocab *v = NULL;
  if (!ds_json_is(root, DS_JSON_OBJECT) || !ds_json_is(model, DS_JSON_OBJECT))
    st = ds_error(DSEEK_ERR_FORMAT, "%s: expected an object with a 'model' object", p.tok);
  if (!st) st = check_model(p.tok, model, &ignore_merges);
  if (!st) st = read_normalizer(p.tok, ds_json_get(root, "normalizer"), &nfc);
  if (!st) st = read_pre_tokenizer(p.tok, ds_json_get(root, "pre_tokenizer"), &kind);
  if (!st) st = read_tokens(p.tok, root, &v);
  if (!st) {
    v->nfc = nfc;
    v->pretok = kind;
    v->ignore_merges = ignore_merges;
    const ds_json_value *merges = ds_json_get(model, "merges");
    st = ds_vocab_index(v, merges->n);
    if (!st) st = read_merges(p.tok, v, merges);
    if (!st) st = read_config(&p, root, v);
    if (!st) st = ds_vocab_finish(v);
  }
  ds_json_free(doc);
  if (st) { ds_vocab_free(v); return st; }
  *out = v;
  return DSEEK_OK;
}
