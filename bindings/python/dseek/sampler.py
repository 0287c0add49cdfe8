"""dseek.Sampler: a chain of sampling stages (dseek_sampler_*) for hosts that
drive their own decoding loop, and for Context.generate.

Stages run in the order they are added, then the final draw: from the softmax
of the surviving candidates with the sampler's own seeded generator, or the
single best candidate after a greedy stage or temperature 0. The same seed,
chain and logits give the same tokens on every machine.
"""

from __future__ import annotations

from ctypes import byref, c_int32, c_void_p
from typing import Any, Optional

from . import _api
from ._arrays import float_input
from .errors import InvalidArgumentError, check, raise_closed

lib = _api.lib


class Sampler:
    """A sampler chain. ``Sampler(seed)`` starts empty (which samples from the
    full softmax); add stages with the add_* methods (each returns the
    sampler, so they chain), or build the usual chain with Sampler.standard().
    Used by one thread at a time; release with close() or a ``with`` block.
    """

    def __init__(self, seed: int = 0) -> None:
        self._handle: Optional[int] = None
        out = c_void_p()
        check(lib.dseek_sampler_create(_seed(seed), byref(out)))
        self._handle = out.value

    @classmethod
    def standard(cls, temperature: float = 0.6, top_p: float = 0.95, top_k: int = 0, min_p: float = 0.0,
                 seed: int = 0) -> "Sampler":
        """The chain top_k -> top_p -> min_p -> temperature, each stage only
        when it does something (top_k > 0, top_p < 1, min_p > 0).
        temperature 0 is greedy."""
        s = cls(seed)
        try:
            if top_k > 0:
                s.add_top_k(top_k)
            if top_p < 1.0:
                s.add_top_p(top_p)
            if min_p > 0.0:
                s.add_min_p(min_p)
            s.add_temperature(temperature)
        except BaseException:
            s.close()
            raise
        return s

    # -- lifetime ---------------------------------------------------------

    @property
    def handle(self) -> int:
        """The dseek_sampler pointer; raises when closed."""
        if self._handle is None:
            raise_closed("sampler")
        return self._handle

    def close(self) -> None:
        """Free the sampler. Idempotent."""
        handle, self._handle = self._handle, None
        if handle is not None:
            lib.dseek_sampler_free(handle)

    def __enter__(self) -> "Sampler":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    def __del__(self) -> None:
        try:
            self.close()
        except Exception:
            pass

    # -- stages -----------------------------------------------------------

    def add_penalties(self, last_n: int, repeat: float = 1.0, frequency: float = 0.0,
                      presence: float = 0.0) -> "Sampler":
        """Repetition penalties over the last `last_n` tokens of the history: a
        token seen c > 0 times has its logit l replaced by l / repeat (l > 0)
        or l * repeat, then decreased by c * frequency + presence."""
        check(lib.dseek_sampler_add_penalties(self.handle, int(last_n), repeat, frequency, presence))
        return self

    def add_logit_bias(self, token: int, bias: float) -> "Sampler":
        """Add `bias` to the logit of `token` (-inf bans it)."""
        check(lib.dseek_sampler_add_logit_bias(self.handle, int(token), bias))
        return self

    def add_top_k(self, k: int) -> "Sampler":
        """Keep the k candidates with the largest logits (k >= 1)."""
        check(lib.dseek_sampler_add_top_k(self.handle, int(k)))
        return self

    def add_top_p(self, p: float) -> "Sampler":
        """Keep the smallest set of most likely candidates whose probabilities
        sum to at least p (0 < p <= 1)."""
        check(lib.dseek_sampler_add_top_p(self.handle, p))
        return self

    def add_min_p(self, p: float) -> "Sampler":
        """Keep candidates at least p times as likely as the best (0 <= p <= 1)."""
        check(lib.dseek_sampler_add_min_p(self.handle, p))
        return self

    def add_temperature(self, temperature: float) -> "Sampler":
        """Divide logits by `temperature` (>= 0; 0 keeps only the best: greedy)."""
        check(lib.dseek_sampler_add_temperature(self.handle, temperature))
        return self

    def add_greedy(self) -> "Sampler":
        """Keep only the most likely candidate (ties: the lowest id)."""
        check(lib.dseek_sampler_add_greedy(self.handle))
        return self

    # -- use --------------------------------------------------------------

    def sample(self, logits: Any) -> int:
        """Choose a token from one row of logits (numpy array, float32
        memoryview/array('f'), or a sequence of numbers) and append it to
        the history."""
        h = self.handle
        _keep, ptr, n = float_input(logits)
        if n == 0:
            raise InvalidArgumentError("sampler: logits are empty")
        token = c_int32(0)
        check(lib.dseek_sampler_sample(h, ptr, n, byref(token)))
        return token.value

    def accept(self, token: int) -> None:
        """Append a token chosen elsewhere (e.g. the prompt) to the history."""
        check(lib.dseek_sampler_accept(self.handle, int(token)))

    def reset(self, seed: int = 0) -> None:
        """Forget the history and restart the random generator from `seed`."""
        check(lib.dseek_sampler_reset(self.handle, _seed(seed)))

    def clone(self, seed: int = 0) -> "Sampler":
        """A new sampler with the same stages (not the history), seeded with `seed`."""
        out = c_void_p()
        check(lib.dseek_sampler_clone(self.handle, _seed(seed), byref(out)))
        s = Sampler.__new__(Sampler)
        s._handle = out.value
        return s


def _seed(seed: int) -> int:
    seed = int(seed)
    if not 0 <= seed < 2**64:
        raise InvalidArgumentError(f"sampler seed {seed} is outside [0, 2**64)")
    return seed
