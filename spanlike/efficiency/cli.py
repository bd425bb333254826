"""``spanlike efficiency`` and ``spanlike compare-params`` (registered by :mod:`spanlike.cli`).

Handlers import the engine and matplotlib lazily so that other commands do not
pay for them. Bad input raises :mod:`spanlike.errors` types, which the main
CLI turns into exit code 2 with the message on stderr.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from pathlib import Path
from typing import Any, Sequence

from spanlike.params.errors import InvalidInputError

__all__ = ["register"]

EXIT_OK = 0


def register(subparsers: Any) -> None:
    """Add the ``efficiency`` and ``compare-params`` subcommands to ``subparsers``."""
    p = subparsers.add_parser(
        "efficiency", help="isolated vs per-underlying portfolio vs cross margin, savings attribution, charts")
    _add_book_arguments(p)
    p.add_argument("--params", default="crypto-span",
                   help="bundled parameter set name or file with an [isolated] section (default crypto-span)")
    p.add_argument("--plot", metavar="DIR",
                   help="write PNG charts (1600x1000 px at 200 dpi) into DIR; needs the spanlike[plot] extra")
    p.add_argument("--no-marginal", action="store_true",
                   help="skip the per-position incremental margins (single portfolio only)")
    p.add_argument("--format", choices=("table", "json"), default="table")
    p.set_defaults(func=_cmd_efficiency)

    p = subparsers.add_parser("compare-params", help="margin of the same book(s) under two parameter sets")
    _add_book_arguments(p)
    p.add_argument("--params", action="append", required=True, metavar="NAME|FILE",
                   help="give exactly twice: set a, then set b (change = b - a)")
    p.add_argument("--format", choices=("table", "json"), default="table")
    p.set_defaults(func=_cmd_compare_params)


def _add_book_arguments(p: argparse.ArgumentParser) -> None:
    book = p.add_mutually_exclusive_group(required=True)
    book.add_argument("--portfolio", metavar="FILE", help="one account: CSV/JSON positions or Deribit get_positions")
    book.add_argument("--accounts", metavar="FILE", help="many accounts: CSV account,instrument,quantity[,unit]")
    p.add_argument("--market", required=True, nargs="+", metavar="FILE",
                   help="JSON/CSV snapshot, or one or more Deribit get_book_summary_by_currency JSON files")


def _load_market(paths: Sequence[str]) -> Any:
    """One snapshot file, or several payloads of one venue: :func:`spanlike.loaders.load_market`."""
    from spanlike.loaders import load_market

    return load_market(paths)


def _load_portfolios(args: argparse.Namespace) -> tuple[Any, ...]:
    if args.accounts:
        from spanlike.efficiency.accounts import read_accounts_csv

        return read_accounts_csv(args.accounts)
    from spanlike.portfolio import Portfolio

    return (Portfolio.from_file(args.portfolio),)


def _print_json(data: Any) -> None:
    json.dump(data, sys.stdout, indent=2, allow_nan=False)
    sys.stdout.write("\n")


def _file_stem(text: str) -> str:
    """A file-name-safe version of an account or commodity name."""
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", text).strip("_") or "account"


def _cmd_efficiency(args: argparse.Namespace) -> int:
    from spanlike import params

    if args.plot:
        from spanlike.efficiency.plots import PlottingUnavailableError

        try:
            import matplotlib  # noqa: F401  (fail before the computation, not after)
        except ImportError:
            raise PlottingUnavailableError(
                "--plot needs matplotlib, the optional extra 'spanlike[plot]': pip install 'spanlike[plot]', "
                "or leave out --plot."
            ) from None
        from spanlike.loaders import check_output_path

        check_output_path(args.plot, what="--plot", directory=True)  # before the computation, not after
    from spanlike.efficiency.report import efficiency_accounts
    from spanlike.efficiency.text import format_accounts_summary

    portfolios = _load_portfolios(args)
    market = _load_market(args.market)
    ps = params.load(args.params)
    single = args.portfolio is not None
    reports = efficiency_accounts(portfolios, market, ps, marginal=single and not args.no_marginal)
    written: list[Path] = []
    if args.plot:
        try:
            written = _write_charts(reports, ps, Path(args.plot), single=single)
        except OSError as err:
            from spanlike.errors import InputFileError

            raise InputFileError(
                f"--plot {args.plot}: writing a chart failed: {err.strerror or err}"
                f"{f' ({err.filename})' if err.filename else ''}."
            ) from None
    if args.format == "json":
        data: Any = reports[0].to_dict() if single else {"accounts": [r.to_dict() for r in reports]}
        if args.plot:
            data = {**data, "charts": [str(p) for p in written]}
        _print_json(data)
        return EXIT_OK
    if single:
        sys.stdout.write(reports[0].format_table())
    else:
        print(f"{len(reports)} accounts under {ps.label}; initial margin in USD")
        sys.stdout.write(format_accounts_summary(reports))
    for path in written:
        print(f"chart: {path}")
    return EXIT_OK


def _write_charts(reports: Sequence[Any], ps: Any, out_dir: Path, *, single: bool) -> list[Path]:
    from spanlike.efficiency.chart_data import heatmap_data, savings_bars_data, waterfall_data
    from spanlike.efficiency.plots import plot_heatmap, plot_savings_bars, plot_waterfall

    written: list[Path] = []
    if single:
        r = reports[0]
        stem = _file_stem(r.account)
        written.append(plot_waterfall(waterfall_data(r.levels, r.attribution),
                                      path=out_dir / f"{stem}_waterfall.png"))
        for c in r.levels.cross.commodities:
            data = heatmap_data(r.levels.cross, parameter_set=ps, commodity=c.name)
            written.append(plot_heatmap(data, path=out_dir / f"{stem}_heatmap_{_file_stem(c.name)}.png"))
    else:
        written.append(plot_savings_bars(savings_bars_data([r.levels for r in reports]),
                                         path=out_dir / "savings_by_account.png"))
    return written


def _cmd_compare_params(args: argparse.Namespace) -> int:
    from spanlike import params
    from spanlike.efficiency.compare import change_distribution, compare_parameter_sets
    from spanlike.efficiency.text import format_comparison, format_distribution

    if len(args.params) != 2:
        raise InvalidInputError(
            f"compare-params needs --params exactly twice (set a, then set b). Got {len(args.params)}: "
            f"{args.params}. Example: --params crypto-span --params deribit-style."
        )
    a, b = (params.load(x) for x in args.params)
    comparisons = compare_parameter_sets(_load_portfolios(args), _load_market(args.market), a=a, b=b)
    single = args.portfolio is not None
    if args.format == "json":
        if single:
            _print_json(comparisons[0].to_dict())
        else:
            _print_json({"accounts": [c.to_dict() for c in comparisons],
                         "distribution": change_distribution(comparisons).to_dict()})
        return EXIT_OK
    if single:
        sys.stdout.write(format_comparison(comparisons[0]))
        return EXIT_OK
    sys.stdout.write(format_distribution(change_distribution(comparisons)))
    print(f"\n  {'account':<20} {'IM a':>16} {'IM b':>16} {'change':>16} {'%':>8}")
    for c in comparisons:
        t = c.initial_margin_change
        pct = "n/a" if t.change_pct is None else f"{t.change_pct:+.1f}%"
        print(f"  {c.account:<20} {t.a_usd:>16,.2f} {t.b_usd:>16,.2f} {t.change_usd:>+16,.2f} {pct:>8}")
    return EXIT_OK
