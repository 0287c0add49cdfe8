/* quants.c — the table of GGUF block quantization formats. The 32-value
 * blocks live in quant_blocks.c; the 256-value K-quant super-blocks are added
 * here as they are implemented. */
#include "kernels/types.h"

const ds_type_traits *ds_quant_traits(int type);
const ds_type_traits *ds_quant_block32_traits(int type);

const ds_type_traits *ds_quant_traits(int type)
{
  return ds_quant_block32_traits(type);
}
