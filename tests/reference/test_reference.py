"""Self-tests of the reference (run: /usr/bin/python3 -m pytest -q tests/reference).
Expected values here are computed by hand or by an independent formulation,
never by the function under test."""

import json
import math
import os
import struct
import sys

import numpy as np
import pytest
import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import convert  # noqa: E402
import gguf_read  # noqa: E402
import gguf_write as g  # noqa: E402
import make_tiny  # noqa: E402
import models  # noqa: E402
import quants  # noqa: E402
import quants_q6_k  # noqa: E402
import safetensors_write as st  # noqa: E402

ARCHS = ["qwen2", "qwen3", "llama"]
REAL_GGUF = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "data", "tokenizers",
                         "llamacpp", "ggml-vocab-deepseek-llm.gguf")


def tiny(arch, tied=False):
    cfg = make_tiny.tiny_config(arch, tied)
    return make_tiny.random_weights(cfg, 42), cfg


# === forward: cache, decode, rope layouts ==========================================

@pytest.mark.parametrize("arch", ARCHS)
def test_cached_decode_matches_full_prefill(arch):
    w, cfg = tiny(arch)
    toks = make_tiny.prompt_tokens(arch) + [5, 77, 260]
    full = models.forward(w, cfg, toks, dtype=torch.float64)
    cache = models.KVCache()
    rows = [models.forward(w, cfg, [t], i, cache, torch.float64)[0] for i, t in enumerate(toks)]
    assert torch.allclose(torch.stack(rows), full, atol=1e-10)
    # prefill in two chunks
    cache = models.KVCache()
    a = models.forward(w, cfg, toks[:5], 0, cache, torch.float64)
    b = models.forward(w, cfg, toks[5:], 5, cache, torch.float64)
    assert torch.allclose(torch.cat([a, b]), full, atol=1e-10)


def test_qwen3_qk_norm_is_per_head():
    """qwen3 normalises each head of q and k over head_dim before RoPE, so
    scaling one head's rows of W_q (or a kv head's rows of W_k) leaves the
    logits unchanged, while without the norm (qwen2's layer on the same
    weights) the scaling shows."""
    w, cfg = tiny("qwen3")
    toks = make_tiny.prompt_tokens("qwen3")
    base = models.forward(w, cfg, toks, dtype=torch.float64)
    hd = cfg["head_dim"]
    scaled = dict(w)
    for l in range(cfg["num_hidden_layers"]):
        p = f"model.layers.{l}.self_attn."
        scaled[p + "q_proj.weight"] = w[p + "q_proj.weight"].copy()
        scaled[p + "q_proj.weight"][hd:2 * hd] *= 7.0      # head 1 only
        scaled[p + "k_proj.weight"] = w[p + "k_proj.weight"] * 5.0
    # (up to eps = 1e-6 inside the root: scaling up only shrinks its share)
    assert torch.allclose(models.forward(scaled, cfg, toks, dtype=torch.float64), base, atol=1e-4)
    layer = models.LAYERS["qwen3"]
    try:
        models.LAYERS["qwen3"] = lambda *a: models.gqa_layer(*a, qk_norm=False)
        plain = models.forward(w, cfg, toks, dtype=torch.float64)
        plain_scaled = models.forward(scaled, cfg, toks, dtype=torch.float64)
    finally:
        models.LAYERS["qwen3"] = layer
    assert (plain - base).abs().max() > 0.1 and (plain_scaled - plain).abs().max() > 0.1


@pytest.mark.parametrize("arch", ARCHS)
def test_greedy_cached_matches_naive_recompute(arch):
    w, cfg = tiny(arch)
    prompt = make_tiny.prompt_tokens(arch)
    got = models.greedy(w, cfg, prompt, 6)
    seq = list(prompt)
    for _ in range(6):
        seq.append(int(torch.argmax(models.forward(w, cfg, seq)[-1])))
    assert got == seq[len(prompt):]


def test_cache_rejects_wrong_start():
    w, cfg = tiny("qwen2")
    cache = models.KVCache()
    models.forward(w, cfg, [1, 2, 3], 0, cache)
    with pytest.raises(ValueError):
        models.forward(w, cfg, [4], 2, cache)


def test_rope_neox_matches_complex_rotation():
    # independent formulation: z_j = x_j + i x_{j+d/2}, z_j' = z_j e^{i pos f_j}
    x = torch.randn(3, 5, 8, dtype=torch.float64)
    freqs = models.rope_base_freqs(8, 10000.0)
    pos = [0, 1, 7, 100, 4096]
    cos, sin = models.rope_angles(pos, freqs, torch.float64)
    got = models.rope_neox(x, cos, sin)
    z = torch.complex(x[..., :4], x[..., 4:])
    ang = torch.tensor(pos, dtype=torch.float64)[:, None] * freqs[None, :]
    z = z * torch.polar(torch.ones_like(ang), ang)
    assert torch.allclose(got, torch.cat([z.real, z.imag], dim=-1), atol=1e-12)
    # position 0 is the identity
    assert torch.allclose(got[:, 0], x[:, 0])


def test_rope_normal_on_permuted_rows_equals_neox():
    x = torch.randn(2, 4, 16, dtype=torch.float64)  # 2 heads, 4 positions, head_dim 16
    freqs = models.rope_base_freqs(16, 500000.0)
    cos, sin = models.rope_angles([0, 3, 9, 31], freqs, torch.float64)
    neox = models.rope_neox(x, cos, sin)
    perm = [j for i in range(8) for j in (i, i + 8)]   # row 2i <- i, row 2i+1 <- i + 8
    normal = models.rope_normal(x[..., perm], cos, sin)
    assert torch.allclose(normal, neox[..., perm], atol=1e-12)


def test_permute_qk_rows_by_hand():
    # one row per output feature, value = its HF row index; head_dim 4, 2 heads
    w = np.arange(8, dtype=np.float32)[:, None] * np.ones((1, 3), np.float32)
    got = convert.permute_qk(w, 2)[:, 0]
    assert got.tolist() == [0, 2, 1, 3, 4, 6, 5, 7]


def test_attention_matches_explicit_loops():
    torch.manual_seed(0)
    H, Hkv, T, d = 4, 2, 5, 3
    q, k, v = torch.randn(H, T, d, dtype=torch.float64), torch.randn(Hkv, T, d, dtype=torch.float64), \
        torch.randn(Hkv, T, d, dtype=torch.float64)
    got = models.attention(q, k, v, list(range(T)), list(range(T)))
    for h in range(H):
        kv = h // (H // Hkv)
        for t in range(T):
            s = [float(q[h, t] @ k[kv, u]) / math.sqrt(d) for u in range(t + 1)]
            m = max(s)
            e = [math.exp(x - m) for x in s]
            want = sum(e[u] / sum(e) * v[kv, u] for u in range(t + 1))
            assert torch.allclose(got[h, t], want, atol=1e-12)


@pytest.mark.parametrize("tied", [False, True])
def test_llama_gguf_permutation_and_rope_freqs_equal_hf(tmp_path, tied):
    """The claim behind GGUF llama: permuted q/k + "normal" rope + rope_freqs
    divisors == HF q/k + "neox" rope + llama3 frequencies."""
    w, cfg = tiny("llama", tied)
    toks = make_tiny.prompt_tokens("llama") + [300 - 7, 3, 99, 150]
    hf = models.forward(w, cfg, toks, dtype=torch.float64)
    path = tmp_path / "m.gguf"
    convert.write_gguf(path, w, cfg, quants.GGML_TYPE_F32)
    gw, gcfg = convert.load_gguf(path)
    assert gcfg["rope_layout"] == "gguf" and "rope_freqs" in gw
    assert ("lm_head.weight" in gw) == (not tied)
    gg = models.forward(gw, gcfg, toks, dtype=torch.float64)
    assert torch.allclose(gg, hf, atol=1e-5)   # f32 storage of eps/theta/rope_freqs
    # and the test can fail: unpermuted weights, or no rope_freqs, disagree
    bad = dict(gw)
    for i in range(cfg["num_hidden_layers"]):
        for p in ("q_proj", "k_proj"):
            n = f"model.layers.{i}.self_attn.{p}.weight"
            bad[n] = w[n]
    assert (models.forward(bad, gcfg, toks, dtype=torch.float64) - hf).abs().max() > 1e-2
    nofreqs = {k: v for k, v in gw.items() if k != "rope_freqs"}
    assert (models.forward(nofreqs, gcfg, toks, dtype=torch.float64) - hf).abs().max() > 1e-3


def test_qwen2_gguf_is_not_permuted(tmp_path):
    w, cfg = tiny("qwen2")
    path = tmp_path / "m.gguf"
    convert.write_gguf(path, w, cfg, quants.GGML_TYPE_F32)
    f = gguf_read.GGUFFile(path)
    assert np.array_equal(f.tensor("blk.0.attn_q.weight"), w["model.layers.0.self_attn.q_proj.weight"])
    assert np.array_equal(f.tensor("blk.1.attn_k.bias"), w["model.layers.1.self_attn.k_proj.bias"])
    assert "rope_freqs.weight" not in f.tensors
    gw, gcfg = convert.load_gguf(path)
    toks = make_tiny.prompt_tokens("qwen2")
    assert torch.allclose(models.forward(gw, gcfg, toks, dtype=torch.float64),
                          models.forward(w, cfg, toks, dtype=torch.float64), atol=1e-5)


# === llama3 frequency scaling =======================================================

def test_llama3_freqs_against_models_md_formula():
    # Llama-3.1 / R1-Distill-Llama: theta 500000, head_dim 128, factor 8, low 1, high 4, original 8192
    base = models.rope_base_freqs(128, 500000.0)
    got = models.llama3_freqs(base, 8.0, 1.0, 4.0, 8192)
    for i in range(64):
        f = 500000.0 ** (-2 * i / 128)
        wl = 2 * math.pi / f
        if wl < 8192 / 4:
            want = f
        elif wl > 8192 / 1:
            want = f / 8
        else:
            s = (8192 / wl - 1) / (4 - 1)
            want = (1 - s) * f / 8 + s * f
        assert got[i].item() == pytest.approx(want, rel=1e-12)
    # the three regions by hand: wavelength 2*pi*500000^(i/64) is 6.28 at i=0
    # (kept), ~2950 at i=30 (blended, smooth ~0.592), ~3.1e6 at i=63 (/8)
    assert got[0].item() == 1.0
    assert got[63].item() == pytest.approx(base[63].item() / 8, rel=1e-12)
    s30 = (8192 / (2 * math.pi * 500000.0 ** (30 / 64)) - 1) / 3
    assert 0.58 < s30 < 0.60
    assert got[30].item() / base[30].item() == pytest.approx((1 - s30) / 8 + s30, rel=1e-12)


def test_rope_factors_are_llama_cpp_divisors():
    cfg = {"model_type": "llama", "hidden_size": 4096, "num_attention_heads": 32,
           "num_hidden_layers": 1, "rms_norm_eps": 1e-5, "rope_theta": 500000.0,
           "rope_scaling": {"rope_type": "llama3", "factor": 8.0, "low_freq_factor": 1.0,
                            "high_freq_factor": 4.0, "original_max_position_embeddings": 8192}}
    ff = convert.llama3_rope_factors(cfg)
    assert ff.shape == (64,) and ff.dtype == np.float32
    assert ff[0] == 1.0 and ff[63] == 8.0
    s30 = (8192 / (2 * math.pi * 500000.0 ** (30 / 64)) - 1) / 3
    assert ff[30] == pytest.approx(1 / ((1 - s30) / 8 + s30), rel=1e-6)
    assert np.all(np.diff(ff) >= 0)


# === quantizers and conversions =====================================================

def test_q8_0_block_by_hand():
    x = np.zeros(32, np.float32)
    x[:7] = [127, 2.5, -2.5, 0.5, -0.5, 1.49, -126.6]   # amax 127 -> d = 1, id = 1
    data = quants.quantize_q8_0(x)
    want = bytes([0x00, 0x3C]) + np.array([127, 3, -3, 1, -1, 1, -127] + [0] * 25,
                                          np.int8).tobytes()
    assert data == want                                   # roundf: half away from zero
    assert quants.dequantize_q8_0(data, 32)[:7].tolist() == [127, 3, -3, 1, -1, 1, -127]
    assert quants.quantize_q8_0(np.zeros(32, np.float32)) == bytes(34)


def test_q4_0_blocks_by_hand():
    x = np.zeros(32, np.float32)
    x[[0, 1, 2, 3, 16, 17]] = [-8, 7, 0.5, -0.6, 0.4, -3]   # max = -8 -> d = 1, id = 1
    # q = min(15, trunc(x + 8.5)): -8->0, 7->15, 0.5->9, -0.6->7, 0.4->8, -3->5, 0->8
    want = bytes([0x00, 0x3C, 0x80, 0x5F, 0x89, 0x87] + [0x88] * 12)
    assert quants.quantize_q4_0(x) == want
    y = np.zeros(32, np.float32)
    y[5], y[9] = 4.0, -4.0      # equal magnitudes: the first one sets d = 4 / -8 = -0.5
    data = quants.quantize_q4_0(y)
    assert data[:2] == bytes([0x00, 0xB8])
    q = [(data[2 + j % 16] >> (4 * (j // 16))) & 15 for j in range(32)]
    assert q[5] == 0 and q[9] == 15 and q.count(8) == 30  # -4 * -2 + 8.5 = 16.5 -> clamped 15
    assert quants.dequantize_q4_0(data, 32)[[5, 9]].tolist() == [4.0, -3.5]


def test_quantizers_multi_block_error_bounds():
    x = np.random.default_rng(1).standard_normal((3, 64)).astype(np.float32)
    # Q8_0: half a step (amax/127) plus the f16 rounding of d (<= amax 2^-11).
    # Q4_0: step amax/8; the value opposite in sign to `max` can sit a full
    # step away (8.5 + 8 = 16.5 is clamped to 15).
    for t, bound in ((quants.GGML_TYPE_Q8_0, 0.5 / 127 + 1 / 2048), (quants.GGML_TYPE_Q4_0, 1 / 8 + 1 / 2048)):
        y = quants.roundtrip(x, t)
        amax = np.abs(x.reshape(-1, 32)).max(axis=1, keepdims=True)
        assert np.all(np.abs(y - x).reshape(-1, 32) <= amax * bound)


def test_f16_bf16_against_torch_and_by_hand():
    x = np.concatenate([np.random.default_rng(2).standard_normal(1000) * 10,
                        [0.0, -0.0, 1.0, 1.00390625, 1.01171875, 65504.0, 1e-8, 3.4e38]]
                       ).astype(np.float32)
    bf = quants.f32_to_bf16_bits(x)
    want = torch.from_numpy(x).to(torch.bfloat16).view(torch.int16).numpy().view(np.uint16)
    assert np.array_equal(bf, want)
    # ties to even: 1 + 2^-8 -> 1.0 (0x3F80), 1 + 3*2^-8 -> 1 + 2^-6 (0x3F82)
    assert bf[1003] == 0x3F80 and bf[1004] == 0x3F82 and bf[1002] == 0x3F80
    assert quants.f32_to_bf16_bits(np.float32("nan")) & 0x7FC0 == 0x7FC0
    h = quants.f32_to_f16_bits(x)
    assert np.array_equal(h, torch.from_numpy(x).half().view(torch.int16).numpy().view(np.uint16))
    assert h[1002] == 0x3C00 and h[1005] == 0x7BFF


def test_e4m3_by_hand():
    codes = np.array([0x38, 0xB8, 0x7E, 0x08, 0x01, 0x00, 0x40], np.uint8)
    assert st.e4m3_to_f32(codes).tolist() == [1.0, -1.0, 448.0, 2 ** -6, 2 ** -9, 0.0, 2.0]
    assert np.isnan(st.e4m3_to_f32(np.array([0x7F, 0xFF], np.uint8))).all()
    x = np.array([1.0, 1000.0, -1000.0, 1.0625, 1.1875, 2 ** -10], np.float32)
    # 1.0625 is halfway 1.0 (m=0) / 1.125 (m=1): even -> 1.0; 1.1875 -> 1.25 (m=2)
    assert st.f32_to_e4m3(x).tolist() == [0x38, 0x7E, 0xFE, 0x38, 0x3A, 0x00]


# === file formats ====================================================================

def test_gguf_layout_by_hand():
    w = g.GGUFWriter()
    w.add_u32("a", 7)
    w.add_tensor("t", np.arange(6, dtype=np.float32).reshape(2, 3))   # numpy [2, 3] -> ne [3, 2]
    w.add_tensor("u", np.ones(1, np.float32))
    b = w.to_bytes()
    head = b"GGUF" + struct.pack("<IQQ", 3, 2, 1)
    kv = struct.pack("<Q", 1) + b"a" + struct.pack("<II", g.U32, 7)
    t1 = struct.pack("<Q", 1) + b"t" + struct.pack("<I", 2) + struct.pack("<QQ", 3, 2) \
        + struct.pack("<IQ", 0, 0)
    t2 = struct.pack("<Q", 1) + b"u" + struct.pack("<I", 1) + struct.pack("<Q", 1) \
        + struct.pack("<IQ", 0, 32)                      # 24 data bytes padded to 32
    meta = head + kv + t1 + t2
    start = (len(meta) + 31) // 32 * 32
    want = meta + bytes(start - len(meta)) + np.arange(6, dtype="<f4").tobytes() + bytes(8) \
        + np.ones(1, "<f4").tobytes() + bytes(28)
    assert b == want


def test_gguf_roundtrip_all_value_types(tmp_path):
    w = g.GGUFWriter(alignment=64)
    scalars = [(g.U8, 200), (g.I8, -100), (g.U16, 60000), (g.I16, -30000), (g.U32, 4000000000),
               (g.I32, -2000000000), (g.F32, 0.5), (g.BOOL, True), (g.STRING, "héllo"),
               (g.U64, 2 ** 63 + 5), (g.I64, -2 ** 62), (g.F64, 1e-300)]
    for vt, v in scalars:
        w.add(f"k.{vt}", vt, v)
        w.add(f"arr.{vt}", g.ARRAY, [v, v], vt)
    w.add("arr.empty", g.ARRAY, [], g.STRING)
    rng = np.random.default_rng(3)
    tensors = {"f32": (rng.standard_normal((2, 3, 5)), quants.GGML_TYPE_F32),
               "f16": (rng.standard_normal((7,)), quants.GGML_TYPE_F16),
               "bf16": (rng.standard_normal((3, 4)), quants.GGML_TYPE_BF16),
               "q8": (rng.standard_normal((2, 64)), quants.GGML_TYPE_Q8_0),
               "q4": (rng.standard_normal((3, 32)), quants.GGML_TYPE_Q4_0)}
    for name, (x, t) in tensors.items():
        w.add_tensor(name, x, t)
    w.write(tmp_path / "x.gguf")
    f = gguf_read.GGUFFile(tmp_path / "x.gguf")
    assert f.version == 3 and f.metadata["general.alignment"] == 64 and f.data_start % 64 == 0
    for vt, v in scalars:
        got = f.metadata[f"k.{vt}"]
        assert got == (pytest.approx(v) if vt == g.F32 else v)
        assert f.metadata_types[f"arr.{vt}"] == (g.ARRAY, vt)
    assert f.metadata["arr.empty"] == []
    for name, (x, t) in tensors.items():
        info = f.tensors[name]
        assert info["ne"] == list(reversed(x.shape)) and info["type"] == t
        assert info["offset"] % 64 == 0
        assert np.array_equal(f.tensor(name), quants.roundtrip(x, t))


def test_gguf_writer_reproduces_a_real_file():
    real = open(REAL_GGUF, "rb").read()
    f = gguf_read.GGUFFile(real)
    w = g.GGUFWriter()
    for key, value in f.metadata.items():
        vt, et = f.metadata_types[key]
        w.add(key, vt, value, et)
    mine = w.to_bytes(f.version)
    assert mine[:len(real)] == real and not any(mine[len(real):])   # gguf-py omits the final pad


def test_safetensors_single_and_sharded(tmp_path):
    rng = np.random.default_rng(4)
    tensors = {f"w{i}": rng.standard_normal((i + 1, 3)).astype(np.float32) for i in range(5)}
    path = tmp_path / "a.safetensors"
    st.write_safetensors(path, tensors, "F32", {"format": "pt"})
    raw = open(path, "rb").read()
    (n,) = struct.unpack("<Q", raw[:8])
    header = json.loads(raw[8:8 + n])
    assert header["__metadata__"] == {"format": "pt"} and (8 + n) % 8 == 0
    end = 0
    for name, x in tensors.items():
        info = header[name]
        assert info["dtype"] == "F32" and info["shape"] == list(x.shape)
        assert info["data_offsets"] == [end, end + x.nbytes]
        assert raw[8 + n + end:8 + n + end + x.nbytes] == x.astype("<f4").tobytes()
        end += x.nbytes
    assert len(raw) == 8 + n + end
    back, dtypes, meta = st.read_safetensors(path)
    assert all(np.array_equal(back[k], tensors[k]) for k in tensors)

    files = st.write_sharded(tmp_path, tensors, 2, "BF16")
    assert files == ["model-00001-of-00002.safetensors", "model-00002-of-00002.safetensors"]
    index = json.load(open(tmp_path / "model.safetensors.index.json"))
    assert set(index["weight_map"]) == set(tensors) and set(index["weight_map"].values()) == set(files)
    assert index["metadata"]["total_size"] == sum(x.size * 2 for x in tensors.values())
    back = st.read_checkpoint(tmp_path)
    for k, x in tensors.items():
        assert np.array_equal(back[k], quants.bf16_bits_to_f32(quants.f32_to_bf16_bits(x)))


# === the generated tiny models =======================================================

@pytest.fixture(scope="module")
def generated(tmp_path_factory):
    out = tmp_path_factory.mktemp("tiny")
    make_tiny.generate(str(out), ARCHS, None)
    return out


def read_expected(d):
    kv = {}
    for line in open(os.path.join(d, "expected.txt")):
        key, _, rest = line.strip().partition(" ")
        kv[key] = rest
    V = int(kv["vocab"])
    pre = np.fromfile(os.path.join(d, "prefill_logits.f32"), "<f4").reshape(-1, V)
    dec = np.fromfile(os.path.join(d, "decode_logits.f32"), "<f4").reshape(-1, V)
    return kv, pre, dec


def test_generated_files_are_consistent(generated):
    names = [line.split()[0] for line in open(generated / "manifest.txt")]
    assert len(names) == 8 * len(ARCHS) + len(make_tiny.WIDE_VARIANTS)
    for name in names:
        d = generated / name
        kv, pre, dec = read_expected(d)
        greedy = [int(t) for t in kv["greedy"].split()]
        assert kv["dseek-reference"] == "1"
        assert pre.shape == (int(kv["n_prompt"]), 300) and dec.shape == (int(kv["n_gen"]), 300)
        assert np.array_equal(pre, np.load(d / "prefill_logits.npy"))
        assert greedy == np.load(d / "greedy.npy").tolist()
        assert greedy[0] == int(np.argmax(pre[-1]))
        assert greedy[1:] == np.argmax(dec[:-1], axis=1).tolist()
        # not degenerate: O(1) logits that differ across positions
        assert 0.3 < pre.std() < 5 and len(set(np.argmax(pre, axis=1).tolist())) > 3


@pytest.mark.parametrize("arch", ARCHS)
def test_gguf_and_hf_variants_agree(generated, arch):
    f32 = read_expected(generated / f"{arch}-gguf-f32")[1]
    assert np.allclose(read_expected(generated / f"{arch}-hf-f32")[1], f32, atol=1e-5)
    # max |logit error| seen: f16 0.008, bf16 0.08, q8_0 0.25, q4_0 2.8 (logit std ~1.5)
    for name, tol in (("gguf-f16", 0.05), ("hf-bf16-sharded", 0.25), ("gguf-q8_0", 0.5),
                      ("gguf-q4_0", 5.0)):
        other = read_expected(generated / f"{arch}-{name}")[1]
        assert 0 < np.abs(other - f32).max() < tol, name   # rounding shows, but is small
    tied = read_expected(generated / f"{arch}-gguf-f32-tied")[1]
    assert np.allclose(read_expected(generated / f"{arch}-hf-f32-tied-notok")[1], tied, atol=1e-5)


@pytest.mark.parametrize("arch", ARCHS)
def test_gguf_tensor_types_and_metadata(generated, arch):
    f = gguf_read.GGUFFile(generated / f"{arch}-gguf-q8_0" / "model.gguf")
    md = f.metadata
    assert md["general.architecture"] == arch and md[f"{arch}.block_count"] == 2
    assert md[f"{arch}.attention.head_count"] == 4 and md[f"{arch}.attention.head_count_kv"] == 2
    head_dim = 32 if arch == "qwen3" else 16   # qwen3: H * head_dim = 128 is not hidden_size 64
    assert md[f"{arch}.rope.dimension_count"] == head_dim and md["general.file_type"] == 7
    assert md.get(f"{arch}.attention.key_length") == (32 if arch == "qwen3" else None)
    assert md["tokenizer.ggml.model"] == "gpt2" and len(md["tokenizer.ggml.tokens"]) == 300
    assert md["tokenizer.ggml.pre"] == {"qwen2": "qwen2", "qwen3": "qwen2", "llama": "llama-bpe"}[arch]
    for name, t in f.tensors.items():
        quantized = len(t["ne"]) == 2 and name.endswith(".weight") and "_norm" not in name
        assert t["type"] == (quants.GGML_TYPE_Q8_0 if quantized else quants.GGML_TYPE_F32), name
    assert ("rope_freqs.weight" in f.tensors) == (arch == "llama")
    assert ("blk.0.attn_q.bias" in f.tensors) == (arch == "qwen2")
    for qk in ("q", "k"):   # qwen3's per-head norms: [head_dim] f32 (llama.cpp's attn_q_norm / attn_k_norm)
        assert f.tensors.get(f"blk.1.attn_{qk}_norm.weight", {}).get("ne") == ([32] if arch == "qwen3" else None)
    assert f.tensors["token_embd.weight"]["ne"] == [64, 300]
    assert "output.weight" not in gguf_read.GGUFFile(
        generated / f"{arch}-gguf-f32-tied" / "model.gguf").tensors


def test_wide_q4_k_m_model(generated):
    """The 256-wide model: llama.cpp's Q4_K_M mix for 2 layers (the head, and
    attn_v and ffn_down of layer 1, the use_more_bits layer, in Q6_K; every
    other matrix Q4_K), rows of 256 and 512 (whole super-blocks), its logits
    as varied as the base models' and near its own float weights' (the
    rounding shows, but is small)."""
    q6_k = {"output.weight", "blk.1.attn_v.weight", "blk.1.ffn_down.weight"}
    for name, arch, wtype in make_tiny.WIDE_VARIANTS:
        f = gguf_read.GGUFFile(generated / name / "model.gguf")
        assert f.metadata[f"{arch}.embedding_length"] == 256 and f.metadata[f"{arch}.feed_forward_length"] == 512
        assert f.metadata["general.file_type"] == 15
        for tname, t in f.tensors.items():
            quantized = len(t["ne"]) == 2 and tname.endswith(".weight") and "_norm" not in tname
            want = (quants.GGML_TYPE_Q6_K if tname in q6_k else quants.GGML_TYPE_Q4_K) if quantized else quants.GGML_TYPE_F32
            assert t["type"] == want and (not quantized or t["ne"][0] % 256 == 0), tname
        kv, pre, _ = read_expected(generated / name)
        assert kv["weights"] == wtype and 0.3 < pre.std() < 5 and len(set(np.argmax(pre, axis=1).tolist())) > 3
        cfg = make_tiny.tiny_config(arch, False, wide=True)
        weights = make_tiny.random_weights(cfg, make_tiny.WIDE_SEED)
        _, want, _ = models.greedy_trace(weights, cfg, make_tiny.prompt_tokens(arch), 1, torch.float64)
        assert 0 < np.abs(pre - want.numpy()).max() < 4.0   # seen: 2.0 (logits up to 7.6)


def test_use_more_bits():
    """llama-quant.cpp's layer choice, by hand: first and last eighth, then every third."""
    assert [i for i in range(2) if convert.use_more_bits(i, 2)] == [1]
    assert [i for i in range(16) if convert.use_more_bits(i, 16)] == [0, 1, 4, 7, 10, 13, 14, 15]


def test_q6_k_block_by_hand():
    """A Q6_K block from its definition (block_q6_K in ggml-common.h): value v
    = 128 h + 32 k + l has low bits in ql[64 h + l + 32 (k % 2)] (nibble k // 2),
    high bits in bits 2k, 2k + 1 of qh[32 h + l], scale scales[v // 16]."""
    rng = np.random.default_rng(5)
    q = rng.integers(0, 64, 256)
    sc = rng.integers(-128, 128, 16).astype(np.int8)
    d = np.float32(0.0137)
    raw = np.zeros(210, np.uint8)
    for v in range(256):
        h, k, l = v // 128, (v % 128) // 32, v % 32
        raw[64 * h + l + 32 * (k % 2)] |= (q[v] & 15) << (4 * (k // 2))
        raw[128 + 32 * h + l] |= (q[v] >> 4) << (2 * k)
    raw[192:208] = sc.view(np.uint8)
    raw[208:210] = np.array([quants.f32_to_f16_bits(d)], np.uint16).view(np.uint8)
    d16 = np.float32(quants.f16_bits_to_f32(np.array([quants.f32_to_f16_bits(d)]))[0])
    want = np.array([(d16 * np.float32(sc[v // 16])) * np.float32(q[v] - 32) for v in range(256)], np.float32)
    assert np.array_equal(quants_q6_k.dequantize_q6_k(raw.tobytes(), 256), want)
    assert quants.ggml_nbytes(quants.GGML_TYPE_Q6_K, 512) == 420


def test_q6_k_round_trip():
    """Quantized and read back: a Q6_K value lies within half a step of its
    group (d16 |scales[g]| / 2, plus f16 rounding of d) of the input, and an
    all-zero row stays zero."""
    rng = np.random.default_rng(6)
    x = (rng.standard_normal((4, 512)) * np.array([[0.01], [1.0], [30.0], [0.2]])).astype(np.float32)
    raw = quants_q6_k.quantize_q6_k(x)
    y = quants_q6_k.dequantize_q6_k(raw, x.size).reshape(x.shape)
    blocks = np.frombuffer(raw, np.uint8).reshape(-1, 210)
    d = quants.f16_bits_to_f32(blocks[:, 208:210].copy().view(np.uint16)[:, 0])
    step = (np.abs(d[:, None] * blocks[:, 192:208].copy().view(np.int8)).astype(np.float32)).reshape(4, 32)
    err = np.abs(y - x).reshape(4, 32, 16).max(axis=2)
    assert np.all(err <= step * 0.5 * (1 + 1e-3) + 1e-7)
    assert np.abs(y - x).max() / np.abs(x).max() < 0.03
    assert not np.any(quants_q6_k.dequantize_q6_k(quants_q6_k.quantize_q6_k(np.zeros(256, np.float32)), 256))


@pytest.mark.parametrize("arch", ARCHS)
def test_hf_directories(generated, arch):
    d = generated / f"{arch}-hf-f32"
    cfg = json.load(open(d / "config.json"))
    assert cfg["model_type"] == arch and cfg["num_key_value_heads"] == 2
    tok = json.load(open(d / "tokenizer.json", encoding="utf-8"))
    vocab = tok["model"]["vocab"]
    assert len(vocab) + len(tok["added_tokens"]) == cfg["vocab_size"]
    for m in tok["model"]["merges"]:
        a, b = m if isinstance(m, list) else m.split(" ")
        assert a in vocab and b in vocab and a + b in vocab
    assert not os.path.exists(generated / f"{arch}-hf-f32-tied-notok" / "tokenizer.json")
    assert "lm_head.weight" not in st.read_checkpoint(generated / f"{arch}-hf-f32-tied-notok")
    assert os.path.exists(generated / f"{arch}-hf-bf16-sharded" / "model.safetensors.index.json")
