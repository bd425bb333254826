"""Whole-process timings of ``spanlike batch`` and ``spanlike margin`` (the workloads of issue 17).

Usage: ``python benchmarks/bench_batch_cli.py [--quick] [--repeats N] [--accounts N] [--no-big] [--max-load L]``.

Each workload runs as a fresh ``python -m spanlike ...`` process, timed from
spawn to exit, with its peak RSS from ``os.wait4`` (the child's own
``ru_maxrss``). The workloads are taken in turn, round after round, so a
burst of load on a shared machine lands on all of them alike; medians and
best are reported, with the 1-minute load average seen before each round
(a round waits up to a minute for the load to fall below ``--max-load``).
Reference in the same run: ``python -c "import numpy"`` (interpreter
start-up), and each workload's ratio to it.

Warm cache: numba's on-disk cache is filled by a first untimed run. Cold
cache (a fresh clone): before each timed cold run the source tree is copied
to a new temporary folder without any ``__pycache__`` (no bytecode, no
numba ``.nbi``/``.nbc``), with ``risk_arrays/`` and ``params/`` placed where
the editable install maps them (``spanlike/risk_arrays``, ``spanlike/params``),
and the command runs from there; the main tree's cache is never touched.

Inputs come from :mod:`gen_batch_files` (accounts drawn from the bundled
demo snapshot's instruments, fixed seed), written once to a temporary folder.
Unless ``--quick`` or ``--no-big``, 1,000,000 accounts from parquet run too
(``--big-repeats`` runs; about a minute to write the input).
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Sequence

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
DEMO_MARKET = ROOT / "spanlike" / "data" / "demo_market.json"
DEMO_BOOK = ROOT / "spanlike" / "data" / "demo_portfolio.csv"
REFERENCE = "python -c 'import numpy' (reference)"


def write_files(out: Path, n_accounts: int, *, parquet: bool) -> dict[str, Path]:
    """The input files, generated in a child process.

    Linux keeps a process's peak RSS across fork and exec, so generating the
    data in this process would show up in every timed child's peak RSS.
    """
    cmd = [sys.executable, str(HERE / "gen_batch_files.py"), "--accounts", str(n_accounts), "--out", str(out)]
    subprocess.run(cmd + (["--parquet"] if parquet else []), check=True, stderr=subprocess.DEVNULL)
    names = ["positions.csv", "equity.csv"] + (["positions.parquet", "equity.parquet"] if parquet else [])
    return {name: out / name for name in names}


def cold_tree(dst: Path) -> Path:
    """A copy of the source tree as a fresh clone has it: no ``__pycache__`` anywhere; returns the folder to run in."""
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc", "*.nbi", "*.nbc")
    shutil.copytree(ROOT / "spanlike", dst / "spanlike", ignore=ignore)
    shutil.copytree(ROOT / "risk_arrays", dst / "spanlike" / "risk_arrays", ignore=ignore)
    shutil.copytree(ROOT / "params", dst / "spanlike" / "params", ignore=ignore)
    return dst


def run_once(cmd: list[str], *, cwd: Path = ROOT) -> tuple[float, float]:
    """Seconds from spawn to exit and peak RSS in MB of one process (stdout discarded)."""
    t0 = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, cwd=cwd)
    _, status, usage = os.wait4(proc.pid, 0)
    seconds = time.perf_counter() - t0
    proc.returncode = os.waitstatus_to_exitcode(status)
    err = proc.stderr.read().decode() if proc.stderr else ""
    if proc.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)} failed ({proc.returncode}): {err[-2000:]}")
    return seconds, usage.ru_maxrss / 1024.0


def wait_for_quiet(max_load: float, max_wait_s: float = 60.0) -> float:
    """Wait (up to ``max_wait_s``) for the 1-minute load average to fall below ``max_load``; returns it."""
    deadline = time.monotonic() + max_wait_s
    load = os.getloadavg()[0]
    while load > max_load and time.monotonic() < deadline:
        time.sleep(5.0)
        load = os.getloadavg()[0]
    return load


@dataclass
class Workload:
    """A command, its targets (seconds, MB; None: no target) and what it measured."""

    cmd: list[str]
    target_s: float | None = None
    target_rss_mb: float | None = None
    cold: bool = False
    times: list[float] = field(default_factory=list)
    rss_mb: float = 0.0

    def run(self, scratch: Path) -> None:
        cwd = ROOT
        if self.cold:
            cwd = cold_tree(Path(tempfile.mkdtemp(prefix="cold-", dir=scratch)))
        t, m = run_once(self.cmd, cwd=cwd)
        if self.cold:
            shutil.rmtree(cwd, ignore_errors=True)
        self.times.append(t)
        self.rss_mb = max(self.rss_mb, m)

    def met(self) -> str:
        if self.target_s is None:
            return ""
        ok = statistics.median(self.times) <= self.target_s and (
            self.target_rss_mb is None or self.rss_mb <= self.target_rss_mb)
        return "yes" if ok else "no"

    def target_text(self) -> str:
        if self.target_s is None:
            return "-"
        rss = f", RSS <= {self.target_rss_mb / 1024:g} GB" if self.target_rss_mb else ""
        return f"<= {self.target_s:g} s{rss}"


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="10,000 accounts, 3 rounds, no 1,000,000 run")
    parser.add_argument("--repeats", type=int)
    parser.add_argument("--accounts", type=int)
    parser.add_argument("--no-big", action="store_true", help="skip 1,000,000 accounts from parquet")
    parser.add_argument("--big-repeats", type=int, default=3)
    parser.add_argument("--max-load", type=float, default=1.5,
                        help="wait (up to a minute) before each round for the 1-minute load to fall below this")
    args = parser.parse_args(argv)
    n_acc = args.accounts or (10_000 if args.quick else 100_000)
    repeats = args.repeats or (3 if args.quick else 7)
    py = sys.executable
    market = str(DEMO_MARKET)
    with tempfile.TemporaryDirectory(prefix="spanlike-bench-") as tmp:
        folder = Path(tmp)
        files = write_files(folder / "in", n_acc, parquet=True)

        def batch(inputs: dict[str, Path], fmt: str, out: str) -> list[str]:
            return [py, "-m", "spanlike", "batch", "--accounts", str(inputs[f"positions.{fmt}"]),
                    "--equity", str(inputs[f"equity.{fmt}"]), "--market", market, "--out", str(folder / out)]

        margin = [py, "-m", "spanlike", "margin", "--portfolio", "spanlike/data/demo_portfolio.csv",
                  "--market", "spanlike/data/demo_market.json"]
        full = n_acc == 100_000
        workloads = {
            REFERENCE: Workload([py, "-c", "import numpy"]),
            f"batch {n_acc:,} accounts, CSV in, CSV out": Workload(
                batch(files, "csv", "out.csv"), 2.0 if full else None, 1024.0 if full else None),
            f"batch {n_acc:,} accounts, parquet in, parquet out": Workload(
                batch(files, "parquet", "out.parquet"), 1.2 if full else None),
            "margin demo book, warm cache": Workload(margin, 1.0),
            "margin demo book, cold cache (fresh copy of the tree)": Workload(margin, 5.0, cold=True),
            "params list": Workload([py, "-m", "spanlike", "params", "list"]),
        }
        for w in workloads.values():
            if not w.cold:
                run_once(w.cmd)  # warm numba's cache and the OS page cache; not timed
        loads: list[float] = []
        for _ in range(repeats):
            loads.append(wait_for_quiet(args.max_load))
            for w in workloads.values():
                w.run(folder)
        if not (args.quick or args.no_big):
            big = write_files(folder / "big", 1_000_000, parquet=True)
            name = "batch 1,000,000 accounts, parquet in, parquet out"
            workloads[name] = Workload(batch(big, "parquet", "big.parquet"), 12.0, 4096.0)
            run_once(workloads[name].cmd)  # page cache
            for _ in range(args.big_repeats):
                loads.append(wait_for_quiet(args.max_load))
                workloads[name].run(folder)
        ref = statistics.median(workloads[REFERENCE].times)
        print(f"bench_batch_cli: {os.cpu_count()} CPUs, python {sys.version.split()[0]}, {repeats} rounds "
              f"(1,000,000 accounts: {args.big_repeats} runs), workloads in turn; whole-process wall time; "
              f"1-minute load before rounds: min {min(loads):.2f}, median {statistics.median(loads):.2f}, "
              f"max {max(loads):.2f}")
        print(f"{'workload':<56} {'target':>22} {'median':>8} {'best':>8} {'peak RSS':>9} {'vs ref':>7} {'met':>4}")
        for name, w in workloads.items():
            med = statistics.median(w.times)
            print(f"{name:<56} {w.target_text():>22} {med:>7.2f}s {min(w.times):>7.2f}s {w.rss_mb:>7.0f}MB "
                  f"{med / ref:>6.1f}x {w.met():>4}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
