"""Write the seed corpora of the fuzz targets (tests/fuzz/corpus/<target>/).

    /usr/bin/python3 tests/fuzz/make_seeds.py TINY_DIR [STATE_FILE]

TINY_DIR is tests/reference's tiny_models_dir (configs and tokenizers are taken
from the tiny qwen2/llama HF variants); STATE_FILE is a valid state file
written by `DSEEK_FUZZ_SAVE_SEED=... fuzz_state` (optional). A few valid and
near-valid inputs per target, each small. The corpora are committed; rerun
this only to refresh them. Findings are added by hand as crash-<what> files.
"""

import json
import os
import struct
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "reference"))

import numpy as np  # noqa: E402

import gguf_write as gw  # noqa: E402
import quants  # noqa: E402
import safetensors_write as sw  # noqa: E402

CORPUS = os.path.join(HERE, "corpus")


def put(target, name, data):
    d = os.path.join(CORPUS, target)
    os.makedirs(d, exist_ok=True)
    if isinstance(data, str):
        data = data.encode("utf-8")
    with open(os.path.join(d, name), "wb") as f:
        f.write(data)


# ---- GGUF ---------------------------------------------------------------------

def gguf_all_types(alignment=32):
    w = gw.GGUFWriter(alignment)
    w.add("t.u8", gw.U8, 7)
    w.add("t.i8", gw.I8, -7)
    w.add("t.u16", gw.U16, 65535)
    w.add("t.i16", gw.I16, -300)
    w.add("t.u32", gw.U32, 4000000000)
    w.add("t.i32", gw.I32, -5)
    w.add("t.f32", gw.F32, 0.5)
    w.add("t.bool", gw.BOOL, True)
    w.add("t.str", gw.STRING, "h\u00e9llo")
    w.add("t.u64", gw.U64, 2 ** 63 + 1)
    w.add("t.i64", gw.I64, -(2 ** 40))
    w.add("t.f64", gw.F64, 1e300)
    w.add_array("t.arr_i32", gw.I32, [1, -2, 3])
    w.add_array("t.arr_str", gw.STRING, ["a", "", "\u4f60\u597d"])
    w.add_array("t.arr_bool", gw.BOOL, [True, False])
    w.add_array("t.arr_f64", gw.F64, [0.25])
    rng = np.random.default_rng(1)
    w.add_tensor("a.weight", rng.standard_normal((2, 32)).astype(np.float32))
    w.add_tensor("b.weight", rng.standard_normal((2, 32)).astype(np.float32), quants.GGML_TYPE_Q8_0)
    w.add_tensor("c.bias", rng.standard_normal(3).astype(np.float32), quants.GGML_TYPE_F16)
    return w


def gguf_seeds():
    valid = gguf_all_types().to_bytes(3)
    put("gguf", "valid-v3", valid)
    put("gguf", "valid-v2", gguf_all_types().to_bytes(2))
    put("gguf", "valid-align64", gguf_all_types(64).to_bytes(3))
    empty = gw.GGUFWriter()
    put("gguf", "valid-empty", empty.to_bytes(3))
    vocab = gw.GGUFWriter()
    vocab.add_string("general.architecture", "qwen2")
    vocab.add_string("tokenizer.ggml.model", "gpt2")
    vocab.add_string("tokenizer.ggml.pre", "qwen2")
    vocab.add_array("tokenizer.ggml.tokens", gw.STRING, ["a", "b", "ab", "\u0120"])
    vocab.add_array("tokenizer.ggml.token_type", gw.I32, [1, 1, 1, 1])
    vocab.add_array("tokenizer.ggml.merges", gw.STRING, ["a b"])
    put("gguf", "valid-vocab", vocab.to_bytes(3))
    # near-valid
    put("gguf", "truncated-data", valid[: len(valid) - 40])
    put("gguf", "truncated-header", valid[:100])
    n_tensors_off = 8
    put("gguf", "huge-tensor-count", valid[:n_tensors_off] + struct.pack("<Q", 2 ** 62) + valid[16:])
    put("gguf", "huge-kv-count", valid[:16] + struct.pack("<Q", 2 ** 40) + valid[24:])
    # first key's string length (offset 24) made enormous
    put("gguf", "huge-key-length", valid[:24] + struct.pack("<Q", 2 ** 63) + valid[32:])
    put("gguf", "bad-magic", b"GGUX" + valid[4:])
    put("gguf", "version-4", valid[:4] + struct.pack("<I", 4) + valid[8:])


# ---- safetensors --------------------------------------------------------------

def st_seeds():
    rng = np.random.default_rng(2)
    t = {"w": rng.standard_normal((2, 3)).astype(np.float32), "b": rng.standard_normal(3).astype(np.float32)}
    single = sw.safetensors_bytes(t, "F32", {"format": "pt"})
    put("safetensors", "single-f32", b"S" + single)
    put("safetensors", "single-bf16", b"S" + sw.safetensors_bytes(t, {"w": "BF16", "b": "F16"}))
    put("safetensors", "single-empty", b"S" + sw.safetensors_bytes({}, "F32"))
    a = sw.safetensors_bytes({"w": t["w"]}, "F32")
    b = sw.safetensors_bytes({"b": t["b"]}, "F32")
    index = json.dumps({"metadata": {"total_size": 36},
                        "weight_map": {"w": "a.safetensors", "b": "b.safetensors"}}).encode()
    put("safetensors", "sharded", index + b"\n@@\n" + a + b"\n@@\n" + b)
    put("safetensors", "sharded-missing-shard", index + b"\n@@\n" + a)
    bad_name = json.dumps({"weight_map": {"w": "../a.safetensors"}}).encode()
    put("safetensors", "sharded-bad-name", bad_name + b"\n@@\n" + a)
    put("safetensors", "single-truncated", b"S" + single[:-5])
    put("safetensors", "single-huge-header", b"S" + struct.pack("<Q", 2 ** 63) + single[8:])
    hdr = {"w": {"dtype": "F32", "shape": [2, 3], "data_offsets": [0, 24]},
           "b": {"dtype": "F32", "shape": [3], "data_offsets": [12, 24]}}
    text = json.dumps(hdr).encode()
    put("safetensors", "single-overlap", b"S" + struct.pack("<Q", len(text)) + text + bytes(24))
    hdr = {"w": {"dtype": "F32", "shape": [4611686018427387904, 4], "data_offsets": [0, 0]}}
    text = json.dumps(hdr).encode()
    put("safetensors", "single-shape-overflow", b"S" + struct.pack("<Q", len(text)) + text)


# ---- config.json, tokenizer.json (from the tiny models) -----------------------

def config_seeds(tiny):
    for arch in ("qwen2", "llama"):
        with open(os.path.join(tiny, f"{arch}-hf-f32", "config.json"), "rb") as f:
            raw = f.read()
        put("config", f"{arch}-valid", raw)
        cfg = json.loads(raw)
        variants = {
            "missing-hidden": {k: v for k, v in cfg.items() if k != "hidden_size"},
            "wrong-layers": dict(cfg, num_hidden_layers=3),
            "huge-layers": dict(cfg, num_hidden_layers=2 ** 40),
            "heads-mismatch": dict(cfg, num_key_value_heads=3),
            "tied": dict(cfg, tie_word_embeddings=True),
            "string-vocab": dict(cfg, vocab_size="300"),
            "negative-eps": dict(cfg, rms_norm_eps=-1.0),
            "unknown-type": dict(cfg, model_type="mamba"),
            "rope-yarn": dict(cfg, rope_scaling={"rope_type": "yarn", "factor": 4.0,
                                                 "original_max_position_embeddings": 64}),
        }
        for name, c in variants.items():
            put("config", f"{arch}-{name}", json.dumps(c, indent=1))
    put("config", "not-json", "{\"hidden_size\": 64,")
    put("config", "array", "[]")


def tokenizer_seeds(tiny):
    for arch in ("qwen2", "llama"):
        with open(os.path.join(tiny, f"{arch}-hf-f32", "tokenizer.json"), "rb") as f:
            raw = f.read()
        put("tokenizer_json", f"{arch}-valid", raw)
        tok = json.loads(raw)
        model = tok["model"]
        merges = model["merges"]
        variants = {
            "no-merges": dict(tok, model=dict(model, merges=[])),
            "bad-merge": dict(tok, model=dict(model, merges=merges[:3] + ["zz qq"])),
            "unknown-model": dict(tok, model=dict(model, type="Unigram")),
            "added-bad-id": dict(tok, added_tokens=[dict(tok["added_tokens"][0], id=1 << 40)]),
            "added-dup": dict(tok, added_tokens=tok["added_tokens"] + tok["added_tokens"][:1]),
            "no-pretok": dict(tok, pre_tokenizer=None),
        }
        for name, t in variants.items():
            put("tokenizer_json", f"{arch}-{name}", json.dumps(t))
    put("tokenizer_json", "empty-object", "{}")


# ---- tokenize, chat -------------------------------------------------------------

def text_seeds():
    texts = {
        "ascii": "Hello, world! It's 2024: 1234567 apples.\n",
        "cjk": "\u4f60\u597d\u4e16\u754c\uff0c\u3053\u3093\u306b\u3061\u306f \ud55c\uad6d\uc5b4",
        "emoji": "\U0001F600 a\u0301 \u00e9 \u200d\U0001F468\u200d\U0001F469",
        "special": "<\uff5cbegin\u2581of\u2581sentence\uff5c><\uff5cUser\uff5c>hi<\uff5cAssistant\uff5c><think>\nok</think>",
        "spaces": "  \t\n\n   x  \r\n  ",
        "code": "def f(x):\n    return x**2  # \u00b2\n",
    }
    for i, (name, t) in enumerate(texts.items()):
        put("tokenize", name, bytes([i & 1]) + t.encode("utf-8"))
    put("tokenize", "invalid-overlong", b"\x01ab\xc0\xafcd")
    put("tokenize", "invalid-surrogate", b"\x00\xed\xa0\x80")
    put("tokenize", "invalid-truncated", b"\x00abc\xe4\xbd")
    put("tokenize", "nul-bytes", b"\x00a\x00b\x00")


# fuzz_chat's kinds (flags byte: bit 0 add_generation_prompt, value >> 1 the kind)
CHAT_KINDS = {"r1": 0, "v3": 1, "r1-distill-qwen": 2, "r1-0528": 3, "v3-0324": 4}


def chat_seeds():
    """Per template kind: a plain chat, a multi-turn one with reasoning and two
    systems, and one with tool calls and outputs; a bad role and an empty
    input once each."""
    sysm, user, asst, tool, bad = 0, 1, 2, 3, 4
    none = 6   # added to a role: the content is none (an assistant that only calls tools)
    typed = 12   # added to a role: its calls' type is "function" (else none, the default)

    def conv(kind, gen, msgs):
        """msgs: (role byte, content, [(name, arguments), ...])"""
        out = bytes([CHAT_KINDS[kind] << 1 | gen])
        parts = []
        for m in msgs:
            role, content = m[0], m[1]
            calls = m[2] if len(m) > 2 else []
            fields = [content] + [f for c in calls for f in c]
            parts.append(bytes([role]) + b"\x1f".join(f.encode("utf-8") for f in fields))
        return out + b"\x1e".join(parts)

    weather = ("get_weather", "{\"city\": \"Paris\"}")
    clock = ("get_time", "{\"zone\": \"Europe/Paris\"}")
    for kind in CHAT_KINDS:
        put("chat", f"{kind}-simple", conv(kind, 1, [(user, "What is 2+2?")]))
        put("chat", f"{kind}-multi", conv(kind, 0, [(sysm, "Be brief."), (sysm, "Answer in French."), (user, "Hi"),
                                                    (asst, "<think>hmm</think>Salut !"), (user, "17 * 23?")]))
        put("chat", f"{kind}-tools", conv(kind, 1, [
            (sysm, "## Tools\nget_weather, get_time"), (user, "weather and time?"),
            (asst + none, "", [weather, clock]), (tool, "{\"t\": 21}"), (tool, "10:00"),
            (asst, "<think>both</think>21 C at 10:00."), (user, "\u6771\u4eac?"),
            (asst + typed, "Checking.", [("search", "{\"q\": \"\u6771\u4eac \\\"x\\\"\"}")]), (tool, "sunny")]))
    put("chat", "bad-role", conv("r1", 1, [(user, "x"), (bad, "y")]))
    put("chat", "none-user", conv("v3-0324", 1, [(user + none, "")]))
    put("chat", "empty", bytes([1]))


def state_seeds(path):
    with open(path, "rb") as f:
        valid = f.read()
    put("state", "valid", valid)
    put("state", "truncated", valid[: len(valid) // 2])
    put("state", "version-99", valid[:4] + struct.pack("<I", 99) + valid[8:])
    put("state", "n-past-huge", valid[:48] + struct.pack("<Q", 2 ** 40) + valid[56:])   # n_past: offset 48 (v2)
    put("state", "bad-magic", b"XXXX" + valid[4:])


def main():
    tiny = sys.argv[1]
    gguf_seeds()
    st_seeds()
    config_seeds(tiny)
    tokenizer_seeds(tiny)
    text_seeds()
    chat_seeds()
    if len(sys.argv) > 2:
        state_seeds(sys.argv[2])


if __name__ == "__main__":
    main()
