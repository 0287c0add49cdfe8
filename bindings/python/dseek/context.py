"""dseek.Context: a KV cache over a model, for evaluating tokens (eval,
logits) and generating text (generate), over dseek_context_* / dseek_decode /
dseek_logits / dseek_generate.

A context is used by one thread at a time, as the library requires: a call
made while another (or a running stream) holds it raises
InvalidArgumentError instead of racing.
"""

from __future__ import annotations

import ctypes
import os
import threading
import weakref
from contextlib import contextmanager
from ctypes import byref, c_int64, c_void_p
from typing import Any, Dict, Iterable, Iterator, List, Optional, Sequence, Union

from . import _api
from ._arrays import float_rows, int32_input
from .errors import InvalidArgumentError, check, error_for, raise_closed
from .generation import Generation, Request, Stream, generate_collect
from .model import Model, Text, encode_c_string
from .parallel import Samples, confidence_options, generate_parallel
from .sampler import Sampler

lib = _api.lib

KV_TYPES = {"f16": _api.TYPE_F16, "f32": _api.TYPE_F32, "bf16": _api.TYPE_BF16, "q8_0": _api.TYPE_Q8_0}


class Context:
    """A context of `model`: n_ctx tokens of KV cache (None: min(4096, the
    trained length)), n_threads (None: the physical cores), n_batch tokens
    per graph run (None: 512) and the cache element type kv_type ("f16",
    "f32", "bf16" or "q8_0": 34 bytes per 32 values, for models whose cache
    rows are whole 32-value blocks, UnsupportedError otherwise). The context keeps its model alive; release it with
    close() or a ``with`` block.
    """

    def __init__(self, model: Model, n_ctx: Optional[int] = None, n_threads: Optional[int] = None,
                 n_batch: Optional[int] = None, kv_type: Union[str, int] = "f16") -> None:
        self._handle: Optional[int] = None
        self._lock = threading.Lock()
        self._stream: Optional["weakref.ref[Stream]"] = None
        if not isinstance(model, Model):
            raise TypeError(f"model must be a dseek.Model, not {type(model).__name__}")
        self.model = model
        opts = _api.ContextOptions()
        check(lib.dseek_context_options_init(byref(opts), ctypes.sizeof(opts)))
        if n_ctx is not None:
            opts.n_ctx = int(n_ctx)
        if n_batch is not None:
            opts.n_batch = int(n_batch)
        if n_threads is not None:
            opts.n_threads = int(n_threads)
        if isinstance(kv_type, str):
            if kv_type.lower() not in KV_TYPES:
                raise InvalidArgumentError(f"kv_type must be one of {sorted(KV_TYPES)}, not {kv_type!r}")
            kv_type = KV_TYPES[kv_type.lower()]
        opts.kv_type = int(kv_type)
        out = c_void_p()
        check(lib.dseek_context_create(model.handle, byref(opts), byref(out)))
        self._handle = out.value
        model._contexts.add(self)

    # -- lifetime and exclusive use --------------------------------------

    @property
    def handle(self) -> int:
        """The dseek_context pointer; raises when closed."""
        if self._handle is None:
            raise_closed("context")
        return self._handle

    @contextmanager
    def _use(self) -> Iterator[int]:
        """Hold the context for one call; yields its handle."""
        handle = self.handle
        if not self._lock.acquire(blocking=False):
            raise InvalidArgumentError("context is in use (by another thread or an open generation stream; "
                                       "exhaust or close the stream first)")
        try:
            yield handle
        finally:
            self._lock.release()

    def close(self) -> None:
        """Stop a running stream, then free the context. Idempotent."""
        stream = self._stream() if self._stream is not None else None
        if stream is not None:
            stream.close()
        handle, self._handle = self._handle, None
        if handle is not None:
            lib.dseek_context_free(handle)

    def __enter__(self) -> "Context":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    def __del__(self) -> None:
        try:
            self.close()
        except Exception:
            pass

    def __repr__(self) -> str:
        if self._handle is None:
            return "<dseek.Context closed>"
        return f"<dseek.Context n_ctx={self.n_ctx} n_past={self.n_past}>"

    # -- state ------------------------------------------------------------

    @property
    def n_ctx(self) -> int:
        """Capacity in tokens."""
        return int(lib.dseek_context_n_ctx(self.handle))

    @property
    def n_past(self) -> int:
        """Tokens currently cached."""
        return int(lib.dseek_context_n_past(self.handle))

    @property
    def kv_bytes_per_token(self) -> int:
        """Bytes the KV cache takes per cached token (all layers)."""
        return int(lib.dseek_context_kv_bytes_per_token(self.handle))

    def shift(self, n_keep: int, n_discard: int) -> None:
        """Context shift: drop cached tokens [n_keep, n_keep + n_discard) and
        move the rest down, re-rotating their keys to the new positions, so
        that evaluation can go on in a full context."""
        with self._use() as h:
            check(lib.dseek_context_shift(h, int(n_keep), int(n_discard)))

    def tokens(self) -> List[int]:
        """The ids of the cached tokens (positions 0 .. n_past-1)."""
        with self._use() as h:
            n = c_int64(0)
            status = lib.dseek_context_tokens(h, None, 0, byref(n))
            if status == _api.OK:
                return []
            if status != _api.ERR_BUFFER_TOO_SMALL:
                raise error_for(status)
            ids = (ctypes.c_int32 * n.value)()
            check(lib.dseek_context_tokens(h, ids, n.value, byref(n)))
            return list(ids[:n.value])

    def reset(self) -> None:
        """Forget every cached token (the next eval starts at position 0)."""
        with self._use() as h:
            check(lib.dseek_context_reset(h))

    def save(self, path: Union[str, os.PathLike]) -> None:
        """Save the cached tokens and KV cache to a file."""
        with self._use() as h:
            check(lib.dseek_context_save(h, os.fsencode(path)))

    def load(self, path: Union[str, os.PathLike]) -> None:
        """Replace the cache with a saved one (of the same model and KV type);
        a generate() whose prompt starts with the saved tokens reuses them."""
        with self._use() as h:
            check(lib.dseek_context_load(h, os.fsencode(path)))

    def cancel(self) -> None:
        """Ask a generation running on this context in another thread to stop
        (it raises CancelledError there). Safe from any thread."""
        check(lib.dseek_cancel(self.handle))

    # -- evaluation -------------------------------------------------------

    def eval(self, tokens: Iterable[int], all_logits: bool = False) -> Any:
        """Evaluate tokens at the next positions, appending them to the cache,
        and return float32 logits: shape (n, n_vocab) with all_logits (row i
        for tokens[i]), else (n_vocab,) for the last token. A numpy array when
        numpy is importable, else a memoryview of format "f" with that shape
        (see dseek._arrays). Raises ContextFullError (nothing evaluated) when
        n_past + n > n_ctx."""
        arr, n = int32_input(tokens)
        if n == 0:
            raise InvalidArgumentError("eval: no tokens")
        with self._use() as h:
            check(lib.dseek_decode(h, arr, n, 1 if all_logits else 0))
            n_vocab = self.model.n_vocab
            indices = range(n) if all_logits else [-1]
            rows = [lib.dseek_logits(h, i) for i in indices]
            if any(not row for row in rows):
                raise error_for(_api.ERR_INTERNAL, "eval: the library kept no logits for the tokens evaluated")
            return float_rows(rows, n_vocab, squeeze=not all_logits)

    # -- generation -------------------------------------------------------

    def generate(self, prompt: Text, max_tokens: int = 512, temperature: float = 0.6, top_p: float = 0.95,
                 top_k: int = 0, min_p: float = 0.0, seed: int = 0, stop: Union[None, str, Sequence[str]] = None,
                 stream: bool = False, chat: bool = False, *, sampler: Optional[Sampler] = None,
                 reasoning: Union[str, int] = "auto", add_special: Optional[bool] = None,
                 parse_special: bool = True, max_thinking_tokens: Optional[int] = None,
                 min_thinking_tokens: int = 0, think_close: Optional[str] = None,
                 think_continue: Optional[str] = None, draft: Optional["Context"] = None,
                 n_draft: Optional[int] = None, grammar: Optional[str] = None, json_schema: Any = None,
                 constrain_after_reasoning: bool = True,
                 trigger: Optional[str] = None, use_mtp: bool = False, context_shift: bool = False,
                 n_keep: int = 0) -> Union[Generation, Stream]:
        """Generate a reply to `prompt`.

        The prompt is given to the model as is; with chat=True it is first
        wrapped as one user turn by model.chat_prompt() (so an R1 model starts
        reasoning). The cache keeps the previous call's tokens and reuses the
        longest common prefix with the new prompt.

        Sampling: the chain top_k (if > 0) -> top_p (if < 1) -> min_p (if > 0)
        -> temperature, seeded with `seed`; temperature 0 is greedy. A
        `sampler` given instead is used as is (and its history grows).
        stop: strings that end the generation (not delivered). reasoning:
        "auto" (a prompt ending in "<think>" opens the reasoning), "off" or
        "open". add_special (default: True for a raw prompt, False with chat,
        whose rendering already starts with BOS) prepends BOS when the model
        wants it. max_thinking_tokens / min_thinking_tokens / think_close /
        think_continue: the thinking budget and budget forcing; draft /
        n_draft: speculative decoding with a smaller model's context;
        use_mtp: speculative decoding with the model's own MTP layer
        (deepseek2 models that carry one; UnsupportedError otherwise), which
        drafts one token per step - same output for greedy, same
        distribution when sampling; the Generation's n_draft_tokens /
        n_draft_accepted count the drafts.
        grammar (GBNF text, rule "root") or json_schema (a JSON string or a
        dict): the answer must match it; with constrain_after_reasoning (the
        default) the constraint starts after </think>, so the reasoning stays
        free; trigger: start it after this text appears instead. A bad grammar
        raises FormatError ("grammar: line L column C: ..."), an unsupported
        schema keyword UnsupportedError naming it and its path.
        context_shift: when the context fills up, keep the first n_keep
        tokens, drop half of the rest and go on (see shift()) instead of
        stopping with stop_reason "context_full".

        Returns a Generation (a str of the answer, with .reasoning,
        .stop_reason, counts and timings), or with stream=True a Stream: an
        iterator of (kind, text) pieces, kind "reasoning" or "content", that
        holds the context until exhausted or closed (closing stops the
        generation). Raises ContextFullError if the prompt does not fit.
        """
        request = self._request(prompt, chat, add_special, sampler, dict(
            temperature=temperature, top_p=top_p, top_k=top_k, min_p=min_p, seed=seed), dict(
            max_tokens=max_tokens, stop=stop, reasoning=reasoning, parse_special=parse_special,
            max_thinking_tokens=max_thinking_tokens, min_thinking_tokens=min_thinking_tokens,
            think_close=think_close, think_continue=think_continue,
            draft=None if draft is None else draft.handle, n_draft=n_draft, grammar=grammar,
            json_schema=json_schema, constrain_after_reasoning=constrain_after_reasoning, trigger=trigger,
            use_mtp=use_mtp, context_shift=context_shift, n_keep=n_keep))
        if not stream:
            try:
                with self._use():
                    return generate_collect(request)
            finally:
                request.close()
        if not self._lock.acquire(blocking=False):
            request.close()
            raise InvalidArgumentError("context is in use (by another thread or an open generation stream; "
                                       "exhaust or close the stream first)")
        s = Stream(request, self._lock.release, owner=self)
        self._stream = weakref.ref(s)
        return s

    def generate_parallel(self, prompt: Text, n_samples: int, seeds: Optional[Sequence[int]] = None,
                          max_tokens: int = 512, temperature: float = 0.6, top_p: float = 0.95, top_k: int = 0,
                          min_p: float = 0.0, stop: Union[None, str, Sequence[str]] = None, chat: bool = False, *,
                          sampler: Optional[Sampler] = None, reasoning: Union[str, int] = "auto",
                          add_special: Optional[bool] = None, parse_special: bool = True,
                          early_stop: Union[None, bool, str, float] = None, consensus: Optional[float] = None,
                          confidence_window: int = 2048, warmup: int = 16, width: Optional[int] = None,
                          keep_top: float = 1.0, measure: str = "lowest_group") -> Samples:
        """n_samples independent replies to one prompt, decoded together (the
        prompt is evaluated once). Sample i is sampled with seeds[i] (default
        i) and is exactly what generate() gives with that seed. The context
        must hold the prompt plus width x max_tokens tokens (width: chains
        run at once, default n_samples). Returns Samples: a list of
        Generation with vote() for self-consistency and vote_confidence().

        Confidence (DeepConf, arXiv 2508.15260): early_stop "low" (or True)
        / "high" / a percentile: the first `warmup` chains run to the end and
        set a threshold at that percentile of their lowest group confidence
        (mean token confidence over confidence_window tokens); later chains
        stop ("low_confidence") at the first window below it. consensus
        (e.g. 0.95): chains start in waves of `warmup` (unless width is
        given) and stop ("settled") once the confidence-weighted vote's
        leader holds that share; then len(samples) may be below n_samples.
        keep_top / measure set the weighted vote of vote_confidence()."""
        confidence = confidence_options(early_stop=early_stop, consensus=consensus, window=confidence_window,
                                        warmup=warmup, width=width, keep_top=keep_top, measure=measure)
        request = self._request(prompt, chat, add_special, sampler, dict(
            temperature=temperature, top_p=top_p, top_k=top_k, min_p=min_p, seed=0), dict(
            max_tokens=max_tokens, stop=stop, reasoning=reasoning, parse_special=parse_special,
            max_thinking_tokens=None, min_thinking_tokens=0, think_close=None, think_continue=None,
            draft=None, n_draft=None))
        try:
            with self._use() as h:
                return generate_parallel(h, request, n_samples, seeds, confidence)
        finally:
            request.close()

    def _request(self, prompt: Text, chat: bool, add_special: Optional[bool], sampler: Optional[Sampler],
                 chain: Dict[str, Any], options: Dict[str, Any]) -> Request:
        """A prepared dseek_generate call: the prompt (rendered as one user
        turn with chat), the sampler (`chain` builds one unless given) and
        the options."""
        if chat:
            prompt = self.model.chat_prompt([{"role": "user", "content": prompt}])  # type: ignore[dict-item]
        if add_special is None:
            add_special = not chat
        data = encode_c_string(prompt, "prompt")
        handle = self.handle
        own = sampler is None
        if sampler is None:
            sampler = Sampler.standard(**chain)
        try:
            return Request(handle, data, sampler=sampler, owns_sampler=own, add_special=add_special, **options)
        except BaseException:
            if own:
                sampler.close()
            raise


__all__ = ["Context"]
