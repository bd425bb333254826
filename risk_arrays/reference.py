"""Plain-Python slow twins of every kernel: loops over scalars, vollib and ``math`` only.

These are the definitions the fast kernels must equal (tests and benchmarks use
them through :mod:`spanlike.risk_arrays.registry`). They favour being obviously right
over speed: no numba, no numpy vectorisation, one contract and one scenario at
a time, Black-76 values from vollib (Jaeckel's "Let's Be Rational"
implementation, which py_vollib now wraps) and the formulas written as in the
:mod:`spanlike.risk_arrays.scenarios` and :mod:`spanlike.risk_arrays.pricing` docstrings.

Conventions shared with the kernels, where a formula has no value of its own:

* ``T = 0`` or ``sigma = 0``: value ``exp(-r T) max(s (F - K), 0)``; delta
  ``exp(-r T) s`` in the money, 0 out of it, half of it exactly at the money
  (the limit of the Black delta); gamma, vega, theta, rho 0 at ``T = 0``.
* a negative scenario vol has no value: NaN (the public wrapper rejects it).
"""

from __future__ import annotations

import math

import numpy as np
from numpy.typing import ArrayLike, NDArray
from vollib.black import black as vollib_black
from vollib.black.greeks import analytical as vollib_black_greeks
from vollib.black_scholes_merton import black_scholes_merton as vollib_bsm
from vollib.black_scholes_merton.greeks import analytical as vollib_bsm_greeks

from .contracts import KIND_FUTURE, KIND_PUT, ContractArrays
from .pricing import Greeks
from .scenarios import ScenarioArrays

__all__ = [
    "reference_black76_price",
    "reference_bsm_price",
    "reference_greeks",
    "reference_bsm_greeks",
    "reference_inverse_option_value",
    "reference_risk_arrays",
    "reference_composite_delta",
]

_GREEK_NAMES = ("price", "delta", "gamma", "vega", "theta", "rho")


def _flag(is_call: bool) -> str:
    return "c" if is_call else "p"


def _black76_scalar(forward: float, strike: float, t_years: float, vol: float, rate: float, is_call: bool) -> float:
    """Discounted Black-76 value of one option (vollib), intrinsic at T = 0 or vol = 0."""
    if vol < 0.0 or math.isnan(vol):
        return math.nan
    if t_years == 0.0 or vol == 0.0:
        sign = 1.0 if is_call else -1.0
        return math.exp(-rate * t_years) * max(sign * (forward - strike), 0.0)
    return float(vollib_black(_flag(is_call), forward, strike, t_years, rate, vol))


def _black76_delta_scalar(forward: float, strike: float, t_years: float, vol: float, rate: float, is_call: bool) -> float:
    """``dV/dF`` of one option (vollib), the payoff's slope at T = 0 (half at the money)."""
    if t_years == 0.0:
        sign = 1.0 if is_call else -1.0
        moneyness = sign * (forward - strike)
        return sign * (1.0 if moneyness > 0.0 else (0.5 if moneyness == 0.0 else 0.0))
    return float(vollib_black_greeks.delta(_flag(is_call), forward, strike, t_years, rate, vol))


def _loop(function, arrays: list[ArrayLike]) -> NDArray[np.float64]:  # type: ignore[no-untyped-def]
    """Apply a scalar function element by element over broadcast inputs."""
    columns = np.broadcast_arrays(*(np.asarray(a) for a in arrays))
    shape = columns[0].shape
    flat = [c.ravel().tolist() for c in columns]
    return np.array([function(*row) for row in zip(*flat)], dtype=np.float64).reshape(shape)


def reference_black76_price(
    *, forward: ArrayLike, strike: ArrayLike, t_years: ArrayLike, vol: ArrayLike, rate: ArrayLike, is_call: ArrayLike
) -> NDArray[np.float64]:
    """Black-76 values one at a time with vollib's ``black`` (intrinsic at T = 0)."""
    return _loop(_black76_scalar, [forward, strike, t_years, vol, rate, np.asarray(is_call, dtype=bool)])


def reference_inverse_option_value(
    *, forward: ArrayLike, strike: ArrayLike, t_years: ArrayLike, vol: ArrayLike, rate: ArrayLike, is_call: ArrayLike
) -> NDArray[np.float64]:
    """Coin value of a coin-settled option: vollib Black-76 value / forward."""
    return _loop(
        lambda f, k, t, v, r, c: _black76_scalar(f, k, t, v, r, c) / f,
        [forward, strike, t_years, vol, rate, np.asarray(is_call, dtype=bool)],
    )


def reference_bsm_price(
    *, spot: ArrayLike, strike: ArrayLike, t_years: ArrayLike, vol: ArrayLike, rate: ArrayLike,
    carry: ArrayLike, is_call: ArrayLike,
) -> NDArray[np.float64]:
    """Generalised BSM values with vollib's ``black_scholes_merton`` (dividend yield ``q = r - b``)."""

    def one(s: float, k: float, t: float, v: float, r: float, b: float, c: bool) -> float:
        if t == 0.0:
            return _black76_scalar(s, k, 0.0, v, r, c)
        return float(vollib_bsm(_flag(c), s, k, t, r, v, r - b))

    return _loop(one, [spot, strike, t_years, vol, rate, carry, np.asarray(is_call, dtype=bool)])


def reference_greeks(
    *, forward: ArrayLike, strike: ArrayLike, t_years: ArrayLike, vol: ArrayLike, rate: ArrayLike, is_call: ArrayLike
) -> Greeks:
    """Black-76 Greeks from vollib's analytical formulas, rescaled to per-1.0 units.

    vollib quotes theta per day (``/365``), vega and rho per 1 % (``x 0.01``);
    here theta is per year, vega per 1.0 of vol, rho per 1.0 of rate.
    """

    def one(f: float, k: float, t: float, v: float, r: float, c: bool) -> tuple[float, ...]:
        price = _black76_scalar(f, k, t, v, r, c)
        if t == 0.0:
            return (price, _black76_delta_scalar(f, k, t, v, r, c), 0.0, 0.0, 0.0, 0.0)
        flag = _flag(c)
        return (
            price,
            float(vollib_black_greeks.delta(flag, f, k, t, r, v)),
            float(vollib_black_greeks.gamma(flag, f, k, t, r, v)),
            float(vollib_black_greeks.vega(flag, f, k, t, r, v)) * 100.0,
            float(vollib_black_greeks.theta(flag, f, k, t, r, v)) * 365.0,
            float(vollib_black_greeks.rho(flag, f, k, t, r, v)) * 100.0,
        )

    return _greeks_loop(one, [forward, strike, t_years, vol, rate, np.asarray(is_call, dtype=bool)])


def reference_bsm_greeks(
    *, spot: ArrayLike, strike: ArrayLike, t_years: ArrayLike, vol: ArrayLike, rate: ArrayLike,
    carry: ArrayLike, is_call: ArrayLike,
) -> Greeks:
    """Generalised BSM Greeks from vollib's ``black_scholes_merton`` analytical formulas, per-1.0 units."""

    def one(s: float, k: float, t: float, v: float, r: float, b: float, c: bool) -> tuple[float, ...]:
        if t == 0.0:
            return (_black76_scalar(s, k, 0.0, v, r, c), _black76_delta_scalar(s, k, 0.0, v, r, c), 0.0, 0.0, 0.0, 0.0)
        flag, q = _flag(c), r - b
        return (
            float(vollib_bsm(flag, s, k, t, r, v, q)),
            float(vollib_bsm_greeks.delta(flag, s, k, t, r, v, q)),
            float(vollib_bsm_greeks.gamma(flag, s, k, t, r, v, q)),
            float(vollib_bsm_greeks.vega(flag, s, k, t, r, v, q)) * 100.0,
            float(vollib_bsm_greeks.theta(flag, s, k, t, r, v, q)) * 365.0,
            float(vollib_bsm_greeks.rho(flag, s, k, t, r, v, q)) * 100.0,
        )

    return _greeks_loop(one, [spot, strike, t_years, vol, rate, carry, np.asarray(is_call, dtype=bool)])


def _greeks_loop(function, arrays: list[ArrayLike]) -> Greeks:  # type: ignore[no-untyped-def]
    columns = np.broadcast_arrays(*(np.asarray(a) for a in arrays))
    shape = columns[0].shape
    rows = [function(*row) for row in zip(*(c.ravel().tolist() for c in columns))]
    table = np.array(rows, dtype=np.float64).reshape(-1, 6)
    return Greeks(*(table[:, g].reshape(shape) for g in range(6)))


def _scenario_vol(vol: float, vol_scale: float, rel: float, shift_abs: float, floor: float) -> float:
    shocked = max(vol * (1.0 + rel * vol_scale) + shift_abs, floor)
    return math.nan if shocked < 0.0 else shocked


def _settlement_value(
    forward: float, strike: float, t_years: float, vol: float, rate: float, is_call: bool, inverse: bool
) -> float:
    """Option value in its settlement currency: USD, or coin (USD value / forward) if inverse."""
    usd = _black76_scalar(forward, strike, t_years, vol, rate, is_call)
    return usd / forward if inverse else usd


def reference_risk_arrays(
    contracts: ContractArrays, scenarios: ScenarioArrays, vol_scale: ArrayLike | None = None
) -> NDArray[np.float64]:
    """Risk arrays by the definitions in :mod:`spanlike.risk_arrays.scenarios`, one cell at a time.

    Returns
    -------
    ndarray, shape (n, m)
        ``weight_j * (value_i(base) - value_i(scenario_j))`` per long unit in the
        settlement currency (positive = loss).
    """
    n, m = len(contracts), scenarios.n_scenarios
    scale = [1.0] * n if vol_scale is None else [float(x) for x in np.asarray(vol_scale, dtype=float)]
    out = np.empty((n, m))
    advance = float(scenarios.time_advance_years)
    for i in range(n):
        f = float(contracts.forward[i])
        k = float(contracts.strike[i])
        t = float(contracts.t_years[i])
        vol = float(contracts.vol[i])
        rate = float(contracts.rate[i])
        kind = int(contracts.kind[i])
        inverse = bool(contracts.inverse[i])
        mult = float(contracts.multiplier[i])
        is_call = kind != KIND_PUT
        t_new = max(t - advance, 0.0)
        for j in range(m):
            w = float(scenarios.weight[j])
            shift = float(scenarios.price_shift_abs[j])
            if kind == KIND_FUTURE:
                f_new = f * (1.0 + float(scenarios.price_move_future[j])) + shift
                loss = -(f_new - f) / f_new if inverse else f - f_new
            else:
                f_new = f * (1.0 + float(scenarios.price_move_option[j])) + shift
                vol_new = _scenario_vol(
                    vol, scale[i], float(scenarios.vol_shift_rel[j]), float(scenarios.vol_shift_abs[j]),
                    float(scenarios.vol_floor[j]),
                )
                base = _settlement_value(f, k, t, vol, rate, is_call, inverse)
                moved = _settlement_value(f_new, k, t_new, vol_new, rate, is_call, inverse)
                loss = base - moved
            out[i, j] = w * mult * loss
    return out


def reference_composite_delta(contracts: ContractArrays, scenarios: ScenarioArrays) -> NDArray[np.float64]:
    """Composite delta per long unit in coins: weighted mean of deltas at the delta points.

    Linear option ``mult dV/dF``; inverse option ``mult (dV/dF - V/F_k)``;
    linear future ``mult``; inverse future ``mult F/F_k``; with
    ``F_k = F (1 + move_k) + abs_k``, vol unchanged, ``T' = max(T - advance, 0)``.
    """
    n = len(contracts)
    advance = float(scenarios.time_advance_years)
    weights = [float(w) for w in scenarios.delta_weight]
    out = np.empty(n)
    for i in range(n):
        f = float(contracts.forward[i])
        k = float(contracts.strike[i])
        t_new = max(float(contracts.t_years[i]) - advance, 0.0)
        vol = float(contracts.vol[i])
        rate = float(contracts.rate[i])
        kind = int(contracts.kind[i])
        inverse = bool(contracts.inverse[i])
        is_call = kind != KIND_PUT
        deltas = []
        for p in range(len(weights)):
            f_point = f * (1.0 + float(scenarios.delta_price_move[p])) + float(scenarios.delta_price_shift_abs[p])
            if kind == KIND_FUTURE:
                delta = f / f_point if inverse else 1.0
            else:
                delta = _black76_delta_scalar(f_point, k, t_new, vol, rate, is_call)
                if inverse:
                    delta -= _black76_scalar(f_point, k, t_new, vol, rate, is_call) / f_point
            deltas.append(delta)
        out[i] = float(contracts.multiplier[i]) * sum(w * d for w, d in zip(weights, deltas)) / sum(weights)
    return out
