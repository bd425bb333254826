"""Where the batch pipeline's time goes: the state stage and the finish stage, timed apart.

``python benchmarks/bench_batch_stages.py [--quick]``. The book of ``bench_batch`` (4,970
instruments, 100,000 accounts x 50 positions), serial, under crypto-span and under
crypto-span@2026.11.1 (offsets from every position, no futures-only sub-book):

- *state*: every account's per-commodity state (``_build_state``, and for crypto-span the
  sub-book's), kept for the finish;
- *finish*: ``_finish_account`` over those states, then again with one cross-level step
  switched off through the packed switches (no correlation offset, no inter-commodity credits,
  no joint-move floor): the difference is what the step costs;
- *pipeline*: ``margin_batch(..., parallel=False)``, the two stages fused in one account loop
  (the reference in the same run).

Both stages call the compiled kernels rather than the inlined twins of the pipeline, so their
sum is above the pipeline's by the calls' overhead. All workloads are taken in turn, medians of
repeated runs (best in brackets); the machine may be shared (noisy).
"""

from __future__ import annotations

import argparse
import statistics
from typing import Callable, Sequence

import numpy as np

from bench_batch import _interleaved_times, generate_book, generate_market

SETS = ("crypto-span", "crypto-span@2026.11.1")


def _kernels():  # type: ignore[no-untyped-def]
    """The two stage loops, compiled here (numba imported lazily, as in the other benchmarks)."""
    from numba import njit

    from spanlike.batch import layout as L
    from spanlike.batch.finish_kernels import N_IWORK, N_WORK, _finish_account, work_width
    from spanlike.batch.state_kernels import (
        N_FS,
        N_KS,
        N_RX,
        _build_state,
        _row_table,
        state_scratch_width,
    )

    @njit
    def build_states(states, offsets, rows, qty, R, row_i, row_f, cc_i, t_max, e_max, k_max):  # type: ignore[no-untyped-def]
        n_cc = cc_i.shape[0]
        rx = np.empty((R.shape[0], N_RX))
        cc_end = np.empty(n_cc, dtype=np.int64)
        _row_table(row_i, row_f, rx, cc_end)
        width = state_scratch_width(k_max, R.shape[1], t_max, e_max)
        fs = np.zeros((N_FS, width))
        ks = np.zeros((N_KS, width), dtype=np.int64)
        sub_rows = np.empty(k_max, dtype=np.int64)
        sub_qty = np.empty(k_max)
        o_count = R.shape[1] + 2 * t_max + e_max + L.S_COUNT
        for a in range(states.shape[0]):
            n = _build_state(rows, qty, offsets[a], offsets[a + 1], R, row_i, rx, cc_end, cc_i, t_max,
                             states[a, :n_cc], fs, ks, sub_rows, sub_qty)
            if states.shape[1] > n_cc:  # the sub-book, built or skipped as the pipeline's account loop does
                if n == offsets[a + 1] - offsets[a] or n == 0:
                    for c in range(n_cc):
                        states[a, n_cc + c, o_count] = states[a, c, o_count] if n > 0 else 0.0
                else:
                    _build_state(sub_rows, sub_qty, np.int64(0), n, R, row_i, rx, cc_end, cc_i, t_max,
                                 states[a, n_cc:], fs, ks, sub_rows, sub_qty)

    @njit
    def finish_states(states, cc_i, cc_f, scen_i, spr_i, spr_f, exp_t, inter_i, inter_f, rho, glob_i,
                      glob_f, out, sub_book):  # type: ignore[no-untyped-def]
        n_cc = cc_i.shape[0]
        comp = np.empty((states.shape[1], L.N_COMP))
        tot = np.empty(L.N_TOT)
        n_legs = max(1, (inter_i.shape[1] - 2) // 2)
        work = np.empty((N_WORK, work_width(scen_i.shape[1], glob_i[L.GI_T], n_cc, n_legs)))
        iwork = np.empty((N_IWORK, max(n_cc, 1)), dtype=np.int64)
        for a in range(states.shape[0]):
            # As the pipeline: without the sub-book's code (None) for a set that has none.
            if sub_book is None:
                _finish_account(states[a], cc_i, cc_f, scen_i, spr_i, spr_f, exp_t, inter_i, inter_f, rho, glob_i,
                                glob_f, np.int64(1), comp, tot, work, iwork, None)
            else:
                _finish_account(states[a], cc_i, cc_f, scen_i, spr_i, spr_f, exp_t, inter_i, inter_f, rho, glob_i,
                                glob_f, np.int64(1), comp, tot, work, iwork, states[a, n_cc:])
            out[a] = tot[L.T_IM]

    return build_states, finish_states


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small sizes, few repeats")
    args = parser.parse_args(argv)
    n_ins, n_acc, n_pos, repeats = (500, 5_000, 20, 3) if args.quick else (5_000, 100_000, 50, 7)

    from spanlike.batch import layout as L
    from spanlike.batch.accounts import AccountBook
    from spanlike.batch.batch import margin_batch
    from spanlike.batch.kernels import sub_book_switch
    from spanlike.batch.prepared import prepare_engine
    from spanlike.market import MarketSnapshot

    build_states, finish_states = _kernels()
    market = MarketSnapshot.from_mapping(generate_market(n_ins))
    workloads: dict[str, Callable[[], object]] = {}
    for name in SETS:
        engine = prepare_engine(instruments=sorted(market.quotes), market=market, parameter_set=name, parallel=False)
        offsets, rows, qty = generate_book(engine.packed.n_rows, n_acc, n_pos)
        offsets, rows, qty = (np.asarray(offsets, dtype=np.int64), np.asarray(rows, dtype=np.int64),
                              np.asarray(qty, dtype=np.float64))
        book = AccountBook.from_arrays(accounts=[f"a{i}" for i in range(n_acc)], offsets=offsets, rows=rows,
                                       quantity=qty, n_rows=engine.packed.n_rows)
        pk = engine.packed
        R, row_i, row_f, cc_i, cc_f, scen_i, spr_i, spr_f, exp_t, inter_i, inter_f, rho, glob_i, glob_f = (
            pk.kernel_args())
        states = np.zeros((n_acc, pk.state_rows, pk.state_width))
        out = np.empty(n_acc)
        k_max = int(np.diff(offsets).max())

        def state(states=states, offsets=offsets, rows=rows, qty=qty, R=R, row_i=row_i, row_f=row_f, cc_i=cc_i,
                  t_max=int(glob_i[L.GI_T]), e_max=int(exp_t.shape[1]), k_max=k_max) -> None:
            build_states(states, offsets, rows, qty, R, row_i, row_f, cc_i, t_max, e_max, k_max)

        state()
        variants = {"finish": glob_i}
        for label, column in (("no correlation offset", L.GI_HAS_CORR), ("no inter credits", L.GI_HAS_INTER),
                              ("no joint-move floor", L.GI_HAS_FLOOR)):
            switched = glob_i.copy()
            switched[column] = 0
            variants[f"finish, {label}"] = switched
        workloads[f"{name}|state"] = state
        for label, g in variants.items():
            workloads[f"{name}|{label}"] = (
                lambda g=g, a=(states, cc_i, cc_f, scen_i, spr_i, spr_f, exp_t, inter_i, inter_f, rho): finish_states(
                    *a, g, glob_f, out, sub_book_switch(glob_i)))
        workloads[f"{name}|pipeline"] = lambda engine=engine, book=book: margin_batch(engine, book, parallel=False)
    for run in workloads.values():  # compile or load, and warm
        run()
    times = _interleaved_times(workloads, repeats)
    print(f"bench_batch_stages: {n_acc:,} accounts x {n_pos} positions over {n_ins:,} instruments, serial; "
          "medians (best) of runs taken in turn")
    print(f"{'set':<24} {'stage':<42} {'median':>11} {'best':>11} {'per account':>12}")
    for key, ts in times.items():
        name, label = key.split("|")
        med, best = statistics.median(ts), min(ts)
        print(f"{name:<24} {label:<42} {med * 1e3:>8.1f} ms {best * 1e3:>8.1f} ms {med / n_acc * 1e9:>9.0f} ns")
    for name in SETS:
        full = statistics.median(times[f"{name}|finish"])
        for label in ("no correlation offset", "no inter credits", "no joint-move floor"):
            saved = full - statistics.median(times[f"{name}|finish, {label}"])
            print(f"{name:<24} cost of the step switched off by '{label}': {saved * 1e3:6.1f} ms")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
