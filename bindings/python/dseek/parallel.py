"""Parallel samples of one prompt (dseek_generate_parallel) and
self-consistency voting over their answers (dseek_samples_vote).

The samples are decoded together: the prompt is evaluated once and its KV
cache shared. Sample i uses a clone of the sampler seeded with seeds[i]
(default i), so its text equals what Context.generate gives with that seed.
"""

from __future__ import annotations

import collections
import ctypes
from ctypes import byref, c_char_p, c_int64, c_size_t, c_uint64, c_void_p
from typing import Any, Callable, List, Optional, Sequence, Tuple

from . import _api
from .errors import InvalidArgumentError, check, raise_closed
from .generation import Generation, Request

lib = _api.lib


def _text(getter: Any, handle: int, i: int) -> str:
    length = c_size_t(0)
    ptr = getter(handle, i, byref(length))
    return ctypes.string_at(ptr, length.value).decode("utf-8", "replace") if ptr and length.value else ""


class Samples(list):
    """The samples of one generate_parallel call: a list of Generation, plus
    vote(). Holds the library's samples until close() (or collection)."""

    def __init__(self, handle: int) -> None:
        super().__init__()
        self._handle: Optional[int] = handle
        self.answers: List[Optional[str]] = []  # per sample, filled by vote()
        for i in range(int(lib.dseek_samples_count(handle))):
            result = _api.GenerateResult()
            result.struct_size = ctypes.sizeof(result)
            check(lib.dseek_samples_result(handle, i, byref(result)))
            self.append(Generation(_text(lib.dseek_samples_content, handle, i),
                                   _text(lib.dseek_samples_reasoning, handle, i), result))

    def vote(self, extract: Optional[Callable[[str, str], Optional[str]]] = None) -> Tuple[Optional[str], int]:
        """Self-consistency: the most frequent answer and its vote count (ties:
        the answer that appeared first); (None, 0) when no sample has one.

        extract(content, reasoning) -> answer or None; by default the
        library's: the content of the last \\boxed{...}, else the last
        non-empty line of the content, trimmed. ``answers`` then holds each
        sample's answer."""
        if extract is not None:
            self.answers = [extract(g.content, g.reasoning) for g in self]
            counts = collections.Counter(a for a in self.answers if a is not None)
            if not counts:
                return None, 0
            best = max(counts.values())
            winner = next(a for a in self.answers if a is not None and counts[a] == best)
            return winner, best
        if self._handle is None:
            raise_closed("samples")
        answer = c_char_p()
        votes = c_int64(0)
        check(lib.dseek_samples_vote(self._handle, None, None, byref(answer), byref(votes)))
        self.answers = [None if a is None else a.decode("utf-8", "replace")
                        for a in (lib.dseek_samples_answer(self._handle, i) for i in range(len(self)))]
        return (None if answer.value is None else answer.value.decode("utf-8", "replace")), int(votes.value)

    def close(self) -> None:
        """Release the library's copy (the Generation objects stay)."""
        handle, self._handle = self._handle, None
        if handle is not None:
            lib.dseek_samples_free(handle)

    def __del__(self) -> None:
        try:
            self.close()
        except Exception:
            pass


def generate_parallel(ctx_handle: int, request: Request, n_samples: int,
                      seeds: Optional[Sequence[int]]) -> Samples:
    """Run dseek_generate_parallel for a prepared request (no streaming)."""
    c_seeds = None
    if seeds is not None:
        if len(seeds) != n_samples:
            raise InvalidArgumentError(f"generate_parallel: {len(seeds)} seeds for {n_samples} samples")
        c_seeds = (c_uint64 * n_samples)(*[int(s) for s in seeds])
    out = c_void_p()
    check(lib.dseek_generate_parallel(ctx_handle, request.prompt, int(n_samples), c_seeds,
                                      byref(request.options), byref(out)))
    return Samples(out.value)
