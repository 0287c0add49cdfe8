"""Write a tiny random qwen2 GGUF whose vocabulary has DeepSeek's tool-call
tokens and whose chat template is DeepSeek-R1's own (chat_template of
tests/data/tokenizers/deepseek_r1/tokenizer_config.json) or the Jinja file
given (DeepSeek-R1-0528-Qwen3-8B's, tests/data/chat_templates/), for the
server's tool-calling tests. Built from the tiny reference models' pieces
(tests/reference: make_tiny's config and random weights, tiny_tokenizer, the
GGUF writer); the existing tiny models are left as they are.

    python3 make_tool_model.py OUT.gguf [TEMPLATE.jinja]
"""

import json
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "reference"))

import convert  # noqa: E402
import make_tiny  # noqa: E402
import quants  # noqa: E402
import tiny_tokenizer  # noqa: E402

# The tool-call and tool-output markers of DeepSeek-V3 / R1
# (tests/data/tokenizers/deepseek_v3/tokenizer.json added_tokens).
TOOL_TOKENS = ["<｜tool▁calls▁begin｜>", "<｜tool▁calls▁end｜>", "<｜tool▁call▁begin｜>",
               "<｜tool▁call▁end｜>", "<｜tool▁outputs▁begin｜>", "<｜tool▁outputs▁end｜>",
               "<｜tool▁output▁begin｜>", "<｜tool▁output▁end｜>", "<｜tool▁sep｜>"]


class ToolTokenizer(tiny_tokenizer.TinyTokenizer):
    def __init__(self):
        super().__init__()
        self.tokens += TOOL_TOKENS
        self.types += [tiny_tokenizer.TOKEN_USER_DEFINED] * len(TOOL_TOKENS)


def main():
    out = sys.argv[1]
    if len(sys.argv) > 2:
        with open(sys.argv[2], encoding="utf-8", newline="") as f:
            template = f.read()
    else:
        with open(os.path.join(HERE, "..", "data", "tokenizers", "deepseek_r1", "tokenizer_config.json"),
                  encoding="utf-8") as f:
            template = json.load(f)["chat_template"]
    tok = ToolTokenizer()
    cfg = make_tiny.tiny_config("qwen2", False)
    cfg["vocab_size"] = tok.vocab_size
    weights = make_tiny.random_weights(cfg, 2718)
    convert.write_gguf(out, weights, cfg, quants.GGML_TYPE_BY_NAME["f32"], tok, template, "tiny-tools")


main()
