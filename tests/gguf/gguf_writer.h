/*
 * gguf_writer.h — build small GGUF v2/v3 files for tests (test-only code).
 *
 * Keys and tensors are written in the order they are added. Tensor data is
 * laid out one tensor after another, each at the next multiple of the
 * alignment (32, or what gw_set_alignment() chose), as llama.cpp writes it.
 * Every value is encoded little-endian whatever the host. Out of memory aborts
 * (this is test code). Reuse from another test directory with
 *   executable(..., gguf_writer_src, include_directories: [harness_inc, gguf_writer_inc])
 *
 *   gguf_writer *w = gw_create(3);
 *   gw_add_string(w, "general.architecture", "qwen2");
 *   gw_add_u32(w, "qwen2.block_count", 2);
 *   gw_add_tensor(w, "output_norm.weight", DSEEK_TYPE_F32, 1, (int64_t[]){64}, data, 256);
 *   gw_write(w, path);
 *   gw_free(w);
 */
#ifndef DS_TEST_GGUF_WRITER_H
#define DS_TEST_GGUF_WRITER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct gguf_writer gguf_writer;

/* version is written as given (tests may pass unsupported ones). */
gguf_writer *gw_create(uint32_t version);
void gw_free(gguf_writer *w);

/* Add the u32 key general.alignment and lay the data out with it. */
void gw_set_alignment(gguf_writer *w, uint32_t alignment);

void gw_add_u8(gguf_writer *w, const char *key, uint8_t v);
void gw_add_i8(gguf_writer *w, const char *key, int8_t v);
void gw_add_u16(gguf_writer *w, const char *key, uint16_t v);
void gw_add_i16(gguf_writer *w, const char *key, int16_t v);
void gw_add_u32(gguf_writer *w, const char *key, uint32_t v);
void gw_add_i32(gguf_writer *w, const char *key, int32_t v);
void gw_add_f32(gguf_writer *w, const char *key, float v);
void gw_add_bool(gguf_writer *w, const char *key, bool v);
void gw_add_u64(gguf_writer *w, const char *key, uint64_t v);
void gw_add_i64(gguf_writer *w, const char *key, int64_t v);
void gw_add_f64(gguf_writer *w, const char *key, double v);
void gw_add_string(gguf_writer *w, const char *key, const char *s);
void gw_add_string_n(gguf_writer *w, const char *key, const char *s, size_t len);

/* An array of `count` scalars of GGUF value type elem_type (0-7, 10-12) read
 * from a C array of the matching type: uint8_t, int8_t, uint16_t, ..., float,
 * bool as uint8_t, uint64_t, int64_t, double. */
void gw_add_array(gguf_writer *w, const char *key, int elem_type, size_t count, const void *elems);
/* An array of NUL-terminated strings; lens (optional) gives explicit lengths. */
void gw_add_string_array(gguf_writer *w, const char *key, size_t count, const char *const *strs,
                         const size_t *lens);
/* A key whose value type and encoded value bytes are given as they are (for
 * nested arrays and deliberately malformed values). */
void gw_add_raw(gguf_writer *w, const char *key, uint32_t type, const void *value, size_t n);

/* A tensor of ggml `type` with n_dims sizes ne[] and `size` bytes of data
 * (copied; NULL writes zeros). The writer does not check size against type. */
void gw_add_tensor(gguf_writer *w, const char *name, int type, int n_dims, const int64_t *ne,
                   const void *data, size_t size);

/* The file's bytes (malloc'd, caller frees) or written to path (false on I/O error). */
uint8_t *gw_serialize(const gguf_writer *w, size_t *size);
bool gw_write(const gguf_writer *w, const char *path);

/* Little-endian encoders, also handy for building values for gw_add_raw(). */
typedef struct gw_bytes { uint8_t *p; size_t n, cap; } gw_bytes;
void gw_put(gw_bytes *b, const void *data, size_t n);
void gw_put_u32(gw_bytes *b, uint32_t v);
void gw_put_u64(gw_bytes *b, uint64_t v);
void gw_put_str(gw_bytes *b, const char *s, size_t len);

#endif
