"""Positions named as in a SPAN file, and their resolution to the file's contracts.

A portfolio is a CSV file with the header
``exchange,product,type,period,strike,put_call,quantity``::

    exchange,product,type,period,strike,put_call,quantity
    BIST,AKBNKE,FUT,201606S0,,,10
    BIST,AKBNKE,OOP,201606S0,7.50,C,-5

* ``exchange``: the exchange code of the file (``BIST``) [exchange/exch].
* ``product``: the product family code [pfCode] (``AKBNKE``, ``XU030``).
* ``type``: the family type [pfType]: ``PHY``, ``FUT``, ``OOP`` (option on a
  physical), ``OOF`` (on a future), ``OOE``, ``OOC``.
* ``period``: the period code exactly as the file writes it (``201606S0``;
  physicals ``00000S``), the contract's [pe] or the option series' [pe].
* ``strike``, ``put_call``: options only (``C``/``P``); empty for others.
  The strike is a number in the file's strike units (``7.50``); it matches a
  file strike within ``1e-9`` relative.
* ``quantity``: signed number of contracts (long positive). Rows naming the
  same contract are netted; a zero net quantity is dropped with a note.

Errors name the file, the row (line number, header = line 1), the field, the
value and the fix: a product, period or strike the file lacks is an
:class:`~spanlike.errors.UnknownInstrumentError` listing the closest matches;
a missing or non-finite quantity an :class:`~spanlike.errors.InvalidPositionError`;
a malformed file (header, column count) an :class:`~spanlike.errors.InputFileError`.
"""

from __future__ import annotations

import csv
import difflib
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

import numpy as np

from spanlike.params.errors import (
    InputFileError,
    InvalidInstrumentError,
    InvalidPositionError,
    UnknownInstrumentError,
)
from spanlike.spn.model import OptionFamily, SpanFile

__all__ = [
    "PORTFOLIO_COLUMNS",
    "PRODUCT_TYPES",
    "SpnPosition",
    "SpnPortfolio",
    "ResolvedPosition",
    "load_spn_portfolio",
    "resolve_positions",
]

#: Columns of a SPAN-file portfolio CSV, in order.
PORTFOLIO_COLUMNS: tuple[str, ...] = ("exchange", "product", "type", "period", "strike", "put_call", "quantity")
#: Product family types a position may name ([pfType]).
PRODUCT_TYPES: tuple[str, ...] = ("PHY", "FUT", "OOP", "OOF", "OOE", "OOC")
_OPTION_TYPES = frozenset({"OOP", "OOF", "OOE", "OOC"})
_STRIKE_RTOL = 1e-9


@dataclass(frozen=True)
class SpnPosition:
    """One position as the user wrote it.

    Attributes
    ----------
    exchange, product, product_type, period : str
        As in the file ([exch], [pfCode], [pfType], [pe]).
    strike : float or None
        Options only.
    put_call : {"C", "P"} or None
        Options only.
    quantity : float
        Signed number of contracts.
    row : int
        Line number in the source file (header = 1); 0 when built in code.
    """

    exchange: str
    product: str
    product_type: str
    period: str
    strike: float | None
    put_call: str | None
    quantity: float
    row: int = 0

    @property
    def label(self) -> str:
        """``BIST AKBNKE OOP 201606S0 C7.5`` (how results name the position)."""
        text = f"{self.exchange} {self.product} {self.product_type} {self.period}"
        if self.put_call is not None and self.strike is not None:
            text += f" {self.put_call}{self.strike:g}"
        return text


@dataclass(frozen=True)
class SpnPortfolio:
    """Positions on a SPAN file, in file order.

    Attributes
    ----------
    positions : tuple of SpnPosition
    source : str or None
        Path read from.
    """

    positions: tuple[SpnPosition, ...]
    source: str | None = None

    @classmethod
    def from_positions(cls, positions: Sequence[SpnPosition]) -> "SpnPortfolio":
        """A portfolio from positions built in code (validated like file rows)."""
        for p in positions:
            _check_quantity(p.quantity, where=f"position {p.label}")
        return cls(positions=tuple(positions))


@dataclass(frozen=True)
class ResolvedPosition:
    """A netted position matched to one contract of the file.

    Attributes
    ----------
    label : str
        Readable name (:attr:`SpnPosition.label`).
    combined_commodity : str
        The ccDef whose product links hold the family.
    quantity : float
        Net signed contracts, non-zero.
    family_index : int
        Index into ``SpanFile.families``.
    contract_index : int
        Row of the contract in the family's struct of arrays.
    """

    label: str
    combined_commodity: str
    quantity: float
    family_index: int
    contract_index: int


#: Largest plausible number of contracts in one position (as the other portfolio readers bound it).
MAX_CONTRACTS = 1e12


def _check_quantity(value: float, *, where: str) -> None:
    if not math.isfinite(value):
        raise InvalidPositionError(
            f"The quantity of {where} must be a finite number of contracts. Got {value!r}; "
            "write the signed number of contracts (long positive)."
        )
    if abs(value) > MAX_CONTRACTS:
        raise InvalidPositionError(
            f"The quantity of {where} is {value!r} contracts, beyond the plausible {MAX_CONTRACTS:g}; "
            "write the signed number of contracts (long positive)."
        )


def _where(source: str, row: int) -> str:
    return f"{source}, row {row}" if row else source


def load_spn_portfolio(path: str | Path) -> SpnPortfolio:
    """Read a portfolio CSV (``exchange,product,type,period,strike,put_call,quantity``).

    Parameters
    ----------
    path : str or Path
        CSV file with that header (column order free, names exact, case-insensitive).

    Returns
    -------
    SpnPortfolio
        Rows as written (not yet matched to a SPAN file; see :func:`resolve_positions`).

    Raises
    ------
    InputFileError
        Unreadable file, bytes that are not UTF-8, missing, unknown or repeated
        columns, a row with the wrong number of fields, a cell past the csv
        module's field limit (131,072 characters).
    InvalidInstrumentError
        An unknown ``type``, a ``put_call`` other than C/P, a strike that is not a
        number, option fields on a non-option or missing on an option.
    InvalidPositionError
        A missing, non-numeric or non-finite ``quantity``.
    """
    p = Path(path)
    try:
        data = p.read_bytes()
    except OSError as err:
        raise InputFileError(f"Cannot read the portfolio {p}: {err.strerror or err}.") from err
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as err:
        line = data.count(b"\n", 0, err.start) + 1
        raise InputFileError(
            f"{_where(str(p), line)}: byte 0x{data[err.start]:02x} is not UTF-8. Save the portfolio as UTF-8 "
            "(plain ASCII codes and numbers need no other characters)."
        ) from None
    # csv.Error is not a typed input error; a cell past the csv module's field limit raises it
    reader = csv.reader(text.splitlines())
    rows: list[tuple[int, list[str]]] = []
    try:
        for fields in reader:
            rows.append((reader.line_num, fields))
    except csv.Error as err:
        raise InputFileError(
            f"{_where(str(p), reader.line_num)}: not a readable CSV row ({err}); a portfolio cell is a short code "
            f"or number (at most {csv.field_size_limit():,} characters)."
        ) from None
    if not rows:
        raise InputFileError(f"The portfolio {p} is empty; write the header {','.join(PORTFOLIO_COLUMNS)}.")
    header = rows[0][1]
    names = [h.strip().lower() for h in header]
    missing = [c for c in PORTFOLIO_COLUMNS if c not in names]
    if missing:
        raise InputFileError(
            f"The portfolio {p} lacks the column(s) {', '.join(missing)}; its header is {','.join(header)!r}. "
            f"Write the header {','.join(PORTFOLIO_COLUMNS)}."
        )
    extra = [h for h, n in zip(header, names) if n not in PORTFOLIO_COLUMNS]
    repeated = sorted({n for n in names if names.count(n) > 1})
    if extra or repeated:
        what = f"the unknown column(s) {', '.join(map(repr, extra))}" if extra else ""
        what += (" and " if extra and repeated else "") + (
            f"the repeated column(s) {', '.join(map(repr, repeated))}" if repeated else "")
        raise InputFileError(
            f"The portfolio {p} has {what}; a column it does not read would be silently ignored. "
            f"Write exactly the header {','.join(PORTFOLIO_COLUMNS)}."
        )
    col = {c: names.index(c) for c in PORTFOLIO_COLUMNS}
    positions: list[SpnPosition] = []
    for line, fields in rows[1:]:
        if not fields or all(not f.strip() for f in fields):
            continue
        if len(fields) != len(header):
            raise InputFileError(
                f"{_where(str(p), line)} has {len(fields)} fields, the header {len(header)}. "
                "Leave strike and put_call empty (two commas) for futures and physicals."
            )
        positions.append(_parse_row({c: fields[i].strip() for c, i in col.items()}, source=str(p), row=line))
    return SpnPortfolio(positions=tuple(positions), source=str(p))


def _parse_row(f: dict[str, str], *, source: str, row: int) -> SpnPosition:
    where = _where(source, row)
    ptype = f["type"].upper()
    if ptype not in PRODUCT_TYPES:
        raise InvalidInstrumentError(
            f"The 'type' of {where} must be one of {', '.join(PRODUCT_TYPES)}. Got {f['type']!r}."
        )
    for key in ("exchange", "product", "period"):
        if not f[key]:
            raise InvalidInstrumentError(f"The '{key}' of {where} is empty; write it as the SPAN file does.")
    raw_q = f["quantity"]
    try:
        quantity = float(raw_q)
    except ValueError:
        raise InvalidPositionError(
            f"The 'quantity' of {where} must be a number of contracts. Got {raw_q!r}."
        ) from None
    _check_quantity(quantity, where=where)
    strike: float | None = None
    put_call: str | None = None
    if ptype in _OPTION_TYPES:
        pc = f["put_call"].upper()
        if pc not in ("C", "P"):
            raise InvalidInstrumentError(f"The 'put_call' of {where} must be C or P for an option. Got {f['put_call']!r}.")
        try:
            strike = float(f["strike"])
        except ValueError:
            raise InvalidInstrumentError(
                f"The 'strike' of {where} must be a number for an option. Got {f['strike']!r}."
            ) from None
        if not math.isfinite(strike):
            raise InvalidInstrumentError(f"The 'strike' of {where} must be finite. Got {f['strike']!r}.")
        put_call = pc
    elif f["strike"] or f["put_call"]:
        raise InvalidInstrumentError(
            f"{where} is a {ptype} position but has strike {f['strike']!r} / put_call {f['put_call']!r}; "
            "leave both empty for futures and physicals."
        )
    return SpnPosition(
        exchange=f["exchange"], product=f["product"], product_type=ptype, period=f["period"],
        strike=strike, put_call=put_call, quantity=quantity, row=row,
    )


def _closest(word: str, choices: Sequence[str], n: int = 3) -> str:
    hits = difflib.get_close_matches(word, list(choices), n=n, cutoff=0.0)
    return ", ".join(repr(h) for h in hits) if hits else "none"


class _FamilyIndex:
    """Lookups of one SPAN file: (exchange, product, type) -> family, and the ccDef linking it."""

    def __init__(self, span_file: SpanFile) -> None:
        self.families = span_file.families
        self.by_name: dict[tuple[str, str, str], int] = {}
        exchange_of: list[str] = []
        for ex in span_file.clearing_org.exchanges:
            for fam in ex.families:
                exchange_of.append(ex.code)
        for i, fam in enumerate(self.families):
            self.by_name.setdefault((exchange_of[i], fam.product_code, fam.product_type), i)
        self.exchange_of = tuple(exchange_of)
        self.commodity_of: dict[tuple[str, int], str] = {}
        for cc in span_file.combined_commodities:
            for link in cc.product_links:
                self.commodity_of.setdefault((link.exchange, link.product_id), cc.code)


def resolve_positions(span_file: SpanFile, portfolio: SpnPortfolio) -> tuple[tuple[ResolvedPosition, ...], tuple[str, ...]]:
    """Match every position to a contract of ``span_file`` and net duplicates.

    Parameters
    ----------
    span_file : SpanFile
    portfolio : SpnPortfolio

    Returns
    -------
    positions : tuple of ResolvedPosition
        One per contract held with a non-zero net quantity, in first-seen order.
    notes : tuple of str
        Rows dropped because they net to zero.

    Raises
    ------
    UnknownInstrumentError
        Product, period or strike not in the file (closest matches listed), or
        a family no combined commodity links.
    InvalidPositionError
        The contract has no risk array.
    """
    index = _FamilyIndex(span_file)
    source = portfolio.source or "portfolio"
    net: dict[tuple[int, int], float] = {}
    labels: dict[tuple[int, int], str] = {}
    rows: dict[tuple[int, int], list[int]] = {}
    for pos in portfolio.positions:
        where = _where(source, pos.row)
        key = (pos.exchange, pos.product, pos.product_type)
        fi = index.by_name.get(key)
        if fi is None:
            names = [" ".join(k) for k in index.by_name]
            raise UnknownInstrumentError(
                f"{where}: the SPAN file has no product {' '.join(key)!r} (exchange, product, type). "
                f"Closest: {_closest(' '.join(key), names)}."
            )
        fam = index.families[fi]
        ci = _contract_row(fam, pos, where)
        if fam.contracts.risk_array_rate_id[ci] < 0:
            raise InvalidPositionError(f"{where}: the contract {pos.label} has no risk array in the SPAN file.")
        if (index.exchange_of[fi], fam.product_id) not in index.commodity_of:
            raise UnknownInstrumentError(
                f"{where}: no combined commodity (ccDef/pfLink) of the SPAN file margins {' '.join(key)!r}."
            )
        k = (fi, ci)
        net[k] = net.get(k, 0.0) + pos.quantity
        labels.setdefault(k, pos.label)
        rows.setdefault(k, []).append(pos.row)
    out: list[ResolvedPosition] = []
    notes: list[str] = []
    for k, q in net.items():
        if q == 0.0:
            notes.append(f"{labels[k]} (rows {', '.join(str(r) for r in rows[k])}) nets to zero and was dropped.")
            continue
        fi, ci = k
        fam = index.families[fi]
        out.append(ResolvedPosition(
            label=labels[k], combined_commodity=index.commodity_of[(index.exchange_of[fi], fam.product_id)],
            quantity=q, family_index=fi, contract_index=ci,
        ))
    return tuple(out), tuple(notes)


def _contract_row(fam: object, pos: SpnPosition, where: str) -> int:
    if isinstance(fam, OptionFamily):
        periods = [s.period for s in fam.series]
        if pos.period not in periods:
            raise UnknownInstrumentError(
                f"{where}: {pos.product} {pos.product_type} has no series with the 'period' {pos.period!r}. "
                f"Closest: {_closest(pos.period, periods)}."
            )
        c = fam.contracts
        series = periods.index(pos.period)
        same = np.flatnonzero((c.series_index == series) & (np.array(c.put_call, dtype=object) == pos.put_call))
        assert pos.strike is not None
        strikes = c.strike[same]
        hit = np.flatnonzero(np.abs(strikes - pos.strike) <= _STRIKE_RTOL * max(1.0, abs(pos.strike)))
        if hit.size == 0:
            nearest = strikes[np.argsort(np.abs(strikes - pos.strike), kind="stable")[:3]]
            near = ", ".join(f"{k:g}" for k in nearest) if nearest.size else "none"
            raise UnknownInstrumentError(
                f"{where}: {pos.product} {pos.product_type} {pos.period} has no {pos.put_call} with the "
                f"'strike' {pos.strike:g}. Closest: {near}."
            )
        return int(same[hit[0]])
    periods = [p for p in fam.contracts.period if p is not None]  # type: ignore[attr-defined]
    if pos.period not in periods:
        raise UnknownInstrumentError(
            f"{where}: {pos.product} {pos.product_type} has no contract with the 'period' {pos.period!r}. "
            f"Closest: {_closest(pos.period, periods)}."
        )
    return list(fam.contracts.period).index(pos.period)  # type: ignore[attr-defined]
