"""The pass driver: a streaming scanner with expat validation, lazy pass first, strict pass on any failure."""

from __future__ import annotations

import codecs
import collections
import re
import xml.etree.ElementTree as ET
from pathlib import Path
from collections import Counter
from typing import IO, Any, Callable, Sequence
from xml.parsers import expat

from spanlike.params.errors import InputFileError
from spanlike.spn.model import (
    NON_OPTION_FAMILY_TAGS,
    OPTION_FAMILY_TAGS,
    Family,
    SpanFile,
)
from spanlike.spn.reading.elements import _EX, _FieldError, _Unsupported, _unescape
from spanlike.spn.reading.families import _families_fast, read_family
from spanlike.spn.reading.limits import ReadLimits
from spanlike.spn.reading.archives import _open_source
from spanlike.spn.reading.progress import _PROGRESS_MIN_BYTES, ProgressCallback, _ProgressBar
from spanlike.spn.reading.records import _State

_CHUNK = 1 << 22
_BATCH_BYTES = 2 << 20

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
        parser: str = "fast",
        limits: ReadLimits = ReadLimits(),
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
        #: "fast" (token path, regex path, slow twin as each needs), "regex" or "slow": see read_spn
        self.parser = parser
        self.limits = limits
        self.text_run = 0  # bytes since the last '<' or '>' of the bytes read so far
        self.read_at = 0  # offset in the document of the next chunk
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
        self._check_text_runs(chunk, start)
        self.read_at += len(chunk)
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

    def _check_text_runs(self, chunk: bytes, at: int) -> None:
        """Refuse a run of more than ``max_text_bytes`` bytes without ``<`` or ``>``.

        Checked on each chunk before expat or the scanner sees it: expat 2.5 re-scans a token
        that spans chunks from its start on every chunk (quadratic), and the scanner would too.
        A longer run contains a multiple of the limit, so probing there finds it in a few
        ``find`` calls per chunk. ``at``: the chunk's offset in ``self.buf``.
        """
        limit = self.limits.max_text_bytes
        n = len(chunk)

        def sep_after(i: int) -> int:
            a, b = chunk.find(b"<", i), chunk.find(b">", i)
            return n if a < 0 and b < 0 else (a if b < 0 else b if a < 0 else min(a, b))

        def sep_before(i: int) -> int:
            return max(chunk.rfind(b"<", 0, i), chunk.rfind(b">", 0, i))

        first = sep_after(0)
        if first == n:
            self.text_run += n
            if self.text_run > limit:
                self._text_too_long(at + n - self.text_run)
            return
        if self.text_run + first > limit:
            self._text_too_long(at - self.text_run)
        last = sep_before(n)
        for probe in range(first + limit, last, limit):
            if sep_after(probe) - sep_before(probe + 1) - 1 > limit:
                self._text_too_long(at + sep_before(probe + 1) + 1)
        self.text_run = n - last - 1

    def _text_too_long(self, offset: int) -> None:
        raise self.fail(
            self.line_at(max(offset, 0)), "/".join(self.stack),
            f"a text, attribute, comment or tag is longer than {self.limits.max_text_bytes:,} bytes "
            "(max_text_bytes); SPAN texts are short numbers and codes, so the file is damaged or not a "
            "SPAN file. Raise the limit on purpose with read_spn(..., max_text_bytes=N).",
        )

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
                if not self.stack or self.stack[-1] != tag:
                    raise self.fail(
                        self.line_at(start), "/".join(self.stack),
                        f"closing tag </{tag}> does not close the open element "
                        f"{'<' + self.stack[-1] + '>' if self.stack else '(none: the document has ended)'}; "
                        "the file has a repeated or missing line.",
                    )
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
        except ET.ParseError as exc:  # the record's bounds were misread (a closer inside a comment or CDATA)
            line = base_line + buf.count(b"\n", 0, start)
            raise self.fail(line, path, f"not well-formed XML in this element: {exc}.") from None
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
        try:
            root = ET.fromstring(decl + b"".join(item[2] for item in small) + b"</_>")
            self.parsed = {id(item[2]): el for item, el in zip(small, root)}  # (each record is one element)
        except ET.ParseError:  # one of them is not well-formed: each is parsed alone and the bad one named
            self.parsed = {}
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
            if self.parser == "slow":
                raise _Unsupported()
            families = _families_fast([(tag, record) for tag, record, *_ in pending], self, checked)
        except (_Unsupported, _FieldError, ET.ParseError):  # one needs the slow path or is in error: read each on its own
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
        except ET.ParseError as exc:  # the record's bounds were misread (a closer inside a comment or CDATA)
            line = base_line + buf.count(b"\n", 0, start)
            raise self.fail(line, "/".join(_EX + (tag,)), f"not well-formed XML in this element: {exc}.") from None
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
# The two passes
# ---------------------------------------------------------------------------

#: the parse paths read_spn's ``parser`` keyword selects (see read_spn)
PARSERS = ("fast", "regex", "slow")


def read_document(
    path: Path, *, progress: bool | ProgressCallback, parser: str, limits: ReadLimits
) -> SpanFile:
    """Read ``path`` by the lazy pass, and by the strict pass if the lazy one fails for any reason.

    The strict pass decides every error, so its line and element path are the ones reported.
    """
    bars: list[_ProgressBar] = []

    def attempt(lazy: bool) -> SpanFile:
        stream, total, consumed = _open_source(path, limits)
        callback: ProgressCallback | None = None
        if callable(progress):
            callback = progress
        elif progress and (total is None or total >= _PROGRESS_MIN_BYTES):
            if not bars:
                bars.append(_ProgressBar(f"reading {path.name}"))
            callback = bars[0]
        try:
            return _Reader(str(path), stream, total, consumed, callback, lazy=lazy, parser=parser, limits=limits).run()
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
