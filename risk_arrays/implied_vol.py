"""Black-76 implied volatility of a snapshot of option prices.

Each price is inverted with Peter Jaeckel's "Let's Be Rational" as packaged by
vollib (``vollib.black.implied_volatility``; py_vollib is now a shim over it, and
importing vollib directly avoids the shim's DeprecationWarning). It converges to
machine precision in two iterations for every price that has an implied vol,
so the loop over options is plain Python: a snapshot is inverted once, and the
result feeds the vectorised kernels.

A Black-76 price ``P`` (discounted, premium currency) has a positive implied
vol exactly when ``T > 0`` and ``D max(s (F - K), 0) < P < D F`` (call) or
``< D K`` (put), with ``D = exp(-r T)``. Anything else raises
:class:`ImpliedVolatilityError` naming the option, the price and the bounds.
"""

from __future__ import annotations

import math
from typing import Sequence

import numpy as np
from numpy.typing import ArrayLike, NDArray
from vollib.black.implied_volatility import implied_volatility as _vollib_implied_volatility
from vollib.helpers.exceptions import PriceIsAboveMaximum, PriceIsBelowIntrinsic

from ..params.errors import ImpliedVolatilityError, InvalidInputError
from .pricing import _broadcast_float_inputs, _option_sign, _raise_first, _validate_option_inputs

__all__ = ["implied_vol"]


def implied_vol(
    *,
    price: ArrayLike,
    forward: ArrayLike,
    strike: ArrayLike,
    t_years: ArrayLike,
    rate: ArrayLike,
    is_call: ArrayLike,
    names: Sequence[str] | None = None,
) -> NDArray[np.float64]:
    """Black-76 implied volatility for each option of a snapshot.

    Parameters
    ----------
    price : array_like
        Discounted option price in the quote currency (USD) per unit of the
        underlying, as :func:`spanlike.risk_arrays.pricing.black76_price` returns it.
        For a coin-settled option quoted in coin, pass ``coin_price * forward``.
    forward, strike : array_like
        Forward/futures price and strike, > 0.
    t_years : array_like
        Time to expiry in years, > 0 (an option at expiry has no implied vol).
    rate : array_like
        Discount rate, annual decimal.
    is_call : array_like of bool
        True for calls, False for puts.
    names : sequence of str, optional
        One name per option (after broadcasting), used in error messages.

    Returns
    -------
    ndarray of float64, broadcast shape
        Annual volatility as a decimal (0.55 = 55 %) such that
        ``black76_price(..., vol=result)`` reproduces ``price`` (to about 1e-14
        relative).

    Raises
    ------
    InvalidInputError
        NaN, non-positive forward, strike or price, negative time, non-finite
        rate, shapes that do not broadcast, or ``names`` of the wrong length.
    ImpliedVolatilityError
        For the first option whose price no positive vol reproduces: at or
        below its discounted intrinsic value, at or above its upper bound
        (``D F`` for a call, ``D K`` for a put), or ``t_years == 0``. The
        message names the option, the price and the bound, and the fix.

    Examples
    --------
    >>> round(float(implied_vol(price=5.5811067246, forward=100.0, strike=100.0,
    ...                         t_years=0.5, rate=0.02, is_call=True)), 8)
    0.2
    """
    shape, flat = _broadcast_float_inputs(
        {"price": price, "forward": forward, "strike": strike, "t_years": t_years, "rate": rate,
         "is_call": _option_sign(is_call)}
    )
    n = flat["price"].shape[0]
    labels: tuple[str, ...] | None = None
    if names is not None:
        labels = tuple(str(name) for name in names)
        if len(labels) != n:
            raise InvalidInputError(f"'names' must have one entry per option ({n}). Got {len(labels)}.")
    _validate_option_inputs(flat, "forward", labels, check_vol=False)
    premium = flat["price"]
    _raise_first("price", ~np.isfinite(premium) | (premium <= 0.0), premium, "a positive finite option price", labels)

    result = np.empty(n)
    for i in range(n):
        label = labels[i] if labels is not None else f"option at index {i}"
        f, k, t, r = (float(flat[field][i]) for field in ("forward", "strike", "t_years", "rate"))
        p, sign = float(premium[i]), float(flat["is_call"][i])
        kind = "call" if sign > 0 else "put"
        if t == 0.0:
            raise ImpliedVolatilityError(
                f"The {kind} {label} is at expiry (t_years = 0): its price {p!r} is intrinsic value and "
                "has no implied volatility. Value expired options at intrinsic instead of inverting them."
            )
        discount = math.exp(-r * t)
        intrinsic = discount * max(sign * (f - k), 0.0)
        upper = discount * (f if sign > 0 else k)
        if not intrinsic < p < upper:
            raise ImpliedVolatilityError(_no_solution_message(kind, label, p, intrinsic, upper))
        try:
            vol = float(_vollib_implied_volatility(p, f, k, r, t, "c" if sign > 0 else "p"))
        except (PriceIsAboveMaximum, PriceIsBelowIntrinsic) as exc:
            raise ImpliedVolatilityError(_no_solution_message(kind, label, p, intrinsic, upper)) from exc
        if not (math.isfinite(vol) and vol > 0.0):
            # Prices a hair inside the bounds can still lie beyond double precision's reach.
            raise ImpliedVolatilityError(_no_solution_message(kind, label, p, intrinsic, upper))
        result[i] = vol
    return result.reshape(shape)


def _no_solution_message(kind: str, label: str, price: float, intrinsic: float, upper: float) -> str:
    return (
        f"No volatility reproduces the price {price!r} of the {kind} {label}: a Black-76 price must lie "
        f"strictly between the discounted intrinsic value {intrinsic!r} and the upper bound {upper!r}. "
        "Check that the price is discounted, per unit of the underlying, in the strike's currency "
        "(multiply a coin price by the forward), and that forward, strike and rate belong to this option."
    )
