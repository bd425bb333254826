"""Whole-process timings of ``spanlike batch`` and ``spanlike margin`` (the workloads of issue 17).

Usage: ``python benchmarks/bench_batch_cli.py [--quick] [--repeats N] [--accounts N ...] [--big]``.

Each workload runs as a fresh ``python -m spanlike ...`` process, timed from
spawn to exit, with its peak RSS from ``os.wait4`` (the child's own
``ru_maxrss``). The workloads are taken in turn, round after round, so a
burst of load on a shared machine lands on all of them alike; medians and
best are reported. Warm cache: numba's on-disk cache is filled by a first
untimed run. Reference in the same run: ``python -c "import numpy"``
(interpreter start-up), and the ratio of each batch run to it.

Inputs come from :mod:`gen_batch_files` (accounts drawn from the bundled
demo snapshot's instruments, fixed seed), written once to a temporary folder.
``--big`` adds 1,000,000 accounts from parquet (one run: minutes to write).
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Sequence

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent



def write_files(out: Path, n_accounts: int, *, parquet: bool) -> dict[str, Path]:
    """The input files, generated in a child process.

    Linux keeps a process's peak RSS across fork and exec, so generating the
    data in this process would show up in every timed child's peak RSS.
    """
    cmd = [sys.executable, str(HERE / "gen_batch_files.py"), "--accounts", str(n_accounts), "--out", str(out)]
    subprocess.run(cmd + (["--parquet"] if parquet else []), check=True, stderr=subprocess.DEVNULL)
    names = ["positions.csv", "equity.csv"] + (["positions.parquet", "equity.parquet"] if parquet else [])
    return {name: out / name for name in names}

DEMO_MARKET = ROOT / "spanlike" / "data" / "demo_market.json"
DEMO_BOOK = ROOT / "spanlike" / "data" / "demo_portfolio.csv"


def run_once(cmd: list[str]) -> tuple[float, float]:
    """Seconds from spawn to exit and peak RSS in MB of one process (stdout/stderr discarded)."""
    t0 = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, cwd=ROOT)
    _, status, usage = os.wait4(proc.pid, 0)
    seconds = time.perf_counter() - t0
    proc.returncode = os.waitstatus_to_exitcode(status)
    err = proc.stderr.read().decode() if proc.stderr else ""
    if proc.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)} failed ({proc.returncode}): {err[-2000:]}")
    return seconds, usage.ru_maxrss / 1024.0


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="10,000 accounts, 3 rounds")
    parser.add_argument("--repeats", type=int)
    parser.add_argument("--accounts", type=int)
    parser.add_argument("--big", action="store_true", help="also 1,000,000 accounts from parquet (one run)")
    args = parser.parse_args(argv)
    n_acc = args.accounts or (10_000 if args.quick else 100_000)
    repeats = args.repeats or (3 if args.quick else 5)
    py = sys.executable
    with tempfile.TemporaryDirectory(prefix="spanlike-bench-") as tmp:
        folder = Path(tmp)
        files = write_files(folder / "in", n_acc, parquet=True)
        market = str(DEMO_MARKET)

        def batch(fmt: str) -> list[str]:
            return [py, "-m", "spanlike", "batch", "--accounts", str(files[f"positions.{fmt}"]),
                    "--equity", str(files[f"equity.{fmt}"]), "--market", market, "--out", str(folder / f"out.{fmt}")]

        workloads = {
            "python -c 'import numpy' (reference)": [py, "-c", "import numpy"],
            f"batch {n_acc:,} accounts, CSV in, CSV out": batch("csv"),
            f"batch {n_acc:,} accounts, parquet in, parquet out": batch("parquet"),
            "margin demo book (warm cache)": [py, "-m", "spanlike", "margin", "--portfolio", str(DEMO_BOOK),
                                              "--market", market],
            "params list": [py, "-m", "spanlike", "params", "list"],
        }
        for cmd in workloads.values():
            run_once(cmd)  # warm numba's cache and the OS page cache; not timed
        times: dict[str, list[float]] = {k: [] for k in workloads}
        rss: dict[str, float] = {k: 0.0 for k in workloads}
        for _ in range(repeats):
            for name, cmd in workloads.items():
                t, m = run_once(cmd)
                times[name].append(t)
                rss[name] = max(rss[name], m)
        ref = statistics.median(times["python -c 'import numpy' (reference)"])
        print(f"bench_batch_cli: {os.cpu_count()} CPUs, python {sys.version.split()[0]}, {repeats} rounds, "
              "workloads in turn; whole-process wall time (the machine may be shared: medians)")
        print(f"{'workload':<52} {'median':>9} {'best':>9} {'peak RSS':>10} {'vs reference':>13}")
        for name in workloads:
            med = statistics.median(times[name])
            print(f"{name:<52} {med:>8.2f}s {min(times[name]):>8.2f}s {rss[name]:>8.0f}MB {med / ref:>12.1f}x")
        if args.big:
            big = write_files(folder / "big", 1_000_000, parquet=True)
            cmd = [py, "-m", "spanlike", "batch", "--accounts", str(big["positions.parquet"]),
                   "--equity", str(big["equity.parquet"]), "--market", market, "--out", str(folder / "big.parquet")]
            t, m = run_once(cmd)
            print(f"{'batch 1,000,000 accounts, parquet in, parquet out':<52} {t:>8.2f}s {'(1 run)':>9} {m:>8.0f}MB")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
