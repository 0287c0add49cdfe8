"""Context.generate(grammar=..., json_schema=...): constrained answers on the
tiny model, validated with Python's json module; errors name the position or
the schema keyword."""

from __future__ import annotations

import json

import pytest

import dseek

SCHEMA = {
    "type": "object",
    "properties": {"n": {"type": "integer", "minimum": 1, "maximum": 50},
                   "word": {"type": "string", "pattern": "^[a-z]{1,6}$"}},
    "required": ["n", "word"],
}
THINK = "<｜User｜>Answer in JSON.<｜Assistant｜><think>\n"


def test_json_schema_answers_validate(ctx):
    for seed in range(12):
        g = ctx.generate("<｜User｜>hi<｜Assistant｜>", max_tokens=200, temperature=1.2, seed=seed,
                         reasoning="off", json_schema=SCHEMA)
        assert g.stop_reason == "eos", g
        doc = json.loads(str(g))
        assert set(doc) == {"n", "word"}
        assert 1 <= doc["n"] <= 50 and isinstance(doc["n"], int)
        assert 1 <= len(doc["word"]) <= 6 and doc["word"].isalpha() and doc["word"].islower()


def test_reasoning_is_free_then_answer_is_constrained(ctx):
    grammar = 'root ::= "yes" | "no"'
    answers = set()
    for seed in range(8):
        g = ctx.generate(THINK, max_tokens=120, temperature=1.0, seed=seed, grammar=grammar,
                         max_thinking_tokens=6 + seed, min_thinking_tokens=6 + seed)
        assert g.n_reasoning_tokens == 6 + seed
        assert "Considering the limited time" in g.reasoning
        assert str(g) in ("yes", "no")
        answers.add(str(g))
    # the json_schema may also be given as JSON text
    g = ctx.generate(THINK, max_tokens=60, seed=1, json_schema='{"enum": [1, 2]}', max_thinking_tokens=0)
    assert str(g) in ("1", "2") and g.reasoning == ""


def test_trigger(ctx):
    # free text until the model writes "@" (made likely by a bias), then the grammar
    for seed in range(6):
        s = dseek.Sampler(seed).add_logit_bias(ord("@"), 8.0).add_temperature(1.0)
        g = ctx.generate("hello", max_tokens=100, reasoning="off", sampler=s, grammar='root ::= "A" [0-9]',
                         trigger="@")
        s.close()
        assert g.stop_reason == "eos" and "@" in str(g), g
        head, tail = str(g).split("@", 1)
        assert len(tail) == 2 and tail[0] == "A" and tail[1].isdigit(), str(g)


def test_errors(ctx):
    with pytest.raises(dseek.FormatError, match="grammar: line 2 column 11: rule 'b' is used but not defined"):
        ctx.generate("hi", grammar='root ::= a\na ::= "x" b')
    with pytest.raises(dseek.UnsupportedError, match="#/properties/e: keyword 'format' is not supported"):
        ctx.generate("hi", json_schema={"properties": {"e": {"type": "string", "format": "email"}}})
    with pytest.raises(dseek.InvalidArgumentError, match="not both"):
        ctx.generate("hi", grammar='root ::= "x"', json_schema={"type": "null"})
