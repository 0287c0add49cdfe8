"""Self-tests of the deepseek2 reference (MLA, YaRN, routing, GGUF/HF/FP8/Q4_K
writers).  Expected values are computed by hand or by an independent
formulation, never by the function under test."""

import json
import math
import os
import sys

import numpy as np
import pytest
import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import convert  # noqa: E402
import convert_deepseek2 as cds  # noqa: E402
import deepseek2  # noqa: E402
import gguf_read  # noqa: E402
import models  # noqa: E402
import quants  # noqa: E402
import quants_k  # noqa: E402
import safetensors_write as st  # noqa: E402
import tiny_deepseek2 as td  # noqa: E402

KINDS = ["v2lite", "v3"]
F64 = torch.float64


def tiny(kind, **overrides):
    cfg = td.tiny_config(kind)
    cfg.update(overrides)
    return td.random_weights(td.tiny_config(td.WEIGHTS_OF[kind]), 99), cfg


# === MLA ============================================================================

@pytest.mark.parametrize("kind", KINDS)
def test_naive_and_absorbed_attention_agree(kind):
    w, cfg = tiny(kind)
    toks = td.prompt_tokens(kind)
    naive = models.forward(w, dict(cfg, mla_form="naive"), toks, dtype=F64)
    absorbed = models.forward(w, dict(cfg, mla_form="absorbed"), toks, dtype=F64)
    assert torch.allclose(naive, absorbed, atol=1e-10)
    # and at the op level, with random tensors and a partial causal window
    g = torch.Generator().manual_seed(3)
    q_nope, q_pe = torch.randn(3, 4, 5, generator=g, dtype=F64), torch.randn(3, 4, 2, generator=g, dtype=F64)
    c_kv, k_pe = torch.randn(6, 7, generator=g, dtype=F64), torch.randn(6, 2, generator=g, dtype=F64)
    w_uk, w_uv = torch.randn(3, 5, 7, generator=g, dtype=F64), torch.randn(3, 4, 7, generator=g, dtype=F64)
    args = (q_nope, q_pe, c_kv, k_pe, w_uk, w_uv, 0.3, [2, 3, 4, 5], list(range(6)))
    assert torch.allclose(deepseek2.mla_naive(*args), deepseek2.mla_absorbed(*args), atol=1e-12)


def test_mla_naive_against_explicit_loops():
    g = torch.Generator().manual_seed(5)
    H, T, S, nope, r, C, v = 2, 2, 3, 3, 2, 4, 3
    q_nope, q_pe = torch.randn(H, T, nope, generator=g, dtype=F64), torch.randn(H, T, r, generator=g, dtype=F64)
    c_kv, k_pe = torch.randn(S, C, generator=g, dtype=F64), torch.randn(S, r, generator=g, dtype=F64)
    w_uk, w_uv = torch.randn(H, nope, C, generator=g, dtype=F64), torch.randn(H, v, C, generator=g, dtype=F64)
    qpos, kpos = [1, 2], [0, 1, 2]
    got = deepseek2.mla_naive(q_nope, q_pe, c_kv, k_pe, w_uk, w_uv, 0.5, qpos, kpos)
    for h in range(H):
        for t in range(T):
            sc = []
            for s in range(S):
                k = [sum(w_uk[h, j, c] * c_kv[s, c] for c in range(C)) for j in range(nope)]
                dot = sum(q_nope[h, t, j] * k[j] for j in range(nope))
                dot += sum(q_pe[h, t, j] * k_pe[s, j] for j in range(r))
                sc.append(float(dot) * 0.5 if kpos[s] <= qpos[t] else -math.inf)
            m = max(sc)
            p = [math.exp(x - m) for x in sc]
            p = [x / sum(p) for x in p]
            for j in range(v):
                vv = [sum(w_uv[h, j, c] * c_kv[s, c] for c in range(C)) for s in range(S)]
                assert abs(got[h, t, j] - sum(p[s] * vv[s] for s in range(S))) < 1e-12


@pytest.mark.parametrize("kind", KINDS)
def test_latent_cache_decode_matches_prefill(kind):
    w, cfg = tiny(kind)
    toks = td.prompt_tokens(kind) + [5, 77]
    full = models.forward(w, cfg, toks, dtype=F64)
    cache = models.new_cache(cfg)
    assert isinstance(cache, deepseek2.LatentCache)
    a = models.forward(w, cfg, toks[:7], 0, cache, F64)
    rows = [models.forward(w, cfg, [t], 7 + i, cache, F64)[0] for i, t in enumerate(toks[7:])]
    assert torch.allclose(torch.cat([a, torch.stack(rows)]), full, atol=1e-10)
    # the cache holds kv_lora + qk_rope values per token and layer, nothing per head
    assert cache.c_kv[0].shape == (len(toks), 32) and cache.k_pe[2].shape == (len(toks), 8)
    # greedy with the cache == greedy recomputing the whole sequence each step
    seq = list(toks[:6])
    for _ in range(3):
        seq.append(int(torch.argmax(models.forward(w, cfg, seq, dtype=F64)[-1])))
    assert models.greedy(w, cfg, toks[:6], 3, F64) == seq[6:]


# === RoPE ==========================================================================

def test_adjacent_pair_rope_is_a_complex_rotation():
    x = torch.randn(2, 5, 8, dtype=F64)
    freqs = deepseek2.yarn_freqs(8, 10000.0, 40.0, 4096)
    pos = [0, 1, 9, 100, 5000]
    cos, sin = models.rope_angles(pos, freqs, F64)
    got = deepseek2.rope_pairs(x, cos, sin)
    z = torch.complex(x[..., 0::2], x[..., 1::2])
    ang = torch.tensor(pos, dtype=F64)[:, None] * freqs[None, :]
    z = z * torch.polar(torch.ones_like(ang), ang)
    assert torch.allclose(got[..., 0::2], z.real) and torch.allclose(got[..., 1::2], z.imag)


def test_hf_permuted_rope_equals_adjacent_pairs():
    """HF modeling_deepseek.py: q.view(d/2, 2).transpose then rotate_half.  Its
    output is the adjacent-pair result in the order [even dims | odd dims], so every
    q_pe . k_pe is the same."""
    g = torch.Generator().manual_seed(7)
    q, k = torch.randn(3, 6, 8, generator=g, dtype=F64), torch.randn(6, 8, generator=g, dtype=F64)
    cos, sin = models.rope_angles(list(range(6)), models.rope_base_freqs(8, 10000.0), F64)
    hf_q, hf_k = deepseek2.rope_hf_deepseek(q, cos, sin), deepseek2.rope_hf_deepseek(k, cos, sin)
    pq, pk = deepseek2.rope_pairs(q, cos, sin), deepseek2.rope_pairs(k, cos, sin)
    perm = [0, 2, 4, 6, 1, 3, 5, 7]
    assert torch.allclose(hf_q, pq[..., perm]) and torch.allclose(hf_k, pk[..., perm])
    assert torch.allclose(hf_q @ hf_k.T, pq @ pk.T)
    # rotate-halves WITHOUT the permutation is a different (wrong) rotation
    assert not torch.allclose(models.rope_neox(q, cos, sin) @ models.rope_neox(k, cos, sin).T, pq @ pk.T)


@pytest.mark.parametrize("kind", KINDS)
def test_model_with_hf_rope_equals_gguf_rope(kind):
    w, cfg = tiny(kind)
    toks = td.prompt_tokens(kind)
    hf = models.forward(w, dict(cfg, rope_layout="hf"), toks, dtype=F64)
    gg = models.forward(w, dict(cfg, rope_layout="gguf"), toks, dtype=F64)
    assert torch.allclose(hf, gg, atol=1e-10)


# === YaRN ==========================================================================

def test_yarn_ramp_by_hand():
    # r 8, theta 1e4: corr(n) = 8 ln(orig / (2 pi n)) / (2 ln 1e4)
    # orig 4096: corr(32) = 1.309 -> low 1, corr(1) = 2.814 -> high 3
    assert deepseek2.yarn_ramp_bounds(8, 10000.0, 4096, 32, 1) == (1, 3)
    f = [10000.0 ** (-2 * i / 8) for i in range(4)]
    want = [f[0], f[1], f[2] * (0.5 / 40 + 0.5), f[3] / 40]
    assert torch.allclose(deepseek2.yarn_freqs(8, 10000.0, 40.0, 4096), torch.tensor(want, dtype=F64))
    # orig 8: corr(32) < 0 -> 0, corr(1) = 0.105 -> 1: every frequency but the first is slowed
    assert deepseek2.yarn_ramp_bounds(8, 10000.0, 8, 32, 1) == (0, 1)
    want = [f[0], f[1] / 4, f[2] / 4, f[3] / 4]
    assert torch.allclose(deepseek2.yarn_freqs(8, 10000.0, 4.0, 8), torch.tensor(want, dtype=F64))
    # orig 1: both bounds clamp to 0, high becomes 0.001
    assert deepseek2.yarn_ramp_bounds(8, 10000.0, 1, 32, 1) == (0, 0)
    want = [f[0], f[1] / 4, f[2] / 4, f[3] / 4]
    assert torch.allclose(deepseek2.yarn_freqs(8, 10000.0, 4.0, 1), torch.tensor(want, dtype=F64))
    # real V3 dims (r 64): wavelengths shorter than orig/beta_fast are kept, longer
    # than orig/beta_slow divided by the factor
    freqs = deepseek2.yarn_freqs(64, 10000.0, 40.0, 4096)
    base = models.rope_base_freqs(64, 10000.0)
    wl = 2 * math.pi / base
    assert torch.equal(freqs[wl < 4096 / 32 / 2], base[wl < 4096 / 32 / 2])
    assert torch.allclose(freqs[wl > 4096 * 2], base[wl > 4096 * 2] / 40)


def test_yarn_mscale_and_softmax_scale():
    # V2-Lite: mscale = mscale_all_dim = 0.707 -> 0.1 * 0.707 * ln 40 + 1 = 1.26080
    hp = deepseek2.hparams(dict(td.tiny_config("v2lite"), qk_nope_head_dim=128, qk_rope_head_dim=64))
    _, cos_mul, scale = deepseek2.rope_setup(hp)
    assert cos_mul == 1.0 and abs(scale - 1.26080 ** 2 / math.sqrt(192)) < 1e-5
    # V3: mscale 1 -> 1 + 0.1 ln 40 = 1.368888
    hp = deepseek2.hparams(dict(td.tiny_config("v3"), qk_nope_head_dim=128, qk_rope_head_dim=64))
    _, cos_mul, scale = deepseek2.rope_setup(hp)
    assert cos_mul == 1.0 and abs(scale - 1.368888 ** 2 / math.sqrt(192)) < 1e-5
    # mscale != mscale_all_dim scales cos/sin by their ratio (HF), no rope_scaling: plain
    rs = dict(td.tiny_config("v3")["rope_scaling"], mscale=0.5)
    _, cos_mul, _ = deepseek2.rope_setup(deepseek2.hparams(dict(td.tiny_config("v3"), rope_scaling=rs)))
    assert abs(cos_mul - (0.05 * math.log(40) + 1) / (0.1 * math.log(40) + 1)) < 1e-12
    hp = deepseek2.hparams(dict(td.tiny_config("v3"), rope_scaling=None))
    assert deepseek2.rope_setup(hp)[1:] == (1.0, 1 / math.sqrt(24))


# === routing =========================================================================

def route_hp(**kw):
    hp = {"n_used": 2, "n_group": 4, "topk_group": 2, "scoring": "sigmoid",
          "group_score": "top2sum", "norm_topk_prob": True, "routed_scale": 2.5}
    hp.update(kw)
    return hp


def test_v3_group_limited_routing_by_hand():
    s = torch.tensor([[0.9, 0.1, 0.6, 0.55, 0.8, 0.05, 0.3, 0.35]], dtype=F64)
    logits = torch.log(s / (1 - s))                    # sigmoid(logits) = s
    bias = torch.tensor([0, 0, 0, 0, 0, 0, 0.5, 0.5], dtype=F64)
    # sel = s + bias = [.9 .1 | .6 .55 | .8 .05 | .8 .85]; top-2 sums 1.0, 1.15, .85, 1.65
    # -> groups 3 and 1 -> experts 7 (.85), 6 (.8); weights from s: .35, .3
    idx, w, margin, gmargin = deepseek2.route(logits, route_hp(), bias)
    assert idx.tolist() == [[7, 6]]
    assert torch.allclose(w, torch.tensor([[0.35 / 0.65 * 2.5, 0.3 / 0.65 * 2.5]], dtype=F64))
    assert abs(margin.item() - (0.8 - 0.6)) < 1e-12 and abs(gmargin.item() - (1.15 - 1.0)) < 1e-12
    # without the bias: sums 1.0, 1.15, .85, .65 -> groups 1 and 0 -> experts 0, 2
    idx, w, _, _ = deepseek2.route(logits, route_hp())
    assert idx.tolist() == [[0, 2]]
    assert torch.allclose(w, torch.tensor([[0.9 / 1.5 * 2.5, 0.6 / 1.5 * 2.5]], dtype=F64))


def test_v2_group_limited_routing_by_hand():
    p = torch.tensor([[0.3, 0.02, 0.12, 0.11, 0.2, 0.01, 0.09, 0.15]], dtype=F64)
    hp = route_hp(scoring="softmax", group_score="max", norm_topk_prob=False, routed_scale=1.0)
    # group max .3, .12, .2, .15 -> groups 0, 2 -> experts 0 (.3), 4 (.2), weights unnormalised
    idx, w, margin, gmargin = deepseek2.route(torch.log(p), hp)
    assert idx.tolist() == [[0, 4]] and torch.allclose(w, torch.tensor([[0.3, 0.2]], dtype=F64))
    assert abs(margin.item() - (0.2 - 0.02)) < 1e-12 and abs(gmargin.item() - (0.2 - 0.15)) < 1e-12
    # the V3 rule on the same scores: sums .32, .23, .21, .24 -> groups 0, 3 -> 0, 7
    idx, _, _, _ = deepseek2.route(torch.log(p), dict(hp, group_score="top2sum"))
    assert idx.tolist() == [[0, 7]]
    # no groups, greedy: 0, 4 as well; k = E leaves no next expert -> margin inf
    idx, _, margin, gmargin = deepseek2.route(torch.log(p), dict(hp, n_group=1, topk_group=1))
    assert idx.tolist() == [[0, 4]] and gmargin.item() == math.inf
    assert deepseek2.route(torch.log(p), dict(hp, n_group=1, n_used=8))[2].item() == math.inf


@pytest.mark.parametrize("kind", ["v2grp", "v3"])
def test_group_rule_read_from_gguf_and_swapping_it_changes_the_model(kind, tmp_path):
    """A GGUF has no topk_method: reading one back gives V2's max rule to a
    softmax gate without bias and V3's top-2 sum to a sigmoid gate with bias
    (DeepSeek-V3 model.py Gate), whatever the file's group keys say; and the
    tiny grouped models are sensitive to the rule: the other one moves their
    logits far beyond the 1e-4 relative tolerance of the C tests."""
    cfg = td.tiny_config(kind)
    w = td.random_weights(cfg, td.SEED[kind])
    cds.write_gguf(tmp_path / "m.gguf", w, cfg, quants.GGML_TYPE_F32, split_kv=True)
    md = gguf_read.GGUFFile(tmp_path / "m.gguf").metadata
    assert md["deepseek2.expert_group_count"] == 4 and md["deepseek2.expert_group_used_count"] == 2
    read_cfg = convert.load_gguf(tmp_path / "m.gguf")[1]
    rule = deepseek2.hparams(read_cfg)["group_score"]
    assert rule == ("max" if kind == "v2grp" else "top2sum")
    assert deepseek2.hparams(cfg)["group_score"] == rule            # the HF config agrees
    toks = td.prompt_tokens(kind)
    right = models.forward(w, cfg, toks, dtype=F64)
    other = "group_limited_greedy" if rule == "top2sum" else "noaux_tc"
    wrong = models.forward(w, dict(cfg, topk_method=other), toks, dtype=F64)
    assert (right - wrong).abs().max() > 100 * 1e-4 * right.abs().max()

def test_moe_with_known_experts():
    """Router = 10 x identity on a 4-dim input, so the experts of each token are
    known: token 0 -> experts 0 and 1, token 1 -> experts 3 and 2."""
    g = torch.Generator().manual_seed(11)
    E, d, ff = 4, 4, 3
    w = {"m.mlp.gate.weight": 10 * torch.eye(E, dtype=F64)}
    for e in range(E):
        for n, shape in (("gate_proj", (ff, d)), ("up_proj", (ff, d)), ("down_proj", (d, ff))):
            w[f"m.mlp.experts.{e}.{n}.weight"] = torch.randn(*shape, generator=g, dtype=F64)
    for n, shape in (("gate_proj", (2 * ff, d)), ("up_proj", (2 * ff, d)), ("down_proj", (d, 2 * ff))):
        w[f"m.mlp.shared_experts.{n}.weight"] = torch.randn(*shape, generator=g, dtype=F64)
    hn = torch.tensor([[1.0, 0.8, 0.1, 0.0], [0.0, 0.2, 0.5, 0.9]], dtype=F64)
    hp = route_hp(n_used=2, n_group=1, topk_group=1, scoring="softmax", norm_topk_prob=False,
                  routed_scale=1.0)
    trace = []
    got = deepseek2.moe(lambda n, opt=False: w.get(n), "m.", hn, hp, trace)
    assert trace[0][0].tolist() == [[0, 1], [3, 2]]

    def mlp(prefix, x):
        return w[prefix + "down_proj.weight"] @ (
            torch.nn.functional.silu(w[prefix + "gate_proj.weight"] @ x) * (w[prefix + "up_proj.weight"] @ x))
    for t, experts in enumerate([[0, 1], [3, 2]]):
        z = [math.exp(10 * float(v)) for v in hn[t]]
        want = mlp("m.mlp.shared_experts.", hn[t])
        for e in experts:
            want = want + z[e] / sum(z) * mlp(f"m.mlp.experts.{e}.", hn[t])
        assert torch.allclose(got[t], want, atol=1e-12)


# === formats: FP8, Q4_K, Q5_0 ======================================================

def test_fp8_block_quantization_partial_edge_blocks(tmp_path):
    w = np.zeros((200, 136), np.float32)          # blocks: rows 0-127 | 128-199, cols 0-127 | 128-135
    w[0, 0], w[150, 10], w[5, 130], w[199, 135] = 896.0, 44.8, 0.448, -4.48
    w[190, 131] = 0.003                           # /0.01 = 0.3 -> e4m3 0.3125 -> 0.003125
    w[3, 4] = 1.0                                 # /2 = 0.5 exactly
    q, s = st.fp8_block_quantize(w)
    assert s.shape == (2, 2)
    assert np.allclose(s, [[2.0, 0.001], [0.1, 0.01]], rtol=1e-6)
    assert q[0, 0] == 448 and q[199, 135] == -448 and q[3, 4] == 0.5
    assert st.f32_to_e4m3(q[0, 0]) == 0x7E
    st.write_safetensors(tmp_path / "model.safetensors",
                         {"model.layers.0.mlp.down_proj.weight": q,
                          "model.layers.0.mlp.down_proj.weight_scale_inv": s},
                         {"model.layers.0.mlp.down_proj.weight": "F8_E4M3",
                          "model.layers.0.mlp.down_proj.weight_scale_inv": "F32"})
    (tmp_path / "config.json").write_text("{}")
    got = convert.load_hf(tmp_path)[0]
    assert list(got) == ["model.layers.0.mlp.down_proj.weight"]
    back = got["model.layers.0.mlp.down_proj.weight"]
    assert np.allclose(back[[0, 150, 5, 199, 3]], w[[0, 150, 5, 199, 3]], rtol=1e-6)
    assert abs(back[190, 131] - 0.003125) < 1e-9


# sub-block j: values a_j * l - b_j on levels l = (7 i + j) % 16, with a_j = sc_j / 64
# and b_j = m_j / 128 - exact in f32, so the fit is exact and d = 1/64, dmin = 1/128
Q4K_SC = [63, 1, 17, 32, 48, 5, 60, 33]
Q4K_M = [0, 63, 16, 15, 31, 47, 2, 62]
# scales[12] by hand from the layout in quants_k.py
Q4K_SCALE_BYTES = [255, 1, 209, 160, 64, 191, 16, 207, 240, 245, 44, 225]


def q4k_levels():
    return [[(7 * i + j) % 16 for i in range(32)] for j in range(8)]


def test_q4_k_block_by_hand():
    L = q4k_levels()
    x = np.array([[Q4K_SC[j] / 64 * L[j][i] - Q4K_M[j] / 128 for i in range(32)] for j in range(8)],
                 np.float32).reshape(-1)
    blk = np.frombuffer(quants_k.quantize_q4_k(x), np.uint8)
    assert blk.size == 144
    assert blk[0:2].view("<u2")[0] == 0x2400 and blk[2:4].view("<u2")[0] == 0x2000  # f16 1/64, 1/128
    assert blk[4:16].tolist() == Q4K_SCALE_BYTES
    for c in range(4):
        for i in range(32):
            assert blk[16 + 32 * c + i] == L[2 * c][i] | (L[2 * c + 1][i] << 4)
    assert np.array_equal(quants_k.dequantize_q4_k(blk.tobytes(), 256), x)
    assert quants.ggml_nbytes(quants.GGML_TYPE_Q4_K, 512) == 288


def test_q4_k_dequantize_hand_made_block():
    raw = np.zeros(144, np.uint8)
    raw[0:2] = np.array([0x3C00], "<u2").view(np.uint8)    # d = 1
    raw[2:4] = np.array([0x3800], "<u2").view(np.uint8)    # dmin = 0.5
    raw[4:16] = Q4K_SCALE_BYTES
    raw[16] = 0x3F         # chunk 0 byte 0: sub-block 0 level 15, sub-block 1 level 3
    raw[16 + 3 * 32 + 31] = 0xA2   # chunk 3 byte 31: sub-block 6 level 2, sub-block 7 level 10
    y = quants_k.dequantize_q4_k(raw.tobytes(), 256)
    assert y[0] == 63 * 15 - 0.5 * 0 and y[32] == 1 * 3 - 0.5 * 63
    assert y[6 * 32 + 31] == 60 * 2 - 0.5 * 2 and y[7 * 32 + 31] == 33 * 10 - 0.5 * 62
    assert y[1] == -0.0 and y[33] == -31.5             # level 0: just -dmin * m


def test_q4_k_random_rows_error_bound():
    x = np.random.default_rng(4).standard_normal((6, 512)).astype(np.float32)
    y = quants.roundtrip(x, quants.GGML_TYPE_Q4_K)
    # a 4-bit level step is (max - min) / 15 of a sub-block, ~0.35 here
    assert 0 < np.abs(y - x).max() < 0.3 and np.abs(y - x).mean() < 0.06
    with pytest.raises(ValueError):
        quants_k.quantize_q4_k(np.zeros(100, np.float32))


def test_q5_0_block_by_hand():
    x = np.zeros(32, np.float32)
    x[0], x[1], x[17], x[31] = -16.0, 8.0, 15.0, 0.5   # max = -16 -> d = 1
    blk = np.frombuffer(quants.quantize_q5_0(x), np.uint8)
    # q = (int8)(x / d + 16.5): 0, 24, 16 for the zeros, 31, and 0.5 -> (int)17.0 = 17
    assert blk[0:2].view("<u2")[0] == 0x3C00
    q = [16] * 32
    q[0], q[1], q[17], q[31] = 0, 24, 31, 17
    qh = sum(((v >> 4) & 1) << j for j, v in enumerate(q))
    assert blk[2:6].view("<u4")[0] == qh
    assert blk[6:].tolist() == [(q[j] & 15) | ((q[j + 16] & 15) << 4) for j in range(16)]
    assert np.array_equal(quants.dequantize_q5_0(blk.tobytes(), 32), np.array(q, np.float32) - 16)


# === GGUF round trip ================================================================

@pytest.mark.parametrize("kind,split", [("v2lite", False), ("v2lite", True), ("v3", True)])
def test_gguf_round_trip_equals_hf(tmp_path, kind, split):
    w, cfg = tiny(kind)
    path = tmp_path / "m.gguf"
    cds.write_gguf(path, w, cfg, quants.GGML_TYPE_F32, split_kv=split)
    rw, rcfg = convert.load_gguf(path)
    assert set(rw) == set(w)
    toks = td.prompt_tokens(kind)
    hf = models.forward(w, cfg, toks, dtype=F64)
    gg = models.forward(rw, rcfg, toks, dtype=F64)
    assert torch.allclose(hf, gg, atol=1e-5)


def test_gguf_layout_split_kv_and_stacked_experts(tmp_path):
    w, cfg = tiny("v3")
    cds.write_gguf(tmp_path / "m.gguf", w, cfg, quants.GGML_TYPE_F32, split_kv=True)
    f = gguf_read.GGUFFile(tmp_path / "m.gguf")
    t, md = f.tensors, f.metadata
    H, nope, v, C = 4, 16, 16, 32
    assert t["blk.1.attn_k_b.weight"]["ne"] == [nope, C, H]
    assert t["blk.1.attn_v_b.weight"]["ne"] == [C, v, H]
    assert "blk.1.attn_kv_b.weight" not in t
    kv_b = w["model.layers.1.self_attn.kv_b_proj.weight"]
    k_b, v_b = f.tensor("blk.1.attn_k_b.weight"), f.tensor("blk.1.attn_v_b.weight")
    for h, c, j in [(0, 0, 0), (1, 5, 3), (3, 31, 15)]:
        assert k_b[h, c, j] == kv_b[h * (nope + v) + j, c]
        assert v_b[h, j, c] == kv_b[h * (nope + v) + nope + j, c]
    assert t["blk.1.ffn_gate_exps.weight"]["ne"] == [256, 32, 16]
    assert t["blk.1.ffn_down_exps.weight"]["ne"] == [32, 256, 16]
    assert np.array_equal(f.tensor("blk.2.ffn_up_exps.weight")[5], w["model.layers.2.mlp.experts.5.up_proj.weight"])
    assert t["blk.1.exp_probs_b.bias"]["ne"] == [16] and t["blk.1.ffn_gate_inp.weight"]["ne"] == [256, 16]
    assert t["blk.0.ffn_gate.weight"]["ne"] == [256, 160] and "blk.0.ffn_gate_inp.weight" not in t
    assert t["blk.0.attn_q_a.weight"]["ne"] == [256, 48] and t["blk.0.attn_q_b.weight"]["ne"] == [48, 96]
    assert t["blk.0.attn_kv_a_mqa.weight"]["ne"] == [256, 40]
    a = "deepseek2."
    expect = {"attention.head_count_kv": 1, "attention.key_length": 40, "attention.value_length": 32,
              "attention.key_length_mla": 24, "attention.value_length_mla": 16,
              "attention.q_lora_rank": 48, "attention.kv_lora_rank": 32, "rope.dimension_count": 8,
              "leading_dense_block_count": 1, "expert_count": 16, "expert_used_count": 4,
              "expert_shared_count": 1, "expert_group_count": 4, "expert_group_used_count": 2,
              "expert_gating_func": 2, "expert_feed_forward_length": 32, "feed_forward_length": 160,
              "expert_weights_norm": True, "rope.scaling.type": "yarn",
              "rope.scaling.original_context_length": 4096}
    for k, val in expect.items():
        assert md[a + k] == val, k
    assert md[a + "expert_weights_scale"] == 2.5 and md[a + "rope.scaling.factor"] == 40.0
    assert abs(md[a + "rope.scaling.yarn_log_multiplier"] - 0.1) < 1e-7


def test_gguf_legacy_fused_kv_b_and_v2lite_keys(tmp_path):
    w, cfg = tiny("v2lite")
    cds.write_gguf(tmp_path / "m.gguf", w, cfg, quants.GGML_TYPE_F32, split_kv=False)
    f = gguf_read.GGUFFile(tmp_path / "m.gguf")
    md, a = f.metadata, "deepseek2."
    assert f.tensors["blk.0.attn_kv_b.weight"]["ne"] == [32, 4 * 32]
    assert f.tensors["blk.0.attn_q.weight"]["ne"] == [64, 4 * 24]
    assert "blk.0.attn_k_b.weight" not in f.tensors and "blk.0.exp_probs_b.bias" not in f.tensors
    assert md[a + "attention.key_length"] == 24 and md[a + "attention.value_length"] == 16
    assert a + "attention.key_length_mla" not in md and md[a + "attention.head_count_kv"] == 4
    assert a + "attention.q_lora_rank" not in md and a + "expert_weights_norm" not in md
    assert md[a + "expert_gating_func"] == 1 and md[a + "expert_group_count"] == 1
    assert abs(md[a + "rope.scaling.yarn_log_multiplier"] - 0.0707) < 1e-7
    assert abs(convert.load_gguf(tmp_path / "m.gguf")[1]["rope_scaling"]["mscale_all_dim"] - 0.707) < 1e-6


def test_tensor_type_fallbacks():
    Q4K, Q8, Q5, F16, F32 = (quants.GGML_TYPE_Q4_K, quants.GGML_TYPE_Q8_0, quants.GGML_TYPE_Q5_0,
                             quants.GGML_TYPE_F16, quants.GGML_TYPE_F32)
    tt = cds.tensor_type
    assert tt("blk.0.ffn_gate.weight", (160, 256), Q4K) == Q4K
    assert tt("blk.0.ffn_down.weight", (256, 160), Q4K) == Q5
    assert tt("blk.0.attn_q_b.weight", (96, 48), Q4K) == F16
    assert tt("blk.0.attn_q_b.weight", (96, 48), Q8) == F16
    assert tt("blk.0.attn_v_b.weight", (4, 16, 32), Q8) == Q8
    assert tt("blk.1.ffn_gate_inp.weight", (16, 256), Q4K) == F32
    assert tt("blk.1.exp_probs_b.bias", (16,), Q4K) == F32
    assert tt("blk.0.attn_kv_a_norm.weight", (32,), Q8) == F32


# === the generated variants ============================================================

@pytest.fixture(scope="module")
def generated(tmp_path_factory):
    out = tmp_path_factory.mktemp("tiny_ds2")
    manifest = td.generate(str(out))
    (out / "manifest.txt").write_text("\n".join(manifest) + "\n")
    return out


def expected(d):
    kv = dict(line.rstrip("\n").partition(" ")[::2] for line in open(d / "expected.txt"))
    return kv, np.load(d / "prefill_logits.npy"), np.load(d / "decode_logits.npy")


def test_generated_variants_are_consistent(generated):
    lines = [line.split() for line in open(generated / "manifest.txt")]
    names = [fields[0] for fields in lines]
    assert len(names) == 20 and all(fields[1] == "deepseek2" for fields in lines)
    for name in names:
        d = generated / name
        kv, pre, dec = expected(d)
        greedy = [int(t) for t in kv["greedy"].split()]
        assert kv["arch"] == "deepseek2" and pre.shape == (12, 300) and dec.shape == (8, 300)
        assert greedy[0] == int(np.argmax(pre[-1])) and greedy[1:] == np.argmax(dec[:-1], 1).tolist()
        assert 0.3 < pre.std() < 5 and len(set(np.argmax(pre, axis=1).tolist())) > 3
        v3 = "-v3-" in name or "mtp" in name   # the mtp models have the v3 shapes
        grouped = v3 or "-v2grp-" in name      # 16 experts in 4 groups keep 2, top 4
        k = 4 if grouped else 2
        experts = np.fromfile(d / "router_experts.i32", "<i4").reshape(12, k)
        assert kv["router_experts"] == f"router_experts.i32 12 {k}" and kv["moe_layer"] == "1"
        assert np.array_equal(experts, np.load(d / "router_experts.npy"))
        assert all(len(set(row)) == k for row in experts.tolist())
        margins = [float(m) for m in kv["router_margin"].split()]
        assert len(margins) == 12 and all(m > 0 for m in margins)
        if grouped:   # the chosen experts lie in topk_group = 2 of the 4 groups
            assert all(len({e // 4 for e in row}) <= 2 for row in experts.tolist())


def test_ud_mix_types(generated):
    """The UD-style variant really mixes types tensor by tensor and layer by layer."""
    t = {n: quants.GGML_TYPE_NAMES[v["type"]]
         for n, v in gguf_read.GGUFFile(str(generated / "ds2-v3-gguf-ud_mix" / "model.gguf")).tensors.items()}
    assert (t["blk.1.ffn_gate_exps.weight"], t["blk.1.ffn_up_exps.weight"]) == ("iq1_s", "iq2_xxs")
    assert (t["blk.2.ffn_gate_exps.weight"], t["blk.2.ffn_up_exps.weight"]) == ("iq2_xxs", "iq2_xxs")
    assert (t["blk.1.ffn_down_exps.weight"], t["blk.2.ffn_down_exps.weight"]) == ("q8_0", "bf16")
    assert t["blk.0.attn_q_a.weight"] == "q4_k" and t["blk.0.attn_q_b.weight"] == "f16"
    assert t["blk.0.ffn_gate.weight"] == "iq2_xxs" and t["output.weight"] == "q8_0"


def test_iq_decoders_on_hand_made_blocks():
    """One block of each IQ type built by hand from the format: the decoders
    give the values the layout says (ggml-common.h block_iq2_xxs, block_iq1_s)."""
    import quants_iq
    d16 = int(quants.f32_to_f16_bits(np.float32(0.5))).to_bytes(2, "little")
    # IQ2_XXS: sub-block 0 uses grid entries 0..3, scale s = 3, group 1 signs 0b0000001
    # (one minus: the parity bit makes the eighth value negative too)
    w = 3 << 28 | 1 << 7
    blk = d16 + bytes([0, 1, 2, 3]) + w.to_bytes(4, "little") + bytes(8 * 7)
    y = quants_iq.dequantize_iq2_xxs(blk, 256)
    db = 0.5 * (0.5 + 3) * 0.25
    assert np.allclose(y[0:8], db * quants_iq.IQ2XXS_GRID[0])
    sgn = np.ones(8); sgn[0] = sgn[7] = -1
    assert np.allclose(y[8:16], db * quants_iq.IQ2XXS_GRID[1] * sgn)
    assert np.allclose(y[32:], np.tile(0.5 * 0.5 * 0.25 * quants_iq.IQ2XXS_GRID[0], 28))
    # IQ1_S: sub-block 0 scale s = 2, negative delta, group 2 index 0x5 | 3 << 8
    qh0 = 2 << 12 | 1 << 15 | 3 << 6
    blk = d16 + bytes([0, 0, 5, 0] + [0] * 28) + qh0.to_bytes(2, "little") + bytes(14)
    y = quants_iq.dequantize_iq1_s(blk, 256)
    assert np.allclose(y[16:24], 0.5 * 5 * (quants_iq.IQ1S_GRID[5 | 3 << 8] - 0.125))
    assert np.allclose(y[32:40], 0.5 * 1 * (quants_iq.IQ1S_GRID[0] + 0.125))


def test_iq_encoders_round_trip():
    import quants_iq
    x = np.random.default_rng(7).standard_normal(1024).astype(np.float32)
    for enc, dec, size in ((quants_iq.quantize_iq2_xxs, quants_iq.dequantize_iq2_xxs, 66),
                           (quants_iq.quantize_iq1_s, quants_iq.dequantize_iq1_s, 50)):
        b = enc(x)
        assert len(b) == 4 * size
        assert np.corrcoef(x, dec(b, 1024))[0, 1] > 0.6


def test_generated_variants_agree(generated):
    def pre(n):
        return expected(generated / n)[1]
    for a, b in [("ds2-v2lite-gguf-f32", "ds2-v2lite-hf-f32"), ("ds2-v2lite-gguf-f32-split", "ds2-v2lite-hf-f32"),
                 ("ds2-v3-gguf-f32", "ds2-v3-hf-f32-notok"), ("ds2-yarn-gguf-f32", "ds2-yarn-hf-f32"),
                 ("ds2-v2grp-gguf-f32", "ds2-v2grp-hf-f32")]:
        assert np.abs(pre(a) - pre(b)).max() < 1e-5, (a, b)
    # rounding shows but stays bounded (routing flips make MoE errors O(1))
    for n, tol in (("ds2-v3-hf-bf16-sharded", 1.0), ("ds2-v3-gguf-q8_0", 4.0), ("ds2-v3-hf-fp8", 4.0),
                   ("ds2-v3-gguf-q4_k", 8.0)):
        assert 0 < np.abs(pre(n) - pre("ds2-v3-gguf-f32")).max() < tol, n
    # the YaRN variant (original context 8) changes the logits of the same weights
    assert np.abs(pre("ds2-yarn-hf-f32") - pre("ds2-v2lite-hf-f32")).max() > 0.1
    # MTP rows: GGUF == HF; without its own embedding/head the MTP layer reads the
    # main ones and predicts something else
    def mtp(n):
        kv = expected(generated / n)[0]
        assert kv["mtp_logits"] == "mtp_logits.f32 19 300"
        return np.fromfile(generated / n / "mtp_logits.f32", "<f4").reshape(19, 300)
    assert np.abs(mtp("ds2-mtp-gguf-f32") - mtp("ds2-mtp-hf-f32")).max() < 1e-5
    assert np.abs(pre("ds2-mtp-gguf-f32") - pre("ds2-mtp-gguf-f32-shared")).max() < 1e-6
    assert np.abs(mtp("ds2-mtp-gguf-f32") - mtp("ds2-mtp-gguf-f32-shared")).max() > 0.1
    # (rows over the prompt only: the greedy continuations may differ)
    assert 0 < np.abs(mtp("ds2-mtp-gguf-q8_0")[:11] - mtp("ds2-mtp-gguf-f32")[:11]).max() < 4.0


def test_generated_files(generated):
    f = gguf_read.GGUFFile(generated / "ds2-v3-gguf-q4_k" / "model.gguf")
    types = {n: quants.GGML_TYPE_NAMES[t["type"]] for n, t in f.tensors.items()}
    assert types["token_embd.weight"] == "q4_k" and types["blk.1.ffn_gate_exps.weight"] == "q4_k"
    assert types["blk.1.ffn_down_exps.weight"] == "q5_0" and types["blk.0.attn_q_b.weight"] == "f16"
    assert types["blk.0.attn_k_b.weight"] == "f16" and types["blk.1.ffn_gate_inp.weight"] == "f32"
    assert f.metadata["tokenizer.ggml.pre"] == "deepseek-v3"
    cfg = json.load(open(generated / "ds2-v3-hf-fp8" / "config.json"))
    assert cfg["quantization_config"] == {"activation_scheme": "dynamic", "fmt": "e4m3",
                                          "quant_method": "fp8", "weight_block_size": [128, 128]}
    index = json.load(open(generated / "ds2-v3-hf-fp8" / "model.safetensors.index.json"))["weight_map"]
    tensors, dtypes = {}, {}
    for shard in set(index.values()):
        t, dt, _ = st.read_safetensors(generated / "ds2-v3-hf-fp8" / shard)
        tensors.update(t)
        dtypes.update(dt)
    assert dtypes["model.layers.0.mlp.gate_proj.weight"] == "F8_E4M3"
    assert tensors["model.layers.0.mlp.gate_proj.weight_scale_inv"].shape == (2, 2)   # 160 x 256
    assert tensors["model.layers.0.mlp.down_proj.weight_scale_inv"].shape == (2, 2)   # 256 x 160
    assert dtypes["model.layers.1.mlp.gate.weight"] == "BF16"
    assert dtypes["model.layers.1.mlp.gate.e_score_correction_bias"] == "F32"
    assert dtypes["model.embed_tokens.weight"] == "BF16"
    v2 = json.load(open(generated / "ds2-v2lite-hf-f32" / "config.json"))
    assert v2["model_type"] == "deepseek_v2" and v2["q_lora_rank"] is None
    assert v2["topk_method"] == "greedy" and v2["rope_scaling"]["mscale_all_dim"] == 0.707
    assert not os.path.exists(generated / "ds2-v3-hf-f32-notok" / "tokenizer.json")
    tok = json.load(open(generated / "ds2-v2lite-hf-f32" / "tokenizer.json", encoding="utf-8"))
    assert len(tok["pre_tokenizer"]["pretokenizers"]) == 4


# === MTP ==============================================================================

def test_mtp_by_hand_cache_and_gguf_round_trip(tmp_path):
    """MTP row i from h_i (after the final norm) and token i+1, written out step
    by step here (lib/models/README.md §1.7: u = W_eh [enorm(Emb t+1) ; hnorm(h_t)], a full
    layer at index n_layer, shared_head.norm, shared_head.head); the cached
    token-by-token run and the GGUF round trip give the same rows."""
    cfg = td.tiny_config("mtp")
    w = td.random_weights(cfg, 99)
    L, eps = cfg["num_hidden_layers"], cfg["rms_norm_eps"]
    toks = td.prompt_tokens("mtp") + [5, 77, 123]
    n = len(toks)
    logits, hid = deepseek2.forward(w, cfg, toks, dtype=F64, return_hidden=True)
    # h is what the lm_head reads: lm_head(h) == logits, no further norm
    assert torch.allclose(hid @ torch.as_tensor(w["lm_head.weight"]).double().T, logits, atol=1e-10)
    got = deepseek2.mtp_forward(w, cfg, hid[:-1], toks[1:], dtype=F64)
    assert got.shape == (n - 1, cfg["vocab_size"])

    def t(name):
        return torch.as_tensor(w[f"model.layers.{L}." + name]).double()

    def rms(x, g):
        return x / torch.sqrt((x * x).mean(-1, keepdim=True) + eps) * g

    e = rms(t("embed_tokens.weight")[torch.tensor(toks[1:])], t("enorm.weight"))
    u = torch.cat([e, rms(hid[:-1], t("hnorm.weight"))], dim=-1) @ t("eh_proj.weight").T
    hp = deepseek2.hparams(cfg)
    rope = deepseek2.rope_for(hp, list(range(n - 1)), F64)
    W = deepseek2.make_W(w, F64)
    u = deepseek2.block(W, L, u, hp, rope, list(range(n - 1)), None)
    want = rms(u, t("shared_head.norm.weight")) @ t("shared_head.head.weight").T
    assert torch.allclose(got, want, atol=1e-10)
    # the layer's own head and embedding matter (they differ from the main ones)
    assert not np.allclose(w[f"model.layers.{L}.shared_head.head.weight"], w["lm_head.weight"])

    cache = deepseek2.LatentCache()
    a = deepseek2.mtp_forward(w, cfg, hid[:5], toks[1:6], 0, cache, F64)
    rows = [deepseek2.mtp_forward(w, cfg, hid[i:i + 1], toks[i + 1:i + 2], i, cache, F64)[0]
            for i in range(5, n - 1)]
    assert torch.allclose(torch.cat([a, torch.stack(rows)]), got, atol=1e-10)

    path = tmp_path / "m.gguf"
    cds.write_gguf(path, w, cfg, quants.GGML_TYPE_F32, split_kv=True)
    f = gguf_read.GGUFFile(path)
    assert f.metadata["deepseek2.block_count"] == L + 1
    assert f.metadata["deepseek2.nextn_predict_layers"] == 1
    assert f.tensors[f"blk.{L}.nextn.eh_proj.weight"]["ne"] == [2 * cfg["hidden_size"], cfg["hidden_size"]]
    assert f"blk.{L}.attn_k_b.weight" in f.tensors and f"blk.{L}.ffn_gate_exps.weight" in f.tensors
    rw, rcfg = convert.load_gguf(path)
    assert set(rw) == set(w) and rcfg["num_hidden_layers"] == L
    _, rhid = deepseek2.forward(rw, rcfg, toks, dtype=F64, return_hidden=True)
    assert torch.allclose(deepseek2.mtp_forward(rw, rcfg, rhid[:-1], toks[1:], dtype=F64), got, atol=1e-5)
