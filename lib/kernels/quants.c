/* quants.c — the GGUF block quantization formats that dseek computes with:
 * the 32-value blocks (quant_blocks.c) and the K-quant super-blocks
 * (quants_k.c) and the IQ family (quants_iq.c, decode only). The repacked
 * types are not supported. */
#include "kernels/quants.h"
#include "kernels/quants_iq.h"

const ds_type_traits *ds_quant_traits(int type)
{
  const ds_type_traits *t = ds_quant_block32_traits(type);
  if (!t) t = ds_quant_k_traits(type);
  return t ? t : ds_quant_iq_traits(type);
}
