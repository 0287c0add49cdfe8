/*
 * type_ops.h — the CPU type-traits table: for each weight type at each level
 * (cpu.h, vec.h), everything a product needs to choose its path, in one row:
 *
 *   decode      the row decoder to f32 (types.h, the reference's)
 *   activations QA int8 rows (vec.h) or the f32 columns as they are
 *   dot         the weight's own dot at this level, or NULL: rows are decoded
 *               and take the level's f32 dot
 *   tile        the 16-row GEMM tile (vec.h): packer, kernel, AMX kernel,
 *               whether a dmin term follows it, and the columns from which it
 *               pays; kind DS_TILE_NONE: the level has no tile for the type
 *   R8          the interleaved layout a weight may be repacked to at load
 *               (q4_0_r8.h, q4_k_r8.h, q6_k_r8.h): tensor flag, dot, tile packer, row
 *               decoder, and whether the level has a SIMD kernel for it
 *
 * The rows are built once from the level tables (vec_*.c), so a level's
 * kernels are named in one place; mul_mat, mul_mat_id, the fused gate/up op,
 * dseek_type_kernel and the loader's repack all choose through
 * ds_cpu_type_ops_get. Adding a weight type is its block format (types.h),
 * its kernels (vec_*.c fields) and one row builder here.
 * (The idea, one per-type record of CPU kernels, is ggml's type_traits_cpu
 * in llama.cpp's ggml-cpu.c; the fields are dseek's own.)
 */
#ifndef DS_KERNELS_TYPE_OPS_H
#define DS_KERNELS_TYPE_OPS_H

#include "kernels/vec.h"

typedef enum ds_tile_kind {
  DS_TILE_NONE = 0,
  DS_TILE_R16,   /* Q8_0 / Q4_0: signed values, one scale per 32-block (DS_GEMM_BLOCK_BYTES) */
  DS_TILE_K,     /* Q4_K / Q5_K: unsigned levels, d sc_j per block, then the dmin term */
  DS_TILE_Q6,    /* Q6_K: two scales per block (DS_GEMM_Q6_BLOCK_BYTES) */
} ds_tile_kind;

typedef struct ds_cpu_type_ops ds_cpu_type_ops;

/* nr <= 16 rows w (row_bytes apart) with K values into the tile at dst;
 * mins: the DS_TILE_K dmin terms (vec.h: ds_gemm_pack_k_r16), else unused. */
typedef void (*ds_tile_pack_fn)(const ds_cpu_type_ops *o, const void *w, size_t row_bytes, int nr, int64_t K,
                                void *dst, float *mins);
/* Tile rows [nt, nt + nr) of an R8 weight (all N rows at base) into the tile
 * (and mins), rows16: scratch for 16 rows back in the plain layout. */
typedef void (*ds_r8_tile_pack_fn)(const ds_cpu_type_ops *o, const void *base, size_t row_bytes, int64_t K,
                                   int64_t N, int64_t nt, int nr, void *dst, float *mins, void *rows16);
/* The tile on AMX for exactly 16 columns (vec_amx.c), the VNNI kernel's bits. */
typedef void (*ds_amx_gemm_fn)(int64_t K, const void *wpack, const void *x, size_t x_stride, float *out,
                               size_t out_stride);
typedef void (*ds_min_term_fn)(int64_t K, const float *mins, const float *ds, size_t ds_stride, int ncols,
                               float *out, size_t os);

struct ds_cpu_type_ops {
  int type;
  const ds_vec_kernels *vk;   /* the level the row belongs to */
  void (*to_float)(const void *src, float *dst, int64_t n);
  bool qa;                    /* activations as QA rows (dot is then an integer dot) */
  ds_vec_dot_fn dot;          /* NULL: decode, then vk->dot_f32 */
  struct {
    ds_tile_kind kind;
    ds_tile_pack_fn pack;
    ds_vec_gemm_fn kernel;
    ds_amx_gemm_fn amx;         /* NULL: the level has no AMX form (use it only when ds_cpu_amx()) */
    ds_min_term_fn min_term;    /* DS_TILE_K: subtracts the dmin term; else NULL */
    size_t block_bytes;         /* packed bytes per 32-value block */
    int min_cols;               /* columns from which the tile beats the dots */
  } tile;
  struct {
    uint32_t flag;              /* DS_TENSOR_Q4_0_R8 / _Q4_K_R8 / _Q6_K_R8, or 0: no R8 layout */
    bool simd;                  /* the level has its own R8 kernel (a repack pays) */
    ds_vec_dot_r8_fn own_dot;   /* the level's R8 dot, or NULL */
    ds_vec_dot_r8_fn dot;       /* own_dot, else the scalar twin */
    int cols;                   /* columns per dot call: DS_R8_COLS (Q4_0) or DS_VEC_COLS */
    ds_vec_dot_r8_fn dot2;      /* two groups per call (vec.h: dot_q4_0_r8x2), or NULL */
    ds_r8_tile_pack_fn tile_pack;
    void (*row_to_float)(const void *w, int64_t K, int64_t N, int64_t n, float *dst);
  } r8;
};

/* The row of a type at level vk (NULL: the scalar table, the level with
 * every kernel, for scratch sizes and the reference's decoders), or NULL for
 * a type dseek cannot compute with. */
const ds_cpu_type_ops *ds_cpu_type_ops_get(const ds_vec_kernels *vk, int type);

/* Whether a product with this weight takes the tile: a tile for the type and
 * at least tile.min_cols activation columns. */
static inline bool ds_cpu_type_tile_pays(const ds_cpu_type_ops *o, int64_t cols)
{
  return o->tile.kind != DS_TILE_NONE && cols >= o->tile.min_cols;
}

/* The level tables the type table is built from (vk of every row), for the
 * completeness test; *n gets their count. */
const ds_vec_kernels *const *ds_cpu_type_ops_levels(int *n);

/* Type ids the table covers: 0 .. DS_TYPE_OPS_IDS - 1 (ggml ids) and
 * DSEEK_TYPE_F8_E4M3. */
#define DS_TYPE_OPS_IDS 40

#endif
