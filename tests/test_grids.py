"""Scenario grids built from parameter sets (methodology section 2)."""

from __future__ import annotations

import numpy as np
import pytest

from spanlike import params
from spanlike.params.errors import InvalidInputError
from spanlike.risk_arrays.grids import scenario_arrays, vol_term_scale


def test_span_grid_order_extremes_and_pairs() -> None:
    grid = params.SpanGrid(price_scan_range=0.12, vol_scan_range=0.10, extreme_multiple=3.0, cover_fraction=0.32,
                           time_advance_days=1.0)
    s = scenario_arrays(grid)
    # CME table: thirds of PSR, vol +-1 VSR, extremes +-X PSR with weight f.
    expected_moves = 0.12 * np.array([0, 0, 1, 1, -1, -1, 2, 2, -2, -2, 3, 3, -3, -3, 9, -9]) / 3
    np.testing.assert_allclose(s.price_move_option, expected_moves, atol=1e-15)
    np.testing.assert_allclose(s.price_move_future, expected_moves, atol=1e-15)
    np.testing.assert_allclose(s.vol_shift_abs, [0.1, -0.1] * 7 + [0.0, 0.0], atol=1e-15)
    assert np.all(s.vol_shift_rel == 0.0)
    np.testing.assert_array_equal(s.weight, [1.0] * 14 + [0.32, 0.32])
    np.testing.assert_array_equal(s.paired, [1, 0, 3, 2, 5, 4, 7, 6, 9, 8, 11, 10, 13, 12, -1, -1])
    np.testing.assert_array_equal(s.is_extended, [False] * 14 + [True, True])
    assert s.time_advance_years == pytest.approx(1 / 365, abs=1e-18)
    assert s.labels[15] == "price -36% (-3 PSR), vol unchanged, 32% counted"
    assert s.labels[2] == "price +4% (+1/3 PSR), vol up"
    # vol floor only on vol-down scenarios
    np.testing.assert_array_equal(s.vol_floor > 0, [False, True] * 7 + [False, False])
    # composite-delta points: the 7 default points in thirds of PSR
    np.testing.assert_allclose(s.delta_price_move, 0.12 * np.array([-3, -2, -1, 0, 1, 2, 3]) / 3, atol=1e-15)
    np.testing.assert_allclose(s.delta_weight, [0.037, 0.111, 0.217, 0.270, 0.217, 0.111, 0.037])


def test_span_grid_absolute_kinds() -> None:
    grid = params.SpanGrid(price_scan_range=3000.0, price_scan_kind="absolute", vol_scan_range=0.2,
                           vol_scan_kind="relative")
    s = scenario_arrays(grid)
    assert np.all(s.price_move_option == 0.0)
    np.testing.assert_allclose(s.price_shift_abs[[2, 15]], [1000.0, -6000.0])
    np.testing.assert_allclose(s.vol_shift_rel[:2], [0.2, -0.2])
    assert "price +1,000 USD" in s.labels[2]


def test_exchange_grid_cells_and_extended_weights() -> None:
    grid = params.load("deribit-style").commodity("BTC").grid
    s = scenario_arrays(grid)
    assert s.n_scenarios == 27 + 8
    moves = np.repeat(np.linspace(-0.16, 0.16, 9), 3)
    np.testing.assert_allclose(s.price_move_option[:27], moves, atol=1e-15)
    np.testing.assert_allclose(s.vol_shift_rel[:3], [0.5, 0.0, -0.25])
    np.testing.assert_allclose(s.vol_floor[:3], [0.5, 0.0, 0.01])
    ext = [-0.66, -0.33, 0.5, 1.0, 2.0, 3.0, 4.0, 5.0]
    np.testing.assert_allclose(s.price_move_option[27:], ext)
    # futures' extended cells equal the edge cells (methodology 2.2)
    np.testing.assert_allclose(s.price_move_future[27:], np.sign(ext) * 0.16)
    np.testing.assert_allclose(s.weight[27:], 0.16 / np.abs(ext))
    assert np.all(s.vol_shift_rel[27:] == 0.5)
    assert s.labels[0] == "price -16%, vol up"
    assert np.all(s.paired == -1)


@pytest.mark.parametrize("dte", [1.0, 7.0, 30.0, 90.0, 365.0])
def test_term_scaled_vol_shock_matches_formula(dte: float) -> None:
    grid = params.load("deribit-style").commodity("BTC").grid
    scale = vol_term_scale(grid, [dte])[0]
    power = 0.30 if dte < 30 else 0.13
    assert scale == pytest.approx((30.0 / max(dte, 1.0)) ** power, rel=1e-15)
    sigma = 0.6
    up = max(sigma * (1 + 0.5 * scale), 0.5)
    down = sigma * (1 - 0.25 * scale)
    # written out for the documented points
    hand = {1.0: 30 ** 0.3, 7.0: (30 / 7) ** 0.3, 30.0: 1.0, 90.0: (1 / 3) ** 0.13, 365.0: (30 / 365) ** 0.13}
    assert scale == pytest.approx(hand[dte], rel=1e-15)
    assert up >= 0.5 and down > 0


def test_term_scale_floor_and_span_ones() -> None:
    grid = params.load("deribit-style").commodity("BTC").grid
    assert vol_term_scale(grid, [0.0])[0] == pytest.approx(30.0 ** 0.3)  # perpetual: floored at 1 day
    span = params.load("crypto-span").commodity("BTC").grid
    np.testing.assert_array_equal(vol_term_scale(span, [0.0, 10.0, 400.0]), [1.0, 1.0, 1.0])
    with pytest.raises(InvalidInputError, match=r"days_to_expiry\[1\] must be a non-negative"):
        vol_term_scale(grid, [1.0, -2.0])
