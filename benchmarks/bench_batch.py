"""Batch margining, what-if latency and Dask throughput on generated data.

Usage: ``python benchmarks/bench_batch.py [--quick] [--no-dask] [--instruments N] [--accounts N]
[--positions N] [--repeats N]``.

Workloads (one run, same process, same inputs; JIT compilation excluded by
a warm-up call and reported separately; the five batch workloads are timed
in turn, round after round, and reported as median and best):

* scan risk only: ``max(0, max_j sum_i q_i R_ij)`` per account and commodity -
  numba over CSR, ``prange`` over account chunks, vs the scipy baseline
  ``CSR @ R`` (R laid out per commodity block) then a max over scenarios;
* the full pipeline (:func:`spanlike.batch.margin_batch`: scan, decomposition,
  intra spreads, delivery, SOM, NOV, inter credits, correlation offsets, IM/MM);
* what-if latency through the public API (:meth:`PreparedAccount.what_if_quantity`
  and :meth:`PreparedAccount.what_if`) for a 200-position account, p50/p99;
* accounts per second on a local Dask cluster with 1 and 2 worker processes
  (scatter of the packed engine and transfer of the partitions included).

Default sizes are the brief's: 5,000 instruments (BTC and ETH coin-settled
options and futures under crypto-span), 100,000 accounts x 50 positions.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import statistics
import sys
import time
from pathlib import Path
from typing import Callable, Sequence

import numpy as np

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

VALUATION = dt.datetime(2026, 11, 24, 8, tzinfo=dt.timezone.utc)
MONTHS = ("JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC")


def _name_date(d: dt.datetime) -> str:
    return f"{d.day}{MONTHS[d.month - 1]}{d.year % 100:02d}"


def generate_market(n_instruments: int) -> dict:
    """A snapshot of about ``n_instruments`` BTC/ETH coin-settled futures and options (deterministic)."""
    underlyings = {"BTC": (95_000.0, 500.0), "ETH": (3_400.0, 20.0)}
    expiries = [VALUATION + dt.timedelta(days=d) for d in (3, 10, 17, 31, 66, 94, 122, 185, 213, 304, 395, 577)]
    per_und = n_instruments // len(underlyings)
    per_expiry_options = max(2, (per_und - len(expiries) - 1) // len(expiries))
    strikes_per_expiry = max(1, per_expiry_options // 2)
    instruments: list[dict] = []
    for und, (index, step) in underlyings.items():
        instruments.append({"instrument": f"{und}-PERPETUAL", "mark_price": index * 1.0001})
        for e in expiries:
            t = (e - VALUATION).total_seconds() / (365 * 86400)
            fwd = round(index * np.exp(0.06 * t), 2)
            code = _name_date(e)
            instruments.append({"instrument": f"{und}-{code}", "mark_price": fwd})
            lo = round(index - step * strikes_per_expiry / 2)
            for k in range(strikes_per_expiry):
                strike = lo + k * step
                if strike <= 0:
                    continue
                x = np.log(strike / fwd) / np.sqrt(t)
                vol = float(min(max(0.55 - 0.08 * x + 0.10 * x * x, 0.2), 2.5))
                for right in ("C", "P"):
                    instruments.append({"instrument": f"{und}-{code}-{int(strike)}-{right}", "mark_iv": round(vol, 4),
                                        "underlying_price": fwd})
    return {"valuation_time": VALUATION.isoformat(), "index_prices": {k: v[0] for k, v in underlyings.items()},
            "instruments": instruments[:n_instruments]}


def generate_book(n_rows: int, n_accounts: int, positions: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """CSR arrays: ``positions`` distinct random rows per account (sorted), normal quantities."""
    rng = np.random.default_rng(seed)
    draw = positions + 16
    r = np.sort(rng.integers(0, n_rows, size=(n_accounts, draw)), axis=1)
    dup = np.zeros_like(r, dtype=bool)
    dup[:, 1:] = r[:, 1:] == r[:, :-1]
    r = np.where(dup, n_rows + 1, r)  # push duplicates to the end
    r = np.sort(r, axis=1)[:, :positions]
    if (r >= n_rows).any():
        raise RuntimeError("too many duplicate draws; raise --instruments or lower --positions")
    qty = rng.normal(size=r.shape) * 5.0
    offsets = np.arange(n_accounts + 1, dtype=np.int64) * positions
    return offsets, r.ravel().astype(np.int64), qty.ravel()


def _median_time(fn: Callable[[], object], repeats: int) -> float:
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def _interleaved_times(fns: dict[str, Callable[[], object]], repeats: int) -> dict[str, list[float]]:
    """Seconds of ``repeats`` runs of each workload, taken in turn (one run of each per round).

    In turn, so that a burst of load from elsewhere on a shared machine lands
    on every workload alike instead of on whichever was being timed.
    """
    times: dict[str, list[float]] = {name: [] for name in fns}
    for _ in range(repeats):
        for name, fn in fns.items():
            t0 = time.perf_counter()
            fn()
            times[name].append(time.perf_counter() - t0)
    return times


def _row(workload: str, size: str, seconds: float, per_second: str, ratio: str = "", best: float | None = None) -> str:
    best_text = f"{best * 1e3:>9.3f} ms" if best is not None else " " * 12
    return f"{workload:<44} {size:>22} {seconds * 1e3:>12.3f} ms {best_text} {per_second:>22} {ratio:>12}"


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="batch margining benchmarks")
    parser.add_argument("--quick", action="store_true", help="small sizes, few repeats")
    parser.add_argument("--no-dask", action="store_true", help="skip the Dask measurements")
    parser.add_argument("--instruments", type=int)
    parser.add_argument("--accounts", type=int)
    parser.add_argument("--positions", type=int)
    parser.add_argument("--repeats", type=int)
    args = parser.parse_args(argv)
    n_ins = args.instruments or (500 if args.quick else 5_000)
    n_acc = args.accounts or (5_000 if args.quick else 100_000)
    n_pos = args.positions or (20 if args.quick else 50)
    repeats = args.repeats or (3 if args.quick else 11)

    import numba
    import scipy.sparse as sp

    from spanlike.batch.accounts import AccountBook
    from spanlike.batch.batch import margin_batch, scan_risk_batch
    from spanlike.batch.prepared import prepare_engine
    from spanlike.batch.whatif import Order, prepare_account
    from spanlike.market import MarketSnapshot

    market = MarketSnapshot.from_mapping(generate_market(n_ins))
    t0 = time.perf_counter()
    engine = prepare_engine(instruments=sorted(market.quotes), market=market, parameter_set="crypto-span",
                            parallel=True)
    t_prepare = time.perf_counter() - t0
    # The same universe under the version that read cross offsets from every position: what the
    # futures-and-perpetuals sub-book of crypto-span 2026.12.1 costs (methodology 6.3).
    engine_all = prepare_engine(instruments=sorted(market.quotes), market=market,
                                parameter_set="crypto-span@2026.11.1", parallel=True)
    n_rows = engine.packed.n_rows
    offsets, rows, qty = generate_book(n_rows, n_acc, n_pos)
    book = AccountBook.from_arrays(accounts=[f"a{i}" for i in range(n_acc)], offsets=offsets, rows=rows,
                                   quantity=qty, n_rows=n_rows)
    threads = numba.get_num_threads()
    print(f"bench_batch: {n_rows:,} instruments, {n_acc:,} accounts x {n_pos} positions, crypto-span, "
          f"numba {numba.__version__} with {threads} threads, {os.cpu_count()} CPUs; "
          f"revalue + pack {t_prepare:.2f} s (includes first-call JIT)")
    print("Timings: median and best of repeated runs in one process, the batch workloads taken in turn; "
          "the machine may be shared (noisy).")

    # Warm-up (compilation / cache load), reported separately.
    t0 = time.perf_counter()
    small = book.slice(0, min(64, n_acc))
    scan_risk_batch(engine, small)
    scan_risk_batch(engine, small, parallel=False)
    margin_batch(engine, small)
    margin_batch(engine, small, parallel=False)
    margin_batch(engine_all, small)
    margin_batch(engine_all, small, parallel=False)
    print(f"JIT warm-up (compile or load from cache): {time.perf_counter() - t0:.2f} s\n")

    # scipy baseline: CSR (accounts x rows) @ R with one column block per commodity, then max.
    pk = engine.packed
    m = pk.R.shape[1]
    n_cc = pk.n_commodities
    row_cc = pk.row_i[:, 0]
    blocks = np.zeros((n_rows, n_cc * m))
    for c in range(n_cc):
        blocks[row_cc == c, c * m:(c + 1) * m] = pk.R[row_cc == c]
    csr = sp.csr_matrix((qty, rows, offsets), shape=(n_acc, n_rows))

    def scipy_scan() -> np.ndarray:
        losses = (csr @ blocks).reshape(n_acc, n_cc, m)
        return np.maximum(losses.max(axis=2), 0.0)

    mine = scan_risk_batch(engine, book)
    theirs = scipy_scan()
    held = np.zeros((n_acc, n_cc), dtype=bool)
    np.logical_or.at(held, (np.repeat(np.arange(n_acc), np.diff(offsets)), row_cc[rows]), True)
    np.testing.assert_allclose(mine, np.where(held, theirs, 0.0), rtol=1e-9, atol=1e-9)

    runs = _interleaved_times({
        "scipy": scipy_scan,
        "scan": lambda: scan_risk_batch(engine, book),
        "scan_1": lambda: scan_risk_batch(engine, book, parallel=False),
        "full": lambda: margin_batch(engine, book),
        "full_1": lambda: margin_batch(engine, book, parallel=False),
        "full_all": lambda: margin_batch(engine_all, book),
        "full_all_1": lambda: margin_batch(engine_all, book, parallel=False),
    }, repeats)
    med = {name: statistics.median(t) for name, t in runs.items()}
    best = {name: min(t) for name, t in runs.items()}
    t_scipy = med["scipy"]
    size = f"{n_acc:,} x {n_pos}"
    rate = lambda t: f"{n_acc / t / 1e6:,.2f} M accounts/s"  # noqa: E731
    print(f"{'workload':<44} {'size':>22} {'median':>15} {'best':>12} {'throughput (median)':>22} {'vs scipy':>12}")
    for name, label in (
        ("scipy", "scan risk: scipy CSR @ R, max (baseline)"),
        ("scan", f"scan risk: numba CSR, prange ({threads} threads)"),
        ("scan_1", "scan risk: numba CSR, serial"),
        ("full", f"full pipeline: margin_batch ({threads} threads)"),
        ("full_1", "full pipeline: margin_batch, serial"),
    ):
        print(_row(label, size, med[name], rate(med[name]), f"{t_scipy / med[name]:.2f}x", best[name]))
    print("reference: the pipeline with offsets read from every position (crypto-span@2026.11.1), no sub-book")
    for name, ours, label in (
        ("full_all", "full", f"  margin_batch ({threads} threads)"),
        ("full_all_1", "full_1", "  margin_batch, serial"),
    ):
        print(_row(label, size, med[name], rate(med[name]), f"sub-book x{med[ours] / med[name]:.2f}", best[name]))

    # What-if latency through the public API, 200-position account.
    rng = np.random.default_rng(1)
    k = min(200, n_rows)
    acc_rows = np.sort(rng.choice(n_rows, size=k, replace=False))
    account = prepare_account(engine, rows=acc_rows, quantity=rng.normal(size=k) * 5.0)
    names = engine.instrument_names
    order_names = [names[int(r)] for r in rng.integers(0, n_rows, size=64)]
    units = [("coin" if not engine.universe.table.instruments[engine.row_of(n)].is_option else None)
             for n in order_names]
    for n, u in zip(order_names, units):
        account.what_if_quantity(n, 1.0, u)
    calls = 2_000 if args.quick else 20_000
    for label, call in (
        ("what-if: what_if_quantity (1 order)", lambda n, u: account.what_if_quantity(n, 1.0, u)),
        ("what-if: what_if([Order]) (1 order)", lambda n, u: account.what_if([Order(n, 1.0, u)])),
    ):
        lat = np.empty(calls)
        for i in range(calls):
            j = i % len(order_names)
            t0 = time.perf_counter_ns()
            call(order_names[j], units[j])
            lat[i] = time.perf_counter_ns() - t0
        p50, p99 = np.percentile(lat, [50, 99]) / 1e3
        print(f"{label:<44} {f'{k} positions':>22} {'p50':>6} {p50:>6.2f} us  p99 {p99:>6.2f} us")
    t0 = time.perf_counter()
    mq = account.max_order_quantity(order_names[0], equity_usd=account.initial_margin_usd + 1e6, unit=units[0])
    print(f"{'max order quantity (bracket + bisection)':<44} {f'{mq.evaluations} what-ifs':>22} "
          f"{(time.perf_counter() - t0) * 1e3:>12.3f} ms")

    if not args.no_dask:
        try:
            from distributed import Client, LocalCluster

            from spanlike.batch.dask_backend import margin_batch_dask
        except ModuleNotFoundError:
            print("\nDask: skipped (dask[distributed] is not installed; pip install 'spanlike[dask]')")
            return 0
        local = margin_batch(engine, book)
        for workers in (1, 2):
            with LocalCluster(processes=True, n_workers=workers, threads_per_worker=1, dashboard_address=":0",
                              silence_logs=50) as cluster, Client(cluster) as client:
                margin_batch_dask(engine, book.slice(0, min(1_000, n_acc)), client=client)  # JIT on workers
                t_dask = _median_time(lambda: margin_batch_dask(engine, book, client=client), max(1, repeats // 2))
                remote = margin_batch_dask(engine, book, client=client)
                same = np.array_equal(remote.initial_margin_usd, local.initial_margin_usd)
                print(_row(f"full pipeline on Dask, {workers} worker process(es)", size, t_dask,
                           f"{n_acc / t_dask:,.0f} accounts/s", f"equal: {same}"))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
