"""The regex path: family headers, series heads and contract records by patterns of the XSD content model."""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Callable, Sequence

import numpy as np

from spanlike.spn._fastparse import decimals
from spanlike.spn.model import (
    OPTION_FAMILY_TAGS,
    InterestRate,
    NonOptionContracts,
    OptionContracts,
    OptionSeries,
    ScanRate,
    UnderlyingContract,
    UnderlyingFamily,
)
from spanlike.spn.reading.elements import _Unsupported

if TYPE_CHECKING:
    from spanlike.spn.reading.driver import _Reader

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
            cvf=None if cvf is None else _num(cvf),
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
            cabinet_value=_num(cab) if option else None,
            price_model=text(price_model),
        ) if option else {}
        und = None if u_ex is None else UnderlyingFamily(
            text(u_ex), int(u_pf), text(u_code), text(u_type), text(u_s), _num(u_i)  # type: ignore[arg-type]
        )
    except ValueError:
        return None
    if not option and any(x is not None for x in (exercise, strike_dl, strike_fmt, cab, price_model)):
        return None  # option-only children in a non-option family: ElementTree notes them as unknown
    return _Header(fields, option_fields, und)

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

_SCANRATE_ITEM = re.compile(rb"<scanRate>\s*<r>([^<]*)</r>((?:\s*<[a-zA-Z]+>[^<&]*</[a-zA-Z]+>)*)\s*</scanRate>")
_SCANRATE_FIELD = re.compile(rb"<(priceScan|priceScanPct|volScan|volScanPct)>([^<&]*)</\1>")
_NAN = float("nan")


def _num(text: bytes | str) -> float:
    """``float(text)``, but ValueError for NaN and infinities (``nan``, ``inf``, ``1e999``).

    SPAN numbers are finite decimals; a non-finite one would give NaN margins. The fast paths
    then give way, and the slow twin names the element, line and value.
    """
    value = float(text)
    if value - value != 0.0:  # NaN and +-inf (faster than math.isfinite on this path)
        raise ValueError(f"{text!r} is not a finite number")
    return value

def _f64(column: Sequence[Any]) -> np.ndarray:
    """Numbers from text (bytes or str, parsed as Python's float does); a missing element (None) -> NaN.

    An empty text is no number: _Unsupported, so the slow path reports it (as it reads it).
    """
    try:
        if None in column:
            return np.array([_NAN if x is None else _num(x) for x in column], dtype=np.float64)
        values = np.array(column, dtype=np.float64)
    except ValueError:
        raise _Unsupported() from None
    if not np.isfinite(values).all():
        raise _Unsupported()
    return values


def _i64(column: Sequence[Any]) -> np.ndarray:
    try:
        return np.array(list(map(int, column)), dtype=np.int64)
    except (ValueError, TypeError, OverflowError):  # not an integer, or one past int64: the slow twin names it
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
        values = {k.decode(): _num(v) for k, v in pairs}
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
                return np.array([_num(x) for b in blocks for x in _A_TEXT.findall(b)], dtype=np.float64)
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
                underlying.append(UnderlyingContract(reader.text(u_ex[j]), int(u_pf[j]), int(u_c[j]), reader.text(u_s[j]), _num(u_i[j])))
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
                InterestRate(_num(r[0]), _num(r[1]), _num(r[2]), _num(r[3]), None if r[4] is None else _num(r[4]))
                for r in items
            )
            if len(_intr_cache) < 4096:
                _intr_cache[intr] = rates
        return OptionSeries(
            period=pe.decode(enc).strip(),
            vol=None if v is None else _num(v),
            vol_source=None if vol_src is None else vol_src.decode(enc),
            settlement_date=None if setl is None else setl.decode(enc).strip(),
            time_to_expiry=None if t is None else _num(t),
            cvf=None if cvf is None else _num(cvf),
            svf=None if svf is None else _num(svf),
            scale=_num(sc),
            underlying=UnderlyingContract(u_ex.decode(enc).strip(), int(u_pf), int(u_c), u_s.decode(enc).strip(), _num(u_i)),
            interest_rates=rates,
            dividend_yield=None if div is None else _num(div),
            scan_rates=_scan_rates_fast(scan),
        )
    except ValueError:
        return None


