"""deepseek2 HF checkpoint <-> GGUF, the way llama.cpp's convert_hf_to_gguf.py
(DeepseekV2Model and the TextModel base) writes it and src/models/deepseek2.cpp
reads it (checked with the search tool; the code is ours).

Tensor names (HF suffix after model.layers.N. -> GGUF suffix after blk.N.):
    input_layernorm                      attn_norm
    self_attn.q_proj                     attn_q            (q_lora_rank null)
    self_attn.q_a_proj / q_a_layernorm   attn_q_a / attn_q_a_norm
    self_attn.q_b_proj                   attn_q_b
    self_attn.kv_a_proj_with_mqa         attn_kv_a_mqa     [kv_lora + qk_rope, d]
    self_attn.kv_a_layernorm             attn_kv_a_norm
    self_attn.kv_b_proj                  attn_kv_b         (legacy files) or split:
        kv_b.view(H, nope + v, kv_lora) -> k_b = [:, :nope].transpose(1, 2)
        attn_k_b: numpy [H, kv_lora, nope] = ne [nope, kv_lora, H]
        attn_v_b: numpy [H, v, kv_lora]    = ne [kv_lora, v, H]
        (newer converters write only the split pair; llama.cpp then runs MLA
        "absorbed": is_mla() is true when key_length_mla/value_length_mla exist)
    self_attn.o_proj                     attn_output
    post_attention_layernorm             ffn_norm
    mlp.{gate,up,down}_proj              ffn_{gate,up,down}            (dense layers)
    mlp.gate.weight                      ffn_gate_inp.weight           (kept F32)
    mlp.gate.e_score_correction_bias     exp_probs_b.bias              (F32)
    mlp.experts.E.{gate,up,down}_proj    ffn_{gate,up,down}_exps: torch.stack over E
        -> numpy [E, out, in] = ne [in, out, E]
    mlp.shared_experts.{gate,up,down}_proj  ffn_{gate,up,down}_shexp
No q/k permutation for deepseek2 (rope type NORM works on the HF order).

Metadata (prefix deepseek2.), newest converter: block_count, context_length,
embedding_length, feed_forward_length (dense intermediate_size),
attention.head_count, attention.head_count_kv = 1 (MLA as MQA),
rope.freq_base, attention.layer_norm_rms_epsilon, expert_count (n_routed_experts),
expert_used_count, expert_group_count (n_group), expert_group_used_count
(topk_group), expert_gating_func (1 softmax, 2 sigmoid, from scoring_func),
rope.scaling.type "yarn", rope.scaling.factor, rope.scaling.original_context_length,
rope.scaling.yarn_beta_fast / yarn_beta_slow (newest base class only),
leading_dense_block_count, vocab_size, attention.q_lora_rank (only when not null),
attention.kv_lora_rank, attention.key_length = kv_lora + qk_rope,
attention.value_length = kv_lora, attention.key_length_mla = qk_nope + qk_rope,
attention.value_length_mla = v_head, expert_feed_forward_length, expert_shared_count,
expert_weights_scale (routed_scaling_factor), expert_weights_norm (only when true),
rope.dimension_count = qk_rope, rope.scaling.yarn_log_multiplier = 0.1 * mscale_all_dim
(llama.cpp divides it by 0.1 again on load, [TAG_DEEPSEEK2_YARN_LOG_MUL_FIX]).
Legacy files (fused attn_kv_b): head_count_kv = num_key_value_heads,
key_length = qk_nope + qk_rope, value_length = v_head, no *_mla keys.
llama.cpp reads q_lora_rank as required unless n_layer is 26/27 (the "lite" test);
our tiny V2-Lite files omit it as the converter does, so a loader should treat
a missing key (and the presence of attn_q) as "no q LoRA".

Tensor types: 1-D, *_norm, non-.weight and ffn_gate_inp stay F32; the rest takes
the file type; a row length the type cannot hold falls back as llama.cpp does:
Q8_0 -> F16 (convert_hf_to_gguf QuantError), Q4_K -> Q5_0 -> F16 (llama-quant.cpp).
"""

import numpy as np

import gguf_read
import gguf_write as g
import quants

LAYER_NAMES = [
    ("input_layernorm.weight", "attn_norm.weight"),
    ("self_attn.q_proj.weight", "attn_q.weight"),
    ("self_attn.q_a_proj.weight", "attn_q_a.weight"),
    ("self_attn.q_a_layernorm.weight", "attn_q_a_norm.weight"),
    ("self_attn.q_b_proj.weight", "attn_q_b.weight"),
    ("self_attn.kv_a_proj_with_mqa.weight", "attn_kv_a_mqa.weight"),
    ("self_attn.kv_a_layernorm.weight", "attn_kv_a_norm.weight"),
    ("self_attn.kv_b_proj.weight", "attn_kv_b.weight"),
    ("self_attn.o_proj.weight", "attn_output.weight"),
    ("post_attention_layernorm.weight", "ffn_norm.weight"),
    ("mlp.gate_proj.weight", "ffn_gate.weight"),
    ("mlp.up_proj.weight", "ffn_up.weight"),
    ("mlp.down_proj.weight", "ffn_down.weight"),
    ("mlp.gate.weight", "ffn_gate_inp.weight"),
    ("mlp.gate.e_score_correction_bias", "exp_probs_b.bias"),
    ("mlp.shared_experts.gate_proj.weight", "ffn_gate_shexp.weight"),
    ("mlp.shared_experts.up_proj.weight", "ffn_up_shexp.weight"),
    ("mlp.shared_experts.down_proj.weight", "ffn_down_shexp.weight"),
]
# MTP layers (n >= num_hidden_layers): a full block under the names above plus
# these, under blk.N.nextn. (llama.cpp gguf-py constants NEXTN_*; block_count
# counts them and deepseek2.nextn_predict_layers says how many there are)
NEXTN_NAMES = [
    ("eh_proj.weight", "nextn.eh_proj.weight"),
    ("enorm.weight", "nextn.enorm.weight"),
    ("hnorm.weight", "nextn.hnorm.weight"),
    ("shared_head.norm.weight", "nextn.shared_head_norm.weight"),
    ("shared_head.head.weight", "nextn.shared_head_head.weight"),
    ("embed_tokens.weight", "nextn.embed_tokens.weight"),
]
EXPERT_NAMES = [("gate_proj", "ffn_gate_exps.weight"), ("up_proj", "ffn_up_exps.weight"),
                ("down_proj", "ffn_down_exps.weight")]
GLOBAL_NAMES = [("model.embed_tokens.weight", "token_embd.weight"),
                ("model.norm.weight", "output_norm.weight"), ("lm_head.weight", "output.weight")]

EXPERT_GATING_FUNC = {"softmax": 1, "sigmoid": 2}   # LLAMA_EXPERT_GATING_FUNC_TYPE_*
FILE_TYPE_ID = {quants.GGML_TYPE_F32: 0, quants.GGML_TYPE_F16: 1, quants.GGML_TYPE_Q8_0: 7,
                quants.GGML_TYPE_Q4_K: 15, quants.GGML_TYPE_BF16: 32,
                quants.FILE_TYPE_UD_MIX: 19}  # llama_ftype (Q4_K_M = 15, IQ2_XXS = 19)


def ud_mix_type(gguf_name, row):
    """A per-tensor mix as unsloth's dynamic R1 quants have: routed experts in
    IQ1_S / IQ2_XXS (gate and up of a different type in layer 1, both IQ2_XXS
    in layer 2: the fused op), 256-wide attention and shared-expert matrices
    in Q4_K, 32-multiples in Q8_0 except layer 2's expert down in BF16, the
    rest (rows of 48, 16) in F16. Expert down rows are 32 wide here, too
    narrow for a 256-value IQ/K block."""
    if gguf_name == "blk.2.ffn_down_exps.weight":
        return quants.GGML_TYPE_BF16
    if gguf_name.endswith("ffn_gate_exps.weight"):
        return quants.GGML_TYPE_IQ1_S if gguf_name.startswith("blk.1.") else quants.GGML_TYPE_IQ2_XXS
    if gguf_name.endswith(("ffn_up_exps.weight", "ffn_gate.weight", "ffn_up.weight")):
        return quants.GGML_TYPE_IQ2_XXS
    if row % quants.QK_K == 0 and not gguf_name.startswith("output"):
        return quants.GGML_TYPE_Q4_K
    return quants.GGML_TYPE_Q8_0 if row % 32 == 0 else quants.GGML_TYPE_F16


def tensor_type(gguf_name, shape, file_type):
    """The ggml type llama.cpp gives this tensor in a file of file_type."""
    if (len(shape) <= 1 or gguf_name.endswith("_norm.weight") or not gguf_name.endswith(".weight")
            or gguf_name.endswith("ffn_gate_inp.weight")):
        return quants.GGML_TYPE_F32
    row = shape[-1]
    if file_type == quants.FILE_TYPE_UD_MIX:
        return ud_mix_type(gguf_name, row)
    t = file_type
    if t == quants.GGML_TYPE_Q4_K and row % quants.QK_K:
        t = quants.GGML_TYPE_Q5_0
    if t in (quants.GGML_TYPE_Q8_0, quants.GGML_TYPE_Q5_0) and row % 32:
        t = quants.GGML_TYPE_F16
    return t


def split_kv_b(kv_b, n_head, qk_nope, v_head):
    """attn_kv_b [H*(nope+v), C] -> (attn_k_b [H, C, nope], attn_v_b [H, v, C])."""
    kv = np.asarray(kv_b).reshape(n_head, qk_nope + v_head, -1)
    return np.ascontiguousarray(kv[:, :qk_nope].transpose(0, 2, 1)), np.ascontiguousarray(kv[:, qk_nope:])


def join_kv_b(k_b, v_b):
    """Inverse of split_kv_b."""
    kv = np.concatenate([np.asarray(k_b).transpose(0, 2, 1), np.asarray(v_b)], axis=1)
    return kv.reshape(-1, kv.shape[-1])


def gguf_tensors(weights, config, split_kv):
    """HF-named float32 weights -> [(gguf name, numpy array)] in converter order:
    experts stacked when a layer's last expert tensor arrives."""
    H, nope, v = config["num_attention_heads"], config["qk_nope_head_dim"], config["v_head_dim"]
    n_exp = config.get("n_routed_experts") or 0
    out, pending = [], {}
    for name, values in weights.items():
        values = np.asarray(values, dtype=np.float32)
        hit = [gg for hf, gg in GLOBAL_NAMES if hf == name]
        if hit:
            out.append((hit[0], values))
            continue
        n, rest = name[len("model.layers."):].split(".", 1)
        if rest.startswith("mlp.experts."):
            pending.setdefault(n, {})[rest] = values
            if len(pending[n]) == 3 * n_exp:
                for hf, gg in EXPERT_NAMES:
                    stack = [pending[n][f"mlp.experts.{e}.{hf}.weight"] for e in range(n_exp)]
                    out.append((f"blk.{n}.{gg}", np.stack(stack)))
                del pending[n]
            continue
        if rest == "self_attn.kv_b_proj.weight" and split_kv:
            k_b, v_b = split_kv_b(values, H, nope, v)
            out += [(f"blk.{n}.attn_k_b.weight", k_b), (f"blk.{n}.attn_v_b.weight", v_b)]
            continue
        names = dict(LAYER_NAMES + NEXTN_NAMES) if int(n) >= config["num_hidden_layers"] else dict(LAYER_NAMES)
        out.append((f"blk.{n}.{names[rest]}", values))
    if pending:
        raise ValueError(f"incomplete experts in layers {sorted(pending)}")
    return out


def write_metadata(w, config, file_type, split_kv):
    a = "deepseek2."
    H = config["num_attention_heads"]
    C, nope, rope, v = (config["kv_lora_rank"], config["qk_nope_head_dim"],
                        config["qk_rope_head_dim"], config["v_head_dim"])
    nextn = config.get("num_nextn_predict_layers") or 0
    w.add_u32(a + "block_count", config["num_hidden_layers"] + nextn)
    if nextn:
        w.add_u32(a + "nextn_predict_layers", nextn)
    w.add_u32(a + "context_length", config["max_position_embeddings"])
    w.add_u32(a + "embedding_length", config["hidden_size"])
    w.add_u32(a + "feed_forward_length", config["intermediate_size"])
    w.add_u32(a + "attention.head_count", H)
    w.add_u32(a + "attention.head_count_kv", 1 if split_kv else config.get("num_key_value_heads", H))
    w.add_f32(a + "rope.freq_base", config.get("rope_theta", 10000.0))
    w.add_f32(a + "attention.layer_norm_rms_epsilon", config["rms_norm_eps"])
    w.add_u32(a + "expert_count", config["n_routed_experts"])
    w.add_u32(a + "expert_used_count", config["num_experts_per_tok"])
    w.add_u32(a + "expert_group_count", config["n_group"])
    w.add_u32(a + "expert_group_used_count", config["topk_group"])
    w.add_u32(a + "expert_gating_func", EXPERT_GATING_FUNC[config["scoring_func"]])
    w.add_u32("general.file_type", FILE_TYPE_ID[file_type])
    rs = config.get("rope_scaling") or {}
    if rs.get("type", rs.get("rope_type")) == "yarn":
        w.add_string(a + "rope.scaling.type", "yarn")
        w.add_f32(a + "rope.scaling.factor", rs["factor"])
        w.add_u32(a + "rope.scaling.original_context_length", rs["original_max_position_embeddings"])
        if "beta_fast" in rs:
            w.add_f32(a + "rope.scaling.yarn_beta_fast", rs["beta_fast"])
        if "beta_slow" in rs:
            w.add_f32(a + "rope.scaling.yarn_beta_slow", rs["beta_slow"])
    w.add_u32(a + "leading_dense_block_count", config["first_k_dense_replace"])
    w.add_u32(a + "vocab_size", config["vocab_size"])
    if config.get("q_lora_rank") is not None:
        w.add_u32(a + "attention.q_lora_rank", config["q_lora_rank"])
    w.add_u32(a + "attention.kv_lora_rank", C)
    if split_kv:
        w.add_u32(a + "attention.key_length", C + rope)
        w.add_u32(a + "attention.value_length", C)
        w.add_u32(a + "attention.key_length_mla", nope + rope)
        w.add_u32(a + "attention.value_length_mla", v)
    else:
        w.add_u32(a + "attention.key_length", nope + rope)
        w.add_u32(a + "attention.value_length", v)
    w.add_u32(a + "expert_feed_forward_length", config["moe_intermediate_size"])
    w.add_u32(a + "expert_shared_count", config["n_shared_experts"])
    if config.get("routed_scaling_factor") is not None:
        w.add_f32(a + "expert_weights_scale", config["routed_scaling_factor"])
    if config.get("norm_topk_prob"):
        w.add_bool(a + "expert_weights_norm", True)
    w.add_u32(a + "rope.dimension_count", rope)
    if rs.get("mscale_all_dim") is not None:
        w.add_f32(a + "rope.scaling.yarn_log_multiplier", 0.1 * rs["mscale_all_dim"])
    w.add_u32("general.quantization_version", 2)


def write_gguf(path, weights, config, file_type, tokenizer=None, chat_template=None,
               name="tiny", split_kv=True):
    w = g.GGUFWriter()
    w.add_string("general.architecture", "deepseek2")
    w.add_string("general.name", name)
    write_metadata(w, config, file_type, split_kv)
    if tokenizer is not None:
        tokenizer.gguf_metadata(w, "deepseek2", chat_template)
    for gname, values in gguf_tensors(weights, config, split_kv):
        w.add_tensor(gname, values, tensor_type(gname, values.shape, file_type))
    w.write(path)


def load_gguf(path):
    """A deepseek2 GGUF -> (HF-named float32 weights, experts unstacked and kv_b
    rebuilt from attn_k_b / attn_v_b; HF-style config with rope_layout "gguf")."""
    f = gguf_read.GGUFFile(path)
    md = f.metadata
    a = "deepseek2."
    by_gguf = {gg: hf for hf, gg in LAYER_NAMES + NEXTN_NAMES}
    weights, split = {}, {}
    for gname in f.tensors:
        t = f.tensor(gname)
        hit = [hf for hf, gg in GLOBAL_NAMES if gg == gname]
        if hit:
            weights[hit[0]] = t
            continue
        n, rest = gname[len("blk."):].split(".", 1)
        p = f"model.layers.{n}."
        exp = [hf for hf, gg in EXPERT_NAMES if gg == rest]
        if exp:
            for e in range(t.shape[0]):
                weights[p + f"mlp.experts.{e}.{exp[0]}.weight"] = t[e]
        elif rest in ("attn_k_b.weight", "attn_v_b.weight"):
            split.setdefault(n, {})[rest] = t
        else:
            weights[p + by_gguf[rest]] = t
    for n, kv in split.items():
        weights[f"model.layers.{n}.self_attn.kv_b_proj.weight"] = join_kv_b(
            kv["attn_k_b.weight"], kv["attn_v_b.weight"])

    rope = md[a + "rope.dimension_count"]
    n_group = md.get(a + "expert_group_count", 1)
    config = {
        "model_type": "deepseek2",
        "num_hidden_layers": md[a + "block_count"] - md.get(a + "nextn_predict_layers", 0),
        "num_nextn_predict_layers": md.get(a + "nextn_predict_layers", 0),
        "hidden_size": md[a + "embedding_length"],
        "intermediate_size": md[a + "feed_forward_length"],
        "num_attention_heads": md[a + "attention.head_count"],
        "rms_norm_eps": md[a + "attention.layer_norm_rms_epsilon"],
        "rope_theta": md.get(a + "rope.freq_base", 10000.0),
        "max_position_embeddings": md[a + "context_length"],
        "vocab_size": weights["model.embed_tokens.weight"].shape[0],
        "q_lora_rank": md.get(a + "attention.q_lora_rank", 0),
        "kv_lora_rank": md[a + "attention.kv_lora_rank"],
        "qk_rope_head_dim": rope,
        "qk_nope_head_dim": md.get(a + "attention.key_length_mla",
                                   md.get(a + "attention.key_length")) - rope,
        "v_head_dim": md.get(a + "attention.value_length_mla", md.get(a + "attention.value_length")),
        "first_k_dense_replace": md.get(a + "leading_dense_block_count", 0),
        "n_routed_experts": md[a + "expert_count"],
        "num_experts_per_tok": md[a + "expert_used_count"],
        "n_shared_experts": md[a + "expert_shared_count"],
        "moe_intermediate_size": md[a + "expert_feed_forward_length"],
        "n_group": n_group,
        "topk_group": md.get(a + "expert_group_used_count", 1),
        # a missing gating func means softmax (llama.cpp).  A GGUF has no
        # topk_method; DeepSeek's own code (DeepSeek-V3 inference/model.py,
        # Gate.forward) scores a group by the sum of its top-2 selection scores
        # when the gate has a correction bias (V3/R1, noaux_tc) and by its max
        # score otherwise (V2, group_limited_greedy), so the bias decides here.
        # (llama.cpp's build_moe_ffn sums the top-2 for every file: not followed.)
        "scoring_func": {1: "softmax", 2: "sigmoid"}[md.get(a + "expert_gating_func", 1)],
        "topk_method": ("noaux_tc" if any(k.endswith("e_score_correction_bias") for k in weights)
                        else "group_limited_greedy" if n_group > 1 else "greedy"),
        "norm_topk_prob": md.get(a + "expert_weights_norm", False),
        "routed_scaling_factor": md.get(a + "expert_weights_scale", 1.0) or 1.0,
        "rope_layout": "gguf",
    }
    if md.get(a + "rope.scaling.type") == "yarn":
        log_mul = md.get(a + "rope.scaling.yarn_log_multiplier")
        m_all = log_mul / 0.1 if log_mul is not None else 0.0
        config["rope_scaling"] = {
            "type": "yarn", "factor": md[a + "rope.scaling.factor"],
            "original_max_position_embeddings": md[a + "rope.scaling.original_context_length"],
            # llama.cpp's defaults when the keys are absent (older converters)
            "beta_fast": md.get(a + "rope.scaling.yarn_beta_fast", 32.0),
            "beta_slow": md.get(a + "rope.scaling.yarn_beta_slow", 1.0),
            # llama.cpp takes mscale == mscale_all_dim for deepseek2 (llama-context.cpp)
            "mscale": m_all if log_mul is not None else 1.0, "mscale_all_dim": m_all,
        }
    return weights, config
