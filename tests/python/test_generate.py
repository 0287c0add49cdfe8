"""Context.generate: greedy text against the PyTorch reference, streaming
against non-streaming, early close of a stream, stop strings, chat mode and
the exclusive use of a context."""

from __future__ import annotations

import copy as copy_module
import gc
import pickle
import sys
import threading

import pytest

import dseek
from conftest import REFERENCE_DIR, model_path

N_GREEDY = 12


def reference_greedy(path, prompt, n):
    """Greedy tokens and their top-1 minus top-2 logit margins from the
    independent PyTorch reference (float64 on the weights as stored)."""
    torch = pytest.importorskip("torch")
    sys.path.insert(0, str(REFERENCE_DIR))
    try:
        import convert
        import models
    finally:
        sys.path.remove(str(REFERENCE_DIR))
    weights, config = convert.load_gguf(str(path))
    tokens, prefill, decode = models.greedy_trace(weights, config, prompt, n, dtype=torch.float64)
    rows = [prefill[-1]] + list(decode[:-1])
    margins = [float(v[0] - v[1]) for v in (torch.topk(r, 2).values for r in rows)]
    return tokens, margins


def token_bytes(token: int) -> bytes:
    """The bytes of a tiny-tokenizer token, from tests/reference/tiny_tokenizer.py."""
    sys.path.insert(0, str(REFERENCE_DIR))
    try:
        import tiny_tokenizer
    finally:
        sys.path.remove(str(REFERENCE_DIR))
    char_byte = {c: b for b, c in tiny_tokenizer.bytes_to_unicode().items()}
    return bytes(char_byte[c] for c in tiny_tokenizer.TinyTokenizer().tokens[token])


@pytest.mark.parametrize("variant", ["qwen2-gguf-f32", "llama-gguf-f32"])
def test_greedy_matches_reference(tiny, variant):
    path = model_path(tiny, variant)
    ref, margins = reference_greedy(path, [294], N_GREEDY)  # the prompt "" is just BOS
    n = 0
    while n < len(ref) and ref[n] < 294 and margins[n] > 1e-3:  # stop at added tokens and near-ties
        n += 1
    assert n >= 4, (ref, margins)
    want = b"".join(token_bytes(t) for t in ref[:n]).decode("utf-8", "replace")
    with dseek.Model(path) as m, dseek.Context(m, n_ctx=64, kv_type="f32") as c:
        g = c.generate("", max_tokens=n, temperature=0)
        assert isinstance(g, dseek.Generation) and isinstance(g, str)
        assert g == want and g.content == want and g.reasoning == ""
        assert g.stop_reason == "max_tokens"
        assert (g.n_prompt_tokens, g.n_generated_tokens, g.n_reasoning_tokens) == (1, n, 0)
        assert g.prompt_seconds >= 0 and g.generate_seconds >= 0 and g.tokens_per_second >= 0
        assert c.tokens()[:n + 1] == [294] + ref[:n]
        for copy in (pickle.loads(pickle.dumps(g)), copy_module.copy(g)):
            assert copy == g and type(copy) is dseek.Generation
            assert (copy.stop_reason, copy.n_generated_tokens, copy.reasoning) == ("max_tokens", n, "")
        assert m.detokenize(ref[:n]) == want
        # a caller's own greedy chain gives the same text
        with dseek.Sampler().add_greedy() as s:
            assert c.generate("", max_tokens=n, sampler=s) == want


def test_stop_string(ctx):
    full = ctx.generate("", max_tokens=12, temperature=0)
    i = next((k for k in range(1, len(full) - 1) if full[k:k + 2].isascii() and full[k:k + 2].isprintable()), None)
    if i is None:
        pytest.skip("no ASCII pair in the greedy text to stop at")
    g = ctx.generate("", max_tokens=12, temperature=0, stop=["\x7fnever", full[i:i + 2]])
    assert g.stop_reason == "stop_string" and g == full[:full.index(full[i:i + 2])]
    assert ctx.generate("", max_tokens=12, temperature=0, stop=full[i:i + 2]) == g


def collect(stream):
    pieces = list(stream)
    assert all(kind in ("reasoning", "content") and isinstance(text, str) for kind, text in pieces)
    return ("".join(t for k, t in pieces if k == "reasoning"), "".join(t for k, t in pieces if k == "content"))


@pytest.mark.parametrize("numpy_mode", ["numpy", "no-numpy"])
def test_stream_equals_collected(ctx, numpy_mode, monkeypatch):
    if numpy_mode == "no-numpy":
        monkeypatch.setitem(sys.modules, "numpy", None)
    kw = dict(max_tokens=24, temperature=0.8, seed=11, chat=True, max_thinking_tokens=4)
    g = ctx.generate("Why?", **kw)
    assert g.reasoning and g.content  # the thinking budget closed the reasoning, the answer followed
    assert g.n_reasoning_tokens == 4 and g.n_forced_tokens > 0
    s = ctx.generate("Why?", stream=True, **kw)
    assert isinstance(s, dseek.Stream)
    assert collect(s) == (g.reasoning, g.content)
    assert s.result == g and s.result.reasoning == g.reasoning and s.result.stop_reason == g.stop_reason
    assert list(s) == []  # exhausted
    raw = ctx.generate(ctx.model.chat_prompt([("user", "Why?")]), add_special=False,
                       **{k: v for k, v in kw.items() if k != "chat"})
    assert raw == g and raw.reasoning == g.reasoning  # chat=True is the rendered prompt


def test_reasoning_modes(ctx):
    kw = dict(max_tokens=10, temperature=0.8, seed=2)
    opened = ctx.generate("Q<think>\n", **kw)
    assert opened.content == "" and opened.reasoning and opened.n_reasoning_tokens == 10
    off = ctx.generate("Q<think>\n", reasoning="off", **kw)
    assert off.reasoning == "" and off.content
    forced = ctx.generate("Q", reasoning="open", **kw)
    assert forced.content == "" and forced.n_reasoning_tokens == 10


def test_early_close_stops_generation(ctx):
    s = ctx.generate("hello", max_tokens=400, temperature=1.0, seed=3, stream=True)
    assert ctx.n_past == 0  # nothing runs before the first next()
    first = [next(s), next(s)]
    assert all(kind == "content" for kind, _ in first)
    thread = s._thread
    s.close()
    assert not thread.is_alive() and s.result is None
    n_prompt = len(ctx.model.tokenize("hello"))
    assert ctx.n_past < n_prompt + 50  # the generator ran at most a few pieces ahead, not 400 tokens
    assert list(s) == []
    g = ctx.generate("hello", max_tokens=5, temperature=0)  # the context is free again
    assert g.n_generated_tokens == 5


def test_abandoned_stream_is_closed(ctx):
    def take_two():
        for i, _ in enumerate(ctx.generate("hello", max_tokens=400, temperature=1.0, seed=4, stream=True)):
            if i == 1:
                return  # the stream is dropped here
    before = {t for t in threading.enumerate() if t.name == "dseek-generate"}
    take_two()
    gc.collect()
    assert not [t for t in threading.enumerate() if t.name == "dseek-generate" and t not in before]
    assert ctx.generate("hello", max_tokens=3, temperature=0).n_generated_tokens == 3


def test_context_is_exclusive_while_streaming(ctx):
    with ctx.generate("hello", max_tokens=50, temperature=0, stream=True) as s:
        next(s)
        for call in (lambda: ctx.generate("x", max_tokens=1), lambda: ctx.eval([1]), ctx.reset,
                     lambda: ctx.generate("x", stream=True)):
            with pytest.raises(dseek.InvalidArgumentError, match="in use"):
                call()
    ctx.eval([1])  # released by the with block


def test_stream_errors_reach_the_consumer(qwen2):
    with dseek.Context(qwen2, n_ctx=16) as c:
        s = c.generate("hello " * 40, stream=True)
        with pytest.raises(dseek.ContextFullError, match="prompt"):
            next(s)
        assert c.generate("hi", max_tokens=2, temperature=0).n_generated_tokens == 2


def test_closing_context_closes_its_stream(qwen2):
    c = dseek.Context(qwen2, n_ctx=128)
    s = c.generate("hello", max_tokens=100, temperature=1.0, stream=True)
    next(s)
    thread = s._thread
    c.close()
    assert not thread.is_alive()
    with pytest.raises(dseek.InvalidArgumentError, match="closed"):
        c.generate("x")


def test_stream_keeps_its_context_alive(qwen2):
    s = dseek.Context(qwen2, n_ctx=64).generate("", max_tokens=6, temperature=0, stream=True)
    gc.collect()
    assert "".join(text for _, text in s) == s.result and s.result.n_generated_tokens == 6


def test_parallel_samples_and_vote(ctx):
    kw = dict(max_tokens=8, temperature=0.9, top_k=40)
    samples = ctx.generate_parallel("hello", 3, seeds=[5, 6, 7], **kw)
    assert isinstance(samples, dseek.Samples) and len(samples) == 3
    assert len(set(samples)) > 1  # different seeds, different texts
    for s, seed in zip(samples, [5, 6, 7]):  # each is what generate gives with its seed
        g = ctx.generate("hello", seed=seed, **kw)
        assert s == g and s.reasoning == g.reasoning and s.n_generated_tokens == g.n_generated_tokens == 8
    answer, votes = samples.vote()  # the library's extractor
    assert len(samples.answers) == 3
    if answer is None:
        assert votes == 0 and samples.answers == [None] * 3
    else:
        assert votes == samples.answers.count(answer) == max(samples.answers.count(a) for a in samples.answers)
    labels = iter(["b", "a", "a"])
    assert samples.vote(lambda content, reasoning: next(labels)) == ("a", 2)
    labels = iter(["b", "a", "c"])
    assert samples.vote(lambda content, reasoning: next(labels)) == ("b", 1)  # tie: the first to appear
    assert samples.vote(lambda content, reasoning: None) == (None, 0)
    samples.close()
    assert samples[0] == ctx.generate("hello", seed=5, **kw)  # the texts outlive the handle
    with pytest.raises(dseek.InvalidArgumentError, match="seeds"):
        ctx.generate_parallel("hello", 3, seeds=[1])
    with pytest.raises(dseek.ContextFullError):
        ctx.generate_parallel("hello " * 200, 2)
