"""dseek info (examples/dseek.c): what a user reads before running a model.

    test_info.py DSEEK_EXE TINY_DIR

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


def main():
    exe, tiny = sys.argv[1], sys.argv[2]
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
