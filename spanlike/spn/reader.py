"""Streaming, hardened reader of CME SPAN risk-parameter files (XML ``fileFormat`` 4.00).

``read_spn(path)`` returns a :class:`~spanlike.spn.model.SpanFile`. Inputs may
be plain XML, ``.gz`` or ``.zip`` (the first ``.spn`` member); the kind is
recognised by its magic bytes.

How it reads
------------
Memory is bounded by the read chunk (4 MB) and the largest product family or
batch of families (``_BATCH_BYTES``), not by the file.

1. **Validation** by expat (C, no Python callbacks per element). It rejects
   malformed and truncated XML with the line and column, and refuses any
   document type declaration (hence any entity definition, billion-laughs
   expansion or external entity) before any record is read.
2. **Extraction**: a scanner walks the container elements (``spanFile``,
   ``definitions``, ``pointInTime``, ``clearingOrg``, ``exchange``,
   ``interSpreads``) and hands each record element to a handler. Small
   records of one container (currency, point and combined-commodity
   definitions, spreads) are parsed by one ElementTree call per 32 KB.
   Product families (the bulk of a file) are read in batches: family headers
   and option series heads by regular expressions that encode the XSD content
   model (child order and optionality), and the runs of contract records
   (``opt``, ``fut``, ``phy``) by the *token path* (:mod:`._tokens`): numpy
   finds every tag, checks each distinct record form against the content
   model once and converts the texts column-wise, numbers by word-wise
   parsers equal bit for bit to ``float()``/``int()``
   (:func:`~spanlike.spn._fastparse.decimal_spans`; other texts are read by
   the builtins). A run the token path does not model goes to the *regex
   path* (one pattern per record, numbers parsed per batch by
   :func:`~spanlike.spn._fastparse.decimals`), and anything the regex path
   does not model (an unknown element, another child order, an entity, a bad
   number) sends the family to the *slow path*, an ElementTree walk that
   reads the same fields, records unmodelled elements in ``SpanFile.skipped``
   and raises precise errors. The three give equal results, bit for bit
   (tested on every fixture, on edited fixtures and on the Takasbank file).

Validation and extraction run in one of two orders. The **lazy pass** (tried first) scans
first and gives expat the document behind the scanner, except the runs of
contract records the token path checked completely (tags, nesting, white
space, texts, characters): expat reads a placeholder in their place, whose
reported position proves the run stood in element content (see
:class:`_Lazy`). It stops at the first problem of any kind, and the **strict
pass** reads the file again with expat first on every chunk, so a bad file's
error, line and element path are always the strict pass's. Neither expands
an entity.

Errors are :class:`~spanlike.errors.InputFileError` naming the file, the line
and the element path (``spanFile/pointInTime/clearingOrg/exchange/oopPf/series/opt/ra/a``).

Elements and their meaning (XSD ``spanrisk.xml`` published in the
marketcalls/marginism repository; marginism's ``parser.py``/``algorithm.py``)
-----------------------------------------------------------------------------
``spanFile``: ``fileFormat``, ``created``, ``definitions`` (``currencyDef``:
currency, symbol, name, ``decimalPos``; ``acctTypeDef``), ``pointInTime``
(``date``, ``isSetl``, ``setlQualifier``, ``clearingOrg``).
``clearingOrg``: ``ec`` code, ``curConv`` (fromCur, toCur, factor), ``pbRateDef``
(what rate id ``r`` means: customer flag, account type, ``isM`` maintenance
flag, class), ``pointDef`` (per rate id: 16 ``scanPointDef`` = point number,
``priceScanDef``/``volScanDef`` move as ``mult`` = ``numerator/denominator``
scan ranges, ``weight``, ``pairedPoint``; ``deltaPointDef`` = points and
weights of the composite delta), ``exchange``, ``ccDef``, ``interSpreads``.
``exchange``: product families ``phyPf`` (physicals/underlyings), ``futPf``,
``oopPf``/``oofPf``/``ooePf``/``oocPf`` (options on physicals, futures,
equities, combinations). A family has ``pfId``, ``pfCode``, ``currency``,
``cvf``, ``priceDl`` (decimals), ``valueMeth`` (``FUT`` futures-style,
``EQTY`` premium-style), ``undPf``. Contracts: ``cId``, ``pe`` period code,
``p`` settlement price, ``d`` delta, ``v`` vol, ``cvf`` contract value
factor, ``val`` = ``p`` x ``cvf``, ``sc``, ``setlDate``, ``t`` years to expiry,
``undC`` (the underlying contract by ``pfId``/``cId``), ``scanRate``
(``priceScan`` in currency per contract, ``volScan``/``volScanPct``), ``ra``
(rate id ``r``, one ``a`` per scan point, ``d`` composite delta). Option
``series`` carry ``pe``, ``setlDate``, ``t``, ``cvf``, ``svf``, ``undC``,
``intrRate`` (val, rl, cpm, exm), ``divRate``, ``scanRate``; ``opt`` carries
``o`` (C/P), ``k`` strike, ``p``, ``pq``, ``d``, ``v``, ``val``, ``ra``.
``ccDef``: ``cc``, ``currency``, methods (``somMeth`` GROSS/MAX, ``spotMeth``,
``wfprMeth``), ``pfLink`` (exch, pfId, pfCode, pfType, ``sc``,
``arrayPrecision``), ``adjRate``, tiers (``scanTiers``, ``intraTiers``,
``interTiers``, ``somTiers``: ``tn``, ``sPe``, ``ePe``, ``rate``), ``dSpread``
(``spread`` priority, ``chargeMeth`` F/P/W, ``rate`` r/val, legs ``tLeg`` (cc,
tn, rs side, i delta ratio) or ``pLeg`` (cc, pe, rs, i)), ``spotRate`` (r, pe,
``sprd`` rate for delta in spreads, ``outr`` for outright delta).
``interSpreads``: ``dSpread`` with legs in different combined commodities.

Conventions of the real file (Takasbank, Borsa Istanbul, 2016-05-17)
--------------------------------------------------------------------
* **Sign**: arrays are loss-positive for a long contract. A future (AKBNKE
  201605, priceScan 90) has -30, -60, -90 in the price-up scenarios 3, 7, 11
  and +30, +60, +90 in the price-down ones.
* **Units**: arrays and ``priceScan`` are currency per contract (TRY), i.e.
  already multiplied by ``cvf`` (100 shares per equity contract): a 90 TRY
  scan range is 0.90 TRY per share on a 7.58 TRY price.
* **Cover fraction**: scenarios 15/16 already include it. ``scanPointDef``
  15/16 say price +-3 ranges (mult 3, numerator 3, denominator 1) with weight
  0.32, and the future's arrays hold -+86.4 = 3 x 90 x 0.32. Do not apply
  the weight again.
* **Lookahead**: option arrays include time decay: a deep in-the-money call
  (AKBNKE 201605 C 6.00) shows a loss of 0.239 TRY in scenarios 1 and 2
  (price and vol unchanged or vol up/down), which only passing time explains.
  Futures arrays show none (scenarios 1/2 are -0). The file states no
  ``lookAheadDays``.
* **Deltas**: ``opt/d`` is 0 for every option; the delta to use is the
  composite delta ``ra/d`` (weighted over the 7 ``deltaPointDef`` points,
  weights .037 .111 .217 .270 .217 .111 .037).
* **Decimals**: prices and strikes carry exactly ``priceDl``/``strikeDl``
  explicit decimals (no implied decimal point to undo); arrays have 6
  decimals (``arrayPrecision`` 6); ``mult`` is rounded (0.333333), so use
  ``numerator/denominator`` (:attr:`ScanDef.fraction`).
* **Tiers/spreads**: each ccDef has one intra tier, one inter tier and one
  SOM tier, all ``tn`` 0 covering every period; one intra ``dSpread`` (method
  F, a flat rate per spread, legs tier 0 side A and B, ratio 1); 56 inter
  spreads (method W, rate = credit share 0.5-1.0, tier 0 legs with delta
  ratios such as 12.75 AKBNKE : 1 XU030). SOM method GROSS.
* **Schema deviations**: physicals use the period code ``00000S`` (the XSD
  asks for six digits) and ``pfLink`` puts ``oopDeltaMeth`` before
  ``arrayPrecision``; both are read as they are.
"""

from __future__ import annotations

import codecs
import collections
import gzip
import functools
import io
import itertools
import math
import os
import re
import sys
import time
import xml.etree.ElementTree as ET
import zipfile
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any, Callable, Iterator, Sequence, Union
from xml.parsers import expat

import numpy as np

from spanlike.params.errors import InputFileError
from spanlike.spn import _fastparse, _tokens
from spanlike.spn._fastparse import decimals
from spanlike.spn.model import (
    NON_OPTION_FAMILY_TAGS,
    OPTION_FAMILY_TAGS,
    AccountTypeDef,
    AdjustmentRate,
    ClearingOrg,
    CombinedCommodityDef,
    CurrencyConversion,
    CurrencyDef,
    DeltaPointDef,
    DeltaSpread,
    Exchange,
    Family,
    InterestRate,
    NonOptionContracts,
    OptionContracts,
    OptionFamily,
    OptionSeries,
    PerformanceBondRate,
    PerMonthRate,
    PointDef,
    ProductFamily,
    ProductLink,
    RateValue,
    ScanDef,
    ScanPointDef,
    ScanRate,
    SpanFile,
    SpotRate,
    SpreadLeg,
    Tier,
    UnderlyingContract,
    UnderlyingFamily,
    family_sort_key,
)

__all__ = ["read_spn", "ProgressCallback"]

#: ``progress(bytes_done, bytes_total_or_None)``, called as the file is read.
ProgressCallback = Callable[[int, Union[int, None]], None]

_CHUNK = 1 << 22
_BATCH_BYTES = 2 << 20
_PROGRESS_MIN_BYTES = 4 << 20
_CONTAINERS: dict[tuple[str, ...], frozenset[str]] = {
    (): frozenset({"spanFile"}),
    ("spanFile",): frozenset({"definitions", "pointInTime"}),
    ("spanFile", "pointInTime"): frozenset({"clearingOrg"}),
    ("spanFile", "pointInTime", "clearingOrg"): frozenset({"exchange", "interSpreads"}),
}
_CODES = expat.errors.codes
_UNDEFINED_ENTITY = _CODES[expat.errors.XML_ERROR_UNDEFINED_ENTITY]
_TRUNCATION_CODES = frozenset(
    _CODES[e]
    for e in (
        expat.errors.XML_ERROR_NO_ELEMENTS,
        expat.errors.XML_ERROR_UNCLOSED_TOKEN,
        expat.errors.XML_ERROR_PARTIAL_CHAR,
        expat.errors.XML_ERROR_UNCLOSED_CDATA_SECTION,
    )
)
#: Elements that may contain themselves (XSD: dSpread holds dSpread).
_SELF_NESTING = frozenset({"dSpread"})
#: records parsed by one ElementTree call with their neighbours of the same container (each
#: handler reads its record's element through _Reader.element exactly once)
_PARSED_TOGETHER: dict[tuple[str, ...], frozenset[str]] = {
    ("spanFile", "definitions"): frozenset({"currencyDef", "acctTypeDef"}),
    ("spanFile", "pointInTime", "clearingOrg"): frozenset({"curConv", "pbRateDef", "pointDef", "ccDef"}),
    ("spanFile", "pointInTime", "clearingOrg", "interSpreads"): frozenset({"dSpread"}),
}
_SMALL_BYTES = 32 << 10  # (measured: 8 KB to 1 MB alike, one record at a time ~0.7 ms slower)
_TAG = re.compile(rb"<(/?)([A-Za-z_][\w.\-:]*)(?:\s[^<>]*?)?(/?)>")
_SPACE_RUN = re.compile(rb"[ \t\r\n]*+")


class _FieldError(Exception):
    """A bad value inside a record: indexed path relative to the record, and a message."""

    def __init__(self, rel_path: Sequence[tuple[str, int]], message: str) -> None:
        super().__init__(message)
        self.rel_path = tuple(rel_path)
        self.message = message


class _Unsupported(Exception):
    """The fast path met something it does not model; the slow path takes over."""


# ---------------------------------------------------------------------------
# Input sources
# ---------------------------------------------------------------------------


def _open_source(path: Path) -> tuple[IO[bytes], int | None, Callable[[], int]]:
    """Open ``path`` as a binary stream of XML, decompressing .gz/.zip.

    Returns the stream, the number of bytes to expect (None if unknown) and
    a function giving the bytes consumed so far on that scale.
    """
    try:
        raw = open(path, "rb")
    except OSError as exc:
        raise InputFileError(f"Cannot open SPAN file '{path}': {exc.strerror or exc}.") from exc
    magic = raw.read(4)
    raw.seek(0)
    size = os.fstat(raw.fileno()).st_size
    if magic.startswith(b"PK\x03\x04"):
        try:
            archive = zipfile.ZipFile(raw)
            members = [i for i in archive.infolist() if not i.is_dir()]
            spn = [i for i in members if i.filename.lower().endswith(".spn")]
            if not spn:
                raise InputFileError(
                    f"SPAN file '{path}' is a zip archive without a .spn member "
                    f"(members: {[i.filename for i in members][:10]}). Pass the .spn file or a zip holding one."
                )
            info = spn[0]
            stream = archive.open(info)
        except zipfile.BadZipFile as exc:
            raw.close()
            raise InputFileError(f"SPAN file '{path}' is a damaged zip archive: {exc}.") from exc
        counter = _CountingReader(stream)
        return counter, info.file_size, lambda: counter.count
    if magic.startswith(b"\x1f\x8b"):
        stream = gzip.GzipFile(fileobj=raw)
        return _CountingReader(stream), size, raw.tell
    counter = _CountingReader(raw)
    return counter, size, lambda: counter.count


class _CountingReader(io.RawIOBase):
    """Counts bytes read from a binary stream (decompressed bytes for archives)."""

    def __init__(self, stream: IO[bytes]) -> None:
        self._stream = stream
        self.count = 0

    def read(self, n: int = -1) -> bytes:  # type: ignore[override]
        data = self._stream.read(n)
        self.count += len(data)
        return data

    def close(self) -> None:
        self._stream.close()
        super().close()


class _ProgressBar:
    """A one-line stderr progress bar (no dependency)."""

    def __init__(self, label: str) -> None:
        self._label = label
        self._last = -1.0
        self._shown = False

    def __call__(self, done: int, total: int | None) -> None:
        if total:
            frac = min(done / total, 1.0)
            if frac - self._last < 0.01 and frac < 1.0:
                return
            self._last = frac
            bar = "#" * int(frac * 30)
            sys.stderr.write(f"\r{self._label} [{bar:<30}] {frac * 100:5.1f}% {done / 1e6:7.1f} MB")
        else:
            mb = done / 1e6
            if mb - self._last < 1.0:
                return
            self._last = mb
            sys.stderr.write(f"\r{self._label} {mb:7.1f} MB")
        self._shown = True
        sys.stderr.flush()

    def finish(self) -> None:
        if self._shown:
            sys.stderr.write("\n")
            sys.stderr.flush()


# ---------------------------------------------------------------------------
# Public entry point
# ---------------------------------------------------------------------------


def read_spn(path: str | os.PathLike[str], *, progress: bool | ProgressCallback = False) -> SpanFile:
    """Read a SPAN risk-parameter file.

    Parameters
    ----------
    path : str or path-like
        A ``.spn`` XML file, or a ``.gz`` of one, or a ``.zip`` holding one
        (the first member ending in ``.spn`` is read).
    progress : bool or callable, optional
        ``True`` draws a progress bar on stderr for files of 4 MB or more; a
        callable is called as ``progress(bytes_done, bytes_total)`` after
        each chunk (``bytes_total`` None when unknown). A file in error is
        read a second time to name the error (module notes), and the
        progress starts again then.

    Returns
    -------
    SpanFile
        The file's content; risk arrays are loss-positive per long contract.

    Raises
    ------
    InputFileError
        The file cannot be opened, is not well-formed or truncated (message
        with line and element path), declares a DTD or entities (refused:
        entity expansion and external entities are never processed), misses
        a required element or holds a value of the wrong type.

    Examples
    --------
    >>> span = read_spn("takasbank-20160517.spn")            # doctest: +SKIP
    >>> span.point_def(1).cover_fraction                     # doctest: +SKIP
    0.32
    """
    file_path = Path(path)
    bars: list[_ProgressBar] = []

    def attempt(lazy: bool) -> SpanFile:
        stream, total, consumed = _open_source(file_path)
        callback: ProgressCallback | None = None
        if callable(progress):
            callback = progress
        elif progress and (total is None or total >= _PROGRESS_MIN_BYTES):
            if not bars:
                bars.append(_ProgressBar(f"reading {file_path.name}"))
            callback = bars[0]
        try:
            return _Reader(str(file_path), stream, total, consumed, callback, lazy=lazy).run()
        finally:
            stream.close()

    try:
        try:
            return attempt(lazy=True)
        except Exception:  # whatever went wrong (a bad file, a run expat must see): the strict pass decides
            pass
        return attempt(lazy=False)
    finally:
        for bar in bars:
            bar.finish()


# ---------------------------------------------------------------------------
# The streaming scanner
# ---------------------------------------------------------------------------


class _DtdRefused(Exception):
    pass


class _LazyFailed(Exception):
    """The lazy pass cannot vouch for the file; the strict pass reads it."""


_RUN_TARGET = "spanlike-run"
#: what expat reads in place of a run of contracts the token path checked: a processing
#: instruction (its position, reported by expat, proves the run was in element content, not
#: in a comment, CDATA section or another instruction) and an empty element (an error in the
#: prolog or after the root element)
_RUN_PLACEHOLDER = b"<?" + _RUN_TARGET.encode() + b"?><" + _RUN_TARGET.encode() + b"/>"


class _Lazy:
    """Expat's side of the lazy pass: the document, fed after the scanner, without checked runs.

    The strict pass hands every chunk to expat before scanning it. The lazy pass scans first
    and hands expat the bytes behind the scanner, with each run of contract records that the
    token path checked completely (tags, nesting, white space between elements, texts without
    ``<`` or ``&``, characters: :func:`_xml_characters_only`), and each small record that
    ElementTree (expat too, same encoding, no DTD) has parsed, replaced by
    ``_RUN_PLACEHOLDER``. Expat still sees the prolog first (a document type declaration is
    refused before any record is read) and everything else. If expat accepts that document
    and reports the placeholders' instructions exactly where they were put, the file is
    well-formed: a run of well-formed elements in element content, where a placeholder
    element stood, keeps it so. Any failure (of expat, the scanner, a record reader or this
    check) ends the lazy pass and the strict pass reads the file, so errors, and their lines
    and element paths, are those of the strict pass. No entity is expanded in either pass.
    """

    def __init__(self, parser: Any) -> None:
        self.parser = parser
        self.fed = 0  # offset in the document up to which expat has its bytes
        self.sent = 0  # bytes handed to expat (placeholders included)
        self.skips: collections.deque[tuple[int, int]] = collections.deque()
        self.placed: list[int] = []  # where each placeholder starts in what expat was handed
        self.seen: list[int] = []  # where expat met the placeholders' instructions
        parser.ProcessingInstructionHandler = self._instruction

    def _instruction(self, target: str, data: str) -> None:
        if target == _RUN_TARGET:
            self.seen.append(self.parser.CurrentByteIndex)

    def skip(self, runs: Sequence[tuple[int, int]]) -> None:
        """Runs (document offsets, after the bytes fed so far) expat is not to see."""
        if runs and min(runs)[0] < self.fed:
            raise _LazyFailed("a checked run was already handed to expat")
        self.skips = collections.deque(sorted([*self.skips, *runs]))

    def feed(self, buf: bytes, buf_at: int, upto: int) -> None:
        """Hand expat the document up to offset ``upto`` (``buf`` holds it from ``buf_at``)."""
        if upto <= self.fed:
            return
        parts = []
        at, size = self.fed, 0
        while self.skips and self.skips[0][0] < upto:
            start, end = self.skips.popleft()
            if end > upto or start < at:
                raise _LazyFailed("a checked run across a feeding point")
            parts.append(buf[at - buf_at:start - buf_at])
            size += len(parts[-1])
            self.placed.append(self.sent + size)
            parts.append(_RUN_PLACEHOLDER)
            size += len(_RUN_PLACEHOLDER)
            at = end
        parts.append(buf[at - buf_at:upto - buf_at])
        data = b"".join(parts)
        self.parser.Parse(data, False)
        self.sent += len(data)
        self.fed = upto

    def finish(self, buf: bytes, buf_at: int) -> None:
        """Hand expat the rest and close the document; _LazyFailed if a placeholder moved."""
        self.feed(buf, buf_at, buf_at + len(buf))
        self.parser.Parse(b"", True)
        if self.seen != self.placed:
            raise _LazyFailed("a checked run was not in element content")


class _Reader:
    def __init__(
        self,
        name: str,
        stream: IO[bytes],
        total: int | None,
        consumed: Callable[[], int],
        progress: ProgressCallback | None,
        lazy: bool = False,
    ) -> None:
        self.name = name
        self.stream = stream
        self.total = total
        self.consumed = consumed
        self.progress = progress
        self.buf = b""
        self.pos = 0
        self.base_line = 1  # line number of buf[0]
        self.eof = False
        self.encoding = "utf-8"
        self.expat = expat.ParserCreate()
        self.expat.SetParamEntityParsing(expat.XML_PARAM_ENTITY_PARSING_NEVER)
        self.expat.StartDoctypeDeclHandler = self._refuse_dtd
        self.expat.EntityDeclHandler = self._refuse_dtd
        self.expat.ExternalEntityRefHandler = self._refuse_dtd
        self.first_chunk = True
        self.stack: list[str] = []
        self.skipped: Counter[str] = Counter()
        self.state = _State()
        #: family records waiting to be read together (tag, record, buffer, its first line, offset)
        self.pending: list[tuple[str, bytes, bytes, int, int]] = []
        self.pending_at: list[int] = []  # their offsets in the document
        #: small records of one container waiting to be parsed together (key, tag, record, buffer,
        #: its first line, offset), and their elements while they are handled (by record identity)
        self.small: list[tuple[tuple[str, ...], str, bytes, bytes, int, int]] = []
        self.small_at: list[int] = []  # their offsets in the document
        self.small_bytes = 0
        self.parsed: dict[int, ET.Element] = {}
        self.pending_bytes = 0
        #: the lazy pass (see _Lazy): expat sees the document after the scanner, without the runs
        #: of contracts the token path checked; None in the strict pass (expat first, every byte)
        self.lazy = _Lazy(self.expat) if lazy else None
        self.buf_at = 0  # offset of buf[0] in the document

    @property
    def n_points(self) -> int:
        """Scan points per risk array, from the first pointDef read (16 before any)."""
        defs = self.state.point_defs
        return len(defs[0].scan_points) if defs else 16

    # -- errors --------------------------------------------------------------
    def _refuse_dtd(self, *args: Any) -> None:
        raise _DtdRefused()

    def fail(self, line: int | None, path: str, message: str) -> InputFileError:
        where = f"line {line}" if line is not None else "end of file"
        return InputFileError(
            f"SPAN file '{self.name}', {where}, element {path or '(document)'}: {message}"
        )

    def line_at(self, offset: int) -> int:
        return self.base_line + self.buf.count(b"\n", 0, offset)

    # -- input ---------------------------------------------------------------
    def more(self) -> bool:
        """Append the next chunk to the buffer (validated by expat first, in the strict pass)."""
        if self.eof:
            return False
        chunk = self.stream.read(_CHUNK)
        if self.first_chunk:
            self.first_chunk = False
            self._check_prolog(chunk)
        if not chunk:
            self.eof = True
        start = len(self.buf)
        self.buf += chunk
        if self.lazy is not None:
            if self.progress is not None:
                self.progress(self.consumed(), self.total)
            return bool(chunk)
        try:
            self.expat.Parse(chunk, self.eof)
        except _DtdRefused:
            line = self.expat.CurrentLineNumber
            raise self.fail(
                line, "", "the file declares a document type (DTD). SPAN files never need one, and "
                "DTDs enable entity-expansion and external-entity attacks, so they are refused."
            ) from None
        except expat.ExpatError as exc:
            reason = expat.ErrorString(exc.code)
            if exc.code == _UNDEFINED_ENTITY:
                message = "undefined entity (entities other than &amp; &lt; &gt; &quot; &apos; are refused)."
            elif self.eof and exc.code in _TRUNCATION_CODES:
                message = f"the file ends early (truncated?): {reason}."
            else:
                message = f"not well-formed XML: {reason}."
            line = exc.lineno
            path = self._path_at_line(line, exc.offset, start)
            raise self.fail(line, path, message) from None
        if self.progress is not None:
            self.progress(self.consumed(), self.total)
        return bool(chunk)

    def _check_prolog(self, chunk: bytes) -> None:
        if chunk.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)) or chunk[:4] in (
            b"\x00<\x00?",
            b"<\x00?\x00",
        ):
            raise self.fail(1, "", "UTF-16/UTF-32 SPAN files are not supported; convert the file to UTF-8.")
        m = re.match(rb"(?:\xef\xbb\xbf)?\s*<\?xml[^>]*?encoding\s*=\s*[\"']([A-Za-z0-9._\-]+)[\"']", chunk)
        if m:
            enc = m.group(1).decode("ascii")
            try:
                codecs.lookup(enc)
            except LookupError:
                raise self.fail(1, "", f"unknown encoding {enc!r} in the XML declaration.") from None
            if "<a>".encode(enc, errors="replace") != b"<a>":
                raise self.fail(1, "", f"encoding {enc!r} is not ASCII-compatible; convert the file to UTF-8.")
            self.encoding = enc

    def _path_at_line(self, line: int, column: int, start: int) -> str:
        """Open-element path at (line, column), from the scanner's stack and the unprocessed buffer."""
        off = self.pos
        cur = self.line_at(off)
        while cur < line:
            nxt = self.buf.find(b"\n", off)
            if nxt < 0:
                break
            off = nxt + 1
            cur += 1
        off = min(off + column, len(self.buf))
        stack = list(self.stack)
        for m in _TAG.finditer(self.buf, self.pos, off):
            closing, tag, selfclose = m.group(1), m.group(2).decode("ascii", "replace"), m.group(3)
            if closing:
                if stack and stack[-1] == tag:
                    stack.pop()
            elif not selfclose:
                stack.append(tag)
        return "/".join(stack)

    # -- scanning --------------------------------------------------------------
    def _compact(self) -> None:
        """Drop consumed bytes (only between records, when no offsets are held).

        In the lazy pass, bytes go to expat first; the records of unread families stay.
        """
        if self.pos <= _CHUNK:
            return
        drop = self.pos
        if self.lazy is not None:
            ready = min(self.pending_at[:1] + self.small_at[:1] + [self.buf_at + self.pos])
            self.lazy.feed(self.buf, self.buf_at, ready)
            drop = min(drop, self.lazy.fed - self.buf_at)
            if drop <= _CHUNK:
                return
        self.base_line += self.buf.count(b"\n", 0, drop)
        self.buf = self.buf[drop:]
        self.pos -= drop
        self.buf_at += drop

    def run(self) -> SpanFile:
        while True:
            self._compact()
            tag_match = self._next_tag()
            if tag_match is None:
                break
            closing, tag, selfclose, start, end = tag_match
            key = tuple(self.stack)
            if closing or (not selfclose and tag in _CONTAINERS.get(key, ())):
                self.flush_small()  # (their handlers may depend on order: pointDef before families)
            if closing:
                self.stack.pop()
                self.pos = end
                self.state.close(key, self)
                continue
            if not selfclose and tag in _CONTAINERS.get(key, ()):
                self.stack.append(tag)
                self.pos = end
                self.state.open(tuple(self.stack), self, start)
                if self.lazy is not None and not key:  # the root: expat sees the prolog now
                    self.lazy.feed(self.buf, self.buf_at, self.buf_at + end)
                continue
            rec_end = end if selfclose else self._record_end(tag, end)
            record = self.buf[start:rec_end]
            self._handle(key, tag, record, start)
            self.pos = rec_end
        while self.more():
            pass
        self.flush_small()
        if self.stack:
            raise self.fail(None, "/".join(self.stack), "the file ends early (truncated?).")
        if self.lazy is not None:
            self.lazy.finish(self.buf, self.buf_at)
        return self.state.build(self)

    def _next_tag(self) -> tuple[bool, str, bool, int, int] | None:
        while True:
            buf = self.buf
            n = len(buf)
            pos = _SPACE_RUN.match(buf, self.pos).end()  # type: ignore[union-attr]
            self.pos = pos
            if pos >= n:
                if not self.more():
                    return None
                continue
            if buf[pos] != 0x3C:  # '<'
                end = buf.find(b"<", pos)
                if end < 0 and not self.eof:
                    self.more()
                    continue
                raise self.fail(self.line_at(pos), "/".join(self.stack), "unexpected text between elements.")
            if buf.startswith(b"<?", pos) or buf.startswith(b"<!--", pos):
                closer = b"?>" if buf[pos + 1] == 0x3F else b"-->"
                end = buf.find(closer, pos)
                if end < 0:
                    if not self.more():
                        raise self.fail(self.line_at(pos), "/".join(self.stack), "unterminated comment or instruction.")
                    continue
                self.pos = end + len(closer)
                continue
            m = _TAG.match(buf, pos)
            if m is None:
                if self.more():
                    continue
                raise self.fail(self.line_at(pos), "/".join(self.stack), "not a tag where one is expected.")
            return bool(m.group(1)), m.group(2).decode("ascii"), bool(m.group(3)), pos, m.end()

    def _record_end(self, tag: str, after: int) -> int:
        tb = tag.encode("ascii")
        if tag not in _SELF_NESTING:
            closer = b"</" + tb + b">"
            search = after
            while True:
                found = self.buf.find(closer, search)
                if found >= 0:
                    return found + len(closer)
                search = max(after, len(self.buf) - len(closer))
                if not self.more():
                    break
            # end of input without a plain '</tag>' (e.g. '</tag >'): use the general search
        pattern = re.compile(rb"<(/?)" + re.escape(tb) + rb"(?:\s[^<>]*?)?(/?)>")
        depth = 1
        search = after
        while True:
            for m in pattern.finditer(self.buf, search):
                if m.end() == len(self.buf) and not self.eof:
                    break  # tag may continue in the next chunk
                if m.group(1):
                    depth -= 1
                    if depth == 0:
                        return m.end()
                elif not m.group(2):
                    depth += 1
                search = m.end()
            if not self.more():
                raise self.fail(None, "/".join(self.stack + [tag]), "the file ends early (truncated?).")

    # -- records -----------------------------------------------------------------
    def _handle(self, key: tuple[str, ...], tag: str, record: bytes, start: int) -> None:
        if key == _EX and (tag in OPTION_FAMILY_TAGS or tag in NON_OPTION_FAMILY_TAGS) and self.state.has_exchange_code():
            # product families are read in batches (their numbers parsed together); memory stays
            # bounded by _BATCH_BYTES of records
            self.pending.append((tag, record, self.buf, self.base_line, start))
            self.pending_at.append(self.buf_at + start)
            self.pending_bytes += len(record)
            if self.pending_bytes >= _BATCH_BYTES:
                self.flush_families()
            return
        if tag in _PARSED_TOGETHER.get(key, ()):
            if self.small and (self.small[0][0] != key or self.small_bytes >= _SMALL_BYTES):
                self.flush_small()
            self.small.append((key, tag, record, self.buf, self.base_line, start))
            self.small_at.append(self.buf_at + start)
            self.small_bytes += len(record)
            return
        self.flush_small()
        self._record(key, tag, record, self.buf, self.base_line, start)

    def _record(self, key: tuple[str, ...], tag: str, record: bytes, buf: bytes, base_line: int, start: int) -> None:
        path = "/".join(key + (tag,))
        try:
            handled = self.state.record(key, tag, record, self)
        except _FieldError as exc:
            rel = exc.rel_path
            line = base_line + buf.count(b"\n", 0, start) + _line_in_record(record, rel)
            full = "/".join((path,) + tuple(t for t, _ in rel))
            raise self.fail(line, full, exc.message) from None
        if not handled:
            self.skipped[path] += 1

    def flush_small(self) -> None:
        """Handle the waiting small records, parsed by one ElementTree call (one parser, not one each)."""
        small, self.small, self.small_bytes = self.small, [], 0
        at, self.small_at = self.small_at, []
        if not small:
            return
        decl = f'<?xml version="1.0" encoding="{self.encoding}"?><_>'.encode("ascii")
        root = ET.fromstring(decl + b"".join(item[2] for item in small) + b"</_>")
        self.parsed = {id(item[2]): el for item, el in zip(small, root)}  # (each record is one element)
        if self.lazy is not None:
            # ElementTree's expat has just checked these bytes (same encoding, no DTD): the lazy
            # expat need not read them again
            self.lazy.skip([(a, a + len(item[2])) for item, a in zip(small, at)])
        try:
            for item in small:
                self._record(*item)
        finally:
            self.parsed = {}

    def flush_families(self) -> None:
        """Read the pending family records into the current exchange."""
        pending, self.pending, self.pending_bytes = self.pending, [], 0
        at, self.pending_at = self.pending_at, []
        if not pending:
            return
        noted = self.skipped.copy()
        checked: list[tuple[bytes, int, int]] = []
        try:
            families = _families_fast([(tag, record) for tag, record, *_ in pending], self, checked)
        except (_Unsupported, _FieldError):  # one needs the slow path or is in error: read each on its own
            self.skipped = noted
            checked = []
            families = [self._family_record(*item, checked=checked) for item in pending]
        assert self.state.exchange is not None and self.state.exchange.families is not None
        self.state.exchange.families.extend(families)
        if self.lazy is not None:
            where = {id(record): a for (_, record, *_), a in zip(pending, at)}
            self.lazy.skip(sorted((where[id(r)] + start, where[id(r)] + end) for r, start, end in checked))
            last = pending[-1]
            self.lazy.feed(self.buf, self.buf_at, at[-1] + len(last[1]))

    def _family_record(
        self, tag: str, record: bytes, buf: bytes, base_line: int, start: int,
        checked: list[tuple[bytes, int, int]] | None = None,
    ) -> Family:
        try:
            return read_family(tag, record, self, checked)
        except _FieldError as exc:
            rel = exc.rel_path
            line = base_line + buf.count(b"\n", 0, start) + _line_in_record(record, rel)
            full = "/".join(_EX + (tag,) + tuple(t for t, _ in rel))
            raise self.fail(line, full, exc.message) from None

    def element(self, record: bytes) -> ET.Element:
        """Parse a small record with the document's encoding (or take it from ``flush_small``).

        In the lazy pass expat has not seen it yet: ElementTree's own errors (ParseError)
        end that pass, and the strict pass reports the file's error. No entity is ever
        expanded: a record holds no document type declaration.
        """
        parsed = self.parsed.pop(id(record), None)
        if parsed is not None:
            return parsed
        decl = f'<?xml version="1.0" encoding="{self.encoding}"?>'.encode("ascii")
        return ET.fromstring(decl + record)

    def text(self, raw: bytes) -> str:
        s = raw.decode(self.encoding)
        if "&" in s:
            s = _unescape(s)
        return s.strip()


_ENTITY = re.compile(r"&(#x[0-9A-Fa-f]+|#[0-9]+|amp|lt|gt|quot|apos);")
_NAMED = {"amp": "&", "lt": "<", "gt": ">", "quot": '"', "apos": "'"}


def _unescape(s: str) -> str:
    def sub(m: re.Match[str]) -> str:
        ref = m.group(1)
        if ref.startswith("#x"):
            return chr(int(ref[2:], 16))
        if ref.startswith("#"):
            return chr(int(ref[1:]))
        return _NAMED[ref]

    return _ENTITY.sub(sub, s)


def _line_in_record(record: bytes, rel_path: tuple[tuple[str, int], ...]) -> int:
    """Lines from the record's first line to the element at ``rel_path`` (0 if not found).

    ``rel_path`` lists (tag, 1-based index among same-tag siblings) below the record's root.
    """
    if not rel_path:
        return 0
    frames: list[tuple[str, int, Counter[str]]] = []
    top: Counter[str] = Counter()
    for m in _TAG.finditer(record):
        closing, tag, selfclose = m.group(1), m.group(2).decode("ascii", "replace"), m.group(3)
        if closing:
            if frames:
                frames.pop()
            continue
        counter = frames[-1][2] if frames else top
        counter[tag] += 1
        index = counter[tag]
        if frames:
            path = tuple((f[0], f[1]) for f in frames[1:]) + ((tag, index),)
            if path == rel_path:
                return record.count(b"\n", 0, m.start())
        if not selfclose:
            frames.append((tag, index, Counter()))
    return 0


# ---------------------------------------------------------------------------
# ElementTree helpers (slow path and small records)
# ---------------------------------------------------------------------------


class _El:
    """An element with its indexed path relative to the record, for precise errors.

    The path of a child is only built when asked for (an error): most elements never need it.
    ``req``/``fnum``/``inum`` read a present, valid child in one step and leave the rest (and
    the error messages) to ``text``/``float``/``int``.
    """

    __slots__ = ("el", "_path", "_parent", "_step")

    def __init__(
        self, el: ET.Element, path: tuple[tuple[str, int], ...] | None,
        parent: "_El | None" = None, step: tuple[str, int] | None = None,
    ) -> None:
        self.el = el
        self._path = path
        self._parent = parent
        self._step = step

    @property
    def path(self) -> tuple[tuple[str, int], ...]:
        if self._path is None:
            assert self._parent is not None and self._step is not None
            self._path = self._parent.path + (self._step,)
        return self._path

    def children(self, tag: str) -> list["_El"]:
        return [_El(c, None, self, (tag, i)) for i, c in enumerate(self.el.findall(tag), 1)]

    def child(self, tag: str, required: bool = True) -> "_El | None":
        c = self.el.find(tag)
        if c is None:
            if required:
                raise _FieldError(self.path, f"required element <{tag}> is missing.")
            return None
        return _El(c, None, self, (tag, 1))

    def text(self, tag: str, required: bool = True) -> str | None:
        c = self.el.find(tag)
        if c is None:
            if required:
                raise _FieldError(self.path, f"required element <{tag}> is missing.")
            return None
        return (c.text or "").strip()

    def req(self, tag: str) -> str:
        c = self.el.find(tag)
        if c is not None:
            return (c.text or "").strip()
        value = self.text(tag)
        assert value is not None
        return value

    def float(self, tag: str, required: bool = True) -> float | None:
        t = self.text(tag, required)
        if t is None:
            return None
        try:
            return float(t)
        except ValueError:
            raise _FieldError(self.path + ((tag, 1),), f"{t!r} is not a number.") from None

    def fnum(self, tag: str) -> float:
        c = self.el.find(tag)
        if c is not None:
            try:
                return float((c.text or "").strip())
            except ValueError:
                pass
        value = self.float(tag)
        assert value is not None
        return value

    def int(self, tag: str, required: bool = True) -> int | None:
        t = self.text(tag, required)
        if t is None:
            return None
        try:
            return int(t)
        except ValueError:
            raise _FieldError(self.path + ((tag, 1),), f"{t!r} is not an integer.") from None

    def inum(self, tag: str) -> int:
        c = self.el.find(tag)
        if c is not None:
            try:
                return int((c.text or "").strip())
            except ValueError:
                pass
        value = self.int(tag)
        assert value is not None
        return value

    def bool(self, tag: str, required: bool = True) -> bool | None:
        t = self.text(tag, required)
        if t is None:
            return None
        if t in ("1", "true"):
            return True
        if t in ("0", "false"):
            return False
        raise _FieldError(self.path + ((tag, 1),), f"{t!r} is not a boolean (0, 1, true, false).")

    def unknown(self, known: frozenset[str]) -> list[str]:
        return [c.tag for c in self.el if c.tag not in known]


def _note_unknown(reader: _Reader, base: str, node: _El, known: frozenset[str]) -> None:
    for tag in node.unknown(known):
        reader.skipped[f"{base}/{tag}"] += 1


def _rates(node: _El, tag: str = "rate") -> tuple[RateValue, ...]:
    return tuple(RateValue(r.inum("r"), r.fnum("val")) for r in node.children(tag))


def _scan_def(node: _El) -> ScanDef:
    return ScanDef(node.fnum("mult"), node.float("numerator", False), node.float("denominator", False))


def _scan_rate(node: _El) -> ScanRate:
    return ScanRate(
        node.inum("r"),
        node.float("priceScan", False),
        node.float("priceScanPct", False),
        node.float("volScan", False),
        node.float("volScanPct", False),
    )


def _und_c(node: _El) -> UnderlyingContract:
    return UnderlyingContract(node.req("exch"), node.inum("pfId"), node.inum("cId"), node.req("s"), node.fnum("i"))


def _und_pf(node: _El) -> UnderlyingFamily:
    return UnderlyingFamily(
        node.req("exch"), node.inum("pfId"), node.text("pfCode", False), node.text("pfType", False),
        node.req("s"), node.fnum("i"),
    )


def _tier(node: _El) -> Tier:
    return Tier(node.inum("tn"), node.text("sPe", False), node.text("ePe", False), _rates(node))


def _delta_spread(node: _El) -> DeltaSpread:
    legs: list[SpreadLeg] = []
    seen: Counter[str] = Counter()
    for child in node.el:
        if child.tag not in ("tLeg", "pLeg"):
            continue
        seen[child.tag] += 1
        leg = _El(child, None, node, (child.tag, seen[child.tag]))
        legs.append(
            SpreadLeg(
                leg.req("cc"), leg.req("rs"), leg.fnum("i"),
                tier=leg.inum("tn") if child.tag == "tLeg" else None,
                period=leg.req("pe") if child.tag == "pLeg" else None,
                rates=_rates(leg),
            )
        )
    for leg in legs:
        if leg.side not in ("A", "B"):
            raise _FieldError(node.path, f"spread leg side must be 'A' or 'B'. Got {leg.side!r}.")
    method = node.req("chargeMeth")
    if method not in ("F", "P", "W"):
        raise _FieldError(node.path + (("chargeMeth", 1),), f"chargeMeth must be F, P or W. Got {method!r}.")
    pmps = tuple(
        PerMonthRate(p.inum("r"), p.fnum("val"), p.fnum("pmRate"), p.fnum("psRate")) for p in node.children("pmpsRate")
    )
    return DeltaSpread(node.inum("spread"), method, tuple(legs), _rates(node), pmps, node.text("spreadType", False))


# ---------------------------------------------------------------------------
# Record handlers and the state they fill
# ---------------------------------------------------------------------------

_CO = ("spanFile", "pointInTime", "clearingOrg")
_EX = _CO + ("exchange",)


@dataclass
class _ExchangeState:
    code: str | None = None
    name: str | None = None
    families: list[Family] | None = None


class _State:
    def __init__(self) -> None:
        self.header: dict[str, str] = {}
        self.pit: dict[str, str] = {}
        self.co: dict[str, str] = {}
        self.currencies: list[CurrencyDef] = []
        self.account_types: list[AccountTypeDef] = []
        self.conversions: list[CurrencyConversion] = []
        self.pb_rates: list[PerformanceBondRate] = []
        self.point_defs: list[PointDef] = []
        self.exchanges: list[Exchange] = []
        self.exchange: _ExchangeState | None = None
        self.ccdefs: list[CombinedCommodityDef] = []
        self.inter_spreads: list[DeltaSpread] = []
        self.seen_pit = 0
        self.seen_co = 0
        self.seen_root = False

    def open(self, key: tuple[str, ...], reader: _Reader, start: int) -> None:
        tag = key[-1]
        if tag == "spanFile":
            self.seen_root = True
        elif tag == "pointInTime":
            self.seen_pit += 1
            if self.seen_pit > 1:
                raise reader.fail(reader.line_at(start), "/".join(key), "files with several pointInTime elements are not supported.")
        elif tag == "clearingOrg":
            self.seen_co += 1
            if self.seen_co > 1:
                raise reader.fail(reader.line_at(start), "/".join(key), "files with several clearingOrg elements are not supported.")
        elif tag == "exchange":
            self.exchange = _ExchangeState(families=[])

    def has_exchange_code(self) -> bool:
        return self.exchange is not None and self.exchange.code is not None

    def close(self, key: tuple[str, ...], reader: _Reader) -> None:
        if key == _EX and self.exchange is not None:
            reader.flush_families()
            ex = self.exchange
            if ex.code is None:
                raise reader.fail(None, "/".join(key), "required element <exch> is missing.")
            fams = sorted(ex.families or [], key=family_sort_key)
            self.exchanges.append(Exchange(ex.code, ex.name, tuple(fams)))
            self.exchange = None

    def record(self, key: tuple[str, ...], tag: str, record: bytes, reader: _Reader) -> bool:
        if key == ("spanFile",):
            if tag in ("fileFormat", "created", "spanVersion"):
                self.header[tag] = _simple_text(record, tag, reader)
                return True
            return False
        if key == ("spanFile", "definitions"):
            if tag == "currencyDef":
                n = _El(reader.element(record), ())
                self.currencies.append(
                    CurrencyDef(n.req("currency"), (n.el.findtext("symbol") or ""), n.req("name"), n.inum("decimalPos"))
                )
                return True
            if tag == "acctTypeDef":
                n = _El(reader.element(record), ())
                self.account_types.append(
                    AccountTypeDef(
                        bool(n.bool("isCust")), n.req("acctType"), n.text("name", False),
                        bool(n.bool("isNetMargin")), n.req("priority"),
                    )
                )
                return True
            return False
        if key == ("spanFile", "pointInTime"):
            if tag in ("date", "isSetl", "setlQualifier", "time", "run"):
                self.pit[tag] = _simple_text(record, tag, reader)
                return True
            return False
        if key == _CO:
            return self._clearing_org_record(tag, record, reader)
        if key == _EX:
            assert self.exchange is not None and self.exchange.families is not None
            if tag in ("exch", "name"):
                value = _simple_text(record, tag, reader)
                if tag == "exch":
                    self.exchange.code = value
                else:
                    self.exchange.name = value
                return True
            if tag in NON_OPTION_FAMILY_TAGS or tag in OPTION_FAMILY_TAGS:
                if self.exchange.code is None:
                    raise _FieldError((), "product family before the exchange's <exch> code.")
                self.exchange.families.append(read_family(tag, record, reader))
                return True
            return False
        if key == _CO + ("interSpreads",):
            if tag == "dSpread":
                self.inter_spreads.append(_delta_spread(_El(reader.element(record), ())))
                return True
            return False
        return False

    def _clearing_org_record(self, tag: str, record: bytes, reader: _Reader) -> bool:
        simple = {
            "ec", "name", "isContractScale", "isNetMargin", "finalizeMeth", "oopDeltaMeth", "capAnov",
            "lookAheadYears", "lookAheadDays", "daysPerYear",
        }
        if tag in simple:
            self.co[tag] = _simple_text(record, tag, reader)
            return True
        if tag == "curConv":
            n = _El(reader.element(record), ())
            self.conversions.append(CurrencyConversion(n.req("fromCur"), n.req("toCur"), n.fnum("factor")))
            return True
        if tag == "pbRateDef":
            n = _El(reader.element(record), ())
            self.pb_rates.append(
                PerformanceBondRate(n.inum("r"), bool(n.bool("isCust")), n.req("acctType"), bool(n.bool("isM")), n.req("pbc"))
            )
            return True
        if tag == "pointDef":
            n = _El(reader.element(record), ())
            scans = tuple(
                ScanPointDef(p.inum("point"), _scan_def(p.child("priceScanDef")), _scan_def(p.child("volScanDef")),  # type: ignore[arg-type]
                             p.fnum("weight"), p.inum("pairedPoint"))
                for p in n.children("scanPointDef")
            )
            deltas = tuple(
                DeltaPointDef(p.inum("point"), _scan_def(p.child("priceScanDef")), _scan_def(p.child("volScanDef")),  # type: ignore[arg-type]
                              p.fnum("weight"))
                for p in n.children("deltaPointDef")
            )
            if not scans:
                raise _FieldError((), "a pointDef needs at least one scanPointDef.")
            self.point_defs.append(PointDef(n.inum("r"), scans, deltas))
            return True
        if tag == "ccDef":
            self.ccdefs.append(_cc_def(_El(reader.element(record), ()), reader))
            return True
        return False

    def build(self, reader: _Reader) -> SpanFile:
        if not self.seen_root:
            raise reader.fail(None, "", "no <spanFile> root element: this is not a SPAN XML file.")
        if "date" not in self.pit or "isSetl" not in self.pit:
            raise reader.fail(None, "spanFile/pointInTime", "required elements <date> and <isSetl> are missing.")
        if self.seen_co == 0:
            raise reader.fail(None, "spanFile/pointInTime", "required element <clearingOrg> is missing.")
        for tag in ("ec", "finalizeMeth"):
            if tag not in self.co:
                raise reader.fail(None, "/".join(_CO), f"required element <{tag}> is missing.")
        co = ClearingOrg(
            code=self.co["ec"],
            name=self.co.get("name", ""),
            is_contract_scale=_opt_bool(self.co.get("isContractScale")),
            is_net_margin=_opt_bool(self.co.get("isNetMargin")),
            finalize_method=self.co["finalizeMeth"],
            option_delta_method=self.co.get("oopDeltaMeth"),
            cap_anov=_opt_bool(self.co.get("capAnov")),
            lookahead_years=self.co.get("lookAheadYears"),
            lookahead_days=self.co.get("lookAheadDays"),
            days_per_year=self.co.get("daysPerYear"),
            currency_conversions=tuple(self.conversions),
            pb_rates=tuple(self.pb_rates),
            point_defs=tuple(self.point_defs),
            exchanges=tuple(self.exchanges),
            combined_commodities=tuple(self.ccdefs),
            inter_spreads=tuple(self.inter_spreads),
        )
        return SpanFile(
            file_format=self.header.get("fileFormat"),
            created=self.header.get("created"),
            business_date=self.pit["date"],
            is_settlement=bool(_opt_bool(self.pit["isSetl"])),
            settlement_qualifier=self.pit.get("setlQualifier"),
            currencies=tuple(self.currencies),
            account_types=tuple(self.account_types),
            clearing_org=co,
            skipped=tuple(sorted(reader.skipped.items())),
            source=reader.name,
        )


def _opt_bool(text: str | None) -> bool | None:
    if text is None:
        return None
    return text in ("1", "true")


def _simple_text(record: bytes, tag: str, reader: _Reader) -> str:
    m = re.fullmatch(rb"<" + tag.encode() + rb">([^<]*)</" + tag.encode() + rb">", record)
    if m:
        return reader.text(m.group(1))
    el = reader.element(record)
    if len(el):
        raise _FieldError((), f"<{tag}> must hold text, not elements.")
    return (el.text or "").strip()


def _cc_def(n: _El, reader: _Reader) -> CombinedCommodityDef:
    links = tuple(
        ProductLink(
            p.req("exch"), p.inum("pfId"), p.text("pfCode", False), p.text("pfType", False), p.fnum("sc"),
            p.text("cmbMeth", False), p.bool("applyBasisRisk", False), p.int("arrayPrecision", False),
            p.text("oopDeltaMeth", False),
        )
        for p in n.children("pfLink")
    )
    adj = tuple(AdjustmentRate(a.inum("r"), a.inum("baseR"), a.fnum("val")) for a in n.children("adjRate"))

    def tiers(tag: str) -> tuple[Tier, ...]:
        return tuple(_tier(t) for group in n.children(tag) for t in group.children("tier"))

    spots = tuple(
        SpotRate(s.inum("r"), s.req("pe"), s.fnum("sprd"), s.fnum("outr")) for s in n.children("spotRate")
    )
    known = frozenset({
        "cc", "name", "currency", "riskExponent", "capAnov", "procMeth", "wfprMeth", "spotMeth", "somMeth",
        "cmbMeth", "pfLink", "adjRate", "scanTiers", "intraTiers", "interTiers", "somTiers", "dSpread", "spotRate",
    })
    _note_unknown(reader, "spanFile/pointInTime/clearingOrg/ccDef", n, known)
    return CombinedCommodityDef(
        code=n.req("cc"),
        name=n.text("name", False),
        currency=n.req("currency"),
        risk_exponent=n.int("riskExponent", False),
        cap_anov=n.bool("capAnov", False),
        processing_method=n.text("procMeth", False),
        wfpr_method=n.text("wfprMeth", False),
        spot_method=n.text("spotMeth", False),
        som_method=n.text("somMeth", False),
        combination_method=n.text("cmbMeth", False),
        product_links=links,
        adjustment_rates=adj,
        scan_tiers=tiers("scanTiers"),
        intra_tiers=tiers("intraTiers"),
        inter_tiers=tiers("interTiers"),
        som_tiers=tiers("somTiers"),
        intra_spreads=tuple(_delta_spread(d) for d in n.children("dSpread")),
        spot_rates=spots,
    )


# ---------------------------------------------------------------------------
# Product families: header (ElementTree), contracts (fast path or slow path)
# ---------------------------------------------------------------------------

_FAMILY_HEADER_KNOWN = frozenset({
    "pfId", "pfCode", "name", "currency", "cvf", "priceDl", "priceFmt", "valueMeth", "priceMeth", "setlMeth",
    "undPf", "exercise", "strikeDl", "strikeFmt", "cab", "priceModel",
})
_FIRST_CHILD = {"phyPf": b"<phy>", "futPf": b"<fut>"}


def read_family(
    tag: str, record: bytes, reader: _Reader, checked: list[tuple[bytes, int, int]] | None = None
) -> Family:
    """Read one product family record (fast path, falling back to the slow path)."""
    noted = reader.skipped.copy()
    try:
        return _families_fast([(tag, record)], reader, checked)[0]
    except _Unsupported:
        reader.skipped = noted
        return _family_slow(tag, record, reader)


def _family_header(tag: str, record: bytes, first: int, reader: _Reader) -> _El:
    head = record if first < 0 else record[:first] + b"</" + tag.encode() + b">"
    try:
        node = _El(reader.element(head), ())
    except ET.ParseError:
        if first < 0:
            raise
        # The first child tag was found inside a comment or CDATA section, so the cut header is
        # not XML: the slow path reads the whole record (and names any error in it).
        raise _Unsupported() from None
    base = "/".join(_EX + (tag,))
    known = _FAMILY_HEADER_KNOWN | {"phy", "fut", "series"}
    _note_unknown(reader, base, node, known)
    return node


def _header_fields(node: _El) -> dict[str, Any]:
    return dict(
        product_id=node.inum("pfId"),
        product_code=node.req("pfCode"),
        name=node.text("name", False),
        currency=node.req("currency"),
        cvf=node.float("cvf", False),
        price_decimals=node.int("priceDl", False),
        price_format=_raw_text(node, "priceFmt"),
        value_method=node.req("valueMeth"),
        price_method=node.text("priceMeth", False),
        settlement_method=node.text("setlMeth", False),
    )


def _raw_text(node: _El, tag: str) -> str | None:
    """Text kept with its spaces (format fields such as priceFmt are a single blank)."""
    c = node.el.find(tag)
    return None if c is None else (c.text or "")


@dataclass(frozen=True)
class _Header:
    """A family header read by :data:`_HEADER` (the fields :func:`_make_family` needs)."""

    fields: dict[str, Any]
    option_fields: dict[str, Any]
    underlying: UnderlyingFamily | None


def _header_fast(tag: str, record: bytes, first: int, reader: _Reader) -> _Header | None:
    """The family header (children before the first contract or series) by one regex, or None.

    Same fields and conversions as :func:`_header_fields`/:func:`_make_family` on the ElementTree;
    None (so ElementTree reads it and reports problems) unless the children are the modelled ones in
    XSD order, with the required ones present, no CR in kept format texts and numbers that parse.
    """
    end = len(record) - len(tag) - 3 if first < 0 else first  # without '</tag>' when there are no contracts
    m = _HEADER.fullmatch(record, 0, end)
    if m is None or not record.startswith(b"<" + tag.encode() + b">"):
        return None
    (pf_id, code, name, exercise, currency, cvf, price_dl, price_fmt, strike_dl, strike_fmt, cab, value_meth,
     price_meth, setl_meth, price_model, u_ex, u_pf, u_code, u_type, u_s, u_i) = m.groups()
    if (price_fmt and b"\r" in price_fmt) or (strike_fmt and b"\r" in strike_fmt):
        return None
    enc = reader.encoding

    def text(x: bytes | None) -> str | None:
        return None if x is None else x.decode(enc).strip()

    def raw(x: bytes | None) -> str | None:
        return None if x is None else x.decode(enc)

    option = tag in OPTION_FAMILY_TAGS
    if u_ex is None and tag != "phyPf":
        return None
    if option and (cab is None or price_model is None):
        return None
    try:
        fields = dict(
            product_id=int(pf_id),
            product_code=text(code),
            name=text(name),
            currency=text(currency),
            cvf=None if cvf is None else float(cvf),
            price_decimals=None if price_dl is None else int(price_dl),
            price_format=raw(price_fmt),
            value_method=text(value_meth),
            price_method=text(price_meth),
            settlement_method=text(setl_meth),
        )
        option_fields = dict(
            exercise=text(exercise),
            strike_decimals=None if strike_dl is None else int(strike_dl),
            strike_format=raw(strike_fmt),
            cabinet_value=float(cab) if option else None,
            price_model=text(price_model),
        ) if option else {}
        und = None if u_ex is None else UnderlyingFamily(
            text(u_ex), int(u_pf), text(u_code), text(u_type), text(u_s), float(u_i)  # type: ignore[arg-type]
        )
    except ValueError:
        return None
    if not option and any(x is not None for x in (exercise, strike_dl, strike_fmt, cab, price_model)):
        return None  # option-only children in a non-option family: ElementTree notes them as unknown
    return _Header(fields, option_fields, und)


def _make_family(tag: str, node: _El | _Header, series: tuple[OptionSeries, ...], contracts: Any) -> Family:
    if isinstance(node, _Header):
        if tag in NON_OPTION_FAMILY_TAGS:
            return ProductFamily(family_type=tag, underlying=node.underlying, contracts=contracts, **node.fields)
        return OptionFamily(family_type=tag, underlying=node.underlying, series=series, contracts=contracts,
                            **node.option_fields, **node.fields)
    fields = _header_fields(node)
    und = node.child("undPf", required=tag != "phyPf")
    if tag in NON_OPTION_FAMILY_TAGS:
        return ProductFamily(family_type=tag, underlying=_und_pf(und) if und else None, contracts=contracts, **fields)
    assert und is not None
    return OptionFamily(
        family_type=tag,
        exercise=node.text("exercise", False),
        strike_decimals=node.int("strikeDl", False),
        strike_format=_raw_text(node, "strikeFmt"),
        cabinet_value=node.fnum("cab"),
        price_model=node.req("priceModel"),
        underlying=_und_pf(und),
        series=series,
        contracts=contracts,
        **fields,
    )


# --- fast path -------------------------------------------------------------------


# Quantifiers are possessive (``*+``, ``?+``): the content model is deterministic (each optional
# child has its own tag), so backtracking could never find another match, only cost time.


def _s(tag: str, optional: bool = False) -> bytes:
    group = rb"<" + tag.encode() + rb">([^<&]*+)</" + tag.encode() + rb">"
    return rb"(?:\s*+" + group + rb")?+" if optional else rb"\s*+" + group


_UNDC = rb"(?:\s*+<undC>" + _s("exch") + _s("pfId") + _s("cId") + _s("s") + _s("i") + rb"\s*+</undC>)?+"
_SCANRATES = (
    rb"((?:\s*+<scanRate>\s*+<r>[^<]*+</r>(?:\s*+<(?:priceScan|priceScanPct|volScan|volScanPct)>[^<&]*+</[a-zA-Z]+>)*+"
    rb"\s*+</scanRate>)*+)"
)


_HEADER = re.compile(
    rb"<(?:phyPf|futPf|oopPf|oofPf|ooePf|oocPf)>" + _s("pfId") + _s("pfCode") + _s("name", True) + _s("exercise", True)
    + _s("currency") + _s("cvf", True) + _s("priceDl", True) + _s("priceFmt", True) + _s("strikeDl", True)
    + _s("strikeFmt", True) + _s("cab", True) + _s("valueMeth") + _s("priceMeth", True) + _s("setlMeth", True)
    + _s("priceModel", True)
    + rb"(?:\s*+<undPf>" + _s("exch") + _s("pfId") + _s("pfCode", True) + _s("pfType", True) + _s("s") + _s("i")
    + rb"\s*+</undPf>)?+\s*+"
)


#: Content models of the contract records, children in XSD order: a leaf (name, required), or
#: one of the groups "undC" (optional underlying contract), "scanRate" (any number of scan rates)
#: and "ra" (optional risk array: rate id, one value per scan point, composite delta). One source
#: for the text patterns of the regex path (_patterns) and the token forms of the token path (_forms).
_CONTRACT_MODELS: dict[str, tuple[tuple[str, bool] | str, ...]] = {
    "fut": (("cId", True), ("pe", True), ("p", False), ("d", False), ("v", False), ("cvf", False), ("val", False),
            ("sc", False), ("setlDate", False), ("t", False), "undC", "scanRate", "ra"),
    "phy": (("cId", True), ("pe", False), ("p", False), ("d", False), ("v", False), ("cvf", False), ("val", False),
            ("sc", False), "scanRate", "ra"),
    "opt": (("cId", True), ("o", True), ("k", True), ("p", True), ("pq", False), ("d", False), ("v", False),
            ("cvf", False), ("svf", False), ("val", False), ("sc", False), "ra"),
}
_UNDC_CHILDREN = ("exch", "pfId", "cId", "s", "i")
_SCAN_FIELDS = ("priceScan", "priceScanPct", "volScan", "volScanPct")
#: group names of _forms that are not their leaf's tag name
_GROUP_TAG = {"ra_d": "d", **{"u_" + x: x for x in _UNDC_CHILDREN}}


@functools.lru_cache(maxsize=8)
def _patterns(n_points: int) -> tuple[re.Pattern[bytes], re.Pattern[bytes], re.Pattern[bytes]]:
    """(fut, phy, opt) text patterns for risk arrays of ``n_points`` values (the regex path)."""
    # the n_points values are one group (parsed in bulk per batch by _fastparse.decimals)
    ra = rb"(?:\s*+<ra>" + _s("r") + rb"((?:\s*+<a>[^<&]*+</a>){%d})" % n_points + _s("d") + rb"\s*+</ra>)?+"
    groups = {"undC": _UNDC, "scanRate": _SCANRATES, "ra": ra}

    def pattern(element: str) -> re.Pattern[bytes]:
        parts = [groups[x] if isinstance(x, str) else _s(x[0], not x[1]) for x in _CONTRACT_MODELS[element]]
        return re.compile(rb"\s*+<%s>" % element.encode() + b"".join(parts) + rb"\s*+</%s>" % element.encode())

    return pattern("fut"), pattern("phy"), pattern("opt")


_LEAVES = tuple(dict.fromkeys(
    [x[0] for model in _CONTRACT_MODELS.values() for x in model if not isinstance(x, str)]
    + [*_UNDC_CHILDREN, "r", *_SCAN_FIELDS, "a"]
))
_TAGS = _tokens.TagSet(("opt", "fut", "phy", "undC", "scanRate", "ra") + _LEAVES, leaves=_LEAVES)


@functools.lru_cache(maxsize=8)
def _forms(n_points: int) -> dict[str, re.Pattern[bytes]]:
    """Per element, the pattern of a record's token codes (the token path; see :mod:`._tokens`).

    Named groups mark where each field's open tag is: leaves by their name, the underlying's
    leaves as ``u_<name>``, the risk array as ``ra``, ``r``, ``a`` (its first value) and ``ra_d``,
    the scan rates as ``scanRate`` (all of them).
    """
    t = _TAGS

    def leaf(name: str, group: str, required: bool = True) -> bytes:
        one = b"(?P<%s>%s)%s" % (group.encode(), re.escape(t.char[name]), re.escape(t.close_char[name]))
        return one if required else b"(?:" + one + b")?"

    def pair(name: str) -> bytes:
        return re.escape(t.char[name]) + re.escape(t.close_char[name])

    groups = {
        "undC": b"(?:(?P<undC>%s)" % re.escape(t.char["undC"])
        + b"".join(leaf(x, "u_" + x) for x in _UNDC_CHILDREN) + re.escape(t.close_char["undC"]) + b")?",
        "scanRate": b"(?P<scanRate>(?:%s%s(?:%s)*%s)*)" % (
            re.escape(t.char["scanRate"]), pair("r"), b"|".join(pair(x) for x in _SCAN_FIELDS),
            re.escape(t.close_char["scanRate"])),
        "ra": b"(?:(?P<ra>%s)" % re.escape(t.char["ra"]) + leaf("r", "r") + b"(?P<a>(?:%s){%d})" % (pair("a"), n_points)
        + leaf("d", "ra_d") + re.escape(t.close_char["ra"]) + b")?",
    }
    out = {}
    for element, model in _CONTRACT_MODELS.items():
        parts = [groups[x] if isinstance(x, str) else leaf(x[0], x[0], x[1]) for x in model]
        out[element] = re.compile(re.escape(t.char[element]) + b"".join(parts) + re.escape(t.close_char[element]))
    return out


_SCANRATE_ITEM = re.compile(rb"<scanRate>\s*<r>([^<]*)</r>((?:\s*<[a-zA-Z]+>[^<&]*</[a-zA-Z]+>)*)\s*</scanRate>")
_SCANRATE_FIELD = re.compile(rb"<(priceScan|priceScanPct|volScan|volScanPct)>([^<&]*)</\1>")
_NAN = float("nan")


def _f64(column: Sequence[Any]) -> np.ndarray:
    """Numbers from text (bytes or str, parsed as Python's float does); a missing element (None) -> NaN.

    An empty text is no number: _Unsupported, so the slow path reports it (as it reads it).
    """
    try:
        if None in column:
            return np.array([_NAN if x is None else float(x) for x in column], dtype=np.float64)
        return np.array(column, dtype=np.float64)
    except ValueError:
        raise _Unsupported() from None


def _i64(column: Sequence[Any]) -> np.ndarray:
    try:
        return np.array(list(map(int, column)), dtype=np.int64)
    except (ValueError, TypeError):
        raise _Unsupported() from None


def _contiguous(regex: re.Pattern[bytes], data: bytes, start: int, end: int) -> list[tuple[Any, ...]]:
    """All matches of ``regex`` covering ``data[start:end]`` with only whitespace between; else _Unsupported."""
    rows: list[tuple[Any, ...]] = []
    append = rows.append
    prev = start
    for m in regex.finditer(data, start, end):
        if m.start() != prev:  # the patterns consume leading whitespace, so a gap is foreign content
            raise _Unsupported()
        append(m.groups())
        prev = m.end()
    if prev != end and data[prev:end].strip():
        raise _Unsupported()
    return rows


_scan_rate_cache: dict[bytes, tuple[ScanRate, ...]] = {}


def _scan_rates_fast(raw: bytes | None) -> tuple[ScanRate, ...]:
    """The ``scanRate`` elements in ``raw``; ValueError if one repeats a field (the slow path's
    reading, which takes the first, decides then) or holds a bad number."""
    if not raw:
        return ()
    hit = _scan_rate_cache.get(raw)
    if hit is not None:
        return hit
    out = []
    for m in _SCANRATE_ITEM.finditer(raw):
        pairs = _SCANRATE_FIELD.findall(m.group(2))
        values = {k.decode(): float(v) for k, v in pairs}
        if len(values) != len(pairs):
            raise ValueError("a scan rate field repeats")
        out.append(ScanRate(int(m.group(1)), values.get("priceScan"), values.get("priceScanPct"),
                            values.get("volScan"), values.get("volScanPct")))
    result = tuple(out)
    if len(_scan_rate_cache) < 4096:
        _scan_rate_cache[raw] = result
    return result


class _NumberBatch:
    """Numeric texts of several families, parsed by one :func:`decimals` call when they are many.

    ``column(texts)`` and ``arrays(blocks, n_points)`` register texts and return a
    handle; after :meth:`parse`, ``get(handle)`` gives the float64 array. Each
    entry keeps the ``float()`` reading as its fallback (used when the batch is
    small or not all strict decimals), which raises :class:`_Unsupported` on a
    bad number as before.
    """

    #: below this many numbers the fixed cost of the vectorised parse is not worth it
    MIN_BULK = 2048

    def __init__(self) -> None:
        self._parts: list[bytes] = []
        self._counts: list[int] = []
        self._fallbacks: list[Callable[[], np.ndarray]] = []
        self._values: list[np.ndarray] = []

    def _add(self, part: bytes, count: int, fallback: Callable[[], np.ndarray]) -> int:
        self._parts.append(part)
        self._counts.append(count)
        self._fallbacks.append(fallback)
        return len(self._counts) - 1

    def column(self, column: Sequence[Any]) -> int:
        if not column or None in column or b"" in column:  # missing values become NaN: float path
            return self._add(b"", 0, lambda: _f64(column))
        part = b"<>".join(column)
        if part.count(b".") != len(column):  # e.g. integers: keep them out of the bulk parse
            return self._add(b"", 0, lambda: _f64(column))
        return self._add(part, len(column), lambda: _f64(column))

    def arrays(self, blocks: list[bytes], n_points: int) -> int:
        """``blocks``: the ``<a>`` elements of each risk array (n_points each), as in the file."""

        def fallback() -> np.ndarray:
            try:
                return np.array([float(x) for b in blocks for x in _A_TEXT.findall(b)], dtype=np.float64)
            except ValueError:
                raise _Unsupported() from None

        part = b"".join(blocks)
        count = len(blocks) * n_points
        if part.count(b".") != count:
            return self._add(b"", 0, fallback)
        return self._add(part, count, fallback)

    def parse(self) -> None:
        total = sum(self._counts)
        values = None
        if total >= self.MIN_BULK:
            # parts are joined by an empty node '<>': every number stays a whole text node
            values = decimals(b"<>".join(p for p, c in zip(self._parts, self._counts) if c), total)
        if values is None:
            self._values = [f() for f in self._fallbacks]
            return
        out = []
        at = 0
        for count, fallback in zip(self._counts, self._fallbacks):
            if count:
                out.append(values[at:at + count])
                at += count
            else:
                out.append(fallback())
        self._values = out

    def get(self, handle: int) -> np.ndarray:
        return self._values[handle]


_A_TEXT = re.compile(rb"<a>([^<&]*)</a>")


def _risk_arrays(
    rows: list[tuple[Any, ...]], at: int, n_points: int, nums: _NumberBatch
) -> Callable[[], tuple[np.ndarray, np.ndarray, np.ndarray]]:
    """Rate ids, risk arrays (n, n_points) and composite deltas from the ``ra`` groups (r, values, d) at ``at``.

    Registers the numbers with ``nums``; the returned function builds the arrays after ``nums.parse()``.
    """
    n = len(rows)
    r_col = [row[at] for row in rows]
    present = list(range(n)) if None not in r_col else [i for i in range(n) if r_col[i] is not None]
    if present:
        h_values = nums.arrays([rows[i][at + 1] for i in present], n_points)
        h_delta = nums.column([rows[i][at + 2] for i in present])
        ids = _i64([r_col[i] for i in present])

    def build() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        rate_ids = np.full(n, -1, dtype=np.int64)
        arrays = np.full((n, n_points), np.nan)
        deltas = np.full(n, np.nan)
        if present:
            values = nums.get(h_values)
            if len(present) == n:
                return ids, values.reshape(n, n_points), nums.get(h_delta)
            idx = np.array(present, dtype=np.intp)
            arrays[idx] = values.reshape(len(present), n_points)
            rate_ids[idx] = ids
            deltas[idx] = nums.get(h_delta)
        return rate_ids, arrays, deltas

    return build


def _strings(column: Sequence[Any], reader: _Reader) -> tuple[str | None, ...]:
    enc = reader.encoding
    # columns repeat few values (periods, C/P, price quality): decode each distinct one once
    decoded = {x: None if x is None else x.decode(enc).strip() for x in set(column)}
    if any(x is not None and b"\r" in x for x in decoded):
        raise _Unsupported()  # XML turns CR LF into LF inside a text: the slow path reads it so
    return tuple(map(decoded.__getitem__, column))


def _families_fast(
    items: Sequence[tuple[str, bytes]], reader: _Reader, checked: list[tuple[bytes, int, int]] | None = None
) -> list[Family]:
    """Fast path for several family records: one scan each, contracts and numbers read together.

    Raises _Unsupported if any family needs the slow path (the caller then reads them one by one).
    ``checked`` (lazy pass) receives the runs (record, start, end) that expat need not see.
    """
    nums = _NumberBatch()
    runs = _ContractRuns()
    builders = [_family_fast(tag, record, reader, nums, runs) for tag, record in items]
    runs.read(reader, nums)
    nums.parse()
    families = [build() for build in builders]
    if checked is not None:
        checked.extend(runs.checked)
    return families


def _family_fast(
    tag: str, record: bytes, reader: _Reader, nums: _NumberBatch, runs: "_ContractRuns"
) -> Callable[[], Family]:
    """Read one family's header and series heads and register its runs of contracts with ``runs``.

    Returns the function that builds the family once ``runs`` is read and ``nums`` parsed.
    """
    if tag in NON_OPTION_FAMILY_TAGS:
        first = record.find(_FIRST_CHILD[tag])
        node = _header_fast(tag, record, first, reader) or _family_header(tag, record, first, reader)
        if first < 0:
            return lambda: _make_family(tag, node, (), _empty_non_option())
        end = record.rfind(b"</" + tag.encode() + b">")
        handle = runs.add("fut" if tag == "futPf" else "phy", record, [(first, end, 0)])
        return lambda: _make_family(tag, node, (), runs.contracts(handle))
    first = record.find(b"<series>")
    node = _header_fast(tag, record, first, reader) or _family_header(tag, record, first, reader)
    if first < 0:
        return lambda: _make_family(tag, node, (), _empty_options())
    end = record.rfind(b"</" + tag.encode() + b">")
    series: list[OptionSeries] = []
    spans: list[tuple[int, int, int]] = []
    prev = first
    i = -1
    while True:
        at = record.find(b"<series>", prev, end)
        if at < 0:
            break
        i += 1
        if record[prev:at].strip():
            raise _Unsupported()
        body_start = at + len(b"<series>")
        body_end = record.find(b"</series>", body_start, end)
        if body_end < 0:
            raise _Unsupported()
        prev = body_end + len(b"</series>")
        opt_at = record.find(b"<opt>", body_start, body_end)
        head_end = body_end if opt_at < 0 else opt_at
        one = _series_fast(record, body_start, head_end, reader)
        if one is None:  # not in the modelled form (order, unknown child, bad number): ElementTree
            head = _El(reader.element(b"<series>" + record[body_start:head_end] + b"</series>"), (("series", i + 1),))
            one = _series(head, reader, tag)
        series.append(one)
        if opt_at >= 0:
            spans.append((opt_at, body_end, i))
    if prev != end and record[prev:end].strip():
        raise _Unsupported()
    handle = runs.add("opt", record, spans)
    return lambda: _make_family(tag, node, tuple(series), runs.contracts(handle))


class _ContractRuns:
    """The runs of contract records of a batch of families, read together.

    Each family registers its runs (``<opt>`` records of each series, or the ``<fut>``/``<phy>``
    records after the header) with :meth:`add`. :meth:`read` reads all runs of the batch in one
    token pass (:mod:`spanlike.spn._tokens`); if a run is not in the modelled form (unknown or
    reordered child, attribute, comment, entity, another number of risk-array values...), each
    element's runs are tried on their own, and the families of an element the token path
    refuses are read by the regex path (:func:`_contiguous` and the row readers), whose numbers
    join ``nums``. Both give the same contracts.
    """

    def __init__(self) -> None:
        #: per family: element, record, runs (start, end, series index) in the record
        self._families: list[tuple[str, bytes, list[tuple[int, int, int]]]] = []
        self._built: list[Callable[[], Any]] = []
        #: runs (record, start, end) read by tokens whose bytes are well-formed XML by themselves
        self.checked: list[tuple[bytes, int, int]] = []

    def add(self, element: str, record: bytes, spans: list[tuple[int, int, int]]) -> int:
        self._families.append((element, record, spans))
        return len(self._families) - 1

    def contracts(self, handle: int) -> Any:
        """The contracts of a family (after :meth:`read`, and ``nums.parse()`` for the regex path)."""
        return self._built[handle]()

    def read(self, reader: _Reader, nums: _NumberBatch) -> None:
        built: list[Callable[[], Any] | None] = [None] * len(self._families)
        groups = [[h for h, (_, _, spans) in enumerate(self._families) if spans]]
        while groups:
            handles = groups.pop()
            if not handles:
                continue
            families = [self._families[h] for h in handles]
            got = _read_tokens(families, reader)
            if got is None and len({e for e, _, _ in families}) > 1:
                # one pass for all failed: try each element on its own (a file may model one oddly)
                groups.extend([h for h in handles if self._families[h][0] == e] for e in _CONTRACT_MODELS)
                continue
            for k, h in enumerate(handles):
                if got is not None:
                    built[h] = (lambda c: lambda: c)(got[0][k])
                else:
                    built[h] = self._read_regex(*self._families[h], reader, nums)
            if got is not None and got[1]:
                self.checked.extend((record, start, end) for _, record, spans in families for start, end, _ in spans)
        empty = {"opt": _empty_options, "fut": _empty_non_option, "phy": _empty_non_option}
        self._built = [b if b is not None else empty[e] for b, (e, _, _) in zip(built, self._families)]

    @staticmethod
    def _read_regex(
        element: str, record: bytes, spans: list[tuple[int, int, int]], reader: _Reader, nums: _NumberBatch
    ) -> Callable[[], Any]:
        fut_re, phy_re, opt_re = _patterns(reader.n_points)
        if element == "opt":
            rows: list[tuple[Any, ...]] = []
            series_index: list[int] = []
            for start, end, i in spans:
                got = _contiguous(opt_re, record, start, end)
                rows.extend(got)
                series_index.extend([i] * len(got))
            return _options_from_rows(rows, series_index, reader, reader.n_points, nums)
        ((start, end, _),) = spans
        rows = _contiguous(fut_re if element == "fut" else phy_re, record, start, end)
        if element == "phy":  # physicals have no setlDate, t or undC: align with the fut columns
            rows = [r[:8] + (None,) * 7 + r[8:] for r in rows]
        return _non_option_from_rows(rows, reader, reader.n_points, nums)


def _read_tokens(
    families: list[tuple[str, bytes, list[tuple[int, int, int]]]], reader: _Reader
) -> tuple[list[Any], bool] | None:
    """The contracts of ``families`` (any elements) by the token path, or None if a run is not modelled.

    With the contracts comes whether (in the lazy pass) the runs are well-formed XML by
    themselves, so expat need not see them: see :class:`_Lazy`.
    """
    parts = [memoryview(record)[start:end] for _, record, spans in families for start, end, _ in spans]
    run = _tokens.Run.tokenize(parts, _TAGS)
    if run is None:
        return None
    n_points = reader.n_points
    elements = {e for e, _, _ in families}
    forms = _forms(n_points)
    recs = _tokens.read_records(run, _TAGS, {e: forms[e] for e in _CONTRACT_MODELS if e in elements})
    if recs is None:
        return None
    options, others = "opt" in elements, bool(elements - {"opt"})
    try:
        cols = _TokenColumns(run, recs, reader.encoding, n_points, _FLOAT_GROUPS, _INTEGER_GROUPS)
        rate_ids, arrays, deltas = cols.risk_arrays()
        if options:
            put_call, quality = cols.strings("o"), cols.strings("pq")
            if put_call is None or quality is None or not {"C", "P", None}.issuperset(put_call):
                return None
        if others:
            period, settlement = cols.strings("pe"), cols.strings("setlDate")
            underlying = cols.underlying()
            if period is None or settlement is None or underlying is None:
                return None
            scans = cols.scan_rates()
    except ValueError:  # a number float()/int() refuse, a text the encoding refuses
        return None
    ids = cols.integer("cId")
    k, p, d, v, cvf, svf, val, sc, t = (cols.float(x) for x in _FLOAT_GROUPS[:9])
    # each family's records are those of its runs, in order
    bounds = np.concatenate(([0], np.cumsum(np.bincount(recs.run, minlength=len(run.run_starts))))).tolist()
    out: list[Any] = []
    first_run = 0
    for element, _, spans in families:
        a, b = bounds[first_run], bounds[first_run + len(spans)]
        if element == "opt":
            series_of_run = np.array([i for _, _, i in spans], dtype=np.int64)
            out.append(OptionContracts(
                series_index=series_of_run[recs.run[a:b] - first_run],
                contract_id=ids[a:b],
                put_call=tuple(put_call[a:b]),  # type: ignore[arg-type]
                strike=k[a:b], price=p[a:b], price_quality=tuple(quality[a:b]),
                delta=d[a:b], vol=v[a:b], cvf=cvf[a:b], svf=svf[a:b], value=val[a:b], scale=sc[a:b],
                risk_array_rate_id=rate_ids[a:b], risk_array=arrays[a:b], composite_delta=deltas[a:b],
            ))
        else:
            out.append(NonOptionContracts(
                contract_id=ids[a:b], period=tuple(period[a:b]),
                price=p[a:b], delta=d[a:b], vol=v[a:b], cvf=cvf[a:b], value=val[a:b], scale=sc[a:b],
                settlement_date=tuple(settlement[a:b]), time_to_expiry=t[a:b],
                underlying=tuple(underlying[a:b]), scan_rates=tuple(scans[a:b]),
                risk_array_rate_id=rate_ids[a:b], risk_array=arrays[a:b], composite_delta=deltas[a:b],
            ))
        first_run += len(spans)
    return out, reader.lazy is not None and _xml_characters_only(run)


#: the groups of _forms read as numbers and as integers by the token path
_FLOAT_GROUPS = ("k", "p", "d", "v", "cvf", "svf", "val", "sc", "t", "ra_d", "u_i")
_INTEGER_GROUPS = ("cId", "r", "u_pfId", "u_cId")


def _xml_characters_only(run: _tokens.Run) -> bool:
    """Whether every byte of the runs is an XML character that needs no more checking.

    The token path has checked the tags (known names, no attributes), the nesting (the forms),
    the white space between elements and that no text holds ``<`` or ``&``. What expat checks
    besides is the characters: here ASCII without control characters other than TAB, LF and
    CR, and without ``]`` (so without the ``]]>`` text may not hold). Then the runs are
    well-formed content whatever the encoding (ASCII-compatible, checked in the prolog).
    """
    if not run.data.isascii() or b"]" in run.data:
        return False
    u = run.u[_fastparse.WORD_PAD:-_fastparse.WORD_PAD]
    controls = int(np.count_nonzero((u < 32) & (u != 10)))
    return controls == 0 or controls == int(np.count_nonzero(u == 13)) + int(np.count_nonzero(u == 9))


class _TokenColumns:
    """Columns of the records of a token run, by the group names of :func:`_forms`.

    The numbers (the ``floats`` groups and the risk-array values) are read by one
    :func:`~spanlike.spn._fastparse.decimal_spans` call, the ``integers`` groups by one
    :func:`~spanlike.spn._fastparse.integer_spans` call (fixed costs paid once). Conversions are
    those of the regex path: ``float()``/``int()`` results (missing numbers: NaN), texts decoded
    and stripped (missing: None); ValueError when a text is not a number.
    """

    def __init__(
        self, run: _tokens.Run, recs: _tokens.Records, encoding: str, n_points: int,
        floats: Sequence[str], integers: Sequence[str],
    ) -> None:
        self.run, self.recs, self.encoding, self.n_points = run, recs, encoding, n_points
        self.n = recs.opens.shape[0]
        self._has: dict[str, np.ndarray] = {}
        self._numbers: dict[str, np.ndarray] = {}
        groups = []
        for group in floats:
            has, tokens = recs.field(group)
            self._has[group] = has
            groups.append((group, tokens))
        has, first = recs.field("a")
        self._has["a"] = has
        groups.append(("a", (first[:, None] + 2 * np.arange(n_points)).ravel()))  # <a> and </a> alternate
        self._numbers.update(self._read(groups, _tokens.numbers))
        groups = []
        for group in integers:
            has, tokens = recs.field(group)
            self._has[group] = has
            groups.append((group, tokens))
        self._numbers.update(self._read(groups, _tokens.integers))

    def _read(self, groups: list[tuple[str, np.ndarray]], read: Callable[..., np.ndarray]) -> dict[str, np.ndarray]:
        spans = [self._spans(g, t) for g, t in groups]
        starts = np.concatenate([s for s, _ in spans])
        ends = np.concatenate([e for _, e in spans])
        values = read(self.run, (starts, ends), [t.shape[0] for _, t in groups])
        out = {}
        at = 0
        for group, t in groups:
            out[group] = values[at:at + t.shape[0]]
            at += t.shape[0]
        return out

    def float(self, group: str) -> np.ndarray:
        has, values = self._has[group], self._numbers[group]
        if has.shape[0] == self.n:
            return values
        out = np.full(self.n, np.nan)
        out[has] = values
        return out

    def integer(self, group: str) -> np.ndarray:
        assert self._has[group].shape[0] == self.n  # a required field
        return self._numbers[group]

    def strings(self, group: str, everywhere: bool = True) -> list[str | None] | None:
        """Texts of ``group`` for every record (None where absent), or only where present."""
        has, tokens = self.recs.field(group)
        got = _tokens.strings(self.run, self._spans(group, tokens), self.encoding)
        if got is None or has.shape[0] == self.n or not everywhere:
            return got  # type: ignore[return-value]
        out = np.full(self.n, None, dtype=object)
        out[has] = got
        return out.tolist()  # type: ignore[no-any-return]

    def _spans(self, group: str, tokens: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Text spans of a group's leaf tokens (the tag, hence its length, is the group's)."""
        return self.run.text_spans(tokens, _TAGS, len(_GROUP_TAG.get(group, group)) + 2)

    def risk_arrays(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        has = self._has["a"]
        values = self._numbers["a"].reshape(-1, self.n_points)
        rate_ids, deltas = self._numbers["r"], self._numbers["ra_d"]
        if has.shape[0] == self.n:
            return rate_ids, values, deltas
        out_ids = np.full(self.n, -1, dtype=np.int64)
        arrays = np.full((self.n, self.n_points), np.nan)
        out_deltas = np.full(self.n, np.nan)
        out_ids[has], arrays[has], out_deltas[has] = rate_ids, values, deltas
        return out_ids, arrays, out_deltas

    def underlying(self) -> list[UnderlyingContract | None] | None:
        exch, s = self.strings("u_exch", False), self.strings("u_s", False)
        if exch is None or s is None:
            return None
        has = self._has["u_i"]
        pf_id, c_id = self._numbers["u_pfId"].tolist(), self._numbers["u_cId"].tolist()
        i = self._numbers["u_i"].tolist()
        out: list[UnderlyingContract | None] = [None] * self.n
        for k, j in enumerate(has.tolist()):
            out[j] = UnderlyingContract(exch[k], pf_id[k], c_id[k], s[k], i[k])  # type: ignore[arg-type]
        return out

    def scan_rates(self) -> list[tuple[ScanRate, ...] | None]:
        """Scan rates of each record (None for records without them: options), by the regex path's
        reader of the ``scanRate`` elements' bytes."""
        has, start = self.recs.field("scanRate")
        end = (self.recs.opens + self.recs.group_end("scanRate"))[has]
        lt, data = self.run.lt, self.run.data
        out: list[tuple[ScanRate, ...] | None] = [None] * self.n
        for j, a, b in zip(has.tolist(), start.tolist(), end.tolist()):
            out[j] = _scan_rates_fast(data[lt[a]:lt[b]])
        return out


def _non_option_from_rows(
    rows: list[tuple[Any, ...]], reader: _Reader, n_points: int, nums: _NumberBatch
) -> Callable[[], NonOptionContracts]:
    if not rows:
        return _empty_non_option
    cols = list(zip(*rows))
    (cid, pe, p, d, v, cvf, val, sc, setl, t, u_ex, u_pf, u_c, u_s, u_i, scan) = cols[:16]
    underlying: list[UnderlyingContract | None] = []
    for j in range(len(rows)):
        if not u_ex[j]:
            underlying.append(None)
        else:
            try:
                if b"\r" in u_ex[j] or b"\r" in u_s[j]:  # (as in _strings)
                    raise _Unsupported()
                underlying.append(UnderlyingContract(reader.text(u_ex[j]), int(u_pf[j]), int(u_c[j]), reader.text(u_s[j]), float(u_i[j])))
            except ValueError:
                raise _Unsupported() from None
    try:
        scans = tuple(_scan_rates_fast(x) for x in scan)
    except ValueError:
        raise _Unsupported() from None
    ra = _risk_arrays(rows, 16, n_points, nums)
    ids = _i64(cid)
    period, settlement = _strings(pe, reader), _strings(setl, reader)
    h = [nums.column(c) for c in (p, d, v, cvf, val, sc, t)]

    def build() -> NonOptionContracts:
        rate_ids, arrays, deltas = ra()
        price, delta, vol, cvf_, value, scale, t_ = (nums.get(x) for x in h)
        return NonOptionContracts(
            contract_id=ids,
            period=period,
            price=price,
            delta=delta,
            vol=vol,
            cvf=cvf_,
            value=value,
            scale=scale,
            settlement_date=settlement,
            time_to_expiry=t_,
            underlying=tuple(underlying),
            scan_rates=scans,
            risk_array_rate_id=rate_ids,
            risk_array=arrays,
            composite_delta=deltas,
        )

    return build


def _options_from_rows(
    rows: list[tuple[Any, ...]], series_index: list[int], reader: _Reader, n_points: int, nums: _NumberBatch
) -> Callable[[], OptionContracts]:
    if not rows:
        return _empty_options
    (cid, o, k, p, pq, d, v, cvf, svf, val, sc) = list(zip(*rows))[:11]
    put_call = _strings(o, reader)
    if not {"C", "P"}.issuperset(put_call):
        raise _Unsupported()
    ra = _risk_arrays(rows, 11, n_points, nums)
    ids = _i64(cid)
    quality = _strings(pq, reader)
    h = [nums.column(c) for c in (k, p, d, v, cvf, svf, val, sc)]

    def build() -> OptionContracts:
        rate_ids, arrays, deltas = ra()
        strike, price, delta, vol, cvf_, svf_, value, scale = (nums.get(x) for x in h)
        return OptionContracts(
            series_index=np.array(series_index, dtype=np.int64),
            contract_id=ids,
            put_call=put_call,  # type: ignore[arg-type]
            strike=strike,
            price=price,
            price_quality=quality,
            delta=delta,
            vol=vol,
            cvf=cvf_,
            svf=svf_,
            value=value,
            scale=scale,
            risk_array_rate_id=rate_ids,
            risk_array=arrays,
            composite_delta=deltas,
        )

    return build


def _empty_non_option() -> NonOptionContracts:
    f = np.empty(0)
    return NonOptionContracts(np.empty(0, dtype=np.int64), (), f, f.copy(), f.copy(), f.copy(), f.copy(), f.copy(), (),
                              f.copy(), (), (), np.empty(0, dtype=np.int64), np.empty((0, 16)), f.copy())


def _empty_options() -> OptionContracts:
    f = np.empty(0)
    i = np.empty(0, dtype=np.int64)
    return OptionContracts(i, i.copy(), (), f, f.copy(), (), f.copy(), f.copy(), f.copy(), f.copy(), f.copy(), f.copy(),
                           i.copy(), np.empty((0, 16)), f.copy())


_SERIES_KNOWN = frozenset({
    "pe", "v", "volSrc", "setlDate", "t", "cvf", "svf", "sc", "undC", "intrRate", "divRate", "scanRate", "opt",
})


def _series(node: _El, reader: _Reader, family_tag: str) -> OptionSeries:
    _note_unknown(reader, "/".join(_EX) + f"/{family_tag}/series", node, _SERIES_KNOWN)
    und = node.child("undC")
    assert und is not None
    rates = tuple(
        InterestRate(r.fnum("val"), r.fnum("rl"), r.fnum("cpm"), r.fnum("exm"), r.float("tm", False))
        for r in node.children("intrRate")
    )
    div = node.child("divRate", False)
    return OptionSeries(
        period=node.req("pe"),
        vol=node.float("v", False),
        vol_source=_raw_text(node, "volSrc"),
        settlement_date=node.text("setlDate", False),
        time_to_expiry=node.float("t", False),
        cvf=node.float("cvf", False),
        svf=node.float("svf", False),
        scale=node.fnum("sc"),
        underlying=_und_c(und),
        interest_rates=rates,
        dividend_yield=div.fnum("val") if div is not None else None,
        scan_rates=tuple(_scan_rate(s) for s in node.children("scanRate")),
    )


_SERIES_HEAD = re.compile(
    _s("pe") + _s("v", True) + _s("volSrc", True) + _s("setlDate", True) + _s("t", True) + _s("cvf", True)
    + _s("svf", True) + _s("sc")
    + rb"\s*+<undC>" + _s("exch") + _s("pfId") + _s("cId") + _s("s") + _s("i") + rb"\s*+</undC>"
    + rb"((?:\s*+<intrRate>(?:\s*+<[a-zA-Z]++>[^<&]*+</[a-zA-Z]++>)*+\s*+</intrRate>)*+)"  # items: _INTR_ITEM
    + rb"(?:\s*+<divRate>" + _s("val") + rb"\s*+</divRate>)?+"
    + _SCANRATES + rb"\s*+"
)
_INTR_ITEM = re.compile(
    rb"<intrRate>" + _s("val") + _s("rl") + _s("cpm") + _s("exm") + _s("tm", True) + rb"\s*+</intrRate>"
)
_intr_cache: dict[bytes, tuple[InterestRate, ...]] = {}


def _series_fast(record: bytes, start: int, end: int, reader: _Reader) -> OptionSeries | None:
    """The series head ``record[start:end]`` (children before the first ``opt``) read by one regex.

    Same fields and conversions as :func:`_series` on the ElementTree; None when the head is not
    in the modelled form (children in XSD order, no unknown child, no entity, no CR in the kept
    ``volSrc`` text, numbers that parse), so :func:`_series` reads it and reports what it finds.
    """
    m = _SERIES_HEAD.fullmatch(record, start, end)
    if m is None:
        return None
    (pe, v, vol_src, setl, t, cvf, svf, sc, u_ex, u_pf, u_c, u_s, u_i, intr, div, scan) = m.groups()
    if vol_src is not None and b"\r" in vol_src:  # ElementTree would normalise line ends
        return None
    enc = reader.encoding
    try:
        rates = _intr_cache.get(intr)
        if rates is None:
            items = [x.groups() for x in _INTR_ITEM.finditer(intr)]  # (findall gives b"" for an absent tm)
            if len(items) != intr.count(b"<intrRate>"):  # an item not in the modelled form
                return None
            rates = tuple(
                InterestRate(float(r[0]), float(r[1]), float(r[2]), float(r[3]), None if r[4] is None else float(r[4]))
                for r in items
            )
            if len(_intr_cache) < 4096:
                _intr_cache[intr] = rates
        return OptionSeries(
            period=pe.decode(enc).strip(),
            vol=None if v is None else float(v),
            vol_source=None if vol_src is None else vol_src.decode(enc),
            settlement_date=None if setl is None else setl.decode(enc).strip(),
            time_to_expiry=None if t is None else float(t),
            cvf=None if cvf is None else float(cvf),
            svf=None if svf is None else float(svf),
            scale=float(sc),
            underlying=UnderlyingContract(u_ex.decode(enc).strip(), int(u_pf), int(u_c), u_s.decode(enc).strip(), float(u_i)),
            interest_rates=rates,
            dividend_yield=None if div is None else float(div),
            scan_rates=_scan_rates_fast(scan),
        )
    except ValueError:
        return None


# --- slow path ---------------------------------------------------------------------

_CONTRACT_KNOWN = {
    "fut": frozenset({"cId", "pe", "p", "d", "v", "cvf", "val", "sc", "setlDate", "t", "undC", "scanRate", "ra"}),
    "phy": frozenset({"cId", "pe", "p", "d", "v", "cvf", "val", "sc", "scanRate", "ra"}),
    "opt": frozenset({"cId", "o", "k", "p", "pq", "d", "v", "cvf", "svf", "val", "sc", "ra"}),
}


def _ra_slow(node: _El) -> tuple[int, list[float], float] | None:
    ras = node.children("ra")
    if not ras:
        return None
    if len(ras) > 1:
        raise _FieldError(ras[1].path, "several risk arrays (one per rate id) per contract are not supported.")
    ra = ras[0]
    values: list[float] = []
    for j, a in enumerate(ra.el.findall("a"), 1):
        text = (a.text or "").strip()
        try:
            values.append(float(text))
        except ValueError:
            raise _FieldError(ra.path + (("a", j),), f"risk array value {text!r} is not a number.") from None
    if not values:
        raise _FieldError(ra.path, "a risk array needs at least one <a> value.")
    return ra.inum("r"), values, ra.fnum("d")


def _stack_ra(
    items: list[tuple[int, list[float], float] | None], paths: list[tuple[tuple[str, int], ...]], default_points: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Risk arrays of one family as rows (NaN where a contract has none); ``default_points`` wide
    when no contract has one (the file's scan points, as the fast paths)."""
    n = len(items)
    lengths = {len(x[1]) for x in items if x is not None}
    if len(lengths) > 1:
        first = next(len(x[1]) for x in items if x is not None)
        bad = next(i for i, x in enumerate(items) if x is not None and len(x[1]) != first)
        raise _FieldError(paths[bad] + (("ra", 1),), f"risk arrays of one family must have equal lengths; this one has {len(items[bad][1])} values, earlier ones {first}.")  # type: ignore[index]
    n_points = lengths.pop() if lengths else default_points
    arrays = np.full((n, n_points), np.nan)
    rate_ids = np.full(n, -1, dtype=np.int64)
    deltas = np.full(n, np.nan)
    for i, x in enumerate(items):
        if x is not None:
            rate_ids[i], arrays[i], deltas[i] = x[0], x[1], x[2]
    return rate_ids, arrays, deltas


def _nan(x: float | None) -> float:
    return math.nan if x is None else x


def _family_slow(tag: str, record: bytes, reader: _Reader) -> Family:
    root = _El(reader.element(record), ())
    base = "/".join(_EX + (tag,))
    _note_unknown(reader, base, root, _FAMILY_HEADER_KNOWN | {"phy", "fut", "series"})
    if tag in NON_OPTION_FAMILY_TAGS:
        child = "phy" if tag == "phyPf" else "fut"
        nodes = root.children(child)
        ras = []
        for c in nodes:
            _note_unknown(reader, f"{base}/{child}", c, _CONTRACT_KNOWN[child])
            ras.append(_ra_slow(c))
        rate_ids, arrays, deltas = _stack_ra(ras, [c.path for c in nodes], reader.n_points)
        und = [c.child("undC", False) for c in nodes]
        contracts = NonOptionContracts(
            contract_id=np.array([c.inum("cId") for c in nodes], dtype=np.int64),
            period=tuple(c.text("pe", child == "fut") for c in nodes),
            price=np.array([_nan(c.float("p", False)) for c in nodes], dtype=np.float64),
            delta=np.array([_nan(c.float("d", False)) for c in nodes], dtype=np.float64),
            vol=np.array([_nan(c.float("v", False)) for c in nodes], dtype=np.float64),
            cvf=np.array([_nan(c.float("cvf", False)) for c in nodes], dtype=np.float64),
            value=np.array([_nan(c.float("val", False)) for c in nodes], dtype=np.float64),
            scale=np.array([_nan(c.float("sc", False)) for c in nodes], dtype=np.float64),
            settlement_date=tuple(c.text("setlDate", False) for c in nodes),
            time_to_expiry=np.array([_nan(c.float("t", False)) for c in nodes], dtype=np.float64),
            underlying=tuple(_und_c(u) if u is not None else None for u in und),
            scan_rates=tuple(tuple(_scan_rate(s) for s in c.children("scanRate")) for c in nodes),
            risk_array_rate_id=rate_ids,
            risk_array=arrays if nodes else np.empty((0, 16)),
            composite_delta=deltas,
        )
        return _make_family(tag, root, (), contracts)
    series_nodes = root.children("series")
    series = tuple(_series(s, reader, tag) for s in series_nodes)
    opts: list[_El] = []
    index: list[int] = []
    for i, s in enumerate(series_nodes):
        for o in s.children("opt"):
            _note_unknown(reader, f"{base}/series/opt", o, _CONTRACT_KNOWN["opt"])
            opts.append(o)
            index.append(i)
    put_call = []
    for o in opts:
        pc = o.req("o")
        if pc not in ("C", "P"):
            raise _FieldError(o.path + (("o", 1),), f"option type must be 'C' or 'P'. Got {pc!r}.")
        put_call.append(pc)
    rate_ids, arrays, deltas = _stack_ra([_ra_slow(o) for o in opts], [o.path for o in opts], reader.n_points)
    contracts_o = OptionContracts(
        series_index=np.array(index, dtype=np.int64),
        contract_id=np.array([o.inum("cId") for o in opts], dtype=np.int64),
        put_call=tuple(put_call),
        strike=np.array([o.fnum("k") for o in opts], dtype=np.float64),
        price=np.array([o.fnum("p") for o in opts], dtype=np.float64),
        price_quality=tuple(o.text("pq", False) for o in opts),
        delta=np.array([_nan(o.float("d", False)) for o in opts], dtype=np.float64),
        vol=np.array([_nan(o.float("v", False)) for o in opts], dtype=np.float64),
        cvf=np.array([_nan(o.float("cvf", False)) for o in opts], dtype=np.float64),
        svf=np.array([_nan(o.float("svf", False)) for o in opts], dtype=np.float64),
        value=np.array([_nan(o.float("val", False)) for o in opts], dtype=np.float64),
        scale=np.array([_nan(o.float("sc", False)) for o in opts], dtype=np.float64),
        risk_array_rate_id=rate_ids,
        risk_array=arrays if opts else np.empty((0, 16)),
        composite_delta=deltas,
    )
    return _make_family(tag, root, series, contracts_o)


def read_family_slow(tag: str, record: bytes, reader: _Reader) -> Family:
    """The slow twin of :func:`read_family` (ElementTree walk), for tests."""
    return _family_slow(tag, record, reader)
