/*
 * ops_moe_mm.c — the grouped expert product of DeepSeekMoE (lib/models/README.md §1.6):
 * mul_mat_id, and mul_mat_id_swiglu, the routed experts' gate and up
 * products fused with the SwiGLU between them (without ids: one dense or
 * shared FFN, every token on the one "expert", k = 1, ds_op_mul_mat_swiglu):
 *
 *   mul_mat_id         out[:, j, t] = W_e x_jt                    e = ids[j, t]
 *   mul_mat_id_swiglu  out[:, j, t] = silu(G_e x_jt) * (U_e x_jt)
 *                      x_jt = x[:, j % X1, t], silu(g) = g / (1 + e^-g)
 *
 * The fused op reads each expert's inputs once for both matrices and leaves
 * out the two [N, k, T] tensors and the swiglu pass over them. Its g and u
 * are the floats mul_mat_id gives and silu(g) * u is the expression of
 * ops_unary.c's swiglu, so it equals swiglu(mul_mat_id(G), mul_mat_id(U)) bit
 * for bit at every level.
 *
 * Every thread counting-sorts the (j, t) pairs by expert (the same order on
 * every thread: t, then j), then takes its share of the work units; each
 * output element belongs to one unit, so the bits do not depend on the thread
 * count. Three ways to run a unit, by level and weight type:
 *
 *   reference (DS_CPU_REFERENCE): unit = (used expert e, row n); the row is
 *     decoded once and dotted with every input routed to e, in f32 in order.
 *   dots (levels without the GEMM tile, types other than Q8_0/Q4_0, small
 *     batches): the same units with the level's dots (vec.h). A row of a
 *     type with an integer dot at this level (type_ops.h: the row's qa; Q8_0, Q4_0, Q5_0,
 *     Q4_K, Q5_K, Q6_K, the IQ types) is read in place against the inputs
 *     routed to its expert, gathered as contiguous QA rows when the thread
 *     reaches the expert (as the tile gathers them, in s8), DS_VEC_COLS
 *     columns per dot call (a remainder of 1-3 one per call): with n
 *     parallel chains or a draft batch on one expert, each row is read and
 *     decoded once per 4 inputs, not once per input.
 *     Other types (F32/F16/BF16, Q2_K, Q3_K, FP8; IQ on NEON) decode the row
 *     once (FP8 with mul_mat's decoder, ds_fp8_row_kernel) and take the
 *     level's f32 dot per input. The fused op's gate and up may differ in
 *     type: each takes its own dot.
 *   tile (types with a tile at the level, type_ops.h: Q8_0/Q4_0, Q4_K/Q5_K
 *     with the dmin term subtracted after each kernel call as mul_mat does,
 *     Q6_K's two-scale tile; batches of T >= 16 tokens and k T >= 3 E pairs,
 *     16 E for the K-quant and Q6_K tiles:
 *     prompts): unit = (used expert e, 16-row tile). When a
 *     thread reaches an expert it gathers the expert's inputs as QA u8 rows,
 *     contiguous in pair order (X1 == 1: copies of the token columns
 *     quantized once; X1 == k: each pair's own column quantized there); each
 *     tile is packed once and run over all of them DS_GEMM_COLS
 *     columns per call (16 per AMX call), and the 16 values of each column
 *     are scattered to out[:, j, t] (the fused op: all of the thread's gate
 *     tiles of e, then its up tiles, combined in place). Units are cut into
 *     contiguous ranges of equal cost (inputs + a packing charge).
 *
 * R8 experts (flagged DS_TENSOR_Q4_0_R8 / DS_TENSOR_Q4_K_R8: each expert's
 * N rows interleaved eight at a time, repacked at load, q4_0_r8.h,
 * q4_k_r8.h): the dots way's units are (used expert, 8-row group) and then
 * one per tail row (N % 8, in the plain layout, the plain dot); a group takes
 * the type's R8 dot over the same gathered QA rows, r8.cols columns per
 * call, so one activation load serves eight rows (a column's bits do not
 * depend on the other columns of an R8 call either, vec.h); the tile way
 * packs its tiles from the R8 blocks (r8.tile_pack: the plain packer's
 * bytes, so the tile's bits do not change); the reference (and a level
 * without the type's dot) decodes each row from the groups. A value of an R8
 * expert differs from the plain row's only by the R8 dot's summation order,
 * the same at every level, as in mul_mat. The fused op's gate and up may
 * each be R8 or not.
 *
 * In every way a (row, input) value is computed the same way whatever else is
 * in the batch: a dot's or a tile's column result does not depend on the other
 * columns of its call (vec.h: every level keeps one accumulator per column;
 * an AMX group gives the VNNI bits), so a dot over 4 gathered inputs gives
 * each the bits of a one-column call (tests/graph/test_moe_cols.c). So an
 * input's result does not depend on which other tokens share its expert.
 * Which way runs depends only on the batch size: smaller batches
 * (decode, up to 15 parallel samples, MTP drafts) take the dots, so n samples
 * decoded together give each sample the bits of its run alone; a token of a
 * prompt (tile) may differ from the same token decoded alone (dots) in the
 * last bits of the f32 sum over blocks, as K-quant products do in mul_mat.
 */
#include "kernels/cpu.h"
#include "kernels/fp8.h"
#include "kernels/ops.h"
#include "kernels/q4_0_r8.h"
#include "kernels/type_ops.h"
#include "kernels/types.h"
#include "kernels/vec.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

/* Packing a tile costs about as much as running it over this many columns;
 * part of a unit's cost for the work split (any split gives the same bits). */
#define DS_MOE_PACK_COST 4
/* With AMX, a remainder of at least this many columns runs as a 16-column
 * AMX call over zero-padded inputs (a column's bits do not depend on its
 * neighbours, and one AMX call costs about as much as a few VNNI columns). */
#define DS_MOE_AMX_MIN_COLS 4
/* The tile runs for batches of at least 16 tokens with at least 3 (token,
 * slot) pairs per expert (k T >= 3 E): packing a tile costs more than dotting
 * its rows with one or two columns in place, and decode streams cold weights,
 * which the row-by-row dots do at memory speed (CHANGELOG.md has the
 * measurements). The 16-token floor (the type's tile.min_cols, type_ops.h, as
 * in mul_mat) keeps parallel samples (up to 15) on the dots, as decoded alone.
 * The K-quant and Q6_K tiles cost more to pack (scales and mins unpacked per
 * row), so they wait for a tile's worth of inputs per expert on average
 * (k T >= 16 E); below that the dots were faster (CHANGELOG.md). Both
 * bounds depend only on the batch, not on the routing. */
#define DS_MOE_TILE_MIN_PAIRS 3
#define DS_MOE_TILE_K_MIN_PAIRS 16

/* silu(g) * u exactly as ops_unary.c's swiglu evaluates it. */
static inline float swiglu1(float g, float u) { return g / (1.0f + expf(-g)) * u; }

/* Expert e's matrix and (FP8) scale grid. */
static const char *expert_matrix(const ds_tensor *w, const ds_tensor *table, int64_t e)
{
  if (table) return (const char *)(uintptr_t)((const int64_t *)table->data)[2 * e];
  return (const char *)w->data + e * (int64_t)w->nb[2];
}

static const float *expert_scale(const ds_tensor *scale, const ds_tensor *table, int64_t e)
{
  if (!scale) return NULL;
  if (table) return (const float *)(uintptr_t)((const int64_t *)table->data)[2 * e + 1];
  return (const float *)((const char *)scale->data + e * (int64_t)scale->nb[2]);
}

/* The weight's row of the type table at level vk (NULL: the scalar table). */
static const ds_cpu_type_ops *weight_ops(const ds_vec_kernels *vk, const ds_tensor *w)
{
  return ds_cpu_type_ops_get(vk, w->type);
}

/* Whether the experts are held in the type's R8 layout (each expert's N
 * rows interleaved on their own, q4_0_r8.h / q4_k_r8.h). */
static bool is_r8(const ds_tensor *w)
{
  const ds_cpu_type_ops *o = ds_cpu_type_ops_get(NULL, w->type);
  return o && o->r8.flag && (w->flags & o->r8.flag);
}

/* Experts without a scale grid of which one weight (gate or up when fused,
 * each may have its own type) is dotted against QA rows at level vk (NULL:
 * at some level, for the scratch size). */
static bool qa_type(const ds_tensor *node, const ds_vec_kernels *vk)
{
  const bool fused = node->op != DS_OP_MUL_MAT_ID;
  if (!fused && node->src[3]) return false;   /* FP8 scale grid; fused: src[3] is up */
  for (int i = 0; i < (fused ? 2 : 1); i++)
    if (weight_ops(vk, node->src[i ? 3 : 0])->qa) return true;
  return false;
}

/* Whether the expert tile runs a weight: its type has a tile at this level
 * (type_ops.h: Q8_0/Q4_0, the K-quant tile with its dmin term, Q6_K's) and
 * the batch has at least the tile's columns. */
static bool moe_tile_pays(const ds_cpu_type_ops *o, int64_t T)
{
  return o->qa && ds_cpu_type_tile_pays(o, T);
}

/* Every weight of the op (both when fused) takes the tile: T tokens, kT
 * (token, slot) pairs over E experts. */
static bool tile_types(const ds_tensor *node, const ds_vec_kernels *vk, int64_t T, int64_t kT, int64_t E)
{
  const bool fused = node->op != DS_OP_MUL_MAT_ID;
  for (int i = 0; i < (fused ? 2 : 1); i++) {
    const ds_cpu_type_ops *o = weight_ops(vk, node->src[i ? 3 : 0]);
    const bool r16 = o->tile.kind == DS_TILE_R16;
    if (!moe_tile_pays(o, T) || kT < (r16 ? DS_MOE_TILE_MIN_PAIRS * E : DS_MOE_TILE_K_MIN_PAIRS * E))
      return false;
  }
  return true;
}

void ds_kernel_mul_mat_id_describe(int type, const ds_vec_kernels *vk, char *buf, size_t size)
{
  const ds_cpu_type_ops *o = vk ? ds_cpu_type_ops_get(vk, type) : NULL;
  if (!o) snprintf(buf, size, "reference: rows decoded to f32, f32 dot in order");
  else if (o->qa)
    snprintf(buf, size, "%s: int8 dot on int8 activations%s%s", vk->name,
             /* repacked: model_prepare.c (Q4_0 and Q4_K experts; Q6_K's keep their rows) */
             o->r8.simd && type != DSEEK_TYPE_Q6_K ? " (loaded whole: 8 interleaved rows per pass)" : "",
             moe_tile_pays(o, INT64_MAX) ? ", 16-row tile for prompts" : "");
  else snprintf(buf, size, "%s: rows decoded to f32, f32 dot", vk->name);
}

/* Byte offsets in a thread's scratch: two decoded rows [K] f32, start [E + 1]
 * and pairs [k T] int32; then (experts dotted against QA rows) QA rows of the
 * T tokens when X1 == 1, up to T gathered inputs of one expert + 15 rows of
 * AMX padding, and (tile) a packed tile (the larger of the two block
 * formats), a 16 x 16 kernel output, the K-quant tile's dmin terms
 * [K / 32][16], the gathered rows' d_b s_b [T + 15][K / 32] and 16 rows of
 * an R8 expert's last tile back in the plain layout. */
typedef struct moe_layout {
  size_t start, pairs, qa, gathered, pack, tile_out, mins, ds, rows16, end;
} moe_layout;

static void moe_layout_of(const ds_tensor *node, moe_layout *l)
{
  const ds_tensor *w = node->src[0], *x = node->src[1], *ids = node->src[2];
  const int64_t K = w->ne[0], kT = ids ? ids->ne[0] * ids->ne[1] : x->ne[2];
  l->start = (size_t)(2 * K) * sizeof(float);
  l->pairs = l->start + (size_t)(w->ne[2] + 1) * sizeof(int32_t);
  l->qa = (l->pairs + (size_t)kT * sizeof(int32_t) + 63) & ~(size_t)63;
  const size_t qa_bytes = qa_type(node, NULL) ? ds_qa_row_bytes(K) : 0, T = (size_t)x->ne[2];
  l->gathered = l->qa + (x->ne[1] == 1 ? T : 0) * qa_bytes;
  l->pack = l->gathered + (T + 15) * qa_bytes;
  const size_t nb = qa_bytes ? (size_t)(K / DS_QA_BLOCK) : 0;
  l->tile_out = l->pack + nb * DS_MAX(DS_GEMM_BLOCK_BYTES, DS_GEMM_Q6_BLOCK_BYTES);
  l->mins = l->tile_out + (qa_bytes ? 16 * DS_GEMM_ROWS * sizeof(float) : 0);
  l->ds = l->mins + nb * DS_GEMM_ROWS * sizeof(float);
  l->rows16 = l->ds + (qa_bytes ? (T + 15) : 0) * nb * sizeof(float);
  l->end = l->rows16 + nb * 18 * DS_GEMM_ROWS;   /* 16 Q4_0 / Q4_K rows (18 bytes per 32 values) */
}

size_t ds_kernel_mul_mat_id_scratch_floats(const ds_tensor *node)
{
  moe_layout l;
  moe_layout_of(node, &l);
  return (l.end + sizeof(float) - 1) / sizeof(float);
}

/* One op's run: weights, the grouped pairs and this thread's scratch. */
typedef struct moe_mm {
  ds_tensor *dst;
  const ds_tensor *x;
  const ds_tensor *w[2];   /* the weight (gate when fused), up (fused) or NULL */
  const ds_tensor *scale, *table;
  int64_t K, N, k, X1;
  const int32_t *start, *pairs;
  const ds_vec_kernels *vk;   /* NULL: the reference */
  size_t qa_bytes;
  char *qa, *gathered;
  void *pack;
  float *tile_out;
  float *mins, *ds;   /* tile: the K-quant dmin terms, the gathered rows' d_b s_b */
  void *rows16;       /* tile: an R8 expert's rows back in the plain layout */
  bool r8[2];         /* the weight is in its type's R8 layout */
  bool grouped;       /* dots: units are 8-row groups (a weight takes its R8 dot) */
  float *row[2];
  ds_fp8_row_fn fp8_row;   /* the level's FP8 row decoder, as mul_mat's */
} moe_mm;

/* Output column of pair i (j + k t). */
static inline float *pair_out(const moe_mm *c, int32_t i, int64_t n)
{
  return ds_tensor_ptr(c->dst, n, i % c->k, i / c->k, 0);
}

/* Index of pair i's input column among the X1 T columns. */
static inline int64_t pair_col(const moe_mm *c, int32_t i) { return (i / c->k) * c->X1 + (i % c->k) % c->X1; }

/* A value for (row, pair): the plain op stores it, the fused op's gate pass
 * (which 0) stores g and its up pass turns it into silu(g) * u. */
static inline void put(float *o, int which, float v) { *o = which == 0 ? v : swiglu1(*o, v); }

/* Reference and dots: row n of expert e of weight `which` with the inputs of
 * pairs [i0, i0 + count) routed to e. An integer dot takes their gathered QA
 * rows DS_VEC_COLS columns per call, so the row is read and decoded once per
 * 4 inputs, not once per input (a column's value does not depend on the other
 * columns of its call: vec.h); other types decode the row once and dot it
 * with each input's f32 column. */
static void rows_unit(const moe_mm *c, int which, int64_t e, int64_t n, int32_t i0, int32_t count)
{
  const ds_tensor *w = c->w[which];
  const char *wrow = expert_matrix(w, c->table, e) + n * (int64_t)w->nb[1];
  const ds_cpu_type_ops *o = c->vk ? weight_ops(c->vk, w) : NULL;
  /* an R8 weight's tail rows (past its last whole group) are plain rows */
  const bool plain_row = !c->r8[which] || n >= c->N - c->N % DS_R8_ROWS;
  const ds_vec_dot_fn qdot = c->qa && o->qa && plain_row ? o->dot : NULL;
  if (qdot) {
    /* whole groups of DS_VEC_COLS, the rest one column per call: the x86
     * 2- and 3-column forms of some dots (Q4_0, Q8_0, Q6_K) take longer than
     * as many 1-column calls, the 4-column form less for every type
     * (CHANGELOG); the bits are the same either way */
    for (int32_t m = 0; m < count;) {
      const int nc = count - m >= DS_VEC_COLS ? DS_VEC_COLS : 1;
      float v[DS_VEC_COLS];
      qdot(c->K, wrow, c->gathered + (size_t)m * c->qa_bytes, c->qa_bytes, nc, v);
      for (int col = 0; col < nc; col++) put(pair_out(c, c->pairs[i0 + m + col], n), which, v[col]);
      m += nc;
    }
    return;
  }
  const float *r = (const float *)wrow;
  const float *sc = expert_scale(c->scale, c->table, e);
  if (sc) {
    int64_t sr, scols;
    ds_fp8_scale_shape(c->N, c->K, &sr, &scols);
    c->fp8_row((const uint8_t *)wrow, sc + (n / DS_FP8_BLOCK) * scols, c->K, c->row[which]);
    r = c->row[which];
  } else if (c->r8[which]) {   /* the reference, or a level without the type's dot */
    weight_ops(c->vk, w)->r8.row_to_float(expert_matrix(w, c->table, e), c->K, c->N, n, c->row[which]);
    r = c->row[which];
  } else if (w->type != DSEEK_TYPE_F32) {
    weight_ops(c->vk, w)->to_float(wrow, c->row[which], c->K);
    r = c->row[which];
  }
  for (int32_t i = i0; i < i0 + count; i++) {
    const float *col = ds_tensor_ptr(c->x, 0, (c->pairs[i] % c->k) % c->X1, c->pairs[i] / c->k, 0);
    float v;
    if (c->vk) c->vk->dot_f32(c->K, r, col, 0, 1, &v);
    else v = ds_dot_f32(r, col, c->K);
    put(pair_out(c, c->pairs[i], n), which, v);
  }
}

/* Dots: rows [8 g, 8 g + 8) of expert e of weight `which` (an R8 group)
 * with the inputs of pairs [i0, i0 + count): an R8 weight takes its R8 dot,
 * eight rows per call over the gathered QA rows, up to r8.cols columns per
 * call (DS_R8_COLS for Q4_0, else DS_VEC_COLS; vec.h: every column keeps
 * the bits of a one-column call); a weight in the plain layout (the fused
 * op's other one) its rows. */
static void group_unit(const moe_mm *c, int which, int64_t e, int64_t g, int32_t i0, int32_t count)
{
  if (!c->r8[which] || !c->qa || !weight_ops(c->vk, c->w[which])->qa) {
    for (int r = 0; r < DS_R8_ROWS; r++) rows_unit(c, which, e, g * DS_R8_ROWS + r, i0, count);
    return;
  }
  const ds_tensor *w = c->w[which];
  const char *group = expert_matrix(w, c->table, e) + g * DS_R8_ROWS * (int64_t)w->nb[1];
  const ds_cpu_type_ops *o = weight_ops(c->vk, w);
  for (int32_t m = 0; m < count;) {
    const int nc = (int)DS_MIN(o->r8.cols, count - m);
    float v[DS_R8_COLS * DS_R8_ROWS];
    o->r8.dot(c->K, group, c->gathered + (size_t)m * c->qa_bytes, c->qa_bytes, nc, v);
    for (int col = 0; col < nc; col++) {
      float *out = pair_out(c, c->pairs[i0 + m + col], g * DS_R8_ROWS);
      for (int r = 0; r < DS_R8_ROWS; r++) put(out + r, which, v[col * DS_R8_ROWS + r]);
    }
    m += nc;
  }
}

/* The T token columns as QA rows at c->qa (X1 == 1: each is shared by the
 * token's k experts, so it is quantized once); u8: in the tile's u8 form. */
static void quantize_tokens(const moe_mm *c, bool u8)
{
  for (int64_t t = 0; c->X1 == 1 && t < c->dst->ne[2]; t++) {
    char *row = c->qa + (size_t)t * c->qa_bytes;
    c->vk->quantize_qa(ds_tensor_ptr(c->x, 0, 0, t, 0), c->K, row);
    if (u8) ds_qa_to_u8(row, c->K);
  }
}

/* The inputs of pairs [i0, i0 + count) (of one expert) as contiguous QA rows
 * at c->gathered: X1 == 1 copies of the token columns at c->qa, X1 == k each
 * pair's own column quantized here. u8 (tile): in the u8 form, then zero
 * rows up to a multiple of 16 (padding of the last AMX group). */
static void gather(const moe_mm *c, int32_t i0, int32_t count, bool u8)
{
  if (u8) memset(c->gathered + (size_t)count * c->qa_bytes, 0, (size_t)(-count & 15) * c->qa_bytes);
  for (int32_t i = i0; i < i0 + count; i++) {
    char *row = c->gathered + (size_t)(i - i0) * c->qa_bytes;
    const int64_t col = pair_col(c, c->pairs[i]);
    if (c->X1 == 1) {   /* the token's column, quantized once up front */
      memcpy(row, c->qa + (size_t)col * c->qa_bytes, c->qa_bytes);
      continue;
    }
    c->vk->quantize_qa(ds_tensor_ptr(c->x, 0, col % c->X1, col / c->X1, 0), c->K, row);
    if (u8) ds_qa_to_u8(row, c->K);
  }
  /* the K-quant tile's dmin term reads d_b s_b of each input (the u8 form
   * keeps d and s) */
  for (int32_t i = 0; u8 && c->ds && i < count; i++)
    ds_qa_ds(c->gathered + (size_t)i * c->qa_bytes, c->K, c->ds + (size_t)i * (size_t)(c->K / DS_QA_BLOCK));
}

/* Reference and dots: (used expert, row) units in contiguous equal ranges;
 * grouped (an R8 weight with its dot): (used expert, 8-row group) units,
 * then one per tail row. A thread's units of one expert are [u0, u1): its
 * inputs are gathered once (in chunks of at most T, more only when ids
 * repeat an expert within a token), then every row meets all of them; the
 * fused op's up rows follow their gate rows. */
static void run_rows(const ds_kernel_params *p, const moe_mm *c, int64_t E, int n_w)
{
  int64_t n_used = 0;
  for (int64_t e = 0; e < E; e++) n_used += c->start[e + 1] > c->start[e];
  const int64_t groups = c->grouped ? c->N / DS_R8_ROWS : 0;
  const int64_t per_expert = groups + (c->N - groups * DS_R8_ROWS);
  int64_t u0, u1;
  ds_kernel_rows(n_used * per_expert, p->ith, p->nth, &u0, &u1);
  const int32_t chunk = c->qa ? (int32_t)c->dst->ne[2] : INT32_MAX;
  int64_t used_index = -1, e = -1;
  for (int64_t u = u0; u < u1;) {
    const int64_t want = u / per_expert, n0 = u % per_expert, n1 = DS_MIN(per_expert, n0 + (u1 - u));
    while (used_index < want) {   /* advance to the want-th used expert */
      e++;
      if (c->start[e + 1] > c->start[e]) used_index++;
    }
    for (int32_t from = c->start[e]; from < c->start[e + 1];) {
      const int32_t count = DS_MIN(chunk, c->start[e + 1] - from);
      if (c->qa) gather(c, from, count, false);
      for (int64_t n = n0; n < n1; n++)
        for (int which = 0; which < n_w; which++) {
          if (n < groups) group_unit(c, which, e, n, from, count);
          else rows_unit(c, which, e, n + groups * (DS_R8_ROWS - 1), from, count);
        }
      from += count;
    }
    u += n1 - n0;
  }
}

/* Tile: rows [n0, n0 + 16) of expert e of weight `which` against the
 * gathered inputs of pairs [i0, i0 + count), scattered to the outputs (the
 * fused op's up pass combines with the gate values already there). */
static void tile_unit(const moe_mm *c, int which, int64_t e, int64_t n0, int32_t i0, int32_t count)
{
  const int nr = (int)DS_MIN(DS_GEMM_ROWS, c->N - n0);
  const ds_tensor *w = c->w[which];
  const ds_cpu_type_ops *o = weight_ops(c->vk, w);
  const bool amx = o->tile.amx && ds_cpu_amx();   /* a level with AMX forms, on a CPU that grants them */
  const char *base = expert_matrix(w, c->table, e);
  if (c->r8[which])   /* from the R8 groups (the plain packer's bytes) */
    o->r8.tile_pack(o, base, w->nb[1], c->K, c->N, n0, nr, c->pack, c->mins, c->rows16);
  else o->tile.pack(o, base + n0 * (int64_t)w->nb[1], w->nb[1], nr, c->K, c->pack, c->mins);
  const size_t nb = (size_t)(c->K / DS_QA_BLOCK);
  for (int32_t m = 0; m < count;) {
    const char *xc = c->gathered + (size_t)m * c->qa_bytes;
    const bool amx16 = amx && count - m >= DS_MOE_AMX_MIN_COLS;
    const int nc = (int)DS_MIN(amx16 ? 16 : DS_GEMM_COLS, count - m);
    if (amx16)   /* same bits as 8-column VNNI calls */
      o->tile.amx(c->K, c->pack, xc, c->qa_bytes, c->tile_out, DS_GEMM_ROWS);
    else
      o->tile.kernel(c->K, c->pack, xc, c->qa_bytes, nc, c->tile_out, DS_GEMM_ROWS);
    if (o->tile.min_term)   /* K-quants: minus sum_b m_b d_b s_b, as mul_mat's tile */
      o->tile.min_term(c->K, c->mins, c->ds + (size_t)m * nb, nb, nc, c->tile_out, DS_GEMM_ROWS);
    for (int col = 0; col < nc; col++) {
      float *out = pair_out(c, c->pairs[i0 + m + col], n0);
      const float *v = c->tile_out + col * DS_GEMM_ROWS;
      if (which == 0) memcpy(out, v, (size_t)nr * sizeof(float));
      else
        for (int r = 0; r < nr; r++) out[r] = swiglu1(out[r], v[r]);
    }
    m += nc;
  }
}

static void run_tiles(const ds_kernel_params *p, const moe_mm *c, int64_t E, int n_w)
{
  const int64_t T = c->dst->ne[2];
  quantize_tokens(c, true);
  /* unit (e, tile) costs count_e + DS_MOE_PACK_COST; this thread takes the
   * units whose cost range starts in [c0, c1) */
  const int64_t tiles = (c->N + DS_GEMM_ROWS - 1) / DS_GEMM_ROWS;
  int64_t total = 0;
  for (int64_t e = 0; e < E; e++)
    if (c->start[e + 1] > c->start[e]) total += tiles * (c->start[e + 1] - c->start[e] + DS_MOE_PACK_COST);
  const int64_t c0 = total * p->ith / p->nth, c1 = total * (p->ith + 1) / p->nth;
  int64_t at = 0;
  for (int64_t e = 0; e < E && at < c1; e++) {
    const int64_t count = c->start[e + 1] - c->start[e], uc = count + DS_MOE_PACK_COST;
    if (count == 0) continue;
    /* first unit i with at + i uc >= c0, first with >= c1 */
    const int64_t i0 = at >= c0 ? 0 : DS_MIN(tiles, (c0 - at + uc - 1) / uc);
    const int64_t i1 = DS_MIN(tiles, (c1 - at + uc - 1) / uc);
    at += tiles * uc;
    /* inputs in chunks of at most T (more only when ids repeat an expert
     * within a token; a column's bits do not depend on its chunk) */
    for (int32_t from = c->start[e]; i0 < i1 && from < c->start[e + 1]; from += (int32_t)T) {
      const int32_t n = (int32_t)DS_MIN(T, c->start[e + 1] - from);
      gather(c, from, n, true);
      for (int which = 0; which < n_w; which++)   /* fused: all gate tiles, then up */
        for (int64_t i = i0; i < i1; i++) tile_unit(c, which, e, i * DS_GEMM_ROWS, from, n);
    }
  }
}

static void moe_mm_run(const ds_kernel_params *p, ds_tensor *dst, bool fused)
{
  const ds_tensor *ids_t = dst->src[2];   /* NULL: one expert, every token (mul_mat_swiglu) */
  const int64_t E = dst->src[0]->ne[2], k = ids_t ? ids_t->ne[0] : 1, T = dst->ne[2];
  const int32_t *ids = ids_t ? ids_t->data : NULL;
  moe_layout l;
  moe_layout_of(dst, &l);
  char *s = (char *)p->scratch;
  int32_t *start = (int32_t *)(s + l.start), *pairs = (int32_t *)(s + l.pairs);

  memset(start, 0, (size_t)(E + 1) * sizeof *start);
  for (int64_t i = 0; i < k * T; i++)
    if (!ids || (ids[i] >= 0 && ids[i] < E)) start[ids ? ids[i] + 1 : 1]++;
  for (int64_t e = 0; e < E; e++) start[e + 1] += start[e];
  /* fill by expert; start[e] advances to the end of e's range, then shifts back */
  for (int64_t i = 0; i < k * T; i++)
    if (!ids || (ids[i] >= 0 && ids[i] < E)) pairs[start[ids ? ids[i] : 0]++] = (int32_t)i;
  for (int64_t e = E; e > 0; e--) start[e] = start[e - 1];
  start[0] = 0;

  if (p->ith == 0 && ids) {
    for (int64_t i = 0; i < k * T; i++) {
      if (ids[i] >= 0 && ids[i] < E) continue;
      ds_kernel_fail(p, dst, ids[i]);
      memset(ds_tensor_ptr(dst, 0, i % k, i / k, 0), 0, (size_t)dst->ne[0] * sizeof(float));
    }
  }

  const ds_cpu_level level = ds_cpu_level_get();
  moe_mm c = {
      .dst = dst, .x = dst->src[1], .w = {dst->src[0], fused ? dst->src[3] : NULL},
      .scale = fused ? NULL : dst->src[3], .table = fused ? NULL : dst->src[4],
      .K = dst->src[0]->ne[0], .N = dst->src[0]->ne[1], .k = k, .X1 = dst->src[1]->ne[1],
      .start = start, .pairs = pairs,
      .vk = level == DS_CPU_REFERENCE ? NULL : ds_vec_get(level),
      .row = {(float *)s, (float *)s + dst->src[0]->ne[0]},
      .fp8_row = ds_fp8_row_kernel(level),
  };
  const int n_w = fused ? 2 : 1;
  for (int i = 0; i < n_w; i++) c.r8[i] = is_r8(c.w[i]);
  if (c.vk && qa_type(dst, c.vk)) {
    c.qa_bytes = ds_qa_row_bytes(c.K);
    c.qa = s + l.qa;
    c.gathered = s + l.gathered;
    c.pack = s + l.pack;
    c.tile_out = (float *)(s + l.tile_out);
    c.mins = (float *)(s + l.mins);
    c.rows16 = s + l.rows16;
    for (int i = 0; i < n_w; i++) c.grouped |= c.r8[i] && weight_ops(c.vk, c.w[i])->qa;
    /* d_b s_b of the gathered inputs only for a weight whose tile has the dmin term */
    for (int i = 0; i < n_w; i++)
      if (weight_ops(c.vk, c.w[i])->tile.min_term) c.ds = (float *)(s + l.ds);
    if (tile_types(dst, c.vk, T, k * T, E)) {
      run_tiles(p, &c, E, n_w);
      return;
    }
    quantize_tokens(&c, false);   /* the level's dots against QA rows */
  }
  run_rows(p, &c, E, n_w);
}

void ds_kernel_mul_mat_id(const ds_kernel_params *p, ds_tensor *dst) { moe_mm_run(p, dst, false); }

void ds_kernel_mul_mat_id_swiglu(const ds_kernel_params *p, ds_tensor *dst) { moe_mm_run(p, dst, true); }
