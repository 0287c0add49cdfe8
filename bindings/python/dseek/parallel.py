"""Parallel samples of one prompt (dseek_generate_parallel) and
self-consistency voting over their answers (dseek_samples_vote), guided by
confidence after DeepConf (arXiv 2508.15260): confidence-weighted votes,
top-eta% filtering, online early stop of weak chains and an adaptive count
(dseek_confidence_options).

The samples are decoded together: the prompt is evaluated once and its KV
cache shared. Sample i uses a clone of the sampler seeded with seeds[i]
(default i), so its text equals what Context.generate gives with that seed.
"""

from __future__ import annotations

import collections
import ctypes
from ctypes import POINTER, byref, c_char_p, c_double, c_float, c_int64, c_size_t, c_uint64, c_void_p
from typing import Any, Callable, Dict, List, Optional, Sequence, Tuple, Union

from . import _api
from .errors import InvalidArgumentError, check, raise_closed
from .generation import Generation, Request

lib = _api.lib

MEASURES = {"lowest_group": 0, "mean": 1, "bottom10": 2, "tail": 3}
EARLY_STOP = {"low": 90.0, "high": 10.0}  # DeepConf-low keeps the top 10% of the warm-up, -high the top 90%


def confidence_options(early_stop: Union[None, bool, str, float] = None, consensus: Optional[float] = None,
                       window: int = 2048, warmup: int = 16, width: Optional[int] = None, top_k: int = 20,
                       tail: int = 2048, measure: str = "lowest_group", weighted: bool = True,
                       keep_top: float = 1.0) -> _api.ConfidenceOptions:
    """A dseek_confidence_options. early_stop: None/False (off), True or
    "low" (threshold at the 90th percentile of the warm-up chains' lowest
    group confidence), "high" (10th), or a percentile 0..100."""
    o = _api.ConfidenceOptions()
    check(lib.dseek_confidence_options_init(byref(o), ctypes.sizeof(o)))
    if early_stop is not None and early_stop is not False:
        if early_stop is True:
            early_stop = "low"
        if isinstance(early_stop, str):
            if early_stop not in EARLY_STOP:
                raise InvalidArgumentError(f"early_stop must be 'low', 'high', a percentile or None, not {early_stop!r}")
            early_stop = EARLY_STOP[early_stop]
        o.early_stop = 1
        o.stop_percentile = float(early_stop)
    if measure not in MEASURES:
        raise InvalidArgumentError(f"measure must be one of {sorted(MEASURES)}, not {measure!r}")
    o.measure = MEASURES[measure]
    o.consensus = float(consensus or 0.0)
    o.window, o.n_warmup, o.width, o.top_k, o.tail = int(window), int(warmup), int(width or 0), int(top_k), int(tail)
    o.weighted = 1 if weighted else 0
    o.keep_top = float(keep_top)
    return o


def _text(getter: Any, handle: int, i: int) -> str:
    length = c_size_t(0)
    ptr = getter(handle, i, byref(length))
    return ctypes.string_at(ptr, length.value).decode("utf-8", "replace") if ptr and length.value else ""


class Samples(list):
    """The samples of one generate_parallel call: a list of Generation, plus
    vote(). Holds the library's samples until close() (or collection)."""

    def __init__(self, handle: int, confidence: Optional[_api.ConfidenceOptions] = None) -> None:
        super().__init__()
        self._handle: Optional[int] = handle
        self._confidence = confidence
        self.answers: List[Optional[str]] = []  # per sample, filled by vote()
        threshold = float(lib.dseek_samples_stop_threshold(handle))
        #: the early-stop threshold the warm-up chains set (None without early_stop)
        self.stop_threshold: Optional[float] = None if threshold != threshold else threshold
        for i in range(int(lib.dseek_samples_count(handle))):
            result = _api.GenerateResult()
            result.struct_size = ctypes.sizeof(result)
            check(lib.dseek_samples_result(handle, i, byref(result)))
            g = Generation(_text(lib.dseek_samples_content, handle, i),
                           _text(lib.dseek_samples_reasoning, handle, i), result)
            logprobs, confs, n = POINTER(c_float)(), POINTER(c_float)(), c_int64(0)
            check(lib.dseek_samples_tokens(handle, i, byref(logprobs), byref(confs), byref(n)))
            g.logprobs = [float(logprobs[k]) for k in range(n.value)]
            g.confidences = [float(confs[k]) for k in range(n.value)]
            self.append(g)

    @property
    def tokens_spent(self) -> int:
        """Generated tokens of all chains together."""
        return sum(g.n_generated_tokens for g in self)

    def vote_confidence(self, weighted: bool = True, keep_top: Optional[float] = None,
                        measure: Optional[str] = None) -> Tuple[Optional[str], float, float]:
        """Confidence-weighted vote (DeepConf eq. 7-8; the library's default
        extractor): (answer, weight, share). Chains stopped for low confidence
        or a settled vote do not vote; keep_top keeps only that most confident
        fraction; measure as for confidence_options (default: the call's)."""
        if self._handle is None:
            raise_closed("samples")
        o = _api.ConfidenceOptions()
        if self._confidence is not None:
            ctypes.pointer(o)[0] = self._confidence
        else:
            check(lib.dseek_confidence_options_init(byref(o), ctypes.sizeof(o)))
        o.weighted = 1 if weighted else 0
        if keep_top is not None:
            o.keep_top = float(keep_top)
        if measure is not None:
            if measure not in MEASURES:
                raise InvalidArgumentError(f"measure must be one of {sorted(MEASURES)}, not {measure!r}")
            o.measure = MEASURES[measure]
        answer, weight, share = c_char_p(), c_double(0), c_double(0)
        check(lib.dseek_samples_vote_confidence(self._handle, None, None, byref(o), byref(answer), byref(weight),
                                                byref(share)))
        self.answers = [None if a is None else a.decode("utf-8", "replace")
                        for a in (lib.dseek_samples_answer(self._handle, i) for i in range(len(self)))]
        text = None if answer.value is None else answer.value.decode("utf-8", "replace")
        return text, float(weight.value), float(share.value)

    def vote(self, extract: Optional[Callable[[str, str], Optional[str]]] = None) -> Tuple[Optional[str], int]:
        """Self-consistency: the most frequent answer and its vote count (ties:
        the answer that appeared first); (None, 0) when no sample has one.

        extract(content, reasoning) -> answer or None; by default the
        library's: the content of the last \\boxed{...}, else the last
        non-empty line of the content, trimmed. ``answers`` then holds each
        sample's answer."""
        if extract is not None:
            voting = [g.stop_reason not in ("low_confidence", "settled") for g in self]
            self.answers = [extract(g.content, g.reasoning) if v else None for g, v in zip(self, voting)]
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


def generate_parallel(ctx_handle: int, request: Request, n_samples: int, seeds: Optional[Sequence[int]],
                      confidence: Optional[_api.ConfidenceOptions] = None) -> Samples:
    """Run dseek_generate_parallel for a prepared request (no streaming)."""
    if confidence is not None:
        request.options.confidence = ctypes.cast(byref(confidence), c_void_p).value
    c_seeds = None
    if seeds is not None:
        if len(seeds) != n_samples:
            raise InvalidArgumentError(f"generate_parallel: {len(seeds)} seeds for {n_samples} samples")
        c_seeds = (c_uint64 * n_samples)(*[int(s) for s in seeds])
    out = c_void_p()
    check(lib.dseek_generate_parallel(ctx_handle, request.prompt, int(n_samples), c_seeds,
                                      byref(request.options), byref(out)))
    return Samples(out.value, confidence)
