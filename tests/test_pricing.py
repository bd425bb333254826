"""Black-76 / BSM prices and Greeks, the normal CDF and the coin-settled helpers.

References and tolerances
-------------------------
* py_vollib (``py_vollib.black``, ``py_vollib.black.greeks.analytical``,
  ``py_vollib.black_scholes_merton`` and its analytical Greeks; Jaeckel's
  "Let's Be Rational" underneath): prices within 1e-12 absolute and Greeks
  within 1e-10 absolute at forward (spot) 1, after rescaling py_vollib's units
  (theta per day -> per year x365, vega and rho per 1 % -> per 1.0 x100).
* ``scipy.special.ndtr``: normal CDF within 3e-16 absolute on [-40, 40].
* ``math.exp`` / ``math.log``: within 2 ulp-ish (4.5e-16 relative).
* Central finite differences (step 1e-4 of each variable's scale) for every Greek: 1e-6 relative.
* Put-call parity ``C - P = exp(-rT) (F - K)``: 1e-13 absolute at forward 1.
"""

from __future__ import annotations

import math

import numpy as np
import py_vollib.black
import py_vollib.black.greeks.analytical as vollib_black_greeks
import py_vollib.black_scholes_merton
import py_vollib.black_scholes_merton.greeks.analytical as vollib_bsm_greeks
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.special import ndtr

from spanlike.params.errors import InvalidInputError
from spanlike.risk_arrays._normal import fast_exp, fast_log, norm_cdf, norm_pdf
from spanlike.risk_arrays._numba import njit_kernel
from spanlike.risk_arrays.pricing import (
    Greeks,
    black76_greeks,
    black76_price,
    bsm_greeks,
    bsm_price,
    inverse_future_coin_pnl,
    inverse_option_value,
    linear_future_pnl,
    theta_per_day,
    vega_per_vol_point,
)
from spanlike.risk_arrays.registry import make_bsm_inputs, make_option_inputs

PRICE_ATOL = 1e-12
GREEK_ATOL = 1e-10
N_RANDOM = 3000


@njit_kernel
def _map_scalar_functions(x: np.ndarray, out: np.ndarray) -> None:
    # Same loop shape as the kernels, so the inlined/vectorised code is what is tested.
    for i in range(x.shape[0]):
        out[0, i] = norm_cdf(x[i])
        out[1, i] = fast_exp(x[i])
        out[2, i] = fast_log(abs(x[i]))
        out[3, i] = norm_pdf(x[i])


def _map(x: np.ndarray) -> np.ndarray:
    out = np.empty((4, x.shape[0]))
    _map_scalar_functions(np.ascontiguousarray(x, dtype=np.float64), out)
    return out


# ---------------------------------------------------------------------------
# Special functions


def test_norm_cdf_matches_scipy_ndtr_on_minus_40_to_40() -> None:
    x = np.concatenate([np.linspace(-40.0, 40.0, 400_001), [-7.0710678118654755, 7.0710678118654755, -37.0, 37.0]])
    assert np.max(np.abs(_map(x)[0] - ndtr(x))) <= 3e-16


def test_norm_cdf_limits_and_symmetry() -> None:
    values = _map(np.array([-np.inf, np.inf, 0.0, -50.0, 50.0]))[0]
    assert values.tolist() == [0.0, 1.0, 0.5, 0.0, 1.0]
    x = np.linspace(0.0, 8.0, 10_001)
    # N(x) + N(-x) = 1 up to the rounding of 1 - tail (one ulp of 1).
    assert np.max(np.abs(_map(x)[0] + _map(-x)[0] - 1.0)) <= 2.3e-16
    assert np.isnan(_map(np.array([np.nan]))[0, 0])


def test_norm_pdf_matches_definition() -> None:
    x = np.linspace(-30, 30, 20_001)
    expected = np.exp(-0.5 * x * x) / math.sqrt(2.0 * math.pi)
    # two roundings (exp, product) of about one ulp each: 4.5e-16 relative
    assert np.max(np.abs(_map(x)[3] / expected - 1.0)) <= 4.5e-16


def test_fast_exp_and_log_match_libm() -> None:
    rng = np.random.default_rng(7)
    x = np.concatenate([rng.uniform(-700.0, 700.0, 200_000), np.linspace(-2.0, 2.0, 40_001)])
    exp_log = _map(x)
    assert np.max(np.abs(exp_log[1] / np.exp(x) - 1.0)) <= 4.5e-16
    positive = np.abs(x) > 0
    expected_log = np.log(np.abs(x[positive]))
    error = np.abs(exp_log[2][positive] - expected_log)
    assert np.max(error / np.maximum(np.abs(expected_log), 1.0)) <= 4.5e-16


def test_fast_exp_special_values() -> None:
    values = _map(np.array([np.inf, -np.inf, 710.0, -746.0, -740.0]))[1]
    assert values[0] == np.inf and values[1] == 0.0 and values[2] == np.inf and values[3] == 0.0
    assert values[4] == pytest.approx(math.exp(-740.0), rel=1e-10)  # subnormal range


# ---------------------------------------------------------------------------
# Against py_vollib on random inputs (forward 1; strikes e^-1.5 .. e^1.5; 1 day .. 3 years)


def _flags(is_call: np.ndarray) -> list[str]:
    return ["c" if c else "p" for c in is_call]


@pytest.fixture(scope="module")
def option_inputs() -> dict[str, np.ndarray]:
    return make_option_inputs(np.random.default_rng(20240617), N_RANDOM)


@pytest.fixture(scope="module")
def bsm_inputs() -> dict[str, np.ndarray]:
    return make_bsm_inputs(np.random.default_rng(20240618), N_RANDOM)


def test_black76_price_matches_py_vollib(option_inputs: dict[str, np.ndarray]) -> None:
    o = option_inputs
    expected = [
        py_vollib.black.black(flag, f, k, t, r, v)
        for flag, f, k, t, r, v in zip(_flags(o["is_call"]), o["forward"], o["strike"], o["t_years"], o["rate"], o["vol"])
    ]
    assert np.max(np.abs(black76_price(**o) - np.array(expected))) <= PRICE_ATOL


def test_black76_greeks_match_py_vollib_analytical(option_inputs: dict[str, np.ndarray]) -> None:
    o = option_inputs
    greeks = black76_greeks(**o)
    rows = list(zip(_flags(o["is_call"]), o["forward"], o["strike"], o["t_years"], o["rate"], o["vol"]))
    # py_vollib: theta per day, vega and rho per 1 % -> per year and per 1.0.
    for name, to_our_units in (("delta", 1.0), ("gamma", 1.0), ("vega", 100.0), ("theta", 365.0), ("rho", 100.0)):
        function = getattr(vollib_black_greeks, name)
        expected = np.array([function(*row) for row in rows]) * to_our_units
        assert np.max(np.abs(getattr(greeks, name) - expected)) <= GREEK_ATOL, name
    assert np.max(np.abs(greeks.price - black76_price(**o))) == 0.0


def test_bsm_price_and_greeks_match_py_vollib(bsm_inputs: dict[str, np.ndarray]) -> None:
    o = bsm_inputs
    dividend_yield = o["rate"] - o["carry"]
    rows = list(zip(_flags(o["is_call"]), o["spot"], o["strike"], o["t_years"], o["rate"], o["vol"], dividend_yield))
    expected_price = np.array([py_vollib.black_scholes_merton.black_scholes_merton(*row) for row in rows])
    assert np.max(np.abs(bsm_price(**o) - expected_price)) <= PRICE_ATOL
    greeks = bsm_greeks(**o)
    assert np.max(np.abs(greeks.price - expected_price)) <= PRICE_ATOL
    for name, to_our_units in (("delta", 1.0), ("gamma", 1.0), ("vega", 100.0), ("theta", 365.0), ("rho", 100.0)):
        function = getattr(vollib_bsm_greeks, name)
        expected = np.array([function(*row) for row in rows]) * to_our_units
        assert np.max(np.abs(getattr(greeks, name) - expected)) <= GREEK_ATOL, name


@pytest.mark.parametrize("t_years", [1.0 / 365.0, 3.0])
@pytest.mark.parametrize("strike", [0.2, 0.7, 1.0, 1.4, 5.0])  # deep ITM/OTM either side
@pytest.mark.parametrize("is_call", [True, False])
def test_black76_extremes_match_py_vollib(t_years: float, strike: float, is_call: bool) -> None:
    # Forward 100 (unnormalised): the tolerance scales with the forward.
    forward, vol, rate = 100.0, 0.8, 0.05
    expected = py_vollib.black.black("c" if is_call else "p", forward, 100.0 * strike, t_years, rate, vol)
    got = black76_price(forward=forward, strike=100.0 * strike, t_years=t_years, vol=vol, rate=rate, is_call=is_call)
    assert abs(float(got) - expected) <= PRICE_ATOL * forward


def test_bsm_with_zero_carry_is_black76(option_inputs: dict[str, np.ndarray]) -> None:
    o = option_inputs
    as_bsm = {"spot": o["forward"], **{k: v for k, v in o.items() if k != "forward"}, "carry": 0.0}
    assert np.array_equal(bsm_price(**as_bsm), black76_price(**o))


# ---------------------------------------------------------------------------
# Properties


option_case = st.fixed_dictionaries(
    {
        "forward": st.floats(0.5, 2.0),
        "moneyness": st.floats(-1.0, 1.0),
        "t_years": st.floats(2.0 / 365.0, 3.0),
        "vol": st.floats(0.05, 1.5),
        "rate": st.floats(-0.02, 0.1),
        "is_call": st.booleans(),
    }
)


@settings(max_examples=200, deadline=None)
@given(case=option_case)
def test_put_call_parity(case: dict) -> None:
    f, k = case["forward"], case["forward"] * math.exp(case["moneyness"])
    common = {"forward": f, "strike": k, "t_years": case["t_years"], "vol": case["vol"], "rate": case["rate"]}
    call = float(black76_price(**common, is_call=True))
    put = float(black76_price(**common, is_call=False))
    assert call - put == pytest.approx(math.exp(-case["rate"] * case["t_years"]) * (f - k), abs=1e-13)


def _central_difference(function, x: float, step: float) -> float:  # type: ignore[no-untyped-def]
    return (function(x + step) - function(x - step)) / (2.0 * step)


@settings(max_examples=100, deadline=None)
@given(case=option_case, carry=st.floats(-0.05, 0.1))
def test_greeks_match_central_finite_differences(case: dict, carry: float) -> None:
    s, k, t, v, r, c = (
        case["forward"], case["forward"] * math.exp(case["moneyness"]), case["t_years"], case["vol"], case["rate"], case["is_call"],
    )

    def price(spot: float = s, t_years: float = t, vol: float = v, rate: float = r, carry_: float = carry) -> float:
        return float(bsm_price(spot=spot, strike=k, t_years=t_years, vol=vol, rate=rate, carry=carry_, is_call=c))

    greeks = bsm_greeks(spot=s, strike=k, t_years=t, vol=v, rate=r, carry=carry, is_call=c)
    # Steps relative to each variable's natural scale keep the O(h^2) truncation
    # error near 1e-8 relative; the spot scale of a short option is S sigma sqrt(T).
    h = 1e-4
    spot_step = h * s * v * math.sqrt(t)
    assert float(greeks.delta) == pytest.approx(_central_difference(lambda x: price(spot=x), s, spot_step), rel=1e-6, abs=1e-9)
    delta = lambda x: float(bsm_greeks(spot=x, strike=k, t_years=t, vol=v, rate=r, carry=carry, is_call=c).delta)  # noqa: E731
    assert float(greeks.gamma) == pytest.approx(_central_difference(delta, s, spot_step), rel=1e-6, abs=1e-8)
    assert float(greeks.vega) == pytest.approx(_central_difference(lambda x: price(vol=x), v, h * v), rel=1e-6, abs=1e-9)
    # theta = -dV/dT: value change as time passes
    assert float(greeks.theta) == pytest.approx(-_central_difference(lambda x: price(t_years=x), t, h * t), rel=1e-6, abs=1e-8)
    # BSM rho holds q = r - b fixed: the carry moves with the rate
    # a rate step moves the forward by a relative h T: keep that below h sigma sqrt(T)
    rate_step = h * min(1.0, v / math.sqrt(t))
    rho_fd = _central_difference(lambda x: price(rate=x, carry_=carry + (x - r)), r, rate_step)
    assert float(greeks.rho) == pytest.approx(rho_fd, rel=1e-6, abs=1e-9)
    # Black-76 rho holds the forward fixed: -T V
    b76 = black76_greeks(forward=s, strike=k, t_years=t, vol=v, rate=r, is_call=c)
    b76_rho_fd = _central_difference(
        lambda x: float(black76_price(forward=s, strike=k, t_years=t, vol=v, rate=x, is_call=c)), r, h
    )
    assert float(b76.rho) == pytest.approx(b76_rho_fd, rel=1e-6, abs=1e-9)
    assert float(b76.rho) == pytest.approx(-t * float(b76.price), rel=1e-12, abs=1e-15)


@settings(max_examples=100, deadline=None)
@given(case=option_case)
def test_inverse_option_value_is_usd_value_over_forward(case: dict) -> None:
    f = 30_000.0 * case["forward"]
    args = {"forward": f, "strike": f * math.exp(case["moneyness"]), "t_years": case["t_years"],
            "vol": case["vol"], "rate": case["rate"], "is_call": case["is_call"]}
    assert float(inverse_option_value(**args)) == pytest.approx(float(black76_price(**args)) / f, rel=1e-15, abs=1e-18)


# ---------------------------------------------------------------------------
# Expiry, helpers, units


def test_expiry_gives_intrinsic_value_and_payoff_greeks() -> None:
    forward = np.array([110.0, 90.0, 100.0, 110.0, 90.0, 100.0])
    is_call = np.array([True, True, True, False, False, False])
    price = black76_price(forward=forward, strike=100.0, t_years=0.0, vol=0.5, rate=0.05, is_call=is_call)
    assert price.tolist() == [10.0, 0.0, 0.0, 0.0, 10.0, 0.0]
    greeks = black76_greeks(forward=forward, strike=100.0, t_years=0.0, vol=0.5, rate=0.05, is_call=is_call)
    assert greeks.delta.tolist() == [1.0, 0.0, 0.5, 0.0, -1.0, -0.5]
    for name in ("gamma", "vega", "theta", "rho"):
        assert not np.any(getattr(greeks, name)), name


def test_expiry_accepts_zero_vol() -> None:
    assert float(black76_price(forward=120.0, strike=100.0, t_years=0.0, vol=0.0, rate=0.0, is_call=True)) == 20.0


def test_output_shape_follows_broadcasting() -> None:
    price = black76_price(forward=np.full((2, 3), 100.0), strike=[90.0, 100.0, 110.0], t_years=0.5, vol=0.3, rate=0.0, is_call=True)
    assert price.shape == (2, 3)
    greeks = black76_greeks(forward=100.0, strike=[90.0, 110.0], t_years=0.5, vol=0.3, rate=0.0, is_call=False)
    assert isinstance(greeks, Greeks) and greeks.theta.shape == (2,)


def test_unit_helpers() -> None:
    greeks = black76_greeks(forward=100.0, strike=100.0, t_years=0.5, vol=0.2, rate=0.02, is_call=True)
    expected_theta_per_day = vollib_black_greeks.theta("c", 100.0, 100.0, 0.5, 0.02, 0.2)
    expected_vega_per_point = vollib_black_greeks.vega("c", 100.0, 100.0, 0.5, 0.02, 0.2)
    assert float(theta_per_day(greeks.theta)) == pytest.approx(expected_theta_per_day, abs=1e-13)
    assert float(vega_per_vol_point(greeks.vega)) == pytest.approx(expected_vega_per_point, abs=1e-13)
    assert float(theta_per_day(365.25, days_per_year=365.25)) == 1.0
    with pytest.raises(InvalidInputError, match="days_per_year"):
        theta_per_day(1.0, days_per_year=0.0)


def test_future_pnl_helpers() -> None:
    # Hand calculation: 1 BTC long, +16 % -> gains 0.16/1.16 BTC; -16 % -> loses 0.16/0.84 BTC.
    pnl = inverse_future_coin_pnl(size_coin=1.0, relative_move=[0.16, -0.16])
    assert pnl.tolist() == pytest.approx([0.16 / 1.16, -0.16 / 0.84], rel=1e-15)
    assert float(linear_future_pnl(quantity=-2.0, forward=100.0, scenario_forward=90.0)) == 20.0
    with pytest.raises(InvalidInputError, match="relative_move"):
        inverse_future_coin_pnl(size_coin=1.0, relative_move=-1.0)


# ---------------------------------------------------------------------------
# Invalid inputs

VALID = {"forward": 100.0, "strike": 100.0, "t_years": 0.5, "vol": 0.2, "rate": 0.01, "is_call": True}


@pytest.mark.parametrize(
    ("field", "bad_value"),
    [
        ("forward", np.nan), ("forward", 0.0), ("forward", -1.0), ("forward", np.inf),
        ("strike", 0.0), ("strike", -5.0), ("strike", np.nan),
        ("t_years", -0.1), ("t_years", np.nan),
        ("vol", 0.0), ("vol", -0.2), ("vol", np.nan), ("vol", np.inf),
        ("rate", np.nan), ("rate", np.inf),
    ],
)
def test_invalid_input_names_field_index_and_value(field: str, bad_value: float) -> None:
    values = np.array([VALID[field], VALID[field], bad_value])
    with pytest.raises(InvalidInputError, match=rf"'{field}' at index 2 .*Got {bad_value!r}"):
        black76_price(**{**VALID, field: values})
    with pytest.raises(InvalidInputError, match=f"'{field}'"):
        black76_greeks(**{**VALID, field: values})


def test_invalid_bsm_inputs() -> None:
    args = {"spot": 100.0, "strike": 100.0, "t_years": 0.5, "vol": 0.2, "rate": 0.01, "carry": 0.0, "is_call": True}
    with pytest.raises(InvalidInputError, match="'carry'"):
        bsm_price(**{**args, "carry": np.nan})
    with pytest.raises(InvalidInputError, match="'spot'"):
        bsm_greeks(**{**args, "spot": -1.0})


def test_invalid_flags_and_shapes() -> None:
    with pytest.raises(InvalidInputError, match="'is_call'"):
        black76_price(**{**VALID, "is_call": "c"})
    with pytest.raises(InvalidInputError, match="broadcast"):
        black76_price(**{**VALID, "forward": [100.0, 101.0], "strike": [1.0, 2.0, 3.0]})
    with pytest.raises(InvalidInputError, match="'forward' must be numeric"):
        black76_price(**{**VALID, "forward": "abc"})
