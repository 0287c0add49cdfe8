"""A minimal valid byte-level BPE tokenizer for the tiny models: the 256 byte
tokens (id = byte value), a few merges, and R1-style added tokens, rendered
both as GGUF tokenizer metadata and as an HF tokenizer.json.

GGUF facts (llama.cpp gguf-py, and the real vocab-only GGUFs in
tests/data/tokenizers/llamacpp/): tokenizer.ggml.model = "gpt2";
tokens are strings in GPT-2's byte-to-unicode alphabet ("Ġ" = space);
token_type is an INT32 array (1 normal, 3 control, 4 user-defined);
merges are strings "left right"; bos/eos ids are UINT32; add_bos_token BOOL.
HF tokenizer.json: model.type "BPE", model.vocab {token: id} (without the
added tokens), model.merges either ["a b", ...] (older files, e.g. Llama 3.1)
or [["a", "b"], ...] (newer, e.g. the R1-Distill-Qwen file in
tests/data/tokenizers/); we emit the pair form for qwen2 and the string
form for llama so both parsers get exercised.
"""

TOKEN_NORMAL, TOKEN_CONTROL, TOKEN_USER_DEFINED = 1, 3, 4

# Pre-tokenizer regexes as in the real tokenizer.json files: Qwen2 splits
# digits one by one, Llama 3 in runs of up to three.
PRE_REGEX = {
    "qwen2": r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+",
    "llama": r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+",
}
PRE_REGEX["qwen3"] = PRE_REGEX["qwen2"]   # Qwen3 keeps Qwen2's tokenizer.json pre-tokenizer
# qwen3 GGUFs say "qwen2": convert_hf_to_gguf.py's get_vocab_base_pre maps the
# Qwen3 tokenizer's hash (ref Qwen/Qwen3-Embedding-0.6B) to res = "qwen2".
GGUF_PRE = {"qwen2": "qwen2", "qwen3": "qwen2", "llama": "llama-bpe", "deepseek2": "deepseek-v3"}
# DeepSeek-V3 / R1 tokenizer.json (tests/data/tokenizers/deepseek_v3): three
# Isolated splits (digit runs of up to three, CJK runs, then words/punctuation/
# spaces) before the byte-level step, an empty normalizer Sequence, "a b" merges.
DEEPSEEK_V3_SPLITS = [
    r"\p{N}{1,3}",
    "[\u4e00-\u9fa5\u3040-\u309f\u30a0-\u30ff]+",
    "[!\"#$%&'()*+,\\-./:;<=>?@\\[\\\\\\]^_`{|}~][A-Za-z]+|[^\r\n\\p{L}\\p{P}\\p{S}]?[\\p{L}\\p{M}]+"
    "| ?[\\p{P}\\p{S}]+[\r\n]*|\\s*[\r\n]+|\\s+(?!\\S)|\\s+",
]

# Merges in priority order; each joins two existing tokens into a new one.
MERGES = [
    ("Ġ", "t"), ("h", "e"), ("i", "n"), ("Ġ", "a"), ("e", "r"), ("o", "n"),
    ("Ġt", "he"), ("r", "e"), ("a", "t"), ("Ġ", "s"), ("e", "n"), ("o", "r"),
    ("Ġ", "w"), ("i", "s"), ("Ġ", "o"), ("e", "s"), ("a", "n"), ("Ġ", "c"),
    ("i", "t"), ("Ġ", "b"), ("Ġ", "f"), ("a", "l"), ("Ġ", "m"), ("Ġ", "p"),
    ("in", "g"), ("o", "u"), ("Ġ", "d"), ("l", "e"), ("Ġ", "in"), ("Ġw", "h"),
    ("Ġ", "is"), ("Ġa", "n"), ("Ġan", "d"), ("Ġo", "f"), ("Ġ", "h"), ("Ġ", "Ġ"),
    ("ĠĠ", "ĠĠ"), ("Ċ", "Ċ"),
]

ADDED_TOKENS = [  # (content, special)
    ("<｜begin▁of▁sentence｜>", True),
    ("<｜end▁of▁sentence｜>", True),
    ("<｜User｜>", False),
    ("<｜Assistant｜>", False),
    ("<think>", False),
    ("</think>", False),
]


def bytes_to_unicode():
    """GPT-2's reversible byte -> printable character map: printable Latin-1
    bytes map to themselves, the other 68 bytes to U+0100 upward in order."""
    bs = list(range(ord("!"), ord("~") + 1)) + list(range(ord("¡"), ord("¬") + 1)) \
        + list(range(ord("®"), ord("ÿ") + 1))
    cs = bs[:]
    n = 0
    for b in range(256):
        if b not in bs:
            bs.append(b)
            cs.append(256 + n)
            n += 1
    return {b: chr(c) for b, c in zip(bs, cs)}


class TinyTokenizer:
    def __init__(self):
        byte_char = bytes_to_unicode()
        self.tokens = [byte_char[b] for b in range(256)]
        for a, b in MERGES:
            if a not in self.tokens or b not in self.tokens or a + b in self.tokens:
                raise ValueError(f"bad merge {a!r} {b!r}")
            self.tokens.append(a + b)
        self.n_base = len(self.tokens)
        self.tokens += [content for content, _ in ADDED_TOKENS]
        self.types = [TOKEN_NORMAL] * self.n_base + [
            TOKEN_CONTROL if special else TOKEN_USER_DEFINED for _, special in ADDED_TOKENS]
        self.bos_id = self.tokens.index(ADDED_TOKENS[0][0])
        self.eos_id = self.tokens.index(ADDED_TOKENS[1][0])

    @property
    def vocab_size(self):
        return len(self.tokens)

    def gguf_metadata(self, writer, arch, chat_template=None):
        import gguf_write as g
        writer.add_string("tokenizer.ggml.model", "gpt2")
        writer.add_string("tokenizer.ggml.pre", GGUF_PRE[arch])
        writer.add_array("tokenizer.ggml.tokens", g.STRING, self.tokens)
        writer.add_array("tokenizer.ggml.token_type", g.I32, self.types)
        writer.add_array("tokenizer.ggml.merges", g.STRING, [f"{a} {b}" for a, b in MERGES])
        writer.add_u32("tokenizer.ggml.bos_token_id", self.bos_id)
        writer.add_u32("tokenizer.ggml.eos_token_id", self.eos_id)
        writer.add_bool("tokenizer.ggml.add_bos_token", True)
        writer.add_bool("tokenizer.ggml.add_eos_token", False)
        if chat_template:
            writer.add_string("tokenizer.chat_template", chat_template)

    def tokenizer_json(self, arch):
        added = [{"id": self.n_base + i, "content": content, "single_word": False,
                  "lstrip": False, "rstrip": False, "normalized": False, "special": special}
                 for i, (content, special) in enumerate(ADDED_TOKENS)]
        bos = ADDED_TOKENS[0][0]
        merges = [[a, b] for a, b in MERGES] if arch in ("qwen2", "qwen3") else [f"{a} {b}" for a, b in MERGES]
        patterns = DEEPSEEK_V3_SPLITS if arch == "deepseek2" else [PRE_REGEX[arch]]
        normalizer = {"qwen2": {"type": "NFC"}, "qwen3": {"type": "NFC"},
                      "deepseek2": {"type": "Sequence", "normalizers": []}}.get(arch)
        return {
            "version": "1.0",
            "truncation": None,
            "padding": None,
            "added_tokens": added,
            "normalizer": normalizer,
            "pre_tokenizer": {"type": "Sequence", "pretokenizers": [
                {"type": "Split", "pattern": {"Regex": p}, "behavior": "Isolated", "invert": False}
                for p in patterns] + [
                {"type": "ByteLevel", "add_prefix_space": False, "trim_offsets": False,
                 "use_regex": False}]},
            "post_processor": {"type": "TemplateProcessing",
                               "single": [{"SpecialToken": {"id": bos, "type_id": 0}},
                                          {"Sequence": {"id": "A", "type_id": 0}}],
                               "pair": [{"SpecialToken": {"id": bos, "type_id": 0}},
                                        {"Sequence": {"id": "A", "type_id": 0}},
                                        {"SpecialToken": {"id": bos, "type_id": 1}},
                                        {"Sequence": {"id": "B", "type_id": 1}}],
                               "special_tokens": {bos: {"id": bos, "ids": [self.bos_id],
                                                        "tokens": [bos]}}},
            "decoder": {"type": "ByteLevel", "add_prefix_space": False, "trim_offsets": False,
                        "use_regex": False},
            "model": {"type": "BPE", "dropout": None, "unk_token": None,
                      "continuing_subword_prefix": "", "end_of_word_suffix": "",
                      "fuse_unk": False, "byte_fallback": False, "ignore_merges": False,
                      "vocab": {t: i for i, t in enumerate(self.tokens[:self.n_base])},
                      "merges": merges},
        }

    def tokenizer_config(self, chat_template=None):
        cfg = {"add_bos_token": True, "add_eos_token": False,
               "bos_token": ADDED_TOKENS[0][0], "eos_token": ADDED_TOKENS[1][0],
               "model_max_length": 512, "tokenizer_class": "LlamaTokenizerFast",
               "clean_up_tokenization_spaces": False, "legacy": True}
        if chat_template:
            cfg["chat_template"] = chat_template
        return cfg
