"""Product families: which path reads them (token path, regex path, slow twin) and in what batches."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Callable, Sequence

from spanlike.spn.model import (
    NON_OPTION_FAMILY_TAGS,
    Family,
    OptionSeries,
)
from spanlike.spn.reading import token_path
from spanlike.spn.reading.elements import _El, _Unsupported
from spanlike.spn.reading.regex_path import (
    _CONTRACT_MODELS,
    _contiguous,
    _empty_non_option,
    _empty_options,
    _header_fast,
    _non_option_from_rows,
    _NumberBatch,
    _options_from_rows,
    _patterns,
    _series_fast,
)
from spanlike.spn.reading.slow import _family_header, _family_slow, _make_family, _series

if TYPE_CHECKING:
    from spanlike.spn.reading.driver import _Reader

_FIRST_CHILD = {"phyPf": b"<phy>", "futPf": b"<fut>"}

def read_family(
    tag: str, record: bytes, reader: _Reader, checked: list[tuple[bytes, int, int]] | None = None
) -> Family:
    """Read one product family record (fast path, falling back to the slow path).

    ``reader.parser == "slow"`` reads it by the slow twin alone.
    """
    if reader.parser == "slow":
        return _family_slow(tag, record, reader)
    noted = reader.skipped.copy()
    try:
        return _families_fast([(tag, record)], reader, checked)[0]
    except _Unsupported:
        reader.skipped = noted
        return _family_slow(tag, record, reader)

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
            # (looked up on the module, so a test can watch which runs the token path reads)
            got = None if reader.parser == "regex" else token_path._read_tokens(families, reader)
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

