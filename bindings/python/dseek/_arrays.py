"""Moving arrays across the C boundary, with numpy when it is importable.

Logits leave the library as float32 rows of n_vocab values. They are copied
(the library's pointer is valid only until the next call on the context) into

* a ``numpy.ndarray`` of dtype float32, shape (n, n_vocab) or (n_vocab,), or,
  without numpy,
* a ``memoryview`` of format "f" with the same ``shape``, backed by an
  ``array.array('f')``: ``view[i, j]`` is logit j of row i (row-major),
  ``view.tolist()`` gives nested lists, ``view.obj`` the flat array.

numpy is looked up at each call (a cheap sys.modules hit), so a host, or a
test, that hides it gets the fallback.
"""

from __future__ import annotations

import array
import ctypes
from ctypes import POINTER, c_float, c_int32
from typing import Any, Iterable, Sequence, Tuple

from .errors import InvalidArgumentError


def numpy_or_none() -> Any:
    """The numpy module, or None when it cannot be imported."""
    try:
        import numpy
    except ImportError:
        return None
    return numpy


def float_rows(rows: Sequence[Any], n_vocab: int, squeeze: bool) -> Any:
    """Copy len(rows) C rows (POINTER(c_float), n_vocab each) into one
    row-major float32 array; `squeeze` drops the row axis of a single row."""
    n = len(rows)
    shape: Tuple[int, ...] = (n_vocab,) if squeeze else (n, n_vocab)
    row_bytes = n_vocab * ctypes.sizeof(c_float)
    np = numpy_or_none()
    if np is not None:
        out = np.empty((n, n_vocab), dtype=np.float32)
        base = out.ctypes.data
        for i, row in enumerate(rows):
            ctypes.memmove(base + i * row_bytes, row, row_bytes)
        return out.reshape(shape)
    flat = array.array("f", bytes(n * row_bytes))
    base = flat.buffer_info()[0]
    for i, row in enumerate(rows):
        ctypes.memmove(base + i * row_bytes, row, row_bytes)
    return memoryview(flat).cast("B").cast("f", shape)


def float_input(values: Any) -> Tuple[Any, Any, int]:
    """A float32 C view of `values` (numpy array, buffer of format "f", or any
    iterable of numbers): (object to keep alive, POINTER(c_float), count)."""
    np = numpy_or_none()
    if np is not None and isinstance(values, np.ndarray):
        a = np.ascontiguousarray(values, dtype=np.float32).reshape(-1)
        return a, a.ctypes.data_as(POINTER(c_float)), int(a.size)
    flat = array.array("f")
    try:
        view = memoryview(values)
    except TypeError:
        view = None
    if view is not None and view.format in ("f", "<f", "=f") and view.itemsize == 4:
        flat.frombytes(view.cast("B") if view.c_contiguous else view.tobytes())
    else:
        flat.extend(float(v) for v in (view.tolist() if view is not None else values))
    n = len(flat)
    if n == 0:
        return flat, None, 0
    buf = (c_float * n).from_buffer(flat)
    return (flat, buf), ctypes.cast(buf, POINTER(c_float)), n


def int32_input(values: Iterable[int]) -> Tuple[Any, int]:
    """A C int32 array holding `values` (ints in range) and its length."""
    items = [int(v) for v in values]
    for v in items:
        if not -2**31 <= v < 2**31:
            raise InvalidArgumentError(f"token id {v} does not fit in int32")
    return (c_int32 * len(items))(*items), len(items)
