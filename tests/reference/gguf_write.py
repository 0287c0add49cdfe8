"""A small GGUF v3 writer (pure Python + numpy), from the GGUF specification
(ggml docs/gguf.md; lib/models/README.md §5), checked against gguf-py's
GGUFWriter (search tool, gguf-py/gguf/gguf_writer.py):

    "GGUF"  u32 version  u64 n_tensors  u64 n_kv
    kv:     string key, u32 value type, value
            string = u64 byte length + UTF-8 bytes (no terminator)
            array  = u32 element type, u64 count, elements (strings included)
            bool   = one byte 0/1
    tensor info: string name, u32 n_dims, u64 ne[n_dims], u32 ggml type, u64 offset
            ne[0] is the fastest-varying dimension, i.e. the numpy shape
            reversed (gguf-py writes `tensor_shape[n_dims - 1 - i]`): a
            PyTorch [out, in] weight has ne = [in, out].
            offset is relative to the start of the data section and is a
            multiple of the alignment.
    padding with zero bytes up to the alignment (general.alignment, default 32)
    data:   each tensor's bytes, each padded with zeros to the alignment.
"""

import struct

import numpy as np

import quants

GGUF_MAGIC = b"GGUF"
GGUF_DEFAULT_ALIGNMENT = 32

# metadata value types
U8, I8, U16, I16, U32, I32, F32, BOOL, STRING, ARRAY, U64, I64, F64 = range(13)

_SCALAR_FORMAT = {
    U8: "<B", I8: "<b", U16: "<H", I16: "<h", U32: "<I", I32: "<i",
    F32: "<f", BOOL: "<?", U64: "<Q", I64: "<q", F64: "<d",
}


def pack_string(s):
    b = s.encode("utf-8") if isinstance(s, str) else bytes(s)
    return struct.pack("<Q", len(b)) + b


def pack_value(vtype, value, elem_type=None):
    """Bytes of one metadata value (without its leading type tag)."""
    if vtype in _SCALAR_FORMAT:
        return struct.pack(_SCALAR_FORMAT[vtype], value)
    if vtype == STRING:
        return pack_string(value)
    if vtype == ARRAY:
        if elem_type is None or elem_type == ARRAY:
            raise ValueError("an array needs a scalar or string element type")
        out = [struct.pack("<IQ", elem_type, len(value))]
        out.extend(pack_value(elem_type, v) for v in value)
        return b"".join(out)
    raise ValueError(f"unknown GGUF value type {vtype}")


def align_up(n, alignment):
    return (n + alignment - 1) // alignment * alignment


class GGUFWriter:
    """Collects metadata and tensors in order, then writes the file at once."""

    def __init__(self, alignment=GGUF_DEFAULT_ALIGNMENT):
        self.alignment = alignment
        self.kv = []        # (key, vtype, value, elem_type)
        self.tensors = []   # (name, numpy shape, ggml type, bytes)
        if alignment != GGUF_DEFAULT_ALIGNMENT:
            self.add("general.alignment", U32, alignment)

    def add(self, key, vtype, value, elem_type=None):
        if any(k == key for k, *_ in self.kv):
            raise ValueError(f"duplicate key {key}")
        self.kv.append((key, vtype, value, elem_type))

    def add_string(self, key, value):
        self.add(key, STRING, value)

    def add_u32(self, key, value):
        self.add(key, U32, int(value))

    def add_f32(self, key, value):
        self.add(key, F32, float(value))

    def add_bool(self, key, value):
        self.add(key, BOOL, bool(value))

    def add_array(self, key, elem_type, values):
        self.add(key, ARRAY, list(values), elem_type)

    def add_tensor(self, name, values, ggml_type=quants.GGML_TYPE_F32):
        """values: float array in numpy order ([out, in] for a weight); it is
        converted to ggml_type here (F32/F16/BF16/Q8_0/Q4_0)."""
        values = np.asarray(values, dtype=np.float32)
        self.add_tensor_bytes(name, values.shape, ggml_type, quants.encode(values, ggml_type))

    def add_tensor_bytes(self, name, shape, ggml_type, data):
        if any(t[0] == name for t in self.tensors):
            raise ValueError(f"duplicate tensor {name}")
        n = int(np.prod(shape)) if len(shape) else 1
        if len(data) != quants.ggml_nbytes(ggml_type, n):
            raise ValueError(f"{name}: {len(data)} bytes do not hold {n} values of type {ggml_type}")
        self.tensors.append((name, tuple(int(s) for s in shape), ggml_type, bytes(data)))

    def to_bytes(self, version=3):
        out = bytearray()
        out += GGUF_MAGIC + struct.pack("<IQQ", version, len(self.tensors), len(self.kv))
        for key, vtype, value, elem_type in self.kv:
            out += pack_string(key) + struct.pack("<I", vtype) + pack_value(vtype, value, elem_type)
        offset = 0
        for name, shape, ggml_type, data in self.tensors:
            ne = list(reversed(shape)) or [1]
            out += pack_string(name) + struct.pack("<I", len(ne))
            out += struct.pack(f"<{len(ne)}Q", *ne)
            out += struct.pack("<IQ", ggml_type, offset)
            offset += align_up(len(data), self.alignment)
        out += bytes(align_up(len(out), self.alignment) - len(out))
        for _, _, _, data in self.tensors:
            out += data + bytes(align_up(len(data), self.alignment) - len(data))
        return bytes(out)

    def write(self, path, version=3):
        with open(path, "wb") as f:
            f.write(self.to_bytes(version))
