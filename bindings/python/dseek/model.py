"""dseek.Model: a loaded model (weights, hyperparameters, tokenizer, chat
template) over dseek_model_*, dseek_tokenize / dseek_detokenize /
dseek_token_piece and dseek_chat_render.

Output buffers follow the header's rule: a first call with capacity 0 reports
the size needed (DSEEK_ERR_BUFFER_TOO_SMALL), a second call fills a buffer of
that size.
"""

from __future__ import annotations

import ctypes
import os
import weakref
from ctypes import byref, c_char_p, c_int64, c_size_t, c_void_p
from typing import Any, Callable, Iterable, List, Mapping, Optional, Sequence, Tuple, Union

from . import _api
from ._arrays import int32_input
from .errors import InvalidArgumentError, check, error_for, raise_closed

lib = _api.lib

Text = Union[str, bytes]
Message = Union[Mapping[str, Optional[str]], Tuple[str, Optional[str]], Sequence[Optional[str]]]


def encode_text(text: Text, what: str = "text") -> bytes:
    """UTF-8 bytes of `text`. A str is encoded with "surrogatepass", so lone
    surrogates reach the library as invalid UTF-8 and are reported there
    (InvalidArgumentError with the byte offset); bytes pass unchanged."""
    if isinstance(text, bytes):
        return text
    if isinstance(text, str):
        return text.encode("utf-8", "surrogatepass")
    raise TypeError(f"{what} must be str or bytes, not {type(text).__name__}")


def encode_c_string(text: Text, what: str) -> bytes:
    """As encode_text, for a NUL-terminated C string: a NUL inside is refused."""
    data = encode_text(text, what)
    if b"\0" in data:
        raise InvalidArgumentError(f"{what} contains a NUL character, which a C string cannot hold")
    return data


class Model:
    """A model loaded from a GGUF file or a Hugging Face checkpoint directory.

    Read-only once loaded: it may be shared by many contexts and threads.
    Release it with close() or a ``with`` block; closing a model first closes
    the contexts still open on it. ``progress(fraction) -> bool``, if given,
    is called during the load; returning True cancels it (CancelledError).
    """

    def __init__(self, path: Union[str, os.PathLike], vocab_only: bool = False, mmap: bool = True,
                 progress: Optional[Callable[[float], Any]] = None) -> None:
        self._handle: Optional[int] = None
        self._contexts: "weakref.WeakSet[Any]" = weakref.WeakSet()
        self.path = os.fspath(path)
        opts = _api.ModelOptions()
        check(lib.dseek_model_options_init(byref(opts), ctypes.sizeof(opts)))
        opts.vocab_only = 1 if vocab_only else 0
        opts.no_mmap = 0 if mmap else 1
        raised: List[BaseException] = []
        if progress is not None:
            def on_progress(fraction: float, _user: Optional[int]) -> int:
                try:
                    return 1 if progress(fraction) else 0
                except BaseException as e:  # cannot cross C: cancel, re-raise below
                    raised.append(e)
                    return 1
            opts.progress = _api.progress_fn(on_progress)
        out = c_void_p()
        status = lib.dseek_model_load(os.fsencode(self.path), byref(opts), byref(out))
        if raised:
            raise raised[0]
        check(status)
        self._handle = out.value

    # -- lifetime ---------------------------------------------------------

    @property
    def handle(self) -> int:
        """The dseek_model pointer (for other ctypes code); raises when closed."""
        if self._handle is None:
            raise_closed("model")
        return self._handle

    @property
    def closed(self) -> bool:
        return self._handle is None

    def close(self) -> None:
        """Free the model (and first every context still open on it). Idempotent."""
        if self._handle is None:
            return
        for ctx in list(self._contexts):
            ctx.close()
        handle, self._handle = self._handle, None
        lib.dseek_model_free(handle)

    def __enter__(self) -> "Model":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    def __del__(self) -> None:
        try:
            self.close()
        except Exception:  # interpreter shutdown: the library may be gone
            pass

    def __repr__(self) -> str:
        if self._handle is None:
            return f"<dseek.Model {self.path!r} closed>"
        return (f"<dseek.Model {self.path!r} arch={self.arch!r} n_vocab={self.n_vocab} "
                f"n_layer={self.n_layer} n_params={self.n_params}>")

    # -- facts ------------------------------------------------------------

    @property
    def arch(self) -> str:
        """Architecture name as in GGUF ("qwen2", "llama", "deepseek2"); "" when vocab-only."""
        return (lib.dseek_model_arch(self.handle) or b"").decode("utf-8", "replace")

    @property
    def n_vocab(self) -> int:
        """Logits per token (0 when vocab-only)."""
        return int(lib.dseek_model_n_vocab(self.handle))

    @property
    def n_embd(self) -> int:
        return int(lib.dseek_model_n_embd(self.handle))

    @property
    def n_layer(self) -> int:
        return int(lib.dseek_model_n_layer(self.handle))

    @property
    def n_ctx_train(self) -> int:
        """The context length the model was trained for."""
        return int(lib.dseek_model_n_ctx_train(self.handle))

    @property
    def n_params(self) -> int:
        return int(lib.dseek_model_n_params(self.handle))

    @property
    def weight_bytes(self) -> int:
        """Bytes of weights, as stored."""
        return int(lib.dseek_model_weight_bytes(self.handle))

    # -- tokenizer --------------------------------------------------------

    @property
    def has_vocab(self) -> bool:
        """True if the model carries a tokenizer (text functions need one)."""
        return bool(lib.dseek_model_has_vocab(self.handle))

    @property
    def bos(self) -> Optional[int]:
        """The beginning-of-sequence token id, or None."""
        t = int(lib.dseek_token_bos(self.handle))
        return t if t >= 0 else None

    @property
    def eos(self) -> Optional[int]:
        """The end-of-sequence token id, or None."""
        t = int(lib.dseek_token_eos(self.handle))
        return t if t >= 0 else None

    def is_eog(self, token: int) -> bool:
        """True if `token` ends generation (EOS and the model's other end tokens)."""
        return bool(lib.dseek_token_is_eog(self.handle, int(token)))

    def tokenize(self, text: Text, add_special: bool = True, parse_special: bool = True) -> List[int]:
        """Token ids of `text` (str, or UTF-8 bytes).

        add_special: prepend BOS when the model asks for it. parse_special:
        special tokens written in the text (such as "<｜User｜>") become
        tokens; otherwise they are plain text. Invalid UTF-8 raises
        InvalidArgumentError naming the byte offset."""
        h = self.handle
        data = encode_text(text)
        flags = (1 if add_special else 0, 1 if parse_special else 0)
        need = c_int64(0)
        status = lib.dseek_tokenize(h, data, len(data), *flags, None, 0, byref(need))
        if status == _api.OK:
            return []
        if status != _api.ERR_BUFFER_TOO_SMALL:
            raise error_for(status)
        ids = (ctypes.c_int32 * need.value)()
        check(lib.dseek_tokenize(h, data, len(data), *flags, ids, need.value, byref(need)))
        return list(ids[:need.value])

    def detokenize(self, ids: Iterable[int]) -> str:
        """The text of a token sequence. Tokens that end inside a UTF-8
        sequence are completed by the following ones; bytes that never form
        valid UTF-8 become U+FFFD."""
        h = self.handle
        arr, n = int32_input(ids)
        length = c_size_t(0)
        status = lib.dseek_detokenize(h, arr, n, None, 0, byref(length))
        if status == _api.OK and length.value == 0:
            return ""
        if status not in (_api.OK, _api.ERR_BUFFER_TOO_SMALL):
            raise error_for(status)
        buf = ctypes.create_string_buffer(length.value + 1)  # + the NUL
        check(lib.dseek_detokenize(h, arr, n, buf, len(buf), byref(length)))
        return buf.raw[:length.value].decode("utf-8", "replace")

    def token_piece(self, token: int) -> bytes:
        """The raw bytes of one token (possibly part of a UTF-8 sequence)."""
        piece = c_void_p()
        length = c_size_t(0)
        check(lib.dseek_token_piece(self.handle, int(token), byref(piece), byref(length)))
        return ctypes.string_at(piece.value, length.value) if length.value else b""

    # -- chat template ----------------------------------------------------

    def chat_prompt(self, messages: Iterable[Message], add_generation_prompt: bool = True) -> str:
        """Render a conversation with the model's chat template (DeepSeek R1 /
        V3 families; earlier reasoning is stripped from assistant turns).

        messages: dicts {"role": ..., "content": ...} or (role, content)
        pairs; roles are "system", "user", "assistant" or "tool". With
        add_generation_prompt the text ends where the reply starts (for R1,
        inside "<think>\\n"). The text begins with the BOS token's text, so
        tokenize it with add_special=False."""
        h = self.handle
        roles: List[Optional[bytes]] = []
        contents: List[Optional[bytes]] = []
        for i, m in enumerate(messages):
            if isinstance(m, Mapping):
                role, content = m.get("role"), m.get("content")
            else:
                role, content = m
            if role is None:
                raise InvalidArgumentError(f"chat message {i} has no role")
            roles.append(encode_c_string(role, f"chat message {i} role"))
            contents.append(None if content is None else encode_c_string(content, f"chat message {i} content"))
        n = len(roles)
        c_roles = (c_char_p * max(n, 1))(*roles)
        c_contents = (c_char_p * max(n, 1))(*contents)
        gen = 1 if add_generation_prompt else 0
        length = c_size_t(0)
        status = lib.dseek_chat_render(h, c_roles, c_contents, n, gen, None, 0, byref(length))
        if status not in (_api.OK, _api.ERR_BUFFER_TOO_SMALL):
            raise error_for(status)
        buf = ctypes.create_string_buffer(length.value + 1)
        check(lib.dseek_chat_render(h, c_roles, c_contents, n, gen, buf, len(buf), byref(length)))
        return buf.raw[:length.value].decode("utf-8", "replace")


__all__ = ["Model"]
