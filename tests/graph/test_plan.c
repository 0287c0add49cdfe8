/* test_plan.c — the memory planner and the executor: live tensors never
 * share bytes (every pair checked, lifetimes recomputed here), reuse lowers
 * the peak, results survive reuse, compute performs no allocation (malloc is
 * wrapped at link time), and thread counts 1-4 agree bit for bit. */
#include "harness.h"
#include "util.h"

#include <math.h>
#include <stdatomic.h>

/* ---- allocation counting via -Wl,--wrap=malloc,calloc,realloc ------------- */
static atomic_long n_allocs;
void *__real_malloc(size_t n);
void *__real_calloc(size_t n, size_t s);
void *__real_realloc(void *p, size_t n);
void *__wrap_malloc(size_t n);
void *__wrap_calloc(size_t n, size_t s);
void *__wrap_realloc(void *p, size_t n);
void *__wrap_malloc(size_t n) { atomic_fetch_add(&n_allocs, 1); return __real_malloc(n); }
void *__wrap_calloc(size_t n, size_t s) { atomic_fetch_add(&n_allocs, 1); return __real_calloc(n, s); }
void *__wrap_realloc(void *p, size_t n) { atomic_fetch_add(&n_allocs, 1); return __real_realloc(p, n); }

/* ---- lifetimes, recomputed from the graph's tensors -------------------------- */

static ds_tensor *owner_of(ds_tensor *t) { return t->view_src ? t->view_src : t; }

static bool planned_tensor(const ds_tensor *t)
{
  return !(t->flags & (DS_TENSOR_EXTERNAL | DS_TENSOR_VIEW));
}

/* first[i], last[i] for tensor i: definition to last reader (readers of views
 * read the owner); inputs and outputs span the whole graph. */
static void lifetimes(ds_graph *g, int *first, int *last)
{
  int n = ds_graph_n_tensors(g);
  for (int i = 0; i < n; i++) {
    ds_tensor *t = ds_graph_tensor(g, i);
    bool whole = t->flags & (DS_TENSOR_INPUT | DS_TENSOR_OUTPUT);
    first[i] = whole ? 0 : i;
    last[i] = whole ? n : i;
  }
  for (int i = 0; i < n; i++) {
    ds_tensor *t = ds_graph_tensor(g, i);
    for (int s = 0; s < DS_MAX_SRC; s++)
      if (t->src[s] && last[owner_of(t->src[s])->index] < i) last[owner_of(t->src[s])->index] = i;
    if ((t->flags & DS_TENSOR_OUTPUT) && t->view_src) last[t->view_src->index] = n;
  }
}

/* Count pairs of planned tensors alive together whose bytes overlap. */
static int overlapping_live_pairs(ds_graph *g)
{
  int n = ds_graph_n_tensors(g), bad = 0;
  int *first = malloc((size_t)n * sizeof *first), *last = malloc((size_t)n * sizeof *last);
  lifetimes(g, first, last);
  for (int i = 0; i < n; i++) {
    ds_tensor *a = ds_graph_tensor(g, i);
    if (!planned_tensor(a)) continue;
    for (int j = i + 1; j < n; j++) {
      ds_tensor *b = ds_graph_tensor(g, j);
      if (!planned_tensor(b) || first[i] > last[j] || first[j] > last[i]) continue;
      char *a0 = a->data, *b0 = b->data;
      if (a0 < b0 + b->size && b0 < a0 + a->size) bad++;
    }
  }
  free(first);
  free(last);
  return bad;
}

/* x -> scale 2 -> ... (10 times) -> output: only a few slots are needed. */
static void test_chain(void)
{
  ds_graph *g = ds_graph_new();
  ds_tensor *x = input_f32(g, 1000, 1, 1, 1);
  ds_tensor *t = x;
  for (int i = 0; i < 10; i++) t = ds_op_scale(g, t, 2.0f);
  ds_tensor_set_output(t);
  CHECK(ds_graph_plan(g, 4) == DSEEK_OK);
  size_t slot = 4032;   /* 4000 bytes rounded to 64 */
  CHECK_EQ_INT(ds_graph_planned_sum(g), 11 * slot);
  CHECK(ds_graph_arena_bytes(g) < ds_graph_planned_sum(g));
  /* input + output live throughout, plus two alternating intermediates */
  CHECK_EQ_INT(ds_graph_arena_bytes(g), 4 * slot);
  CHECK_EQ_INT(overlapping_live_pairs(g), 0);
  fill_inputs(g);
  CHECK(compute_threads(g, 4) == DSEEK_OK);
  int bad = 0;
  for (int i = 0; i < 1000; i++) bad += at(t, i, 0, 0, 0) != at(x, i, 0, 0, 0) * 1024.0f;
  CHECK_EQ_INT(bad, 0);
  ds_graph_free(g);
}

/* A random DAG of elementwise ops and transposed views over [37, 3] values,
 * evaluated here with a private buffer per tensor, compared on the outputs. */
#define DAG_W 37
#define DAG_H 3
#define DAG_N (DAG_W * DAG_H)

static void test_random_dag(void)
{
  for (int trial = 0; trial < 8; trial++) {
    ds_graph *g = ds_graph_new();
    ds_tensor *vals[200];
    float *ref[200];       /* reference contents of vals[i] */
    ds_tensor *tviews[200];
    int tview_of[200];
    int op_of[200], a_of[200], b_of[200];   /* how vals[i] was made */
    int nv = 0, nt = 0;
    for (int i = 0; i < 3; i++) {
      vals[nv] = input_f32(g, DAG_W, DAG_H, 1, 1);
      ref[nv++] = malloc(DAG_N * sizeof(float));
    }
    for (int step = 0; step < 120; step++) {
      int op = (int)(rng_u32() % 6);
      int a = (int)(rng_u32() % (uint32_t)nv), b = (int)(rng_u32() % (uint32_t)nv);
      if (op == 4) {
        tviews[nt] = ds_op_transpose(g, vals[a]);
        tview_of[nt++] = a;
        continue;
      }
      ds_tensor *r;
      if (op == 0) r = ds_op_add(g, vals[a], vals[b]);
      else if (op == 1) r = ds_op_mul(g, vals[a], vals[b]);
      else if (op == 2) r = ds_op_scale(g, vals[a], 0.5f);
      else if (op == 3) r = ds_op_silu(g, vals[a]);
      else if (nt > 0) {
        int k = (int)(rng_u32() % (uint32_t)nt);
        r = ds_op_reshape(g, ds_op_cont(g, tviews[k]), 2, (int64_t[]){DAG_W, DAG_H});
        a = tview_of[k];
      } else continue;
      CHECK(r != NULL);
      if (!r) break;
      vals[nv] = r;
      ref[nv] = malloc(DAG_N * sizeof(float));
      op_of[nv] = op, a_of[nv] = a, b_of[nv] = b;
      nv++;
      if (rng_u32() % 5 == 0) ds_tensor_set_output(r);
    }
    ds_tensor_set_output(vals[nv - 1]);
    CHECK(ds_graph_plan(g, 4) == DSEEK_OK);
    CHECK_EQ_INT(overlapping_live_pairs(g), 0);
    CHECK(ds_graph_arena_bytes(g) <= ds_graph_planned_sum(g));
    fill_inputs(g);
    CHECK(same_bits_for_thread_counts(g, vals[nv - 1]));
    /* evaluate the reference */
    for (int i = 0; i < 3; i++) memcpy(ref[i], vals[i]->data, DAG_N * sizeof(float));
    for (int i = 3; i < nv; i++) {
      int op = op_of[i], a = a_of[i], b = b_of[i];
      float *o = ref[i], *x = ref[a], *y = ref[b];
      for (int e = 0; e < DAG_N; e++) {
        /* cont(transpose(x)) reshaped: flat (j0 + 3 j1) holds x[j1 + 37 j0] */
        int tj0 = e % DAG_H, tj1 = e / DAG_H;
        o[e] = op == 0 ? x[e] + y[e] : op == 1 ? x[e] * y[e] : op == 2 ? 0.5f * x[e]
             : op == 3 ? x[e] / (1.0f + expf(-x[e])) : x[tj1 + DAG_W * tj0];
      }
    }
    int bad = 0, outputs = 0;
    for (int i = 3; i < nv; i++) {
      if (!(vals[i]->flags & DS_TENSOR_OUTPUT) && !(vals[i]->view_src && (vals[i]->view_src->flags & DS_TENSOR_OUTPUT)))
        continue;
      outputs++;
      for (int e = 0; e < DAG_N; e++) {
        float got = at(vals[i], e % DAG_W, e / DAG_W, 0, 0);
        if (!(fabsf(got - ref[i][e]) <= 1e-6f * (1.0f + fabsf(ref[i][e])))) bad++;
      }
    }
    CHECK(outputs > 0);
    CHECK_MSG(bad == 0, "trial %d: %d wrong values", trial, bad);
    for (int i = 0; i < nv; i++) free(ref[i]);
    ds_graph_free(g);
  }
}

/* Once planned, compute allocates nothing, on any pool. */
static void test_compute_does_not_allocate(void)
{
  atomic_store(&n_allocs, 0);
  void *probe = ds_malloc(16);   /* the wrap really sees the library's allocations */
  ds_free(probe);
  CHECK_EQ_INT(atomic_load(&n_allocs), 1);

  ds_graph *g = ds_graph_new();
  ds_tensor *x = input_f32(g, 64, 5, 1, 1);
  uint16_t w[64 * 48];
  for (int i = 0; i < 64 * 48; i++) w[i] = ds_f32_to_f16(frand());
  ds_tensor *wt = ds_tensor_external(g, DSEEK_TYPE_F16, 2, (int64_t[]){64, 48}, w, "w");
  ds_tensor *y = ds_op_swiglu(g, ds_op_mul_mat(g, wt, ds_op_rms_norm(g, x, 1e-5f)),
                              ds_op_mul_mat(g, wt, x));
  ds_tensor *k = ds_op_top_k(g, y, 3);
  ds_tensor_set_output(k);
  CHECK(ds_graph_plan(g, 4) == DSEEK_OK);
  fill_inputs(g);
  for (int n = 1; n <= 4; n++) {
    ds_threadpool *pool = ds_threadpool_create(n);
    atomic_store(&n_allocs, 0);
    for (int rep = 0; rep < 3; rep++) CHECK(ds_graph_compute(g, pool) == DSEEK_OK);
    CHECK_EQ_INT(atomic_load(&n_allocs), 0);
    ds_threadpool_free(pool);
  }
  atomic_store(&n_allocs, 0);
  CHECK(ds_graph_compute(g, NULL) == DSEEK_OK);
  CHECK_EQ_INT(atomic_load(&n_allocs), 0);
  ds_graph_free(g);
}

/* Many short nodes: every barrier must hold, run after run, on one pool. */
static void test_pool_barriers(void)
{
  ds_graph *g = ds_graph_new();
  ds_tensor *x = input_f32(g, 5, 3, 1, 1);
  ds_tensor *t = x;
  for (int i = 0; i < 300; i++) t = ds_op_add(g, t, x);
  ds_tensor_set_output(t);
  CHECK(ds_graph_plan(g, 4) == DSEEK_OK);
  ds_threadpool *pool = ds_threadpool_create(4);
  CHECK(pool != NULL);
  int bad = 0;
  for (int rep = 0; rep < 30; rep++) {
    float *xv = x->data;
    for (int i = 0; i < 15; i++) xv[i] = (float)(rep + i);
    CHECK(ds_graph_compute(g, pool) == DSEEK_OK);
    for (int i = 0; i < 15; i++) bad += ((float *)t->data)[i] != 301.0f * (float)(rep + i);
  }
  CHECK_EQ_INT(bad, 0);
  ds_threadpool_free(pool);
  CHECK(ds_threadpool_create(0) == NULL);
  ds_threadpool_free(NULL);
  ds_graph_free(g);
}

int main(void)
{
  RUN(test_chain);
  RUN(test_random_dag);
  RUN(test_compute_does_not_allocate);
  RUN(test_pool_barriers);
  return DS_TEST_RESULT();
}
