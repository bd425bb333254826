"""Many accounts' positions as CSR arrays, and their equity; readers for the batch CSV files.

File formats
------------
Positions, one row per position (``unit`` optional, as in a portfolio file)::

    account,instrument,quantity,unit
    acc-1,BTC-25DEC26-110000-C,-5,coin
    acc-1,BTC-PERPETUAL,-150000,usd
    acc-2,ETH_USDC-PERPETUAL,3,

Equity, one row per account and currency (amounts in that currency)::

    account,currency,amount
    acc-1,BTC,1.25
    acc-1,USDC,20000

Equity converts to USD at the market's index prices (``BTC`` at the BTC
index); ``USD`` and ``USDC`` count at 1 [our choice: USDC/USD = 1]. Any other
currency needs an index price in the snapshot.

Netting follows :class:`spanlike.portfolio.Portfolio` and
:func:`spanlike.universe.resolve_positions` exactly: rows of one account,
instrument and unit net (``math.fsum``) and a net zero is dropped with a note;
USD quantities convert to contracts at the futures price; the legs of one
instrument then net again. An account whose positions all net to zero (or a
row with quantity 0) stays in the book with no positions and margins to zero.
"""

from __future__ import annotations

import csv
import math
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable, Mapping, Sequence

import numpy as np
from numpy.typing import NDArray

from spanlike.errors import (
    InputFileError,
    InvalidPositionError,
    MissingMarketDataError,
    UnknownAccountError,
    UnknownInstrumentError,
)
from spanlike.instruments import Instrument
from spanlike.portfolio import NET_ZERO_RELATIVE_TOLERANCE, Position

__all__ = [
    "PositionRecord",
    "AccountBook",
    "read_positions_csv",
    "read_equity_csv",
    "build_account_book",
    "equity_usd",
    "checked_unit",
    "STABLE_USD",
]

#: Currencies counted at 1 USD [our choice for USDC].
STABLE_USD = ("USD", "USDC")


_UNIT_CACHE: dict[tuple[str, str | None], str] = {}


def checked_unit(instrument: Instrument, unit: str | None, *, where: str) -> str:
    """The unit of a position in ``instrument`` under the portfolio rules, or a typed error.

    ``None`` means "coin" except for coin-settled futures and perpetuals, which
    must say ``"usd"`` or ``"coin"`` (:class:`spanlike.portfolio.Position`).
    Cached per (instrument name, unit): a batch repeats few combinations.

    Raises
    ------
    InvalidPositionError
        Naming ``where``, the instrument and the allowed units.
    """
    key = (instrument.name, unit)
    hit = _UNIT_CACHE.get(key)
    if hit is not None:
        return hit
    try:
        checked = Position(instrument, 1.0, unit).unit  # type: ignore[arg-type]
    except InvalidPositionError as err:
        raise InvalidPositionError(f"{where}: {str(err).removeprefix('position: ')}") from None
    if len(_UNIT_CACHE) < 100_000:
        _UNIT_CACHE[key] = checked
    return checked


@dataclass(frozen=True)
class PositionRecord:
    """One position row as read: account, instrument name, signed quantity, unit (or None), origin."""

    account: str
    instrument: str
    quantity: float
    unit: str | None = None
    where: str = "position"


@dataclass(frozen=True, eq=False)
class AccountBook:
    """Positions of many accounts on one prepared universe, CSR style.

    Account ``a`` holds universe rows ``rows[offsets[a]:offsets[a+1]]`` (strictly
    increasing) with net quantities ``quantity[...]`` in contract units.

    Attributes
    ----------
    accounts : tuple of str, length n
    offsets : ndarray of int64, shape (n + 1,)
    rows : ndarray of int64, shape (nnz,)
    quantity : ndarray of float64, shape (nnz,)
        Non-zero, finite.
    notes : mapping of str to tuple of str
        Per account, positions dropped because they netted to zero.
    """

    accounts: tuple[str, ...]
    offsets: NDArray[np.int64]
    rows: NDArray[np.int64]
    quantity: NDArray[np.float64]
    notes: Mapping[str, tuple[str, ...]]

    def __post_init__(self) -> None:
        n = len(self.accounts)
        if self.offsets.shape != (n + 1,) or self.offsets[0] != 0 or self.offsets[-1] != self.rows.shape[0]:
            raise InvalidPositionError(
                f"AccountBook offsets must have shape ({n + 1},), start at 0 and end at {self.rows.shape[0]}."
            )
        if self.rows.shape != self.quantity.shape:
            raise InvalidPositionError("AccountBook rows and quantity must have equal length.")
        if len(set(self.accounts)) != n:
            raise InvalidPositionError("AccountBook accounts must be unique.")
        object.__setattr__(self, "_index", {a: i for i, a in enumerate(self.accounts)})

    def __len__(self) -> int:
        return len(self.accounts)

    def index_of(self, account: str) -> int:
        """Position of ``account`` in :attr:`accounts`.

        Raises
        ------
        UnknownAccountError
        """
        try:
            return self._index[account]  # type: ignore[attr-defined,no-any-return]
        except KeyError:
            raise UnknownAccountError(
                f"Account {account!r} is not in the book ({len(self)} accounts). Check the account id."
            ) from None

    def positions(self, account: str) -> tuple[NDArray[np.int64], NDArray[np.float64]]:
        """``(rows, quantity)`` of one account (views)."""
        a = self.index_of(account)
        lo, hi = int(self.offsets[a]), int(self.offsets[a + 1])
        return self.rows[lo:hi], self.quantity[lo:hi]

    @property
    def max_positions(self) -> int:
        """Largest number of positions of one account."""
        return int(np.diff(self.offsets).max()) if len(self) else 0

    def slice(self, start: int, stop: int) -> "AccountBook":
        """Accounts ``start .. stop-1`` as a book of their own (for partitions)."""
        lo, hi = int(self.offsets[start]), int(self.offsets[stop])
        accounts = self.accounts[start:stop]
        return AccountBook(
            accounts=accounts, offsets=self.offsets[start:stop + 1] - lo, rows=self.rows[lo:hi],
            quantity=self.quantity[lo:hi], notes={a: self.notes[a] for a in accounts if a in self.notes},
        )

    @classmethod
    def from_arrays(
        cls,
        *,
        accounts: Sequence[str],
        offsets: Sequence[int] | NDArray[np.int64],
        rows: Sequence[int] | NDArray[np.int64],
        quantity: Sequence[float] | NDArray[np.float64],
        n_rows: int,
    ) -> "AccountBook":
        """A book from CSR arrays already in contract units, validated.

        Parameters
        ----------
        accounts : sequence of str
        offsets : array_like of int, shape (n + 1,)
        rows : array_like of int, shape (nnz,)
            Universe rows, strictly increasing within each account.
        quantity : array_like of float, shape (nnz,)
            Finite; zeros are dropped.
        n_rows : int
            Rows in the universe (bound check).

        Raises
        ------
        InvalidPositionError
            Bad shapes, a row out of range, rows not increasing, a non-finite quantity.
        """
        off = np.ascontiguousarray(offsets, dtype=np.int64)
        r = np.ascontiguousarray(rows, dtype=np.int64)
        q = np.ascontiguousarray(quantity, dtype=np.float64)
        n = len(accounts)
        if off.shape != (n + 1,) or off[0] != 0 or off[-1] != r.shape[0] or (np.diff(off) < 0).any():
            raise InvalidPositionError(
                f"offsets must be non-decreasing with shape ({n + 1},), from 0 to len(rows) = {r.shape[0]}."
            )
        if r.shape != q.shape:
            raise InvalidPositionError(f"rows and quantity must have equal length; got {r.shape} and {q.shape}.")
        if r.size and (r.min() < 0 or r.max() >= n_rows):
            raise InvalidPositionError(f"rows must be universe rows in [0, {n_rows}); got {r.min()}..{r.max()}.")
        bad = ~np.isfinite(q)
        if bad.any():
            i = int(np.flatnonzero(bad)[0])
            a = int(np.searchsorted(off, i, side="right") - 1)
            raise InvalidPositionError(
                f"The quantity of row {int(r[i])} of account {accounts[a]!r} must be a finite number. Got {q[i]!r}."
            )
        account_of = np.repeat(np.arange(n), np.diff(off))
        same = account_of[1:] == account_of[:-1]
        if (same & (r[1:] <= r[:-1])).any():
            raise InvalidPositionError(
                "rows must be strictly increasing within each account (net duplicate positions first)."
            )
        keep = q != 0.0
        if not keep.all():
            r, q = r[keep], q[keep]
            off = np.concatenate([[0], np.cumsum(np.bincount(account_of[keep], minlength=n))]).astype(np.int64)
        return cls(accounts=tuple(accounts), offsets=off, rows=r, quantity=q, notes={})


def _read_csv(path: Path, what: str, columns: tuple[str, ...], optional: tuple[str, ...]) -> Iterable[tuple[str, dict[str, str]]]:
    try:
        handle = path.open(newline="", encoding="utf-8")
    except OSError as err:
        raise InputFileError(f"{what} file {path} cannot be read: {err.strerror}. Check the path.") from None
    with handle:
        reader = csv.reader(handle)
        header: list[str] | None = None
        for line_no, cells in enumerate(reader, start=1):
            if not cells or not "".join(cells).strip() or cells[0].lstrip().startswith("#"):
                continue
            cells = [c.strip() for c in cells]
            if header is None:
                header = [c.lower() for c in cells]
                unknown = [h for h in header if h not in columns + optional]
                missing = [c for c in columns if c not in header]
                if unknown or missing or len(set(header)) != len(header):
                    raise InputFileError(
                        f"{what} file {path} line {line_no}: the header must be "
                        f"'{','.join(columns + optional)}' ({', '.join(optional) or 'no column'} optional); "
                        f"got {','.join(cells)!r}."
                    )
                continue
            if len(cells) != len(header):
                raise InputFileError(
                    f"{what} file {path} line {line_no}: expected {len(header)} cells ({','.join(header)}), "
                    f"got {len(cells)}."
                )
            yield f"{path} line {line_no}", dict(zip(header, cells))
        if header is None:
            raise InputFileError(f"{what} file {path} is empty. Give the header '{','.join(columns + optional)}'.")


def _number(text: str, *, where: str, field: str, what: str) -> float:
    try:
        return float(text)
    except ValueError:
        raise InputFileError(f"{where}: the {field} of {what} must be a number like -2.5. Got {text!r}.") from None


def read_positions_csv(path: str | Path) -> list[PositionRecord]:
    """Read ``account,instrument,quantity[,unit]`` rows.

    Returns
    -------
    list of PositionRecord
        In file order; quantities as written (NaN is kept here and rejected
        by :func:`build_account_book` with the line named).

    Raises
    ------
    InputFileError
        Missing file, bad header, wrong cell count, empty account or
        instrument, a quantity that is not a number; naming file and line.
    """
    p = Path(path)
    out: list[PositionRecord] = []
    for where, row in _read_csv(p, "Positions", ("account", "instrument", "quantity"), ("unit",)):
        for field in ("account", "instrument"):
            if not row[field]:
                raise InputFileError(f"{where}: the '{field}' cell is empty. Give every row an {field}.")
        q = _number(row["quantity"], where=where, field="quantity", what=row["instrument"])
        out.append(PositionRecord(row["account"], row["instrument"], q, row.get("unit") or None, where))
    return out


def read_equity_csv(path: str | Path) -> dict[str, dict[str, float]]:
    """Read ``account,currency,amount`` rows.

    Returns
    -------
    dict
        ``account -> currency -> amount`` (rows of one account and currency add up).

    Raises
    ------
    InputFileError
        As :func:`read_positions_csv`; also a non-finite amount.
    """
    p = Path(path)
    out: dict[str, dict[str, float]] = defaultdict(dict)
    for where, row in _read_csv(p, "Equity", ("account", "currency", "amount"), ()):
        if not row["account"] or not row["currency"]:
            raise InputFileError(f"{where}: 'account' and 'currency' must not be empty.")
        amount = _number(row["amount"], where=where, field="amount", what=f"account {row['account']!r}")
        if not math.isfinite(amount):
            raise InputFileError(f"{where}: the amount of account {row['account']!r} must be finite. Got {amount!r}.")
        cur = row["currency"].upper()
        out[row["account"]][cur] = out[row["account"]].get(cur, 0.0) + amount
    return dict(out)


def build_account_book(
    records: Iterable[PositionRecord | tuple],
    *,
    engine: "PreparedEngine",  # noqa: F821 - forward reference, avoids importing numba here
    accounts: Sequence[str] | None = None,
) -> AccountBook:
    """Net and resolve position records onto the engine's universe.

    Parameters
    ----------
    records : iterable of PositionRecord or tuple
        ``(account, instrument, quantity[, unit])``; units as in a portfolio
        file (``"usd"`` only for coin-settled futures and perpetuals, where a
        unit is required).
    engine : PreparedEngine
    accounts : sequence of str, optional
        Every account to include, in this order (accounts without records
        margin to zero). Default: accounts in order of first appearance.

    Returns
    -------
    AccountBook

    Raises
    ------
    UnknownInstrumentError
        An instrument the engine was not prepared with.
    InvalidPositionError
        NaN/infinite quantity or a unit that does not fit, naming file and line.
    UnknownAccountError
        A record's account is not in ``accounts``.
    """
    order: dict[str, int] = {}
    if accounts is not None:
        for a in accounts:
            order.setdefault(str(a), len(order))
    # Stage 1, like Portfolio: net per (account, instrument, unit), in order of first appearance.
    legs: dict[tuple[str, str, str], list[float]] = {}
    where_of: dict[tuple[str, str, str], list[str]] = {}
    rows_of: dict[str, int] = {}
    for rec in records:
        if not isinstance(rec, PositionRecord):
            rec = PositionRecord(*rec)
        if rec.account not in order:
            if accounts is not None:
                raise UnknownAccountError(
                    f"{rec.where}: account {rec.account!r} is not among the {len(order)} accounts given. "
                    "Add it to the account list or fix the id."
                )
            order[rec.account] = len(order)
        row = rows_of.get(rec.instrument)
        if row is None:
            try:
                row = engine.row_of(rec.instrument)
            except UnknownInstrumentError as err:
                raise UnknownInstrumentError(f"{rec.where}: {err}") from None
            rows_of[rec.instrument] = row
        if not math.isfinite(rec.quantity):
            raise InvalidPositionError(
                f"{rec.where}: the quantity of {rec.instrument} in account {rec.account!r} must be a finite number "
                f"(positive long, negative short). Got {rec.quantity!r}."
            )
        unit = checked_unit(engine.universe.table.instruments[row], rec.unit, where=rec.where)
        key = (rec.account, rec.instrument, unit)
        legs.setdefault(key, []).append(rec.quantity)
        where_of.setdefault(key, []).append(rec.where)
    notes: dict[str, list[str]] = defaultdict(list)
    # Stage 2, like resolve_positions: convert to contracts, net per (account, row).
    per_row: dict[tuple[int, int], list[float]] = {}
    for (account, name, unit), qs in legs.items():
        net = math.fsum(qs)
        if abs(net) <= NET_ZERO_RELATIVE_TOLERANCE * max(abs(x) for x in qs):
            notes[account].append(f"{name} ({unit}) at {', '.join(where_of[(account, name, unit)])} nets to zero and was dropped.")
            continue
        row = rows_of[name]
        q = engine.contract_quantity(row, net, unit, where=where_of[(account, name, unit)][0])
        per_row.setdefault((order[account], row), []).append(q)
    accounts_list = list(order)
    counts = np.zeros(len(accounts_list), dtype=np.int64)
    entries: list[tuple[int, int, float]] = []
    for (a, row), qs in per_row.items():
        net = math.fsum(qs)
        if abs(net) <= NET_ZERO_RELATIVE_TOLERANCE * max(abs(x) for x in qs):
            notes[accounts_list[a]].append(
                f"{engine.instrument_names[row]}: the positions in USD and coin net to zero after conversion and were dropped."
            )
            continue
        entries.append((a, row, net))
        counts[a] += 1
    entries.sort(key=lambda e: (e[0], e[1]))
    offsets = np.zeros(len(accounts_list) + 1, dtype=np.int64)
    np.cumsum(counts, out=offsets[1:])
    rows = np.fromiter((e[1] for e in entries), dtype=np.int64, count=len(entries))
    qty = np.fromiter((e[2] for e in entries), dtype=np.float64, count=len(entries))
    return AccountBook(
        accounts=tuple(accounts_list), offsets=offsets, rows=rows, quantity=qty,
        notes={a: tuple(v) for a, v in notes.items()},
    )


def equity_usd(
    equity: Mapping[str, Mapping[str, float]],
    *,
    book: AccountBook,
    index_prices: Mapping[str, float],
    where: str = "equity",
) -> NDArray[np.float64]:
    """Equity per book account in USD: ``sum_currency amount x price`` (USD, USDC at 1).

    Parameters
    ----------
    equity : mapping
        ``account -> currency -> amount`` (e.g. from :func:`read_equity_csv`).
        Accounts of the book without an entry have equity 0.
    book : AccountBook
    index_prices : mapping of str to float
        USD per coin, e.g. ``MarketSnapshot.index_prices``.
    where : str
        Named in errors (e.g. the file).

    Returns
    -------
    ndarray of float64, shape (len(book),)

    Raises
    ------
    UnknownAccountError
        An equity account that holds no positions in the book.
    MissingMarketDataError
        A currency with no index price.
    """
    out = np.zeros(len(book))
    index = getattr(book, "_index")
    for account, amounts in equity.items():
        a = index.get(account)
        if a is None:
            raise UnknownAccountError(
                f"{where}: account {account!r} has equity but no row in the positions ({len(book)} accounts). "
                "Add its positions (a row with quantity 0 declares an empty account) or remove it from the equity."
            )
        total = 0.0
        for currency, amount in amounts.items():
            cur = currency.upper()
            if cur in STABLE_USD:
                price = 1.0
            elif cur in index_prices:
                price = float(index_prices[cur])
            else:
                raise MissingMarketDataError(
                    f"{where}: account {account!r} holds {currency} but the market has no index price for it "
                    f"(has: {', '.join(sorted(index_prices))}). Add '{cur}' to index_prices or convert the amount."
                )
            total += amount * price
        out[a] = total
    return out
