"""Market data at one valuation time: index prices and per-instrument quotes.

Units (venue-neutral; a venue's reader converts to them)
--------------------------------------------------------
* ``index_prices``: USD per one coin of the underlying (``{"BTC": 95000.0}``).
* ``mark_price``: coin-settled options in coin per one coin of underlying
  (``0.0123`` BTC); linear options in their settlement currency (USDC ~ USD);
  futures and perpetuals in USD.
* ``mark_iv``: annual volatility as a decimal (0.55 = 55 %); a venue that
  quotes percent (Deribit) is divided by 100 in its reader.
* ``underlying_price``: USD forward of the option's expiry.

Present values are validated at construction (finite and > 0, aware time);
absent values stay ``None`` and are reported when a held instrument needs them
(:func:`spanlike.universe.build_instrument_table`). Nothing is clamped or
dropped.

File formats
------------
JSON (ours)::

    {"valuation_time": "2026-11-24T08:00:00Z",
     "index_prices": {"BTC": 95000.0, "ETH": 3400.0},
     "instruments": [
       {"instrument": "BTC-25DEC26-110000-C", "mark_price": 0.0123,
        "mark_iv": 0.55, "underlying_price": 95420.5},
       {"instrument": "BTC-PERPETUAL", "mark_price": 95010.0}]}

Missing keys or ``null`` mean absent.

CSV (one row per instrument; every row repeats its underlying's index price
and the valuation time, which must agree across rows; empty cell = absent)::

    instrument,mark_price,mark_iv,underlying_price,index_price,valuation_time
    BTC-25DEC26-110000-C,0.0123,0.55,95420.5,95000,2026-11-24T08:00:00Z

A venue's market payload (e.g. Deribit ``public/get_book_summary_by_currency``
responses) is read by that venue's reader (:mod:`spanlike.venues`);
:func:`spanlike.loaders.load_market` recognises which format a file is.
"""

from __future__ import annotations

import datetime as dt
import math
import os
from dataclasses import dataclass
from pathlib import Path
from types import MappingProxyType
from typing import Any, Mapping, Sequence

from spanlike.params.errors import InputFileError, InvalidInputError, InvalidInstrumentError, MarketDataError
from spanlike.instruments import parse_instrument, parse_utc_datetime
from spanlike.loaders import csv_lines, load_json, parse_decimal, read_text, show_value

__all__ = [
    "InstrumentQuote",
    "MarketSnapshot",
    "check_quote_value",
    "check_index_price",
    "PLAUSIBLE_PRICE",
    "PLAUSIBLE_IV",
]

#: Plausible range of every price read (index, forward, mark), in its unit.
#: Wide enough for any listed coin and any option mark (Deribit's tick is
#: 1e-4 coin); narrow enough that scenario prices x quantities stay far from
#: float overflow and underflow (a mark of 1e-300 or a forward of 1e308
#: margined at NaN/inf before these bounds).
PLAUSIBLE_PRICE: tuple[float, float] = (1e-12, 1e12)
#: Plausible annual implied vol as a decimal: 0.01 % to 500 %. A value above
#: 5.0 can only be a percent (60.54 for 60.54 %) and is refused with that fix.
PLAUSIBLE_IV: tuple[float, float] = (1e-4, 5.0)

PathLike = str | os.PathLike[str]

_QUOTE_FIELDS = ("mark_price", "mark_iv", "underlying_price")
_CSV_COLUMNS = ("instrument", "mark_price", "mark_iv", "underlying_price", "index_price", "valuation_time")
_FIX = {
    "mark_price": "a positive finite price (coin per coin for coin-settled options, USD/USDC otherwise)",
    "mark_iv": "a positive annual vol as a decimal (0.55 = 55%)",
    "underlying_price": "a positive finite USD forward price",
}


@dataclass(frozen=True)
class InstrumentQuote:
    """Market data of one instrument; ``None`` = absent.

    Attributes
    ----------
    mark_price : float or None
        Coin-settled options: coin per one coin of underlying; linear options:
        settlement currency (USDC); futures and perpetuals: USD.
    mark_iv : float or None
        Annual implied volatility, decimal (0.55 = 55 %).
    underlying_price : float or None
        USD forward of the instrument's expiry (options).
    """

    mark_price: float | None = None
    mark_iv: float | None = None
    underlying_price: float | None = None


def check_quote_value(name: str, field: str, value: object) -> float | None:
    """A quote field's value as float, None if absent (for readers of input formats).

    Parameters
    ----------
    name : str
        The instrument, for messages.
    field : {"mark_price", "mark_iv", "underlying_price"}
    value : number or None

    Raises
    ------
    MarketDataError
        Not a positive finite number; naming the instrument, field, value and fix.
    """
    if value is None:
        return None
    fix = _FIX[field]
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise MarketDataError(f"The '{field}' of {name} must be {fix}. Got {show_value(value)}.")
    v = _as_float(value)
    if not math.isfinite(v) or v <= 0.0:
        raise MarketDataError(f"The '{field}' of {name} must be {fix}. Got {show_value(value)}.")
    lo, hi = PLAUSIBLE_IV if field == "mark_iv" else PLAUSIBLE_PRICE
    if field == "mark_iv" and hi < v <= 100.0 * hi:
        raise MarketDataError(
            f"The 'mark_iv' of {name} is {v!r}, which can only be a percent ({v!r} % = {v / 100.0!r}): mark_iv is an "
            f"annual vol as a decimal (0.55 = 55%), plausible in [{lo:g}, {hi:g}]. Divide it by 100."
        )
    if not lo <= v <= hi:
        raise MarketDataError(
            f"The '{field}' of {name} is {v!r}, outside the plausible range [{lo:g}, {hi:g}]; it must be {fix}. "
            "Check the number and its unit."
        )
    return v


def _as_float(value: int | float) -> float:
    try:
        return float(value)
    except OverflowError:  # an int past float range
        return math.inf


def check_index_price(underlying: object, value: object) -> float:
    """An index price as float (for readers of input formats).

    Raises
    ------
    MarketDataError
        A bad underlying key, or a price that is not a positive finite USD
        price per coin.
    """
    if not isinstance(underlying, str) or not underlying:
        raise MarketDataError(
            f"Index prices must be keyed by underlying code (e.g. 'BTC'). Got key {show_value(underlying)}."
        )
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(_as_float(value)) or value <= 0:
        raise MarketDataError(
            f"The index price of {underlying} must be a positive finite USD price per coin. Got {show_value(value)}."
        )
    v = float(value)
    lo, hi = PLAUSIBLE_PRICE
    if not lo <= v <= hi:
        raise MarketDataError(
            f"The index price of {underlying} is {v!r} USD per coin, outside the plausible range [{lo:g}, {hi:g}]. "
            "Check the number."
        )
    return v


def _aware_utc(value: object, what: str) -> dt.datetime:
    try:
        return parse_utc_datetime(value, what=what)
    except InvalidInputError as err:
        raise MarketDataError(str(err)) from None


@dataclass(frozen=True, eq=False)
class MarketSnapshot:
    """Index prices and instrument quotes at one valuation time.

    The constructor validates every present value and raises
    :class:`MarketDataError` naming the instrument, the field, the value and
    the fix.

    Attributes
    ----------
    valuation_time : datetime
        Timezone-aware; stored in UTC.
    index_prices : Mapping[str, float]
        Underlying -> USD index price per coin (read-only).
    quotes : Mapping[str, InstrumentQuote]
        Instrument name -> quote (read-only).
    """

    valuation_time: dt.datetime
    index_prices: Mapping[str, float]
    quotes: Mapping[str, InstrumentQuote]

    def __post_init__(self) -> None:
        if not isinstance(self.valuation_time, dt.datetime):
            raise MarketDataError(
                f"The valuation time must be a timezone-aware datetime (e.g. 2026-11-24T08:00:00+00:00). Got {self.valuation_time!r}."
            )
        t = _aware_utc(self.valuation_time, "The valuation time")
        index = {k: check_index_price(k, v) for k, v in dict(self.index_prices).items()}
        quotes: dict[str, InstrumentQuote] = {}
        for name, q in dict(self.quotes).items():
            if not isinstance(name, str) or not name:
                raise MarketDataError(f"Quotes must be keyed by instrument name. Got key {show_value(name)}.")
            if not isinstance(q, InstrumentQuote):
                raise MarketDataError(f"The quote of {name} must be an InstrumentQuote. Got {show_value(q)}.")
            quotes[name] = InstrumentQuote(**{f: check_quote_value(name, f, getattr(q, f)) for f in _QUOTE_FIELDS})
        object.__setattr__(self, "valuation_time", t)
        object.__setattr__(self, "index_prices", MappingProxyType(index))
        object.__setattr__(self, "quotes", MappingProxyType(quotes))

    def __repr__(self) -> str:
        # Every quote in the repr is ~100 KB for a venue's book summary: show the shape instead.
        index = ", ".join(f"{k}={v:,.2f}" for k, v in self.index_prices.items())
        return (f"MarketSnapshot(valuation_time={self.valuation_time.isoformat()!r}, index_prices={{{index}}}, "
                f"quotes={len(self.quotes)})")

    def quote(self, name: str) -> InstrumentQuote | None:
        """The quote of instrument ``name``, or None if absent."""
        return self.quotes.get(name)

    # ----------------------------------------------------------------- constructors

    @classmethod
    def from_mapping(cls, data: Mapping[str, Any], *, source: str = "<mapping>") -> "MarketSnapshot":
        """Build from plain Python objects in our JSON form (module docstring).

        ``valuation_time`` may be a datetime or an ISO-8601 string with a UTC
        offset; instruments may also be given as a mapping name -> fields.

        Raises
        ------
        InputFileError
            Wrong shape (unknown or missing keys, duplicate instruments).
        MarketDataError
            Invalid values.
        """
        if not isinstance(data, Mapping):
            raise InputFileError(f"Market {source}: expected an object with 'valuation_time', 'index_prices', 'instruments'. Got {type(data).__name__}.")
        unknown = sorted(set(data) - {"valuation_time", "index_prices", "instruments"})
        missing = [k for k in ("valuation_time", "index_prices", "instruments") if k not in data]
        if unknown or missing:
            raise InputFileError(
                f"Market {source}: keys must be 'valuation_time', 'index_prices' and 'instruments'; "
                f"unknown {unknown}, missing {missing}."
            )
        if not isinstance(data["index_prices"], Mapping):
            raise InputFileError(f"Market {source}: 'index_prices' must be an object underlying -> USD price, e.g. {{\"BTC\": 95000}}.")
        items = data["instruments"]
        if isinstance(items, Mapping):
            for k, v in items.items():
                if not isinstance(v, Mapping) or "instrument" in v:
                    raise InputFileError(
                        f"Market {source} instruments[{show_value(k)}]: each value must be an object of "
                        f"{', '.join(_QUOTE_FIELDS)}. Got {show_value(v)}."
                    )
            items = [{"instrument": k, **dict(v)} for k, v in items.items()]
        if not isinstance(items, list):
            raise InputFileError(f"Market {source}: 'instruments' must be a list of objects. Got {type(items).__name__}.")
        quotes: dict[str, InstrumentQuote] = {}
        for i, item in enumerate(items):
            where = f"Market {source} instruments[{i}]"
            if not isinstance(item, Mapping) or not isinstance(item.get("instrument"), str):
                raise InputFileError(
                    f"{where}: each entry must be an object with a string 'instrument'. Got {show_value(item)}."
                )
            bad = sorted(set(item) - {"instrument", *_QUOTE_FIELDS})
            if bad:
                raise InputFileError(f"{where}: unknown key(s) {show_value(bad)}; allowed: instrument, {', '.join(_QUOTE_FIELDS)}.")
            name = item["instrument"]
            if name in quotes:
                raise InputFileError(f"{where}: {name} is quoted twice; keep one entry per instrument.")
            quotes[name] = InstrumentQuote(**{f: item.get(f) for f in _QUOTE_FIELDS})
        if not isinstance(data["valuation_time"], dt.datetime):
            vt = _aware_utc(data["valuation_time"], f"Market {source}: 'valuation_time'")
        else:
            vt = data["valuation_time"]
        return cls(valuation_time=vt, index_prices=dict(data["index_prices"]), quotes=quotes)

    @classmethod
    def from_json(cls, path: PathLike) -> "MarketSnapshot":
        """Read our JSON form (module docstring) from ``path``.

        Raises
        ------
        InputFileError
            Missing file, invalid JSON (naming line and column) or wrong shape.
        MarketDataError
            Invalid values, naming the instrument, field, value and fix.
        """
        p = Path(path)
        data = load_json(p, what="Market")
        return cls.from_mapping(data, source=str(p))

    @classmethod
    def from_csv(cls, path: PathLike) -> "MarketSnapshot":
        """Read the CSV form (module docstring) from ``path``.

        The underlying of each row comes from its name (read by the default
        venue's naming, :func:`spanlike.instruments.parse_instrument`). ``mark_iv`` is
        a decimal. Blank lines and lines starting with ``#`` are skipped.

        Raises
        ------
        InputFileError
            Bad header, cell count, number, unparseable name, duplicate
            instrument, or index prices / valuation times that disagree
            across rows; naming the file and line.
        MarketDataError
            Invalid values.
        """
        p = Path(path)
        lines = list(csv_lines(read_text(p, what="Market"), where=f"Market file {p}"))
        if not lines:
            raise InputFileError(f"Market file {p} is empty. Give the header {','.join(_CSV_COLUMNS)} and one row per instrument.")
        header_no, header_cells = lines[0]
        header_text = ",".join(header_cells)
        header = [h.strip().lower() for h in header_cells]
        if sorted(header) != sorted(_CSV_COLUMNS):
            raise InputFileError(
                f"Market file {p} line {header_no}: the header must have the columns {','.join(_CSV_COLUMNS)} "
                f"(any order, each once). Got {show_value(header_text)}."
            )
        if len(lines) == 1:
            raise InputFileError(f"Market file {p} has a header but no rows; the valuation time comes from the rows.")
        col = {h: i for i, h in enumerate(header)}
        quotes: dict[str, InstrumentQuote] = {}
        index: dict[str, tuple[float, int]] = {}
        times: tuple[dt.datetime, int] | None = None
        for line_no, raw in lines[1:]:
            where = f"Market file {p} line {line_no}"
            cells = [c.strip() for c in raw]
            if len(cells) != len(header):
                raise InputFileError(
                    f"{where}: expected {len(header)} cells, got {len(cells)}: {show_value(','.join(raw))}."
                )
            name = cells[col["instrument"]]
            try:
                underlying = parse_instrument(name).underlying
            except InvalidInstrumentError as err:
                raise InputFileError(f"{where}: {err}") from None
            if name in quotes:
                raise InputFileError(f"{where}: {name} appears twice; keep one row per instrument.")

            def number(field: str) -> float | None:
                text = cells[col[field]]
                if not text:
                    return None
                value = parse_decimal(text)
                if value is None:
                    raise InputFileError(
                        f"{where}: the '{field}' of {name} must be a number or empty. Got {show_value(text)}."
                    )
                return value

            try:
                quotes[name] = InstrumentQuote(
                    mark_price=check_quote_value(name, "mark_price", number("mark_price")),
                    mark_iv=check_quote_value(name, "mark_iv", number("mark_iv")),
                    underlying_price=check_quote_value(name, "underlying_price", number("underlying_price")),
                )
                idx = number("index_price")
                if idx is None:
                    raise MarketDataError(f"The index price of {underlying} is empty; every row must carry its underlying's index price in USD.")
                idx = check_index_price(underlying, idx)
                t = _aware_utc(cells[col["valuation_time"]], f"The valuation_time of {name}")
            except MarketDataError as err:
                raise MarketDataError(f"{where}: {err}") from None
            if underlying in index and index[underlying][0] != idx:
                raise InputFileError(
                    f"{where}: index price {idx!r} of {underlying} disagrees with {index[underlying][0]!r} on line "
                    f"{index[underlying][1]}; one snapshot has one index price per underlying."
                )
            index.setdefault(underlying, (idx, line_no))
            if times is not None and times[0] != t:
                raise InputFileError(
                    f"{where}: valuation time {t.isoformat()} disagrees with {times[0].isoformat()} on line {times[1]}; "
                    "one snapshot has one valuation time."
                )
            times = times or (t, line_no)
        assert times is not None
        return cls(valuation_time=times[0], index_prices={k: v[0] for k, v in index.items()}, quotes=quotes)

    @classmethod
    def from_deribit_book_summary(
        cls,
        path_or_obj: PathLike | Mapping[str, Any] | list[Any],
        *more: PathLike | Mapping[str, Any] | list[Any],
    ) -> "MarketSnapshot":
        """Read one or several Deribit ``public/get_book_summary_by_currency`` responses.

        A thin wrapper: the reader is
        :func:`spanlike.venues.deribit.book_summary.read_book_summary`, whose
        docstring gives the format, the unit conversions and the errors.
        """
        from spanlike.venues.deribit.book_summary import read_book_summary

        return read_book_summary(path_or_obj, *more)

    @classmethod
    def from_file(cls, path: PathLike | Sequence[PathLike]) -> "MarketSnapshot":
        """Read a market file, or several payloads of one venue, choosing the reader by suffix and content.

        A thin wrapper of :func:`spanlike.loaders.load_market`: ``.csv`` ->
        :meth:`from_csv`; ``.json`` -> a registered venue's market reader
        when the content has that venue's shape (e.g. a Deribit book
        summary), else :meth:`from_mapping`. A list of paths (e.g. Deribit's
        BTC and ETH book summaries) is read as one snapshot, as
        ``spanlike margin --market a.json b.json`` does.
        """
        from spanlike.loaders import load_market

        if isinstance(path, (list, tuple)):
            return load_market(list(path))
        return load_market(path)
