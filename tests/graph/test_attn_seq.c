/* test_attn_seq.c — attention for several sequences sharing a cache: each
 * sequence's result is bit-identical to attending over a cache that holds only
 * the shared prompt and its own tokens, and other sequences' slots are never
 * seen. */
#include "harness.h"
#include "util.h"

enum { D = 8, H = 4, HKV = 2, P = 3, NSEQ = 3, STEPS = 5, NCTX = P + NSEQ * STEPS };

/* attn of queries q [D, H, T] over k, v [D, HKV, n_ctx] with the given slots/seq
 * (seq == NULL: plain causal attention with pos = qslot). */
static void run(const float *q, int T, const float *k, const float *v, int n_ctx, const int32_t *qslot,
                const int32_t *seq, float *out)
{
  ds_graph *g = ds_graph_new();
  int64_t ne_q[3] = {D, H, T}, ne_c[3] = {D, HKV, n_ctx}, ne_s = n_ctx + T, ne_t = T;
  ds_tensor *tq = ds_tensor_input(g, DSEEK_TYPE_F32, 3, ne_q, "q");
  ds_tensor *tk = ds_tensor_external(g, DSEEK_TYPE_F32, 3, ne_c, (void *)k, "k");
  ds_tensor *tv = ds_tensor_external(g, DSEEK_TYPE_F32, 3, ne_c, (void *)v, "v");
  ds_tensor *ts = ds_tensor_input(g, DSEEK_TYPE_I32, 1, &ne_t, "qslot");
  ds_tensor *tseq = seq ? ds_tensor_input(g, DSEEK_TYPE_I32, 1, &ne_s, "seq") : NULL;
  ds_tensor *a = seq ? ds_op_attn_seq(g, tq, tk, tv, n_ctx, ts, tseq, 0.3f) : ds_op_attn(g, tq, tk, tv, n_ctx, ts, 0.3f);
  ds_tensor_set_output(a);
  CHECK(a && ds_graph_plan(g, 2) == DSEEK_OK);
  memcpy(tq->data, q, (size_t)D * H * T * 4);
  memcpy(ts->data, qslot, (size_t)T * 4);
  if (seq) memcpy(tseq->data, seq, (size_t)ne_s * 4);
  CHECK(compute_threads(g, 2) == DSEEK_OK);
  memcpy(out, a->data, (size_t)D * H * T * 4);
  ds_graph_free(g);
}

static void test_sequences_do_not_mix(void)
{
  /* shared cache: prompt in slots 0..P-1, then step t of sequence i at slot P + t*NSEQ + i */
  static float k[NCTX * HKV * D], v[NCTX * HKV * D], q[NSEQ * STEPS * H * D];
  fill(k, NCTX * HKV * D);
  fill(v, NCTX * HKV * D);
  fill(q, NSEQ * STEPS * H * D);
  int32_t qslot[NSEQ * STEPS], seq[NCTX + NSEQ * STEPS];
  for (int s = 0; s < NCTX; s++) seq[s] = s < P ? -1 : (s - P) % NSEQ;
  for (int t = 0; t < STEPS; t++)
    for (int i = 0; i < NSEQ; i++) {
      qslot[t * NSEQ + i] = P + t * NSEQ + i;
      seq[NCTX + t * NSEQ + i] = i;
    }
  static float shared_out[NSEQ * STEPS * H * D];
  run(q, NSEQ * STEPS, k, v, NCTX, qslot, seq, shared_out);

  /* each sequence alone: prompt then its own tokens contiguous */
  for (int i = 0; i < NSEQ; i++) {
    static float k1[(P + STEPS) * HKV * D], v1[(P + STEPS) * HKV * D], q1[STEPS * H * D], out1[STEPS * H * D];
    int32_t pos1[STEPS];
    memcpy(k1, k, P * HKV * D * 4);
    memcpy(v1, v, P * HKV * D * 4);
    for (int t = 0; t < STEPS; t++) {
      int slot = P + t * NSEQ + i;
      memcpy(k1 + (P + t) * HKV * D, k + slot * HKV * D, HKV * D * 4);
      memcpy(v1 + (P + t) * HKV * D, v + slot * HKV * D, HKV * D * 4);
      memcpy(q1 + t * H * D, q + (t * NSEQ + i) * H * D, H * D * 4);
      pos1[t] = P + t;
    }
    run(q1, STEPS, k1, v1, P + STEPS, pos1, NULL, out1);
    for (int t = 0; t < STEPS; t++)
      CHECK_MSG(memcmp(out1 + t * H * D, shared_out + (t * NSEQ + i) * H * D, H * D * 4) == 0,
                "sequence %d step %d differs from running alone", i, t);
  }
  /* an unmasked run over the same cache does differ (the mask matters) */
  static float mixed[NSEQ * STEPS * H * D];
  run(q, NSEQ * STEPS, k, v, NCTX, qslot, NULL, mixed);
  CHECK(memcmp(mixed, shared_out, sizeof mixed) != 0);
}

/* Decoding: each step's NSEQ tokens in one batch over the shared cache (the
 * blocked kernel, other sequences' slots left out) against each sequence
 * decoded alone, one token at a time: the same bits. */
static void test_decode_steps(void)
{
  static float k[NCTX * HKV * D], v[NCTX * HKV * D], q[NSEQ * STEPS * H * D];
  fill(k, NCTX * HKV * D);
  fill(v, NCTX * HKV * D);
  fill(q, NSEQ * STEPS * H * D);
  static float shared_out[NSEQ * STEPS * H * D];
  for (int t = 0; t < STEPS; t++) {
    int32_t qslot[NSEQ], seq[NCTX + NSEQ];
    for (int s = 0; s < NCTX; s++) seq[s] = s < P ? -1 : (s - P) % NSEQ;
    for (int i = 0; i < NSEQ; i++) {
      qslot[i] = P + t * NSEQ + i;
      seq[NCTX + i] = i;
    }
    run(q + t * NSEQ * H * D, NSEQ, k, v, NCTX, qslot, seq, shared_out + t * NSEQ * H * D);
  }
  for (int i = 0; i < NSEQ; i++) {
    static float k1[(P + STEPS) * HKV * D], v1[(P + STEPS) * HKV * D], out1[H * D];
    memcpy(k1, k, P * HKV * D * 4);
    memcpy(v1, v, P * HKV * D * 4);
    for (int t = 0; t < STEPS; t++) {
      const int slot = P + t * NSEQ + i;
      memcpy(k1 + (P + t) * HKV * D, k + slot * HKV * D, HKV * D * 4);
      memcpy(v1 + (P + t) * HKV * D, v + slot * HKV * D, HKV * D * 4);
    }
    for (int t = 0; t < STEPS; t++) {
      const int32_t pos1 = P + t;
      run(q + (t * NSEQ + i) * H * D, 1, k1, v1, P + STEPS, &pos1, NULL, out1);
      CHECK_MSG(memcmp(out1, shared_out + (t * NSEQ + i) * H * D, H * D * 4) == 0,
                "decode: sequence %d step %d differs from running alone", i, t);
    }
  }
}

static void test_errors(void)
{
  ds_graph *g = ds_graph_new();
  int64_t ne_q[3] = {D, H, 2}, ne_c[3] = {D, HKV, 5}, bad = 6, two = 2;
  static float kv[5 * HKV * D];
  ds_tensor *tq = ds_tensor_input(g, DSEEK_TYPE_F32, 3, ne_q, "q");
  ds_tensor *tk = ds_tensor_external(g, DSEEK_TYPE_F32, 3, ne_c, kv, "k");
  ds_tensor *ts = ds_tensor_input(g, DSEEK_TYPE_I32, 1, &two, "qslot");
  ds_tensor *tseq = ds_tensor_input(g, DSEEK_TYPE_I32, 1, &bad, "seq");
  CHECK(ds_op_attn_seq(g, tq, tk, tk, 5, ts, tseq, 1.0f) == NULL);
  CHECK(strstr(dseek_last_error(), "n_ctx + n_tokens") != NULL);
  CHECK(ds_op_attn_seq(g, tq, tk, tk, 5, ts, NULL, 1.0f) == NULL);
  ds_graph_free(g);
}

int main(void)
{
  RUN(test_sequences_do_not_mix);
  RUN(test_decode_steps);
  RUN(test_errors);
  return DS_TEST_RESULT();
}
