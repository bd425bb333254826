"""Liquidity/concentration add-on: hand computations on SPAN, exchange and VaR paths; validation.

Formulas (params.liquidity): group size q (underlying units), liquidity value L,
index price P; ladder ``P x sum_k rate_k x max(0, q - above_k L)``; square root
``k x P x q x sqrt(q / L)``; USD, divided by the index price for coin commodities.
"""

from __future__ import annotations

import math
from typing import Any

import pytest

from spanlike import params
from spanlike.params.errors import ParameterSetError
from spanlike.engine import margin
from spanlike.market import MarketSnapshot
from spanlike.portfolio import Portfolio

VALUATION = "2026-11-24T08:00:00Z"
P = 50_000.0
LADDER = {"model": "ladder", "steps": [{"above": 0.1, "rate": 0.01}, {"above": 0.3, "rate": 0.02}]}


def _with_liquidity(base: str, liquidity: dict[str, dict[str, Any]]) -> params.ParameterSet:
    data = params.load(base).model_dump(mode="json")
    for cc in data["combined_commodities"]:
        if cc["name"] in liquidity:
            cc["liquidity"] = liquidity[cc["name"]]
    return params.from_mapping(data, source="test")


def _market() -> MarketSnapshot:
    return MarketSnapshot.from_mapping({
        "valuation_time": VALUATION,
        "index_prices": {"BTC": P, "ETH": 3_000.0},
        "instruments": [
            {"instrument": "BTC_USDC-PERPETUAL", "mark_price": P},
            {"instrument": "BTC-PERPETUAL", "mark_price": P},
            {"instrument": "BTC-25DEC26-55000-C", "mark_iv": 0.6, "underlying_price": P},
            {"instrument": "ETH-PERPETUAL", "mark_price": 3_000.0},
        ],
    })


def test_ladder_on_span_path_against_hand_computation() -> None:
    """Long 50 BTC_USDC perpetual, futures ADV 100 coins: 0.01 x (50 - 10) + 0.02 x (50 - 30) = 0.8 coin x P."""
    spec = {"futures": 100.0, "charge": LADDER}
    book = Portfolio.from_positions([("BTC_USDC-PERPETUAL", 50.0)])
    plain = margin(book, _market(), params.load("crypto-span")).commodity("BTC_USDC")
    result = margin(book, _market(), _with_liquidity("crypto-span", {"BTC_USDC": spec}))
    cc = result.commodity("BTC_USDC")
    hand = (0.01 * (50 - 10) + 0.02 * (50 - 30)) * P  # 40,000 USDC (composite delta of a linear perpetual is 1)
    assert cc.liquidity_charge == pytest.approx(hand, rel=1e-12)
    assert cc.requirement == pytest.approx(plain.requirement + hand, rel=1e-12)
    assert cc.to_dict()["components"]["liquidity_charge"] == pytest.approx(hand, rel=1e-12)
    assert "liquidity charge" in result.format_table() and "40,000.00 USDC" in result.format_table()


def test_small_positions_pay_nothing() -> None:
    spec = {"futures": 100.0, "options": 20.0, "size": "gross", "charge": LADDER}
    ps = _with_liquidity("crypto-span", {"BTC_USDC": spec, "BTC": spec})
    book = Portfolio.from_positions([("BTC_USDC-PERPETUAL", 9.0), ("BTC-25DEC26-55000-C", -1.5)])
    with_liq = margin(book, _market(), ps)
    without = margin(book, _market(), params.load("crypto-span"))
    for c in with_liq.commodities:
        assert c.liquidity_charge == 0.0  # 9 < 0.1 x 100 and 1.5 < 0.1 x 20
    assert with_liq.to_dict()["initial_margin_usd"] == without.to_dict()["initial_margin_usd"]


def test_square_root_on_coin_commodity_options_and_futures() -> None:
    """Coin-settled BTC: charge in BTC = k q sqrt(q / L) summed over the two groups (gross sizes)."""
    spec = {"futures": 200.0, "options": 40.0, "size": "gross", "charge": {"model": "square_root", "k": 0.1}}
    book = Portfolio.from_positions([("BTC-PERPETUAL", 50.0, "coin"), ("BTC-25DEC26-55000-C", -10.0)])
    cc = margin(book, _market(), _with_liquidity("crypto-span", {"BTC": spec})).commodity("BTC")
    hand_usd = 0.1 * P * 50 * math.sqrt(50 / 200) + 0.1 * P * 10 * math.sqrt(10 / 40)
    assert cc.liquidity_charge == pytest.approx(hand_usd / P, rel=1e-12)  # 3.0 BTC
    assert cc.liquidity_charge == pytest.approx(3.0, rel=1e-12)


def test_net_delta_size_offsets_within_a_group_only() -> None:
    """Long calls do not reduce the futures group's size: only futures are charged, on |-40| coins."""
    spec = {"futures": 100.0, "charge": {"model": "square_root", "k": 0.2}}
    ps = _with_liquidity("crypto-span", {"BTC_USDC": spec})
    market = MarketSnapshot.from_mapping({
        "valuation_time": VALUATION, "index_prices": {"BTC": P},
        "instruments": [{"instrument": "BTC_USDC-PERPETUAL", "mark_price": P},
                        {"instrument": "BTC_USDC-25DEC26-50000-C", "mark_iv": 0.6, "underlying_price": P}],
    })
    hedged = Portfolio.from_positions([("BTC_USDC-PERPETUAL", -40.0), ("BTC_USDC-25DEC26-50000-C", 80.0)])
    cc = margin(hedged, market, ps).commodity("BTC_USDC")
    assert abs(cc.net_delta) < 10.0  # the book is nearly delta-neutral ...
    assert cc.liquidity_charge == pytest.approx(0.2 * P * 40 * math.sqrt(0.4), rel=1e-12)  # ... the futures are not


def test_exchange_path_and_undiversified_account_total() -> None:
    spec = {"futures": 100.0, "charge": LADDER}
    book = Portfolio.from_positions([("BTC-PERPETUAL", 60.0, "coin"), ("ETH-PERPETUAL", -300.0, "coin")])
    plain = margin(book, _market(), params.load("deribit-style"))
    result = margin(book, _market(), _with_liquidity("deribit-style", {"BTC": spec}))
    btc = result.commodity("BTC")
    # deribit-style uses delta points at 0 only: an inverse perpetual's composite delta there is exactly 1
    hand_coin = (0.01 * (60 - 10) + 0.02 * (60 - 30)) * P / P
    assert btc.liquidity_charge == pytest.approx(hand_coin, rel=1e-12)
    assert btc.requirement == pytest.approx(plain.commodity("BTC").requirement + hand_coin, rel=1e-12)
    assert result.requirement_usd == pytest.approx(plain.requirement_usd + hand_coin * P, rel=1e-12)

    # crypto-span has a correlation matrix: the liquidity charge is added after the offset, not diversified
    span_plain = margin(book, _market(), params.load("crypto-span"))
    span = margin(book, _market(), _with_liquidity("crypto-span", {"BTC": {"futures": 100.0, "size": "gross",
                                                                          "charge": LADDER}}))
    assert span_plain.correlation_offset_usd > 0
    assert span.correlation_offset_usd == pytest.approx(span_plain.correlation_offset_usd, rel=1e-9)
    assert span.requirement_usd == pytest.approx(span_plain.requirement_usd + hand_coin * P, rel=1e-12)
    assert span.sum_of_requirements_usd - span.correlation_offset_usd == pytest.approx(span.requirement_usd,
                                                                                         rel=1e-15)


def test_var_path_adds_liquidity() -> None:
    moves = [0.01 * ((j * 7) % 11 - 5) for j in range(20)]  # -5 % .. +5 %
    data: dict[str, Any] = {
        "metadata": {"name": "v", "version": "1", "as_of": "2026-11-24"},
        "combined_commodities": [{
            "name": "BTC_USDC", "underlying": "BTC", "settlement": "linear", "settlement_currency": "USDC",
            "grid": {"family": "historical", "scenario_set": "hs", "scenario_count": 20, "time_advance_days": 1.0},
            "liquidity": {"futures": 100.0, "charge": LADDER},
        }],
        "var_model": {"measure": "var", "confidence": 0.9, "mpor_days": 1, "scenarios": {
            "name": "hs", "underlyings": ["BTC"], "dates": [f"2024-01-{d:02d}" for d in range(1, 21)],
            "price_moves": [[m] for m in moves]}},
    }
    cc = margin(Portfolio.from_positions([("BTC_USDC-PERPETUAL", 50.0)]), _market(), params.from_mapping(data)
                ).commodity("BTC_USDC")
    # losses -50 P s: the three largest are at s = -5 %, -5 %, -4 % -> VaR = 50 x 50,000 x 0.04
    assert cc.scan_risk == pytest.approx(50 * P * 0.04, rel=1e-12)
    assert cc.liquidity_charge == pytest.approx(0.8 * P, rel=1e-12)
    assert cc.requirement == pytest.approx(50 * P * 0.04 + 0.8 * P, rel=1e-12)


@pytest.mark.parametrize("spec, message", [
    ({"charge": LADDER}, r"needs a liquidity value for 'futures', 'options' or both"),
    ({"futures": 0.0, "charge": LADDER}, r"liquidity.futures: Input should be greater than 0"),
    ({"futures": 10.0, "charge": {"model": "ladder", "steps": [{"above": 0.3, "rate": 0.01},
                                                                {"above": 0.1, "rate": 0.01}]}},
     r"ladder thresholds must increase strictly; 0.1 follows 0.3"),
    ({"futures": 10.0, "charge": {"model": "ladder", "steps": []}}, r"a size ladder needs at least one step"),
    ({"futures": 10.0, "charge": {"model": "square_root", "k": -1}}, r"charge.square_root.k: Input should be greater than 0"),
    ({"futures": 10.0, "charge": {"model": "impact"}}, r"Input tag 'impact' found using 'model' does not match"),
])
def test_invalid_liquidity_sections(spec: dict[str, Any], message: str) -> None:
    with pytest.raises(ParameterSetError, match=message):
        _with_liquidity("crypto-span", {"BTC": spec})


def test_efficiency_attribution_has_a_liquidity_line() -> None:
    """The savings chain switches the liquidity add-on on as its own line and still sums exactly."""
    from spanlike.efficiency import efficiency

    spec = {"futures": 100.0, "charge": LADDER}
    book = Portfolio.from_positions([("BTC_USDC-PERPETUAL", 50.0)])
    report = efficiency(book, _market(), _with_liquidity("crypto-span", {"BTC_USDC": spec}), marginal=False)
    line = report.attribution.line("liquidity")
    hand = (0.01 * (50 - 10) + 0.02 * (50 - 30)) * P
    assert line.savings_im_usd == pytest.approx(-1.1 * hand, rel=1e-9)  # a charge: negative savings, x im_factor
    total = sum(ln.savings_im_usd for ln in report.attribution.lines)
    assert total == pytest.approx(report.attribution.total_im_usd, rel=1e-12, abs=1e-9)


def test_report_hides_an_absent_liquidity_charge() -> None:
    book = Portfolio.from_positions([("BTC_USDC-PERPETUAL", 1.0)])
    assert "liquidity charge" not in margin(book, _market(), params.load("crypto-span")).format_table()
