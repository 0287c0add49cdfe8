/* ops.c — kernel dispatch, scratch needs, and helpers shared by the kernels. */
#include "kernels/ops.h"
#include "kernels/ops_attn.h"
#include "kernels/types.h"

void ds_kernel_fail(const ds_kernel_params *p, const ds_tensor *node, int64_t value)
{
  int expected = 0;
  if (atomic_compare_exchange_strong(&p->error->set, &expected, 1)) {
    p->error->node = node;
    p->error->value = value;
  }
}

float ds_dot_f32(const float *x, const float *y, int64_t n)
{
  float sum = 0.0f;
  for (int64_t i = 0; i < n; i++) sum += x[i] * y[i];
  return sum;
}

size_t ds_kernel_scratch_floats(const ds_tensor *node)
{
  switch (node->op) {
  case DS_OP_MUL_MAT:
    return ds_kernel_mul_mat_scratch_floats(node);
  case DS_OP_MUL_MAT_ID:
  case DS_OP_MUL_MAT_ID_SWIGLU:
    /* two decoded weight rows, then (as int32) expert offsets [E + 1] and the
     * (slot, token) pairs [k * T] grouped by expert, then QA input rows */
    return ds_kernel_mul_mat_id_scratch_floats(node);
  case DS_OP_MOE_ROUTE:
    /* scores [E], group scores [G], kept groups [G] (int32) */
    return (size_t)(node->src[0]->ne[0] + 2 * node->p.moe.n_group);
  case DS_OP_MOE_WEIGHTS:
    return (size_t)node->src[0]->ne[0];
  case DS_OP_ATTN:
    /* reference: scores over the context, one decoded k row, one decoded v
     * row; or the blocked kernel's (the level may change after planning) */
    return DS_MAX((size_t)(node->src[1]->ne[2] + node->src[1]->ne[0] + node->src[2]->ne[0]),
                  ds_kernel_attn_blocked_scratch_floats(node));
  default:
    return 0;
  }
}

void ds_kernel_run(const ds_kernel_params *p, ds_tensor *node)
{
  switch (node->op) {
  case DS_OP_GET_ROWS: ds_kernel_get_rows(p, node); break;
  case DS_OP_MUL_MAT: ds_kernel_mul_mat(p, node); break;
  case DS_OP_ADD: ds_kernel_add(p, node); break;
  case DS_OP_MUL: ds_kernel_mul(p, node); break;
  case DS_OP_SCALE: ds_kernel_scale(p, node); break;
  case DS_OP_RMS_NORM: ds_kernel_rms_norm(p, node); break;
  case DS_OP_ROPE: ds_kernel_rope(p, node); break;
  case DS_OP_SOFTMAX: ds_kernel_softmax(p, node); break;
  case DS_OP_SILU: ds_kernel_silu(p, node); break;
  case DS_OP_SWIGLU: ds_kernel_swiglu(p, node); break;
  case DS_OP_TOP_K: ds_kernel_top_k(p, node); break;
  case DS_OP_CPY: ds_kernel_cpy(p, node); break;
  case DS_OP_SET_ROWS: ds_kernel_set_rows(p, node); break;
  case DS_OP_CONT: ds_kernel_cont(p, node); break;
  case DS_OP_CONCAT: ds_kernel_concat(p, node); break;
  case DS_OP_ATTN: ds_kernel_attn(p, node); break;
  case DS_OP_MUL_MAT_ID: ds_kernel_mul_mat_id(p, node); break;
  case DS_OP_MUL_MAT_ID_SWIGLU: ds_kernel_mul_mat_id_swiglu(p, node); break;
  case DS_OP_MOE_ROUTE: ds_kernel_moe_route(p, node); break;
  case DS_OP_MOE_WEIGHTS: ds_kernel_moe_weights(p, node); break;
  case DS_OP_MOE_SUM: ds_kernel_moe_sum(p, node); break;
  case DS_OP_NONE:
  case DS_OP_VIEW:
  case DS_OP_COUNT:
    break;
  }
}
