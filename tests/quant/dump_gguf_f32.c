/*
 * dump_gguf_f32.c — every tensor of a GGUF file decoded to f32 by dseek's
 * decoders (types.h to_float), for test_llama_dequant.py to hash and compare
 * with the digests of llama.cpp's own dequantization.
 *
 *   dump_gguf_f32 FILE   ->  stdout: per tensor a line "NAME TYPE N\n" then
 *                            N little-endian f32 (file order), then "end\n"
 */
#include "formats/gguf.h"
#include "kernels/types.h"

#include <stdio.h>
#include <stdlib.h>
#ifdef _WIN32
#include <fcntl.h>
#include <io.h>
#endif

int main(int argc, char **argv)
{
  if (argc != 2) {
    fprintf(stderr, "usage: dump_gguf_f32 FILE.gguf\n");
    return 2;
  }
#ifdef _WIN32
  _setmode(_fileno(stdout), _O_BINARY);   /* the floats are bytes: no "\n" -> "\r\n" */
#endif
  ds_gguf *g;
  if (ds_gguf_open(argv[1], true, &g) != DSEEK_OK) {
    fprintf(stderr, "dump_gguf_f32: %s\n", dseek_last_error());
    return 1;
  }
  int rc = 0;
  for (int64_t i = 0; i < g->n_tensors && rc == 0; i++) {
    const ds_gguf_tensor *t = &g->tensors[i];
    const ds_type_traits *tr = ds_type_traits_get(t->type);
    const int64_t n = t->ne[0] * t->ne[1] * t->ne[2] * t->ne[3];
    float *y = malloc((size_t)n * sizeof(float));
    if (!tr || !y) {
      fprintf(stderr, "dump_gguf_f32: %s: type %s not decodable\n", t->name, dseek_type_name(t->type));
      rc = 1;
    } else {
      tr->to_float(t->data, y, n);
      printf("%s %s %lld\n", t->name, tr->name, (long long)n);
      fwrite(y, sizeof(float), (size_t)n, stdout);
    }
    free(y);
  }
  printf("end\n");
  ds_gguf_close(g);
  return rc;
}
