"""Two IQ weight types in numpy, for the type-mix variant of the tiny deepseek2
model: IQ2_XXS and IQ1_S, decoded from the format (ggml-common.h block_iq2_xxs,
block_iq1_s; ggml-quants.c dequantize_row_iq2_xxs / _iq1_s), encoded by a
plain nearest-grid search (not llama.cpp's quantizer: the reference runs on the
values read back, so any valid codes do).

    IQ2_XXS (66 bytes / 256): f16 d; per 32-block 8 bytes: 4 grid indices,
        u32 w = 4 x 7 sign bits | s << 28; group l: signs = ksigns(w >> 7l & 127)
        (the eighth sign makes the count of minus signs even);
        value = d (0.5 + s) / 4 * grid_byte * (-1 if sign bit)
    IQ1_S (50 bytes / 256): f16 d; idx[32]; u16 qh[8]; block b: qh = s << 12 |
        delta sign << 15 | 3 high index bits per group; value = d (2s + 1)
        (grid_int8 + delta), delta = -1/8 if bit 15 else 1/8

The codebooks are the published numbers of ggml-common.h, copied verbatim
into iq_grids.txt (its header gives the commit); the reference reads them
there, never from dseek's own tables, and checks each against the FNV-1a 64
checksum of the published table's little-endian bytes.
"""

import os

import numpy as np

import quants

GGML_TYPE_IQ2_XXS = 16
GGML_TYPE_IQ1_S = 19
BLOCK = {GGML_TYPE_IQ2_XXS: (256, 66), GGML_TYPE_IQ1_S: (256, 50)}

_GRIDS = os.path.join(os.path.dirname(__file__), "iq_grids.txt")
_FNV1A = {"iq2xxs_grid": 0xbb4ee025b5ac6e8e, "iq1s_grid": 0x6703ed863501ae2e}


def _fnv1a(data):
    h = 0xcbf29ce484222325
    for b in data:
        h = ((h ^ b) * 0x100000001b3) & 0xFFFFFFFFFFFFFFFF
    return h


def _table(name):
    """The entries under "[name count]" in iq_grids.txt, checked by count and checksum."""
    entries, current = {}, None
    for line in open(_GRIDS):
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        if line.startswith("["):
            current, count = line[1:-1].split()
            entries[current] = (int(count), [])
        else:
            entries[current][1].append(int(line, 16))
    count, values = entries[name]
    data = b"".join(v.to_bytes(8, "little") for v in values)
    if len(values) != count or _fnv1a(data) != _FNV1A[name]:
        raise ValueError(f"iq_grids.txt: {name} is not the published table")
    return values


def _bytes_of(entries, signed):
    a = np.array(entries, dtype=np.uint64).view(np.uint8).reshape(len(entries), 8)
    return a.view(np.int8).astype(np.float32) if signed else a.astype(np.float32)


IQ2XXS_GRID = _bytes_of(_table("iq2xxs_grid"), False)   # [256, 8] magnitudes 8, 25, 43
IQ1S_GRID = _bytes_of(_table("iq1s_grid"), True)         # [2048, 8] values -1, 0, 1


def _parity_signs(i7):
    return i7 | ((bin(i7).count("1") & 1) << 7)


def _superblocks(data, n_values, size):
    """(bytes, d) of each 256-value block: both types open with the f16 scale d."""
    raw = np.frombuffer(data, dtype=np.uint8, count=n_values // 256 * size).reshape(-1, size)
    return [(b, np.float32(quants.f16_bits_to_f32(np.array(b[0] | b[1] << 8, np.uint16)))) for b in raw]


def quantize_iq2_xxs(x):
    out = bytearray()
    for sb in np.asarray(x, np.float32).reshape(-1, 256):
        amax = float(np.abs(sb).max())
        d = quants.f16_bits_to_f32(quants.f32_to_f16_bits(np.float32(amax / (43 * 4.0))))  # s = 7: db = 2 d
        d = float(d)
        out += int(quants.f32_to_f16_bits(np.float32(d))).to_bytes(2, "little")
        s = 7
        db = d * (0.5 + s) * 0.25
        for blk in sb.reshape(8, 32):
            idx, w = [], s << 28
            for l, g in enumerate(blk.reshape(4, 8)):
                neg = [int(v < 0) for v in g]
                if sum(neg) % 2:   # the eighth sign is implied: flip the smallest value's sign
                    k = int(np.argmin(np.abs(g)))
                    neg[k] ^= 1
                target = np.abs(g) / db if db else np.zeros(8, np.float32)
                idx.append(int(np.argmin(((IQ2XXS_GRID - target) ** 2).sum(axis=1))))
                w |= sum(neg[k] << k for k in range(7)) << (7 * l)
            out += bytes(idx) + int(w).to_bytes(4, "little")
    return bytes(out)


def dequantize_iq2_xxs(data, n_values):
    y = np.empty((n_values // 256, 256), np.float32)
    for i, (b, d) in enumerate(_superblocks(data, n_values, 66)):
        for j in range(8):
            p = b[2 + 8 * j: 10 + 8 * j]
            w = int(p[4]) | int(p[5]) << 8 | int(p[6]) << 16 | int(p[7]) << 24
            db = np.float32(d * np.float32(0.5 + (w >> 28)) * np.float32(0.25))
            for l in range(4):
                signs = _parity_signs(w >> (7 * l) & 127)
                sgn = np.array([-1.0 if signs >> k & 1 else 1.0 for k in range(8)], np.float32)
                y[i, 32 * j + 8 * l: 32 * j + 8 * l + 8] = db * IQ2XXS_GRID[p[l]] * sgn
    return y.reshape(-1)


def quantize_iq1_s(x):
    out = bytearray()
    for sb in np.asarray(x, np.float32).reshape(-1, 256):
        amax = float(np.abs(sb).max())
        s = 3                                   # dl = 7 d
        d = float(quants.f16_bits_to_f32(quants.f32_to_f16_bits(np.float32(amax / (7 * 1.125)))))
        out += int(quants.f32_to_f16_bits(np.float32(d))).to_bytes(2, "little")
        dl = d * (2 * s + 1)
        idxs, qhs = bytearray(), bytearray()
        for blk in sb.reshape(8, 32):
            minus = int(blk.mean() < 0)
            delta = -0.125 if minus else 0.125
            qh = s << 12 | minus << 15
            for l, g in enumerate(blk.reshape(4, 8)):
                target = g / dl if dl else np.zeros(8, np.float32)
                k = int(np.argmin(((IQ1S_GRID + delta - target) ** 2).sum(axis=1)))
                idxs.append(k & 255)
                qh |= (k >> 8) << (3 * l)
            qhs += qh.to_bytes(2, "little")
        out += bytes(idxs) + bytes(qhs)
    return bytes(out)


def dequantize_iq1_s(data, n_values):
    y = np.empty((n_values // 256, 256), np.float32)
    for i, (b, d) in enumerate(_superblocks(data, n_values, 50)):
        for j in range(8):
            qh = int(b[34 + 2 * j]) | int(b[35 + 2 * j]) << 8
            dl = np.float32(d * np.float32(2 * (qh >> 12 & 7) + 1))
            delta = np.float32(-0.125 if qh & 0x8000 else 0.125)
            for l in range(4):
                k = int(b[2 + 4 * j + l]) | (qh >> (3 * l) & 7) << 8
                y[i, 32 * j + 8 * l: 32 * j + 8 * l + 8] = dl * (IQ1S_GRID[k] + delta)
    return y.reshape(-1)
