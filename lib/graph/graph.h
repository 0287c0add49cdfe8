/*
 * graph.h — tensors, the op set, graph building, memory planning and compute.
 *
 * WHAT A GRAPH IS
 *   A ds_graph owns every ds_tensor created in it. Tensors are created in
 *   topological order by construction: an op constructor can only take tensors
 *   that already exist, so the creation order IS the execution order (this is
 *   also what orders side effects such as writing the KV cache before the
 *   attention that reads it).
 *
 *   Layout follows ggml: ne[0] is the innermost (contiguous) dimension, nb[i]
 *   is the byte stride of dimension i, nb[0] is the element (or block) size.
 *   A weight [ne0 = in, ne1 = out] is stored one output row after another, as
 *   in GGUF. Dimensions beyond n_dims have ne = 1.
 *
 * TENSOR KINDS AND OWNERSHIP
 *   external  ds_tensor_external(): wraps caller memory (weights in an mmap'd
 *             file, a KV cache). Never copied, never planned; the caller keeps
 *             the memory alive while the graph is used.
 *   input     ds_tensor_input(): the planner gives it an arena slot alive for
 *             the whole graph; the caller fills t->data after planning and
 *             before each compute (token ids, positions, ...).
 *   output    ds_tensor_set_output(t) on any op result: its slot survives the
 *             whole graph so the caller can read t->data after compute.
 *   view      view / reshape / permute / transpose, and the results of cpy and
 *             set_rows: alias view_src's memory at view_offs; no compute, no
 *             memory of their own.
 *   other op results are intermediates: the planner places them by liveness.
 *
 * ERRORS
 *   Constructors validate shapes and types and return NULL with ds_error()
 *   naming the op, the tensor and the field. A NULL source makes a constructor
 *   return NULL without touching the message, so a whole forward pass can be
 *   built and checked once at the end.
 *
 * OP PARAMETERS
 *   An op's scalars (rope's frequencies, the router's k and groups, a scale)
 *   live in the node's t->p (ds_op_params): one named struct per op family,
 *   written by its constructor (ops_build.c) and read by its kernel. A new op
 *   with parameters adds its member there; nothing is passed by position.
 *
 * PLANNING (plan.c)
 *   ds_graph_plan(g, max_threads) computes each planned tensor's lifetime
 *   (first definition -> last use, uses through views count; inputs and outputs
 *   live throughout) and assigns offsets in ONE arena so that tensors with
 *   overlapping lifetimes never overlap (greedy by size, best-fitting gap).
 *   It also reserves per-thread scratch (e.g. the decoded weight row of
 *   mul_mat). It is the only allocation; compute allocates nothing, so a model
 *   builds one graph per batch shape and reuses it for every token: whatever
 *   changes per token (ids, positions, KV slots) is input DATA, and the one
 *   scalar that may change, attention's n_kv, is set with ds_attn_set_n_kv().
 *   After planning the graph is frozen: constructors fail on it.
 *
 * THREADING (threadpool.h, compute.c)
 *   ds_graph_compute() runs every node on all threads of a persistent pool
 *   (the caller is thread 0). Each kernel receives ith/nth and splits its
 *   output rows; a barrier separates nodes. Every output element is computed by
 *   exactly one thread with a fixed reduction order, so results are
 *   bit-identical for any thread count. A graph is used by one caller at a
 *   time; a pool runs one graph at a time.
 *
 * KV CACHE LAYOUT (for the runtime built on top of attn)
 *   k_cache: [head_dim_k, n_kv_head, n_ctx], v_cache: [head_dim_v, n_kv_head,
 *   n_ctx], type f32, f16 or bf16, one cache slot (all kv heads of one token)
 *   per index of dim 2. Rows (dim 0) must be contiguous; dims 1 and 2 may have
 *   any stride, so V may be a view into the same memory as K (MLA's absorbed
 *   form caches [c_kv ; k_pe] once and uses c_kv as V). New entries are written
 *   with ds_op_set_rows(cache, values, slots) where slots is an I32 input, so
 *   the graph does not change when the position does.
 */
#ifndef DS_GRAPH_GRAPH_H
#define DS_GRAPH_GRAPH_H

#include "core/ds.h"

#define DS_MAX_DIMS 4
#define DS_MAX_SRC 5
#define DS_MAX_NAME 48
/* Offsets and per-thread scratch in the arena are aligned to a cache line. */
#define DS_ARENA_ALIGN 64

typedef enum ds_op {
  DS_OP_NONE = 0,   /* leaf: input or external */
  DS_OP_GET_ROWS,
  DS_OP_MUL_MAT,
  DS_OP_ADD,
  DS_OP_MUL,
  DS_OP_SCALE,
  DS_OP_RMS_NORM,
  DS_OP_ROPE,
  DS_OP_SOFTMAX,
  DS_OP_SILU,
  DS_OP_SWIGLU,
  DS_OP_TOP_K,
  DS_OP_CPY,
  DS_OP_SET_ROWS,
  DS_OP_CONT,
  DS_OP_CONCAT,
  DS_OP_ATTN,
  DS_OP_VIEW,       /* also reshape, permute, transpose: metadata only */
  DS_OP_MUL_MAT_ID, /* mixture of experts (ops_moe.c) */
  DS_OP_MOE_ROUTE,
  DS_OP_MOE_WEIGHTS,
  DS_OP_MOE_SUM,
  DS_OP_MUL_MAT_ID_SWIGLU, /* the experts' gate/up fused with swiglu (ops_moe_mm.c) */
  DS_OP_COUNT
} ds_op;

enum {
  DS_TENSOR_INPUT = 1u << 0,
  DS_TENSOR_OUTPUT = 1u << 1,
  DS_TENSOR_EXTERNAL = 1u << 2,
  DS_TENSOR_VIEW = 1u << 3,
  DS_TENSOR_Q4_0_R8 = 1u << 4,   /* a Q4_0 weight whose rows are R8-interleaved (kernels/q4_0_r8.h) */
  DS_TENSOR_Q4_K_R8 = 1u << 5,   /* a Q4_K weight whose rows are R8-interleaved (kernels/q4_k_r8.h) */
  DS_TENSOR_Q6_K_R8 = 1u << 6,   /* a Q6_K weight whose rows are R8-interleaved (kernels/q6_k_r8.h) */
};

/* RoPE pair layouts (lib/models/README.md §1.4, §2, §3). */
enum {
  DS_ROPE_NORMAL = 0,   /* rotate (x[2i], x[2i+1]): llama GGUF, deepseek2 */
  DS_ROPE_NEOX = 2,     /* rotate (x[i], x[i + n_rot/2]): qwen2, llama safetensors */
};

/* The MoE router's parameters (ds_op_moe_route, ds_op_moe_weights below). */
typedef struct ds_moe_params {
  int n_used;             /* k experts per token */
  int scoring;            /* DS_MOE_SOFTMAX or DS_MOE_SIGMOID */
  int n_group, n_group_used;   /* group-limited selection (1, 1: none) */
  bool group_top2sum;     /* group score: sum of its top-2 selection scores, else max */
  bool norm;              /* norm_topk_prob: w /= sum(w) + 1e-20 (when k > 1) */
  float scale;            /* routed_scaling_factor */
} ds_moe_params;
enum { DS_MOE_SOFTMAX = 1, DS_MOE_SIGMOID = 2 };   /* GGUF expert_gating_func */

/* A rope node's parameters as its kernel uses them (ds_op_rope derives them
 * from ds_rope_params): without YaRN orig_ctx is 0 and yarn_s and mag are 1. */
typedef struct ds_rope_op_params {
  int32_t n_rot, mode;    /* as ds_rope_params */
  int32_t orig_ctx;       /* YaRN original context length L */
  float freq_base;
  float yarn_s;           /* YaRN factor s */
  float beta_fast, beta_slow;
  float mag;              /* cos/sin magnitude: yarn_mscale(s, mscale) / yarn_mscale(s, mscale_all_dim) */
} ds_rope_op_params;

/* Named op parameters: the builder (ops_build.c) writes, and the kernel reads,
 * the member of the node's op family; other ops have none. */
typedef union ds_op_params {
  struct { float s; } scale;                    /* DS_OP_SCALE: y = s x */
  struct { float eps; } rms_norm;               /* DS_OP_RMS_NORM */
  struct { float scale; } softmax;              /* DS_OP_SOFTMAX: softmax(scale x + mask) */
  struct { int32_t dim; } concat;               /* DS_OP_CONCAT */
  struct { int32_t n_kv; float scale; } attn;   /* DS_OP_ATTN; ds_attn_set_n_kv changes n_kv */
  ds_rope_op_params rope;                       /* DS_OP_ROPE */
  ds_moe_params moe;                            /* DS_OP_MOE_ROUTE, DS_OP_MOE_WEIGHTS */
} ds_op_params;

typedef struct ds_tensor {
  int type;                      /* dseek_type (DSEEK_TYPE_I32 for ids/positions) */
  int n_dims;
  int64_t ne[DS_MAX_DIMS];
  size_t nb[DS_MAX_DIMS];
  void *data;                    /* NULL until planned (inputs, intermediates) */
  ds_op op;
  struct ds_tensor *src[DS_MAX_SRC];
  ds_op_params p;                /* named op parameters, per op family */
  unsigned flags;
  char name[DS_MAX_NAME];
  struct ds_tensor *view_src;    /* owner of the memory (never itself a view) */
  size_t view_offs;              /* byte offset of data in view_src */
  size_t size;                   /* bytes this tensor owns (planned tensors) */
  int index;                     /* creation index in the graph */
} ds_tensor;

typedef struct ds_graph ds_graph;
typedef struct ds_threadpool ds_threadpool;

/* ---- graph and leaves (tensor.c) ---------------------------------------- */

ds_graph *ds_graph_new(void);                 /* NULL + ds_error on no memory */
void ds_graph_free(ds_graph *g);              /* NULL allowed */
/* True once a constructor returned NULL for lack of memory, so that a model's
 * graph builder reports DSEEK_ERR_NO_MEMORY, not an internal error. */
bool ds_graph_out_of_memory(const ds_graph *g);

/* Leaves. ne has n_dims entries (1..4), each >= 1; name may be NULL. */
ds_tensor *ds_tensor_input(ds_graph *g, int type, int n_dims, const int64_t *ne, const char *name);
ds_tensor *ds_tensor_external(ds_graph *g, int type, int n_dims, const int64_t *ne,
                              void *data, const char *name);
void ds_tensor_set_output(ds_tensor *t);
void ds_tensor_set_name(ds_tensor *t, const char *name);

int64_t ds_tensor_nelements(const ds_tensor *t);
int64_t ds_tensor_nrows(const ds_tensor *t);  /* ne1 * ne2 * ne3 */
bool ds_tensor_is_contiguous(const ds_tensor *t);
/* Bytes of a row of n elements of type (I32 included); false on bad n/type. */
bool ds_type_row_bytes(int type, int64_t n, size_t *bytes);

/* Views (no copy): byte strides nb[1..n_dims-1] and offset into a. The view
 * must lie inside a's memory. nb == NULL means contiguous strides. */
ds_tensor *ds_op_view(ds_graph *g, ds_tensor *a, int n_dims, const int64_t *ne,
                      const size_t *nb, size_t offset);
ds_tensor *ds_op_reshape(ds_graph *g, ds_tensor *a, int n_dims, const int64_t *ne);   /* a contiguous */
/* Result dim axes[i] is a's dim i, as ggml_permute. */
ds_tensor *ds_op_permute(ds_graph *g, ds_tensor *a, int ax0, int ax1, int ax2, int ax3);
ds_tensor *ds_op_transpose(ds_graph *g, ds_tensor *a);                              /* swap dims 0, 1 */

/* ---- ops (ops_build.c); all results f32 unless stated ------------------- */

/* w [d, n_rows] any supported type, ids I32 [n] -> [d, n]: row ids[i] of w. */
ds_tensor *ds_op_get_rows(ds_graph *g, ds_tensor *w, ds_tensor *ids);
/* w [K, N, B2w, B3w] any supported type (rows contiguous), x f32 [K, M, B2, B3]
 * (rows contiguous) -> [N, M, B2, B3]; out[n,m,b] = sum_k w[k,n,b/r] x[k,m,b],
 * w broadcast over batch dims (B2 % B2w == 0, r = B2 / B2w; same for dim 3). */
ds_tensor *ds_op_mul_mat(ds_graph *g, ds_tensor *w, ds_tensor *x);
/* a + b, a * b elementwise with b repeated along every dim where b->ne[i]
 * divides a->ne[i] (a norm weight [d] against [d, n_tokens]). */
ds_tensor *ds_op_add(ds_graph *g, ds_tensor *a, ds_tensor *b);
ds_tensor *ds_op_mul(ds_graph *g, ds_tensor *a, ds_tensor *b);
ds_tensor *ds_op_scale(ds_graph *g, ds_tensor *a, float s);
/* y = x / sqrt(mean(x^2) + eps) over each row (dim 0); multiply by the norm
 * weight with ds_op_mul. */
ds_tensor *ds_op_rms_norm(ds_graph *g, ds_tensor *a, float eps);

typedef struct ds_rope_params {
  int n_rot;              /* rotated dims at the start of each head (even, <= head dim) */
  int mode;               /* DS_ROPE_NORMAL or DS_ROPE_NEOX */
  float freq_base;        /* theta, e.g. 10000 */
  /* YaRN (lib/models/README.md §1.5); active when yarn_factor > 1 */
  float yarn_factor;
  int yarn_orig_ctx;
  float yarn_beta_fast, yarn_beta_slow;
  float yarn_mscale, yarn_mscale_all_dim;
} ds_rope_params;
/* Defaults: normal mode, theta 10000, no YaRN; n_rot must still be set. */
void ds_rope_params_init(ds_rope_params *p, int n_rot);

/* a f32 [head_dim, n_head, n_tokens] (rows contiguous), pos I32 [n_tokens],
 * freq_factors f32 [n_rot/2] or NULL (llama3's rope_freqs) -> same shape. */
ds_tensor *ds_op_rope(ds_graph *g, ds_tensor *a, ds_tensor *pos, ds_tensor *freq_factors,
                      const ds_rope_params *p);
/* y = softmax(scale * x + mask) over rows; mask f32 [ne0, m1, m2, m3] with
 * m_i dividing a's ne_i (broadcast, e.g. over heads), or NULL. A row whose
 * every entry is -inf gives all zeros. */
ds_tensor *ds_op_softmax(ds_graph *g, ds_tensor *a, ds_tensor *mask, float scale);
ds_tensor *ds_op_silu(ds_graph *g, ds_tensor *a);
ds_tensor *ds_op_swiglu(ds_graph *g, ds_tensor *gate, ds_tensor *up);   /* silu(gate) * up */
/* a f32 [n, rows...] -> I32 [k, rows...]: per row, indices of the k largest
 * values, largest first, ties broken by the lower index; NaN ranks lowest. */
ds_tensor *ds_op_top_k(ds_graph *g, ds_tensor *a, int k);
/* Convert src (f32) into dst (f32, f16, bf16 or a type with an encoder),
 * same ne; dst may be a view (KV cache). Result aliases dst. */
ds_tensor *ds_op_cpy(ds_graph *g, ds_tensor *src, ds_tensor *dst);
/* dst [a, b, n_slot] (rows contiguous), src f32 [a, b, n], slots I32 [n]:
 * dst[:, :, slots[i]] = src[:, :, i], converting to dst's type. Result aliases
 * dst. A slot outside [0, n_slot) fails compute with an error. */
ds_tensor *ds_op_set_rows(ds_graph *g, ds_tensor *dst, ds_tensor *src, ds_tensor *slots);
ds_tensor *ds_op_cont(ds_graph *g, ds_tensor *a);                 /* f32 -> contiguous copy */
/* a, b f32, equal except along dim -> concatenation along dim. */
ds_tensor *ds_op_concat(ds_graph *g, ds_tensor *a, ds_tensor *b, int dim);

/* Causal attention over a KV cache with GQA:
 *   q f32 [Dk, n_head, T] (rows contiguous); k_cache [Dk, n_kv_head, n_ctx],
 *   v_cache [Dv, n_kv_head, n_ctx] (f32/f16/bf16, see KV CACHE LAYOUT);
 *   pos I32 [T] positions of the queries; n_head % n_kv_head == 0.
 *   Head h uses kv head h / (n_head / n_kv_head). Query t sees cache slots
 *   s < min(n_kv, pos[t] + 1):
 *     out[:, h, t] = sum_s softmax_s(scale * q[:, h, t] . k[:, hk, s]) v[:, hk, s]
 *   -> f32 [Dv, n_head, T]. A query that sees no slot gives zeros. */
ds_tensor *ds_op_attn(ds_graph *g, ds_tensor *q, ds_tensor *k_cache, ds_tensor *v_cache,
                      int64_t n_kv, ds_tensor *pos, float scale);
/* Attention for several sequences sharing one cache (parallel samples over a
 * shared prompt). As ds_op_attn, with `pos` replaced by qslot (I32 [T], the
 * cache slot each query's own K was written to: it sees slots s <= qslot[t])
 * and seq (I32 [n_ctx + T]): seq[s] for s < n_ctx is the sequence owning cache
 * slot s (-1: shared by all, e.g. the prompt), seq[n_ctx + t] the sequence of
 * query t. A query skips slots owned by other sequences; visible slots are
 * visited in increasing order, so a sequence's result does not depend on the
 * others (bit-identical to running it alone). */
ds_tensor *ds_op_attn_seq(ds_graph *g, ds_tensor *q, ds_tensor *k_cache, ds_tensor *v_cache,
                          int64_t n_kv, ds_tensor *qslot, ds_tensor *seq, float scale);
/* ---- block-scaled FP8 weights (DeepSeek-V3 checkpoints; kernels/fp8.h) ---- */
/* As ds_op_mul_mat / ds_op_get_rows for a 2-D F8_E4M3 weight w [K, N] with its
 * weight_scale_inv grid `scale` f32 [ceil(K/128), ceil(N/128)] (contiguous):
 * w[k, n] = e4m3(q[k, n]) * scale[k / 128, n / 128]. The weight stays FP8. */
ds_tensor *ds_op_mul_mat_scaled(ds_graph *g, ds_tensor *w, ds_tensor *scale, ds_tensor *x);
ds_tensor *ds_op_get_rows_scaled(ds_graph *g, ds_tensor *w, ds_tensor *scale, ds_tensor *ids);

/* ---- mixture of experts (DeepSeekMoE, lib/models/README.md §1.6) ---------- */
/* Expert matrices: w [K, N, E], E matrices [K, N] of one type (rows
 * contiguous), either stacked (GGUF: expert e at byte e * nb[2]) or scattered
 * (Hugging Face: one tensor per expert): then `table` is an I64 [2, E] external
 * tensor of addresses, (0, e) expert e's matrix and (1, e) its FP8 scale grid
 * (0 without scales), and w only gives type and shape (its data: expert 0).
 * `scale` (F8_E4M3 weights only) is f32 [ceil(K/128), ceil(N/128), E].
 *
 *   x f32 [K, X1, T] (X1 == 1: one input per token, or X1 == k), ids I32 [k, T]
 *   -> out f32 [N, k, T], out[:, j, t] = W_{ids[j, t]} x[:, j % X1, t]
 *
 * The kernel groups the (j, t) pairs by expert, so each selected expert's rows
 * are decoded once per batch. An id outside [0, E) fails compute. */
ds_tensor *ds_op_mul_mat_id(ds_graph *g, ds_tensor *w, ds_tensor *scale, ds_tensor *table,
                            ds_tensor *x, ds_tensor *ids);
/* The routed experts' FFN middle in one op: gate and up [K, N, E] stacked, of
 * one type and shape (no FP8 scales, no table), x and ids as mul_mat_id ->
 *   out[:, j, t] = silu(G_e x[:, j % X1, t]) * (U_e x[:, j % X1, t])
 * equal bit for bit to swiglu(mul_mat_id(gate), mul_mat_id(up)). */
ds_tensor *ds_op_mul_mat_id_swiglu(ds_graph *g, ds_tensor *gate, ds_tensor *up, ds_tensor *x, ds_tensor *ids);
/* The same op for one (dense or shared) FFN: gate, up [K, N] (no FP8 scales),
 * x f32 [K, T] contiguous -> [N, T] = silu(G x) * (U x), every token on the
 * one "expert" (the node's ids source is NULL). */
ds_tensor *ds_op_mul_mat_swiglu(ds_graph *g, ds_tensor *gate, ds_tensor *up, ds_tensor *x);

/* Router selection (ds_moe_params: above ds_tensor): logits f32 [E, T], bias
 * f32 [E] or NULL (e_score_correction_bias) -> I32 [k, T], per token the
 * selected experts in rank order (ties to the lower index):
 *   s = softmax(logits) | sigmoid(logits);  sel = s + bias
 *   n_group > 1: keep the n_group_used best groups (score: max, or top-2 sum)
 *   ids = top-k(sel) among the kept groups */
ds_tensor *ds_op_moe_route(ds_graph *g, ds_tensor *logits, ds_tensor *bias, const ds_moe_params *p);
/* Their weights: w_j = s[ids[j]] (no bias), normalised if p->norm and k > 1,
 * times p->scale -> f32 [k, T]. */
ds_tensor *ds_op_moe_weights(ds_graph *g, ds_tensor *logits, ds_tensor *ids, const ds_moe_params *p);
/* y f32 [n, k, T], w f32 [k, T] -> [n, T]: out[:, t] = sum_j w[j, t] y[:, j, t]
 * (in j order). */
ds_tensor *ds_op_moe_sum(ds_graph *g, ds_tensor *y, ds_tensor *w);

/* Change n_kv of an attn node (1 <= n_kv <= n_ctx) between computes. */
dseek_status ds_attn_set_n_kv(ds_tensor *attn, int64_t n_kv);

/* ---- planning and compute (plan.c, compute.c) --------------------------- */

/* Place every input and intermediate in one arena and reserve scratch for up
 * to max_threads threads. Errors: DSEEK_ERR_NO_MEMORY, DSEEK_ERR_INVALID_ARG. */
dseek_status ds_graph_plan(ds_graph *g, int max_threads);
size_t ds_graph_arena_bytes(const ds_graph *g);    /* peak: the arena's size */
size_t ds_graph_planned_sum(const ds_graph *g);    /* sum of planned tensors' sizes */
int ds_graph_n_tensors(const ds_graph *g);
ds_tensor *ds_graph_tensor(const ds_graph *g, int i);   /* creation order */

/* Run the planned graph on pool (NULL: on the calling thread only). Allocates
 * nothing. Errors: DSEEK_ERR_INVALID_ARG (not planned, pool larger than
 * planned), and data errors found by kernels (a row id or slot out of range:
 * DSEEK_ERR_INVALID_ARG naming the node). */
dseek_status ds_graph_compute(ds_graph *g, ds_threadpool *pool);

#endif /* DS_GRAPH_GRAPH_H */
