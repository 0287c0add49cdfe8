/*
 * test_gguf_split.c — split GGUF models (lib/formats/gguf_split.c):
 *   - llama.cpp's own llama-gguf-split output (tests/data/quants/split/, 4
 *     shards of model-IQ2_XXS.gguf): opened from any shard, the merged view
 *     lists exactly the unsplit file's tensors (names, types, shapes, data
 *     bytes) and keys; the public reader sees each shard and its split keys;
 *     dseek_gguf_split_path; the model loads as far as the unsplit file does;
 *   - splits written here (gguf_writer) of that file and of a tiny model,
 *     and every way a set can be wrong: a missing shard, a shard of another
 *     model, split.count / split.no that disagree with the name, a missing
 *     split key, a tensor in two shards, a tensor missing, a shard renamed,
 *     a shard cut short (a tensor outside its shard), and random corruption
 *     of a shard (no crash, a clear error or a good load);
 *   - with TINY_DIR: a tiny qwen2 Q8_0 model split in 3 gives logits
 *     bit-identical to the unsplit file.
 *
 *   test_gguf_split QUANTS_DIR [TINY_DIR]
 */
#include "dseek.h"
#include "formats/gguf.h"
#include "gguf_writer.h"
#include "harness.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static char tmpdir[] = "/tmp/dseek-split-XXXXXX";

/* ---- writing a split ---------------------------------------------------------- */

/* Faults a written split can carry (shard numbers are 0-based; -1: none). */
typedef struct fault {
  int count_in, count_value;    /* shard count_in writes split.count = count_value */
  int no_in, no_value;          /* shard no_in writes split.no = no_value */
  int tensors_in, tensors_value;/* shard tensors_in (-2: every shard) writes split.tensors.count = tensors_value */
  int omit_count_in;            /* shard omit_count_in has no split.count */
  bool duplicate;               /* the first tensor also in the last shard */
  bool drop_last;               /* the last tensor in no shard (counts unchanged) */
} fault;

static const fault NO_FAULT = {-1, 0, -1, 0, -1, 0, -1, false, false};

/* Every key of src (but general.alignment, given to the writer instead). */
static void copy_keys(gguf_writer *w, const ds_gguf *src)
{
  for (int64_t i = 0; i < src->n_kv; i++) {
    const ds_gguf_kv *kv = &src->kv[i];
    if (!strcmp(kv->key, "general.alignment") || !strncmp(kv->key, "split.", 6)) continue;
    switch (kv->type) {
    case DSEEK_GGUF_UINT8: gw_add_u8(w, kv->key, (uint8_t)kv->v.u); break;
    case DSEEK_GGUF_UINT16: gw_add_u16(w, kv->key, (uint16_t)kv->v.u); break;
    case DSEEK_GGUF_UINT32: gw_add_u32(w, kv->key, (uint32_t)kv->v.u); break;
    case DSEEK_GGUF_UINT64: gw_add_u64(w, kv->key, kv->v.u); break;
    case DSEEK_GGUF_BOOL: gw_add_bool(w, kv->key, kv->v.u != 0); break;
    case DSEEK_GGUF_INT8: gw_add_i8(w, kv->key, (int8_t)kv->v.i); break;
    case DSEEK_GGUF_INT16: gw_add_i16(w, kv->key, (int16_t)kv->v.i); break;
    case DSEEK_GGUF_INT32: gw_add_i32(w, kv->key, (int32_t)kv->v.i); break;
    case DSEEK_GGUF_INT64: gw_add_i64(w, kv->key, kv->v.i); break;
    case DSEEK_GGUF_FLOAT32: gw_add_f32(w, kv->key, (float)kv->v.f); break;
    case DSEEK_GGUF_FLOAT64: gw_add_f64(w, kv->key, kv->v.f); break;
    case DSEEK_GGUF_STRING: gw_add_string_n(w, kv->key, kv->v.str.s, kv->v.str.len); break;
    case DSEEK_GGUF_ARRAY: {
      const ds_gguf_array *a = &kv->v.arr;
      if (a->type == DSEEK_GGUF_STRING) {
        const char **s = malloc((size_t)(a->count + 1) * sizeof *s);
        size_t *len = malloc((size_t)(a->count + 1) * sizeof *len);
        for (uint64_t j = 0; j < a->count; j++) s[j] = ds_gguf_array_str(a, j, &len[j]);
        gw_add_string_array(w, kv->key, (size_t)a->count, s, len);
        free(s);
        free(len);
      } else if (a->raw) {
        gw_add_array(w, kv->key, a->type, (size_t)a->count, a->raw);   /* little-endian host */
      }
      break;
    }
    }
  }
}

static void add_tensor(gguf_writer *w, const ds_gguf_tensor *t)
{
  gw_add_tensor(w, t->name, t->type, t->n_dims, t->ne, t->data, (size_t)t->size);
}

static void shard_path(char *buf, size_t size, const char *prefix, int k, int n)
{
  snprintf(buf, size, "%s/%s-%05d-of-%05d.gguf", tmpdir, prefix, k + 1, n);
}

/* src cut into n shards named tmpdir/PREFIX-0000k-of-0000n.gguf, as gguf-split
 * does it: shard 1 all keys, every shard the split keys, the tensors in order,
 * about the same number in each. */
static void write_split(const ds_gguf *src, const char *prefix, int n, const fault *f)
{
  const int64_t T = src->n_tensors;
  for (int k = 0; k < n; k++) {
    gguf_writer *w = gw_create(3);
    if (src->alignment != DS_GGUF_DEFAULT_ALIGNMENT) gw_set_alignment(w, (uint32_t)src->alignment);
    if (f->omit_count_in != k) gw_add_u16(w, "split.count", (uint16_t)(f->count_in == k ? f->count_value : n));
    gw_add_u16(w, "split.no", (uint16_t)(f->no_in == k ? f->no_value : k));
    gw_add_i32(w, "split.tensors.count",
               (int32_t)(f->tensors_in == k || f->tensors_in == -2 ? f->tensors_value : T));
    if (k == 0) copy_keys(w, src);
    for (int64_t i = k * T / n; i < (k + 1) * T / n; i++)
      if (!(f->drop_last && i == T - 1)) add_tensor(w, &src->tensors[i]);
    if (f->duplicate && k == n - 1) add_tensor(w, &src->tensors[0]);
    char path[1024];
    shard_path(path, sizeof path, prefix, k, n);
    CHECK_MSG(gw_write(w, path), "cannot write %s", path);
    gw_free(w);
  }
}

static void remove_split(const char *prefix, int n)
{
  for (int k = 0; k < n; k++) {
    char path[1024];
    shard_path(path, sizeof path, prefix, k, n);
    unlink(path);
  }
}

/* ---- comparing views ---------------------------------------------------------- */

/* The split view holds exactly the tensors of the unsplit file, byte for byte,
 * and its keys (the split keys besides). */
static void check_same_model(const ds_gguf *whole, const ds_gguf *split, const char *what)
{
  CHECK_MSG(split->n_tensors == whole->n_tensors, "%s: %lld tensors, unsplit %lld", what,
            (long long)split->n_tensors, (long long)whole->n_tensors);
  int64_t same = 0;
  for (int64_t i = 0; i < whole->n_tensors; i++) {
    const ds_gguf_tensor *a = &whole->tensors[i], *b = ds_gguf_tensor_get(split, a->name);
    CHECK_MSG(b != NULL, "%s: tensor '%s' missing", what, a->name);
    if (!b) continue;
    bool ok = b->type == a->type && b->n_dims == a->n_dims && b->size == a->size &&
              !memcmp(b->ne, a->ne, sizeof a->ne) && !memcmp(b->data, a->data, (size_t)a->size);
    CHECK_MSG(ok, "%s: tensor '%s' differs (type %d/%d, size %llu/%llu)", what, a->name, b->type, a->type,
              (unsigned long long)b->size, (unsigned long long)a->size);
    same += ok;
  }
  CHECK_EQ_INT(same, whole->n_tensors);
  int64_t split_keys = 0;
  for (int64_t i = 0; i < split->n_kv; i++) split_keys += !strncmp(split->kv[i].key, "split.", 6);
  CHECK_EQ_INT(split_keys, 3);
  CHECK_EQ_INT(split->n_kv - split_keys, whole->n_kv);
  for (int64_t i = 0; i < whole->n_kv; i++) {
    const ds_gguf_kv *a = &whole->kv[i], *b = ds_gguf_kv_get(split, a->key);
    CHECK_MSG(b && b->type == a->type, "%s: key '%s' missing or of another type", what, a->key);
    if (b && a->type == DSEEK_GGUF_STRING) CHECK(b->v.str.len == a->v.str.len && !memcmp(b->v.str.s, a->v.str.s, a->v.str.len));
    if (b && a->type == DSEEK_GGUF_ARRAY) CHECK(b->v.arr.count == a->v.arr.count && b->v.arr.type == a->v.arr.type);
  }
}

/* Load status and message of dseek_model_load(path). */
static dseek_status try_load(const char *path, char *msg, size_t size, dseek_model **keep)
{
  dseek_model *m = NULL;
  dseek_status st = dseek_model_load(path, NULL, &m);
  snprintf(msg, size, "%s", st ? dseek_last_error() : "");
  if (keep) *keep = m;
  else dseek_model_free(m);
  return st;
}

/* ---- llama.cpp's split ---------------------------------------------------------- */

static void test_llama_cpp_split(const char *quants)
{
  char whole_path[1024], path[1024];
  snprintf(whole_path, sizeof whole_path, "%s/model-IQ2_XXS.gguf", quants);
  ds_gguf *whole = NULL;
  CHECK_MSG(ds_gguf_open(whole_path, true, &whole) == DSEEK_OK, "%s", dseek_last_error());
  if (!whole) return;
  CHECK_EQ_INT(whole->n_tensors, 27);
  static const int64_t per_shard[4] = {8, 8, 8, 3};   /* --split-max-tensors 8 */
  for (int k = 0; k < 4; k++) {
    snprintf(path, sizeof path, "%s/split/model-IQ2_XXS-%05d-of-00004.gguf", quants, k + 1);
    /* the public reader: one shard, its split keys */
    dseek_gguf *one = NULL;
    CHECK_MSG(dseek_gguf_open(path, 0, &one) == DSEEK_OK, "%s", dseek_last_error());
    int64_t no = -1, count = -1, total = -1;
    CHECK(dseek_gguf_get_int(one, dseek_gguf_find_key(one, "split.no"), &no) == DSEEK_OK && no == k);
    CHECK(dseek_gguf_get_int(one, dseek_gguf_find_key(one, "split.count"), &count) == DSEEK_OK && count == 4);
    CHECK(dseek_gguf_get_int(one, dseek_gguf_find_key(one, "split.tensors.count"), &total) == DSEEK_OK &&
          total == 27);
    CHECK_EQ_INT(dseek_gguf_tensor_count(one), per_shard[k]);
    CHECK(k == 0 ? dseek_gguf_find_key(one, "general.architecture") >= 0
                 : dseek_gguf_key_count(one) == 3);   /* metadata in shard 1 only */
    for (int j = 0; j < 4; j++) {   /* every sibling's name from this shard's */
      char sib[1024], want[1024];
      size_t len = 0;
      snprintf(want, sizeof want, "%s/split/model-IQ2_XXS-%05d-of-00004.gguf", quants, j + 1);
      CHECK(dseek_gguf_split_path(path, j, sib, sizeof sib, &len) == DSEEK_OK);
      CHECK_STR(sib, want);
      CHECK_EQ_INT(len, strlen(want));
    }
    dseek_gguf_close(one);
    /* the merged view from this shard */
    ds_gguf *split = NULL;
    CHECK_MSG(ds_gguf_open_split(path, k % 2 == 0, &split) == DSEEK_OK, "%s", dseek_last_error());
    if (!split) continue;
    CHECK_EQ_INT(split->n_shards, 4);
    check_same_model(whole, split, path);
    int64_t in_shard[4] = {0};
    for (int64_t i = 0; i < split->n_tensors; i++) in_shard[split->tensors[i].shard]++;
    for (int j = 0; j < 4; j++) CHECK_EQ_INT(in_shard[j], per_shard[j]);
    ds_gguf_close(split);
  }
  ds_gguf_close(whole);

  /* the model loads from a shard exactly as far as from the unsplit file
   * (today both stop at the first IQ2_XXS tensor); once it loads, the
   * logits must be the same bits */
  char m1[512], m2[512];
  dseek_model *a = NULL, *b = NULL;
  snprintf(path, sizeof path, "%s/split/model-IQ2_XXS-00003-of-00004.gguf", quants);
  dseek_status sa = try_load(whole_path, m1, sizeof m1, &a), sb = try_load(path, m2, sizeof m2, &b);
  CHECK_EQ_INT(sb, sa);
  const char *ta = strstr(m1, ": tensor"), *tb = strstr(m2, ": tensor");
  if (sa) CHECK_MSG(ta && tb && !strcmp(ta, tb), "unsplit '%s' vs split '%s'", m1, m2);
  if (a && b) {
    dseek_context *ca = NULL, *cb = NULL;
    CHECK(dseek_context_create(a, NULL, &ca) == DSEEK_OK && dseek_context_create(b, NULL, &cb) == DSEEK_OK);
    int32_t toks[8] = {1, 5, 9, 2, 7, 3, 11, 4};
    CHECK(dseek_decode(ca, toks, 8, 0) == DSEEK_OK && dseek_decode(cb, toks, 8, 0) == DSEEK_OK);
    CHECK(!memcmp(dseek_logits(ca, -1), dseek_logits(cb, -1), (size_t)dseek_model_n_vocab(a) * sizeof(float)));
    dseek_context_free(ca);
    dseek_context_free(cb);
  }
  dseek_model_free(a);
  dseek_model_free(b);

  /* dseek_gguf_split_path's errors */
  char buf[16];
  size_t len = 0;
  CHECK(dseek_gguf_split_path(whole_path, 0, buf, sizeof buf, NULL) == DSEEK_ERR_INVALID_ARG);
  CHECK(strstr(dseek_last_error(), "-NNNNN-of-MMMMM.gguf") != NULL);
  CHECK(dseek_gguf_split_path(path, 4, buf, sizeof buf, NULL) == DSEEK_ERR_INVALID_ARG);
  CHECK(dseek_gguf_split_path(path, -1, buf, sizeof buf, NULL) == DSEEK_ERR_INVALID_ARG);
  CHECK(dseek_gguf_split_path(NULL, 0, buf, sizeof buf, NULL) == DSEEK_ERR_INVALID_ARG);
  CHECK(dseek_gguf_split_path(path, 0, NULL, 0, NULL) == DSEEK_ERR_INVALID_ARG);
  CHECK(dseek_gguf_split_path(path, 0, buf, sizeof buf, &len) == DSEEK_ERR_BUFFER_TOO_SMALL && len == strlen(path));
  CHECK(dseek_gguf_split_path("x-00000-of-00004.gguf", 0, buf, sizeof buf, NULL) == DSEEK_ERR_INVALID_ARG);
  CHECK(dseek_gguf_split_path("x-00005-of-00004.gguf", 0, buf, sizeof buf, NULL) == DSEEK_ERR_INVALID_ARG);
  CHECK(dseek_gguf_split_path("-00001-of-00004.gguf", 0, buf, sizeof buf, NULL) == DSEEK_ERR_INVALID_ARG);
}

/* ---- splits written here, good and bad ------------------------------------------ */

/* Opening shard `entry` of the split PREFIX (n shards) fails with `want`
 * and a message holding `words`. */
static void expect_error(const char *prefix, int n, int entry, dseek_status want, const char *words)
{
  char path[1024], msg[512];
  shard_path(path, sizeof path, prefix, entry, n);
  dseek_status st = try_load(path, msg, sizeof msg, NULL);
  CHECK_MSG(st == want && strstr(msg, words), "%s (entry shard %d): status %d '%s', expected %d with '%s'", prefix,
            entry + 1, (int)st, msg, (int)want, words);
}

static void test_written_splits(const char *quants)
{
  char src_path[1024], path[1024], other[1024];
  snprintf(src_path, sizeof src_path, "%s/model-IQ2_XXS.gguf", quants);
  ds_gguf *src = NULL;
  CHECK_MSG(ds_gguf_open(src_path, true, &src) == DSEEK_OK, "%s", dseek_last_error());
  if (!src) return;

  /* a good split of 3 opens from each shard; 1 shard is a plain file */
  write_split(src, "good", 3, &NO_FAULT);
  for (int k = 0; k < 3; k++) {
    ds_gguf *g = NULL;
    shard_path(path, sizeof path, "good", k, 3);
    CHECK_MSG(ds_gguf_open_split(path, true, &g) == DSEEK_OK, "%s", dseek_last_error());
    if (g) check_same_model(src, g, path);
    ds_gguf_close(g);
  }
  write_split(src, "one", 1, &NO_FAULT);
  ds_gguf *g1 = NULL;
  shard_path(path, sizeof path, "one", 0, 1);
  CHECK(ds_gguf_open_split(path, true, &g1) == DSEEK_OK && g1->n_shards == 1 && g1->n_tensors == src->n_tensors);
  ds_gguf_close(g1);
  remove_split("one", 1);

  /* a missing shard */
  write_split(src, "missing", 3, &NO_FAULT);
  shard_path(path, sizeof path, "missing", 1, 3);
  unlink(path);
  expect_error("missing", 3, 0, DSEEK_ERR_IO, "shard 2 of 3 of the split model is missing");
  expect_error("missing", 3, 2, DSEEK_ERR_IO, "shard 2 of 3 of the split model is missing");
  remove_split("missing", 3);

  /* a shard of another model: same names, other tensor total */
  fault f = NO_FAULT;
  write_split(src, "mixed", 3, &NO_FAULT);
  f.tensors_in = 1;
  f.tensors_value = (int)src->n_tensors + 5;
  write_split(src, "othermodel", 3, &f);
  shard_path(path, sizeof path, "mixed", 1, 3);
  shard_path(other, sizeof other, "othermodel", 1, 3);
  remove(path);   /* Windows' rename does not replace an existing file */
  CHECK(rename(other, path) == 0);
  expect_error("mixed", 3, 0, DSEEK_ERR_FORMAT, "the shards are not from the same model");
  remove_split("mixed", 3);
  remove_split("othermodel", 3);

  /* split keys disagreeing with the name or missing; a tensor in two
   * shards (with split.tensors.count unchanged, the count check fires first;
   * with every shard's count made to agree, the duplicate itself); a tensor
   * in none */
  const int T = (int)src->n_tensors;
  char dup_msg[160];
  snprintf(dup_msg, sizeof dup_msg, "tensor '%s' is in shard 1 and again in shard 3", src->tensors[0].name);
  const struct { const char *prefix; fault f; int entry; const char *words; } bad[] = {
    {"count", {2, 4, -1, 0, -1, 0, -1, false, false}, 0, "split.count = 4, but the name says 3 shards"},
    {"no", {-1, 0, 1, 2, -1, 0, -1, false, false}, 1, "split.no = 2, but the name says shard 2"},
    {"nocount", {-1, 0, -1, 0, -1, 0, 1, false, false}, 0, "key 'split.count' missing"},
    {"dup", {-1, 0, -1, 0, -1, 0, -1, true, false}, 0, "the 3 shards hold 28 tensors, but split.tensors.count = 27"},
    {"dup28", {-1, 0, -1, 0, -2, T + 1, -1, true, false}, 1, dup_msg},
    {"drop", {-1, 0, -1, 0, -1, 0, -1, false, true}, 0, "the 3 shards hold 26 tensors, but split.tensors.count = 27"},
  };
  CHECK_EQ_INT(T, 27);
  for (size_t i = 0; i < DS_ARRAY_LEN(bad); i++) {
    write_split(src, bad[i].prefix, 3, &bad[i].f);
    expect_error(bad[i].prefix, 3, bad[i].entry, DSEEK_ERR_FORMAT, bad[i].words);
    remove_split(bad[i].prefix, 3);
  }

  /* a shard under another name: its siblings cannot be found */
  shard_path(path, sizeof path, "good", 0, 3);
  snprintf(other, sizeof other, "%s/renamed.gguf", tmpdir);
  FILE *in = fopen(path, "rb"), *out = fopen(other, "wb");
  int ch;
  while (in && out && (ch = fgetc(in)) != EOF) fputc(ch, out);
  if (in) fclose(in);
  if (out) fclose(out);
  char msg[512];
  CHECK(try_load(other, msg, sizeof msg, NULL) == DSEEK_ERR_FORMAT && strstr(msg, "does not end in -NNNNN-of-00003.gguf"));
  unlink(other);

  /* a shard cut short: its last tensor lies outside it */
  write_split(src, "cut", 3, &NO_FAULT);
  shard_path(path, sizeof path, "cut", 1, 3);
  FILE *cf = fopen(path, "rb");
  fseek(cf, 0, SEEK_END);
  long size = ftell(cf);
  fclose(cf);
  CHECK(truncate(path, size - 100) == 0);
  expect_error("cut", 3, 0, DSEEK_ERR_FORMAT, "exceeds the data section");
  remove_split("cut", 3);

  /* random corruption of shard 2's first 512 bytes (its header, tensor
   * directory and split keys): never a crash, a clear error or a good open */
  uint64_t seed = 12345;
  int errors = 0, opened = 0;
  for (int trial = 0; trial < 300; trial++) {
    write_split(src, "fuzz", 3, &NO_FAULT);
    shard_path(path, sizeof path, "fuzz", 1, 3);
    FILE *ff = fopen(path, "r+b");
    for (int j = 0; j < 1 + trial % 4; j++) {
      seed = seed * 6364136223846793005ull + 1442695040888963407ull;
      long at = (long)((seed >> 33) % 512);
      fseek(ff, at, SEEK_SET);
      fputc((int)(seed >> 20) & 0xff, ff);
    }
    fclose(ff);
    shard_path(path, sizeof path, "fuzz", trial % 3, 3);
    ds_gguf *g = NULL;
    dseek_status st = ds_gguf_open_split(path, trial % 2 == 0, &g);
    if (st) {
      errors++;
      CHECK_MSG(strlen(dseek_last_error()) > 10 && (st == DSEEK_ERR_FORMAT || st == DSEEK_ERR_IO ||
                                                    st == DSEEK_ERR_NO_MEMORY),
                "trial %d: status %d '%s'", trial, (int)st, dseek_last_error());
    } else {
      opened++;
      CHECK(g->n_shards == 3 && g->n_tensors == src->n_tensors);
    }
    ds_gguf_close(g);
  }
  fprintf(stderr, "corrupted shard 2: %d errors, %d opened\n", errors, opened);
  CHECK(errors > 100);
  remove_split("fuzz", 3);
  remove_split("good", 3);
  ds_gguf_close(src);
}

/* ---- a split model runs with the same bits --------------------------------------- */

static void test_split_logits(const char *tiny)
{
  char src_path[1024], path[1024];
  snprintf(src_path, sizeof src_path, "%s/qwen2-gguf-q8_0/model.gguf", tiny);
  ds_gguf *src = NULL;
  CHECK_MSG(ds_gguf_open(src_path, true, &src) == DSEEK_OK, "%s", dseek_last_error());
  if (!src) return;
  write_split(src, "qwen2", 3, &NO_FAULT);
  shard_path(path, sizeof path, "qwen2", 2, 3);
  char msg[512];
  dseek_model *a = NULL, *b = NULL;
  CHECK_MSG(try_load(src_path, msg, sizeof msg, &a) == DSEEK_OK, "%s", msg);
  CHECK_MSG(try_load(path, msg, sizeof msg, &b) == DSEEK_OK, "%s", msg);
  if (a && b) {
    CHECK_EQ_INT(dseek_model_n_params(b), dseek_model_n_params(a));
    CHECK_EQ_INT(dseek_model_weight_bytes(b), dseek_model_weight_bytes(a));
    int64_t na = 0, nb = 0, ba = 0, bb = 0;
    CHECK(!dseek_model_weights_of_type(a, DSEEK_TYPE_Q8_0, &na, &ba) &&
          !dseek_model_weights_of_type(b, DSEEK_TYPE_Q8_0, &nb, &bb) && na == nb && ba == bb && ba > 0);
    dseek_context *ca = NULL, *cb = NULL;
    CHECK(dseek_context_create(a, NULL, &ca) == DSEEK_OK && dseek_context_create(b, NULL, &cb) == DSEEK_OK);
    int32_t toks[12] = {1, 17, 42, 99, 5, 250, 3, 77, 8, 130, 61, 2};
    int64_t V = dseek_model_n_vocab(a);
    if (ca && cb) {
      CHECK(dseek_decode(ca, toks, 12, 1) == DSEEK_OK && dseek_decode(cb, toks, 12, 1) == DSEEK_OK);
      int same = 0;
      for (int t = 0; t < 12; t++) same += !memcmp(dseek_logits(ca, t), dseek_logits(cb, t), (size_t)V * sizeof(float));
      CHECK_EQ_INT(same, 12);
      int32_t next = 33;
      CHECK(dseek_decode(ca, &next, 1, 0) == DSEEK_OK && dseek_decode(cb, &next, 1, 0) == DSEEK_OK);
      CHECK(!memcmp(dseek_logits(ca, -1), dseek_logits(cb, -1), (size_t)V * sizeof(float)));
    }
    dseek_context_free(ca);
    dseek_context_free(cb);
  }
  dseek_model_free(a);
  dseek_model_free(b);
  remove_split("qwen2", 3);
  ds_gguf_close(src);
}

int main(int argc, char **argv)
{
  if (argc < 2) { fprintf(stderr, "usage: test_gguf_split QUANTS_DIR [TINY_DIR]\n"); return 2; }
  if (!mkdtemp(tmpdir)) { fprintf(stderr, "mkdtemp failed\n"); return 1; }
  if (argc > 2) {                      /* gguf_split_logits: TINY_DIR given, empty without Python */
    const char *tiny = ds_test_tiny_dir(argc - 1, argv + 1);
    if (!tiny) { rmdir(tmpdir); return 77; }
    test_split_logits(tiny);
  } else {
    test_llama_cpp_split(argv[1]);
    test_written_splits(argv[1]);
  }
  rmdir(tmpdir);
  return DS_TEST_RESULT();
}
