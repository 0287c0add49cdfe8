"""GGUF tokenizers dseek implements only in part: llama.cpp's "default" and
"gpt-2" pre-tokenizers load (a missing tokenizer.ggml.pre means "default", as
in llama.cpp); a tokenizer of a kind dseek does not implement leaves the model
usable from token ids (has_vocab is False and the text functions give the
reason); merges that can never apply are skipped. The variants are the tiny
qwen2 GGUF with its metadata rewritten (tests/reference's GGUF reader and
writer)."""

from __future__ import annotations

import sys

import pytest

import dseek
from conftest import REFERENCE_DIR, model_path

sys.path.insert(0, str(REFERENCE_DIR))
import gguf_read  # noqa: E402
import gguf_write  # noqa: E402


def rewrite(src, dst, changes):
    """Copy a GGUF, with metadata keys replaced (value None: removed)."""
    f = gguf_read.GGUFFile(str(src))
    w = gguf_write.GGUFWriter()
    for key, value in f.metadata.items():
        if key in ("general.alignment",):
            continue
        vtype, elem = f.metadata_types[key]
        if key in changes:
            value = changes[key]
            if value is None:
                continue
        w.add(key, vtype, value, elem)
    for name, info in f.tensors.items():
        w.add_tensor_bytes(name, list(info["ne"])[::-1], info["type"], f.raw(name))
    w.write(str(dst))
    return dst


@pytest.fixture
def original(tiny):
    return model_path(tiny, "qwen2-gguf-f32")


def logits_of(path, ids):
    with dseek.Model(path) as m, dseek.Context(m, n_ctx=32) as c:
        return list(c.eval(ids))


TEXT = "Hello world, it's 2025: 12345 $+<=> done!\n\tok"


@pytest.mark.parametrize("pre", ["default", "gpt-2", None])
def test_llamacpp_pre_tokenizers_load(tmp_path, original, pre):
    path = rewrite(original, tmp_path / "m.gguf", {"tokenizer.ggml.pre": pre})
    with dseek.Model(path) as m:
        assert m.has_vocab
        ids = m.tokenize(TEXT, add_special=False)
        assert ids and m.detokenize(ids) == TEXT


@pytest.mark.parametrize("key,value,reason", [
    ("tokenizer.ggml.pre", "no-such-pre", "pre-tokenizer 'no-such-pre' is not supported"),
    ("tokenizer.ggml.model", "llama", "tokenizer model 'llama' is not supported"),
])
def test_unsupported_tokenizer_keeps_the_weights(tmp_path, original, key, value, reason):
    path = rewrite(original, tmp_path / "m.gguf", {key: value})
    ids = [1, 2, 3, 40, 41]
    with dseek.Model(path) as m:
        assert not m.has_vocab
        with pytest.raises(dseek.UnsupportedError, match=reason):
            m.tokenize("a")
    assert logits_of(path, ids) == logits_of(original, ids)   # ids in, logits out, same bits
    with pytest.raises(dseek.UnsupportedError, match=reason):
        dseek.Model(path, vocab_only=True)


def test_malformed_tokenizer_is_still_an_error(tmp_path, original):
    path = rewrite(original, tmp_path / "m.gguf", {"tokenizer.ggml.merges": ["ab"]})
    with pytest.raises(dseek.FormatError, match="is not 'left right'"):
        dseek.Model(path)


def test_merges_that_cannot_apply_are_skipped(tmp_path, original):
    f = gguf_read.GGUFFile(str(original))
    merges = list(f.metadata["tokenizer.ggml.merges"])
    tokens = f.metadata["tokenizer.ggml.tokens"]
    assert "zq" not in tokens and "\u0100\u0100" not in tokens
    # a piece that is no token, and a pair whose result is no token
    extra = ["z q", "\u0100 \u0100", merges[0].split(" ")[0] + " nosuchtoken"]
    path = rewrite(original, tmp_path / "m.gguf", {"tokenizer.ggml.merges": extra[:1] + merges + extra[1:]})
    with dseek.Model(original) as a, dseek.Model(path) as b:
        assert b.has_vocab
        assert b.tokenize(TEXT) == a.tokenize(TEXT)
