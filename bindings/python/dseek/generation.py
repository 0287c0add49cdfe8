"""Generation over dseek_generate: the Generation result, one call collecting
its text, and Stream, which hands the pieces to the caller as they come.

dseek_generate delivers text only through its stream callback, so both forms
collect pieces there. A ctypes callback cannot yield to a Python iterator, so
a Stream runs dseek_generate on a worker thread (ctypes releases the GIL
during the call) and passes pieces through a queue of one slot: the library
computes at most one piece ahead of the consumer. Closing a stream early sets
a flag the callback answers with non-zero (DSEEK_STOP_CALLBACK), asks
dseek_cancel to stop within one token (prompt evaluation included), drains
the queue so the callback is never left blocked, and joins the thread.
"""

from __future__ import annotations

import ctypes
import json
import queue
import threading
from ctypes import byref, c_char_p
from typing import Any, Callable, Dict, Iterator, List, Optional, Sequence, Tuple, Union

from . import _api
from .errors import InvalidArgumentError, check, error_for
from .model import encode_c_string

lib = _api.lib

KIND_NAMES = {_api.PIECE_REASONING: "reasoning", _api.PIECE_CONTENT: "content"}
STOP_REASONS = {0: "none", 1: "eos", 2: "max_tokens", 3: "stop_string", 4: "callback", 5: "context_full",
                6: "low_confidence", 7: "settled"}
REASONING_MODES = {"auto": 0, "off": 1, "open": 2}

Piece = Tuple[str, str]


class Generation(str):
    """The answer of a generation: a ``str`` whose value is the content (the
    text after the reasoning), with

    * ``reasoning``: the text inside <think> ... </think> (tags not included),
    * ``content``: the answer again, as a plain str,
    * ``stop_reason``: "eos", "max_tokens", "stop_string", "callback" or
      "context_full",
    * counts ``n_prompt_tokens``, ``n_generated_tokens`` (reasoning and answer),
      ``n_reasoning_tokens``, ``n_cached_tokens`` (prompt tokens reused from
      the cache), ``n_forced_tokens``, ``n_draft_tokens``, ``n_draft_accepted``,
    * timings ``prompt_seconds``, ``generate_seconds`` and ``tokens_per_second``,
    * confidence of the sampled tokens (DeepConf, arXiv 2508.15260):
      ``mean_confidence``, ``lowest_group_confidence``,
      ``bottom10_group_confidence``, ``tail_confidence``, ``sum_logprob`` over
      ``n_scored_tokens`` tokens, and per token ``logprobs`` and
      ``confidences`` (lists of float; empty with speculative decoding).
    """

    reasoning: str
    stop_reason: str
    n_prompt_tokens: int
    n_generated_tokens: int
    n_reasoning_tokens: int
    n_cached_tokens: int
    n_forced_tokens: int
    n_draft_tokens: int
    n_draft_accepted: int
    prompt_seconds: float
    generate_seconds: float

    def __new__(cls, content: str, reasoning: str = "",
                result: Optional[_api.GenerateResult] = None) -> "Generation":
        self = super().__new__(cls, content)
        self.reasoning = reasoning
        if result is None:
            result = _api.GenerateResult()
        self.stop_reason = STOP_REASONS.get(result.stop_reason, str(result.stop_reason))
        for name in ("n_prompt_tokens", "n_generated_tokens", "n_reasoning_tokens", "n_cached_tokens",
                     "n_forced_tokens", "n_draft_tokens", "n_draft_accepted"):
            setattr(self, name, int(getattr(result, name)))
        self.prompt_seconds = float(result.prompt_seconds)
        self.generate_seconds = float(result.generate_seconds)
        for name in ("mean_confidence", "lowest_group_confidence", "bottom10_group_confidence",
                     "tail_confidence", "sum_logprob"):
            setattr(self, name, float(getattr(result, name)))
        self.n_scored_tokens = int(result.n_scored_tokens)
        self.logprobs: List[float] = []
        self.confidences: List[float] = []
        return self

    def __reduce__(self) -> Tuple[Any, ...]:  # copy and pickle: the attributes travel with the text
        return _restore_generation, (str.__str__(self), dict(self.__dict__))

    @property
    def content(self) -> str:
        return str.__str__(self)

    @property
    def tokens_per_second(self) -> float:
        """Generated tokens per second of generation time (0 if none)."""
        return self.n_generated_tokens / self.generate_seconds if self.generate_seconds > 0 else 0.0


def _restore_generation(content: str, attributes: Dict[str, Any]) -> Generation:
    g = Generation(content)
    g.__dict__.update(attributes)
    return g


class Request:
    """One dseek_generate call, prepared: options, the C strings they point
    to, and the sampler (freed by close() when the request built it)."""

    def __init__(self, ctx_handle: int, prompt: bytes, *, max_tokens: int, sampler: Any, owns_sampler: bool,
                 stop: Union[None, str, Sequence[str]], reasoning: Union[str, int], add_special: bool,
                 parse_special: bool, max_thinking_tokens: Optional[int], min_thinking_tokens: int,
                 think_close: Optional[str], think_continue: Optional[str], draft: Optional[int],
                 n_draft: Optional[int], grammar: Optional[str] = None, json_schema: Any = None,
                 constrain_after_reasoning: bool = True, trigger: Optional[str] = None,
                 use_mtp: bool = False, context_shift: bool = False, n_keep: int = 0) -> None:
        self.ctx_handle = ctx_handle
        self.prompt = prompt
        self.sampler = sampler
        self.owns_sampler = owns_sampler
        o = _api.GenerateOptions()
        check(lib.dseek_generate_options_init(byref(o), ctypes.sizeof(o)))
        o.max_tokens = int(max_tokens)
        o.sampler = sampler.handle
        stops = [stop] if isinstance(stop, str) else list(stop or [])
        self._stop = (c_char_p * max(len(stops), 1))(*[encode_c_string(s, "stop string") for s in stops])
        o.stop = ctypes.cast(self._stop, ctypes.POINTER(c_char_p)) if stops else None
        o.n_stop = len(stops)
        if isinstance(reasoning, str):
            if reasoning not in REASONING_MODES:
                raise InvalidArgumentError(f"reasoning must be one of {sorted(REASONING_MODES)}, not {reasoning!r}")
            reasoning = REASONING_MODES[reasoning]
        o.reasoning = int(reasoning)
        o.add_special = 1 if add_special else 0
        o.parse_special = 1 if parse_special else 0
        if max_thinking_tokens is not None:
            o.max_thinking_tokens = int(max_thinking_tokens)
        o.min_thinking_tokens = int(min_thinking_tokens)
        self._think = [None if t is None else encode_c_string(t, name)
                       for t, name in ((think_close, "think_close"), (think_continue, "think_continue"))]
        o.think_close, o.think_continue = self._think
        o.draft = draft
        if n_draft is not None:
            o.n_draft = int(n_draft)
        o.use_mtp = 1 if use_mtp else 0
        o.context_shift = 1 if context_shift else 0
        o.n_keep = int(n_keep)
        # constrained answer: GBNF text, or a JSON schema (a str, or a dict/list/bool to serialise)
        if json_schema is not None and not isinstance(json_schema, str):
            json_schema = json.dumps(json_schema)
        self._constraint = [None if t is None else encode_c_string(t, name)
                            for t, name in ((grammar, "grammar"), (json_schema, "json_schema"), (trigger, "trigger"))]
        o.grammar, o.json_schema, o.trigger = self._constraint
        o.constrain_after_reasoning = 1 if constrain_after_reasoning else 0
        self.options = o
        # per-token (logprob, confidence) of the sampled tokens, filled by run() (not with speculation)
        self.logprobs: List[float] = []
        self.confidences: List[float] = []

    def run(self, on_piece: Callable[[int, bytes], bool]) -> Tuple[int, _api.GenerateResult, Optional[BaseException]]:
        """Call dseek_generate; on_piece(kind, utf8) returns True to stop.
        Returns (status, result, exception raised by on_piece)."""
        raised: List[BaseException] = []

        def callback(kind: int, text: Optional[int], length: int, _user: Optional[int]) -> int:
            try:
                return 1 if on_piece(kind, ctypes.string_at(text, length) if length else b"") else 0
            except BaseException as e:  # cannot cross C: stop, re-raise in the caller
                raised.append(e)
                return 1

        def on_token(info: Any, _user: Optional[int]) -> int:
            self.logprobs.append(float(info.contents.logprob))
            self.confidences.append(float(info.contents.confidence))
            return 0

        c_callback = _api.stream_fn(callback)  # referenced until the call returns
        c_on_token = _api.token_fn(on_token)
        self.options.stream = c_callback
        if not self.options.draft and not self.options.use_mtp:
            self.options.on_token = c_on_token
        result = _api.GenerateResult()
        result.struct_size = ctypes.sizeof(result)
        status = lib.dseek_generate(self.ctx_handle, self.prompt, byref(self.options), byref(result))
        self.options.stream = _api.stream_fn()
        self.options.on_token = _api.token_fn()
        return status, result, (raised[0] if raised else None)

    def close(self) -> None:
        if self.owns_sampler and self.sampler is not None:
            self.sampler.close()
        self.sampler = None


def _text(pieces: List[bytes]) -> str:
    return b"".join(pieces).decode("utf-8", "replace")


def generate_collect(request: Request) -> Generation:
    """Run a request in the calling thread; return its Generation."""
    pieces: Dict[int, List[bytes]] = {_api.PIECE_REASONING: [], _api.PIECE_CONTENT: []}

    def on_piece(kind: int, text: bytes) -> bool:
        pieces.setdefault(kind, []).append(text)
        return False

    try:
        status, result, raised = request.run(on_piece)
    finally:
        request.close()
    if raised is not None:
        raise raised
    check(status)
    g = Generation(_text(pieces[_api.PIECE_CONTENT]), _text(pieces[_api.PIECE_REASONING]), result)
    g.logprobs, g.confidences = request.logprobs, request.confidences
    return g


class Stream:
    """An iterator of (kind, text) pieces, kind "reasoning" or "content", as
    the model produces them. Generation starts at the first next() and runs
    on a worker thread; it holds the context until the stream is exhausted or
    closed (close(), a ``with`` block, or garbage collection). Closing early
    stops generation. After exhaustion ``result`` is the Generation."""

    def __init__(self, request: Request, release: Callable[[], None], owner: Any = None) -> None:
        self._owner = owner  # the Context: kept alive while the stream may run on it
        self._request: Optional[Request] = request
        self._release: Optional[Callable[[], None]] = release  # gives the context back
        self._queue: "queue.Queue[Tuple[Any, ...]]" = queue.Queue(maxsize=1)
        self._stop = threading.Event()
        self._thread: Optional[threading.Thread] = None
        self._done = False
        self._pieces: Dict[int, List[bytes]] = {_api.PIECE_REASONING: [], _api.PIECE_CONTENT: []}
        self._tokens = (request.logprobs, request.confidences)
        self.result: Optional[Generation] = None

    def __iter__(self) -> Iterator[Piece]:
        return self

    def __next__(self) -> Piece:
        if self._done:
            raise StopIteration
        if self._thread is None:
            # the worker must not reference the stream, or an abandoned stream
            # would never be collected (and closed)
            self._thread = threading.Thread(target=_work, args=(self._request, self._queue, self._stop),
                                            name="dseek-generate", daemon=True)
            self._thread.start()
        item = self._queue.get()
        if item[0] == "piece":
            kind, text = item[1], item[2]
            self._pieces.setdefault(kind, []).append(text)
            return KIND_NAMES.get(kind, str(kind)), text.decode("utf-8", "replace")
        _, result, error = item
        self._finish()
        if error is not None:
            raise error
        self.result = Generation(_text(self._pieces[_api.PIECE_CONTENT]),
                                 _text(self._pieces[_api.PIECE_REASONING]), result)
        if self._tokens is not None:
            self.result.logprobs, self.result.confidences = self._tokens
        raise StopIteration

    def _finish(self) -> None:
        """Join the worker, free the request and give the context back."""
        self._done = True
        if self._thread is not None:
            self._thread.join()
        if self._request is not None:
            self._request.close()
            self._request = None
        release, self._release = self._release, None
        if release is not None:
            release()
        self._owner = None

    def close(self) -> None:
        """Stop generation (if running), wait for it, release the context."""
        if self._done:
            return
        self._stop.set()
        if self._thread is not None:
            if self._request is not None:
                lib.dseek_cancel(self._request.ctx_handle)
            while self._thread.is_alive():  # unblock the callback's put()
                try:
                    self._queue.get(timeout=0.05)
                except queue.Empty:
                    pass
        self._finish()

    def __enter__(self) -> "Stream":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    def __del__(self) -> None:
        try:
            self.close()
        except Exception:
            pass


def _work(request: Request, pieces: "queue.Queue[Tuple[Any, ...]]", stop: threading.Event) -> None:
    """The worker thread of a Stream: run the request, queue every piece, then
    ("done", result, exception or None)."""

    def on_piece(kind: int, text: bytes) -> bool:
        if stop.is_set():
            return True
        pieces.put(("piece", kind, text))  # blocks while the consumer is a piece behind
        return stop.is_set()

    error: Optional[BaseException] = None
    result = _api.GenerateResult()
    if not stop.is_set():
        status, result, error = request.run(on_piece)
        if status != _api.OK and error is None:
            error = error_for(status)  # dseek_last_error is per thread: read it here
    pieces.put(("done", result, error))


__all__ = ["Generation", "Stream"]
