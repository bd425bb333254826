"""Backtesting a VaR: Kupiec's proportion-of-failures test and the Basel traffic light.

Kupiec (1995, "Techniques for verifying the accuracy of risk measurement
models", J. Derivatives 3) proportion-of-failures likelihood ratio, with ``T``
observations, ``x`` exceptions, expected exception rate ``p = 1 - confidence``
and observed rate ``p_hat = x / T``:

``LR = -2 ln[(1 - p)^(T - x) p^x] + 2 ln[(1 - p_hat)^(T - x) p_hat^x]``

(``0 ln 0 = 0``), asymptotically chi-square with 1 degree of freedom under
``H0: p_hat = p``; the p-value is ``P(chi2_1 >= LR)``.

Basel traffic light (Basel Committee, "Supervisory framework for the use of
'backtesting' in conjunction with the internal models approach to market risk
capital requirements", January 1996, Table 2): with ``X ~ Binomial(T, p)`` the
cumulative probability of the observed count is ``P(X <= x)``;

* **green** if ``P(X <= x) < 95 %``,
* **yellow** if ``95 % <= P(X <= x) < 99.99 %``,
* **red** if ``P(X <= x) >= 99.99 %``.

For ``T = 250`` at 99 % this gives green 0-4, yellow 5-9, red 10 or more, as
in the Basel table. An *exception* is a loss strictly greater than the VaR
forecast for that period.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
from scipy.special import xlogy
from scipy.stats import binom, chi2

from spanlike.calibration._validate import confidence_level, float_array, positive_int
from spanlike.errors import InvalidInputError

__all__ = [
    "KupiecResult",
    "TrafficLight",
    "kupiec_pof",
    "traffic_light",
    "count_exceptions",
    "GREEN_LIMIT",
    "RED_LIMIT",
]

GREEN_LIMIT = 0.95
"""Cumulative binomial probability at which the yellow zone starts (Basel 1996)."""
RED_LIMIT = 0.9999
"""Cumulative binomial probability at which the red zone starts (Basel 1996)."""


def _counts(exceptions: Any, observations: Any) -> tuple[int, int]:
    t = positive_int(observations, name="observations")
    if isinstance(exceptions, bool) or not isinstance(exceptions, (int, np.integer)) or not 0 <= exceptions <= t:
        raise InvalidInputError(
            f"exceptions must be an integer between 0 and observations ({t}); got {exceptions!r}."
        )
    return int(exceptions), t


@dataclass(frozen=True)
class KupiecResult:
    """Kupiec proportion-of-failures test.

    Attributes
    ----------
    statistic : float
        LR, >= 0.
    p_value : float
        ``P(chi2_1 >= LR)``.
    exceptions, observations : int
    expected_rate, observed_rate : float
        ``p = 1 - confidence`` and ``x / T``.
    """

    statistic: float
    p_value: float
    exceptions: int
    observations: int
    expected_rate: float
    observed_rate: float

    def rejects(self, *, significance: float = 0.05) -> bool:
        """True if the VaR model is rejected at ``significance`` (p-value below it)."""
        return self.p_value < confidence_level(significance, name="significance")


def kupiec_pof(*, exceptions: int, observations: int, confidence: float) -> KupiecResult:
    """Kupiec (1995) proportion-of-failures LR test (formula in the module docstring).

    Parameters
    ----------
    exceptions : int
        Number of losses above the VaR, 0 <= x <= T.
    observations : int
        Number of backtest periods T >= 1.
    confidence : float
        VaR confidence in (0, 1); the expected exception rate is ``1 - confidence``.

    Returns
    -------
    KupiecResult

    Examples
    --------
    >>> round(kupiec_pof(exceptions=8, observations=250, confidence=0.99).statistic, 4)
    7.7336
    """
    x, t = _counts(exceptions, observations)
    a = confidence_level(confidence)
    p = 1.0 - a
    p_hat = x / t
    log_l0 = xlogy(t - x, 1.0 - p) + xlogy(x, p)
    log_l1 = xlogy(t - x, 1.0 - p_hat) + xlogy(x, p_hat)
    lr = max(-2.0 * (log_l0 - log_l1), 0.0)  # >= 0 mathematically; guard -1e-16 rounding only
    return KupiecResult(
        statistic=float(lr),
        p_value=float(chi2.sf(lr, df=1)),
        exceptions=x,
        observations=t,
        expected_rate=p,
        observed_rate=p_hat,
    )


@dataclass(frozen=True)
class TrafficLight:
    """Basel traffic-light verdict.

    Attributes
    ----------
    zone : {"green", "yellow", "red"}
    cumulative_probability : float
        ``P(X <= exceptions)`` for ``X ~ Binomial(observations, 1 - confidence)``.
    green_max, yellow_max : int
        Largest exception counts still green / still yellow for this T and
        confidence (T = 250 at 99 %: 4 and 9).
    exceptions, observations : int
    """

    zone: Literal["green", "yellow", "red"]
    cumulative_probability: float
    green_max: int
    yellow_max: int
    exceptions: int
    observations: int


def traffic_light(*, exceptions: int, observations: int, confidence: float) -> TrafficLight:
    """Basel (1996) traffic-light zone of a VaR backtest (zones in the module docstring).

    Parameters
    ----------
    exceptions : int
        Losses above the VaR, 0 <= x <= T.
    observations : int
        Backtest periods T (Basel: 250 days).
    confidence : float
        VaR confidence (Basel: 0.99).

    Returns
    -------
    TrafficLight
    """
    x, t = _counts(exceptions, observations)
    p = 1.0 - confidence_level(confidence)
    cdf = binom.cdf(np.arange(t + 1), t, p)
    cum = float(cdf[x])
    zone: Literal["green", "yellow", "red"]
    if cum < GREEN_LIMIT:
        zone = "green"
    elif cum < RED_LIMIT:
        zone = "yellow"
    else:
        zone = "red"
    green_max = int(np.searchsorted(cdf, GREEN_LIMIT, side="left")) - 1
    yellow_max = int(np.searchsorted(cdf, RED_LIMIT, side="left")) - 1
    return TrafficLight(
        zone=zone,
        cumulative_probability=cum,
        green_max=green_max,
        yellow_max=yellow_max,
        exceptions=x,
        observations=t,
    )


def count_exceptions(*, losses: Any, forecasts: Any) -> int:
    """Number of periods whose loss strictly exceeds its VaR forecast.

    Parameters
    ----------
    losses, forecasts : array_like
        Shape (T,), same units, positive = loss.
    """
    loss = float_array(losses, name="losses", ndim=(1,))
    fc = float_array(forecasts, name="forecasts", ndim=(1,))
    if loss.shape != fc.shape:
        raise InvalidInputError(f"losses and forecasts must have the same length; got {loss.size} and {fc.size}.")
    return int((loss > fc).sum())

