"""Self-tests of int8_activations.py: the rounding against values worked out
by hand, which products of a GGUF round, and that the rounding reaches the
forward passes (qwen2 through models.linear, deepseek2's absorbed MLA)."""

import os
import sys

import pytest
import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import convert  # noqa: E402
import convert_deepseek2 as cds  # noqa: E402
import int8_activations as ia  # noqa: E402
import make_tiny  # noqa: E402
import models  # noqa: E402
import quants  # noqa: E402
import tiny_deepseek2 as td  # noqa: E402

F64 = torch.float64


def test_round_rows_by_hand():
    # block 0: max 127 -> d = 1, so q = round_half_even(x): 2.5 -> 2, 3.5 -> 4, -0.5 -> -0
    x = torch.zeros(64, dtype=F64)
    x[:5] = torch.tensor([127.0, 2.5, 3.5, -0.5, 1.2])
    # block 1: max 31.75 -> d = 0.25, 0.625 = 2.5 d -> 2 d, -0.875 = -3.5 d -> -4 d
    # (binary-exact values: 0.05 / 0.02 would not be a tie in float64)
    x[32:35] = torch.tensor([31.75, 0.625, -0.875])
    y = ia.round_rows(x)
    assert y[:5].tolist() == [127.0, 2.0, 4.0, -0.0, 1.0]
    assert y[32:35].tolist() == [31.75, 0.5, -1.0]
    assert y[5:32].abs().max() == 0 and y[35:].abs().max() == 0   # zero values and an all-zero tail


def test_round_rows_error_bound_and_shape():
    x = torch.randn(3, 5, 96, dtype=F64)
    y = ia.round_rows(x)
    d = x.view(3, 5, 3, 32).abs().amax(-1, keepdim=True) / 127
    assert y.shape == x.shape
    assert ((y - x).view(3, 5, 3, 32).abs() <= d / 2 + 1e-15).all()   # half a step at most
    assert ((y.view(3, 5, 3, 32) / d) - (y.view(3, 5, 3, 32) / d).round()).abs().max() < 1e-9
    with pytest.raises(ValueError):
        ia.round_rows(torch.zeros(48, dtype=F64))


def test_near_ties_are_recorded_and_flipped():
    x = torch.zeros(32, dtype=F64)
    x[0], x[1] = 127.0, 2.5 + 1e-6        # 1e-6 from the boundary between 2 and 3
    ia.ties = []
    try:
        assert ia.round_rows(x)[1] == 3.0
        assert [(k, c) for _, k, c, _ in ia.ties] == [(32, 1)]
    finally:
        ia.ties = None
    ia.flip = (32, 1, float(x[1]))
    try:
        assert ia.round_rows(x)[1] == 2.0
        # the same row inside a batch of rows and as a one-row slice of it
        # (deepseek2's shared experts vs one routed expert) flips alike
        rows = torch.stack([torch.roll(x, 5), x, torch.roll(x, 9)])
        assert ia.round_rows(rows)[1, 1] == 2.0 and ia.round_rows(rows[1:2])[0, 1] == 2.0
        assert torch.equal(ia.round_rows(rows)[0], ia.round_rows(torch.roll(x, 5)))
    finally:
        ia.flip = None


def test_rounded_weights_qwen2(tmp_path):
    cfg = make_tiny.tiny_config("qwen2", False)
    w = make_tiny.random_weights(cfg, 3)
    convert.write_gguf(tmp_path / "m.gguf", w, cfg, quants.GGML_TYPE_Q8_0)
    names = ia.rounded_weights(str(tmp_path / "m.gguf"))
    # every 2-D weight but the embedding (a lookup); no norm, no bias
    assert names == {n for n, v in w.items() if v.ndim == 2 and n != "model.embed_tokens.weight"}
    convert.write_gguf(tmp_path / "f.gguf", w, cfg, quants.GGML_TYPE_F16)
    assert ia.rounded_weights(str(tmp_path / "f.gguf")) == set()


def test_rounding_reaches_the_forward_pass(tmp_path):
    cfg = make_tiny.tiny_config("qwen2", False)
    w = make_tiny.random_weights(cfg, 3)
    toks = make_tiny.prompt_tokens("qwen2")
    exact = models.forward(w, cfg, toks, dtype=F64)
    rounded = models.forward(w, dict(cfg, int8_activations={"lm_head.weight"}), toks, dtype=F64)
    # only the head's input rounded: logits = round_rows(h) W^T, recomputed here from the final hidden state
    hidden = models.forward(dict(w, **{"lm_head.weight": torch.eye(64, dtype=F64)}), cfg, toks, dtype=F64)
    want = ia.round_rows(hidden) @ torch.as_tensor(w["lm_head.weight"]).to(F64).T
    assert torch.allclose(rounded, want, atol=1e-10) and not torch.allclose(rounded, exact, atol=1e-3)


def test_deepseek2_split_kv_rounds_q_nope_and_latent(tmp_path):
    cfg = td.tiny_config("v3")
    w = td.random_weights(cfg, 5)
    cds.write_gguf(tmp_path / "m.gguf", w, cfg, quants.GGML_TYPE_Q8_0, split_kv=True)
    names = ia.rounded_weights(str(tmp_path / "m.gguf"))
    assert "model.layers.0.self_attn.v_b" in names and "lm_head.weight" in names
    assert not any(n.endswith("kv_b_proj.weight") or "embed" in n or "gate.weight" in n for n in names)
    rw, rcfg = convert.load_gguf(str(tmp_path / "m.gguf"))
    toks = td.prompt_tokens("v3")
    base = models.forward(rw, dict(rcfg, int8_activations=names), toks, dtype=F64)
    no_v = models.forward(rw, dict(rcfg, int8_activations={n for n in names if not n.endswith("v_b")}), toks,
                          dtype=F64)
    assert not torch.allclose(base, no_v, atol=1e-4)   # the latent's rounding is applied
