"""Historical-simulation VaR and expected shortfall, filtered HS, scan ranges.

Sign convention: a *loss* is positive. For a relative price move ``x`` (a
fraction of price) a long position loses ``-x`` and a short one ``+x``.

VaR and ES are the run-time tail measures of
:mod:`spanlike.methodology.tail_measures` (lower empirical quantile,
Acerbi-Tasche ES; the convention is stated there), re-exported here so a
calibrated scan range and a VaR/ES margin use one quantile.

Filtered historical simulation (Hull & White 1998, "Incorporating volatility
updating into the historical simulation method for VaR"; Barone-Adesi,
Giannopoulos & Vosper 1999): each one-bar return is rescaled to today's
volatility, ``r~_t = r_t * sigma_now / sigma_t``, with ``sigma_t`` the EWMA
conditional volatility of ``r_t`` and ``sigma_now`` the EWMA forecast for the
next bar (:func:`spanlike.calibration.volatility.ewma_volatility`). h-bar
filtered returns are sums of ``h`` consecutive filtered one-bar returns (a
price path rebuilt from filtered returns).

Price scan range over an MPOR of ``h`` bars: relative moves
``x = exp(R) - 1`` of the h-bar log returns; down tail (long loses)
``VaR/ES of -x``, up tail (short loses) ``VaR/ES of +x``; the range is the
larger of the two, a fraction of price.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

import numpy as np

from spanlike.calibration._validate import confidence_level, float_array, positive_int
from spanlike.calibration.returns import horizon_sums
from spanlike.calibration.volatility import DEFAULT_SEED_WINDOW, RISKMETRICS_DAILY_DECAY, ewma_volatility
from spanlike.errors import InvalidInputError
from spanlike.methodology.tail_measures import Method, TailRisk, minimum_observations, tail_risk

__all__ = [
    "TailRisk",
    "ScanRange",
    "tail_risk",
    "value_at_risk",
    "expected_shortfall",
    "filtered_returns",
    "price_scan_range",
    "level_change_scan_range",
    "minimum_observations",
]


def value_at_risk(losses: Any, *, confidence: float) -> float:
    """Empirical VaR (lower quantile, no interpolation) of losses; see :func:`tail_risk`."""
    return tail_risk(losses, confidence=confidence).var


def expected_shortfall(losses: Any, *, confidence: float) -> float:
    """Empirical ES (Acerbi-Tasche) of losses; see :func:`tail_risk`."""
    return tail_risk(losses, confidence=confidence).es


def filtered_returns(
    returns: Any,
    *,
    decay: float = RISKMETRICS_DAILY_DECAY,
    seed_variance: float | None = None,
    seed_window: int = DEFAULT_SEED_WINDOW,
) -> np.ndarray:
    """Volatility-rescaled returns ``r_t * sigma_now / sigma_t`` (FHS, Hull & White 1998).

    Parameters
    ----------
    returns : array_like
        One-bar returns, shape (n,) or (n, N), decimals.
    decay, seed_variance, seed_window
        EWMA settings, see :func:`~spanlike.calibration.volatility.ewma_volatility`.

    Returns
    -------
    numpy.ndarray
        Same shape as ``returns``: each return at today's volatility.
    """
    r = float_array(returns, name="returns")
    ew = ewma_volatility(r, decay=decay, seed_variance=seed_variance, seed_window=seed_window)
    return r * (np.asarray(ew.next_sigma) / ew.sigma)


@dataclass(frozen=True)
class ScanRange:
    """A scan range estimated from both tails of h-bar changes.

    Attributes
    ----------
    range : float
        ``max(up, down)``; a fraction of price for prices, vol points
        (decimal) or a fraction of vol for vol changes.
    up, down : TailRisk
        Risk of a short (losses = rises) and of a long (losses = falls).
    binding : {"up", "down"}
        The tail that sets ``range``.
    method : {"var", "es"}
    horizon : int
        MPOR in bars.
    filtered : bool
        Whether FHS rescaling was applied.
    decay : float or None
        EWMA lambda when filtered.
    overlapping : bool
        Whether h-bar windows overlap.
    """

    range: float
    up: TailRisk
    down: TailRisk
    binding: Literal["up", "down"]
    method: Method
    horizon: int
    filtered: bool
    decay: float | None
    overlapping: bool


def _check_method(method: Any) -> Method:
    if method not in ("var", "es"):
        raise InvalidInputError(f"method must be 'var' or 'es'; got {method!r}.")
    return method


def _scan_from_moves(
    moves: np.ndarray, *, method: Method, confidence: float, horizon: int, filtered: bool, decay: float | None,
    overlapping: bool,
) -> ScanRange:
    up = tail_risk(moves, confidence=confidence)
    down = tail_risk(-moves, confidence=confidence)
    u, d = up.measure(method), down.measure(method)
    return ScanRange(
        range=max(u, d),
        up=up,
        down=down,
        binding="up" if u >= d else "down",
        method=method,
        horizon=horizon,
        filtered=filtered,
        decay=decay,
        overlapping=overlapping,
    )


def price_scan_range(
    returns: Any,
    *,
    method: Method,
    confidence: float,
    horizon: int,
    filtered: bool = False,
    decay: float = RISKMETRICS_DAILY_DECAY,
    seed_window: int = DEFAULT_SEED_WINDOW,
    overlapping: bool = True,
) -> ScanRange:
    """Price scan range from VaR or ES of h-bar relative price moves, both tails.

    Parameters
    ----------
    returns : array_like
        One-bar log returns of one underlying, shape (n,).
    method : {"var", "es"}
    confidence : float
        alpha in (0, 1), e.g. 0.99.
    horizon : int
        MPOR in bars (days for daily data), >= 1.
    filtered : bool
        Rescale returns to today's EWMA volatility first (FHS).
    decay, seed_window
        EWMA settings when ``filtered``.
    overlapping : bool
        Overlapping h-bar windows (default) or disjoint ones.

    Returns
    -------
    ScanRange
        ``range`` is a fraction of price (0.12 = 12 %).

    Raises
    ------
    InvalidInputError
        Bad method, confidence or horizon, or too few h-bar returns for the
        confidence (need ``ceil(1/(1-alpha))``).
    """
    m = _check_method(method)
    a = confidence_level(confidence)
    h = positive_int(horizon, name="horizon")
    r = float_array(returns, name="returns", ndim=(1,))
    if filtered:
        r = filtered_returns(r, decay=decay, seed_window=seed_window)
    moves = np.expm1(horizon_sums(r, horizon=h, overlapping=overlapping))
    return _scan_from_moves(
        moves, method=m, confidence=a, horizon=h, filtered=filtered, decay=decay if filtered else None,
        overlapping=overlapping,
    )


def level_change_scan_range(
    levels: Any,
    *,
    method: Method,
    confidence: float,
    horizon: int,
    kind: Literal["absolute", "relative"],
    overlapping: bool = True,
) -> ScanRange:
    """Scan range of h-bar changes of a level series, e.g. an implied-vol index.

    Changes are ``v_{t+h} - v_t`` (``kind="absolute"``, e.g. vol points as
    decimals: 0.05 = 5 points) or ``v_{t+h} / v_t - 1`` (``"relative"``).

    Parameters
    ----------
    levels : array_like
        Shape (T,), positive (e.g. annual decimal vols).
    method, confidence, horizon, overlapping
        As in :func:`price_scan_range`.
    kind : {"absolute", "relative"}

    Returns
    -------
    ScanRange
        ``up``: risk of a rise (short vol loses), ``down``: of a fall.
    """
    m = _check_method(method)
    a = confidence_level(confidence)
    h = positive_int(horizon, name="horizon")
    v = float_array(levels, name="levels", ndim=(1,), positive=True)
    if v.size < 2:
        raise InvalidInputError(f"level changes need at least 2 levels; got {v.size}.")
    if kind == "absolute":
        changes = horizon_sums(np.diff(v), horizon=h, overlapping=overlapping)
    elif kind == "relative":
        changes = np.expm1(horizon_sums(np.diff(np.log(v)), horizon=h, overlapping=overlapping))
    else:
        raise InvalidInputError(f"kind must be 'absolute' or 'relative'; got {kind!r}.")
    return _scan_from_moves(
        changes, method=m, confidence=a, horizon=h, filtered=False, decay=None, overlapping=overlapping
    )
