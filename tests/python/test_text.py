"""Tokenizer and chat template through the binding, on the tiny byte-level
BPE tokenizer (tests/reference/tiny_tokenizer.py: ids 0-255 are the bytes,
294-299 the added tokens)."""

from __future__ import annotations

import pytest

import dseek
from conftest import model_path

BOS_TEXT = "<｜begin▁of▁sentence｜>"
EOS_TEXT = "<｜end▁of▁sentence｜>"
ADDED = {294: BOS_TEXT, 295: EOS_TEXT, 296: "<｜User｜>", 297: "<｜Assistant｜>", 298: "<think>", 299: "</think>"}

TEXTS = ["hello world", "Hello,  world!\n\n  and tabs\tend", "naïve café — 日本語 🙂", "x" * 500,
         "<｜User｜>hi<｜Assistant｜><think>\nhm</think>\n\nyes", " leading space", ""]


@pytest.mark.parametrize("text", TEXTS)
def test_round_trip(qwen2, text):
    ids = qwen2.tokenize(text, add_special=False)
    assert all(isinstance(i, int) and 0 <= i < 300 for i in ids)
    assert qwen2.detokenize(ids) == text
    assert b"".join(qwen2.token_piece(i) for i in ids) == text.encode()  # the pieces are the bytes
    assert qwen2.tokenize(text.encode(), add_special=False) == ids  # bytes in, same ids


def test_special_tokens(qwen2):
    assert qwen2.tokenize("hi")[0] == 294  # add_special: BOS first
    assert qwen2.tokenize("hi", add_special=False)[0] != 294
    assert qwen2.tokenize("<think>", add_special=False) == [298]
    # parse_special=False: control tokens (BOS/EOS) written in the text are
    # plain text; user-defined added tokens (<think>, <｜User｜>) still match,
    # as in llama.cpp
    plain = qwen2.tokenize(BOS_TEXT + "<think>", add_special=False, parse_special=False)
    assert 294 not in plain and plain[-1] == 298 and qwen2.detokenize(plain) == BOS_TEXT + "<think>"
    assert qwen2.tokenize(BOS_TEXT, add_special=False) == [294]
    for token, text in ADDED.items():
        assert qwen2.token_piece(token) == text.encode()
    for byte in (0x41, 0x0A, 0xE6):  # byte tokens are the byte itself
        assert qwen2.token_piece(byte) == bytes([byte])
    assert qwen2.tokenize("\x01\x02\x03", add_special=False) == [1, 2, 3]


def test_detokenize_partial_utf8(qwen2):
    euro = "€".encode()  # three byte tokens
    assert qwen2.detokenize(list(euro)) == "€"
    assert qwen2.detokenize(list(euro[:2])) == "\ufffd"  # never completed
    assert qwen2.detokenize([]) == ""


def expected_r1(gen: bool) -> str:
    """The R1 template (tests/data/tokenizers/deepseek_r1_distill_qwen)
    rendered by hand for CONVERSATION: BOS, the system prompt, user turns
    as <｜User｜>text, assistant turns as <｜Assistant｜> + the text after the
    last </think> + EOS, and <｜Assistant｜><think>\\n to start the reply."""
    text = (BOS_TEXT + "You are terse." + "<｜User｜>Hi" + "<｜Assistant｜>" + "\n\nHello!" + EOS_TEXT
            + "<｜User｜>2+2?")
    return text + "<｜Assistant｜><think>\n" if gen else text


CONVERSATION = [("system", "You are terse."), ("user", "Hi"),
                ("assistant", "<think>\nThey greet me.\n</think>\n\nHello!"), ("user", "2+2?")]


@pytest.mark.parametrize("variant", ["qwen2-gguf-f32", "qwen2-hf-f32", "llama-hf-f32"])
def test_chat_prompt(tiny, variant):
    with dseek.Model(model_path(tiny, variant), vocab_only=True) as m:
        assert m.chat_prompt(CONVERSATION) == expected_r1(True)
        assert m.chat_prompt(CONVERSATION, add_generation_prompt=False) == expected_r1(False)
        as_dicts = [{"role": r, "content": c} for r, c in CONVERSATION]
        assert m.chat_prompt(as_dicts) == expected_r1(True)
        assert m.chat_prompt([{"role": "user", "content": "q"}]) == BOS_TEXT + "<｜User｜>q<｜Assistant｜><think>\n"
        ids = m.tokenize(m.chat_prompt(CONVERSATION), add_special=False)
        assert ids[0] == 294 and ids.count(294) == 1 and ids[-2:] == [298, ord("\n")]


def test_chat_prompt_large(qwen2):
    """Long contents exercise the size-then-fill buffer convention."""
    big = "word " * 4000
    out = qwen2.chat_prompt([("user", big)])
    assert out == BOS_TEXT + "<｜User｜>" + big + "<｜Assistant｜><think>\n"
