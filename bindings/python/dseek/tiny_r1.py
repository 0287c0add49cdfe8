"""Where tiny-r1, the small reasoning model shipped with dseek, is.

tiny-r1 (examples/tiny-r1/README.md in the source tree) is a 2.8 M-parameter
DeepSeek-V3-architecture model trained on arithmetic; the installed library
puts it in <prefix>/share/dseek/tiny-r1/.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import List

ENV_VAR = "DSEEK_TINY_R1"


def _candidates() -> List[Path]:
    paths = []
    env = os.environ.get(ENV_VAR)
    if env:
        paths.append(Path(env))
    # the source tree: bindings/python/dseek/ -> the repository root
    paths.append(Path(__file__).resolve().parents[3] / "examples" / "tiny-r1" / "tiny-r1.gguf")
    for prefix in dict.fromkeys([sys.prefix, "/usr/local", "/usr"]):
        paths.append(Path(prefix) / "share" / "dseek" / "tiny-r1" / "tiny-r1.gguf")
    return paths


def tiny_r1_path() -> str:
    """The path of tiny-r1.gguf: $DSEEK_TINY_R1 if set, else the source tree's
    copy, else the installed one. Raises FileNotFoundError (listing the places
    looked at) when there is none."""
    paths = _candidates()
    for p in paths:
        if p.is_file():
            return str(p)
    raise FileNotFoundError("tiny-r1.gguf not found; looked at " + ", ".join(str(p) for p in paths))
