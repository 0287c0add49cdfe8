"""Independent PyTorch reference forward passes, written from the public
papers (Qwen2 arXiv 2407.10671, Llama 3 arXiv 2407.21783) and HF transformers'
modeling_qwen2.py / modeling_llama.py conventions, as lib/models/README.md §2-3
records them, never from dseek's C code.

    qwen2  (Qwen2.5, R1-Distill-Qwen):  biases on q, k, v; GQA; RoPE over halves
    qwen3  (Qwen3, R1-0528-Qwen3-8B):   no biases; each head's q and k RMS-normalised
                                        over head_dim (one weight [head_dim] shared by
                                        the heads, eps = rms_norm_eps) before RoPE
                                        over halves; head_dim from the config, which
                                        may differ from hidden_size / heads
                                        (HF transformers modeling_qwen3: Qwen3Attention
                                        q_norm / k_norm = Qwen3RMSNorm(head_dim))
    llama  (Llama-3.1, R1-Distill-Llama): no biases; GQA; RoPE with llama3 scaling

Both are pre-norm decoders:
    x_0      = Emb[token]
    h        = x + Attn(RMSNorm(x; attn_norm))
    x_next   = h + SwiGLU(RMSNorm(h; ffn_norm))
    logits   = W_out RMSNorm(x_L; output_norm)        (W_out = Emb when tied)

Inputs
    weights: {Hugging Face tensor name: array}, linear weights [out, in]
             ("model.layers.N.self_attn.q_proj.weight", ..., "lm_head.weight").
    config:  a Hugging Face config.json dict (model_type, hidden_size, ...),
             plus one optional key of ours, "rope_layout":
               "hf"   (default) q/k rows as in HF checkpoints; frequencies from
                      config["rope_scaling"].
               "gguf" q/k rows as stored in a llama.cpp GGUF: llama's q/k are
                      permuted so that RoPE rotates adjacent pairs, and the
                      llama3 scaling comes from weights["rope_freqs"] (divisors).
                      qwen2 GGUFs are not permuted (rope type "neox").
deepseek2 (DeepSeek-V2/V3/R1: MLA + DeepSeekMoE + YaRN; HF model_type
deepseek_v2 / deepseek_v3) lives in deepseek2.py; forward() hands it over.
"""

import math

import torch


# === building blocks ===========================================================

def rms_norm(x, weight, eps):
    """RMSNorm: y = x / sqrt(mean(x^2) + eps) * weight   (over the last dim)."""
    return x * torch.rsqrt(x.pow(2).mean(dim=-1, keepdim=True) + eps) * weight


def linear(x, w, b=None):
    """y = x W^T + b with W stored [out, in] (HF layout)."""
    y = x @ w.T
    return y if b is None else y + b


def silu(x):
    """silu(x) = x * sigmoid(x)."""
    return x * torch.sigmoid(x)


def swiglu(x, w_gate, w_up, w_down):
    """SwiGLU MLP: W_down (silu(W_gate x) * (W_up x))."""
    return linear(silu(linear(x, w_gate)) * linear(x, w_up), w_down)


def softmax(x, dim=-1):
    """softmax(x)_i = exp(x_i - max x) / sum_j exp(x_j - max x)."""
    e = torch.exp(x - x.max(dim=dim, keepdim=True).values)
    return e / e.sum(dim=dim, keepdim=True)


# === rotary position embedding =================================================

def rope_base_freqs(rope_dim, theta):
    """f_i = theta^(-2i / rope_dim), i = 0 .. rope_dim/2 - 1   (float64)."""
    i = torch.arange(rope_dim // 2, dtype=torch.float64)
    return theta ** (-2.0 * i / rope_dim)


def llama3_freqs(freqs, factor, low_freq_factor, high_freq_factor, original_context):
    """Llama 3.1 frequency scaling (lib/models/README.md §3; HF _compute_llama3_parameters):
        wavelength w_i = 2 pi / f_i
        w_i < original / high_freq_factor  ->  f_i              (high frequencies kept)
        w_i > original / low_freq_factor   ->  f_i / factor     (low frequencies slowed)
        otherwise, with smooth = (original / w_i - low) / (high - low):
                                              (1 - smooth) f_i / factor + smooth f_i
    """
    out = []
    for f in freqs.tolist():
        wavelength = 2 * math.pi / f
        if wavelength < original_context / high_freq_factor:
            out.append(f)
        elif wavelength > original_context / low_freq_factor:
            out.append(f / factor)
        else:
            smooth = (original_context / wavelength - low_freq_factor) / (high_freq_factor - low_freq_factor)
            out.append((1 - smooth) * f / factor + smooth * f)
    return torch.tensor(out, dtype=torch.float64)


def rope_angles(positions, freqs, dtype):
    """cos and sin of angle[t, i] = pos_t * f_i, computed in float64 -> [T, dim/2]."""
    angle = torch.as_tensor(positions, dtype=torch.float64)[:, None] * freqs[None, :]
    return torch.cos(angle).to(dtype), torch.sin(angle).to(dtype)


def rope_neox(x, cos, sin):
    """GGUF rope type "neox" / HF rotate_half: pairs (x_i, x_{i + d/2}) rotate by
    angle_i:  x_i' = x_i cos - x_{i+d/2} sin,  x_{i+d/2}' = x_{i+d/2} cos + x_i sin.
    x: [..., T, d]; cos, sin: [T, d/2]."""
    half = x.shape[-1] // 2
    a, b = x[..., :half], x[..., half:]
    return torch.cat([a * cos - b * sin, b * cos + a * sin], dim=-1)


def rope_normal(x, cos, sin):
    """GGUF rope type "normal" (original RoPE paper): adjacent pairs
    (x_{2i}, x_{2i+1}) rotate by angle_i."""
    a, b = x[..., 0::2], x[..., 1::2]
    out = torch.empty_like(x)
    out[..., 0::2] = a * cos - b * sin
    out[..., 1::2] = b * cos + a * sin
    return out


# === attention ===================================================================

def attention(q, k, v, q_positions, k_positions):
    """Causal grouped-query attention.
    q: [H, T, d]; k, v: [H_kv, S, d]; query head h reads kv head h // (H / H_kv)
    (HF repeat_kv; ggml's broadcast in mul_mat does the same).
        score(t, s) = q_t . k_s / sqrt(d),   masked to -inf where pos_s > pos_t
        out_t       = sum_s softmax_s(score(t, .)) v_s
    """
    group = q.shape[0] // k.shape[0]
    k = k.repeat_interleave(group, dim=0)
    v = v.repeat_interleave(group, dim=0)
    scores = (q @ k.transpose(-1, -2)) / math.sqrt(q.shape[-1])
    qp = torch.as_tensor(q_positions)[:, None]
    kp = torch.as_tensor(k_positions)[None, :]
    scores = scores.masked_fill(kp > qp, float("-inf"))
    return softmax(scores) @ v


class KVCache:
    """Per-layer keys (after RoPE) and values, [H_kv, n_past, d] each."""

    def __init__(self):
        self.k, self.v = {}, {}
        self.n_past = 0

    def append(self, layer, k, v):
        if layer in self.k:
            k = torch.cat([self.k[layer], k], dim=1)
            v = torch.cat([self.v[layer], v], dim=1)
        self.k[layer], self.v[layer] = k, v
        return k, v


# === hyperparameters ===============================================================

DEEPSEEK2_MODEL_TYPES = ("deepseek_v2", "deepseek_v3", "deepseek2")


def is_deepseek2(config):
    return config["model_type"] in DEEPSEEK2_MODEL_TYPES


def new_cache(config):
    """The cache forward() wants for this model: KVCache, or deepseek2's latent cache."""
    if is_deepseek2(config):
        import deepseek2
        return deepseek2.LatentCache()
    return KVCache()


def hparams(config):
    """The numbers a forward pass needs, from an HF config.json dict."""
    d = config["hidden_size"]
    n_head = config["num_attention_heads"]
    head_dim = config.get("head_dim") or d // n_head
    return {
        "arch": config["model_type"],
        "n_layer": config["num_hidden_layers"],
        "n_head": n_head,
        "n_head_kv": config.get("num_key_value_heads") or n_head,
        "head_dim": head_dim,
        "eps": config["rms_norm_eps"],
        "theta": config.get("rope_theta", 10000.0),
        "rope_layout": config.get("rope_layout", "hf"),
    }


def rope_setup(weights, config, hp):
    """(rotate function, frequencies) for this model and weight layout."""
    freqs = rope_base_freqs(hp["head_dim"], hp["theta"])
    scaling = config.get("rope_scaling") or {}
    if hp["rope_layout"] == "gguf":
        if "rope_freqs" in weights:
            # llama.cpp: theta_i = pos * f_i / rope_freqs[i]  (ggml_rope_ext freq_factors)
            freqs = freqs / torch.as_tensor(weights["rope_freqs"], dtype=torch.float64)
        rotate = rope_normal if hp["arch"] == "llama" else rope_neox
    else:
        if scaling.get("rope_type", scaling.get("type")) == "llama3":
            freqs = llama3_freqs(freqs, scaling["factor"], scaling["low_freq_factor"],
                                 scaling["high_freq_factor"],
                                 scaling["original_max_position_embeddings"])
        rotate = rope_neox
    return rotate, freqs


# === layers ========================================================================

def gqa_layer(W, i, x, hp, rope, positions, kv_cache, qk_norm=False):
    """One qwen2 / qwen3 / llama decoder layer on x: [T, d]; qk_norm: qwen3's
    per-head RMSNorm of q and k before RoPE."""
    p = f"model.layers.{i}."
    T, H, Hkv, hd = x.shape[0], hp["n_head"], hp["n_head_kv"], hp["head_dim"]
    rotate, cos, sin = rope

    xn = rms_norm(x, W(p + "input_layernorm.weight"), hp["eps"])
    # q = W_q xn + b_q (bias only in qwen2), split into heads -> [H, T, hd]
    q = linear(xn, W(p + "self_attn.q_proj.weight"), W(p + "self_attn.q_proj.bias", True))
    k = linear(xn, W(p + "self_attn.k_proj.weight"), W(p + "self_attn.k_proj.bias", True))
    v = linear(xn, W(p + "self_attn.v_proj.weight"), W(p + "self_attn.v_proj.bias", True))
    q = q.view(T, H, hd).transpose(0, 1)
    k = k.view(T, Hkv, hd).transpose(0, 1)
    v = v.view(T, Hkv, hd).transpose(0, 1)
    if qk_norm:
        # qwen3: q_h = RMSNorm(q_h) * w_q_norm for every head h (over its hd values)
        q = rms_norm(q, W(p + "self_attn.q_norm.weight"), hp["eps"])
        k = rms_norm(k, W(p + "self_attn.k_norm.weight"), hp["eps"])
    q, k = rotate(q, cos, sin), rotate(k, cos, sin)

    k_positions = positions
    if kv_cache is not None:
        k, v = kv_cache.append(i, k, v)
        k_positions = list(range(positions[-1] + 1 - k.shape[1], positions[-1] + 1))
    o = attention(q, k, v, positions, k_positions)            # [H, T, hd]
    o = o.transpose(0, 1).reshape(T, H * hd)
    h = x + linear(o, W(p + "self_attn.o_proj.weight"))

    hn = rms_norm(h, W(p + "post_attention_layernorm.weight"), hp["eps"])
    return h + swiglu(hn, W(p + "mlp.gate_proj.weight"), W(p + "mlp.up_proj.weight"),
                      W(p + "mlp.down_proj.weight"))


def qwen3_layer(W, i, x, hp, rope, positions, kv_cache):
    return gqa_layer(W, i, x, hp, rope, positions, kv_cache, qk_norm=True)


LAYERS = {"qwen2": gqa_layer, "qwen3": qwen3_layer, "llama": gqa_layer}


# === the model =======================================================================

def forward(weights, config, tokens, start_pos=0, kv_cache=None, dtype=torch.float32):
    """Logits [n, vocab] for tokens at positions start_pos .. start_pos + n - 1.
    With a kv_cache, start_pos must equal kv_cache.n_past; the new keys and
    values are appended, so prefill then token-by-token decode works."""
    if is_deepseek2(config):
        import deepseek2
        return deepseek2.forward(weights, config, tokens, start_pos, kv_cache, dtype)
    hp = hparams(config)
    if hp["arch"] not in LAYERS:
        raise ValueError(f"no reference for model_type {hp['arch']}")
    if kv_cache is not None and start_pos != kv_cache.n_past:
        raise ValueError(f"start_pos {start_pos} != cache length {kv_cache.n_past}")

    def W(name, optional=False):
        if name not in weights:
            if optional:
                return None
            raise KeyError(f"missing tensor {name}")
        return torch.as_tensor(weights[name]).to(dtype)

    tokens = list(tokens)
    positions = list(range(start_pos, start_pos + len(tokens)))
    rotate, freqs = rope_setup(weights, config, hp)
    cos, sin = rope_angles(positions, freqs, dtype)

    emb = W("model.embed_tokens.weight")
    x = emb[torch.tensor(tokens, dtype=torch.long)]
    for i in range(hp["n_layer"]):
        x = LAYERS[hp["arch"]](W, i, x, hp, (rotate, cos, sin), positions, kv_cache)
    if kv_cache is not None:
        kv_cache.n_past += len(tokens)

    x = rms_norm(x, W("model.norm.weight"), hp["eps"])
    # untied unless lm_head is absent (tie_word_embeddings / GGUF without output.weight)
    head = W("lm_head.weight") if "lm_head.weight" in weights else emb
    return linear(x, head)


def greedy_trace(weights, config, prompt, n, dtype=torch.float32):
    """Prefill the prompt, then decode n tokens greedily with a KV cache.
    Returns (tokens [n], prefill logits [len(prompt), vocab],
             decode logits [n, vocab]: row j = logits after feeding tokens[j])."""
    cache = new_cache(config)
    prefill = forward(weights, config, prompt, 0, cache, dtype)
    out, rows = [int(torch.argmax(prefill[-1]))], []
    for j in range(n):
        logits = forward(weights, config, [out[j]], len(prompt) + j, cache, dtype)[0]
        rows.append(logits)
        if j + 1 < n:
            out.append(int(torch.argmax(logits)))
    return out, prefill, torch.stack(rows)


def greedy(weights, config, prompt, n, dtype=torch.float32):
    """n greedily generated tokens after the prompt."""
    return greedy_trace(weights, config, prompt, n, dtype)[0]
