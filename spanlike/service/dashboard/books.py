"""Books the page uploads or pastes, read by the library's own readers.

A file's text is written to a private temporary file under the name the
user gave (suffix ``.csv`` or ``.json``), then read with
:func:`spanlike.loaders.load_portfolio`: CSV, our JSON form, or a venue's
positions payload (a Deribit ``get_positions`` response) detected by
content, exactly as ``spanlike margin FILE`` reads it. Messages name the
user's file name, not the temporary path.

Pasted rows are CSV (``instrument,quantity,unit``; the header may be left
out) or JSON (text starting with ``{`` or ``[``).
"""

from __future__ import annotations

import re
import tempfile
from pathlib import Path
from typing import Any

from spanlike import errors
from spanlike.loaders import load_portfolio

__all__ = ["PASTED_NAME", "read_book_text"]

#: Name used in messages for pasted rows.
PASTED_NAME = "pasted rows"
_HEADER = "instrument,quantity,unit"
_SAFE = re.compile(r"[^A-Za-z0-9_.-]+")


def _kind(filename: str, content: str) -> str:
    suffix = Path(filename).suffix.lower()
    if suffix in (".csv", ".json"):
        return suffix
    if filename == PASTED_NAME:
        return ".json" if content.lstrip()[:1] in ("{", "[") else ".csv"
    raise errors.InputFileError(
        f"{filename!r}: the file name must end in .csv (instrument,quantity,unit) or .json (our positions form "
        "or a Deribit get_positions response). Rename the file or paste its rows.")


def read_book_text(*, filename: str, content: str) -> dict[str, Any]:
    """Positions of an uploaded file or pasted rows.

    Parameters
    ----------
    filename : str
        The file's name as the user's browser gave it, or :data:`PASTED_NAME`.
    content : str
        Its text (UTF-8).

    Returns
    -------
    dict
        ``account``, ``positions`` (``instrument``, signed ``quantity`` in
        ``unit``, netted as the library nets them) and ``notes``.

    Raises
    ------
    InputFileError, InvalidPositionError, InvalidInstrumentError
        The readers' errors, naming ``filename``, the line or element and the fix.
    """
    suffix = _kind(filename, content)
    shifted = False
    if filename == PASTED_NAME and suffix == ".csv":
        first = next((ln for ln in content.splitlines() if ln.strip() and not ln.lstrip().startswith("#")), "")
        if not first.lower().replace(" ", "").startswith("instrument,"):
            content = _HEADER + "\n" + content
            shifted = True
    if not content.strip():
        raise errors.InputFileError(f"{filename!r} is empty. Give at least one position (instrument,quantity,unit).")
    base = _SAFE.sub("_", Path(filename).stem)[:60] or "book"
    with tempfile.TemporaryDirectory(prefix="spanlike-book-") as tmp:
        path = Path(tmp) / f"{base}{suffix}"
        path.write_text(content, encoding="utf-8")
        try:
            portfolio = load_portfolio(path)
        except errors.SpanlikeError as err:
            # The reader names its path; the user knows the file by the name they gave.
            message = str(err).replace(str(path), filename).replace(path.name, filename)
            if shifted:  # the header we added is not one of the user's lines
                message = re.sub(r"\bline (\d+)", lambda m: f"line {int(m.group(1)) - 1}", message)
            raise type(err)(message) from None
    return {
        "account": portfolio.account,
        "positions": [{"instrument": p.instrument.name, "quantity": p.quantity, "unit": p.unit}
                      for p in portfolio.positions],
        "notes": list(portfolio.notes),
    }
