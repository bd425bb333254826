"""The slow twin: product families read by an ElementTree walk (precise errors, unknown elements noted)."""

from __future__ import annotations

import datetime as dt
import math
import re
import xml.etree.ElementTree as ET
from typing import TYPE_CHECKING, Any

import numpy as np

from spanlike.spn.model import (
    NON_OPTION_FAMILY_TAGS,
    Family,
    InterestRate,
    NonOptionContracts,
    OptionContracts,
    OptionFamily,
    OptionSeries,
    ProductFamily,
)
from spanlike.spn.reading.elements import _EX, _NOT_FINITE, _El, _FieldError, _note_unknown, _raw_text, _scan_rate, _und_c, _und_pf, _Unsupported
from spanlike.spn.reading.regex_path import _Header

if TYPE_CHECKING:
    from spanlike.spn.reading.driver import _Reader

_FAMILY_HEADER_KNOWN = frozenset({
    "pfId", "pfCode", "name", "currency", "cvf", "priceDl", "priceFmt", "valueMeth", "priceMeth", "setlMeth",
    "undPf", "exercise", "strikeDl", "strikeFmt", "cab", "priceModel",
})

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

#: a SPAN period code: year, month and optional day/week/settlement letters (202403, 20240315,
#: 201606S0, and the physicals' 00000S of the Takasbank file)
_PERIOD = re.compile(r"[0-9]{4}[0-9A-Za-z]{2,6}")
_DATE = re.compile(r"[0-9]{8}")


def _check_period(text: str | None, rel: tuple[tuple[str, int], ...], tag: str, checked: set[str]) -> None:
    if text is None or text in checked:
        return
    if tag == "pe" and not _PERIOD.fullmatch(text):
        raise _FieldError(rel + (("pe", 1),), f"period code {text!r} is not a SPAN period (YYYYMM, YYYYMMDD, e.g. 202403).")
    if tag == "setlDate":
        try:
            if not _DATE.fullmatch(text):
                raise ValueError
            dt.date(int(text[:4]), int(text[4:6]), int(text[6:]))
        except ValueError:
            raise _FieldError(rel + (("setlDate", 1),), f"settlement date {text!r} is not a date YYYYMMDD (e.g. 20240315).") from None
    checked.add(text)


def _check_family(tag: str, family: Family) -> Family:
    """Refuse what every path reads alike but no margin can use.

    Period codes and settlement dates must be well formed (an empty or garbage one is not
    guessed at). An option of a premium-style family (``valueMeth`` not FUT) must state its
    value ``<val>``: the net option value is built from it, so a missing one is refused rather
    than margined as NaN or derived from ``p`` and ``cvf`` behind the user's back.
    """
    seen: set[str] = set()
    if isinstance(family, OptionFamily):
        for s, one in enumerate(family.series, 1):
            _check_period(one.period, (("series", s),), "pe", seen)
            _check_period(one.settlement_date, (("series", s),), "setlDate", seen)
        value = family.contracts.value
        if not family.is_futures_style and value.size and np.isnan(value).any():
            j = int(np.flatnonzero(np.isnan(value))[0])
            index = family.contracts.series_index
            s = int(index[j])
            k = int((index[:j] == s).sum()) + 1
            raise _FieldError(
                (("series", s + 1), ("opt", k)),
                f"required element <val> is missing: family {family.product_code} is premium-style "
                f"(valueMeth {family.value_method}), and its net option value is built from <val> (= p x cvf); "
                "add it.",
            )
        return family
    child = "phy" if tag == "phyPf" else "fut"
    c = family.contracts
    for i, (pe, setl) in enumerate(zip(c.period, c.settlement_date), 1):
        _check_period(pe, ((child, i),), "pe", seen)
        _check_period(setl, ((child, i),), "setlDate", seen)
    return family


def _make_family(tag: str, node: _El | _Header, series: tuple[OptionSeries, ...], contracts: Any) -> Family:
    return _check_family(tag, _build_family(tag, node, series, contracts))


def _build_family(tag: str, node: _El | _Header, series: tuple[OptionSeries, ...], contracts: Any) -> Family:
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
        if not math.isfinite(values[-1]):
            raise _FieldError(ra.path + (("a", j),), "risk array value " + _NOT_FINITE.format(text))
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

