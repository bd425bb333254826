"""Efficiency levels, savings attribution and incremental margins on hand-worked books.

Market: the bundled demo snapshot (spanlike/data/demo_market.json, 2026-11-24): index BTC 95,000,
ETH 3,400 USD; the marks and underlying prices used by hand below are quoted from that file.
Isolated margins are written out by hand from methodology section 5 (Deribit standard margin);
they are compared at rel 1e-12 (the same float operations in a different order). Engine levels
(portfolio, cross) come from spanlike.engine and are tested elsewhere; here their ordering and
the attribution identities are checked, the identities at rel 1e-9 (the chain check's tolerance).
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest

from spanlike import params
import spanlike
from spanlike.efficiency.attribution import COMPONENTS
from spanlike.efficiency.inputs import prepare_accounts
from spanlike.efficiency.isolated import isolated_margin, standard_margin
from spanlike.efficiency.marginal import incremental_margins
from spanlike.efficiency.report import EfficiencyReport, efficiency
from spanlike.errors import ParameterSetError
from spanlike.market import MarketSnapshot
from spanlike.portfolio import Portfolio

DATA = Path(spanlike.__file__).parent / "data"
MARKET = MarketSnapshot.from_file(DATA / "demo_market.json")
BTC, ETH = 95_000.0, 3_400.0  # index prices, USD per coin
CRYPTO_SPAN = params.load("crypto-span")
REL = 1e-12

COVERED_CALL = [("BTC-PERPETUAL", 2.0, "coin"), ("BTC-25DEC26-80000-C", -2.0)]
CALENDAR = [("BTC-26MAR27", 2.0, "coin"), ("BTC-25DEC26", -2.0, "coin")]
PAIR = [("BTC-25DEC26-80000-P", -2.0), ("ETH-25DEC26-4000-C", -40.0)]
STRADDLE = [("BTC-27NOV26-95000-C", -2.0), ("BTC-27NOV26-95000-P", -2.0), ("BTC-PERPETUAL", -9_500.0, "usd")]


def _report(positions: list[tuple], parameter_set: params.ParameterSet = CRYPTO_SPAN) -> EfficiencyReport:
    return efficiency(Portfolio.from_positions(positions), MARKET, parameter_set, marginal=True)


def _future(size: float) -> tuple[float, float]:
    """Deribit BTC future/perpetual standard margin (IM, MM) in BTC for ``size`` coins."""
    return (0.02 + 0.00005 * size) * size, (0.01 + 0.00005 * size) * size


# --- isolated level by hand (methodology 5) ----------------------------------------------------

def test_isolated_covered_call_by_hand() -> None:
    # Short 2 BTC-25DEC26-80000-C, mark 0.1755 BTC, S 95,485 > K: in the money, OTM = 0.
    call_im, call_mm = 2 * (max(0.15 - 0.0 / 95_485.0, 0.10) + 0.1755), 2 * (0.075 + 0.1755)
    perp_im, perp_mm = _future(2.0)
    iso = _report(COVERED_CALL).levels.isolated
    assert iso.initial_margin_usd == pytest.approx((call_im + perp_im) * BTC, rel=REL)
    assert iso.maintenance_margin_usd == pytest.approx((call_mm + perp_mm) * BTC, rel=REL)
    assert [p.rule for p in iso.positions] == ["future", "short call"]


def test_isolated_short_straddle_and_usd_perpetual_by_hand() -> None:
    s, k = 95_047.5, 95_000.0
    call_im = 2 * (max(0.15 - max(k - s, 0.0) / s, 0.10) + 0.0183)
    call_mm = 2 * (0.075 + 0.0183)
    put_mm_per_coin = max(0.075, 0.075 * 0.0178) + 0.0178
    put_im = 2 * max(max(0.15 - (s - k) / s, 0.10) + 0.0178, put_mm_per_coin)
    put_mm = 2 * put_mm_per_coin
    perp_im, perp_mm = _future(9_500.0 / 95_010.0)  # USD size converted at the perpetual's mark
    iso = _report(STRADDLE).levels.isolated
    assert iso.initial_margin_usd == pytest.approx((call_im + put_im + perp_im) * BTC, rel=REL)
    assert iso.maintenance_margin_usd == pytest.approx((call_mm + put_mm + perp_mm) * BTC, rel=REL)


def test_isolated_calendar_and_pair_by_hand() -> None:
    im, mm = _future(2.0)
    iso = _report(CALENDAR).levels.isolated
    assert iso.initial_margin_usd == pytest.approx(2 * im * BTC, rel=REL)
    assert iso.maintenance_margin_usd == pytest.approx(2 * mm * BTC, rel=REL)
    # BTC put K 80,000, S 95,485: OTM 15,485 -> 0.15 - 0.162 < 0.10 floor. ETH call K 4,000, S 3,415.9:
    # OTM 584.1 -> 0.15 - 0.171 < 0.10 floor.
    btc_put_mm = max(0.075, 0.075 * 0.0133) + 0.0133
    btc_put_im = max(max(0.15 - 15_485.0 / 95_485.0, 0.10) + 0.0133, btc_put_mm)
    eth_call_im = max(0.15 - 584.1 / 3_415.9, 0.10) + 0.0246
    eth_call_mm = 0.075 + 0.0246
    iso = _report(PAIR).levels.isolated
    assert iso.initial_margin_usd == pytest.approx(2 * btc_put_im * BTC + 40 * eth_call_im * ETH, rel=REL)
    assert iso.maintenance_margin_usd == pytest.approx(2 * btc_put_mm * BTC + 40 * eth_call_mm * ETH, rel=REL)


def test_long_options_carry_no_isolated_margin() -> None:
    iso = _report([("BTC-25DEC26-80000-P", 3.0), ("ETH-25DEC26-4000-C", 10.0)]).levels.isolated
    assert iso.initial_margin_usd == 0.0 and iso.maintenance_margin_usd == 0.0
    assert {p.rule for p in iso.positions} == {"long option"}


def test_standard_margin_linear_uses_the_underlying_price() -> None:
    rules = CRYPTO_SPAN.isolated.rules_for("BTC")  # type: ignore[union-attr]
    # USDC-settled short call, S = 100,000, K = 110,000, mark 1,500 USDC per coin, 3 coins.
    im, mm = standard_margin(rule="short call", size=3.0, unit_value=100_000.0, underlying_price=100_000.0,
                             strike=110_000.0, mark=1_500.0, options=rules.options)  # type: ignore[union-attr]
    assert im == pytest.approx(3 * (max(0.15 - 10_000 / 100_000, 0.10) * 100_000 + 1_500), rel=REL)
    assert mm == pytest.approx(3 * (0.075 * 100_000 + 1_500), rel=REL)


def test_missing_isolated_rules_name_the_underlying_and_the_fix(tmp_path: Path) -> None:
    data = CRYPTO_SPAN.model_dump(mode="json")
    data["isolated"] = None
    bare = params.from_mapping({k: v for k, v in data.items() if v is not None})
    with pytest.raises(ParameterSetError, match=r"no \[isolated\] section.*Add one"):
        _report(CALENDAR, bare)
    data = CRYPTO_SPAN.model_dump(mode="json")
    data["isolated"]["underlyings"] = [u for u in data["isolated"]["underlyings"] if u["underlying"] != "ETH"]
    no_eth = params.from_mapping(data)
    with pytest.raises(ParameterSetError, match=r"no isolated options rules for underlying ETH.*ETH-25DEC26-4000-C"):
        _report(PAIR, no_eth)


# --- levels: ordering and attribution ----------------------------------------------------------

@pytest.mark.parametrize("positions", [COVERED_CALL, CALENDAR, PAIR, STRADDLE],
                         ids=["covered-call", "calendar", "btc-eth-pair", "hedged-straddle"])
def test_levels_are_ordered_and_attribution_sums_to_the_savings(positions: list[tuple]) -> None:
    r = _report(positions)
    iso, pf, cr = r.levels.levels
    # Initial margin: isolated >= per-underlying portfolio >= cross for these books.
    assert iso.initial_margin_usd >= pf.initial_margin_usd >= cr.initial_margin_usd
    # Maintenance: portfolio >= cross always; isolated MM is not compared because Deribit's standard
    # MM is half its IM rate (0.075 vs 0.15) while crypto-span's MM is IM / 1.1.
    assert pf.maintenance_margin_usd >= cr.maintenance_margin_usd
    assert pf.initial_margin_usd == r.levels.portfolio.initial_margin_usd
    lines = r.attribution.lines
    assert [ln.component for ln in lines] == [k for k, _, _ in COMPONENTS]
    total_im = math.fsum(ln.savings_im_usd for ln in lines)
    total_mm = math.fsum(ln.savings_mm_usd for ln in lines)
    assert total_im == pytest.approx(iso.initial_margin_usd - cr.initial_margin_usd, rel=1e-12, abs=1e-9)
    assert total_mm == pytest.approx(iso.maintenance_margin_usd - cr.maintenance_margin_usd, rel=1e-12, abs=1e-9)
    within = math.fsum(ln.savings_im_usd for ln in lines if ln.stage == "within underlying")
    assert within == pytest.approx(iso.initial_margin_usd - pf.initial_margin_usd, rel=1e-12, abs=1e-9)
    assert cr.savings_im_usd == pytest.approx(r.attribution.total_im_usd, rel=1e-15)
    assert cr.savings_im_pct == pytest.approx(100 * cr.savings_im_usd / iso.initial_margin_usd, rel=1e-15)


def test_single_underlying_books_get_no_cross_savings() -> None:
    for positions in (COVERED_CALL, CALENDAR, STRADDLE):
        r = _report(positions)
        assert r.attribution.line("inter_commodity_credits").savings_im_usd == 0.0
        assert r.attribution.line("correlation_offsets").savings_im_usd == 0.0
        assert r.levels.level("cross").initial_margin_usd == r.levels.level("portfolio").initial_margin_usd


def test_calendar_spread_savings_are_scenario_netting_less_the_intra_charge() -> None:
    r = _report(CALENDAR)
    btc = r.levels.cross.commodity("BTC")
    assert btc.intra_spread_charge > 0.0 and not btc.short_option_minimum_binding
    im = CRYPTO_SPAN.margin_relation.im_factor
    # The calendar line costs exactly the intra charge (no floor binds: scan + intra > 0, no options).
    assert r.attribution.line("calendar_spreads").savings_im_usd == pytest.approx(
        -im * btc.intra_spread_charge * BTC, rel=1e-9)
    # The scenario-netting line is isolated minus IM x scan risk (no options: NOV = 0).
    assert r.attribution.line("scenario_netting").savings_im_usd == pytest.approx(
        r.levels.isolated.initial_margin_usd - im * btc.scan_risk * BTC, rel=1e-9)
    assert r.attribution.line("scenario_netting").savings_im_usd > 0.0
    for key in ("long_option_value", "delivery", "short_option_minimum", "roll_shock", "delta_shock"):
        assert r.attribution.line(key).savings_im_usd == 0.0


def test_an_option_pair_gets_no_cross_offset_under_today_crypto_span() -> None:
    """Since crypto-span 2026.12.1 offsets across underlyings read futures and perpetuals only
    (methodology 6.3): two short options on BTC and ETH margin at the sum of their requirements,
    the cross level equals the portfolio level and every cross-level line saves 0."""
    r = _report(PAIR)
    cross, pf = r.levels.cross, r.levels.portfolio
    for line in ("inter_commodity_credits", "correlation_offsets", "joint_move_floor"):
        assert r.attribution.line(line).savings_im_usd == 0.0, line
    assert cross.initial_margin_usd == pytest.approx(pf.initial_margin_usd, rel=REL)


def test_btc_eth_pair_saves_through_inter_credits_and_correlation() -> None:
    """The same pair under crypto-span 2026.11.1, which read offsets from every position."""
    r = _report(PAIR, params.load("crypto-span@2026.11.1"))
    cross, pf = r.levels.cross, r.levels.portfolio
    btc, eth = cross.commodity("BTC"), cross.commodity("ETH")
    assert np.sign(btc.net_delta) == -np.sign(eth.net_delta)  # short put (long delta) vs short call
    assert not btc.short_option_minimum_binding and not eth.short_option_minimum_binding
    im = CRYPTO_SPAN.margin_relation.im_factor
    credits_usd = btc.inter_spread_credit * BTC + eth.inter_spread_credit * ETH
    inter = r.attribution.line("inter_commodity_credits").savings_im_usd
    corr = r.attribution.line("correlation_offsets").savings_im_usd
    assert inter == pytest.approx(im * credits_usd, rel=1e-9) and inter > 0.0
    assert corr == pytest.approx(im * cross.correlation_offset_usd, rel=1e-9) and corr > 0.0
    # A short call gains at most its premium when prices fall, while the short put loses on: the
    # delta-based credit and the offset take off more than a joint fall can spare, and the joint-move
    # floor (methodology 6.2) puts the difference back. Hand check of the floor: both commodities at
    # +-1 PSR scenarios with the same vol move (indices 10..13: up/vol up, up/vol down, down/vol up,
    # down/vol down), in USD, less the options' value (short options: negative).
    floor_line = r.attribution.line("joint_move_floor").savings_im_usd
    assert cross.joint_move_addon_usd > 0.0 and floor_line == pytest.approx(-im * cross.joint_move_addon_usd, rel=1e-9)
    joint = [btc.scenario_losses[k] * btc.usd_per_unit + eth.scenario_losses[k] * eth.usd_per_unit
             for k in (10, 11, 12, 13)]
    nov_usd = btc.net_option_value * btc.usd_per_unit + eth.net_option_value * eth.usd_per_unit
    assert cross.joint_move_floor_usd == pytest.approx(max(joint) - nov_usd, rel=1e-12)
    assert cross.requirement_usd == pytest.approx(cross.joint_move_floor_usd, rel=1e-12)
    assert inter + corr + floor_line == pytest.approx(pf.initial_margin_usd - cross.initial_margin_usd, rel=1e-9)


def test_hedged_straddle_savings_are_scenario_netting() -> None:
    r = _report(STRADDLE)
    netting = r.attribution.line("scenario_netting").savings_im_usd
    assert netting == pytest.approx(r.attribution.total_im_usd, rel=1e-12)
    assert netting > 0.0


def test_otm_covered_call_on_a_perpetual_costs_more_than_isolated() -> None:
    """Not every book saves: Deribit's standard futures margin (2 % + 0.005 % x size) is far below
    crypto-span's 12 % BTC price scan range, so a perpetual covering an out-of-the-money call is
    margined higher by the portfolio methodology; the attribution shows it as negative netting."""
    r = _report([("BTC-PERPETUAL", 2.0, "coin"), ("BTC-25DEC26-110000-C", -2.0)])
    assert r.levels.level("portfolio").initial_margin_usd > r.levels.level("isolated").initial_margin_usd
    assert r.attribution.line("scenario_netting").savings_im_usd < 0.0


def test_exchange_style_attribution_has_roll_shock_line() -> None:
    r = _report(CALENDAR, params.load("deribit-style"))
    btc = r.levels.cross.commodity("BTC")
    assert r.attribution.line("roll_shock").savings_im_usd == pytest.approx(
        -btc.roll_shock * BTC * params.load("deribit-style").margin_relation.im_factor, rel=1e-9)
    assert math.fsum(ln.savings_im_usd for ln in r.attribution.lines) == pytest.approx(
        r.attribution.total_im_usd, rel=1e-12, abs=1e-9)


# --- marginal view -----------------------------------------------------------------------------

@pytest.mark.parametrize("position", [("BTC-25DEC26-80000-P", -2.0), ("ETH-PERPETUAL", 5_000.0, "usd"),
                                      ("BTC-25DEC26-110000-C", 3.0)])
def test_single_position_incremental_margin_is_its_margin(position: tuple) -> None:
    book = Portfolio.from_positions([position])
    direct = spanlike.margin(book, MARKET, CRYPTO_SPAN)
    view = _report([position]).marginal
    assert view is not None and len(view.positions) == 1
    p = view.positions[0]
    assert p.incremental_im_usd == pytest.approx(direct.initial_margin_usd, rel=REL, abs=1e-9)
    assert p.incremental_mm_usd == pytest.approx(direct.maintenance_margin_usd, rel=REL, abs=1e-9)
    assert p.standalone_im_usd == pytest.approx(direct.initial_margin_usd, rel=REL, abs=1e-9)
    assert not p.is_hedge


def test_calendar_legs_hedge_each_other() -> None:
    view = _report(CALENDAR).marginal
    assert view is not None
    assert all(p.is_hedge for p in view.positions)
    assert {p.instrument for p in view.hedges} == {"BTC-26MAR27", "BTC-25DEC26"}
    for p in view.positions:
        # Margin of the book minus margin of the other leg alone.
        other = [x for x in CALENDAR if x[0] != p.instrument]
        alone = spanlike.margin(Portfolio.from_positions(other), MARKET, CRYPTO_SPAN).initial_margin_usd
        assert p.incremental_im_usd == pytest.approx(view.initial_margin_usd - alone, rel=1e-12)


def test_incremental_margins_reject_zero_quantities() -> None:
    book = prepare_accounts(portfolios=[Portfolio.from_positions(CALENDAR)], market=MARKET, parameter_set=CRYPTO_SPAN)
    acc = book.accounts[0]
    with pytest.raises(spanlike.errors.InvalidPositionError, match="is 0: drop zero positions"):
        incremental_margins(book.universe, rows=acc.rows, quantity=np.zeros_like(acc.quantity))
    with pytest.raises(spanlike.errors.InvalidPositionError, match="equal length"):
        isolated_margin(book.universe, rows=acc.rows, quantity=acc.quantity[:1])


def test_report_to_dict_is_json_ready() -> None:
    import json

    d = _report(PAIR).to_dict()
    json.dumps(d, allow_nan=False)
    assert [lv["name"] for lv in d["levels"]] == ["isolated", "portfolio", "cross"]
    assert d["isolated_venue"] == "Deribit standard margin"
