"""Input files: which format a portfolio or market file is, and who reads it.

The one place format detection happens. By suffix first, then by content:

=====================  =======================================================
``.csv``               our CSV (:meth:`Portfolio.from_csv`, :meth:`MarketSnapshot.from_csv`)
``.json``              a registered venue's payload when the venue's shape
                       test recognises the decoded JSON (e.g. a Deribit
                       ``get_positions`` or ``get_book_summary_by_currency``
                       response, :mod:`spanlike.venues.deribit`), else our JSON
                       form (:meth:`Portfolio.from_mapping`,
                       :meth:`MarketSnapshot.from_mapping`)
=====================  =======================================================

Several market files make one snapshot only as payloads of one venue (e.g.
Deribit option and future book summaries). ``venue=`` skips the detection.

Also the shared text and JSON file readers whose errors name the file, the
line and column and the fix.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import TYPE_CHECKING, Any, Sequence

from spanlike.params.errors import InputFileError

if TYPE_CHECKING:  # pragma: no cover
    from spanlike.market import MarketSnapshot
    from spanlike.portfolio import Portfolio
    from spanlike.venues import Venue

__all__ = [
    "PathLike",
    "read_text",
    "load_json",
    "detect_portfolio_format",
    "detect_market_format",
    "portfolio_from_json_data",
    "load_portfolio",
    "load_market",
]

PathLike = str | os.PathLike[str]


def read_text(path: Path, *, what: str) -> str:
    """A UTF-8 text file (a BOM is dropped).

    Parameters
    ----------
    path : Path
    what : str
        The kind of file for messages (``"Portfolio"``, ``"Market"``).

    Raises
    ------
    InputFileError
        The file is missing or not UTF-8 text.
    """
    try:
        return path.read_text(encoding="utf-8-sig")
    except FileNotFoundError:
        raise InputFileError(f"{what} file {path} does not exist. Check the path.") from None
    except (OSError, UnicodeDecodeError) as err:
        raise InputFileError(f"{what} file {path} cannot be read as UTF-8 text: {err}.") from None


def load_json(path: Path, *, what: str) -> Any:
    """A decoded JSON file.

    Raises
    ------
    InputFileError
        Missing or unreadable file, or invalid JSON (naming line and column).
    """
    text = read_text(path, what=what)
    try:
        return json.loads(text)
    except json.JSONDecodeError as err:
        raise InputFileError(
            f"{what} file {path} is not valid JSON: {err.msg} at line {err.lineno}, column {err.colno}. "
            "Fix the syntax (quotes, commas, brackets)."
        ) from None


# --------------------------------------------------------------------------- detection


def _venues() -> tuple["Venue", ...]:
    from spanlike.venues import available_venues, get_venue

    return tuple(get_venue(name) for name in available_venues())


def _positions_venue(data: Any) -> "Venue | None":
    for venue in _venues():
        if venue.is_positions_payload is not None and venue.is_positions_payload(data):
            return venue
    return None


def _market_venue(data: Any) -> "Venue | None":
    for venue in _venues():
        if venue.is_market_payload is not None and venue.is_market_payload(data):
            return venue
    return None


def _formats(attr: str) -> str:
    return "".join(f" or {getattr(v, attr)}" for v in _venues() if getattr(v, attr))


def detect_portfolio_format(path: PathLike) -> str:
    """The format of a portfolio file: ``"csv"``, ``"json"`` (ours) or a venue name.

    Raises
    ------
    InputFileError
        Unknown suffix, or an unreadable / invalid JSON file.
    """
    p = Path(path)
    suffix = p.suffix.lower()
    if suffix == ".csv":
        return "csv"
    if suffix == ".json":
        venue = _positions_venue(load_json(p, what="Portfolio"))
        return "json" if venue is None else venue.name
    raise _portfolio_suffix_error(p)


def detect_market_format(path: PathLike) -> str:
    """The format of a market file: ``"csv"``, ``"json"`` (ours) or a venue name.

    Raises
    ------
    InputFileError
        Unknown suffix, or an unreadable / invalid JSON file.
    """
    p = Path(path)
    suffix = p.suffix.lower()
    if suffix == ".csv":
        return "csv"
    if suffix == ".json":
        venue = _market_venue(load_json(p, what="Market"))
        return "json" if venue is None else venue.name
    raise _market_suffix_error(p)


def _portfolio_suffix_error(p: Path) -> InputFileError:
    return InputFileError(
        f"Portfolio file {p}: unknown suffix {p.suffix!r}. Use .csv (instrument,quantity,unit) or .json "
        f"(our form{_formats('positions_format')})."
    )


def _market_suffix_error(p: Path) -> InputFileError:
    return InputFileError(
        f"Market file {p}: unknown suffix {p.suffix!r}. Use .json (our form{_formats('market_format')}) or .csv."
    )


# --------------------------------------------------------------------------- portfolios


def portfolio_from_json_data(data: Any, *, source: str) -> "Portfolio":
    """A portfolio from decoded JSON: a venue's positions payload or our form.

    Parameters
    ----------
    data : dict or list
        Decoded JSON.
    source : str
        Name for messages (the file path).
    """
    from spanlike.portfolio import Portfolio

    venue = _positions_venue(data)
    if venue is not None:
        assert venue.read_positions is not None
        return venue.read_positions(data, source=source)
    return Portfolio.from_mapping(data, source=source)


def load_portfolio(path: PathLike, *, venue: str | None = None) -> "Portfolio":
    """Read a portfolio file, choosing the reader by suffix and content (module docstring).

    Parameters
    ----------
    path : str or path-like
    venue : str, optional
        Read the file as this venue's positions payload, without detection.

    Returns
    -------
    Portfolio

    Raises
    ------
    InputFileError
        Unknown suffix, or the reader's errors.
    InvalidInputError
        An unknown ``venue``, or one without a positions reader.
    """
    from spanlike.portfolio import Portfolio

    p = Path(path)
    if venue is not None:
        v = _venue_with(venue, "read_positions", "positions")
        return v.read_positions(p)  # type: ignore[misc]
    suffix = p.suffix.lower()
    if suffix == ".csv":
        return Portfolio.from_csv(p)
    if suffix == ".json":
        return Portfolio.from_json(p)
    raise _portfolio_suffix_error(p)


# --------------------------------------------------------------------------- markets


def load_market(paths: PathLike | Sequence[PathLike], *, venue: str | None = None) -> "MarketSnapshot":
    """Read one market file, or several payloads of one venue, into one snapshot.

    Parameters
    ----------
    paths : path or sequence of paths
        One snapshot file (any format of the module docstring), or several
        files of one venue's market payload (e.g. Deribit option and future
        book summaries).
    venue : str, optional
        Read the files as this venue's market payload, without detection.

    Returns
    -------
    MarketSnapshot

    Raises
    ------
    InputFileError
        No file, an unknown suffix, several files that are not one venue's
        payloads, or the reader's errors.
    InvalidInputError
        An unknown ``venue``, or one without a market reader.
    """
    from spanlike.market import MarketSnapshot

    items = [paths] if isinstance(paths, (str, os.PathLike)) else list(paths)
    if not items:
        raise InputFileError("No market file given. Give one snapshot file, or one or more venue payload files.")
    if venue is not None:
        v = _venue_with(venue, "read_market", "market")
        return v.read_market(*items)  # type: ignore[misc]
    first = Path(items[0])
    if len(items) == 1:
        suffix = first.suffix.lower()
        if suffix == ".csv":
            return MarketSnapshot.from_csv(first)
        if suffix != ".json":
            raise _market_suffix_error(first)
        data = load_json(first, what="Market")
        found = _market_venue(data)
        if found is None:
            return MarketSnapshot.from_mapping(data, source=str(first))
        assert found.read_market is not None
        return found.read_market(first)
    found = _market_venue(load_json(first, what="Market")) if first.suffix.lower() == ".json" else None
    if found is None:
        raise InputFileError(
            f"Market files {', '.join(str(p) for p in items)}: several files make one snapshot only as payloads of "
            f"one venue (e.g.{_formats('market_format')[3:]}), and {first} is not one. "
            "Give a single snapshot file, or the venue's payload files."
        )
    assert found.read_market is not None
    return found.read_market(*items)


def _venue_with(name: str, attr: str, what: str) -> "Venue":
    from spanlike.params.errors import InvalidInputError
    from spanlike.venues import get_venue

    v = get_venue(name)
    if getattr(v, attr) is None:
        raise InvalidInputError(f"Venue {v.name} has no {what} payload reader. Give the file in our JSON or CSV form.")
    return v
