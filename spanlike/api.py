"""One-call conveniences over the engine: what-if without plumbing, the bundled demo files.

The what-if pipeline is :func:`spanlike.batch.prepared.prepare_engine` (risk
arrays of every instrument once) -> :func:`spanlike.batch.whatif.prepare_positions`
(the account's scenario losses and ladders) -> :meth:`PreparedAccount.what_if`
(microseconds per check). :func:`what_if` runs the three for one question;
:func:`prepare_what_if` stops before the last, for repeated checks by
instrument name.

>>> import spanlike
>>> files = spanlike.demo_files()
>>> r = spanlike.what_if(files.portfolio, files.market, "deribit-style",
...                      orders=["BTC-25DEC26-80000-P:5", ("BTC-PERPETUAL", -20_000, "usd")])
>>> round(r.incremental_initial_margin_usd, 2)
-63036.01
"""

from __future__ import annotations

from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Iterable, Sequence

from spanlike.errors import InvalidPositionError

if TYPE_CHECKING:
    from spanlike.batch.whatif import Order, PreparedAccount, WhatIfResult
    from spanlike.market import MarketSnapshot
    from spanlike.params import ParameterSet
    from spanlike.portfolio import Portfolio

__all__ = ["DemoFiles", "demo_files", "what_if", "prepare_what_if"]


@dataclass(frozen=True)
class DemoFiles:
    """Paths of the files bundled with the package (``spanlike/data``).

    Attributes
    ----------
    portfolio : Path
        The demo book, CSV ``instrument,quantity,unit`` (BTC and ETH options, futures, perpetuals).
    market : Path
        Its snapshot (JSON, valuation time 2026-11-24T08:00:00Z, with a volatility smile).
    history : Path
        Synthetic daily closes of BTC, ETH and SOL (licence-free, not market data).
    """

    portfolio: Path
    market: Path
    history: Path


def demo_files() -> DemoFiles:
    """The bundled demo book, market snapshot and synthetic history, as file paths.

    Returns
    -------
    DemoFiles
    """
    root = resources.files("spanlike") / "data"
    return DemoFiles(
        portfolio=Path(str(root / "demo_portfolio.csv")),
        market=Path(str(root / "demo_market.json")),
        history=Path(str(root / "synthetic_history.csv")),
    )


def _portfolio(book: "Portfolio | str | Path | Iterable[tuple]") -> "Portfolio":
    from spanlike.portfolio import Portfolio

    if isinstance(book, Portfolio):
        return book
    if isinstance(book, (str, Path)):
        return Portfolio.from_file(book)
    return Portfolio.from_positions(list(book))


def _market(market: "MarketSnapshot | str | Path | Sequence[str | Path]") -> "MarketSnapshot":
    from spanlike.loaders import load_market
    from spanlike.market import MarketSnapshot

    if isinstance(market, MarketSnapshot):
        return market
    return load_market(market if isinstance(market, (str, Path)) else list(market))


def prepare_what_if(
    book: "Portfolio | str | Path | Iterable[tuple]",
    market: "MarketSnapshot | str | Path | Sequence[str | Path]",
    parameter_set: "ParameterSet | str | Path",
    *,
    instruments: Iterable[str] = (),
    cross_commodity: bool = True,
) -> "PreparedAccount":
    """Prepare one account for repeated what-if checks by instrument name.

    Parameters
    ----------
    book : Portfolio, path or iterable of tuple
        A :class:`~spanlike.portfolio.Portfolio`, a positions file, or
        ``(instrument, quantity[, unit])`` tuples.
    market : MarketSnapshot, path or list of paths
        A snapshot, or the file(s) :func:`spanlike.loaders.load_market` reads.
    parameter_set : ParameterSet, bundled name or path
    instruments : iterable of str
        Instruments you may trade beyond those held (Deribit names); an order
        on any other instrument raises :class:`~spanlike.errors.UnknownInstrumentError`.
    cross_commodity : bool

    Returns
    -------
    PreparedAccount
        ``.what_if(["BTC-PERPETUAL:-20000:usd"])``, ``.what_if_quantity(name, q, unit)``
        (the microsecond path), ``.max_order_quantity(name, equity_usd=...)``,
        ``.apply(orders)``.

    Raises
    ------
    SpanlikeError
        The typed errors of reading the inputs and of
        :func:`spanlike.batch.prepared.prepare_engine`.
    """
    from spanlike.batch.prepared import prepare_engine
    from spanlike.batch.whatif import prepare_positions

    portfolio = _portfolio(book)
    snapshot = _market(market)
    extra = [instruments] if isinstance(instruments, str) else list(instruments)
    names = list(dict.fromkeys([ins.name for ins in portfolio.instruments] + [str(x) for x in extra]))
    if not names:
        raise InvalidPositionError(
            "prepare_what_if needs at least one instrument: the book is empty and no 'instruments' were given "
            "(e.g. instruments=['BTC-PERPETUAL'])."
        )
    engine = prepare_engine(instruments=names, market=snapshot, parameter_set=parameter_set)
    return prepare_positions(engine, portfolio, cross_commodity=cross_commodity)


def what_if(
    book: "Portfolio | str | Path | Iterable[tuple]",
    market: "MarketSnapshot | str | Path | Sequence[str | Path]",
    parameter_set: "ParameterSet | str | Path",
    *,
    orders: "Sequence[Order | tuple | str]",
    cross_commodity: bool = True,
) -> "WhatIfResult":
    """Initial and maintenance margin of a book before and after orders, in one call.

    Parameters
    ----------
    book, market, parameter_set
        As in :func:`prepare_what_if`.
    orders : sequence of Order, tuple or str
        ``("BTC-25DEC26-80000-P", 5)``, ``("BTC-PERPETUAL", -20_000, "usd")`` or
        ``"BTC-PERPETUAL:-20000:usd"``; quantity signed (positive buy) in
        ``unit`` (portfolio rules).
    cross_commodity : bool

    Returns
    -------
    WhatIfResult
        USD amounts before and after; ``incremental_initial_margin_usd``
        (negative: the orders lower margin).

    Raises
    ------
    InvalidPositionError
        No orders, or a malformed one.
    SpanlikeError
        The typed errors of :func:`prepare_what_if`.

    Notes
    -----
    Each call revalues the book; for many checks on one account use
    :func:`prepare_what_if` once and call ``.what_if`` on its result.
    """
    from spanlike.batch.whatif import _as_order

    if isinstance(orders, str) or (isinstance(orders, tuple) and len(orders) in (2, 3) and isinstance(orders[0], str)
                                   and not isinstance(orders[1], (str, tuple))):
        orders = [orders]  # one order given bare: "NAME:QTY" or ("NAME", qty[, unit])
    parsed = [_as_order(o) for o in orders]
    if not parsed:
        raise InvalidPositionError("what_if needs at least one order, e.g. orders=['BTC-PERPETUAL:-20000:usd'].")
    account = prepare_what_if(book, market, parameter_set, instruments=[o.instrument for o in parsed],
                              cross_commodity=cross_commodity)
    return account.what_if(parsed)
