"""HS VaR/ES against hand computations and a slow exact twin, FHS against its definition,
scan ranges of a long normal series against the closed form within stated sampling error.

VaR and ES live in :mod:`spanlike.methodology.tail_measures` (the margin path uses them at run time);
they are tested from there, and the calibration must re-export the very same functions."""

from __future__ import annotations

import math
from fractions import Fraction

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.stats import norm

from spanlike.calibration import risk_measures
from spanlike.calibration.risk_measures import (
    expected_shortfall,
    filtered_returns,
    level_change_scan_range,
    price_scan_range,
    value_at_risk,
)
from spanlike.errors import InvalidInputError
from spanlike.methodology import tail_measures
from spanlike.methodology.tail_measures import minimum_observations, tail_risk

LOSSES = [5.0, 1.0, 4.0, 2.0, 3.0, 9.0, 7.0, 6.0, 8.0, 10.0]  # sorted: 1..10


@pytest.mark.parametrize(
    ("confidence", "var", "es"),
    [
        # m = n (1 - a) = 10 * 0.2 = 2: VaR = 3rd largest = 8; ES = (10 + 9) / 2 = 9.5
        (0.8, 8.0, 9.5),
        # m = 2.5: VaR = 3rd largest = 8; ES = (10 + 9 + 0.5 * 8) / 2.5 = 23 / 2.5 = 9.2
        (0.75, 8.0, 9.2),
        # m = 1: VaR = 2nd largest = 9; ES = 10
        (0.9, 9.0, 10.0),
        # m = 5: VaR = 6th largest = 5; ES = (10 + 9 + 8 + 7 + 6) / 5 = 8
        (0.5, 5.0, 8.0),
        # m = 3.5: VaR = 4th largest = 7; ES = (10 + 9 + 8 + 0.5 * 7) / 3.5 = 30.5 / 3.5
        (0.65, 7.0, 30.5 / 3.5),
    ],
)
def test_var_es_by_hand(confidence: float, var: float, es: float) -> None:
    t = tail_risk(LOSSES, confidence=confidence)
    assert t.var == var
    assert t.es == pytest.approx(es, rel=1e-15)
    assert t.observations == 10


def test_tail_size_is_rounded_before_the_floor() -> None:
    # 300 * (1 - 0.99) is 2.9999999999999996 in binary floating point; it must count as 3 tail points,
    # so VaR is the 4th largest loss (297 for losses 1..300) and ES the mean of 300, 299, 298.
    t = tail_risk(np.arange(1.0, 301.0), confidence=0.99)
    assert t.tail_size == 3.0 and t.var == 297.0 and t.es == pytest.approx(299.0, rel=1e-15)


def test_var_agrees_with_numpy_inverted_cdf() -> None:
    x = np.random.default_rng(5).standard_t(4, size=1234)
    for a in (0.9, 0.95, 0.975, 0.99, 0.995):
        assert tail_risk(x, confidence=a).var == np.quantile(x, a, method="inverted_cdf")


def _slow_var_es(losses: list[float], confidence: str) -> tuple[float, float]:
    """Exact twin: inverted empirical CDF and the integral of the quantile function, in fractions."""
    a = Fraction(confidence)
    x = sorted(Fraction(v) for v in losses)
    n = len(x)
    var = next(v for k, v in enumerate(x, start=1) if Fraction(k, n) >= a)
    # integral over u in (a, 1] of Q(u) = x[ceil(n u) - 1], piece by piece
    total = Fraction(0)
    for k in range(1, n + 1):  # Q = x[k-1] on ((k-1)/n, k/n]
        lo, hi = max(Fraction(k - 1, n), a), Fraction(k, n)
        if hi > lo:
            total += (hi - lo) * x[k - 1]
    return float(var), float(total / (1 - a))


@settings(max_examples=200, deadline=None)
@given(
    losses=st.lists(st.integers(min_value=-1000, max_value=1000), min_size=40, max_size=120),
    confidence=st.sampled_from(["0.9", "0.95", "0.975", "0.8", "0.99"]),
)
def test_var_es_equal_the_exact_slow_twin(losses: list[int], confidence: str) -> None:
    vals = [v / 8 for v in losses]  # exact binary fractions
    a = float(confidence)
    if len(vals) * (1 - Fraction(confidence)) < 1:
        with pytest.raises(InvalidInputError, match="no observation"):
            tail_risk(vals, confidence=a)
        return
    var, es = _slow_var_es(vals, confidence)
    t = tail_risk(vals, confidence=a)
    assert t.var == var
    assert t.es == pytest.approx(es, rel=1e-12, abs=1e-12)
    assert t.es >= t.var


def test_too_few_observations_and_bad_confidence() -> None:
    assert minimum_observations(confidence=0.99) == 100
    assert minimum_observations(confidence=0.975) == 40
    with pytest.raises(InvalidInputError, match="99 losses leave no observation.*need at least 100"):
        tail_risk(np.ones(99), confidence=0.99)
    for bad in (0.0, 1.0, 99.0, -0.5):
        with pytest.raises(InvalidInputError, match=f"confidence must lie strictly between 0 and 1.*got {bad}"):
            tail_risk(LOSSES, confidence=bad)
    with pytest.raises(InvalidInputError, match="Write percentages as decimals"):
        tail_risk(LOSSES, confidence=99.0)


def test_calibration_uses_the_methodology_tail_measures() -> None:
    # One implementation: a calibrated scan range and a VaR/ES margin must use the same quantile.
    for name in ("TailRisk", "tail_risk", "minimum_observations"):
        assert getattr(risk_measures, name) is getattr(tail_measures, name)
    t = tail_risk(LOSSES, confidence=0.75)
    assert value_at_risk(LOSSES, confidence=0.75) == t.var == 8.0
    assert expected_shortfall(LOSSES, confidence=0.75) == t.es


def test_losses_must_be_a_finite_vector() -> None:
    with pytest.raises(InvalidInputError, match=r"losses must be finite; element \(3,\) is nan"):
        tail_risk([1.0, 2.0, 3.0, float("nan")] + [0.0] * 100, confidence=0.99)
    with pytest.raises(InvalidInputError, match=r"losses must have 1 dimension\(s\); got shape \(10, 10\)"):
        tail_risk(np.ones((10, 10)), confidence=0.9)
    with pytest.raises(InvalidInputError, match="losses must be an array of numbers"):
        tail_risk(["a", "b"], confidence=0.5)


def test_filtered_returns_follow_the_definition() -> None:
    # r = 0.01, -0.02, 0.03, lambda 0.9, seed 1e-4 (hand values from test_calibration_returns):
    # sigma_t^2 = 1e-4, 1e-4, 1.3e-4; sigma_now^2 = 2.07e-4; filtered r_t = r_t * sigma_now / sigma_t
    r = np.array([0.01, -0.02, 0.03])
    got = filtered_returns(r, decay=0.9, seed_variance=1e-4)
    now = math.sqrt(2.07e-4)
    expected = [0.01 * now / 0.01, -0.02 * now / 0.01, 0.03 * now / math.sqrt(1.3e-4)]
    assert got == pytest.approx(expected, rel=1e-14)


def test_filtered_hs_rescales_a_calm_history_to_a_stressed_today() -> None:
    # 500 calm days at 1 % then 60 days at 4 %: FHS scales the calm days up to today's vol,
    # so the filtered scan range is far above the plain HS one (which mixes both regimes).
    rng = np.random.default_rng(11)
    r = np.concatenate([0.01 * rng.standard_normal(500), 0.04 * rng.standard_normal(60)])
    hs = price_scan_range(r, method="var", confidence=0.99, horizon=1)
    fhs = price_scan_range(r, method="var", confidence=0.99, horizon=1, filtered=True)
    assert fhs.filtered and fhs.decay == 0.94 and hs.decay is None
    assert fhs.range > 1.5 * hs.range


def test_scan_range_takes_the_worse_tail() -> None:
    # one-day moves: 97 x 0, -30 %, -20 %, +10 %. At 99 % (m = 1):
    # down (long) losses 0.30, 0.20, 0, ...: VaR = 2nd largest = 0.20, ES = 0.30
    # up (short) losses 0.10, 0, ...:        VaR = 0,                 ES = 0.10
    moves = np.array([0.0] * 97 + [-0.30, -0.20, 0.10])
    r = np.log1p(moves)
    v = price_scan_range(r, method="var", confidence=0.99, horizon=1)
    e = price_scan_range(r, method="es", confidence=0.99, horizon=1)
    assert v.range == pytest.approx(0.20, abs=1e-15) and v.binding == "down"
    assert v.up.var == pytest.approx(0.0, abs=1e-15)
    assert e.range == pytest.approx(0.30, abs=1e-15) and e.binding == "down"
    assert e.up.es == pytest.approx(0.10, abs=1e-15)
    with pytest.raises(InvalidInputError, match="method must be 'var' or 'es'; got 'cvar'"):
        price_scan_range(r, method="cvar", confidence=0.99, horizon=1)  # type: ignore[arg-type]


# -------------------------------------------------------------- closed form for i.i.d. normal log returns
SIGMA = 0.03  # per day
N_DAYS = 400_000
ALPHA = 0.99
Z = float(norm.ppf(ALPHA))


def _closed_form(h: int) -> dict[str, float]:
    """Up-tail (short) risk of the relative move exp(R) - 1, R ~ N(0, s^2), s = sigma sqrt(h).

    VaR = exp(z s) - 1.
    ES  = E[exp(R) | R > z s] - 1 = exp(s^2/2) Phi(s - z) / (1 - a) - 1.
    Second moment E[exp(2R) | R > z s] = exp(2 s^2) Phi(2 s - z) / (1 - a).
    Sampling standard errors for n independent draws (asymptotic):
      VaR: sqrt(a (1 - a) / n) / f(VaR), with density of exp(R) - 1 at VaR = phi(z) / (s exp(z s));
      ES:  sqrt((Var(L | tail) + a (ES - VaR)^2) / (n (1 - a)))  (Yamai & Yoshiba 2002; Chen 2008).
    """
    s = SIGMA * math.sqrt(h)
    var = math.expm1(Z * s)
    e1 = math.exp(s * s / 2) * norm.cdf(s - Z) / (1 - ALPHA)
    e2 = math.exp(2 * s * s) * norm.cdf(2 * s - Z) / (1 - ALPHA)
    es = e1 - 1
    tail_var = e2 - e1 * e1
    return {
        "var": var,
        "es": es,
        "se_var_unit": math.sqrt(ALPHA * (1 - ALPHA)) * s * math.exp(Z * s) / norm.pdf(Z),
        "se_es_unit": math.sqrt((tail_var + ALPHA * (es - var) ** 2) / (1 - ALPHA)),
    }


@pytest.mark.parametrize("h", [1, 2, 5])
@pytest.mark.parametrize("overlapping", [False, True])
@pytest.mark.parametrize("method", ["var", "es"])
def test_scan_range_of_normal_returns_matches_closed_form(h: int, overlapping: bool, method: str) -> None:
    # Tolerance: 4 standard errors of the estimator (two-sided miss probability 6e-5 if the estimator
    # is right). Non-overlapping windows are independent: n = floor(N/h). Overlapping windows are
    # correlated; their tail indicators have at most 2h-1 non-zero autocorrelations, each <= 1, so the
    # variance is at most (2h-1) times the independent one: we use n_eff = (N-h+1)/(2h-1) (conservative).
    # For exp(R) - 1 the up tail is the larger one, so it must bind.
    r = SIGMA * np.random.default_rng(20240601).standard_normal(N_DAYS)
    cf = _closed_form(h)
    n_eff = (N_DAYS - h + 1) / (2 * h - 1) if overlapping else N_DAYS // h
    se = cf[f"se_{method}_unit"] / math.sqrt(n_eff)
    got = price_scan_range(r, method=method, confidence=ALPHA, horizon=h, overlapping=overlapping)  # type: ignore[arg-type]
    assert got.binding == "up"
    assert abs(got.range - cf[method]) < 4 * se, (got.range, cf[method], se)
    # the tolerance is tight enough to matter: below 5 % of the value (2.2 % at h = 1)
    assert 4 * se < 0.05 * cf[method]


def test_level_change_scan_range_absolute_and_relative() -> None:
    # vols 0.50 .. with one-day changes +0.05, -0.02, +0.10, -0.08 (absolute, decimals)
    levels = np.cumsum([0.50, 0.05, -0.02, 0.10, -0.08])
    # 4 changes, confidence 0.75 -> m = 1: VaR = 2nd largest
    absolute = level_change_scan_range(levels, method="var", confidence=0.75, horizon=1, kind="absolute")
    assert absolute.up.var == pytest.approx(0.05, abs=1e-15)  # rises 0.10, 0.05, ...
    assert absolute.down.var == pytest.approx(0.02, abs=1e-15)  # falls 0.08, 0.02, ...
    assert absolute.range == pytest.approx(0.05, abs=1e-15) and absolute.binding == "up"
    rel = level_change_scan_range(levels, method="es", confidence=0.75, horizon=1, kind="relative")
    # relative changes: 0.55/0.50-1 = 0.10, 0.53/0.55-1, 0.63/0.53-1 = 0.18868, 0.55/0.63-1 = -0.12698
    assert rel.up.es == pytest.approx(0.63 / 0.53 - 1, rel=1e-12)
    assert rel.down.es == pytest.approx(1 - 0.55 / 0.63, rel=1e-12)
    with pytest.raises(InvalidInputError, match="kind must be 'absolute' or 'relative'"):
        level_change_scan_range(levels, method="var", confidence=0.75, horizon=1, kind="log")  # type: ignore[arg-type]
