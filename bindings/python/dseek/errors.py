"""Exceptions: one class per dseek_status, all under dseek.Error.

A failed call raises the class of its status with the library's per-thread
message (dseek_last_error(), which names the file and field at fault). Each
class also derives from the closest built-in exception, so generic handlers
(``except ValueError``, ``except OSError``, ``except MemoryError``) work too.
"""

from __future__ import annotations

from typing import Dict, NoReturn, Type

from . import _api


class Error(Exception):
    """A dseek call failed. ``status`` is the dseek_status code, ``message``
    the library's explanation."""

    status: int = -1

    def __init__(self, message: str, status: int | None = None) -> None:
        super().__init__(message)
        if status is not None:
            self.status = status
        self.message = message

    def __str__(self) -> str:
        return self.message


class InvalidArgumentError(Error, ValueError):
    """DSEEK_ERR_INVALID_ARG: a bad argument (also: a closed handle, invalid UTF-8 text)."""
    status = _api.ERR_INVALID_ARG


class IoError(Error, OSError):
    """DSEEK_ERR_IO: a file could not be opened, read, written or mapped."""
    status = _api.ERR_IO


class FormatError(Error):
    """DSEEK_ERR_FORMAT: a file is malformed (the message names the file and the field)."""
    status = _api.ERR_FORMAT


class UnsupportedError(Error):
    """DSEEK_ERR_UNSUPPORTED: well-formed input this version cannot handle (or no tokenizer)."""
    status = _api.ERR_UNSUPPORTED


class NoMemoryError(Error, MemoryError):
    """DSEEK_ERR_NO_MEMORY: an allocation failed or would exceed a limit."""
    status = _api.ERR_NO_MEMORY


class NotFoundError(Error, LookupError):
    """DSEEK_ERR_NOT_FOUND: a named key, tensor or item does not exist."""
    status = _api.ERR_NOT_FOUND


class TypeMismatchError(Error, TypeError):
    """DSEEK_ERR_TYPE: a value exists but has another type."""
    status = _api.ERR_TYPE


class ContextFullError(Error):
    """DSEEK_ERR_CONTEXT_FULL: the context has no room for the tokens."""
    status = _api.ERR_CONTEXT_FULL


class CancelledError(Error):
    """DSEEK_ERR_CANCELLED: stopped by the host (a callback or dseek_cancel)."""
    status = _api.ERR_CANCELLED


class InternalError(Error):
    """DSEEK_ERR_INTERNAL: a bug in dseek; please report it."""
    status = _api.ERR_INTERNAL


class BufferTooSmallError(Error):
    """DSEEK_ERR_BUFFER_TOO_SMALL (the package sizes buffers itself; seen only on a library bug)."""
    status = _api.ERR_BUFFER_TOO_SMALL


_BY_STATUS: Dict[int, Type[Error]] = {
    cls.status: cls
    for cls in (InvalidArgumentError, IoError, FormatError, UnsupportedError, NoMemoryError, NotFoundError,
                TypeMismatchError, ContextFullError, CancelledError, InternalError, BufferTooSmallError)
}


def status_string(status: int) -> str:
    """The library's English name of a status ("format error", ...)."""
    return _api.lib.dseek_status_string(status).decode("utf-8", "replace")


def error_for(status: int, message: str | None = None) -> Error:
    """The exception for `status`; its message is `message`, else the calling
    thread's dseek_last_error(), else the status name."""
    if message is None:
        message = _api.lib.dseek_last_error().decode("utf-8", "replace")
    if not message:
        message = status_string(status)
    return _BY_STATUS.get(status, Error)(message, status)


def check(status: int) -> None:
    """Raise the matching exception unless status is DSEEK_OK."""
    if status != _api.OK:
        raise error_for(status)


def raise_closed(what: str) -> NoReturn:
    raise InvalidArgumentError(f"{what} is closed", _api.ERR_INVALID_ARG)
