"""tiny-r1 model: a trainable DeepSeek-V3-style decoder (GGUF arch deepseek2).

Module and parameter names follow the Hugging Face DeepSeek-V3 checkpoint
(model.layers.N.self_attn.q_a_proj.weight, ...), so the state dict is the HF
weight dict the reference (tests/reference/deepseek2.py) and the GGUF
converter (tests/reference/convert_deepseek2.py) take. The math is
lib/models/README.md §1 (the module comment of deepseek2.py):

  MLA with q LoRA: q = W_qb RMSNorm(W_qa x); [c_kv ; k_pe] = W_kva x,
      c_kv = RMSNorm(c_kv); per head k = [W_UK c_kv ; RoPE(k_pe)], v = W_UV c_kv
      (written here in the naive, decompressed form; dseek runs the absorbed
      form, which gives the same scores).
  RoPE on adjacent pairs (GGUF / DeepSeek-V3 model.py layout) with YaRN
      frequencies and softmax scale mscale^2 / sqrt(qk_nope + qk_rope).
  DeepSeekMoE after first_k_dense_replace dense layers: sigmoid scores s,
      selection s + e_score_correction_bias, groups ranked by the sum of their
      top-2 selection scores (topk_group of n_group kept), top-k experts,
      weights s normalised over the k and times routed_scaling_factor, plus
      one shared expert. The bias is not trained by gradient: after each step
      it moves by gamma * sign(mean load - load) (DeepSeek-V3 paper 2.1.2,
      auxiliary-loss-free load balancing).
  MTP (DeepSeek-V3 paper 2.2), one module at model.layers.{n_layer}: for
      position t, u = W_eh [RMSNorm(Emb(x_{t+1}); enorm) ; RMSNorm(h_t; hnorm)],
      a full MLA + MoE block on u, then lm_head(RMSNorm(.; shared_head.norm))
      predicts x_{t+2}. Embedding and output head are shared with the main
      model. h_t is the main model's final hidden state AFTER its final norm
      (the input of lm_head), as vLLM's and SGLang's DeepSeek MTP take it.
      Loss = CE(main, x_{t+1}) + lambda * CE(MTP, x_{t+2}).
"""

import math
import sys
from pathlib import Path

import torch
import torch.nn as nn
import torch.nn.functional as F

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "tests" / "reference"))
import deepseek2  # noqa: E402  (YaRN frequencies and softmax scale)

CONFIG = {
    "model_type": "deepseek_v3",
    "vocab_size": None,                  # set from the tokenizer
    "hidden_size": 192,
    "intermediate_size": 384,            # dense FFN (layer 0)
    "moe_intermediate_size": 96,
    "num_hidden_layers": 4,
    "num_nextn_predict_layers": 1,
    "num_attention_heads": 4,
    "q_lora_rank": 64,
    "kv_lora_rank": 48,
    "qk_nope_head_dim": 32,
    "qk_rope_head_dim": 16,
    "v_head_dim": 32,
    "first_k_dense_replace": 1,
    "n_routed_experts": 8,
    "num_experts_per_tok": 2,
    "n_shared_experts": 1,
    "n_group": 4,
    "topk_group": 2,
    "topk_method": "noaux_tc",
    "scoring_func": "sigmoid",
    "norm_topk_prob": True,
    "routed_scaling_factor": 1.5,
    "rms_norm_eps": 1e-6,
    "rope_theta": 10000.0,
    "max_position_embeddings": 1024,
    "rope_scaling": {"type": "yarn", "factor": 4.0, "original_max_position_embeddings": 256,
                     "beta_fast": 32, "beta_slow": 1, "mscale": 1.0, "mscale_all_dim": 1.0},
    "rope_layout": "gguf",               # adjacent pairs, as stored in GGUF
    "tie_word_embeddings": False,
}


class RMSNorm(nn.Module):
    def __init__(self, d, eps):
        super().__init__()
        self.weight = nn.Parameter(torch.ones(d))
        self.eps = eps

    def forward(self, x):
        return x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + self.eps) * self.weight


def lin(i, o):
    return nn.Linear(i, o, bias=False)


class MLP(nn.Module):
    """SwiGLU: down(silu(gate x) * up x)."""

    def __init__(self, d, ff):
        super().__init__()
        self.gate_proj, self.up_proj, self.down_proj = lin(d, ff), lin(d, ff), lin(ff, d)

    def forward(self, x):
        return self.down_proj(F.silu(self.gate_proj(x)) * self.up_proj(x))


def rope_pairs(x, cos, sin):
    """Rotate adjacent pairs (x[2i], x[2i+1]) by angle pos * f_i; x [..., T, r]."""
    x0, x1 = x[..., 0::2], x[..., 1::2]
    return torch.stack([x0 * cos - x1 * sin, x0 * sin + x1 * cos], dim=-1).flatten(-2)


class MLA(nn.Module):
    def __init__(self, c):
        super().__init__()
        d, H = c["hidden_size"], c["num_attention_heads"]
        self.H, self.nope, self.r = H, c["qk_nope_head_dim"], c["qk_rope_head_dim"]
        self.C, self.dv = c["kv_lora_rank"], c["v_head_dim"]
        self.q_a_proj = lin(d, c["q_lora_rank"])
        self.q_a_layernorm = RMSNorm(c["q_lora_rank"], c["rms_norm_eps"])
        self.q_b_proj = lin(c["q_lora_rank"], H * (self.nope + self.r))
        self.kv_a_proj_with_mqa = lin(d, self.C + self.r)
        self.kv_a_layernorm = RMSNorm(self.C, c["rms_norm_eps"])
        self.kv_b_proj = lin(self.C, H * (self.nope + self.dv))
        self.o_proj = lin(H * self.dv, d)

    def forward(self, x, rope, mask):
        B, T, _ = x.shape
        cos, sin, scale = rope
        q = self.q_b_proj(self.q_a_layernorm(self.q_a_proj(x))).view(B, T, self.H, self.nope + self.r)
        q = q.transpose(1, 2)                                       # [B, H, T, nope + r]
        q_nope, q_pe = q[..., :self.nope], rope_pairs(q[..., self.nope:], cos, sin)
        ckv = self.kv_a_proj_with_mqa(x)
        c_kv = self.kv_a_layernorm(ckv[..., :self.C])
        k_pe = rope_pairs(ckv[..., self.C:], cos, sin)[:, None]     # [B, 1, T, r] shared by heads
        kv = self.kv_b_proj(c_kv).view(B, T, self.H, self.nope + self.dv).transpose(1, 2)
        k_nope, v = kv[..., :self.nope], kv[..., self.nope:]
        scores = (q_nope @ k_nope.transpose(-1, -2) + q_pe @ k_pe.transpose(-1, -2)) * scale
        p = torch.softmax(scores.masked_fill(mask, float("-inf")), dim=-1)
        o = (p @ v).transpose(1, 2).reshape(B, T, self.H * self.dv)
        return self.o_proj(o)


class Gate(nn.Module):
    def __init__(self, c):
        super().__init__()
        E = c["n_routed_experts"]
        self.weight = nn.Parameter(torch.empty(E, c["hidden_size"]))
        self.register_buffer("e_score_correction_bias", torch.zeros(E))
        self.k, self.G, self.kg = c["num_experts_per_tok"], c["n_group"], c["topk_group"]
        self.scale = c["routed_scaling_factor"]

    def forward(self, x):
        """x [N, d] -> (expert ids [N, k], weights [N, k])."""
        s = torch.sigmoid(x @ self.weight.T)
        sel = (s + self.e_score_correction_bias).detach()
        N, E = sel.shape
        g = sel.view(N, self.G, E // self.G).topk(2, dim=-1).values.sum(-1)   # group score: top-2 sum
        keep = torch.zeros_like(g, dtype=torch.bool).scatter_(1, g.topk(self.kg, dim=-1).indices, True)
        sel = sel.masked_fill(~keep.repeat_interleave(E // self.G, dim=1), float("-inf"))
        idx = sel.topk(self.k, dim=-1).indices
        w = s.gather(1, idx)
        w = w / (w.sum(-1, keepdim=True) + 1e-20) * self.scale
        return idx, w


class MoE(nn.Module):
    def __init__(self, c):
        super().__init__()
        d, ff = c["hidden_size"], c["moe_intermediate_size"]
        self.gate = Gate(c)
        self.experts = nn.ModuleList(MLP(d, ff) for _ in range(c["n_routed_experts"]))
        self.shared_experts = MLP(d, ff * c["n_shared_experts"])
        self.load = None

    def forward(self, x):
        shape = x.shape
        x = x.reshape(-1, shape[-1])
        idx, w = self.gate(x)
        y = self.shared_experts(x)
        for e, expert in enumerate(self.experts):
            tok, slot = (idx == e).nonzero(as_tuple=True)
            if tok.numel():
                y = y.index_add(0, tok, expert(x[tok]) * w[tok, slot, None])
        self.last_idx = idx.detach()
        return y.view(shape)


class Block(nn.Module):
    def __init__(self, c, moe):
        super().__init__()
        d = c["hidden_size"]
        self.input_layernorm = RMSNorm(d, c["rms_norm_eps"])
        self.self_attn = MLA(c)
        self.post_attention_layernorm = RMSNorm(d, c["rms_norm_eps"])
        self.mlp = MoE(c) if moe else MLP(d, c["intermediate_size"])

    def forward(self, x, rope, mask):
        h = x + self.self_attn(self.input_layernorm(x), rope, mask)
        return h + self.mlp(self.post_attention_layernorm(h))


class SharedHead(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.norm = RMSNorm(c["hidden_size"], c["rms_norm_eps"])


class MTPBlock(Block):
    """The MTP module: enorm, hnorm, eh_proj, a full block, shared_head.norm
    (its head is the main lm_head, not stored twice)."""

    def __init__(self, c):
        super().__init__(c, moe=True)
        d = c["hidden_size"]
        self.enorm = RMSNorm(d, c["rms_norm_eps"])
        self.hnorm = RMSNorm(d, c["rms_norm_eps"])
        self.eh_proj = lin(2 * d, d)
        self.shared_head = SharedHead(c)


class Inner(nn.Module):
    def __init__(self, c):
        super().__init__()
        n = c["num_hidden_layers"]
        self.embed_tokens = nn.Embedding(c["vocab_size"], c["hidden_size"])
        self.layers = nn.ModuleList([Block(c, i >= c["first_k_dense_replace"]) for i in range(n)]
                                    + [MTPBlock(c)])
        self.norm = RMSNorm(c["hidden_size"], c["rms_norm_eps"])


class TinyR1(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.c = c
        self.model = Inner(c)
        self.lm_head = lin(c["hidden_size"], c["vocab_size"])
        hp = deepseek2.hparams(c)
        freqs, cos_mul, self.softmax_scale = deepseek2.rope_setup(hp)
        assert cos_mul == 1.0
        self.register_buffer("freqs", freqs.float(), persistent=False)
        self.reset_parameters()

    def reset_parameters(self):
        g = torch.Generator().manual_seed(1234)
        n_res = 2 * (self.c["num_hidden_layers"] + 1)
        for name, p in self.named_parameters():
            if name.endswith("layernorm.weight") or name.endswith("norm.weight"):
                continue
            std = 0.02
            if name.endswith("o_proj.weight") or name.endswith("down_proj.weight"):
                std = 0.02 / math.sqrt(n_res)
            with torch.no_grad():
                p.copy_(torch.randn(p.shape, generator=g) * std)

    def moe_layers(self):
        return [l.mlp for l in self.model.layers if isinstance(l.mlp, MoE)]

    def rope(self, T, device=None):
        pos = torch.arange(T, dtype=torch.float32)
        ang = pos[:, None] * self.freqs[None, :]
        return torch.cos(ang), torch.sin(ang), self.softmax_scale

    def forward(self, tokens, mtp=True):
        """tokens [B, T] -> (main logits [B, T, V], MTP logits [B, T-1, V] for
        positions 0..T-2 predicting tokens 2..T, or None)."""
        B, T = tokens.shape
        rope = self.rope(T)
        mask = torch.ones(T, T, dtype=torch.bool).triu(1)
        L = self.model.layers
        x = self.model.embed_tokens(tokens)
        for blk in L[:-1]:
            x = blk(x, rope, mask)
        h = self.model.norm(x)
        logits = self.lm_head(h)
        if not mtp:
            return logits, None
        m = L[-1]
        e = self.model.embed_tokens(tokens[:, 1:])
        u = m.eh_proj(torch.cat([m.enorm(e), m.hnorm(h[:, :-1])], dim=-1))
        rope1 = self.rope(T - 1)
        u = m(u, rope1, mask[:T - 1, :T - 1])
        return logits, self.lm_head(m.shared_head.norm(u))

    def hf_weights(self):
        """HF-named float32 tensors (the correction biases included)."""
        return {k: v.detach().float().clone() for k, v in self.state_dict().items()}
