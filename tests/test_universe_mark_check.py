"""The mark/IV consistency check's numpy Black-76 against the numba pricer (its twin).

``spanlike.universe._check_marks_match_ivs`` prices options in numpy (no
kernel load per engine preparation); its decision and message must stay those
of the pricer it replaced. Reference: :func:`spanlike.risk_arrays.pricing.black76_price`
(itself tested against py_vollib in ``tests/test_pricing.py``); tolerance
1e-13 relative or 1e-13 x forward absolute, far below the check's factor-2 /
1e-4 x forward tolerance.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from spanlike.errors import MarketDataError
from spanlike.market import MarketSnapshot
from spanlike.risk_arrays import _normal
from spanlike.risk_arrays.pricing import black76_price
from spanlike.universe import _black76_for_check, _norm_cdf_for_check

DATA = Path(__file__).resolve().parent / "data"


def test_numpy_black76_equals_the_kernel() -> None:
    rng = np.random.default_rng(17)
    n = 20_000
    forward = np.exp(rng.uniform(np.log(1.0), np.log(2e5), n))
    strike = forward * np.exp(rng.normal(0.0, 1.0, n))
    t = rng.uniform(1e-5, 3.0, n)
    vol = rng.uniform(0.01, 3.0, n)
    rate = rng.uniform(-0.02, 0.1, n)
    call = rng.random(n) < 0.5
    want = black76_price(forward=forward, strike=strike, t_years=t, vol=vol, rate=rate, is_call=call)
    got = _black76_for_check(forward, strike, t, vol, rate, np.where(call, 1.0, -1.0))
    np.testing.assert_allclose(got, want, rtol=1e-13, atol=1e-13 * forward.max())
    assert (np.abs(got - want) <= 1e-13 * np.maximum(np.abs(want), forward)).all()


def test_numpy_norm_cdf_equals_the_kernel_in_both_branches() -> None:
    x = np.concatenate([np.linspace(-40.0, 40.0, 8001), [-np.inf, np.inf, 0.0, 7.07106781186547, 37.0, 37.5]])
    want = np.array([_normal.norm_cdf(float(v)) for v in x])
    np.testing.assert_allclose(_norm_cdf_for_check(x), want, rtol=0.0, atol=2e-16)


def test_zero_total_vol_is_the_intrinsic_value() -> None:
    f = np.array([110.0, 90.0, 100.0])
    k = np.full(3, 100.0)
    zero = np.zeros(3)
    got = _black76_for_check(f, k, np.full(3, 0.5), zero, zero, np.ones(3))
    np.testing.assert_array_equal(got, [10.0, 0.0, 0.0])


def test_inconsistent_mark_still_refused_with_the_same_message() -> None:
    from spanlike import margin

    d = json.loads((DATA / "linear_market.json").read_text())
    d["instruments"][0]["mark_price"] = 2.77  # the 277 USDC mark divided by 100
    with pytest.raises(MarketDataError) as info:
        margin(DATA / "linear_portfolio.csv", MarketSnapshot.from_mapping(d), "crypto-span")
    text = str(info.value)
    assert text.startswith("The quote of ETH_USDC-25DEC26-3400-C is inconsistent: mark_price 2.77 USDC but mark_iv ")
    assert "tolerance a factor 2 either way (past 0.0001 x forward)" in text
