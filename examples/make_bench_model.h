/*
 * make_bench_model.h — the generator's options, shared by its presets
 * (make_bench_model.c: qwen2; make_bench_deepseek2.c: deepseek2).
 */
#ifndef DS_MAKE_BENCH_MODEL_H
#define DS_MAKE_BENCH_MODEL_H

#include <stdint.h>

typedef struct bench_opts {
  int wtype;        /* dseek_type of the matrices (or the generator's Q4_K_M mix) */
  int n_layer;      /* main layers; 0: the preset's */
  int64_t vocab;    /* 0: the preset's; else the shrunk sizes (tests) */
  int64_t embd;
  int64_t experts;
  int mtp;          /* deepseek2: add one MTP (nextn) layer */
  int exps_type;    /* deepseek2: type of the routed experts (0: wtype), e.g. IQ2_XXS */
} bench_opts;

/* The deepseek2 presets "v2-lite" and "v3-small"; 2 on an unknown name. */
int make_deepseek2(const char *path, const char *preset, const bench_opts *o);

#endif
