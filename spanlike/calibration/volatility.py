"""Volatility estimators: EWMA (RiskMetrics), plain historical, annualisation.

EWMA recursion (RiskMetrics Technical Document, J.P. Morgan/Reuters 1996,
section 5.2; zero-mean returns):

``sigma2_0 = seed``,
``sigma2_t = lambda * sigma2_{t-1} + (1 - lambda) * r_{t-1}^2``  for ``t = 1 .. n``.

``sigma_t`` (``t < n``) is the conditional volatility of return ``r_t``, known
at the end of bar ``t-1``; ``sigma_n`` is the forecast for the next, unseen
bar (``next_sigma``). Seed (our choice, documented): the mean of the squared
returns of the first ``seed_window`` returns (default 30, or all if fewer), a
zero-mean sample variance; an explicit ``seed_variance`` replaces it. The seed's
weight in ``sigma2_t`` is ``lambda**t`` (0.94**100 = 0.2 %), so it only matters
for the first few months.

All volatilities here are per bar (per day for daily data) and decimals unless
annualised with :func:`annualise` (crypto trades every day: 365 periods a year).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from spanlike.calibration._validate import decay_factor, float_array, positive_int
from spanlike.errors import InvalidInputError

__all__ = [
    "EwmaVolatility",
    "ewma_volatility",
    "historical_volatility",
    "annualise",
    "periods_per_year",
    "DAYS_PER_YEAR",
    "RISKMETRICS_DAILY_DECAY",
    "DEFAULT_SEED_WINDOW",
]

DAYS_PER_YEAR = 365.0
"""Crypto trades every calendar day."""

RISKMETRICS_DAILY_DECAY = 0.94
"""RiskMetrics (1996) decay factor for daily data."""

DEFAULT_SEED_WINDOW = 30
"""Returns whose mean square seeds the EWMA variance (our choice)."""


@dataclass(frozen=True)
class EwmaVolatility:
    """Result of :func:`ewma_volatility`.

    Attributes
    ----------
    sigma : numpy.ndarray
        Shape like the returns, (n,) or (n, N): conditional volatility of
        each return (known one bar earlier), per bar, decimal.
    next_sigma : numpy.ndarray or float
        Forecast volatility of the next bar, shape () or (N,).
    decay : float
        The lambda used.
    seed_variance : numpy.ndarray or float
        ``sigma_0 ** 2``, per bar.
    """

    sigma: np.ndarray
    next_sigma: np.ndarray | float
    decay: float
    seed_variance: np.ndarray | float


def ewma_volatility(
    returns: Any,
    *,
    decay: float = RISKMETRICS_DAILY_DECAY,
    seed_variance: float | Any | None = None,
    seed_window: int = DEFAULT_SEED_WINDOW,
) -> EwmaVolatility:
    """RiskMetrics EWMA volatility of returns (see module docstring for the recursion).

    Parameters
    ----------
    returns : array_like
        One-bar returns (decimals), shape (n,) or (n, N), time on axis 0.
    decay : float
        lambda in (0, 1); 0.94 = RiskMetrics daily.
    seed_variance : float or array_like, optional
        ``sigma_0 ** 2`` per bar (one per column for 2-D returns). Default:
        mean of ``r**2`` over the first ``seed_window`` returns.
    seed_window : int
        Returns averaged for the default seed (all if fewer), >= 1.

    Returns
    -------
    EwmaVolatility

    Raises
    ------
    InvalidInputError
        Empty or non-finite returns, decay outside (0, 1), a seed that is not
        positive, or a seed window < 1.

    Examples
    --------
    >>> round(ewma_volatility([0.01, -0.02], decay=0.9, seed_variance=1e-4).next_sigma, 6)  # sqrt(1.3e-4)
    0.011402
    """
    r = float_array(returns, name="returns")
    lam = decay_factor(decay)
    window = positive_int(seed_window, name="seed_window")
    n = r.shape[0]
    if n == 0:
        raise InvalidInputError("EWMA volatility needs at least one return; got none.")
    if seed_variance is None:
        seed = np.mean(r[:window] ** 2, axis=0)
        if np.any(seed <= 0.0):
            raise InvalidInputError(
                f"The first {min(window, n)} returns are all zero, so the default EWMA seed variance is 0. "
                "Pass seed_variance= (per-bar variance) or a longer seed_window."
            )
    else:
        seed = float_array(seed_variance, name="seed_variance", ndim=(0, 1), positive=True)
        if seed.shape not in ((), r.shape[1:]):
            raise InvalidInputError(
                f"seed_variance must be a number or one value per column {r.shape[1:]}; got shape {seed.shape}."
            )
        seed = np.broadcast_to(seed, r.shape[1:]).astype(np.float64)
    var = np.empty((n + 1,) + r.shape[1:])
    var[0] = seed
    sq = r**2
    for t in range(1, n + 1):
        var[t] = lam * var[t - 1] + (1.0 - lam) * sq[t - 1]
    sigma = np.sqrt(var)
    next_sigma = sigma[n] if r.ndim > 1 else float(sigma[n])
    seed_out = seed if r.ndim > 1 else float(seed)
    return EwmaVolatility(sigma=sigma[:n], next_sigma=next_sigma, decay=lam, seed_variance=seed_out)


def historical_volatility(returns: Any, *, demean: bool = True) -> np.ndarray | float:
    """Plain historical volatility (sample standard deviation) of returns, per bar.

    ``sqrt(sum (r_t - mean)^2 / (n - 1))`` with ``demean=True``;
    ``sqrt(sum r_t^2 / n)`` (zero mean, as RiskMetrics) with ``demean=False``.

    Parameters
    ----------
    returns : array_like
        Shape (n,) or (n, N), decimals.
    demean : bool
        Subtract the sample mean (n - 1 divisor) or assume zero mean (n divisor).

    Returns
    -------
    float or numpy.ndarray
        Per-bar volatility, decimal; shape () or (N,).

    Raises
    ------
    InvalidInputError
        Fewer than 2 returns (demeaned) or 1 (zero mean), or non-finite values.
    """
    r = float_array(returns, name="returns")
    n = r.shape[0]
    need = 2 if demean else 1
    if n < need:
        raise InvalidInputError(f"historical volatility needs at least {need} returns; got {n}.")
    if demean:
        out = np.std(r, axis=0, ddof=1)
    else:
        out = np.sqrt(np.mean(r**2, axis=0))
    return float(out) if r.ndim == 1 else out


def periods_per_year(*, bar_seconds: float) -> float:
    """Bars in a 365-day year for a bar length in seconds (daily: 365; hourly: 8760)."""
    if isinstance(bar_seconds, bool) or not isinstance(bar_seconds, (int, float, np.integer, np.floating)) or not (
        bar_seconds > 0 and np.isfinite(bar_seconds)
    ):
        raise InvalidInputError(f"bar_seconds must be a positive number of seconds; got {bar_seconds!r}.")
    return DAYS_PER_YEAR * 86_400.0 / float(bar_seconds)


def annualise(sigma: Any, *, periods: float = DAYS_PER_YEAR) -> np.ndarray | float:
    """Annualise a per-period volatility: ``sigma * sqrt(periods)``.

    Parameters
    ----------
    sigma : float or array_like
        Per-period volatility, decimal, >= 0.
    periods : float
        Periods per year: 365 for daily crypto bars (it trades every day),
        :func:`periods_per_year` for intraday bars.

    Returns
    -------
    float or numpy.ndarray
        Annual volatility, decimal (0.55 = 55 %).
    """
    if isinstance(periods, bool) or not isinstance(periods, (int, float, np.integer, np.floating)) or not (
        periods > 0 and np.isfinite(periods)
    ):
        raise InvalidInputError(f"periods must be a positive number of periods per year; got {periods!r}.")
    s = float_array(sigma, name="sigma", ndim=(0, 1, 2))
    if (s < 0).any():
        raise InvalidInputError(f"sigma must be >= 0; got {float(s.min())!r}.")
    out = s * np.sqrt(float(periods))
    return float(out) if out.ndim == 0 else out
