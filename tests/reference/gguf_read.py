"""A minimal GGUF v2/v3 reader, the mirror of gguf_write.py, used to check the
writer (round trip, and against the real vocab-only GGUF files under
tests/data/tokenizers/llamacpp/) and to load a GGUF into the reference.
Trusts its input: it is a test tool, not the library's parser."""

import struct

import numpy as np

import quants
from gguf_write import ARRAY, GGUF_DEFAULT_ALIGNMENT, GGUF_MAGIC, STRING, _SCALAR_FORMAT, align_up


class GGUFFile:
    def __init__(self, path_or_bytes):
        if isinstance(path_or_bytes, (bytes, bytearray)):
            self.buf = bytes(path_or_bytes)
        else:
            with open(path_or_bytes, "rb") as f:
                self.buf = f.read()
        self.pos = 0
        self.metadata = {}       # key -> value (arrays as lists)
        self.metadata_types = {}  # key -> (vtype, elem_type or None)
        self.tensors = {}        # name -> dict(ne, type, offset)
        self._parse()

    def _take(self, fmt):
        vals = struct.unpack_from(fmt, self.buf, self.pos)
        self.pos += struct.calcsize(fmt)
        return vals if len(vals) > 1 else vals[0]

    def _string(self):
        n = self._take("<Q")
        s = self.buf[self.pos:self.pos + n]
        self.pos += n
        return s.decode("utf-8")

    def _value(self, vtype):
        if vtype in _SCALAR_FORMAT:
            return self._take(_SCALAR_FORMAT[vtype])
        if vtype == STRING:
            return self._string()
        raise ValueError(f"bad value type {vtype}")

    def _parse(self):
        if self.buf[:4] != GGUF_MAGIC:
            raise ValueError("not a GGUF file")
        self.pos = 4
        self.version, n_tensors, n_kv = self._take("<IQQ")
        for _ in range(n_kv):
            key = self._string()
            vtype = self._take("<I")
            if vtype == ARRAY:
                elem_type, count = self._take("<IQ")
                self.metadata[key] = [self._value(elem_type) for _ in range(count)]
                self.metadata_types[key] = (ARRAY, elem_type)
            else:
                self.metadata[key] = self._value(vtype)
                self.metadata_types[key] = (vtype, None)
        for _ in range(n_tensors):
            name = self._string()
            n_dims = self._take("<I")
            ne = list(struct.unpack_from(f"<{n_dims}Q", self.buf, self.pos))
            self.pos += 8 * n_dims
            ggml_type, offset = self._take("<IQ")
            self.tensors[name] = {"ne": ne, "type": ggml_type, "offset": offset}
        self.alignment = self.metadata.get("general.alignment", GGUF_DEFAULT_ALIGNMENT)
        self.data_start = align_up(self.pos, self.alignment)

    def shape(self, name):
        """numpy shape: ne reversed."""
        return tuple(reversed(self.tensors[name]["ne"]))

    def raw(self, name):
        t = self.tensors[name]
        n = int(np.prod(t["ne"]))
        start = self.data_start + t["offset"]
        return self.buf[start:start + quants.ggml_nbytes(t["type"], n)]

    def tensor(self, name):
        """Values as float32 in numpy order (dequantized)."""
        t = self.tensors[name]
        n = int(np.prod(t["ne"]))
        return quants.decode(self.raw(name), t["type"], n).reshape(self.shape(name))
