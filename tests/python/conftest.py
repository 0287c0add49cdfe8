"""Fixtures for the binding's tests: the tiny models of tests/reference
(DSEEK_TINY_MODELS, else the newest <repo>/build*/tests/reference/tiny) and
their expected outputs. Run by meson (DSEEK_TINY_MODELS set), absent models
and any skipped test fail the run: a skip is not a pass. Run by hand without
DSEEK_TINY_MODELS and without a build, the tests needing them skip."""

from __future__ import annotations

import array
import os
import sys
from pathlib import Path
from typing import Dict, List

import pytest

REPO = Path(__file__).resolve().parents[2]
REFERENCE_DIR = REPO / "tests" / "reference"
sys.path.insert(0, str(REPO / "bindings" / "python"))  # after PYTHONPATH, if the runner set it

import dseek  # noqa: E402


def _tiny_dir() -> Path | None:
    env = os.environ.get("DSEEK_TINY_MODELS")
    if env:
        return Path(env) if (Path(env) / "manifest.txt").is_file() else None
    found = [p for p in REPO.glob("build*/tests/reference/tiny") if (p / "manifest.txt").is_file()]
    return max(found, key=lambda p: (p / "manifest.txt").stat().st_mtime) if found else None


@pytest.fixture(scope="session")
def tiny() -> Path:
    d = _tiny_dir()
    if d is None and os.environ.get("DSEEK_TINY_MODELS"):
        pytest.fail(f"DSEEK_TINY_MODELS={os.environ['DSEEK_TINY_MODELS']} holds no manifest.txt")
    if d is None:
        pytest.skip("tiny models absent (set DSEEK_TINY_MODELS or build the tiny_models target)")
    return d


def model_path(tiny_dir: Path, variant: str) -> Path:
    """The path to load for a variant: its model.gguf, or the HF directory."""
    d = tiny_dir / variant
    if not d.is_dir():
        pytest.fail(f"tiny model {variant} absent from {tiny_dir}")
    return d / "model.gguf" if (d / "model.gguf").is_file() else d


class Expected:
    """A variant's expected.txt and logits (read without numpy)."""

    def __init__(self, directory: Path) -> None:
        self.fields: Dict[str, List[str]] = {}
        for line in (directory / "expected.txt").read_text().splitlines():
            key, *rest = line.split()
            self.fields[key] = rest
        self.prompt = [int(v) for v in self.fields["prompt"]]
        self.greedy = [int(v) for v in self.fields["greedy"]]
        self.margin = [float(v) for v in self.fields["greedy_margin"]]
        self.vocab = int(self.fields["vocab"][0])
        self.absmax = float(self.fields["logit_absmax"][0])
        self.prefill = self._rows(directory / "prefill_logits.f32")
        self.decode = self._rows(directory / "decode_logits.f32")

    def _rows(self, path: Path) -> List[array.array]:
        flat = array.array("f")
        flat.frombytes(path.read_bytes())
        if sys.byteorder != "little":
            flat.byteswap()
        return [flat[i:i + self.vocab] for i in range(0, len(flat), self.vocab)]


@pytest.fixture(scope="session")
def qwen2_path(tiny: Path) -> Path:
    return model_path(tiny, "qwen2-gguf-f32")


@pytest.fixture(scope="session")
def qwen2_expected(tiny: Path) -> Expected:
    return Expected(tiny / "qwen2-gguf-f32")


@pytest.fixture()
def qwen2(qwen2_path: Path):
    with dseek.Model(qwen2_path) as m:
        yield m


@pytest.fixture()
def ctx(qwen2):
    # F32 cache: the reference comparison is then limited by f32 arithmetic only
    with dseek.Context(qwen2, n_ctx=128, kv_type="f32", n_threads=1) as c:
        yield c


def pytest_sessionfinish(session, exitstatus):
    """Under meson (DSEEK_TINY_MODELS set) a skipped test fails the run."""
    if not os.environ.get("DSEEK_TINY_MODELS"):
        return
    reporter = session.config.pluginmanager.get_plugin("terminalreporter")
    skipped = reporter.stats.get("skipped", []) if reporter else []
    if skipped and session.exitstatus == 0:
        for r in skipped:
            print(f"\nskipped, counted as a failure: {r.nodeid}: {r.longrepr}")
        session.exitstatus = 1
