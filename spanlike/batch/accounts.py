"""Many accounts' positions as CSR arrays, and their equity; readers for the batch files (CSV or parquet).

Files are read as columns (:mod:`spanlike.batch.io`, pyarrow), names are
encoded once (one hash pass; instruments resolved per distinct name) and the
book is built with numpy (sort, unique, cumulative counts); only groups of
rows that net (a repeated instrument) and the error paths touch Python per
row.

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

import math
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Iterable, Mapping, Sequence

import numpy as np
from numpy.typing import NDArray

from spanlike.errors import (
    InputFileError,
    InvalidInputError,
    InvalidPositionError,
    MissingMarketDataError,
    UnknownAccountError,
    UnknownInstrumentError,
)
from spanlike.instruments import Instrument
from spanlike.portfolio import NET_ZERO_RELATIVE_TOLERANCE, Position

if TYPE_CHECKING:
    from spanlike.batch.io import StringTable

__all__ = [
    "PositionRecord",
    "PositionTable",
    "EquityTable",
    "AccountBook",
    "read_positions",
    "read_positions_csv",
    "read_equity",
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

    @property
    def _index(self) -> dict[str, int]:
        """Account -> position, built on first use (a million accounts take a third of a second)."""
        index = self.__dict__.get("_index_map")
        if index is None:
            index = dict(zip(self.accounts, range(len(self.accounts))))
            object.__setattr__(self, "_index_map", index)
        return index

    def __len__(self) -> int:
        return len(self.accounts)

    def index_of(self, account: str) -> int:
        """Position of ``account`` in :attr:`accounts`.

        Raises
        ------
        UnknownAccountError
        """
        try:
            return self._index[account]
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


# --- reading: columns, not rows ---------------------------------------------------------------------

@dataclass(frozen=True, eq=False)
class PositionTable:
    """Position rows as codes into small dictionaries (what the book builder needs).

    Attributes
    ----------
    account_names, instrument_names, unit_names : tuple of str
        Distinct values in order of first appearance ("" for no unit).
    account, instrument, unit : ndarray of int64, shape (n,)
        Codes into those tuples, per row in file order.
    quantity : ndarray of float64, shape (n,)
        As written (NaN or infinity kept here; :func:`build_account_book`
        refuses them naming the line).
    where : callable
        ``where(i)`` names data row ``i`` ("<file> line <n>").
    """

    account_names: tuple[str, ...]
    instrument_names: tuple[str, ...]
    unit_names: tuple[str, ...]
    account: NDArray[np.int64]
    instrument: NDArray[np.int64]
    unit: NDArray[np.int64]
    quantity: NDArray[np.float64]
    where: Callable[[int], str]

    def __len__(self) -> int:
        return int(self.quantity.shape[0])

    def records(self) -> list[PositionRecord]:
        """The rows as :class:`PositionRecord` (for code written against the row API)."""
        acc, ins, uni = self.account_names, self.instrument_names, self.unit_names
        return [
            PositionRecord(acc[a], ins[k], float(q), uni[u] or None, self.where(i))
            for i, (a, k, u, q) in enumerate(zip(self.account.tolist(), self.instrument.tolist(),
                                                 self.unit.tolist(), self.quantity.tolist()))
        ]

    @classmethod
    def from_records(cls, records: Iterable[PositionRecord | tuple]) -> "PositionTable":
        """A table of in-memory records (``(account, instrument, quantity[, unit[, where]])``)."""
        recs = [r if isinstance(r, PositionRecord) else PositionRecord(*r) for r in records]
        codes: list[dict[str, int]] = [{}, {}, {}]

        def encode(k: int, values: Iterable[str]) -> NDArray[np.int64]:
            d = codes[k]
            return np.fromiter((d.setdefault(v, len(d)) for v in values), dtype=np.int64, count=len(recs))

        account = encode(0, (r.account for r in recs))
        instrument = encode(1, (r.instrument for r in recs))
        unit = encode(2, ((r.unit or "") for r in recs))
        quantity = np.fromiter((r.quantity for r in recs), dtype=np.float64, count=len(recs))
        wheres = [r.where for r in recs]
        return cls(tuple(codes[0]), tuple(codes[1]), tuple(codes[2]), account, instrument, unit, quantity,
                   wheres.__getitem__)


def _encode(arr: Any) -> tuple[tuple[str, ...], NDArray[np.int64]]:
    """Distinct strings in order of first appearance and each row's code (one pyarrow hash pass)."""
    enc = arr.dictionary_encode()
    return tuple(enc.dictionary.to_pylist()), enc.indices.to_numpy(zero_copy_only=False).astype(np.int64)


def _as_strings(table: "StringTable", name: str, what: str) -> Any:
    """Column ``name`` as a pyarrow string array; a parquet null or a non-text column is refused."""
    import pyarrow as pa
    import pyarrow.compute as pc

    col = table.columns[name]
    if pa.types.is_dictionary(col.type):
        col = col.cast(col.type.value_type)
    if not (pa.types.is_string(col.type) or pa.types.is_large_string(col.type)):
        if pa.types.is_integer(col.type):
            col = pc.cast(col, pa.string())
        else:
            raise InputFileError(
                f"{what} file {table.places.path}: column '{name}' must hold text. Got type {col.type}."
            )
    if col.null_count:
        i = int(np.flatnonzero(col.is_null().to_numpy(zero_copy_only=False))[0])
        raise InputFileError(f"{table.places.where(i)}: the '{name}' cell is empty. Give every row an {name}.")
    return col  # CSV cells are stripped by the reader; parquet values are taken as stored


def _numbers(table: "StringTable", name: str, *, what_of: Callable[[int], str]) -> NDArray[np.float64]:
    """Column ``name`` as float64; the first cell that is not a number is named with its line."""
    import pyarrow as pa
    import pyarrow.compute as pc

    col = table.columns[name]
    if pa.types.is_integer(col.type) or pa.types.is_floating(col.type) or pa.types.is_decimal(col.type):
        if col.null_count:
            i = int(np.flatnonzero(col.is_null().to_numpy(zero_copy_only=False))[0])
            raise InputFileError(f"{table.places.where(i)}: the {name} of {what_of(i)} is empty. Give a number.")
        return pc.cast(col, pa.float64()).to_numpy(zero_copy_only=False).astype(np.float64, copy=False)
    col = _as_strings(table, name, "Input") if not pa.types.is_string(col.type) else col
    try:
        return pc.cast(col, pa.float64()).to_numpy(zero_copy_only=False)
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        pass
    # Rare: pyarrow refused a cell; Python's float() decides, as the row reader always did.
    out = np.empty(len(col))
    for i, text in enumerate(col.to_pylist()):
        try:
            out[i] = float(text)
        except ValueError:
            raise InputFileError(
                f"{table.places.where(i)}: the {name} of {what_of(i)} must be a number like -2.5. Got {text!r}."
            ) from None
    return out


def _first_empty(col: Any) -> int:
    import pyarrow.compute as pc

    empty = pc.equal(pc.utf8_length(col), 0)
    if not pc.any(empty).as_py():
        return -1
    return int(np.flatnonzero(empty.to_numpy(zero_copy_only=False))[0])


def read_positions(path: str | Path, *, row_group: int | None = None) -> PositionTable:
    """Read ``account,instrument,quantity[,unit]`` rows from CSV or parquet, as columns.

    Parameters
    ----------
    path : str or Path
        CSV, or parquet (a file, or a folder of files) by the suffix.
    row_group : int, optional
        Parquet file only: just this row group (one partition of the Dask
        path); rows are named by their place in the whole file.

    Returns
    -------
    PositionTable
        Quantities as written (NaN is kept and rejected by
        :func:`build_account_book` with the line named).

    Raises
    ------
    InputFileError
        Missing file, bad header, wrong cell count, empty account or
        instrument, a quantity that is not a number; naming file and line
        (parquet: row).
    """
    from spanlike.batch.io import read_table

    table = read_table(path, what="Positions", columns=("account", "instrument", "quantity"), optional=("unit",),
                       row_group=row_group)
    account = _as_strings(table, "account", "Positions")
    instrument = _as_strings(table, "instrument", "Positions")
    empties = [(i, f) for f, col in (("account", account), ("instrument", instrument))
               if (i := _first_empty(col)) >= 0]
    if empties:
        i, f = min(empties)
        raise InputFileError(f"{table.places.where(i)}: the '{f}' cell is empty. Give every row an {f}.")
    names_ins, ins = _encode(instrument)
    quantity = _numbers(table, "quantity", what_of=lambda i: names_ins[ins[i]])
    names_acc, acc = _encode(account)
    if "unit" in table.columns:
        import pyarrow.compute as pc

        unit_col = table.columns["unit"]
        if unit_col.null_count:
            unit_col = pc.fill_null(unit_col, "")
        names_unit, unit = _encode(_as_strings(type(table)({"unit": unit_col}, table.places, table.n_rows),
                                               "unit", "Positions"))
    else:
        names_unit, unit = ("",), np.zeros(len(quantity), dtype=np.int64)
    return PositionTable(names_acc, names_ins, names_unit, acc, ins, unit, quantity, table.places.where)


def read_positions_csv(path: str | Path) -> list[PositionRecord]:
    """Read ``account,instrument,quantity[,unit]`` rows as records (see :func:`read_positions`).

    Returns
    -------
    list of PositionRecord
        In file order. :func:`read_positions` gives the same rows as columns,
        which :func:`build_account_book` takes without a Python object per row.

    Raises
    ------
    InputFileError
        As :func:`read_positions`.
    """
    return read_positions(path).records()


@dataclass(frozen=True, eq=False)
class EquityTable:
    """Equity rows as codes: account and currency (upper case) in order of first appearance, amounts."""

    account_names: tuple[str, ...]
    currency_names: tuple[str, ...]
    account: NDArray[np.int64]
    currency: NDArray[np.int64]
    amount: NDArray[np.float64]

    def as_mapping(self) -> dict[str, dict[str, float]]:
        """``account -> currency -> amount`` (rows of one account and currency added in file order)."""
        out: dict[str, dict[str, float]] = {}
        acc, cur = self.account_names, self.currency_names
        for a, c, x in zip(self.account.tolist(), self.currency.tolist(), self.amount.tolist()):
            d = out.setdefault(acc[a], {})
            d[cur[c]] = d.get(cur[c], 0.0) + x
        return out


def read_equity(path: str | Path) -> EquityTable:
    """Read ``account,currency,amount`` rows from CSV or parquet, as columns.

    Raises
    ------
    InputFileError
        As :func:`read_positions`; also an empty account or currency and a
        non-finite amount.
    """
    import pyarrow.compute as pc

    from spanlike.batch.io import read_table

    table = read_table(path, what="Equity", columns=("account", "currency", "amount"))
    account = _as_strings(table, "account", "Equity")
    currency = _as_strings(table, "currency", "Equity")
    bad = [i for i in (_first_empty(account), _first_empty(currency)) if i >= 0]
    if bad:
        raise InputFileError(f"{table.places.where(min(bad))}: 'account' and 'currency' must not be empty.")
    names_acc, acc = _encode(account)
    amount = _numbers(table, "amount", what_of=lambda i: f"account {names_acc[acc[i]]!r}")
    finite = np.isfinite(amount)
    if not finite.all():
        i = int(np.flatnonzero(~finite)[0])
        raise InputFileError(
            f"{table.places.where(i)}: the amount of account {names_acc[acc[i]]!r} must be finite. Got {amount[i]!r}."
        )
    names_cur, cur = _encode(pc.utf8_upper(currency))
    return EquityTable(names_acc, names_cur, acc, cur, amount)


def read_equity_csv(path: str | Path) -> dict[str, dict[str, float]]:
    """Read ``account,currency,amount`` rows.

    Returns
    -------
    dict
        ``account -> currency -> amount`` (rows of one account and currency add up).

    Raises
    ------
    InputFileError
        As :func:`read_positions`; also a non-finite amount.
    """
    return read_equity(path).as_mapping()


# --- the book: numpy sort, unique, cumulative counts --------------------------------------------------

class _Grouping:
    """Rows grouped by an integer key: distinct keys ascending, each group's first row and size.

    One stable argsort (``np.unique`` with every return sorts twice, and
    finding the rows of a group sorted a third time); a key already in
    ascending order (``presorted``) needs no sort at all. Groups are runs of
    the sorted order, so a group's rows are a slice of it, in row order.
    """

    def __init__(self, key: NDArray[np.int64], *, presorted: bool = False) -> None:
        n = key.shape[0]
        if presorted and n > 1 and bool((key[1:] < key[:-1]).any()):
            presorted = False  # defensive: the caller's order did not hold
        order = np.arange(n, dtype=np.int64) if presorted else np.argsort(key, kind="stable").astype(np.int64, copy=False)
        ordered = key[order]
        change = np.empty(n, dtype=bool)
        change[:1] = True
        np.not_equal(ordered[1:], ordered[:-1], out=change[1:])
        starts = np.flatnonzero(change).astype(np.int64, copy=False)
        self.keys = ordered[starts]
        self.first = order[starts]  # stable: the first row of each group in row order
        self.counts = np.diff(starts, append=n).astype(np.int64, copy=False)
        self._order = order
        self._starts = starts

    def members(self, group: int) -> NDArray[np.int64]:
        """Rows of ``group`` in row order."""
        lo = int(self._starts[group])
        return self._order[lo:lo + int(self.counts[group])]

    def net(self, q: NDArray[np.float64]) -> tuple[NDArray[np.float64], NDArray[np.bool_]]:
        """Net of each group (``math.fsum``: correctly rounded, so order-free) and whether it nets to zero.

        A group of one row is its quantity and a group of two is ``a + b``
        (one IEEE addition is correctly rounded, so it equals ``math.fsum``)
        without Python per row; only groups of three or more rows (and a pair
        whose sum overflows, where ``math.fsum`` raises as before) go through
        ``math.fsum``. The zero test is the relative one of
        :data:`spanlike.portfolio.NET_ZERO_RELATIVE_TOLERANCE` (for one row it
        reduces to ``q == 0``).
        """
        net = np.zeros(self.counts.shape[0])
        single = self.counts == 1
        net[single] = q[self.first[single]]
        zero = net == 0.0
        pair = np.flatnonzero(self.counts == 2)
        if pair.size:
            a = q[self._order[self._starts[pair]]]
            b = q[self._order[self._starts[pair] + 1]]
            with np.errstate(over="ignore"):
                total = a + b
            ok = np.isfinite(total)
            net[pair[ok]] = total[ok]
            zero[pair[ok]] = np.abs(total[ok]) <= NET_ZERO_RELATIVE_TOLERANCE * np.maximum(np.abs(a[ok]), np.abs(b[ok]))
            slow = np.concatenate([np.flatnonzero(self.counts > 2), pair[~ok]])
        else:
            slow = np.flatnonzero(self.counts > 2)
        for g in slow.tolist():
            qs = q[self.members(g)].tolist()
            total = math.fsum(qs)
            net[g] = total
            zero[g] = abs(total) <= NET_ZERO_RELATIVE_TOLERANCE * max(abs(x) for x in qs)
        return net, zero


def build_account_book(
    records: "PositionTable | Iterable[PositionRecord | tuple]",
    *,
    engine: "PreparedEngine",  # noqa: F821 - forward reference, avoids importing numba here
    accounts: Sequence[str] | None = None,
) -> AccountBook:
    """Net and resolve positions onto the engine's universe (numpy: sort, unique, cumulative counts).

    Parameters
    ----------
    records : PositionTable, or iterable of PositionRecord or tuple
        From :func:`read_positions`, or rows ``(account, instrument,
        quantity[, unit])``; units as in a portfolio file (``"usd"`` only for
        coin-settled futures and perpetuals, where a unit is required).
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

    Notes
    -----
    Same rules as :class:`spanlike.portfolio.Portfolio` then
    :func:`spanlike.universe.resolve_positions`: rows of one (account,
    instrument, unit) net with ``math.fsum``; a net zero is dropped with a
    note naming its lines; USD converts to contracts at ``F x multiplier``;
    the legs of one instrument net again. Checks report the first bad row in
    file order (account, then instrument, quantity, unit).
    """
    table = records if isinstance(records, PositionTable) else PositionTable.from_records(records)
    n = len(table)
    universe = engine.universe.table
    # Accounts: codes in the book's order.
    if accounts is not None:
        order: dict[str, int] = {}
        for a in accounts:
            order.setdefault(str(a), len(order))
        acc_map = np.array([order.get(a, -1) for a in table.account_names], dtype=np.int64)
        account_names = tuple(order)
    else:
        acc_map = np.arange(len(table.account_names), dtype=np.int64)
        account_names = table.account_names
    acc = acc_map[table.account] if n else np.zeros(0, dtype=np.int64)
    # Instruments: one dictionary pass over the distinct names.
    row_of = universe._row_of
    ins_rows = np.array([row_of.get(name, -1) for name in table.instrument_names], dtype=np.int64)
    rows = ins_rows[table.instrument] if n else np.zeros(0, dtype=np.int64)
    # Units: checked once per distinct (instrument, unit) pair.
    n_units = max(1, len(table.unit_names))
    pair_inv = table.instrument * n_units + table.unit
    pairs = np.flatnonzero(np.bincount(pair_inv, minlength=len(table.instrument_names) * n_units))
    pair_usd = np.zeros(len(table.instrument_names) * n_units, dtype=bool)
    pair_err: dict[int, str] = {}
    for code in pairs.tolist():
        p = code
        k, u = divmod(code, n_units)
        r = int(ins_rows[k])
        if r < 0:
            continue
        raw = table.unit_names[u] if table.unit_names else ""
        try:
            pair_usd[p] = checked_unit(universe.instruments[r], raw or None, where="\0") == "usd"
        except InvalidPositionError as err:
            pair_err[p] = str(err)
    q = table.quantity
    # The first bad row in file order, and its first problem (the order the row reader checked in).
    bad_acc = acc < 0
    bad_ins = rows < 0
    bad_q = ~np.isfinite(q)
    bad_unit = np.zeros(n, dtype=bool)
    if pair_err:
        bad_unit = np.isin(pair_inv, np.fromiter(pair_err, dtype=np.int64)) & ~bad_ins
    bad = bad_acc | bad_ins | bad_q | bad_unit
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        where = table.where(i)
        account = table.account_names[table.account[i]]
        name = table.instrument_names[table.instrument[i]]
        if bad_acc[i]:
            raise UnknownAccountError(
                f"{where}: account {account!r} is not among the {len(account_names)} accounts given. "
                "Add it to the account list or fix the id."
            )
        if bad_ins[i]:
            try:
                engine.row_of(name)
            except UnknownInstrumentError as err:
                raise UnknownInstrumentError(f"{where}: {err}") from None
        if bad_q[i]:
            raise InvalidPositionError(
                f"{where}: the quantity of {name} in account {account!r} must be a finite number "
                f"(positive long, negative short). Got {float(q[i])!r}."
            )
        raise InvalidPositionError(pair_err[int(pair_inv[i])].replace("\0", where, 1))
    usd = pair_usd[pair_inv] if n else np.zeros(0, dtype=bool)
    n_acc = len(account_names)
    notes: dict[str, list[tuple[int, str]]] = defaultdict(list)
    # Stage 1, like Portfolio: net per (account, instrument, unit).
    n_ins = max(1, len(table.instrument_names))
    # Instrument codes ranked by (universe row, code): sorting by (account, rank, unit) groups exactly as
    # (account, instrument, unit) does, and leaves stage 1's groups in (account, row) order, so stage 2
    # finds its groups as runs without sorting again.
    rank = np.empty(len(ins_rows), dtype=np.int64)
    rank[np.lexsort((np.arange(len(ins_rows)), ins_rows))] = np.arange(len(ins_rows), dtype=np.int64)
    key1 = (acc * n_ins + rank[table.instrument]) * 2 + usd
    g1 = _Grouping(key1)
    first1 = g1.first
    net1, zero1 = g1.net(q)
    for g in np.flatnonzero(zero1).tolist():
        i0 = int(first1[g])
        members = g1.members(g).tolist()
        unit = "usd" if usd[i0] else "coin"
        places = ", ".join(table.where(i) for i in members)
        notes[account_names[acc[i0]]].append(
            (i0, f"{table.instrument_names[table.instrument[i0]]} ({unit}) at {places} nets to zero and was dropped.")
        )
    keep1 = ~zero1
    g_acc = acc[first1][keep1]
    g_row = rows[first1][keep1]
    g_first = first1[keep1]
    g_q = net1[keep1]
    g_usd = usd[first1][keep1]
    if g_usd.any():
        c = universe.contracts
        g_q = np.where(g_usd, g_q / (c.forward[g_row] * c.multiplier[g_row]), g_q)
    # Stage 2, like resolve_positions: net per (account, row); stage 1's groups come in (account, row) order.
    key2 = g_acc * max(1, len(universe)) + g_row
    g2 = _Grouping(key2, presorted=True)
    first2 = g2.first
    net2, zero2 = g2.net(g_q)
    for g in np.flatnonzero(zero2).tolist():
        members = g2.members(g)
        i0 = int(g_first[members].min())
        notes[account_names[g_acc[first2[g]]]].append((
            1 << 62 | i0,  # after every stage-1 note of the account, as the row reader wrote them
            f"{engine.instrument_names[g_row[first2[g]]]}: the positions in USD and coin net to zero after "
            "conversion and were dropped.",
        ))
    keep2 = ~zero2
    out_acc = g_acc[first2][keep2]
    counts = np.bincount(out_acc, minlength=n_acc).astype(np.int64)
    offsets = np.zeros(n_acc + 1, dtype=np.int64)
    np.cumsum(counts, out=offsets[1:])
    return AccountBook(
        accounts=tuple(account_names), offsets=offsets, rows=np.ascontiguousarray(g_row[first2][keep2]),
        quantity=np.ascontiguousarray(net2[keep2]),
        notes={a: tuple(text for _, text in sorted(v)) for a, v in notes.items()},
    )


def equity_usd(
    equity: "Mapping[str, Mapping[str, float]] | EquityTable",
    *,
    book: AccountBook,
    index_prices: Mapping[str, float],
    where: str = "equity",
) -> NDArray[np.float64]:
    """Equity per book account in USD: ``sum_currency amount x price`` (USD, USDC at 1).

    Parameters
    ----------
    equity : EquityTable or mapping
        From :func:`read_equity`, or ``account -> currency -> amount``.
        Accounts of the book without an entry have equity 0.
    book : AccountBook
    index_prices : mapping of str to float
        USD per coin, e.g. ``MarketSnapshot.index_prices``.
    where : str
        Named in errors (e.g. the file).

    Returns
    -------
    ndarray of float64, shape (len(book),)
        Per account, the amounts of one currency added in file order, then
        the currencies converted and added in order of first appearance.

    Raises
    ------
    UnknownAccountError
        An equity account that holds no positions in the book.
    MissingMarketDataError
        A currency with no index price.
    """
    if not isinstance(equity, EquityTable):
        return _equity_usd_mapping(equity, book=book, index_prices=index_prices, where=where)
    acc_map = _account_positions(equity.account_names, book)
    prices = np.empty(len(equity.currency_names))
    has_price = np.ones(len(equity.currency_names), dtype=bool)
    for c, cur in enumerate(equity.currency_names):
        if cur in STABLE_USD:
            prices[c] = 1.0
        elif cur in index_prices:
            prices[c] = float(index_prices[cur])
        else:
            has_price[c] = False
    unknown = acc_map < 0
    no_price_acc = np.zeros(len(equity.account_names), dtype=bool)
    no_price_acc[equity.account[~has_price[equity.currency]]] = True
    problem = unknown | no_price_acc
    if problem.any():
        a = int(np.flatnonzero(problem)[0])  # accounts are coded in order of first appearance
        account = equity.account_names[a]
        if unknown[a]:
            raise UnknownAccountError(
                f"{where}: account {account!r} has equity but no row in the positions ({len(book)} accounts). "
                "Add its positions (a row with quantity 0 declares an empty account) or remove it from the equity."
            )
        cur = next(equity.currency_names[c] for c in equity.currency[equity.account == a].tolist() if not has_price[c])
        raise MissingMarketDataError(
            f"{where}: account {account!r} holds {cur} but the market has no index price for it "
            f"(has: {', '.join(sorted(index_prices))}). Add '{cur}' to index_prices or convert the amount."
        )
    # Amounts of one (account, currency) add in file order (np.add.at is sequential and unbuffered),
    # then the currencies of an account add in order of first appearance: the row reader's float order.
    n_cur = max(1, len(equity.currency_names))
    key = equity.account * n_cur + equity.currency
    uniq, first, inv = np.unique(key, return_index=True, return_inverse=True)
    sums = np.zeros(uniq.shape[0])
    with np.errstate(over="ignore", invalid="ignore"):  # an overflow is reported below, by account
        np.add.at(sums, inv.reshape(-1), equity.amount)
    by_first = np.argsort(first, kind="stable")
    g_acc, g_cur = np.divmod(uniq[by_first], n_cur)
    out = np.zeros(len(book))
    with np.errstate(over="ignore", invalid="ignore"):  # an overflow is reported below, by account
        usd = sums[by_first] * prices[g_cur]
        np.add.at(out, acc_map[g_acc], usd)
    bad = np.flatnonzero(~np.isfinite(usd))
    if bad.size:
        g = int(bad[0])
        raise InvalidInputError(
            f"{where}: account {equity.account_names[int(g_acc[g])]!r} holds {float(sums[by_first][g])!r} "
            f"{equity.currency_names[int(g_cur[g])]}, which is not a finite amount in USD. Check the amount and "
            "its currency."
        )
    bad = np.flatnonzero(~np.isfinite(out))
    if bad.size:
        raise InvalidInputError(
            f"{where}: the equity of account {book.accounts[int(bad[0])]!r} adds up past any finite USD amount. "
            "Check its amounts and currencies."
        )
    return out


def _account_positions(names: tuple[str, ...], book: AccountBook) -> NDArray[np.int64]:
    """Position of each name in ``book.accounts`` (-1 if absent), without a Python lookup per name.

    Equity files usually list the accounts of the positions file in its
    order, which one tuple comparison finds; otherwise pyarrow's hash lookup.
    """
    if names == book.accounts:
        return np.arange(len(names), dtype=np.int64)
    if len(names) < 1000:
        index = book._index
        return np.array([index.get(a, -1) for a in names], dtype=np.int64)
    import pyarrow as pa
    import pyarrow.compute as pc

    found = pc.index_in(pa.array(names, type=pa.string()), value_set=pa.array(book.accounts, type=pa.string()))
    return pc.fill_null(found, -1).to_numpy(zero_copy_only=False).astype(np.int64)


def _equity_usd_mapping(
    equity: Mapping[str, Mapping[str, float]], *, book: AccountBook, index_prices: Mapping[str, float], where: str
) -> NDArray[np.float64]:
    out = np.zeros(len(book))
    index = book._index
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
