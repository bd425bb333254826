"""The token path: runs of contract records read column-wise from their tag tokens (see :mod:`.._tokens`)."""

from __future__ import annotations

import functools
import re
from typing import TYPE_CHECKING, Any, Callable, Sequence

import numpy as np

from spanlike.spn import _fastparse, _tokens
from spanlike.spn.model import (
    NonOptionContracts,
    OptionContracts,
    ScanRate,
    UnderlyingContract,
)
from spanlike.spn.reading.regex_path import _CONTRACT_MODELS, _GROUP_TAG, _SCAN_FIELDS, _UNDC_CHILDREN, _scan_rates_fast

if TYPE_CHECKING:
    from spanlike.spn.reading.driver import _Reader

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

