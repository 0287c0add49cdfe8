/*
 * quants_iq.c — decoding of the GGUF IQ weight types (IQ1_S .. IQ4_XS),
 * bit-exact with ggml's dequantize_row_iq* (quants_iq.h gives the layouts and
 * why x_i = (f m) v_i is ggml's arithmetic). Decode only: dseek reads files
 * quantized by llama.cpp and does not write these types.
 */
#include "kernels/quants_iq.h"

static const ds_iq_format formats[] = {
  {DSEEK_TYPE_IQ2_XXS, 256, 66, ds_iq2_xxs_unpack}, {DSEEK_TYPE_IQ2_XS, 256, 74, ds_iq2_xs_unpack},
  {DSEEK_TYPE_IQ2_S, 256, 82, ds_iq2_s_unpack},     {DSEEK_TYPE_IQ3_XXS, 256, 98, ds_iq3_xxs_unpack},
  {DSEEK_TYPE_IQ3_S, 256, 110, ds_iq3_s_unpack},    {DSEEK_TYPE_IQ1_S, 256, 50, ds_iq1_s_unpack},
  {DSEEK_TYPE_IQ1_M, 256, 56, ds_iq1_m_unpack},     {DSEEK_TYPE_IQ4_NL, 32, 18, ds_iq4_nl_unpack},
  {DSEEK_TYPE_IQ4_XS, 256, 136, ds_iq4_xs_unpack},
};

const ds_iq_format *ds_iq_format_get(int type)
{
  for (size_t i = 0; i < DS_ARRAY_LEN(formats); i++)
    if (formats[i].type == type) return &formats[i];
  return NULL;
}

static void iq_to_float(const ds_iq_format *fm, const void *src, float *y, int64_t n)
{
  const uint8_t *sb = src;
  for (int64_t i = 0; i < n / fm->values; i++, sb += fm->bytes) {
    for (int j = 0; j < fm->values / 32; j++, y += 32) {
      int8_t v[32];
      int32_t m[2];
      const float f = fm->unpack(sb, j, v, m);
      const float dl[2] = {f * (float)m[0], f * (float)m[1]};
      for (int k = 0; k < 32; k++) y[k] = dl[k / 16] * (float)v[k];
    }
  }
}

#define IQ_TRAITS(var, nm, values, size, fmt_index)                                                    \
  static void var##_to_float(const void *src, float *y, int64_t n) { iq_to_float(&formats[fmt_index], src, y, n); } \
  static const ds_type_traits var = {.name = nm, .block_size = values, .type_size = size,             \
                                     .is_quantized = true, .to_float = var##_to_float}
IQ_TRAITS(iq2_xxs, "IQ2_XXS", 256, 66, 0);
IQ_TRAITS(iq2_xs, "IQ2_XS", 256, 74, 1);
IQ_TRAITS(iq2_s, "IQ2_S", 256, 82, 2);
IQ_TRAITS(iq3_xxs, "IQ3_XXS", 256, 98, 3);
IQ_TRAITS(iq3_s, "IQ3_S", 256, 110, 4);
IQ_TRAITS(iq1_s, "IQ1_S", 256, 50, 5);
IQ_TRAITS(iq1_m, "IQ1_M", 256, 56, 6);
IQ_TRAITS(iq4_nl, "IQ4_NL", 32, 18, 7);
IQ_TRAITS(iq4_xs, "IQ4_XS", 256, 136, 8);
#undef IQ_TRAITS

const ds_type_traits *ds_quant_iq_traits(int type)
{
  switch (type) {
  case DSEEK_TYPE_IQ2_XXS: return &iq2_xxs;
  case DSEEK_TYPE_IQ2_XS: return &iq2_xs;
  case DSEEK_TYPE_IQ2_S: return &iq2_s;
  case DSEEK_TYPE_IQ3_XXS: return &iq3_xxs;
  case DSEEK_TYPE_IQ3_S: return &iq3_s;
  case DSEEK_TYPE_IQ1_S: return &iq1_s;
  case DSEEK_TYPE_IQ1_M: return &iq1_m;
  case DSEEK_TYPE_IQ4_NL: return &iq4_nl;
  case DSEEK_TYPE_IQ4_XS: return &iq4_xs;
  default: return NULL;
  }
}
