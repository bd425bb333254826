"""Returns over an MPOR, EWMA and historical volatility, annualisation: hand computations."""

from __future__ import annotations

import math

import numpy as np
import pytest

from spanlike.calibration.returns import horizon_returns, horizon_sums, log_returns, relative_moves
from spanlike.calibration.volatility import (
    annualise,
    ewma_volatility,
    historical_volatility,
    periods_per_year,
)
from spanlike.errors import InvalidInputError


def test_log_returns_by_hand() -> None:
    r = log_returns([100.0, 110.0, 99.0])
    assert r == pytest.approx([math.log(1.1), math.log(0.9)], abs=1e-15)
    two = log_returns([[100.0, 10.0], [110.0, 5.0]])
    assert two.shape == (1, 2) and two[0, 1] == pytest.approx(math.log(0.5), abs=1e-15)
    with pytest.raises(InvalidInputError, match="must be positive; element \\(1,\\) is -1.0"):
        log_returns([1.0, -1.0])
    with pytest.raises(InvalidInputError, match="at least 2 prices"):
        log_returns([1.0])


def test_horizon_sums_overlapping_and_anchored_at_the_end() -> None:
    r = [1.0, 2.0, 3.0, 4.0, 5.0]
    # overlapping 2-bar sums: 1+2, 2+3, 3+4, 4+5
    assert horizon_sums(r, horizon=2).tolist() == [3.0, 5.0, 7.0, 9.0]
    # disjoint windows anchored at the last return: (4+5), (2+3); the first return is left out
    assert horizon_sums(r, horizon=2, overlapping=False).tolist() == [5.0, 9.0]
    assert horizon_sums(r, horizon=1).tolist() == r
    assert horizon_sums(r, horizon=5, overlapping=False).tolist() == [15.0]
    with pytest.raises(InvalidInputError, match="horizon of 6 bars is longer than the 5 returns"):
        horizon_sums(r, horizon=6)
    with pytest.raises(InvalidInputError, match="horizon must be an integer >= 1; got 0"):
        horizon_sums(r, horizon=0)


def test_horizon_returns_of_prices() -> None:
    p = [100.0, 110.0, 99.0, 108.9]
    over = horizon_returns(p, horizon=2)
    assert over == pytest.approx([math.log(99 / 100), math.log(108.9 / 110)], abs=1e-15)
    disjoint = horizon_returns(p, horizon=2, overlapping=False)  # floor((4-1)/2) = 1 window, the last
    assert disjoint == pytest.approx([math.log(108.9 / 110)], abs=1e-15)
    assert relative_moves([math.log(1.25)]) == pytest.approx([0.25], abs=1e-15)


def test_ewma_recursion_by_hand() -> None:
    # lambda 0.9, seed 1e-4, r = 0.01, -0.02, 0.03:
    # s2_0 = 1e-4
    # s2_1 = 0.9 * 1e-4    + 0.1 * 0.01**2 = 0.00009  + 0.00001 = 0.0001
    # s2_2 = 0.9 * 0.0001  + 0.1 * 0.02**2 = 0.00009  + 0.00004 = 0.00013
    # s2_3 = 0.9 * 0.00013 + 0.1 * 0.03**2 = 0.000117 + 0.00009 = 0.000207  (next-bar forecast)
    ew = ewma_volatility([0.01, -0.02, 0.03], decay=0.9, seed_variance=1e-4)
    assert ew.sigma == pytest.approx(np.sqrt([1e-4, 1e-4, 1.3e-4]), rel=1e-14)
    assert ew.next_sigma == pytest.approx(math.sqrt(2.07e-4), rel=1e-14)
    assert ew.decay == 0.9 and ew.seed_variance == 1e-4


def test_ewma_default_seed_is_mean_square_of_the_first_returns() -> None:
    # seed_window 2: s2_0 = (0.01**2 + 0.02**2) / 2 = 0.00025
    ew = ewma_volatility([0.01, -0.02, 0.03], decay=0.94, seed_window=2)
    assert ew.seed_variance == pytest.approx(0.00025, rel=1e-14)
    # s2_1 = 0.94 * 0.00025 + 0.06 * 0.0001 = 0.000235 + 0.000006 = 0.000241
    assert ew.sigma[1] == pytest.approx(math.sqrt(0.000241), rel=1e-14)


def test_ewma_columns_are_independent() -> None:
    r = np.array([[0.01, 0.02], [-0.02, 0.0], [0.03, -0.01]])
    both = ewma_volatility(r, decay=0.9, seed_variance=[1e-4, 4e-4])
    left = ewma_volatility(r[:, 0], decay=0.9, seed_variance=1e-4)
    right = ewma_volatility(r[:, 1], decay=0.9, seed_variance=4e-4)
    np.testing.assert_array_equal(both.sigma[:, 0], left.sigma)
    np.testing.assert_array_equal(both.sigma[:, 1], right.sigma)
    assert both.next_sigma[1] == right.next_sigma


@pytest.mark.parametrize("decay", [0.0, 1.0, 1.5, -0.1])
def test_ewma_rejects_decay_outside_unit_interval(decay: float) -> None:
    with pytest.raises(InvalidInputError, match=f"decay .*strictly between 0 and 1.*got {decay}"):
        ewma_volatility([0.01, 0.02], decay=decay)


def test_ewma_rejects_a_zero_seed() -> None:
    with pytest.raises(InvalidInputError, match="all zero.*seed_variance"):
        ewma_volatility([0.0, 0.0, 0.01], seed_window=2)
    with pytest.raises(InvalidInputError, match="seed_variance must be positive"):
        ewma_volatility([0.01], seed_variance=0.0)


def test_historical_volatility_by_hand() -> None:
    r = [0.01, -0.02, 0.03]
    # mean 0.02/3; deviations 0.01/3, -0.08/3, 0.07/3; squares sum (1 + 64 + 49) e-4 / 9 = 114e-4/9
    assert historical_volatility(r) == pytest.approx(math.sqrt(114e-4 / 9 / 2), rel=1e-14)
    # zero mean: sqrt((1 + 4 + 9) e-4 / 3)
    assert historical_volatility(r, demean=False) == pytest.approx(math.sqrt(14e-4 / 3), rel=1e-14)
    with pytest.raises(InvalidInputError, match="at least 2 returns"):
        historical_volatility([0.01])


def test_annualisation_uses_365_days() -> None:
    assert annualise(0.02) == pytest.approx(0.02 * math.sqrt(365), rel=1e-15)
    assert periods_per_year(bar_seconds=86400) == 365.0
    assert periods_per_year(bar_seconds=3600) == 365.0 * 24
    assert annualise(0.001, periods=periods_per_year(bar_seconds=3600)) == pytest.approx(0.001 * math.sqrt(8760))
    with pytest.raises(InvalidInputError, match="periods must be a positive"):
        annualise(0.02, periods=0)
