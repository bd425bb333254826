"""Run every ``benchmarks/bench_*.py``: import it and call its ``main(argv)``.

Usage: ``python benchmarks/run_all.py [--quick]``. ``--quick`` is passed on to
each benchmark's ``main``. A new benchmark only needs to be a
``bench_<name>.py`` file with ``main(argv=None) -> int``.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from pathlib import Path
from typing import Sequence

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small sizes and few repeats in every benchmark")
    args = parser.parse_args(argv)
    forwarded = ["--quick"] if args.quick else []
    status = 0
    for path in sorted(HERE.glob("bench_*.py")):
        print(f"\n=== {path.stem} ===", flush=True)
        module = importlib.import_module(f"benchmarks.{path.stem}")
        status = max(status, int(module.main(forwarded) or 0))
    return status


if __name__ == "__main__":
    raise SystemExit(main())
