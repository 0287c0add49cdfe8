"""test_dequant.py — dseek's C decoders against the independent numpy decoder.

    test_dequant.py DUMP_QUANTS_EXE

Runs dump_quants (random blocks of every type, decoded by dseek) into a
temporary directory, decodes the same bytes with ref_dequant.py and requires
the float32 bit patterns to be identical, signed zeros included. The one
allowance: where both sides are NaN (F16/BF16/F8_E4M3 NaN codes) the payloads
are not compared, since NaN payloads carry no value and conversion routines
differ in whether they quiet them. Also checks ref_dequant itself on a few
codes worked out by hand. Exit 77 (skip) without numpy.
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

EXPECTED_COUNTS = {  # values per type, as dump_quants writes them
    "Q4_0": 512 * 32, "Q4_1": 512 * 32, "Q5_0": 512 * 32, "Q5_1": 512 * 32,
    "Q8_0": 512 * 32, "Q8_1": 512 * 32, "Q2_K": 300 * 256, "Q3_K": 300 * 256,
    "Q4_K": 300 * 256, "Q5_K": 300 * 256, "Q6_K": 300 * 256, "Q8_K": 300 * 256,
    "F16": 65536, "BF16": 65536, "F8_E4M3": 256,
}


def check_reference_by_hand():
    """ref_dequant on values derived by hand from the format definitions."""
    bad = []
    e = ref_dequant.e4m3(np.array([0x00, 0x01, 0x08, 0x38, 0x3C, 0x7E, 0xFE, 0x78, 0x7F, 0xFF], np.uint8))
    want = [0.0, 2.0 ** -9, 2.0 ** -6, 1.0, 1.5, 448.0, -448.0, 256.0]
    if list(e[:8]) != want or not np.isnan(e[8:]).all():
        bad.append("e4m3 %r" % (e,))
    if list(ref_dequant.bf16(np.array([0x80, 0x3F, 0x00, 0xC0], np.uint8))) != [1.0, -2.0]:
        bad.append("bf16")
    # Q4_0: d = 0.5 (f16 0x3800), byte j = j | (15 - j) << 4:
    # x[j] = (j - 8) / 2, x[j + 16] = (7 - j) / 2.
    blk = np.array([0x00, 0x38] + [j | (15 - j) << 4 for j in range(16)], np.uint8)
    want = [(j - 8) / 2 for j in range(16)] + [(7 - j) / 2 for j in range(16)]
    if list(ref_dequant.q4_0(blk)) != want:
        bad.append("q4_0")
    # Q6_K: d = 1 (0x3C00), all scales 2, ql = 0x21 everywhere, qh = 0b11100100:
    # value 32k + l (first half) has nibble (1, 1, 2, 2)[k] and high bits k,
    # so q = nibble + 16 k - 32 and x = 2 q.
    blk = np.zeros(210, np.uint8)
    blk[0:128] = 0x21
    blk[128:192] = 0b11100100
    blk[192:208] = 2
    blk[208:210] = [0x00, 0x3C]
    x = ref_dequant.q6_k(blk)
    want = [2.0 * ((1, 1, 2, 2)[k] + 16 * k - 32) for k in range(4) for _ in range(32)]
    if list(x[:128]) != want or list(x[128:]) != want:
        bad.append("q6_k")
    return bad


def main():
    if len(sys.argv) != 2:
        print(__doc__)
        return 2
    failures = check_reference_by_hand()
    with tempfile.TemporaryDirectory() as tmp:
        subprocess.run([*EXE_WRAPPER, sys.argv[1], tmp], check=True)
        for name, count in EXPECTED_COUNTS.items():
            raw = np.fromfile(os.path.join(tmp, name + ".bin"), dtype=np.uint8)
            got = np.fromfile(os.path.join(tmp, name + ".f32"), dtype="<f4")
            want = ref_dequant.DECODERS[name](raw)
            if got.size != count or want.size != count:
                failures.append("%s: %d / %d values, expected %d" % (name, got.size, want.size, count))
                continue
            both_nan = np.isnan(got) & np.isnan(want)
            differ = (got.view(np.uint32) != want.view(np.uint32)) & ~both_nan
            n_nan = int(both_nan.sum())
            if differ.any():
                i = int(np.flatnonzero(differ)[0])
                failures.append("%s: %d of %d values differ; first at %d: dseek %r (0x%08x) numpy %r (0x%08x)" % (
                    name, int(differ.sum()), count, i, float(got[i]), int(got.view(np.uint32)[i]),
                    float(want[i]), int(want.view(np.uint32)[i])))
            else:
                print("ok   %-8s %6d values bit-identical%s" % (name, count, " (%d NaN)" % n_nan if n_nan else ""))
    for f in failures:
        print("FAIL", f)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
