"""Element conversions and ggml block quantizers, in numpy, written from the
formats (ggml-common.h; lib/kernels/README.md §3) and ggml's reference
quantizers (ggml-quants.c, `quantize_row_q8_0_ref` / `quantize_row_q4_0_ref`,
checked with the search tool).

Every quantizer works in float32 exactly as the C reference does, so a file
written here is byte-identical to what ggml's reference path would write.

    Q8_0 block (34 bytes, 32 values):  f16 d; i8 q[32]
        amax = max|x|, d = amax / 127, id = d ? 1/d : 0, q = roundf(x * id)
        value = q * d
    Q4_0 block (18 bytes, 32 values):  f16 d; u8 qs[16]
        max = the x of largest magnitude (signed; first one on ties),
        d = max / -8, id = d ? 1/d : 0,
        q = min(15, (int8)(x * id + 8.5))      (truncation toward zero)
        qs[j] = q[j] | q[j + 16] << 4
        value j = ((qs[j] & 15) - 8) d  (j < 16),  ((qs[j-16] >> 4) - 8) d  (j >= 16)
    Q5_0 block (22 bytes, 32 values):  f16 d; u8 qh[4]; u8 qs[16]
        (quantize_row_q5_0_ref) as Q4_0 with d = max / -16,
        q = min(31, (int8)(x * id + 16.5)); low nibbles as Q4_0, bit 4 of value
        j in bit j of the little-endian u32 qh; value = (q - 16) d
    Q4_K: see quants_k.py (256-value super-blocks, 144 bytes).
    Q6_K: see quants_q6_k.py (256-value super-blocks, 210 bytes).
"""

import numpy as np

QK8_0 = 32
QK4_0 = 32
Q8_0_BLOCK_BYTES = 2 + QK8_0
Q4_0_BLOCK_BYTES = 2 + QK4_0 // 2
QK5_0 = 32
Q5_0_BLOCK_BYTES = 2 + 4 + QK5_0 // 2
QK_K = 256
Q4_K_BLOCK_BYTES = 2 + 2 + 12 + QK_K // 2

# ggml type ids (ggml.h; lib/models/README.md §5)
GGML_TYPE_F32 = 0
GGML_TYPE_F16 = 1
GGML_TYPE_Q4_0 = 2
GGML_TYPE_Q5_0 = 6
GGML_TYPE_Q8_0 = 8
GGML_TYPE_Q4_K = 12
GGML_TYPE_Q6_K = 14   # quants_q6_k.py
GGML_TYPE_BF16 = 30
GGML_TYPE_IQ2_XXS = 16   # quants_iq.py
GGML_TYPE_IQ1_S = 19
# not a ggml type: the per-tensor mix of unsloth-style "UD" files (convert_deepseek2.tensor_type)
FILE_TYPE_UD_MIX = 1000
# not a ggml type: llama.cpp's Q4_K_M mix for a dense model (convert.gguf_tensor_type)
FILE_TYPE_Q4_K_M = 1001

GGML_TYPE_NAMES = {
    GGML_TYPE_F32: "f32", GGML_TYPE_F16: "f16", GGML_TYPE_Q4_0: "q4_0",
    GGML_TYPE_Q8_0: "q8_0", GGML_TYPE_BF16: "bf16", GGML_TYPE_Q5_0: "q5_0",
    GGML_TYPE_Q4_K: "q4_k", GGML_TYPE_IQ2_XXS: "iq2_xxs", GGML_TYPE_IQ1_S: "iq1_s",
    GGML_TYPE_Q6_K: "q6_k", FILE_TYPE_UD_MIX: "ud_mix", FILE_TYPE_Q4_K_M: "q4_k_m",
}
GGML_TYPE_BY_NAME = {v: k for k, v in GGML_TYPE_NAMES.items()}

# (values per block, bytes per block)
GGML_BLOCK = {
    GGML_TYPE_F32: (1, 4), GGML_TYPE_F16: (1, 2), GGML_TYPE_BF16: (1, 2),
    GGML_TYPE_Q8_0: (QK8_0, Q8_0_BLOCK_BYTES), GGML_TYPE_Q4_0: (QK4_0, Q4_0_BLOCK_BYTES),
    GGML_TYPE_Q5_0: (QK5_0, Q5_0_BLOCK_BYTES), GGML_TYPE_Q4_K: (QK_K, Q4_K_BLOCK_BYTES),
    GGML_TYPE_Q6_K: (QK_K, 210), GGML_TYPE_IQ2_XXS: (QK_K, 66), GGML_TYPE_IQ1_S: (QK_K, 50),
}


def ggml_nbytes(ggml_type, n_values):
    per_block, block_bytes = GGML_BLOCK[ggml_type]
    if n_values % per_block:
        raise ValueError(f"{n_values} values is not a whole number of {per_block}-value blocks")
    return n_values // per_block * block_bytes


# --- f16 / bf16 -----------------------------------------------------------

def f32_to_f16_bits(x):
    """IEEE half, round to nearest even (numpy's cast, which is what ggml's
    GGML_FP32_TO_FP16 does on every platform with F16C or the scalar path)."""
    with np.errstate(over="ignore"):   # beyond 65504 -> inf, as in C
        return np.asarray(x, dtype=np.float32).astype(np.float16).view(np.uint16)


def f16_bits_to_f32(bits):
    return np.asarray(bits, dtype=np.uint16).view(np.float16).astype(np.float32)


def f32_to_bf16_bits(x):
    """bfloat16 = top 16 bits of the f32, rounded to nearest even:
    u + 0x7fff + ((u >> 16) & 1), then >> 16.  NaN stays a quiet NaN
    (0x7fc0 | sign), so rounding cannot turn it into infinity."""
    u = np.asarray(x, dtype=np.float32).view(np.uint32).astype(np.uint64)
    s16, one = np.uint64(16), np.uint64(1)
    rounded = ((u + np.uint64(0x7FFF) + ((u >> s16) & one)) >> s16).astype(np.uint16)
    nan = np.isnan(np.asarray(x, dtype=np.float32))
    sign = ((u >> s16) & np.uint64(0x8000)).astype(np.uint16)
    return np.where(nan, sign | np.uint16(0x7FC0), rounded).astype(np.uint16)


def bf16_bits_to_f32(bits):
    return (np.asarray(bits, dtype=np.uint16).astype(np.uint32) << 16).view(np.float32)


# --- Q8_0 -------------------------------------------------------------------

def _blocks(x, qk):
    x = np.ascontiguousarray(x, dtype=np.float32)
    if x.shape[-1] % qk:
        raise ValueError(f"row length {x.shape[-1]} is not a multiple of {qk}")
    return x.reshape(-1, qk)


def _roundf(v):
    """C roundf: half away from zero (np.round would round half to even)."""
    return np.sign(v) * np.floor(np.abs(v) + np.float32(0.5))


def quantize_q8_0(x):
    """float32 array (last dim a multiple of 32) -> bytes of Q8_0 blocks."""
    b = _blocks(x, QK8_0)
    amax = np.max(np.abs(b), axis=1)
    d = (amax / np.float32(127)).astype(np.float32)
    with np.errstate(divide="ignore"):
        inv = np.where(d != 0, np.float32(1) / d, np.float32(0)).astype(np.float32)
    q = _roundf((b * inv[:, None]).astype(np.float32)).astype(np.int8)
    out = np.empty((b.shape[0], Q8_0_BLOCK_BYTES), dtype=np.uint8)
    out[:, 0:2] = f32_to_f16_bits(d).reshape(-1, 1).view(np.uint8)
    out[:, 2:] = q.view(np.uint8)
    return out.tobytes()


def dequantize_q8_0(data, n_values):
    raw = np.frombuffer(data, dtype=np.uint8, count=ggml_nbytes(GGML_TYPE_Q8_0, n_values))
    blocks = raw.reshape(-1, Q8_0_BLOCK_BYTES)
    d = f16_bits_to_f32(blocks[:, 0:2].copy().view(np.uint16)[:, 0])
    q = blocks[:, 2:].view(np.int8).astype(np.float32)
    return (q * d[:, None]).reshape(-1)


# --- Q4_0 -------------------------------------------------------------------

def quantize_q4_0(x):
    """float32 array (last dim a multiple of 32) -> bytes of Q4_0 blocks."""
    b = _blocks(x, QK4_0)
    # the signed value of largest magnitude; argmax returns the first maximum,
    # matching the C loop's strict `amax < fabsf(v)`
    idx = np.argmax(np.abs(b), axis=1)
    vmax = b[np.arange(b.shape[0]), idx]
    d = (vmax / np.float32(-8)).astype(np.float32)
    with np.errstate(divide="ignore"):
        inv = np.where(d != 0, np.float32(1) / d, np.float32(0)).astype(np.float32)
    # (int8_t)(v + 8.5f): C float->int conversion truncates toward zero
    v = (b * inv[:, None]).astype(np.float32) + np.float32(8.5)
    q = np.minimum(15, np.trunc(v).astype(np.int32)).astype(np.uint8)
    out = np.empty((b.shape[0], Q4_0_BLOCK_BYTES), dtype=np.uint8)
    out[:, 0:2] = f32_to_f16_bits(d).reshape(-1, 1).view(np.uint8)
    out[:, 2:] = q[:, :QK4_0 // 2] | (q[:, QK4_0 // 2:] << 4)
    return out.tobytes()


def dequantize_q4_0(data, n_values):
    raw = np.frombuffer(data, dtype=np.uint8, count=ggml_nbytes(GGML_TYPE_Q4_0, n_values))
    blocks = raw.reshape(-1, Q4_0_BLOCK_BYTES)
    d = f16_bits_to_f32(blocks[:, 0:2].copy().view(np.uint16)[:, 0])
    qs = blocks[:, 2:]
    lo = (qs & 0x0F).astype(np.float32) - 8
    hi = (qs >> 4).astype(np.float32) - 8
    return (np.concatenate([lo, hi], axis=1) * d[:, None]).reshape(-1)


# --- Q5_0 -------------------------------------------------------------------

def quantize_q5_0(x):
    """float32 array (last dim a multiple of 32) -> bytes of Q5_0 blocks."""
    b = _blocks(x, QK5_0)
    idx = np.argmax(np.abs(b), axis=1)
    vmax = b[np.arange(b.shape[0]), idx]
    d = (vmax / np.float32(-16)).astype(np.float32)
    with np.errstate(divide="ignore"):
        inv = np.where(d != 0, np.float32(1) / d, np.float32(0)).astype(np.float32)
    v = (b * inv[:, None]).astype(np.float32) + np.float32(16.5)
    q = np.minimum(31, np.trunc(v).astype(np.int32)).astype(np.uint32)
    half = QK5_0 // 2
    qh = np.zeros(b.shape[0], dtype=np.uint32)
    for j in range(QK5_0):
        qh |= ((q[:, j] >> 4) & 1) << np.uint32(j)
    out = np.empty((b.shape[0], Q5_0_BLOCK_BYTES), dtype=np.uint8)
    out[:, 0:2] = f32_to_f16_bits(d).reshape(-1, 1).view(np.uint8)
    out[:, 2:6] = qh.astype("<u4").reshape(-1, 1).view(np.uint8)
    out[:, 6:] = ((q[:, :half] & 15) | ((q[:, half:] & 15) << 4)).astype(np.uint8)
    return out.tobytes()


def dequantize_q5_0(data, n_values):
    raw = np.frombuffer(data, dtype=np.uint8, count=ggml_nbytes(GGML_TYPE_Q5_0, n_values))
    blocks = raw.reshape(-1, Q5_0_BLOCK_BYTES)
    d = f16_bits_to_f32(blocks[:, 0:2].copy().view(np.uint16)[:, 0])
    qh = blocks[:, 2:6].copy().view("<u4")[:, 0].astype(np.uint32)
    qs = blocks[:, 6:].astype(np.uint32)
    bits = (qh[:, None] >> np.arange(QK5_0, dtype=np.uint32)[None, :]) & 1
    q = np.concatenate([qs & 15, qs >> 4], axis=1) | (bits << 4)
    return ((q.astype(np.float32) - 16) * d[:, None]).reshape(-1)


# --- any type ---------------------------------------------------------------

def encode(x, ggml_type):
    """float32 values -> the bytes ggml stores for them in `ggml_type`."""
    x = np.asarray(x, dtype=np.float32)
    if ggml_type == GGML_TYPE_F32:
        return x.astype("<f4").tobytes()
    if ggml_type == GGML_TYPE_F16:
        return f32_to_f16_bits(x).astype("<u2").tobytes()
    if ggml_type == GGML_TYPE_BF16:
        return f32_to_bf16_bits(x).astype("<u2").tobytes()
    if ggml_type == GGML_TYPE_Q8_0:
        return quantize_q8_0(x)
    if ggml_type == GGML_TYPE_Q4_0:
        return quantize_q4_0(x)
    if ggml_type == GGML_TYPE_Q5_0:
        return quantize_q5_0(x)
    if ggml_type == GGML_TYPE_Q4_K:
        import quants_k
        return quants_k.quantize_q4_k(x)
    if ggml_type == GGML_TYPE_Q6_K:
        import quants_q6_k
        return quants_q6_k.quantize_q6_k(x)
    if ggml_type in (GGML_TYPE_IQ2_XXS, GGML_TYPE_IQ1_S):
        import quants_iq
        return (quants_iq.quantize_iq2_xxs if ggml_type == GGML_TYPE_IQ2_XXS else quants_iq.quantize_iq1_s)(x)
    raise ValueError(f"unsupported ggml type {ggml_type}")


def decode(data, ggml_type, n_values):
    """Stored bytes -> float32 values (flat)."""
    if ggml_type == GGML_TYPE_F32:
        return np.frombuffer(data, dtype="<f4", count=n_values).astype(np.float32)
    if ggml_type == GGML_TYPE_F16:
        return f16_bits_to_f32(np.frombuffer(data, dtype="<u2", count=n_values))
    if ggml_type == GGML_TYPE_BF16:
        return bf16_bits_to_f32(np.frombuffer(data, dtype="<u2", count=n_values))
    if ggml_type == GGML_TYPE_Q8_0:
        return dequantize_q8_0(data, n_values)
    if ggml_type == GGML_TYPE_Q4_0:
        return dequantize_q4_0(data, n_values)
    if ggml_type == GGML_TYPE_Q5_0:
        return dequantize_q5_0(data, n_values)
    if ggml_type == GGML_TYPE_Q4_K:
        import quants_k
        return quants_k.dequantize_q4_k(data, n_values)
    if ggml_type == GGML_TYPE_Q6_K:
        import quants_q6_k
        return quants_q6_k.dequantize_q6_k(data, n_values)
    if ggml_type in (GGML_TYPE_IQ2_XXS, GGML_TYPE_IQ1_S):
        import quants_iq
        dq = quants_iq.dequantize_iq2_xxs if ggml_type == GGML_TYPE_IQ2_XXS else quants_iq.dequantize_iq1_s
        return dq(data, n_values)
    raise ValueError(f"unsupported ggml type {ggml_type}")


def roundtrip(x, ggml_type):
    """The float32 values a reader gets back after storing x as ggml_type."""
    x = np.asarray(x, dtype=np.float32)
    return decode(encode(x, ggml_type), ggml_type, x.size).reshape(x.shape)
