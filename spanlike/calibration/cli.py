"""``spanlike calibrate`` and ``spanlike backtest``: parameter sets from history, and their backtest.

Registered by :mod:`spanlike.cli` through :func:`register`. Handlers import
the calibration and engine modules only when they run, so ``spanlike --help``
stays fast. Bad input raises :mod:`spanlike.errors` types (exit code 2).
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from spanlike.errors import InputFileError, InvalidInputError
from spanlike.loaders import show_value

__all__ = ["register"]


def _load_iv(args: argparse.Namespace) -> Any:
    if not args.iv_history:
        return None
    from spanlike.calibration.history import load_implied_vol_history

    return load_implied_vol_history(args.iv_history, unit=args.iv_unit)


def _cmd_calibrate(args: argparse.Namespace) -> int:
    from spanlike import params
    from spanlike.calibration.history import load_history

    from spanlike.loaders import check_output_path

    out = args.out
    if not out.endswith((".toml", ".json")):
        raise InvalidInputError(f"--out must name a .toml or .json file; got {show_value(out)}.")
    check_output_path(out, what="--out")  # before the calibration, not after it
    history = load_history(args.history)
    iv = _load_iv(args)
    base = params.load(args.base)
    stress = None
    if (args.stress_start is None) != (args.stress_end is None):
        raise InvalidInputError("Give both --stress-start and --stress-end (ISO dates) for a stress period, or neither.")
    if args.stress_start is not None:
        stress = (args.stress_start, args.stress_end)
    if args.model == "var":
        from spanlike.calibration.var_model import build_var_parameter_set

        if args.rounding is not None:
            raise InvalidInputError("--rounding applies to scan ranges (--model grid); the var model has none.")
        ps = build_var_parameter_set(
            history=history, base=base, measure=args.method, confidence=args.confidence,
            mpor_days=args.mpor_days, filtered=args.filtered, lookback_days=args.lookback_days,
            ewma_lambda=args.ewma_lambda, overlapping=not args.non_overlapping, iv_history=iv,
            stress_period=stress, stress_scale=args.stress_scale, stress_weight=args.stress_weight,
            stress_combine=args.stress_combine, drop_uncovered=args.drop_uncovered, name=args.name,
            version=args.version,
        )
        vm = ps.var_model
        assert vm is not None
        detail = (
            f"VaR/ES model: {vm.measure.upper()} {vm.confidence:g} over {vm.scenarios.n_scenarios} joint "
            f"{vm.mpor_days}-day {'filtered ' if vm.scenarios.filtered else ''}historical scenarios "
            f"{vm.scenarios.dates[0]}..{vm.scenarios.dates[-1]} of {', '.join(vm.scenarios.underlyings)}"
            + (f"; stress {vm.stress.scenarios.n_scenarios} scenarios ({vm.stress.combine})" if vm.stress else "")
        )
        dropped = ps.metadata.provenance.get("dropped_combined_commodities", "none")
        if dropped != "none":
            detail += f"; left out (no history): {dropped}"
    else:
        from spanlike.calibration.calibrate import APCSettings, calibrate

        if base.var_model is not None:
            raise InvalidInputError(
                f"--model grid recalibrates scan ranges, but the base {base.label} is a VaR/ES-model set; "
                "use a SPAN or exchange base (e.g. --base crypto-span) or --model var."
            )
        if args.drop_uncovered:
            raise InvalidInputError("--drop-uncovered applies to --model var; the grid model keeps uncovered commodities' values.")
        apc = None
        if stress is not None:
            apc = APCSettings(stress_period=stress)
        cal = calibrate(
            history=history, base=base, method=args.method, confidence=args.confidence, mpor_days=args.mpor_days,
            filtered=args.filtered, ewma_lambda=args.ewma_lambda, lookback_days=args.lookback_days,
            overlapping=not args.non_overlapping, iv_history=iv, apc=apc, rounding=args.rounding,
            name=args.name, version=args.version,
        )
        ps = cal.parameter_set
        detail = "scan ranges: " + ", ".join(
            f"{c.combined_commodity} {c.written:.6g}" for c in cal.commodities
        )
    try:
        params.dump(ps, out)
    except OSError as err:
        raise InputFileError(f"--out {out}: writing the parameter set failed: {err.strerror or err}.") from None
    print(f"wrote {out}: {ps.label} ({len(ps.combined_commodities)} combined commodities: "
          f"{', '.join(cc.name for cc in ps.combined_commodities)})")
    print(f"  {detail}")
    print(f"  history: {history.date_range()} ({', '.join(history.names)}); as of {ps.metadata.as_of}")
    return 0


def _cmd_backtest(args: argparse.Namespace) -> int:
    from spanlike import params
    from spanlike.calibration.backtest import backtest_margin
    from spanlike.calibration.history import load_history
    from spanlike.loaders import load_market
    from spanlike.portfolio import Portfolio

    if args.plot is not None and not args.plot.lower().endswith(".png"):
        raise InvalidInputError(f"--plot writes a PNG; give a path ending in .png, got {show_value(args.plot)}.")
    if args.plot is not None:
        from spanlike.loaders import check_output_path

        check_output_path(args.plot, what="--plot")
    history = load_history(args.history)
    result = backtest_margin(
        history=history,
        portfolio=Portfolio.from_file(args.portfolio),
        market=load_market(args.market),
        parameter_set=params.load(args.params),
        mpor_days=args.mpor_days,
        confidence=args.confidence,
        iv_history=_load_iv(args),
        start=args.start,
        end=args.end,
        days=args.days,
        step_days=args.step_days,
        book=args.book,
        margin_kind=args.margin,
    )
    if args.plot is not None:
        from spanlike.calibration.backtest_plot import plot_backtest

        try:
            plot_backtest(result, args.plot)
        except OSError as err:
            raise InputFileError(f"--plot {args.plot}: writing the chart failed: {err.strerror or err}.") from None
    if args.format == "json":
        json.dump(result.to_dict(), sys.stdout, indent=2, allow_nan=False)
        sys.stdout.write("\n")
    else:
        sys.stdout.write(result.summary())
        if args.plot is not None:
            print(f"chart: {args.plot}")
    return 0


def register(subparsers: Any) -> None:
    """Add the ``calibrate`` and ``backtest`` subcommands to the ``spanlike`` parser."""
    p = subparsers.add_parser(
        "calibrate", help="build a parameter set from price history (scan ranges, or a VaR/ES model)",
        description="Calibrate a parameter set from daily closes: --model grid recalibrates the base set's scan "
                    "ranges and correlations; --model var builds a VaR/ES model over joint historical scenarios.",
    )
    p.add_argument("--history", required=True, nargs="+", metavar="FILE",
                   help="daily closes: Yahoo CSVs (BTC-USD.csv, ...) or one wide CSV timestamp,BTC,ETH,...")
    p.add_argument("--iv-history", nargs="+", metavar="FILE", help="implied-vol index history (e.g. DVOL)")
    p.add_argument("--iv-unit", choices=("points", "decimal", "auto"), default="auto",
                   help="unit of the implied-vol file (default: detect)")
    p.add_argument("--method", required=True, choices=("var", "es"), help="risk measure")
    p.add_argument("--confidence", type=float, default=0.99, help="confidence in (0, 1) (default 0.99)")
    p.add_argument("--mpor-days", type=int, default=2, help="margin period of risk in days (default 2)")
    p.add_argument("--base", default="crypto-span", help="parameter set to start from (default crypto-span)")
    p.add_argument("--model", choices=("grid", "var"), default="grid",
                   help="grid: recalibrate the base's scan ranges; var: VaR/ES over joint historical scenarios")
    p.add_argument("--filtered", action="store_true", help="filtered historical simulation (EWMA-rescaled returns)")
    p.add_argument("--ewma-lambda", type=float, default=0.94, help="EWMA decay for --filtered (default 0.94)")
    p.add_argument("--lookback-days", type=int, help="use only the last N one-day returns")
    p.add_argument("--non-overlapping", action="store_true", help="disjoint MPOR windows")
    p.add_argument("--stress-start", help="stress period start (ISO date); var: stress scenarios, grid: APC floor")
    p.add_argument("--stress-end", help="stress period end (ISO date, inclusive)")
    p.add_argument("--stress-scale", type=float, default=1.0, help="var: multiplier of the stress moves")
    p.add_argument("--stress-weight", type=float, default=1.0, help="var: weight of the worst stress loss")
    p.add_argument("--stress-combine", choices=("max", "add"), default="max",
                   help="var: margin = max(VaR/ES, stress) or their sum")
    p.add_argument("--drop-uncovered", action="store_true",
                   help="var: leave out combined commodities whose underlying the history lacks")
    p.add_argument("--rounding", type=float, help="grid: round scan ranges up to a multiple of this")
    p.add_argument("--name", help="name of the new set")
    p.add_argument("--version", help="version of the new set")
    p.add_argument("--out", required=True, metavar="FILE", help="where to write the set (.toml or .json)")
    p.set_defaults(func=_cmd_calibrate)

    p = subparsers.add_parser(
        "backtest", help="margin a book on every historical day and count MPOR losses above margin",
        description="Replay history (see spanlike.calibration.backtest for the convention), margin the book each "
                    "day and compare with the next MPOR's realised loss; Kupiec POF and Basel traffic light.",
    )
    p.add_argument("--history", required=True, nargs="+", metavar="FILE", help="daily closes of the book's underlyings")
    p.add_argument("--portfolio", required=True, help="the book (CSV/JSON/Deribit positions)")
    p.add_argument("--market", required=True, nargs="+", metavar="FILE", help="the snapshot the book is taken from")
    p.add_argument("--params", required=True, help="bundled parameter set name or file")
    p.add_argument("--iv-history", nargs="+", metavar="FILE", help="implied-vol history to move the book's vols")
    p.add_argument("--iv-unit", choices=("points", "decimal", "auto"), default="auto")
    p.add_argument("--mpor-days", type=int,
                   help="realised-loss horizon in days (default: the MPOR the set records: its var_model's, or the "
                        "one in its provenance, e.g. 2 for crypto-span; required for a set that records none)")
    p.add_argument("--confidence", type=float, help="test confidence (default: the set's, else 0.99)")
    p.add_argument("--start", help="first observation day (ISO date)")
    p.add_argument("--end", help="last observation day (ISO date)")
    p.add_argument("--days", type=int, help="only the last N observation days")
    p.add_argument("--step-days", type=int, default=1, help="observe every N-th day (default 1)")
    p.add_argument("--book", choices=("fixed", "rolling"), default="fixed",
                   help="fixed expiries with time rolling forward, or constant time to expiry")
    p.add_argument("--margin", choices=("initial", "maintenance"), default="initial",
                   help="margin compared with the loss (default initial)")
    p.add_argument("--plot", metavar="FILE.png", help="write a chart of margin vs realised loss")
    p.add_argument("--format", choices=("table", "json"), default="table")
    p.set_defaults(func=_cmd_backtest)
