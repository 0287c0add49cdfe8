"""ref_dequant.py — an independent numpy decoder for the GGUF element types.

Written from the published block layouts (ggml-common.h block structs; the
value formulas of ggml-quants.c's dequantize_row_*), vectorised over blocks,
for checking dseek's C decoders bit for bit. Every product is done in float32
in the order ggml evaluates it (the sub-block factor d*scale first), so
results are reproducible to the bit. Each decoder takes the raw bytes
(np.uint8, a multiple of the block size) and returns float32 values.

Block layouts (little-endian; f16 = IEEE half):
  Q4_0  18 B: f16 d, u8 qs[16]         x[j] = (lo(qs[j]) - 8) d, x[j+16] = (hi(qs[j]) - 8) d
  Q4_1  20 B: f16 d, f16 m, qs[16]     x = q d + m
  Q5_0  22 B: f16 d, u32 qh, qs[16]    5th bit of value j is bit j of qh; x = (q - 16) d
  Q5_1  24 B: f16 d, f16 m, u32 qh, qs[16]   x = q d + m
  Q8_0  34 B: f16 d, i8 qs[32]         x = q d
  Q8_1  36 B: f16 d, f16 s, i8 qs[32]  x = q d
  Q2_K  84 B: u8 scales[16], qs[64], f16 d, f16 dmin
  Q3_K 110 B: u8 hmask[32], qs[64], scales[12], f16 d
  Q4_K 144 B: f16 d, f16 dmin, scales[12], qs[128]
  Q5_K 176 B: f16 d, f16 dmin, scales[12], qh[32], qs[128]
  Q6_K 210 B: u8 ql[128], qh[64], i8 scales[16], f16 d
  Q8_K 292 B: f32 d, i8 qs[256], i16 bsums[16]
"""
import numpy as np

F32 = np.float32


def _blocks(raw, size):
    raw = np.asarray(raw, dtype=np.uint8)
    assert raw.size % size == 0
    return raw.reshape(-1, size)


def _f16(b, at):
    """The f16 at byte offset `at` of every block, as float32 (nb, 1)."""
    return np.ascontiguousarray(b[:, at:at + 2]).view("<f2").astype(F32)


def _nibbles(qs):
    """(nb, k) bytes -> (nb, 2k): all low nibbles, then all high nibbles."""
    return np.concatenate([qs & 0x0F, qs >> 4], axis=1)


# ---- 32-value blocks ---------------------------------------------------------

def q4_0(raw):
    b = _blocks(raw, 18)
    q = _nibbles(b[:, 2:18]).astype(np.int16) - 8
    return (q.astype(F32) * _f16(b, 0)).ravel()


def q4_1(raw):
    b = _blocks(raw, 20)
    q = _nibbles(b[:, 4:20])
    return (q.astype(F32) * _f16(b, 0) + _f16(b, 2)).ravel()


def _q5(b, qh_at, qs_at):
    qh = np.ascontiguousarray(b[:, qh_at:qh_at + 4]).view("<u4")        # (nb, 1)
    high = ((qh >> np.arange(32, dtype=np.uint32)) & 1).astype(np.uint8)  # bit j -> value j
    return _nibbles(b[:, qs_at:qs_at + 16]) | (high << 4)


def q5_0(raw):
    b = _blocks(raw, 22)
    q = _q5(b, 2, 6).astype(np.int16) - 16
    return (q.astype(F32) * _f16(b, 0)).ravel()


def q5_1(raw):
    b = _blocks(raw, 24)
    q = _q5(b, 4, 8)
    return (q.astype(F32) * _f16(b, 0) + _f16(b, 2)).ravel()


def q8_0(raw):
    b = _blocks(raw, 34)
    return (b[:, 2:34].view(np.int8).astype(F32) * _f16(b, 0)).ravel()


def q8_1(raw):
    b = _blocks(raw, 36)
    return (b[:, 4:36].view(np.int8).astype(F32) * _f16(b, 0)).ravel()


# ---- 256-value super-blocks --------------------------------------------------

def _two_bit(qs):
    """(nb, 64) bytes -> (nb, 256) 2-bit values. Value 128h + 32k + l sits in
    byte 32h + l at bits 2k, 2k+1."""
    q = qs.reshape(-1, 2, 1, 32) >> (2 * np.arange(4, dtype=np.uint8)).reshape(1, 1, 4, 1)
    return (q & 3).reshape(-1, 256)


def _four_bit(qs):
    """(nb, 128) bytes -> (nb, 256): value 64c + 32t + l is nibble t (0 low,
    1 high) of byte 32c + l."""
    q = qs.reshape(-1, 4, 1, 32)
    return np.concatenate([q & 0x0F, q >> 4], axis=2).reshape(-1, 256)


def _bit_planes(bits):
    """(nb, 32) bytes -> (nb, 256): value 32p + l is bit p of byte l."""
    p = bits.reshape(-1, 1, 32) >> np.arange(8, dtype=np.uint8).reshape(1, 8, 1)
    return (p & 1).reshape(-1, 256)


def _six_bit_scale_min(s):
    """Q4_K/Q5_K: 12 bytes -> eight 6-bit scales and eight 6-bit mins.
    Sub-blocks 0-3 use the low 6 bits of bytes 0-3 (scale) and 4-7 (min);
    sub-blocks 4-7 take their low 4 bits from the nibbles of bytes 8-11
    (scale low, min high) and their top 2 bits from the top bits of bytes
    0-3 (scale) and 4-7 (min)."""
    sc = np.concatenate([s[:, 0:4] & 63, (s[:, 8:12] & 0x0F) | ((s[:, 0:4] >> 6) << 4)], axis=1)
    mn = np.concatenate([s[:, 4:8] & 63, (s[:, 8:12] >> 4) | ((s[:, 4:8] >> 6) << 4)], axis=1)
    return sc, mn


def _per_sub(values, n_sub):
    return values.reshape(values.shape[0], n_sub, -1)


def q2_k(raw):
    b = _blocks(raw, 84)
    scales, d, dmin = b[:, 0:16], _f16(b, 80), _f16(b, 82)
    q = _per_sub(_two_bit(b[:, 16:80]).astype(F32), 16)
    dl = d * (scales & 0x0F).astype(F32)          # (nb, 16): 4-bit scale
    ml = dmin * (scales >> 4).astype(F32)         # 4-bit min
    return (dl[:, :, None] * q - ml[:, :, None]).ravel()


def q3_k(raw):
    b = _blocks(raw, 110)
    hmask, s, d = b[:, 0:32], b[:, 96:108], _f16(b, 108)
    # 3-bit value = low 2 bits - 4, plus 4 back when its hmask bit is set.
    q = _two_bit(b[:, 32:96]).astype(np.int16) - 4 * (1 - _bit_planes(hmask).astype(np.int16))
    # Sixteen 6-bit scales (biased by 32): low nibbles are the low then high
    # nibbles of bytes 0-7; the top 2 bits of scale j are bits 2(j//4), +1 of
    # byte 8 + j%4.
    low = np.concatenate([s[:, 0:8] & 0x0F, s[:, 0:8] >> 4], axis=1)
    top = (s[:, None, 8:12] >> (2 * np.arange(4, dtype=np.uint8)).reshape(1, 4, 1)) & 3
    sc = (low | (top.reshape(-1, 16) << 4)).astype(np.int16) - 32
    dl = d * sc.astype(F32)
    return (dl[:, :, None] * _per_sub(q.astype(F32), 16)).ravel()


def _q45_k(b, q):
    d, dmin = _f16(b, 0), _f16(b, 2)
    sc, mn = _six_bit_scale_min(b[:, 4:16])
    d1 = d * sc.astype(F32)
    m1 = dmin * mn.astype(F32)
    return (d1[:, :, None] * _per_sub(q.astype(F32), 8) - m1[:, :, None]).ravel()


def q4_k(raw):
    b = _blocks(raw, 144)
    return _q45_k(b, _four_bit(b[:, 16:144]))


def q5_k(raw):
    b = _blocks(raw, 176)
    q = _four_bit(b[:, 48:176]) | (_bit_planes(b[:, 16:48]) << 4)
    return _q45_k(b, q)


def q6_k(raw):
    b = _blocks(raw, 210)
    ql, qh = b[:, 0:128], b[:, 128:192]
    sc, d = b[:, 192:208].view(np.int8), _f16(b, 208)
    # Value 128h + 32k + l: nibble k//2 of ql[64h + 32(k%2) + l], high two
    # bits at bits 2k, 2k+1 of qh[32h + l].
    lo = ql.reshape(-1, 2, 1, 2, 32)
    lo = np.concatenate([lo & 0x0F, lo >> 4], axis=2).reshape(-1, 2, 4, 32)
    hi = (qh.reshape(-1, 2, 1, 32) >> (2 * np.arange(4, dtype=np.uint8)).reshape(1, 1, 4, 1)) & 3
    q = (lo | (hi << 4)).reshape(-1, 256).astype(np.int16) - 32
    dl = d * sc.astype(F32)
    return (dl[:, :, None] * _per_sub(q.astype(F32), 16)).ravel()


def q8_k(raw):
    b = _blocks(raw, 292)
    d = np.ascontiguousarray(b[:, 0:4]).view("<f4")
    return (d * b[:, 4:260].view(np.int8).astype(F32)).ravel()


# ---- plain types -------------------------------------------------------------

def f16(raw):
    return np.asarray(raw, dtype=np.uint8).view("<f2").astype(F32)


def bf16(raw):
    h = np.asarray(raw, dtype=np.uint8).view("<u2").astype(np.uint32)
    return (h << 16).view(F32)


def e4m3(raw):
    """e4m3fn: sign, 4 exponent bits (bias 7), 3 mantissa bits; exponent 0 is
    subnormal (m/8 * 2^-6); 0x7F/0xFF are NaN; no infinities (max 448)."""
    v = np.asarray(raw, dtype=np.uint8)
    e = ((v >> 3) & 0x0F).astype(np.int32)
    m = (v & 7).astype(np.float64)
    mag = np.where(e == 0, m / 8 * 2.0 ** -6, (1 + m / 8) * np.exp2(e - 7.0))
    mag = np.where((e == 15) & (m == 7), np.nan, mag)
    return np.where(v & 0x80, -mag, mag).astype(F32)


DECODERS = {
    "Q4_0": q4_0, "Q4_1": q4_1, "Q5_0": q5_0, "Q5_1": q5_1, "Q8_0": q8_0, "Q8_1": q8_1,
    "Q2_K": q2_k, "Q3_K": q3_k, "Q4_K": q4_k, "Q5_K": q5_k, "Q6_K": q6_k, "Q8_K": q8_k,
    "F16": f16, "BF16": bf16, "F8_E4M3": e4m3,
}
