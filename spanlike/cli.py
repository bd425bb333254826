"""Command-line interface: a thin shell over the Python API.

Exit codes: 0 success, 1 runtime error, 2 bad input (a message on stderr that
names the field, the value and the fix).
"""

from __future__ import annotations

import argparse
import json
import sys
from importlib import resources
from pathlib import Path
from typing import Any, Callable, Sequence

from spanlike.params.errors import NumericalError, SpanlikeError

__all__ = ["main", "build_parser"]

EXIT_OK, EXIT_RUNTIME, EXIT_BAD_INPUT = 0, 1, 2


def _demo_path(name: str) -> Path:
    return Path(str(resources.files("spanlike") / "data" / name))


def _print_json(data: Any) -> None:
    json.dump(data, sys.stdout, indent=2, allow_nan=False)
    sys.stdout.write("\n")


# --- params -------------------------------------------------------------------------------------

def _cmd_params(args: argparse.Namespace) -> int:
    from spanlike import params

    if args.action == "list":
        for name in params.available():
            ps = params.load(name)
            ccs = ", ".join(cc.name for cc in ps.combined_commodities)
            print(f"{name:<16} {ps.metadata.version:<12} as of {ps.metadata.as_of}  [{ccs}]")
            print(f"{'':<16} {ps.metadata.description}")
            older = params.versions(name)[:-1]
            if older:
                print(f"{'':<16} older versions: {', '.join(older)} ('{name}' is the latest)")
        return EXIT_OK
    if args.action == "schema":
        _print_json(params.json_schema())
        return EXIT_OK
    if args.target is None:
        raise _usage(f"'spanlike params {args.action}' needs a parameter set name or file.")
    ps = params.load(args.target)
    if args.action == "validate":
        print(f"{args.target}: valid ({ps.label}, {len(ps.combined_commodities)} combined commodities)")
        return EXIT_OK
    if args.format == "json":
        _print_json(ps.model_dump(mode="json"))
    else:
        sys.stdout.write(params.dumps_toml(ps))
    return EXIT_OK


class _UsageError(SpanlikeError, ValueError):
    """Command-line arguments that do not fit together."""


def _usage(message: str) -> _UsageError:
    return _UsageError(message)


# --- margin -------------------------------------------------------------------------------------

def _load_market(paths: Sequence[str]) -> Any:
    """One snapshot file, or several payloads of one venue: :func:`spanlike.loaders.load_market`."""
    from spanlike.loaders import load_market

    return load_market(paths)


def _load_inputs(args: argparse.Namespace) -> tuple[Any, Any, Any]:
    from spanlike import params
    from spanlike.loaders import load_portfolio

    return load_portfolio(args.portfolio), _load_market(args.market), params.load(args.params)


def _cmd_margin(args: argparse.Namespace) -> int:
    from spanlike.engine import margin

    if args.spn is not None:
        # Margin on an exchange's SPAN file: its own risk arrays and parameters, no pricing.
        if args.market:
            raise _usage("Give either --spn FILE (the exchange's arrays) or --market FILE, not both.")
        from spanlike.spn.margin import margin_file

        result = margin_file(spn=Path(args.spn), portfolio=Path(args.portfolio))
        if args.format == "json":
            _print_json(result.to_dict())
        else:
            sys.stdout.write(result.format_table(contributions=args.contributions))
        return EXIT_OK
    if not args.market:
        raise _usage("Give --market FILE (a snapshot to price with) or --spn FILE (an exchange SPAN file).")
    from spanlike import params
    from spanlike.aggregation.methods import method_of

    ps = params.load(args.params)
    venue_margin = next((method_of(cc.method).account_margin for cc in ps.combined_commodities
                         if method_of(cc.method).account_margin is not None), None)
    if venue_margin is not None:
        # A venue method margins the whole account from the venue's own files (e.g. Derive's feeds, SVI).
        if len(args.market) != 1:
            raise _usage(f"{ps.label} margins from one market file of its venue; got {len(args.market)}.")
        import importlib

        module, function = venue_margin.split(":")
        result = getattr(importlib.import_module(module), function)(portfolio=Path(args.portfolio), market=Path(args.market[0]), parameter_set=ps)
    else:
        portfolio, market, ps = _load_inputs(args)
        result = margin(portfolio, market, ps)
    if args.format == "json":
        _print_json(result.to_dict())
    else:
        sys.stdout.write(result.format_table(contributions=args.contributions))
    return EXIT_OK


# --- risk arrays --------------------------------------------------------------------------------

def _risk_array_records(portfolio: Any, market: Any, ps: Any) -> list[dict[str, Any]]:
    from spanlike.greeks import instrument_greeks
    from spanlike.revalue import revalue
    from spanlike.universe import table_for_portfolio

    table = table_for_portfolio(portfolio, market=market, parameter_set=ps)
    universe = revalue(table, ps)
    greeks = instrument_greeks(table)
    records = []
    for r, inst in enumerate(table.instruments):
        risk = universe.commodities[universe.row_commodity[r]]
        local = universe.row_local[r]
        c = table.contracts
        records.append({
            "instrument": inst.name,
            "combined_commodity": table.commodity[r],
            "settlement_currency": risk.commodity.settlement_currency,
            "forward": float(c.forward[r]),
            "vol": float(c.vol[r]) if inst.is_option else None,
            "t_years": float(c.t_years[r]),
            "value_usd": float(greeks.value_usd[r]),
            "delta": float(greeks.delta[r]),
            "settlement_delta": float(greeks.settlement_delta[r]),
            "composite_delta": float(risk.composite_delta[local]),
            "gamma": float(greeks.gamma[r]),
            "vega_per_vol_point_usd": float(greeks.vega_per_point[r]),
            "theta_per_day_usd": float(greeks.theta_per_day[r]),
            "risk_array": [float(x) for x in risk.risk_arrays[local]],
            "scenario_labels": list(risk.scenarios.labels),
        })
    return records


def _loss_text(value: float) -> str:
    """A per-unit loss: exact zeros as ``0`` (IEEE -0.0 too), else 6 significant digits with sign."""
    return "0" if value == 0.0 else f"{value:+.6g}"


#: Instruments side by side per block of the risk-array table (keeps lines under ~130 characters).
_RISK_ARRAY_COLUMNS = 3


def format_risk_arrays(records: Sequence[dict[str, Any]]) -> str:
    """Readable table of per-instrument Greeks and risk arrays (loss of one long unit).

    Risk arrays are grouped by combined commodity: one row per scenario, numbered
    from 1 and labelled with its price move and vol state (the JSON output keeps
    the 0-based ``index`` of :meth:`spanlike.results.MarginResult.to_dict`), one
    column per instrument, exact zeros printed as ``0``.
    """
    head = (f"{'instrument':<24} {'forward':>11} {'vol':>7} {'delta':>8} {'sett.delta':>10} {'comp.delta':>10} "
            f"{'gamma':>10} {'vega/pt':>9} {'theta/d':>9}")
    lines = ["Greeks per long unit (USD, Black-76; settlement delta in underlying units):", head, "-" * len(head)]
    for rec in records:
        vol = f"{rec['vol']:.2%}" if rec["vol"] is not None else "-"
        lines.append(
            f"{rec['instrument']:<24} {rec['forward']:>11,.2f} {vol:>7} {rec['delta']:>8.4f} "
            f"{rec['settlement_delta']:>10.4f} {rec['composite_delta']:>10.4f} {rec['gamma']:>10.3e} "
            f"{rec['vega_per_vol_point_usd']:>9.2f} {rec['theta_per_day_usd']:>9.2f}"
        )
    groups: dict[str, list[dict[str, Any]]] = {}
    for rec in records:
        groups.setdefault(rec["combined_commodity"], []).append(rec)
    for name, recs in groups.items():
        labels = recs[0]["scenario_labels"]
        ccy = recs[0]["settlement_currency"]
        lines.append("")
        lines.append(f"Risk arrays of {name}: loss of one long unit per scenario, {ccy} (positive = loss):")
        label_width = max(len("scenario"), *(len(x) for x in labels)) + 5
        for start in range(0, len(recs), _RISK_ARRAY_COLUMNS):
            block = recs[start:start + _RISK_ARRAY_COLUMNS]
            width = max(14, *(len(r["instrument"]) for r in block)) + 2
            lines.append(f"  {'scenario':<{label_width}}" + "".join(f"{r['instrument']:>{width}}" for r in block))
            for j, label in enumerate(labels):
                row = f"{j + 1:>3}  {label}"
                lines.append(f"  {row:<{label_width}}"
                             + "".join(f"{_loss_text(r['risk_array'][j]):>{width}}" for r in block))
    return "\n".join(lines) + "\n"


def _cmd_risk_arrays(args: argparse.Namespace) -> int:
    from spanlike import params
    from spanlike.portfolio import Portfolio

    market = _load_market(args.market)
    if args.portfolio:
        portfolio = Portfolio.from_file(args.portfolio)
    elif args.instrument:
        portfolio = Portfolio.from_positions([(name, 1.0, "coin") for name in args.instrument])
    else:
        raise _usage("Give --portfolio FILE or one or more --instrument NAME.")
    records = _risk_array_records(portfolio, market, params.load(args.params))
    if args.format == "json":
        _print_json(records)
    else:
        sys.stdout.write(format_risk_arrays(records))
    return EXIT_OK


# --- demo ---------------------------------------------------------------------------------------

def _cmd_demo(args: argparse.Namespace) -> int:
    from spanlike import params
    from spanlike.engine import margin
    from spanlike.market import MarketSnapshot
    from spanlike.portfolio import Portfolio

    portfolio = Portfolio.from_file(_demo_path("demo_portfolio.csv"))
    market = MarketSnapshot.from_file(_demo_path("demo_market.json"))
    print(f"spanlike demo: {len(portfolio.positions)} positions (spanlike/data/demo_portfolio.csv), "
          f"market at {market.valuation_time.isoformat()} (spanlike/data/demo_market.json)\n")
    records = _risk_array_records(portfolio, market, params.load("crypto-span"))
    sys.stdout.write(format_risk_arrays(records))
    for name in ("crypto-span", "deribit-style"):
        print("\n" + "=" * 100)
        result = margin(portfolio, market, params.load(name))
        sys.stdout.write(result.format_table(contributions=args.contributions))
    return EXIT_OK


# --- parser -------------------------------------------------------------------------------------

# Feature packages add their own subcommands through ``register(subparsers)``; each module
# imports its heavy dependencies inside its handlers so that ``spanlike --help`` stays fast.
FEATURE_CLI_MODULES = (
    "spanlike.batch.cli",
    "spanlike.efficiency.cli",
    "spanlike.spn.cli",
    "spanlike.calibration.cli",
    "spanlike.service.cli",
    "spanlike.reconcile.cli",
)


#: Commands of this module (no feature package needed to run them).
_CORE_COMMANDS = ("margin", "risk-arrays", "params", "demo")


def _register_features(sub: Any, *, command: str | None = None) -> None:
    """Add the feature packages' subcommands.

    For a core command nothing is imported (``spanlike params list`` must not
    import a feature package whose ``__init__`` pulls in scipy.stats). For any
    other command the modules are imported in order until one registers it;
    without a command (``--help``, a typo) all of them are, so the help lists
    every command.
    """
    from importlib import import_module

    if command in _CORE_COMMANDS:
        return
    for module_name in FEATURE_CLI_MODULES:
        try:
            module = import_module(module_name)
        except ModuleNotFoundError as err:
            if err.name is not None and module_name.startswith(err.name):
                continue  # that feature is not part of this installation
            raise
        module.register(sub)
        if command is not None and command in sub.choices:
            return


def _command_of(argv: Sequence[str]) -> str | None:
    """The subcommand named in ``argv`` (its first argument not starting with '-'), if any."""
    for arg in argv:
        if not arg.startswith("-"):
            return arg
        if arg == "--version":  # answered by the top-level parser: no feature module is needed
            return "params"
        if arg in ("-h", "--help"):
            return None
    return None


def build_parser(*, command: str | None = None) -> argparse.ArgumentParser:
    """The argument parser of the ``spanlike`` command.

    ``command``: build only what that subcommand needs (the feature modules
    are imported only for a feature command); None builds every command.
    """
    from spanlike import __version__

    parser = argparse.ArgumentParser(prog="spanlike", description="Options-aware portfolio margin engine (SPAN-style).")
    parser.add_argument("--version", action="version", version=f"spanlike {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    p = sub.add_parser("margin", help="margin a portfolio against a market snapshot")
    p.add_argument("--portfolio", required=True, help="CSV/JSON positions or Deribit get_positions JSON")
    p.add_argument("--market", nargs="+", metavar="FILE",
                   help="JSON/CSV snapshot, or one or more Deribit get_book_summary_by_currency JSON files")
    p.add_argument("--spn", metavar="FILE",
                   help="margin on an exchange SPAN risk parameter file (.spn, .zip, .gz) instead of --market")
    p.add_argument("--params", default="crypto-span", help="bundled parameter set name or file (default crypto-span)")
    p.add_argument("--format", choices=("table", "json"), default="table")
    p.add_argument("--contributions", type=int, default=5, help="positions listed per commodity (table)")
    p.set_defaults(func=_cmd_margin)

    p = sub.add_parser("risk-arrays", help="per-instrument risk arrays and Greeks")
    p.add_argument("--portfolio", help="instruments held in this file")
    p.add_argument("--instrument", action="append", help="an instrument name (repeatable)")
    p.add_argument("--market", required=True, nargs="+", metavar="FILE")
    p.add_argument("--params", default="crypto-span")
    p.add_argument("--format", choices=("table", "json"), default="table")
    p.set_defaults(func=_cmd_risk_arrays)

    p = sub.add_parser("params", help="list, show, validate parameter sets; print the JSON Schema")
    p.add_argument("action", choices=("list", "show", "validate", "schema"))
    p.add_argument("target", nargs="?", help="name or file (show, validate)")
    p.add_argument("--format", choices=("toml", "json"), default="toml")
    p.set_defaults(func=_cmd_params)

    p = sub.add_parser("demo", help="risk arrays, Greeks and margin of the bundled demo book")
    p.add_argument("--contributions", type=int, default=5)
    p.set_defaults(func=_cmd_demo)
    _register_features(sub, command=command)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the CLI; returns the exit code (0 ok, 1 runtime error, 2 bad input)."""
    arguments = list(sys.argv[1:] if argv is None else argv)
    parser = build_parser(command=_command_of(arguments))
    args = parser.parse_args(arguments)
    func: Callable[[argparse.Namespace], int] = args.func
    try:
        return func(args)
    except NumericalError as err:
        print(f"spanlike: numerical error: {err}", file=sys.stderr)
        return EXIT_RUNTIME
    except SpanlikeError as err:
        print(f"spanlike: error: {err}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except BrokenPipeError:
        return EXIT_OK


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
