"""Market history for calibration: close prices and implied vols on a common clock.

Three CSV layouts are read, detected from the header line:

* **Yahoo layout** ``Date,Open,High,Low,Close,Adj Close,Volume`` (any of
  those columns after ``Date``; the plain two-column ``Date,Close`` too): one
  file per underlying. The underlying is taken from the file name
  (``BTC-USD.csv`` -> ``BTC``, ``ETH.csv`` -> ``ETH``) or passed explicitly.
  The ``Close`` column is used (for crypto ``Adj Close`` equals ``Close``),
  and the notes say so when other columns are present; a file with Yahoo
  columns but no ``Close`` is refused, naming it (never read as a wide file
  whose underlyings are ``Open``, ``High``, ``Low``).
* **Wide layout** ``timestamp,BTC,ETH,...``: first column a date or
  date-time (header ``timestamp``, ``date``, ``datetime`` or ``time``, any
  case), one column of closes per underlying. An *empty* cell means "no
  observation of that underlying at that time" (e.g. a coin listed later); it
  is never filled, the row is dropped from the common timestamps and counted.
* **Intraday bars**: either layout with a time of day
  (``2024-05-01T13:00:00Z``, ``2024-05-01 13:00``, ``...+02:00``).

Timestamps are ISO 8601; a time without offset is taken as UTC, one with an
offset is converted to UTC. They are stored as ``datetime64[s]``.

Rules (each violation is an :class:`~spanlike.errors.InputFileError` naming the
file, line, column and value, and saying what to fix):

* timestamps strictly increasing within a file (a duplicate names both lines);
* every close a positive finite number (``null``, ``NaN``, ``0``, ``-1`` fail);
* nothing is filled or interpolated. Series whose timestamps differ are
  intersected on their common timestamps; the rows each series lost are
  counted in :attr:`PriceHistory.dropped_rows` and described in
  :attr:`PriceHistory.notes`. Gaps larger than the usual bar spacing are
  reported in the notes too, because a return across a gap spans more time.

Implied-vol histories (e.g. Deribit's DVOL index) use the same layouts and are
returned as annual decimals (0.55 = 55 %) by :func:`load_implied_vol_history`,
whose ``unit`` keyword states the file's unit or asks for detection.
"""

from __future__ import annotations

import datetime as dt
import math
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal, Sequence

import numpy as np

from spanlike.errors import InputFileError, InvalidInputError
from spanlike.loaders import csv_lines, parse_decimal, read_text, show_value

__all__ = [
    "PriceHistory",
    "VolHistory",
    "load_history",
    "load_implied_vol_history",
    "combine_histories",
    "underlying_from_filename",
]

_YAHOO_COLUMNS = ("Date", "Open", "High", "Low", "Close", "Adj Close", "Volume")
_TIME_HEADERS = {"timestamp", "date", "datetime", "time"}
_SECONDS_PER_DAY = 86_400
_EPOCH = dt.datetime(1970, 1, 1)


# --------------------------------------------------------------------------- results


def _frozen_array(values: np.ndarray, dtype: str) -> np.ndarray:
    out = np.array(values, dtype=dtype, copy=True)
    out.setflags(write=False)
    return out


def _format_ts(ts: np.datetime64, intraday: bool) -> str:
    text = str(ts.astype("datetime64[s]"))
    return text + "Z" if intraday else text[:10]


def _modal_spacing_seconds(ts: np.ndarray) -> int:
    if ts.size < 2:
        return _SECONDS_PER_DAY
    steps = np.diff(ts.astype("datetime64[s]").astype(np.int64))
    values, counts = np.unique(steps, return_counts=True)
    return int(values[np.argmax(counts)])


def _check_aligned(kind: str, timestamps: np.ndarray, values: np.ndarray, names: tuple[str, ...]) -> None:
    if timestamps.ndim != 1:
        raise InvalidInputError(f"{kind} timestamps must be 1-D; got shape {timestamps.shape}.")
    if values.ndim != 2 or values.shape != (timestamps.size, len(names)):
        raise InvalidInputError(
            f"{kind} values must have shape (len(timestamps), len(names)) = "
            f"({timestamps.size}, {len(names)}); got {values.shape}."
        )
    if len(set(names)) != len(names):
        raise InvalidInputError(f"{kind} names must be unique; got {list(names)}.")
    steps = np.diff(timestamps.astype(np.int64))
    if (steps <= 0).any():
        i = int(np.flatnonzero(steps <= 0)[0]) + 1
        raise InvalidInputError(
            f"{kind} timestamps must be strictly increasing; row {i} ({timestamps[i]}) does not "
            f"follow row {i - 1} ({timestamps[i - 1]}). Sort and de-duplicate them."
        )
    bad = ~np.isfinite(values) | (values <= 0.0)
    if bad.any():
        i, j = np.argwhere(bad)[0]
        raise InvalidInputError(
            f"{kind} values must be positive finite numbers; {names[j]} at row {i} "
            f"({timestamps[i]}) is {float(values[i, j])!r}."
        )


@dataclass(frozen=True)
class PriceHistory:
    """Close prices of several underlyings on common UTC timestamps.

    Attributes
    ----------
    timestamps : numpy.ndarray
        Shape (T,), ``datetime64[s]``, UTC, strictly increasing.
    closes : numpy.ndarray
        Shape (T, N), float64, positive; ``closes[t, j]`` is the close of
        ``names[j]`` at ``timestamps[t]`` in its quote currency (USD).
    names : tuple of str
        Underlyings, e.g. ``("BTC", "ETH")``.
    sources : tuple of str
        Files (or a description) the data came from.
    notes : tuple of str
        Human-readable record of everything done to the data: rows dropped
        by the intersection, gaps in the clock.
    dropped_rows : tuple of (str, int)
        Per underlying, rows of its input that fell outside the common
        timestamps (0 when aligned).

    Arrays are read-only copies; the object is immutable.
    """

    timestamps: np.ndarray
    closes: np.ndarray
    names: tuple[str, ...]
    sources: tuple[str, ...] = ()
    notes: tuple[str, ...] = ()
    dropped_rows: tuple[tuple[str, int], ...] = field(default=())

    def __post_init__(self) -> None:
        ts = _frozen_array(np.asarray(self.timestamps).astype("datetime64[s]"), "datetime64[s]")
        closes = _frozen_array(np.asarray(self.closes, dtype=np.float64), "float64")
        names = tuple(str(n) for n in self.names)
        _check_aligned("PriceHistory", ts, closes, names)
        object.__setattr__(self, "timestamps", ts)
        object.__setattr__(self, "closes", closes)
        object.__setattr__(self, "names", names)
        object.__setattr__(self, "sources", tuple(self.sources))
        object.__setattr__(self, "notes", tuple(self.notes))
        object.__setattr__(self, "dropped_rows", tuple((str(a), int(b)) for a, b in self.dropped_rows))

    @property
    def n_rows(self) -> int:
        """Number of common timestamps T."""
        return int(self.timestamps.size)

    @property
    def bar_seconds(self) -> int:
        """Most frequent spacing of the timestamps, in seconds (86400 for daily bars)."""
        return _modal_spacing_seconds(self.timestamps)

    @property
    def is_intraday(self) -> bool:
        """True when the usual bar spacing is shorter than one day."""
        return self.bar_seconds < _SECONDS_PER_DAY

    @property
    def first(self) -> np.datetime64:
        """First timestamp."""
        return self.timestamps[0]

    @property
    def last(self) -> np.datetime64:
        """Last timestamp."""
        return self.timestamps[-1]

    def date_range(self) -> str:
        """``"first..last"`` as ISO dates (daily) or date-times (intraday)."""
        if self.n_rows == 0:
            return "(empty)"
        intraday = self.is_intraday
        return f"{_format_ts(self.first, intraday)}..{_format_ts(self.last, intraday)}"

    def column(self, name: str) -> np.ndarray:
        """Closes of one underlying, shape (T,).

        Raises
        ------
        InvalidInputError
            ``name`` is not in :attr:`names`.
        """
        if name not in self.names:
            raise InvalidInputError(
                f"History has no underlying {name!r}; it holds {list(self.names)}. "
                "Load a file for it or choose one of those."
            )
        return self.closes[:, self.names.index(name)]

    def select(self, names: Sequence[str]) -> "PriceHistory":
        """A history with only ``names`` (in that order); notes and sources kept."""
        idx = [self.names.index(n) if n in self.names else -1 for n in names]
        if -1 in idx:
            missing = [n for n, i in zip(names, idx) if i < 0]
            raise InvalidInputError(
                f"History has no underlying {missing}; it holds {list(self.names)}."
            )
        return PriceHistory(
            timestamps=self.timestamps,
            closes=self.closes[:, idx],
            names=tuple(names),
            sources=self.sources,
            notes=self.notes,
            dropped_rows=tuple(d for d in self.dropped_rows if d[0] in names),
        )

    def tail(self, rows: int) -> "PriceHistory":
        """The last ``rows`` rows (all of them if fewer exist)."""
        if isinstance(rows, bool) or not isinstance(rows, (int, np.integer)) or rows < 1:
            raise InvalidInputError(f"tail(rows=...) needs a positive integer number of rows; got {rows!r}.")
        return PriceHistory(
            timestamps=self.timestamps[-rows:],
            closes=self.closes[-rows:],
            names=self.names,
            sources=self.sources,
            notes=self.notes,
            dropped_rows=self.dropped_rows,
        )

    def between(self, start: np.datetime64 | str | dt.date, end: np.datetime64 | str | dt.date) -> "PriceHistory":
        """Rows with ``start <= timestamp <= end`` (dates mean 00:00 UTC of that day; end date inclusive)."""
        lo = np.datetime64(start, "s")
        hi = np.datetime64(end, "s")
        if isinstance(end, (str, dt.date)) and not isinstance(end, dt.datetime) and len(str(end)) <= 10:
            hi = hi + np.timedelta64(_SECONDS_PER_DAY - 1, "s")
        mask = (self.timestamps >= lo) & (self.timestamps <= hi)
        return PriceHistory(
            timestamps=self.timestamps[mask],
            closes=self.closes[mask],
            names=self.names,
            sources=self.sources,
            notes=self.notes,
            dropped_rows=self.dropped_rows,
        )


@dataclass(frozen=True)
class VolHistory:
    """Implied volatilities (e.g. DVOL) of several underlyings on common UTC timestamps.

    Attributes
    ----------
    timestamps : numpy.ndarray
        Shape (T,), ``datetime64[s]``, UTC, strictly increasing.
    vols : numpy.ndarray
        Shape (T, N), annual decimals (0.55 = 55 vol points), positive.
    names : tuple of str
        Underlyings the vols belong to.
    file_unit : {"points", "decimal"}
        Unit the file was written in (after detection, if asked for).
    sources, notes, dropped_rows
        As in :class:`PriceHistory`.
    """

    timestamps: np.ndarray
    vols: np.ndarray
    names: tuple[str, ...]
    file_unit: Literal["points", "decimal"] = "decimal"
    sources: tuple[str, ...] = ()
    notes: tuple[str, ...] = ()
    dropped_rows: tuple[tuple[str, int], ...] = ()

    def __post_init__(self) -> None:
        ts = _frozen_array(np.asarray(self.timestamps).astype("datetime64[s]"), "datetime64[s]")
        vols = _frozen_array(np.asarray(self.vols, dtype=np.float64), "float64")
        names = tuple(str(n) for n in self.names)
        _check_aligned("VolHistory", ts, vols, names)
        object.__setattr__(self, "timestamps", ts)
        object.__setattr__(self, "vols", vols)
        object.__setattr__(self, "names", names)
        object.__setattr__(self, "sources", tuple(self.sources))
        object.__setattr__(self, "notes", tuple(self.notes))
        object.__setattr__(self, "dropped_rows", tuple((str(a), int(b)) for a, b in self.dropped_rows))

    @property
    def n_rows(self) -> int:
        """Number of common timestamps T."""
        return int(self.timestamps.size)

    @property
    def bar_seconds(self) -> int:
        """Most frequent spacing of the timestamps, in seconds."""
        return _modal_spacing_seconds(self.timestamps)

    def column(self, name: str) -> np.ndarray:
        """Vols (annual decimals) of one underlying, shape (T,)."""
        if name not in self.names:
            raise InvalidInputError(
                f"Implied-vol history has no underlying {name!r}; it holds {list(self.names)}."
            )
        return self.vols[:, self.names.index(name)]

    def date_range(self) -> str:
        """``"first..last"`` as ISO dates or date-times."""
        if self.n_rows == 0:
            return "(empty)"
        intraday = self.bar_seconds < _SECONDS_PER_DAY
        return f"{_format_ts(self.timestamps[0], intraday)}..{_format_ts(self.timestamps[-1], intraday)}"


# --------------------------------------------------------------------------- parsing


@dataclass(frozen=True)
class _Series:
    name: str
    source: str
    seconds: np.ndarray  # int64 epoch seconds
    values: np.ndarray  # float64
    blanks: int = 0  # empty cells in a wide file (no observation)
    note: str = ""  # which column was used, when there was a choice


def _is_yahoo(header: list[str]) -> bool:
    return header[:1] == ["Date"] and any(c in _YAHOO_COLUMNS[1:] for c in header[1:])


_NAME_RE = re.compile(r"^([A-Za-z0-9]+)(?:[-_][A-Za-z]+)?$")


def underlying_from_filename(path: str | Path) -> str:
    """The underlying a Yahoo-style file name refers to.

    ``BTC-USD.csv`` -> ``"BTC"``, ``ETH_USDT.csv`` -> ``"ETH"``, ``SOL.csv`` -> ``"SOL"``.

    Raises
    ------
    InvalidInputError
        The name does not have the form ``UNDERLYING[-QUOTE].csv``.
    """
    stem = Path(path).stem
    m = _NAME_RE.match(stem)
    if m is None:
        raise InvalidInputError(
            f"Cannot tell the underlying from the file name {Path(path).name!r} (expected e.g. "
            "'BTC-USD.csv'). Pass it explicitly: load_history(path, underlyings=['BTC'])."
        )
    return m.group(1).upper()


def _parse_seconds(text: str, *, where: str) -> int:
    s = text.strip()
    try:
        stamp = dt.datetime.fromisoformat(s)
    except ValueError:
        raise InputFileError(
            f"{where}: {s!r} is not an ISO 8601 date or date-time. Write e.g. '2024-05-01' or "
            "'2024-05-01T13:00:00Z'."
        ) from None
    if stamp.tzinfo is not None:
        stamp = stamp.astimezone(dt.timezone.utc).replace(tzinfo=None)
    delta = stamp - _EPOCH
    return delta.days * _SECONDS_PER_DAY + delta.seconds


def _parse_value(text: str, *, where: str, what: str) -> float:
    s = text.strip()
    parsed = parse_decimal(s)
    value = math.nan if parsed is None else parsed
    if not math.isfinite(value) or value <= 0.0:
        raise InputFileError(
            f"{where}: {show_value(s)} is not a positive finite {what}. Correct the value or remove the row; "
            "missing data is never filled in."
        )
    return value


def _check_order(seconds: list[int], lines: list[int], *, path: Path, column: str) -> None:
    for k in range(1, len(seconds)):
        if seconds[k] == seconds[k - 1]:
            stamp = np.datetime64(seconds[k], "s")
            raise InputFileError(
                f"{path} line {lines[k]}, column {column!r}: duplicate timestamp {stamp} "
                f"(already at line {lines[k - 1]}). Remove the duplicate row."
            )
        if seconds[k] < seconds[k - 1]:
            raise InputFileError(
                f"{path} line {lines[k]}, column {column!r}: timestamp {np.datetime64(seconds[k], 's')} "
                f"is earlier than {np.datetime64(seconds[k - 1], 's')} at line {lines[k - 1]}. "
                "Timestamps must be strictly increasing; sort the file by time."
            )


def _read_rows(path: Path) -> tuple[list[str], list[tuple[int, list[str]]]]:
    # Regular files only, size-bounded, UTF-8 named by line (spanlike.loaders).
    text = read_text(path, what="History")
    header: list[str] | None = None
    rows: list[tuple[int, list[str]]] = []
    for line_no, row in csv_lines(text, where=f"History file {path}"):
        if not row or all(not cell.strip() for cell in row):
            continue
        if header is None:
            header = [cell.strip() for cell in row]
            continue
        rows.append((line_no, row))
    if header is None:
        raise InputFileError(f"History file {path} is empty; expected a header line and data rows.")
    if not rows:
        raise InputFileError(f"History file {path} has a header but no data rows.")
    return header, rows


def _read_file(path: Path, *, what: str, yahoo_name: str | None, columns: Sequence[str] | None) -> list[_Series]:
    header, rows = _read_rows(path)
    yahoo = _is_yahoo(header)
    note = ""
    if yahoo:
        if "Close" not in header:
            raise InputFileError(
                f"{path} line 1: a Yahoo layout header (Date followed by {', '.join(h for h in header[1:] if h in _YAHOO_COLUMNS)}) "
                f"lacks the column 'Close', whose values are read; got header {show_value(header)}. Add the Close "
                "column (Date,Close is enough), or for a wide layout name the first column 'timestamp'."
            )
        if header.count("Close") > 1:
            raise InputFileError(f"{path} line 1: column 'Close' repeats in header {show_value(header)}.")
        name = yahoo_name if yahoo_name is not None else underlying_from_filename(path)
        value_cols = {name: header.index("Close")}
        others = [h for h in header[1:] if h != "Close"]
        if others:
            note = f"{name}: column 'Close' of {path} used ({', '.join(others)} not read)"
    elif header and header[0].lower() in _TIME_HEADERS:
        names = header[1:]
        if not names or any(not n for n in names):
            raise InputFileError(
                f"{path} line 1: a wide history needs a named column per underlying after "
                f"{header[0]!r}; got header {header}."
            )
        if len(set(names)) != len(names):
            raise InputFileError(f"{path} line 1: column names repeat in header {header}.")
        if columns is not None:
            absent = [c for c in columns if c not in names]
            if absent:
                raise InvalidInputError(
                    f"{path} has no column(s) {absent}; its underlyings are {names}. "
                    "Choose some of those in 'underlyings'."
                )
            names = list(columns)
        value_cols = {n: header.index(n) for n in names}
    else:
        raise InputFileError(
            f"{path} line 1: unrecognised header {header}. Expected the Yahoo layout "
            f"({','.join(_YAHOO_COLUMNS)}) or a wide layout whose first column is one of "
            f"{sorted(_TIME_HEADERS)} followed by one column per underlying."
        )
    time_col = header[0]
    width = len(header)
    per_name: dict[str, tuple[list[int], list[float], list[int]]] = {n: ([], [], []) for n in value_cols}
    all_seconds: list[int] = []
    all_lines: list[int] = []
    blanks = {n: 0 for n in value_cols}
    for line_no, row in rows:
        if len(row) != width:
            raise InputFileError(
                f"{path} line {line_no}: {len(row)} fields, but the header has {width} "
                f"({','.join(header)}). Fix the row."
            )
        seconds = _parse_seconds(row[0], where=f"{path} line {line_no}, column {time_col!r}")
        all_seconds.append(seconds)
        all_lines.append(line_no)
        for name, col in value_cols.items():
            cell = row[col]
            if not yahoo and not cell.strip():
                blanks[name] += 1  # wide layout: an empty cell means "no observation", reported
                continue
            value = _parse_value(cell, where=f"{path} line {line_no}, column {header[col]!r}", what=what)
            secs, vals, lines = per_name[name]
            secs.append(seconds)
            vals.append(value)
            lines.append(line_no)
    _check_order(all_seconds, all_lines, path=path, column=time_col)
    out = []
    for name, (secs, vals, _lines) in per_name.items():
        if not secs:
            raise InputFileError(f"{path}: column {name!r} has no values.")
        out.append(
            _Series(
                name=name,
                source=str(path),
                seconds=np.asarray(secs, np.int64),
                values=np.asarray(vals, np.float64),
                blanks=blanks[name],
                note=note,
            )
        )
    return out


def _as_paths(path: str | Path | Sequence[str | Path]) -> list[Path]:
    if isinstance(path, (str, Path)):
        return [Path(path)]
    paths = [Path(p) for p in path]
    if not paths:
        raise InvalidInputError("Give at least one history file path.")
    return paths


def _load_series(
    path: str | Path | Sequence[str | Path], underlyings: Sequence[str] | None, *, what: str
) -> list[_Series]:
    paths = _as_paths(path)
    if underlyings is not None:
        if isinstance(underlyings, str):
            raise InvalidInputError(
                f"'underlyings' must be a sequence of names, e.g. [{underlyings!r}]; got the string {underlyings!r}."
            )
        underlyings = [str(u) for u in underlyings]
    series: list[_Series] = []
    if len(paths) == 1:
        header, _ = _read_rows(paths[0])
        if _is_yahoo(header):
            if underlyings is not None and len(underlyings) != 1:
                raise InvalidInputError(
                    f"{paths[0]} is a one-underlying Yahoo file; 'underlyings' must name exactly one "
                    f"underlying; got {underlyings}."
                )
            series = _read_file(
                paths[0], what=what, yahoo_name=underlyings[0] if underlyings else None, columns=None
            )
        else:
            series = _read_file(paths[0], what=what, yahoo_name=None, columns=underlyings)
    else:
        if underlyings is not None and len(underlyings) != len(paths):
            raise InvalidInputError(
                f"With {len(paths)} files, 'underlyings' must give one name per file in the same order; "
                f"got {underlyings}. Or omit it to take names from the file names."
            )
        for k, p in enumerate(paths):
            header, _ = _read_rows(p)
            if not _is_yahoo(header) and underlyings is not None:
                raise InvalidInputError(
                    f"{p} is a wide file; name-per-file 'underlyings' only applies to Yahoo files. "
                    "Load wide files separately and join them with combine_histories()."
                )
            series.extend(
                _read_file(p, what=what, yahoo_name=underlyings[k] if underlyings else None, columns=None)
            )
    names = [s.name for s in series]
    if len(set(names)) != len(names):
        dup = sorted({n for n in names if names.count(n) > 1})
        raise InvalidInputError(
            f"Underlying(s) {dup} appear in more than one file ({[s.source for s in series]}). "
            "Give each underlying once, or name them with 'underlyings'."
        )
    return series


def _intersect(series: list[_Series]) -> tuple[np.ndarray, np.ndarray, list[tuple[str, int]], list[str]]:
    common = series[0].seconds
    for s in series[1:]:
        common = np.intersect1d(common, s.seconds, assume_unique=True)
    if common.size == 0:
        raise InvalidInputError(
            "The series share no timestamp: "
            + "; ".join(
                f"{s.name} {np.datetime64(int(s.seconds[0]), 's')}..{np.datetime64(int(s.seconds[-1]), 's')}" for s in series
            )
            + ". Check that the files cover overlapping periods with the same bar times."
        )
    values = np.empty((common.size, len(series)))
    dropped: list[tuple[str, int]] = []
    notes: list[str] = []
    intraday = _modal_spacing_seconds(common.astype("datetime64[s]")) < _SECONDS_PER_DAY
    for j, s in enumerate(series):
        if s.note:
            notes.append(s.note)
        keep = np.isin(s.seconds, common, assume_unique=True)
        values[:, j] = s.values[keep]
        n_drop = int((~keep).sum())
        dropped.append((s.name, n_drop))
        if s.blanks:
            notes.append(f"{s.name}: {s.blanks} empty cell(s) in {s.source} (no observation at those times)")
        if n_drop:
            lost = s.seconds[~keep].astype("datetime64[s]")
            notes.append(
                f"{s.name}: {n_drop} of {s.seconds.size} rows outside the common timestamps dropped "
                f"(first {_format_ts(lost[0], intraday)}, last {_format_ts(lost[-1], intraday)}); "
                "nothing was filled"
            )
    ts = common.astype("datetime64[s]")
    if ts.size >= 2:
        spacing = _modal_spacing_seconds(ts)
        steps = np.diff(common)
        gaps = np.flatnonzero(steps > spacing)
        if gaps.size:
            worst = int(gaps[np.argmax(steps[gaps])])
            notes.append(
                f"{gaps.size} gap(s) longer than the usual {spacing} s bar spacing in the common timestamps "
                f"(largest {int(steps[worst])} s after {_format_ts(ts[worst], intraday)}); returns across a "
                "gap span more than one bar"
            )
    return ts, values, dropped, notes


def load_history(
    path: str | Path | Sequence[str | Path], *, underlyings: Sequence[str] | None = None
) -> PriceHistory:
    """Read close prices from CSV file(s) into a :class:`PriceHistory`.

    Parameters
    ----------
    path : path or sequence of paths
        One wide file, one Yahoo file, or several Yahoo (or wide) files.
    underlyings : sequence of str, optional
        For Yahoo files: the underlying of each file, in file order (default:
        from the file name, ``BTC-USD.csv`` -> ``BTC``). For one wide file:
        the columns to keep, in that order (default: all).

    Returns
    -------
    PriceHistory
        Closes in the files' quote currency on the timestamps common to all
        series; :attr:`PriceHistory.notes` records dropped rows and gaps.

    Raises
    ------
    InputFileError
        A file is missing, has an unknown header, a malformed or non-positive
        value, or timestamps that repeat or go backwards (the message names
        the file, line, column and value).
    InvalidInputError
        ``underlyings`` does not fit the files, an underlying appears twice,
        or the series share no timestamp.

    Examples
    --------
    >>> h = load_history(["BTC-USD.csv", "ETH-USD.csv"])   # doctest: +SKIP
    >>> h.names                                              # doctest: +SKIP
    ('BTC', 'ETH')
    """
    series = _load_series(path, underlyings, what="close price")
    ts, values, dropped, notes = _intersect(series)
    return PriceHistory(
        timestamps=ts,
        closes=values,
        names=tuple(s.name for s in series),
        sources=tuple(dict.fromkeys(s.source for s in series)),
        notes=tuple(notes),
        dropped_rows=tuple(dropped),
    )


# Values at or above this are taken as vol points by unit="auto" detection, and
# rejected as decimals by unit="decimal" (500 % annual vol).
_POINTS_THRESHOLD = 5.0


def load_implied_vol_history(
    path: str | Path | Sequence[str | Path],
    *,
    unit: Literal["points", "decimal", "auto"],
    underlyings: Sequence[str] | None = None,
) -> VolHistory:
    """Read an implied-vol index history (e.g. DVOL) as annual decimal vols.

    Parameters
    ----------
    path : path or sequence of paths
        Same layouts as :func:`load_history` (wide ``timestamp,BTC,ETH`` or
        one Yahoo-style file per underlying, ``Close`` = the index level).
    unit : {"points", "decimal", "auto"}
        Required: the unit the file is written in. ``"points"``: 55 means 55 %
        (DVOL's convention); ``"decimal"``: 0.55 means 55 %. ``"auto"``
        detects per file: every value below 5 -> decimals, every value at or
        above 5 -> points; values on both sides are ambiguous and fail.
    underlyings : sequence of str, optional
        As in :func:`load_history`.

    Returns
    -------
    VolHistory
        Vols as annual decimals.

    Raises
    ------
    InputFileError
        Malformed file (as in :func:`load_history`).
    InvalidInputError
        Unknown ``unit``; ``unit="auto"`` cannot decide; ``unit="decimal"``
        with a value of 5 (500 %) or more, which is vol points.
    """
    if unit not in ("points", "decimal", "auto"):
        raise InvalidInputError(f"unit must be 'points', 'decimal' or 'auto'; got {unit!r}.")
    series = _load_series(path, underlyings, what="implied volatility")
    ts, values, dropped, notes = _intersect(series)
    lo, hi = float(values.min()), float(values.max())
    if unit == "auto":
        if hi < _POINTS_THRESHOLD:
            unit = "decimal"
        elif lo >= _POINTS_THRESHOLD:
            unit = "points"
        else:
            raise InvalidInputError(
                f"Cannot detect the unit of the implied vols in {[s.source for s in series]}: values run "
                f"from {lo} to {hi}, on both sides of {_POINTS_THRESHOLD}. Pass unit='points' (55 = 55 %) "
                "or unit='decimal' (0.55 = 55 %)."
            )
        notes.append(f"implied-vol unit detected as {unit} (values {lo:g}..{hi:g})")
    elif unit == "decimal" and hi >= _POINTS_THRESHOLD:
        raise InvalidInputError(
            f"unit='decimal' but the implied vols reach {hi} ({hi:.0%} a year), which looks like vol points. "
            "Pass unit='points' if 55 means 55 %."
        )
    vols = values / 100.0 if unit == "points" else values
    return VolHistory(
        timestamps=ts,
        vols=vols,
        names=tuple(s.name for s in series),
        file_unit=unit,
        sources=tuple(dict.fromkeys(s.source for s in series)),
        notes=tuple(notes),
        dropped_rows=tuple(dropped),
    )


def combine_histories(histories: Sequence[PriceHistory]) -> PriceHistory:
    """Join price histories of different underlyings on their common timestamps.

    Rows outside the intersection are dropped and counted (added to each
    underlying's :attr:`PriceHistory.dropped_rows`), never filled.

    Raises
    ------
    InvalidInputError
        An underlying appears in two histories, or they share no timestamp.
    """
    if not histories:
        raise InvalidInputError("combine_histories needs at least one history.")
    series: list[_Series] = []
    previous: dict[str, int] = {}
    notes: list[str] = []
    sources: list[str] = []
    for h in histories:
        secs = h.timestamps.astype(np.int64)
        for j, name in enumerate(h.names):
            series.append(_Series(name=name, source=",".join(h.sources), seconds=secs, values=h.closes[:, j]))
        previous.update(dict(h.dropped_rows))
        notes.extend(h.notes)
        sources.extend(h.sources)
    names = [s.name for s in series]
    if len(set(names)) != len(names):
        dup = sorted({n for n in names if names.count(n) > 1})
        raise InvalidInputError(f"Underlying(s) {dup} appear in more than one history; give each once.")
    ts, values, dropped, more = _intersect(series)
    return PriceHistory(
        timestamps=ts,
        closes=values,
        names=tuple(names),
        sources=tuple(dict.fromkeys(sources)),
        notes=tuple(notes + more),
        dropped_rows=tuple((n, k + previous.get(n, 0)) for n, k in dropped),
    )
