"""dseek: run DeepSeek-R1-family language models on CPUs (pure-ctypes
binding of the C library libdseek; see README.md for how it is found).

    import dseek
    with dseek.Model("model.gguf") as model, dseek.Context(model) as ctx:
        answer = ctx.generate("What is 17 * 23?", chat=True, temperature=0)
        print(answer.reasoning, answer)

Every failing call raises a subclass of dseek.Error carrying the library's
status and message.
"""

from __future__ import annotations

from typing import Callable, Optional, Union

from . import _api
from .context import Context
from .errors import (BufferTooSmallError, CancelledError, ContextFullError, Error, FormatError, InternalError,
                     InvalidArgumentError, IoError, NoMemoryError, NotFoundError, TypeMismatchError,
                     UnsupportedError, status_string)
from .generation import Generation, Stream
from .model import Model
from .parallel import Samples
from .sampler import Sampler
from .tiny_r1 import tiny_r1_path

__version__ = "0.1.0"

library_path: str = _api.library_path
"""The path (or name) of the libdseek that was loaded."""

LOG_LEVELS = {"none": 0, "error": 1, "warn": 2, "info": 3, "debug": 4}
_LOG_NAMES = {v: k for k, v in LOG_LEVELS.items()}


def version() -> str:
    """The library's version, "MAJOR.MINOR.PATCH"."""
    return _api.lib.dseek_version().decode("ascii")


def version_number() -> int:
    """The library's version as MAJOR*10000 + MINOR*100 + PATCH."""
    return int(_api.lib.dseek_version_number())


def set_log_level(level: Union[str, int]) -> None:
    """Deliver library messages at or below `level` ("none" — the default —,
    "error", "warn", "info", "debug", or 0-4) to the log sink (stderr unless
    set_log_callback installed one). Process-wide."""
    if isinstance(level, str):
        if level.lower() not in LOG_LEVELS:
            raise InvalidArgumentError(f"log level must be one of {list(LOG_LEVELS)}, not {level!r}")
        level = LOG_LEVELS[level.lower()]
    _api.lib.dseek_set_log_level(int(level))


_log_sink = None  # the installed C callback, referenced so it outlives every call


def set_log_callback(fn: Optional[Callable[[str, str], object]]) -> None:
    """Send library log messages to fn(level_name, message) instead of
    stderr; None restores stderr. Process-wide; fn may be called from the
    library's threads and must not raise (exceptions are ignored)."""
    global _log_sink
    if fn is None:
        _api.lib.dseek_set_log_callback(_api.log_fn(), None)
        _log_sink = None
        return

    def sink(level: int, message: Optional[bytes], _user: Optional[int]) -> None:
        try:
            fn(_LOG_NAMES.get(level, str(level)), (message or b"").decode("utf-8", "replace"))
        except BaseException:
            pass

    new_sink = _api.log_fn(sink)
    _api.lib.dseek_set_log_callback(new_sink, None)
    _log_sink = new_sink


__all__ = [
    "Model", "Context", "Sampler", "Generation", "Stream", "Samples",
    "Error", "InvalidArgumentError", "IoError", "FormatError", "UnsupportedError", "NoMemoryError",
    "NotFoundError", "TypeMismatchError", "ContextFullError", "CancelledError", "InternalError",
    "BufferTooSmallError", "status_string",
    "version", "version_number", "set_log_level", "set_log_callback", "library_path", "LOG_LEVELS",
    "tiny_r1_path",
]
