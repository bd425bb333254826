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

Also the shared readers every non-SPAN input goes through, so each refuses
bad bytes the same way, naming the file, the line and column and the fix:

* only regular files are read (:func:`check_regular_file`): a FIFO would
  block, ``/dev/zero`` would never end; a symlink is followed and its target
  judged;
* at most :data:`MAX_INPUT_BYTES` bytes (256 MiB) are read from one file
  (``max_bytes=`` on :func:`read_text`, :func:`load_json` overrides it on
  purpose);
* text is UTF-8 (a BOM is dropped); a byte that is not names its line, column
  and value;
* JSON (:func:`loads_json`): a key repeated in one object, ``NaN`` /
  ``Infinity``, an integer of more than :data:`MAX_JSON_INTEGER_DIGITS`
  digits and nesting deeper than Python can decode are refused, never read
  as the last value or a float;
* CSV (:func:`csv_lines`): lines split on ``\\n``, ``\\r\\n`` or ``\\r`` only;
  a cell over the ``csv`` module's field limit (131,072 characters) is
  refused with its line; numbers are plain decimals (:func:`parse_decimal`:
  no ``1_000``, ``nan`` or ``infinity`` spellings).
"""

from __future__ import annotations

import csv
import json
import math
import os
import re
import stat
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Iterator, Sequence

from spanlike.params.errors import InputFileError

if TYPE_CHECKING:  # pragma: no cover
    from spanlike.market import MarketSnapshot
    from spanlike.portfolio import Portfolio
    from spanlike.venues import Venue

__all__ = [
    "PathLike",
    "MAX_INPUT_BYTES",
    "MAX_JSON_INTEGER_DIGITS",
    "check_regular_file",
    "read_bytes",
    "read_text",
    "loads_json",
    "load_json",
    "csv_lines",
    "parse_decimal",
    "show_value",
    "check_output_path",
    "detect_portfolio_format",
    "detect_market_format",
    "portfolio_from_json_data",
    "load_portfolio",
    "load_market",
]

PathLike = str | os.PathLike[str]

#: Largest input file read whole, in bytes (256 MiB). A portfolio, market or
#: history file of that size is far beyond any real one; the bound keeps a
#: mistaken path (a disk image, a log) from filling memory. Pass
#: ``max_bytes=`` to :func:`read_text` / :func:`load_json` to read more on
#: purpose.
MAX_INPUT_BYTES: int = 256 * 1024 * 1024

#: Longest integer literal accepted in JSON input (digits). 10**30 is far past
#: any quantity, price or timestamp; longer literals are typos or attacks
#: (Python refuses to convert past 4,300 digits anyway).
MAX_JSON_INTEGER_DIGITS: int = 30

_FILE_KINDS = (
    (stat.S_ISDIR, "a directory"),
    (stat.S_ISFIFO, "a FIFO (named pipe)"),
    (stat.S_ISCHR, "a character device"),
    (stat.S_ISBLK, "a block device"),
    (stat.S_ISSOCK, "a socket"),
)


def show_value(value: object, *, limit: int = 60) -> str:
    """``repr(value)`` short enough for a message, for any value a user can write.

    Integers past a few hundred digits cannot even be printed by Python
    (``ValueError`` past 4,300 digits), so they are described by their size;
    long strings are cut with their length stated.
    """
    if isinstance(value, int) and not isinstance(value, bool) and abs(value).bit_length() > 200:
        digits = int(abs(value).bit_length() * math.log10(2)) + 1
        return f"{'-' if value < 0 else ''}an integer of about {digits} digits"
    if isinstance(value, str) and len(value) > limit:
        return f"{value[:limit]!r}... ({len(value):,} characters)"
    if isinstance(value, list) and all(isinstance(v, str) and len(v) <= limit for v in value) and len(value) <= 10:
        return repr(value)
    text = repr(value)
    return text if len(text) <= limit + 20 else f"{text[:limit]}... ({type(value).__name__})"


def check_regular_file(path: PathLike, *, what: str) -> Path:
    """``path`` if it names a regular file (after following symlinks).

    Parameters
    ----------
    path : str or path-like
    what : str
        The kind of file for messages (``"Portfolio"``, ``"Market"``).

    Returns
    -------
    Path

    Raises
    ------
    InputFileError
        Missing (a dangling symlink says so), not a regular file (a FIFO, a
        directory, a device: named), or not accessible.
    """
    p = Path(path)
    try:
        info = os.stat(p)  # follows symlinks: the target decides
    except FileNotFoundError:
        if os.path.islink(p):
            raise InputFileError(
                f"{what} file {p} is a symbolic link to {os.readlink(p)!r}, which does not exist. Check the link."
            ) from None
        raise InputFileError(f"{what} file {p} does not exist. Check the path.") from None
    except OSError as err:
        raise InputFileError(f"{what} file {p} cannot be opened: {err.strerror or err}. Check the path.") from None
    if not stat.S_ISREG(info.st_mode):
        kind = next((name for test, name in _FILE_KINDS if test(info.st_mode)), "not a regular file")
        target = f" (a link to {os.path.realpath(p)})" if os.path.islink(p) else ""
        raise InputFileError(
            f"{what} file {p}{target} is not a regular file ({kind}). Give the path of a file on disk."
        )
    return p


def read_bytes(path: PathLike, *, what: str, max_bytes: int | None = None) -> bytes:
    """The bytes of a regular file of at most ``max_bytes`` (default :data:`MAX_INPUT_BYTES`).

    Raises
    ------
    InputFileError
        See :func:`check_regular_file`; larger than the bound (the bound is
        named); unreadable.
    """
    p = check_regular_file(path, what=what)
    limit = MAX_INPUT_BYTES if max_bytes is None else int(max_bytes)
    try:
        with open(p, "rb") as fh:
            data = fh.read(limit + 1)
    except OSError as err:
        raise InputFileError(f"{what} file {p} cannot be read: {err.strerror or err}.") from None
    if len(data) > limit:
        raise InputFileError(
            f"{what} file {p} is larger than {limit:,} bytes, the limit for one input file. Check the path; "
            "to read a larger file on purpose pass max_bytes=."
        )
    return data


def _line_col(data: bytes, offset: int) -> tuple[int, int]:
    line = data.count(b"\n", 0, offset) + 1
    return line, offset - (data.rfind(b"\n", 0, offset) + 1) + 1


def read_text(path: PathLike, *, what: str, max_bytes: int | None = None) -> str:
    """A UTF-8 text file (a BOM is dropped), read by :func:`read_bytes`.

    Parameters
    ----------
    path : str or path-like
    what : str
        The kind of file for messages (``"Portfolio"``, ``"Market"``).
    max_bytes : int, optional
        Default :data:`MAX_INPUT_BYTES`.

    Raises
    ------
    InputFileError
        See :func:`read_bytes`; a byte that is not UTF-8 (its line, column
        and value named).
    """
    data = read_bytes(path, what=what, max_bytes=max_bytes)
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as err:
        line, col = _line_col(data, err.start)
        bad = data[err.start:err.end].hex(" ")
        raise InputFileError(
            f"{what} file {path} line {line}, column {col}: byte(s) 0x{bad} are not UTF-8 text ({err.reason}). "
            "Save the file as UTF-8."
        ) from None


class _JsonRefusal(Exception):
    """Raised inside the JSON decoder's hooks; turned into InputFileError with the source."""


def _no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in pairs:
        if key in out:
            shown = ", ".join(f"{k!r}: {show_value(v, limit=30)}" for k, v in pairs[:4] if not isinstance(v, (dict, list)))
            raise _JsonRefusal(
                f"key {key!r} appears twice in one object ({{{shown}{', ...' if len(pairs) > 4 else ''}}}) with values "
                f"{show_value(out[key], limit=30)} and {show_value(value, limit=30)}; keep one (JSON readers "
                "disagree on which wins, so none is guessed)"
            )
        out[key] = value
    return out


def _no_constant(name: str) -> Any:
    raise _JsonRefusal(f"{name} is not a number JSON allows; give a finite number or leave the field out")


def _bounded_int(text: str) -> int:
    if len(text.lstrip("-")) > MAX_JSON_INTEGER_DIGITS:
        raise _JsonRefusal(
            f"an integer of {len(text.lstrip('-')):,} digits ({text[:20]}...) is out of any plausible range "
            f"(at most {MAX_JSON_INTEGER_DIGITS} digits are read)"
        )
    return int(text)


def loads_json(text: str, *, source: str, what: str, parse_number: Callable[[str], Any] | None = None) -> Any:
    """Decode JSON text strictly (module docstring).

    Parameters
    ----------
    text : str
    source : str
        The file (or a description) for messages.
    what : str
        The kind of input for messages (``"Portfolio"``).
    parse_number : callable, optional
        Builds every number (integer or not) from its text, for a reader that
        keeps the digits as printed (``spanlike reconcile``); integers are
        still bounded first.

    Raises
    ------
    InputFileError
        Invalid JSON (line and column), a repeated key (the key and both
        values), ``NaN``/``Infinity``, an over-long integer, or nesting too
        deep to decode.
    """
    try:
        if parse_number is None:
            return json.loads(
                text, object_pairs_hook=_no_duplicates, parse_constant=_no_constant, parse_int=_bounded_int
            )
        return json.loads(
            text, object_pairs_hook=_no_duplicates, parse_constant=_no_constant, parse_float=parse_number,
            parse_int=lambda t: (_bounded_int(t), parse_number(t))[1],
        )
    except json.JSONDecodeError as err:
        raise InputFileError(
            f"{what} file {source} is not valid JSON: {err.msg} at line {err.lineno}, column {err.colno}. "
            "Fix the syntax (quotes, commas, brackets)."
        ) from None
    except _JsonRefusal as err:
        raise InputFileError(f"{what} file {source}: {err}.") from None
    except RecursionError:
        raise InputFileError(
            f"{what} file {source} nests arrays or objects too deeply to read (thousands of levels); "
            "no input format of ours nests more than a few levels. Check the file."
        ) from None


def load_json(path: PathLike, *, what: str, max_bytes: int | None = None) -> Any:
    """A decoded JSON file (:func:`read_text` then :func:`loads_json`).

    Raises
    ------
    InputFileError
        See :func:`read_text` and :func:`loads_json`.
    """
    return loads_json(read_text(path, what=what, max_bytes=max_bytes), source=str(path), what=what)


_LINE_BREAK = re.compile(r"\r\n|\r|\n")


def csv_lines(text: str, *, where: str) -> Iterator[tuple[int, list[str]]]:
    """The non-blank, non-comment lines of CSV text as ``(line number, cells)``.

    Lines split on ``\\n``, ``\\r\\n`` or ``\\r`` only (not on the other
    characters :meth:`str.splitlines` breaks at, which may sit in a cell).
    Blank lines and lines whose first non-space character is ``#`` are
    skipped. Cells are not stripped.

    Parameters
    ----------
    text : str
    where : str
        Prefix for messages (``"Portfolio file book.csv"``).

    Raises
    ------
    InputFileError
        A line the ``csv`` module cannot split (a cell over its field limit,
        a NUL byte), naming the line.
    """
    for n, line in enumerate(_LINE_BREAK.split(text), start=1):
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        try:
            cells = next(csv.reader([line]))
        except csv.Error as err:
            reason = str(err)
            if "field limit" in reason:
                reason = f"a cell is longer than {csv.field_size_limit():,} characters, the CSV field limit"
            raise InputFileError(f"{where} line {n}: cannot split the line into cells: {reason}. Fix the line.") from None
        yield n, cells


_DECIMAL = re.compile(r"[+-]?(?:(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)?|nan|inf|infinity)", re.IGNORECASE)


def parse_decimal(text: str) -> float | None:
    """A plain decimal number (``-2.5``, ``1e-3``) as float; None if ``text`` is not one.

    Python's ``float`` also reads ``1_000`` and non-ASCII digits; a data file
    means neither. ``nan`` and ``inf`` are read (as float) so that the
    caller's finiteness check names them; a literal too large for a float
    gives ``inf`` likewise.
    """
    s = text.strip()
    if len(s) > 400 or not _DECIMAL.fullmatch(s):
        return None
    return float(s)


# --------------------------------------------------------------------------- output paths


def _name_max(directory: Path) -> int:
    try:
        return int(os.pathconf(directory, "PC_NAME_MAX"))
    except (OSError, ValueError, AttributeError):  # not every platform or file system says
        return 255


def check_output_path(path: PathLike, *, what: str, directory: bool = False) -> Path:
    """Check a destination before the work that fills it, so a bad path fails first.

    Parameters
    ----------
    path : str or path-like
        A file to be written, or (``directory=True``) a directory to write
        files into (created, with its parents, by the writer).
    what : str
        For messages (``"--out"``, ``"--plot"``).

    Returns
    -------
    Path

    Raises
    ------
    InputFileError
        A file name longer than the file system allows, a file that would
        replace a directory (or a directory that is a file), a missing parent
        directory of a file, or a directory that cannot be written; naming
        the path and the fix.
    """
    p = Path(path)
    for part in p.parts:
        if len(os.fsencode(part)) > 255 or len(part) > _name_max(p.parent if p.parent.exists() else Path(".")):
            raise InputFileError(
                f"{what} {show_value(str(p))}: the name {show_value(part)} is {len(part):,} characters, longer "
                f"than the file system allows ({_name_max(Path('.'))}). Give a shorter name."
            )
    if directory:
        if p.exists() and not p.is_dir():
            raise InputFileError(f"{what} {p} is an existing file, not a directory. Give a directory to write into.")
        probe = p
        while not probe.exists():
            probe = probe.parent
        if not probe.is_dir():
            raise InputFileError(f"{what} {p}: {probe} is a file, so the directory cannot be made. Give another path.")
        if not os.access(probe, os.W_OK | os.X_OK):
            raise InputFileError(f"{what} {p}: directory {probe} is not writable. Give a writable directory.")
        return p
    if p.is_dir():
        raise InputFileError(f"{what} {p} is a directory; give a file path inside it (e.g. {p / 'out'}).")
    parent = p.parent
    if not parent.exists():
        raise InputFileError(f"{what} {p}: the directory {parent} does not exist. Create it first or give another path.")
    if not parent.is_dir():
        raise InputFileError(f"{what} {p}: {parent} is not a directory. Give another path.")
    if not os.access(parent, os.W_OK | os.X_OK) or (p.exists() and not os.access(p, os.W_OK)):
        raise InputFileError(f"{what} {p} cannot be written (permission denied). Give a writable path.")
    return p


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
