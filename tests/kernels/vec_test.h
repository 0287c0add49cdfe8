/*
 * vec_test.h — helpers the kernel tests share: a xorshift generator (each
 * test file its own state, the same seed) and a level's dot for a weight type.
 */
#ifndef DS_TESTS_VEC_TEST_H
#define DS_TESTS_VEC_TEST_H

#include "kernels/vec.h"
#include "dseek.h"

#include <stdint.h>

static uint64_t rng = 0x243F6A8885A308D3ull;
static uint32_t rng_u32(void)
{
  rng ^= rng << 13;
  rng ^= rng >> 7;
  rng ^= rng << 17;
  return (uint32_t)(rng >> 16);
}
/* uniform in [-1, 1) */
static float frand(void) { return (float)rng_u32() / 2147483648.0f - 1.0f; }

static ds_vec_dot_fn dot_of(const ds_vec_kernels *vk, int type)
{
  switch (type) {
  case DSEEK_TYPE_Q8_0: return vk->dot_q8_0;
  case DSEEK_TYPE_Q4_0: return vk->dot_q4_0;
  case DSEEK_TYPE_Q4_K: return vk->dot_q4_k;
  case DSEEK_TYPE_Q5_K: return vk->dot_q5_k;
  case DSEEK_TYPE_Q6_K: return vk->dot_q6_k;
  case DSEEK_TYPE_F32: return vk->dot_f32;
  case DSEEK_TYPE_F16: return vk->dot_f16;
  default: return vk->dot_bf16;
  }
}

#endif
