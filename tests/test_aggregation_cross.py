"""Hand-worked inter-commodity credits (WFPR), correlation offsets and the exchange-style path."""

from __future__ import annotations

import math

import numpy as np
import pytest

from spanlike import params
from spanlike.risk_arrays.contracts import KIND_FUTURE, make_contract_arrays
from spanlike.risk_arrays.grids import scenario_arrays, vol_term_scale
from spanlike.risk_arrays.revaluation import composite_delta, compute_risk_arrays
from spanlike.aggregation.commodity_book import CommodityBook
from spanlike.aggregation.correlation import correlated_total
from spanlike.aggregation.exchange import exchange_margin, offset_gains
from spanlike.aggregation.inter_spreads import InterSpreadInput, inter_spread_credits


def _spread(basis: str = "underlying", rate: float = 0.5) -> params.InterSpread:
    return params.InterSpread(
        name="A vs B", priority=1, credit_rate=rate, delta_basis=basis,  # type: ignore[arg-type]
        legs=(params.InterSpreadLeg(combined_commodity="A", side="A"),
              params.InterSpreadLeg(combined_commodity="B", side="B")),
    )


def test_inter_spread_credit_with_wfpr() -> None:
    a = InterSpreadInput(name="A", available_delta=10.0, net_delta=10.0, price_risk=120.0, index_price=100.0)
    b = InterSpreadInput(name="B", available_delta=-8.0, net_delta=-8.0, price_risk=80.0, index_price=50.0)
    out = inter_spread_credits(inputs=[a, b], spreads=[_spread()])
    # WFPR_A = 120 / 10 = 12, WFPR_B = 80 / 8 = 10; count = min(10, 8) = 8
    # credit A = 8 x 12 x 0.5 = 48, credit B = 8 x 10 x 0.5 = 40
    assert out["A"][0] == pytest.approx(48.0)
    assert out["B"][0] == pytest.approx(40.0)
    assert out["A"][1][0].count == pytest.approx(8.0)


def test_inter_spread_credit_notional_basis() -> None:
    a = InterSpreadInput(name="A", available_delta=10.0, net_delta=10.0, price_risk=120.0, index_price=100.0)
    b = InterSpreadInput(name="B", available_delta=-8.0, net_delta=-8.0, price_risk=80.0, index_price=50.0)
    out = inter_spread_credits(inputs=[a, b], spreads=[_spread("notional_usd")])
    # USD deltas: A 10 x 100 = 1000, B -8 x 50 = -400: 400 USD spread.
    # A gives 400 / 100 = 4 units: 4 x 12 x 0.5 = 24; B gives 8 units: 8 x 10 x 0.5 = 40
    assert out["A"][0] == pytest.approx(24.0)
    assert out["B"][0] == pytest.approx(40.0)


def test_no_inter_credit_for_same_direction() -> None:
    a = InterSpreadInput(name="A", available_delta=10.0, net_delta=10.0, price_risk=120.0, index_price=100.0)
    b = InterSpreadInput(name="B", available_delta=8.0, net_delta=8.0, price_risk=80.0, index_price=50.0)
    out = inter_spread_credits(inputs=[a, b], spreads=[_spread()])
    assert out["A"][0] == 0.0 and out["B"][0] == 0.0


def _corr(rho: float) -> params.CorrelationMatrix:
    return params.CorrelationMatrix(combined_commodities=("BTC", "ETH"), matrix=((1.0, rho), (rho, 1.0)))


def test_correlation_offset_long_short_vs_long_long() -> None:
    k = [100.0, 80.0]
    # long BTC / short ETH: S = (+90, -70)
    total, offset = correlated_total(names=["BTC", "ETH"], requirement_usd=k, directional_usd=[90.0, -70.0],
                                     correlation=_corr(0.8))
    # sqrt(100^2 + 80^2 + 2 x 0.8 x 90 x (-70)) = sqrt(10000 + 6400 - 10080) = sqrt(6320)
    assert total == pytest.approx(math.sqrt(6320.0), rel=1e-14)
    assert offset == pytest.approx(180.0 - math.sqrt(6320.0), rel=1e-14)
    # long / long: sqrt(16400 + 10080) = sqrt(26480): a smaller offset
    total2, offset2 = correlated_total(names=["BTC", "ETH"], requirement_usd=k, directional_usd=[90.0, 70.0],
                                       correlation=_corr(0.8))
    assert total2 == pytest.approx(math.sqrt(26480.0), rel=1e-14)
    assert offset > offset2 > 0.0
    # rho = 1 and the same direction with S = K: exactly the sum, no offset
    total3, offset3 = correlated_total(names=["BTC", "ETH"], requirement_usd=k, directional_usd=[100.0, 80.0],
                                       correlation=_corr(1.0))
    assert total3 == pytest.approx(180.0, rel=1e-14) and offset3 == pytest.approx(0.0, abs=1e-12)


def test_correlation_clamps_directional_and_skips_unknown() -> None:
    # S is clamped to [-K, K]: S_BTC = 500 -> 100
    t, _ = correlated_total(names=["BTC", "ETH"], requirement_usd=[100.0, 80.0], directional_usd=[500.0, -80.0],
                            correlation=_corr(0.5))
    assert t == pytest.approx(math.sqrt(100 ** 2 + 80 ** 2 + 2 * 0.5 * 100 * -80))
    # a commodity outside the matrix is added linearly; without a matrix the sum
    t2, off2 = correlated_total(names=["BTC", "SOL"], requirement_usd=[100.0, 30.0], directional_usd=[90.0, 20.0],
                                correlation=_corr(0.5))
    assert (t2, off2) == (130.0, 0.0)
    assert correlated_total(names=["BTC", "ETH"], requirement_usd=[1.0, 2.0], directional_usd=[1.0, -2.0],
                            correlation=None) == (3.0, 0.0)


def test_offset_gains() -> None:
    losses = np.array([2.0, -3.0, -10.0, 0.0])
    np.testing.assert_array_equal(offset_gains(losses, pnl_offset=0.0, max_offsetable_pnl=None), [2.0, 0.0, 0.0, 0.0])
    np.testing.assert_allclose(offset_gains(losses, pnl_offset=0.6, max_offsetable_pnl=None), [2.0, -1.8, -6.0, 0.0])
    np.testing.assert_allclose(offset_gains(losses, pnl_offset=0.6, max_offsetable_pnl=5.0), [2.0, -1.8, -5.0, 0.0])


def _deribit_btc_book(quantity: list[float], days: list[float]) -> CommodityBook:
    cc = params.load("deribit-style").commodity("BTC")
    scen = scenario_arrays(cc.grid)
    n = len(quantity)
    contracts = make_contract_arrays(forward=[60_000.0] * n, strike=[0.0] * n, t_years=np.array(days) / 365.0,
                                     vol=[0.0] * n, kind=[KIND_FUTURE] * n, inverse=True)
    risk = compute_risk_arrays(contracts=contracts, scenarios=scen, vol_scale=vol_term_scale(cc.grid, days))
    return CommodityBook(
        commodity=cc, scenarios=scen, names=tuple(f"f{i}" for i in range(n)),
        quantity=np.array(quantity), risk_arrays=risk,
        composite_delta=composite_delta(contracts=contracts, scenarios=scen),
        tier=np.zeros(n, dtype=np.int64), in_delivery=np.zeros(n, dtype=bool), is_option=np.zeros(n, dtype=bool),
        is_call=np.zeros(n, dtype=bool), multiplier=np.ones(n), mark_value=np.zeros(n),
        t_years=np.array(days) / 365.0, days_to_expiry=np.array(days, dtype=float), index_price=60_000.0,
        unit_value=1.0, usd_per_unit=60_000.0,
    )


def test_deribit_style_perpetual_and_short_future() -> None:
    """Long 10 BTC perpetual, short 4 BTC 90-day future, coin units (methodology 1, 2.2, 4)."""
    b = _deribit_btc_book([10.0, -4.0], [0.0, 90.0])
    s = np.linspace(-0.16, 0.16, 9)
    # every standard cell: coin P&L of a long of `pos` coin is pos x s / (1 + s); loss is its negative
    for row, pos in ((0, 1.0), (1, 1.0)):
        np.testing.assert_allclose(b.risk_arrays[row, :27], np.repeat(-pos * s / (1 + s), 3), rtol=0, atol=1e-15)
    # extended cells of futures equal the edge cells (+-16 %), times the weight 0.16 / |move|
    ext = np.array([-0.66, -0.33, 0.5, 1.0, 2.0, 3.0, 4.0, 5.0])
    edge = np.sign(ext) * 0.16
    np.testing.assert_allclose(b.risk_arrays[0, 27:], -edge / (1 + edge) * 0.16 / np.abs(ext), atol=1e-15)
    res = exchange_margin(b, b.commodity.grid, b.commodity.exchange)  # type: ignore[arg-type]
    # net 6 coin long: worst at -16 %: -6 x (-0.16 / 0.84) = 1.142857... coin; gains removed (offset 0)
    assert res.worst_case == pytest.approx(6 * 0.16 / 0.84, rel=1e-14)
    assert b.scenarios.labels[res.worst].startswith("price -16%")
    assert np.all(res.losses >= 0.0)
    # roll shock: perpetual |10| x max(0.01, 0.075 x 0) = 0.1; future |-4| x max(0.01, 0.075 x 90/365)
    roll = 10 * 0.01 + 4 * max(0.01, 0.075 * 90 / 365)
    assert res.roll_shock == pytest.approx(roll, rel=1e-14)
    assert res.delta_shock == 0.0  # 6 x 60,000 USD is far below the 20,000,000 USD threshold
    rmm = 6 * 0.16 / 0.84 + roll
    assert res.risk_matrix_margin == pytest.approx(rmm, rel=1e-14)
    relation = params.load("deribit-style").margin_relation
    assert relation.mm_factor * res.risk_matrix_margin == pytest.approx(0.8 * rmm)  # MM = 0.8 x RMM, IM = RMM


def test_deribit_exact_hedge_margins_to_roll_only() -> None:
    # long and short of the same future: every cell zero, roll shock on |0| delta = 0
    b = _deribit_btc_book([3.0, -3.0], [30.0, 30.0])
    res = exchange_margin(b, b.commodity.grid, b.commodity.exchange)  # type: ignore[arg-type]
    assert res.worst_case == 0.0 and res.roll_shock == 0.0


def test_extended_cells_count_losses_above_the_dampener_only() -> None:
    """Methodology 2.2 [inferred from Deribit's ETH example]: extended gains count 0; losses only above the dampener."""
    from spanlike.methodology.exchange_charges import dampened_loss

    f = dampened_loss.py_func
    assert f(-0.2194, True, 1949.34, 200_000.0) == 0.0  # a gain in an extended cell
    assert f(0.1525, True, 1949.34, 200_000.0) == 0.0  # 297 USD <= 200,000 USD
    assert f(200.0, True, 1949.34, 200_000.0) == 200.0  # 389,868 USD > 200,000 USD
    assert f(-0.2194, False, 1949.34, 200_000.0) == -0.2194  # standard cells are left to the gains offset
    assert f(-1.0, True, 1.0, 0.0) == 0.0 and f(1.0, True, 1.0, 0.0) == 1.0  # no dampener: losses count


def test_worst_cell_is_the_middle_vol_scenario_on_ties() -> None:
    from spanlike.methodology.exchange_charges import middle_vol_on_tie

    f = middle_vol_on_tie.py_func
    losses = np.array([5.0, 5.0, 5.0, 1.0, 2.0, 3.0])
    assert f(losses, 0) == 1  # up, unchanged, down tie: Deribit reports index 1
    assert f(np.array([1.0, 2.0, 3.0, 7.0, 6.0, 7.0]), 3) == 3  # the middle does not tie: keep the first largest


def test_futures_extended_cells_unscaled_in_deribit_style() -> None:
    """deribit-style: a future's extended cells hold the edge cell whole; @2024-06-17 weights them."""
    from spanlike.aggregation.exchange import exchange_risk_arrays

    for name, weighted in (("deribit-style", False), ("deribit-style@2024-06-17", True)):
        cc = params.load(name).commodity("BTC")
        scen = scenario_arrays(cc.grid)
        contracts = make_contract_arrays(forward=[60_000.0], strike=[0.0], t_years=[0.0], vol=[0.0],
                                         kind=[KIND_FUTURE], inverse=True)
        raw = compute_risk_arrays(contracts=contracts, scenarios=scen)
        out = exchange_risk_arrays(raw, is_option=np.array([False]), multiplier=np.array([1.0]), coin_settled=True,
                                   grid=cc.grid, scenarios=scen)
        edge_down, edge_up = out[0, 0], out[0, 24]
        assert edge_down == -(-0.16 / (1 + -0.16)) and edge_up == -(0.16 / 1.16)
        want = np.where(np.array(cc.grid.extended_moves) < 0, edge_down, edge_up)
        if weighted:
            want = want * (0.16 / np.abs(cc.grid.extended_moves))  # the grid's weight price_range / |move|
        np.testing.assert_array_equal(out[0, 27:], want)
        # the same loss, only the floating-point order differs from the pricing kernel (a few ulps)
        np.testing.assert_allclose(out[0, :27], raw[0, :27], rtol=0, atol=1e-15)
