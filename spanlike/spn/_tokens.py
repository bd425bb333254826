"""Tag tokens of runs of XML records, found and checked with numpy, and the texts they hold.

The SPAN reader's bulk is runs of contract records (``<opt>``, ``<fut>``,
``<phy>``) whose elements come in a fixed order. This module reads such runs
without a regular expression walking every byte:

1. **Tokens.** Every ``<`` of the buffer starts a tag. The (at most 16) bytes
   after it are read as 64-bit words and compared with the known tags
   ``<name>`` and ``</name>`` (names and their ``>``, exactly; anything else,
   such as attributes, comments, ``<x/>`` or an unknown name, refuses the
   run). Each token gets a one-byte code, so a record becomes a short byte
   string: its *form*.
2. **Records and forms.** A run must be records and nothing else: each open
   code followed by its close code, every token inside a record. Records
   repeat a few forms; each distinct form is checked once by a regular
   expression over codes that encodes the content model, whose named groups
   give the token offset of every field in that form.
3. **Texts.** A leaf's text lies between the end of its open tag and the next
   ``<``; everything else between tokens must be white space (checked). The
   caller converts texts with :mod:`spanlike.spn._fastparse` (numbers) or
   decodes them (strings).

Expat checks the document too: first, in the reader's strict pass; in its
lazy pass, after the scanner and without the runs these checks (and the
reader's character check) cleared, and before any result is returned. Either
way a result comes only from a well-formed document; the checks here decide
whether a run has the modelled shape. A run that does not (``None``) is read
by the slower paths, which report what they find.
"""

from __future__ import annotations

import math

import re
from dataclasses import dataclass
from typing import Sequence

import numpy as np

from spanlike.spn._fastparse import LOW_LANES, WORD_PAD, decimal_spans, integer_spans, word_view

__all__ = ["TagSet", "Run", "Records", "read_records", "numbers", "integers", "strings", "CHUNK"]

_U64 = np.uint64
_GT = _U64(0x3E3E3E3E3E3E3E3E)  # '>' in every lane
_ONES = _U64(0x0101010101010101)
_HIGH = _U64(0x8080808080808080)
_LO7 = _U64(0x7F7F7F7F7F7F7F7F)
_SPACE_LIMIT = _U64(0x5F5F5F5F5F5F5F5F)  # low 7 bits + 0x5F reach 0x80 from 0x21 up
_WS = np.zeros(256, dtype=bool)
_WS[[0x20, 0x09, 0x0A, 0x0D]] = True  # XML white space (expat refuses other control characters)
_MIX = _U64(0x9E3779B97F4A7C15)
_HASH_BITS = 12
_LONG = 255  # table code: a tag longer than one word, looked up by its second word
#: tokens per step of the vectorised passes: their temporaries (8 bytes per token) then stay in
#: the core's L2 cache; measured 3x faster than whole-run arrays on the Takasbank file
CHUNK = 1 << 15
_SCAN = 1 << 18  # bytes per step of the search for '<'
_MAX_GAP_LOOP = 64


def _through_gt(word: np.ndarray) -> np.ndarray:
    """``word`` cut after its first ``>`` byte (lanes above it zero); the whole word if it has none."""
    x = word ^ _GT
    # lanes equal to '>' get 0x80; a lane above a true one may too, but the lowest mark is exact
    marks = (x - _ONES) & ~x & _HIGH
    return word & (marks ^ (marks - _U64(1)))  # the bits up to the lowest mark; all when none


def _key(text: bytes) -> int:
    return int.from_bytes(text[:8].ljust(8, b"\0"), "little")


def _hash(keys: np.ndarray, mult: np.uint64) -> np.ndarray:
    return (keys * mult) >> _U64(64 - _HASH_BITS)


class TagSet:
    """Known element names; tag ``<name>`` gets code ``2i+1`` and ``</name>`` code ``2i+2``.

    A tag is identified by its first word (the 8 bytes after ``<``) cut after
    the first ``>``: a multiplicative hash picks the one candidate, chosen
    collision-free when the set is built, and the candidate's word must equal
    the tag's exactly. Tags longer than a word compare their second word too.

    Parameters
    ----------
    names : sequence of str
        At most 127 names of ASCII letters and digits, each of at most 14
        characters (so a closing tag with its ``>`` fits two words).
    leaves : sequence of str
        The names that hold text (the others hold elements only).
    """

    def __init__(self, names: Sequence[str], leaves: Sequence[str]) -> None:
        if len(names) > 127 or len(set(names)) != len(names):
            raise ValueError("at most 127 distinct names")
        self.names = tuple(names)
        self.code = {name: 2 * i + 1 for i, name in enumerate(names)}
        self.char = {name: bytes([c]) for name, c in self.code.items()}
        self.close_char = {name: bytes([c + 1]) for name, c in self.code.items()}
        length = np.zeros(256, dtype=np.int64)
        opens_text = np.zeros(256, dtype=bool)
        first: dict[int, int] = {}
        long: dict[tuple[int, int], int] = {}
        for name, code in self.code.items():
            if not (name.isascii() and name.isalnum() and len(name) <= 14):
                raise ValueError(f"unsupported element name {name!r}")
            for tag, c in ((name.encode() + b">", code), (b"/" + name.encode() + b">", code + 1)):
                length[c] = len(tag) + 1  # with its '<'
                if len(tag) <= 8:
                    first[_key(tag)] = c
                else:  # first words of long tags hold no '>', so they never equal a short tag's
                    first[_key(tag)] = _LONG
                    long[(_key(tag), _key(tag[8:]))] = c
            opens_text[code] = name in leaves
        self.length = length
        self.opens_text = opens_text
        #: where the white space after a tag starts; beyond any buffer for tags that open a text
        self.gap_offset = np.where(opens_text, 1 << 62, length)
        keys = np.array(sorted(first), dtype=np.uint64)
        mult = int(_MIX)
        while len(set(_hash(keys, _U64(mult)).tolist())) != keys.size:  # a few tries at most
            mult = (mult + 2) % (1 << 64)
        self._mult = _U64(mult)
        slots = _hash(keys, self._mult)
        self._table = np.zeros(1 << _HASH_BITS, dtype=np.uint8)  # slot -> code (0: empty)
        self._table[slots] = [first[k] for k in keys.tolist()]
        self._slot_word = np.zeros(1 << _HASH_BITS, dtype=np.uint64)  # slot -> the first word it holds
        self._slot_word[slots] = keys
        # long tags: the same scheme on both words mixed into one key
        pairs = sorted(long)
        firsts = np.array([k[0] for k in pairs], dtype=np.uint64)
        seconds = np.array([k[1] for k in pairs], dtype=np.uint64)
        mixed = firsts ^ (seconds * _MIX)
        mult = int(_MIX)
        while len(set(_hash(mixed, _U64(mult)).tolist())) != mixed.size:
            mult = (mult + 2) % (1 << 64)
        self._long_mult = _U64(mult)
        slots = _hash(mixed, self._long_mult)
        self._long_table = np.zeros(1 << _HASH_BITS, dtype=np.uint8)
        self._long_table[slots] = [long[k] for k in pairs]
        self._long_first = np.zeros(1 << _HASH_BITS, dtype=np.uint64)
        self._long_first[slots] = firsts
        self._long_second = np.zeros(1 << _HASH_BITS, dtype=np.uint64)
        self._long_second[slots] = seconds

    def codes(self, words: np.ndarray, lt: np.ndarray) -> np.ndarray | None:
        """The code of the tag at each ``<`` position ``lt``, or None if one is not a known tag."""
        codes = np.empty(lt.shape[0], dtype=np.uint8)
        for a in range(0, lt.shape[0], CHUNK):
            word = _through_gt(words[lt[a:a + CHUNK] + 1])
            slot = _hash(word, self._mult)
            got = self._table.take(slot)
            if not (got.all() and (self._slot_word[slot] == word).all()):
                return None
            codes[a:a + CHUNK] = got
        long = np.flatnonzero(codes == _LONG)
        if long.size:  # (few: the names of a run's records are short)
            first = words[lt[long] + 1]
            second = _through_gt(words[lt[long] + 9])
            slot = _hash(first ^ (second * _MIX), self._long_mult)
            got = self._long_table.take(slot)
            if not (got.all() and (self._long_first[slot] == first).all() and (self._long_second[slot] == second).all()):
                return None
            codes[long] = got
        return codes


@dataclass
class Run:
    """Concatenated runs of records, padded for word reads, with their tags.

    ``data`` holds ``WORD_PAD`` zero bytes, the runs, a sentinel ``<`` and
    ``WORD_PAD`` zero bytes; ``lt`` the positions of the tags' ``<`` (the
    sentinel is ``lt[-1]``, not a token); ``codes`` their codes;
    ``run_starts`` where each run begins in ``data``.
    """

    data: bytes
    u: np.ndarray
    words: np.ndarray
    lt: np.ndarray
    codes: np.ndarray
    run_starts: np.ndarray

    @classmethod
    def tokenize(cls, parts: Sequence[bytes | memoryview], tags: TagSet) -> "Run | None":
        """The runs ``parts`` (memoryviews of the records avoid a copy) joined and tokenized;
        None if a tag is unknown or a text holds an entity reference."""
        pad = b"\0" * WORD_PAD
        data = b"".join((pad, *parts, b"<", pad))
        if b"&" in data:  # entities: the regex and slow paths decide
            return None
        u = np.frombuffer(data, dtype=np.uint8)
        # the '<' found piece by piece: a whole-buffer comparison would be one more large
        # temporary, and fresh memory costs page faults
        lt = np.concatenate([np.flatnonzero(u[a:a + _SCAN] == 60) + a for a in range(0, u.shape[0], _SCAN)])
        words = word_view(data)
        codes = tags.codes(words, lt[:-1])
        if codes is None:
            return None
        sizes = np.fromiter((len(p) for p in parts), dtype=np.int64, count=len(parts))
        run_starts = WORD_PAD + np.concatenate(([0], np.cumsum(sizes)[:-1]))
        return cls(data, u, words, lt, codes, run_starts)

    def gaps_are_space(self, tags: TagSet) -> bool:
        """True if only white space follows every token that does not open a text.

        Gaps up to a word long are tested eight bytes at a time: the bytes up to 0x20 of an XML
        document are exactly the white space (tab, LF, CR, space: other control characters are
        not XML characters; expat refuses them, and runs it is not to see are checked to hold
        none: ``_xml_characters_only`` in the reader), and "up to 0x20" is a lane-wise test.
        """
        codes, lt, words = self.codes, self.lt, self.words
        for a in range(0, codes.shape[0], CHUNK):
            b = min(a + CHUNK, codes.shape[0])
            c = codes[a:b]
            start = lt[a:b] + tags.gap_offset.take(c)  # (take: byte codes index faster than by [])
            some = np.flatnonzero(lt[a + 1:b + 1] > start)  # most gaps are empty; texts never count
            start = start[some]
            size = lt[a + 1:b + 1][some] - start
            word = words[start]
            space = ~(word | ((word & _LO7) + _SPACE_LIMIT)) & _HIGH  # 0x80 in lanes <= 0x20
            need = _HIGH & LOW_LANES[np.minimum(size, 8)]
            if not ((space & need) == need).all():
                return False
            long = np.flatnonzero(size > 8)
            if long.size and not self._long_gaps_are_space(start[long] + 8, size[long] - 8):
                return False
        return True

    def _long_gaps_are_space(self, pos: np.ndarray, size: np.ndarray) -> bool:
        if int(size.max()) > _MAX_GAP_LOOP:  # long gaps: count non-space bytes once instead
            seen = np.concatenate(([0], np.cumsum(~_WS[self.u], dtype=np.int64)))
            return bool((seen[pos + size] == seen[pos]).all())
        while pos.size:  # one byte of each gap per step
            if not _WS[self.u[pos]].all():
                return False
            more = size > 1
            pos, size = pos[more] + 1, size[more] - 1
        return True

    def text_spans(
        self, tokens: np.ndarray, tags: TagSet, length: np.ndarray | int | None = None
    ) -> tuple[np.ndarray, np.ndarray]:
        """(start, end) in ``data`` of the texts opened by ``tokens`` (``length``: of their tags, if known)."""
        if length is None:
            length = tags.length.take(self.codes.take(tokens))
        return self.lt.take(tokens) + length, self.lt.take(tokens + 1)


@dataclass
class Records:
    """The records of a :class:`Run`: where they start and, per distinct form, where their fields are.

    ``opens``: token index of each record's open tag; ``run``: the run each
    record belongs to; ``form``: index into ``offsets`` (None when all
    records share form 0); ``offsets[f][group]``: the token offset of a named
    group of the form regex from the record's open tag, or -1 when the form
    (or the pattern) lacks it, with ``ends[f][group]`` the offset just after the group.
    """

    opens: np.ndarray
    run: np.ndarray
    form: np.ndarray | None
    offsets: list[dict[str, int]]
    ends: list[dict[str, int]]

    def field(self, group: str) -> tuple[np.ndarray, np.ndarray]:
        """(records that have ``group``, token index of its first token in each)."""
        if self.form is None:
            off = self.offsets[0].get(group, -1)
            if off < 0:
                return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64)
            return np.arange(self.opens.shape[0]), self.opens + off
        table = np.array([o.get(group, -1) for o in self.offsets], dtype=np.int64)
        off = table[self.form]
        has = np.flatnonzero(off >= 0)
        return has, self.opens[has] + off[has]

    def group_end(self, group: str) -> np.ndarray:
        """Token offset just after ``group`` for every record (-1 where absent)."""
        if self.form is None:
            return np.full(self.opens.shape[0], self.ends[0].get(group, -1), dtype=np.int64)
        return np.array([e.get(group, -1) for e in self.ends], dtype=np.int64)[self.form]


def read_records(run: Run, tags: TagSet, forms: dict[str, re.Pattern[bytes]]) -> Records | None:
    """Check that ``run`` is records of the elements ``forms`` names, each of its content model, and locate them.

    ``forms[element]`` is matched (``fullmatch``) against the codes of each distinct record of
    that element, open and close tags included. Returns None when the run is anything else.
    """
    codes = run.codes
    if not codes.size:
        return None
    opening = np.zeros(256, dtype=bool)
    opening[[tags.code[e] for e in forms]] = True
    closing = np.roll(opening, 1)  # close code = open code + 1
    opens = np.flatnonzero(opening.take(codes))
    closes = np.flatnonzero(closing.take(codes))
    n = opens.shape[0]
    if n == 0 or closes.shape[0] != n or opens[0] != 0:
        return None
    # records in sequence, nothing outside them: open < close < next open, each closing its own
    # element, sizes adding up to the whole run
    if not ((opens < closes).all() and (closes[:-1] < opens[1:]).all()):
        return None
    kinds = codes[opens]
    if not (codes[closes] == kinds + 1).all() or int((closes - opens).sum()) + n != codes.shape[0]:
        return None
    runs = np.searchsorted(run.run_starts, run.lt[opens], side="right") - 1
    if not (runs == np.searchsorted(run.run_starts, run.lt[closes], side="right") - 1).all():
        return None  # a record across two runs
    if not run.gaps_are_space(tags):
        return None
    marked = codes.copy()
    marked[opens] = 0  # (no tag has code 0)
    pieces = marked.tobytes().split(b"\0")[1:]  # each record's codes after its open tag
    keys = list(zip(kinds.tolist(), pieces)) if len(forms) > 1 else pieces
    distinct = list(dict.fromkeys(keys))
    by_code = {tags.code[e]: form for e, form in forms.items()}
    offsets: list[dict[str, int]] = []
    ends: list[dict[str, int]] = []
    for key in distinct:
        code, piece = key if len(forms) > 1 else (int(kinds[0]), key)
        form = by_code[code]
        m = form.fullmatch(bytes([code]) + piece)  # type: ignore[arg-type]
        if m is None:
            return None
        offsets.append({g: m.start(g) for g in form.groupindex})
        ends.append({g: m.end(g) for g in form.groupindex})
    which = None
    if len(distinct) > 1:
        index = {k: i for i, k in enumerate(distinct)}
        which = np.fromiter(map(index.__getitem__, keys), dtype=np.int64, count=n)
    return Records(opens, runs, which, offsets, ends)


def numbers(run: Run, spans: tuple[np.ndarray, np.ndarray], groups: Sequence[int] = ()) -> np.ndarray:
    """float64 of texts (``float()`` of those not in the strict decimal form); ValueError if one is no number.

    ``groups``: sizes of consecutive groups of spans (fields) that print the same number of
    decimals, each guessed from its first span; by default one group.
    """
    starts, ends = spans
    guess: np.ndarray | int | None = None
    if len(groups) > 1:
        firsts = np.cumsum([0, *groups[:-1]])
        counts = []
        for at, size in zip(firsts.tolist(), groups):
            text = run.data[starts[at]:ends[at]] if size else b""
            counts.append(len(text) - 1 - text.rfind(b".") if text.rfind(b".") >= 1 else 1)
        guess = np.repeat(np.array(counts, dtype=np.int64), groups)
    values, ok = decimal_spans(run.u, run.words, starts, ends, guess)
    if not ok.all():
        for i in np.flatnonzero(~ok).tolist():
            text = run.data[starts[i]:ends[i]]
            values[i] = float(text)
            if not math.isfinite(values[i]):  # nan, inf, 1e999: refused (the slow twin names it)
                raise ValueError(f"{text!r} is not a finite number")
    return values


def integers(run: Run, spans: tuple[np.ndarray, np.ndarray], groups: Sequence[int] = ()) -> np.ndarray:
    """int64 of texts (``int()`` of those not plain digits); ValueError if one is no integer.

    (``groups`` is not needed here; the signature is that of :func:`numbers`.)
    """
    starts, ends = spans
    values, ok = integer_spans(run.u, run.words, starts, ends)
    if not ok.all():
        for i in np.flatnonzero(~ok).tolist():
            text = run.data[starts[i]:ends[i]]
            try:
                values[i] = int(text)
            except OverflowError:  # past int64: refused like any bad number (the slow twin names it)
                raise ValueError(f"{text[:40]!r} is not an integer this file format can hold") from None
    return values


def strings(run: Run, spans: tuple[np.ndarray, np.ndarray], encoding: str) -> list[str] | None:
    """Texts decoded and stripped; None if one holds a carriage return (XML would normalise it)."""
    starts, ends = spans
    if not starts.size:
        return []
    size = ends - starts
    if int(size.max()) <= 8:  # short texts (periods, C/P): decode each distinct one once
        # the key is the text: a NUL would make two texts alike, but it is no XML character and
        # expat refuses it before any result is returned
        keys = run.words[starts] & LOW_LANES[size]
        distinct, first, inverse = np.unique(keys, return_index=True, return_inverse=True)
        texts = [run.data[s:e] for s, e in zip(starts[first].tolist(), ends[first].tolist())]
    else:
        raw = [run.data[s:e] for s, e in zip(starts.tolist(), ends.tolist())]
        index: dict[bytes, int] = {}
        inverse = np.fromiter((index.setdefault(t, len(index)) for t in raw), dtype=np.int64, count=len(raw))
        texts = list(index)
    if any(b"\r" in t for t in texts):
        return None
    decoded = np.empty(len(texts), dtype=object)
    decoded[:] = [t.decode(encoding).strip() for t in texts]
    return decoded[inverse.ravel()].tolist()  # type: ignore[no-any-return]
