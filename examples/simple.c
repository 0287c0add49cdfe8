/* simple.c — the shortest complete dseek program: load a model, ask one
 * question, stream the reasoning (dimmed) and the answer.
 *
 *   cc simple.c $(pkg-config --cflags --libs dseek) -o simple
 *   ./simple model.gguf "What is 17 * 23?"
 */
#include <dseek.h>
#include <stdio.h>

static int on_piece(dseek_piece_kind kind, const char *text, size_t len, void *user)
{
  (void)user;
  if (kind == DSEEK_PIECE_REASONING) printf("\033[2m%.*s\033[0m", (int)len, text);
  else printf("%.*s", (int)len, text);
  fflush(stdout);
  return 0;   /* non-zero would stop generation */
}

int main(int argc, char **argv)
{
  if (argc < 3) { fprintf(stderr, "usage: %s MODEL QUESTION\n", argv[0]); return 2; }
  dseek_model *model = NULL;
  dseek_context *ctx = NULL;
  if (dseek_model_load(argv[1], NULL, &model) || dseek_context_create(model, NULL, &ctx)) {
    fprintf(stderr, "error: %s\n", dseek_last_error());
    dseek_model_free(model);
    return 1;
  }
  const char *roles[] = {"user"}, *contents[] = {argv[2]};
  char prompt[8192];
  size_t len;
  dseek_status st = dseek_chat_render(model, roles, contents, 1, 1, prompt, sizeof prompt, &len);

  dseek_generate_options opts;
  dseek_generate_options_init(&opts, sizeof opts);
  opts.max_tokens = 1024;
  opts.stream = on_piece;
  if (!st) st = dseek_generate(ctx, prompt, &opts, NULL);
  if (st) fprintf(stderr, "\nerror: %s\n", dseek_last_error());
  printf("\n");
  dseek_context_free(ctx);
  dseek_model_free(model);
  return st ? 1 : 0;
}
