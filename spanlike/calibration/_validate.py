"""Argument checks shared by the calibration modules (messages name field, value and fix)."""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from spanlike.errors import InvalidInputError
# One confidence check for margin and calibration: the run-time tail measures own it.
from spanlike.methodology.tail_measures import confidence_level

__all__ = ["confidence_level", "positive_int", "unit_interval", "float_array", "decay_factor"]


def positive_int(value: Any, *, name: str, minimum: int = 1) -> int:
    """An integer >= ``minimum`` (bools rejected)."""
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        raise InvalidInputError(f"{name} must be an integer >= {minimum}; got {value!r}.")
    if value < minimum:
        raise InvalidInputError(f"{name} must be an integer >= {minimum}; got {value!r}.")
    return int(value)


def unit_interval(value: Any, *, name: str, closed_low: bool = True, closed_high: bool = True) -> float:
    """A number in [0, 1] (end points as requested)."""
    if isinstance(value, bool) or not isinstance(value, (int, float, np.floating, np.integer)):
        raise InvalidInputError(f"{name} must be a number between 0 and 1; got {value!r}.")
    v = float(value)
    lo_ok = v >= 0.0 if closed_low else v > 0.0
    hi_ok = v <= 1.0 if closed_high else v < 1.0
    if not (math.isfinite(v) and lo_ok and hi_ok):
        lo = "[0" if closed_low else "(0"
        hi = "1]" if closed_high else "1)"
        raise InvalidInputError(f"{name} must lie in {lo}, {hi}; got {value!r}.")
    return v


def decay_factor(value: Any, *, name: str = "decay") -> float:
    """An EWMA decay lambda in (0, 1)."""
    if isinstance(value, bool) or not isinstance(value, (int, float, np.floating, np.integer)):
        raise InvalidInputError(f"{name} must be a number in (0, 1), e.g. 0.94; got {value!r}.")
    v = float(value)
    if not (0.0 < v < 1.0):
        raise InvalidInputError(
            f"{name} (the EWMA decay lambda) must lie strictly between 0 and 1, e.g. 0.94 "
            f"(RiskMetrics daily); got {value!r}."
        )
    return v


def float_array(values: Any, *, name: str, ndim: tuple[int, ...] = (1, 2), positive: bool = False) -> np.ndarray:
    """A finite float64 array with an allowed number of dimensions (time on axis 0)."""
    try:
        arr = np.asarray(values, dtype=np.float64)
    except (TypeError, ValueError):
        raise InvalidInputError(f"{name} must be an array of numbers; got {type(values).__name__}.") from None
    if arr.ndim not in ndim:
        raise InvalidInputError(f"{name} must have {' or '.join(map(str, ndim))} dimension(s); got shape {arr.shape}.")
    if not np.isfinite(arr).all():
        idx = tuple(int(i) for i in np.argwhere(~np.isfinite(arr))[0])
        raise InvalidInputError(f"{name} must be finite; element {idx} is {float(arr[idx])!r}. Remove or correct it.")
    if positive and (arr <= 0.0).any():
        idx = tuple(int(i) for i in np.argwhere(arr <= 0.0)[0])
        raise InvalidInputError(f"{name} must be positive; element {idx} is {float(arr[idx])!r}.")
    return arr
