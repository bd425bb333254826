"""Empirical value at risk and expected shortfall of a loss sample.

The tail measures the VaR/ES margin model applies at run time
(:mod:`spanlike.aggregation.var_model`) and the calibration builds scan ranges
with (:mod:`spanlike.calibration.risk_measures`); one implementation, so a
calibrated range and a margin use the same quantile.

Sign convention: a *loss* is positive.

Quantile convention [our choice, documented]
---------------------------------------------
Of ``n`` losses sorted ascending ``L_(1) <= ... <= L_(n)`` at confidence
``alpha``, with ``m = n (1 - alpha)`` (the tail's size in observations) and
``j = floor(m)``:

* **VaR** is the lower empirical quantile (inverted empirical CDF, Hyndman &
  Fan type 1, no interpolation): ``VaR = inf{l : F_n(l) >= alpha} =
  L_(n - j)``, the ``(j + 1)``-th largest loss. In sample, exactly ``j`` losses
  exceed it (no ties), which is the exception count a backtest expects
  (250 days at 99 %: ``m = 2.5``, VaR = 3rd largest, 2 exceptions).
* **ES** is the average of the same empirical quantile function over the tail
  ``(alpha, 1]`` (Acerbi & Tasche 2002, "On the coherence of expected
  shortfall", eq. for the empirical ES):
  ``ES = (L_(n) + ... + L_(n-j+1) + (m - j) L_(n-j)) / m``, so ``ES >= VaR``.

``m`` is rounded to 9 decimals before the floor so that ``300 * (1 - 0.99)``
counts as 3, not 2.9999999999999996. At least one tail observation is
required (``n (1 - alpha) >= 1``); fewer is an error, not an extrapolation.

See ``docs/methodology.md``, section 8.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np

from spanlike.errors import InvalidInputError

__all__ = ["Method", "TailRisk", "confidence_level", "minimum_observations", "tail_risk"]

Method = Literal["var", "es"]


@dataclass(frozen=True)
class TailRisk:
    """VaR and ES of one loss sample.

    Attributes
    ----------
    var, es : float
        Value at risk and expected shortfall, in the unit of the losses
        (positive = loss).
    confidence : float
        alpha, e.g. 0.99.
    observations : int
        n.
    tail_size : float
        ``m = n (1 - alpha)``, observations in the tail.
    """

    var: float
    es: float
    confidence: float
    observations: int
    tail_size: float

    def measure(self, method: Method) -> float:
        """``var`` or ``es`` by name."""
        return self.var if method == "var" else self.es


def confidence_level(value: Any, *, name: str = "confidence") -> float:
    """A confidence level strictly inside (0, 1), e.g. 0.99.

    Parameters
    ----------
    value : float
        The level to check.
    name : str
        How the error message names it.

    Returns
    -------
    float

    Raises
    ------
    InvalidInputError
        Not a number, or outside (0, 1); a percentage (e.g. 99) is pointed out.
    """
    if isinstance(value, bool) or not isinstance(value, (int, float, np.floating, np.integer)):
        raise InvalidInputError(f"{name} must be a number in (0, 1), e.g. 0.99; got {value!r}.")
    v = float(value)
    if not (0.0 < v < 1.0):
        raise InvalidInputError(
            f"{name} must lie strictly between 0 and 1 (e.g. 0.99 for 99 %); got {value!r}."
            + (" Write percentages as decimals." if 1.0 < v <= 100.0 else "")
        )
    return v


def _loss_sample(values: Any) -> np.ndarray:
    """The losses as a finite 1-D float64 array (messages as the calibration's array checks)."""
    try:
        arr = np.asarray(values, dtype=np.float64)
    except (TypeError, ValueError):
        raise InvalidInputError(f"losses must be an array of numbers; got {type(values).__name__}.") from None
    if arr.ndim != 1:
        raise InvalidInputError(f"losses must have 1 dimension(s); got shape {arr.shape}.")
    if not np.isfinite(arr).all():
        i = int(np.argwhere(~np.isfinite(arr))[0][0])
        raise InvalidInputError(f"losses must be finite; element {(i,)} is {float(arr[i])!r}. Remove or correct it.")
    return arr


def minimum_observations(*, confidence: float) -> int:
    """Smallest n with at least one tail observation: ``ceil(1 / (1 - alpha))`` (99 % -> 100).

    Parameters
    ----------
    confidence : float
        alpha in (0, 1).

    Returns
    -------
    int
    """
    a = confidence_level(confidence)
    return int(math.ceil(round(1.0 / (1.0 - a), 9)))


def tail_risk(losses: Any, *, confidence: float) -> TailRisk:
    """Empirical VaR and ES of a loss sample (convention in the module docstring).

    Parameters
    ----------
    losses : array_like
        Shape (n,), positive = loss.
    confidence : float
        alpha in (0, 1).

    Returns
    -------
    TailRisk

    Raises
    ------
    InvalidInputError
        ``confidence`` outside (0, 1), non-finite losses, or fewer than
        ``ceil(1/(1-alpha))`` losses.

    Examples
    --------
    >>> tail_risk(list(range(1, 101)), confidence=0.99)  # VaR 99 = 2nd largest, ES 100 = largest
    TailRisk(var=99.0, es=100.0, confidence=0.99, observations=100, tail_size=1.0)
    """
    a = confidence_level(confidence)
    x = np.sort(_loss_sample(losses))
    n = x.size
    m = round(n * (1.0 - a), 9)
    if m < 1.0:
        raise InvalidInputError(
            f"{n} losses leave no observation in the {1 - a:.4g} tail at confidence {a}; "
            f"need at least {minimum_observations(confidence=a)}. Use a longer history or a lower confidence."
        )
    j = int(math.floor(m))
    var = float(x[n - j - 1])
    # ES = VaR + sum over the j largest of (L - VaR) / m: the same value as
    # (sum + (m - j) VaR) / m, written so that rounding can never give ES < VaR.
    es = var + float((x[n - j :] - var).sum() / m)
    return TailRisk(var=var, es=es, confidence=a, observations=n, tail_size=m)
