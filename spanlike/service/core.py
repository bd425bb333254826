"""The service's only window onto the margin engine: every engine name the service uses is imported here.

The margin rules and kernels are being restructured; the service depends on
their public entry points only (:mod:`spanlike.batch`, :func:`spanlike.margin`,
:func:`spanlike.engine.margin_positions`, :class:`spanlike.MarketSnapshot`,
:class:`spanlike.Portfolio`, :mod:`spanlike.params`, :mod:`spanlike.errors`),
and only through this module, so a rename touches one file.

The helpers below are thin adapters from the service's stored form
(positions as ``(instrument, unit) -> quantity`` legs, balances as
``currency -> amount``) to those entry points; the netting, unit conversion,
equity conversion and margin rules are the library's.
"""

from __future__ import annotations

import datetime as dt
from typing import Any, Iterable, Mapping, Sequence

import numpy as np
from numpy.typing import NDArray

from spanlike import errors, params
from spanlike.batch import (
    AccountBook,
    IntradayUpdate,
    Order,
    PreparedAccount,
    PreparedEngine,
    WhatIfResult,
    build_account_book,
    equity_usd,
    margin_batch,
    prepare_account,
    prepare_engine,
    update_engine,
)
from spanlike.engine import margin, margin_positions
from spanlike.market import InstrumentQuote, MarketSnapshot
from spanlike.portfolio import NET_ZERO_RELATIVE_TOLERANCE, Portfolio
from spanlike.results import MarginResult

__all__ = [
    "NET_ZERO_RELATIVE_TOLERANCE", "AccountBook", "IntradayUpdate", "MarginResult", "MarketSnapshot", "Order", "Portfolio", "PreparedAccount",
    "PreparedEngine", "WhatIfResult", "errors", "params",
    "STATUS_NAMES", "account_book", "account_equity_usd", "batch_margins", "margin", "margin_positions",
    "market_from_mapping", "market_to_mapping", "merge_market", "prepare_account", "prepare_engine", "replace_accounts", "reprice_usd_legs",
    "status_of", "update_engine", "usd_legs_rows",
]

#: Status names in severity order (as :mod:`spanlike.batch.batch` defines them).
STATUS_NAMES = ("ok", "margin call", "liquidation")

Legs = Mapping[tuple[str, str | None], float]


def status_of(*, equity_usd: float, initial_margin_usd: float, maintenance_margin_usd: float) -> str:
    """``liquidation`` if equity < MM, else ``margin call`` if equity < IM, else ``ok`` (the batch rule)."""
    if equity_usd < maintenance_margin_usd:
        return "liquidation"
    if equity_usd < initial_margin_usd:
        return "margin call"
    return "ok"


def account_book(
    engine: PreparedEngine, legs: Mapping[str, Legs], *, accounts: Sequence[str]
) -> AccountBook:
    """An :class:`AccountBook` of ``accounts`` from stored legs, through :func:`build_account_book`.

    Parameters
    ----------
    legs : mapping
        ``account -> (instrument, unit) -> net quantity`` in that unit.
    accounts : sequence of str
        The book's accounts in order (accounts without legs margin to zero).
    """
    records = [
        (account, instrument, quantity, unit)
        for account in accounts
        for (instrument, unit), quantity in legs.get(account, {}).items()
    ]
    return build_account_book(records, engine=engine, accounts=accounts)


def concat_books(books: Sequence[tuple[str, NDArray[np.int64], NDArray[np.float64]]], *, n_rows: int) -> AccountBook:
    """One CSR book from per-account ``(account, rows, quantity)`` (contract units, rows increasing)."""
    counts = np.fromiter((r.size for _, r, _ in books), dtype=np.int64, count=len(books))
    offsets = np.zeros(len(books) + 1, dtype=np.int64)
    np.cumsum(counts, out=offsets[1:])
    rows = np.concatenate([r for _, r, _ in books]) if books else np.zeros(0, np.int64)
    qty = np.concatenate([q for _, _, q in books]) if books else np.zeros(0)
    return AccountBook.from_arrays(accounts=[a for a, _, _ in books], offsets=offsets, rows=rows, quantity=qty,
                                   n_rows=n_rows)


def replace_accounts(
    book: AccountBook, replacements: Mapping[int, tuple[NDArray[np.int64], NDArray[np.float64]]], *, n_rows: int
) -> AccountBook:
    """``book`` with the positions of some accounts (by index) replaced; the others' arrays are copied in runs.

    Parameters
    ----------
    replacements : mapping
        Book index -> ``(rows, quantity)`` in contract units (rows increasing), as
        :meth:`AccountBook.positions` gives them.
    n_rows : int
        Rows of the engine's universe (the bound :meth:`AccountBook.from_arrays` checks).
    """
    if not replacements:
        return book
    offsets = book.offsets
    counts = np.diff(offsets)
    rows: list[NDArray[np.int64]] = []
    qty: list[NDArray[np.float64]] = []
    start = 0  # first book index not yet copied
    for k in sorted(replacements):
        r, q = replacements[k]
        rows += [book.rows[offsets[start]:offsets[k]], np.asarray(r, dtype=np.int64)]
        qty += [book.quantity[offsets[start]:offsets[k]], np.asarray(q, dtype=np.float64)]
        counts[k] = len(r)
        start = k + 1
    rows.append(book.rows[offsets[start]:])
    qty.append(book.quantity[offsets[start]:])
    new_offsets = np.zeros(len(book) + 1, dtype=np.int64)
    np.cumsum(counts, out=new_offsets[1:])
    return AccountBook.from_arrays(accounts=book.accounts, offsets=new_offsets, rows=np.concatenate(rows),
                                   quantity=np.concatenate(qty), n_rows=n_rows)


def reprice_usd_legs(
    engine: PreparedEngine, book: AccountBook, legs: Mapping[str, Legs], *, instruments: Mapping[str, Sequence[str]]
) -> tuple[AccountBook, list[int]]:
    """``book`` with the rows of USD-sized legs converted again at ``engine`` (whose prices moved).

    Only the legs on ``instruments[account]`` (both units: a coin leg on the
    same instrument nets with the USD one) go through
    :func:`build_account_book`; every other entry of the book is kept as it
    is, so a market update does not rebuild 10,000 accounts' books to move
    the quantities of their futures legs.

    Parameters
    ----------
    legs : mapping
        ``account -> (instrument, unit) -> net quantity`` of the accounts to reprice.
    instruments : mapping
        ``account -> instruments`` whose USD legs are repriced (each held in USD by that account).

    Returns
    -------
    (AccountBook, list of int)
        The new book and the book indices of the repriced accounts.
    """
    accounts = list(instruments)
    if not accounts:
        return book, []
    records = [(a, i, q, u) for a in accounts for i in instruments[a] for u in ("coin", "usd")
               if (q := legs[a].get((i, u))) is not None]
    fresh = build_account_book(records, engine=engine, accounts=accounts)
    n = max(1, engine.packed.n_rows)
    slots = np.array([book.index_of(a) for a in accounts], dtype=np.int64)
    book_key = np.repeat(np.arange(len(book), dtype=np.int64), np.diff(book.offsets)) * n + book.rows
    drop = np.array([int(slots[k]) * n + engine.row_of(i) for k, a in enumerate(accounts) for i in instruments[a]],
                    dtype=np.int64)
    keep = ~np.isin(book_key, drop)
    fresh_key = slots[np.repeat(np.arange(len(accounts)), np.diff(fresh.offsets))] * n + fresh.rows
    key = np.concatenate([book_key[keep], fresh_key])
    order = np.argsort(key, kind="stable")  # (account, row) order, as the CSR book keeps it
    key, qty = key[order], np.concatenate([book.quantity[keep], fresh.quantity])[order]
    offsets = np.zeros(len(book) + 1, dtype=np.int64)
    np.cumsum(np.bincount(key // n, minlength=len(book)), out=offsets[1:])
    new = AccountBook.from_arrays(accounts=book.accounts, offsets=offsets, rows=key % n, quantity=qty,
                                  n_rows=engine.packed.n_rows)
    return new, slots.tolist()


def account_equity_usd(
    balances: Mapping[str, Mapping[str, float]], *, book: AccountBook, market: MarketSnapshot
) -> NDArray[np.float64]:
    """Equity in USD per book account (:func:`spanlike.batch.equity_usd`: USD/USDC at 1, coins at the index)."""
    held = {a: dict(b) for a, b in balances.items() if b}
    return equity_usd(held, book=book, index_prices=market.index_prices, where="balances")


def batch_margins(engine: PreparedEngine, book: AccountBook, equity: NDArray[np.float64]) -> Any:
    """:func:`spanlike.batch.margin_batch` of the whole book (serial: the event loop owns the process)."""
    return margin_batch(engine, book, equity_usd=equity, parallel=len(book) > 2_000)


def usd_legs_rows(engine: PreparedEngine, legs: Legs) -> set[int]:
    """Universe rows an account holds through USD-sized legs (their contract quantity moves with the price)."""
    return {engine.row_of(instrument) for (instrument, unit) in legs if unit == "usd"}


# ----------------------------------------------------------------- market snapshots as JSON

_QUOTE_FIELDS = ("mark_price", "mark_iv", "underlying_price")


def market_from_mapping(data: Mapping[str, Any], *, source: str) -> MarketSnapshot:
    """A snapshot from our JSON form (:meth:`MarketSnapshot.from_mapping`, its checks and messages)."""
    return MarketSnapshot.from_mapping(data, source=source)


def market_to_mapping(market: MarketSnapshot) -> dict[str, Any]:
    """Our JSON form of a snapshot (absent quote fields left out), the inverse of :func:`market_from_mapping`."""
    return {
        "valuation_time": market.valuation_time.isoformat(),
        "index_prices": dict(market.index_prices),
        "instruments": [
            {"instrument": name, **{f: getattr(q, f) for f in _QUOTE_FIELDS if getattr(q, f) is not None}}
            for name, q in market.quotes.items()
        ],
    }


def merge_market(base: MarketSnapshot, changes: Mapping[str, Any], *, source: str) -> MarketSnapshot:
    """``base`` with the index prices and quotes of ``changes`` replaced (changed instruments only).

    ``changes`` has our JSON form with every key optional except
    ``valuation_time``; a quote given replaces the instrument's whole quote.
    """
    delta = market_from_mapping(
        {"valuation_time": changes.get("valuation_time"), "index_prices": changes.get("index_prices", {}),
         "instruments": changes.get("instruments", [])},
        source=source,
    )
    index = dict(base.index_prices)
    index.update(delta.index_prices)
    quotes: dict[str, InstrumentQuote] = dict(base.quotes)
    quotes.update(delta.quotes)
    return MarketSnapshot(valuation_time=delta.valuation_time, index_prices=index, quotes=quotes)


def valuation_time(market: MarketSnapshot) -> dt.datetime:
    """The snapshot's valuation time (UTC)."""
    return market.valuation_time


def instruments_of(market: MarketSnapshot) -> Iterable[str]:
    """Instrument names the snapshot quotes."""
    return market.quotes.keys()
