"""Columnar reading and writing of batch files: CSV, parquet and JSON Lines through pyarrow.

Reading
-------
:func:`read_table` returns every column as strings (CSV) or as stored
(parquet), with header names stripped and lower-cased, rows of blank cells
and ``#`` comment lines skipped exactly as the row-by-row reader of
:mod:`spanlike.batch.accounts` did, and a :class:`RowPlaces` that maps a
data row back to its file line for error messages. pyarrow parses the bytes
in C++; anything it refuses (a row with the wrong number of cells, bytes that
are not UTF-8) is handed to the row-by-row reader, which names the file and
line of the first bad row. So the fast path changes speed, never the message.

Line numbers are computed only when a message or a note needs one: for a
file without quotes, comment or blank lines after the header (what programs
write) a data row's line is arithmetic; otherwise one pass of :mod:`csv`
over the file finds it.

Writing
-------
:func:`write_table` writes a :class:`pyarrow.Table` as CSV, parquet or JSON
Lines by the path's suffix. Numbers are written in the shortest text that
reads back to the same float64 (pyarrow's formatting), so the same input
gives the same bytes; missing values are an empty CSV cell and JSON
``null``. :func:`check_output_path` refuses a bad ``--out`` before any work.
"""

from __future__ import annotations

import csv
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, BinaryIO, Callable, Iterator

import numpy as np
from numpy.typing import NDArray

from spanlike.errors import InputFileError

__all__ = [
    "OUTPUT_SUFFIXES",
    "RowPlaces",
    "StringTable",
    "check_output_path",
    "read_table",
    "slow_rows",
    "write_table",
]

#: Output formats by suffix.
OUTPUT_SUFFIXES = (".csv", ".parquet", ".jsonl")
_PARQUET = (".parquet", ".pq")
_LINE_END = re.compile(rb"\r\n|\n|\r")
#: Bytes that may be (part of) whitespace that str.strip() removes: only files holding one need trimming.
_MAYBE_SPACE = bytes([9, 11, 12, *range(0x1C, 0x21), *range(0x80, 0x100)])
#: A comment line: '#' at the start of the file or of a line, after blanks.
_COMMENT = re.compile(rb"(?:^|[\r\n])[ \t]*#")


def _has_comment(data: bytes) -> bool:
    """Whether a line starts with '#' (after blanks); plain substring tests first, they run at memchr speed."""
    if b"#" not in data:  # one memchr pass (1 ms for 30 MB); the tests below look at every line start
        return False
    if data.startswith(b"#") or b"\n#" in data or b"\r#" in data:
        return True
    if data[:1] in (b" ", b"\t") or b"\n " in data or b"\n\t" in data or b"\r " in data or b"\r\t" in data:
        return _COMMENT.search(data) is not None
    return False


def _may_need_trim(data: bytes) -> bool:
    """Whether any byte could be whitespace that ``str.strip`` removes (a blank, a tab, non-ASCII)."""
    return len(data.translate(None, _MAYBE_SPACE)) != len(data)


# --- reading --------------------------------------------------------------------------------------

@dataclass
class RowPlaces:
    """Where data row ``i`` of a table came from, as ``"<file> line <n>"`` (or ``row <n>`` for parquet).

    ``lines`` is filled on first use: by arithmetic for a regular CSV, by one
    :mod:`csv` pass otherwise (:func:`slow_rows` skips exactly the same rows).
    """

    path: Path
    kind: str  # "csv" or "parquet"
    first_line: int = 2  # CSV: the line of data row 0; parquet: its 1-based row (after earlier row groups)
    regular: bool = True
    kept: NDArray[np.int64] | None = None  # pyarrow rows kept (after dropping rows of blank cells)
    _lines: NDArray[np.int64] | None = field(default=None, repr=False)

    def line(self, i: int) -> int:
        """The 1-based file line (CSV) or data row (parquet) of data row ``i``."""
        if self.kind == "parquet":
            return self.first_line + int(i)
        if self.regular:
            j = int(self.kept[i]) if self.kept is not None else int(i)
            return self.first_line + j
        if self._lines is None:
            # Not the header; slow_rows skips rows of blank cells too, so this indexes kept rows.
            self._lines = np.fromiter((n for n, _ in slow_rows(self.path)), dtype=np.int64)[1:]
        return int(self._lines[i])

    def where(self, i: int) -> str:
        """``"<file> line <n>"`` (CSV) or ``"<file> row <n>"`` (parquet)."""
        return f"{self.path} {'line' if self.kind == 'csv' else 'row'} {self.line(i)}"


@dataclass
class StringTable:
    """Columns of a batch file: name -> pyarrow array (strings for CSV), and where each row came from."""

    columns: dict[str, Any]
    places: RowPlaces
    n_rows: int


def _cannot_read(what: str, path: Path, err: OSError) -> InputFileError:
    return InputFileError(f"{what} file {path} cannot be read: {err.strerror or err}. Check the path.")


def _header_text(columns: tuple[str, ...], optional: tuple[str, ...]) -> str:
    return f"'{','.join(columns + optional)}' ({', '.join(optional) or 'no column'} optional)"


def _check_header(names: list[str], raw: list[str], *, what: str, path: Path, where: str,
                  columns: tuple[str, ...], optional: tuple[str, ...]) -> None:
    unknown = [h for h in names if h not in columns + optional]
    missing = [c for c in columns if c not in names]
    if unknown or missing or len(set(names)) != len(names):
        raise InputFileError(
            f"{what} file {path} {where}: the header must be {_header_text(columns, optional)}; "
            f"got {','.join(raw)!r}."
        )


def _not_utf8(what: str, path: Path) -> InputFileError:
    """The error for a file that is not UTF-8, naming the line and byte of the first bad byte."""
    data = path.read_bytes()
    try:
        data.decode("utf-8")
    except UnicodeDecodeError as err:
        line = data.count(b"\n", 0, err.start) + 1
        column = err.start - (data.rfind(b"\n", 0, err.start) + 1) + 1
        return InputFileError(
            f"{what} file {path} line {line} is not UTF-8 text ({err.reason} at byte {column} of the line, "
            f"0x{data[err.start]:02x}). Save the file as UTF-8."
        )
    return InputFileError(f"{what} file {path} is not UTF-8 text. Save the file as UTF-8.")  # pragma: no cover


def _is_skipped(cells: list[str]) -> bool:
    """A blank row, a row of blank cells, or a comment (first cell starts with '#')."""
    return not cells or not "".join(cells).strip() or cells[0].lstrip().startswith("#")


def slow_rows(path: Path, what: str = "Input") -> Iterator[tuple[int, list[str]]]:
    """``(line, cells)`` of the header and every data row, in Python (the reference reader).

    Cells are stripped; blank rows, rows of blank cells and ``#`` comment rows
    are skipped. Used for line numbers of irregular files and to name the
    first row pyarrow refused.

    Raises
    ------
    InputFileError
        The file cannot be opened or is not UTF-8 (line named).
    """
    try:
        handle = path.open(newline="", encoding="utf-8-sig")
    except OSError as err:
        raise _cannot_read(what, path, err) from None
    with handle:
        reader = csv.reader(handle)
        try:
            for cells in reader:
                if _is_skipped(cells):
                    continue
                yield reader.line_num, [c.strip() for c in cells]
        except UnicodeDecodeError:
            raise _not_utf8(what, path) from None
        except csv.Error as err:
            raise InputFileError(f"{what} file {path} line {reader.line_num}: {err}. Fix the quoting.") from None


def _slow_table(path: Path, what: str, columns: tuple[str, ...], optional: tuple[str, ...]) -> StringTable:
    """The whole file through :func:`slow_rows` (files pyarrow refused): exact messages, slower."""
    import pyarrow as pa

    header: list[str] | None = None
    data: list[list[str]] = []
    lines: list[int] = []
    for line_no, cells in slow_rows(path, what):
        if header is None:
            header = [c.lower() for c in cells]
            _check_header(header, cells, what=what, path=path, where=f"line {line_no}", columns=columns,
                          optional=optional)
            continue
        if len(cells) != len(header):
            raise InputFileError(
                f"{what} file {path} line {line_no}: expected {len(header)} cells ({','.join(header)}), "
                f"got {len(cells)}."
            )
        data.append(cells)
        lines.append(line_no)
    if header is None:
        raise InputFileError(f"{what} file {path} is empty. Give the header '{','.join(columns + optional)}'.")
    cols = {name: pa.array([row[k] for row in data], type=pa.string()) for k, name in enumerate(header)}
    places = RowPlaces(path, "csv", regular=False)
    places._lines = np.asarray(lines, dtype=np.int64)
    return StringTable(cols, places, len(data))


def _strip_comments(data: bytes) -> tuple[bytes, bool]:
    """Drop ``#`` comment lines (pyarrow has no comment syntax); True if any was dropped."""
    if not _has_comment(data):
        return data, False
    kept = [line for line in data.splitlines(keepends=True) if not line.lstrip().startswith(b"#")]
    return b"".join(kept), True


def _find_header(data: bytes) -> tuple[int, int, list[str] | None] | None:
    """``(line, end offset, raw cells)`` of the first row the reference reader keeps (cells None: no such row).

    None when the leading lines are not plain UTF-8 CSV (the slow reader names the problem).
    """
    end = 0
    line_no = 0
    while end < len(data) and line_no < 10_000:
        line_no += 1
        nl = _LINE_END.search(data, end)
        stop = nl.end() if nl is not None else len(data)
        raw_line = data[end:stop]
        end = stop
        try:
            cells = next(csv.reader([raw_line.decode("utf-8")]), [])
        except (UnicodeDecodeError, csv.Error):
            return None
        if not _is_skipped(cells):
            return line_no, end, cells
    return (line_no, end, None) if end >= len(data) else None


def _read_csv_fast(path: Path, what: str, columns: tuple[str, ...], optional: tuple[str, ...]) -> StringTable | None:
    """pyarrow's reader on a file; None where it refuses the file (the caller takes the slow reader)."""
    import pyarrow as pa
    import pyarrow.compute as pc
    import pyarrow.csv as pcsv

    try:
        data = path.read_bytes()
    except OSError as err:
        raise _cannot_read(what, path, err) from None
    if data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]
    if b'"' in data:
        body, dropped = data, False  # a comment-looking line may sit inside a quoted cell: leave it to csv
        if _has_comment(data):
            return None
    else:
        body, dropped = _strip_comments(data)
    found = _find_header(data)
    if found is None:
        return None
    header_line, head_end, header_raw = found
    if header_raw is None:
        raise InputFileError(f"{what} file {path} is empty. Give the header '{','.join(columns + optional)}'.")
    header = [c.strip().lower() for c in header_raw]
    _check_header(header, [c.strip() for c in header_raw], what=what, path=path, where=f"line {header_line}",
                  columns=columns, optional=optional)
    if dropped:
        again = _find_header(body)
        if again is None or again[2] != header_raw:
            return None
        head_end = again[1]
    rest = memoryview(body)[head_end:]
    try:
        table = pcsv.read_csv(
            pa.BufferReader(pa.py_buffer(rest)),
            read_options=pcsv.ReadOptions(column_names=header, block_size=1 << 22),
            parse_options=pcsv.ParseOptions(newlines_in_values=b'"' in body),
            convert_options=pcsv.ConvertOptions(column_types={h: pa.string() for h in header},
                                                strings_can_be_null=False, quoted_strings_can_be_null=False),
        )
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        return None
    cols = {name: table.column(name).combine_chunks() for name in header}
    parsed_rows = table.num_rows
    if _may_need_trim(body[head_end:]):
        # Cells are stripped as str.strip() would; a file of plain ASCII without blanks skips this pass.
        cols = {name: pc.utf8_trim_whitespace(col) for name, col in cols.items()}
    # Rows whose cells are all blank are skipped by the reference reader.
    blank = None
    for arr in cols.values():
        empty = pc.equal(pc.utf8_length(arr), 0)
        blank = empty if blank is None else pc.and_(blank, empty)
    kept = None
    if blank is not None and pc.any(blank).as_py():
        keep = pc.invert(blank)
        kept = np.flatnonzero(keep.to_numpy(zero_copy_only=False)).astype(np.int64)
        cols = {k: v.filter(keep) for k, v in cols.items()}
    # Regular: data row i is on line first_line + i. No quotes (a quoted cell may span lines), no comment
    # dropped, no lone-CR line ends, and as many line ends as rows parsed (pyarrow skips empty lines, so
    # one more line than rows means a blank line); counting newlines is one memchr-speed pass, where
    # searching for b"\n\n" stopped at every line.
    n_lines = rest.nbytes and body.count(b"\n", head_end) + (0 if body.endswith(b"\n") else 1)
    regular = not dropped and body.find(b'"', head_end) < 0 \
        and (body.find(b"\r", head_end) < 0 or body.find(b"\r\n", head_end) >= 0) and n_lines == parsed_rows
    places = RowPlaces(path, "csv", first_line=header_line + 1, regular=regular, kept=kept)
    n = len(next(iter(cols.values()))) if cols else 0
    return StringTable(cols, places, n)


def _read_parquet(path: Path, what: str, columns: tuple[str, ...], optional: tuple[str, ...],
                  row_group: int | None = None) -> StringTable:
    import pyarrow as pa
    import pyarrow.parquet as pq

    first_row = 1
    try:
        if path.is_dir():
            table = pq.read_table(path)  # a folder of parquet files: the dataset reader
        else:
            # One file through ParquetFile, not pq.read_table: the latter goes through pyarrow.dataset,
            # whose import pulls in pandas (a third of a second of a 100,000-account run).
            with pq.ParquetFile(path) as handle:
                if row_group is None:
                    table = handle.read()
                else:
                    table = handle.read_row_group(row_group)
                    # Rows are named by their place in the file, not in the row group.
                    first_row += sum(handle.metadata.row_group(g).num_rows for g in range(row_group))
    except OSError as err:
        raise _cannot_read(what, path, err) from None
    except (pa.ArrowInvalid, pa.ArrowException) as err:
        raise InputFileError(f"{what} file {path} is not a readable parquet file: {err}. Check the file.") from None
    raw = list(table.column_names)
    names = [n.strip().lower() for n in raw]
    _check_header(names, raw, what=what, path=path, where="columns", columns=columns, optional=optional)
    cols = {n: table.column(r).combine_chunks() for n, r in zip(names, raw)}
    return StringTable(cols, RowPlaces(path, "parquet", first_line=first_row), table.num_rows)


def read_table(path: str | Path, *, what: str, columns: tuple[str, ...], optional: tuple[str, ...] = (),
               row_group: int | None = None) -> StringTable:
    """Columns of a batch input file (CSV or parquet, by suffix), header checked.

    Parameters
    ----------
    path : str or Path
    what : str
        Named in messages (``"Positions"``, ``"Equity"``).
    columns, optional : tuple of str
        Required and optional column names (lower case).
    row_group : int, optional
        Parquet only: read this row group of the file (a partition of the
        Dask path); rows are still named by their place in the whole file.

    Returns
    -------
    StringTable
        CSV cells as stripped strings; parquet columns as stored.

    Raises
    ------
    InputFileError
        Missing file, bad header, a wrong cell count or non-UTF-8 bytes
        (file and line named).
    """
    p = Path(path)
    if p.suffix.lower() in _PARQUET:
        return _read_parquet(p, what, columns, optional, row_group)
    fast = _read_csv_fast(p, what, columns, optional)
    return fast if fast is not None else _slow_table(p, what, columns, optional)


# --- writing --------------------------------------------------------------------------------------

def check_output_path(path: str | Path) -> Path:
    """``path`` if results can be written there, before any work is done.

    Raises
    ------
    InputFileError
        A suffix other than .csv, .parquet or .jsonl, a missing parent
        directory, or a path that is a directory; the path is named.
    """
    p = Path(path)
    if p.is_dir():
        raise InputFileError(f"Output file {p} is a directory. Give a file name, e.g. {p / 'margins.csv'}.")
    if p.suffix.lower() not in OUTPUT_SUFFIXES:
        raise InputFileError(
            f"Output file {p} must end in .csv, .parquet or .jsonl. Got suffix {p.suffix!r}."
        )
    parent = p.parent
    if not parent.is_dir():
        raise InputFileError(
            f"Output file {p} cannot be written: the directory {parent} does not exist. Create it or fix the path."
        )
    return p


def _text_columns(table: Any, *, json: bool) -> list[Any]:
    """Each column as a string array of cells (CSV or JSON text), nulls as '' / 'null'."""
    import pyarrow as pa
    import pyarrow.compute as pc

    out = []
    for name in table.column_names:
        col = table.column(name).combine_chunks()
        t = col.type
        if pa.types.is_string(t) or pa.types.is_large_string(t):
            if json:
                text = _json_strings(col)
            else:
                needs = pc.match_substring_regex(col, r'[",\r\n]')
                quoted = pc.binary_join_element_wise('"', pc.replace_substring(col, '"', '""'), '"', "")
                text = pc.if_else(needs, quoted, col)
        elif pa.types.is_boolean(t):
            text = pc.if_else(col, "true", "false")
        else:
            text = pc.cast(col, pa.string())
        out.append(pc.fill_null(text, "null" if json else ""))
    return out


def _json_strings(col: Any) -> Any:
    import json as _json

    import pyarrow as pa
    import pyarrow.compute as pc

    plain = pc.invert(pc.match_substring_regex(col, r'["\\\x00-\x1f]'))
    if pc.all(plain).as_py() is not False:
        return pc.binary_join_element_wise('"', col, '"', "")
    # Rare: escape in Python only the cells that need it.
    values = col.to_pylist()
    return pa.array([None if v is None else _json.dumps(v, ensure_ascii=False) for v in values], type=pa.string())


def write_table(table: Any, target: str | Path | BinaryIO, *, fmt: str | None = None) -> None:
    """Write ``table`` as CSV, parquet or JSON Lines (by ``fmt`` or the path's suffix).

    Parameters
    ----------
    table : pyarrow.Table
    target : path or binary stream
    fmt : {"csv", "parquet", "jsonl"}, optional
        Default: from the suffix (:func:`check_output_path`).

    Notes
    -----
    Floats are written as pyarrow formats them, the shortest decimal text that
    reads back to the same float64; the same table gives the same bytes.
    Parquet is written without statistics' timestamps or a created-by
    variation: ``pyarrow.parquet.write_table`` defaults, which are deterministic
    for a given pyarrow version.
    """
    import pyarrow as pa
    import pyarrow.compute as pc

    if fmt is None:
        fmt = check_output_path(target).suffix.lower().lstrip(".")  # type: ignore[arg-type]
    if fmt == "parquet":
        import pyarrow.parquet as pq

        pq.write_table(table, target)
        return
    if fmt not in ("csv", "jsonl"):
        raise InputFileError(f"Unknown output format {fmt!r}; choose csv, parquet or jsonl.")
    json = fmt == "jsonl"
    cells = _text_columns(table, json=json)
    if json:
        import json as _json

        keys = [_json.dumps(n) + ":" for n in table.column_names]
        parts: list[Any] = []
        for k, (key, col) in enumerate(zip(keys, cells)):
            parts.extend([("{" if k == 0 else ",") + key, col])
        parts.append("}\n")
        head = b""
    else:
        parts = []
        for k, col in enumerate(cells):
            if k:
                parts.append(",")
            parts.append(col)
        parts.append("\n")
        names = [n if not any(c in n for c in ',"\r\n') else '"' + n.replace('"', '""') + '"'
                 for n in table.column_names]
        head = (",".join(names) + "\n").encode("utf-8")
    n = table.num_rows
    opened = not hasattr(target, "write")
    handle: BinaryIO = Path(target).open("wb") if opened else target  # type: ignore[arg-type,assignment]
    try:
        handle.write(head)
        step = 131_072
        for lo in range(0, n, step):
            pieces = [p if isinstance(p, str) else p.slice(lo, step) for p in parts]
            lines = pc.binary_join_element_wise(*pieces, "")
            buf = pa.concat_arrays([lines]).buffers()
            # One contiguous UTF-8 buffer: the values of the string array, written without Python strings.
            offsets = np.frombuffer(buf[1], dtype=np.int32, count=len(lines) + 1, offset=lines.offset * 4)
            handle.write(memoryview(buf[2])[offsets[0]:offsets[-1]])
    finally:
        if opened:
            handle.close()


def progress_noop(stage: str, fraction: float) -> None:  # pragma: no cover - trivial
    """A progress callback that does nothing."""


ProgressCallback = Callable[[str, float], None]
