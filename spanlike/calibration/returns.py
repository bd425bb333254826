"""Returns over one bar and over a margin period of risk (MPOR).

Formulas (prices ``P_t``, ``t = 0 .. T-1``, time on axis 0):

* one-bar log return ``r_t = ln(P_{t+1} / P_t)``, ``t = 0 .. T-2``;
* h-bar log return ``R_t = ln(P_{t+h} / P_t) = r_t + ... + r_{t+h-1}``;

  - *overlapping*: every start ``t = 0 .. T-1-h`` (``T - h`` values,
    consecutive values share ``h - 1`` bars, so they are not independent);
  - *non-overlapping*: starts ``T-1-h, T-1-2h, ...`` anchored at the **last**
    price so the most recent move is always included, returned oldest first
    (``floor((T-1)/h)`` values);

* relative price move ``exp(R) - 1`` (the scan-range unit: a fraction of price).

Returns are decimals (0.01 = 1 %). The MPOR is in days for daily bars and in
bars for intraday bars (the caller converts).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from spanlike.calibration._validate import float_array, positive_int
from spanlike.errors import InvalidInputError

__all__ = ["log_returns", "horizon_returns", "horizon_sums", "relative_moves"]


def log_returns(prices: Any) -> np.ndarray:
    """One-bar log returns ``ln(P_{t+1}/P_t)``.

    Parameters
    ----------
    prices : array_like
        Shape (T,) or (T, N), positive finite prices, time on axis 0.

    Returns
    -------
    numpy.ndarray
        Shape (T-1,) or (T-1, N), decimals.

    Raises
    ------
    InvalidInputError
        Fewer than 2 prices, or a price that is not positive and finite.
    """
    p = float_array(prices, name="prices", positive=True)
    if p.shape[0] < 2:
        raise InvalidInputError(f"log returns need at least 2 prices; got {p.shape[0]}.")
    return np.diff(np.log(p), axis=0)


def horizon_sums(returns: Any, *, horizon: int, overlapping: bool = True) -> np.ndarray:
    """Sums of ``horizon`` consecutive one-bar log returns (h-bar log returns).

    Parameters
    ----------
    returns : array_like
        One-bar log returns, shape (n,) or (n, N).
    horizon : int
        Bars per period, >= 1.
    overlapping : bool
        True: all ``n - h + 1`` windows; False: ``floor(n / h)`` disjoint
        windows anchored at the last return, oldest first.

    Returns
    -------
    numpy.ndarray
        Shape (m,) or (m, N).

    Raises
    ------
    InvalidInputError
        ``horizon`` < 1 or longer than the series.
    """
    r = float_array(returns, name="returns")
    h = positive_int(horizon, name="horizon")
    n = r.shape[0]
    if h > n:
        raise InvalidInputError(
            f"horizon of {h} bars is longer than the {n} returns available; use a longer history or a shorter horizon."
        )
    zero = np.zeros((1,) + r.shape[1:])
    cum = np.concatenate([zero, np.cumsum(r, axis=0)], axis=0)  # cum[k] = r_0 + ... + r_{k-1}
    if overlapping:
        return cum[h:] - cum[:-h]
    ends = np.arange(n, h - 1, -h)[::-1]  # window (end-h, end], last one ends at n
    return cum[ends] - cum[ends - h]


def horizon_returns(prices: Any, *, horizon: int, overlapping: bool = True) -> np.ndarray:
    """h-bar log returns ``ln(P_{t+h}/P_t)`` of a price series (see module docstring).

    Parameters
    ----------
    prices : array_like
        Shape (T,) or (T, N), positive finite.
    horizon : int
        The margin period of risk in bars (days for daily data), >= 1.
    overlapping : bool
        Overlapping windows (default) or disjoint ones anchored at the last price.

    Returns
    -------
    numpy.ndarray
        Shape (T-h,) overlapping or (floor((T-1)/h),) non-overlapping (plus N).

    Raises
    ------
    InvalidInputError
        Bad prices, ``horizon`` < 1, or too few prices for one window.
    """
    return horizon_sums(log_returns(prices), horizon=horizon, overlapping=overlapping)


def relative_moves(log_returns_: Any) -> np.ndarray:
    """Relative price moves ``exp(R) - 1`` (fractions of price) from log returns."""
    return np.expm1(float_array(log_returns_, name="log returns"))
