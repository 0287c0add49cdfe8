"""Failures become the exception class of their dseek_status, carrying the
status and the library's message (which names the file and field)."""

from __future__ import annotations

import pytest

import dseek


def test_hierarchy():
    pairs = [(dseek.InvalidArgumentError, 1, ValueError), (dseek.IoError, 2, OSError), (dseek.FormatError, 3, None),
             (dseek.UnsupportedError, 4, None), (dseek.NoMemoryError, 5, MemoryError),
             (dseek.NotFoundError, 6, LookupError), (dseek.TypeMismatchError, 7, TypeError),
             (dseek.ContextFullError, 8, None), (dseek.CancelledError, 9, None), (dseek.InternalError, 10, None),
             (dseek.BufferTooSmallError, 11, None)]
    for cls, status, builtin in pairs:
        assert issubclass(cls, dseek.Error) and cls.status == status
        if builtin is not None:
            assert issubclass(cls, builtin)
        e = cls("a message")
        assert str(e) == "a message" and e.message == "a message" and e.status == status


def test_missing_file(tmp_path):
    path = tmp_path / "absent.gguf"
    with pytest.raises(dseek.IoError) as info:
        dseek.Model(path)
    assert info.value.status == 2
    assert str(path) in str(info.value) and "no such file" in str(info.value).lower()


def test_truncated_gguf(tmp_path, qwen2_path):
    data = qwen2_path.read_bytes()
    for keep in (3, 24, 3000, len(data) - 100):
        path = tmp_path / f"cut{keep}.gguf"
        path.write_bytes(data[:keep])
        with pytest.raises(dseek.FormatError) as info:
            dseek.Model(path)
        assert info.value.status == 3
        assert str(path) in str(info.value), str(info.value)  # names the file ...
        assert len(str(info.value)) > len(str(path)) + 10     # ... and what is wrong with it


def test_bad_arguments(qwen2, ctx):
    with pytest.raises(dseek.InvalidArgumentError, match="n_ctx"):
        dseek.Context(qwen2, n_ctx=-5)
    with pytest.raises(dseek.InvalidArgumentError, match="kv_type"):
        dseek.Context(qwen2, kv_type="q4_0")
    with pytest.raises(dseek.InvalidArgumentError, match="kv_type"):
        dseek.Context(qwen2, kv_type=2)  # Q4_0 by id: refused by the library
    with pytest.raises(dseek.InvalidArgumentError, match="300"):
        ctx.eval([300])  # outside [0, n_vocab)
    with pytest.raises(dseek.InvalidArgumentError, match="300"):
        qwen2.detokenize([1, 300])
    with pytest.raises(dseek.InvalidArgumentError):
        ctx.eval([])
    with pytest.raises(dseek.InvalidArgumentError, match="role"):
        qwen2.chat_prompt([("robot", "beep")])
    with pytest.raises(dseek.InvalidArgumentError, match="NUL"):
        ctx.generate("a\0b")
    with pytest.raises(dseek.InvalidArgumentError, match="reasoning"):
        ctx.generate("a", reasoning="sometimes")
    with pytest.raises(dseek.InvalidArgumentError):
        dseek.Sampler(seed=-1)
    with pytest.raises(dseek.InvalidArgumentError):
        dseek.Sampler().add_top_k(0)
    with pytest.raises(dseek.InvalidArgumentError):
        dseek.Sampler().add_top_p(1.5)
    with pytest.raises(TypeError):
        qwen2.tokenize(42)
    assert ctx.n_past == 0  # nothing was evaluated by the failed calls


def test_context_full(qwen2):
    with dseek.Context(qwen2, n_ctx=16, kv_type="f32") as c:
        c.eval(list(range(12)))
        with pytest.raises(dseek.ContextFullError) as info:
            c.eval(list(range(5)))
        assert info.value.status == 8 and "16" in str(info.value)
        assert c.n_past == 12  # nothing evaluated
        c.eval(list(range(4)))
        assert c.n_past == 16
        with pytest.raises(dseek.ContextFullError, match="prompt"):
            c.generate("hello " * 40)


def test_invalid_utf8(qwen2, ctx):
    with pytest.raises(dseek.InvalidArgumentError, match=r"UTF-8.*offset 2"):
        qwen2.tokenize(b"ab\xff")
    with pytest.raises(dseek.InvalidArgumentError, match=r"UTF-8.*offset 1"):
        qwen2.tokenize("a\udcffb")  # a lone surrogate reaches the library as invalid UTF-8
    with pytest.raises(dseek.InvalidArgumentError, match="UTF-8"):
        ctx.generate(b"ab\xc3")


def test_error_message_is_per_call(qwen2, ctx):
    with pytest.raises(dseek.InvalidArgumentError) as first:
        qwen2.tokenize(b"\xff")
    with pytest.raises(dseek.InvalidArgumentError) as second:
        ctx.eval([1, 1000])
    assert "UTF-8" in str(first.value)
    assert "1000" in str(second.value) and "UTF-8" not in str(second.value)
