"""Run every ``benchmarks/bench_*.py``, each in a fresh Python process.

Usage: ``python benchmarks/run_all.py [--quick]``. ``--quick`` is passed on to
each benchmark. A new benchmark only needs to be a ``bench_<name>.py`` file
that runs its ``main(argv=None) -> int`` under ``__main__``.

A fresh process per benchmark: one that ran before can leave threads behind
(the Dask cluster's event loop, numba's OpenMP workers) that took up to half
of a 2-core machine from the next benchmark when they shared a process.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
from pathlib import Path
from typing import Sequence

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small sizes and few repeats in every benchmark")
    args = parser.parse_args(argv)
    forwarded = ["--quick"] if args.quick else []
    status = 0
    for path in sorted(HERE.glob("bench_*.py")):
        print(f"\n=== {path.stem} ===", flush=True)
        status = max(status, subprocess.run([sys.executable, str(path), *forwarded], cwd=ROOT).returncode)
    return status


if __name__ == "__main__":
    raise SystemExit(main())
