"""Finding and loading the shared library libdseek.

Lookup order (the first that loads wins):

1. the environment variable ``DSEEK_LIBRARY``: a path to the shared library
   (when set, nothing else is tried, so a wrong path is an error, not a
   silent fallback to another copy);
2. a copy next to the package: ``dseek/libdseek.so*`` (``.dylib`` on macOS);
3. the meson build directories of the source tree this package lives in:
   ``<repo>/build*/lib/libdseek.so``, the most recently built first;
4. the system: ``ctypes.util.find_library("dseek")``.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import os
import sys
from pathlib import Path
from typing import List, Tuple

ENV_VAR = "DSEEK_LIBRARY"

_SUFFIX = ".dylib" if sys.platform == "darwin" else ".so"
_PACKAGE_DIR = Path(__file__).resolve().parent
# bindings/python/dseek -> the repository root
_SOURCE_ROOT = _PACKAGE_DIR.parent.parent.parent


def _package_candidates() -> List[Path]:
    """Copies shipped inside the package, unversioned name first."""
    found = sorted(_PACKAGE_DIR.glob("libdseek" + _SUFFIX + "*"), key=lambda p: len(p.name))
    found += sorted(_PACKAGE_DIR.glob("libdseek.*" + _SUFFIX))  # macOS: libdseek.0.dylib
    return [p for p in found if p.is_file()]


def _build_candidates() -> List[Path]:
    """<repo>/build*/lib/libdseek.so of a source checkout, newest first."""
    if not (_SOURCE_ROOT / "include" / "dseek.h").is_file():
        return []  # an installed package: there is no source tree around it
    found = [p for p in _SOURCE_ROOT.glob("build*/lib/libdseek" + _SUFFIX) if p.is_file()]
    return sorted(found, key=lambda p: p.stat().st_mtime, reverse=True)


def load() -> Tuple[ctypes.CDLL, str]:
    """Load libdseek following the lookup order; return it and its path.

    Raises ImportError listing every place tried (and why each failed).
    """
    tried: List[str] = []

    def attempt(path: str) -> ctypes.CDLL | None:
        try:
            return ctypes.CDLL(path)
        except OSError as e:
            tried.append(f"{path}: {e}")
            return None

    env = os.environ.get(ENV_VAR)
    if env:
        lib = attempt(env)
        if lib is not None:
            return lib, env
        raise ImportError(f"dseek: cannot load the library named by {ENV_VAR}: {tried[-1]}")
    tried.append(f"{ENV_VAR}: not set")

    candidates = _package_candidates()
    if not candidates:
        tried.append(f"{_PACKAGE_DIR}/libdseek{_SUFFIX}*: none")
    for path in candidates:
        lib = attempt(str(path))
        if lib is not None:
            return lib, str(path)

    candidates = _build_candidates()
    if not candidates:
        tried.append(f"{_SOURCE_ROOT}/build*/lib/libdseek{_SUFFIX}: none")
    for path in candidates:
        lib = attempt(str(path))
        if lib is not None:
            return lib, str(path)

    name = ctypes.util.find_library("dseek")
    if name:
        lib = attempt(name)
        if lib is not None:
            return lib, name
    else:
        tried.append('ctypes.util.find_library("dseek"): not found')

    raise ImportError("dseek: cannot find the shared library libdseek. Tried:\n  " + "\n  ".join(tried) +
                      f"\nBuild it (meson setup build && meson compile -C build) or set {ENV_VAR}.")
