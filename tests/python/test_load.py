"""Loading: the library lookup, GGUF files and HF directories, model facts,
handle lifetimes, and the ctypes structs against the C header's layout."""

from __future__ import annotations

import ctypes
import os
import shutil
import subprocess
import sys

import pytest

import dseek
from dseek import _api
from conftest import REPO, model_path

# hyperparameters of the tiny qwen2/llama models (tests/reference/README.md)
TINY = {"n_vocab": 300, "n_embd": 64, "n_layer": 2, "n_ctx_train": 512}


def test_version():
    assert dseek.version() == "0.1.0"
    major, minor, patch = (int(x) for x in dseek.version().split("."))
    assert dseek.version_number() == major * 10000 + minor * 100 + patch
    assert dseek.status_string(3) == "format error"


@pytest.mark.parametrize("variant,arch", [
    ("qwen2-gguf-f32", "qwen2"), ("qwen2-hf-f32", "qwen2"), ("llama-gguf-q8_0", "llama"),
    ("llama-hf-bf16-sharded", "llama")])
def test_load_facts(tiny, variant, arch):
    with dseek.Model(model_path(tiny, variant)) as m:
        assert m.arch == arch
        for name, value in TINY.items():
            assert getattr(m, name) == value, name
        assert m.n_params > 0 and m.weight_bytes > 0
        assert m.has_vocab
        assert (m.bos, m.eos) == (294, 295)  # tiny_tokenizer.py: added tokens after 256 bytes + 38 merges
        assert m.is_eog(295) and not m.is_eog(294)
        assert "closed" not in repr(m)
    assert m.closed and "closed" in repr(m)


def test_load_without_tokenizer(tiny):
    with dseek.Model(model_path(tiny, "qwen2-hf-f32-tied-notok")) as m:
        assert not m.has_vocab
        assert m.bos is None and m.eos is None
        with pytest.raises(dseek.UnsupportedError, match="no tokenizer"):
            m.tokenize("a")
        with dseek.Context(m, n_ctx=16) as c:  # ids in, logits out
            assert len(c.eval([1, 2, 3])) == 300
            with pytest.raises(dseek.UnsupportedError):
                c.generate("hi")


def test_vocab_only(qwen2_path):
    with dseek.Model(qwen2_path, vocab_only=True, mmap=False) as m:
        assert m.tokenize("hi", add_special=False) == [ord("h"), ord("i")]
        with pytest.raises(dseek.InvalidArgumentError, match="vocab-only"):
            dseek.Context(m)


def test_progress_and_cancel(qwen2_path):
    seen = []
    with dseek.Model(qwen2_path, progress=lambda f: seen.append(f)):
        pass
    assert seen and seen[-1] == pytest.approx(1.0) and all(0 <= f <= 1 for f in seen)
    with pytest.raises(dseek.CancelledError):
        dseek.Model(qwen2_path, progress=lambda f: True)

    def boom(f):
        raise KeyError("from the callback")
    with pytest.raises(KeyError, match="from the callback"):  # re-raised, load cancelled
        dseek.Model(qwen2_path, progress=boom)


def test_closing(qwen2):
    c = dseek.Context(qwen2, n_ctx=16)
    qwen2.close()  # closes its contexts first
    with pytest.raises(dseek.InvalidArgumentError, match="context is closed"):
        c.eval([1])
    with pytest.raises(dseek.InvalidArgumentError, match="model is closed"):
        qwen2.tokenize("x")
    qwen2.close()
    c.close()  # both idempotent


def test_context_keeps_model_alive(qwen2_path):
    c = dseek.Context(dseek.Model(qwen2_path), n_ctx=16)  # the Model has no other reference
    assert len(c.eval([1, 2])) == 300
    assert c.model.n_vocab == 300
    c.close()


def test_context_facts(qwen2):
    with dseek.Context(qwen2, n_ctx=32, n_batch=8, n_threads=1, kv_type="bf16") as c:
        assert (c.n_ctx, c.n_past) == (32, 0)
        assert c.kv_bytes_per_token > 0
        c.eval([294, 1, 2])
        assert c.n_past == 3 and c.tokens() == [294, 1, 2]
        c.reset()
        assert c.n_past == 0 and c.tokens() == []


def _run(code: str, env: dict) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=60)


def test_lookup_env_var_is_final(tmp_path):
    env = dict(os.environ, DSEEK_LIBRARY=str(tmp_path / "nope" / "libdseek.so"))
    r = _run("import dseek", env)
    assert r.returncode != 0
    assert "ImportError" in r.stderr and "DSEEK_LIBRARY" in r.stderr and str(tmp_path / "nope") in r.stderr


def test_lookup_next_to_package(tmp_path):
    """Without DSEEK_LIBRARY a copy inside the package wins over build dirs."""
    pkg = tmp_path / "dseek"
    shutil.copytree(REPO / "bindings" / "python" / "dseek", pkg,
                    ignore=shutil.ignore_patterns("__pycache__", "libdseek*"))
    shutil.copy(_api.library_path, pkg / "libdseek.so")
    env = {k: v for k, v in os.environ.items() if k not in ("DSEEK_LIBRARY", "PYTHONPATH")}
    env["PYTHONPATH"] = str(tmp_path)
    env["PYTHONDONTWRITEBYTECODE"] = "1"
    r = _run("import dseek; print(dseek.library_path); print(dseek.version())", env)
    assert r.returncode == 0, r.stderr
    assert r.stdout.split() == [str(pkg / "libdseek.so"), "0.1.0"]


def test_lookup_reports_everything_tried(tmp_path):
    """Outside a source tree with no copy anywhere: the message lists each step."""
    pkg = tmp_path / "dseek"
    shutil.copytree(REPO / "bindings" / "python" / "dseek", pkg,
                    ignore=shutil.ignore_patterns("__pycache__", "libdseek*"))
    env = {k: v for k, v in os.environ.items() if k not in ("DSEEK_LIBRARY", "PYTHONPATH", "LD_LIBRARY_PATH")}
    env["PYTHONPATH"] = str(tmp_path)
    env["PYTHONDONTWRITEBYTECODE"] = "1"
    r = _run("import ctypes.util; ctypes.util.find_library = lambda name: None; import dseek", env)
    assert r.returncode != 0
    for step in ("DSEEK_LIBRARY: not set", str(pkg), "build*/lib", "find_library"):
        assert step in r.stderr, step


LAYOUT_C = r"""
#include <stddef.h>
#include <stdio.h>
#include "dseek.h"
#define F(T, f) printf(#T " " #f " %zu\n", offsetof(T, f));
#define S(T) printf(#T " sizeof %zu\n", sizeof(T));
int main(void) {
  S(dseek_model_options) F(dseek_model_options, vocab_only) F(dseek_model_options, no_mmap)
  F(dseek_model_options, progress) F(dseek_model_options, progress_user_data)
  S(dseek_context_options) F(dseek_context_options, n_ctx) F(dseek_context_options, n_batch)
  F(dseek_context_options, n_threads) F(dseek_context_options, kv_type) F(dseek_context_options, memory_limit)
  S(dseek_generate_options) F(dseek_generate_options, max_tokens) F(dseek_generate_options, sampler)
  F(dseek_generate_options, stop) F(dseek_generate_options, n_stop) F(dseek_generate_options, stream)
  F(dseek_generate_options, stream_user_data) F(dseek_generate_options, reasoning)
  F(dseek_generate_options, add_special) F(dseek_generate_options, parse_special)
  F(dseek_generate_options, max_thinking_tokens) F(dseek_generate_options, min_thinking_tokens)
  F(dseek_generate_options, think_close) F(dseek_generate_options, think_continue)
  F(dseek_generate_options, draft) F(dseek_generate_options, n_draft)
  F(dseek_generate_options, use_mtp) F(dseek_generate_options, grammar)
  F(dseek_generate_options, json_schema) F(dseek_generate_options, constrain_after_reasoning)
  F(dseek_generate_options, trigger) F(dseek_generate_options, context_shift) F(dseek_generate_options, n_keep)
  F(dseek_generate_options, confidence) F(dseek_generate_options, on_token)
  F(dseek_generate_options, on_token_user_data) F(dseek_generate_options, top_logprobs)
  S(dseek_generate_result) F(dseek_generate_result, stop_reason) F(dseek_generate_result, n_prompt_tokens)
  F(dseek_generate_result, n_generated_tokens) F(dseek_generate_result, n_reasoning_tokens)
  F(dseek_generate_result, prompt_seconds) F(dseek_generate_result, generate_seconds)
  F(dseek_generate_result, n_cached_tokens) F(dseek_generate_result, n_forced_tokens)
  F(dseek_generate_result, n_draft_tokens) F(dseek_generate_result, n_draft_accepted)
  F(dseek_generate_result, mean_confidence) F(dseek_generate_result, lowest_group_confidence)
  F(dseek_generate_result, bottom10_group_confidence) F(dseek_generate_result, tail_confidence)
  F(dseek_generate_result, sum_logprob) F(dseek_generate_result, n_scored_tokens)
  return 0;
}
"""


def test_struct_layout_matches_header(tmp_path):
    """Every ctypes struct has the C struct's size and field offsets."""
    cc = shutil.which("cc") or shutil.which("gcc") or shutil.which("clang")
    if cc is None:
        pytest.skip("no C compiler")
    (tmp_path / "layout.c").write_text(LAYOUT_C)
    exe = tmp_path / "layout"
    subprocess.run([cc, "-std=c11", "-I", str(REPO / "include"), str(tmp_path / "layout.c"), "-o", str(exe)],
                   check=True, timeout=60)
    structs = {"dseek_model_options": _api.ModelOptions, "dseek_context_options": _api.ContextOptions,
               "dseek_generate_options": _api.GenerateOptions, "dseek_generate_result": _api.GenerateResult}
    lines = subprocess.run([str(exe)], check=True, capture_output=True, text=True).stdout.splitlines()
    assert len(lines) == 4 + sum(len(s._fields_) - 1 for s in structs.values())  # all but struct_size
    for line in lines:
        name, field, value = line.split()
        ct = structs[name]
        got = ct.__dict__[field].offset if field != "sizeof" else ctypes.sizeof(ct)
        assert got == int(value), f"{name}.{field}: ctypes {got}, C {value}"
    assert [f for f, _ in _api.GenerateResult._fields_][0] == "struct_size"


def test_logging(qwen2):
    got = []
    dseek.set_log_callback(lambda level, message: got.append((level, message)))
    try:
        dseek.set_log_level("debug")
        with pytest.raises(dseek.InvalidArgumentError):
            qwen2.tokenize(b"\xff")
        assert any(level == "debug" and "UTF-8" in message for level, message in got), got
        dseek.set_log_level("none")
        got.clear()
        with pytest.raises(dseek.InvalidArgumentError):
            qwen2.tokenize(b"\xff")
        assert got == []
        with pytest.raises(dseek.InvalidArgumentError):
            dseek.set_log_level("loud")
    finally:
        dseek.set_log_level("none")
        dseek.set_log_callback(None)


def test_state_save_load(qwen2, tmp_path):
    path = tmp_path / "state.bin"
    with dseek.Context(qwen2, n_ctx=32, kv_type="f32") as a, dseek.Context(qwen2, n_ctx=32, kv_type="f32") as b:
        want = list(a.eval([294, 5, 6, 7]))
        want_next = list(a.eval([8]))
        a.reset()
        a.eval([294, 5, 6, 7])
        a.save(path)
        b.load(path)
        assert b.tokens() == [294, 5, 6, 7]
        assert list(b.eval([8])) == want_next  # the cache carried over exactly
        assert len(want) == 300
        (tmp_path / "bad.bin").write_bytes(b"not a state file" * 4)
        with pytest.raises(dseek.FormatError, match="bad.bin"):
            b.load(tmp_path / "bad.bin")
        assert b.tokens() == [294, 5, 6, 7, 8]  # left as it was
        with dseek.Context(qwen2, n_ctx=32, kv_type="f16") as c, pytest.raises(dseek.FormatError):
            c.load(path)  # another KV type
