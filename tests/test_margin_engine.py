"""End-to-end margin: hand-worked scan through the public API, properties, CLI."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from vollib.black import black

from spanlike import params
import spanlike
from spanlike.cli import main
from spanlike.engine import margin, margin_positions, prepare
from spanlike.errors import MissingMarketDataError
from spanlike.market import MarketSnapshot
from spanlike.results import RESULT_SCHEMA_VERSION
from spanlike.portfolio import Portfolio

DATA = Path(spanlike.__file__).parent / "data"
DEMO_PORTFOLIO = DATA / "demo_portfolio.csv"
DEMO_MARKET = DATA / "demo_market.json"
TESTS = Path(__file__).parent / "data"

VALUATION = "2026-11-24T08:00:00Z"
F = 95_000.0


def _linear_market(extra: list[dict] | None = None) -> MarketSnapshot:
    rows = [
        {"instrument": "BTC_USDC-25DEC26", "mark_price": F},
        {"instrument": "BTC_USDC-25DEC26-100000-C", "mark_price": 2500.0, "mark_iv": 0.55, "underlying_price": F},
    ]
    return MarketSnapshot.from_mapping(
        {"valuation_time": VALUATION, "index_prices": {"BTC": F}, "instruments": rows + (extra or [])}
    )


def test_scan_long_future_short_call_against_py_vollib() -> None:
    """Long 1 BTC_USDC future, short 1 BTC_USDC call under crypto-span, revalued with py_vollib by hand."""
    ps = params.load("crypto-span")
    book = Portfolio.from_positions([("BTC_USDC-25DEC26", 1.0), ("BTC_USDC-25DEC26-100000-C", -1.0)])
    result = margin(book, _linear_market(), ps)
    cc = result.commodity("BTC_USDC")
    # 2026-11-24 08:00 -> 2026-12-25 08:00 = 31 days; the grid advances 1 day in every scenario.
    t, t_after = 31 / 365, 30 / 365
    psr, vsr, sigma, k = 0.12, 0.12, 0.55, 100_000.0
    fractions = [(0, 1), (0, -1), (1 / 3, 1), (1 / 3, -1), (-1 / 3, 1), (-1 / 3, -1), (2 / 3, 1), (2 / 3, -1),
                 (-2 / 3, 1), (-2 / 3, -1), (1, 1), (1, -1), (-1, 1), (-1, -1), (3, 0), (-3, 0)]
    base_call = black("c", F, k, t, 0.0, sigma)
    hand = []
    for j, (pf, vf) in enumerate(fractions):
        f_new = F * (1 + pf * psr)
        call = black("c", f_new, k, t_after, 0.0, max(sigma + vf * vsr, 0.05))
        weight = 0.32 if j >= 14 else 1.0
        future_loss = F - f_new            # long future loses when the price falls
        short_call_loss = call - base_call  # short call loses when the call gains
        hand.append(weight * (future_loss + short_call_loss))
    np.testing.assert_allclose(cc.scenario_losses, hand, rtol=1e-12, atol=1e-9)
    worst = int(np.argmax(hand))
    assert cc.worst_scenario.index == worst
    assert cc.scan_risk == pytest.approx(max(hand), rel=1e-12)
    # contributions sum to the worst scenario's loss
    assert sum(c.worst_scenario_loss for c in cc.contributions) == pytest.approx(hand[worst], rel=1e-12)
    # SPAN order: NOV = -mark of the short call (2,500 USD)
    assert cc.net_option_value == pytest.approx(-2500.0)
    expected = max(cc.scan_risk + cc.intra_spread_charge + cc.delivery_charge, cc.short_option_minimum) + 2500.0
    assert cc.requirement == pytest.approx(expected, rel=1e-12)
    assert result.maintenance_margin_usd == pytest.approx(cc.requirement)
    assert result.initial_margin_usd == pytest.approx(1.1 * cc.requirement)


@pytest.fixture(scope="module")
def demo() -> tuple[Portfolio, MarketSnapshot]:
    return Portfolio.from_file(DEMO_PORTFOLIO), MarketSnapshot.from_file(DEMO_MARKET)


# deribit-style@2026-02-15 counts extended losses only above a fixed USD dampener and caps offsetable
# gains in USD, as the venue does, so its margin is not proportional to size; its 2024 version has neither.
@pytest.mark.parametrize("name", ["crypto-span", "deribit-style@2024-06-17"])
def test_margin_is_positively_homogeneous(demo, name: str) -> None:
    portfolio, market = demo
    ps = params.load(name)
    universe, rows, qty, _ = prepare(portfolio=portfolio, market=market, parameter_set=ps)
    base = margin_positions(universe, rows=rows, quantity=qty)
    for k in (0.5, 3.0):
        scaled = margin_positions(universe, rows=rows, quantity=k * qty)
        assert scaled.initial_margin_usd == pytest.approx(k * base.initial_margin_usd, rel=1e-12)
        assert scaled.maintenance_margin_usd == pytest.approx(k * base.maintenance_margin_usd, rel=1e-12)


@pytest.mark.parametrize("name", ["crypto-span", "deribit-style"])
def test_negated_book_negates_scenario_losses(demo, name: str) -> None:
    portfolio, market = demo
    universe, rows, qty, _ = prepare(portfolio=portfolio, market=market, parameter_set=params.load(name))
    for risk in universe.commodities:
        mine = universe.row_commodity[rows] == universe.commodities.index(risk)
        local = universe.row_local[rows[mine]]
        long = qty[mine] @ risk.risk_arrays[local]
        short = (-qty[mine]) @ risk.risk_arrays[local]
        np.testing.assert_array_equal(short, -long)


@pytest.mark.parametrize("name", ["crypto-span", "deribit-style"])
def test_exact_hedge_margins_to_zero(demo, name: str) -> None:
    _, market = demo
    book = Portfolio.from_positions([("BTC-25DEC26-80000-P", 3.0), ("BTC-25DEC26-80000-P", -3.0),
                                     ("BTC-PERPETUAL", 1000.0, "usd"), ("BTC-PERPETUAL", -1000.0, "usd")])
    result = margin(book, market, name)
    assert result.initial_margin_usd == 0.0 and result.maintenance_margin_usd == 0.0
    assert result.commodities == ()
    assert any("BTC-25DEC26-80000-P" in n for n in result.notes)


@pytest.mark.parametrize("option", ["BTC-25DEC26-110000-C", "BTC-25DEC26-80000-P", "BTC-29JAN27-100000-C"])
@pytest.mark.parametrize("side", [1.0, -1.0])
@pytest.mark.parametrize("name", ["crypto-span", "deribit-style"])
def test_delta_hedge_does_not_increase_scan_risk(demo, option: str, side: float, name: str) -> None:
    _, market = demo
    ps = params.load(name)
    book = Portfolio.from_positions([(option, 10.0 * side)])
    before = margin(book, market, ps).commodity("BTC")
    # hedge with the same-expiry future, in coin, sized so the net composite delta is zero
    # (an inverse future's composite delta is E[F/F_k] over the delta points, slightly above 1)
    future_delta = margin(Portfolio.from_positions([("BTC-25DEC26", 1.0, "coin")]), market, ps).commodity("BTC").net_delta
    hedge = Portfolio.from_positions([(option, 10.0 * side), ("BTC-25DEC26", -before.net_delta / future_delta, "coin")])
    after = margin(hedge, market, ps).commodity("BTC")
    assert abs(after.net_delta) < 1e-9
    assert after.scan_risk <= before.scan_risk + 1e-12


def test_demo_under_both_sets_is_finite_and_ordered(demo) -> None:
    portfolio, market = demo
    for name in ("crypto-span", "deribit-style"):
        r = margin(portfolio, market, name)
        d = r.to_dict()
        json.dumps(d, allow_nan=False)
        assert r.initial_margin_usd >= r.maintenance_margin_usd > 0.0
        assert r.requirement_usd == pytest.approx(r.sum_of_requirements_usd - r.correlation_offset_usd)
        assert {c.name for c in r.commodities} == {"BTC", "ETH"}


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(st.tuples(st.integers(0, 18), st.floats(-50, 50, allow_nan=False).filter(lambda x: abs(x) > 1e-3)),
                min_size=1, max_size=12),
       st.sampled_from(["crypto-span", "deribit-style"]))
def test_random_books_never_negative_or_nan(demo, picks, name) -> None:
    portfolio, market = demo
    universe, rows, _, _ = prepare(portfolio=portfolio, market=market, parameter_set=params.load(name))
    chosen: dict[int, float] = {}
    for i, q in picks:
        chosen[int(rows[i % rows.size])] = q
    r = margin_positions(universe, rows=list(chosen), quantity=list(chosen.values()))
    values = [r.initial_margin_usd, r.maintenance_margin_usd, r.correlation_offset_usd]
    for c in r.commodities:
        values += [c.requirement, c.scan_risk, c.intra_spread_charge, c.delivery_charge, c.inter_spread_credit,
                   c.short_option_minimum, c.roll_shock]
        assert c.requirement >= 0.0 and c.scan_risk >= 0.0
    assert all(math.isfinite(v) for v in values)
    assert r.initial_margin_usd >= r.maintenance_margin_usd >= 0.0
    assert r.correlation_offset_usd >= -1e-9


def test_inter_commodity_credit_and_correlation_in_crypto_span(demo) -> None:
    _, market = demo
    # long BTC future vs short ETH future of similar USD notional: opposite directions
    book = Portfolio.from_positions([("BTC-25DEC26", 100_000.0, "usd"), ("ETH-25DEC26", -100_000.0, "usd")])
    r = margin(book, market, "crypto-span")
    btc, eth = r.commodity("BTC"), r.commodity("ETH")
    assert btc.inter_spread_credit > 0.0 and eth.inter_spread_credit > 0.0
    # each credit = delta consumed / |net delta| x price risk x 50 %: both legs fully consumed by the smaller
    usd_delta = {c.name: abs(c.net_delta) * c.usd_per_unit for c in (btc, eth)}
    small = min(usd_delta.values())
    for c in (btc, eth):
        assert c.inter_spread_credit == pytest.approx(small / usd_delta[c.name] * c.price_risk * 0.5, rel=1e-9)
    assert r.correlation_offset_usd > 0.0
    same_way = margin(Portfolio.from_positions([("BTC-25DEC26", 100_000.0, "usd"), ("ETH-25DEC26", 100_000.0, "usd")]),
                      market, "crypto-span")
    assert same_way.inter_spread_credit_usd == 0.0
    assert r.correlation_offset_usd > same_way.correlation_offset_usd


def test_missing_market_data_is_an_error(demo) -> None:
    _, market = demo
    with pytest.raises(MissingMarketDataError, match="BTC-25DEC26-123000-C"):
        margin(Portfolio.from_positions([("BTC-25DEC26-123000-C", 1.0)]), market, "crypto-span")


def test_unsupported_commodity_is_an_error() -> None:
    with pytest.raises(spanlike.errors.InvalidInstrumentError, match="deribit-style"):
        margin(Portfolio.from_positions([("BTC_USDC-25DEC26", 1.0)]), _linear_market(), "deribit-style")


# --- CLI --------------------------------------------------------------------------------------

def test_cli_margin_json(capsys) -> None:
    rc = main(["margin", "--portfolio", str(DEMO_PORTFOLIO), "--market", str(DEMO_MARKET), "--params",
               "deribit-style", "--format", "json"])
    assert rc == 0
    out = json.loads(capsys.readouterr().out)
    assert out["schema_version"] == RESULT_SCHEMA_VERSION
    assert {c["name"] for c in out["combined_commodities"]} == {"BTC", "ETH"}
    btc = out["combined_commodities"][0]
    assert len(btc["scenarios"]) == 35 and btc["worst_scenario"]["label"]


def test_cli_deribit_shaped_files(capsys) -> None:
    positions = str(TESTS / "deribit_positions_btc.json")
    options = str(TESTS / "deribit_book_summary_btc_options.json")
    futures = str(TESTS / "deribit_book_summary_btc_futures.json")
    # the options summary alone lacks the futures the book holds: a named error, exit 2
    assert main(["margin", "--portfolio", positions, "--market", options, "--params", "deribit-style"]) == 2
    assert "No market data for BTC-PERPETUAL, which is held" in capsys.readouterr().err
    assert main(["margin", "--portfolio", positions, "--market", options, futures, "--params", "deribit-style",
                 "--format", "json"]) == 0
    out = json.loads(capsys.readouterr().out)
    names = {c["instrument"] for c in out["combined_commodities"][0]["contributions"]}
    # the zero-size position is dropped with a note; the other four are margined
    assert names == {"BTC-25DEC26-110000-C", "BTC-29JAN27-100000-C", "BTC-25DEC26", "BTC-PERPETUAL"}
    assert out["initial_margin_usd"] > 0.0


def test_cli_bad_input_exit_codes(capsys, tmp_path: Path) -> None:
    assert main(["margin", "--portfolio", str(DEMO_PORTFOLIO), "--market", str(DEMO_MARKET), "--params", "nope"]) == 2
    assert "No bundled parameter set is called 'nope'" in capsys.readouterr().err
    bad = tmp_path / "p.csv"
    bad.write_text("instrument,quantity\nBTC-25DEC26-80000-P,nan\n")
    assert main(["margin", "--portfolio", str(bad), "--market", str(DEMO_MARKET)]) == 2
    assert "BTC-25DEC26-80000-P" in capsys.readouterr().err
    assert main(["params", "validate", str(tmp_path / "missing.toml")]) == 2


def test_cli_params_and_risk_arrays(capsys) -> None:
    assert main(["params", "list"]) == 0
    assert "crypto-span" in capsys.readouterr().out
    assert main(["params", "show", "deribit-style", "--format", "json"]) == 0
    assert json.loads(capsys.readouterr().out)["metadata"]["name"] == "deribit-style"
    assert main(["params", "schema"]) == 0
    assert json.loads(capsys.readouterr().out)["title"] == "spanlike parameter set"
    assert main(["risk-arrays", "--instrument", "BTC-25DEC26-80000-P", "--market", str(DEMO_MARKET),
                 "--format", "json"]) == 0
    rec = json.loads(capsys.readouterr().out)[0]
    assert rec["instrument"] == "BTC-25DEC26-80000-P" and len(rec["risk_array"]) == 16


def test_cross_commodity_switch_removes_credits_and_offsets(demo) -> None:
    _, market = demo
    book = Portfolio.from_positions([("BTC-25DEC26", 100_000.0, "usd"), ("ETH-25DEC26", -100_000.0, "usd")])
    ps = params.load("crypto-span")
    universe, rows, qty, _ = prepare(portfolio=book, market=market, parameter_set=ps)
    cross = margin_positions(universe, rows=rows, quantity=qty)
    alone = margin_positions(universe, rows=rows, quantity=qty, cross_commodity=False)
    assert alone.correlation_offset_usd == 0.0 and alone.inter_spread_credit_usd == 0.0
    assert alone.requirement_usd == pytest.approx(sum(c.requirement_usd for c in alone.commodities))
    assert cross.requirement_usd < alone.requirement_usd


def test_short_option_minimum_binds_for_far_otm_shorts() -> None:
    """Short 10 far-OTM BTC_USDC puts: scan risk is tiny, SOM (PSR/10 x price per option) binds."""
    market = _linear_market([
        {"instrument": "BTC_USDC-25DEC26-40000-P", "mark_price": 0.5, "mark_iv": 0.60, "underlying_price": F},
    ])
    book = Portfolio.from_positions([("BTC_USDC-25DEC26-40000-P", -10.0)])
    cc = margin(book, market, "crypto-span").commodity("BTC_USDC")
    som = 10 * 0.012 * F  # 10 short options x 1.2 % of 95,000 USD = 11,400 USD
    assert cc.short_option_minimum == pytest.approx(som, rel=1e-12)
    assert cc.short_option_minimum_binding
    assert cc.scan_risk < som
    # requirement = max(scan + charges, SOM) - NOV, with NOV = -10 x 0.5 USD
    assert cc.requirement == pytest.approx(som + 5.0, rel=1e-12)


def test_deribit_perpetual_and_future_through_the_api(demo) -> None:
    """Long 10 BTC perpetual, short 4 BTC 25DEC26 in coin, deribit-style: methodology 2.2 and 4 by hand."""
    _, market = demo
    book = Portfolio.from_positions([("BTC-PERPETUAL", 10.0, "coin"), ("BTC-25DEC26", -4.0, "coin")])
    r = margin(book, market, "deribit-style")
    cc = r.commodity("BTC")
    s = np.linspace(-0.16, 0.16, 9)
    pnl = 6.0 * s / (1 + s)  # net long 6 coin, coin P&L per cell
    standard = np.repeat(np.where(pnl < 0, -pnl, 0.0), 3)  # loss positive; gains x pnl_offset 0
    np.testing.assert_allclose(cc.scenario_losses[:27], standard, atol=1e-13)
    assert cc.scan_risk == pytest.approx(6 * 0.16 / 0.84, rel=1e-13)
    t_dec = 31 / 365  # 2026-11-24 08:00 -> 2026-12-25 08:00
    roll = 10 * 0.01 + 4 * max(0.01, 0.075 * t_dec)
    assert cc.roll_shock == pytest.approx(roll, rel=1e-13)
    rmm = 6 * 0.16 / 0.84 + roll
    assert cc.initial_margin == pytest.approx(rmm, rel=1e-13)
    assert cc.maintenance_margin == pytest.approx(0.8 * rmm, rel=1e-13)
    assert r.initial_margin_usd == pytest.approx(rmm * 95_000.0, rel=1e-13)


def test_json_with_inter_commodity_credits(demo, capsys) -> None:
    """Credits used to leak numpy scalars into to_dict (json.dumps then failed)."""
    _, market = demo
    futures = [("BTC-PERPETUAL", 200_000.0, "usd"), ("ETH-PERPETUAL", -150_000.0, "usd")]
    book = Portfolio.from_positions(futures + [("BTC-25DEC26-80000-P", -5.0), ("ETH-25DEC26-4000-C", -60.0)])
    r = margin(book, market, "crypto-span")
    assert r.inter_spread_credit_usd > 0.0
    text = json.dumps(r.to_dict(), allow_nan=False)
    assert '"short_option_minimum_binding": false' in text or '"short_option_minimum_binding": true' in text
    # crypto-span reads credits from the futures and perpetuals alone (methodology 6.3): each commodity's
    # credit is the futures-only book's, within that book's price risk (the correlation offset works on
    # the price risk the credit left, no double count)
    alone = margin(Portfolio.from_positions(futures), market, "crypto-span")
    for c in r.commodities:
        assert c.inter_spread_credit == alone.commodity(c.name).inter_spread_credit
        assert c.inter_spread_credit <= alone.commodity(c.name).price_risk + 1e-12


def test_light_commands_do_not_import_numba() -> None:
    """README promise: the CLI parser and `params` commands start without numba's start-up cost."""
    import subprocess
    import sys

    code = ("import sys; from spanlike.cli import build_parser; build_parser(); "
            "import spanlike.spn; from spanlike import params; params.load('crypto-span'); print('numba' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                         cwd=Path(__file__).resolve().parents[1])
    assert out.stdout.strip() == "False"


def test_usd_sized_quantities_are_shown_as_entered_and_usd_spread_counts_say_so() -> None:
    """A coin future entered as -150,000 usd reports qty -1.5788 (contracts) and 'entered -150000 usd';
    an inter spread counted in USD notional says its count is USD of delta, not spreads."""
    book = Portfolio.from_positions([("BTC-PERPETUAL", -150_000, "usd"), ("ETH-PERPETUAL", 100_000, "usd")])
    res = margin(book, MarketSnapshot.from_file(DEMO_MARKET), "crypto-span")
    btc = res.commodity("BTC")
    perp = next(c for c in btc.contributions if c.instrument == "BTC-PERPETUAL")
    assert perp.entered_as == "-150000 usd" and perp.quantity == pytest.approx(-150_000 / 95_010.0, rel=1e-12)
    assert "(entered -150000 usd)" in res.format_table()
    inter = [s for c in res.commodities for s in c.spreads if s.kind == "inter"]
    assert inter and all(s.count_unit == "usd" for s in inter)
    assert "USD of delta" in res.format_table() and res.to_dict()["combined_commodities"][0]["spreads"][0]["count_unit"] == "usd"
