/* test_toy_block.c — a 2-layer toy transformer (llama/qwen2 shaped: rms_norm,
 * q/k/v projections, neox rope, GQA attention over a KV cache, output
 * projection, residual, rms_norm, SwiGLU MLP, residual) built as a graph and
 * compared with a direct double-precision forward written here. A 5-token
 * prompt fills the cache; a second graph then decodes token 6 from it. */
#include "harness.h"
#include "util.h"

#include <math.h>

enum { VOCAB = 11, D = 16, H = 4, HKV = 2, HD = 4, KVD = HKV * HD, FF = 24, LAYERS = 2, CTX = 8, SEQ = 6 };
static const float EPS = 1e-5f;

typedef struct layer {
  float attn_norm[D], wq[D * D], wk[KVD * D], wv[KVD * D], wo[D * D];
  float ffn_norm[D], wg[FF * D], wu[FF * D], wd[D * FF];
  uint16_t wq_f16[D * D];          /* layer 0 uses an f16 q projection */
  float kcache[HD * HKV * CTX], vcache[HD * HKV * CTX];
} layer;

static float tok_embd[D * VOCAB];
static layer layers[LAYERS];
static const int32_t tokens[SEQ] = {3, 7, 0, 10, 3, 5};

/* multiples of 1/16 in [-0.5, 0.5]: exact in f16 */
static void init(float *x, int n)
{
  for (int i = 0; i < n; i++) x[i] = (float)((int)(rng_u32() % 17) - 8) / 16.0f;
}

static void init_model(void)
{
  init(tok_embd, D * VOCAB);
  for (int l = 0; l < LAYERS; l++) {
    layer *L = &layers[l];
    init(L->wq, D * D);
    init(L->wk, KVD * D);
    init(L->wv, KVD * D);
    init(L->wo, D * D);
    init(L->wg, FF * D);
    init(L->wu, FF * D);
    init(L->wd, D * FF);
    for (int i = 0; i < D; i++) {
      L->attn_norm[i] = 1.0f + (float)i / 32.0f;
      L->ffn_norm[i] = 1.0f - (float)i / 64.0f;
    }
    for (int i = 0; i < D * D; i++) L->wq_f16[i] = ds_f32_to_f16(L->wq[i]);
  }
}

/* ---- the direct forward --------------------------------------------------- */

static void rmsnorm(double *o, const double *x, const float *w, int n)
{
  double ss = 0;
  for (int i = 0; i < n; i++) ss += x[i] * x[i];
  double inv = 1.0 / sqrt(ss / n + EPS);
  for (int i = 0; i < n; i++) o[i] = x[i] * inv * w[i];
}

/* o[out] = W[out, in] x[in] */
static void matmul(double *o, const float *w, const double *x, int in, int out)
{
  for (int r = 0; r < out; r++) {
    double s = 0;
    for (int c = 0; c < in; c++) s += (double)w[r * in + c] * x[c];
    o[r] = s;
  }
}

/* neox: pairs (x[j], x[j + HD/2]) rotated by pos * 10000^(-2j/HD) */
static void rope(double *x, int pos)
{
  for (int j = 0; j < HD / 2; j++) {
    double th = pos * pow(10000.0, -2.0 * j / HD), a = x[j], b = x[j + HD / 2];
    x[j] = a * cos(th) - b * sin(th);
    x[j + HD / 2] = a * sin(th) + b * cos(th);
  }
}

static void reference(double out[SEQ][D])
{
  double x[SEQ][D], k[LAYERS][SEQ][KVD], v[LAYERS][SEQ][KVD];
  for (int t = 0; t < SEQ; t++)
    for (int i = 0; i < D; i++) x[t][i] = tok_embd[tokens[t] * D + i];
  for (int l = 0; l < LAYERS; l++) {
    const layer *L = &layers[l];
    double q[SEQ][D];
    for (int t = 0; t < SEQ; t++) {
      double xn[D];
      rmsnorm(xn, x[t], L->attn_norm, D);
      matmul(q[t], L->wq, xn, D, D);
      matmul(k[l][t], L->wk, xn, D, KVD);
      matmul(v[l][t], L->wv, xn, D, KVD);
      for (int h = 0; h < H; h++) rope(q[t] + h * HD, t);
      for (int h = 0; h < HKV; h++) rope(k[l][t] + h * HD, t);
    }
    for (int t = 0; t < SEQ; t++) {
      double att[D];
      for (int h = 0; h < H; h++) {
        int hk = h / (H / HKV);
        double sc[SEQ], mx = -INFINITY, sum = 0;
        for (int s = 0; s <= t; s++) {
          double d = 0;
          for (int i = 0; i < HD; i++) d += q[t][h * HD + i] * k[l][s][hk * HD + i];
          sc[s] = d / sqrt((double)HD);
          mx = fmax(mx, sc[s]);
        }
        for (int s = 0; s <= t; s++) sum += exp(sc[s] - mx);
        for (int i = 0; i < HD; i++) {
          double o = 0;
          for (int s = 0; s <= t; s++) o += exp(sc[s] - mx) / sum * v[l][s][hk * HD + i];
          att[h * HD + i] = o;
        }
      }
      double o[D], hn[D], g[FF], u[FF], f[D];
      matmul(o, L->wo, att, D, D);
      for (int i = 0; i < D; i++) x[t][i] += o[i];
      rmsnorm(hn, x[t], L->ffn_norm, D);
      matmul(g, L->wg, hn, D, FF);
      matmul(u, L->wu, hn, D, FF);
      for (int i = 0; i < FF; i++) g[i] = g[i] / (1.0 + exp(-g[i])) * u[i];
      matmul(f, L->wd, g, FF, D);
      for (int i = 0; i < D; i++) x[t][i] += f[i];
    }
  }
  memcpy(out, x, sizeof x);
}

/* ---- the graph ------------------------------------------------------------ */

#define W2(g, data, in, out, name) ds_tensor_external(g, DSEEK_TYPE_F32, 2, (int64_t[]){in, out}, data, name)

/* Tokens [pos0, pos0 + T) with the cache already holding [0, pos0). */
static ds_graph *build(int T, int pos0, ds_tensor **out, ds_tensor **ids, ds_tensor **pos,
                       ds_tensor **slots)
{
  ds_graph *g = ds_graph_new();
  *ids = input_i32(g, T);
  *pos = input_i32(g, T);
  *slots = input_i32(g, T);
  ds_tensor *x = ds_op_get_rows(g, W2(g, tok_embd, D, VOCAB, "token_embd"), *ids);
  for (int l = 0; l < LAYERS; l++) {
    layer *L = &layers[l];
    ds_tensor *wq = l == 0 ? ds_tensor_external(g, DSEEK_TYPE_F16, 2, (int64_t[]){D, D}, L->wq_f16, "wq")
                           : W2(g, L->wq, D, D, "wq");
    ds_tensor *xn = ds_op_mul(g, ds_op_rms_norm(g, x, EPS),
                              ds_tensor_external(g, DSEEK_TYPE_F32, 1, (int64_t[]){D}, L->attn_norm, "attn_norm"));
    ds_tensor *q = ds_op_reshape(g, ds_op_mul_mat(g, wq, xn), 3, (int64_t[]){HD, H, T});
    ds_tensor *k = ds_op_reshape(g, ds_op_mul_mat(g, W2(g, L->wk, D, KVD, "wk"), xn), 3, (int64_t[]){HD, HKV, T});
    ds_tensor *v = ds_op_reshape(g, ds_op_mul_mat(g, W2(g, L->wv, D, KVD, "wv"), xn), 3, (int64_t[]){HD, HKV, T});
    ds_rope_params rp;
    ds_rope_params_init(&rp, HD);
    rp.mode = DS_ROPE_NEOX;
    q = ds_op_rope(g, q, *pos, NULL, &rp);
    k = ds_op_rope(g, k, *pos, NULL, &rp);
    ds_tensor *kc = ds_tensor_external(g, DSEEK_TYPE_F32, 3, (int64_t[]){HD, HKV, CTX}, L->kcache, "k_cache");
    ds_tensor *vc = ds_tensor_external(g, DSEEK_TYPE_F32, 3, (int64_t[]){HD, HKV, CTX}, L->vcache, "v_cache");
    kc = ds_op_set_rows(g, kc, k, *slots);
    vc = ds_op_set_rows(g, vc, v, *slots);
    ds_tensor *att = ds_op_attn(g, q, kc, vc, pos0 + T, *pos, 1.0f / sqrtf((float)HD));
    ds_tensor *o = ds_op_mul_mat(g, W2(g, L->wo, D, D, "wo"), ds_op_reshape(g, att, 2, (int64_t[]){D, T}));
    ds_tensor *h = ds_op_add(g, x, o);
    ds_tensor *hn = ds_op_mul(g, ds_op_rms_norm(g, h, EPS),
                              ds_tensor_external(g, DSEEK_TYPE_F32, 1, (int64_t[]){D}, L->ffn_norm, "ffn_norm"));
    ds_tensor *mid = ds_op_swiglu(g, ds_op_mul_mat(g, W2(g, L->wg, D, FF, "wg"), hn),
                                  ds_op_mul_mat(g, W2(g, L->wu, D, FF, "wu"), hn));
    x = ds_op_add(g, h, ds_op_mul_mat(g, W2(g, L->wd, FF, D, "wd"), mid));
  }
  CHECK_MSG(x != NULL, "%s", dseek_last_error());
  ds_tensor_set_output(x);
  CHECK(ds_graph_plan(g, 4) == DSEEK_OK);
  for (int t = 0; t < T; t++) {
    ((int32_t *)(*ids)->data)[t] = tokens[pos0 + t];
    ((int32_t *)(*pos)->data)[t] = pos0 + t;
    ((int32_t *)(*slots)->data)[t] = pos0 + t;
  }
  *out = x;
  return g;
}

static void test_toy_transformer(void)
{
  init_model();
  double ref[SEQ][D];
  reference(ref);

  ds_tensor *out, *ids, *pos, *slots;
  ds_graph *prompt = build(SEQ - 1, 0, &out, &ids, &pos, &slots);
  CHECK(same_bits_for_thread_counts(prompt, out));
  double err = 0;
  for (int t = 0; t < SEQ - 1; t++)
    for (int i = 0; i < D; i++) err = fmax(err, fabs(ref[t][i] - at(out, i, t, 0, 0)));
  CHECK_MSG(err < 1e-4, "prompt: max error %g", err);
  fprintf(stderr, "  prompt: max |graph - reference| = %.3g, arena %zu of %zu bytes\n", err,
          ds_graph_arena_bytes(prompt), ds_graph_planned_sum(prompt));
  CHECK(ds_graph_arena_bytes(prompt) < ds_graph_planned_sum(prompt));

  ds_graph *decode = build(1, SEQ - 1, &out, &ids, &pos, &slots);
  CHECK(compute_threads(decode, 2) == DSEEK_OK);
  err = 0;
  for (int i = 0; i < D; i++) err = fmax(err, fabs(ref[SEQ - 1][i] - at(out, i, 0, 0, 0)));
  CHECK_MSG(err < 1e-4, "decode: max error %g", err);
  ds_graph_free(prompt);
  ds_graph_free(decode);
}

int main(void)
{
  RUN(test_toy_transformer);
  return DS_TEST_RESULT();
}
