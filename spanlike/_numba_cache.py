"""Drop numba's on-disk kernel cache when a source a kernel inlines has changed since it was written.

numba keys a cached kernel by the stamp of the file that defines it, not by the
files it inlines from: after an edit to a rule in ``spanlike/methodology/`` or
to the packed layout in ``spanlike/batch/layout.py``, a kernel module that did
not change would load a stale compiled kernel (old constants, old rule). Run as
``python -m spanlike._numba_cache`` (``make test`` does) to delete every cache
file older than the newest kernel-relevant source, so the next run compiles
afresh. An installed package is unaffected: installing stamps every file anew.
"""

from __future__ import annotations

import sys
from pathlib import Path

__all__ = ["stale_cache_files", "main"]

ROOT = Path(__file__).resolve().parent.parent
#: Sources whose edits change compiled kernels elsewhere (inlined rules, shared layout, numba options).
KERNEL_SOURCES = ("spanlike/methodology", "spanlike/batch", "risk_arrays")
CACHE_DIRS = ("spanlike", "risk_arrays")


def stale_cache_files(root: Path = ROOT) -> list[Path]:
    """Cache files (``*.nbi``, ``*.nbc``) older than the newest kernel-relevant source under ``root``."""
    sources = [p for d in KERNEL_SOURCES for p in (root / d).rglob("*.py")]
    if not sources:
        return []
    newest = max(p.stat().st_mtime for p in sources)
    caches = [p for d in CACHE_DIRS for pattern in ("*.nbi", "*.nbc") for p in (root / d).rglob(pattern)]
    return [p for p in caches if p.stat().st_mtime < newest]


def main() -> int:
    stale = stale_cache_files()
    for p in stale:
        p.unlink(missing_ok=True)
    if stale:
        print(f"numba cache: {len(stale)} stale file(s) removed (a kernel source changed since they were written)",
              file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
