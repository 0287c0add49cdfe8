/* type_ops.c — the CPU type-traits table (type_ops.h), built once from the
 * level tables of vec_*.c. */
#include "kernels/type_ops.h"
#include "kernels/ops.h"
#include "kernels/q4_0_r8.h"
#include "kernels/q4_k_r8.h"
#include "kernels/q6_k_r8.h"
#include "kernels/types.h"

#include <stdatomic.h>

/* Columns from which products take the GEMM tile: packing (a transpose of
 * 16 rows) is paid once per 16 rows, so it pays off over a batch; for fewer
 * columns the integer dots read the rows as they are and are faster
 * (CHANGELOG.md has the measurements). The MoE tile (ops_moe_mm.c) reads
 * the same bound, so decode, drafts, verify batches and up to 15 parallel
 * samples all take the dots and give each column the bits it has alone. */
#define DS_TILE_MIN_COLS 16

/* ---- tile packers, one signature for every kind ---------------------------- */

static void pack_r16(const ds_cpu_type_ops *o, const void *w, size_t rb, int nr, int64_t K, void *dst, float *mins)
{
  (void)mins;
  o->vk->pack_r16(o->type, w, rb, nr, K, dst);
}

static void pack_k(const ds_cpu_type_ops *o, const void *w, size_t rb, int nr, int64_t K, void *dst, float *mins)
{
  (o->vk->pack_k_r16 ? o->vk->pack_k_r16 : ds_gemm_pack_k_r16)(o->type, w, rb, nr, K, dst, mins);
}

static void pack_q6(const ds_cpu_type_ops *o, const void *w, size_t rb, int nr, int64_t K, void *dst, float *mins)
{
  (void)mins;
  (o->vk->pack_q6_k_r16 ? o->vk->pack_q6_k_r16 : ds_gemm_pack_q6_k_r16)(w, rb, nr, K, dst);
}

/* ---- R8 tile packers: the level's SIMD packer takes two whole groups ------- */

static bool whole_groups(int64_t N, int64_t nt, int nr)
{
  return nr == DS_GEMM_ROWS && nt + DS_GEMM_ROWS <= N - N % DS_R8_ROWS;
}

static void r8_pack_q4_0(const ds_cpu_type_ops *o, const void *base, size_t rb, int64_t K, int64_t N, int64_t nt,
                         int nr, void *dst, float *mins, void *rows16)
{
  (void)mins;
  if (o->vk->pack_q4_0_r8_r16 && whole_groups(N, nt, nr))
    o->vk->pack_q4_0_r8_r16((const char *)base + (size_t)nt * rb, rb, K, dst);
  else ds_q4_0_r8_pack_r16(base, K, N, nt, nr, dst, rows16);
}

static void r8_pack_q4_k(const ds_cpu_type_ops *o, const void *base, size_t rb, int64_t K, int64_t N, int64_t nt,
                         int nr, void *dst, float *mins, void *rows16)
{
  if (o->vk->pack_q4_k_r8_r16 && whole_groups(N, nt, nr))
    o->vk->pack_q4_k_r8_r16((const char *)base + (size_t)nt * rb, rb, K, dst, mins);
  else ds_q4_k_r8_pack_r16(base, K, N, nt, nr, dst, mins, rows16);
}

static void r8_pack_q6_k(const ds_cpu_type_ops *o, const void *base, size_t rb, int64_t K, int64_t N, int64_t nt,
                         int nr, void *dst, float *mins, void *rows16)
{
  (void)mins;
  if (o->vk->pack_q6_k_r8_r16 && whole_groups(N, nt, nr))
    o->vk->pack_q6_k_r8_r16((const char *)base + (size_t)nt * rb, rb, K, dst);
  else ds_q6_k_r8_pack_r16(base, K, N, nt, nr, dst, rows16);
}

/* ---- one row ------------------------------------------------------------ */

static bool is_int_dot_type(int type)
{
  return type == DSEEK_TYPE_Q8_0 || type == DSEEK_TYPE_Q4_0 || type == DSEEK_TYPE_Q5_0 || type == DSEEK_TYPE_Q4_K ||
         type == DSEEK_TYPE_Q5_K || type == DSEEK_TYPE_Q6_K || ds_vec_iq_index(type) >= 0;
}

static ds_vec_dot_fn level_dot(const ds_vec_kernels *vk, int type)
{
  switch (type) {
  case DSEEK_TYPE_Q8_0: return vk->dot_q8_0;
  case DSEEK_TYPE_Q4_0: return vk->dot_q4_0;
  case DSEEK_TYPE_Q5_0: return vk->dot_q5_0;
  case DSEEK_TYPE_Q4_K: return vk->dot_q4_k;
  case DSEEK_TYPE_Q5_K: return vk->dot_q5_k;
  case DSEEK_TYPE_Q6_K: return vk->dot_q6_k;
  case DSEEK_TYPE_F32: return vk->dot_f32;
  case DSEEK_TYPE_F16: return vk->dot_f16;
  case DSEEK_TYPE_BF16: return vk->dot_bf16;
  default: {
    const int i = ds_vec_iq_index(type);
    return i >= 0 ? vk->dot_iq[i] : NULL;
  }
  }
}

static void set_tile(ds_cpu_type_ops *o)
{
  const ds_vec_kernels *vk = o->vk;
  if (!o->qa || !vk->gemm_r16) return;   /* a level without tiles uses the dots */
  switch (o->type) {
  case DSEEK_TYPE_Q8_0:
  case DSEEK_TYPE_Q4_0:
    if (!vk->pack_r16) return;
    o->tile.kind = DS_TILE_R16;
    o->tile.pack = pack_r16;
    o->tile.kernel = vk->gemm_r16;
    o->tile.amx = vk->amx_gemm_r16x16;
    o->tile.block_bytes = DS_GEMM_BLOCK_BYTES;
    break;
  case DSEEK_TYPE_Q4_K:
  case DSEEK_TYPE_Q5_K:
    o->tile.kind = DS_TILE_K;
    o->tile.pack = pack_k;
    o->tile.kernel = vk->gemm_r16;
    o->tile.amx = vk->amx_gemm_r16x16;
    o->tile.min_term = vk->gemm_min_term ? vk->gemm_min_term : ds_gemm_min_term;
    o->tile.block_bytes = DS_GEMM_BLOCK_BYTES;
    break;
  case DSEEK_TYPE_Q6_K:
    o->tile.kind = DS_TILE_Q6;
    o->tile.pack = pack_q6;
    o->tile.kernel = vk->gemm_q6_k_r16 ? vk->gemm_q6_k_r16 : ds_gemm_q6_k_r16;
    o->tile.amx = vk->amx_gemm_q6_k_r16x16;
    o->tile.block_bytes = DS_GEMM_Q6_BLOCK_BYTES;
    break;
  default: return;
  }
  o->tile.min_cols = DS_TILE_MIN_COLS;
}

static void set_r8(ds_cpu_type_ops *o)
{
  const ds_vec_kernels *vk = o->vk;
  if (o->type == DSEEK_TYPE_Q4_0) {
    o->r8.flag = DS_TENSOR_Q4_0_R8;
    o->r8.own_dot = vk->dot_q4_0_r8;
    o->r8.dot = vk->dot_q4_0_r8 ? vk->dot_q4_0_r8 : ds_vec_scalar.dot_q4_0_r8;
    o->r8.cols = DS_R8_COLS;
    o->r8.dot2 = vk->dot_q4_0_r8 ? vk->dot_q4_0_r8x2 : NULL;
    o->r8.tile_pack = r8_pack_q4_0;
    o->r8.row_to_float = ds_q4_0_r8_row_to_float;
  } else if (o->type == DSEEK_TYPE_Q4_K) {
    o->r8.flag = DS_TENSOR_Q4_K_R8;
    o->r8.own_dot = vk->dot_q4_k_r8;
    o->r8.dot = vk->dot_q4_k_r8 ? vk->dot_q4_k_r8 : ds_vec_scalar.dot_q4_k_r8;
    o->r8.cols = DS_VEC_COLS;
    o->r8.tile_pack = r8_pack_q4_k;
    o->r8.row_to_float = ds_q4_k_r8_row_to_float;
  } else if (o->type == DSEEK_TYPE_Q6_K) {
    o->r8.flag = DS_TENSOR_Q6_K_R8;
    o->r8.own_dot = vk->dot_q6_k_r8;
    o->r8.dot = vk->dot_q6_k_r8 ? vk->dot_q6_k_r8 : ds_vec_scalar.dot_q6_k_r8;
    o->r8.cols = DS_VEC_COLS;
    o->r8.tile_pack = r8_pack_q6_k;
    o->r8.row_to_float = ds_q6_k_r8_row_to_float;
  }
}

static void build_row(ds_cpu_type_ops *o, const ds_vec_kernels *vk, int type)
{
  const ds_type_traits *tr = ds_type_traits_get(type);
  if (!tr) return;   /* to_float stays NULL: not a type dseek computes with */
  o->type = type;
  o->vk = vk;
  o->to_float = tr->to_float;
  o->dot = level_dot(vk, type);
  o->qa = o->dot && is_int_dot_type(type);
  set_tile(o);
  set_r8(o);
  o->r8.simd = o->r8.own_dot && vk != &ds_vec_scalar;
}

/* ---- the table ---------------------------------------------------------- */

static const ds_vec_kernels *const levels[] = {
  &ds_vec_scalar,
#ifdef DS_VEC_X86
  &ds_vec_avx2, &ds_vec_avx512,
#endif
#ifdef DS_VEC_NEON
  &ds_vec_neon, &ds_vec_neon_dotprod,
#endif
};
#define N_LEVELS (sizeof levels / sizeof levels[0])

/* ids 0 .. DS_TYPE_OPS_IDS - 1, then F8_E4M3 */
static ds_cpu_type_ops table[N_LEVELS][DS_TYPE_OPS_IDS + 1];
/* 0: not built, 1: a thread is building it, 2: built (release / acquire) */
static atomic_int table_state;

static int slot(int type)
{
  if (type == DSEEK_TYPE_F8_E4M3) return DS_TYPE_OPS_IDS;
  return type >= 0 && type < DS_TYPE_OPS_IDS ? type : -1;
}

/* Built by the first caller (a few microseconds); a caller arriving while
 * it builds waits for it. */
static void build_table(void)
{
  if (atomic_load_explicit(&table_state, memory_order_acquire) == 2) return;
  int expect = 0;
  if (atomic_compare_exchange_strong_explicit(&table_state, &expect, 1, memory_order_acquire,
                                              memory_order_acquire)) {
    for (size_t l = 0; l < N_LEVELS; l++) {
      for (int t = 0; t < DS_TYPE_OPS_IDS; t++) build_row(&table[l][t], levels[l], t);
      build_row(&table[l][DS_TYPE_OPS_IDS], levels[l], DSEEK_TYPE_F8_E4M3);
    }
    atomic_store_explicit(&table_state, 2, memory_order_release);
    return;
  }
  while (atomic_load_explicit(&table_state, memory_order_acquire) != 2) {
  }
}

const ds_cpu_type_ops *ds_cpu_type_ops_get(const ds_vec_kernels *vk, int type)
{
  const int s = slot(type);
  if (s < 0) return NULL;
  build_table();
  if (!vk) vk = &ds_vec_scalar;
  for (size_t l = 0; l < N_LEVELS; l++)
    if (levels[l] == vk) return table[l][s].to_float ? &table[l][s] : NULL;
  return NULL;
}

const ds_vec_kernels *const *ds_cpu_type_ops_levels(int *n)
{
  *n = (int)N_LEVELS;
  return levels;
}
