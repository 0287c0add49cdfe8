"""deepseek2 (DeepSeek-V2 / V2-Lite / V3 / R1) reference forward: MLA + DeepSeekMoE
+ YaRN, written from the papers named in lib/models/README.md §1 (DeepSeek-V2
arXiv 2405.04434, DeepSeek-V3 arXiv 2412.19437, YaRN arXiv 2309.00071) and
checked against public code (search tool): HF modeling_deepseek.py
(DeepSeek-V2-Lite / V3 repos), DeepSeek-V3 inference/model.py, llama.cpp convert_hf_to_gguf.py DeepseekV2Model,
src/models/deepseek2.cpp, llama-graph.cpp build_moe_ffn, llama-context.cpp.
Never derived from dseek's C code.

Layer (pre-norm):  h = x + MLA(RMSNorm(x)),  out = h + FFN(RMSNorm(h))
    FFN = dense SwiGLU for layers < first_k_dense_replace, DeepSeekMoE after.

MLA per token (weights [out, in], HF names under model.layers.N.self_attn.):
    q     = q_proj xn                                    (q_lora_rank null / 0)
          = q_b_proj RMSNorm(q_a_proj xn; q_a_layernorm)  (otherwise)
    q     -> [H, qk_nope + qk_rope]: q_nope | q_pe
    ckv   = kv_a_proj_with_mqa xn -> [kv_lora | qk_rope]
    c_kv  = RMSNorm(ckv[:kv_lora]; kv_a_layernorm)    (cached)
    k_pe  = RoPE(ckv[kv_lora:])                          (cached, shared by all heads)
    kv_b_proj [H * (qk_nope + v_head), kv_lora] viewed [H, qk_nope + v_head, kv_lora]:
        W_UK[h] = rows :qk_nope, W_UV[h] = rows qk_nope:
    naive:    k_h = [W_UK[h] c_kv ; k_pe], v_h = W_UV[h] c_kv, softmax(q.k * scale) v
    absorbed: score = ((W_UK[h]^T q_nope) . c_kv + q_pe . k_pe) * scale,
              o_h = W_UV[h] (sum_t p(t) c_kv(t))            (identical result)
    out   = o_proj concat_h(o_h)
    scale = mscale^2 / sqrt(qk_nope + qk_rope), mscale = yarn_mscale(factor, mscale_all_dim)
            (HF DeepseekV2Attention: softmax_scale * mscale * mscale when
            rope_scaling.mscale_all_dim is set; llama.cpp deepseek2.cpp kq_scale =
            mscale^2 / sqrt(n_embd_head_k) with mscale = 1 + 0.1 * log_mul * ln(factor),
            log_mul = GGUF yarn_log_multiplier / 0.1 [TAG_DEEPSEEK2_YARN_LOG_MUL_FIX]).

RoPE: adjacent pairs (x[2i], x[2i+1]) rotate by pos * f'_i (DeepSeek-V3 model.py
view_as_complex on pairs; llama.cpp rope type NORM, weights not permuted by the
converter).  HF modeling_deepseek.py gets the same scores by first permuting q_pe
and k_pe with view(d/2, 2).transpose -> [x0 x2 x4 .. | x1 x3 x5 ..] and then
rotating halves (rotate_half) - rope_hf_deepseek below; both orders give the same
q_pe . k_pe (test).  cos and sin are multiplied by
yarn_mscale(factor, mscale) / yarn_mscale(factor, mscale_all_dim) (HF
DeepseekV2YarnRotaryEmbedding; 1 for every released config, and llama.cpp assumes 1
for deepseek2: it sets mscale = mscale_all_dim in llama-context.cpp).

YaRN (rope dim r = qk_rope; HF yarn_find_correction_range / yarn_linear_ramp_mask;
ggml_rope_yarn_corr_dims + rope_yarn_ramp):
    f_i = theta^(-2i/r); corr(n) = r ln(orig / (2 pi n)) / (2 ln theta)
    low = max(floor(corr(beta_fast)), 0), high = min(ceil(corr(beta_slow)), r - 1)
    ramp_i = clamp((i - low) / (high - low), 0, 1)   (high == low: high += 0.001)
    f'_i = f_i / factor * ramp_i + f_i * (1 - ramp_i)
Applied whenever rope_scaling is yarn (HF, llama.cpp); DeepSeek's own model.py
applies it only when max_seq_len > original_seq_len.

DeepSeekMoE routing, per token (HF MoEGate; DeepSeek-V3 model.py Gate; llama.cpp
build_moe_ffn):
    s   = softmax(W_gate xn)  (scoring_func softmax, V2)  or  sigmoid(...)  (V3)
    sel = s + e_score_correction_bias  (V3 noaux_tc; the bias only steers selection)
    n_group > 1: group score = max(sel in group)          (V2 group_limited_greedy)
                             = sum of the top-2 sel in group (V3 noaux_tc)
                 keep the topk_group best groups, sel = -inf elsewhere
    idx = top-k(sel); w = s[idx]
    norm_topk_prob (and k > 1): w = w / (sum w + 1e-20);  w = w * routed_scaling_factor
    y   = sum_k w_k Expert_idx[k](xn) + SharedExperts(xn)   (one MLP of width
          n_shared_experts * moe_intermediate_size)
Note: V3's MoEGate, DeepSeek-V3 model.py and llama.cpp normalise, then scale;
some V2-era ports scale only in the non-normalising branch.  Every released V2
config has norm_topk_prob false, so they agree on real models; we follow V3.
Note: llama.cpp always uses the top-2-sum group score (also for softmax without
bias), which differs from HF V2's max for the 236B V2 (n_group 8); V2-Lite has
n_group 1, so its routing is unaffected.
"""

import math

import torch

import int8_activations
import models

# === hyperparameters ============================================================


def hparams(config):
    """deepseek2 numbers from an HF config.json dict (deepseek_v2 / deepseek_v3), or
    from the dict convert.load_gguf builds out of GGUF metadata (same keys)."""
    scaling = config.get("rope_scaling") or {}
    q_lora = config.get("q_lora_rank") or 0
    bias_routing = config.get("topk_method") == "noaux_tc"
    hp = {
        "arch": "deepseek2",
        "n_layer": config["num_hidden_layers"],
        "n_head": config["num_attention_heads"],
        "eps": config["rms_norm_eps"],
        "theta": config.get("rope_theta", 10000.0),
        "rope_layout": config.get("rope_layout", "hf"),
        "mla_form": config.get("mla_form", "absorbed"),
        "q_lora_rank": q_lora,
        "kv_lora_rank": config["kv_lora_rank"],
        "qk_nope": config["qk_nope_head_dim"],
        "qk_rope": config["qk_rope_head_dim"],
        "v_head": config["v_head_dim"],
        "first_dense": config.get("first_k_dense_replace", 0),
        "moe_layer_freq": config.get("moe_layer_freq", 1),
        "n_routed": config.get("n_routed_experts") or 0,
        "n_used": config.get("num_experts_per_tok") or 0,
        "n_group": config.get("n_group") or 1,
        "topk_group": config.get("topk_group") or 1,
        "group_score": "top2sum" if bias_routing else "max",
        "scoring": config.get("scoring_func", "softmax"),
        "norm_topk_prob": bool(config.get("norm_topk_prob", False)),
        "routed_scale": float(config.get("routed_scaling_factor", 1.0)),
        "yarn": scaling if scaling.get("type", scaling.get("rope_type")) == "yarn" else None,
        "int8_activations": set(config.get("int8_activations", ())),
    }
    return hp


def yarn_mscale(factor, m):
    """0.1 m ln(factor) + 1 for factor > 1, else 1 (HF yarn_get_mscale, llama.cpp get_mscale)."""
    return 1.0 if factor <= 1 else 0.1 * m * math.log(factor) + 1.0


def yarn_ramp_bounds(rope_dim, theta, original, beta_fast, beta_slow):
    """(low, high) of the YaRN ramp, lib/models/README.md §1.5 (see module comment)."""
    def corr(n_rot):
        return rope_dim * math.log(original / (n_rot * 2 * math.pi)) / (2 * math.log(theta))
    low = max(math.floor(corr(beta_fast)), 0)
    high = min(math.ceil(corr(beta_slow)), rope_dim - 1)
    return low, high


def yarn_freqs(rope_dim, theta, factor, original, beta_fast=32, beta_slow=1):
    """f'_i = f_i / factor * ramp_i + f_i * (1 - ramp_i)   (float64)."""
    f = models.rope_base_freqs(rope_dim, theta)
    low, high = yarn_ramp_bounds(rope_dim, theta, original, beta_fast, beta_slow)
    if high == low:
        high += 0.001
    i = torch.arange(rope_dim // 2, dtype=torch.float64)
    ramp = ((i - low) / (high - low)).clamp(0, 1)
    return f / factor * ramp + f * (1 - ramp)


def rope_setup(hp):
    """(frequencies [r/2] float64, cos/sin multiplier, softmax scale)."""
    r = hp["qk_rope"]
    scale = 1.0 / math.sqrt(hp["qk_nope"] + hp["qk_rope"])
    y = hp["yarn"]
    if y is None:
        return models.rope_base_freqs(r, hp["theta"]), 1.0, scale
    factor = float(y["factor"])
    freqs = yarn_freqs(r, hp["theta"], factor, y["original_max_position_embeddings"],
                       y.get("beta_fast", 32), y.get("beta_slow", 1))
    m, m_all = y.get("mscale", 1.0), y.get("mscale_all_dim", 0.0)
    cos_mul = yarn_mscale(factor, m) / yarn_mscale(factor, m_all)
    if m_all:
        scale *= yarn_mscale(factor, m_all) ** 2
    return freqs, cos_mul, scale


# === rope in the two layouts ======================================================

def rope_pairs(x, cos, sin):
    """Adjacent-pair rotation (GGUF "normal", DeepSeek-V3 model.py)."""
    return models.rope_normal(x, cos, sin)


def rope_hf_deepseek(x, cos, sin):
    """HF modeling_deepseek.py apply_rotary_pos_emb: de-interleave
    (view(..., d/2, 2).transpose(-1, -2)) then rotate halves.  The output is in
    the de-interleaved order; dot products equal those of rope_pairs."""
    d = x.shape[-1]
    x = x.reshape(*x.shape[:-1], d // 2, 2).transpose(-1, -2).reshape(x.shape)
    return models.rope_neox(x, cos, sin)


# === latent cache ===================================================================

class LatentCache:
    """Per layer c_kv [n_past, kv_lora] and rotated k_pe [n_past, qk_rope]:
    kv_lora + qk_rope values per token and layer, whatever the head count."""

    def __init__(self):
        self.c_kv, self.k_pe = {}, {}
        self.n_past = 0

    def append(self, layer, c_kv, k_pe):
        if layer in self.c_kv:
            c_kv = torch.cat([self.c_kv[layer], c_kv])
            k_pe = torch.cat([self.k_pe[layer], k_pe])
        self.c_kv[layer], self.k_pe[layer] = c_kv, k_pe
        return c_kv, k_pe


# === MLA ==============================================================================

def causal_mask(scores, q_positions, k_positions):
    qp = torch.as_tensor(q_positions)[:, None]
    kp = torch.as_tensor(k_positions)[None, :]
    return scores.masked_fill(kp > qp, float("-inf"))


def mla_naive(q_nope, q_pe, c_kv, k_pe, w_uk, w_uv, scale, q_pos, k_pos):
    """q_nope [H,T,nope], q_pe [H,T,r], c_kv [S,C], k_pe [S,r], w_uk [H,nope,C],
    w_uv [H,v,C] -> [H,T,v]: per-head keys and values decompressed from the latent."""
    H, S = q_nope.shape[0], c_kv.shape[0]
    k_nope = torch.einsum("hdc,sc->hsd", w_uk, c_kv)
    v = torch.einsum("hdc,sc->hsd", w_uv, c_kv)
    k = torch.cat([k_nope, k_pe[None].expand(H, S, k_pe.shape[-1])], dim=-1)
    q = torch.cat([q_nope, q_pe], dim=-1)
    p = models.softmax(causal_mask(q @ k.transpose(-1, -2) * scale, q_pos, k_pos))
    return p @ v


def mla_absorbed(q_nope, q_pe, c_kv, k_pe, w_uk, w_uv, scale, q_pos, k_pos, int8_k=False, int8_v=False):
    """Same result with W_UK folded into the query and W_UV applied after the
    weighted sum of latents: attention runs over c_kv and k_pe only.
    int8_k / int8_v: a GGUF's split attn_k_b / attn_v_b of an int8-activation
    type (int8_activations.py) sees q_nope / o_latent rounded per 32 values."""
    if int8_k:
        q_nope = int8_activations.round_rows(q_nope)
    qa = torch.einsum("hdc,htd->htc", w_uk, q_nope)              # [H, T, C]
    scores = (qa @ c_kv.T + q_pe @ k_pe.T) * scale
    p = models.softmax(causal_mask(scores, q_pos, k_pos))
    o_latent = p @ c_kv                                          # [H, T, C]
    if int8_v:
        o_latent = int8_activations.round_rows(o_latent)
    return torch.einsum("hvc,htc->htv", w_uv, o_latent)


def mla(W, p, xn, hp, rope, positions, cache, layer):
    T, H = xn.shape[0], hp["n_head"]
    nope, r, C, dv = hp["qk_nope"], hp["qk_rope"], hp["kv_lora_rank"], hp["v_head"]
    rotate, cos, sin, scale = rope
    a = p + "self_attn."
    if hp["q_lora_rank"]:
        q = models.linear(models.rms_norm(models.linear(xn, W(a + "q_a_proj.weight")),
                                          W(a + "q_a_layernorm.weight"), hp["eps"]),
                          W(a + "q_b_proj.weight"))
    else:
        q = models.linear(xn, W(a + "q_proj.weight"))
    q = q.view(T, H, nope + r).transpose(0, 1)
    q_nope, q_pe = q[..., :nope], rotate(q[..., nope:], cos, sin)

    ckv = models.linear(xn, W(a + "kv_a_proj_with_mqa.weight"))
    c_kv = models.rms_norm(ckv[:, :C], W(a + "kv_a_layernorm.weight"), hp["eps"])
    k_pe = rotate(ckv[:, C:], cos, sin)

    k_pos = positions
    if cache is not None:
        c_kv, k_pe = cache.append(layer, c_kv, k_pe)
        k_pos = list(range(positions[-1] + 1 - c_kv.shape[0], positions[-1] + 1))
    kv_b = W(a + "kv_b_proj.weight").view(H, nope + dv, C)
    w_uk, w_uv = kv_b[:, :nope], kv_b[:, nope:]
    int8_k, int8_v = (a + "k_b" in hp["int8_activations"]), (a + "v_b" in hp["int8_activations"])
    if int8_k or int8_v:   # the rounded vectors are those of the absorbed form
        o = mla_absorbed(q_nope, q_pe, c_kv, k_pe, w_uk, w_uv, scale, positions, k_pos, int8_k, int8_v)
    else:
        form = mla_absorbed if hp["mla_form"] == "absorbed" else mla_naive
        o = form(q_nope, q_pe, c_kv, k_pe, w_uk, w_uv, scale, positions, k_pos)
    return models.linear(o.transpose(0, 1).reshape(T, H * dv), W(a + "o_proj.weight"))


# === MoE ==============================================================================

def route(logits, hp, bias=None):
    """Router for tokens [T, E] of logits -> (idx [T, k] in selection order,
    weights [T, k], margin [T], group_margin [T]).  margin = k-th minus (k+1)-th
    selection score among the experts still eligible (inf if none is left);
    group_margin likewise for the topk_group-th / next group score (inf without
    groups).  A C implementation may pick other experts where these are tiny."""
    T, E = logits.shape
    k, G, kg = hp["n_used"], hp["n_group"], hp["topk_group"]
    s = models.softmax(logits) if hp["scoring"] == "softmax" else torch.sigmoid(logits)
    sel = s if bias is None else s + bias
    inf = torch.full((T,), float("inf"), dtype=torch.float64)
    group_margin = inf.clone()
    if G > 1:
        grouped = sel.view(T, G, E // G)
        if hp["group_score"] == "top2sum":
            gscore = grouped.topk(2, dim=-1).values.sum(-1)
        else:
            gscore = grouped.max(dim=-1).values
        gsorted = gscore.sort(dim=-1, descending=True).values.double()
        if kg < G:
            group_margin = gsorted[:, kg - 1] - gsorted[:, kg]
        keep = torch.zeros(T, G, dtype=torch.bool)
        keep.scatter_(1, gscore.topk(kg, dim=-1).indices, True)
        sel = sel.masked_fill(~keep.repeat_interleave(E // G, dim=1), float("-inf"))
    ranked = sel.sort(dim=-1, descending=True)
    idx = ranked.indices[:, :k]
    margin = inf.clone()
    if k < E:
        nxt = ranked.values[:, k].double()
        margin = torch.where(torch.isfinite(nxt), ranked.values[:, k - 1].double() - nxt, inf)
    w = s.gather(1, idx)
    if hp["norm_topk_prob"] and k > 1:
        w = w / (w.sum(dim=-1, keepdim=True) + 1e-20)
    return idx, w * hp["routed_scale"], margin, group_margin


def is_moe_layer(hp, i):
    """HF DeepseekV2DecoderLayer: MoE when n_routed_experts, i >= first_k_dense_replace
    and i % moe_layer_freq == 0 (freq 1 in every released config)."""
    return hp["n_routed"] > 0 and i >= hp["first_dense"] and i % hp["moe_layer_freq"] == 0


def moe(W, p, hn, hp, trace=None):
    m = p + "mlp."
    bias_name = m + "gate.e_score_correction_bias"
    bias = W(bias_name, True)
    idx, w, margin, gmargin = route(models.linear(hn, W(m + "gate.weight")), hp, bias)
    if trace is not None:
        trace.append((idx, margin, gmargin))
    y = models.swiglu(hn, W(m + "shared_experts.gate_proj.weight"),
                      W(m + "shared_experts.up_proj.weight"),
                      W(m + "shared_experts.down_proj.weight"))
    rows = []
    for t in range(hn.shape[0]):
        acc = torch.zeros_like(hn[t])
        for j, e in enumerate(idx[t].tolist()):
            x = m + f"experts.{e}."
            acc = acc + w[t, j] * models.swiglu(hn[t:t + 1], W(x + "gate_proj.weight"),
                                                W(x + "up_proj.weight"),
                                                W(x + "down_proj.weight"))[0]
        rows.append(acc)
    return y + torch.stack(rows)


# === the model =========================================================================

def make_W(weights, dtype, config):
    def W(name, optional=False):
        if name not in weights:
            if optional:
                return None
            raise KeyError(f"missing tensor {name}")
        return models.mark_int8(torch.as_tensor(weights[name]).to(dtype), name, config)
    return W


def rope_for(hp, positions, dtype):
    freqs, cos_mul, scale = rope_setup(hp)
    cos, sin = models.rope_angles(positions, freqs, dtype)
    rotate = rope_hf_deepseek if hp["rope_layout"] == "hf" else rope_pairs
    return (rotate, cos * cos_mul, sin * cos_mul, scale)


def block(W, i, x, hp, rope, positions, cache, router_trace=None):
    """Decoder layer i (pre-norm residual, lib/models/README.md §1.2): x + MLA, then + FFN."""
    p = f"model.layers.{i}."
    xn = models.rms_norm(x, W(p + "input_layernorm.weight"), hp["eps"])
    h = x + mla(W, p, xn, hp, rope, positions, cache, i)
    hn = models.rms_norm(h, W(p + "post_attention_layernorm.weight"), hp["eps"])
    if is_moe_layer(hp, i):
        return h + moe(W, p, hn, hp, router_trace)
    return h + models.swiglu(hn, W(p + "mlp.gate_proj.weight"), W(p + "mlp.up_proj.weight"),
                             W(p + "mlp.down_proj.weight"))


def forward(weights, config, tokens, start_pos=0, cache=None, dtype=torch.float32,
            router_trace=None, return_hidden=False):
    """Logits [n, vocab]; like models.forward, with a LatentCache.  router_trace, a
    list, receives (idx, margin, group_margin) of every MoE layer in order.
    return_hidden: (logits, h) with h [n, d] the final hidden states after the
    final norm (model.norm), the vector the lm_head reads - what the MTP layer
    takes as h_t (see mtp_forward)."""
    hp = hparams(config)
    if cache is not None and start_pos != cache.n_past:
        raise ValueError(f"start_pos {start_pos} != cache length {cache.n_past}")
    W = make_W(weights, dtype, config)
    tokens = list(tokens)
    positions = list(range(start_pos, start_pos + len(tokens)))
    rope = rope_for(hp, positions, dtype)

    emb = W("model.embed_tokens.weight")
    x = emb[torch.tensor(tokens, dtype=torch.long)]
    for i in range(hp["n_layer"]):
        x = block(W, i, x, hp, rope, positions, cache, router_trace)
    if cache is not None:
        cache.n_past += len(tokens)
    x = models.rms_norm(x, W("model.norm.weight"), hp["eps"])
    head = W("lm_head.weight") if "lm_head.weight" in weights else emb
    logits = models.linear(x, head)
    return (logits, x) if return_hidden else logits


# === MTP (multi-token prediction, DeepSeek-V3 report section 2.2) ==================
#
# lib/models/README.md §1.7: the module after the n_layer main layers (HF index
# num_hidden_layers, GGUF blk.{n_layer}.nextn.*) predicts token t+2 from the main
# model's hidden state at t and the token t+1:
#     u  = W_eh concat(RMSNorm(Emb(t+1); enorm), RMSNorm(h_t; hnorm))      [emb, hidden]
#     u' = block(u)                       a full MLA + MoE layer, own latent cache,
#                                         RoPE at position t (the position of h_t)
#     p  = head(RMSNorm(u'; shared_head.norm))
# Verified with the search tool:
# - h_t is the main model's hidden state AFTER its final norm: SGLang's
#   LogitsProcessor captures for speculative decoding exactly the hidden_states
#   it multiplies by lm_head.weight without another norm
#   (python/sglang/srt/layers/logits_processor.py: hidden_states_to_store =
#   hidden_states / pruned_states; _get_logits: matmul(hidden_states,
#   lm_head.weight.T)), i.e. the output of DeepseekV2Model after self.norm; vLLM
#   likewise hands the target model's returned (normed) hidden states to
#   DeepSeekMTP (vllm/model_executor/models/deepseek_mtp.py forward(...,
#   previous_hidden_states)).
# - concat order [enorm(embedding), hnorm(hidden)] (both deepseek_mtp.py and
#   SGLang deepseek_nextn.py); MTP positions are the positions of h_t (vLLM
#   passes the target positions with the input ids shifted left by one).
# - head: shared_head.head (V3 ships a copy of lm_head there; SGLang uses the
#   target's lm_head, vLLM the layer's own) and embed_tokens of the layer (a copy
#   of the main embedding) - we use the layer's tensors when present, else the
#   main model's.
# - vLLM zeroes the embedding input at position 0 ("not needed by MTP"); SGLang
#   and the report do not; we do not (it only changes the MTP cache row of
#   position 0).

def mtp_forward(weights, config, hidden, next_tokens, start_pos=0, cache=None,
                dtype=torch.float32, layer=0):
    """MTP logits [n, vocab]: row i predicts the token at position start_pos + i + 2
    from hidden[i] (main model, after its final norm, position start_pos + i) and
    next_tokens[i] (the token at position start_pos + i + 1).  cache: the MTP's
    own LatentCache (start_pos == its n_past)."""
    hp = hparams(config)
    if cache is not None and start_pos != cache.n_past:
        raise ValueError(f"start_pos {start_pos} != MTP cache length {cache.n_past}")
    W = make_W(weights, dtype, config)
    L = hp["n_layer"] + layer
    p = f"model.layers.{L}."
    next_tokens = list(next_tokens)
    positions = list(range(start_pos, start_pos + len(next_tokens)))
    rope = rope_for(hp, positions, dtype)
    emb = W(p + "embed_tokens.weight", True)
    if emb is None:
        emb = W("model.embed_tokens.weight")
    e = models.rms_norm(emb[torch.tensor(next_tokens, dtype=torch.long)], W(p + "enorm.weight"), hp["eps"])
    h = models.rms_norm(torch.as_tensor(hidden).to(dtype), W(p + "hnorm.weight"), hp["eps"])
    u = models.linear(torch.cat([e, h], dim=-1), W(p + "eh_proj.weight"))
    u = block(W, L, u, hp, rope, positions, cache)
    if cache is not None:
        cache.n_past += len(next_tokens)
    x = models.rms_norm(u, W(p + "shared_head.norm.weight"), hp["eps"])
    head = W(p + "shared_head.head.weight", True)
    if head is None:
        head = W("lm_head.weight") if "lm_head.weight" in weights else W("model.embed_tokens.weight")
    return models.linear(x, head)
