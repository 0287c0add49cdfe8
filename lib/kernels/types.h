/*
 * types.h — element types: block layout, conversion to and from f32.
 *
 * A tensor row of n elements of type t occupies ds_row_size(t, n) bytes: n must
 * be a multiple of the type's block_size, and each block of block_size values
 * takes type_size bytes. Block layouts are bit-exact with GGUF (ggml-quants).
 * The block formats live in quant_blocks.c (32-value) and quants_k.c (K-quants,
 * 256-value); DeepSeek's block-scaled FP8 weights in fp8.h. The traits are
 * initialised by field name, so fields can be added (e.g. vec_dot kernels).
 */
#ifndef DS_KERNELS_TYPES_H
#define DS_KERNELS_TYPES_H

#include "core/ds.h"

typedef struct ds_type_traits {
  const char *name;        /* "Q4_K" */
  int64_t block_size;      /* values per block (1 for plain types) */
  size_t type_size;        /* bytes per block */
  bool is_quantized;
  /* Decode n values (n a multiple of block_size). Scalar reference. */
  void (*to_float)(const void *src, float *dst, int64_t n);
  /* Encode n values (n a multiple of block_size) with ggml's reference
   * quantizer (quantize_row_*_ref), byte-identical to llama.cpp's output.
   * Values must be finite and within the format's f16 scale range; anything
   * else gives unspecified codes (never a crash). NULL when not provided. */
  void (*from_float)(const float *src, void *dst, int64_t n);
} ds_type_traits;

/* Traits of a type dseek can compute with, or NULL (unknown, or known but
 * unsupported such as the IQ family). */
const ds_type_traits *ds_type_traits_get(int type);

/* Block geometry of any GGUF/ggml type id known to dseek, including types it
 * cannot compute with (IQ family, ...), so that readers can validate sizes.
 * Returns false for an unknown id. */
bool ds_type_block_info(int type, int64_t *block_size, size_t *type_size);

/* Bytes of a row of n elements; false if n is not a multiple of the block
 * size, the type is unsupported, or the size overflows. */
bool ds_row_size(int type, int64_t n, uint64_t *bytes);

/* Scalar conversions used everywhere (exact, round-to-nearest-even on encode). */
float ds_f16_to_f32(uint16_t h);
uint16_t ds_f32_to_f16(float f);
float ds_bf16_to_f32(uint16_t h);
uint16_t ds_f32_to_bf16(float f);
float ds_e4m3_to_f32(uint8_t v);     /* e4m3fn: no inf, 0x7F/0xFF NaN, max 448 */
uint8_t ds_f32_to_e4m3(float f);     /* saturating to +-448, RNE */

#endif
