/* ops_unary.c — elementwise kernels: add and mul (with broadcast), scale, silu,
 * swiglu. Sources may have any strides; the output is contiguous f32. */
#include "kernels/ops.h"

#include <math.h>
#include <string.h>

static inline float load(const ds_tensor *t, int64_t i0, int64_t i1, int64_t i2, int64_t i3)
{
  float x;
  memcpy(&x, ds_tensor_ptr(t, i0, i1, i2, i3), 4);
  return x;
}

static inline void dst_row(const ds_tensor *dst, int64_t r, int64_t *i1, int64_t *i2, int64_t *i3)
{
  *i1 = r % dst->ne[1];
  *i2 = (r / dst->ne[1]) % dst->ne[2];
  *i3 = r / (dst->ne[1] * dst->ne[2]);
}

/* c = a (op) b with b repeated: b index = a index mod b.ne in every dim. */
static void binary(const ds_kernel_params *p, ds_tensor *dst, bool is_mul)
{
  const ds_tensor *a = dst->src[0], *b = dst->src[1];
  int64_t r0, r1;
  ds_kernel_rows(ds_tensor_nrows(dst), p->ith, p->nth, &r0, &r1);
  for (int64_t r = r0; r < r1; r++) {
    int64_t i1, i2, i3;
    dst_row(dst, r, &i1, &i2, &i3);
    int64_t j1 = i1 % b->ne[1], j2 = i2 % b->ne[2], j3 = i3 % b->ne[3];
    float *c = ds_tensor_ptr(dst, 0, i1, i2, i3);
    for (int64_t i0 = 0; i0 < dst->ne[0]; i0++) {
      float x = load(a, i0, i1, i2, i3), y = load(b, i0 % b->ne[0], j1, j2, j3);
      c[i0] = is_mul ? x * y : x + y;
    }
  }
}

void ds_kernel_add(const ds_kernel_params *p, ds_tensor *dst) { binary(p, dst, false); }
void ds_kernel_mul(const ds_kernel_params *p, ds_tensor *dst) { binary(p, dst, true); }

/* y = s * x */
void ds_kernel_scale(const ds_kernel_params *p, ds_tensor *dst)
{
  const ds_tensor *a = dst->src[0];
  float s = dst->p.scale.s;
  int64_t r0, r1;
  ds_kernel_rows(ds_tensor_nrows(dst), p->ith, p->nth, &r0, &r1);
  for (int64_t r = r0; r < r1; r++) {
    int64_t i1, i2, i3;
    dst_row(dst, r, &i1, &i2, &i3);
    float *y = ds_tensor_ptr(dst, 0, i1, i2, i3);
    for (int64_t i0 = 0; i0 < dst->ne[0]; i0++) y[i0] = s * load(a, i0, i1, i2, i3);
  }
}

/* silu(x) = x * sigmoid(x) = x / (1 + e^-x) */
static inline float silu(float x) { return x / (1.0f + expf(-x)); }

void ds_kernel_silu(const ds_kernel_params *p, ds_tensor *dst)
{
  const ds_tensor *a = dst->src[0];
  int64_t r0, r1;
  ds_kernel_rows(ds_tensor_nrows(dst), p->ith, p->nth, &r0, &r1);
  for (int64_t r = r0; r < r1; r++) {
    int64_t i1, i2, i3;
    dst_row(dst, r, &i1, &i2, &i3);
    float *y = ds_tensor_ptr(dst, 0, i1, i2, i3);
    for (int64_t i0 = 0; i0 < dst->ne[0]; i0++) y[i0] = silu(load(a, i0, i1, i2, i3));
  }
}

/* SwiGLU MLP middle: y = silu(gate) * up */
void ds_kernel_swiglu(const ds_kernel_params *p, ds_tensor *dst)
{
  const ds_tensor *gate = dst->src[0], *up = dst->src[1];
  int64_t r0, r1;
  ds_kernel_rows(ds_tensor_nrows(dst), p->ith, p->nth, &r0, &r1);
  for (int64_t r = r0; r < r1; r++) {
    int64_t i1, i2, i3;
    dst_row(dst, r, &i1, &i2, &i3);
    float *y = ds_tensor_ptr(dst, 0, i1, i2, i3);
    for (int64_t i0 = 0; i0 < dst->ne[0]; i0++)
      y[i0] = silu(load(gate, i0, i1, i2, i3)) * load(up, i0, i1, i2, i3);
  }
}
