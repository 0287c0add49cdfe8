/* ops_copy.c — kernels that move data: get_rows (embedding lookup), cpy and
 * set_rows (writes into a destination such as the KV cache), cont, concat. */
#include "kernels/fp8.h"
#include "kernels/ops.h"
#include "kernels/types.h"

#include <string.h>

/* Row r of a tensor with ne1 x ne2 x ne3 rows -> (i1, i2, i3). */
static inline void row_coords(const ds_tensor *t, int64_t r, int64_t *i1, int64_t *i2, int64_t *i3)
{
  *i1 = r % t->ne[1];
  *i2 = (r / t->ne[1]) % t->ne[2];
  *i3 = r / (t->ne[1] * t->ne[2]);
}

/* Store one f32 value as type (block size 1). */
static inline void store_value(const ds_type_traits *tr, int type, float x, void *dst)
{
  switch (type) {
  case DSEEK_TYPE_F32: memcpy(dst, &x, 4); break;
  case DSEEK_TYPE_F16: { uint16_t h = ds_f32_to_f16(x); memcpy(dst, &h, 2); break; }
  case DSEEK_TYPE_BF16: { uint16_t h = ds_f32_to_bf16(x); memcpy(dst, &h, 2); break; }
  default: tr->from_float(&x, dst, 1); break;
  }
}

/* dst[:, i] = decode(w[:, ids[i]]); an FP8 table with a scale grid (src[2])
 * decodes with the scales of the row's 128-row block (fp8.h). */
void ds_kernel_get_rows(const ds_kernel_params *p, ds_tensor *dst)
{
  const ds_tensor *w = dst->src[0], *ids = dst->src[1], *scale = dst->src[2];
  const ds_type_traits *tr = ds_type_traits_get(w->type);
  const int32_t *id = ids->data;
  int64_t r0, r1;
  ds_kernel_rows(dst->ne[1], p->ith, p->nth, &r0, &r1);
  for (int64_t r = r0; r < r1; r++) {
    float *out = ds_tensor_ptr(dst, 0, r, 0, 0);
    if (id[r] < 0 || id[r] >= w->ne[1]) {
      ds_kernel_fail(p, dst, id[r]);
      memset(out, 0, (size_t)dst->ne[0] * sizeof *out);
      continue;
    }
    if (scale)
      ds_fp8_dequant_row(ds_tensor_ptr(w, 0, id[r], 0, 0),
                         (const float *)scale->data + (id[r] / DS_FP8_BLOCK) * scale->ne[0], w->ne[0], out);
    else
      tr->to_float(ds_tensor_ptr(w, 0, id[r], 0, 0), out, w->ne[0]);
  }
}

/* dst = convert(src), element by element (any strides), or row by row into a
 * block type. */
void ds_kernel_cpy(const ds_kernel_params *p, ds_tensor *dst)
{
  const ds_tensor *src = dst->src[0];
  const ds_type_traits *tr = ds_type_traits_get(dst->type);
  int64_t r0, r1;
  ds_kernel_rows(ds_tensor_nrows(dst), p->ith, p->nth, &r0, &r1);
  for (int64_t r = r0; r < r1; r++) {
    int64_t i1, i2, i3;
    row_coords(dst, r, &i1, &i2, &i3);
    const char *s = ds_tensor_ptr(src, 0, i1, i2, i3);
    char *d = ds_tensor_ptr(dst, 0, i1, i2, i3);
    if (tr->block_size != 1) {
      tr->from_float((const float *)s, d, dst->ne[0]);
      continue;
    }
    for (int64_t i0 = 0; i0 < dst->ne[0]; i0++) {
      float x;
      memcpy(&x, s + i0 * (int64_t)src->nb[0], 4);
      store_value(tr, dst->type, x, d + i0 * (int64_t)dst->nb[0]);
    }
  }
}

/* dst[:, i1, slots[i2]] = convert(src[:, i1, i2]). If a slot repeats, the last
 * occurrence wins, so the result does not depend on thread timing. */
void ds_kernel_set_rows(const ds_kernel_params *p, ds_tensor *dst)
{
  const ds_tensor *src = dst->src[0], *slots = dst->src[2];
  const ds_type_traits *tr = ds_type_traits_get(dst->type);
  const int32_t *slot = slots->data;
  int64_t n = src->ne[2], r0, r1;
  ds_kernel_rows(src->ne[1] * n, p->ith, p->nth, &r0, &r1);
  for (int64_t r = r0; r < r1; r++) {
    int64_t i1 = r % src->ne[1], i2 = r / src->ne[1];
    if (slot[i2] < 0 || slot[i2] >= dst->ne[2]) {
      ds_kernel_fail(p, dst, slot[i2]);
      continue;
    }
    bool overwritten = false;
    for (int64_t j = i2 + 1; j < n && !overwritten; j++) overwritten = slot[j] == slot[i2];
    if (overwritten) continue;
    tr->from_float(ds_tensor_ptr(src, 0, i1, i2, 0), ds_tensor_ptr(dst, 0, i1, slot[i2], 0),
                   dst->ne[0]);
  }
}

/* dst = src laid out contiguously. */
void ds_kernel_cont(const ds_kernel_params *p, ds_tensor *dst)
{
  const ds_tensor *src = dst->src[0];
  int64_t r0, r1;
  ds_kernel_rows(ds_tensor_nrows(dst), p->ith, p->nth, &r0, &r1);
  for (int64_t r = r0; r < r1; r++) {
    int64_t i1, i2, i3;
    row_coords(dst, r, &i1, &i2, &i3);
    const char *s = ds_tensor_ptr(src, 0, i1, i2, i3);
    float *d = ds_tensor_ptr(dst, 0, i1, i2, i3);
    for (int64_t i0 = 0; i0 < dst->ne[0]; i0++) memcpy(&d[i0], s + i0 * (int64_t)src->nb[0], 4);
  }
}

/* dst = [a ; b] along dim: index i along dim reads a[i] if i < a.ne[dim],
 * else b[i - a.ne[dim]]. */
void ds_kernel_concat(const ds_kernel_params *p, ds_tensor *dst)
{
  const ds_tensor *a = dst->src[0], *b = dst->src[1];
  int dim = dst->p.concat.dim;
  int64_t r0, r1;
  ds_kernel_rows(ds_tensor_nrows(dst), p->ith, p->nth, &r0, &r1);
  if (dim == 0 && a->nb[0] == 4 && b->nb[0] == 4) {   /* rows [a row ; b row]: two copies */
    for (int64_t r = r0; r < r1; r++) {
      int64_t i1, i2, i3;
      row_coords(dst, r, &i1, &i2, &i3);
      float *d = ds_tensor_ptr(dst, 0, i1, i2, i3);
      memcpy(d, ds_tensor_ptr(a, 0, i1, i2, i3), (size_t)a->ne[0] * 4);
      memcpy(d + a->ne[0], ds_tensor_ptr(b, 0, i1, i2, i3), (size_t)b->ne[0] * 4);
    }
    return;
  }
  for (int64_t r = r0; r < r1; r++) {
    int64_t i[4];
    row_coords(dst, r, &i[1], &i[2], &i[3]);
    float *d = ds_tensor_ptr(dst, 0, i[1], i[2], i[3]);
    for (i[0] = 0; i[0] < dst->ne[0]; i[0]++) {
      const ds_tensor *s = a;
      int64_t j[4] = {i[0], i[1], i[2], i[3]};
      if (j[dim] >= a->ne[dim]) {
        s = b;
        j[dim] -= a->ne[dim];
      }
      memcpy(&d[i[0]], ds_tensor_ptr(s, j[0], j[1], j[2], j[3]), 4);
    }
  }
}
