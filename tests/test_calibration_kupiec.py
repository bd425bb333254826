"""Kupiec POF against a worked example; Basel traffic-light zones against the Basel 1996 table."""

from __future__ import annotations

import math

import pytest

from spanlike.calibration.kupiec import count_exceptions, kupiec_pof, traffic_light
from spanlike.errors import InvalidInputError


def test_kupiec_worked_example_t250_x8_at_99() -> None:
    # T = 250, x = 8, p = 0.01, p_hat = 8/250 = 0.032.
    # ln L0 = 242 ln(0.99)  + 8 ln(0.01)  = 242 (-0.01005034) + 8 (-4.60517019) = -2.43218128 - 36.84136149 = -39.27354276
    # ln L1 = 242 ln(0.968) + 8 ln(0.032) = 242 (-0.03252319) + 8 (-3.44201938) = -7.87061239 - 27.53615501 = -35.40676740
    # LR = -2 (ln L0 - ln L1) = -2 (-3.86677536) = 7.73355072
    # chi-square(1) tail: P(chi2_1 >= LR) = erfc(sqrt(LR / 2)) = 0.00542
    ln_l0 = 242 * math.log(0.99) + 8 * math.log(0.01)
    ln_l1 = 242 * math.log(0.968) + 8 * math.log(0.032)
    lr = -2 * (ln_l0 - ln_l1)
    assert lr == pytest.approx(7.73355072, abs=1e-8)  # the hand arithmetic above
    got = kupiec_pof(exceptions=8, observations=250, confidence=0.99)
    assert got.statistic == pytest.approx(lr, rel=1e-12)
    assert got.p_value == pytest.approx(math.erfc(math.sqrt(lr / 2)), rel=1e-10)
    assert got.p_value == pytest.approx(0.00542, abs=5e-6)
    assert got.rejects(significance=0.05) and not got.rejects(significance=0.005)
    assert got.observed_rate == 0.032 and got.expected_rate == pytest.approx(0.01, abs=1e-16)


def test_kupiec_zero_exceptions_uses_0_log_0_equal_0() -> None:
    # x = 0: LR = -2 [250 ln(0.99)] + 2 [250 ln(1)] = -500 ln(0.99) = 5.0251679
    got = kupiec_pof(exceptions=0, observations=250, confidence=0.99)
    assert got.statistic == pytest.approx(-500 * math.log(0.99), rel=1e-12)


def test_kupiec_exact_rate_gives_zero_statistic() -> None:
    got = kupiec_pof(exceptions=5, observations=500, confidence=0.99)
    assert got.statistic == pytest.approx(0.0, abs=1e-12) and got.p_value == pytest.approx(1.0, abs=1e-6)


@pytest.mark.parametrize(
    ("x", "zone"),
    [(0, "green"), (4, "green"), (5, "yellow"), (9, "yellow"), (10, "red"), (25, "red")],
)
def test_traffic_light_matches_basel_table(x: int, zone: str) -> None:
    # Basel (1996) Table 2, T = 250 at 99 %: cumulative probabilities 89.22 % (4), 95.88 % (5),
    # 99.97 % (9), 99.99 % (10): green 0-4, yellow 5-9, red 10+.
    tl = traffic_light(exceptions=x, observations=250, confidence=0.99)
    assert tl.zone == zone
    assert (tl.green_max, tl.yellow_max) == (4, 9)


def test_traffic_light_cumulative_probabilities() -> None:
    assert traffic_light(exceptions=4, observations=250, confidence=0.99).cumulative_probability == pytest.approx(0.8922, abs=5e-5)
    assert traffic_light(exceptions=5, observations=250, confidence=0.99).cumulative_probability == pytest.approx(0.9588, abs=5e-5)


def test_bad_counts_are_rejected() -> None:
    with pytest.raises(InvalidInputError, match=r"exceptions must be an integer between 0 and observations \(250\); got 251"):
        kupiec_pof(exceptions=251, observations=250, confidence=0.99)
    with pytest.raises(InvalidInputError, match="observations must be an integer >= 1; got 0"):
        traffic_light(exceptions=0, observations=0, confidence=0.99)
    with pytest.raises(InvalidInputError, match="confidence must lie strictly between 0 and 1"):
        kupiec_pof(exceptions=1, observations=250, confidence=1.0)


def test_count_exceptions_is_strict() -> None:
    assert count_exceptions(losses=[1.0, 2.0, 3.0, 2.0], forecasts=[1.0, 1.5, 3.5, 1.9]) == 2
    with pytest.raises(InvalidInputError, match="same length"):
        count_exceptions(losses=[1.0], forecasts=[1.0, 2.0])
