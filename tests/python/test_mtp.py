"""Context.generate(use_mtp=True): MTP speculative decoding through the
binding - the same greedy text as plain generation, draft counts reported,
sampling with MTP seeded like plain sampling runs, and UnsupportedError for a
model without an MTP layer."""

from __future__ import annotations

import pytest

import dseek
from conftest import model_path


def test_mtp_greedy_equals_plain(tiny):
    path = model_path(tiny, "ds2-mtpeasy-gguf-f32")
    with dseek.Model(path) as m, dseek.Context(m, n_ctx=128) as plain, dseek.Context(m, n_ctx=128) as spec:
        for prompt in ("hello world", "The quick brown fox", "1 2 3"):
            a = plain.generate(prompt, max_tokens=30, temperature=0, reasoning="off")
            b = spec.generate(prompt, max_tokens=30, temperature=0, reasoning="off", use_mtp=True)
            assert str(a) == str(b) and a.n_generated_tokens == b.n_generated_tokens
            assert a.n_draft_tokens == 0
            assert 0 < b.n_draft_tokens <= b.n_generated_tokens
            assert 0 < b.n_draft_accepted <= b.n_draft_tokens   # this model's MTP layer often guesses right
        # streaming with MTP delivers the same text
        pieces = "".join(t for _, t in spec.generate("hello world", max_tokens=30, temperature=0,
                                                     reasoning="off", use_mtp=True, stream=True))
        assert pieces == str(plain.generate("hello world", max_tokens=30, temperature=0, reasoning="off"))


def test_mtp_sampling_runs_and_errors(tiny):
    with dseek.Model(model_path(tiny, "ds2-mtpeasy-gguf-f32")) as m, dseek.Context(m, n_ctx=64) as c:
        g = c.generate("hello world", max_tokens=20, temperature=0.8, seed=3, reasoning="off", use_mtp=True)
        assert g.n_generated_tokens == 20 and g.n_draft_accepted <= g.n_draft_tokens
    with dseek.Model(model_path(tiny, "ds2-v3-gguf-f32")) as m, dseek.Context(m, n_ctx=64) as c:
        with pytest.raises(dseek.UnsupportedError, match="MTP"):
            c.generate("hello", max_tokens=4, use_mtp=True)
