"""``spanlike batch`` and ``spanlike what-if``: broker margin checks from the command line.

Registered by :func:`spanlike.cli.build_parser` through :func:`register`;
heavy modules (numba, the engine) are imported inside the handlers so that
``spanlike --help`` stays fast. Bad input raises :mod:`spanlike.errors`
types, which the main CLI turns into exit code 2 with the message on stderr.
"""

from __future__ import annotations

import argparse
import json
import sys
import threading
import time
from typing import Any, Callable

__all__ = ["register"]


#: Share of the bar each stage of ``spanlike batch`` fills (about its share of a 100,000-account run).
_STAGES = {"reading": (0.0, 0.30), "building": (0.30, 0.45), "margining": (0.45, 0.85), "writing": (0.85, 1.0)}


class _ProgressBar:
    """One bar over a whole batch run (reading, building, margining, writing) on stderr.

    Drawn only when stderr is a terminal: redrawing uses carriage returns,
    which would litter a log file, so a redirected stderr gets no bar.
    """

    def __init__(self, *, enabled: bool, stream: Any = None) -> None:
        self.stream = stream if stream is not None else sys.stderr
        isatty = getattr(self.stream, "isatty", None)
        self.enabled = enabled and bool(isatty is not None and isatty())
        self.start = time.perf_counter()
        self.stage = "reading"
        self.drawn = False

    def __call__(self, stage: str, fraction: float = 0.0) -> None:
        """Show ``stage`` done to ``fraction`` (0..1)."""
        if not self.enabled:
            return
        self.stage = stage
        lo, hi = _STAGES.get(stage, (0.0, 1.0))
        total = lo + (hi - lo) * min(max(fraction, 0.0), 1.0)
        width = 30
        filled = int(width * total)
        elapsed = time.perf_counter() - self.start
        self.stream.write(f"\r[{'#' * filled}{'.' * (width - filled)}] {total:4.0%} {stage:<10} {elapsed:5.1f}s")
        self.stream.flush()
        self.drawn = True

    def accounts(self, done: int, total: int) -> None:
        """Margining progress in accounts (the kernel's callback)."""
        self("margining", done / total if total else 1.0)

    def close(self) -> None:
        """End the bar's line (if one was drawn)."""
        if self.enabled and self.drawn:
            self.stream.write("\n")
            self.stream.flush()


def _load_market(paths: list[str]) -> Any:
    """One snapshot file, or several payloads of one venue: :func:`spanlike.loaders.load_market`."""
    from spanlike.loaders import load_market

    return load_market(paths)


def _pyarrow_without_pandas() -> None:
    """Let pyarrow's pandas shim find no pandas in this process, unless pandas is already loaded.

    pyarrow imports pandas (when installed) on its first conversion of a
    Python value, only to ask whether the value is a DataFrame or a Series:
    0.2-0.4 s of a 100,000-account run spent on a library the batch never
    uses. The batch command hands pyarrow no pandas objects, so the shim's one
    import attempt is made to fail here; the finder is removed at once, and
    pyarrow retries the import wherever pandas is really needed
    (``to_pandas``).
    """
    if "pandas" in sys.modules or "pyarrow" in sys.modules:
        return
    blocker = _NoPandas()
    sys.meta_path.insert(0, blocker)
    try:
        import pyarrow as pa

        pa.array([0])  # the shim's one import attempt happens here
    finally:
        sys.meta_path.remove(blocker)


class _NoPandas:
    """A meta path finder that refuses ``pandas`` (used only for the moment above)."""

    def find_spec(self, name: str, path: Any = None, target: Any = None) -> None:
        if name == "pandas":
            raise ImportError("pandas is not used by spanlike batch")
        return None


def _warm_numba() -> None:
    """Import the engine's modules and initialise numba's CPU target, for a thread started before reading.

    Both are Python work that every run pays before its first kernel (numba's
    target loads its registries, and numba probes scipy's BLAS: 0.3-0.5 s),
    while reading the files is mostly pyarrow's C++, which releases the GIL:
    on two cores the two overlap. Any error is left for the main thread, which
    does the same work again and reports it.
    """
    try:
        import spanlike.batch.prepared  # noqa: F401  (numba and the rule modules)
        from numba.core.registry import cpu_target

        cpu_target.target_context.refresh()
    except Exception:  # noqa: BLE001 - the main thread repeats this and reports
        pass


def _cmd_batch(args: argparse.Namespace) -> int:
    from spanlike import params
    from spanlike.batch.accounts import build_account_book, equity_usd, read_equity, read_positions
    from spanlike.batch.io import check_output_path

    out = check_output_path(args.out) if args.out else None  # before any work: a typo costs nothing
    if not args.scheduler:  # Dask's client uses pandas through pyarrow
        _pyarrow_without_pandas()
    bar = _ProgressBar(enabled=not args.no_progress)
    if args.scheduler and _is_parquet(args.accounts):
        return _batch_parquet_on_dask(args, out, bar)
    warm = threading.Thread(target=_warm_numba, name="spanlike-warm-numba", daemon=True)
    warm.start()
    try:
        bar("reading")
        positions = read_positions(args.accounts)
        bar("reading", 0.6)
        equity = read_equity(args.equity) if args.equity else None
        market = _load_market(args.market)
        ps = params.load(args.params)
        bar("building")
        warm.join()
        from spanlike.batch.prepared import prepare_engine

        names = list(positions.instrument_names)
        engine = prepare_engine(instruments=names, market=market, parameter_set=ps, parallel=len(names) > 10_000)
        book = build_account_book(positions, engine=engine)
        eq = (equity_usd(equity, book=book, index_prices=market.index_prices, where=str(args.equity))
              if equity is not None else None)
        bar("margining")
        if args.scheduler:
            from spanlike.batch.dask_backend import margin_batch_dask

            result = margin_batch_dask(engine, book, scheduler=args.scheduler, equity_usd=eq,
                                       components=args.components, progress=bar.accounts)
        else:
            from spanlike.batch.batch import margin_batch

            result = margin_batch(engine, book, equity_usd=eq, components=args.components,
                                  progress=bar.accounts if bar.enabled else None)
        bar("writing")
        _write_result(result, out)
        bar("writing", 1.0)
    finally:
        bar.close()
    summary = result.summary()
    print(f"{result.parameter_set} at {result.valuation_time.isoformat()}: {summary.format()}",
          file=sys.stderr if out is None else sys.stdout)
    return 0


def _is_parquet(path: str) -> bool:
    from pathlib import Path

    p = Path(path)
    return p.suffix.lower() in (".parquet", ".pq") or p.is_dir()


def _write_result(result: Any, out: Any) -> None:
    from spanlike.batch.io import write_table

    table = result.to_arrow()
    if out is not None:
        write_table(table, out)
    else:
        sys.stdout.flush()
        write_table(table, sys.stdout.buffer, fmt="csv")
        sys.stdout.buffer.flush()


def _batch_parquet_on_dask(args: argparse.Namespace, out: Any, bar: _ProgressBar) -> int:
    """``spanlike batch --scheduler`` on parquet input: workers read the partitions (the client never holds the book)."""
    from spanlike import params
    from spanlike.batch.dask_backend import margin_parquet_dask

    try:
        bar("reading")
        market = _load_market(args.market)
        ps = params.load(args.params)
        bar("margining")
        result = margin_parquet_dask(args.accounts, market=market, parameter_set=ps, scheduler=args.scheduler,
                                     equity=args.equity, components=args.components, progress=bar.accounts)
        bar("writing")
        _write_result(result, out)
        bar("writing", 1.0)
    finally:
        bar.close()
    print(f"{result.parameter_set} at {result.valuation_time.isoformat()}: {result.summary().format()}",
          file=sys.stderr if out is None else sys.stdout)
    return 0


def _cmd_what_if(args: argparse.Namespace) -> int:
    from spanlike import params
    from spanlike.batch.prepared import prepare_engine
    from spanlike.batch.whatif import Order, prepare_account
    from spanlike.errors import InvalidInputError
    from spanlike.portfolio import Portfolio
    from spanlike.universe import resolve_positions

    if not args.order and not args.max_quantity:
        raise InvalidInputError("Give at least one --order INSTRUMENT:QTY[:UNIT] or --max-quantity INSTRUMENT.")
    if args.max_quantity and args.equity is None:
        raise InvalidInputError("--max-quantity needs the account's equity: --equity AMOUNT_USD.")
    portfolio = Portfolio.from_file(args.portfolio)
    market = _load_market(args.market)
    ps = params.load(args.params)
    orders = [Order.parse(text) for text in args.order or []]
    names = [ins.name for ins in portfolio.instruments] + [o.instrument for o in orders]
    if args.max_quantity:
        names.append(args.max_quantity)
    engine = prepare_engine(instruments=list(dict.fromkeys(names)), market=market, parameter_set=ps)
    rows, qty, _ = resolve_positions(portfolio, table=engine.universe.table)
    account = prepare_account(engine, rows=rows, quantity=qty, account=portfolio.account)
    out: dict[str, Any] = {
        "account": portfolio.account,
        "parameter_set": ps.label,
        "initial_margin_before_usd": account.initial_margin_usd,
        "maintenance_margin_before_usd": account.maintenance_margin_usd,
    }
    if orders:
        res = account.what_if(orders)
        out.update({
            "orders": [{"instrument": o.instrument, "quantity": o.quantity, "unit": o.unit} for o in orders],
            "initial_margin_after_usd": res.initial_margin_after_usd,
            "maintenance_margin_after_usd": res.maintenance_margin_after_usd,
            "incremental_initial_margin_usd": res.incremental_initial_margin_usd,
            "incremental_maintenance_margin_usd": res.incremental_maintenance_margin_usd,
        })
    if args.max_quantity:
        mq = account.max_order_quantity(args.max_quantity, equity_usd=args.equity,
                                        side=1 if args.side == "buy" else -1, unit=args.unit)
        out["max_quantity"] = {
            "instrument": mq.instrument, "side": args.side, "quantity": mq.quantity, "unit": mq.unit,
            "initial_margin_at_quantity_usd": mq.margin_at_quantity_usd, "equity_usd": mq.equity_usd,
            "tolerance": mq.tolerance, "bounded": mq.bounded, "within_equity_now": mq.within_equity_now,
        }
    if args.format == "json":
        json.dump(out, sys.stdout, indent=2, allow_nan=True)
        sys.stdout.write("\n")
        return 0
    lines = [f"What-if for account {out['account']} under {ps.label}"]
    lines.append(f"  initial margin before        {out['initial_margin_before_usd']:>18,.2f} USD")
    lines.append(f"  maintenance margin before    {out['maintenance_margin_before_usd']:>18,.2f} USD")
    if orders:
        lines.append("  orders: " + ", ".join(f"{o.instrument} {o.quantity:+g}{' ' + o.unit if o.unit else ''}"
                                             for o in orders))
        lines.append(f"  initial margin after         {out['initial_margin_after_usd']:>18,.2f} USD")
        lines.append(f"  maintenance margin after     {out['maintenance_margin_after_usd']:>18,.2f} USD")
        lines.append(f"  incremental initial margin   {out['incremental_initial_margin_usd']:>+18,.2f} USD")
        lines.append(f"  incremental maintenance      {out['incremental_maintenance_margin_usd']:>+18,.2f} USD")
    if args.max_quantity:
        mq_out = out["max_quantity"]
        if not mq_out["within_equity_now"]:
            text = "0 (initial margin already exceeds equity)"
        elif not mq_out["bounded"]:
            text = f"unbounded (margin stays within equity up to {mq_out['quantity']:g} {mq_out['unit']})"
        else:
            text = f"{mq_out['quantity']:,.6f} {mq_out['unit']} (tolerance {mq_out['tolerance']:.2g})"
        lines.append(f"  largest {args.side} of {args.max_quantity} within equity {args.equity:,.2f} USD: {text}")
    sys.stdout.write("\n".join(lines) + "\n")
    return 0


def register(subparsers: Any) -> None:
    """Add the ``batch`` and ``what-if`` subcommands to the ``spanlike`` parser."""
    handler: Callable[[argparse.Namespace], int]
    p = subparsers.add_parser("batch", help="margin many accounts: IM, MM, equity, excess, status")
    p.add_argument("--accounts", required=True,
                   help="positions: CSV or parquet (a file or a folder of files) with columns "
                        "account,instrument,quantity[,unit]")
    p.add_argument("--equity", help="CSV or parquet with columns account,currency,amount; without it the "
                                    "margins are computed but the status is n/a and equity/excess are empty")
    p.add_argument("--market", required=True, nargs="+", metavar="FILE",
                   help="JSON/CSV snapshot, or Deribit get_book_summary_by_currency JSON files")
    p.add_argument("--params", default="crypto-span", help="bundled parameter set name or file")
    p.add_argument("--out", help="write results to FILE.csv, FILE.parquet or FILE.jsonl (default: CSV on stdout); "
                                 "checked before the run")
    p.add_argument("--scheduler", help="Dask scheduler address (needs spanlike[dask]); with parquet input the "
                                       "workers read it, one partition per file or row group, and every "
                                       "account's rows must lie in one partition")
    p.add_argument("--components", action="store_true",
                   help="add every component per commodity (unit in the column name, e.g. BTC.scan_risk_btc)")
    p.add_argument("--no-progress", action="store_true",
                   help="no progress bar (there is none anyway when stderr is not a terminal)")
    handler = _cmd_batch
    p.set_defaults(func=handler)

    p = subparsers.add_parser("what-if", help="margin before/after orders; largest order within equity")
    p.add_argument("--portfolio", required=True, help="CSV/JSON positions or Deribit get_positions JSON")
    p.add_argument("--market", required=True, nargs="+", metavar="FILE")
    p.add_argument("--params", default="crypto-span")
    p.add_argument("--order", action="append", metavar="INSTRUMENT:QTY[:UNIT]",
                   help="an order, e.g. BTC-25DEC26-100000-C:-2 or BTC-PERPETUAL:50000:usd (repeatable)")
    p.add_argument("--max-quantity", metavar="INSTRUMENT", help="largest order of INSTRUMENT within --equity")
    p.add_argument("--side", choices=("buy", "sell"), default="buy", help="side of --max-quantity (default buy)")
    p.add_argument("--unit", help="unit of --max-quantity (usd or coin for coin-settled futures)")
    p.add_argument("--equity", type=float, metavar="AMOUNT_USD", help="account equity in USD")
    p.add_argument("--format", choices=("table", "json"), default="table")
    handler = _cmd_what_if
    p.set_defaults(func=handler)
