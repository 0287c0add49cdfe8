"""dseek's reference quantizers (from_float), checked from the outside.

usage: test_quantizers.py DUMP_QUANTIZED [REFERENCE_DIR]

Runs DUMP_QUANTIZED (dump_quantized.c) into a temporary directory; then for
every block type:
  1. decodes dseek's quantizer output with the independent numpy decoder
     (ref_dequant.py) and bounds the error against the input, so the
     quantizers pack what the format says; checks the cached sums of Q8_1
     (s = f16(d * sum q)) and Q8_K (bsums = sums of 16 quants);
  2. if REFERENCE_DIR holds tests/reference/quants.py (the reference
     engineer's numpy ports of ggml's quantize_row_*_ref, written separately
     from dseek's C), requires byte-identical Q8_0, Q4_0, Q5_0 and Q4_K output.
Exit 0 pass, 1 fail, 77 skip (numpy missing).
"""

import os
import subprocess
import sys
import tempfile

try:
    import numpy as np
except ImportError:
    print("numpy not available: skipping")
    sys.exit(77)

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import ref_dequant  # noqa: E402
import shlex

# A cross build runs the test programs through an emulator (meson's exe_wrapper).
EXE_WRAPPER = shlex.split(os.environ.get("MESON_EXE_WRAPPER", ""))

failures = 0


def fail(msg):
    global failures
    failures += 1
    print("FAIL", msg)


# bytes per block
BLOCK_BYTES = {"Q4_0": 18, "Q4_1": 20, "Q5_0": 22, "Q5_1": 24, "Q8_0": 34, "Q8_1": 36,
               "Q2_K": 84, "Q3_K": 110, "Q4_K": 144, "Q5_K": 176, "Q6_K": 210, "Q8_K": 292}


# Relative RMSE bounds for the quantizer material (uniform data in 256-value
# chunks at scales 1, 1e-3, 30, 0.1, one outlier). A format with b-bit levels
# over the range [-a, a] has step 2a / 2^b and error ~ step / sqrt(12), i.e.
# relative to the uniform rms a / sqrt(3): 2^-b * 2 (plus scale rounding).
REL_RMSE = {
    "Q8_0": 0.01, "Q8_1": 0.01, "Q6_K": 0.03,
    "Q8_K": 0.03,   # one scale per 256 values: the outlier's chunk loses more
    "Q5_0": 0.05, "Q5_1": 0.05, "Q5_K": 0.05,
    "Q4_0": 0.10, "Q4_1": 0.10, "Q4_K": 0.10,
    "Q3_K": 0.22, "Q2_K": 0.45,
}


def check_quantizer(name, x, q):
    with np.errstate(over="ignore", invalid="ignore"):
        y = ref_dequant.DECODERS[name](np.frombuffer(q, dtype=np.uint8)).reshape(-1)
    if y.shape != x.shape:
        fail(f"{name} quantizer: {y.size} values decoded, {x.size} expected")
        return
    worst = 0.0
    for c in range(x.size // 256):
        xs, ys = x[c * 256:(c + 1) * 256], y[c * 256:(c + 1) * 256]
        rms = float(np.sqrt(np.mean(xs.astype(np.float64) ** 2)))
        err = float(np.sqrt(np.mean((xs.astype(np.float64) - ys) ** 2)))
        worst = max(worst, err / rms)
    if not worst <= REL_RMSE[name]:
        fail(f"{name} quantizer: relative rmse {worst:.4f} > {REL_RMSE[name]}")
    else:
        print(f"ok   {name} quantizer: worst relative rmse {worst:.4f} (bound {REL_RMSE[name]})")
    b = np.frombuffer(q, dtype=np.uint8)
    if name == "Q8_1":
        b = b.reshape(-1, 36)
        d = b[:, 0:2].copy().view("<f2").astype(np.float32)[:, 0]
        s = b[:, 2:4].copy().view("<f2").astype(np.float32)[:, 0]
        qs = b[:, 4:].view(np.int8).astype(np.int32).sum(axis=1)
        # ggml stores f16(sum * d) with the f32 d, not the stored f16(d); the two
        # roundings are 2^-11 relative, or 2^-25 absolute where d is subnormal
        want = qs.astype(np.float64) * d
        tol = np.abs(want) * 2.0 ** -10 + (np.abs(qs) + 1) * 2.0 ** -25
        if not np.all(np.abs(s - want) <= tol):
            fail("Q8_1: s != d * sum q")
    if name == "Q8_K":
        b = b.reshape(-1, 292)
        sums = b[:, 4:260].view(np.int8).astype(np.int32).reshape(-1, 16, 16).sum(axis=2)
        bsums = b[:, 260:292].copy().view("<i2").astype(np.int32)
        if not np.array_equal(sums, bsums):
            fail("Q8_K: bsums are not the sums of 16 quants")


def check_against_reference_quantizers(refdir, tmp):
    # The byte-identical comparison is this test's point: without the
    # reference quantizers it fails rather than passing without it.
    if not refdir or not os.path.exists(os.path.join(refdir, "quants.py")):
        fail(f"no reference quantizers: {refdir}/quants.py missing")
        return
    sys.path.insert(0, refdir)
    try:
        import quants
    except Exception as e:
        fail(f"cannot import tests/reference/quants.py ({e})")
        return
    types = {"Q8_0": quants.GGML_TYPE_Q8_0, "Q4_0": quants.GGML_TYPE_Q4_0,
             "Q5_0": quants.GGML_TYPE_Q5_0, "Q4_K": quants.GGML_TYPE_Q4_K}
    for name, t in types.items():
        x = np.fromfile(os.path.join(tmp, name + ".qin"), dtype="<f4")
        ours = open(os.path.join(tmp, name + ".qout"), "rb").read()
        theirs = quants.encode(x, t)
        if ours != theirs:
            per = BLOCK_BYTES[name]
            diff = [i // per for i in range(len(ours)) if ours[i] != theirs[i]]
            fail(f"{name}: dseek's quantizer and tests/reference's differ in blocks {sorted(set(diff))[:8]}")
        else:
            print(f"ok   {name} quantizer byte-identical to tests/reference ({len(ours)} bytes)")


def main():
    if len(sys.argv) < 2:
        print(__doc__)
        return 2
    refdir = sys.argv[2] if len(sys.argv) > 2 else None
    with tempfile.TemporaryDirectory() as tmp:
        r = subprocess.run([*EXE_WRAPPER, sys.argv[1], tmp])
        if r.returncode != 0:
            fail(f"{sys.argv[1]} exited with {r.returncode}")
            return 1
        for name in BLOCK_BYTES:
            x = np.fromfile(os.path.join(tmp, name + ".qin"), dtype="<f4")
            check_quantizer(name, x, open(os.path.join(tmp, name + ".qout"), "rb").read())
        check_against_reference_quantizers(refdir, tmp)
    print(f"{failures} failures")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
