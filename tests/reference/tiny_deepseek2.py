"""Tiny deepseek2 models (V2-Lite style, V3 style, YaRN-dominated) in every file
form dseek loads, with expected outputs; called by make_tiny.py.

    v2lite  d 64, 3 layers (1 dense), 4 heads, q_lora null (plain q_proj),
            kv_lora 32, qk_nope 16, qk_rope 8, v_head 16, 8 routed experts top 2,
            softmax, 2 shared, expert FFN 32, dense FFN 96, no groups,
            norm_topk_prob false, routed scale 1.0; YaRN as the real V2-Lite
            (factor 40, original 4096, beta 32/1, mscale = mscale_all_dim = 0.707)
    v3      d 256 (so Q4_K applies to rows of 256), 3 layers (1 dense), 4 heads,
            q_lora 48, kv_lora 32, 16/8/16 head dims, 16 routed experts in 4 groups
            keep 2, top 4, sigmoid + e_score_correction_bias (noaux_tc),
            norm_topk_prob, routed scale 2.5, 1 shared, expert FFN 32, dense FFN 160
            (gate/up [160, 256] and down [256, 160]: several FP8 128x128 blocks,
            partial ones at the edges); YaRN factor 40, original 4096, mscale 1
    yarn    the v2lite weights with factor 4 and original context 8, so the
            20 positions of a test run well past the original context
    v2grp   the v2lite shapes with group-limited routing as the 236B V2 has it:
            16 routed experts in 4 groups keep 2, top 4, softmax, no bias
            (topk_method group_limited_greedy: a group scores the max of its
            experts' probabilities), own random weights
Vocabulary: the tiny tokenizer (300), pre-tokenizer "deepseek-v3".

Each variant directory has the files make_tiny.write_expected writes, plus
    router_experts.i32 / .npy   int32 [n_prompt, k]: experts chosen in the first
                                MoE layer for each prompt token (selection order)
    expected.txt lines          moe_layer <i>
                                router_experts router_experts.i32 <n_prompt> <k>
                                router_margin <n_prompt values>: k-th minus
                                  (k+1)-th selection score (inf: nothing left)
                                router_group_margin <n_prompt values>: same for
                                  the groups kept (inf without groups)
computed in float64 on the prompt (prefill) from the variant's own files.
"""

import json
import os
import shutil

import numpy as np
import torch

import convert
import convert_deepseek2
import deepseek2
import make_tiny
import quants
import safetensors_write

SEED = {"v2lite": 2468, "v3": 1357, "mtp": 9753, "mtpeasy": 8642, "kv32": 3579, "v2grp": 4680}
TOK = make_tiny.TOKENIZER

COMMON = {
    "num_hidden_layers": 3, "num_attention_heads": 4, "num_key_value_heads": 4,
    "kv_lora_rank": 32, "qk_nope_head_dim": 16, "qk_rope_head_dim": 8, "v_head_dim": 16,
    "moe_intermediate_size": 32, "first_k_dense_replace": 1, "moe_layer_freq": 1,
    "max_position_embeddings": 512, "vocab_size": TOK.vocab_size,
    "bos_token_id": TOK.bos_id, "eos_token_id": TOK.eos_id, "rms_norm_eps": 1e-6,
    "rope_theta": 10000.0, "hidden_act": "silu", "attention_bias": False,
    "attention_dropout": 0.0, "initializer_range": 0.02, "pretraining_tp": 1,
    "aux_loss_alpha": 0.001, "seq_aux": True, "ep_size": 1, "use_cache": True,
    "tie_word_embeddings": False, "torch_dtype": "float32", "transformers_version": "4.46.3",
}
CONFIGS = {
    "v2lite": {
        "model_type": "deepseek_v2", "architectures": ["DeepseekV2ForCausalLM"],
        "hidden_size": 64, "intermediate_size": 96, "q_lora_rank": None,
        "n_routed_experts": 8, "num_experts_per_tok": 2, "n_shared_experts": 2,
        "n_group": 1, "topk_group": 1, "topk_method": "greedy", "scoring_func": "softmax",
        "norm_topk_prob": False, "routed_scaling_factor": 1.0,
        "rope_scaling": {"type": "yarn", "factor": 40, "original_max_position_embeddings": 4096,
                         "beta_fast": 32, "beta_slow": 1, "mscale": 0.707,
                         "mscale_all_dim": 0.707},
    },
    "v3": {
        "model_type": "deepseek_v3", "architectures": ["DeepseekV3ForCausalLM"],
        "hidden_size": 256, "intermediate_size": 160, "q_lora_rank": 48,
        "n_routed_experts": 16, "num_experts_per_tok": 4, "n_shared_experts": 1,
        "n_group": 4, "topk_group": 2, "topk_method": "noaux_tc", "scoring_func": "sigmoid",
        "norm_topk_prob": True, "routed_scaling_factor": 2.5, "num_nextn_predict_layers": 0,
        "rope_scaling": {"type": "yarn", "factor": 40, "original_max_position_embeddings": 4096,
                         "beta_fast": 32, "beta_slow": 1, "mscale": 1.0, "mscale_all_dim": 1.0},
    },
}
CONFIGS["yarn"] = dict(CONFIGS["v2lite"], rope_scaling={
    "type": "yarn", "factor": 4.0, "original_max_position_embeddings": 8,
    "beta_fast": 32, "beta_slow": 1, "mscale": 0.707, "mscale_all_dim": 0.707})
# the v3 shapes with one MTP layer (block 3: MLA + MoE, enorm/hnorm/eh_proj,
# shared_head.{norm,head}, embed_tokens), other random weights
CONFIGS["mtp"] = dict(CONFIGS["v3"], num_nextn_predict_layers=1)
# the same shapes with weights an MTP layer can predict (see draftable_weights)
CONFIGS["mtpeasy"] = CONFIGS["mtp"]
# v2lite shapes with a latent row of whole 32-value blocks (kv_lora 64, qk_rope 32, as
# V2/V3's 512 and 64 are): a Q8_0 KV cache needs them (tests/models/test_kv_cache.c)
CONFIGS["kv32"] = dict(CONFIGS["v2lite"], kv_lora_rank=64, qk_rope_head_dim=32)
# V2 (236B) routing: softmax, 16 experts in 4 groups of 4, the 2 best groups by their
# max probability, top 4 (the real V2: 160 experts, 8 groups keep 3, top 6)
CONFIGS["v2grp"] = dict(CONFIGS["v2lite"], n_routed_experts=16, num_experts_per_tok=4, n_group=4,
                        topk_group=2, topk_method="group_limited_greedy")
WEIGHTS_OF = {"v2lite": "v2lite", "v3": "v3", "yarn": "v2lite", "mtp": "mtp", "mtpeasy": "mtpeasy",
              "kv32": "kv32", "v2grp": "v2grp"}
FP8_BLOCK = 128


def tiny_config(kind):
    cfg = dict(COMMON)
    cfg.update(json.loads(json.dumps(CONFIGS[kind])))
    return cfg


def random_weights(config, seed):
    """N(0, c / sqrt(fan_in)) linear weights (c 1.2 into a nonlinearity or
    attention, 0.8 for output projections), norms 1 + N(0, 0.1), router logits
    of std ~1, correction bias N(0, 0.1), embedding/head std 1.6 / sqrt(d):
    O(1) activations, logits of std ~1.5, routing that is not degenerate."""
    rng = np.random.default_rng(seed)
    d, V, H = config["hidden_size"], config["vocab_size"], config["num_attention_heads"]
    nope, r, v, C = (config["qk_nope_head_dim"], config["qk_rope_head_dim"],
                     config["v_head_dim"], config["kv_lora_rank"])
    ql, E, fe = config["q_lora_rank"], config["n_routed_experts"], config["moe_intermediate_size"]

    def lin(out, inp, c=1.2):
        return (rng.standard_normal((out, inp)) * c / np.sqrt(inp)).astype(np.float32)

    def norm(n):
        return (1 + rng.standard_normal(n) * 0.1).astype(np.float32)

    def mlp(prefix, width):
        w[prefix + "gate_proj.weight"] = lin(width, d)
        w[prefix + "up_proj.weight"] = lin(width, d)
        w[prefix + "down_proj.weight"] = lin(d, width, 0.8)

    def layer(i):
        p = f"model.layers.{i}."
        w[p + "input_layernorm.weight"] = norm(d)
        if ql:
            w[p + "self_attn.q_a_proj.weight"] = lin(ql, d)
            w[p + "self_attn.q_a_layernorm.weight"] = norm(ql)
            w[p + "self_attn.q_b_proj.weight"] = lin(H * (nope + r), ql)
        else:
            w[p + "self_attn.q_proj.weight"] = lin(H * (nope + r), d)
        w[p + "self_attn.kv_a_proj_with_mqa.weight"] = lin(C + r, d)
        w[p + "self_attn.kv_a_layernorm.weight"] = norm(C)
        w[p + "self_attn.kv_b_proj.weight"] = lin(H * (nope + v), C)
        w[p + "self_attn.o_proj.weight"] = lin(d, H * v, 0.8)
        w[p + "post_attention_layernorm.weight"] = norm(d)
        if i < config["first_k_dense_replace"]:
            mlp(p + "mlp.", config["intermediate_size"])
            return
        w[p + "mlp.gate.weight"] = lin(E, d, 1.0)
        if config["topk_method"] == "noaux_tc":
            w[p + "mlp.gate.e_score_correction_bias"] = (rng.standard_normal(E) * 0.1).astype(np.float32)
        for e in range(E):
            mlp(p + f"mlp.experts.{e}.", fe)
        mlp(p + "mlp.shared_experts.", fe * config["n_shared_experts"])

    def embedding():
        return (rng.standard_normal((V, d)) * 1.6 / np.sqrt(d)).astype(np.float32)

    w = {"model.embed_tokens.weight": embedding()}
    n_layer = config["num_hidden_layers"]
    for i in range(n_layer):
        layer(i)
    w["model.norm.weight"] = norm(d)
    w["lm_head.weight"] = embedding()
    # MTP layers last, so models without them keep their bytes.  Their own
    # embedding and head are other random matrices (V3 ships copies of the
    # main ones), so a test notices which one the C code reads.
    for i in range(n_layer, n_layer + (config.get("num_nextn_predict_layers") or 0)):
        p = f"model.layers.{i}."
        layer(i)
        w[p + "enorm.weight"] = norm(d)
        w[p + "hnorm.weight"] = norm(d)
        w[p + "eh_proj.weight"] = lin(d, 2 * d)
        w[p + "shared_head.norm.weight"] = norm(d)
        w[p + "shared_head.head.weight"] = embedding()
        w[p + "embed_tokens.weight"] = embedding()
    return w


def draftable_weights(config, seed):
    """Random weights whose MTP layer often guesses right, for speculative
    decoding tests and benchmarks: every layer's output projections (o_proj,
    down_proj) are scaled by 0.01, so the model's prediction after token t is
    mostly a function of t (a near-bigram model), and the MTP layer passes the
    embedding of t+1 through (eh_proj = [I 0], enorm = 1) to the main model's
    own norm and head (shared_head.norm/head and embed_tokens are copies, as in
    V3): it predicts t+2 much as the model will, but not exactly."""
    w = random_weights(config, seed)
    d, L = config["hidden_size"], config["num_hidden_layers"]
    for name in w:
        if name.endswith(("o_proj.weight", "down_proj.weight")):
            w[name] = (w[name] * 0.01).astype(np.float32)
    p = f"model.layers.{L}."
    w[p + "eh_proj.weight"] = np.concatenate([np.eye(d), np.zeros((d, d))], axis=1).astype(np.float32)
    w[p + "enorm.weight"] = np.ones(d, dtype=np.float32)
    w[p + "shared_head.norm.weight"] = w["model.norm.weight"].copy()
    w[p + "shared_head.head.weight"] = w["lm_head.weight"].copy()
    w[p + "embed_tokens.weight"] = w["model.embed_tokens.weight"].copy()
    return w


def prompt_tokens(kind):
    rng = np.random.default_rng(SEED[WEIGHTS_OF[kind]] + 7)
    return [TOK.bos_id] + rng.integers(0, TOK.n_base, make_tiny.N_PROMPT - 1).tolist()


def r1_chat_template():
    here = os.path.dirname(os.path.abspath(__file__))
    path = os.path.join(here, "..", "data", "tokenizers", "deepseek_r1", "tokenizer_config.json")
    with open(path, encoding="utf-8") as f:
        return json.load(f)["chat_template"]


# --- HF directories ------------------------------------------------------------------

def is_fp8_weight(name, values):
    """Linear weights inside the layers are FP8 in the V3 release; the embedding,
    lm_head, norms and the router (mlp.gate) are not (BF16; the correction bias F32)."""
    return (name.startswith("model.layers.") and name.endswith("proj.weight")
            and np.ndim(values) == 2)


def write_hf(directory, weights, config, wtype, shards, with_tokenizer, chat_template):
    cfg = dict(config)
    tensors, dtypes = {}, {}
    for name, values in weights.items():
        if wtype == "fp8" and is_fp8_weight(name, values):
            q, s = safetensors_write.fp8_block_quantize(values, FP8_BLOCK)
            tensors[name], dtypes[name] = q, "F8_E4M3"
            tensors[name + "_scale_inv"], dtypes[name + "_scale_inv"] = s, "F32"
            continue
        tensors[name] = values
        dtypes[name] = "F32" if wtype == "F32" or name.endswith("_bias") else "BF16"
    cfg["torch_dtype"] = "float32" if wtype == "F32" else "bfloat16"
    if wtype == "fp8":
        cfg["quantization_config"] = {"activation_scheme": "dynamic", "fmt": "e4m3",
                                      "quant_method": "fp8", "weight_block_size": [128, 128]}
    with open(os.path.join(directory, "config.json"), "w") as f:
        json.dump(cfg, f, indent=2)
    meta = {"format": "pt"}
    if shards == 1:
        safetensors_write.write_safetensors(os.path.join(directory, "model.safetensors"),
                                            tensors, dtypes, meta)
    else:
        safetensors_write.write_sharded(directory, tensors, shards, dtypes, meta)
    if with_tokenizer:
        with open(os.path.join(directory, "tokenizer.json"), "w", encoding="utf-8") as f:
            json.dump(TOK.tokenizer_json("deepseek2"), f, ensure_ascii=False, indent=1)
        with open(os.path.join(directory, "tokenizer_config.json"), "w", encoding="utf-8") as f:
            json.dump(TOK.tokenizer_config(chat_template), f, ensure_ascii=False, indent=1)


# --- expected router decisions ----------------------------------------------------------

def write_router(directory, weights, config, prompt):
    hp = deepseek2.hparams(config)
    trace = []
    deepseek2.forward(weights, config, prompt, 0, None, torch.float64, router_trace=trace)
    idx, margin, gmargin = trace[0]
    experts = idx.numpy().astype(np.int32)
    experts.astype("<i4").tofile(os.path.join(directory, "router_experts.i32"))
    np.save(os.path.join(directory, "router_experts.npy"), experts)
    first = next(i for i in range(hp["n_layer"]) if deepseek2.is_moe_layer(hp, i))
    with open(os.path.join(directory, "expected.txt"), "a") as f:
        f.write(f"moe_layer {first}\n")
        f.write(f"router_experts router_experts.i32 {experts.shape[0]} {experts.shape[1]}\n")
        f.write("router_margin " + " ".join(f"{m:.6g}" for m in margin.tolist()) + "\n")
        f.write("router_group_margin " + " ".join(f"{m:.6g}" for m in gmargin.tolist()) + "\n")


# --- expected MTP logits ------------------------------------------------------------------

def write_mtp(directory, weights, config, prompt):
    """mtp_logits.f32 [n - 1, vocab] over the sequence S = prompt + greedy (n
    tokens): row i = MTP logits from the main model's hidden state at position i
    and token S[i + 1] (a prediction of S[i + 2]), float64, one pass without
    caches; the test feeds the same rows in a batch and token by token."""
    seq = prompt + np.load(os.path.join(directory, "greedy.npy")).tolist()
    _, hidden = deepseek2.forward(weights, config, seq, 0, None, torch.float64, return_hidden=True)
    logits = deepseek2.mtp_forward(weights, config, hidden[:-1], seq[1:], 0, None, torch.float64)
    logits = logits.numpy().astype(np.float32)
    logits.astype("<f4").tofile(os.path.join(directory, "mtp_logits.f32"))
    np.save(os.path.join(directory, "mtp_logits.npy"), logits)
    top2 = np.sort(logits.astype(np.float64), axis=1)[:, -2:]
    with open(os.path.join(directory, "expected.txt"), "a") as f:
        f.write(f"mtp_logits mtp_logits.f32 {logits.shape[0]} {logits.shape[1]}\n")
        f.write("mtp_margin " + " ".join(f"{m:.6g}" for m in top2[:, 1] - top2[:, 0]) + "\n")


# --- the variants -------------------------------------------------------------------------

def variants():
    """(name, kind, format, weights, tokenizer, shards or split_kv)."""
    return [
        ("ds2-v2lite-gguf-f32", "v2lite", "gguf", "f32", True, False),
        ("ds2-v2lite-gguf-f32-split", "v2lite", "gguf", "f32", True, True),
        ("ds2-v2lite-hf-f32", "v2lite", "hf", "F32", True, 1),
        ("ds2-v3-gguf-f32", "v3", "gguf", "f32", True, True),
        ("ds2-v3-gguf-q8_0", "v3", "gguf", "q8_0", True, True),
        ("ds2-v3-gguf-q4_k", "v3", "gguf", "q4_k", True, True),
        ("ds2-v3-gguf-ud_mix", "v3", "gguf", "ud_mix", True, True),
        ("ds2-v3-hf-f32-notok", "v3", "hf", "F32", False, 1),
        ("ds2-v3-hf-bf16-sharded", "v3", "hf", "BF16", True, 2),
        ("ds2-v3-hf-fp8", "v3", "hf", "fp8", True, 2),
        ("ds2-yarn-gguf-f32", "yarn", "gguf", "f32", True, True),
        ("ds2-yarn-hf-f32", "yarn", "hf", "F32", True, 1),
        ("ds2-mtp-gguf-f32", "mtp", "gguf", "f32", True, True),
        ("ds2-mtp-gguf-f32-shared", "mtp", "gguf", "f32", True, True),
        ("ds2-mtp-gguf-q8_0", "mtp", "gguf", "q8_0", True, True),
        ("ds2-mtp-hf-f32", "mtp", "hf", "F32", True, 1),
        ("ds2-mtpeasy-gguf-f32", "mtpeasy", "gguf", "f32", True, True),
        ("ds2-kv32-gguf-f32", "kv32", "gguf", "f32", True, True),
        ("ds2-v2grp-gguf-f32", "v2grp", "gguf", "f32", True, True),
        ("ds2-v2grp-hf-f32", "v2grp", "hf", "F32", True, 1),
    ]


def generate(out_dir, with_chat_template=True):
    """Write every deepseek2 variant under out_dir; returns the manifest lines."""
    template = r1_chat_template() if with_chat_template else None
    weights = {k: random_weights(tiny_config(k), SEED[k]) for k in ("v2lite", "v3", "mtp", "kv32", "v2grp")}
    weights["mtpeasy"] = draftable_weights(tiny_config("mtpeasy"), SEED["mtpeasy"])
    manifest = []
    for name, kind, fmt, wtype, with_tok, extra in variants():
        cfg, w = tiny_config(kind), weights[WEIGHTS_OF[kind]]
        if name.endswith("-shared"):   # no MTP embedding/head: the main ones serve
            w = {k: v for k, v in w.items() if not k.endswith(("shared_head.head.weight", "embed_tokens.weight"))
                 or k == "model.embed_tokens.weight"}
        d = os.path.join(out_dir, name)
        shutil.rmtree(d, ignore_errors=True)
        os.makedirs(d)
        if fmt == "gguf":
            path = os.path.join(d, "model.gguf")
            convert_deepseek2.write_gguf(path, w, cfg, quants.GGML_TYPE_BY_NAME[wtype],
                                         TOK if with_tok else None, template, name, split_kv=extra)
            read_w, read_cfg = convert.load_gguf(path)
        else:
            write_hf(d, w, cfg, wtype, extra, with_tok, template)
            read_w, read_cfg = convert.load_hf(d)
        prompt = prompt_tokens(kind)
        header = {"arch": "deepseek2", "format": fmt, "weights": wtype.lower(), "tied": 0,
                  "tokenizer": int(with_tok)}
        make_tiny.write_expected(d, read_w, read_cfg, prompt, header)
        write_router(d, read_w, read_cfg, prompt)
        if read_cfg.get("num_nextn_predict_layers"):
            write_mtp(d, read_w, read_cfg, prompt)
        manifest.append(f"{name} deepseek2 {fmt} {wtype.lower()} 0 {int(with_tok)}")
    return manifest
