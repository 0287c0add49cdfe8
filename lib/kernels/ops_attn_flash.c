/*
 * ops_attn_flash.c — the fused (flash-style) attention used at every kernel
 * level above the reference (cpu.h); same op and result as ops_attn.c:
 *     out[:, h, t] = sum_s softmax_s(scale q.k_s) v_s   over the visible slots
 *
 * Work unit: one kv head hk, a block of up to DS_FLASH_TOKENS query tokens
 * and a share of the group's heads, i.e. queries that share hk's keys and
 * values. The heads are split only when kv heads x token blocks leave threads
 * idle: decoding one token of an MLA model (one latent "kv head", 16-128
 * query heads) was one unit, run by one thread while the others waited at the
 * barrier. Slots are walked in tiles of DS_FLASH_SLOTS: the tile's v rows
 * (and k rows unless f16) are decoded to f32 once per unit (not once per
 * query, as the reference does; f16 rows with F16C, bit-identical to the
 * scalar decode); f16 k rows are not decoded at all: each slot's row is
 * dotted straight from the cache against up to DS_VEC_COLS of the unit's
 * queries of one token (the level's dot_f16: per column the same FMA chain
 * as dot_f32 on the decoded row, so the same scores), which reads the cache
 * once per four queries instead of converting it. Each query keeps an online
 * softmax (its value terms applied in runs by ds_attn_pv)
 *     m = running max, l = sum_s exp(a_s - m), o = sum_s exp(a_s - m) v_s
 * updated slot by slot in index order: a score above m rescales o and l by
 * exp(m_old - m_new) first (so every exp() stays <= 1, as with the two-pass
 * max); out = o / l at the end. The update sequence of a query depends only on
 * the slots it sees, in order, never on tile or block boundaries or on the
 * thread count, so a sequence's result is the same bits whether other
 * sequences' slots (ds_op_attn_seq) are interleaved in the cache or not.
 *
 * A query's result depends on nothing but its own slots and the level, so the
 * head split (which varies with the thread count) changes no bits.
 *
 * Units go to threads round-robin (later query blocks see more slots). Scratch
 * per thread: see ds_kernel_attn_flash_scratch_floats.
 */
#include "core/platform.h"   /* ds_fmaf */
#include "kernels/cpu.h"
#include "kernels/ops.h"
#include "kernels/ops_attn.h"
#include "kernels/types.h"
#include "kernels/vec.h"

#include <math.h>
#include <string.h>
#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#endif

#define DS_FLASH_SLOTS 32
/* Query tokens per unit: about 128 queries (group x tokens) share a decoded
 * tile, so the f16 -> f32 conversions cost little next to the dots. */
#define DS_FLASH_QUERIES 128

static int64_t block_tokens(int64_t group)
{
  int64_t t = DS_FLASH_QUERIES / group;
  return t < 1 ? 1 : t;
}

size_t ds_kernel_attn_flash_scratch_floats(const ds_tensor *node)
{
  const ds_tensor *q = node->src[0], *k = node->src[1], *v = node->src[2];
  const int64_t Dk = k->ne[0], Dv = v->ne[0], group = q->ne[1] / k->ne[1];
  const int64_t nq = group * block_tokens(group);
  /* k and v tiles, then per query: o[Dv], scores[slots], m, l */
  return (size_t)(DS_FLASH_SLOTS * (Dk + Dv) + nq * (Dv + DS_FLASH_SLOTS + 2));
}

#if defined(__x86_64__) || defined(__i386__)
/* n f16 values -> f32 with F16C, 8 at a time (exact, as the scalar decode);
 * only called at DS_CPU_AVX2 and above, which require F16C (cpu.c). */
__attribute__((target("avx2,f16c"))) static void f16_rows_f16c(const uint16_t *src, float *dst, int64_t n)
{
  int64_t i = 0;
  for (; i + 8 <= n; i += 8) _mm256_storeu_ps(dst + i, _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)(src + i))));
  for (; i < n; i++) dst[i] = ds_f16_to_f32(src[i]);
}
#endif

void ds_attn_f16_to_f32(ds_cpu_level level, const uint16_t *src, float *dst, int64_t n)
{
#if defined(__x86_64__) || defined(__i386__)
  if (level >= DS_CPU_AVX2) {
    f16_rows_f16c(src, dst, n);
    return;
  }
#endif
  (void)level;
  ds_type_traits_get(DSEEK_TYPE_F16)->to_float(src, dst, n);   /* the scalar twin */
}

/* o[d] = fma(e[n-1], v[n-1][d], ... fma(e[0], v[0][d], o[d])): n successive
 * axpys o += e_j v_j as one FMA chain per element, in slot order, with o
 * loaded and stored once per call instead of once per slot (the per-slot
 * axpy was load/store bound: two loads and a store per FMA). Every level
 * computes the same chain, so all give the scalar twin's bits. */
static void pv_scalar(int64_t Dv, float *o, const float *const *v, const float *e, int n)
{
  for (int64_t d = 0; d < Dv; d++) {
    float acc = o[d];
    for (int j = 0; j < n; j++) acc = ds_fmaf(e[j], v[j][d], acc);
    o[d] = acc;
  }
}

#if defined(__x86_64__) || defined(__i386__)
/* Four W-wide column chunks of o per pass: four independent FMA chains (one
 * chain alone waits on the FMA latency at every slot). Advances d. */
#define PV_FOUR_CHUNKS(VEC, W, LOAD, STORE, FMADD, SET1)                  \
  for (; d + 4 * (W) <= Dv; d += 4 * (W)) {                               \
    VEC a0 = LOAD(o + d), a1 = LOAD(o + d + (W));                         \
    VEC a2 = LOAD(o + d + 2 * (W)), a3 = LOAD(o + d + 3 * (W));           \
    for (int j = 0; j < n; j++) {                                         \
      const VEC ej = SET1(e[j]);                                          \
      const float *vj = v[j] + d;                                         \
      a0 = FMADD(ej, LOAD(vj), a0);                                       \
      a1 = FMADD(ej, LOAD(vj + (W)), a1);                                 \
      a2 = FMADD(ej, LOAD(vj + 2 * (W)), a2);                             \
      a3 = FMADD(ej, LOAD(vj + 3 * (W)), a3);                             \
    }                                                                     \
    STORE(o + d, a0);                                                     \
    STORE(o + d + (W), a1);                                               \
    STORE(o + d + 2 * (W), a2);                                           \
    STORE(o + d + 3 * (W), a3);                                           \
  }

__attribute__((target("avx512f"))) static void pv_avx512(int64_t Dv, float *o, const float *const *v, const float *e,
                                                           int n)
{
  int64_t d = 0;
  PV_FOUR_CHUNKS(__m512, 16, _mm512_loadu_ps, _mm512_storeu_ps, _mm512_fmadd_ps, _mm512_set1_ps)
  for (; d < Dv; d += 16) {
    const __mmask16 m = Dv - d >= 16 ? (__mmask16)0xFFFF : (__mmask16)((1u << (Dv - d)) - 1);
    __m512 acc = _mm512_maskz_loadu_ps(m, o + d);
    for (int j = 0; j < n; j++) acc = _mm512_fmadd_ps(_mm512_set1_ps(e[j]), _mm512_maskz_loadu_ps(m, v[j] + d), acc);
    _mm512_mask_storeu_ps(o + d, m, acc);
  }
}

__attribute__((target("avx2,fma"))) static void pv_avx2(int64_t Dv, float *o, const float *const *v, const float *e,
                                                         int n)
{
  int64_t d = 0;
  PV_FOUR_CHUNKS(__m256, 8, _mm256_loadu_ps, _mm256_storeu_ps, _mm256_fmadd_ps, _mm256_set1_ps)
  for (; d + 8 <= Dv; d += 8) {
    __m256 acc = _mm256_loadu_ps(o + d);
    for (int j = 0; j < n; j++) acc = _mm256_fmadd_ps(_mm256_set1_ps(e[j]), _mm256_loadu_ps(v[j] + d), acc);
    _mm256_storeu_ps(o + d, acc);
  }
  for (; d < Dv; d++) {
    float acc = o[d];
    for (int j = 0; j < n; j++) acc = fmaf(e[j], v[j][d], acc);
    o[d] = acc;
  }
}
#undef PV_FOUR_CHUNKS
#endif

void ds_attn_pv(ds_cpu_level level, int64_t Dv, float *o, const float *const *v, const float *e, int n)
{
#if defined(__x86_64__) || defined(__i386__)
  if (level >= DS_CPU_AVX512) {
    pv_avx512(Dv, o, v, e, n);
    return;
  }
  if (level >= DS_CPU_AVX2) {
    pv_avx2(Dv, o, v, e, n);
    return;
  }
#endif
  (void)level;
  pv_scalar(Dv, o, v, e, n);
}

/* Rows [s0, s0 + n) of kv head hk of cache c as f32 rows of D values at dst
 * (or the cache itself when it is f32); returns the row stride in bytes. */
static size_t tile_rows(const ds_tensor *c, const ds_type_traits *tr, ds_cpu_level level, int64_t hk, int64_t s0,
                        int64_t n, float *dst, const float **rows)
{
  if (c->type == DSEEK_TYPE_F32) {
    *rows = ds_tensor_ptr(c, 0, hk, s0, 0);
    return c->nb[2];
  }
  for (int64_t s = 0; s < n; s++) {
    const void *src = ds_tensor_ptr(c, 0, hk, s0 + s, 0);
    if (c->type == DSEEK_TYPE_F16) ds_attn_f16_to_f32(level, src, dst + s * c->ne[0], c->ne[0]);
    else tr->to_float(src, dst + s * c->ne[0], c->ne[0]);
  }
  *rows = dst;
  return (size_t)c->ne[0] * sizeof(float);
}

/* Ways the group's heads are split so that the units (kv heads x token
 * blocks x splits) keep nth threads busy; at most group. */
static int64_t head_splits(int64_t units, int64_t group, int nth)
{
  if (units >= nth) return 1;
  int64_t n = (nth + units - 1) / units;
  return n < group ? n : group;
}

void ds_kernel_attn_flash(const ds_kernel_params *p, ds_tensor *dst)
{
  const ds_cpu_level level = ds_cpu_level_get();
  const ds_vec_kernels *vk = ds_vec_get(level);
  const ds_tensor *q = dst->src[0], *k = dst->src[1], *v = dst->src[2], *pos = dst->src[3];
  const ds_type_traits *tk = ds_type_traits_get(k->type), *tv = ds_type_traits_get(v->type);
  const int64_t Dk = k->ne[0], Dv = v->ne[0], H = q->ne[1], T = q->ne[2], Hkv = k->ne[1];
  const int64_t group = H / Hkv, bt = block_tokens(group), n_blocks = (T + bt - 1) / bt;
  const int64_t n_split = head_splits(Hkv * n_blocks, group, p->nth), per_split = (group + n_split - 1) / n_split;
  const bool k_f16 = k->type == DSEEK_TYPE_F16 && vk->dot_f16;
  const int64_t n_kv = dst->op_i[0], n_ctx = k->ne[2];
  const float scale = dst->op_f[0];
  const int32_t *positions = pos->data;
  const int32_t *owner = dst->src[4] ? dst->src[4]->data : NULL;

  float *ktile = p->scratch, *vtile = ktile + DS_FLASH_SLOTS * Dk, *o = vtile + DS_FLASH_SLOTS * Dv;
  float *scores = o + group * bt * Dv, *mx = scores + group * bt * DS_FLASH_SLOTS, *l = mx + group * bt;

  for (int64_t u = p->ith; u < Hkv * n_blocks * n_split; u += p->nth) {
    const int64_t hk = u % Hkv, split = (u / Hkv) % n_split, t0 = (u / Hkv / n_split) * bt, t1 = DS_MIN(T, t0 + bt);
    /* this unit's heads [h0, h1) of the group; query i = (t - t0) * nh + (h - h0) */
    const int64_t h0 = hk * group + split * per_split, h1 = DS_MIN(h0 + per_split, (hk + 1) * group), nh = h1 - h0;
    if (nh <= 0) continue;
    /* L[t] visible slots */
    int64_t L_max = 0;
    for (int64_t t = t0; t < t1; t++) {
      int64_t vis = positions[t] < 0 ? 0 : (int64_t)positions[t] + 1;
      L_max = DS_MAX(L_max, DS_MIN(vis, n_kv));
    }
    const int64_t nq = (t1 - t0) * nh;
    memset(o, 0, (size_t)(nq * Dv) * sizeof *o);
    for (int64_t i = 0; i < nq; i++) {
      mx[i] = -INFINITY;
      l[i] = 0.0f;
    }
    for (int64_t s0 = 0; s0 < L_max; s0 += DS_FLASH_SLOTS) {
      const int64_t ns = DS_MIN(DS_FLASH_SLOTS, L_max - s0);
      const float *krows = NULL, *vrows;
      const size_t kstride = k_f16 ? 0 : tile_rows(k, tk, level, hk, s0, ns, ktile, &krows);
      const size_t vstride = tile_rows(v, tv, level, hk, s0, ns, vtile, &vrows);
      for (int64_t t = t0; t < t1; t++) {
        int64_t vis = positions[t] < 0 ? 0 : (int64_t)positions[t] + 1;
        const int64_t n = DS_MIN(DS_MIN(vis, n_kv) - s0, ns);
        if (n <= 0) continue;
        const int32_t qseq = owner ? owner[n_ctx + t] : -1;
        if (k_f16)   /* each f16 key row against up to DS_VEC_COLS of token t's queries */
          for (int64_t s = 0; s < n; s++)
            for (int64_t hq = h0; hq < h1; hq += DS_VEC_COLS) {
              float col[DS_VEC_COLS];
              const int nc = (int)DS_MIN(DS_VEC_COLS, h1 - hq);
              vk->dot_f16(Dk, ds_tensor_ptr(k, 0, hk, s0 + s, 0), ds_tensor_ptr(q, 0, hq, t, 0), q->nb[1], nc, col);
              for (int c = 0; c < nc; c++) scores[((t - t0) * nh + (hq - h0) + c) * DS_FLASH_SLOTS + s] = col[c];
            }
        for (int64_t h = h0; h < h1; h++) {
          const int64_t i = (t - t0) * nh + (h - h0);
          const float *qv = ds_tensor_ptr(q, 0, h, t, 0);
          float *sc = scores + i * DS_FLASH_SLOTS, *oi = o + i * Dv;
          for (int64_t s = 0; s < n && !k_f16; s += DS_VEC_COLS)
            vk->dot_f32(Dk, qv, (const char *)krows + (size_t)s * kstride, kstride, (int)DS_MIN(DS_VEC_COLS, n - s),
                        sc + s);
          /* the tile's terms e_s v_s are applied in runs (ds_attn_pv), a
           * run ending where a new max must rescale what came before */
          const float *run_v[DS_FLASH_SLOTS];
          float run_e[DS_FLASH_SLOTS];
          int run = 0;
          for (int64_t s = 0; s < n; s++) {
            if (owner && owner[s0 + s] >= 0 && owner[s0 + s] != qseq) continue;
            const float a = scale * sc[s];
            if (a > mx[i]) {
              /* new max: rescale what was summed under the old one (nothing
               * yet when the old max is -inf) */
              if (mx[i] != -INFINITY) {
                ds_attn_pv(level, Dv, oi, run_v, run_e, run);
                run = 0;
                const float r = expf(mx[i] - a);
                l[i] *= r;
                for (int64_t d = 0; d < Dv; d++) oi[d] *= r;
              }
              mx[i] = a;
            }
            /* a NaN score (or all -inf) gives NaN, as the reference does */
            const float e = expf(a - mx[i]);
            l[i] += e;
            run_v[run] = (const float *)((const char *)vrows + (size_t)s * vstride);
            run_e[run++] = e;
          }
          ds_attn_pv(level, Dv, oi, run_v, run_e, run);
        }
      }
    }
    for (int64_t t = t0; t < t1; t++)
      for (int64_t h = h0; h < h1; h++) {
        const int64_t i = (t - t0) * nh + (h - h0);
        float *out = ds_tensor_ptr(dst, 0, h, t, 0);
        if (l[i] == 0.0f && mx[i] == -INFINITY) {   /* nothing visible: zeros, as the reference */
          memset(out, 0, (size_t)Dv * sizeof *out);
          continue;
        }
        const float inv = 1.0f / l[i];
        for (int64_t d = 0; d < Dv; d++) out[d] = o[i * Dv + d] * inv;
      }
  }
}
