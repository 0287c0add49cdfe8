/* test_safetensors.c — the safetensors reader: valid single and sharded
 * checkpoints, and malformed files that must give clear errors. */
#include "formats/safetensors.h"
#include "harness.h"

#include <stdio.h>
#include <stdlib.h>

static char dir[256];

static void write_file(const char *name, const void *data, size_t n)
{
  char path[512];
  snprintf(path, sizeof path, "%s/%s", dir, name);
  FILE *f = fopen(path, "wb");
  fwrite(data, 1, n, f);
  fclose(f);
}

/* A safetensors file: header JSON then `data_len` bytes 0, 1, 2, ... */
static void write_st(const char *name, const char *header, size_t data_len)
{
  size_t h = strlen(header);
  unsigned char *buf = calloc(1, 8 + h + data_len);
  for (int i = 0; i < 8; i++) buf[i] = (unsigned char)((uint64_t)h >> (8 * i));
  memcpy(buf + 8, header, h);
  for (size_t i = 0; i < data_len; i++) buf[8 + h + i] = (unsigned char)i;
  write_file(name, buf, 8 + h + data_len);
  free(buf);
}

/* Empty the test directory (removed and made again: portable to Windows). */
static void clear_dir(void)
{
  CHECK(ds_test_rmtree(dir) == 0);
  CHECK(ds_test_mkdir(dir) == 0);
}

static void test_single(void)
{
  clear_dir();
  write_st("model.safetensors",
           "{\"__metadata__\":{\"format\":\"pt\"},"
           "\"a\":{\"dtype\":\"F32\",\"shape\":[2,3],\"data_offsets\":[0,24]},"
           "\"b\":{\"dtype\":\"BF16\",\"shape\":[4],\"data_offsets\":[24,32]},"
           "\"s\":{\"dtype\":\"F8_E4M3\",\"shape\":[],\"data_offsets\":[32,33]}}", 33);
  ds_st_set *set = NULL;
  CHECK_EQ_INT(ds_st_open_dir(dir, true, &set), DSEEK_OK);
  CHECK_EQ_INT(ds_st_count(set), 3);
  const ds_st_tensor *a = ds_st_find(set, "a");
  CHECK(a && a->type == DSEEK_TYPE_F32 && a->n_dims == 2 && a->shape[0] == 2 && a->shape[1] == 3);
  CHECK(a && a->size == 24 && a->data[0] == 0 && a->data[23] == 23);
  const ds_st_tensor *b = ds_st_find(set, "b");
  CHECK(b && b->type == DSEEK_TYPE_BF16 && b->data[0] == 24);
  const ds_st_tensor *s = ds_st_find(set, "s");
  CHECK(s && s->n_dims == 0 && s->size == 1);
  CHECK(ds_st_find(set, "__metadata__") == NULL);
  CHECK(ds_st_find(set, "missing") == NULL);
  ds_st_set_close(set);
}

static void test_sharded(void)
{
  clear_dir();
  write_st("model-00001-of-00002.safetensors", "{\"x\":{\"dtype\":\"F16\",\"shape\":[2],\"data_offsets\":[0,4]}}", 4);
  write_st("model-00002-of-00002.safetensors", "{\"y\":{\"dtype\":\"I32\",\"shape\":[1,1],\"data_offsets\":[0,4]}}", 4);
  const char *idx = "{\"metadata\":{},\"weight_map\":{\"x\":\"model-00001-of-00002.safetensors\","
                    "\"y\":\"model-00002-of-00002.safetensors\"}}";
  write_file("model.safetensors.index.json", idx, strlen(idx));
  ds_st_set *set = NULL;
  CHECK_EQ_INT(ds_st_open_dir(dir, false, &set), DSEEK_OK);
  CHECK_EQ_INT(ds_st_count(set), 2);
  CHECK(ds_st_find(set, "x") && ds_st_find(set, "y") && ds_st_find(set, "y")->type == DSEEK_TYPE_I32);
  ds_st_set_close(set);

  /* the index names the wrong shard for y */
  const char *bad = "{\"weight_map\":{\"x\":\"model-00001-of-00002.safetensors\","
                    "\"y\":\"model-00001-of-00002.safetensors\"}}";
  write_file("model.safetensors.index.json", bad, strlen(bad));
  CHECK_EQ_INT(ds_st_open_dir(dir, true, &set), DSEEK_ERR_FORMAT);
  CHECK(strstr(dseek_last_error(), "'y'") != NULL);
  /* path traversal in a shard name */
  const char *evil = "{\"weight_map\":{\"x\":\"../model-00001-of-00002.safetensors\"}}";
  write_file("model.safetensors.index.json", evil, strlen(evil));
  CHECK_EQ_INT(ds_st_open_dir(dir, true, &set), DSEEK_ERR_FORMAT);
  CHECK(strstr(dseek_last_error(), "plain file name") != NULL);
  const char *nomap = "{\"metadata\":{}}";
  write_file("model.safetensors.index.json", nomap, strlen(nomap));
  CHECK_EQ_INT(ds_st_open_dir(dir, true, &set), DSEEK_ERR_FORMAT);
  CHECK(strstr(dseek_last_error(), "weight_map") != NULL);
}

typedef struct bad_case {
  const char *header;     /* NULL: raw bytes below */
  size_t data_len;
  const char *expect;     /* substring of the message */
} bad_case;

static void test_malformed(void)
{
  static const bad_case cases[] = {
    {"{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,4]}}", 8, "needs 8"},
    {"{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,16]}}", 8, "outside"},
    {"{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[8,0]}}", 8, "outside"},
    {"{\"a\":{\"dtype\":\"F32\",\"shape\":[-2],\"data_offsets\":[0,8]}}", 8, "shape[0]"},
    {"{\"a\":{\"dtype\":\"F32\",\"shape\":[1.5],\"data_offsets\":[0,8]}}", 8, "shape[0]"},
    {"{\"a\":{\"dtype\":\"Q7\",\"shape\":[2],\"data_offsets\":[0,8]}}", 8, "unknown dtype 'Q7'"},
    {"{\"a\":{\"dtype\":\"F32\",\"shape\":[2]}}", 8, "data_offsets"},
    {"{\"a\":{\"shape\":[2],\"data_offsets\":[0,8]}}", 8, "dtype"},
    {"{\"a\":7}", 8, "'a'"},
    {"[1,2]", 8, "expected an object"},
    {"{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]}", 8, "line 1"},
    {"{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]},"
     "\"b\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[4,12]}}", 12, "overlap"},
    {"{\"a\":{\"dtype\":\"F32\",\"shape\":[1,1,1,1,2],\"data_offsets\":[0,8]}}", 8, "dimensions"},
    {"{\"a\":{\"dtype\":\"F32\",\"shape\":[4294967296,4294967296,4294967296],\"data_offsets\":[0,8]}}", 8, "shape[1]"},
  };
  for (size_t i = 0; i < DS_ARRAY_LEN(cases); i++) {
    clear_dir();
    write_st("model.safetensors", cases[i].header, cases[i].data_len);
    ds_st_set *set = NULL;
    dseek_status st = ds_st_open_dir(dir, true, &set);
    CHECK_MSG(st == DSEEK_ERR_FORMAT, "case %zu: status %d", i, (int)st);
    CHECK_MSG(strstr(dseek_last_error(), cases[i].expect) != NULL, "case %zu: message '%s' lacks '%s'", i,
              dseek_last_error(), cases[i].expect);
    CHECK_MSG(strstr(dseek_last_error(), "model.safetensors") != NULL, "case %zu: file not named", i);
    CHECK(set == NULL);
  }
  /* Header length beyond the file, and a file too short for the length. */
  clear_dir();
  unsigned char tiny[12] = {200, 0, 0, 0, 0, 0, 0, 0, '{', '}', ' ', ' '};
  write_file("model.safetensors", tiny, sizeof tiny);
  ds_st_set *set = NULL;
  CHECK_EQ_INT(ds_st_open_dir(dir, true, &set), DSEEK_ERR_FORMAT);
  CHECK(strstr(dseek_last_error(), "header length") != NULL);
  write_file("model.safetensors", tiny, 5);
  CHECK_EQ_INT(ds_st_open_dir(dir, true, &set), DSEEK_ERR_FORMAT);
  CHECK(strstr(dseek_last_error(), "too short") != NULL);
  /* Truncating a valid file anywhere fails cleanly. */
  const char *hdr = "{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]}}";
  clear_dir();
  write_st("full.bin", hdr, 8);
  char path[512];
  snprintf(path, sizeof path, "%s/full.bin", dir);
  FILE *f = fopen(path, "rb");
  unsigned char buf[256];
  size_t n = fread(buf, 1, sizeof buf, f);
  fclose(f);
  for (size_t cut = 0; cut < n; cut++) {
    write_file("model.safetensors", buf, cut);
    dseek_status st = ds_st_open_dir(dir, true, &set);
    CHECK_MSG(st == DSEEK_ERR_FORMAT, "truncated at %zu: status %d", cut, (int)st);
  }
  /* Nothing at all in the directory. */
  clear_dir();
  CHECK_EQ_INT(ds_st_open_dir(dir, true, &set), DSEEK_ERR_FORMAT);
  CHECK(strstr(dseek_last_error(), "no .safetensors") != NULL);
}

int main(void)
{
  snprintf(dir, sizeof dir, "/tmp/dseek-st-XXXXXX");
  if (!mkdtemp(dir)) return 1;
  RUN(test_single);
  RUN(test_sharded);
  RUN(test_malformed);
  CHECK(ds_test_rmtree(dir) == 0);
  return DS_TEST_RESULT();
}
