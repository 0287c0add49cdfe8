"""safetensors writer (single file and sharded) and a minimal reader.

Format (huggingface/safetensors README):
    u64 little-endian N = length of the JSON header
    N bytes of UTF-8 JSON: {"__metadata__": {str: str}, "<name>": {"dtype": "F32",
        "shape": [out, in], "data_offsets": [begin, end]}, ...}
        offsets are relative to the byte after the header, tensors are packed
        contiguously in row-major order; the header may be padded with spaces
        (the reference implementation pads it to a multiple of 8 bytes)
    the data.
Sharded checkpoints: model-00001-of-00002.safetensors ... plus
model.safetensors.index.json = {"metadata": {"total_size": <data bytes>},
                                "weight_map": {"<name>": "<shard file>"}}.
dtypes written here: F32, F16, BF16, F8_E4M3 (e4m3fn, as DeepSeek-V3 ships).
"""

import json
import os
import struct

import numpy as np

import quants

DTYPE_BYTES = {"F32": 4, "F16": 2, "BF16": 2, "F8_E4M3": 1}


# --- float8 e4m3fn: 1 sign, 4 exponent (bias 7), 3 mantissa; no infinities;
#     0x7f / 0xff are NaN; largest finite 448 (lib/models/README.md §6.4) ---

def e4m3_to_f32(bits):
    b = np.asarray(bits, dtype=np.uint8).astype(np.int32)
    sign = np.where(b & 0x80, -1.0, 1.0)
    exp = (b >> 3) & 0xF
    man = (b & 0x7).astype(np.float64)
    normal = sign * (1 + man / 8) * np.exp2(exp - 7.0)
    subnormal = sign * (man / 8) * np.exp2(-6.0)
    v = np.where(exp == 0, subnormal, normal)
    v = np.where((b & 0x7F) == 0x7F, np.nan, v)
    return v.astype(np.float32)


def f32_to_e4m3(x):
    """Nearest e4m3fn value (ties to the even code), saturating to +-448; a value
    that rounds to zero is stored as +0 (0x00).  The 127 non-negative finite codes
    are increasing in value, so the nearest is one of the two neighbours that
    searchsorted finds."""
    x = np.asarray(x, dtype=np.float32)
    codes = np.arange(0x7F, dtype=np.uint8)
    values = e4m3_to_f32(codes).astype(np.float64)
    flat = x.reshape(-1)
    a = np.minimum(np.abs(flat.astype(np.float64)), 448.0)
    hi = np.clip(np.searchsorted(values, a), 1, len(values) - 1)
    lo = hi - 1
    d_lo, d_hi = a - values[lo], values[hi] - a
    pick = np.where(d_lo < d_hi, lo, np.where(d_hi < d_lo, hi, np.where(lo % 2 == 0, lo, hi)))
    out = codes[pick]
    out = np.where((flat < 0) & (out != 0), out | np.uint8(0x80), out)
    out = np.where(np.isnan(flat), np.uint8(0x7F), out)
    return out.reshape(x.shape).astype(np.uint8)


def fp8_block_quantize(w, block=128):
    """DeepSeek-V3 block FP8 of a [out, in] weight: per block of block x block
    (edge blocks partial) scale_inv = amax / 448, stored = e4m3(w / scale_inv).
    Returns (the e4m3-representable float32 values to store as F8_E4M3,
    scale_inv float32 [ceil(out/block), ceil(in/block)])."""
    w = np.asarray(w, dtype=np.float32)
    rows, cols = -(-w.shape[0] // block), -(-w.shape[1] // block)
    scale = np.ones((rows, cols), dtype=np.float32)
    q = np.empty_like(w)
    for i in range(rows):
        for j in range(cols):
            blk = w[i * block:(i + 1) * block, j * block:(j + 1) * block]
            amax = np.float32(np.abs(blk).max())
            s = np.float32(amax / np.float32(448)) if amax > 0 else np.float32(1)
            scale[i, j] = s
            q[i * block:(i + 1) * block, j * block:(j + 1) * block] = e4m3_to_f32(
                f32_to_e4m3((blk / s).astype(np.float32)))
    return q, scale


def encode(values, dtype):
    v = np.asarray(values, dtype=np.float32)
    if dtype == "F32":
        return v.astype("<f4").tobytes()
    if dtype == "F16":
        return quants.f32_to_f16_bits(v).astype("<u2").tobytes()
    if dtype == "BF16":
        return quants.f32_to_bf16_bits(v).astype("<u2").tobytes()
    if dtype == "F8_E4M3":
        return f32_to_e4m3(v).tobytes()
    raise ValueError(f"unsupported dtype {dtype}")


def decode(data, dtype, shape):
    n = int(np.prod(shape)) if len(shape) else 1
    if dtype == "F32":
        v = np.frombuffer(data, dtype="<f4", count=n).astype(np.float32)
    elif dtype == "F16":
        v = quants.f16_bits_to_f32(np.frombuffer(data, dtype="<u2", count=n))
    elif dtype == "BF16":
        v = quants.bf16_bits_to_f32(np.frombuffer(data, dtype="<u2", count=n))
    elif dtype == "F8_E4M3":
        v = e4m3_to_f32(np.frombuffer(data, dtype=np.uint8, count=n))
    else:
        raise ValueError(f"unsupported dtype {dtype}")
    return v.reshape(shape)


def roundtrip(values, dtype):
    v = np.asarray(values, dtype=np.float32)
    return decode(encode(v, dtype), dtype, v.shape)


# --- writing ------------------------------------------------------------------

def safetensors_bytes(tensors, dtype="F32", metadata=None):
    """tensors: ordered {name: float array}; dtype: one str or {name: str}."""
    header = {}
    if metadata is not None:
        header["__metadata__"] = {str(k): str(v) for k, v in metadata.items()}
    blobs, offset = [], 0
    for name, values in tensors.items():
        dt = dtype[name] if isinstance(dtype, dict) else dtype
        blob = encode(values, dt)
        header[name] = {"dtype": dt, "shape": [int(s) for s in np.shape(values)],
                        "data_offsets": [offset, offset + len(blob)]}
        blobs.append(blob)
        offset += len(blob)
    text = json.dumps(header, separators=(",", ":")).encode("utf-8")
    text += b" " * ((8 - len(text) % 8) % 8)
    return struct.pack("<Q", len(text)) + text + b"".join(blobs)


def write_safetensors(path, tensors, dtype="F32", metadata=None):
    with open(path, "wb") as f:
        f.write(safetensors_bytes(tensors, dtype, metadata))


def write_sharded(directory, tensors, n_shards, dtype="F32", metadata=None):
    """Split tensors (in order) into n_shards files of about equal size and
    write model.safetensors.index.json. Returns the shard file names."""
    names = list(tensors)
    sizes = [int(np.size(tensors[n])) * DTYPE_BYTES[dtype if isinstance(dtype, str) else dtype[n]]
             for n in names]
    total = sum(sizes)
    shards, current, acc = [[] for _ in range(n_shards)], 0, 0
    for name, size in zip(names, sizes):
        if acc >= total * (current + 1) / n_shards and current < n_shards - 1:
            current += 1
        shards[current].append(name)
        acc += size
    if any(not s for s in shards):
        raise ValueError("too few tensors for that many shards")
    files, weight_map = [], {}
    for i, shard in enumerate(shards):
        fname = f"model-{i + 1:05d}-of-{n_shards:05d}.safetensors"
        write_safetensors(os.path.join(directory, fname), {n: tensors[n] for n in shard},
                          dtype, metadata)
        files.append(fname)
        weight_map.update({n: fname for n in shard})
    index = {"metadata": {"total_size": total}, "weight_map": weight_map}
    with open(os.path.join(directory, "model.safetensors.index.json"), "w") as f:
        json.dump(index, f, indent=2)
    return files


# --- reading (test tool: trusts its input) -------------------------------------

def read_safetensors(path):
    """-> (ordered {name: float32 array}, {name: dtype}, metadata or None)."""
    with open(path, "rb") as f:
        buf = f.read()
    (n,) = struct.unpack_from("<Q", buf, 0)
    header = json.loads(buf[8:8 + n].decode("utf-8"))
    data = buf[8 + n:]
    metadata = header.pop("__metadata__", None)
    tensors, dtypes = {}, {}
    for name, info in header.items():
        begin, end = info["data_offsets"]
        tensors[name] = decode(data[begin:end], info["dtype"], tuple(info["shape"]))
        dtypes[name] = info["dtype"]
    return tensors, dtypes, metadata


def read_checkpoint(directory):
    """A HF model directory: model.safetensors or the sharded set via its index."""
    index_path = os.path.join(directory, "model.safetensors.index.json")
    if os.path.exists(index_path):
        with open(index_path) as f:
            weight_map = json.load(f)["weight_map"]
        tensors = {}
        for fname in dict.fromkeys(weight_map.values()):
            part, _, _ = read_safetensors(os.path.join(directory, fname))
            tensors.update(part)
        if set(tensors) != set(weight_map):
            raise ValueError("index weight_map does not match the shards")
        return tensors
    tensors, _, _ = read_safetensors(os.path.join(directory, "model.safetensors"))
    return tensors
