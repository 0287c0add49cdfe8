"""tiny-r1 -> GGUF (arch deepseek2) with llama.cpp's names and keys.

The main layers go through tests/reference/convert_deepseek2.py (the
converter's names, split attn_k_b / attn_v_b, stacked experts, F32 norms and
router). The MTP module is written as llama.cpp writes DeepSeek-V3's layer 61:
a full block blk.{n_layer}.* plus blk.{n_layer}.nextn.{eh_proj, enorm, hnorm,
shared_head_norm}, with deepseek2.block_count = n_layer + 1 and
deepseek2.nextn_predict_layers = 1. Its embedding and head are the main
model's (nextn.embed_tokens / nextn.shared_head_head are optional and left
out: they would be copies).
"""

import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parents[1] / "tests" / "reference"))
import convert_deepseek2 as cd  # noqa: E402
import gguf_write as g  # noqa: E402
import quants  # noqa: E402

FILE_TYPES = {"f32": quants.GGML_TYPE_F32, "f16": quants.GGML_TYPE_F16}


def chat_template():
    return (HERE / "r1_chat_template.jinja").read_text(encoding="utf-8")


def write_gguf(path, weights, config, tokenizer, file_type="f16", name="tiny-r1"):
    """weights: HF-named float32 arrays incl. the MTP layer model.layers.{n_layer}."""
    ftype = FILE_TYPES[file_type]
    w = g.GGUFWriter()
    w.add_string("general.architecture", "deepseek2")
    w.add_string("general.name", name)
    cd.write_metadata(w, config, ftype, split_kv=True)   # block_count = n_layer + 1, nextn_predict_layers
    tokenizer.gguf_metadata(w, chat_template())
    arrays = {k: v.numpy() for k, v in weights.items()}
    for gname, values in cd.gguf_tensors(arrays, config, split_kv=True):
        w.add_tensor(gname, values, cd.tensor_type(gname, values.shape, ftype))
    w.write(path)
