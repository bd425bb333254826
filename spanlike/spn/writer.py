"""Write a :class:`~spanlike.spn.model.SpanFile` as SPAN XML (``fileFormat`` 4.00).

Children are written in the order of the XSD (``spanrisk.xml``) content
models, so a file built from valid parts validates; reading the output with
:func:`~spanlike.spn.read_spn` gives an equal ``SpanFile`` (round trip).
Numbers are written with Python's shortest round-tripping ``repr`` so no
digit is lost; optional values that are None/NaN are omitted. Elements the
reader skipped (``SpanFile.skipped``) are not written.

Strings are written as stored: the Takasbank file's ``00000S`` period codes
and its ``pfLink`` child order (``oopDeltaMeth`` before ``arrayPrecision``)
are not XSD-valid in the original either; the writer uses XSD order for
``pfLink``.
"""

from __future__ import annotations

import gzip
import math
import os
from pathlib import Path
from typing import IO, Iterable
from xml.sax.saxutils import escape

import numpy as np

from spanlike.params.errors import InputFileError

from spanlike.spn.model import (
    CombinedCommodityDef,
    DeltaSpread,
    NonOptionContracts,
    OptionFamily,
    PointDef,
    ProductFamily,
    RateValue,
    ScanDef,
    ScanRate,
    SpanFile,
    Tier,
    UnderlyingContract,
    UnderlyingFamily,
)

__all__ = ["write_spn"]


def _num(value: float) -> str:
    """Shortest text that parses back to the same double."""
    return repr(float(value))


class _Out:
    """Indented XML text builder (one element per line)."""

    def __init__(self) -> None:
        self.parts: list[str] = []
        self.depth = 0

    def open(self, tag: str) -> None:
        self.parts.append(f"{'  ' * self.depth}<{tag}>\n")
        self.depth += 1

    def close(self, tag: str) -> None:
        self.depth -= 1
        self.parts.append(f"{'  ' * self.depth}</{tag}>\n")

    def text(self, tag: str, value: str | None) -> None:
        if value is None:
            return
        self.parts.append(f"{'  ' * self.depth}<{tag}>{escape(value)}</{tag}>\n")

    def num(self, tag: str, value: float | None) -> None:
        if value is None or math.isnan(value):
            return
        self.parts.append(f"{'  ' * self.depth}<{tag}>{_num(value)}</{tag}>\n")

    def int(self, tag: str, value: int | None) -> None:
        if value is None:
            return
        self.parts.append(f"{'  ' * self.depth}<{tag}>{int(value)}</{tag}>\n")

    def bool(self, tag: str, value: bool | None) -> None:
        if value is None:
            return
        self.parts.append(f"{'  ' * self.depth}<{tag}>{1 if value else 0}</{tag}>\n")


def write_spn(span_file: SpanFile, path: str | os.PathLike[str]) -> Path:
    """Write ``span_file`` as a SPAN XML file.

    Parameters
    ----------
    span_file : SpanFile
        What to write (e.g. from :func:`~spanlike.spn.read_spn`).
    path : str or path-like
        Destination; a name ending in ``.gz`` is gzip-compressed.

    Returns
    -------
    Path
        The path written.

    Notes
    -----
    The file is UTF-8 encoded. ``read_spn(write_spn(s, p)) == s`` for every
    ``SpanFile`` the reader produces. A ``.gz`` file has a fixed gzip header
    (modification time 0, no file name), so equal input gives equal bytes.

    Raises
    ------
    InputFileError
        The directory of ``path`` does not exist, or ``path`` is a directory
        (checked before anything is written).
    """
    target = Path(path)
    _check_target(target)
    out = _Out()
    out.parts.append('<?xml version="1.0" encoding="UTF-8"?>\n')
    out.open("spanFile")
    out.text("fileFormat", span_file.file_format)
    out.text("created", span_file.created)
    out.open("definitions")
    for c in span_file.currencies:
        out.open("currencyDef")
        out.text("currency", c.code)
        out.text("symbol", c.symbol)
        out.text("name", c.name)
        out.int("decimalPos", c.decimal_places)
        out.close("currencyDef")
    for a in span_file.account_types:
        out.open("acctTypeDef")
        out.bool("isCust", a.is_customer)
        out.text("acctType", a.account_type)
        out.text("name", a.name)
        out.bool("isNetMargin", a.is_net_margin)
        out.text("priority", a.priority)
        out.close("acctTypeDef")
    out.close("definitions")
    out.open("pointInTime")
    out.text("date", span_file.business_date)
    out.bool("isSetl", span_file.is_settlement)
    out.text("setlQualifier", span_file.settlement_qualifier)
    _clearing_org(out, span_file)
    out.close("pointInTime")
    out.close("spanFile")
    data = "".join(out.parts).encode("utf-8")
    stream: IO[bytes]
    if target.suffix == ".gz":
        # gzip.open stores the time and the file name in the header: the same input would give
        # different bytes on every run; a fixed header (mtime 0, empty name) makes output reproducible
        with open(target, "wb") as raw, gzip.GzipFile(filename="", mode="wb", fileobj=raw, mtime=0) as stream:
            stream.write(data)
    else:
        with open(target, "wb") as stream:
            stream.write(data)
    return target


def _check_target(target: Path) -> None:
    """Refuse a destination that cannot be written, before any work is done."""
    parent = target.parent
    if not parent.is_dir():
        raise InputFileError(
            f"Cannot write the SPAN file {target}: the directory {parent} does not exist. Create it or write elsewhere."
        )
    if target.is_dir():
        raise InputFileError(f"Cannot write the SPAN file {target}: it is a directory. Give a file name (.spn or .spn.gz).")


def _clearing_org(out: _Out, span_file: SpanFile) -> None:
    co = span_file.clearing_org
    out.open("clearingOrg")
    out.text("ec", co.code)
    out.text("name", co.name)
    out.bool("isContractScale", co.is_contract_scale)
    out.bool("isNetMargin", co.is_net_margin)
    out.text("finalizeMeth", co.finalize_method)
    out.text("oopDeltaMeth", co.option_delta_method)
    out.bool("capAnov", co.cap_anov)
    out.text("lookAheadYears", co.lookahead_years)
    out.text("lookAheadDays", co.lookahead_days)
    out.text("daysPerYear", co.days_per_year)
    for cc in co.currency_conversions:
        out.open("curConv")
        out.text("fromCur", cc.from_currency)
        out.text("toCur", cc.to_currency)
        out.num("factor", cc.factor)
        out.close("curConv")
    for pb in co.pb_rates:
        out.open("pbRateDef")
        out.int("r", pb.rate_id)
        out.bool("isCust", pb.is_customer)
        out.text("acctType", pb.account_type)
        out.bool("isM", pb.is_maintenance)
        out.text("pbc", pb.pb_class)
        out.close("pbRateDef")
    for pd in co.point_defs:
        _point_def(out, pd)
    for ex in co.exchanges:
        out.open("exchange")
        out.text("exch", ex.code)
        out.text("name", ex.name)
        for fam in ex.families:
            if isinstance(fam, OptionFamily):
                _option_family(out, fam)
            else:
                _non_option_family(out, fam)
        out.close("exchange")
    for cc_def in co.combined_commodities:
        _cc_def(out, cc_def)
    if co.inter_spreads:
        out.open("interSpreads")
        for spread in co.inter_spreads:
            _delta_spread(out, spread)
        out.close("interSpreads")
    out.close("clearingOrg")


def _scan_def(out: _Out, tag: str, d: ScanDef) -> None:
    out.open(tag)
    out.num("mult", d.mult)
    out.num("numerator", d.numerator)
    out.num("denominator", d.denominator)
    out.close(tag)


def _point_def(out: _Out, pd: PointDef) -> None:
    out.open("pointDef")
    out.int("r", pd.rate_id)
    for p in pd.scan_points:
        out.open("scanPointDef")
        out.int("point", p.point)
        _scan_def(out, "priceScanDef", p.price)
        _scan_def(out, "volScanDef", p.vol)
        out.num("weight", p.weight)
        out.int("pairedPoint", p.paired_point)
        out.close("scanPointDef")
    for d in pd.delta_points:
        out.open("deltaPointDef")
        out.int("point", d.point)
        _scan_def(out, "priceScanDef", d.price)
        _scan_def(out, "volScanDef", d.vol)
        out.num("weight", d.weight)
        out.close("deltaPointDef")
    out.close("pointDef")


def _rates(out: _Out, rates: Iterable[RateValue], tag: str = "rate") -> None:
    for rate in rates:
        out.open(tag)
        out.int("r", rate.rate_id)
        out.num("val", rate.value)
        out.close(tag)


def _tiers(out: _Out, tag: str, tiers: tuple[Tier, ...]) -> None:
    if not tiers:
        return
    out.open(tag)
    for t in tiers:
        out.open("tier")
        out.int("tn", t.number)
        out.text("sPe", t.start_period)
        out.text("ePe", t.end_period)
        _rates(out, t.rates)
        out.close("tier")
    out.close(tag)


def _delta_spread(out: _Out, s: DeltaSpread) -> None:
    out.open("dSpread")
    out.int("spread", s.priority)
    out.text("spreadType", s.spread_type)
    out.text("chargeMeth", s.charge_method)
    _rates(out, s.rates)
    for p in s.per_month_rates:
        out.open("pmpsRate")
        out.int("r", p.rate_id)
        out.num("val", p.value)
        out.num("pmRate", p.per_month_rate)
        out.num("psRate", p.per_spread_rate)
        out.close("pmpsRate")
    for leg in s.legs:
        tag = "tLeg" if leg.period is None else "pLeg"
        out.open(tag)
        out.text("cc", leg.combined_commodity)
        if leg.period is None:
            out.int("tn", leg.tier)
        else:
            out.text("pe", leg.period)
        out.text("rs", leg.side)
        out.num("i", leg.delta_ratio)
        _rates(out, leg.rates)
        out.close(tag)
    out.close("dSpread")


def _cc_def(out: _Out, cc: CombinedCommodityDef) -> None:
    out.open("ccDef")
    out.text("cc", cc.code)
    out.text("name", cc.name)
    out.text("currency", cc.currency)
    out.int("riskExponent", cc.risk_exponent)
    out.bool("capAnov", cc.cap_anov)
    out.text("procMeth", cc.processing_method)
    out.text("wfprMeth", cc.wfpr_method)
    out.text("spotMeth", cc.spot_method)
    out.text("somMeth", cc.som_method)
    out.text("cmbMeth", cc.combination_method)
    for link in cc.product_links:
        out.open("pfLink")
        out.text("exch", link.exchange)
        out.int("pfId", link.product_id)
        out.text("pfCode", link.product_code)
        out.text("pfType", link.product_type)
        out.num("sc", link.scale)
        out.text("cmbMeth", link.combination_method)
        out.bool("applyBasisRisk", link.apply_basis_risk)
        out.int("arrayPrecision", link.array_precision)
        out.text("oopDeltaMeth", link.option_delta_method)
        out.close("pfLink")
    for adj in cc.adjustment_rates:
        out.open("adjRate")
        out.int("r", adj.rate_id)
        out.int("baseR", adj.base_rate_id)
        out.num("val", adj.value)
        out.close("adjRate")
    _tiers(out, "scanTiers", cc.scan_tiers)
    _tiers(out, "intraTiers", cc.intra_tiers)
    _tiers(out, "interTiers", cc.inter_tiers)
    _tiers(out, "somTiers", cc.som_tiers)
    for spread in cc.intra_spreads:
        _delta_spread(out, spread)
    for spot in cc.spot_rates:
        out.open("spotRate")
        out.int("r", spot.rate_id)
        out.text("pe", spot.period)
        out.num("sprd", spot.spread_rate)
        out.num("outr", spot.outright_rate)
        out.close("spotRate")
    out.close("ccDef")


def _und_pf(out: _Out, u: UnderlyingFamily | None) -> None:
    if u is None:
        return
    out.open("undPf")
    out.text("exch", u.exchange)
    out.int("pfId", u.product_id)
    out.text("pfCode", u.product_code)
    out.text("pfType", u.product_type)
    out.text("s", u.side)
    out.num("i", u.ratio)
    out.close("undPf")


def _und_c(out: _Out, u: UnderlyingContract | None) -> None:
    if u is None:
        return
    out.open("undC")
    out.text("exch", u.exchange)
    out.int("pfId", u.product_id)
    out.int("cId", u.contract_id)
    out.text("s", u.side)
    out.num("i", u.ratio)
    out.close("undC")


def _scan_rates(out: _Out, rates: Iterable[ScanRate]) -> None:
    for s in rates:
        out.open("scanRate")
        out.int("r", s.rate_id)
        out.num("priceScan", s.price_scan)
        out.num("priceScanPct", s.price_scan_pct)
        out.num("volScan", s.vol_scan)
        out.num("volScanPct", s.vol_scan_pct)
        out.close("scanRate")


def _ra(out: _Out, rate_id: int, row: np.ndarray, delta: float) -> None:
    if rate_id < 0:
        return
    pad = "  " * out.depth
    values = "".join(f"<a>{_num(v)}</a>" for v in row.tolist())
    d = "" if math.isnan(delta) else f"<d>{_num(delta)}</d>"
    out.parts.append(f"{pad}<ra><r>{rate_id}</r>{values}{d}</ra>\n")


def _family_header(out: _Out, fam: ProductFamily | OptionFamily) -> None:
    out.int("pfId", fam.product_id)
    out.text("pfCode", fam.product_code)
    out.text("name", fam.name)


def _non_option_family(out: _Out, fam: ProductFamily) -> None:
    tag = fam.family_type
    out.open(tag)
    _family_header(out, fam)
    out.text("currency", fam.currency)
    out.num("cvf", fam.cvf)
    out.int("priceDl", fam.price_decimals)
    out.text("priceFmt", fam.price_format)
    out.text("valueMeth", fam.value_method)
    out.text("priceMeth", fam.price_method)
    out.text("setlMeth", fam.settlement_method)
    _und_pf(out, fam.underlying)
    _non_option_contracts(out, "phy" if tag == "phyPf" else "fut", fam.contracts)
    out.close(tag)


def _non_option_contracts(out: _Out, tag: str, c: NonOptionContracts) -> None:
    for i in range(len(c)):
        out.open(tag)
        out.int("cId", int(c.contract_id[i]))
        out.text("pe", c.period[i])
        out.num("p", float(c.price[i]))
        out.num("d", float(c.delta[i]))
        out.num("v", float(c.vol[i]))
        out.num("cvf", float(c.cvf[i]))
        out.num("val", float(c.value[i]))
        out.num("sc", float(c.scale[i]))
        if tag == "fut":
            out.text("setlDate", c.settlement_date[i])
            out.num("t", float(c.time_to_expiry[i]))
            _und_c(out, c.underlying[i])
        _scan_rates(out, c.scan_rates[i])
        _ra(out, int(c.risk_array_rate_id[i]), c.risk_array[i], float(c.composite_delta[i]))
        out.close(tag)


def _option_family(out: _Out, fam: OptionFamily) -> None:
    tag = fam.family_type
    out.open(tag)
    _family_header(out, fam)
    out.text("exercise", fam.exercise)
    out.text("currency", fam.currency)
    out.num("cvf", fam.cvf)
    out.int("priceDl", fam.price_decimals)
    out.text("priceFmt", fam.price_format)
    out.int("strikeDl", fam.strike_decimals)
    out.text("strikeFmt", fam.strike_format)
    out.num("cab", fam.cabinet_value)
    out.text("valueMeth", fam.value_method)
    out.text("priceMeth", fam.price_method)
    out.text("setlMeth", fam.settlement_method)
    out.text("priceModel", fam.price_model)
    _und_pf(out, fam.underlying)
    c = fam.contracts
    by_series: dict[int, list[int]] = {}
    for i, s in enumerate(c.series_index.tolist()):
        by_series.setdefault(s, []).append(i)
    for k, series in enumerate(fam.series):
        out.open("series")
        out.text("pe", series.period)
        out.num("v", series.vol)
        out.text("volSrc", series.vol_source)
        out.text("setlDate", series.settlement_date)
        out.num("t", series.time_to_expiry)
        out.num("cvf", series.cvf)
        out.num("svf", series.svf)
        out.num("sc", series.scale)
        _und_c(out, series.underlying)
        for rate in series.interest_rates:
            out.open("intrRate")
            out.num("val", rate.value)
            out.num("rl", rate.risk_level)
            out.num("cpm", rate.compounding_months)
            out.num("tm", rate.term_months)
            out.num("exm", rate.expression_months)
            out.close("intrRate")
        if series.dividend_yield is not None:
            out.open("divRate")
            out.num("val", series.dividend_yield)
            out.close("divRate")
        _scan_rates(out, series.scan_rates)
        for i in by_series.get(k, []):
            out.open("opt")
            out.int("cId", int(c.contract_id[i]))
            out.text("o", c.put_call[i])
            out.num("k", float(c.strike[i]))
            out.num("p", float(c.price[i]))
            out.text("pq", c.price_quality[i])
            out.num("d", float(c.delta[i]))
            out.num("v", float(c.vol[i]))
            out.num("cvf", float(c.cvf[i]))
            out.num("svf", float(c.svf[i]))
            out.num("val", float(c.value[i]))
            out.num("sc", float(c.scale[i]))
            _ra(out, int(c.risk_array_rate_id[i]), c.risk_array[i], float(c.composite_delta[i]))
            out.close("opt")
        out.close("series")
    out.close(tag)
