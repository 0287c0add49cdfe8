"""Q4_K quantizer and dequantizer in numpy, following ggml-quants.c
(`quantize_row_q4_K_ref`, `make_qkx2_quants`, `get_scale_min_k4`,
`dequantize_row_q4_K`, checked with the search tool; the code is ours).

Block (144 bytes, QK_K = 256 values = 8 sub-blocks of 32):
    f16 d; f16 dmin; u8 scales[12]; u8 qs[128]
    sub-block j has a 6-bit scale sc_j and a 6-bit min m_j:
        j < 4:  scales[j]   = sc_j | (sc_{j+4} >> 4) << 6
                scales[j+4] = m_j  | (m_{j+4} >> 4) << 6
        j >= 4: scales[j+4] = (sc_j & 15) | (m_j & 15) << 4
    get_scale_min_k4(j): j < 4: sc = scales[j] & 63, m = scales[j+4] & 63
                         else:  sc = (scales[j+4] & 15) | (scales[j-4] >> 6) << 4
                                m  = (scales[j+4] >> 4) | (scales[j]   >> 6) << 4
    qs: 4 chunks of 32 bytes; chunk c holds sub-block 2c in the low nibbles and
        sub-block 2c+1 in the high nibbles.
    value = d * sc_j * q - dmin * m_j

Quantization (float32 throughout, like the C code, sums accumulated in order):
    per sub-block: weights w_l = sqrt(mean x^2) + |x_l|; (scale_j, min_j) from
    make_qkx2_quants(nmax 15, rmin -1, rdelta 0.1, nstep 20): a weighted
    least-squares search over 21 trial inverse scales, starting from the
    min/max fit; min is clamped <= 0 and returned negated.
    d = max_j scale_j / 63, dmin = max_j min_j / 63 (stored f16),
    sc_j = min(63, nearest(63 / max_scale * scale_j)), m_j likewise;
    then q = clamp(nearest((x + dmin16 * m_j) / (d16 * sc_j)), 0, 15), except
    that a sub-block whose d16 * sc_j is 0 keeps the levels of the search.
nearest() is ggml's nearest_int: round half to even (the 1.5 * 2^23 trick).
Rows whose length is not a multiple of 256 cannot be Q4_K; llama.cpp's
llama-quant.cpp then falls back to Q5_0 (and to F16 if the row is not a
multiple of 32 either) - see convert.gguf_tensor_type.
"""

import numpy as np

import quants

QK_K = 256
BLOCK_BYTES = 144
f32 = np.float32


def nearest_int(v):
    return np.rint(np.asarray(v, dtype=f32)).astype(np.int32)


def make_qkx2_quants(x, w, nmax=15, rmin=-1.0, rdelta=0.1, nstep=20):
    """x, w: [N, n] float32 -> (levels uint8 [N, n], scale [N], the_min [N])."""
    N, n = x.shape
    mn = x.min(axis=1)
    mx = x.max(axis=1)
    sum_w = w[:, 0].copy()
    sum_x = (sum_w * x[:, 0]).astype(f32)
    for i in range(1, n):
        sum_w = (sum_w + w[:, i]).astype(f32)
        sum_x = (sum_x + (w[:, i] * x[:, i]).astype(f32)).astype(f32)
    mn = np.minimum(mn, f32(0))
    flat = mx == mn
    rng = np.where(flat, f32(1), (mx - mn).astype(f32)).astype(f32)

    def levels(iscale, lo):
        return np.clip(nearest_int((iscale[:, None] * (x - lo[:, None]).astype(f32)).astype(f32)),
                       0, nmax)

    def error(scale, mins, L):
        e = np.zeros(N, dtype=f32)
        for i in range(n):
            diff = ((scale * L[:, i].astype(f32)).astype(f32) + mins).astype(f32) - x[:, i]
            diff = (diff * diff).astype(f32)
            e = (e + (w[:, i] * diff).astype(f32)).astype(f32)
        return e

    iscale = (f32(nmax) / rng).astype(f32)
    scale = (f32(1) / iscale).astype(f32)
    L = levels(iscale, mn)
    best = error(scale, mn, L)
    # the C loop overwrites `min` when a trial wins, so later trials measure
    # from the new min (and divide by max - min with it)
    cur_min = mn.copy()
    for step in range(nstep + 1):
        span = np.where(flat, f32(1), (mx - cur_min).astype(f32)).astype(f32)
        iscale = ((f32(rmin) + (f32(rdelta) * f32(step)).astype(f32) + f32(nmax)) / span).astype(f32)
        La = levels(iscale, cur_min)
        sum_l = np.zeros(N, dtype=f32)
        sum_l2 = np.zeros(N, dtype=f32)
        sum_xl = np.zeros(N, dtype=f32)
        for i in range(n):
            lf = La[:, i].astype(f32)
            wl = (w[:, i] * lf).astype(f32)
            sum_l = (sum_l + wl).astype(f32)
            sum_l2 = (sum_l2 + (wl * lf).astype(f32)).astype(f32)
            sum_xl = (sum_xl + (wl * x[:, i]).astype(f32)).astype(f32)
        D = ((sum_w * sum_l2).astype(f32) - (sum_l * sum_l).astype(f32)).astype(f32)
        ok = D > 0
        Ds = np.where(ok, D, f32(1)).astype(f32)
        this_scale = (((sum_w * sum_xl).astype(f32) - (sum_x * sum_l).astype(f32)) / Ds).astype(f32)
        this_min = (((sum_l2 * sum_x).astype(f32) - (sum_l * sum_xl).astype(f32)) / Ds).astype(f32)
        pos = this_min > 0
        with np.errstate(divide="ignore", invalid="ignore"):
            this_scale = np.where(pos, (sum_xl / sum_l2).astype(f32), this_scale).astype(f32)
        this_min = np.where(pos, f32(0), this_min).astype(f32)
        cur = error(this_scale, this_min, La)
        better = ok & (cur < best)
        L = np.where(better[:, None], La, L)
        best = np.where(better, cur, best).astype(f32)
        scale = np.where(better, this_scale, scale).astype(f32)
        cur_min = np.where(better, this_min, cur_min).astype(f32)
    L = np.where(flat[:, None], 0, L)
    scale = np.where(flat, f32(0), scale).astype(f32)
    return L.astype(np.uint8), scale, (-np.where(flat, mn, cur_min)).astype(f32)


def pack_scales(ls, lm):
    """6-bit scales and mins [N, 8] -> the 12 scale bytes [N, 12]."""
    ls, lm = ls.astype(np.uint8), lm.astype(np.uint8)
    out = np.zeros((ls.shape[0], 12), dtype=np.uint8)
    out[:, 0:4] = ls[:, 0:4]
    out[:, 4:8] = lm[:, 0:4]
    out[:, 8:12] = (ls[:, 4:8] & 15) | ((lm[:, 4:8] & 15) << 4)
    out[:, 0:4] |= (ls[:, 4:8] >> 4) << 6
    out[:, 4:8] |= (lm[:, 4:8] >> 4) << 6
    return out


def scale_min_k4(scales):
    """get_scale_min_k4 for j = 0..7: [N, 12] -> (sc [N, 8], m [N, 8])."""
    q = scales.astype(np.uint8)
    sc = np.empty((q.shape[0], 8), dtype=np.uint8)
    m = np.empty((q.shape[0], 8), dtype=np.uint8)
    sc[:, 0:4] = q[:, 0:4] & 63
    m[:, 0:4] = q[:, 4:8] & 63
    sc[:, 4:8] = (q[:, 8:12] & 15) | ((q[:, 0:4] >> 6) << 4)
    m[:, 4:8] = (q[:, 8:12] >> 4) | ((q[:, 4:8] >> 6) << 4)
    return sc, m


def quantize_q4_k(x):
    """float32 array (last dim a multiple of 256) -> bytes of Q4_K blocks."""
    x = np.ascontiguousarray(x, dtype=f32)
    if x.shape[-1] % QK_K:
        raise ValueError(f"row length {x.shape[-1]} is not a multiple of {QK_K}")
    nb = x.size // QK_K
    sub = x.reshape(nb * 8, 32)
    sum_x2 = np.zeros(nb * 8, dtype=f32)
    for i in range(32):
        sum_x2 = (sum_x2 + (sub[:, i] * sub[:, i]).astype(f32)).astype(f32)
    av_x = np.sqrt((sum_x2 / f32(32)).astype(f32)).astype(f32)
    weights = (av_x[:, None] + np.abs(sub)).astype(f32)
    L, scales, mins = make_qkx2_quants(sub, weights)
    L, scales, mins = L.reshape(nb, 8, 32), scales.reshape(nb, 8), mins.reshape(nb, 8)

    max_scale = np.maximum(scales.max(axis=1), f32(0)).astype(f32)
    max_min = np.maximum(mins.max(axis=1), f32(0)).astype(f32)
    with np.errstate(divide="ignore"):
        inv_scale = np.where(max_scale > 0, f32(63) / max_scale, f32(0)).astype(f32)
        inv_min = np.where(max_min > 0, f32(63) / max_min, f32(0)).astype(f32)
    # uint8_t ls = nearest_int(...); ls = MIN(63, ls)
    ls = np.minimum(63, nearest_int((inv_scale[:, None] * scales).astype(f32)) & 0xFF)
    lm = np.minimum(63, nearest_int((inv_min[:, None] * mins).astype(f32)) & 0xFF)
    packed = pack_scales(ls, lm)
    d_bits = quants.f32_to_f16_bits((max_scale / f32(63)).astype(f32))
    dmin_bits = quants.f32_to_f16_bits((max_min / f32(63)).astype(f32))
    d16, dmin16 = quants.f16_bits_to_f32(d_bits), quants.f16_bits_to_f32(dmin_bits)

    sc, m = scale_min_k4(packed)
    d = (d16[:, None] * sc.astype(f32)).astype(f32)
    dm = (dmin16[:, None] * m.astype(f32)).astype(f32)
    with np.errstate(divide="ignore", invalid="ignore"):
        requant = np.clip(nearest_int(((x.reshape(nb, 8, 32) + dm[..., None]).astype(f32)
                                       / d[..., None]).astype(f32)), 0, 15)
    L = np.where((d != 0)[..., None], requant, L).astype(np.uint8).reshape(nb, 4, 2, 32)
    qs = (L[:, :, 0, :] | (L[:, :, 1, :] << 4)).reshape(nb, 128)

    out = np.empty((nb, BLOCK_BYTES), dtype=np.uint8)
    out[:, 0:2] = d_bits.reshape(-1, 1).view(np.uint8)
    out[:, 2:4] = dmin_bits.reshape(-1, 1).view(np.uint8)
    out[:, 4:16] = packed
    out[:, 16:] = qs
    return out.tobytes()


def dequantize_q4_k(data, n_values):
    if n_values % QK_K:
        raise ValueError(f"{n_values} values is not a whole number of Q4_K blocks")
    nb = n_values // QK_K
    raw = np.frombuffer(data, dtype=np.uint8, count=nb * BLOCK_BYTES).reshape(nb, BLOCK_BYTES)
    d = quants.f16_bits_to_f32(raw[:, 0:2].copy().view(np.uint16)[:, 0])
    dmin = quants.f16_bits_to_f32(raw[:, 2:4].copy().view(np.uint16)[:, 0])
    sc, m = scale_min_k4(raw[:, 4:16])
    qs = raw[:, 16:].reshape(nb, 4, 32)
    q = np.stack([qs & 15, qs >> 4], axis=2).reshape(nb, 8, 32).astype(f32)
    scale = (d[:, None] * sc.astype(f32)).astype(f32)
    mins = (dmin[:, None] * m.astype(f32)).astype(f32)
    return ((scale[..., None] * q).astype(f32) - mins[..., None]).reshape(-1).astype(f32)
