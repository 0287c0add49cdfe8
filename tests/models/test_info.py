"""dseek info (examples/dseek.c): what a user reads before running a model.

    test_info.py DSEEK_EXE TINY_DIR QUANTS_DIR

- a loaded model: parameters (total, active), weights by type, KV bytes per
  token at --kv-type, the memory of a --ctx N context;
- a DeepSeek-V3 config.json cut to 4 layers (3 dense + 1 MoE, the real
  widths), extrapolated with --layers 61: DeepSeek's published 671B total and
  36.6B active (README_WEIGHTS of the V3 release; the "37B" headline rounds
  it) within 1%, and the 61-layer KV cache at Q8_0.
"""

import json
import os
import re
import subprocess
import sys
import tempfile
import shlex

# A cross build runs the test programs through an emulator (meson's exe_wrapper).
EXE_WRAPPER = shlex.split(os.environ.get("MESON_EXE_WRAPPER", ""))

V3 = {"model_type": "deepseek_v3", "vocab_size": 129280, "hidden_size": 7168, "intermediate_size": 18432,
      "moe_intermediate_size": 2048, "num_hidden_layers": 4, "num_nextn_predict_layers": 1,
      "num_attention_heads": 128, "num_key_value_heads": 128, "n_shared_experts": 1, "n_routed_experts": 256,
      "routed_scaling_factor": 2.5, "kv_lora_rank": 512, "q_lora_rank": 1536, "qk_rope_head_dim": 64,
      "v_head_dim": 128, "qk_nope_head_dim": 128, "topk_method": "noaux_tc", "n_group": 8, "topk_group": 4,
      "num_experts_per_tok": 8, "moe_layer_freq": 1, "first_k_dense_replace": 3, "norm_topk_prob": True,
      "scoring_func": "sigmoid", "rms_norm_eps": 1e-06, "rope_theta": 10000, "max_position_embeddings": 163840,
      "tie_word_embeddings": False,
      "rope_scaling": {"beta_fast": 32, "beta_slow": 1, "factor": 40, "mscale": 1.0, "mscale_all_dim": 1.0,
                       "original_max_position_embeddings": 4096, "type": "yarn"}}


def info(exe, *args):
    r = subprocess.run([*EXE_WRAPPER, exe, "info", *args], capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stderr
    return r.stdout


def run(exe, *args, env=None):
    r = subprocess.run([*EXE_WRAPPER, exe, "info", *args], capture_output=True, text=True, timeout=60,
                       env=dict(os.environ, **(env or {})))
    return r.returncode, r.stdout, r.stderr


def tensor_rows(out):
    """{(type, experts): (count, MiB, kernel)} from the tensors table."""
    rows = {}
    for m in re.finditer(r"^ {14}(\S+) +(\d+) +([0-9.]+)  (experts: )?(.*)$", out, re.M):
        rows[(m.group(1), bool(m.group(4)))] = (int(m.group(2)), float(m.group(3)), m.group(5))
    return rows


def check_tensor_report(exe, tiny, quants):
    q4k = os.path.join(tiny, "ds2-v3-gguf-q4_k", "model.gguf")
    for level in ("reference", "scalar"):
        rc, out, err = run(exe, q4k, env={"DSEEK_CPU": level})
        assert rc == 0, err
        rows = tensor_rows(out)
        # tests/reference/README.md: Q4_K rows of 256, Q5_0 / F16 fallbacks, router and norms F32
        assert {t for t, _ in rows} == {"F32", "F16", "Q5_0", "Q4_K"}, out
        assert rows[("Q4_K", True)][0] == 4 and rows[("Q5_0", True)][0] == 2, out   # 2 MoE layers x gate/up, down
        for (t, experts), (n, size, kernel) in rows.items():
            assert kernel.startswith(level + ": "), out
            if level == "reference":
                assert kernel == "reference: rows decoded to f32, f32 dot in order", out
        if level == "scalar":
            assert rows[("Q5_0", False)][2] == "scalar: int8 dot on int8 activations", out
            assert rows[("F16", False)][2] == "scalar: F16 dot on f32 activations", out
            # experts too, and (K-quant experts) the tile for prompts
            assert rows[("Q4_K", True)][2] == "scalar: int8 dot on int8 activations, 16-row tile for prompts", out
        total = sum(n for n, _, _ in rows.values())
        assert total == 17 + 6 + 9 + 2 + 14 + 4, out   # every tensor of the file once

    shard2 = os.path.join(quants, "split", "model-IQ2_XXS-00002-of-00004.gguf")
    rc, out, err = run(exe, shard2)
    assert rc == 0, (rc, err)
    assert "shards        4 (split.tensors.count 27)" in out, out
    for k, n in enumerate((8, 8, 8, 3)):
        name = os.path.join(quants, "split", f"model-IQ2_XXS-{k + 1:05d}-of-00004.gguf")
        assert f"  {k + 1}  {name}: {n} tensors, " in out, out
    rows = tensor_rows(out)
    iq = rows[("IQ2_XXS", False)]
    neon = iq[2].startswith(("neon:", "dotprod:"))   # no IQ dots at the NEON levels yet
    assert iq[0] == 12 and iq[2].endswith(": rows decoded to f32, f32 dot" if neon else ": int8 dot on int8 activations"), out
    assert sum(n for n, _, _ in rows.values()) == 27, out
    # the unsplit file gives the same table
    rc, whole, _ = run(exe, os.path.join(quants, "model-IQ2_XXS.gguf"))
    assert tensor_rows(whole) == rows and "shards" not in whole, whole


def main():
    exe, tiny, quants = sys.argv[1], sys.argv[2], sys.argv[3]
    check_tensor_report(exe, tiny, quants)
    out = info(exe, os.path.join(tiny, "ds2-kv32-gguf-f32", "model.gguf"), "--kv-type", "q8_0", "--ctx", "1000")
    assert re.search(r"parameters +0\.274 M total, 0\.181 M active per token", out), out
    assert re.search(r"weights +[0-9.]+ MiB: F32 ", out), out
    assert "KV cache      306 bytes per token (Q8_0)" in out, out   # 3 layers x (64 + 32) / 32 x 34
    assert re.search(r"context +1000 tokens: [0-9.]+ MiB \(KV cache 0\.3 MiB \+ work buffers", out), out

    with tempfile.TemporaryDirectory() as d:
        path = os.path.join(d, "config.json")
        with open(path, "w") as f:
            json.dump(V3, f)
        out = info(exe, path, "--layers", "61", "--ctx", "131072", "--kv-type", "q8_0")
        m = re.search(r"parameters +([0-9.]+) B total, ([0-9.]+) B active per token, MTP layers ([0-9.]+) B", out)
        assert m, out
        total, active, mtp = (float(x) for x in m.groups())
        print(f"V3 config cut to 4 layers, extrapolated to 61: {total} B total, {active} B active, {mtp} B MTP")
        assert abs(total / 671 - 1) < 0.01 and abs(active / 36.6 - 1) < 0.01, out
        assert "KV cache      37332 bytes per token (Q8_0)" in out, out   # 61 x 576 / 32 x 34
        few = info(exe, path)
        assert re.search(r"parameters +15\.1\d\d B total", few), few   # 3 dense layers + 1 MoE layer
    print("ok")


if __name__ == "__main__":
    main()
