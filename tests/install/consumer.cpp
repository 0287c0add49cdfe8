// consumer.cpp — a C++17 program built against an installed dseek (the
// header and library that `meson install` puts under a prefix, found with
// pkg-config), as an application would use it: it asks tiny-r1 a held-out
// question greedily and checks that reasoning and a \boxed{} answer stream.
//
//   consumer TINY_R1_GGUF QUESTION EXPECTED_ANSWER
#include <dseek.h>

#include <cstdio>
#include <memory>
#include <string>

namespace {

struct model_deleter { void operator()(dseek_model *m) const { dseek_model_free(m); } };
struct context_deleter { void operator()(dseek_context *c) const { dseek_context_free(c); } };

struct streamed {
  std::string reasoning, content;
};

int on_piece(dseek_piece_kind kind, const char *text, size_t len, void *user)
{
  auto *out = static_cast<streamed *>(user);
  (kind == DSEEK_PIECE_REASONING ? out->reasoning : out->content).append(text, len);
  return 0;
}

int fail(const char *what)
{
  std::fprintf(stderr, "consumer: %s: %s\n", what, dseek_last_error());
  return 1;
}

}  // namespace

int main(int argc, char **argv)
{
  if (argc < 4) {
    std::fprintf(stderr, "usage: consumer TINY_R1_GGUF QUESTION EXPECTED_ANSWER\n");
    return 2;
  }
  std::printf("dseek %s\n", dseek_version());
  dseek_model *raw_model = nullptr;
  if (dseek_model_load(argv[1], nullptr, &raw_model) != DSEEK_OK) return fail("load");
  std::unique_ptr<dseek_model, model_deleter> model(raw_model);
  dseek_context *raw_ctx = nullptr;
  if (dseek_context_create(model.get(), nullptr, &raw_ctx) != DSEEK_OK) return fail("context");
  std::unique_ptr<dseek_context, context_deleter> ctx(raw_ctx);

  const char *roles[] = {"user"}, *contents[] = {argv[2]};
  std::string prompt(4096, '\0');
  size_t len = 0;
  if (dseek_chat_render(model.get(), roles, contents, 1, 1, &prompt[0], prompt.size(), &len) != DSEEK_OK)
    return fail("chat template");
  prompt.resize(len);

  streamed out;
  dseek_generate_options opts;
  dseek_generate_options_init(&opts, sizeof opts);
  opts.max_tokens = 400;   // no sampler: greedy
  opts.stream = on_piece;
  opts.stream_user_data = &out;
  dseek_generate_result result;
  result.struct_size = sizeof result;
  if (dseek_generate(ctx.get(), prompt.c_str(), &opts, &result) != DSEEK_OK) return fail("generate");

  std::string boxed = std::string("\\boxed{") + argv[3] + "}";
  std::printf("reasoning: %zu bytes, %lld tokens; answer: %s\n", out.reasoning.size(),
              static_cast<long long>(result.n_reasoning_tokens), out.content.c_str());
  if (out.reasoning.empty() || result.n_reasoning_tokens <= 0) {
    std::fprintf(stderr, "consumer: no reasoning streamed\n");
    return 1;
  }
  if (out.content.find(boxed) == std::string::npos) {
    std::fprintf(stderr, "consumer: the answer lacks %s\n", boxed.c_str());
    return 1;
  }
  return 0;
}
