"""Tests of spanlike.spn.read_spn.

References: hand-written fixtures in tests/data/spn (values asserted are the
ones typed into the fixture), the Takasbank SPAN file in ../shared/data (read
independently here with a plain xml.etree pass), and marginism 0.1.1's
parser as an independent implementation (all contracts compared exactly).
"""

from __future__ import annotations

import gzip
import math
import shutil
import xml.etree.ElementTree as ET
import zipfile
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from spanlike.spn.reading import driver, regex_path
from spanlike.errors import InputFileError
from spanlike.spn import OptionFamily, ProductFamily, read_spn, summarise
from spanlike.spn._fastparse import decimals

DATA = Path(__file__).resolve().parent / "data" / "spn"
SHARED = Path(__file__).resolve().parents[1].parent / "shared" / "data"
TAKASBANK = SHARED / "takasbank-20160517.spn"
needs_takasbank = pytest.mark.skipif(
    not TAKASBANK.exists(),
    reason=f"the Takasbank SPAN file is not at {TAKASBANK} (shared data folder beside the project root); "
    "it is not copied into the repository because its data rights are unclear",
)
FIXTURES = ["futures.spn", "options.spn", "ccdef.spn", "extra_element.spn"]


def read_slow(path: Path):
    """Read with the slow twin (ElementTree walk) for every family."""
    return read_spn(path, parser="slow")


# ---------------------------------------------------------------------------
# Fixtures, one per element type
# ---------------------------------------------------------------------------


def test_header_definitions_and_clearing_org() -> None:
    span = read_spn(DATA / "futures.spn")
    assert span.file_format == "4.00"
    assert span.created == "202401021800"
    assert span.business_date == "20240102"
    assert span.is_settlement is True
    assert span.settlement_qualifier == "final"
    assert [(c.code, c.symbol, c.decimal_places) for c in span.currencies] == [("USD", "$", 2)]
    assert span.account_types[0].account_type == "H"
    co = span.clearing_org
    assert co.code == "TEST"
    assert co.name == "Test Clearing & Custody"  # entity &amp; decoded
    assert co.finalize_method == "BY"
    assert co.currency_conversions[0].factor == 1.095
    assert co.pb_rates[0].is_maintenance is True
    assert span.skipped == ()


def test_point_definitions() -> None:
    pd = read_spn(DATA / "futures.spn").point_def(1)
    assert [p.point for p in pd.scan_points] == [1, 2, 3, 4]
    first = pd.scan_points[0]
    assert first.price.mult == 0.333333
    assert first.price.fraction == 1 / 3  # numerator/denominator, exact
    assert first.vol.fraction == 1.0
    assert first.paired_point == 2
    assert pd.scan_points[1].vol.numerator is None
    assert pd.extreme_multiple == 2.0
    assert pd.cover_fraction == 0.35
    assert [d.weight for d in pd.delta_points] == [0.5, 0.5]
    assert [d.price.fraction for d in pd.delta_points] == [-0.5, 0.5]


def test_physicals_and_futures() -> None:
    span = read_spn(DATA / "futures.spn")
    phy, fut = span.families
    assert isinstance(phy, ProductFamily) and phy.family_type == "phyPf" and phy.product_type == "PHY"
    assert phy.price_format == " "
    assert phy.contracts.period == ("000000",)
    assert phy.contracts.settlement_date == (None,)
    assert np.isnan(phy.contracts.time_to_expiry[0])
    assert phy.contracts.underlying == (None,)
    assert np.signbit(phy.contracts.risk_array[0, 0])  # "-0.000000" kept as -0.0

    assert fut.product_type == "FUT" and fut.is_futures_style
    assert fut.underlying is not None and fut.underlying.product_id == 1 and fut.underlying.product_type == "PHY"
    c = fut.contracts
    assert c.contract_id.tolist() == [10, 11]
    assert c.period == ("202403", "202406")
    assert c.price.tolist() == [101.25, 102.75]
    assert np.isnan(c.vol[1])  # <v> absent on the second future
    assert c.value.tolist() == [1012.5, 1027.5]
    assert c.settlement_date == ("20240315", "20240621")
    assert c.time_to_expiry.tolist() == [0.2, 0.466667]
    assert c.underlying[0] is not None and c.underlying[0].contract_id == 1
    assert c.scan_rates[1][0].price_scan == 180.5
    assert c.risk_array.shape == (2, 4)
    assert c.risk_array[0].tolist() == [-50.000001, -50.000001, -105.0, 105.0]
    assert c.risk_array[1].tolist() == [-60.166667, -60.166667, -126.35, 126.35]
    assert c.composite_delta.tolist() == [1.0, 1.0]
    assert c.risk_array_rate_id.tolist() == [1, 1]
    assert span.underlying_price(c.underlying[0]) == 100.0


def test_options_series_and_value_methods() -> None:
    span = read_spn(DATA / "options.spn")
    oop, oof = span.families
    assert isinstance(oop, OptionFamily) and oop.product_type == "OOP"
    assert not oop.is_futures_style and oop.value_method == "EQTY"
    assert oof.product_type == "OOF" and oof.is_futures_style
    assert oop.exercise == "EURO" and oop.cabinet_value == 0.01 and oop.strike_decimals == 1
    s0, s1 = oop.series
    assert (s0.period, s0.vol, s0.time_to_expiry, s0.cvf, s0.svf) == ("202403", 0.25, 0.2, 10.0, 10.0)
    assert s0.interest_rates[0].value == 0.05 and s0.interest_rates[0].term_months is None
    assert s1.interest_rates[0].term_months == 6.0
    assert s0.dividend_yield == 0.01 and s1.dividend_yield is None
    assert s0.scan_rates[0].price_scan == 150.0 and s0.scan_rates[0].vol_scan_pct == 0.23
    assert s0.underlying.product_id == 1
    c = oop.contracts
    assert c.series_index.tolist() == [0, 0, 1]
    assert c.put_call == ("C", "P", "C")
    assert c.strike.tolist() == [95.0, 95.0, 110.0]
    assert c.price.tolist() == [7.25, 1.1, 2.05]
    assert c.vol.tolist() == [0.25, 0.27, 0.24]
    assert c.risk_array[0].tolist() == [-35.123456, -30.5, -130.25, 52.75]
    assert c.composite_delta[:2].tolist() == [0.712345, -0.287655]
    # the third option has no <ra>: rate id -1, NaN row and delta
    assert c.risk_array_rate_id.tolist() == [1, 1, -1]
    assert np.isnan(c.risk_array[2]).all() and np.isnan(c.composite_delta[2])
    assert span.underlying_price(oof.series[0].underlying) is None  # family 2 is not in this file


def test_combined_commodity_definitions_and_spreads() -> None:
    span = read_spn(DATA / "ccdef.spn")
    idx = span.combined_commodity("IDX")
    assert idx.som_method == "GROSS" and idx.spot_method == "NORMAL"
    assert idx.product_links[0].product_type == "FUT" and idx.product_links[0].scale == 1.0
    assert idx.adjustment_rates[0].base_rate_id == 2 and idx.adjustment_rates[0].value == 1.1
    assert [(t.number, t.start_period, t.end_period) for t in idx.intra_tiers] == [
        (1, "202401", "202403"),
        (2, "202404", "202412"),
    ]
    assert idx.scan_tiers[0].number == 1
    assert idx.inter_tiers[0].start_period is None
    assert idx.som_tiers[0].rate(1) == 15.0
    flat, per_month = idx.intra_spreads
    assert flat.charge_method == "F" and flat.rate() == 90.0
    assert [(leg.tier, leg.side, leg.delta_ratio) for leg in flat.legs] == [(1, "A", 1.0), (2, "B", 2.0)]
    assert per_month.charge_method == "P" and per_month.rate() is None
    assert per_month.per_month_rates[0].per_month_rate == 5.0
    assert [(leg.period, leg.tier) for leg in per_month.legs] == [("202403", None), ("202406", None)]
    spot = idx.spot_rates[0]
    assert (spot.period, spot.spread_rate, spot.outright_rate) == ("202401", 12.5, 25.0)
    stk = span.combined_commodity("STK")
    assert stk.name is None and stk.product_links == ()
    (inter,) = span.inter_spreads
    assert inter.charge_method == "W" and inter.rate() == 0.6
    assert [(leg.combined_commodity, leg.side, leg.delta_ratio) for leg in inter.legs] == [
        ("IDX", "A", 12.75),
        ("STK", "B", 1.0),
    ]


def test_unmodelled_elements_are_reported_not_silently_lost() -> None:
    span = read_spn(DATA / "extra_element.spn")
    assert span.skipped == (("spanFile/pointInTime/clearingOrg/exchange/futPf/fut/alias", 1),)
    assert span == read_spn(DATA / "futures.spn")  # the rest reads the same


def test_contracts_of_combined_commodity() -> None:
    span = read_spn(DATA / "futures.spn")
    table = span.contracts_of("IDX")
    assert len(table) == 3
    assert table.product_type == ("PHY", "FUT", "FUT")
    assert [str(k) for k in table.keys] == ["TX:IDX:PHY:000000", "TX:IDX:FUT:202403", "TX:IDX:FUT:202406"]
    assert table.risk_array.shape == (3, 4)
    assert table.risk_array[2].tolist() == [-60.166667, -60.166667, -126.35, 126.35]
    assert np.isnan(table.strike).all()
    with pytest.raises(KeyError):
        span.contracts_of("NOPE")


@pytest.mark.parametrize("name", FIXTURES)
def test_fast_path_equals_slow_twin(name: str) -> None:
    fast = read_spn(DATA / name)
    slow = read_slow(DATA / name)
    assert fast == slow
    assert fast.skipped == slow.skipped


@pytest.mark.parametrize("name", FIXTURES)
def test_bulk_number_parse_equals_slow_twin(name: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """The fixtures are too small for the vectorised number parse; force it and compare with the twin."""
    monkeypatch.setattr(regex_path._NumberBatch, "MIN_BULK", 1)
    fast = read_spn(DATA / name)
    assert fast == read_slow(DATA / name)
    assert fast.skipped == read_slow(DATA / name).skipped


@pytest.mark.parametrize(("name", "old", "new"), [
    # header children out of XSD order, an unknown header child, an entity in a header text
    ("futures.spn", b"<name>Index futures</name><currency>USD</currency>", b"<currency>USD</currency><name>Index futures</name>"),
    ("futures.spn", b"<name>Index futures</name>", b"<name>Index futures</name><alias>X</alias>"),
    ("options.spn", b"<name>Index options</name>", b"<name>Index &amp; options</name>"),
    # a series head with a child out of order, and one with an unknown child
    ("options.spn", b"<pe>", b"<volSrc>x</volSrc><pe>"),
    ("options.spn", b"<pe>", b"<note>n</note><pe>"),
])
def test_regex_heads_fall_back_to_elementtree(tmp_path: Path, name: str, old: bytes, new: bytes) -> None:
    """Headers and series heads outside the modelled form are read by ElementTree, equal to the twin."""
    text = (DATA / name).read_bytes()
    assert old in text
    path = tmp_path / name
    path.write_bytes(text.replace(old, new, 1))
    fast = read_spn(path)
    slow = read_slow(path)
    assert fast == slow
    assert fast.skipped == slow.skipped


def test_bulk_number_parse_reports_bad_number(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(regex_path._NumberBatch, "MIN_BULK", 1)
    with pytest.raises(InputFileError, match=r"line 45, element .*/opt/ra/a: risk array value '1O.25' is not a number"):
        read_spn(DATA / "bad_number.spn")


_decimal_text = st.builds(
    lambda sign, whole, frac: f"{sign}{whole}.{frac}".encode(),
    st.sampled_from(["", "-"]),
    st.from_regex(r"\A[0-9]{1,9}\Z"),
    st.from_regex(r"\A[0-9]{1,9}\Z"),
)


@settings(max_examples=300, deadline=None)
@given(st.lists(_decimal_text, min_size=1, max_size=40))
def test_decimals_equal_float(texts: list[bytes]) -> None:
    """Reference: Python's float() of each text (correctly rounded), compared bit for bit."""
    got = decimals(b"<>".join(texts), len(texts))
    expected = np.array([float(t) for t in texts])
    if got is None:  # only when a mantissa is beyond 2**53, where m / 10**f is not exact
        assert max(int(t.replace(b".", b"").replace(b"-", b"")) for t in texts) > 2**53
    else:
        assert got.view(np.int64).tolist() == expected.view(np.int64).tolist()


@pytest.mark.parametrize("texts", [
    [b"1.5 7"], [b"1.5.5", b"7"], [b" 1.5"], [b"1.5 "], [b"1e5"], [b"1.5e3"], [b"1."], [b".5"], [b"--1.5"],
    [b"+1.5"], [b"1.5-"], [b"1234567890.5"], [b"1.1234567890"], [b"x1.5"], [b"1.5", b""], [b"-", b"1.5"],
    [b"nan"], [b"1_0.5"], [b"1.5", b"2"],
])
def test_decimals_refuse_what_is_not_a_strict_decimal(texts: list[bytes]) -> None:
    """Anything but -?digits.digits makes the caller fall back to float() (and its errors)."""
    assert decimals(b"<>".join(texts), len(texts)) is None


def test_decimals_keep_negative_zero_and_read_risk_array_text() -> None:
    got = decimals(b"<a>-0.000000</a>\n  <a>0.239129</a><a>-29.760841</a>", 3)
    assert got is not None and got.tolist() == [-0.0, 0.239129, -29.760841] and math.copysign(1, got[0]) == -1


def test_compressed_inputs(tmp_path: Path) -> None:
    plain = read_spn(DATA / "options.spn")
    gz = tmp_path / "options.spn.gz"
    gz.write_bytes(gzip.compress((DATA / "options.spn").read_bytes()))
    assert read_spn(gz) == plain
    zp = tmp_path / "bundle.zip"
    with zipfile.ZipFile(zp, "w") as archive:
        archive.writestr("readme.txt", "not this one")
        archive.write(DATA / "options.spn", "files/options.spn")
    assert read_spn(zp) == plain
    empty = tmp_path / "empty.zip"
    with zipfile.ZipFile(empty, "w") as archive:
        archive.writestr("readme.txt", "no spn here")
    with pytest.raises(InputFileError, match="without a .spn member"):
        read_spn(empty)


def test_progress_callback_reports_bytes() -> None:
    calls: list[tuple[int, int | None]] = []
    read_spn(DATA / "futures.spn", progress=lambda done, total: calls.append((done, total)))
    size = (DATA / "futures.spn").stat().st_size
    assert calls and calls[-1] == (size, size)


# ---------------------------------------------------------------------------
# Bad and malicious input: typed errors with file, line and element path
# ---------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["billion_laughs.spn", "external_entity.spn"])
def test_dtd_and_entities_are_refused(name: str) -> None:
    with pytest.raises(InputFileError, match=r"line 2.*document type \(DTD\).*refused") as info:
        read_spn(DATA / name)
    assert name in str(info.value)


def test_undefined_entity_is_refused() -> None:
    with pytest.raises(InputFileError, match=r"line 3, element spanFile/fileFormat: undefined entity"):
        read_spn(DATA / "undefined_entity.spn")


def test_truncated_file() -> None:
    with pytest.raises(InputFileError, match=r"line 42, element spanFile/pointInTime/clearingOrg/exchange/oopPf/series: the file ends early"):
        read_spn(DATA / "truncated.spn")


def test_truncated_between_records(tmp_path: Path) -> None:
    text = (DATA / "futures.spn").read_text()
    cut = tmp_path / "cut.spn"
    cut.write_text(text[: text.index("<ccDef>")])
    with pytest.raises(InputFileError, match=r"element spanFile/pointInTime/clearingOrg: the file ends early"):
        read_spn(cut)


def test_garbage() -> None:
    with pytest.raises(InputFileError, match=r"garbage.spn', line 1, element \(document\): not well-formed"):
        read_spn(DATA / "garbage.spn")


def test_bad_number_names_element_path_and_line() -> None:
    lines = (DATA / "bad_number.spn").read_text().splitlines()
    expected_line = next(i for i, line in enumerate(lines, 1) if "1O.25" in line)
    with pytest.raises(InputFileError) as info:
        read_spn(DATA / "bad_number.spn")
    message = str(info.value)
    assert f"line {expected_line}," in message
    assert "element spanFile/pointInTime/clearingOrg/exchange/oopPf/series/opt/ra/a:" in message
    assert "'1O.25' is not a number" in message


def test_missing_required_element() -> None:
    lines = (DATA / "missing_period.spn").read_text().splitlines()
    expected_line = next(i for i, line in enumerate(lines, 1) if "<fut><cId>10</cId>" in line)
    with pytest.raises(InputFileError, match=rf"line {expected_line}, element .*/futPf/fut: required element <pe> is missing"):
        read_spn(DATA / "missing_period.spn")


def test_missing_element_in_family_header_names_line(tmp_path: Path) -> None:
    """Errors met while a batch of families is read keep the file's line and the element path."""
    text = (DATA / "futures.spn").read_bytes()
    start = text.index(b"<undPf>", text.index(b"<futPf>"))
    cut = tmp_path / "no_undpf.spn"
    cut.write_bytes(text[:start] + text[text.index(b"</undPf>", start) + len(b"</undPf>"):])
    line = text[:text.index(b"<futPf>")].count(b"\n") + 1
    with pytest.raises(InputFileError, match=rf"line {line}, element .*/exchange/futPf: required element <undPf> is missing"):
        read_spn(cut)


def test_missing_file() -> None:
    with pytest.raises(InputFileError, match="Cannot open SPAN file"):
        read_spn(DATA / "does-not-exist.spn")


def test_input_file_error_is_a_value_error() -> None:
    with pytest.raises(ValueError):
        read_spn(DATA / "garbage.spn")


def test_large_records_spanning_chunks(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Tiny read chunks force every record across chunk boundaries; the result must not change."""
    monkeypatch.setattr(driver, "_CHUNK", 7)
    for name in FIXTURES:
        monkeypatch.setattr(driver, "_CHUNK", 7)
        small = read_spn(DATA / name)
        monkeypatch.setattr(driver, "_CHUNK", 1 << 20)
        assert small == read_spn(DATA / name)
    monkeypatch.setattr(driver, "_CHUNK", 5)
    with pytest.raises(InputFileError, match="line 45"):
        read_spn(DATA / "bad_number.spn")


# ---------------------------------------------------------------------------
# The real Takasbank file
# ---------------------------------------------------------------------------


@pytest.fixture(scope="module")
def takasbank():
    return read_spn(TAKASBANK)


@pytest.fixture(scope="module")
def takasbank_tree() -> ET.Element:
    """Independent reference: the whole file through a plain ElementTree parse."""
    return ET.parse(TAKASBANK).getroot()


@needs_takasbank
def test_takasbank_counts(takasbank, takasbank_tree) -> None:
    exchange = takasbank_tree.find("pointInTime/clearingOrg/exchange")
    assert len(takasbank_tree.findall("pointInTime/clearingOrg/ccDef")) == 40
    assert len(exchange.findall("futPf/fut")) == 146
    assert len(exchange.findall("oopPf/series/opt")) == 2628
    assert len(exchange.findall("phyPf/phy")) == 37
    summary = summarise(takasbank)
    assert (summary.combined_commodities, summary.futures, summary.options, summary.physicals) == (40, 146, 2628, 37)
    assert summary.inter_spreads == 56 and summary.intra_spreads == 40
    assert len(takasbank.families) == 40 + 35 + 23
    assert takasbank.skipped == (
        ("spanFile/definitions/acctSubTypeDef", 3),
        ("spanFile/definitions/groupTypeDef", 5),
    )


@needs_takasbank
def test_takasbank_point_definitions(takasbank) -> None:
    pd = takasbank.point_def(1)
    assert len(pd.scan_points) == 16
    assert pd.extreme_multiple == 3.0 and pd.cover_fraction == 0.32
    fractions = [p.price.fraction for p in pd.scan_points[:14:2]]
    assert fractions == [0.0, 1 / 3, -1 / 3, 2 / 3, -2 / 3, 1.0, -1.0]
    assert [p.paired_point for p in pd.scan_points] == [2, 1, 4, 3, 6, 5, 8, 7, 10, 9, 12, 11, 14, 13, 15, 16]
    assert [d.weight for d in pd.delta_points] == [0.037, 0.111, 0.217, 0.27, 0.217, 0.111, 0.037]
    assert [d.price.fraction for d in pd.delta_points] == [-1.0, -2 / 3, -1 / 3, 0.0, 1 / 3, 2 / 3, 1.0]


def _etree_contracts(tree: ET.Element) -> dict[tuple[int, int], tuple[list[float], float]]:
    out = {}
    for pf in tree.find("pointInTime/clearingOrg/exchange"):
        if not pf.tag.endswith("Pf"):
            continue
        pf_id = int(pf.findtext("pfId"))
        for c in pf.iter():
            if c.tag in ("phy", "fut", "opt") and c.find("ra") is not None:
                ra = c.find("ra")
                out[(pf_id, int(c.findtext("cId")))] = ([float(a.text) for a in ra.findall("a")], float(ra.findtext("d")))
    return out


@needs_takasbank
def test_takasbank_arrays_match_plain_etree(takasbank, takasbank_tree) -> None:
    reference = _etree_contracts(takasbank_tree)
    seen = 0
    for fam in takasbank.families:
        c = fam.contracts
        for i in range(len(c)):
            values, delta = reference[(fam.product_id, int(c.contract_id[i]))]
            assert c.risk_array[i].tolist() == values
            assert c.composite_delta[i] == delta
            seen += 1
    assert seen == len(reference) == 2811
    # a few contracts spelled out (values as printed in the file)
    fut = takasbank.family("BIST", 100002).contracts
    assert fut.risk_array[0].tolist()[:4] == [-0.0, -0.0, -29.999969, -29.999969]
    opt = takasbank.family("BIST", 108303)
    assert opt.contracts.put_call[0] == "C" and opt.contracts.strike[0] == 6.0
    assert opt.contracts.risk_array[0, 0] == 0.239129 and opt.contracts.risk_array[0, 15] == 52.255028


@needs_takasbank
def test_takasbank_conventions(takasbank) -> None:
    """Loss-positive arrays, cover fraction inside scenarios 15/16, time decay in option arrays."""
    fam = takasbank.family("BIST", 100002)  # AKBNKE futures, priceScan 90 TRY per contract
    row = fam.contracts.risk_array[0]
    psr = fam.contracts.scan_rates[0][0].price_scan
    assert psr == 90.0
    assert row[10] == -90.0 and row[12] == 90.0  # price up 1 PSR: gain for a long, so negative
    # the file's values carry single-precision noise (-29.999969 for -30, -86.400002 for -86.4),
    # so compare with 1e-5 absolute: the extreme scenarios are X * PSR * f, the cover fraction included
    assert math.isclose(row[14], -3 * psr * 0.32, abs_tol=1e-5) and math.isclose(row[15], 3 * psr * 0.32, abs_tol=1e-5)
    call = takasbank.family("BIST", 108303).contracts
    assert call.risk_array[0, 0] == call.risk_array[0, 1] == 0.239129  # deep ITM call loses with price/vol flat
    assert (call.delta == 0).all()  # opt/d is 0; use the composite delta
    assert takasbank.family("BIST", 3).contracts.period == ("00000S",)


@needs_takasbank
def test_takasbank_agrees_with_marginism_on_every_contract(takasbank) -> None:
    """marginism 0.1.1 (independent MIT SPAN implementation) parses the same arrays and deltas."""
    parser = pytest.importorskip("marginism.parser")
    theirs = parser.parse_spn(str(TAKASBANK))
    assert sorted(theirs.commodities) == sorted(cc.code for cc in takasbank.combined_commodities)
    compared = 0
    for cc in takasbank.combined_commodities:
        table = takasbank.contracts_of(cc.code)
        mc = theirs.commodities[cc.code]
        by_key = {(c.pf_id, c.contract_id): c for c in mc.futures + mc.options + mc.physicals}
        assert len(by_key) == len(table)
        for i, key in enumerate(table.keys):
            ref = by_key[(key.product_id, key.contract_id)]
            assert table.risk_array[i].tolist() == ref.risk_array.values, str(key)
            assert table.composite_delta[i] == ref.risk_array.composite_delta, str(key)
            assert table.price[i] == ref.price
            if key.put_call is not None:
                assert (key.put_call, key.strike, key.period) == (ref.option_type, ref.strike, ref.expiry)
            compared += 1
    assert compared == 2811


@needs_takasbank
def test_takasbank_fast_path_equals_slow_twin(takasbank) -> None:
    assert read_slow(TAKASBANK) == takasbank


@needs_takasbank
def test_takasbank_compressed(tmp_path: Path, takasbank) -> None:
    gz = tmp_path / "t.spn.gz"
    with open(TAKASBANK, "rb") as src, gzip.open(gz, "wb") as dst:
        shutil.copyfileobj(src, dst)
    assert read_spn(gz) == takasbank
