"""Portfolios as the user wrote them: positions in instruments, with their units.

Quantity units and signs
------------------------
A quantity is signed: positive = long (bought), negative = short (sold).

* Options: coins of underlying (``unit="coin"``; e.g. Deribit's option ``size``).
* Linear (USDC-settled) futures and perpetuals: coins of underlying (``"coin"``).
* Coin-settled (inverse) futures and perpetuals: either USD notional
  (``"usd"``, Deribit's ``size``) or coins (``"coin"``, Deribit's
  ``size_currency``). The unit must be stated for them: the two differ by a
  factor of the futures price, so a default would be a silent error.

For instruments with ``multiplier != 1`` a ``"coin"`` quantity counts units of
the contract, each ``multiplier`` coins.

Positions in the same instrument and unit net; a position that nets to zero is
dropped and the drop is recorded in :attr:`Portfolio.notes`. Conversion of USD
quantities to coin needs a futures price and happens later, in
:func:`spanlike.universe.resolve_positions`.

File formats
------------
CSV (``instrument,quantity[,unit]``, one account per file)::

    instrument,quantity,unit
    BTC-25DEC26-110000-C,-5,coin
    BTC-PERPETUAL,-150000,usd

JSON (ours; a bare list of positions is also accepted)::

    {"account": "desk-1",
     "positions": [{"instrument": "BTC-25DEC26-110000-C", "quantity": -5},
                   {"instrument": "BTC-PERPETUAL", "quantity": -150000, "unit": "usd"},
                   {"instrument": {"underlying": "BTC", "kind": "future",
                                   "expiry": "2027-03-26T08:00:00Z",
                                   "settlement_currency": "USDC"},
                    "quantity": 2}]}

A venue's positions payload (e.g. a Deribit ``private/get_positions``
response) is read by that venue's reader (:mod:`spanlike.venues`);
:func:`spanlike.loaders.load_portfolio` recognises which format a file is.
"""

from __future__ import annotations

import csv
import math
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterable, Literal, Sequence

from spanlike.params.errors import InputFileError, InvalidInstrumentError, InvalidPositionError
from spanlike.instruments import Instrument, instrument_from_mapping, parse_instrument
from spanlike.loaders import csv_lines, load_json, parse_decimal, read_text, show_value

__all__ = ["Position", "PositionEntry", "Portfolio", "Unit", "NET_ZERO_RELATIVE_TOLERANCE", "MAX_ABS_QUANTITY"]

Unit = Literal["coin", "usd"]
_UNITS = ("coin", "usd")

#: A net quantity counts as zero when ``|net| <= tol * max |leg|`` (float sums
#: such as 0.1 + 0.2 - 0.3 are not exactly zero).
NET_ZERO_RELATIVE_TOLERANCE: float = 1e-12

#: Largest |quantity| read, in the position's unit (coins, contract units or
#: USD). 1e12 is past any real position in any unit (a trillion USD, a
#: trillion coins); beyond it scenario losses overflow to inf/NaN, so a larger
#: number is refused where it is read, not margined. Notional bounds that
#: need a price are checked when positions meet the market
#: (:func:`spanlike.universe.resolve_positions`).
MAX_ABS_QUANTITY: float = 1e12

PathLike = str | os.PathLike[str]


def _default_unit(instrument: Instrument, unit: object, where: str) -> Unit:
    """The unit of a position, checked against its instrument."""
    if unit is not None and not isinstance(unit, str):
        raise InvalidPositionError(f"{where}: the unit of {instrument.name} must be 'coin' or 'usd'. Got {show_value(unit)}.")
    if isinstance(unit, str):
        unit = unit.strip().lower() or None
    if unit is not None and unit not in _UNITS:
        raise InvalidPositionError(f"{where}: the unit of {instrument.name} must be 'coin' or 'usd'. Got {show_value(unit)}.")
    needs_choice = instrument.is_inverse and not instrument.is_option
    if unit is None:
        if needs_choice:
            raise InvalidPositionError(
                f"{where}: {instrument.name} is a coin-settled {instrument.kind}, so its quantity needs a unit: "
                f"'usd' (USD notional, as inverse contracts are usually sized) or 'coin' (coins of {instrument.underlying})."
            )
        return "coin"
    if unit == "usd" and not needs_choice:
        what = "an option" if instrument.is_option else f"a linear ({instrument.settlement_currency}-settled) {instrument.kind}"
        raise InvalidPositionError(
            f"{where}: {instrument.name} is {what}, whose quantity is in coins of {instrument.underlying}; "
            f"unit 'usd' applies only to coin-settled futures and perpetuals. Use unit 'coin'."
        )
    return unit  # type: ignore[return-value]


def _check_quantity(instrument: Instrument, quantity: object, where: str) -> float:
    if isinstance(quantity, bool) or not isinstance(quantity, (int, float)):
        raise InvalidPositionError(
            f"{where}: the quantity of {instrument.name} must be a number. Got {show_value(quantity)}."
        )
    try:
        q = float(quantity)
    except OverflowError:  # an int past float range
        q = math.inf
    if not math.isfinite(q):
        raise InvalidPositionError(
            f"{where}: the quantity of {instrument.name} must be a finite number (positive long, negative short). "
            f"Got {show_value(quantity)}."
        )
    if abs(q) > MAX_ABS_QUANTITY:
        raise InvalidPositionError(
            f"{where}: the quantity of {instrument.name} is {show_value(quantity)}, beyond the plausible range "
            f"|quantity| <= {MAX_ABS_QUANTITY:g} (coins, contract units or USD). Check the number and its unit."
        )
    return q


@dataclass(frozen=True)
class Position:
    """A signed quantity of one instrument.

    Attributes
    ----------
    instrument : Instrument
    quantity : float
        Signed (positive long, negative short), finite; in ``unit``.
    unit : {"coin", "usd"}
        ``"usd"`` only for coin-settled futures and perpetuals, for which a unit
        is required; ``None`` becomes ``"coin"`` for the other instruments
        (see module docstring).
    """

    instrument: Instrument
    quantity: float
    unit: Unit

    def __post_init__(self) -> None:
        if not isinstance(self.instrument, Instrument):
            raise InvalidPositionError(f"A position's instrument must be an Instrument. Got {show_value(self.instrument)}.")
        object.__setattr__(self, "quantity", _check_quantity(self.instrument, self.quantity, "position"))
        object.__setattr__(self, "unit", _default_unit(self.instrument, self.unit, "position"))


@dataclass(frozen=True)
class PositionEntry:
    """One position as read from an input, before netting (see :meth:`Portfolio.from_entries`).

    Attributes
    ----------
    instrument : Instrument
    quantity : float
        Signed (positive long, negative short), finite; in ``unit``.
    unit : {"coin", "usd"}
    where : str
        Where the entry was read, for messages and netting notes
        (``"book.json result[3]"``).

    Build with :meth:`make`, which checks the quantity and the unit against
    the instrument and prefixes errors with ``where``.
    """

    instrument: Instrument
    quantity: float
    unit: Unit
    where: str

    @classmethod
    def make(cls, *, instrument: Instrument, quantity: object, unit: object, where: str) -> "PositionEntry":
        """A checked entry; ``unit`` None takes the instrument's default (module docstring).

        Raises
        ------
        InvalidPositionError
            A non-finite or non-numeric quantity, or a unit the instrument
            does not allow; the message starts with ``where``.
        """
        q = _check_quantity(instrument, quantity, where)
        return cls(instrument, q, _default_unit(instrument, unit, where), where)


def _make_row(instrument: Instrument, quantity: object, unit: object, where: str) -> PositionEntry:
    return PositionEntry.make(instrument=instrument, quantity=quantity, unit=unit, where=where)


def _net(rows: Sequence[PositionEntry]) -> tuple[tuple[Position, ...], tuple[str, ...]]:
    """Net rows of the same (instrument, unit), in order of first appearance."""
    by_name: dict[str, PositionEntry] = {}
    groups: dict[tuple[str, str], list[PositionEntry]] = {}
    for row in rows:
        first = by_name.setdefault(row.instrument.name, row)
        if first.instrument != row.instrument:
            raise InvalidPositionError(
                f"{row.where}: instrument {row.instrument.name!r} is defined differently from {first.where} "
                f"({row.instrument} vs {first.instrument}); one name must mean one contract."
            )
        groups.setdefault((row.instrument.name, row.unit), []).append(row)
    positions: list[Position] = []
    notes: list[str] = []
    for (name, unit), legs in groups.items():
        net = math.fsum(r.quantity for r in legs)
        scale = max(abs(r.quantity) for r in legs)
        if abs(net) <= NET_ZERO_RELATIVE_TOLERANCE * scale:
            places = ", ".join(r.where for r in legs)
            if len(legs) == 1:
                notes.append(f"{name} ({unit}) at {places} has quantity 0 and was dropped.")
            else:
                notes.append(f"{name} ({unit}): {len(legs)} positions at {places} net to zero and were dropped.")
            continue
        positions.append(Position(legs[0].instrument, net, unit))  # type: ignore[arg-type]
    return tuple(positions), tuple(notes)


@dataclass(frozen=True)
class Portfolio:
    """The positions of one account, netted per (instrument, unit).

    Build with :meth:`from_positions` or one of the file readers; the
    constructor only checks that ``positions`` holds distinct
    (instrument, unit) pairs of :class:`Position`.

    Attributes
    ----------
    account : str
        Account identifier.
    positions : tuple of Position
        Non-zero net positions, in order of first appearance.
    notes : tuple of str
        What was done to the input that a reader should know (dropped
        net-zero positions), in plain words.
    """

    account: str
    positions: tuple[Position, ...]
    notes: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if not isinstance(self.account, str) or not self.account.strip():
            raise InvalidPositionError(f"The account must be a non-empty string. Got {show_value(self.account)}.")
        object.__setattr__(self, "positions", tuple(self.positions))
        object.__setattr__(self, "notes", tuple(self.notes))
        seen: set[tuple[str, str]] = set()
        for p in self.positions:
            if not isinstance(p, Position):
                raise InvalidPositionError(f"Portfolio positions must be Position objects. Got {show_value(p)}.")
            key = (p.instrument.name, p.unit)
            if key in seen:
                raise InvalidPositionError(
                    f"Account {self.account}: {p.instrument.name} ({p.unit}) appears twice; "
                    "build with Portfolio.from_positions, which nets duplicates."
                )
            seen.add(key)

    def __len__(self) -> int:
        return len(self.positions)

    @property
    def instruments(self) -> tuple[Instrument, ...]:
        """Distinct instruments held, in order of first appearance."""
        out: dict[str, Instrument] = {}
        for p in self.positions:
            out.setdefault(p.instrument.name, p.instrument)
        return tuple(out.values())

    # ----------------------------------------------------------------- constructors

    @classmethod
    def from_positions(
        cls,
        positions: Iterable[Position | tuple[Any, ...]],
        *,
        account: str = "default",
    ) -> "Portfolio":
        """Net a list of positions into a portfolio.

        Parameters
        ----------
        positions : iterable
            :class:`Position` objects or tuples ``(instrument, quantity)`` /
            ``(instrument, quantity, unit)`` where ``instrument`` is an
            :class:`Instrument` or a name (:func:`~spanlike.instruments.parse_instrument`).
            Quantities signed, in
            ``unit`` (see module docstring).
        account : str, default "default"

        Returns
        -------
        Portfolio

        Raises
        ------
        InvalidPositionError
            Non-finite quantity, a missing unit for a coin-settled future or
            perpetual, ``"usd"`` for an option or a linear contract, or a
            malformed entry; naming ``position #i``.
        InvalidInstrumentError
            An unparseable instrument name.
        """
        rows: list[PositionEntry] = []
        for i, item in enumerate(positions):
            where = f"position #{i}"
            if isinstance(item, Position):
                rows.append(PositionEntry(item.instrument, item.quantity, item.unit, where))
                continue
            if not isinstance(item, (tuple, list)) or len(item) not in (2, 3):
                raise InvalidPositionError(
                    f"{where}: expected a Position or a tuple (instrument, quantity[, unit]). Got {show_value(item)}."
                )
            ins = item[0]
            if isinstance(ins, str):
                try:
                    ins = parse_instrument(ins)
                except InvalidInstrumentError as err:
                    raise InvalidInstrumentError(f"{where}: {err}") from None
            elif not isinstance(ins, Instrument):
                raise InvalidPositionError(f"{where}: the instrument must be a name or an Instrument. Got {show_value(ins)}.")
            rows.append(_make_row(ins, item[1], item[2] if len(item) == 3 else None, where))
        found, notes = _net(rows)
        return cls(account=account, positions=found, notes=notes)

    @classmethod
    def from_csv(cls, path: PathLike, *, account: str = "default") -> "Portfolio":
        """Read a CSV file with header ``instrument,quantity[,unit]``.

        One file is one account. Blank lines and lines starting with ``#`` are
        skipped; an empty ``unit`` cell means no unit (allowed except for
        coin-settled futures and perpetuals).

        Raises
        ------
        InputFileError
            Missing file, bad header, wrong number of cells, non-numeric
            quantity; naming the file and line.
        InvalidPositionError, InvalidInstrumentError
            Naming the file, line and instrument.
        """
        p = Path(path)
        text = read_text(p, what="Portfolio")
        lines = list(csv_lines(text, where=f"Portfolio file {p}"))
        if not lines:
            raise InputFileError(f"Portfolio file {p} is empty. Give a header line 'instrument,quantity,unit' and one row per position.")
        header_line, header_cells = lines[0]
        header_text = ",".join(header_cells)
        header = [h.strip().lower() for h in header_cells]
        unknown = [h for h in header if h not in ("instrument", "quantity", "unit")]
        if unknown:
            extra = (" A portfolio file holds one account; margin several accounts with the batch input."
                     if "account" in unknown else "")
            raise InputFileError(
                f"Portfolio file {p} line {header_line}: unknown column(s) {show_value(unknown)}. "
                f"The header must be 'instrument,quantity' or 'instrument,quantity,unit'.{extra}"
            )
        if len(set(header)) != len(header) or "instrument" not in header or "quantity" not in header:
            raise InputFileError(
                f"Portfolio file {p} line {header_line}: the header {show_value(header_text)} must name each of "
                "'instrument' and 'quantity' once (and optionally 'unit'), e.g. 'instrument,quantity,unit'."
            )
        col = {h: i for i, h in enumerate(header)}
        rows: list[PositionEntry] = []
        for line_no, raw in lines[1:]:
            cells = [c.strip() for c in raw]
            where = f"{p} line {line_no}"
            if len(cells) != len(header):
                raise InputFileError(
                    f"Portfolio file {where}: expected {len(header)} cells ({','.join(header)}), got {len(cells)}: "
                    f"{show_value(','.join(raw))}."
                )
            try:
                ins = parse_instrument(cells[col["instrument"]])
            except InvalidInstrumentError as err:
                raise InvalidInstrumentError(f"Portfolio file {where}: {err}") from None
            q_text = cells[col["quantity"]]
            quantity = parse_decimal(q_text)
            if quantity is None:
                raise InputFileError(
                    f"Portfolio file {where}: the quantity of {ins.name} must be a number like -2.5. Got {show_value(q_text)}."
                )
            unit = cells[col["unit"]] if "unit" in col else None
            rows.append(_make_row(ins, quantity, unit or None, f"{where}"))
        found, notes = _net(rows)
        if not rows:
            notes = notes + (
                f"Portfolio file {p} has a header but no positions: the account is empty and its margin is 0.",
            )
        return cls(account=account, positions=found, notes=notes)

    @classmethod
    def from_json(cls, path: PathLike) -> "Portfolio":
        """Read our JSON form (module docstring): an object with ``account``
        and ``positions``, or a bare list of positions.

        Each position is ``{"instrument": name-or-object, "quantity": number,
        "unit": "coin"|"usd"}`` (``unit`` optional where it has a default).
        A file with a registered venue's positions shape (e.g. a Deribit
        ``get_positions`` response) goes to that venue's reader; the
        detection is :func:`spanlike.loaders.portfolio_from_json_data`'s.

        Raises
        ------
        InputFileError
            Bad JSON or shape, naming the file and the element.
        InvalidPositionError, InvalidInstrumentError
            Naming the file, the element and the instrument.
        """
        p = Path(path)
        from spanlike.loaders import portfolio_from_json_data

        return portfolio_from_json_data(load_json(p, what="Portfolio"), source=str(p))

    @classmethod
    def from_mapping(cls, data: Any, *, source: str = "<mapping>") -> "Portfolio":
        """Build from decoded JSON in our form (module docstring).

        Parameters
        ----------
        data : dict or list
            ``{"account": ..., "positions": [...]}`` or a bare list of positions.
        source : str
            Name used in error messages.

        Raises
        ------
        InputFileError
            Wrong shape, naming the source and the element.
        InvalidPositionError, InvalidInstrumentError
            Naming the source, the element and the instrument.
        """
        account = "default"
        if isinstance(data, dict):
            unknown = sorted(set(data) - {"account", "positions"})
            if unknown or "positions" not in data:
                raise InputFileError(
                    f"Portfolio {source}: expected an object with keys 'account' (optional) and 'positions', "
                    f"or a list of positions. Unknown keys: {unknown}; 'positions' present: {'positions' in data}."
                )
            account = data.get("account", "default")
            if not isinstance(account, str) or not account.strip():
                raise InputFileError(f"Portfolio {source}: 'account' must be a non-empty string. Got {show_value(account)}.")
            items = data["positions"]
        else:
            items = data
        if not isinstance(items, list):
            raise InputFileError(f"Portfolio {source}: 'positions' must be a list of objects. Got {type(items).__name__}.")
        rows: list[PositionEntry] = []
        for i, item in enumerate(items):
            where = f"{source} positions[{i}]"
            if not isinstance(item, dict):
                raise InputFileError(
                    f"Portfolio {where}: each position must be an object "
                    f'{{"instrument": ..., "quantity": ..., "unit": ...}}. Got {show_value(item)}.'
                )
            unknown = sorted(set(item) - {"instrument", "quantity", "unit"})
            missing = [k for k in ("instrument", "quantity") if k not in item]
            if unknown or missing:
                raise InputFileError(
                    f"Portfolio {where}: keys must be 'instrument', 'quantity' and optionally 'unit'; "
                    f"unknown {unknown}, missing {missing}."
                )
            ins = instrument_from_mapping(item["instrument"], where=f"Portfolio {where}")
            rows.append(_make_row(ins, item["quantity"], item.get("unit"), where))
        found, notes = _net(rows)
        if not rows:
            notes = notes + (f"Portfolio {source} lists no positions: the account is empty and its margin is 0.",)
        return cls(account=account, positions=found, notes=notes)

    @classmethod
    def from_entries(cls, entries: Iterable[PositionEntry], *, account: str = "default") -> "Portfolio":
        """Net entries read from an input into a portfolio.

        For readers of input formats (a venue's positions payload, a file):
        unlike :meth:`from_positions`, each entry carries where it was read,
        which errors and netting notes quote.

        Parameters
        ----------
        entries : iterable of PositionEntry
            Built with :meth:`PositionEntry.make`.
        account : str, default "default"

        Returns
        -------
        Portfolio
            Netted per (instrument, unit); net-zero drops recorded in ``notes``.

        Raises
        ------
        InvalidPositionError
            An entry that is not a :class:`PositionEntry`, or one name
            defined as two different instruments.
        """
        rows = list(entries)
        for row in rows:
            if not isinstance(row, PositionEntry):
                raise InvalidPositionError(
                    f"Portfolio.from_entries needs PositionEntry objects (PositionEntry.make). Got {show_value(row)}."
                )
        found, notes = _net(rows)
        return cls(account=account, positions=found, notes=notes)

    @classmethod
    def from_deribit_positions(
        cls,
        path_or_obj: PathLike | dict[str, Any] | list[Any],
        *,
        account: str = "default",
        source: str | None = None,
    ) -> "Portfolio":
        """Read a Deribit ``private/get_positions`` response as returned.

        A thin wrapper: the reader is
        :func:`spanlike.venues.deribit.positions.read_positions`, whose
        docstring gives the format, the units and the errors.
        """
        from spanlike.venues.deribit.positions import read_positions

        return read_positions(path_or_obj, account=account, source=source)

    @classmethod
    def from_file(cls, path: PathLike) -> "Portfolio":
        """Read a portfolio file, choosing the reader by suffix and content.

        A thin wrapper of :func:`spanlike.loaders.load_portfolio`: ``.csv`` ->
        :meth:`from_csv`; ``.json`` -> a registered venue's positions reader
        when the content has that venue's shape (e.g. a Deribit
        ``get_positions`` response), else :meth:`from_json`.

        Raises
        ------
        InputFileError
            Any other suffix, or the reader's errors.
        """
        from spanlike.loaders import load_portfolio

        return load_portfolio(path)
