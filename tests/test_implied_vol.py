"""Implied volatility: round trips and the no-solution errors.

Reference: py_vollib's ``black`` price of a known vol (Let's Be Rational
inverts to machine precision); round trip price -> vol -> price within 1e-12
absolute at forward 1, vol within 1e-9 relative where vega is not tiny.
"""

from __future__ import annotations

import math

import numpy as np
import py_vollib.black
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from spanlike.params.errors import ImpliedVolatilityError, InvalidInputError
from spanlike.risk_arrays.implied_vol import implied_vol
from spanlike.risk_arrays.pricing import black76_greeks, black76_price
from spanlike.risk_arrays.registry import make_option_inputs


def test_round_trip_on_random_snapshot() -> None:
    inputs = make_option_inputs(np.random.default_rng(11), 2000)
    price = black76_price(**inputs)
    snapshot = {k: v for k, v in inputs.items() if k != "vol"}
    has_time_value = price > np.exp(-inputs["rate"] * inputs["t_years"]) * np.maximum(
        np.where(inputs["is_call"], 1.0, -1.0) * (inputs["forward"] - inputs["strike"]), 0.0
    ) + 1e-12
    snapshot = {k: v[has_time_value] for k, v in snapshot.items()}
    vol = implied_vol(price=price[has_time_value], **snapshot)
    assert np.max(np.abs(black76_price(**snapshot, vol=vol) - price[has_time_value])) <= 1e-12
    vega = black76_greeks(**snapshot, vol=vol).vega
    well_conditioned = vega > 1e-3
    assert np.max(np.abs(vol / inputs["vol"][has_time_value] - 1.0)[well_conditioned]) <= 1e-9


@settings(max_examples=150, deadline=None)
@given(
    vol=st.floats(0.05, 2.0),
    moneyness=st.floats(-0.5, 0.5),
    t_years=st.floats(1.0 / 365.0, 3.0),
    rate=st.floats(-0.02, 0.1),
    is_call=st.booleans(),
)
def test_recovers_the_vol_of_a_py_vollib_price(vol: float, moneyness: float, t_years: float, rate: float, is_call: bool) -> None:
    forward, strike = 100.0, 100.0 * math.exp(moneyness)
    price = py_vollib.black.black("c" if is_call else "p", forward, strike, t_years, rate, vol)
    intrinsic = math.exp(-rate * t_years) * max((1 if is_call else -1) * (forward - strike), 0.0)
    # Deep in the money with a small vol the time value drowns in the price's last bits and
    # no vol is recoverable (that case must raise, tested below).
    assume(price - intrinsic > 1e-9 * forward)
    got = float(implied_vol(price=price, forward=forward, strike=strike, t_years=t_years, rate=rate, is_call=is_call))
    reprice = float(black76_price(forward=forward, strike=strike, t_years=t_years, vol=got, rate=rate, is_call=is_call))
    assert reprice == pytest.approx(price, abs=1e-12 * forward)


def test_known_value() -> None:
    # py_vollib docstring example: F = K = 100, sigma 0.2, t 0.5, r 0.02 -> 5.5811067246
    vol = implied_vol(price=5.5811067246048118, forward=100.0, strike=100.0, t_years=0.5, rate=0.02, is_call=True)
    assert float(vol) == pytest.approx(0.2, abs=1e-13)


def test_price_below_intrinsic_raises_naming_the_option() -> None:
    with pytest.raises(ImpliedVolatilityError, match=r"BTC-27DEC24-60000-C.*intrinsic"):
        implied_vol(
            price=[5.0, 9.0], forward=[100.0, 110.0], strike=100.0, t_years=0.5, rate=0.0, is_call=True,
            names=["BTC-27DEC24-100-C", "BTC-27DEC24-60000-C"],
        )


def test_price_above_upper_bound_raises() -> None:
    with pytest.raises(ImpliedVolatilityError, match=r"index 0.*upper bound"):
        implied_vol(price=120.0, forward=100.0, strike=100.0, t_years=0.5, rate=0.0, is_call=False)


def test_price_at_intrinsic_has_no_positive_vol() -> None:
    with pytest.raises(ImpliedVolatilityError):
        implied_vol(price=10.0, forward=110.0, strike=100.0, t_years=0.5, rate=0.0, is_call=True)


def test_expired_option_raises() -> None:
    with pytest.raises(ImpliedVolatilityError, match="at expiry"):
        implied_vol(price=1.0, forward=100.0, strike=100.0, t_years=0.0, rate=0.0, is_call=True)


def test_is_an_invalid_input_error() -> None:
    assert issubclass(ImpliedVolatilityError, InvalidInputError)


@pytest.mark.parametrize(
    ("field", "bad"),
    [("price", -1.0), ("price", np.nan), ("forward", 0.0), ("strike", np.nan), ("t_years", -1.0), ("rate", np.inf)],
)
def test_invalid_inputs_name_the_field(field: str, bad: float) -> None:
    args = {"price": 5.0, "forward": 100.0, "strike": 100.0, "t_years": 0.5, "rate": 0.0, "is_call": True}
    with pytest.raises(InvalidInputError, match=f"'{field}'"):
        implied_vol(**{**args, field: bad})


def test_names_must_match_length() -> None:
    with pytest.raises(InvalidInputError, match="'names'"):
        implied_vol(price=[5.0, 6.0], forward=100.0, strike=100.0, t_years=0.5, rate=0.0, is_call=True, names=["a"])
