/*
 * kernel_info.c — dseek_type_kernel: which kernel a product with a weight
 * type runs in this process, in words, for `dseek info` and hosts. The level
 * is the one every op reads (cpu.h: the CPU's best, capped by DSEEK_CPU); the
 * choice within it is each op's own (ops_mul_mat.c, ops_moe_mm.c).
 */
#include "dseek.h"
#include "kernels/cpu.h"
#include "kernels/ops.h"
#include "kernels/types.h"
#include "kernels/vec.h"

#include <stdio.h>

dseek_status dseek_type_kernel(int type, int experts, char *buf, size_t size)
{
  if (!buf || !size) return ds_error(DSEEK_ERR_INVALID_ARG, "dseek_type_kernel: buf must not be NULL nor size 0");
  if (!ds_type_traits_get(type)) {
    snprintf(buf, size, "not supported");
    return ds_error(DSEEK_ERR_UNSUPPORTED, "dseek_type_kernel: dseek cannot compute with type %d (%s)", type,
                    dseek_type_name(type));
  }
  const ds_cpu_level level = ds_cpu_level_get();
  const ds_vec_kernels *vk = level == DS_CPU_REFERENCE ? NULL : ds_vec_get(level);
  if (experts) ds_kernel_mul_mat_id_describe(type, vk, buf, size);
  else ds_kernel_mul_mat_describe(type, vk, buf, size);
  return DSEEK_OK;
}
