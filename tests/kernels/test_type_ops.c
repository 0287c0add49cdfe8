/*
 * test_type_ops.c — the CPU type-traits table (kernels/type_ops.h) is
 * complete and consistent at every level this build has: every type with a
 * dot has the entries its paths read (an integer dot has QA activations, a
 * tile has its packer and kernel, an R8 layout its dot, tile packer and row
 * decoder), and the types vec.h promises an integer dot have one.
 */
#include "harness.h"
#include "graph/graph.h"
#include "kernels/type_ops.h"
#include "kernels/types.h"
#include "kernels/vec.h"
#include "levels.h"

#include <string.h>

static const int int_dot_types[] = {
  DSEEK_TYPE_Q8_0,    DSEEK_TYPE_Q4_0,   DSEEK_TYPE_Q5_0,   DSEEK_TYPE_Q4_K,  DSEEK_TYPE_Q5_K,  DSEEK_TYPE_Q6_K,
  DSEEK_TYPE_IQ2_XXS, DSEEK_TYPE_IQ2_XS, DSEEK_TYPE_IQ2_S,  DSEEK_TYPE_IQ3_XXS, DSEEK_TYPE_IQ3_S,
  DSEEK_TYPE_IQ1_S,   DSEEK_TYPE_IQ1_M,  DSEEK_TYPE_IQ4_NL, DSEEK_TYPE_IQ4_XS,
};

static bool in(int type, const int *set, size_t n)
{
  for (size_t i = 0; i < n; i++)
    if (set[i] == type) return true;
  return false;
}

/* One row's entries agree with each other and with its level. */
static void check_row(const ds_vec_kernels *vk, int type, const ds_cpu_type_ops *o)
{
  const char *tn = dseek_type_name(type);
  CHECK_MSG(o->type == type && o->vk == vk, "%s %s: row of another type or level", vk->name, tn);
  CHECK_MSG(o->to_float == ds_type_traits_get(type)->to_float, "%s %s: decode is not the type's", vk->name, tn);
  if (o->qa) {
    CHECK_MSG(o->dot != NULL, "%s %s: QA activations without a dot", vk->name, tn);
    CHECK_MSG(in(type, int_dot_types, DS_ARRAY_LEN(int_dot_types)), "%s %s: QA for a float type", vk->name, tn);
    CHECK_MSG(vk->quantize_qa != NULL, "%s %s: QA without a quantizer", vk->name, tn);
  } else if (o->dot) {
    CHECK_MSG(type == DSEEK_TYPE_F32 || type == DSEEK_TYPE_F16 || type == DSEEK_TYPE_BF16,
              "%s %s: an f32-activation dot for a block type", vk->name, tn);
  }
  if (o->tile.kind == DS_TILE_NONE) {
    CHECK_MSG(!o->tile.pack && !o->tile.kernel && !o->tile.amx && !o->tile.min_term && o->tile.min_cols == 0,
              "%s %s: tile entries without a tile", vk->name, tn);
  } else {
    CHECK_MSG(o->qa, "%s %s: a tile without QA activations", vk->name, tn);
    CHECK_MSG(o->tile.pack && o->tile.kernel, "%s %s: a tile packer without a kernel or back", vk->name, tn);
    CHECK_MSG(o->tile.min_cols >= 1 && o->tile.min_cols > DS_VEC_COLS, "%s %s: tile from %d columns", vk->name, tn,
              o->tile.min_cols);
    CHECK_MSG((o->tile.kind == DS_TILE_K) == (o->tile.min_term != NULL), "%s %s: dmin term and kind disagree",
              vk->name, tn);
    CHECK_MSG(o->tile.block_bytes == (o->tile.kind == DS_TILE_Q6 ? DS_GEMM_Q6_BLOCK_BYTES : DS_GEMM_BLOCK_BYTES),
              "%s %s: tile block bytes %zu", vk->name, tn, o->tile.block_bytes);
    CHECK_MSG(!o->tile.amx || o->tile.amx == vk->amx_gemm_r16x16 || o->tile.amx == vk->amx_gemm_q6_k_r16x16,
              "%s %s: an AMX kernel the level does not have", vk->name, tn);
  }
  if (o->r8.flag) {
    CHECK_MSG(o->r8.dot && o->r8.tile_pack && o->r8.row_to_float, "%s %s: R8 layout without its hooks", vk->name,
              tn);
    CHECK_MSG(!o->qa || o->dot, "%s %s: R8 tail rows without a dot", vk->name, tn);
    CHECK_MSG(!o->qa || !vk->gemm_r16 || o->tile.kind != DS_TILE_NONE, "%s %s: R8 without the level's tile",
              vk->name, tn);
  } else {
    CHECK_MSG(!o->r8.dot && !o->r8.own_dot && !o->r8.tile_pack && !o->r8.row_to_float && !o->r8.simd,
              "%s %s: R8 hooks without an R8 layout", vk->name, tn);
  }
  CHECK_MSG(!o->r8.simd || (o->r8.own_dot && vk != &ds_vec_scalar), "%s %s: a repack without a SIMD R8 kernel",
            vk->name, tn);
}

static void test_complete(void)
{
  int n = 0;
  const ds_vec_kernels *const *levels = ds_cpu_type_ops_levels(&n);
  CHECK(n >= 1 && levels[0] == &ds_vec_scalar);
  int rows = 0;
  for (int l = 0; l < n; l++) {
    for (int t = 0; t <= DS_TYPE_OPS_IDS; t++) {
      const int type = t == DS_TYPE_OPS_IDS ? DSEEK_TYPE_F8_E4M3 : t;
      const ds_cpu_type_ops *o = ds_cpu_type_ops_get(levels[l], type);
      CHECK_MSG((o != NULL) == (ds_type_traits_get(type) != NULL), "%s %s: row and type traits disagree",
                levels[l]->name, dseek_type_name(type));
      if (!o) continue;
      rows++;
      check_row(levels[l], type, o);
    }
    /* vec.h: Q8_0 and Q4_0 have their integer dot at every level, and every
     * plain float type its f32-activation dot */
    CHECK(ds_cpu_type_ops_get(levels[l], DSEEK_TYPE_Q8_0)->qa && ds_cpu_type_ops_get(levels[l], DSEEK_TYPE_Q4_0)->qa);
    CHECK(ds_cpu_type_ops_get(levels[l], DSEEK_TYPE_F32)->dot && ds_cpu_type_ops_get(levels[l], DSEEK_TYPE_F16)->dot &&
          ds_cpu_type_ops_get(levels[l], DSEEK_TYPE_BF16)->dot);
  }
  CHECK(rows > 0);
  /* the scalar level holds every kernel: each integer-dot type dots QA rows,
   * the tiled types have their tiles, and Q4_0 / Q4_K / Q6_K their R8 layouts */
  for (size_t i = 0; i < DS_ARRAY_LEN(int_dot_types); i++)
    CHECK_MSG(ds_cpu_type_ops_get(&ds_vec_scalar, int_dot_types[i])->qa, "scalar %s: no integer dot",
              dseek_type_name(int_dot_types[i]));
  CHECK(ds_cpu_type_ops_get(&ds_vec_scalar, DSEEK_TYPE_Q8_0)->tile.kind == DS_TILE_R16);
  CHECK(ds_cpu_type_ops_get(&ds_vec_scalar, DSEEK_TYPE_Q5_K)->tile.kind == DS_TILE_K);
  CHECK(ds_cpu_type_ops_get(&ds_vec_scalar, DSEEK_TYPE_Q6_K)->tile.kind == DS_TILE_Q6);
  CHECK(ds_cpu_type_ops_get(&ds_vec_scalar, DSEEK_TYPE_Q4_0)->r8.flag != 0);
  CHECK(ds_cpu_type_ops_get(&ds_vec_scalar, DSEEK_TYPE_Q4_K)->r8.flag != 0);
  CHECK(ds_cpu_type_ops_get(&ds_vec_scalar, DSEEK_TYPE_Q6_K)->r8.flag == DS_TENSOR_Q6_K_R8);
  /* Q2_K and Q3_K are decoded to f32 rows; ids without a format have no row */
  CHECK(!ds_cpu_type_ops_get(&ds_vec_scalar, DSEEK_TYPE_Q2_K)->dot);
  CHECK(!ds_cpu_type_ops_get(&ds_vec_scalar, DSEEK_TYPE_Q3_K)->dot);
  CHECK(ds_cpu_type_ops_get(&ds_vec_scalar, 4) == NULL && ds_cpu_type_ops_get(&ds_vec_scalar, -1) == NULL);
  CHECK(ds_cpu_type_ops_get(NULL, DSEEK_TYPE_Q4_K) == ds_cpu_type_ops_get(&ds_vec_scalar, DSEEK_TYPE_Q4_K));
  /* each level this host runs is in the table */
  const ds_cpu_level top = ds_test_levels();
  for (int l = DS_CPU_SCALAR; l <= (int)top; l++)
    CHECK_MSG(ds_cpu_type_ops_get(ds_vec_get((ds_cpu_level)l), DSEEK_TYPE_Q8_0) != NULL, "level %s not in the table",
              ds_cpu_level_name((ds_cpu_level)l));
}

int main(void)
{
  RUN(test_complete);
  return DS_TEST_RESULT();
}
