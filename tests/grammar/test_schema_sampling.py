"""Constrained generation produces only schema-valid JSON.

Runs sample_schema (C, public API) on a tiny random-weight model at
temperatures 1.0-2.0 over many seeds and checks every answer with Python's
json module and the small JSON-schema validator below, written from the JSON
Schema 2020-12 validation spec (not from dseek's code).

    python3 test_schema_sampling.py SAMPLE_EXE TINY_DIR
"""
import json
import math
import os
import re
import subprocess
import sys
import tempfile
import shlex

# A cross build runs the test programs through an emulator (meson's exe_wrapper).
EXE_WRAPPER = shlex.split(os.environ.get("MESON_EXE_WRAPPER", ""))

SCHEMAS = {
    "object": {
        "type": "object",
        "properties": {
            "name": {"type": "string", "maxLength": 12},
            "age": {"type": "integer", "minimum": 0, "maximum": 130},
            "tags": {"type": "array", "items": {"type": "string", "maxLength": 5}, "minItems": 1, "maxItems": 3},
            "admin": {"type": "boolean"},
            "note": {"type": "null"},
        },
        "required": ["name", "age"],
        "additionalProperties": False,
    },
    "enum_const": {
        "type": "object",
        "properties": {
            "color": {"enum": ["red", "green", "blue", 7, None, True]},
            "kind": {"const": "point"},
        },
        "required": ["color", "kind"],
    },
    "pattern": {
        "type": "array",
        "items": {"anyOf": [{"type": "string", "pattern": "^[A-Z]{2}-\\d{3}$"},
                            {"type": "string", "pattern": "^(ab|cd)+x?$"}]},
        "minItems": 2, "maxItems": 4,
    },
    "numbers": {
        "type": "array",
        "items": {"type": "number", "minimum": -2.5, "maximum": 3},
        "minItems": 3, "maxItems": 6,
    },
    "integers": {
        "type": "array",
        "items": {"type": "integer", "minimum": -1234, "maximum": 56789},
        "minItems": 2, "maxItems": 5,
    },
    "exclusive": {"type": "integer", "exclusiveMinimum": 10, "exclusiveMaximum": 20},
    "strings": {
        "type": "object",
        "properties": {
            "short": {"type": "string", "minLength": 2, "maxLength": 4},
            "maybe": {"type": ["string", "null"], "maxLength": 3},
        },
        "required": ["short", "maybe"],
    },
    "oneof": {"oneOf": [{"type": "boolean"}, {"type": "integer", "minimum": 100, "maximum": 199}]},
    "ref": {
        "$defs": {
            "node": {
                "type": "object",
                "properties": {"v": {"type": "integer", "minimum": 0, "maximum": 9},
                               "next": {"anyOf": [{"$ref": "#/$defs/node"}, {"type": "null"}]}},
                "required": ["v", "next"],
            }
        },
        "$ref": "#/$defs/node",
    },
}


# ---- an independent validator (the subset the schemas above use) -----------------

def json_equal(a, b):
    if isinstance(a, bool) or isinstance(b, bool):
        return type(a) is type(b) and a == b
    if isinstance(a, (int, float)) and isinstance(b, (int, float)):
        return a == b
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(json_equal(x, y) for x, y in zip(a, b))
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(json_equal(a[k], b[k]) for k in a)
    return type(a) is type(b) and a == b


def type_ok(v, t):
    return {
        "null": v is None,
        "boolean": isinstance(v, bool),
        "integer": isinstance(v, int) and not isinstance(v, bool) or (isinstance(v, float) and v.is_integer()),
        "number": isinstance(v, (int, float)) and not isinstance(v, bool),
        "string": isinstance(v, str),
        "array": isinstance(v, list),
        "object": isinstance(v, dict),
    }[t]


def resolve(root, ref):
    if ref == "#":
        return root
    parts = ref[2:].split("/")
    node = root
    for p in parts:
        node = node[p.replace("~1", "/").replace("~0", "~")]
    return node


def valid(v, s, root):
    if s is True:
        return True
    if "$ref" in s and not valid(v, resolve(root, s["$ref"]), root):
        return False
    if "const" in s and not json_equal(v, s["const"]):
        return False
    if "enum" in s and not any(json_equal(v, e) for e in s["enum"]):
        return False
    if "anyOf" in s and not any(valid(v, x, root) for x in s["anyOf"]):
        return False
    if "oneOf" in s and sum(valid(v, x, root) for x in s["oneOf"]) != 1:
        return False
    if "type" in s:
        types = s["type"] if isinstance(s["type"], list) else [s["type"]]
        if not any(type_ok(v, t) for t in types):
            return False
    if isinstance(v, str):
        if len(v) < s.get("minLength", 0) or len(v) > s.get("maxLength", math.inf):
            return False
        if "pattern" in s and not re.search(s["pattern"], v):
            return False
    if isinstance(v, (int, float)) and not isinstance(v, bool):
        if v < s.get("minimum", -math.inf) or v > s.get("maximum", math.inf):
            return False
        if "exclusiveMinimum" in s and not v > s["exclusiveMinimum"]:
            return False
        if "exclusiveMaximum" in s and not v < s["exclusiveMaximum"]:
            return False
    if isinstance(v, list):
        if len(v) < s.get("minItems", 0) or len(v) > s.get("maxItems", math.inf):
            return False
        if "items" in s and not all(valid(x, s["items"], root) for x in v):
            return False
    if isinstance(v, dict):
        props = s.get("properties", {})
        if any(k not in v for k in s.get("required", [])):
            return False
        if s.get("additionalProperties", True) is False and any(k not in props for k in v):
            return False
        if not all(valid(v[k], props[k], root) for k in v if k in props):
            return False
    return True


def reject_pairs(x):
    """json.loads hook: a duplicate key is an error, not a silent overwrite."""
    keys = [k for k, _ in x]
    assert len(keys) == len(set(keys)), f"duplicate keys {keys}"
    return dict(x)


# ---- running --------------------------------------------------------------------

def run(exe, model, schema, n, mode):
    with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as f:
        json.dump(schema, f)
        path = f.name
    try:
        out = subprocess.run([*EXE_WRAPPER, exe, model, path, str(n), mode], capture_output=True, text=True, timeout=300)
    finally:
        os.unlink(path)
    assert out.returncode == 0, out.stderr
    return [json.loads(line) for line in out.stdout.splitlines()]


def check_answers(name, schema, samples, may_end_thinking=False):
    failures = 0
    for s in samples:
        if may_end_thinking and s["content"] == "" and s["stop"] == 1:
            continue   # the model ended its turn inside the reasoning: no answer to check
        try:
            assert s["stop"] == 1, f"stop reason {s['stop']} (not EOS)"
            doc = json.loads(s["content"], object_pairs_hook=reject_pairs)
            assert valid(doc, schema, schema), "does not validate"
        except (AssertionError, ValueError) as e:
            failures += 1
            print(f"FAIL {name} seed {s['seed']}: {e}: {s['content']!r}")
    return failures


def main():
    exe, tiny = sys.argv[1], sys.argv[2]
    model = os.path.join(tiny, "qwen2-gguf-f32", "model.gguf")
    failures, total = 0, 0
    for name, schema in SCHEMAS.items():
        samples = run(exe, model, schema, 40, "plain")
        failures += check_answers(name, schema, samples)
        total += len(samples)
        shapes = {s["content"] for s in samples}
        print(f"{name}: {len(samples)} answers, {len(shapes)} distinct, e.g. {samples[0]['content']!r}")
        if len(shapes) < 5:
            failures += 1
            print(f"FAIL {name}: only {len(shapes)} distinct answers: sampling is not exercised")

    # reasoning: free thinking, then a valid answer
    schema = SCHEMAS["object"]
    samples = run(exe, model, schema, 40, "think")
    failures += check_answers("think", schema, samples, may_end_thinking=True)
    total += len(samples)
    answered = sum(1 for s in samples if s["content"])
    print(f"think: {answered} of {len(samples)} answered (the others ended inside the reasoning)")
    if answered < 3 * len(samples) // 4:
        failures += 1
        print("FAIL think: too few answers")
    thought = [s for s in samples if s["reasoning_tokens"] > 0]
    unconstrained = sum(1 for s in thought if not s["reasoning"].lstrip().startswith("{"))
    print(f"think: {len(thought)} of {len(samples)} reasoned; {unconstrained} reasonings are not JSON-shaped; "
          f"e.g. {thought[0]['reasoning'][:60]!r} -> {thought[0]['content']!r}")
    if len(thought) < len(samples) // 2 or unconstrained < len(thought) // 2:
        failures += 1
        print("FAIL think: the reasoning looks constrained or absent")

    # thinking budget: the forced closing hands over to the constraint
    samples = run(exe, model, schema, 40, "budget")
    failures += check_answers("budget", schema, samples)
    total += len(samples)
    for s in samples:
        want = 5 + s["seed"] % 20
        if s["reasoning_tokens"] != want or "Considering the limited time" not in s["reasoning"]:
            failures += 1
            print(f"FAIL budget seed {s['seed']}: {s['reasoning_tokens']} reasoning tokens, want {want}")
    print(f"{total} samples, {failures} failures")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
