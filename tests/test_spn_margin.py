"""Margin on a SPAN file's own arrays (spanlike.spn.margin).

References:
* ``tests/data/spn/margin_book.spn`` + ``margin_book.csv``: hand-written
  fixture; every component is worked out by hand in the tests below.
* The Takasbank file (``../shared/data``): arrays read with a plain
  ``xml.etree`` pass here, independent of spanlike's reader; scan risk,
  worst scenario, calendar charge, SOM and inter-commodity credits computed
  by hand from them.
* marginism 0.1.1 (independent SPAN implementation): compared on every
  component both implement (scan risk, worst scenario, scenario losses, SOM
  GROSS, NOV; calendar charges with period legs and method F). marginism
  reads only ``pLeg`` calendar legs (Takasbank's are ``tLeg`` tier legs, so
  its calendar charge there is 0), has no spot charges, no inter-commodity
  credits and no maintenance ratio: those are asserted on our side only.

Tolerances: sums of six-decimal numbers, compared with ``pytest.approx``
``rel=1e-12, abs=1e-9`` (float rounding only).
"""

from __future__ import annotations

import math
import xml.etree.ElementTree as ET
from pathlib import Path

import numpy as np
import pytest

from spanlike.errors import InputFileError, InvalidInstrumentError, InvalidPositionError, UnknownInstrumentError
from spanlike.spn import read_spn, write_spn
from spanlike.spn.margin import margin_file
from spanlike.spn.portfolio import SpnPortfolio, SpnPosition, load_spn_portfolio

DATA = Path(__file__).resolve().parent / "data" / "spn"
BOOK_SPN = DATA / "margin_book.spn"
BOOK_CSV = DATA / "margin_book.csv"
SHARED = Path(__file__).resolve().parents[1].parent / "shared" / "data"
TAKASBANK = SHARED / "takasbank-20160517.spn"
needs_takasbank = pytest.mark.skipif(
    not TAKASBANK.exists(),
    reason=f"the Takasbank SPAN file is not at {TAKASBANK} (shared data folder beside the project root); "
    "it is not copied into the repository because its data rights are unclear",
)


def approx(x: float) -> object:
    return pytest.approx(x, rel=1e-12, abs=1e-9)


# --- the hand-written fixture: every component by hand -------------------------------------------

# Arrays as typed into margin_book.spn (loss of one long contract, 16 points).
F1 = [0, 0, -10, -10, 10, 10, -20, -20, 20, 20, -30, -30, 30, 30, -28.8, 28.8]        # IDX 202406/202409, scan 30
F3 = [0, 0, -12, -12, 12, 12, -24, -24, 24, 24, -36, -36, 36, 36, -34.56, 34.56]      # IDX 202412, scan 36
C = [1, -1, -4, -6, 5, 4, -9, -11, 11, 9, -14, -16, 17, 15, -20, 6]                   # IDX 202406 C100, d 0.5
P = [1, -1, 5, 4, -4, -6, 11, 9, -9, -11, 17, 15, -14, -16, 8, -22]                   # IDX 202406 P100, d -0.4
S1 = [0, 0, -2, -2, 2, 2, -4, -4, 4, 4, -6, -6, 6, 6, -5.76, 5.76]                    # STK futures, scan 6


@pytest.fixture(scope="module")
def book_result():
    return margin_file(spn=BOOK_SPN, portfolio=BOOK_CSV)


def test_fixture_idx_scan_risk_and_decomposition(book_result):
    # IDX: +2 F(202406) +3 F(202409) -1 F3(202412) -2 C +1 P.
    losses = [2 * a + 3 * a - b - 2 * c + p for a, b, c, p in zip(F1, F3, C, P)]
    assert losses[15] == pytest.approx(75.44)   # 5 x 28.8 - 34.56 - 2 x 6 - 22
    idx = book_result.commodity("IDX")
    assert idx.scenario_losses == pytest.approx(losses, abs=1e-12)
    assert idx.scan_risk == approx(75.44)
    assert idx.worst_scenario.index == 15            # point 16: price -3 PSR, weight 0.32, paired with itself
    assert idx.worst_scenario.label == "price -3 PSR, vol unchanged, 32% counted"
    assert idx.time_risk == approx((losses[0] + losses[1]) / 2)   # (-1 + 1)/2 = 0
    assert idx.vol_risk == 0.0                                   # the worst point has no pair
    assert idx.price_risk == approx(75.44)
    assert idx.net_delta == approx(2 + 3 - 1 - 2 * 0.5 + 1 * -0.4)   # 2.6


def test_fixture_intra_tiers_spot_som_nov(book_result):
    idx = book_result.commodity("IDX")
    # Period deltas: 202406: 2 - 2 x 0.5 - 0.4 = 0.6; 202409: +3; 202412: -1.
    # Spread 1 (tier 1 A / tier 2 B, rate 5): tier 1 long 0.6 vs tier 2 short 1 -> 0.6 spreads = 3.0;
    # 202412 left at -0.4. Spread 2 (tier 2 B / tier 2 A, rate 1): tier 2 long 3 vs short 0.4 -> 0.4 = 0.4.
    intra = [s for s in idx.spreads if s.kind == "intra"]
    assert [(s.priority, s.count, s.amount) for s in intra] == [(1, approx(0.6), approx(3.0)), (2, approx(0.4), approx(0.4))]
    assert idx.intra_spread_charge == approx(3.4)
    # Spot 202406: 0.6 consumed by spreads x 2 + 0 remaining x 4.
    assert idx.delivery_charge == approx(1.2)
    # SOM GROSS: 2 short calls x 3.
    assert idx.short_option_minimum == approx(6.0)
    assert not idx.short_option_minimum_binding
    # NOV (premium-style): -2 x 50 + 1 x 40.
    assert idx.net_option_value == approx(-60.0)


def test_fixture_inter_credit_and_totals(book_result):
    idx, stk = book_result.commodity("IDX"), book_result.commodity("STK")
    # STK: -4 S1(202406) + 1 S1(202409) = -3 S1: worst point 11 (+1 PSR, vol up; first of the tie 11/12) = 18.
    assert stk.scan_risk == approx(18.0) and stk.worst_scenario.index == 10
    assert (stk.time_risk, stk.vol_risk, stk.price_risk) == (approx(0.0), approx(0.0), approx(18.0))
    # Period-leg spread 202406 A / 202409 B at 7: one spread; 202406 left at -3.
    assert stk.intra_spread_charge == approx(7.0)
    # Inter spread W (IDX A 1 : STK B 2, rate 0.5). IDX offers its delta outside the spot period 202406:
    # 202409 +2.6 (after intra) + 202412 0 = 2.6; STK -3. Spreads = min(2.6/1, 3/2) = 1.5.
    # IDX credit = 1.5 x (75.44 / 2.6) x 0.5; STK credit = 3 x (18 / 3) x 0.5 = 9.
    assert idx.inter_spread_credit == approx(1.5 * 75.44 / 2.6 * 0.5)
    assert stk.inter_spread_credit == approx(9.0)
    # risk = max(scan + intra + spot - credit, SOM); requirement = risk - NOV.
    idx_req = 75.44 + 3.4 + 1.2 - 1.5 * 75.44 / 2.6 * 0.5 + 60.0
    assert idx.requirement == approx(idx_req)
    assert stk.requirement == approx(18 + 7 - 9)
    # Rate 1 is initial (isM 0); maintenance = adjRate 0.75 x initial.
    assert idx.initial_margin == approx(idx_req) and idx.maintenance_margin == approx(0.75 * idx_req)
    # STK in EUR, converted with curConv EUR->USD 1.10; the commodities do not share a currency, so USD reports.
    assert book_result.reporting_currency == "USD"
    assert stk.usd_per_unit == 1.1 and idx.usd_per_unit == 1.0
    assert book_result.initial_margin_usd == approx(idx_req + 16 * 1.1)
    assert book_result.maintenance_margin_usd == approx(0.75 * (idx_req + 16 * 1.1))
    assert book_result.correlation_offset_usd == 0.0
    assert book_result.parameter_set == "SPAN file TEST 20240102"


def test_fixture_contributions_sum_to_worst_loss(book_result):
    for c in book_result.commodities:
        assert sum(p.worst_scenario_loss for p in c.contributions) == pytest.approx(c.scenario_losses[c.worst_scenario.index])


def test_fixture_short_options_requirement():
    # Two short calls and one short put only: GROSS SOM 3 x 3 = 9 vs scan of -2C - P.
    positions = [SpnPosition("TX", "IDX", "OOP", "202406", 100.0, "C", -2.0),
                 SpnPosition("TX", "IDX", "OOP", "202406", 100.0, "P", -1.0)]
    result = margin_file(spn=BOOK_SPN, portfolio=SpnPortfolio.from_positions(positions))
    idx = result.commodity("IDX")
    losses = [-2 * c - p for c, p in zip(C, P)]
    assert idx.scan_risk == approx(max(losses))    # point 15: -2 x -20 - 8 = 32
    assert idx.short_option_minimum == approx(9.0)
    nov = -2 * 50 - 40
    assert idx.requirement == approx(max(max(losses) + idx.intra_spread_charge + idx.delivery_charge
                                         - idx.inter_spread_credit, 9.0) - nov)


def test_portfolio_nets_duplicates_and_drops_zero(tmp_path):
    csv = tmp_path / "p.csv"
    csv.write_text("exchange,product,type,period,strike,put_call,quantity\n"
                   "TX,IDX,FUT,202406,,,2\nTX,IDX,FUT,202406,,,-2\nTX,IDX,FUT,202409,,,1\nTX,IDX,FUT,202409,,,1\n")
    result = margin_file(spn=BOOK_SPN, portfolio=csv)
    idx = result.commodity("IDX")
    assert [(p.instrument, p.quantity) for p in idx.contributions] == [("TX IDX FUT 202409", 2.0)]
    assert any("nets to zero" in n and "rows 2, 3" in n for n in result.notes)


@pytest.mark.parametrize(
    ("row", "error", "words"),
    [
        ("TX,IDXX,FUT,202406,,,1", UnknownInstrumentError, ["row 2", "'TX IDXX FUT'", "Closest: 'TX IDX FUT'"]),
        ("TX,IDX,FUT,202407,,,1", UnknownInstrumentError, ["row 2", "'period' '202407'", "Closest:", "'202406'"]),
        ("TX,IDX,OOP,202406,105,C,1", UnknownInstrumentError, ["row 2", "'strike' 105", "Closest: 100"]),
        ("TX,IDX,FUT,202406,,,nan", InvalidPositionError, ["row 2", "quantity", "nan"]),
        ("TX,IDX,FUT,202406,,,ten", InvalidPositionError, ["row 2", "'quantity'", "'ten'"]),
        ("TX,IDX,FUTURE,202406,,,1", InvalidInstrumentError, ["row 2", "'type'", "PHY, FUT, OOP"]),
        ("TX,IDX,OOP,202406,100,X,1", InvalidInstrumentError, ["row 2", "'put_call'", "C or P"]),
        ("TX,IDX,FUT,202406,100,,1", InvalidInstrumentError, ["row 2", "leave both empty"]),
        ("TX,IDX,FUT,202406,1", InputFileError, ["row 2", "5 fields", "7"]),
    ],
)
def test_portfolio_errors_name_row_field_value(tmp_path, row, error, words):
    csv = tmp_path / "bad.csv"
    csv.write_text("exchange,product,type,period,strike,put_call,quantity\n" + row + "\n")
    with pytest.raises(error) as info:
        margin_file(spn=BOOK_SPN, portfolio=csv)
    message = str(info.value)
    assert str(csv) in message
    for word in words:
        assert word in message


def test_portfolio_missing_column(tmp_path):
    csv = tmp_path / "bad.csv"
    csv.write_text("exchange,product,type,period,quantity\nTX,IDX,FUT,202406,1\n")
    with pytest.raises(InputFileError, match="lacks the column"):
        load_spn_portfolio(csv)


def test_no_currency_conversion_is_an_error():
    positions = [SpnPosition("TX", "STK", "FUT", "202406", None, None, 1.0)]
    with pytest.raises(InputFileError, match="no currency conversion"):
        margin_file(spn=BOOK_SPN, portfolio=SpnPortfolio.from_positions(positions), reporting_currency="JPY")


def test_nan_quantity_in_code_is_rejected():
    with pytest.raises(InvalidPositionError, match="finite number of contracts"):
        SpnPortfolio.from_positions([SpnPosition("TX", "IDX", "FUT", "202406", None, None, math.nan)])


def test_round_trip_write_read_margin_identical(tmp_path):
    original = read_spn(BOOK_SPN)
    out = write_spn(original, tmp_path / "copy.spn.gz")
    again = read_spn(out)
    assert again == original
    a = margin_file(spn=original, portfolio=BOOK_CSV).to_dict()
    b = margin_file(spn=again, portfolio=BOOK_CSV).to_dict()
    assert a == b


def test_marginism_agrees_on_fixture():
    calc_mod = pytest.importorskip("marginism.calculator")
    from marginism.portfolio import Position

    calc = calc_mod.SpanCalculator.from_file(str(BOOK_SPN))
    theirs = calc.calculate([
        Position("IDX", "FUT", 2, "202406"), Position("IDX", "FUT", 3, "202409"), Position("IDX", "FUT", -1, "202412"),
        Position("IDX", "C", -2, "202406", 100.0), Position("IDX", "P", 1, "202406", 100.0),
        Position("STK", "FUT", -4, "202406"), Position("STK", "FUT", 1, "202409"),
    ])
    ours = margin_file(spn=BOOK_SPN, portfolio=BOOK_CSV)
    for code in ("IDX", "STK"):
        t, o = theirs.by_commodity[code], ours.commodity(code)
        assert o.scan_risk == approx(t.scan_risk)
        assert o.worst_scenario.index + 1 == t.worst_scenario
        assert o.scenario_losses == pytest.approx(t.scenario_losses, abs=1e-9)
        assert o.short_option_minimum == approx(t.short_option_minimum)
        assert o.net_option_value == approx(t.net_option_value)
    # Period-leg F calendar spread: both implement it.
    assert ours.commodity("STK").intra_spread_charge == approx(theirs.by_commodity["STK"].calendar_spread_charge)
    # Tier-leg spreads: marginism reads only pLeg legs, so it charges none on IDX.
    assert theirs.by_commodity["IDX"].calendar_spread_charge == 0.0


# --- the real Takasbank file -------------------------------------------------------------------------

def _etree_arrays(path: Path) -> dict[tuple, tuple[list[float], float]]:
    """Arrays and composite deltas by (product, type, period, put_call, strike): a plain etree pass."""
    out: dict[tuple, tuple[list[float], float]] = {}
    root = ET.parse(path).getroot()
    for ex in root.iter("exchange"):
        for fam in ex:
            code = fam.findtext("pfCode")
            if fam.tag == "futPf":
                for fut in fam.findall("fut"):
                    ra = fut.find("ra")
                    out[(code, "FUT", fut.findtext("pe"), None, None)] = (
                        [float(a.text) for a in ra.findall("a")], float(ra.findtext("d")))
            elif fam.tag == "oopPf":
                for series in fam.findall("series"):
                    for opt in series.findall("opt"):
                        ra = opt.find("ra")
                        out[(code, "OOP", series.findtext("pe"), opt.findtext("o"), float(opt.findtext("k")))] = (
                            [float(a.text) for a in ra.findall("a")], float(ra.findtext("d")))
    return out


@pytest.fixture(scope="module")
def takasbank():
    return read_spn(TAKASBANK)


@pytest.fixture(scope="module")
def etree_arrays():
    return _etree_arrays(TAKASBANK)


def _positions(*rows: tuple) -> SpnPortfolio:
    return SpnPortfolio.from_positions([
        SpnPosition("BIST", product, ptype, period, strike, pc, qty) for product, ptype, period, strike, pc, qty in rows
    ])


@needs_takasbank
def test_takasbank_futures_vs_options_scan_risk_by_hand(takasbank, etree_arrays):
    # Long 3 AKBNKE June futures, short 5 June 7.50 calls, long 2 June 7.00 puts.
    rows = [("AKBNKE", "FUT", "201606S0", None, None, 3.0), ("AKBNKE", "OOP", "201606S0", 7.5, "C", -5.0),
            ("AKBNKE", "OOP", "201606S0", 7.0, "P", 2.0)]
    losses = [0.0] * 16
    delta = 0.0
    for product, ptype, period, strike, pc, q in rows:
        arr, d = etree_arrays[(product, ptype, period, pc, strike)]
        losses = [x + q * a for x, a in zip(losses, arr)]
        delta += q * d
    worst = max(range(16), key=lambda j: losses[j])
    result = margin_file(spn=takasbank, portfolio=_positions(*rows))
    c = result.commodity("AKBNKE")
    assert c.scan_risk == approx(max(0.0, losses[worst]))
    assert c.worst_scenario.index == worst
    assert c.scenario_losses == pytest.approx(losses, abs=1e-9)
    assert c.net_delta == approx(delta)
    # Paired decomposition from the file's pairedPoint (1<->2, 3<->4, ...; 15 and 16 unpaired).
    assert c.time_risk == approx((losses[0] + losses[1]) / 2)
    pair = {j: j + 1 if j % 2 == 0 else j - 1 for j in range(14)}
    assert c.vol_risk == approx((losses[worst] - losses[pair[worst]]) / 2 if worst < 14 else 0.0)
    assert c.time_risk + c.vol_risk + c.price_risk == approx(c.scan_risk)
    # One period only: no calendar spread; SOM 5 short calls x 15 TRY (GROSS); NOV from val = p x 100.
    assert c.intra_spread_charge == 0.0
    assert c.short_option_minimum == approx(5 * 15.0)
    assert c.settlement_currency == "TRY" and result.reporting_currency == "TRY"


@needs_takasbank
def test_takasbank_calendar_spread_charge(takasbank):
    # AKBNKE: +3 June vs -2 July futures: tier 0 long 3 vs short 2 -> 2 spreads x 90 TRY (flat rate F).
    result = margin_file(spn=takasbank, portfolio=_positions(("AKBNKE", "FUT", "201606S0", None, None, 3.0),
                                                             ("AKBNKE", "FUT", "201607S0", None, None, -2.0)))
    c = result.commodity("AKBNKE")
    assert c.intra_spread_charge == approx(2 * 90.0)
    assert [(s.kind, s.count, s.amount) for s in c.spreads] == [("intra", approx(2.0), approx(180.0))]
    # Net +1 future: scan = 1 x 90 (point 13: -1 PSR); requirement = scan + 180; maintenance 0.75 x.
    assert c.scan_risk == approx(90.0)
    assert c.requirement == approx(270.0)
    assert c.maintenance_margin == approx(0.75 * 270.0)


@needs_takasbank
def test_takasbank_som_binding(takasbank, etree_arrays):
    # A short strangle of far out-of-the-money EREGLE May options (10 x 6.00 calls, 10 x 3.00 puts):
    # the scan risk stays below the SOM of 20 short options x 10 TRY (GROSS), which binds.
    call, _ = etree_arrays[("EREGLE", "OOP", "201605S0", "C", 6.0)]
    put, _ = etree_arrays[("EREGLE", "OOP", "201605S0", "P", 3.0)]
    book = _positions(("EREGLE", "OOP", "201605S0", 6.0, "C", -10.0), ("EREGLE", "OOP", "201605S0", 3.0, "P", -10.0))
    c = margin_file(spn=takasbank, portfolio=book).commodity("EREGLE")
    assert c.scan_risk == approx(max(0.0, max(-10 * a - 10 * b for a, b in zip(call, put))))
    assert c.scan_risk < 200.0
    assert c.short_option_minimum == approx(20 * 10.0)
    assert c.short_option_minimum_binding
    value = (takasbank_option_value(takasbank, "EREGLE", "201605S0", "C", 6.0)
             + takasbank_option_value(takasbank, "EREGLE", "201605S0", "P", 3.0))
    assert c.net_option_value == approx(-10 * value)
    assert c.requirement == approx(200.0 + 10 * value)


def takasbank_option_value(span_file, product, period, pc, strike) -> float:
    for fam in span_file.families:
        if fam.product_code == product and fam.product_type == "OOP":
            c = fam.contracts
            for i in range(len(c)):
                if fam.series[int(c.series_index[i])].period == period and c.put_call[i] == pc and c.strike[i] == strike:
                    return float(c.value[i])
    raise KeyError((product, period, pc, strike))


@needs_takasbank
def test_takasbank_inter_commodity_credit(takasbank, etree_arrays):
    # +13 AKBNKE June futures vs -1 XU030 June future: spread priority 3 (AKBNKE 12.75 : XU030 1, credit 60 %).
    # Spreads = min(13/12.75, 1/1) = 1. WFPR(AKBNKE) = price risk / 13 = 90; WFPR(XU030) = 955.
    ak, _ = etree_arrays[("AKBNKE", "FUT", "201606S0", None, None)]
    xu, _ = etree_arrays[("XU030", "FUT", "201606S0", None, None)]
    ak_scan = max(13 * a for a in ak)
    xu_scan = max(-1 * a for a in xu)
    result = margin_file(spn=takasbank, portfolio=_positions(("AKBNKE", "FUT", "201606S0", None, None, 13.0),
                                                             ("XU030", "FUT", "201606S0", None, None, -1.0)))
    a, x = result.commodity("AKBNKE"), result.commodity("XU030")
    assert a.price_risk == approx(ak_scan) and x.price_risk == approx(xu_scan)
    assert a.inter_spread_credit == approx(12.75 * (ak_scan / 13) * 0.6)
    assert x.inter_spread_credit == approx(1.0 * xu_scan * 0.6)
    inter = [s for s in a.spreads if s.kind == "inter"]
    assert [(s.priority, s.count) for s in inter] == [(3, approx(1.0))]
    assert result.initial_margin_usd == approx(a.requirement + x.requirement)


@needs_takasbank
@pytest.mark.parametrize("book", [
    [("AKBNKE", "FUT", "201606S0", None, None, 3.0), ("AKBNKE", "OOP", "201606S0", 7.5, "C", -5.0),
     ("AKBNKE", "OOP", "201606S0", 7.0, "P", 2.0)],
    [("GARANE", "OOP", "201606S0", 8.0, "C", -4.0), ("GARANE", "OOP", "201606S0", 7.5, "P", -4.0),
     ("XU030", "OOP", "201608S0", 90.0, "C", 2.0), ("XU030", "FUT", "201606S0", None, None, 1.0)],
    [("AKBNKE", "FUT", "201606S0", None, None, 3.0), ("AKBNKE", "FUT", "201607S0", None, None, -2.0),
     ("TUPRSE", "OOP", "201612S0", 95.0, "P", -3.0)],
])
def test_takasbank_marginism_agrees_where_both_implement(takasbank, book):
    calc_mod = pytest.importorskip("marginism.calculator")
    from marginism.portfolio import Position

    calc = calc_mod.SpanCalculator.from_file(str(TAKASBANK))
    theirs = calc.calculate([
        Position(p, "FUT" if t == "FUT" else pc, q, period, strike or 0.0) for p, t, period, strike, pc, q in book
    ])
    assert not theirs.unmatched
    ours = margin_file(spn=takasbank, portfolio=_positions(*book))
    for code, t in theirs.by_commodity.items():
        o = ours.commodity(code)
        assert o.scan_risk == approx(t.scan_risk)
        assert o.worst_scenario.index + 1 == t.worst_scenario
        assert o.scenario_losses == pytest.approx(t.scenario_losses, abs=1e-9)
        assert o.short_option_minimum == approx(t.short_option_minimum)   # GROSS everywhere
        assert o.net_option_value == approx(t.net_option_value)
        # marginism has no tier-leg calendar spreads (0 on this file); ours charges them.
        assert t.calendar_spread_charge == 0.0
        if o.intra_spread_charge == 0.0 and o.inter_spread_credit == 0.0:
            assert o.requirement == approx(t.span_risk)


@needs_takasbank
def test_takasbank_round_trip_margin_identical(takasbank, tmp_path):
    out = write_spn(takasbank, tmp_path / "takasbank.spn")
    again = read_spn(out)
    book = _positions(("AKBNKE", "FUT", "201606S0", None, None, 13.0), ("XU030", "FUT", "201606S0", None, None, -1.0),
                      ("AKBNKE", "OOP", "201606S0", 7.5, "C", -5.0), ("AKBNKE", "FUT", "201607S0", None, None, -2.0))
    assert margin_file(spn=again, portfolio=book).to_dict() == margin_file(spn=takasbank, portfolio=book).to_dict()


@needs_takasbank
def test_takasbank_unknown_strike_lists_closest(takasbank):
    with pytest.raises(UnknownInstrumentError, match=r"'strike' 7.3\. Closest: 7.25, 7.5"):
        margin_file(spn=takasbank, portfolio=_positions(("AKBNKE", "OOP", "201606S0", 7.3, "C", 1.0)))


def test_credits_never_exceed_price_risk(book_result):
    for c in book_result.commodities:
        assert 0.0 <= c.inter_spread_credit <= max(c.price_risk, 0.0) + 1e-12
    assert np.isfinite(book_result.initial_margin_usd)


# --- charge methods the fixtures do not exercise, on hand-built ccDefs -----------------------------

def _cc(**kw):
    from spanlike.spn.model import CombinedCommodityDef

    return CombinedCommodityDef(code="X", name=None, currency="USD", **kw)


def test_per_month_charge_and_period_tiers():
    from spanlike.spn.charges import intra_spread_charges, months_between, period_deltas, period_in_tier
    from spanlike.spn.model import DeltaSpread, PerMonthRate, SpreadLeg, Tier

    assert period_in_tier("202405S0", Tier(1, "202401", "202406")) and not period_in_tier("202407", Tier(1, "202401", "202406"))
    assert period_in_tier("00000S", Tier(0))
    assert months_between("202403", "202412") == 9
    # P: count x (per-spread 20 + per-month 5 x 3 months between 202403 and 202406).
    spread = DeltaSpread(priority=1, charge_method="P", legs=(SpreadLeg("X", "A", 1.0, period="202403"),
                                                              SpreadLeg("X", "B", 2.0, period="202406")),
                         per_month_rates=(PerMonthRate(1, 10.0, 5.0, 20.0),))
    deltas = period_deltas(["202403", "202406"], np.array([3.0, -4.0]))
    out = intra_spread_charges(_cc(intra_spreads=(spread,)), deltas, rate_id=1, wfpr=0.0)
    # Spreads = min(3/1, 4/2) = 2; consumes 2 of 202403 and 4 of 202406.
    assert out.spreads[0].count == approx(2.0)
    assert out.charge == approx(2 * (20 + 5 * 3))
    np.testing.assert_allclose(out.remaining, [1.0, 0.0])
    np.testing.assert_allclose(out.consumed, [2.0, 4.0])


def test_weighted_intra_charge_and_spot_charge():
    from spanlike.spn.charges import intra_spread_charges, period_deltas, spot_charge
    from spanlike.spn.model import DeltaSpread, RateValue, SpotRate, SpreadLeg, Tier

    spread = DeltaSpread(priority=1, charge_method="W", legs=(SpreadLeg("X", "A", 1.0, tier=0),
                                                              SpreadLeg("X", "B", 1.0, tier=0)),
                         rates=(RateValue(1, 0.25),))
    cc = _cc(intra_tiers=(Tier(0),), intra_spreads=(spread,), spot_rates=(SpotRate(1, "202403", 2.0, 4.0),))
    # 202403 +5, 202406 -2, 202409 -1: tier 0 long 5 vs short 3 -> 3 spreads; W charge = (3 + 3) x WFPR 10 x 0.25.
    deltas = period_deltas(["202403", "202406", "202409"], np.array([5.0, -2.0, -1.0]))
    out = intra_spread_charges(cc, deltas, rate_id=1, wfpr=10.0)
    assert out.charge == approx(6 * 10.0 * 0.25)
    np.testing.assert_allclose(out.remaining, [2.0, 0.0, 0.0])
    # Spot 202403: 3 consumed x 2 + 2 remaining x 4.
    assert spot_charge(cc, deltas, out, rate_id=1) == approx(3 * 2 + 2 * 4)


def test_som_max_method_by_tier():
    from spanlike.spn.charges import short_option_minimum_file
    from spanlike.spn.model import RateValue, Tier

    cc = _cc(som_method="MAX", som_tiers=(Tier(1, "202401", "202406", (RateValue(1, 3.0),)),
                                          Tier(2, "202407", "202412", (RateValue(1, 1.0),))))
    q = np.array([-4.0, -1.0, -2.0, 5.0])
    som = short_option_minimum_file(cc, periods=["202403", "202403", "202409", "202409"], quantity=q,
                                    is_option=np.array([True, True, True, True]),
                                    is_call=np.array([True, False, False, True]), rate_id=1)
    # Tier 1: max(4 calls, 1 put) x 3 = 12; tier 2: max(0 calls, 2 puts) x 1 = 2 (the long call is not short).
    assert som == approx(14.0)
