"""HF checkpoint <-> GGUF, the way llama.cpp's convert_hf_to_gguf.py does it
(facts checked with the search tool against convert_hf_to_gguf.py and gguf-py;
the code is ours):

Names (gguf-py TENSOR_NAMES / tensor_mapping):
    model.embed_tokens                      token_embd
    model.layers.N.input_layernorm          blk.N.attn_norm
    model.layers.N.self_attn.{q,k,v}_proj   blk.N.attn_{q,k,v}      (.weight and .bias)
    model.layers.N.self_attn.{q,k}_norm     blk.N.attn_{q,k}_norm   (qwen3)
    model.layers.N.self_attn.o_proj         blk.N.attn_output
    model.layers.N.post_attention_layernorm blk.N.ffn_norm
    model.layers.N.mlp.{gate,up,down}_proj  blk.N.ffn_{gate,up,down}
    model.norm                              output_norm
    lm_head                                 output                  (absent when tied)
    (generated)                             rope_freqs              (llama3 scaling only)

llama q/k permutation (LlamaModel.permute): q with n_head, k with n_head_kv:
    w.reshape(n, 2, head_dim/2, in).swapaxes(1, 2).reshape(n * head_dim, in)
so row 2j of a head is HF row j and row 2j+1 is HF row j + head_dim/2: the
HF "rotate halves" pairs (j, j + hd/2) become adjacent pairs, and GGUF llama
uses rope type "normal". qwen2 is not permuted (rope type "neox").

rope_freqs (LlamaModel.generate_extra_tensors, only when
rope_scaling.rope_type == "llama3"): one f32 per frequency, [head_dim/2],
    1                                  if wavelength < original / high_freq_factor
    factor                             if wavelength > original / low_freq_factor
    1 / ((1 - smooth) / factor + smooth)   otherwise
i.e. f_i / f'_i: ggml_rope_ext DIVIDES each angle by it (theta / freq_factors[i]
in ggml's rope cache).  No rope.scaling.* keys are written for llama3.
Quirk: convert_hf_to_gguf reads original_max_position_embeddings from the top
level of config.json (default 8192), not from rope_scaling; real Llama-3.1
configs give 8192 in rope_scaling, so the quirk is invisible there.  Our tiny
llama uses a small original context (so the scaling shows at short lengths) and
we compute rope_freqs from rope_scaling, consistently with the HF config.

Tensor types: 1-D tensors and *_norm.weight stay F32, as do biases
(names not ending in .weight); 2-D weights (token_embd and output included)
take the file type.
"""

import json
import os

import numpy as np

import gguf_read
import gguf_write as g
import models
import quants
import safetensors_write

LAYER_NAMES = [  # (HF suffix after model.layers.N., GGUF suffix after blk.N.)
    ("input_layernorm.weight", "attn_norm.weight"),
    ("self_attn.q_proj.weight", "attn_q.weight"),
    ("self_attn.q_proj.bias", "attn_q.bias"),
    ("self_attn.k_proj.weight", "attn_k.weight"),
    ("self_attn.k_proj.bias", "attn_k.bias"),
    ("self_attn.v_proj.weight", "attn_v.weight"),
    ("self_attn.v_proj.bias", "attn_v.bias"),
    ("self_attn.q_norm.weight", "attn_q_norm.weight"),
    ("self_attn.k_norm.weight", "attn_k_norm.weight"),
    ("self_attn.o_proj.weight", "attn_output.weight"),
    ("post_attention_layernorm.weight", "ffn_norm.weight"),
    ("mlp.gate_proj.weight", "ffn_gate.weight"),
    ("mlp.up_proj.weight", "ffn_up.weight"),
    ("mlp.down_proj.weight", "ffn_down.weight"),
]
GLOBAL_NAMES = [
    ("model.embed_tokens.weight", "token_embd.weight"),
    ("model.norm.weight", "output_norm.weight"),
    ("lm_head.weight", "output.weight"),
]


def hf_to_gguf_name(name):
    for hf, gg in GLOBAL_NAMES:
        if name == hf:
            return gg
    if name.startswith("model.layers."):
        n, rest = name[len("model.layers."):].split(".", 1)
        for hf, gg in LAYER_NAMES:
            if rest == hf:
                return f"blk.{n}.{gg}"
    raise KeyError(f"no GGUF name for {name}")


def gguf_to_hf_name(name):
    if name == "rope_freqs.weight":
        return "rope_freqs"
    for hf, gg in GLOBAL_NAMES:
        if name == gg:
            return hf
    if name.startswith("blk."):
        n, rest = name[len("blk."):].split(".", 1)
        for hf, gg in LAYER_NAMES:
            if rest == gg:
                return f"model.layers.{n}.{hf}"
    raise KeyError(f"no HF name for {name}")


def permute_qk(w, n_heads):
    """llama.cpp's permute for q (n_heads = n_head) and k (n_heads = n_head_kv)."""
    w = np.asarray(w)
    return (w.reshape(n_heads, 2, w.shape[0] // n_heads // 2, *w.shape[1:])
            .swapaxes(1, 2).reshape(w.shape))


def llama3_rope_factors(config):
    """rope_freqs for a llama3-scaled config: f_i / f'_i (see module comment)."""
    hp = models.hparams(config)
    s = config["rope_scaling"]
    base = models.rope_base_freqs(hp["head_dim"], hp["theta"])
    scaled = models.llama3_freqs(base, s["factor"], s["low_freq_factor"], s["high_freq_factor"],
                                 s["original_max_position_embeddings"])
    return (base / scaled).numpy().astype(np.float32)


def is_llama3(config):
    s = config.get("rope_scaling") or {}
    return s.get("rope_type", s.get("type")) == "llama3"


def use_more_bits(i_layer, n_layers):
    """llama-quant.cpp's choice of the layers that get more bits in K-quant mixes."""
    return i_layer < n_layers // 8 or i_layer >= 7 * n_layers // 8 or (i_layer - n_layers // 8) % 3 == 2


def q4_k_m_type(gguf_name, n_layers):
    """Q4_K_M (llama-quant.cpp, llama_tensor_get_type): the output head in Q6_K, attn_v
    and ffn_down in Q6_K in the use_more_bits layers, the rest Q4_K."""
    if gguf_name == "output.weight":
        return quants.GGML_TYPE_Q6_K
    if gguf_name.endswith(("attn_v.weight", "ffn_down.weight")):
        if use_more_bits(int(gguf_name.split(".")[1]), n_layers):
            return quants.GGML_TYPE_Q6_K
    return quants.GGML_TYPE_Q4_K


def gguf_tensor_type(gguf_name, shape, file_type, n_layers=0):
    if len(shape) <= 1 or gguf_name.endswith("_norm.weight") or not gguf_name.endswith(".weight"):
        return quants.GGML_TYPE_F32
    if file_type == quants.FILE_TYPE_Q4_K_M:
        file_type = q4_k_m_type(gguf_name, n_layers)
    if file_type in (quants.GGML_TYPE_Q4_K, quants.GGML_TYPE_Q6_K) and shape[-1] % quants.QK_K:
        return quants.GGML_TYPE_Q5_0   # llama-quant.cpp's fallback for rows that are not 256-multiples
    return file_type


# llama_ftype values of general.file_type (llama.h: ALL_F32 0, MOSTLY_F16 1,
# MOSTLY_Q4_0 2, MOSTLY_Q8_0 7, MOSTLY_Q4_K_M 15, MOSTLY_BF16 32)
FILE_TYPE_ID = {quants.GGML_TYPE_F32: 0, quants.GGML_TYPE_F16: 1, quants.GGML_TYPE_Q4_0: 2,
                quants.GGML_TYPE_Q8_0: 7, quants.GGML_TYPE_Q4_K: 15, quants.FILE_TYPE_Q4_K_M: 15,
                quants.GGML_TYPE_BF16: 32}


def write_gguf(path, weights, config, file_type, tokenizer=None, chat_template=None, name="tiny"):
    """An HF-named float32 checkpoint -> a GGUF file as llama.cpp would convert it."""
    arch = config["model_type"]
    hp = models.hparams(config)
    w = g.GGUFWriter()
    w.add_string("general.architecture", arch)
    w.add_string("general.name", name)
    w.add_u32(f"{arch}.block_count", hp["n_layer"])
    w.add_u32(f"{arch}.context_length", config["max_position_embeddings"])
    w.add_u32(f"{arch}.embedding_length", config["hidden_size"])
    w.add_u32(f"{arch}.feed_forward_length", config["intermediate_size"])
    w.add_u32(f"{arch}.attention.head_count", hp["n_head"])
    w.add_u32(f"{arch}.attention.head_count_kv", hp["n_head_kv"])
    w.add_f32(f"{arch}.rope.freq_base", hp["theta"])
    w.add_f32(f"{arch}.attention.layer_norm_rms_epsilon", hp["eps"])
    w.add_u32("general.file_type", FILE_TYPE_ID[file_type])
    w.add_u32(f"{arch}.vocab_size", config["vocab_size"])
    w.add_u32(f"{arch}.rope.dimension_count", hp["head_dim"])
    if config.get("head_dim") is not None:
        # TextModel.set_gguf_parameters: an explicit head_dim becomes key/value_length
        w.add_u32(f"{arch}.attention.key_length", config["head_dim"])
        w.add_u32(f"{arch}.attention.value_length", config["head_dim"])
    w.add_u32("general.quantization_version", 2)
    if tokenizer is not None:
        tokenizer.gguf_metadata(w, arch, chat_template)

    if arch == "llama" and is_llama3(config):
        w.add_tensor("rope_freqs.weight", llama3_rope_factors(config), quants.GGML_TYPE_F32)
    for hf_name, values in weights.items():
        values = np.asarray(values, dtype=np.float32)
        if arch == "llama" and hf_name.endswith(("q_proj.weight", "q_proj.bias")):
            values = permute_qk(values, hp["n_head"])
        if arch == "llama" and hf_name.endswith(("k_proj.weight", "k_proj.bias")):
            values = permute_qk(values, hp["n_head_kv"])
        gname = hf_to_gguf_name(hf_name)
        w.add_tensor(gname, values, gguf_tensor_type(gname, values.shape, file_type, hp["n_layer"]))
    w.write(path)


def load_gguf(path):
    """GGUF -> (weights by HF name, float32 dequantized, q/k left as stored;
    config dict with rope_layout "gguf").  qwen2/llama here, deepseek2 in
    convert_deepseek2."""
    f = gguf_read.GGUFFile(path)
    md = f.metadata
    arch = md["general.architecture"]
    if arch == "deepseek2":
        import convert_deepseek2
        return convert_deepseek2.load_gguf(path)
    weights = {gguf_to_hf_name(n): f.tensor(n) for n in f.tensors}
    config = {
        "model_type": arch,
        "num_hidden_layers": md[f"{arch}.block_count"],
        "hidden_size": md[f"{arch}.embedding_length"],
        "intermediate_size": md[f"{arch}.feed_forward_length"],
        "num_attention_heads": md[f"{arch}.attention.head_count"],
        "num_key_value_heads": md.get(f"{arch}.attention.head_count_kv"),
        "rms_norm_eps": md[f"{arch}.attention.layer_norm_rms_epsilon"],
        "rope_theta": md.get(f"{arch}.rope.freq_base", 10000.0),
        "max_position_embeddings": md[f"{arch}.context_length"],
        "vocab_size": weights["model.embed_tokens.weight"].shape[0],
        "rope_layout": "gguf",
    }
    dim = md.get(f"{arch}.attention.key_length", md.get(f"{arch}.rope.dimension_count"))
    if dim is not None and dim != config["hidden_size"] // config["num_attention_heads"]:
        config["head_dim"] = dim
    return weights, config


def fp8_dequantize(weights):
    """DeepSeek-V3 FP8 checkpoints: every e4m3 `<name>` has an f32
    `<name>_scale_inv` [ceil(out/128), ceil(in/128)]; the value is
    e4m3(w[i, j]) * scale_inv[i // 128, j // 128] (DeepSeek-V3 inference/kernel.py
    weight_dequant, fp8_cast_bf16.py).  Returns the weights without the scales."""
    out = {}
    for name, w in weights.items():
        if name.endswith("_scale_inv"):
            continue
        s = weights.get(name + "_scale_inv")
        if s is not None:
            s = np.asarray(s, dtype=np.float32)
            full = np.repeat(np.repeat(s, 128, axis=0), 128, axis=1)[:w.shape[0], :w.shape[1]]
            w = (np.asarray(w, dtype=np.float32) * full).astype(np.float32)
        out[name] = w
    return out


def load_hf(directory):
    """HF directory -> (weights by name, float32, FP8 dequantized; config.json dict)."""
    with open(os.path.join(directory, "config.json")) as fh:
        config = json.load(fh)
    return fp8_dequantize(safetensors_write.read_checkpoint(directory)), config
