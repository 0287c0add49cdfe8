"""Every tensor of the llama.cpp-quantized fixtures (tests/data/quants), decoded
by dseek (dump_gguf_f32), must hash to the sha256 of llama.cpp's own
dequantization (dequant-T.json): the IQ types and the K-quants they are mixed
with, bit for bit. The digests were computed by ggml's to_float, never by dseek.

usage: test_llama_dequant.py DUMP_TOOL DATA_DIR
"""
import hashlib
import json
import os
import shlex
import subprocess
import sys
from pathlib import Path

FILES = ["IQ4_NL", "IQ4_XS", "IQ3_XXS", "IQ2_XXS", "IQ2_XS", "IQ1_S", "IQ1_M"]
IQ_TYPES = {"IQ4_NL", "IQ4_XS", "IQ3_XXS", "IQ3_S", "IQ2_XXS", "IQ2_XS", "IQ2_S", "IQ1_S", "IQ1_M"}


def decoded(tool, path):
    wrapper = shlex.split(os.environ.get("MESON_EXE_WRAPPER", ""))   # cross builds: the emulator
    out = subprocess.run([*wrapper, tool, str(path)], check=True, stdout=subprocess.PIPE).stdout
    pos, tensors = 0, {}
    while True:
        nl = out.index(b"\n", pos)
        head = out[pos:nl].decode().split()
        pos = nl + 1
        if head == ["end"]:
            return tensors
        name, typ, n = head[0], head[1], int(head[2])
        tensors[name] = (typ, out[pos:pos + 4 * n])
        pos += 4 * n


def main():
    tool, data = sys.argv[1], Path(sys.argv[2])
    failures, seen, checked = [], set(), 0
    for ftype in FILES:
        want = json.loads((data / f"dequant-{ftype}.json").read_text())
        got = decoded(tool, data / f"model-{ftype}.gguf")
        if len(got) != len(want):
            failures.append(f"{ftype}: {len(got)} tensors, want {len(want)}")
        for t in want:
            typ, raw = got.get(t["name"], (None, b""))
            checked += 1
            if typ != t["type"]:
                failures.append(f"{ftype} {t['name']}: type {typ}, want {t['type']}")
            elif hashlib.sha256(raw).hexdigest() != t["sha256_f32le"]:
                failures.append(f"{ftype} {t['name']} ({typ}): sha256 differs from llama.cpp's dequantization")
            seen.add(t["type"])
    missing = IQ_TYPES - seen
    if missing:
        failures.append(f"fixtures lack types {sorted(missing)}")
    for f in failures:
        print("FAIL", f)
    print(f"{checked} tensors checked, types {sorted(seen)}, {len(failures)} failures")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
