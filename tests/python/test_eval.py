"""Context.eval logits against the PyTorch reference's prefill/decode logits
(tests/reference, float64 on the stored weights), with and without numpy;
the Sampler on hand-made logits."""

from __future__ import annotations

import array
import math
import sys

import pytest

import dseek
from conftest import Expected, model_path


def max_abs_diff(got_rows, want_rows) -> float:
    return max(abs(float(g) - float(w)) for gr, wr in zip(got_rows, want_rows) for g, w in zip(gr, wr))


def rows_of(logits, n_vocab):
    """Rows of an eval result, numpy array or memoryview alike."""
    flat = logits.tolist()
    if flat and isinstance(flat[0], list):
        return flat
    return [flat]


@pytest.fixture(params=["numpy", "no-numpy"])
def numpy_mode(request, monkeypatch):
    if request.param == "no-numpy":
        monkeypatch.setitem(sys.modules, "numpy", None)  # `import numpy` now raises ImportError
    return request.param


@pytest.mark.parametrize("variant", ["qwen2-gguf-f32", "llama-hf-f32", "ds2-v2lite-gguf-f32"])
def test_prefill_logits(tiny, variant, numpy_mode):
    exp = Expected(tiny / variant)
    tol = 1e-4 * exp.absmax
    m = dseek.Model(model_path(tiny, variant))
    with m, dseek.Context(m, n_ctx=64, kv_type="f32") as c:
        logits = c.eval(exp.prompt, all_logits=True)
        assert tuple(logits.shape) == (len(exp.prompt), exp.vocab)
        if numpy_mode == "numpy":
            import numpy
            assert isinstance(logits, numpy.ndarray) and logits.dtype == numpy.float32
        else:
            assert isinstance(logits, memoryview) and logits.format == "f"
            assert isinstance(logits.obj, array.array) and len(logits.obj) == len(exp.prompt) * exp.vocab
            assert logits[3, 7] == logits.obj[3 * exp.vocab + 7]  # row-major
        assert max_abs_diff(rows_of(logits, exp.vocab), exp.prefill) <= tol
        assert c.n_past == len(exp.prompt)


def test_decode_logits(qwen2, qwen2_expected, numpy_mode):
    """Token by token after the prompt, as the reference decoded its greedy tokens."""
    exp = qwen2_expected
    tol = 1e-4 * exp.absmax
    with dseek.Context(qwen2, n_ctx=64, kv_type="f32") as c:
        last = c.eval(exp.prompt)  # last row only
        assert tuple(last.shape) == (exp.vocab,)
        assert max_abs_diff([last.tolist()], exp.prefill[-1:]) <= tol
        for j, token in enumerate(exp.greedy):
            row = c.eval([token])
            assert max_abs_diff([row.tolist()], [exp.decode[j]]) <= tol, j
        assert c.tokens() == exp.prompt + exp.greedy


def test_eval_and_sample_greedy(qwen2, qwen2_expected, numpy_mode):
    """A host loop: eval + greedy Sampler gives the reference greedy tokens."""
    exp = qwen2_expected
    tol = 1e-4 * exp.absmax
    with dseek.Context(qwen2, n_ctx=64, kv_type="f32") as c, dseek.Sampler().add_greedy() as s:
        logits = c.eval(exp.prompt)
        for j, want in enumerate(exp.greedy):
            token = s.sample(logits)
            if exp.margin[j] <= 2 * tol:
                break  # a near-tie: the sequences may part here
            assert token == want, j
            logits = c.eval([token])


def test_sampler_greedy_and_inputs(numpy_mode):
    logits = [0.1, 3.0, -1.0, 2.9, float("-inf")]
    inputs = [logits, array.array("f", logits), memoryview(array.array("f", logits)), tuple(logits)]
    if numpy_mode == "numpy":
        import numpy
        inputs += [numpy.array(logits, dtype=numpy.float64), numpy.array([logits], dtype=numpy.float32)]
    for x in inputs:
        with dseek.Sampler.standard(temperature=0) as s:
            assert s.sample(x) == 1
        assert dseek.Sampler(7).add_top_k(1).sample(x) == 1
        assert dseek.Sampler().add_greedy().sample(x) == 1
    with pytest.raises(dseek.InvalidArgumentError):
        dseek.Sampler().sample([])
    with pytest.raises(dseek.InvalidArgumentError):
        dseek.Sampler().sample([float("nan"), 1.0])


def test_sampler_distribution():
    """Softmax of [0, ln 3]: token 1 with probability 3/4."""
    logits = [0.0, math.log(3.0)]
    s = dseek.Sampler(seed=1234)
    n = 4000
    ones = sum(s.sample(logits) for _ in range(n))
    assert abs(ones / n - 0.75) < 0.03  # ~4.4 standard deviations


def test_sampler_determinism():
    logits = [0.3 * i % 1.7 for i in range(50)]
    a = dseek.Sampler(42).add_top_k(20).add_top_p(0.9).add_temperature(0.8)
    first = [a.sample(logits) for _ in range(30)]
    a.reset(42)
    assert [a.sample(logits) for _ in range(30)] == first
    b = a.clone(42)
    assert [b.sample(logits) for _ in range(30)] == first
    c = dseek.Sampler.standard(temperature=0.8, top_p=0.9, top_k=20, seed=42)
    assert [c.sample(logits) for _ in range(30)] == first
    assert len(set(first)) > 1  # it does sample


def test_sampler_bias_and_penalties():
    s = dseek.Sampler().add_logit_bias(1, float("-inf")).add_greedy()
    assert s.sample([0.0, 5.0, 1.0]) == 2
    # repeat 2: a seen token's positive logit 1.2 becomes 0.6 < 1.0
    p = dseek.Sampler().add_penalties(8, repeat=2.0).add_greedy()
    assert p.sample([1.0, 1.2]) == 1
    p.accept(1)
    assert p.sample([1.0, 1.2]) == 0
    p.reset(0)  # history forgotten
    assert p.sample([1.0, 1.2]) == 1
    p.close()
    with pytest.raises(dseek.InvalidArgumentError, match="sampler is closed"):
        p.sample([1.0])


def test_shift_and_q8_0_cache(tiny):
    """Context.shift keeps the tokens after the dropped ones (their keys
    re-rotated: the logits then equal a fresh evaluation where nothing
    depended on the dropped tokens, tests/models/test_shift.c); a q8_0 cache
    works where rows are whole 32-value blocks (ds2-kv32) and is refused
    otherwise; generate(context_shift=True) runs past a full context."""
    kv32 = dseek.Model(model_path(tiny, "ds2-kv32-gguf-f32"))
    qwen = dseek.Model(model_path(tiny, "qwen2-gguf-f32"))
    with kv32, qwen:
        with dseek.Context(kv32, n_ctx=32, kv_type="q8_0") as c:
            assert c.kv_bytes_per_token == 3 * (64 + 32) // 32 * 34
            c.eval(list(range(10, 30)))
            c.shift(4, 6)
            assert c.n_past == 14 and c.tokens() == list(range(10, 14)) + list(range(20, 30))
            with pytest.raises(dseek.InvalidArgumentError):
                c.shift(10, 5)
        with pytest.raises(dseek.UnsupportedError):
            dseek.Context(qwen, n_ctx=16, kv_type="q8_0")
        with dseek.Context(qwen, n_ctx=16, kv_type="f32") as c:
            full = c.generate("hello world", max_tokens=40, temperature=0, reasoning="off")
            assert full.stop_reason == "context_full"
            c.reset()
            g = c.generate("hello world", max_tokens=40, temperature=0, reasoning="off", context_shift=True, n_keep=2)
            assert g.stop_reason in ("max_tokens", "eos") and c.n_past <= 16
