/* test_attn_share.c — tokens of one attention op that share the leading
 * blocks of their slot lists (kernels/ops_attn_blocked.c walks those blocks
 * together) get the bits of each token attending alone:
 *   - parallel chains' decode tokens over a shared prompt with each chain's
 *     own slots interleaved (ds_op_attn_seq ownership; four chains with one
 *     and two tokens each, and a padding token at position -1; prompts of
 *     200, 500 and 600, whose lists have one, two and two partitions; two
 *     chains, which MLA on three threads walks by the slot split);
 *   - a prompt batch of 40 tokens at depth 600 and one at depth 0 (causal
 *     lists that are prefixes of each other);
 * for GQA (head dim 128 f16, 6 query heads per kv head; 37 f32) and MLA's
 * absorbed shape (576/512, f16 and f32; 16 heads: several tiles of tokens),
 * at every level above the reference and 1, 2 and 3 threads: bit for bit
 * equal to the same tokens run one per op (nothing to share); and the
 * reference kernel (ops_attn.c) within 2e-6. */
#include "harness.h"
#include "levels.h"
#include "util.h"
#include "kernels/cpu.h"

#include <math.h>

typedef struct shape {
  int type;
  int64_t D, Dv, H, Hkv;
  int mla;
} shape;

typedef struct batch {
  int64_t n_ctx, n_kv, T;
  const int32_t *pos;
  const int32_t *owner;   /* NULL, or n_ctx slot owners then T query sequences */
} batch;

/* The op over T tokens (queries q [D, H, T]) on nt threads -> out [Dv, H, T]. */
static void run(const shape *sh, void *kc, void *vc, int64_t n_ctx, int64_t n_kv, int64_t T, const float *q,
                const int32_t *pos, const int32_t *owner, int nt, float *out)
{
  ds_graph *g = ds_graph_new();
  ds_tensor *qt = input_f32(g, sh->D, sh->H, T, 1), *ps = input_i32(g, T);
  ds_tensor *k = ds_tensor_external(g, sh->type, 3, (int64_t[]){sh->D, sh->Hkv, n_ctx}, kc, "k");
  ds_tensor *v = sh->mla ? ds_op_view(g, k, 3, (int64_t[]){sh->Dv, 1, n_ctx}, k->nb, 0)
                         : ds_tensor_external(g, sh->type, 3, (int64_t[]){sh->Dv, sh->Hkv, n_ctx}, vc, "v");
  ds_tensor *ow = owner ? input_i32(g, n_ctx + T) : NULL;
  ds_tensor *o = owner ? ds_op_attn_seq(g, qt, k, v, n_kv, ps, ow, 0.09f) : ds_op_attn(g, qt, k, v, n_kv, ps, 0.09f);
  ds_tensor_set_output(o);
  CHECK(o && ds_graph_plan(g, 3) == DSEEK_OK);
  if (o) {
    memcpy(qt->data, q, (size_t)(sh->D * sh->H * T) * 4);
    memcpy(ps->data, pos, (size_t)T * 4);
    if (owner) memcpy(ow->data, owner, (size_t)(n_ctx + T) * 4);
    CHECK(compute_threads(g, nt) == DSEEK_OK);
    memcpy(out, o->data, (size_t)(sh->Dv * sh->H * T) * 4);
  }
  ds_graph_free(g);
}

static void share_case(const shape *sh, const batch *b, const char *what)
{
  const int64_t qn = sh->D * sh->H, on = sh->Dv * sh->H, T = b->T;
  void *kc = random_cache(sh->type, sh->D * sh->Hkv * b->n_ctx);
  void *vc = sh->mla ? NULL : random_cache(sh->type, sh->Dv * sh->Hkv * b->n_ctx);
  float *q = malloc((size_t)(qn * T) * 4), *solo = malloc((size_t)(on * T) * 4), *got = malloc((size_t)(on * T) * 4);
  int32_t *owner1 = malloc((size_t)(b->n_ctx + 1) * 4);
  fill(q, qn * T);
  const ds_cpu_level best = ds_cpu_level_get();
  /* each token alone, at the scalar level (every level has its bits) */
  ds_cpu_level_set(DS_CPU_SCALAR);
  for (int64_t t = 0; t < T; t++) {
    if (b->owner) {
      memcpy(owner1, b->owner, (size_t)b->n_ctx * 4);
      owner1[b->n_ctx] = b->owner[b->n_ctx + t];
    }
    run(sh, kc, vc, b->n_ctx, b->n_kv, 1, q + t * qn, b->pos + t, b->owner ? owner1 : NULL, 1, solo + t * on);
  }
  for (int l = DS_CPU_SCALAR; l <= (int)best; l++) {
    ds_cpu_level_set((ds_cpu_level)l);
    for (int nt = 1; nt <= 3; nt++) {
      run(sh, kc, vc, b->n_ctx, b->n_kv, T, q, b->pos, b->owner, nt, got);
      for (int64_t t = 0; t < T; t++)
        CHECK_MSG(memcmp(got + t * on, solo + t * on, (size_t)on * 4) == 0, "%s %s D=%lld H=%lld/%lld: level %d, %d threads, token %lld differs from alone",
                  what, dseek_type_name(sh->type), (long long)sh->D, (long long)sh->H, (long long)sh->Hkv, l, nt, (long long)t);
    }
  }
  ds_cpu_level_set(DS_CPU_REFERENCE);
  run(sh, kc, vc, b->n_ctx, b->n_kv, T, q, b->pos, b->owner, 2, got);
  double err = 0;
  for (int64_t i = 0; i < on * T; i++) err = fmax(err, fabs((double)got[i] - solo[i]));
  CHECK_MSG(err <= 2e-6, "%s: %g from the reference kernel", what, err);
  ds_cpu_level_set(best);
  free(kc);
  free(vc);
  free(q);
  free(solo);
  free(got);
  free(owner1);
}

static const shape shapes[] = {
  {DSEEK_TYPE_F16, 128, 128, 12, 2, 0},
  {DSEEK_TYPE_F32, 37, 37, 8, 2, 0},
  {DSEEK_TYPE_F16, 576, 512, 16, 1, 1},
  {DSEEK_TYPE_F32, 576, 512, 16, 1, 1},
};

/* n chains over a prompt of P shared slots, then S steps of each chain's own
 * slots interleaved (slot P + s n + c is chain c's); the op holds the last
 * `per` steps of every chain, and a padding token when pad is set. Lists
 * past 512 entries are cut into partitions (a prompt of 600: the boundary
 * falls in the shared blocks; of 500: after them); two chains of MLA (one
 * kv head) on three threads take the slot split. */
static void chains(int64_t P, int n, int per, int pad)
{
  enum { PMAX = 600, S = 20, NMAX = 4, PER_MAX = 2 };
  const int64_t n_kv = P + n * S, n_ctx = n_kv + 3, T = n * per + pad;
  int32_t pos[NMAX * PER_MAX + 1], owner[PMAX + NMAX * S + 3 + NMAX * PER_MAX + 1];
  for (int64_t s = 0; s < n_ctx; s++) owner[s] = s < P || s >= n_kv ? -1 : (int32_t)((s - P) % n);
  for (int64_t i = 0; i < n * per; i++) {
    const int64_t c = i % n, step = S - per + i / n;
    pos[i] = (int32_t)(P + step * n + c);
    owner[n_ctx + i] = (int32_t)c;
  }
  if (pad) {
    pos[T - 1] = -1;
    owner[n_ctx + T - 1] = 0;
  }
  const batch b = {n_ctx, n_kv, T, pos, owner};
  for (size_t i = 0; i < DS_ARRAY_LEN(shapes); i++) share_case(&shapes[i], &b, "chains");
}

static void test_chains(void)
{
  for (int per = 1; per <= 2; per++)
    for (int pad = 0; pad <= 1; pad++) chains(200, 4, per, pad);
  chains(500, 4, 2, 0);   /* shares 31 blocks: the boundary at 512 in each token's own walk */
  chains(600, 2, 1, 0);
}

/* T prompt tokens at positions depth .. depth + T - 1. */
static void test_prompt_batches(void)
{
  enum { T = 40 };
  static const int64_t depths[] = {600, 0};   /* 600: two partitions, the boundary in the shared blocks */
  for (size_t d = 0; d < DS_ARRAY_LEN(depths); d++) {
    int32_t pos[T];
    for (int t = 0; t < T; t++) pos[t] = (int32_t)(depths[d] + t);
    const batch b = {depths[d] + T + 1, depths[d] + T, T, pos, NULL};
    for (size_t i = 0; i < DS_ARRAY_LEN(shapes); i++) share_case(&shapes[i], &b, depths[d] ? "prompt at depth" : "prompt");
  }
}

int main(void)
{
  ds_test_levels();
  RUN(test_chains);
  RUN(test_prompt_batches);
  return DS_TEST_RESULT();
}
