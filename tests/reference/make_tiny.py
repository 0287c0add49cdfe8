#!/usr/bin/python3
"""Generate tiny random qwen2, qwen3 and llama models in every file form dseek loads,
and a wider qwen2 in Q4_K (WIDE_VARIANTS), each with the reference's expected
outputs next to it.

    /usr/bin/python3 make_tiny.py OUT_DIR [--manifest FILE] [--arch qwen2,qwen3,llama,deepseek2]

OUT_DIR/<variant>/ holds either model.gguf or an HF directory (config.json,
model.safetensors or shards + index, tokenizer.json unless noted), plus:
    expected.txt             text: key value... lines (format below)
    prefill_logits.f32       raw little-endian f32 [n_prompt, vocab], row-major
    decode_logits.f32        raw little-endian f32 [n_gen, vocab]
    prompt.npy greedy.npy prefill_logits.npy decode_logits.npy   (same, numpy)
OUT_DIR/manifest.txt: one line per variant: name arch format weights tied tokenizer

The expectations are computed by models.py in float64 on the weights read
back from the written files (so F16/BF16/Q8_0/Q4_0 rounding is included and
the GGUF layout path - permuted llama q/k, normal rope, rope_freqs - is used).
decode_logits row j = logits after feeding greedy[j] at position n_prompt + j;
greedy[0] = argmax(prefill_logits[-1]), greedy[j+1] = argmax(decode_logits[j]).
greedy_margin j = top-1 minus top-2 logit of the row that chose greedy[j]:
a C test may only demand the same greedy token where this margin exceeds its
own numerical error.
"""

import argparse
import json
import os
import shutil
import sys

import numpy as np
import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import convert  # noqa: E402
import gguf_read  # noqa: E402
import int8_activations  # noqa: E402
import models  # noqa: E402
import quants  # noqa: E402
import safetensors_write  # noqa: E402
import tiny_tokenizer  # noqa: E402

N_PROMPT = 12
N_GEN = 8
PAIR_TIES = 3   # near ties whose pairs also get an alternative (write_int8_expected)
SEED = {"qwen2": 1234, "llama": 5678, "qwen3": 9012}

TOKENIZER = tiny_tokenizer.TinyTokenizer()

BASE_CONFIG = {
    "hidden_size": 64,
    "intermediate_size": 96,
    "num_hidden_layers": 2,
    "num_attention_heads": 4,
    "num_key_value_heads": 2,
    "max_position_embeddings": 512,
    "vocab_size": TOKENIZER.vocab_size,
    "bos_token_id": TOKENIZER.bos_id,
    "eos_token_id": TOKENIZER.eos_id,
    "hidden_act": "silu",
    "initializer_range": 0.02,
    "attention_dropout": 0.0,
    "use_cache": True,
    "tie_word_embeddings": False,
    "torch_dtype": "float32",
    "transformers_version": "4.44.0",
}
ARCH_CONFIG = {
    "qwen2": {"model_type": "qwen2", "architectures": ["Qwen2ForCausalLM"],
              "rms_norm_eps": 1e-6, "rope_theta": 10000.0, "use_sliding_window": False,
              "sliding_window": 512, "max_window_layers": 2},
    # qwen3 (Qwen3ForCausalLM): head_dim 32 with 4 heads, so H * head_dim = 128
    # differs from hidden_size 64 as in Qwen3-0.6B (16 x 128 over 1024); no biases
    "qwen3": {"model_type": "qwen3", "architectures": ["Qwen3ForCausalLM"], "head_dim": 32,
              "rms_norm_eps": 1e-6, "rope_theta": 1000000.0, "attention_bias": False,
              "use_sliding_window": False, "sliding_window": None, "max_window_layers": 2},
    # llama3 scaling with a small original context (64) so that all three
    # regions of the formula occur for head_dim 16 and matter within 20 tokens
    "llama": {"model_type": "llama", "architectures": ["LlamaForCausalLM"],
              "rms_norm_eps": 1e-5, "rope_theta": 500000.0, "attention_bias": False,
              "mlp_bias": False, "pretraining_tp": 1,
              "rope_scaling": {"rope_type": "llama3", "factor": 8.0, "low_freq_factor": 1.0,
                               "high_freq_factor": 4.0, "original_max_position_embeddings": 64}},
}


# A wider model whose rows (256, 512 values) take K-quant blocks of 256: its
# Q4_K matrices are repacked to R8 at load where the CPU level has the SIMD
# kernel (lib/kernels/q4_k_r8.h), so that path meets the reference end to end.
WIDE_CONFIG = {"hidden_size": 256, "intermediate_size": 512}
WIDE_SEED = 3456


def tiny_config(arch, tied, wide=False):
    cfg = dict(BASE_CONFIG)
    cfg.update(json.loads(json.dumps(ARCH_CONFIG[arch])))
    cfg["tie_word_embeddings"] = tied
    if wide:
        cfg.update(WIDE_CONFIG)
    return cfg


def random_weights(config, seed):
    """Deterministic N(0, s) weights, scaled so activations and logits stay
    O(1): q/k entries ~N(0,1) give attention scores of std ~1 (not uniform),
    logits have std ~1.5. Norm weights are 1 + N(0, 0.1) and biases N(0, 0.1)
    so that a missing norm or bias shows up. A wider model (WIDE_CONFIG) keeps
    those scales: a matrix's std shrinks by sqrt(base width / its width)
    (exactly 1 at the base sizes, so their weights do not change)."""
    rng = np.random.default_rng(seed)
    d, ff, V = config["hidden_size"], config["intermediate_size"], config["vocab_size"]
    H, Hkv = config["num_attention_heads"], config["num_key_value_heads"]
    hd = config.get("head_dim") or d // H
    sd = float(np.sqrt(BASE_CONFIG["hidden_size"] / d))        # inputs of width d (o_proj: H hd = d here)
    sf = float(np.sqrt(BASE_CONFIG["intermediate_size"] / ff))  # down_proj: the FFN's width

    def normal(shape, std):
        return (rng.standard_normal(shape) * std).astype(np.float32)

    w = {"model.embed_tokens.weight": normal((V, d), 0.2)}
    for i in range(config["num_hidden_layers"]):
        p = f"model.layers.{i}."
        w[p + "input_layernorm.weight"] = 1 + normal((d,), 0.1)
        w[p + "self_attn.q_proj.weight"] = normal((H * hd, d), 0.15 * sd)
        w[p + "self_attn.k_proj.weight"] = normal((Hkv * hd, d), 0.15 * sd)
        w[p + "self_attn.v_proj.weight"] = normal((Hkv * hd, d), 0.15 * sd)
        if config["model_type"] == "qwen2":
            w[p + "self_attn.q_proj.bias"] = normal((H * hd,), 0.1)
            w[p + "self_attn.k_proj.bias"] = normal((Hkv * hd,), 0.1)
            w[p + "self_attn.v_proj.bias"] = normal((Hkv * hd,), 0.1)
        if config["model_type"] == "qwen3":
            w[p + "self_attn.q_norm.weight"] = 1 + normal((hd,), 0.1)
            w[p + "self_attn.k_norm.weight"] = 1 + normal((hd,), 0.1)
        w[p + "self_attn.o_proj.weight"] = normal((d, H * hd), 0.1 * sd)
        w[p + "post_attention_layernorm.weight"] = 1 + normal((d,), 0.1)
        w[p + "mlp.gate_proj.weight"] = normal((ff, d), 0.15 * sd)
        w[p + "mlp.up_proj.weight"] = normal((ff, d), 0.15 * sd)
        w[p + "mlp.down_proj.weight"] = normal((d, ff), 0.1 * sf)
    w["model.norm.weight"] = 1 + normal((d,), 0.1)
    if not config["tie_word_embeddings"]:
        w["lm_head.weight"] = normal((V, d), 0.2 * sd)
    return w


def prompt_tokens(arch):
    """BOS then 11 ordinary tokens (bytes and merges), fixed per arch."""
    rng = np.random.default_rng(SEED[arch] + 7)
    return [TOKENIZER.bos_id] + rng.integers(0, TOKENIZER.n_base, N_PROMPT - 1).tolist()


def default_chat_template():
    here = os.path.dirname(os.path.abspath(__file__))
    path = os.path.join(here, "..", "data", "tokenizers", "deepseek_r1_distill_qwen",
                        "tokenizer_config.json")
    with open(path, encoding="utf-8") as f:
        return json.load(f)["chat_template"]


# --- writing one variant ----------------------------------------------------------

def write_hf(directory, weights, config, dtype, shards, with_tokenizer, chat_template):
    cfg = dict(config)
    cfg["torch_dtype"] = {"F32": "float32", "BF16": "bfloat16", "F16": "float16"}[dtype]
    with open(os.path.join(directory, "config.json"), "w") as f:
        json.dump(cfg, f, indent=2)
    meta = {"format": "pt"}
    if shards == 1:
        safetensors_write.write_safetensors(os.path.join(directory, "model.safetensors"),
                                            weights, dtype, meta)
    else:
        safetensors_write.write_sharded(directory, weights, shards, dtype, meta)
    if with_tokenizer:
        arch = config["model_type"]
        with open(os.path.join(directory, "tokenizer.json"), "w", encoding="utf-8") as f:
            json.dump(TOKENIZER.tokenizer_json(arch), f, ensure_ascii=False, indent=1)
        with open(os.path.join(directory, "tokenizer_config.json"), "w", encoding="utf-8") as f:
            json.dump(TOKENIZER.tokenizer_config(chat_template), f, ensure_ascii=False, indent=1)


def margins_of(prefill, decode):
    """top-1 minus top-2 logit of each row that chose a greedy token."""
    choosing = np.concatenate([prefill[-1:], decode[:-1]])
    top2 = np.sort(choosing.astype(np.float64), axis=1)[:, -2:]
    return top2[:, 1] - top2[:, 0]


def int8_trace(weights, cfg, prompt, tokens):
    """(own greedy tokens, prefill logits, margins, decode logits after feeding
    tokens) under the int8 scheme (cfg carries the rounded weights)."""
    own, prefill, decode = models.greedy_trace(weights, cfg, prompt, N_GEN, torch.float64)
    margins = margins_of(prefill.numpy(), decode.numpy())
    if own != tokens:   # the rows after the float reference's tokens
        cache = models.new_cache(cfg)
        models.forward(weights, cfg, prompt, 0, cache, torch.float64)
        decode = torch.stack([models.forward(weights, cfg, [t], len(prompt) + j, cache, torch.float64)[0]
                              for j, t in enumerate(tokens)])
    return own, prefill.numpy(), margins, decode.numpy()


def write_int8_expected(directory, weights, config, prompt, tokens, iq):
    """The expectation with int8 activations (int8_activations.py) for a GGUF
    with int8-activation weights, or nothing for one without: prefill logits,
    decode logits after feeding the float reference's greedy tokens (the rows
    the C test produces), this expectation's own greedy tokens and margins,
    and one alternative per near tie (int8_activations.TIE: that value
    rounded the other way) and per pair of the PAIR_TIES closest. Files <key>_prefill_logits.f32,
    <key>_decode_logits.f32 and <key>_tie<k>_{prefill,decode}_logits.f32, key
    "int8" (iq: IQ weights rounded too) or "int8_noiq"; returns the
    expected.txt lines."""
    names = int8_activations.rounded_weights(os.path.join(directory, "model.gguf"), iq)
    if not names:
        return []
    cfg = dict(config, int8_activations=names)
    int8_activations.ties = []
    own, prefill, margins, decode = int8_trace(weights, cfg, prompt, tokens)
    near = sorted(set(int8_activations.ties))
    int8_activations.ties = None
    key = "int8" if iq else "int8_noiq"
    prefill.astype("<f4").tofile(os.path.join(directory, f"{key}_prefill_logits.f32"))
    decode.astype("<f4").tofile(os.path.join(directory, f"{key}_decode_logits.f32"))
    lines = [f"{key}_logits {key}_prefill_logits.f32 {key}_decode_logits.f32",
             f"{key}_greedy " + " ".join(map(str, own)),
             f"{key}_greedy_margin " + " ".join(f"{m:.6g}" for m in margins)]
    seen, singles = set(), []
    for dist, K, col, x in near:
        if (K, col, x) in seen:   # the same value rounded for two products
            continue
        seen.add((K, col, x))
        singles.append((dist, K, col, x))
    # each near tie alone, then each pair of the PAIR_TIES closest (int8_activations.flip)
    alternatives = [[t] for t in singles]
    alternatives += [[a, b] for i, a in enumerate(singles[:PAIR_TIES]) for b in singles[i + 1:PAIR_TIES]]
    for alt in alternatives:
        int8_activations.flip = [(K, col, x) for _, K, col, x in alt]
        _, alt_prefill, _, alt_decode = int8_trace(weights, cfg, prompt, tokens)
        int8_activations.flip = None
        if np.array_equal(alt_prefill, prefill) and np.array_equal(alt_decode, decode):
            continue   # a tie only in the rows of the own greedy run, which the C test does not compare
        k = sum(1 for line in lines if line.startswith(f"{key}_tie "))
        alt_prefill.astype("<f4").tofile(os.path.join(directory, f"{key}_tie{k}_prefill_logits.f32"))
        alt_decode.astype("<f4").tofile(os.path.join(directory, f"{key}_tie{k}_decode_logits.f32"))
        what = " and ".join(f"{dist:.3g} column {col} of rows of {K}" for dist, K, col, _ in alt)
        lines.append(f"{key}_tie {key}_tie{k}_prefill_logits.f32 {key}_tie{k}_decode_logits.f32 {what}")
    return lines


def write_expected(directory, weights, config, prompt, header):
    tokens, prefill, decode = models.greedy_trace(weights, config, prompt, N_GEN, torch.float64)
    prefill = prefill.numpy().astype(np.float32)
    decode = decode.numpy().astype(np.float32)
    margins = margins_of(prefill, decode)

    prefill.astype("<f4").tofile(os.path.join(directory, "prefill_logits.f32"))
    decode.astype("<f4").tofile(os.path.join(directory, "decode_logits.f32"))
    np.save(os.path.join(directory, "prefill_logits.npy"), prefill)
    np.save(os.path.join(directory, "decode_logits.npy"), decode)
    np.save(os.path.join(directory, "prompt.npy"), np.array(prompt, dtype=np.int32))
    np.save(os.path.join(directory, "greedy.npy"), np.array(tokens, dtype=np.int32))
    lines = ["dseek-reference 1"] + [f"{k} {v}" for k, v in header.items()] + [
        f"vocab {config['vocab_size']}",
        f"n_prompt {len(prompt)}",
        "prompt " + " ".join(map(str, prompt)),
        f"n_gen {len(tokens)}",
        "greedy " + " ".join(map(str, tokens)),
        "greedy_margin " + " ".join(f"{m:.6g}" for m in margins),
        f"prefill_logits prefill_logits.f32 {prefill.shape[0]} {prefill.shape[1]}",
        f"decode_logits decode_logits.f32 {decode.shape[0]} {decode.shape[1]}",
        f"logit_absmax {float(np.abs(prefill).max()):.6g}",
    ]
    if header["format"] == "gguf":
        lines += write_int8_expected(directory, weights, config, prompt, tokens, True)
        stored = gguf_read.GGUFFile(os.path.join(directory, "model.gguf")).tensors.values()
        if any(t["type"] in int8_activations.IQ_TYPES for t in stored):
            lines += write_int8_expected(directory, weights, config, prompt, tokens, False)
    with open(os.path.join(directory, "expected.txt"), "w") as f:
        f.write("\n".join(lines) + "\n")
    return tokens, prefill


def variants(arch):
    """(name, format, weights type, tied, tokenizer, shards) of the base-size models."""
    return [
        (f"{arch}-gguf-f32", "gguf", "f32", False, True, 1),
        (f"{arch}-gguf-f16", "gguf", "f16", False, True, 1),
        (f"{arch}-gguf-q8_0", "gguf", "q8_0", False, True, 1),
        (f"{arch}-gguf-q4_0", "gguf", "q4_0", False, True, 1),
        (f"{arch}-gguf-f32-tied", "gguf", "f32", True, True, 1),
        (f"{arch}-hf-f32", "hf", "F32", False, True, 1),
        (f"{arch}-hf-bf16-sharded", "hf", "BF16", False, True, 2),
        (f"{arch}-hf-f32-tied-notok", "hf", "F32", True, False, 1),
    ]


# the WIDE_CONFIG models: (name, arch, weights type); GGUF, untied, with the tokenizer
WIDE_VARIANTS = [("qwen2-gguf-q4_k_m-d256", "qwen2", "q4_k_m")]


def write_variant(out_dir, name, arch, fmt, wtype, tied, with_tok, shards, weights, cfg, prompt, chat_template):
    """One model directory with its expectations; returns its manifest line."""
    d = os.path.join(out_dir, name)
    shutil.rmtree(d, ignore_errors=True)
    os.makedirs(d)
    if fmt == "gguf":
        path = os.path.join(d, "model.gguf")
        convert.write_gguf(path, weights, cfg, quants.GGML_TYPE_BY_NAME[wtype],
                           TOKENIZER if with_tok else None, chat_template, name)
        read_w, read_cfg = convert.load_gguf(path)
    else:
        write_hf(d, weights, cfg, wtype, shards, with_tok, chat_template)
        read_w, read_cfg = convert.load_hf(d)
    header = {"arch": arch, "format": fmt, "weights": wtype.lower(),
              "tied": int(tied), "tokenizer": int(with_tok)}
    write_expected(d, read_w, read_cfg, prompt, header)
    return f"{name} {arch} {fmt} {wtype.lower()} {int(tied)} {int(with_tok)}"


def generate(out_dir, archs, chat_template):
    os.makedirs(out_dir, exist_ok=True)
    manifest = []
    for arch in archs:
        if arch == "deepseek2":   # its own variants, see tiny_deepseek2.py
            import tiny_deepseek2
            manifest += tiny_deepseek2.generate(out_dir, chat_template is not None)
            continue
        prompt = prompt_tokens(arch)
        models_by_tie = {}
        for tied in (False, True):
            cfg = tiny_config(arch, tied)
            models_by_tie[tied] = (random_weights(cfg, SEED[arch] + int(tied)), cfg)
        for name, fmt, wtype, tied, with_tok, shards in variants(arch):
            weights, cfg = models_by_tie[tied]
            manifest.append(write_variant(out_dir, name, arch, fmt, wtype, tied, with_tok, shards,
                                          weights, cfg, prompt, chat_template))
        for name, wide_arch, wtype in WIDE_VARIANTS:
            if wide_arch == arch:
                cfg = tiny_config(arch, False, wide=True)
                manifest.append(write_variant(out_dir, name, arch, "gguf", wtype, False, True, 1,
                                              random_weights(cfg, WIDE_SEED), cfg, prompt, chat_template))
    with open(os.path.join(out_dir, "manifest.txt"), "w") as f:
        f.write("\n".join(manifest) + "\n")
    return manifest


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("out_dir")
    ap.add_argument("--arch", default="qwen2,qwen3,llama,deepseek2")
    ap.add_argument("--manifest", help="also copy manifest.txt here (a build-system stamp)")
    ap.add_argument("--no-chat-template", action="store_true")
    args = ap.parse_args()
    torch.set_num_threads(1)
    template = None if args.no_chat_template else default_chat_template()
    generate(args.out_dir, args.arch.split(","), template)
    if args.manifest:
        shutil.copyfile(os.path.join(args.out_dir, "manifest.txt"), args.manifest)


if __name__ == "__main__":
    main()
