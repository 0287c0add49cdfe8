"""Q6_K quantizer and dequantizer in numpy, following ggml-common.h
(`block_q6_K`) and ggml-quants.c (`quantize_row_q6_K_ref`, `make_qx_quants`,
`dequantize_row_q6_K`) in llama.cpp, checked with the search tool; the code is
ours.

Block (210 bytes, QK_K = 256 values = 16 groups of 16):
    u8 ql[128]; u8 qh[64]; i8 scales[16]; f16 d
    value v of the block (half h = v // 128, l = v % 32, k = (v % 128) // 32):
        low 4 bits  ql[64 h + l + 32 (k % 2)] >> 4 (k // 2)   (k 0, 1: low nibble; 2, 3: high)
        high 2 bits qh[32 h + l] >> 2 k
        q = low | high << 4   (0..63)
    value = d * scales[v // 16] * (q - 32)

Quantization (float32 throughout, like the C code, sums accumulated in order):
    per group of 16: scale from make_qx_quants(nmax 32, rmse_type 1): the
    signed value of largest magnitude max, levels l = clamp(nearest(iscale x),
    -32, 31) for iscale = -32 / max and the 18 trials -(32 + 0.1 is) / max
    (is = -9..9, not 0), weights x^2, the trial with the largest
    sumlx^2 / suml2 kept (first wins), scale = sumlx / suml2.
    max_scale = the group scale of largest magnitude (first one on ties);
    iscale = -128 / max_scale, d = f16(1 / iscale),
    scales[g] = min(127, nearest(iscale * scale_g)) (int8),
    then q = clamp(nearest(x / (d16 * scales[g])), -32, 31) + 32, except that
    a group whose d16 * scales[g] is 0 keeps the levels of its search.
    A block whose group scales are all below 1e-15 in magnitude is all zero.
nearest() is ggml's nearest_int: round half to even.
"""

import numpy as np

import quants

QK_K = 256
BLOCK_BYTES = 210
f32 = np.float32


def nearest_int(v):
    return np.rint(np.asarray(v, dtype=f32)).astype(np.int32)


def make_qx_quants(x, nmax=32):
    """x: [N, n] float32 -> (levels uint8 [N, n] = l + nmax, scale float32 [N]),
    make_qx_quants with rmse_type 1 (weights x^2) and no importance weights."""
    N, n = x.shape
    ax = np.abs(x)
    arg = np.argmax(ax, axis=1)   # the first of largest magnitude
    mx = x[np.arange(N), arg]
    zero = ax.max(axis=1) < f32(1e-15)
    mx = np.where(zero, f32(1), mx).astype(f32)
    w = (x * x).astype(f32)

    def trial(iscale):
        lv = np.clip(nearest_int((iscale[:, None] * x).astype(f32)), -nmax, nmax - 1)
        lf = lv.astype(f32)
        sumlx = np.zeros(N, dtype=f32)
        suml2 = np.zeros(N, dtype=f32)
        for i in range(n):
            sumlx = (sumlx + ((w[:, i] * x[:, i]).astype(f32) * lf[:, i]).astype(f32)).astype(f32)
            suml2 = (suml2 + ((w[:, i] * lf[:, i]).astype(f32) * lf[:, i]).astype(f32)).astype(f32)
        return lv, sumlx, suml2

    L, sumlx, suml2 = trial((f32(-nmax) / mx).astype(f32))
    with np.errstate(divide="ignore", invalid="ignore"):
        scale = np.where(suml2 != 0, (sumlx / suml2).astype(f32), f32(0)).astype(f32)
    best = (scale * sumlx).astype(f32)
    for step in range(-9, 10):
        if step == 0:
            continue
        iscale = (-(f32(nmax) + (f32(0.1) * f32(step)).astype(f32)) / mx).astype(f32)
        La, sumlx, suml2 = trial(iscale)
        better = (suml2 > 0) & ((sumlx * sumlx).astype(f32) > (best * suml2).astype(f32))
        with np.errstate(divide="ignore", invalid="ignore"):
            this_scale = (sumlx / np.where(better, suml2, f32(1))).astype(f32)
        L = np.where(better[:, None], La, L)
        scale = np.where(better, this_scale, scale).astype(f32)
        best = np.where(better, (this_scale * sumlx).astype(f32), best).astype(f32)
    L = np.where(zero[:, None], -nmax, L)   # all-zero group: every level 0 (l = -nmax)
    scale = np.where(zero, f32(0), scale).astype(f32)
    return (L + nmax).astype(np.uint8), scale


def quantize_q6_k(x):
    """float32 array (last dim a multiple of 256) -> bytes of Q6_K blocks."""
    x = np.ascontiguousarray(x, dtype=f32)
    if x.shape[-1] % QK_K:
        raise ValueError(f"row length {x.shape[-1]} is not a multiple of {QK_K}")
    nb = x.size // QK_K
    groups = x.reshape(nb * 16, 16)
    L, scales = make_qx_quants(groups)
    L, scales = L.reshape(nb, 16, 16).astype(np.int32), scales.reshape(nb, 16)

    first = np.argmax(np.abs(scales), axis=1)
    max_scale = scales[np.arange(nb), first]
    zero = np.abs(max_scale) < f32(1e-15)
    with np.errstate(divide="ignore"):
        iscale = np.where(zero, f32(0), f32(-128) / np.where(zero, f32(1), max_scale)).astype(f32)
        d_bits = quants.f32_to_f16_bits(np.where(zero, f32(0), (f32(1) / iscale)).astype(f32))
    sc = np.minimum(127, nearest_int((iscale[:, None] * scales).astype(f32)))
    sc = np.where(zero[:, None], 0, sc).astype(np.int8)
    d16 = quants.f16_bits_to_f32(d_bits)
    dg = (d16[:, None] * sc.astype(f32)).astype(f32)
    with np.errstate(divide="ignore", invalid="ignore"):
        requant = np.clip(nearest_int((x.reshape(nb, 16, 16) / dg[..., None]).astype(f32)), -32, 31) + 32
    L = np.where((dg != 0)[..., None], requant, L)
    L = np.where(zero[:, None, None], 0, L).astype(np.uint8).reshape(nb, 2, 4, 32)   # [block, half, k, l]

    ql = np.empty((nb, 2, 2, 32), dtype=np.uint8)   # [block, half, k % 2, l]
    ql[:, :, 0] = (L[:, :, 0] & 15) | (L[:, :, 2] & 15) << 4
    ql[:, :, 1] = (L[:, :, 1] & 15) | (L[:, :, 3] & 15) << 4
    qh = (L[:, :, 0] >> 4) | (L[:, :, 1] >> 4) << 2 | (L[:, :, 2] >> 4) << 4 | (L[:, :, 3] >> 4) << 6
    out = np.empty((nb, BLOCK_BYTES), dtype=np.uint8)
    out[:, 0:128] = ql.reshape(nb, 128)
    out[:, 128:192] = qh.reshape(nb, 64)
    out[:, 192:208] = sc.view(np.uint8)
    out[:, 208:210] = d_bits.reshape(-1, 1).view(np.uint8)
    return out.tobytes()


def dequantize_q6_k(data, n_values):
    if n_values % QK_K:
        raise ValueError(f"{n_values} values is not a whole number of Q6_K blocks")
    nb = n_values // QK_K
    raw = np.frombuffer(data, dtype=np.uint8, count=nb * BLOCK_BYTES).reshape(nb, BLOCK_BYTES)
    ql = raw[:, 0:128].reshape(nb, 2, 2, 32)
    qh = raw[:, 128:192].reshape(nb, 2, 32)
    sc = raw[:, 192:208].copy().view(np.int8).astype(f32)
    d = quants.f16_bits_to_f32(raw[:, 208:210].copy().view(np.uint16)[:, 0])
    q = np.empty((nb, 2, 4, 32), dtype=np.int32)
    for k in range(4):
        low = (ql[:, :, k % 2] >> (4 * (k // 2))) & 15
        q[:, :, k] = (low | ((qh >> (2 * k)) & 3) << 4).astype(np.int32) - 32
    scale = (d[:, None] * sc).astype(f32).reshape(nb, 16, 1)   # d * scales[v // 16], as the C code
    return (scale * q.reshape(nb, 16, 16).astype(f32)).astype(f32).reshape(-1)
