"""Tests of spanlike.spn.write_spn and spanlike.spn.info.

Round trip: read -> write -> read gives an equal SpanFile. Validity: lxml is
not a dependency, so the output is checked structurally against the child
order of the XSD content models (``spanrisk.xml`` from the marketcalls/marginism
repository), transcribed below for every element the writer emits; with lxml
and the XSD available (``SPANLIKE_SPAN_XSD`` pointing at it) a full schema
validation runs as well.
"""

from __future__ import annotations

import os
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from spanlike.spn import format_info, read_spn, summarise, write_spn

DATA = Path(__file__).resolve().parent / "data" / "spn"
TAKASBANK = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "takasbank-20160517.spn"
needs_takasbank = pytest.mark.skipif(
    not TAKASBANK.exists(),
    reason=f"the Takasbank SPAN file is not at {TAKASBANK} (shared data folder beside the project root)",
)
FIXTURES = ["futures.spn", "options.spn", "ccdef.spn"]

#: Child order of the XSD sequences (only the children the writer emits).
XSD_ORDER: dict[str, list[str]] = {
    "spanFile": ["spanVersion", "fileFormat", "created", "definitions", "pointInTime"],
    "definitions": ["currencyDef", "acctTypeDef"],
    "currencyDef": ["currency", "symbol", "name", "decimalPos"],
    "acctTypeDef": ["isCust", "acctType", "name", "isNetMargin", "priority"],
    "pointInTime": ["date", "isSetl", "setlQualifier", "time", "run", "clearingOrg"],
    "clearingOrg": [
        "ec", "name", "isContractScale", "isNetMargin", "finalizeMeth", "oopDeltaMeth", "capAnov",
        "minIntExDeltaPct", "lookAheadYears", "lookAheadDays", "daysPerYear", "custUseLov", "useLovPct",
        "limitSubAccountOffset", "capRiskArray", "curConv", "pbRateDef", "pointDef", "zeroCurve",
        "hvarMarginParams", "cdsMarginParams", "exchange", "ccDef", "superSpreads", "superInterClearSpreads",
        "interSpreads", "interClearSpreads",
    ],
    "curConv": ["fromCur", "toCur", "factor"],
    "pbRateDef": ["r", "isCust", "acctType", "isM", "pbc"],
    "pointDef": ["r", "scanPointDef", "deltaPointDef"],
    "scanPointDef": ["point", "priceScanDef", "volScanDef", "weight", "pairedPoint"],
    "deltaPointDef": ["point", "priceScanDef", "volScanDef", "weight"],
    "priceScanDef": ["mult", "numerator", "denominator", "defType"],
    "volScanDef": ["mult", "numerator", "denominator"],
    "exchange": ["exch", "name", "phyPf", "debtPf", "equityPf", "futPf", "fwdPf", "oopPf", "oofPf", "ooePf", "oocPf"],
    "phyPf": [
        "pfId", "pfCode", "name", "currency", "cvf", "priceDl", "priceFmt", "valueMeth", "priceMeth", "setlMeth", "phy",
    ],
    "futPf": [
        "pfId", "pfCode", "name", "currency", "cvf", "priceDl", "priceFmt", "valueMeth", "priceMeth", "setlMeth",
        "undPf", "fut",
    ],
    "oopPf": [
        "pfId", "pfCode", "name", "exercise", "currency", "cvf", "priceDl", "priceFmt", "strikeDl", "strikeFmt",
        "cab", "valueMeth", "priceMeth", "setlMeth", "priceModel", "undPf", "series",
    ],
    "phy": ["cId", "pe", "p", "d", "v", "cvf", "val", "sc", "scanRate", "ra"],
    "fut": ["cId", "pe", "p", "d", "v", "cvf", "val", "sc", "setlDate", "t", "undC", "scanRate", "ra"],
    "series": [
        "pe", "v", "volSrc", "setlDate", "t", "cvf", "svf", "sc", "undC", "intrRate", "divRate", "scanRate", "opt",
    ],
    "opt": ["cId", "o", "k", "p", "pq", "d", "v", "cvf", "svf", "val", "sc", "ra"],
    "ra": ["r", "a", "d"],
    "scanRate": ["r", "priceScan", "priceScanPct", "volScan", "volScanPct"],
    "undPf": ["exch", "pfId", "pfCode", "pfType", "s", "i"],
    "undC": ["exch", "pfId", "cId", "s", "i"],
    "intrRate": ["val", "rl", "cpm", "tm", "exm"],
    "ccDef": [
        "cc", "name", "currency", "riskExponent", "capAnov", "procMeth", "wfprMeth", "spotMeth", "somMeth",
        "cmbMeth", "pfLink", "adjRate", "TIERS", "dSpread", "spotRate",
    ],
    "pfLink": ["exch", "pfId", "pfCode", "pfType", "sc", "cmbMeth", "applyBasisRisk", "arrayPrecision", "oopDeltaMeth"],
    "adjRate": ["r", "baseR", "val"],
    "tier": ["tn", "sPe", "ePe", "rate"],
    "rate": ["r", "val"],
    "dSpread": ["spread", "spreadType", "chargeMeth", "RATES", "LEGS"],
    "pmpsRate": ["r", "val", "pmRate", "psRate"],
    "tLeg": ["cc", "tn", "rs", "i", "rate"],
    "pLeg": ["cc", "pe", "rs", "i", "rate"],
    "spotRate": ["r", "pe", "sprd", "outr"],
    "divRate": ["val", "div"],
    "interSpreads": ["dSpread"],
}
for _tiers in ("scanTiers", "intraTiers", "interTiers", "rateTiers", "somTiers"):
    XSD_ORDER[_tiers] = ["tier"]
XSD_ORDER["oofPf"] = XSD_ORDER["ooePf"] = XSD_ORDER["oocPf"] = XSD_ORDER["oopPf"]
#: Choice groups of the XSD: members share one position in the sequence.
CHOICE = {
    "ccDef": {t: "TIERS" for t in ("scanTiers", "intraTiers", "interTiers", "rateTiers", "somTiers")},
    "dSpread": {"rate": "RATES", "pmpsRate": "RATES", "tLeg": "LEGS", "pLeg": "LEGS"},
}
REQUIRED = {
    "spanFile": {"definitions", "pointInTime"},
    "clearingOrg": {"ec", "name", "finalizeMeth", "exchange"},
    "scanPointDef": {"point", "priceScanDef", "volScanDef", "weight", "pairedPoint"},
    "ra": {"r", "a", "d"},
    "opt": {"cId", "o", "k", "p"},
    "fut": {"cId", "pe"},
    "series": {"pe", "sc", "undC"},
    "oopPf": {"pfId", "pfCode", "currency", "cab", "valueMeth", "priceModel", "undPf"},
}


def check_structure(root: ET.Element) -> list[str]:
    """Every child in XSD order, every required child present; returns the violations."""
    problems: list[str] = []
    for el in root.iter():
        order = XSD_ORDER.get(el.tag)
        if order is None:
            if len(el):
                problems.append(f"<{el.tag}> has children but no content model here")
            continue
        positions = []
        for child in el:
            name = CHOICE.get(el.tag, {}).get(child.tag, child.tag)
            if name not in order:
                problems.append(f"<{child.tag}> is not allowed in <{el.tag}>")
                continue
            positions.append(order.index(name))
        if positions != sorted(positions):
            problems.append(f"children of <{el.tag}> out of XSD order: {[c.tag for c in el]}")
        missing = REQUIRED.get(el.tag, set()) - {c.tag for c in el}
        if missing:
            problems.append(f"<{el.tag}> misses {sorted(missing)}")
    return problems


@pytest.mark.parametrize("name", FIXTURES)
def test_round_trip_fixtures(tmp_path: Path, name: str) -> None:
    original = read_spn(DATA / name)
    out = write_spn(original, tmp_path / name)
    again = read_spn(out)
    assert again == original
    assert again.skipped == ()


@pytest.mark.parametrize("name", FIXTURES)
def test_output_follows_xsd_structure(tmp_path: Path, name: str) -> None:
    out = write_spn(read_spn(DATA / name), tmp_path / name)
    assert check_structure(ET.parse(out).getroot()) == []


def test_structure_checker_catches_disorder() -> None:
    bad = ET.fromstring("<ra><a>1</a><r>1</r><d>1</d></ra>")
    assert check_structure(bad) == ["children of <ra> out of XSD order: ['a', 'r', 'd']"]


def test_write_gzip(tmp_path: Path) -> None:
    original = read_spn(DATA / "options.spn")
    out = write_spn(original, tmp_path / "options.spn.gz")
    assert out.read_bytes()[:2] == b"\x1f\x8b"
    assert read_spn(out) == original


def test_skipped_elements_are_not_written(tmp_path: Path) -> None:
    with_alias = read_spn(DATA / "extra_element.spn")
    again = read_spn(write_spn(with_alias, tmp_path / "x.spn"))
    assert again == with_alias and again.skipped == ()


def test_xsd_validation_with_lxml(tmp_path: Path) -> None:
    lxml_etree = pytest.importorskip("lxml.etree", reason="lxml is not a dependency; structural checks cover this")
    xsd = os.environ.get("SPANLIKE_SPAN_XSD")
    if not xsd or not Path(xsd).exists():
        pytest.skip("set SPANLIKE_SPAN_XSD to spanrisk.xml (marketcalls/marginism) to validate against the schema")
    schema = lxml_etree.XMLSchema(lxml_etree.parse(xsd))
    for name in FIXTURES:
        out = write_spn(read_spn(DATA / name), tmp_path / name)
        schema.assertValid(lxml_etree.parse(str(out)))


def test_info_summary_and_table() -> None:
    summary = summarise(read_spn(DATA / "options.spn"))
    assert (summary.options, summary.futures, summary.physicals) == (4, 0, 0)
    assert summary.extreme_multiple == 2.0 and summary.cover_fraction == 0.35
    assert [(p.product_code, p.product_type, p.contracts, p.expiries) for p in summary.products] == [
        ("IDX", "OOP", 3, ("202403", "202406")),
        ("IDXF", "OOF", 1, ("202403",)),
    ]
    text = format_info(summary)
    assert "contracts             0 physicals, 0 futures, 4 options" in text
    assert "IDX      OOP           3  202403 202406" in text


@needs_takasbank
def test_round_trip_takasbank(tmp_path: Path) -> None:
    original = read_spn(TAKASBANK)
    out = write_spn(original, tmp_path / "takasbank.spn")
    assert read_spn(out) == original
    assert check_structure(ET.parse(out).getroot()) == []


@needs_takasbank
def test_info_takasbank() -> None:
    text = format_info(summarise(read_spn(TAKASBANK)))
    assert "combined commodities  40" in text
    assert "37 physicals, 146 futures, 2628 options" in text
    assert "40 intra, 56 inter" in text
    assert "16 (extreme x3, cover 0.32); delta points 7" in text
    assert "AKBNKE   OOP         142  201605S0 201606S0 201607S0 201612S0" in text
