"""Vectorised option values and Greeks: Black-76, generalised Black-Scholes-Merton, coin-settled.

Formulas (Haug, *The Complete Guide to Option Pricing Formulas*, 2nd ed., 1.1.6;
``s = +1`` call, ``-1`` put)::

    F  = S exp(b T)          (b = r Black-Scholes, b = r - q Merton, b = 0 Black-76 with S = F)
    d1 = (log(F/K) + sigma**2 T / 2) / (sigma sqrt(T)),   d2 = d1 - sigma sqrt(T)
    V  = exp(-r T) s (F N(s d1) - K N(s d2))

Units and signs of the Greeks (all per one unit of the underlying, in the
premium currency):

* ``delta = dV/dS`` (``dV/dF`` for Black-76), ``gamma = d2V/dS2``;
* ``vega`` per 1.0 of vol (per 100 vol points); :func:`vega_per_vol_point` divides by 100;
* ``theta = -dV/dT`` per year: the change in value as one year of calendar time
  passes with everything else fixed (negative for a long option that decays);
  :func:`theta_per_day` divides by 365;
* ``rho`` per 1.0 of rate: Black-76 ``-T V`` (the futures price held fixed);
  BSM with the dividend yield ``q = r - b`` held fixed, i.e. the carry moves
  with the rate (Haug's ``b != 0`` rho, ``s T K exp(-r T) N(s d2)``).

At ``T = 0`` values are intrinsic (``max(s (F - K), 0)``, nothing to discount)
and Greeks are those of the payoff: delta 1, 0 or 1/2 exactly at the money
(times ``s``), gamma, vega, theta and rho 0.

Coin-settled ("inverse") options are worth ``V_usd / F`` coin per coin of
underlying (methodology section 1): in a scenario the USD value and the price
both move, so coin P&L is ``V'/F' - V/F``.

Every public function converts inputs to float64 arrays, broadcasts them,
validates them (raising :class:`InvalidInputError` that names the field, the
index and the value), runs a numba kernel and checks its result is finite
(:class:`NumericalError` otherwise). Accuracy: within ``1e-12`` absolute of
py_vollib for forward and strike near 1 to 100 (tests/test_pricing.py).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Mapping

import numpy as np
from numpy.typing import ArrayLike, NDArray

from ..params.errors import InvalidInputError, NumericalError
from .kernels import _option_greeks_kernel, _option_price_kernel

__all__ = [
    "Greeks",
    "black76_price",
    "black76_greeks",
    "bsm_price",
    "bsm_greeks",
    "inverse_option_value",
    "inverse_future_coin_pnl",
    "linear_future_pnl",
    "theta_per_day",
    "vega_per_vol_point",
]

FloatArray = NDArray[np.float64]


@dataclass(frozen=True, eq=False)
class Greeks:
    """Value and first-order sensitivities, arrays of the broadcast input shape.

    Attributes
    ----------
    price : ndarray
        Discounted option value in the premium currency.
    delta : ndarray
        ``dV/dS`` (``dV/dF`` for Black-76), discounted.
    gamma : ndarray
        ``d2V/dS2``.
    vega : ndarray
        ``dV/dsigma`` per 1.0 of vol (divide by 100 for per vol point).
    theta : ndarray
        ``-dV/dT`` per year of calendar time passing (divide by 365 for per day).
    rho : ndarray
        ``dV/dr`` per 1.0 of rate (see the module docstring for what is held fixed).
    """

    price: FloatArray
    delta: FloatArray
    gamma: FloatArray
    vega: FloatArray
    theta: FloatArray
    rho: FloatArray


# ---------------------------------------------------------------------------
# Input handling shared by the public wrappers (also used by implied_vol)


def _broadcast_float_inputs(fields: Mapping[str, ArrayLike]) -> tuple[tuple[int, ...], dict[str, FloatArray]]:
    """Convert each field to float64, broadcast together, return flat contiguous copies."""
    arrays: dict[str, np.ndarray] = {}
    for name, values in fields.items():
        try:
            arrays[name] = np.asarray(values, dtype=np.float64)
        except (TypeError, ValueError) as exc:
            raise InvalidInputError(f"'{name}' must be numeric (float or array of floats). Got {values!r}.") from exc
    try:
        broadcast = np.broadcast_arrays(*arrays.values())
    except ValueError as exc:
        shapes = ", ".join(f"{k}{v.shape}" for k, v in arrays.items())
        raise InvalidInputError(f"Inputs must broadcast to one shape. Got {shapes}.") from exc
    shape = broadcast[0].shape if broadcast else ()
    # Views from np.broadcast_arrays are flagged "warn on write", which numba reports as a
    # FutureWarning: pass the caller's array where it already has the full shape (kernels
    # only read inputs) and materialise a real copy where it was broadcast.
    flat = {
        name: np.ascontiguousarray((arrays[name] if arrays[name].shape == shape else np.array(arr)).reshape(-1))
        for name, arr in zip(arrays, broadcast)
    }
    return shape, flat


def _option_sign(is_call: ArrayLike) -> FloatArray:
    """+1.0 for calls, -1.0 for puts; accepts booleans or 0/1 integers."""
    flags = np.asarray(is_call)
    if flags.dtype == np.bool_:
        return np.where(flags, 1.0, -1.0)
    if np.issubdtype(flags.dtype, np.integer) and np.isin(flags, (0, 1)).all():
        return np.where(flags == 1, 1.0, -1.0)
    raise InvalidInputError(
        f"'is_call' must be boolean (True for a call, False for a put). Got {flags!r} of dtype {flags.dtype}."
    )


def _raise_first(field: str, bad: NDArray[np.bool_], values: FloatArray, rule: str, names: tuple[str, ...] | None = None) -> None:
    """Raise InvalidInputError for the first True in ``bad`` (nothing if none)."""
    if not bad.any():
        return
    i = int(np.flatnonzero(bad)[0])
    where = f"{names[i]} (index {i})" if names is not None else f"index {i}"
    raise InvalidInputError(f"The '{field}' at {where} must be {rule}. Got {float(values[i])!r}.")


def _validate_option_inputs(
    flat: Mapping[str, FloatArray], price_field: str, names: tuple[str, ...] | None = None, check_vol: bool = True
) -> None:
    """Check the shared domain of option inputs (flat arrays of equal length)."""
    price = flat[price_field]
    _raise_first(price_field, ~np.isfinite(price) | (price <= 0.0), price, "a positive finite price", names)
    strike = flat["strike"]
    _raise_first("strike", ~np.isfinite(strike) | (strike <= 0.0), strike, "a positive finite strike", names)
    t = flat["t_years"]
    _raise_first(
        "t_years", ~np.isfinite(t) | (t < 0.0), t,
        "a non-negative finite time to expiry in years (0 = at expiry)", names,
    )
    rate = flat["rate"]
    _raise_first("rate", ~np.isfinite(rate), rate, "a finite annual rate as a decimal", names)
    if "carry" in flat:
        carry = flat["carry"]
        _raise_first("carry", ~np.isfinite(carry), carry, "a finite annual cost of carry as a decimal", names)
    if check_vol:
        vol = flat["vol"]
        _raise_first("vol", np.isnan(vol), vol, "a number (annual volatility as a decimal, 0.55 = 55%)", names)
        _raise_first(
            "vol", (t > 0.0) & (~np.isfinite(vol) | (vol <= 0.0)), vol,
            "a positive finite annual volatility as a decimal (0.55 = 55%) where t_years > 0", names,
        )


def _check_finite(result: FloatArray, what: str) -> None:
    if not np.isfinite(result).all():
        i = int(np.flatnonzero(~np.isfinite(result))[0])
        raise NumericalError(
            f"{what} is not finite at index {i} ({float(result[i])!r}) for valid inputs; "
            "please report the inputs at that index."
        )


def _price(
    spot: ArrayLike, strike: ArrayLike, t_years: ArrayLike, vol: ArrayLike,
    rate: ArrayLike, carry: ArrayLike, is_call: ArrayLike, spot_field: str,
) -> FloatArray:
    shape, flat = _broadcast_float_inputs(
        {spot_field: spot, "strike": strike, "t_years": t_years, "vol": vol, "rate": rate,
         "carry": carry, "is_call": _option_sign(is_call)}
    )
    _validate_option_inputs(flat, spot_field)
    out = np.empty_like(flat[spot_field])
    _option_price_kernel(
        flat[spot_field], flat["strike"], flat["t_years"], flat["vol"], flat["rate"],
        flat["carry"], flat["is_call"], out,
    )
    _check_finite(out, "The option value")
    return out.reshape(shape)


def _greeks(
    spot: ArrayLike, strike: ArrayLike, t_years: ArrayLike, vol: ArrayLike,
    rate: ArrayLike, carry: ArrayLike, is_call: ArrayLike, spot_field: str, rho_moves_carry: bool,
) -> Greeks:
    shape, flat = _broadcast_float_inputs(
        {spot_field: spot, "strike": strike, "t_years": t_years, "vol": vol, "rate": rate,
         "carry": carry, "is_call": _option_sign(is_call)}
    )
    _validate_option_inputs(flat, spot_field)
    outputs = [np.empty_like(flat[spot_field]) for _ in range(6)]
    _option_greeks_kernel(
        flat[spot_field], flat["strike"], flat["t_years"], flat["vol"], flat["rate"],
        flat["carry"], flat["is_call"], rho_moves_carry, *outputs,
    )
    for label, values in zip(("price", "delta", "gamma", "vega", "theta", "rho"), outputs):
        _check_finite(values, f"The option {label}")
    return Greeks(*(values.reshape(shape) for values in outputs))


# ---------------------------------------------------------------------------
# Public API


def black76_price(
    *, forward: ArrayLike, strike: ArrayLike, t_years: ArrayLike, vol: ArrayLike,
    rate: ArrayLike, is_call: ArrayLike,
) -> FloatArray:
    """Discounted Black-76 value of options on a forward or future.

    Parameters
    ----------
    forward : array_like
        Forward/futures price, > 0, in the quote currency (USD) per unit.
    strike : array_like
        Strike, > 0, same currency.
    t_years : array_like
        Time to expiry in years (ACT/365), >= 0; 0 gives intrinsic value.
    vol : array_like
        Annual volatility as a decimal (0.55 = 55 %), > 0 where ``t_years > 0``.
    rate : array_like
        Continuously compounded discount rate, annual decimal (may be negative).
    is_call : array_like of bool
        True for a call, False for a put.

    All inputs broadcast against each other.

    Returns
    -------
    ndarray of float64, broadcast shape
        ``exp(-r T) s (F N(s d1) - K N(s d2))`` in the quote currency per unit.

    Raises
    ------
    InvalidInputError
        A NaN, a non-positive forward or strike, a negative time, a
        non-positive vol where ``t_years > 0``, or shapes that do not broadcast;
        the message names the field, the index and the value.
    NumericalError
        If the kernel returns a non-finite value for valid inputs.

    Examples
    --------
    >>> round(float(black76_price(forward=100.0, strike=100.0, t_years=0.5, vol=0.2, rate=0.02, is_call=True)), 10)
    5.5811067246
    """
    return _price(forward, strike, t_years, vol, rate, 0.0, is_call, "forward")


def bsm_price(
    *, spot: ArrayLike, strike: ArrayLike, t_years: ArrayLike, vol: ArrayLike,
    rate: ArrayLike, carry: ArrayLike, is_call: ArrayLike,
) -> FloatArray:
    """Generalised Black-Scholes-Merton value with cost of carry ``b``.

    Parameters
    ----------
    spot : array_like
        Spot price of the underlying, > 0.
    strike, t_years, vol, rate, is_call : array_like
        As in :func:`black76_price`.
    carry : array_like
        Cost of carry ``b`` as an annual decimal: ``rate`` for Black-Scholes on a
        non-dividend stock, ``rate - q`` for Merton with dividend yield ``q``,
        ``0`` for Black-76 (then ``spot`` is the forward).

    Returns
    -------
    ndarray of float64
        ``exp(-r T) s (F N(s d1) - K N(s d2))`` with ``F = S exp(b T)``.

    Raises
    ------
    InvalidInputError, NumericalError
        As in :func:`black76_price` (``carry`` must be finite).

    Examples
    --------
    Haug (2007), p. 4: Merton put, S = 100, K = 95, T = 0.5, r = 0.10, q = 0.05, sigma = 0.20:

    >>> round(float(bsm_price(spot=100.0, strike=95.0, t_years=0.5, vol=0.2, rate=0.1, carry=0.05, is_call=False)), 4)
    2.4648
    """
    return _price(spot, strike, t_years, vol, rate, carry, is_call, "spot")


def black76_greeks(
    *, forward: ArrayLike, strike: ArrayLike, t_years: ArrayLike, vol: ArrayLike,
    rate: ArrayLike, is_call: ArrayLike,
) -> Greeks:
    """Black-76 value and Greeks in one pass.

    Parameters
    ----------
    forward, strike, t_years, vol, rate, is_call : array_like
        As in :func:`black76_price`.

    Returns
    -------
    Greeks
        ``price``; ``delta = dV/dF = exp(-rT) s N(s d1)``;
        ``gamma = exp(-rT) n(d1) / (F sigma sqrt(T))``;
        ``vega = exp(-rT) F n(d1) sqrt(T)`` per 1.0 of vol;
        ``theta = -dV/dT = r V - exp(-rT) F n(d1) sigma / (2 sqrt(T))`` per year;
        ``rho = dV/dr = -T V`` per 1.0 of rate (forward held fixed).

    Raises
    ------
    InvalidInputError, NumericalError
        As in :func:`black76_price`.
    """
    return _greeks(forward, strike, t_years, vol, rate, 0.0, is_call, "forward", rho_moves_carry=False)


def bsm_greeks(
    *, spot: ArrayLike, strike: ArrayLike, t_years: ArrayLike, vol: ArrayLike,
    rate: ArrayLike, carry: ArrayLike, is_call: ArrayLike,
) -> Greeks:
    """Generalised Black-Scholes-Merton value and Greeks in one pass.

    Parameters
    ----------
    spot, strike, t_years, vol, rate, carry, is_call : array_like
        As in :func:`bsm_price`.

    Returns
    -------
    Greeks
        With ``G = exp((b - r) T)``: ``delta = G s N(s d1)``;
        ``gamma = G n(d1) / (S sigma sqrt(T))``; ``vega = S G n(d1) sqrt(T)``;
        ``theta = -dV/dT = -S G n(d1) sigma / (2 sqrt(T)) - (b - r) S G s N(s d1) - r K exp(-rT) s N(s d2)``
        per year (spot, rate and carry fixed);
        ``rho = s T K exp(-rT) N(s d2)`` per 1.0 of rate with the dividend yield
        ``q = r - b`` fixed (as py_vollib's ``black_scholes_merton``). For an
        option on a future, whose rho holds the futures price fixed (``-T V``),
        use :func:`black76_greeks`.

    Raises
    ------
    InvalidInputError, NumericalError
        As in :func:`bsm_price`.
    """
    return _greeks(spot, strike, t_years, vol, rate, carry, is_call, "spot", rho_moves_carry=True)


def inverse_option_value(
    *, forward: ArrayLike, strike: ArrayLike, t_years: ArrayLike, vol: ArrayLike,
    rate: ArrayLike, is_call: ArrayLike,
) -> FloatArray:
    """Value of a coin-settled ("inverse") option, in coin per 1 coin of underlying.

    Parameters
    ----------
    forward, strike, t_years, vol, rate, is_call : array_like
        As in :func:`black76_price` (prices in USD per coin).

    Returns
    -------
    ndarray of float64
        ``black76_price(...) / forward`` (methodology section 1: value in coin
        = USD value / underlying price).

    Raises
    ------
    InvalidInputError, NumericalError
        As in :func:`black76_price`.
    """
    value_usd = black76_price(forward=forward, strike=strike, t_years=t_years, vol=vol, rate=rate, is_call=is_call)
    return value_usd / np.broadcast_to(np.asarray(forward, dtype=np.float64), value_usd.shape)


def inverse_future_coin_pnl(*, size_coin: ArrayLike, relative_move: ArrayLike) -> FloatArray:
    """Coin P&L of a coin-settled (inverse) future or perpetual under a relative price move.

    Parameters
    ----------
    size_coin : array_like
        Signed position in coin (USD notional / price); positive = long.
    relative_move : array_like
        Price move ``s`` as a fraction (0.16 = +16 %), ``> -1``.

    Returns
    -------
    ndarray of float64
        ``size_coin * s / (1 + s)`` coin, positive = gain (methodology section 1;
        this reproduces Deribit's published BTC and ETH risk vectors).

    Raises
    ------
    InvalidInputError
        NaN or infinite inputs, or ``relative_move <= -1`` (a non-positive price).
    """
    shape, flat = _broadcast_float_inputs({"size_coin": size_coin, "relative_move": relative_move})
    size, move = flat["size_coin"], flat["relative_move"]
    _raise_first("size_coin", ~np.isfinite(size), size, "a finite position in coin")
    _raise_first("relative_move", ~np.isfinite(move) | (move <= -1.0), move, "a finite relative move > -1 (the price stays positive)")
    return (size * move / (1.0 + move)).reshape(shape)


def linear_future_pnl(*, quantity: ArrayLike, forward: ArrayLike, scenario_forward: ArrayLike) -> FloatArray:
    """P&L of a linear (USD/USDC-settled) future or perpetual, in the settlement currency.

    Parameters
    ----------
    quantity : array_like
        Signed quantity in units of the underlying; positive = long.
    forward : array_like
        Current futures price ``F``.
    scenario_forward : array_like
        Futures price in the scenario ``F'``.

    Returns
    -------
    ndarray of float64
        ``quantity * (F' - F)``, positive = gain.

    Raises
    ------
    InvalidInputError
        NaN or infinite inputs.
    """
    shape, flat = _broadcast_float_inputs({"quantity": quantity, "forward": forward, "scenario_forward": scenario_forward})
    for name, values in flat.items():
        _raise_first(name, ~np.isfinite(values), values, "a finite number")
    return (flat["quantity"] * (flat["scenario_forward"] - flat["forward"])).reshape(shape)


def theta_per_day(theta: ArrayLike, *, days_per_year: float = 365.0) -> FloatArray:
    """Convert theta per year (``-dV/dT``) to per calendar day, as quoted by py_vollib and exchanges.

    Parameters
    ----------
    theta : array_like
        Theta per year, as returned in :class:`Greeks`.
    days_per_year : float, optional
        Day count of one year (365 for ACT/365, matching ``t_years``).

    Returns
    -------
    ndarray of float64
        ``theta / days_per_year``: value change over one day passing.
    """
    if not (np.isfinite(days_per_year) and days_per_year > 0):
        raise InvalidInputError(f"'days_per_year' must be a positive number. Got {days_per_year!r}.")
    return np.asarray(theta, dtype=np.float64) / days_per_year


def vega_per_vol_point(vega: ArrayLike) -> FloatArray:
    """Convert vega per 1.0 of vol to per vol point (0.01), as quoted by py_vollib and exchanges.

    Parameters
    ----------
    vega : array_like
        Vega per 1.0 of vol, as returned in :class:`Greeks`.

    Returns
    -------
    ndarray of float64
        ``vega / 100``: value change for a +1 percentage point vol move.
    """
    return np.asarray(vega, dtype=np.float64) / 100.0
